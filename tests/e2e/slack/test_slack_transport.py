"""The edges: request signatures, event retries, foreign teams, rate limits and API
errors, acknowledging before the work, Socket Mode start-up, and /healthz."""

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlmodel import select

from channels.base import Address, OutgoingMessage, Reply
from channels.slack.app import REFUSAL
from crm.db import make_engine
from crm.models import ProcessedEvent, Rep
from tests.standins.slack_harness import INBOX, REP, SlackWorld, signed_headers


def command_body(world: SlackWorld, text: str = "help") -> bytes:
    fields = {"team_id": "T0TEAM", "user_id": REP, "command": "/crm", "text": text,
              "channel_id": "C1", "response_url": world.standin.response_url(),
              "trigger_id": "t1"}  # fmt: skip
    return "&".join(f"{k}={v}" for k, v in fields.items()).encode()


async def test_a_wrong_signature_or_a_stale_timestamp_is_refused_with_401(
    world: SlackWorld,
) -> None:
    body = command_body(world)
    form = "application/x-www-form-urlencoded"
    wrong = await world.post(body, form, signature=signed_headers(body, secret="not-it"))
    stale = await world.post(body, form, signature=signed_headers(body, at=time.time() - 600))
    tampered = await world.post(body + b"x", form, signature=signed_headers(body))
    assert (wrong.status_code, stale.status_code, tampered.status_code) == (401, 401, 401)
    right = await world.post(body, form)
    assert right.status_code == 200
    assert len(world.standin.responded()) == 1  # only the properly signed one ran


async def test_url_verification_answers_the_challenge(world: SlackWorld) -> None:
    body = b'{"type":"url_verification","token":"legacy","challenge":"c-123"}'
    response = await world.post(body, "application/json")
    assert response.status_code == 200 and "c-123" in response.text


async def test_retried_events_are_processed_once(world: SlackWorld) -> None:
    await world.customer_writes("How much is it?", name="Jane Doe")
    with world.rapport.store.transaction() as session:
        from crm.models import Conversation

        ts = session.exec(select(Conversation)).one().inbox_ref.split(":")[1]  # type: ignore[union-attr]
    event = {"type": "message", "channel": INBOX, "user": REP, "text": "Ten dollars",
             "ts": "1772409999.000001", "thread_ts": ts}  # fmt: skip
    for retry in (None, 1, 2):
        assert (await world.event(event, event_id="EvRetry", retry=retry)).status_code == 200
    assert len(world.telegram.sent) == 1
    with world.rapport.store.transaction() as session:
        [row] = session.exec(select(ProcessedEvent)).all()
        assert (row.source, row.event_id) == ("slack", "EvRetry")


async def test_a_foreign_team_gets_a_polite_refusal_and_nothing_runs(world: SlackWorld) -> None:
    response = await world.command("add Mallory", team="T0EVIL")
    assert response.status_code == 200
    assert response.json() == {"response_type": "ephemeral", "text": REFUSAL}
    await world.click("followup_done", "1", team="T0EVIL")
    assert world.standin.responded("r2") == [{"text": REFUSAL}]
    event = {"type": "app_home_opened", "user": "U0EVIL", "tab": "home"}
    await world.event(event, event_id="EvEvil", team="T0EVIL")
    assert world.standin.calls_to("users.info") == []
    assert world.standin.calls_to("views.publish") == []
    with world.rapport.store.transaction() as session:
        assert session.exec(select(Rep)).all() == []


async def test_a_429_is_retried_after_retry_after_and_then_delivered(world: SlackWorld) -> None:
    world.standin.rate_limit("chat.postMessage", retry_after=0)
    result = await world.rapport.services.hub.send(
        OutgoingMessage(Address("slack", REP), Reply("⏰ call bob"), kind="reminder")
    )
    assert result.delivered
    assert len(world.standin.calls_to("chat.postMessage")) == 2


async def test_slack_refusals_become_delivery_results_the_outbox_understands(
    world: SlackWorld,
) -> None:
    world.standin.fail("chat.postMessage", "channel_not_found")
    gone = await world.rapport.services.hub.send(
        OutgoingMessage(Address("slack", "C0GONE"), Reply("hello"), kind="notice")
    )
    assert (gone.delivered, gone.error, gone.permanent) == (False, "channel_not_found", True)
    world.standin.rate_limit("chat.postMessage", retry_after=0, times=3)
    busy = await world.rapport.services.hub.send(
        OutgoingMessage(Address("slack", REP), Reply("hello"), kind="reminder")
    )
    assert (busy.delivered, busy.error, busy.permanent) == (False, "ratelimited", False)
    assert busy.retry_after == 0


async def test_an_api_error_that_affects_the_rep_is_told_to_them_without_a_trace(
    world: SlackWorld,
) -> None:
    world.standin.fail("views.open", "expired_trigger_id")
    await world.command("")
    [told] = world.standin.responded()
    assert "couldn't open the form" in told["text"] and "expired_trigger_id" in told["text"]
    assert "Traceback" not in told["text"]


async def test_production_mode_acknowledges_before_the_work_is_done(tmp_path: Path) -> None:
    async with SlackWorld.running(tmp_path, process_before_response=False) as world:
        original = world.rapport.dispatcher.handle

        async def slow(*args: Any, **kwargs: Any) -> Reply:
            await asyncio.sleep(0.8)
            return await original(*args, **kwargs)

        world.rapport.dispatcher.handle = slow  # type: ignore[method-assign]
        started = time.monotonic()
        response = await world.command("help")
        assert response.status_code == 200 and time.monotonic() - started < 0.7
        assert world.standin.responded() == []
        async with asyncio.timeout(5):
            while not world.standin.responded():
                await asyncio.sleep(0.02)
        assert "Here is what I understand" in world.standin.responded()[0]["text"]


async def test_socket_mode_connects_and_acks_a_slash_command_envelope(tmp_path: Path) -> None:
    async with SlackWorld.running(tmp_path, SLACK_APP_TOKEN="xapp-test") as world:
        assert world.service.http is None  # no public URL needed
        [opened] = world.standin.calls_to("apps.connections.open")
        assert opened.token == "xapp-test"
        payload = {"team_id": "T0TEAM", "user_id": REP, "user_name": "alice", "command": "/crm",
                   "text": "help done", "channel_id": "C1", "trigger_id": "t1",
                   "response_url": world.standin.response_url()}  # fmt: skip
        await world.standin.send_envelope(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "payload": payload,
                "accepts_response_payload": True,
                "retry_attempt": 0,
                "retry_reason": "",
            }  # fmt: skip
        )
        ack = await world.standin.next_ack()
        assert ack["envelope_id"] == "env-1"
        async with asyncio.timeout(5):
            while not world.standin.responded():
                await asyncio.sleep(0.02)
        # the text is mrkdwn: escaped, as Slack renders it back to "<follow-up number>"
        assert "done &lt;follow-up number&gt;" in world.standin.responded()[0]["text"]


async def test_healthz_is_200_with_the_database_and_503_without(world: SlackWorld) -> None:
    ok = await world.http.get(f"{world.url}/healthz")
    assert ok.status_code == 200 and ok.json()["database"] is True
    store = world.rapport.store
    healthy = store.engine
    store.engine = create_engine(f"sqlite:///{Path('/nonexistent-dir/rapport.db')}")
    try:
        broken = await world.http.get(f"{world.url}/healthz")
        assert broken.status_code == 503 and broken.json()["database"] is False
    finally:
        store.engine.dispose()
        store.engine = healthy


async def test_healthz_is_503_when_the_sqlite_file_is_damaged(
    world: SlackWorld, tmp_path: Path
) -> None:
    """SELECT 1 still answers on a file with a damaged page; PRAGMA quick_check does not."""
    damaged = tmp_path / "damaged.db"
    raw = sqlite3.connect(damaged)
    raw.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, x TEXT)")
    raw.execute("CREATE INDEX ix_t_x ON t (x)")
    raw.executemany("INSERT INTO t (x) VALUES (?)", [(f"value {i} " * 5,) for i in range(3000)])
    raw.commit()
    raw.close()
    with damaged.open("r+b") as file:  # garbage over part of a b-tree page
        file.seek(4096 * 6 + 200)
        file.write(b"\xff" * 300)
    store = world.rapport.store
    healthy = store.engine
    store.engine = make_engine(f"sqlite:///{damaged}")
    try:
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1  # it still answers
        broken = await world.http.get(f"{world.url}/healthz")
        assert broken.status_code == 503
        assert broken.json() == {
            "status": "unavailable",
            "database": False,
            "problem": "database integrity check failed",
        }
    finally:
        store.engine.dispose()
        store.engine = healthy
    assert (await world.http.get(f"{world.url}/healthz")).status_code == 200


async def test_a_chart_sent_through_the_hub_is_uploaded_to_its_channel(world: SlackWorld) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"1" * 32
    weekly = Reply("Weekly pipeline", image=png, image_title="Weekly pipeline")
    result = await world.rapport.services.hub.send(
        OutgoingMessage(Address("slack", "C0REPORTS"), weekly, kind="notice")
    )
    assert result.delivered
    assert list(world.standin.uploads.values()) == [png]
    complete = world.standin.last("files.completeUploadExternal")
    assert (
        complete["channel_id"] == "C0REPORTS" and complete["initial_comment"] == "Weekly pipeline"
    )
    assert complete["files"][0]["title"] == "Weekly pipeline"
