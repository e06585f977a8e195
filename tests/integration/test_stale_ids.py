"""Ids are never handed out twice, so a stale reference fails safely (SQLite and PostgreSQL).

Issue 17's attack: after a customer's erasure the next new customer got id 1 again, and a
rep's `reply 1`, an `undo` and a stale Close button all reached the new person.
"""

import pytest
from sqlmodel import select

from bot.app import RapportApp
from bot.customer.commands import FORGET, CustomerCommands
from channels.base import OutgoingMessage, SendResult
from crm.models import Activity, Contact, Conversation, Message
from tests.factories import customer_message
from tests.standins.outbox_channels import standard_traits


class RecordingTelegram:
    name = "telegram"
    traits = standard_traits("telegram")  # the real adapter's: its private chat is the user

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.sent.append(message)
        return SendResult(delivered=True, external_id=f"tg-{len(self.sent)}")


async def test_stale_reply_undo_and_close_never_reach_the_next_customer(
    rapport: RapportApp,
) -> None:
    telegram = RecordingTelegram()
    rapport.services.hub.register(telegram)
    alice = rapport.rep_actor(channel="shell", external_id="alice", name="Alice")
    await rapport.desk.receive(
        customer_message("hello, is the shop open?", 1, chat="111", name="Ann First")
    )
    with rapport.store.transaction() as session:
        first_contact = session.exec(select(Contact)).one().id
        first_conversation = session.exec(select(Conversation)).one().id
    assert (await rapport.dispatcher.handle(alice, f"note #{first_contact}: likes red")).ok
    commands = CustomerCommands(rapport.services)
    question = await commands.run(
        "forget", customer_message("/forget", 2, chat="111", name="Ann First")
    )
    assert await commands.action(
        FORGET, question.actions[0].value, customer_message("", 3, chat="111", name="A")
    )

    await rapport.desk.receive(
        customer_message("hi, I need help", 1, chat="222", name="Bob Second")
    )
    with rapport.store.transaction() as session:
        bob = session.exec(select(Contact)).one()
        bob_conversation = session.exec(select(Conversation)).one()
    assert bob.id > first_contact and bob_conversation.id > first_conversation
    telegram.sent.clear()

    for stale in (
        f"reply {first_conversation} your order shipped",
        f"close {first_conversation}",
        f"note #{first_contact}: stale note",
        "undo",
    ):
        reply = await rapport.dispatcher.handle(alice, stale)
        assert "Traceback" not in reply.text
        assert not reply.ok or stale == "undo", (stale, reply.text)
    assert telegram.sent == []  # nothing reached Bob
    with rapport.store.transaction() as session:
        assert session.exec(select(Conversation)).one().status == "open"
        assert session.exec(select(Activity).where(Activity.contact_id == bob.id)).all() == []
        outbound = session.exec(select(Message).where(Message.direction == "outbound")).all()
        assert outbound == []


async def test_mydata_shows_needs_confidences_and_who_wrote_each_entry(
    rapport: RapportApp,
) -> None:
    """/mydata: need labels with confidences and the author of every entry; internal notes
    are included on purpose (docs/security.md, the /start privacy line)."""
    import json

    from bot.customer.commands import DataExport

    class Fixed:
        labels = ("pricing", "other")

        def predict(self, text):  # type: ignore[no-untyped-def]
            from tests.standins.slack_harness import Prediction

            return Prediction("pricing", 0.83)

    rapport.services.classifier = Fixed()
    rapport.services.hub.register(RecordingTelegram())
    alice = rapport.rep_actor(channel="shell", external_id="alice", name="Alice")
    await rapport.desk.receive(customer_message("how much is it?", 1, chat="333", name="Cy Third"))
    with rapport.store.transaction() as session:
        contact = session.exec(select(Contact)).one().id
        conversation = session.exec(select(Conversation)).one().id
    assert (await rapport.dispatcher.handle(alice, f"note #{contact}: wants a discount")).ok
    assert (await rapport.dispatcher.handle(alice, f"reply {conversation} It is $10")).ok
    answer = await CustomerCommands(rapport.services).run(
        "mydata", customer_message("/x", 2, chat="333", name="C")
    )
    assert isinstance(answer, DataExport)
    data = json.loads(answer.content)
    inbound = next(m for m in data["messages"] if m["direction"] == "from you")
    assert inbound["need"] == "pricing" and inbound["need_confidence"] == pytest.approx(0.83)
    assert inbound["written_by"] == "you" and inbound["need_set_by"] == "automatic"
    outbound = next(m for m in data["messages"] if m["direction"] == "to you")
    assert outbound["written_by"] == "Alice"
    [note] = [a for a in data["notes_and_activities"] if a["kind"] == "note"]
    assert note["text"] == "wants a discount" and note["written_by"] == "Alice"


async def test_a_reply_goes_to_the_customers_private_chat_not_the_group(
    rapport: RapportApp,
) -> None:
    """With Telegram groups allowed, a customer who last wrote from a group still gets the
    rep's answer privately: the group never sees it."""
    telegram = RecordingTelegram()
    rapport.services.hub.register(telegram)
    alice = rapport.rep_actor(channel="shell", external_id="alice", name="Alice")
    await rapport.desk.receive(
        customer_message("hi from my own chat", 1, chat="444", name="Dee Fourth")
    )
    group = customer_message(
        "and now from the team group", 9, chat="-100777", sender="444", name="Dee Fourth"
    )
    await rapport.desk.receive(group)
    with rapport.store.transaction() as session:
        conversation = session.exec(select(Conversation)).one()
    assert conversation.chat_id == "444"
    assert (await rapport.dispatcher.handle(alice, f"reply {conversation.id} Sure")).ok
    assert [m.address.chat_id for m in telegram.sent] == ["444"]


async def test_nul_bytes_are_stripped_from_edits_and_rep_commands(rapport: RapportApp) -> None:
    """PostgreSQL refuses NUL in text: an edit or a note carrying one must not be lost."""
    commands = CustomerCommands(rapport.services)
    alice = rapport.rep_actor(channel="shell", external_id="alice", name="Alice")
    await rapport.desk.receive(
        customer_message("first\x00 version", 1, chat="555", name="Eve Fifth")
    )
    edit = customer_message("second\x00 version", 1, chat="555", name="Eve", edited=True)
    await commands.edit(edit)
    with rapport.store.transaction() as session:
        message = session.exec(select(Message)).one()
        contact = message.contact_id
    assert message.text == "second version"
    reply = await rapport.dispatcher.handle(alice, f"note #{contact}: nul\x00 inside")
    assert reply.ok, reply.text
    with rapport.store.transaction() as session:
        assert session.exec(select(Activity)).one().text == "nul inside"


async def test_the_forget_button_only_works_in_the_senders_own_chat(
    rapport: RapportApp,
) -> None:
    commands = CustomerCommands(rapport.services)
    await rapport.desk.receive(customer_message("hello there", 1, chat="666", name="Fay Sixth"))
    question = await commands.run(
        "forget", customer_message("/forget", 2, chat="666", name="Fay Sixth")
    )
    token = question.actions[0].value
    in_group = customer_message("", 3, chat="-100888", sender="666", name="Fay")
    refused = await commands.action(FORGET, token, in_group)
    assert refused is not None and "private chat" in refused.text
    with rapport.store.transaction() as session:
        assert session.exec(select(Contact)).one().name == "Fay Sixth"
