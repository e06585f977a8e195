"""Create, read, update, delete and query every resource over HTTP (issue 20), on a real
store (SQLite file and PostgreSQL) through httpx: companies, deals, activities, follow-ups
and purchases each answer 404, 412 on a stale ETag, 403 without the scope, 422 naming the
field and 409 on their rules; every change is audited as the token and `undo` reverts it."""

from datetime import timedelta

from sqlmodel import select

from crm import api_tokens, undo
from crm.actors import SYSTEM, Actor
from crm.clock import ManualClock
from crm.db import Store
from crm.enums import FollowUpStatus
from crm.models import Activity, AuditLog, Company, FollowUp
from tests.api_world import client, deps_for, make_world
from tests.factories import make_rep

JANE = {"name": "Jane Doe", "emails": ["jane@acme.com"], "company": "Acme"}
STALE = {"If-Match": '"0000"'}


def _audit(store: Store, action: str) -> list[AuditLog]:
    with store.transaction() as session:
        return list(session.exec(select(AuditLog).where(AuditLog.action == action)))


def _rep_token(store: Store, clock: ManualClock, rep: Actor, scopes: list[str]) -> dict[str, str]:
    """Headers of a token acting as `rep` (so `undo` as that rep reaches its API changes)."""
    with store.transaction() as session:
        issued = api_tokens.create_token(
            session,
            actor=SYSTEM,
            name=f"{rep.name} {'+'.join(scopes)}",
            scopes=scopes,
            now=clock.now(),
            rate_per_minute=100_000,
            rep_id=rep.id,
        )
    return {"Authorization": f"Bearer {issued.secret}"}


def _undo(store: Store, clock: ManualClock, rep: Actor) -> str:
    with store.transaction() as session:
        return undo.undo_last(session, actor=rep, now=clock.now())


# ---- companies ------------------------------------------------------------------------------


async def test_a_company_is_created_renamed_and_deleted_with_etags_and_audit(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        created = await api.post("/v1/companies", json={"name": "Globex"})
        assert created.status_code == 201, created.text
        company = created.json()
        assert created.headers["location"] == f"/api/v1/companies/{company['id']}"
        got = await api.get(f"/v1/companies/{company['id']}")
        assert got.json() == company and got.headers["etag"] == created.headers["etag"]
        patched = await api.patch(
            f"/v1/companies/{company['id']}",
            json={"name": "Globex  Corp", "domain": "Globex.COM"},
            headers={"If-Match": got.headers["etag"]},
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["name"] == "Globex Corp" and patched.json()["domain"] == "globex.com"
        stale = await api.patch(
            f"/v1/companies/{company['id']}",
            json={"name": "Other"},
            headers={"If-Match": got.headers["etag"]},
        )
        assert stale.status_code == 412
        stale_delete = await api.delete(
            f"/v1/companies/{company['id']}", headers={"If-Match": got.headers["etag"]}
        )
        assert stale_delete.status_code == 412
        assert (await api.get(f"/v1/companies/{company['id']}")).json()["name"] == "Globex Corp"
        deleted = await api.delete(
            f"/v1/companies/{company['id']}", headers={"If-Match": patched.headers["etag"]}
        )
        assert deleted.status_code == 204
        assert (await api.get(f"/v1/companies/{company['id']}")).status_code == 404
        assert (await api.patch("/v1/companies/999", json={"name": "X"})).status_code == 404
        assert (await api.delete("/v1/companies/999")).status_code == 404
    label = f"system/api:token{world.token_ids['admin']}"
    assert {row.actor for row in _audit(store, "company.update")} == {label}
    [gone] = _audit(store, "company.delete")
    assert gone.actor == label and gone.before is not None and gone.before["name"] == "Globex Corp"


async def test_a_company_in_use_is_not_deleted_and_says_by_how_many(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    deps = deps_for(store, clock)
    async with client(deps, world) as api:
        jane = (await api.post("/v1/contacts", json=JANE)).json()
        await api.post("/v1/contacts", json={"name": "Bob", "company": "acme"})
        await api.post("/v1/deals", json={"title": "Seats", "contact_id": jane["id"]})
        acme = jane["company_id"]
        refused = await api.delete(f"/v1/companies/{acme}")
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["field"] == "company_id"
        assert "2 contacts" in error["message"] and "1 deal" in error["message"]
        assert (await api.get(f"/v1/companies/{acme}")).status_code == 200
        other = (await api.post("/v1/companies", json={"name": "Initech"})).json()
        taken = await api.patch(f"/v1/companies/{other['id']}", json={"name": "ACME"})
        assert taken.status_code == 422 and taken.json()["error"]["field"] == "name"
        blank = await api.patch(f"/v1/companies/{other['id']}", json={"name": "   "})
        assert blank.status_code == 422 and blank.json()["error"]["field"] == "name"
        unknown = await api.patch(f"/v1/companies/{other['id']}", json={"size": 5})
        assert unknown.status_code == 422
    async with client(deps, world, scope="write") as api:
        assert (await api.patch(f"/v1/companies/{acme}", json={"domain": "acme.io"})).is_success
        refused_scope = await api.delete(f"/v1/companies/{other['id']}")
        assert refused_scope.status_code == 403
    async with client(deps, world, scope="read") as api:
        read_only = await api.patch(f"/v1/companies/{acme}", json={"domain": "x.io"})
        assert read_only.status_code == 403
    with store.transaction() as session:
        assert session.get(Company, acme) is not None


async def test_undo_brings_a_deleted_company_back_under_its_id(
    store: Store, clock: ManualClock
) -> None:
    ada = make_rep(store, clock, "Ada", admin=True)
    world = make_world(store, clock)
    headers = _rep_token(store, clock, ada, ["admin"])
    async with client(deps_for(store, clock), world) as api:
        made = (await api.post("/v1/companies", json={"name": "Hooli"}, headers=headers)).json()
        gone = await api.delete(f"/v1/companies/{made['id']}", headers=headers)
        assert gone.status_code == 204
        assert "deleting company Hooli" in _undo(store, clock, ada)
        back = await api.get(f"/v1/companies/{made['id']}")
    assert back.status_code == 200 and back.json()["name"] == "Hooli"


# ---- deals ----------------------------------------------------------------------------------


async def test_a_deal_is_deleted_like_chats_delete_deal_and_undo_brings_it_back(
    store: Store, clock: ManualClock
) -> None:
    alice = make_rep(store, clock, "Alice")
    bob = make_rep(store, clock, "Bob")
    world = make_world(store, clock)
    as_alice = _rep_token(store, clock, alice, ["write"])
    as_bob = _rep_token(store, clock, bob, ["write"])
    deps = deps_for(store, clock)
    async with client(deps, world) as api:
        made = await api.post("/v1/deals", json={"title": "Pilot"}, headers=as_alice)
        deal = made.json()
        assert deal["owner_id"] == alice.id
        not_hers = await api.delete(f"/v1/deals/{deal['id']}", headers=as_bob)
        assert not_hers.status_code == 403
        stale = await api.delete(f"/v1/deals/{deal['id']}", headers=as_alice | STALE)
        assert stale.status_code == 412
        gone = await api.delete(
            f"/v1/deals/{deal['id']}", headers=as_alice | {"If-Match": made.headers["etag"]}
        )
        assert gone.status_code == 204
        assert (await api.get(f"/v1/deals/{deal['id']}")).status_code == 404
        assert (await api.delete(f"/v1/deals/{deal['id']}")).status_code == 404
        [row] = _audit(store, "deal.delete")
        assert row.actor.startswith(f"rep:{alice.id}/api:token")
        assert "deleting deal" in _undo(store, clock, alice)
        back = await api.get(f"/v1/deals/{deal['id']}")
        assert back.status_code == 200 and back.json()["title"] == "Pilot"
    async with client(deps, world, scope="read") as api:
        assert (await api.delete(f"/v1/deals/{deal['id']}")).status_code == 403


# ---- activities -----------------------------------------------------------------------------


async def test_an_activity_is_read_corrected_and_deleted_audited_and_undoable(
    store: Store, clock: ManualClock
) -> None:
    alice = make_rep(store, clock, "Alice")
    world = make_world(store, clock)
    as_alice = _rep_token(store, clock, alice, ["write"])
    async with client(deps_for(store, clock), world) as api:
        jane = (await api.post("/v1/contacts", json=JANE)).json()
        logged = await api.post(
            "/v1/activities",
            json={"contact_id": jane["id"], "kind": "call", "text": "Asked for pricing"},
            headers=as_alice,
        )
        assert logged.status_code == 201, logged.text
        activity = logged.json()
        assert logged.headers["location"] == f"/api/v1/activities/{activity['id']}"
        got = await api.get(f"/v1/activities/{activity['id']}")
        assert got.json() == activity and got.headers["etag"] == logged.headers["etag"]
        when = (clock.now() - timedelta(days=1)).isoformat()
        patched = await api.patch(
            f"/v1/activities/{activity['id']}",
            json={"kind": "meeting", "text": "  Met; wants 50 seats ", "occurred_at": when},
            headers=as_alice | {"If-Match": got.headers["etag"]},
        )
        assert patched.status_code == 200, patched.text
        body = patched.json()
        assert (body["kind"], body["text"]) == ("meeting", "Met; wants 50 seats")
        assert body["occurred_at"].startswith((clock.now() - timedelta(days=1)).date().isoformat())
        stale = await api.patch(
            f"/v1/activities/{activity['id']}",
            json={"text": "other"},
            headers=as_alice | {"If-Match": got.headers["etag"]},
        )
        assert stale.status_code == 412
        bad_kind = await api.patch(
            f"/v1/activities/{activity['id']}", json={"kind": "fax"}, headers=as_alice
        )
        assert bad_kind.status_code == 422 and bad_kind.json()["error"]["field"] == "kind"
        empty = await api.patch(
            f"/v1/activities/{activity['id']}", json={"text": "   "}, headers=as_alice
        )
        assert empty.status_code == 422 and empty.json()["error"]["field"] == "text"
        assert (await api.get("/v1/activities/999")).status_code == 404
        assert (await api.patch("/v1/activities/999", json={"text": "x"})).status_code == 404
        stale_delete = await api.delete(
            f"/v1/activities/{activity['id']}", headers=as_alice | STALE
        )
        assert stale_delete.status_code == 412
        gone = await api.delete(f"/v1/activities/{activity['id']}", headers=as_alice)
        assert gone.status_code == 204
        assert (await api.get(f"/v1/activities/{activity['id']}")).status_code == 404
        [update] = _audit(store, "activity.update")
        assert update.actor.startswith(f"rep:{alice.id}/api:token")
        assert update.before is not None and update.before["text"] == "Asked for pricing"
        assert "deleting the meeting" in _undo(store, clock, alice)
        assert (await api.get(f"/v1/activities/{activity['id']}")).json()["text"] == body["text"]
        assert "the edit of the" in _undo(store, clock, alice)
        again = (await api.get(f"/v1/activities/{activity['id']}")).json()
        assert (again["kind"], again["text"]) == ("call", "Asked for pricing")


async def test_another_reps_activity_and_a_read_token_are_refused(
    store: Store, clock: ManualClock
) -> None:
    alice, bob = make_rep(store, clock, "Alice"), make_rep(store, clock, "Bob")
    world = make_world(store, clock)
    deps = deps_for(store, clock)
    async with client(deps, world) as api:
        jane = (await api.post("/v1/contacts", json=JANE)).json()
        activity = (
            await api.post(
                "/v1/activities",
                json={"contact_id": jane["id"], "kind": "note", "text": "Likes email"},
                headers=_rep_token(store, clock, alice, ["write"]),
            )
        ).json()
        as_bob = _rep_token(store, clock, bob, ["write"])
        path = f"/v1/activities/{activity['id']}"
        assert (await api.patch(path, json={"text": "x"}, headers=as_bob)).status_code == 403
        assert (await api.delete(path, headers=as_bob)).status_code == 403
    async with client(deps, world, scope="read") as api:
        assert (await api.get(path)).status_code == 200
        assert (await api.patch(path, json={"text": "x"})).status_code == 403
        assert (await api.delete(path)).status_code == 403
    with store.transaction() as session:
        row = session.get(Activity, activity["id"])
        assert row is not None and row.text == "Likes email"


# ---- follow-ups -----------------------------------------------------------------------------


async def test_a_pending_follow_up_is_moved_reworded_and_cancelled_never_deleted(
    store: Store, clock: ManualClock
) -> None:
    alice = make_rep(store, clock, "Alice")
    world = make_world(store, clock)
    as_alice = _rep_token(store, clock, alice, ["write"])
    deps = deps_for(store, clock)
    async with client(deps, world) as api:
        due = (clock.now() + timedelta(days=1)).isoformat()
        made = await api.post(
            "/v1/followups", json={"due_at": due, "text": "Call Jane"}, headers=as_alice
        )
        assert made.status_code == 201, made.text
        followup = made.json()
        assert followup["rep_id"] == alice.id and followup["status"] == "pending"
        path = f"/v1/followups/{followup['id']}"
        got = await api.get(path)
        assert got.json() == followup and got.headers["etag"] == made.headers["etag"]
        later = clock.now() + timedelta(days=3)
        moved = await api.patch(
            path,
            json={"due_at": later.isoformat(), "text": "Call Jane about seats"},
            headers=as_alice | {"If-Match": got.headers["etag"]},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["text"] == "Call Jane about seats"
        assert moved.json()["due_at"].startswith(later.date().isoformat())
        stale = await api.patch(
            path, json={"text": "x"}, headers=as_alice | {"If-Match": got.headers["etag"]}
        )
        assert stale.status_code == 412
        blank = await api.patch(path, json={"text": ""}, headers=as_alice)
        assert blank.status_code == 422 and blank.json()["error"]["field"] == "text"
        assert (await api.delete(path, headers=as_alice | STALE)).status_code == 412
        [edit] = _audit(store, "followup.update")
        assert edit.actor.startswith(f"rep:{alice.id}/api:token")
        assert "the edit of reminder" in _undo(store, clock, alice)
        assert (await api.get(path)).json()["text"] == "Call Jane"
        cancelled = await api.delete(path, headers=as_alice)
        assert cancelled.status_code == 204
        kept = await api.get(path)
        assert kept.status_code == 200 and kept.json()["status"] == "cancelled"
        again = await api.patch(path, json={"text": "y"}, headers=as_alice)
        assert again.status_code == 409
        assert again.json()["error"]["field"] == "status"
        assert "cancelled" in again.json()["error"]["reason"]
        assert (await api.delete(path, headers=as_alice)).status_code == 409
        assert (await api.get("/v1/followups/999")).status_code == 404
        assert (await api.delete("/v1/followups/999")).status_code == 404
    async with client(deps, world, scope="read") as api:
        assert (await api.patch(path, json={"text": "x"})).status_code == 403
        assert (await api.delete(path)).status_code == 403
    with store.transaction() as session:
        row = session.get(FollowUp, followup["id"])
        assert row is not None and row.status == FollowUpStatus.CANCELLED


async def test_a_sent_follow_up_cannot_be_changed_and_internal_kinds_are_hidden(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        jane = (await api.post("/v1/contacts", json=JANE)).json()
        due = (clock.now() + timedelta(hours=2)).isoformat()
        made = (
            await api.post(
                "/v1/followups", json={"due_at": due, "text": "Hi!", "contact_id": jane["id"]}
            )
        ).json()
        assert made["kind"] == "customer"
        with store.transaction() as session:
            row = session.get(FollowUp, made["id"])
            assert row is not None
            row.status = FollowUpStatus.SENT
            session.add(row)
            digest = FollowUp(
                kind="digest",
                due_at=clock.now(),
                rep_id=None,
                contact_id=jane["id"],
                text="digest",
                created_at=clock.now(),
                updated_at=clock.now(),
            )
            session.add(digest)
            session.flush()
            digest_id = digest.id
        sent = await api.patch(f"/v1/followups/{made['id']}", json={"due_at": due})
        assert sent.status_code == 409 and "sent" in sent.json()["error"]["message"]
        assert (await api.delete(f"/v1/followups/{made['id']}")).status_code == 409
        assert (await api.get(f"/v1/followups/{digest_id}")).status_code == 404
        assert (await api.delete(f"/v1/followups/{digest_id}")).status_code == 404
        listed = (await api.post("/v1/query", json={"object": "followup"})).json()["data"]
        assert [f["id"] for f in listed] == [made["id"]]
        assert (await api.get(f"/v1/followups/{made['id']}")).json()["status"] == "sent"


# ---- purchases ------------------------------------------------------------------------------


async def test_a_purchase_is_corrected_with_solds_checks_and_undo_puts_it_back(
    store: Store, clock: ManualClock
) -> None:
    alice = make_rep(store, clock, "Alice")
    world = make_world(store, clock)
    as_alice = _rep_token(store, clock, alice, ["write"])
    deps = deps_for(store, clock)
    async with client(deps, world) as api:
        jane = (await api.post("/v1/contacts", json=JANE)).json()
        made = await api.post(
            "/v1/purchases",
            json={"contact_id": jane["id"], "amount_minor": 12000, "reference": "INV-1"},
            headers=as_alice,
        )
        sale = made.json()
        path = f"/v1/purchases/{sale['id']}"
        when = (clock.now() - timedelta(days=3)).isoformat()
        fixed = await api.patch(
            path,
            json={"amount_minor": 15000, "currency": "eur", "quantity": 3, "purchased_at": when},
            headers=as_alice | {"If-Match": made.headers["etag"]},
        )
        assert fixed.status_code == 200, fixed.text
        body = fixed.json()
        assert (body["amount_minor"], body["currency"], body["quantity"]) == (15000, "EUR", 3)
        assert body["reference"] == "INV-1" and body["contact_id"] == jane["id"]
        assert (await api.get(path)).headers["etag"] == fixed.headers["etag"]
        stale = await api.patch(
            path, json={"quantity": 1}, headers=as_alice | {"If-Match": made.headers["etag"]}
        )
        assert stale.status_code == 412
        future = (clock.now() + timedelta(days=1)).isoformat()
        ahead = await api.patch(path, json={"purchased_at": future}, headers=as_alice)
        assert ahead.status_code == 422 and ahead.json()["error"]["field"] == "date"
        zero = await api.patch(path, json={"quantity": 0}, headers=as_alice)
        assert zero.status_code == 422 and zero.json()["error"]["field"] == "quantity"
        cleared = await api.patch(path, json={"reference": None}, headers=as_alice)
        assert cleared.json()["reference"] is None
        assert (await api.patch("/v1/purchases/999", json={"quantity": 2})).status_code == 404
        [first, _second] = _audit(store, "purchase.update")
        assert first.actor.startswith(f"rep:{alice.id}/api:token")
        assert "the edit of purchase" in _undo(store, clock, alice)
        assert (await api.get(path)).json()["reference"] == "INV-1"
        deal = (
            await api.post("/v1/deals", json={"title": "Seats", "contact_id": jane["id"]})
        ).json()
        await api.patch(f"/v1/deals/{deal['id']}", json={"stage": "won"})
        [won] = (await api.get("/v1/purchases", params={"deal_id": deal["id"]})).json()["data"]
        refused = await api.patch(f"/v1/purchases/{won['id']}", json={"amount_minor": 1})
        assert refused.status_code == 409 and refused.json()["error"]["field"] == "deal_id"
    async with client(deps, world, scope="read") as api:
        assert (await api.patch(path, json={"quantity": 2})).status_code == 403


# ---- POST /query over every object ---------------------------------------------------------


async def test_the_query_language_reaches_companies_purchases_and_follow_ups(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        jane = (await api.post("/v1/contacts", json=JANE)).json()
        await api.post("/v1/companies", json={"name": "Globex"})
        await api.post("/v1/companies", json={"name": "Acme Rockets"})
        for amount, currency in ((500, "USD"), (20000, "USD"), (30000, "EUR")):
            await api.post(
                "/v1/purchases",
                json={"contact_id": jane["id"], "amount_minor": amount, "currency": currency},
            )
        for days, text in ((1, "Call Jane"), (5, "Send the quote")):
            due = (clock.now() + timedelta(days=days)).isoformat()
            await api.post(
                "/v1/followups", json={"due_at": due, "text": text, "contact_id": jane["id"]}
            )

        companies = await api.post(
            "/v1/query",
            json={
                "object": "company",
                "fields": ["id", "name"],
                "where": {"field": "name", "op": "contains", "value": "acme"},
                "sort": "name",
            },
        )
        assert companies.status_code == 200, companies.text
        assert [c["name"] for c in companies.json()["data"]] == ["Acme", "Acme Rockets"]
        assert set(companies.json()["data"][0]) == {"id", "name"}
        big = await api.post(
            "/v1/query",
            json={
                "object": "purchase",
                "where": {
                    "and": [
                        {"field": "amount_minor", "op": "gte", "value": 1000},
                        {"not": {"field": "currency", "op": "eq", "value": "EUR"}},
                    ]
                },
            },
        )
        assert [p["amount_minor"] for p in big.json()["data"]] == [20000]
        assert big.json()["data"][0]["contact_id"] == jane["id"]
        soon_limit = (clock.now() + timedelta(days=2)).isoformat()
        soon = await api.post(
            "/v1/query",
            json={
                "object": "followup",
                "fields": ["text", "status"],
                "where": {
                    "and": [
                        {"field": "status", "op": "eq", "value": "pending"},
                        {"field": "due_at", "op": "lt", "value": soon_limit},
                    ]
                },
            },
        )
        assert soon.json()["data"] == [{"text": "Call Jane", "status": "pending"}]
        paged = await api.post(
            "/v1/query", json={"object": "purchase", "sort": "-amount_minor", "limit": 2}
        )
        rest = await api.post(
            "/v1/query",
            json={
                "object": "purchase",
                "sort": "-amount_minor",
                "limit": 2,
                "cursor": paged.json()["next_cursor"],
            },
        )
        amounts = [p["amount_minor"] for p in paged.json()["data"] + rest.json()["data"]]
        assert amounts == [30000, 20000, 500]
        unknown = await api.post(
            "/v1/query",
            json={"object": "company", "where": {"field": "revenue", "op": "eq", "value": 1}},
        )
        assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "where.field"
        wrong_type = await api.post(
            "/v1/query",
            json={"object": "purchase", "where": {"field": "quantity", "op": "eq", "value": "x"}},
        )
        assert wrong_type.status_code == 422
        assert wrong_type.json()["error"]["field"] == "where.quantity"
        bad_field = await api.post("/v1/query", json={"object": "followup", "fields": ["secret"]})
        assert bad_field.status_code == 422 and bad_field.json()["error"]["field"] == "fields"


async def test_amounts_sent_without_a_currency_are_in_the_business_currency(
    store: Store, clock: ManualClock
) -> None:
    """RAPPORT_CURRENCY=EUR: a deal or a sale posted with only `amount_minor` is in euros,
    as `deal acme 5000` in chat is; a currency that is sent wins."""
    from dataclasses import replace

    world = make_world(store, clock)
    deps = replace(deps_for(store, clock), currency="EUR")
    async with client(deps, world) as api:
        jane = (await api.post("/v1/contacts", json=JANE)).json()
        deal = await api.post("/v1/deals", json={"title": "Pilot", "contact_id": jane["id"],
                                                 "amount_minor": 500_000})  # fmt: skip
        assert deal.status_code == 201, deal.text
        assert (deal.json()["amount_minor"], deal.json()["currency"]) == (500_000, "EUR")
        sale = await api.post("/v1/purchases", json={"contact_id": jane["id"],
                                                     "amount_minor": 9_990})  # fmt: skip
        assert sale.status_code == 201, sale.text
        assert sale.json()["currency"] == "EUR"
        yen_sale = {"contact_id": jane["id"], "amount_minor": 8_000, "currency": "jpy"}
        yen = await api.post("/v1/purchases", json=yen_sale)
        assert yen.json()["currency"] == "JPY"
