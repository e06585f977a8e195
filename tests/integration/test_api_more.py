"""The API's second round (issue 20) on a real store, SQLite file and PostgreSQL, through
httpx: trash and restore, purchases, deal edits, token management, the shared rate
limit and pruning."""

import asyncio
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.app import RapportApp
from bot.outbound.periodic import prune_dedupe_keys
from bot.settings import load_settings
from crm import migrate
from crm.actors import Actor
from crm.api_models import ApiRateLimit, IdempotencyRecord
from crm.clock import ManualClock
from crm.db import Store, make_engine
from crm.housekeeping import prune_api_history
from crm.models import AuditLog, Contact
from crm.webhook_models import WebhookCursor, WebhookDelivery, WebhookEvent, WebhookSubscription
from crm.webhooks import LOOKBACK
from tests.api_world import client, deps_for, make_world
from tests.conftest import make_rep

JANE = {"name": "Jane Doe", "emails": ["jane@acme.com"], "phones": ["+1 415 555 0100"]}


def _actions(store: Store) -> dict[str, str]:
    with store.transaction() as session:
        return {row.action: row.actor for row in session.exec(select(AuditLog))}


# ---- trash and restore ------------------------------------------------------------------


async def test_a_deleted_contact_is_listed_in_the_trash_shown_and_restored_whole(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        cid = (await api.post("/v1/contacts", json=JANE)).json()["id"]
        await api.post("/v1/activities", json={"contact_id": cid, "kind": "note", "text": "hi"})
        assert (await api.delete(f"/v1/contacts/{cid}")).status_code == 204
        listed = await api.get("/v1/trash/contacts")
        assert listed.status_code == 200, listed.text
        [row] = listed.json()["data"]
        assert row["contact_id"] == cid and row["emails"] == ["jane@acme.com"]
        assert row["phones"] == ["+14155550100"] and row["counts"]["activity"] == 1
        assert row["deleted_by"] == f"system/api:token{world.token_ids['admin']}"
        got = await api.get(f"/v1/trash/contacts/{cid}")
        assert got.status_code == 200 and got.json()["contact"]["name"] == "Jane Doe"
        restored = await api.post(f"/v1/trash/contacts/{cid}/restore")
        assert restored.status_code == 200, restored.text
        assert restored.json()["contact"]["id"] == cid
        assert restored.json()["contact"]["emails"] == ["jane@acme.com"]
        assert restored.json()["restored"]["activity"] == 1
        assert (await api.get(f"/v1/contacts/{cid}")).json()["name"] == "Jane Doe"
        assert (await api.get("/v1/trash/contacts")).json()["data"] == []
        again = await api.post(f"/v1/trash/contacts/{cid}/restore")
        assert again.status_code == 404 and "not in the trash" in again.json()["error"]["message"]
    label = f"system/api:token{world.token_ids['admin']}"
    assert _actions(store)["contact.restore"] == label


async def test_restoring_when_the_email_now_belongs_to_someone_else_is_a_409_naming_it(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        cid = (await api.post("/v1/contacts", json=JANE)).json()["id"]
        await api.delete(f"/v1/contacts/{cid}")
        twin = {"name": "J", "emails": JANE["emails"]}
        other = (await api.post("/v1/contacts", json=twin)).json()
        refused = await api.post(f"/v1/trash/contacts/{cid}/restore")
        assert refused.status_code == 409
        error = refused.json()["error"]
        assert error["field"] == "email" and error["existing_id"] == other["id"]
        assert "jane@acme.com" in error["reason"]
        # nothing came back, and it is still restorable once the clash is gone
        assert (await api.get(f"/v1/trash/contacts/{cid}")).status_code == 200
        with store.transaction() as session:
            assert session.get(Contact, cid) is None
        await api.delete(f"/v1/contacts/{other['id']}")
        assert (await api.post(f"/v1/trash/contacts/{cid}/restore")).status_code == 200


async def test_the_trash_needs_the_admin_scope_and_forgets_after_the_retention(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        cid = (await api.post("/v1/contacts", json=JANE)).json()["id"]
        await api.delete(f"/v1/contacts/{cid}")
    async with client(deps_for(store, clock), world, scope="write") as writer:
        assert (await writer.get("/v1/trash/contacts")).status_code == 403
        assert (await writer.post(f"/v1/trash/contacts/{cid}/restore")).status_code == 403
    clock.advance(timedelta(days=31))
    async with client(deps_for(store, clock), world) as api:
        assert (await api.get("/v1/trash/contacts")).json()["data"] == []
        assert (await api.post(f"/v1/trash/contacts/{cid}/restore")).status_code == 404


# ---- purchases --------------------------------------------------------------------------


async def test_purchases_are_created_once_per_key_filtered_fetched_and_deleted(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world, scope="write") as api:
        jane = (await api.post("/v1/contacts", json=JANE | {"company": "Acme"})).json()
        bob = (await api.post("/v1/contacts", json={"name": "Bob"})).json()
        key = {"Idempotency-Key": "order-1001"}
        sale = {"contact_id": jane["id"], "amount_minor": 12000, "currency": "usd"}
        first = await api.post("/v1/purchases", json=sale, headers=key)
        retry = await api.post("/v1/purchases", json=sale, headers=key)
        assert first.status_code == 201, first.text
        assert retry.json() == first.json() and retry.headers["idempotent-replayed"] == "true"
        bought = first.json()
        assert bought["company_id"] == jane["company_id"] and bought["currency"] == "USD"
        assert bought["source"] == "api" and bought["quantity"] == 1
        clock.advance(timedelta(days=2))
        older = (clock.now() - timedelta(days=10)).isoformat()
        await api.post(
            "/v1/purchases",
            json={"contact_id": bob["id"], "amount_minor": 500, "purchased_at": older},
        )
        await api.post("/v1/purchases", json={"contact_id": jane["id"], "amount_minor": 90000})
        everything = (await api.get("/v1/purchases")).json()["data"]
        assert len(everything) == 3
        mine = (await api.get("/v1/purchases", params={"contact_id": jane["id"]})).json()
        assert [p["amount_minor"] for p in mine["data"]] == [12000, 90000]
        by_company = await api.get("/v1/purchases", params={"company_id": jane["company_id"]})
        assert len(by_company.json()["data"]) == 2
        middle = await api.get("/v1/purchases", params={"amount_min": 1000, "amount_max": 50000})
        assert [p["id"] for p in middle.json()["data"]] == [bought["id"]]
        window = await api.get(
            "/v1/purchases",
            params={"purchased_before": (clock.now() - timedelta(days=5)).isoformat()},
        )
        assert [p["contact_id"] for p in window.json()["data"]] == [bob["id"]]
        since = await api.get(
            "/v1/purchases",
            params={"updated_since": (clock.now() - timedelta(hours=1)).isoformat()},
        )
        assert len(since.json()["data"]) == 2
        paged = await api.get("/v1/purchases", params={"sort": "-amount_minor", "limit": 2})
        assert [p["amount_minor"] for p in paged.json()["data"]] == [90000, 12000]
        rest = await api.get(
            "/v1/purchases",
            params={"sort": "-amount_minor", "limit": 2, "cursor": paged.json()["next_cursor"]},
        )
        assert [p["amount_minor"] for p in rest.json()["data"]] == [500]
        got = await api.get(f"/v1/purchases/{bought['id']}")
        assert got.json() == bought
        stale = await api.delete(f"/v1/purchases/{bought['id']}", headers={"If-Match": '"x"'})
        assert stale.status_code == 412
        gone = await api.delete(
            f"/v1/purchases/{bought['id']}", headers={"If-Match": got.headers["etag"]}
        )
        assert gone.status_code == 204
        assert (await api.get(f"/v1/purchases/{bought['id']}")).status_code == 404
    actions = _actions(store)
    label = f"system/api:token{world.token_ids['write']}"
    assert actions["purchase.create"] == label and actions["purchase.delete"] == label


async def test_an_invoice_posted_twice_under_two_keys_is_a_409_naming_the_sale(
    store: Store, clock: ManualClock
) -> None:
    """A replayed billing webhook (a new Idempotency-Key each time) recorded the invoice twice."""
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world, scope="write") as api:
        cid = (await api.post("/v1/contacts", json=JANE)).json()["id"]
        sale = {"contact_id": cid, "amount_minor": 4200, "reference": "INV-2026-17"}
        first = await api.post("/v1/purchases", json=sale, headers={"Idempotency-Key": "a"})
        again = await api.post(
            "/v1/purchases",
            json=sale | {"reference": "inv-2026-17"},
            headers={"Idempotency-Key": "b"},
        )
        assert first.status_code == 201, first.text
        assert again.status_code == 409, again.text
        error = again.json()["error"]
        assert error["existing_id"] == first.json()["id"]
        assert "already has the reference INV-2026-17" in error["message"]
        assert len((await api.get("/v1/purchases")).json()["data"]) == 1


async def test_a_bad_purchase_is_a_4xx_with_the_field_and_a_won_deals_purchase_stays(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        cid = (await api.post("/v1/contacts", json=JANE)).json()["id"]
        future = (clock.now() + timedelta(days=1)).isoformat()
        no_customer = await api.post("/v1/purchases", json={"amount_minor": 1})
        ahead = await api.post(
            "/v1/purchases", json={"contact_id": cid, "amount_minor": 1, "purchased_at": future}
        )
        bad_currency = await api.post(
            "/v1/purchases", json={"contact_id": cid, "amount_minor": 1, "currency": "U$D"}
        )
        nobody = await api.post("/v1/purchases", json={"contact_id": 999, "amount_minor": 1})
        assert no_customer.status_code == 422 and no_customer.json()["error"]["field"] == "customer"
        assert ahead.status_code == 422 and ahead.json()["error"]["field"] == "date"
        assert bad_currency.status_code == 422
        assert bad_currency.json()["error"]["field"] == "currency"
        assert nobody.status_code == 404
        deal = (await api.post("/v1/deals", json={"title": "Seats", "contact_id": cid})).json()
        await api.patch(f"/v1/deals/{deal['id']}", json={"stage": "won"})
        [won] = (await api.get("/v1/purchases", params={"deal_id": deal["id"]})).json()["data"]
        refused = await api.delete(f"/v1/purchases/{won['id']}")
        assert refused.status_code == 409 and refused.json()["error"]["field"] == "deal_id"


# ---- deals: PATCH every editable field ----------------------------------------------------


async def test_a_deal_patch_edits_every_field_in_one_audited_change_with_if_match(
    store: Store, clock: ManualClock, rep: Actor
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        jane = (await api.post("/v1/contacts", json=JANE | {"company": "Acme"})).json()
        bob = (await api.post("/v1/contacts", json={"name": "Bob", "company": "Beta"})).json()
        other = (await api.post("/v1/companies", json={"name": "Gamma"})).json()
        created = await api.post(
            "/v1/deals", json={"title": "Seats", "contact_id": jane["id"], "amount_minor": 100}
        )
        did, etag = created.json()["id"], created.headers["etag"]
        patched = await api.patch(
            f"/v1/deals/{did}",
            headers={"If-Match": etag},
            json={
                "title": "  50   seats ",
                "amount_minor": 1_200_000,
                "currency": "eur",
                "stage": "proposal",
                "expected_close": "2026-04-30",
                "owner_id": rep.id,
                "contact_id": bob["id"],
            },
        )
        assert patched.status_code == 200, patched.text
        deal = patched.json()
        assert deal["title"] == "50 seats" and deal["amount_minor"] == 1_200_000
        assert deal["currency"] == "EUR" and deal["stage"] == "proposal"
        assert deal["expected_close"] == "2026-04-30" and deal["owner_id"] == rep.id
        assert deal["contact_id"] == bob["id"] and deal["company_id"] == bob["company_id"]
        assert patched.headers["etag"] != etag
        stale = await api.patch(f"/v1/deals/{did}", json={"title": "x"}, headers={"If-Match": etag})
        assert stale.status_code == 412
        company_only = await api.patch(
            f"/v1/deals/{did}",
            json={"company_id": other["id"], "currency": "gbp"},
            headers={"If-Match": patched.headers["etag"]},
        )
        assert company_only.json()["company_id"] == other["id"]
        assert company_only.json()["currency"] == "GBP"
        assert company_only.json()["amount_minor"] == 1_200_000
        cleared = await api.patch(
            f"/v1/deals/{did}", json={"expected_close": None, "owner_id": None, "contact_id": None}
        )
        body = cleared.json()
        assert body["expected_close"] is None and body["owner_id"] is None
        assert body["contact_id"] is None and body["company_id"] == other["id"]
        won = await api.patch(f"/v1/deals/{did}", json={"stage": "won", "amount_minor": 5000})
        assert won.json()["status"] == "won"
        [sale] = (await api.get("/v1/purchases", params={"deal_id": did})).json()["data"]
        assert sale["amount_minor"] == 5000 and sale["currency"] == "GBP"
        moved = await api.patch(f"/v1/deals/{did}", json={"contact_id": jane["id"]})
        assert moved.json()["company_id"] == jane["company_id"]
        [sale] = (await api.get("/v1/purchases", params={"deal_id": did})).json()["data"]
        assert (sale["contact_id"], sale["company_id"]) == (jane["id"], jane["company_id"])
        lost = await api.patch(f"/v1/deals/{did}", json={"stage": "lost"})
        assert lost.status_code == 422 and lost.json()["error"]["field"] == "reason"
    with store.transaction() as session:
        updates = session.exec(select(AuditLog).where(AuditLog.action == "deal.update")).all()
    assert len(updates) == 5
    assert {u.actor for u in updates} == {f"system/api:token{world.token_ids['admin']}"}


async def test_a_bad_deal_patch_names_the_field_and_changes_nothing(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        deal = (await api.post("/v1/deals", json={"title": "Seats", "amount_minor": 7})).json()
        cases = [
            ({"contact_id": 999}, 422, "contact"),
            ({"company_id": 999}, 422, "company"),
            ({"owner_id": 999}, 422, "owner"),
            ({"stage": "nowhere"}, 422, "stage"),
            ({"currency": "U$D"}, 422, "currency"),
            ({"title": "   "}, 422, "title"),
        ]
        for patch, status, field in cases:
            answer = await api.patch(f"/v1/deals/{deal['id']}", json=patch)
            assert answer.status_code == status, (patch, answer.text)
            assert answer.json()["error"]["field"] == field, (patch, answer.text)
        assert (await api.get(f"/v1/deals/{deal['id']}")).json() == deal
        assert (await api.patch("/v1/deals/999", json={"title": "x"})).status_code == 404


# ---- API tokens over the API ------------------------------------------------------------


async def test_tokens_are_created_shown_once_listed_without_secret_and_revoked(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    deps = deps_for(store, clock)
    async with client(deps, world) as api:
        key = {"Idempotency-Key": "zap-token"}
        body = {"name": "Zapier", "scopes": ["read", "write"], "rate_per_minute": 120}
        created = await api.post("/v1/tokens", json=body, headers=key)
        assert created.status_code == 201, created.text
        token = created.json()
        secret = token["secret"]
        assert secret.startswith(f"rp_{token['prefix']}_") and token["scopes"] == ["read", "write"]
        replay = await api.post("/v1/tokens", json=body, headers=key)
        assert replay.json()["id"] == token["id"] and replay.json()["secret"] is None
        listed = await api.get("/v1/tokens")
        assert secret not in listed.text and "secret" not in listed.json()["data"][0]
        assert token["id"] in [t["id"] for t in listed.json()["data"]]
        got = await api.get(f"/v1/tokens/{token['id']}")
        assert got.json()["name"] == "Zapier" and "secret" not in got.json()
        new = {"Authorization": f"Bearer {secret}"}
        assert (await api.get("/v1/contacts", headers=new)).status_code == 200
        assert (await api.get("/v1/tokens", headers=new)).status_code == 403
        revoked = await api.post(f"/v1/tokens/{token['id']}/revoke")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
        assert (await api.get("/v1/contacts", headers=new)).status_code == 401
        assert (await api.post(f"/v1/tokens/{token['id']}/revoke")).status_code == 200
        live = (await api.get("/v1/tokens", params={"revoked": "false"})).json()["data"]
        assert token["id"] not in [t["id"] for t in live]
    with store.transaction() as session:
        rows = session.exec(select(IdempotencyRecord)).all()
        assert rows and all(secret not in r.response for r in rows)
    actions = _actions(store)
    label = f"system/api:token{world.token_ids['admin']}"
    assert actions["apitoken.create"] == label and actions["apitoken.revoke"] == label


async def test_a_token_cannot_revoke_itself_and_only_admin_tokens_manage_tokens(
    store: Store, clock: ManualClock, rep: Actor
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        mine = await api.post(f"/v1/tokens/{world.token_ids['admin']}/revoke")
        assert mine.status_code == 409 and mine.json()["error"]["field"] == "token_id"
        assert (await api.get("/v1/contacts")).status_code == 200
        not_admin = await api.post(
            "/v1/tokens", json={"name": "x", "scopes": ["admin"], "rep_id": rep.id}
        )
        assert not_admin.status_code == 403
        bad = await api.post("/v1/tokens", json={"name": "x", "scopes": ["root"]})
        assert bad.status_code == 422
        assert (await api.post("/v1/tokens/999/revoke")).status_code == 404
    async with client(deps_for(store, clock), world, scope="write") as writer:
        assert (await writer.get("/v1/tokens")).status_code == 403
        refused = await writer.post("/v1/tokens", json={"name": "x", "scopes": ["read"]})
        assert refused.status_code == 403


# ---- the rate limit, shared by every worker -------------------------------------------


async def test_two_app_instances_on_one_database_share_a_tokens_rate_limit(
    db_url: str, store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock, rate=4)
    second = Store(make_engine(db_url))  # another process: its own engine and pool
    try:
        async with (
            client(deps_for(store, clock), world, scope="read") as one,
            client(deps_for(second, clock), world, scope="read") as two,
        ):
            codes = [(await (one, two)[i % 2].get("/v1/reps")).status_code for i in range(6)]
            assert codes == [200, 200, 200, 200, 429, 429]
            clock.advance(timedelta(seconds=15))
            limited = await one.get("/v1/reps")
            assert limited.status_code == 429 and limited.headers["retry-after"] == "45"
            assert limited.json()["error"]["code"] == "rate_limited"
            other_token = {"Authorization": f"Bearer {world.tokens['write']}"}
            assert (await two.get("/v1/reps", headers=other_token)).status_code == 200
            clock.advance(timedelta(seconds=45))  # a new window
            assert (await two.get("/v1/reps")).status_code == 200
    finally:
        second.engine.dispose()


async def test_concurrent_requests_through_two_instances_never_pass_the_limit(
    db_url: str, store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock, rate=10)
    second = Store(make_engine(db_url))
    try:
        async with (
            client(deps_for(store, clock), world, scope="read") as one,
            client(deps_for(second, clock), world, scope="read") as two,
        ):
            answers = await asyncio.gather(*((one, two)[i % 2].get("/v1/reps") for i in range(30)))
        codes = sorted(a.status_code for a in answers)
        assert codes.count(200) == 10 and codes.count(429) == 20
    finally:
        second.engine.dispose()
    with store.transaction() as session:
        [window] = session.exec(select(ApiRateLimit)).all()
        assert window.requests == 30 and window.token_id == world.token_ids["read"]


# ---- pruning the API's history ----------------------------------------------------------


async def test_the_nightly_prune_drops_old_idempotency_records_and_delivered_webhooks(
    db_url: str, tmp_path: Path, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(
        RAPPORT_DATA_DIR=str(tmp_path),
        RAPPORT_DATABASE_URL=db_url,
        RAPPORT_RETRAIN_ENABLED="false",
        RAPPORT_IDEMPOTENCY_RETENTION_HOURS="6",
        RAPPORT_WEBHOOK_RETENTION_DAYS="10",
    )
    rapport = RapportApp.build(settings, clock=clock)
    try:
        migrate.upgrade(rapport.store.engine)
        store = rapport.store
        world = make_world(store, clock, rate=5)
        async with client(deps_for(store, clock), world) as api:
            old = await api.post("/v1/contacts", json=JANE, headers={"Idempotency-Key": "k1"})
            clock.advance(timedelta(hours=5))
            await api.post("/v1/contacts", json={"name": "Bob"}, headers={"Idempotency-Key": "k2"})
        start = clock.now()
        with store.transaction() as session:
            sub = WebhookSubscription(
                url="http://x.test/h", events=["*"], secret="s", created_at=start
            )
            session.add(sub)
            session.flush()
            events = []
            for source_id in range(1, 6):
                event = WebhookEvent(
                    source="audit",
                    source_id=source_id,
                    event_type="contact.created",
                    occurred_at=start - timedelta(days=20),
                )
                session.add(event)
                events.append(event)
            session.flush()
            kinds = [
                ("delivered", start - timedelta(days=11)),  # old, delivered: goes with its event
                ("delivered", start - timedelta(days=9)),  # delivered recently: stays
                ("failed", None),  # gave up: stays for the log
                ("pending", None),  # still to send: stays
            ]
            for event, (status, delivered_at) in zip(events, kinds, strict=False):
                session.add(
                    WebhookDelivery(
                        event_id=int(event.id or 0),
                        subscription_id=int(sub.id or 0),
                        status=status,
                        next_attempt_at=start,
                        delivered_at=delivered_at,
                        created_at=start - timedelta(days=20),
                    )
                )
            # events[4] has no delivery at all; the pump has read far past both
            session.add(WebhookCursor(source="audit", last_id=5 + LOOKBACK))
        clock.advance(timedelta(hours=2))  # k1 is 7 hours old, k2 2 hours
        with caplog.at_level(logging.INFO, logger="bot.outbound.periodic"):
            assert await prune_dedupe_keys(rapport.services) == 0
        assert "api history pruned idempotency=1 webhook_deliveries=1 webhook_events=2" in (
            caplog.text
        )
        with store.transaction() as session:
            assert [r.key for r in session.exec(select(IdempotencyRecord))] == ["k2"]
            left = session.exec(select(WebhookDelivery)).all()
            assert sorted(d.status for d in left) == ["delivered", "failed", "pending"]
            kept = {e.source_id for e in session.exec(select(WebhookEvent))}
            assert kept == {2, 3, 4}
            assert session.exec(select(ApiRateLimit)).all() == []  # the window ended
        async with client(deps_for(store, clock), world) as api:
            # past the retention the same key is a new request: it is checked again
            again = await api.post("/v1/contacts", json=JANE, headers={"Idempotency-Key": "k1"})
        assert old.status_code == 201 and again.status_code == 409
        assert "idempotent-replayed" not in again.headers
    finally:
        rapport.close()


async def test_events_the_pump_may_still_re_read_are_kept_past_the_retention(
    store: Store, clock: ManualClock
) -> None:
    now = clock.now()
    with store.transaction() as session:
        session.add(
            WebhookEvent(source="audit", source_id=7, event_type="contact.created", occurred_at=now)
        )
        session.add(WebhookCursor(source="audit", last_id=7 + LOOKBACK - 1))
    counts = prune_api_history(
        store,
        now=now + timedelta(days=100),
        idempotency_retention=timedelta(hours=1),
        webhook_retention=timedelta(days=1),
    )
    assert counts["webhook_events"] == 0
    with store.transaction() as session:
        assert len(session.exec(select(WebhookEvent)).all()) == 1


def test_undo_puts_a_deals_contact_and_company_back(store: Store, clock: ManualClock) -> None:
    from crm import deals, undo
    from crm.contacts import ContactInput, create_contact

    admin = make_rep(store, clock, "Ada", admin=True)
    with store.transaction() as session:
        jane = create_contact(
            session, actor=admin, data=ContactInput("Jane", company="Acme"), now=clock.now()
        )
        bob = create_contact(
            session, actor=admin, data=ContactInput("Bob", company="Beta"), now=clock.now()
        )
        pipeline = deals.Pipeline((("lead", 10), ("proposal", 50)))
        deal = deals.create_deal(
            session, actor=admin, pipeline=pipeline, title="Seats", now=clock.now(), contact=jane
        )
        assert deal.id is not None
        ids = (deal.id, jane.id, jane.company_id, bob.id, bob.company_id)
    clock.advance(timedelta(minutes=1))
    with store.transaction() as session:
        moved = deals.edit_deal(
            session, actor=admin, deal_id=ids[0], now=clock.now(), contact_id=ids[3]
        )
        assert (moved.contact_id, moved.company_id) == (ids[3], ids[4])
    with store.transaction() as session:
        said = undo.undo_last(session, actor=admin, now=clock.now())
    assert "contact and company" in said
    with store.transaction() as session:
        back = deals.get_deal(session, ids[0])
        assert (back.contact_id, back.company_id) == (ids[1], ids[2])
