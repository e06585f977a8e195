"""The neutral customer commands (/start, /status, /stop, /mydata, /forget, phone sharing,
edits, group notices) over the real store, on SQLite and on PostgreSQL, without any chat."""

import itertools
import json
from datetime import timedelta

import pytest
from sqlmodel import col, select

from bot.app import RapportApp
from bot.customer.commands import FORGET, KEEP, SHARE_PHONE, CustomerCommands, DataExport
from channels.base import Address, Attachment, IncomingMessage
from crm.actors import Actor
from crm.clock import ManualClock
from crm.conversations import record_outbound
from crm.identities import find_identity, mark_unreachable, resolve_customer
from crm.models import Activity, AuditLog, ChatState, Contact, Conversation, Message
from tests.factories import customer_message, make_contact

JANE = "1001"


@pytest.fixture
def rapport(make_rapport) -> RapportApp:  # type: ignore[no-untyped-def]
    return make_rapport(
        RAPPORT_BUSINESS_NAME="Acme Bikes",
        RAPPORT_BUSINESS_HOURS="Mon-Fri 09:00-17:00",
        RAPPORT_PRIVACY_URL="https://acme.example/privacy",
        RAPPORT_TIMEZONE="UTC",
    )


@pytest.fixture
def commands(rapport: RapportApp) -> CustomerCommands:
    return CustomerCommands(rapport.services)


_NUMBERS = itertools.count(1000)


def said(
    text: str = "", *, user: str = JANE, chat: str | None = None, number: int | None = None, **extra
) -> IncomingMessage:  # type: ignore[no-untyped-def]
    """A message as the channel hands it over; each has its own id unless `number` repeats
    one (a re-delivery, or an edit of an earlier message)."""
    number = next(_NUMBERS) if number is None else number
    return customer_message(text, number, chat=chat or user, sender=user, name="Jane Doe", **extra)


def rep(rapport: RapportApp) -> Actor:
    return rapport.rep_actor(channel="shell", external_id="alice", name="Alice")


def contact_of(rapport: RapportApp, user: str = JANE) -> Contact | None:
    with rapport.store.transaction() as session:
        identity = find_identity(session, "telegram", user)
        if identity is None or identity.contact_id is None:
            return None
        return session.get(Contact, identity.contact_id)


async def test_start_creates_the_contact_and_offers_the_phone_button(
    rapport: RapportApp, commands: CustomerCommands
) -> None:
    reply = await commands.run("start", said("/start"))
    assert "Hi Jane! This is Acme Bikes" in reply.text
    assert "Mon-Fri 09:00-17:00" in reply.text and "https://acme.example/privacy" in reply.text
    assert [a.action_id for a in reply.actions] == [SHARE_PHONE]
    contact = contact_of(rapport)
    assert contact is not None and contact.created_via == "telegram"


async def test_stop_opts_out_and_start_opts_back_in_with_the_source_recorded(
    rapport: RapportApp, commands: CustomerCommands
) -> None:
    reply = await commands.run("stop", said("/stop"))
    assert "won't send you follow-up messages" in reply.text
    contact = contact_of(rapport)
    assert contact is not None and contact.opted_out and contact.consent_source == "telegram"
    reply = await commands.run("start", said("/start"))
    assert "follow-up messages from us again" in reply.text
    contact = contact_of(rapport)
    assert contact is not None and not contact.opted_out
    with rapport.store.transaction() as session:
        actions = session.exec(select(AuditLog.actor).where(AuditLog.action == "contact.consent"))
        assert list(actions) == [f"customer:{contact.id}/telegram:{JANE}"] * 2


async def test_status_lists_open_requests_with_who_has_them_and_our_last_reply(
    rapport: RapportApp, commands: CustomerCommands, clock: ManualClock
) -> None:
    assert "no open requests" in (await commands.run("status", said("/status"))).text
    await rapport.desk.receive(said("Where is my order?"))
    alice = rep(rapport)
    clock.advance(hours=1)
    with rapport.store.transaction() as session:
        conversation = session.exec(select(Conversation)).one()
        record_outbound(
            session, actor=alice, conversation=conversation, text="Checking!", now=clock.now()
        )
    reply = await commands.run("status", said("/status"))
    assert f"Request {conversation.id}" in reply.text
    assert "opened Mon 02 Mar, 09:00 (UTC)" in reply.text
    assert "we replied Mon 02 Mar, 10:00 (UTC); Alice is looking after it" in reply.text


async def test_mydata_exports_everything_as_json(
    rapport: RapportApp, commands: CustomerCommands
) -> None:
    assert "don't hold any data" in (await commands.run("mydata", said("/mydata"))).text
    await rapport.desk.receive(said("I need a new tyre", number=1))
    await commands.edit(said("I need two new tyres", number=1, edited=True))
    answer = await commands.run("mydata", said("/mydata", number=2))
    assert isinstance(answer, DataExport) and answer.filename.startswith("acme-bikes-data-")
    data = json.loads(answer.content)
    [message] = data["messages"]
    assert message["text"] == "I need two new tyres" and message["direction"] == "from you"
    assert [v["text"] for v in message["earlier_versions"]] == ["I need a new tyre"]
    assert data["contact"]["name"] == "Jane Doe" and data["conversations"][0]["status"] == "open"
    with rapport.store.transaction() as session:
        assert session.exec(select(AuditLog).where(AuditLog.action == "contact.export")).first()


async def test_forget_needs_the_fresh_button_of_this_chat(
    rapport: RapportApp, commands: CustomerCommands, clock: ManualClock
) -> None:
    await rapport.desk.receive(said("My address is 1 Main St"))
    question = await commands.run("forget", said("/forget"))
    tokens = {a.action_id: a.value for a in question.actions}
    assert set(tokens) == {FORGET, KEEP} and tokens[FORGET] == tokens[KEEP]
    kept = await commands.action(KEEP, tokens[KEEP], said())
    assert kept is not None and "nothing was erased" in kept.text
    again = await commands.action(FORGET, tokens[FORGET], said())  # that question is answered
    assert again is not None and "expired" in again.text
    question = await commands.run("forget", said("/forget"))
    clock.advance(minutes=20)
    late = await commands.action(FORGET, question.actions[0].value, said())
    assert late is not None and "expired" in late.text
    assert contact_of(rapport) is not None


async def test_forget_erases_personal_data_and_messages_and_anonymises_the_audit(
    rapport: RapportApp, commands: CustomerCommands, clock: ManualClock
) -> None:
    await rapport.desk.receive(said("Call me on +1 415 555 0100"))
    await commands.run("stop", said("/stop"))
    contact = contact_of(rapport)
    assert contact is not None
    with rapport.store.transaction() as session:
        session.add(
            Activity(
                contact_id=contact.id,
                kind="note",
                text="Prefers mornings",
                occurred_at=clock.now(),
                created_at=clock.now(),
            )
        )
    question = await commands.run("forget", said("/forget"))
    done = await commands.action(FORGET, question.actions[0].value, said())
    assert done is not None and done.text.startswith("Done")
    with rapport.store.transaction() as session:
        assert session.exec(select(Contact)).all() == []
        assert session.exec(select(Message)).all() == []
        assert session.exec(select(Activity)).all() == []
        assert session.exec(select(ChatState)).all() == []
        rows = session.exec(select(AuditLog).order_by(col(AuditLog.id))).all()
    erase = rows[-1]
    assert erase.action == "contact.erase" and erase.actor == f"customer:{contact.id}"
    assert erase.after["erased"]["messages"] == 1 and erase.after["erased"]["activities"] == 1
    dump = json.dumps([(r.actor, r.before, r.after) for r in rows])
    assert "Jane" not in dump and JANE not in dump and "415" not in dump
    assert contact_of(rapport) is None


async def test_privacy_commands_answer_only_in_a_private_chat(
    commands: CustomerCommands,
) -> None:
    for name in ("mydata", "forget", "status"):
        reply = await commands.run(name, said(f"/{name}", chat="-500"))
        assert "private chat" in reply.text


async def test_an_unknown_command_lists_the_commands(commands: CustomerCommands) -> None:
    reply = await commands.run("menu", said("/menu"))
    assert "I don't know /menu" in reply.text and "/mydata" in reply.text


def existing_jane(rapport: RapportApp, clock: ManualClock) -> Contact:
    return make_contact(rapport.store, rep(rapport), clock, "Jane Doe", phones=["+14155550100"])


async def test_a_first_message_with_a_known_phone_links_to_that_contact(
    rapport: RapportApp, commands: CustomerCommands, clock: ManualClock
) -> None:
    jane = existing_jane(rapport, clock)
    reply = await commands.share_phone(said(phone="+14155550100"))
    assert "linked this chat" in reply.text
    linked = contact_of(rapport)
    assert linked is not None and linked.id == jane.id


async def test_a_shared_phone_merges_the_chat_placeholder_into_the_owner(
    rapport: RapportApp, commands: CustomerCommands, clock: ManualClock
) -> None:
    jane = existing_jane(rapport, clock)
    await rapport.desk.receive(said("hello"))
    placeholder = contact_of(rapport)
    assert placeholder is not None and placeholder.id != jane.id
    await commands.share_phone(said(phone="+1 415 555 0100"))
    linked = contact_of(rapport)
    assert linked is not None and linked.id == jane.id
    with rapport.store.transaction() as session:
        assert session.get(Contact, placeholder.id) is None
        assert session.exec(select(Message)).one().contact_id == jane.id
        assert "merged in" in session.exec(select(Activity)).one().text


async def test_a_shared_phone_moves_only_the_identity_off_a_real_contact(
    rapport: RapportApp, commands: CustomerCommands, clock: ManualClock
) -> None:
    jane = existing_jane(rapport, clock)
    with rapport.store.transaction() as session:
        other = resolve_customer(
            session, channel="shell", external_id="jd", display_name="J D", now=clock.now()
        ).contact
        resolve_customer(
            session, channel="telegram", external_id=JANE, display_name="J D", now=clock.now()
        )
    await commands.share_phone(said(phone="+14155550100"))
    linked = contact_of(rapport)
    assert linked is not None and linked.id == jane.id
    with rapport.store.transaction() as session:
        assert session.get(Contact, other.id) is not None  # the shell contact stays


async def test_a_new_phone_is_added_and_a_bad_one_is_refused_politely(
    rapport: RapportApp, commands: CustomerCommands
) -> None:
    await rapport.desk.receive(said("hello"))
    reply = await commands.share_phone(said(phone="+44 20 7946 0958"))
    assert "saved your number." in reply.text
    bad = await commands.share_phone(said(phone="+1"))
    assert "couldn't read" in bad.text
    with rapport.store.transaction() as session:
        contact = session.exec(select(Contact)).one()
        assert "+442079460958" in contact.search_text


async def test_edits_keep_the_history_and_ignore_repeats_and_unknown_messages(
    rapport: RapportApp, commands: CustomerCommands
) -> None:
    await rapport.desk.receive(said("v1", number=7))
    await commands.edit(said("v2", number=7, edited=True))
    await commands.edit(said("v2", number=7, edited=True))  # re-delivered edit
    await commands.edit(said("caption", number=7, edited=True))
    await commands.edit(
        said("", number=99, edited=True, attachment=Attachment("photo", "f", 1, "new caption"))
    )
    with rapport.store.transaction() as session:
        message = session.exec(select(Message)).one()
    assert message.text == "caption"
    assert [e["text"] for e in message.edits] == ["v1", "v2"]


async def test_a_group_is_told_once(commands: CustomerCommands) -> None:
    group = Address("telegram", "-500")
    first = await commands.group_notice(group)
    assert first is not None and "private chats" in first.text
    assert await commands.group_notice(group) is None


def exports(rapport: RapportApp) -> int:
    with rapport.store.transaction() as session:
        rows = session.exec(select(AuditLog).where(AuditLog.action == "contact.export"))
        return len(rows.all())


async def test_a_redelivered_command_or_button_press_is_answered_once(
    rapport: RapportApp, commands: CustomerCommands
) -> None:
    await commands.run("start", said("/start"))
    assert isinstance(await commands.run("mydata", said("/mydata", number=3)), DataExport)
    assert await commands.run("mydata", said("/mydata", number=3)) is None
    assert exports(rapport) == 1
    assert isinstance(await commands.run("mydata", said("/mydata", number=4)), DataExport)
    assert exports(rapport) == 2
    # replies that touch no data are not sent twice either
    assert await commands.run("help", said("/help", number=5)) is not None
    assert await commands.run("help", said("/help", number=5)) is None
    assert await commands.run("nonsense", said("/nonsense", number=6)) is not None
    assert await commands.run("nonsense", said("/nonsense", number=6)) is None
    press = said(number=7)
    assert await commands.action("no-such-button", "", press) is not None
    assert await commands.action("no-such-button", "", press) is None


async def test_a_command_that_died_midway_runs_when_it_is_delivered_again(
    rapport: RapportApp, commands: CustomerCommands, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The re-delivery key commits with the command's effects, so a delivery that failed
    inside its transaction (as a killed process would) leaves nothing that stops the next."""
    import bot.customer.commands as module

    real, calls = module.set_consent, []

    def dies_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the process died here")
        return real(*args, **kwargs)

    await commands.run("start", said("/start"))
    monkeypatch.setattr(module, "set_consent", dies_once)
    stop = said("/stop", number=11)
    with pytest.raises(RuntimeError):
        await commands.run("stop", stop)
    contact = contact_of(rapport)
    assert contact is not None and not contact.opted_out
    reply = await commands.run("stop", stop)  # Telegram sends the unconfirmed update again
    assert reply is not None and "won't send you follow-up messages" in reply.text
    contact = contact_of(rapport)
    assert contact is not None and contact.opted_out
    assert await commands.run("stop", stop) is None and len(calls) == 2


async def test_a_customer_who_writes_again_is_reachable_again(
    rapport: RapportApp, commands: CustomerCommands, clock: ManualClock
) -> None:
    await rapport.desk.receive(said("hello"))
    with rapport.store.transaction() as session:
        mark_unreachable(
            session, channel="telegram", external_id=JANE, reason="blocked", now=clock.now()
        )
    clock.advance(timedelta(days=1))
    await rapport.desk.receive(said("back"))
    with rapport.store.transaction() as session:
        identity = find_identity(session, "telegram", JANE)
        assert identity is not None and identity.reachable and identity.unreachable_reason is None
