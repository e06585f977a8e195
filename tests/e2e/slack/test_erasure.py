"""/forget erases everything: a scan of every text and JSON column of every table, and of
the last version of every Slack post, finds nothing of the customer afterwards.

The customer writes twice (an inbox post and a thread post), a rep answers in the thread
(a delivery tick naming them), retags a message (a classifier correction), notes, adds a
deal, schedules a follow-up and a reminder that names them, and an older contact of theirs
is merged in; then they press "Yes, erase my data".  Runs on SQLite and PostgreSQL.
"""

import json
from pathlib import Path

from sqlalchemy import JSON, String, Text, select
from sqlmodel import SQLModel

from bot.customer.commands import FORGET, CustomerCommands
from channels.base import Address, IncomingMessage
from crm import migrate
from crm.contacts import ContactInput, create_contact
from crm.db import make_engine
from crm.merge import merge_contacts
from crm.models import Contact, Deal, FollowUp, Message, NeedCorrection
from tests.standins.slack_harness import INBOX, REP, SlackWorld

CHAT = "700123456"
NAME = "Jane Doe-Okafor"
FIRST = "Hi, I'm at jane.okafor@example.com or +1 415 555 0142, how much is the pro plan?"
SECOND = "Also, can I get a refund for order 77123 on the old plan please?"
OLD_NAME = "J. Okafor"
OLD_EMAIL = "j.okafor@oldmail.example"


def personal_terms() -> list[str]:
    return [NAME, CHAT, "jane.okafor@example.com", "+14155550142", "415 555 0142", FIRST,
            SECOND, OLD_NAME, OLD_EMAIL]  # fmt: skip


def database_dump(world: SlackWorld) -> list[tuple[str, str, str]]:
    """(table, column, stored text) of every text and JSON value in the database."""
    found = []
    with world.rapport.store.transaction() as session:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
            for row in session.execute(select(*columns)).all() if columns else []:
                for column, value in zip(columns, row, strict=True):
                    if value is not None:
                        text = json.dumps(value, ensure_ascii=False)
                        found.append((table.name, column.name, text))
    return found


def leaks(texts: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    lowered = [t.lower() for t in personal_terms()]
    return [(t, c, v[:120]) for t, c, v in texts if any(term in v.lower() for term in lowered)]


async def run_scenario(world: SlackWorld) -> None:
    rapport = world.rapport
    await world.customer_writes(FIRST, name=NAME, chat_id=CHAT, message_id=f"{CHAT}:1")
    await world.customer_writes(SECOND, name=NAME, chat_id=CHAT, message_id=f"{CHAT}:2")
    with rapport.store.transaction() as session:
        contact_id = session.exec(select(Contact.id)).scalar_one()
        conversation_ref = session.exec(select(Message)).scalars().first().conversation_id
        first_message = session.exec(select(Message.id).order_by(Message.id)).scalars().first()
    ts = world.standin.last("chat.postMessage")["thread_ts"]
    event = {"type": "message", "channel": INBOX, "user": REP, "ts": "1772409999.000001",
             "text": "It's $10 a seat", "thread_ts": ts, "channel_type": "channel"}  # fmt: skip
    assert (await world.event(event, event_id="Ev1")).status_code == 200
    alice = rapport.rep_actor(channel="slack", external_id=REP, name="Alice Martin")
    root = rapport.rep_actor(channel="shell", external_id="root", name="Root", admin=True)
    for text in (
        f"retag {first_message} pricing",
        f"note #{contact_id}: {NAME} prefers mornings, call +1 415 555 0142",
        f'deal #{contact_id} "{NAME} renewal" 500',
        f"followup #{contact_id} tomorrow 10am: Hello {NAME}, any news?",
        f"remind me to call {NAME} about order 77123 tomorrow",
        f"reply {conversation_ref} Thanks {NAME}, we are on it",
    ):
        reply = await rapport.dispatcher.handle(alice, text)
        assert reply.ok, (text, reply.text)
    now = rapport.services.clock.now()
    with rapport.store.transaction() as session:
        old = create_contact(
            session, actor=root, data=ContactInput(name=OLD_NAME, emails=[OLD_EMAIL]), now=now
        )
        merge_contacts(session, actor=root, source_id=old.id, target_id=contact_id, now=now)
        assert session.exec(select(NeedCorrection)).scalars().all()
        assert session.exec(select(Deal)).scalars().all()
        assert len(session.exec(select(FollowUp)).scalars().all()) >= 2
    assert leaks(database_dump(world))  # the scan sees the data before the erasure


async def forget(world: SlackWorld) -> CustomerCommands:
    commands = CustomerCommands(world.rapport.services)

    def said(text: str, n: int) -> IncomingMessage:
        return IncomingMessage(Address("telegram", CHAT), sender_id=CHAT, sender_name=NAME,
                               text=text, message_id=f"{CHAT}:{n}")  # fmt: skip

    question = await commands.run("forget", said("/forget", 10))
    done = await commands.action(FORGET, question.actions[0].value, said("", 11))
    assert done is not None and done.text.startswith("Done"), done
    return commands


async def test_forget_leaves_nothing_in_any_table_or_slack_post(db_url: str, tmp_path: Path):
    if not db_url.startswith("sqlite"):
        engine = make_engine(db_url)
        migrate.upgrade(engine)
        engine.dispose()
    async with SlackWorld.running(tmp_path, RAPPORT_DATABASE_URL=db_url) as world:
        await run_scenario(world)
        posts_before = dict(world.standin.posts)
        assert any(NAME in json.dumps(p) for p in posts_before.values())
        await forget(world)
        left = leaks(database_dump(world))
        assert left == [], "\n".join(map(str, left))
        slack = [("slack", f"{c}:{ts}", json.dumps(p, ensure_ascii=False))
                 for (c, ts), p in world.standin.posts.items()]  # fmt: skip
        assert leaks(slack) == []
        assert set(world.standin.posts) == set(posts_before)  # redacted in place, not deleted
        with world.rapport.store.transaction() as session:
            assert session.exec(select(Deal)).scalars().all()  # the business's record stays
            assert session.exec(select(NeedCorrection)).scalars().all() == []


async def test_forget_drops_a_model_that_learnt_from_their_corrections(tmp_path: Path) -> None:
    async with SlackWorld.running(tmp_path) as world:
        await run_scenario(world)
        from crm.needs.classifier import model_path

        model = model_path(tmp_path)
        model.parent.mkdir(parents=True, exist_ok=True)
        model.write_bytes(b"a model trained with their words")
        model.with_suffix(".json").write_text("{}")
        world.rapport.services.classifier = None  # no retraining in this test: only the drop
        commands = await forget(world)
        assert not model.exists() and not model.with_suffix(".json").exists()
        assert commands.retraining is None
