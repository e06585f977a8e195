"""The customer side on Telegram, end to end: the real PTB Application polls the Bot API
stand-in over HTTP, Rapport stores in a fresh SQLite file, and the tests read both."""

import asyncio
import json
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.language.commands import ReplyToConversation
from channels.base import Address, OutgoingMessage, Reply
from crm import followups
from crm.contacts import ContactInput, create_contact
from crm.errors import Invalid
from crm.models import Activity, AuditLog, ChatState, Contact, FollowUp
from tests.e2e.telegram_harness import TelegramWorld, build_world, tiny_classifier
from tests.standins.telegram_api import TelegramStandIn

JANE = 1001


async def confirmed(api: TelegramStandIn, update: dict) -> None:
    """Waits until the bot confirmed the update (the next getUpdates offset moved past it)."""
    await api.wait_for(lambda: api.last_confirmed() >= update["update_id"])


def last_markup(api: TelegramStandIn, chat_id: int) -> dict:
    sent = api.sent(chat_id)
    return (sent[-1].get("reply_markup") or {}) if sent else {}


async def test_start_welcomes_with_hours_privacy_and_a_phone_button(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    api.message(JANE, text="/start")
    [welcome] = await api.wait_for_texts(JANE, 1)
    assert "Acme Bikes" in welcome and "Mon-Fri 09:00-17:00" in welcome
    assert "https://acme.example/privacy" in welcome and "/forget" in welcome
    button = last_markup(api, JANE)["keyboard"][0][0]
    assert button == {"text": "Share my phone number", "request_contact": True}
    contact = world.contact_of(JANE)
    assert contact is not None and contact.name == "Jane Doe" and contact.created_via == "telegram"
    assert world.messages() == []  # commands are answered, not stored as customer messages


async def test_text_is_stored_acknowledged_and_routed_to_the_inbox(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    update = api.message(JANE, text="Hi, how much is the red bike?")
    [stored] = await world.stored(1)
    assert stored.text == "Hi, how much is the red bike?"
    assert stored.external_id == f"{JANE}:{update['message']['message_id']}"
    [ack] = await api.wait_for_texts(JANE, 1)
    assert ack.startswith("Thanks Jane")
    [event] = await api.wait_for(lambda: world.events)
    assert event.contact_name == "Jane Doe" and event.new_contact and event.channel == "telegram"


async def test_files_places_and_stickers_are_stored_with_kind_file_id_caption_and_size(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    photo = [
        {"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90, "file_size": 900},
        {
            "file_id": "large",
            "file_unique_id": "l",
            "width": 800,
            "height": 800,
            "file_size": 80_000,
        },
    ]
    api.message(JANE, photo=photo, caption="The chain broke")
    api.message(
        JANE,
        document={
            "file_id": "doc",
            "file_unique_id": "d",
            "file_size": 1234,
            "file_name": "invoice.pdf",
        },
    )
    api.message(
        JANE, voice={"file_id": "voice", "file_unique_id": "v", "duration": 3, "file_size": 4000}
    )
    api.message(JANE, location={"latitude": 51.5007, "longitude": -0.1246})
    api.message(
        JANE,
        sticker={
            "file_id": "stk",
            "file_unique_id": "k",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
            "file_size": 100,
        },
    )
    stored = await world.stored(5)
    kinds = [(m.kind, m.file_id, m.file_size, m.text) for m in stored]
    assert kinds == [
        ("photo", "large", 80_000, "The chain broke"),
        ("document", "doc", 1234, ""),
        ("voice", "voice", 4000, ""),
        ("location", None, None, "Location: 51.50070, -0.12460"),
        ("sticker", "stk", 100, "👍"),
    ]
    [ack] = await api.wait_for_texts(JANE, 1)  # one acknowledgement for the burst
    assert "received your file" in ack
    await api.wait_for(lambda: len(world.events) == 5)


async def test_an_edit_updates_the_stored_text_and_keeps_the_history(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    update = api.message(JANE, text="I want 2 bikes")
    await world.stored(1)
    api.edit(update, "I want 3 bikes")
    api.edit(update, "I want 4 bikes")
    await api.wait_for(lambda: world.messages()[0].text == "I want 4 bikes")
    [message] = world.messages()
    assert [e["text"] for e in message.edits] == ["I want 2 bikes", "I want 3 bikes"]
    assert all(e["at"] for e in message.edits)
    assert len(api.texts(JANE)) == 1  # an edit is not acknowledged again


async def test_stop_opts_out_follow_ups_are_refused_replies_still_work_and_start_opts_in(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    rapport, clock = world.rapport, world.clock
    api.message(JANE, text="hello")
    await world.stored(1)
    rep = rapport.rep_actor(channel="shell", external_id="alice", name="Alice")
    contact = world.contact_of(JANE)
    assert contact is not None
    with rapport.store.transaction() as session:
        followups.schedule(
            session,
            actor=rep,
            kind="customer",
            due_at=clock.now() + timedelta(hours=1),
            text="How was the bike?",
            now=clock.now(),
            contact_id=contact.id,
        )
    api.message(JANE, text="/stop")
    await api.wait_for(lambda: any("won't send you follow-up" in t for t in api.texts(JANE)))
    contact = world.contact_of(JANE)
    assert contact is not None and contact.opted_out and contact.consent_source == "telegram"
    with pytest.raises(Invalid), rapport.store.transaction() as session:
        followups.schedule(
            session,
            actor=rep,
            kind="customer",
            due_at=clock.now() + timedelta(hours=1),
            text="Another one",
            now=clock.now(),
            contact_id=contact.id,
        )
    clock.advance(hours=2)
    sent_before = len(api.texts(JANE))
    assert await rapport.outbox.tick() == 0
    with rapport.store.transaction() as session:
        row = session.exec(select(FollowUp).where(FollowUp.kind == "customer")).one()
        assert row.status == "failed" and "opted out" in (row.last_error or "")
    assert len(api.texts(JANE)) == sent_before
    conversation_id = world.messages()[0].conversation_id
    result = await rapport.dispatcher.handle_command(
        rep, ReplyToConversation(conversation_id, "Your bike is ready")
    )
    assert "Delivered" in result.text and api.texts(JANE)[-1] == "Your bike is ready"
    api.message(JANE, text="/start")
    await api.wait_for(lambda: "follow-up messages from us again" in api.texts(JANE)[-1])
    contact = world.contact_of(JANE)
    assert contact is not None and not contact.opted_out


async def test_mydata_sends_everything_stored_as_a_json_document(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    api.message(JANE, text="My order number is 4711")
    await world.stored(1)
    api.message(JANE, text="/mydata")
    [call] = await api.wait_for(lambda: api.documents)
    assert call.params["document"].endswith(".json") and "everything" in call.params["caption"]
    data = json.loads(call.files["document"])
    assert data["contact"]["name"] == "Jane Doe"
    assert [m["text"] for m in data["messages"]] == ["My order number is 4711"]
    assert data["channel_identities"][0] == {
        **data["channel_identities"][0],
        "channel": "telegram",
        "id": str(JANE),
    }
    assert data["consent"]["opted_out_of_follow_ups"] is False


async def asked_to_forget(world: TelegramWorld, api: TelegramStandIn, first: str = "hello") -> None:
    """Jane writes once (so there is data to erase), sends /forget and is shown the buttons."""
    api.message(JANE, text=first)
    await world.stored(1)
    api.message(JANE, text="/forget")
    await api.wait_for(lambda: "inline_keyboard" in last_markup(api, JANE))


async def test_forget_asks_to_confirm_with_a_button_then_erases_and_confirms(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    await asked_to_forget(world, api, "Please call me on +1 415 555 0100")
    question = api.sent(JANE)[-1]
    yes, no = (row[0] for row in question["reply_markup"]["inline_keyboard"])
    assert yes["text"].startswith("Yes") and no["text"].startswith("No")
    assert world.contact_of(JANE) is not None  # nothing happens before the confirmation
    api.press(JANE, question, yes["callback_data"])
    await api.wait_for(lambda: api.calls_to("answerCallbackQuery"))
    await api.wait_for(lambda: api.sent(JANE)[-1]["text"].startswith("Done"))
    assert "inline_keyboard" not in (api.sent(JANE)[-1].get("reply_markup") or {})
    assert world.contact_of(JANE) is None and world.messages() == []
    with world.rapport.store.transaction() as session:
        assert session.exec(select(Contact)).all() == []
        rows = session.exec(select(AuditLog).order_by(col(AuditLog.id))).all()
        assert rows[-1].action == "contact.erase" and rows[-1].after["erased"]["messages"] == 1
        dump = json.dumps([(r.actor, r.before, r.after) for r in rows])
        assert "Jane" not in dump and str(JANE) not in dump and "415" not in dump


async def test_an_old_forget_button_does_nothing(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    await asked_to_forget(world, api)
    question = api.sent(JANE)[-1]
    api.press(JANE, question, "forget:not-the-token")
    await api.wait_for(lambda: "expired" in api.sent(JANE)[-1]["text"])
    assert world.contact_of(JANE) is not None


async def test_a_typed_yes_or_no_answers_the_forget_question(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    """A customer who types "no" or "sí" to "Are you sure?" used to have it stored as a
    message to the team, with no answer: the erasure neither happened nor was refused."""
    await asked_to_forget(world, api)
    api.message(JANE, text="No")
    await api.wait_for(lambda: "nothing was erased" in api.sent(JANE)[-1]["text"])
    assert world.contact_of(JANE) is not None
    assert [m.text for m in world.messages()] == ["hello"]  # "No" is no message to the team
    api.message(JANE, text="/forget")
    await api.wait_for(lambda: api.texts(JANE).count(api.sent(JANE)[-1]["text"]) == 2)
    api.message(JANE, text="sí")
    await api.wait_for(lambda: api.sent(JANE)[-1]["text"].startswith("Done"))
    assert world.contact_of(JANE) is None and world.messages() == []


async def test_a_yes_after_a_reps_message_answers_the_rep_not_the_forget_question(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    await asked_to_forget(world, api)
    rep = world.rapport.rep_actor(channel="shell", external_id="alice", name="Alice")
    await world.rapport.dispatcher.handle_command(
        rep, ReplyToConversation(world.messages()[0].conversation_id, "Shall I book the demo?")
    )
    await api.wait_for(lambda: api.texts(JANE)[-1] == "Shall I book the demo?")
    api.message(JANE, text="yes")
    await world.stored(2)
    assert world.contact_of(JANE) is not None  # "yes" was to the demo: nothing erased
    api.message(JANE, text="ok")  # and "ok" never erases anything
    await world.stored(3)


async def test_a_yes_long_after_the_forget_question_is_just_a_message(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    await asked_to_forget(world, api)
    world.clock.advance(minutes=20)
    api.message(JANE, text="yes")
    await world.stored(2)
    assert world.contact_of(JANE) is not None


async def test_a_rep_reply_is_delivered_and_recorded(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    api.message(JANE, text="Is the red bike in stock?")
    await world.stored(1)
    await api.wait_for_texts(JANE, 1)  # the acknowledgement
    rep = world.rapport.rep_actor(channel="shell", external_id="alice", name="Alice")
    reply = await world.rapport.dispatcher.handle_command(
        rep, ReplyToConversation(world.messages()[0].conversation_id, "Yes, two left!")
    )
    assert "✓ Delivered" in reply.text
    assert api.texts(JANE)[-1] == "Yes, two left!"
    [outbound] = world.messages("outbound")
    assert outbound.delivery == "delivered"
    assert outbound.external_id == f"{JANE}:{api.sent(JANE)[-1]['message_id']}"


async def test_an_oversized_reply_is_split_into_several_messages(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    paragraphs = [f"Paragraph {n}: " + "words " * 300 for n in range(6)]
    text = "\n\n".join(paragraphs)
    result = await world.rapport.services.hub.send(
        OutgoingMessage(Address("telegram", str(JANE)), Reply(text), kind="reply")
    )
    assert result.delivered
    parts = api.texts(JANE)
    assert len(parts) >= 3 and all(len(p) <= 4096 for p in parts)
    assert " ".join(" ".join(parts).split()) == " ".join(text.split())


async def test_a_group_chat_is_ignored_and_told_so_once(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    group = -500
    api.message(group, text="hello bot", chat_type="group")
    second = api.message(group, text="anyone?", chat_type="group")
    await confirmed(api, second)
    [notice] = api.texts(group)
    assert "private chats" in notice
    assert world.messages() == [] and world.contact_of(1001) is None
    with world.rapport.store.transaction() as session:
        state = session.exec(select(ChatState).where(ChatState.chat_id == str(group))).one()
        assert state.channel == "telegram" and state.data["group_notice_at"]


async def test_a_shared_phone_links_the_chat_to_the_existing_contact(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    rapport = world.rapport
    rep = rapport.rep_actor(channel="shell", external_id="alice", name="Alice")
    with rapport.store.transaction() as session:
        existing = create_contact(
            session,
            actor=rep,
            data=ContactInput("Jane Doe", phones=["+1 415 555 0100"]),
            now=world.clock.now(),
        )
    api.message(JANE, text="/start")
    api.message(JANE, text="hi, it's me")
    await world.stored(1)
    placeholder = world.contact_of(JANE)
    assert placeholder is not None and placeholder.id != existing.id
    card = {"phone_number": "14155550100", "first_name": "Jane", "user_id": JANE}
    api.message(JANE, contact=card)
    await api.wait_for(lambda: "linked this chat" in api.texts(JANE)[-1])
    assert last_markup(api, JANE) == {"remove_keyboard": True}
    linked = world.contact_of(JANE)
    assert linked is not None and linked.id == existing.id
    [message] = world.messages()
    assert message.contact_id == existing.id  # the timeline moved with the chat
    with rapport.store.transaction() as session:
        assert session.get(Contact, placeholder.id) is None
        note = session.exec(select(Activity).where(Activity.contact_id == existing.id)).one()
        assert "merged" in note.text
        actions = session.exec(select(AuditLog.action)).all()
        assert "contact.merge" in actions


async def test_a_group_is_served_like_a_private_chat_when_groups_are_allowed(
    tmp_path,
    api: TelegramStandIn,  # type: ignore[no-untyped-def]
) -> None:
    world = await build_world(tmp_path, api, RAPPORT_TELEGRAM_ALLOW_GROUPS=True).start()
    try:
        bob = api.user(2002, "Bob", "Stone")
        api.message(-500, text="We need 10 bikes", chat_type="group", user=bob)
        [stored] = await world.stored(1)
        assert stored.external_id == "-500:1"
        contact = world.contact_of(2002)
        assert contact is not None and contact.name == "Bob Stone"
        [ack] = await api.wait_for_texts(-500, 1)
        assert ack.startswith("Thanks Bob")
        api.message(-500, text="/mydata", chat_type="group", user=bob)
        await api.wait_for(lambda: "private chat" in api.texts(-500)[-1])
        assert not api.documents
    finally:
        await world.stop()


async def test_with_a_trained_classifier_messages_are_tagged(
    tmp_path,
    api: TelegramStandIn,  # type: ignore[no-untyped-def]
) -> None:
    pytest.importorskip("crm.needs.classifier")
    world = build_world(tmp_path, api)
    world.rapport.services.classifier = await asyncio.to_thread(tiny_classifier)
    await world.start()
    try:
        api.message(JANE, text="How much does the red bike cost?")
        [stored] = await world.stored(1)
        assert stored.need == "pricing" and stored.need_confidence is not None
        [ack] = await api.wait_for_texts(JANE, 1)
        assert "prices" in ack  # the pricing acknowledgement
    finally:
        await world.stop()
