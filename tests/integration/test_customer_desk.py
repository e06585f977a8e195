"""The channel-neutral customer flow: store, classify, acknowledge once per burst, route,
stop-on-reply, and survey answers landing on the conversation."""

from datetime import timedelta

from sqlmodel import select

from bot.customer.desk import InboxEvent
from crm import conversations, followups
from crm.actors import SYSTEM
from crm.models import Conversation, FollowUp, Message
from crm.surveys import survey_key
from tests.factories import customer_message, make_follow_up


async def test_a_burst_is_stored_fully_acknowledged_once_and_routed(rapport, clock) -> None:  # type: ignore[no-untyped-def]
    events: list[InboxEvent] = []

    async def inbox(event: InboxEvent) -> None:
        events.append(event)

    rapport.desk.subscribe(inbox)
    first = await rapport.desk.receive(customer_message("hi there", 1))
    assert first.ack is not None and "Carol" in first.ack.text
    clock.advance(seconds=20)
    second = await rapport.desk.receive(customer_message("are you open on sunday?", 2))
    assert second.ack is None  # same burst: not acknowledged again
    again = await rapport.desk.receive(customer_message("hi there", 1))  # a re-delivery
    assert again.duplicate and again.ack is None
    clock.advance(minutes=10)
    assert (await rapport.desk.receive(customer_message("hello?", 3))).ack is not None
    with rapport.store.transaction() as session:
        assert len(session.exec(select(Message)).all()) == 3
        assert len(session.exec(select(Conversation)).all()) == 1
    assert [e.new_conversation for e in events] == [True, False, False]


async def test_writing_in_cancels_pending_follow_ups(rapport, clock) -> None:  # type: ignore[no-untyped-def]
    await rapport.desk.receive(customer_message("hello", 1))
    with rapport.store.transaction() as session:
        contact_id = session.exec(select(Message)).one().contact_id
    due = clock.now() + timedelta(days=2)
    make_follow_up(rapport.store, clock, None, contact_id, due, "How is the trial?")
    make_follow_up(
        rapport.store, clock, None, contact_id, due, "Renewal reminder", stop_on_reply=False
    )
    await rapport.desk.receive(customer_message("quick question", 2))
    with rapport.store.transaction() as session:
        states = {f.text: f.status for f in session.exec(select(FollowUp))}
    assert states == {"How is the trial?": "cancelled", "Renewal reminder": "pending"}


async def test_a_survey_answer_is_stored_on_the_closed_conversation(rapport, clock, admin) -> None:  # type: ignore[no-untyped-def]
    await rapport.desk.receive(customer_message("my order is late", 1))
    with rapport.store.transaction() as session:
        conversation = session.exec(select(Conversation)).one()
        conversations.close(session, actor=admin, conversation_id=conversation.id, now=clock.now())
        survey = followups.schedule(
            session,
            actor=SYSTEM,
            kind="survey",
            due_at=clock.now(),
            text="1-5?",
            contact_id=conversation.contact_id,
            now=clock.now(),
            dedupe_key=survey_key(conversation.id),
        )
        survey.status, survey.sent_at = "sent", clock.now()
        session.add(survey)
    clock.advance(minutes=5)
    answer = await rapport.desk.receive(customer_message("5", 2))
    assert answer.ack is not None and "Thank you" in answer.ack.text and answer.event is None
    with rapport.store.transaction() as session:
        rows = session.exec(select(Conversation)).all()
        assert [(c.status, c.satisfaction) for c in rows] == [("closed", 5)]  # no new one


async def test_a_new_specific_need_inside_a_burst_gets_its_own_acknowledgement(
    rapport,
    clock,  # type: ignore[no-untyped-def]
) -> None:
    class Scripted:
        """A stand-in for the classifier with fixed answers, to pin the burst rule."""

        labels = ("greeting", "pricing", "other")

        def predict(self, text: str):  # type: ignore[no-untyped-def]
            from crm.needs.classifier import Prediction

            need = "pricing" if "price" in text else "greeting"
            return Prediction(need=need, confidence=0.9, alternatives=((need, 0.9),))

    rapport.services.classifier = Scripted()
    assert (await rapport.desk.receive(customer_message("hi!", 1))).ack is not None
    clock.advance(seconds=10)
    assert (await rapport.desk.receive(customer_message("hello??", 2))).ack is None
    clock.advance(seconds=10)
    pricing = await rapport.desk.receive(customer_message("what is the price of pro?", 3))
    assert pricing.ack is not None and "prices" in pricing.ack.text
    clock.advance(seconds=10)
    assert (await rapport.desk.receive(customer_message("and the price of team?", 4))).ack is None
    with rapport.store.transaction() as session:
        assert session.exec(select(Conversation)).one().need == "pricing"


async def test_a_returning_customer_is_found_with_their_open_conversation_in_one_query(  # type: ignore[no-untyped-def]
    rapport, clock
) -> None:
    """crm.inbound.known_customer: identity, contact, the open conversation on this
    channel (not a closed one, not another channel's) and the stop-on-reply flag."""
    from sqlalchemy import event

    from crm.inbound import known_customer

    with rapport.store.transaction() as session:
        assert known_customer(session, channel="telegram", external_id="42") is None
    await rapport.desk.receive(customer_message("hello", 1))
    with rapport.store.transaction() as session:
        first = session.exec(select(Conversation)).one()
        first.status = "closed"
        session.add(first)
    await rapport.desk.receive(customer_message("me again", 2))  # opens a second conversation
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, sql, ...)
    event.listen(rapport.store.engine, "before_cursor_execute", listener)
    try:
        with rapport.store.transaction() as session:
            known = known_customer(session, channel="telegram", external_id="42")
    finally:
        event.remove(rapport.store.engine, "before_cursor_execute", listener)
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == statements[-1:]
    assert known is not None and known.resolution.contact.name == "Carol King"
    assert known.conversation is not None and known.conversation.id != first.id
    assert known.conversation.status == "open" and not known.followups_to_stop
    due = clock.now() + timedelta(days=2)
    make_follow_up(rapport.store, clock, None, known.resolution.contact, due, "How is the trial?")
    with rapport.store.transaction() as session:
        again = known_customer(session, channel="telegram", external_id="42")
        assert again is not None and again.followups_to_stop
        assert known_customer(session, channel="slack", external_id="42") is None
