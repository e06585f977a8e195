"""Webhooks against a real local HTTP receiver: signed events from API and chat changes,
retries with backoff, pausing a receiver that keeps failing, and exactly one delivery
per event and subscription across two workers when one of them dies mid-claim."""

import asyncio
import json
import subprocess
import sys
from datetime import timedelta

from sqlmodel import select

from bot.outbound.webhooks import WebhookWorker
from crm import webhooks
from crm.actors import SYSTEM
from crm.clock import ManualClock
from crm.conversations import record_inbound
from crm.db import Store
from crm.models import AuditLog, Contact, FollowUp
from crm.webhook_models import WebhookDelivery, WebhookSubscription
from tests.api_world import client, deps_for, make_world
from tests.standins.webhook_receiver import WebhookReceiver


def subscribe(store: Store, clock: ManualClock, url: str, events: list[str]) -> WebhookSubscription:
    with store.transaction() as session:
        return webhooks.subscribe(session, actor=SYSTEM, url=url, events=events, now=clock.now())


async def test_api_changes_arrive_signed_with_a_delivery_id(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    worker = WebhookWorker(store, clock, worker="w1")
    with WebhookReceiver() as receiver:
        async with client(deps_for(store, clock), world) as api:
            added = await api.post(
                "/v1/webhooks",
                json={"url": receiver.url, "events": ["contact.created", "deal.won"]},
            )
            assert added.status_code == 201
            secret = added.json()["secret"]
            contact = (await api.post("/v1/contacts", json={"name": "Jane"})).json()
            deal = (await api.post("/v1/deals", json={"title": "Seats"})).json()
            await api.patch(f"/v1/deals/{deal['id']}", json={"stage": "won"})
            await api.patch(f"/v1/contacts/{contact['id']}", json={"name": "Not subscribed"})
        async with asyncio.timeout(10):
            stats = await worker.tick()
        await worker.close()
    assert stats.delivered == 2
    events = [(r.headers["rapport-event"], json.loads(r.body)) for r in receiver.received]
    events.sort(key=lambda e: int(e[1]["id"].removeprefix("evt_")))  # sent concurrently
    assert [e for e, _ in events] == ["contact.created", "deal.won"]
    assert events[0][1]["data"]["entity_id"] == contact["id"]
    assert events[1][1]["data"]["after"]["status"] == "won"
    for item in receiver.received:
        stamp = int(item.headers["rapport-timestamp"])
        assert webhooks.verify_signature(
            secret, stamp, item.body, item.headers["rapport-signature"]
        )
        assert not webhooks.verify_signature(
            "whsec_wrong", stamp, item.body, item.headers["rapport-signature"]
        )
    assert len({r.delivery for r in receiver.received}) == 2


async def test_api_edits_and_deletes_are_events_too(store: Store, clock: ManualClock) -> None:
    world = make_world(store, clock)
    worker = WebhookWorker(store, clock, worker="w1")
    wanted = ["company.updated", "company.deleted", "deal.deleted", "activity.updated",
              "activity.deleted", "followup.updated", "followup.cancelled"]  # fmt: skip
    with WebhookReceiver() as receiver:
        async with client(deps_for(store, clock), world) as api:
            added = await api.post("/v1/webhooks", json={"url": receiver.url, "events": wanted})
            assert added.status_code == 201
            company = (await api.post("/v1/companies", json={"name": "Globex"})).json()
            await api.patch(f"/v1/companies/{company['id']}", json={"domain": "globex.com"})
            await api.delete(f"/v1/companies/{company['id']}")
            deal = (await api.post("/v1/deals", json={"title": "Seats"})).json()
            await api.delete(f"/v1/deals/{deal['id']}")
            jane = (await api.post("/v1/contacts", json={"name": "Jane"})).json()
            note = {"contact_id": jane["id"], "kind": "note", "text": "Hi"}
            activity = (await api.post("/v1/activities", json=note)).json()
            await api.patch(f"/v1/activities/{activity['id']}", json={"text": "Hello"})
            await api.delete(f"/v1/activities/{activity['id']}")
            due = (clock.now() + timedelta(days=1)).isoformat()
            reminder = {"due_at": due, "text": "Call", "contact_id": jane["id"]}
            followup = (await api.post("/v1/followups", json=reminder)).json()
            await api.patch(f"/v1/followups/{followup['id']}", json={"text": "Call Jane"})
            await api.delete(f"/v1/followups/{followup['id']}")
        async with asyncio.timeout(10):
            stats = await worker.tick()
        await worker.close()
    assert stats.delivered == len(wanted)
    bodies = sorted(
        (json.loads(r.body) for r in receiver.received),
        key=lambda b: int(b["id"].removeprefix("evt_")),
    )
    assert [b["type"] for b in bodies] == wanted
    assert bodies[1]["data"]["before"]["name"] == "Globex"
    assert bodies[5]["data"]["after"]["text"] == "Call Jane"


async def test_sales_are_events_a_billing_integration_hears(
    store: Store, clock: ManualClock
) -> None:
    """Purchases were audited but sent no webhook: an integration never heard of a sale."""
    world = make_world(store, clock)
    worker = WebhookWorker(store, clock, worker="w1")
    wanted = ["purchase.created", "purchase.updated", "purchase.deleted"]
    with WebhookReceiver() as receiver:
        async with client(deps_for(store, clock), world) as api:
            added = await api.post("/v1/webhooks", json={"url": receiver.url, "events": wanted})
            assert added.status_code == 201
            jane = (await api.post("/v1/contacts", json={"name": "Jane"})).json()
            sale = {"contact_id": jane["id"], "amount_minor": 4200, "reference": "INV-9"}
            created = await api.post("/v1/purchases", json=sale)
            etag = created.headers["etag"]
            patched = await api.patch(
                f"/v1/purchases/{created.json()['id']}",
                json={"quantity": 2},
                headers={"If-Match": etag},
            )
            await api.delete(
                f"/v1/purchases/{created.json()['id']}",
                headers={"If-Match": patched.headers["etag"]},
            )
        async with asyncio.timeout(10):
            stats = await worker.tick()
        await worker.close()
    assert stats.delivered == 3
    bodies = sorted(
        (json.loads(r.body) for r in receiver.received),
        key=lambda b: int(b["id"].removeprefix("evt_")),
    )
    assert [b["type"] for b in bodies] == wanted
    assert bodies[0]["data"]["after"]["amount_minor"] == 4200
    assert bodies[1]["data"]["after"]["quantity"] == 2


async def test_a_customer_message_is_a_message_received_event(
    store: Store, clock: ManualClock
) -> None:
    with WebhookReceiver() as receiver:
        subscribe(store, clock, receiver.url, ["message.received"])
        with store.transaction() as session:
            contact = Contact(name="Cus", created_at=clock.now(), updated_at=clock.now())
            session.add(contact)
            session.flush()
            record_inbound(
                session,
                contact=contact,
                channel="telegram",
                chat_id="5",
                text="Is my order shipped?",
                sent_at=clock.now(),
                now=clock.now(),
            )
        worker = WebhookWorker(store, clock)
        async with asyncio.timeout(10):
            await worker.tick()
        await worker.close()
    [item] = receiver.received
    assert json.loads(item.body)["data"]["text"] == "Is my order shipped?"


async def test_a_failing_receiver_is_retried_with_backoff_and_logged(
    store: Store, clock: ManualClock
) -> None:
    worker = WebhookWorker(store, clock)
    with WebhookReceiver(script=[500, 503]) as receiver:
        subscribe(store, clock, receiver.url, ["*"])
        with store.transaction() as session:
            session.add(Contact(name="X", created_at=clock.now(), updated_at=clock.now()))
        from crm import audit  # a change as chat records it: an audit row

        with store.transaction() as session:
            audit.record(
                session,
                actor=SYSTEM,
                action="contact.create",
                entity_type="contact",
                entity_id=1,
                at=clock.now(),
                after={"name": "X"},
            )
        async with asyncio.timeout(20):
            assert (await worker.tick()).failed == 1
            assert len(receiver.received) == 1  # too early for a retry:
            await worker.tick()
            assert len(receiver.received) == 1
            clock.advance(webhooks.backoff(1))
            assert (await worker.tick()).failed == 1
            clock.advance(webhooks.backoff(2))
            assert (await worker.tick()).delivered == 1
        await worker.close()
    assert [r.answered for r in receiver.received] == [500, 503, 200]
    assert len({r.delivery for r in receiver.received}) == 1
    with store.transaction() as session:
        [(delivery, event)] = webhooks.deliveries(session)
    assert delivery.status == "delivered" and delivery.attempts == 3
    assert event.event_type == "contact.created"


async def test_a_receiver_that_keeps_failing_is_paused_and_admins_told(
    store: Store, clock: ManualClock, admin
) -> None:  # type: ignore[no-untyped-def]
    worker = WebhookWorker(store, clock)
    from crm import audit

    with WebhookReceiver(always=500) as receiver:
        sub = subscribe(store, clock, receiver.url, ["contact.created"])
        with store.transaction() as session:
            for i in range(3):
                audit.record(
                    session,
                    actor=SYSTEM,
                    action="contact.create",
                    entity_type="contact",
                    entity_id=i,
                    at=clock.now(),
                )
        async with asyncio.timeout(30):
            for _ in range(6):
                await worker.tick()
                clock.advance(timedelta(hours=1))
            attempts = len(receiver.received)
            with store.transaction() as session:  # happens while paused: queued, not sent
                audit.record(
                    session,
                    actor=SYSTEM,
                    action="contact.create",
                    entity_type="contact",
                    entity_id=99,
                    at=clock.now(),
                )
            await worker.tick()
            paused_posts = len(receiver.received)
            receiver.always = None  # the receiver is fixed; an admin resumes the webhook
            with store.transaction() as session:
                webhooks.set_active(
                    session, actor=SYSTEM, subscription_id=sub.id, active=True, now=clock.now()
                )
            clock.advance(timedelta(hours=2))
            for _ in range(3):
                await worker.tick()
                clock.advance(timedelta(hours=2))
        await worker.close()
    delivered = {json.loads(r.body)["data"]["entity_id"] for r in receiver.ok()}
    assert delivered == {0, 1, 2, 99}  # nothing lost across the pause
    # Paused at the PAUSE_AFTER-th failure; sends of that tick already under way finish.
    assert webhooks.PAUSE_AFTER <= attempts < webhooks.PAUSE_AFTER + 3
    assert paused_posts == attempts  # nothing more once paused
    with store.transaction() as session:
        row = session.get(WebhookSubscription, sub.id)
        notices = session.exec(select(FollowUp).where(FollowUp.kind == "notice")).all()
        paused = session.exec(select(AuditLog).where(AuditLog.action == "webhook.pause")).all()
    assert row.active and paused and "failures in a row" in paused[0].after["reason"]
    assert [n.rep_id for n in notices] == [admin.id] and receiver.url[:30] in notices[0].text


CLAIM_AND_DIE = """
import sys, time
from datetime import timedelta
from crm.db import Store, make_engine
from crm.clock import ManualClock
from crm import webhooks
import crm.models
from datetime import datetime
store = Store(make_engine(sys.argv[1]))
now = datetime.fromisoformat(sys.argv[2])
with store.transaction() as session:
    got = webhooks.claim(session, worker="doomed", now=now, lease=timedelta(seconds=60), limit=5)
print(len(got), flush=True)
time.sleep(120)  # killed here, holding its claims, having sent nothing
"""


async def test_exactly_one_delivery_each_across_two_workers_with_one_killed(
    store: Store, clock: ManualClock, db_url: str
) -> None:
    from crm import audit

    with WebhookReceiver() as receiver:
        subscribe(store, clock, receiver.url, ["contact.created"])
        with store.transaction() as session:
            for i in range(30):
                audit.record(
                    session,
                    actor=SYSTEM,
                    action="contact.create",
                    entity_type="contact",
                    entity_id=i,
                    at=clock.now(),
                )
            webhooks.pump(session, now=clock.now())
        doomed = subprocess.Popen(
            [sys.executable, "-c", CLAIM_AND_DIE, db_url, clock.now().isoformat()],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert doomed.stdout.readline().strip() == "5"
        finally:
            doomed.kill()
            doomed.wait(timeout=10)
        one = WebhookWorker(store, clock, worker="one", batch=7)
        two = WebhookWorker(store, clock, worker="two", batch=7)
        async with asyncio.timeout(30):
            for _ in range(4):
                await asyncio.gather(one.tick(), two.tick())
            assert len(receiver.received) == 25  # the dead worker's 5 wait for their lease
            clock.advance(timedelta(seconds=61))
            for _ in range(2):
                await asyncio.gather(one.tick(), two.tick())
        await one.close()
        await two.close()
    deliveries = [r.delivery for r in receiver.received]
    assert len(deliveries) == 30 and len(set(deliveries)) == 30
    with store.transaction() as session:
        rows = session.exec(select(WebhookDelivery)).all()
        assert {r.status for r in rows} == {"delivered"} and len(rows) == 30
        assert (
            webhooks.finish(
                session, delivery_id=rows[0].id, worker="doomed", now=clock.now(), ok=True
            )
            == "lost"
        )
