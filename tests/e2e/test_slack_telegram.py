"""Customer on Telegram, rep in Slack, both through their real SDKs and stand-ins:
the customer's message becomes an inbox post, the rep answers in its thread, the
customer receives it, and a blocked bot shows up in the thread as the reason."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select

from crm.models import Conversation
from tests.standins.slack_harness import INBOX, REP, SlackWorld

telegram_api = pytest.importorskip("tests.standins.telegram_api")
pytest.importorskip("bot.runtime.telegram")

CHAT = 4242


@pytest.fixture
async def world(tmp_path: Path, api) -> AsyncIterator[SlackWorld]:  # type: ignore[no-untyped-def]
    async with SlackWorld.running(tmp_path, telegram_api=api) as running:
        yield running


async def test_a_telegram_customer_and_a_slack_rep_talk_through_the_inbox_thread(
    world: SlackWorld,
    api,  # type: ignore[no-untyped-def]
) -> None:
    api.message(CHAT, text="Hi! How much is the pro plan?", user=api.user(CHAT, "Jane", "Doe"))
    [post] = await world.standin.wait_for("chat.postMessage")
    assert post.args["channel"] == INBOX and "Jane Doe via telegram" in post.args["text"]
    acknowledged = len(await api.wait_for_texts(CHAT, 1))  # the customer's acknowledgement
    with world.rapport.store.transaction() as session:  # the post's ts is on the conversation
        ref = session.exec(select(Conversation)).one().inbox_ref
    assert ref is not None
    ts = ref.split(":")[1]

    reply = {"type": "message", "channel": INBOX, "user": REP, "thread_ts": ts,
             "text": "Hi Jane, it is $10 per seat.", "ts": "1772409999.000001"}  # fmt: skip
    await world.event(reply, event_id="EvT1")
    texts = await api.wait_for_texts(CHAT, acknowledged + 1)
    assert texts[-1] == "Hi Jane, it is $10 per seat."
    note = world.standin.last("chat.postMessage")
    assert note["thread_ts"] == ts and note["text"] == "✓ Delivered to Jane Doe on telegram."

    api.block(CHAT)
    await world.event(reply | {"ts": "1772409999.000002", "text": "Still there?"}, event_id="EvT2")
    note = world.standin.last("chat.postMessage")
    assert note["thread_ts"] == ts
    assert note["text"].startswith("⚠ Not delivered to Jane Doe on telegram: ")
    assert "blocked" in note["text"]
