"""Hostile customers and forged requests, seen from the reps' Slack: injected mentions,
links, bidi overrides and control characters are shown inert; an oversized message is
cut with a note; a flood is stored whole but acknowledged once and summarised in the
inbox thread; forged requests are refused and logged, and no secret reaches a log."""

import asyncio
import logging
import time
from urllib.parse import urlencode

import pytest
from sqlmodel import func, select

from bot.slack.inbox import BURST_THREAD_POSTS
from crm.conversations import CUT_MARK, MAX_MESSAGE
from crm.models import Contact, Message, ProcessedEvent
from tests.standins.slack_harness import (
    INBOX,
    REP,
    SECRET,
    TEAM_ID,
    SlackWorld,
    block_texts,
    signed_headers,
)

HOSTILE = (
    "<!channel> <!here> <@U123> <#C999> <http://evil.example|click> "
    "\u202eevil\u202c \x07\x1b[31m &amp;"
)
NAME = "Mallory <!channel>\u202e"
FORBIDDEN = ("<!channel>", "<!here>", "<@U123>", "<#C999>", "<http", "\u202e", "\x07", "\x1b")


def assert_inert(*parts: str) -> None:
    for part in parts:
        for bad in FORBIDDEN:
            assert bad not in part, (bad, part[:200])


async def test_injection_in_customer_text_and_name_is_inert_in_post_thread_and_card(
    world: SlackWorld,
) -> None:
    await world.customer_writes(HOSTILE, name=NAME)
    post = world.standin.last("chat.postMessage")
    assert post["channel"] == INBOX
    assert_inert(post["text"], *block_texts(post["blocks"]))
    assert "&lt;!channel&gt;" in "\n".join(block_texts(post["blocks"]))
    assert "&amp;amp;" in "\n".join(block_texts(post["blocks"]))  # shown as typed, not unescaped

    await world.customer_writes("second: " + HOSTILE, name=NAME)
    thread = world.standin.last("chat.postMessage")
    assert "thread_ts" in thread
    assert_inert(thread["text"], *block_texts(thread["blocks"]))

    await world.command("show #1", key="card")
    [card] = world.standin.responded("card")
    assert_inert(card.get("text", ""), *block_texts(card["blocks"]))
    assert any("&lt;@U123&gt;" in t for t in block_texts(card["blocks"]))  # the timeline shows it


async def test_an_oversized_customer_message_is_cut_with_a_note_within_slack_limits(
    world: SlackWorld,
) -> None:
    long = ("word " * 9000).strip()  # 45k characters, above Slack's 40k message text limit
    await world.customer_writes(long, name="Jane Doe")
    post = world.standin.last("chat.postMessage")
    assert len(post["text"]) <= 3000
    sections = block_texts(post["blocks"])
    assert all(len(t) <= 3000 for t in sections) and len(post["blocks"]) <= 50
    assert any("cut here" in t and "timeline" in t for t in sections)
    with world.rapport.store.transaction() as session:
        stored = session.exec(select(Message)).one().text
    kept = stored.removesuffix(CUT_MARK)  # kept up to the store's cap, which says so
    assert len(stored) == MAX_MESSAGE and kept != stored and long.startswith(kept)


async def test_a_flood_is_stored_whole_acknowledged_once_and_summarised_in_the_inbox(
    world: SlackWorld,
) -> None:
    received = [await world.customer_writes(f"message {n}", name="Flo Od") for n in range(100)]
    assert sum(r.ack is not None for r in received) == 1
    with world.rapport.store.transaction() as session:
        assert session.exec(select(func.count()).select_from(Message)).one() == 100
    posts = world.standin.calls_to("chat.postMessage")
    # the conversation post, the first few of the burst in its thread, one note
    assert len(posts) == 1 + BURST_THREAD_POSTS + 1
    assert "keeps writing" in posts[-1].args["text"]
    # after the burst window, the next message is acknowledged and threaded again
    world.rapport.services.clock.advance(minutes=10)  # type: ignore[attr-defined]
    again = await world.customer_writes("are you there?", name="Flo Od")
    assert again.ack is not None
    assert len(world.standin.calls_to("chat.postMessage")) == len(posts) + 1


async def test_forged_requests_are_refused_and_logged_and_no_secret_is_logged(
    world: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = b"team_id=T0TEAM&user_id=U0ALICE&command=/crm&text=add+Mallory&channel_id=C1"
    form = "application/x-www-form-urlencoded"
    forged = await world.post(body, form, signature=signed_headers(body, secret="guessed"))
    replayed = await world.post(body, form, signature=signed_headers(body, at=time.time() - 400))
    unsigned = await world.post(
        body, form, signature={"X-Slack-Request-Timestamp": str(int(time.time()))}
    )
    assert (forged.status_code, replayed.status_code, unsigned.status_code) == (401, 401, 401)
    foreign = await world.command("add Mallory", team="T0EVIL")
    assert "add Mallory" not in foreign.text
    await world.command("add Real Person", user=REP)  # and one that goes through
    await world.customer_writes("hello " + HOSTILE, name="Jane Doe")
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert sum("Invalid request signature" in m for m in messages) == 3
    assert sum("slack request refused team=T0EVIL" in m for m in messages) == 1
    logged = "\n".join(
        f"{r.getMessage()} {r.exc_text or ''} {r.stack_info or ''}" for r in caplog.records
    )
    for secret in (SECRET, "xoxb-test"):
        assert secret not in logged
    assert caplog.text.count(SECRET) == 0


async def test_a_replayed_slash_command_inside_the_signature_window_runs_once(
    world: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """A captured `/crm add ...` request sent again, byte for byte with its valid signature,
    inside Slack's 5 minutes: dropped by its trigger_id (stored in the database, so a replay
    sent to another worker is dropped as well). A new trigger_id runs again."""
    caplog.set_level(logging.INFO)
    fields = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "channel_id": "C0SALES",
        "user_id": REP,
        "command": "/crm",
        "text": "add Rita Replay",
        "response_url": world.standin.response_url("replay"),
        "trigger_id": "trigger-captured-1",
        "api_app_id": "A0RAPPORT",
    }
    body = urlencode(fields).encode()
    form = "application/x-www-form-urlencoded"
    captured = signed_headers(body)
    first = await world.post(body, form, signature=captured)
    assert first.status_code == 200
    await wait_until_async(lambda: rita_count(world) == 1)
    for seconds_later in (0, 30, 240):  # still inside the signature's 5 minutes
        replay = await world.post(
            body, form, signature=signed_headers(body, at=time.time() - seconds_later)
        )
        assert replay.status_code == 200 and replay.text == ""
    again = await world.post(body, form, signature=captured)  # the very same headers
    assert again.status_code == 200 and again.text == ""
    await asyncio.sleep(0.3)
    assert rita_count(world) == 1
    with world.rapport.store.transaction() as session:
        keys = session.exec(
            select(ProcessedEvent.event_id).where(ProcessedEvent.source == "slack")
        ).all()
    assert "trigger:trigger-captured-1" in keys
    assert sum("command replay dropped" in r.getMessage() for r in caplog.records) == 4
    fresh = urlencode({**fields, "trigger_id": "trigger-new-2", "text": "add Rita Second"})
    assert (await world.post(fresh.encode(), form)).status_code == 200
    await wait_until_async(lambda: rita_count(world) == 2)


def rita_count(world: SlackWorld) -> int:
    with world.rapport.store.transaction() as session:
        names = session.exec(select(Contact.name)).all()
    return sum(name.startswith("Rita") for name in names)


async def wait_until_async(check, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)
