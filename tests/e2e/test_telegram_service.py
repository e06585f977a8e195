"""Telegram inside `rapport run`'s Service: long polling started and stopped cleanly, and
the webhook served by Rapport's own HTTP server (right secret in, wrong secret 403)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bot.runtime.service import Service
from bot.runtime.telegram import attach_telegram
from tests.e2e.telegram_harness import NoClassifier, build_world, webhook_service

JANE = 1001
SECRET = "s3cret-webhook-token"


async def test_the_service_starts_and_stops_telegram_in_polling_mode(tmp_path, api) -> None:  # type: ignore[no-untyped-def]
    world = build_world(tmp_path, api)
    world.rapport.services.classifier = NoClassifier()
    if importlib.util.find_spec("bot.runtime.scheduler") is not None:
        service = Service(world.rapport)  # the real component list, scheduler included
    else:
        service = Service(world.rapport, components=[world.component])
    try:
        await service.start()
        assert any(c.name == "telegram" for c in service.components)
        # polling needs no HTTP server: only the REST API (on by default) asks for one
        assert [c.name for c in service.components if c.http or c.needs_http] == ["api"]
        assert api.calls_to("getMe")
        await api.wait_for(lambda: api.calls_to("deleteWebhook"))  # polling excludes a webhook
        update = api.message(JANE, text="hello from the runner")
        await world.stored(1)
    finally:
        await service.stop()
        world.rapport.close()
    assert api.offsets[-1] == update["update_id"] + 1  # the last update was confirmed on stop
    calls = len(api.calls)
    await api.wait_for(lambda: True)
    assert len(api.calls) == calls  # nothing polls after stop


async def test_the_webhook_takes_updates_with_the_right_secret_and_refuses_others(
    tmp_path,
    api,  # type: ignore[no-untyped-def]
) -> None:
    world, service = webhook_service(tmp_path, api, SECRET)
    try:
        await service.start()
        assert service.http is not None
        await api.wait_for(lambda: api.webhook)
        assert api.webhook == {
            "url": "https://rapport.example/telegram/webhook",
            "secret_token": SECRET,
        }
        url = f"http://127.0.0.1:{service.http.port}/telegram/webhook"
        update = api.message(JANE, text="via the webhook")
        async with httpx.AsyncClient(timeout=10) as client:
            wrong = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
            )
            missing = await client.post(url, json=update)
            assert (wrong.status_code, missing.status_code) == (403, 403)
            assert world.messages() == []
            right = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            assert right.status_code == 200
            # answered only once the update went through the handlers: already stored
            [stored] = world.messages()
            assert stored.text == "via the webhook"
            again = await client.post(
                url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            assert again.status_code == 200 and len(world.messages()) == 1
            garbage = await client.post(
                url, content=b"not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            assert garbage.status_code == 400
        [ack] = await api.wait_for_texts(JANE, 1)
        assert ack.startswith("Thanks Jane")
        assert not api.calls_to("getUpdates")
    finally:
        await service.stop()
        world.rapport.close()


async def test_attach_telegram_registers_the_channel_on_the_hub(tmp_path, api) -> None:  # type: ignore[no-untyped-def]
    world = build_world(tmp_path, api)
    try:
        assert world.rapport.services.hub.has("telegram")
        component = attach_telegram(world.rapport)
        assert component.name == "telegram" and component.http is None
    finally:
        world.rapport.close()


async def test_the_webhook_answers_503_to_an_update_whose_store_failed(tmp_path, api) -> None:  # type: ignore[no-untyped-def]
    """Any store error (here a bug, not an outage): Telegram is told 503, so it delivers
    the update again; the next delivery is stored, once, and answered 200."""
    world, service = webhook_service(tmp_path, api, SECRET)
    desk = world.rapport.desk
    original, broken = desk.receive, [True]

    async def receive(message):  # type: ignore[no-untyped-def]
        if broken[0]:
            raise ValueError("a bug in the store path")
        return await original(message)

    desk.receive = receive  # type: ignore[method-assign]
    try:
        await service.start()
        assert service.http is not None
        url = f"http://127.0.0.1:{service.http.port}/telegram/webhook"
        update = api.message(JANE, text="do not lose me")
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with httpx.AsyncClient(timeout=20) as client:
            first = await client.post(url, json=update, headers=headers)
            assert first.status_code == 503 and world.messages() == []
            broken[0] = False
            again = await client.post(url, json=update, headers=headers)
            assert again.status_code == 200
        [stored] = world.messages()
        assert stored.text == "do not lose me"
        assert not any(t.startswith("Sorry") for t in api.texts(JANE))
    finally:
        await service.stop()
        world.rapport.close()


@pytest.mark.slow  # starts real `rapport run` processes
@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        (None, "RAPPORT_TELEGRAM_WEBHOOK_SECRET must be set for Telegram webhook mode"),
        ("bad secret:with/odd*chars", "RAPPORT_TELEGRAM_WEBHOOK_SECRET: must be 1 to 256"),
        ("x" * 257, "RAPPORT_TELEGRAM_WEBHOOK_SECRET: must be 1 to 256"),
    ],
)
def test_rapport_run_refuses_a_multi_worker_webhook_without_one_valid_secret(
    tmp_path: Path, secret: str | None, problem: str
) -> None:
    """Webhook mode on PostgreSQL (where several workers share one webhook) needs the one
    configured secret, and any secret must be what Telegram accepts: `rapport run` stops
    before it listens or calls Telegram, with one message naming the variable."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "TELEGRAM_", "SLACK_"))
    }
    env.update(
        RAPPORT_DATA_DIR=str(tmp_path),
        RAPPORT_DATABASE_URL="postgresql://postgres@127.0.0.1:1/never-reached",
        TELEGRAM_BOT_TOKEN="123456:TEST-token",
        RAPPORT_TELEGRAM_API_URL="http://127.0.0.1:1/bot",
        RAPPORT_TELEGRAM_WEBHOOK_URL="https://rapport.example/telegram/webhook",
    )
    if secret is not None:
        env["RAPPORT_TELEGRAM_WEBHOOK_SECRET"] = secret
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert problem in result.stderr
    assert result.stderr.count("RAPPORT_TELEGRAM_WEBHOOK_SECRET") == 1
    assert "Traceback" not in result.stderr
    if secret is not None:
        assert secret not in result.stderr + result.stdout  # the secret is never echoed
