"""`rapport run` killed with SIGKILL in the middle of Telegram traffic and restarted:
every update the Bot API stand-in saw confirmed is stored exactly once, every other
update is taken after the restart, and every follow-up that fell due is sent."""

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.app import RapportApp
from crm import conversations, followups
from crm.actors import SYSTEM
from crm.identities import resolve_customer
from crm.models import FollowUp, Message
from tests.e2e.telegram_harness import TOKEN, make_settings
from tests.standins.polling import wait
from tests.standins.rapport_process import RapportProcess, save_tiny_classifier
from tests.standins.telegram_api import TelegramStandIn

pytestmark = pytest.mark.slow

WRITERS = range(5001, 5021)  # 20 customers writing
WAITING = range(9001, 9007)  # 6 customers with follow-ups due (3 overdue, 3 due mid-run)


def seed_followups(rapport: RapportApp, now: datetime) -> None:
    with rapport.store.transaction() as session:
        for n, chat in enumerate(WAITING):
            contact = resolve_customer(session, channel="telegram", external_id=str(chat),
                                       display_name=f"Waiting {n}", now=now).contact  # fmt: skip
            conversations.record_inbound(session, contact=contact, channel="telegram",
                                         chat_id=str(chat), text="hello", sent_at=now, now=now,
                                         external_id=f"{chat}:seed")  # fmt: skip
            due = now - timedelta(minutes=5) if n < 3 else now + timedelta(seconds=4)
            followups.schedule(session, actor=SYSTEM, kind="customer", due_at=due,
                               text=f"Follow-up for {chat}", now=now, contact_id=contact.id,
                               stop_on_reply=False)  # fmt: skip


def child_env(data: Path, api: TelegramStandIn) -> dict[str, str]:
    return {
        "RAPPORT_DATA_DIR": str(data),
        "RAPPORT_DATABASE_URL": f"sqlite:///{data / 'rapport.db'}",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "RAPPORT_TELEGRAM_API_URL": api.url,
        "RAPPORT_TIMEZONE": "UTC",
        "RAPPORT_BUSINESS_NAME": "Acme Bikes",
        "RAPPORT_HTTP_HOST": "127.0.0.1",
        "RAPPORT_HTTP_PORT": "0",
        "RAPPORT_TICK_SECONDS": "0.5",
        # The child runs on the real clock: without this, a run after 21:00 UTC would hold
        # the customer follow-ups for the morning and the test would wait for them in vain.
        "RAPPORT_QUIET_HOURS": "off",
    }


async def test_sigkill_mid_traffic_loses_no_confirmed_update_and_sends_due_followups(
    tmp_path: Path, api: TelegramStandIn
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    save_tiny_classifier(data)
    rapport = RapportApp.build(make_settings(data, api.url))
    rapport.prepare_database()
    seed_followups(rapport, datetime.now(UTC))

    def stored() -> Counter[str]:
        with rapport.store.transaction() as session:
            rows = session.exec(select(Message.external_id).where(
                Message.direction == "inbound", Message.external_id.not_like("%:seed")))  # type: ignore[union-attr]  # fmt: skip
            return Counter(str(r) for r in rows)

    process = RapportProcess(child_env(data, api), tmp_path / "rapport.log").start()
    pushed: list[dict[str, Any]] = []
    try:
        await wait(lambda: api.calls_to("getUpdates"), 60)
        for n in range(150):
            pushed.append(api.message(WRITERS[n % len(WRITERS)], text=f"message {n}"))
            await asyncio.sleep(0.002)
        await wait(lambda: api.last_confirmed() >= pushed[40]["update_id"], 20)
        process.kill()  # SIGKILL: no shutdown, no last getUpdates
        at_kill = api.last_confirmed()
        for n in range(150, 250):  # the customers keep writing while Rapport is down
            pushed.append(api.message(WRITERS[n % len(WRITERS)], text=f"message {n}"))
        stored_at_kill = stored()
        for update in pushed:
            if update["update_id"] <= at_kill:
                message = update["message"]
                assert stored_at_kill[f"{message['chat']['id']}:{message['message_id']}"] == 1

        process.start()
        await wait(lambda: api.last_confirmed() >= pushed[-1]["update_id"], 30)
        expected = {f"{u['message']['chat']['id']}:{u['message']['message_id']}" for u in pushed}
        await wait(lambda: set(stored()) == expected, 10)
        assert all(count == 1 for count in stored().values())

        def followups_sent() -> bool:
            return all(f"Follow-up for {chat}" in api.texts(chat) for chat in WAITING)

        await wait(followups_sent, 20)
    finally:
        process.stop()
        log = process.log()
    with rapport.store.transaction() as session:
        rows = session.exec(select(FollowUp)).all()
        assert {r.status for r in rows} == {"sent"}, [(r.id, r.status) for r in rows]
    for chat in WAITING:  # sent, and not spammed
        assert api.texts(chat).count(f"Follow-up for {chat}") == 1
    assert "Traceback" not in log, log[-3000:]
    rapport.close()
