"""The REST API on a real store (SQLite file and PostgreSQL), through httpx's ASGI transport:
same validation, dedupe and audit as chat; safe writes; filters, search and cursors."""

from datetime import timedelta

import pytest
from sqlmodel import select

from channels.hub import ChannelHub
from crm.clock import ManualClock
from crm.conversations import record_inbound
from crm.db import Store
from crm.models import AuditLog, Contact, Message
from tests.api_world import client, deps_for, make_world
from tests.standins.outbox_channels import RecordingChannel

JANE = {
    "name": "Jane Doe",
    "emails": ["jane@acme.com"],
    "phones": ["+1 415 555 0100"],
    "company": "Acme",
    "tags": ["vip"],
}


async def test_create_get_patch_delete_a_contact_audited_as_the_token(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        created = await api.post("/v1/contacts", json=JANE)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["emails"] == ["jane@acme.com"] and body["phones"] == ["+14155550100"]
        assert body["company"] == "Acme" and body["tags"] == ["vip"]
        assert created.headers["location"] == f"/api/v1/contacts/{body['id']}"
        got = await api.get(f"/v1/contacts/{body['id']}")
        assert got.json() == body and got.headers["etag"] == created.headers["etag"]
        patched = await api.patch(
            f"/v1/contacts/{body['id']}",
            json={"name": "Jane Q. Doe", "tags": ["customer"], "custom_fields": {"plan": "pro"}},
            headers={"If-Match": got.headers["etag"]},
        )
        assert patched.status_code == 200, patched.text
        assert patched.json()["name"] == "Jane Q. Doe"
        assert patched.json()["tags"] == ["customer"]
        assert patched.json()["custom_fields"] == {"plan": "pro"}
        deleted = await api.delete(
            f"/v1/contacts/{body['id']}", headers={"If-Match": patched.headers["etag"]}
        )
        assert deleted.status_code == 204
        assert (await api.get(f"/v1/contacts/{body['id']}")).status_code == 404
    with store.transaction() as session:
        actors = {row.action: row.actor for row in session.exec(select(AuditLog))}
    label = f"system/api:token{world.token_ids['admin']}"
    assert actors["contact.create"] == label
    assert actors["contact.update"] == label and actors["contact.delete"] == label


async def test_a_duplicate_email_is_a_409_naming_the_existing_contact(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        first = (await api.post("/v1/contacts", json=JANE)).json()
        again = await api.post("/v1/contacts", json={"name": "J. Doe", "emails": ["JANE@acme.com"]})
    assert again.status_code == 409
    assert again.json()["error"]["existing_id"] == first["id"]
    with store.transaction() as session:
        assert len(session.exec(select(Contact)).all()) == 1


async def test_invalid_values_are_422_with_the_field_and_the_reason(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        bad_email = await api.post("/v1/contacts", json={"name": "X", "emails": ["not-an-email"]})
        bad_tz = await api.post("/v1/contacts", json={"name": "X", "timezone": "Mars/Olympus"})
        missing = await api.post("/v1/contacts", json={"emails": ["a@b.co"]})
    assert bad_email.status_code == 422 and bad_email.json()["error"]["field"] == "email"
    assert bad_email.json()["error"]["reason"]
    assert bad_tz.status_code == 422 and bad_tz.json()["error"]["field"] == "timezone"
    assert missing.status_code == 422 and missing.json()["error"]["field"] == "name"


async def test_an_idempotency_key_replays_the_first_answer_and_creates_nothing_twice(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        key = {"Idempotency-Key": "lead-42"}
        first = await api.post("/v1/contacts", json=JANE, headers=key)
        retry = await api.post("/v1/contacts", json=JANE, headers=key)
        other = await api.post("/v1/contacts", json={"name": "Bob"}, headers=key)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json() and retry.headers["idempotent-replayed"] == "true"
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"
    with store.transaction() as session:
        assert len(session.exec(select(Contact)).all()) == 1


async def test_a_stale_if_match_is_412_and_changes_nothing(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        created = await api.post("/v1/contacts", json=JANE)
        cid, stale = created.json()["id"], created.headers["etag"]
        clock.advance(timedelta(minutes=1))
        assert (await api.patch(f"/v1/contacts/{cid}", json={"name": "Jane 2"})).status_code == 200
        refused = await api.patch(
            f"/v1/contacts/{cid}", json={"name": "Jane 3"}, headers={"If-Match": stale}
        )
        kept = await api.delete(f"/v1/contacts/{cid}", headers={"If-Match": stale})
        assert refused.status_code == 412 and kept.status_code == 412
        assert (await api.get(f"/v1/contacts/{cid}")).json()["name"] == "Jane 2"


async def test_bulk_upsert_by_external_id_reports_each_record(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        records = [
            {"external_id": f"cus_{i}", "name": f"Customer {i}", "emails": [f"c{i}@shop.com"]}
            for i in range(5)
        ]
        first = await api.post("/v1/contacts/bulk", json={"system": "billing", "records": records})
        assert first.status_code == 200, first.text
        assert first.json()["created"] == 5 and first.json()["errors"] == 0
        again = [
            {"external_id": "cus_0", "tags": ["paying"]},
            {"external_id": "cus_new"},  # new without a name
            {"external_id": "cus_9", "name": "Dup", "emails": ["c1@shop.com"]},  # email taken
            {"external_id": "cus_10", "name": "Fresh"},
        ]
        second = await api.post("/v1/contacts/bulk", json={"system": "billing", "records": again})
        results = second.json()["results"]
        assert [r["status"] for r in results] == ["updated", "error", "error", "created"]
        assert results[1]["error"]["field"] == "name"
        assert results[2]["error"]["code"] == "conflict"
        found = await api.get("/v1/contacts", params={"tag": "paying"})
        assert [c["external_ids"] for c in found.json()["data"]] == [
            [{"system": "billing", "external_id": "cus_0"}]
        ]
        too_many = [{"external_id": str(i), "name": "x"} for i in range(1001)]
        refused = await api.post("/v1/contacts/bulk", json={"system": "b", "records": too_many})
        assert refused.status_code == 422
    with store.transaction() as session:
        assert len(session.exec(select(Contact)).all()) == 6


async def test_filters_search_and_a_cursor_that_holds_while_rows_are_added(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        for i in range(7):
            clock.advance(timedelta(minutes=1))
            tags = ["vip"] if i % 2 == 0 else ["vipish"]
            await api.post(
                "/v1/contacts",
                json={"name": f"Person {i}", "tags": tags, "emails": [f"p{i}@x.com"]},
            )
        seen: list[str] = []
        page = await api.get("/v1/contacts", params={"limit": 3, "sort": "created_at"})
        seen += [c["name"] for c in page.json()["data"]]
        await api.post("/v1/contacts", json={"name": "Late arrival"})  # added mid-way
        while page.json()["next_cursor"]:
            page = await api.get(
                "/v1/contacts",
                params={"limit": 3, "sort": "created_at", "cursor": page.json()["next_cursor"]},
            )
            seen += [c["name"] for c in page.json()["data"]]
        assert seen == [f"Person {i}" for i in range(7)] + ["Late arrival"]
        newest = await api.get("/v1/contacts", params={"limit": 2, "sort": "-created_at"})
        assert [c["name"] for c in newest.json()["data"]] == ["Late arrival", "Person 6"]
        vip = await api.get("/v1/contacts", params={"tag": "vip", "limit": 50})
        assert [c["name"] for c in vip.json()["data"]] == [
            "Person 0",
            "Person 2",
            "Person 4",
            "Person 6",
        ]
        by_email = await api.get("/v1/contacts", params={"email": "P3@X.com"})
        assert [c["name"] for c in by_email.json()["data"]] == ["Person 3"]
        searched = await api.get("/v1/contacts", params={"q": "persn 5"})
        assert searched.json()["data"][0]["name"] == "Person 5"
        bad = await api.get("/v1/contacts", params={"cursor": "garbage", "sort": "id"})
        assert bad.status_code == 422 and bad.json()["error"]["field"] == "cursor"


async def test_the_query_language_answers_the_salesforce_example(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        await api.post("/v1/contacts", json=JANE)
        await api.post(
            "/v1/contacts", json={"name": "Bob Roe", "emails": ["bob@roe.io"], "tags": ["lead"]}
        )
        soql = {
            "object": "contact",
            "fields": ["id", "name", "emails", "phones"],
            "where": {"field": "email", "op": "eq", "value": "jane@acme.com"},
        }
        found = await api.post("/v1/query", json=soql)
        assert found.status_code == 200, found.text
        assert found.json()["data"] == [
            {"id": 1, "name": "Jane Doe", "emails": ["jane@acme.com"], "phones": ["+14155550100"]}
        ]
        either = await api.post(
            "/v1/query",
            json={
                "object": "contact",
                "fields": ["name"],
                "where": {
                    "or": [
                        {"field": "tag", "op": "eq", "value": "lead"},
                        {
                            "and": [
                                {"field": "company", "op": "contains", "value": "acm"},
                                {"not": {"field": "id", "op": "in", "value": [99]}},
                            ]
                        },
                    ]
                },
            },
        )
        assert sorted(r["name"] for r in either.json()["data"]) == ["Bob Roe", "Jane Doe"]
        injection = await api.post(
            "/v1/query",
            json={
                "object": "contact",
                "where": {"field": "name", "op": "eq", "value": "x' OR '1'='1"},
            },
        )
        assert injection.status_code == 200 and injection.json()["data"] == []
        refused = await api.post(
            "/v1/query",
            json={"object": "contact", "where": {"field": "search_text", "op": "eq", "value": "x"}},
        )
        assert refused.status_code == 422 and refused.json()["error"]["field"] == "where.field"
        wrong_type = await api.post(
            "/v1/query",
            json={
                "object": "contact",
                "where": {"field": "id", "op": "gt", "value": "1; DROP TABLE contact"},
            },
        )
        assert wrong_type.status_code == 422


async def test_deals_move_through_stages_to_won_and_filter_by_amount(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        contact = (await api.post("/v1/contacts", json=JANE)).json()
        small = await api.post(
            "/v1/deals",
            json={"title": "Pilot", "contact_id": contact["id"], "amount_minor": 50_000},
        )
        big = await api.post("/v1/deals", json={"title": "50 seats", "amount_minor": 1_200_000})
        assert small.status_code == big.status_code == 201
        lost = await api.patch(f"/v1/deals/{small.json()['id']}", json={"stage": "lost"})
        assert lost.status_code == 422 and lost.json()["error"]["field"] == "reason"
        won = await api.patch(f"/v1/deals/{big.json()['id']}", json={"stage": "won"})
        assert won.json()["status"] == "won" and won.json()["closed_at"]
        rich = await api.get("/v1/deals", params={"amount_min": 100_000})
        assert [d["title"] for d in rich.json()["data"]] == ["50 seats"]
        open_ = await api.get("/v1/deals", params={"status": "open", "company_id": 1})
        assert [d["title"] for d in open_.json()["data"]] == ["Pilot"]
        bad_stage = await api.get("/v1/deals", params={"stage": "nonsense"})
        assert bad_stage.status_code == 422


async def test_scopes_and_unknown_tokens_are_refused(store: Store, clock: ManualClock) -> None:
    world = make_world(store, clock)
    deps = deps_for(store, clock)
    async with client(deps, world, scope="read") as api:
        assert (await api.get("/v1/contacts")).status_code == 200
        refused = await api.post("/v1/contacts", json=JANE)
        assert refused.status_code == 403 and "write" in refused.json()["error"]["message"]
        nobody = await api.get("/v1/contacts", headers={"Authorization": "Bearer rp_00_nope"})
        assert nobody.status_code == 401
    async with client(deps, world, scope="write") as api:
        cid = (await api.post("/v1/contacts", json=JANE)).json()["id"]
        assert (await api.delete(f"/v1/contacts/{cid}")).status_code == 403
        assert (await api.get("/v1/webhooks")).status_code == 403


async def test_a_token_over_its_rate_gets_429_with_retry_after(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock, rate=3)
    async with client(deps_for(store, clock), world, scope="read") as api:
        codes = [(await api.get("/v1/reps")).status_code for _ in range(4)]
        last = await api.get("/v1/reps")
    assert codes[:3] == [200, 200, 200] and 429 in codes[3:] + [last.status_code]
    assert int(last.headers["retry-after"]) >= 1


async def test_a_reply_goes_out_through_the_customers_channel_like_a_reps(
    store: Store, clock: ManualClock, rep
) -> None:  # type: ignore[no-untyped-def]
    hub = ChannelHub()
    telegram = RecordingChannel("telegram")
    hub.register(telegram)
    world = make_world(store, clock, rep_id=rep.id)
    with store.transaction() as session:
        contact = Contact(name="Cus Tomer", created_at=clock.now(), updated_at=clock.now())
        session.add(contact)
        session.flush()
        inbound = record_inbound(
            session,
            contact=contact,
            channel="telegram",
            chat_id="777",
            text="Do you ship to Oslo?",
            sent_at=clock.now(),
            now=clock.now(),
        )
        conversation_id = inbound.conversation.id
    async with client(deps_for(store, clock, send=hub.send), world, scope="write") as api:
        listed = await api.get(f"/v1/conversations/{conversation_id}/messages")
        assert [m["text"] for m in listed.json()["data"]] == ["Do you ship to Oslo?"]
        key = {"Idempotency-Key": "reply-1"}
        sent = await api.post(
            f"/v1/conversations/{conversation_id}/messages",
            json={"text": "Yes, in 3 days."},
            headers=key,
        )
        retry = await api.post(
            f"/v1/conversations/{conversation_id}/messages",
            json={"text": "Yes, in 3 days."},
            headers=key,
        )
    assert retry.status_code == 201 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["id"] == sent.json()["id"] and retry.json()["delivery"] == "delivered"
    assert sent.status_code == 201, sent.text
    assert sent.json()["delivery"] == "delivered" and sent.json()["author_rep_id"] == rep.id
    assert [(s.chat_id, s.text) for s in telegram.sent] == [("777", "Yes, in 3 days.")]
    with store.transaction() as session:
        stored = session.get(Message, sent.json()["id"])
        assert stored.delivery == "delivered" and stored.external_id == "telegram-1"


async def test_merge_folds_a_duplicate_in_and_keeps_its_external_ids(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        keep = (await api.post("/v1/contacts", json=JANE)).json()
        dup = (
            await api.post(
                "/v1/contacts",
                json={
                    "name": "Jane D",
                    "emails": ["jd@home.net"],
                    "external_ids": [{"system": "shop", "external_id": "u9"}],
                },
            )
        ).json()
        merged = await api.post(f"/v1/contacts/{keep['id']}/merge", json={"source_id": dup["id"]})
        assert merged.status_code == 200, merged.text
        body = merged.json()["contact"]
        assert body["emails"] == ["jane@acme.com", "jd@home.net"]
        assert body["external_ids"] == [{"system": "shop", "external_id": "u9"}]
        assert (await api.get(f"/v1/contacts/{dup['id']}")).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/v1/companies",
        "/v1/activities",
        "/v1/followups",
        "/v1/conversations",
        "/v1/reps",
        "/v1/webhooks",
    ],
)
async def test_every_list_answers_for_an_admin(store: Store, clock: ManualClock, path: str) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        answer = await api.get(path)
    assert answer.status_code == 200
    body = answer.json()
    assert isinstance(body, list) or body["next_cursor"] is None


async def test_a_value_the_database_cannot_store_is_a_422_not_a_500(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        answer = await api.post("/v1/contacts", json={"name": "Nul\u0000Byte"})
        huge = await api.get("/v1/contacts/99999999999")
    # SQLite stores a NUL character; PostgreSQL refuses it, and that is the caller's input.
    assert answer.status_code == (422 if store.dialect == "postgresql" else 201)
    assert huge.status_code == 422


async def test_bulk_upsert_recreates_a_contact_deleted_in_chat(
    store: Store, clock: ManualClock, admin
) -> None:  # type: ignore[no-untyped-def]
    from crm.trash import delete_contact

    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        body = {"system": "crm2", "records": [{"external_id": "e1", "name": "Gone Soon"}]}
        first = (await api.post("/v1/contacts/bulk", json=body)).json()["results"][0]
        with store.transaction() as session:
            delete_contact(session, actor=admin, contact_id=first["id"], now=clock.now())
        again = (await api.post("/v1/contacts/bulk", json=body)).json()["results"][0]
    assert first["status"] == "created" and again["status"] == "created"  # not a stale ref
