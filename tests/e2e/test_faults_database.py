"""The database goes away during inbound Telegram traffic: a private PostgreSQL (never
the shared one) is stopped hard mid-traffic and started again a few seconds later. No
message is lost (an update is confirmed only once stored), the bot recovers by itself,
and the customers are not spammed with apologies."""

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.app import RapportApp
from bot.runtime.telegram import attach_telegram
from channels.telegram.channel import APOLOGY
from crm import migrate
from crm.clock import ManualClock
from crm.models import Message
from tests.e2e.telegram_harness import NoClassifier, make_settings
from tests.standins.polling import wait
from tests.standins.private_postgres import PrivatePostgres, running_private_postgres
from tests.standins.telegram_api import TelegramStandIn

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

CHATS = range(7001, 7011)
OUTAGE_SECONDS = 3.0


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    yield from running_private_postgres()


async def test_a_postgres_restart_mid_traffic_loses_nothing_and_recovers_quietly(
    tmp_path: Path, api: TelegramStandIn, postgres: PrivatePostgres
) -> None:
    settings = make_settings(tmp_path, api.url, RAPPORT_DATABASE_URL=postgres.url)
    rapport = RapportApp.build(settings, clock=ManualClock())
    migrate.upgrade(rapport.store.engine)
    rapport.prepare_database()
    rapport.services.classifier = NoClassifier()
    # production timing for the store retries; only the long poll is shortened
    component = attach_telegram(rapport, poll_timeout=1)
    pushed: list[dict[str, Any]] = []

    def stored() -> Counter[str]:
        with rapport.store.transaction() as session:
            rows = session.exec(select(Message.external_id).where(Message.direction == "inbound"))
            return Counter(str(r) for r in rows)

    await component.start()
    try:
        for n in range(40):
            pushed.append(api.message(CHATS[n % len(CHATS)], text=f"before {n}"))
        await wait(lambda: api.last_confirmed() >= pushed[-1]["update_id"], 15)
        postgres.stop("immediate")  # a crash, not a polite shutdown
        for n in range(60):
            pushed.append(api.message(CHATS[n % len(CHATS)], text=f"during {n}"))
            await asyncio.sleep(OUTAGE_SECONDS / 60)
        postgres.start()
        for n in range(20):
            pushed.append(api.message(CHATS[n % len(CHATS)], text=f"after {n}"))
        await wait(lambda: api.last_confirmed() >= pushed[-1]["update_id"], 40)
        expected = {f"{u['message']['chat']['id']}:{u['message']['message_id']}" for u in pushed}
        counts = stored()
        missing = expected - set(counts)
        assert not missing, f"{len(missing)} confirmed updates were lost: {sorted(missing)[:5]}"
        assert all(count == 1 for count in counts.values())
    finally:
        await component.stop()
        rapport.close()
    for chat in CHATS:
        apologies = [t for t in api.texts(chat) if t == APOLOGY]
        assert len(apologies) <= 1, f"chat {chat} got {len(apologies)} apologies"


async def test_stopping_while_the_database_is_down_leaves_the_update_unconfirmed(
    tmp_path: Path, api: TelegramStandIn, postgres: PrivatePostgres
) -> None:
    settings = make_settings(tmp_path, api.url, RAPPORT_DATABASE_URL=postgres.url)
    rapport = RapportApp.build(settings, clock=ManualClock())
    migrate.upgrade(rapport.store.engine)
    rapport.services.classifier = NoClassifier()
    component = attach_telegram(rapport, poll_timeout=1)
    await component.start()
    try:
        postgres.stop("immediate")
        update = api.message(CHATS[0], text="sent while the database is down")
        await wait(lambda: len(api.calls_to("getUpdates")) >= 1 and api.pending, 5)
        await asyncio.sleep(1.0)  # the handler is waiting for the store
        async with asyncio.timeout(10):
            await component.stop()  # returns promptly, without confirming the update
        assert api.last_confirmed() < update["update_id"]
        assert api.texts(CHATS[0]) == []  # no apology
        postgres.start()
        component = attach_telegram(rapport, poll_timeout=1)
        await component.start()
        await wait(lambda: api.last_confirmed() >= update["update_id"], 15)
        with rapport.store.transaction() as session:
            [stored] = session.exec(select(Message).where(Message.direction == "inbound")).all()
        assert stored.text == "sent while the database is down"
    finally:
        await component.stop()
        rapport.close()
