"""Purchases on real databases (SQLite and PostgreSQL): recorded, made by won deals,
shown on the timeline and in the export, anonymised on erasure, counted by analytics."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import func, select

from crm import activities, contacts, deals, privacy, purchases
from crm.analytics.churn import churn
from crm.analytics.clv import customer_lifetime_value
from crm.analytics.period import parse_period
from crm.analytics.segments import rfm_segments
from crm.analytics.value import customer_value
from crm.errors import Invalid
from crm.models import AuditLog
from crm.purchases import Purchase
from tests.factories import make_contact, make_purchase

PIPELINE = deals.Pipeline([("lead", 10), ("proposal", 50)])


def test_a_purchase_is_recorded_with_a_past_date_and_audited(store, rep, clock):  # type: ignore[no-untyped-def]
    jane = make_contact(store, rep, clock, "Jane Doe", company="Acme")
    with store.transaction() as session:
        contact = contacts.get_contact(session, jane.id)
        bought = purchases.record_purchase(
            session,
            actor=rep,
            now=clock.now(),
            amount_minor=12_000,
            currency="USD",
            contact=contact,
            purchased_at=clock.now() - timedelta(days=3),
            reference="INV-7",
        )
    with store.transaction() as session:
        (row,) = purchases.list_purchases(session, contact_id=jane.id)
        assert (row.amount_minor, row.currency, row.reference, row.source) == (
            12_000, "USD", "INV-7", "rep"
        )  # fmt: skip
        assert row.purchased_at == clock.now() - timedelta(days=3)
        assert row.company_id is not None  # the contact's company is linked too
        audit = session.exec(select(AuditLog).where(AuditLog.action == "purchase.create")).one()
        assert audit.entity_id == bought.id
        entry = activities.timeline(session, contact_id=jane.id)[0]
        assert (entry.kind, entry.text) == ("purchase", "bought $120.00 (INV-7)")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"amount_minor": -1}, "amount"),
        ({"currency": "usd"}, "currency"),
        ({"quantity": 0}, "quantity"),
        ({"purchased_at": datetime(2030, 1, 1, tzinfo=UTC)}, "date"),
    ],
)
def test_bad_purchases_are_refused_and_nothing_is_written(store, rep, clock, kwargs, field):  # type: ignore[no-untyped-def]
    jane = make_contact(store, rep, clock, "Jane Doe", company="Acme")
    args = {"amount_minor": 100, "currency": "USD"} | kwargs
    with pytest.raises(Invalid) as error, store.transaction() as session:
        purchases.record_purchase(
            session,
            actor=rep,
            now=clock.now(),
            contact=contacts.get_contact(session, jane.id),
            **args,
        )
    assert error.value.field == field
    with store.transaction() as session:
        assert session.exec(select(func.count()).select_from(Purchase)).one() == 0


def test_a_won_deal_is_one_purchase_dated_at_its_close(store, rep, clock):  # type: ignore[no-untyped-def]
    jane = make_contact(store, rep, clock, "Jane Doe", company="Acme")
    closed = clock.now() - timedelta(days=10)
    with store.transaction() as session:
        deal = deals.create_deal(
            session, actor=rep, pipeline=PIPELINE, title="Seats", now=clock.now(),
            contact=contacts.get_contact(session, jane.id), amount_minor=50_000, currency="EUR",
        )  # fmt: skip
        deals.set_stage(
            session, actor=rep, pipeline=PIPELINE, deal_id=deal.id, stage="won",
            now=clock.now(), closed_at=closed,
        )  # fmt: skip
        # winning it again (after a reopen) does not count it twice; reopening drops it
        deals.set_stage(
            session, actor=rep, pipeline=PIPELINE, deal_id=deal.id, stage="won", now=clock.now()
        )
        (row,) = purchases.list_purchases(session, contact_id=jane.id)
        assert (row.amount_minor, row.currency, row.source, row.deal_id) == (
            50_000,
            "EUR",
            "deal",
            deal.id,
        )
        deals.set_stage(
            session,
            actor=rep,
            pipeline=PIPELINE,
            deal_id=deal.id,
            stage="proposal",
            now=clock.now(),
        )
        assert purchases.list_purchases(session, contact_id=jane.id) == []
        with pytest.raises(Invalid):
            deals.set_stage(
                session, actor=rep, pipeline=PIPELINE, deal_id=deal.id, stage="won",
                now=clock.now(), closed_at=clock.now() + timedelta(days=1),
            )  # fmt: skip


def test_export_lists_purchases_and_erasure_keeps_only_anonymised_amounts(store, rep, clock):  # type: ignore[no-untyped-def]
    jane = make_contact(store, rep, clock, "Jane Doe", company="Acme")
    for amount in (1_000, 2_500):
        make_purchase(store, rep, clock, jane.id, amount, reference="for Jane's flat")
    with store.transaction() as session:
        data = privacy.export_contact(session, contact_id=jane.id, now=clock.now())
        assert sorted(p["amount_minor"] for p in data["purchases"]) == [1_000, 2_500]
        counts = privacy.erase_contact(
            session, actor=rep, contact_id=jane.id, now=clock.now()
        ).counts
        assert counts["purchases_anonymised"] == 2
    with store.transaction() as session:
        rows = session.exec(select(Purchase)).all()
        assert sum(r.amount_minor for r in rows) == 3_500  # totals stay right
        assert all(r.contact_id is None and r.reference is None and r.anonymised for r in rows)
        audits = session.exec(select(AuditLog).where(AuditLog.action == "purchase.create")).all()
        assert all(a.after == {"erased": True} for a in audits)


def test_analytics_count_purchases_and_a_recent_buyer_is_never_lost(store, rep, clock):  # type: ignore[no-untyped-def]
    now = clock.now()
    ids = [make_contact(store, rep, clock, f"Buyer {i}", company="Acme").id for i in range(6)]
    for i, cid in enumerate(ids):
        # buyer 0 bought today only; the others bought earlier and more often
        days = [0] if i == 0 else [1 + i, 2 + i, 3 + i]
        for d in days:
            make_purchase(
                store, rep, clock, cid, 1_000 * (i + 1), purchased_at=now - timedelta(days=d)
            )
    with store.transaction() as session:
        report = rfm_segments(session, as_of=now + timedelta(hours=1))
        first = next(m for s in report.segments for m in s.members if m.contact_id == ids[0])
        segment = next(s.name for s in report.segments for m in s.members if m.contact_id == ids[0])
        assert first.r >= 4 and segment not in {"lost", "at_risk", "hibernating"}
        assert first.frequency == 1
        period = parse_period("last 7 days", tz="UTC", now=now + timedelta(days=20))
        assert churn(session, period=period).customers_at_start == 6  # purchases are activity
        clv = customer_lifetime_value(
            session, period=parse_period("last 30 days", tz="UTC", now=now + timedelta(hours=1))
        )
        (usd,) = clv.by_currency
        assert (usd.currency, usd.customers, usd.profit_minor) == ("USD", 6, 61_000)
        value = customer_value(session, as_of=now.date())
        assert value.method == "rfm" and value.note and "not enough data" in value.note
        assert "5 repeat customer(s)" in value.note
        assert value.customers[0].contact_id == ids[5]  # biggest past spend first


def test_value_model_on_the_cdnow_sample_gives_the_papers_parameters(store):  # type: ignore[no-untyped-def]
    cdnow = pytest.importorskip("benchmarks.cdnow")
    if not (cdnow.cdnow_dir() / "CDNOW_sample.txt").is_file():
        pytest.skip(f"CDNOW data not found at {cdnow.cdnow_dir()} (set RAPPORT_CDNOW_DIR)")
    cdnow.load(store.engine, cdnow.read("sample"))
    with store.transaction() as session:
        report = customer_value(session, as_of=date(1997, 9, 30), horizon_weeks=39)
    params = report.model["bgnbd"]["params"]
    paper = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in paper.items():
        assert params[name] == pytest.approx(value, rel=0.01), name
    assert report.method == "pareto_nbd" and len(report.customers) == 2357
    assert all(c.external_id for c in report.customers)
