"""Customers in their own language, through the real desk, customer commands, dispatcher
and store (SQLite and PostgreSQL): detection, the contact's language, replies, neutral
acknowledgements when unsure, and a rep setting the language."""

import json
from dataclasses import dataclass

from sqlmodel import select

from bot.app import RapportApp
from bot.customer.commands import CustomerCommands
from channels.base import IncomingMessage
from crm.models import Contact, Message
from tests.factories import customer_message


@dataclass
class Sure:
    """A classifier that is as sure as told (the desk's decisions, not the model's, are
    under test here; the real model is scored in tests/unit/test_languages_data.py)."""

    need: str
    confidence: float
    ack_threshold: float = 0.6

    def predict(self, text: str):  # type: ignore[no-untyped-def]
        from crm.needs.classifier import Prediction

        return Prediction(self.need, self.confidence, ((self.need, self.confidence),))


def said(text: str, n: int, *, hint: str | None = None, chat: str = "7") -> IncomingMessage:
    return customer_message(text, n, chat=chat, name="María López", language_hint=hint)


def contact(rapport: RapportApp) -> Contact:
    with rapport.store.transaction() as session:
        return session.exec(select(Contact)).one()


async def test_a_spanish_message_is_stored_as_spanish_and_answered_in_spanish(
    rapport: RapportApp,
) -> None:
    rapport.services.classifier = Sure("pricing", 0.9)
    received = await rapport.desk.receive(said("hola, cuánto cuesta el plan pro?", 1, hint="en"))
    assert received.ack is not None
    assert received.ack.text.startswith("¡Gracias, María!") and "precios" in received.ack.text
    assert received.event is not None and received.event.language == "es"
    with rapport.store.transaction() as session:
        assert session.exec(select(Message)).one().language == "es"
    assert (contact(rapport).language, contact(rapport).language_source) == ("es", "detected")


async def test_an_unsure_need_gets_the_neutral_acknowledgement_in_the_customers_language(
    rapport: RapportApp,
) -> None:
    rapport.services.classifier = Sure("purchase", 0.38)  # the seen case: 38% "purchase"
    received = await rapport.desk.receive(said("cuanto sale el envio a Valencia?", 1))
    assert received.ack is not None
    assert received.ack.text == (
        "Gracias, María, hemos recibido tu mensaje. Una persona te responderá en breve."
    )
    assert "We'll get that started" not in received.ack.text


async def test_a_short_message_keeps_the_language_already_learnt(rapport: RapportApp) -> None:
    rapport.services.classifier = Sure("order_status", 0.95)
    await rapport.desk.receive(said("где мой заказ? жду уже неделю", 1))
    rapport.services.classifier = Sure("other", 0.9)
    later = await rapport.desk.receive(said("ok", 2))  # too short to say: stays Russian
    assert contact(rapport).language == "ru"
    with rapport.store.transaction() as session:
        languages = [m.language for m in session.exec(select(Message).order_by(Message.id))]
    assert languages == ["ru", None]
    assert later.ack is None or "Спасибо" in later.ack.text


async def test_the_app_language_answers_a_customer_whose_text_says_nothing(
    rapport: RapportApp,
) -> None:
    commands = CustomerCommands(rapport.services)
    reply = await commands.run("start", said("/start", 1, hint="pt-br"))
    assert reply is not None and reply.text.startswith("Oi, María! Aqui é a Rapport.")
    assert [a.label for a in reply.actions] == ["Compartilhar meu número"]


async def test_customer_commands_answer_in_the_contacts_language(rapport: RapportApp) -> None:
    rapport.services.classifier = Sure("greeting", 0.99)
    await rapport.desk.receive(said("guten morgen, ich habe eine frage zu meiner rechnung", 1))
    commands = CustomerCommands(rapport.services)
    help_reply = await commands.run("help", said("/help", 2))
    assert help_reply is not None
    assert help_reply.text.startswith("Schreiben Sie uns hier jederzeit")
    assert "/forget - Ihre Daten löschen" in help_reply.text
    stop = await commands.run("stop", said("/stop", 3))
    assert stop is not None and stop.text.startswith("Erledigt:")
    unknown = await commands.run("bogus", said("/bogus", 4))
    assert unknown is not None and unknown.text.startswith("/bogus kenne ich nicht.")


async def test_a_rep_sets_the_language_and_learning_never_overrides_it(
    rapport: RapportApp,
) -> None:
    rapport.services.classifier = Sure("pricing", 0.9)
    await rapport.desk.receive(said("combien coûte l'abonnement pro ?", 1))
    rep = rapport.rep_actor(channel="shell", external_id="ana", name="Ana")
    reply = await rapport.dispatcher.handle(rep, "edit María language es")
    assert "Updated language" in reply.text
    card = dict((await rapport.dispatcher.handle(rep, "show María")).cards[0].fields)
    assert card["Language"] == "Spanish (set by a rep)"
    received = await rapport.desk.receive(said("et la livraison, c'est combien ?", 2))
    assert contact(rapport).language == "es"  # a rep's choice wins over detection
    assert received.ack is None or received.ack.text.startswith("¡Gracias")
    refused = await rapport.dispatcher.handle(rep, "edit María language klingon")
    assert "I don't have texts in 'klingon'" in refused.text and "es (Spanish)" in refused.text
    await rapport.dispatcher.handle(rep, "edit María language auto")
    assert (contact(rapport).language, contact(rapport).language_source) == (None, None)


async def test_a_teams_texts_override_per_language(rapport: RapportApp, tmp_path) -> None:  # type: ignore[no-untyped-def]
    overrides = tmp_path / "texts.json"
    overrides.write_text(
        json.dumps(
            {"pricing": "Thanks {name}, prices follow.", "es": {"pricing": "¡{name}, precios!"}}
        ),
        encoding="utf-8",
    )
    from bot.customer.acks import Acknowledgements

    acks = Acknowledgements.default(rapport.settings, overrides)
    now = rapport.services.clock.now()
    assert acks.render("pricing", name="Ana B", now=now, language="es").text == "¡Ana, precios!"
    assert acks.render("pricing", name="Ana B", now=now).text == "Thanks Ana, prices follow."
    # a language the team did not override keeps the shipped text
    assert acks.render("pricing", name="Ana", now=now, language="de").text.startswith("Danke")


async def test_the_satisfaction_survey_is_asked_in_the_customers_language(
    rapport: RapportApp,
) -> None:
    from bot.outbound.rules import _language_of, survey_question

    rapport.services.classifier = Sure("feedback", 0.9)
    await rapport.desk.receive(said("muito obrigado pela ajuda de hoje, vocês são ótimos", 1))
    with rapport.store.transaction() as session:
        language = _language_of(session, contact(rapport).id)
    assert language == "pt"
    question = survey_question(rapport.settings, language)
    assert question.startswith("Obrigado por falar com a Rapport.") and "1 (ruim)" in question
    assert survey_question(rapport.settings, None).startswith("Thanks for talking with Rapport")
