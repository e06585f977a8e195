"""Hostile customers on Telegram: nobody reaches another customer's data or a rep
command, a flood is stored whole but acknowledged once, and a forged webhook is
refused and logged while no token or secret reaches a log."""

import json
import logging
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from crm.models import Contact
from tests.e2e.telegram_harness import (
    TOKEN,
    TelegramWorld,
    build_world,
    webhook_service,
)
from tests.standins.telegram_api import TelegramStandIn

JANE, BOB = 1001, 2002
JANES_SECRET = "my card ends 4242 and I live at 7 Elm Street"
WEBHOOK_SECRET = "hostile-test-webhook-secret-value"


def everything_sent_to(api: TelegramStandIn, chat_id: int) -> str:
    parts = [json.dumps(m, ensure_ascii=False) for m in api.sent(chat_id)]
    parts += [c.files.get("document", b"").decode("utf-8", "replace") for c in api.documents
              if c.params.get("chat_id") == chat_id]  # fmt: skip
    return "\n".join(parts)


async def test_a_customer_cannot_reach_another_customers_data_by_any_command(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    api.message(JANE, text=JANES_SECRET)
    await world.stored(1)
    bob = api.user(BOB, "Bob", "Brown")
    for text in ("hello", "/mydata", "/mydata 1", "/status", "/status #1", "/start 1",
                 "/help #1", "/forget"):  # fmt: skip
        api.message(BOB, text=text, user=bob)
    await api.wait_for(lambda: api.documents, timeout=5)
    await api.wait_for(lambda: len(api.texts(BOB)) >= 6, timeout=5)
    seen_by_bob = everything_sent_to(api, BOB)
    for leaked in ("4242", "Elm Street", "Jane", "Doe"):
        assert leaked not in seen_by_bob
    exports = [c for c in api.documents if c.params.get("chat_id") == BOB]
    for export in exports:  # "/mydata 1" is just /mydata: Bob's own data
        data = json.loads(export.files["document"])
        assert data["contact"]["name"] == "Bob Brown"
        assert [m["text"] for m in data["messages"]] == ["hello"]


async def test_rep_commands_sent_by_a_customer_are_only_stored_as_messages(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    api.message(JANE, text=JANES_SECRET)
    await world.stored(1)
    bob = api.user(BOB, "Bob", "Brown")
    attempts = ["delete #1", "show #1", "find Jane", "merge #1 #2", "reply 1 you are hacked",
                "edit #1 name Mallory", "undo", "/crm delete #1", "/crm show #1"]  # fmt: skip
    for text in attempts:
        api.message(BOB, text=text, user=bob)
    stored = await world.stored(1 + 7, timeout=8)  # plain texts are stored messages
    assert [m.text for m in stored[1:]] == attempts[:7]
    await api.wait_for(lambda: api.texts(BOB), timeout=20)  # a ceiling for loaded machines
    with world.rapport.store.transaction() as session:
        names = sorted(c.name for c in session.exec(select(Contact)))
    assert names == ["Bob Brown", "Jane Doe"]  # nothing deleted, merged or renamed
    assert api.texts(JANE) and all("hacked" not in t for t in api.texts(JANE))
    seen_by_bob = everything_sent_to(api, BOB)
    assert "4242" not in seen_by_bob and "Jane" not in seen_by_bob


async def test_a_flood_of_100_messages_is_stored_whole_and_acknowledged_once(
    world: TelegramWorld, api: TelegramStandIn
) -> None:
    for n in range(100):
        api.message(JANE, text=f"flood {n}")
    stored = await world.stored(100, timeout=15)
    assert [m.text for m in stored] == [f"flood {n}" for n in range(100)]
    assert len(api.texts(JANE)) == 1
    assert sum(not e.in_burst for e in world.events) == 1  # the inbox hears of one burst


async def test_a_forged_webhook_is_refused_and_logged_and_no_secret_is_logged(
    tmp_path: Path, api: TelegramStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world, service = webhook_service(tmp_path, api, WEBHOOK_SECRET)
    try:
        await service.start()
        assert service.http is not None
        url = f"http://127.0.0.1:{service.http.port}/telegram/webhook"
        update = api.message(JANE, text="forged: move my order to Mallory")
        api.fail("sendMessage", 500, times=1)  # an error on the way, to exercise error logs
        async with httpx.AsyncClient(timeout=10) as client:
            header = "X-Telegram-Bot-Api-Secret-Token"
            for headers in ({header: "guess"}, {header: WEBHOOK_SECRET[:-1]}, {}):
                refused = await client.post(url, json=update, headers=headers)
                assert refused.status_code == 403
            assert world.messages() == []
            right = {"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET}
            assert (await client.post(url, json=update, headers=right)).status_code == 200
            assert (await client.post(url, content=b"{", headers=right)).status_code == 400
        await api.wait_for(lambda: api.calls_to("sendMessage"), timeout=8)
    finally:
        await service.stop()
        world.rapport.close()
    refusals = [r for r in caplog.records if "webhook refused" in r.getMessage()]
    assert len(refusals) == 3 and all(r.levelno >= logging.WARNING for r in refusals)
    logged = (
        "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
        + caplog.text
    )
    for secret in (WEBHOOK_SECRET, TOKEN, TOKEN.split(":")[1] + "/"):
        assert secret not in logged, secret


@pytest.mark.postgres
async def test_nul_characters_from_a_customer_are_stored_on_postgresql_without_them(
    tmp_path: Path, api: TelegramStandIn, pg_empty_url: str
) -> None:
    from crm import migrate
    from crm.db import make_engine

    engine = make_engine(pg_empty_url)
    migrate.upgrade(engine)
    engine.dispose()
    running = await build_world(tmp_path, api, RAPPORT_DATABASE_URL=pg_empty_url).start()
    try:
        api.message(JANE, text="my order\x00 number is 4711", user=api.user(JANE, "Ja\x00ne"))
        [stored] = await running.stored(1, timeout=8)
        assert stored.text == "my order number is 4711"
        assert running.contact_of(JANE).name == "Jane Doe"  # type: ignore[union-attr]
        assert (await api.wait_for_texts(JANE, 1))[0].startswith("Thanks Jane")
    finally:
        await running.stop()
