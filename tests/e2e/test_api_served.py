"""The API as `rapport run` serves it (uvicorn on 127.0.0.1, mounted at /api): the
README's Salesforce-style walk-through with httpx, and schemathesis against the served
OpenAPI document (no 5xx, every response as documented) on SQLite and PostgreSQL."""

import asyncio
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import given as hypothesis_given
from schemathesis import checks as st_checks
from sqlmodel import SQLModel, select

from bot.app import RapportApp
from bot.settings import Settings
from crm.clock import ManualClock
from crm.db import make_engine
from crm.models import Message
from tests.api_world import make_world
from tests.standins.served_api import ServedApi

MAX_EXAMPLES = 8  # per operation: keeps the whole run well under a minute
# What the contract promises: no 5xx, documented statuses, bodies and content types.
# Not `positive_data_acceptance`: a schema-valid string may still be no phone number,
# and the service's 422 (with field and reason) is the right answer then.
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
]


def rapport_for(db_url: str, tmp_path: Path, clock: ManualClock) -> RapportApp:
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url=db_url, http_port=0)
    engine = make_engine(db_url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    return RapportApp.build(settings, clock=clock)


def test_the_salesforce_example_create_update_query_delete(
    db_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    rapport = rapport_for(db_url, tmp_path, clock)
    world = make_world(rapport.store, clock)
    try:
        with (
            ServedApi(rapport) as served,
            httpx.Client(
                base_url=f"{served.base}/api/v1", headers=world.headers("admin"), timeout=60
            ) as api,
        ):
            # FastAPI builds the document on the first request: slow on a loaded CI machine
            document = httpx.get(f"{served.base}/api/v1/openapi.json", timeout=120)
            assert document.json()["info"]["title"]
            assert httpx.get(f"{served.base}/api/docs", timeout=60).status_code == 200
            created = api.post(
                "/contacts",
                json={
                    "name": "Jane Doe",
                    "emails": ["jane@acme.com"],
                    "phones": ["+1 415 555 0100"],
                },
            )
            assert created.status_code == 201
            cid = created.json()["id"]
            updated = api.patch(
                f"/contacts/{cid}",
                json={"company": "Acme"},
                headers={"If-Match": created.headers["etag"]},
            )
            assert updated.json()["company"] == "Acme"
            found = api.post(
                "/query",
                json={
                    "object": "contact",
                    "fields": ["id", "name", "emails", "phones"],
                    "where": {"field": "email", "op": "eq", "value": "jane@acme.com"},
                },
            )
            assert found.json()["data"] == [
                {
                    "id": cid,
                    "name": "Jane Doe",
                    "emails": ["jane@acme.com"],
                    "phones": ["+14155550100"],
                }
            ]
            assert api.delete(f"/contacts/{cid}").status_code == 204
            assert api.get(f"/contacts/{cid}").status_code == 404
    finally:
        rapport.close()


def test_schemathesis_finds_no_server_error_and_no_undocumented_response(
    db_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    rapport = rapport_for(db_url, tmp_path, clock)
    world = make_world(rapport.store, clock)
    failures: list[str] = []
    try:
        with ServedApi(rapport) as served:
            # Fetched here with a generous timeout: FastAPI builds the document on the first
            # request, which took over schemathesis' own 10 s on a loaded machine.
            document = httpx.get(f"{served.base}/api/v1/openapi.json", timeout=120).json()
            schema = schemathesis.openapi.from_dict(document)
            base = f"{served.base}/api"
            operations = [result.ok() for result in schema.get_all_operations()]
            assert len(operations) >= 20
            for operation in operations:

                @settings(
                    max_examples=MAX_EXAMPLES,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                @hypothesis_given(case=operation.as_strategy())
                def check(case: schemathesis.Case) -> None:
                    case.call_and_validate(
                        base_url=base, headers=world.headers("admin"), checks=CHECKS
                    )

                try:
                    check()
                except Exception as exc:  # noqa: BLE001 - collect every operation's failure
                    failures.append(f"{operation.label}: {str(exc)[:800]}")
    finally:
        rapport.close()
    assert not failures, "\n\n".join(failures)


async def test_rapport_run_serves_the_api_with_no_chat_channel_configured(
    tmp_path: Path, clock: ManualClock
) -> None:
    from bot.runtime.service import Service
    from tests.e2e.telegram_harness import NoClassifier

    rapport = rapport_for(f"sqlite:///{tmp_path / 'run.db'}", tmp_path, clock)
    assert not (rapport.settings.telegram_enabled or rapport.settings.slack_enabled)
    rapport.services.classifier = NoClassifier()
    world = make_world(rapport.store, clock)
    service = Service(rapport)  # the real component list `rapport run` builds
    try:
        async with asyncio.timeout(30):
            await service.start()
            assert {"api", "webhooks"} <= {c.name for c in service.components}
            base = f"http://127.0.0.1:{service.http.port}"
            async with httpx.AsyncClient(base_url=base, headers=world.headers("read")) as http:
                assert (await http.get("/api/v1/reps")).status_code == 200
                assert (await http.get("/healthz")).status_code == 200
    finally:
        await service.stop()
        rapport.close()


async def test_a_first_start_serves_while_the_classifier_trains_and_customers_wait_for_it(
    tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a first start the classifier trains for a minute or more; the API (and Slack,
    and the scheduler) must not wait for it, and a customer's message that arrives
    meanwhile waits and is tagged, not stored untagged."""
    import threading

    from bot.runtime.service import Service
    from tests.e2e.telegram_harness import tiny_classifier
    from tests.factories import customer_message

    rapport = rapport_for(f"sqlite:///{tmp_path / 'first.db'}", tmp_path, clock)
    trained = tiny_classifier()
    release = threading.Event()

    def slow_training() -> object:  # stands in for a first start's minute of training
        release.wait(30)
        rapport.services.classifier = trained
        return trained

    monkeypatch.setattr(rapport, "load_classifier", slow_training)
    world = make_world(rapport.store, clock)
    service = Service(rapport)
    try:
        async with asyncio.timeout(30):
            await service.start()
            base = f"http://127.0.0.1:{service.http.port}"
            async with httpx.AsyncClient(base_url=base, headers=world.headers("read")) as http:
                assert (await http.get("/api/v1/reps")).status_code == 200  # while training
            waiting = asyncio.create_task(
                rapport.desk.receive(customer_message("my card was declined", 1))
            )
            await asyncio.sleep(0.2)
            assert not waiting.done()  # the message waits for the model
            release.set()
            assert (await waiting).duplicate is False
        with rapport.store.transaction() as session:
            [stored] = session.exec(select(Message)).all()
        assert stored.need is not None  # tagged once the model is there
    finally:
        release.set()
        await service.stop()
        rapport.close()
