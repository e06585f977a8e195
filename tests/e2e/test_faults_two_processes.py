"""Two `rapport run` processes on one PostgreSQL database, each serving the Telegram
webhook and Slack's HTTP events: the same Telegram update and the same Slack event
delivered to both are processed once."""

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select

from crm import migrate
from crm.models import Conversation, Message, ProcessedEvent
from tests.e2e.telegram_harness import TOKEN
from tests.standins.polling import wait
from tests.standins.rapport_process import RapportProcess, save_tiny_classifier
from tests.standins.slack_api import TEAM_ID, SlackStandin
from tests.standins.slack_harness import INBOX, REP, SECRET, signed_headers
from tests.standins.telegram_api import TelegramStandIn

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

WEBHOOK_SECRET = "two-process-webhook-secret"
JANE = 4242


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramStandIn]:
    stand_in = await TelegramStandIn().start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandin]:
    stand_in = await SlackStandin().start()
    stand_in.add_user(REP, "Alice Martin", "Europe/Paris")
    yield stand_in
    await stand_in.stop()


async def healthy(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(f"{url}/healthz")).status_code == 200
    except httpx.HTTPError:
        return False


async def test_the_same_update_and_event_sent_to_two_processes_are_processed_once(
    tmp_path: Path, pg_empty_url: str, telegram: TelegramStandIn, slack: SlackStandin
) -> None:
    engine = create_engine(pg_empty_url)
    migrate.upgrade(engine)
    data = tmp_path / "data"
    data.mkdir()
    save_tiny_classifier(data)
    ports = [free_port(), free_port()]
    base = {
        "RAPPORT_DATA_DIR": str(data),
        "RAPPORT_DATABASE_URL": pg_empty_url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "RAPPORT_TELEGRAM_API_URL": telegram.url,
        "RAPPORT_TELEGRAM_WEBHOOK_URL": "https://rapport.example/telegram/webhook",
        "RAPPORT_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "RAPPORT_SLACK_API_URL": slack.api_url,
        "SLACK_TEAM_ID": TEAM_ID,
        "RAPPORT_SLACK_INBOX_CHANNEL": INBOX,
        "RAPPORT_HTTP_HOST": "127.0.0.1",
        "RAPPORT_TIMEZONE": "UTC",
        "RAPPORT_TICK_SECONDS": "0.5",
    }
    processes = [
        RapportProcess(base | {"RAPPORT_HTTP_PORT": str(port)}, tmp_path / f"rapport{n}.log")
        for n, port in enumerate(ports)
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    async with httpx.AsyncClient(timeout=30) as client:
        try:
            for process in processes:
                process.start()
            for url in urls:
                async with asyncio.timeout(60):
                    while not await healthy(client, url):
                        assert all(p.alive() for p in processes), processes[0].log()[-2000:]
                        await asyncio.sleep(0.1)

            # the same Telegram update, delivered to both at once (and once more)
            update = telegram.message(JANE, text="How much is the red bike?")
            headers = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
            answers = await asyncio.gather(*(
                client.post(f"{url}/telegram/webhook", json=update, headers=headers)
                for url in urls + urls))  # fmt: skip
            assert [a.status_code for a in answers] == [200] * 4
            await wait(lambda: slack.calls_to("chat.postMessage"), 15)
            with Session(engine) as session:
                [message] = session.exec(select(Message)).all()
                assert message.text == "How much is the red bike?"
            await asyncio.sleep(1.0)  # time for any second acknowledgement to show up
            assert len(telegram.texts(JANE)) == 1  # acknowledged once
            assert len(slack.calls_to("chat.postMessage")) == 1  # one inbox post

            # the same Slack event (a rep's answer in the thread), to both processes
            with Session(engine) as session:
                ref = session.exec(select(Conversation)).one().inbox_ref
            assert ref is not None
            event = {"type": "message", "channel": INBOX, "user": REP, "text": "It is $499.",
                     "ts": "1772409999.000001", "thread_ts": ref.split(":", 1)[1]}  # fmt: skip
            body = json.dumps({
                "token": "legacy", "team_id": TEAM_ID, "api_app_id": "A0RAPPORT",
                "event": event, "type": "event_callback", "event_id": "EvTwice",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM_ID, "user_id": "UBOT", "is_bot": True}],
            }).encode()  # fmt: skip
            replies = await asyncio.gather(*(
                client.post(f"{url}/slack/events", content=body, headers={
                    "Content-Type": "application/json", **signed_headers(body)})
                for url in urls + urls))  # fmt: skip
            assert [r.status_code for r in replies] == [200] * 4
            await wait(lambda: "It is $499." in telegram.texts(JANE), 15)
            await asyncio.sleep(1.0)
            assert telegram.texts(JANE).count("It is $499.") == 1
            with Session(engine) as session:
                rows = session.exec(select(ProcessedEvent)).all()
                assert [(r.source, r.event_id) for r in rows].count(("slack", "EvTwice")) == 1
        finally:
            for process in processes:
                process.stop()
    engine.dispose()
    for process in processes:
        assert "Traceback" not in process.log(), process.log()[-3000:]
