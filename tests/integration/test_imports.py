"""`crm.imports` on real databases: vendor exports, re-runs, deals, activities, resumable
batches, and the export -> import round trip of every type (SQLite and PostgreSQL)."""

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel, func, select

from crm.actors import SYSTEM, Actor
from crm.clock import ManualClock
from crm.db import Store, make_engine
from crm.errors import Forbidden
from crm.externalids import ExternalId
from crm.imports import ImportOptions, ImportReport, run_import
from crm.imports.export import export_records
from crm.models import Activity, AuditLog, Company, Contact, ContactPoint, Deal, Purchase, Rep

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
STAGES = ["lead", "qualified", "proposal", "negotiation"]


def options(**kw: object) -> ImportOptions:
    return ImportOptions(stages=STAGES, **kw)  # type: ignore[arg-type]


def run(store: Store, clock: ManualClock, data: bytes | str, **kw: object) -> ImportReport:
    raw = data if isinstance(data, bytes) else data.encode()
    return run_import(store, io.BytesIO(raw), actor=SYSTEM, now=clock.now(), options=options(**kw))


def run_fixture(store: Store, clock: ManualClock, name: str, **kw: object) -> ImportReport:
    return run(store, clock, (FIXTURES / name).read_bytes(), **kw)


@pytest.fixture
def root(store: Store, clock: ManualClock, admin: Actor) -> Actor:
    """The admin rep "Root", with the email the HubSpot fixture names as owner."""
    with store.transaction() as session:
        rep = session.get(Rep, admin.id)
        assert rep is not None
        rep.email = "root@rapport.test"
        session.add(rep)
    return admin


def count(store: Store, model: type[SQLModel]) -> int:
    with store.transaction() as session:
        return session.exec(select(func.count()).select_from(model)).one()


def contact_named(store: Store, name: str) -> tuple[Contact, list[str], str | None]:
    with store.transaction() as session:
        contact = session.exec(select(Contact).where(Contact.name == name)).one()
        points = session.exec(
            select(ContactPoint.value)
            .where(ContactPoint.contact_id == contact.id)
            .order_by(ContactPoint.position)
        ).all()
        company = session.get(Company, contact.company_id) if contact.company_id else None
        return contact, list(points), company.name if company else None


def test_hubspot_contacts_join_names_match_owner_keep_custom_and_rerun_updates(
    store: Store, clock: ManualClock, root: Actor
) -> None:
    report = run_fixture(store, clock, "hubspot_contacts.csv")
    assert (report.created, report.updated, report.skipped) == (3, 0, 0)
    assert report.source == "hubspot" and report.record_type == "contacts"
    assert "Phone Number -> phone" in report.mapping
    assert "Contact owner -> owner" in report.mapping
    assert report.custom_columns == ["Favourite Biscuit"]
    assert report.unknown_owners == {"Unknown Person": 1}
    ada, points, company = contact_named(store, "Ada Quill")
    assert points == ["ada.quill@brassworks.example.org", "+14155550101", "+14155550191"]
    assert company == "Brassworks Ltd" and ada.owner_id == root.id  # matched by email
    assert ada.custom_fields == {
        "lifecycle_stage": "customer", "title": "CTO", "Favourite Biscuit": "Hobnob"
    }  # fmt: skip
    assert ada.created_at.isoformat() == "2024-03-04T09:15:00+00:00"
    bram, _, _ = contact_named(store, "Bram Otter")
    assert bram.owner_id == root.id  # matched by name
    cleo, cleo_points, _ = contact_named(store, "Cleo Marsh")
    assert cleo_points == ["cleo@marsh.example.com", "cleo.m@marsh.example.com"]
    assert cleo.owner_id is None and cleo.custom_fields["owner"] == "Unknown Person"
    assert cleo.custom_fields["Favourite Biscuit"] == "Custard\nCream"  # quoted newline
    audits, points_before = count(store, AuditLog), count(store, ContactPoint)
    assert points_before == 7

    again = run_fixture(store, clock, "hubspot_contacts.csv")
    assert (again.created, again.updated) == (0, 3)
    assert count(store, Contact) == 3 and count(store, ContactPoint) == points_before
    assert count(store, AuditLog) == audits  # nothing changed, nothing audited


def test_a_record_deleted_after_an_import_is_created_again_by_a_rerun(
    store: Store, clock: ManualClock, root: Actor
) -> None:
    run_fixture(store, clock, "hubspot_contacts.csv")
    with store.transaction() as session:
        session.delete(session.exec(select(Contact).where(Contact.name == "Ada Quill")).one())
    again = run_fixture(store, clock, "hubspot_contacts.csv")
    assert (again.created, again.updated, again.failure) == (1, 2, None)
    assert run_fixture(store, clock, "hubspot_contacts.csv").updated == 3
    with store.transaction() as session:
        assert len(session.exec(select(ExternalId)).all()) == 3


def test_match_by_email_then_phone_when_the_file_has_no_ids(
    store: Store, clock: ManualClock, root: Actor
) -> None:
    run_fixture(store, clock, "hubspot_contacts.csv")
    report = run(
        store, clock,
        "Name,Email,Phone\nAda Q.,ADA.QUILL@brassworks.example.org,\n"
        "Bram O.,,+1 (415) 555-0102\nNew Person,new@person.example.com,\n",
    )  # fmt: skip
    assert (report.created, report.updated) == (1, 2)
    assert contact_named(store, "Ada Q.")[1][0] == "ada.quill@brassworks.example.org"
    assert contact_named(store, "Bram O.")[1] == ["bram@otterly.example.net", "+14155550102"]


def test_dry_run_reports_the_same_counts_and_writes_nothing(
    store: Store, clock: ManualClock, root: Actor
) -> None:
    audits = count(store, AuditLog)  # the admin's own creation
    dry = run_fixture(store, clock, "hubspot_contacts.csv", dry_run=True)
    assert dry.dry_run and (dry.created, dry.updated) == (3, 0)
    assert "Dry run, nothing written" in dry.summary()
    assert count(store, Contact) == 0 and count(store, Company) == 0
    assert count(store, AuditLog) == audits and count(store, ExternalId) == 0
    duplicate = "Name,Email\nA,a@dup.example.com\nB,A@DUP.example.com\n"
    assert (run(store, clock, duplicate, dry_run=True).created, count(store, Contact)) == (1, 0)


def test_deals_map_stages_amounts_close_dates_and_won_lost(
    store: Store, clock: ManualClock, root: Actor
) -> None:
    run_fixture(store, clock, "hubspot_companies.csv")
    run_fixture(store, clock, "hubspot_contacts.csv")
    report = run_fixture(store, clock, "hubspot_deals.csv")
    assert (report.created, report.record_type) == (4, "deals")
    assert report.unknown_stages == {"Contract Haggling": 1}
    assert "Contract Haggling" in report.summary()
    with store.transaction() as session:
        deals = {d.title: d for d in session.exec(select(Deal))}
        ada = session.exec(select(Contact).where(Contact.name == "Ada Quill")).one()
    won = deals["Brassworks renewal"]
    assert (won.status, won.stage, won.amount_minor, won.currency) == ("won", "won", 1250000, "USD")
    assert won.closed_at is not None and won.closed_at.date().isoformat() == "2024-06-30"
    assert won.contact_id == ada.id and won.owner_id == root.id
    assert deals["Otterly pilot"].stage == "proposal" and deals["Otterly pilot"].status == "open"
    assert str(deals["Otterly pilot"].expected_close) == "2024-09-15"
    assert deals["Otterly upsell"].status == "lost"
    odd = deals["Marsh expansion"]
    assert odd.stage == "lead" and odd.custom_fields["source stage"] == "Contract Haggling"
    assert run_fixture(store, clock, "hubspot_deals.csv").updated == 4
    assert count(store, Deal) == 4
    mapped = run_fixture(
        store, clock, "hubspot_deals.csv", overrides=["stage:Contract Haggling=negotiation"]
    )
    assert not mapped.unknown_stages
    with store.transaction() as session:
        assert session.get(Deal, odd.id).stage == "negotiation"  # type: ignore[union-attr]


def test_salesforce_api_names_link_contacts_and_deals_to_accounts_by_id(
    store: Store, clock: ManualClock, root: Actor
) -> None:
    assert run_fixture(store, clock, "salesforce_accounts_api.csv").record_type == "companies"
    contacts = run_fixture(store, clock, "salesforce_contacts_api.csv")
    assert contacts.source == "salesforce" and contacts.created == 2
    assert contacts.unknown_owners == {"005A00000XYZ": 2}
    fay, points, company = contact_named(store, "Fay Lumen")
    assert company == "Lumen Labs" and points == ["fay@lumen.example.com", "+12125550111"]
    assert fay.created_at.isoformat() == "2024-02-01T10:00:00+00:00"
    deals = run_fixture(store, clock, "salesforce_opportunities_api.csv")
    assert deals.created == 2
    with store.transaction() as session:
        kit = session.exec(select(Deal).where(Deal.title == "Lumen lab kit")).one()
        lumen = session.exec(select(Company).where(Company.name == "Lumen Labs")).one()
    assert (kit.stage, kit.amount_minor, kit.currency, kit.company_id) == (
        "negotiation", 4500000, "EUR", lumen.id
    )  # fmt: skip
    assert lumen.domain == "lumen.example.com" and lumen.custom_fields["employees"] == "120"


def test_salesforce_report_labels_pipedrive_and_zoho_layouts(
    store: Store, clock: ManualClock, root: Actor
) -> None:
    report = run_fixture(store, clock, "salesforce_contacts_report.csv")
    assert report.created == 2 and "Mailing City -> city" in report.mapping
    dora, _, company = contact_named(store, "Dora Finch")
    assert company == "Finch Freight" and dora.custom_fields["city"] == "Lyon"
    persons = run_fixture(store, clock, "pipedrive_persons.csv")
    assert persons.source == "pipedrive" and "semicolon" in persons.file_shape
    hana, points, _ = contact_named(store, "Hana Vogel")
    assert points[:2] == ["hana@vogel.example.de", "hana.privat@mail.example.de"]
    assert len(points) == 4 and hana.tags == ["hot-lead"]
    deals = run_fixture(store, clock, "pipedrive_deals.csv")
    assert deals.created == 2
    with store.transaction() as session:
        fleet = session.exec(select(Deal).where(Deal.title == "Vogel fleet")).one()
        spares = session.exec(select(Deal).where(Deal.title == "Vogel spares")).one()
    assert (fleet.amount_minor, fleet.currency, fleet.contact_id) == (125050, "EUR", hana.id)
    assert (spares.status, spares.close_reason) == ("lost", "Went with a competitor")
    zoho = run_fixture(store, clock, "zoho_contacts.csv")
    assert zoho.source == "zoho" and zoho.created == 2
    assert run_fixture(store, clock, "zoho_deals.csv").created == 1


def test_activities_keep_their_dates_and_attach_to_contact_or_company(
    store: Store, clock: ManualClock, root: Actor
) -> None:
    run_fixture(store, clock, "pipedrive_persons.csv")
    report = run_fixture(store, clock, "pipedrive_activities.tsv")
    assert (report.created, report.record_type, report.skipped) == (3, "activities", 0)
    assert "tab" in report.file_shape
    with store.transaction() as session:
        rows = session.exec(select(Activity).order_by(Activity.occurred_at)).all()
        hana = session.exec(select(Contact).where(Contact.name == "Hana Vogel")).one()
    assert [a.kind for a in rows] == ["call", "meeting", "meeting"]
    assert rows[0].text == "Intro call\nTalked about fleet size"
    assert rows[0].occurred_at.isoformat() == "2024-02-03T10:00:00+00:00"
    assert rows[0].contact_id == hana.id and rows[0].rep_id == root.id
    assert rows[2].contact_id == hana.id  # company only: its first contact
    assert rows[2].custom_fields["source type"] == "Lunch"
    assert hana.last_activity_at is not None
    assert run_fixture(store, clock, "pipedrive_activities.tsv").updated == 3
    assert count(store, Activity) == 3


def test_purchases_import_with_their_own_dates_attach_to_contacts_and_do_not_duplicate(
    store: Store, clock: ManualClock, root: Actor
) -> None:
    from crm.purchases import Purchase

    run(store, clock, "Name,Email\nAda Lovelace,ada@example.com\nBob Ray,bob@example.com\n")
    orders = (
        "Order ID,Email,Order Date,Total,Currency,Quantity\n"
        "A-1,ada@example.com,2024-01-05,120.50,EUR,2\n"
        "A-2,bob@example.com,2024-02-01,9.99,USD,1\n"
        "A-3,nobody@example.com,2024-02-02,5,USD,1\n"
    )
    report = run(store, clock, orders)
    assert (report.created, report.skipped) == (2, 1)
    with store.transaction() as session:
        rows = session.exec(select(Purchase).order_by(Purchase.id)).all()
        ada = session.exec(select(Contact).where(Contact.name == "Ada Lovelace")).one()
        assert [(p.amount_minor, p.currency, p.quantity) for p in rows] == [
            (12050, "EUR", 2),
            (999, "USD", 1),
        ]
        assert rows[0].contact_id == ada.id and rows[0].source == "import"
        assert rows[0].purchased_at.date().isoformat() == "2024-01-05"
    again = run(store, clock, orders)
    assert (again.created, again.updated) == (0, 2)
    assert count(store, Purchase) == 2


def test_a_rep_who_is_not_admin_cannot_import(store: Store, clock: ManualClock, rep: Actor) -> None:
    with pytest.raises(Forbidden):
        run_import(
            store, io.BytesIO(b"Name\nA\n"), actor=rep, now=clock.now(), options=options()
        )  # fmt: skip


def test_a_failure_midway_keeps_earlier_batches_and_a_rerun_resumes(
    store: Store, clock: ManualClock, root: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = ["Email,Name"] + [f"p{i}@resume.example.com,Person {i}" for i in range(25)]
    data = "\n".join(lines) + "\n"
    import crm.imports.contacts as contacts_module

    real = contacts_module._insert_points
    calls = {"n": 0}

    def flaky(ctx, states):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return real(ctx, states)

    monkeypatch.setattr(contacts_module, "_insert_points", flaky)
    report = run(store, clock, data, batch_size=10)
    assert report.failure and "line 22" in report.failure
    assert report.committed_through == 21 and count(store, Contact) == 20
    assert "Run the same import again" in report.summary()
    monkeypatch.setattr(contacts_module, "_insert_points", real)
    resumed = run(store, clock, data, batch_size=10)
    assert (resumed.created, resumed.updated, resumed.failure) == (5, 20, None)
    assert count(store, Contact) == 25


TYPES_IN_ORDER = ["companies", "contacts", "deals", "activities", "purchases"]


def _export(store: Store, record_type: str) -> str:
    stream = io.StringIO()
    export_records(store, record_type, stream, actor=SYSTEM)
    return stream.getvalue()


def _comparable(text: str) -> list[dict[str, str]]:
    """Rows without the ids that differ between two databases."""
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        rows.append(
            {k: v for k, v in row.items() if not k.endswith("rapport_id") and k != "external_ids"}
        )
    return rows


def test_every_type_exports_and_imports_back_into_an_empty_rapport_with_nothing_lost(
    store: Store, clock: ManualClock, root: Actor, tmp_path: Path
) -> None:
    for name in ("hubspot_companies.csv", "hubspot_contacts.csv", "hubspot_deals.csv",
                 "pipedrive_persons.csv", "pipedrive_deals.csv", "pipedrive_activities.tsv",
                 "salesforce_accounts_api.csv", "salesforce_contacts_api.csv"):  # fmt: skip
        assert run_fixture(store, clock, name).failure is None
    orders = "Order ID,Email,Order Date,Total\nA-1,ada.quill@brassworks.example.org,2024-01-05,12\n"
    assert run(store, clock, orders).created == 1
    first = {t: _export(store, t) for t in TYPES_IN_ORDER}
    assert "A-1" in first["purchases"]  # the order number travels
    assert "'+14155550101" in first["contacts"]  # formula guard on a leading +
    assert "custom: Favourite Biscuit" in first["contacts"]

    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    SQLModel.metadata.create_all(engine)
    fresh = Store(engine)
    with fresh.transaction() as session:
        session.add(Rep(name="Root", email="root@rapport.test", role="admin",
                        created_at=clock.now()))  # fmt: skip
    for record_type in TYPES_IN_ORDER:
        report = run(fresh, clock, first[record_type])
        assert report.record_type == record_type and report.source == "rapport"
        assert report.problem_count == 0, report.summary()
        # a won deal's sale is made by the deals import: its purchase row is that sale
        made = report.created + (report.updated if record_type == "purchases" else 0)
        assert made == len(_comparable(first[record_type]))
    second = {t: _export(fresh, t) for t in TYPES_IN_ORDER}
    for record_type in TYPES_IN_ORDER:
        assert _comparable(second[record_type]) == _comparable(first[record_type]), record_type
    with fresh.transaction() as session:
        ids = session.exec(select(ExternalId).where(ExternalId.source == "hubspot")).all()
    assert {i.external_id for i in ids} >= {"5101", "9001", "7001"}  # other CRMs' ids kept
    engine.dispose()


def test_plain_google_and_outlook_contact_sheets_import_as_people(
    store: Store, clock: ManualClock, root: Actor
) -> None:
    """The files people actually have besides CRM exports: a hand-made `Name,Email,Phone,
    Notes` sheet (once guessed as activities, since "Notes" is an activity column),
    Google Contacts' CSV and Outlook's."""
    plain = run_fixture(store, clock, "plain_people.csv")
    assert (plain.record_type, plain.created, plain.skipped) == ("contacts", 3, 0)
    jane, points, _ = contact_named(store, "Jane Smith")
    assert points == ["jane@smith.example", "+442079460018"]
    assert jane.custom_fields["notes"] == "Met at the Leeds fair"
    pilar, _, _ = contact_named(store, "Núñez, Pilar")
    assert pilar.custom_fields["notes"] == "Wants a quote; call after 3pm"
    google = run_fixture(store, clock, "google_contacts.csv")
    assert (google.record_type, google.source, google.created) == ("contacts", "google", 1)
    ana, points, company = contact_named(store, "Ana Ruiz")
    assert points == ["ana@ruiz.es", "+34612345678"] and company == "Acme Iberia"
    assert ana.custom_fields["title"] == "CTO"
    outlook = run_fixture(store, clock, "outlook_contacts.csv")
    assert (outlook.record_type, outlook.source, outlook.created) == ("contacts", "outlook", 1)
    luc, points, company = contact_named(store, "Luc Martin")
    assert points == ["luc@martin.fr", "+33612345678"] and company == "Martin SA"
    assert count(store, Activity) == 0  # notes stay on the person, nothing was a "call"


def test_a_salutation_in_title_beside_a_job_title_is_kept_as_the_salutation(
    store: Store, clock: ManualClock
) -> None:
    """Outlook's "Title" is Mr./Dr.; it was taken as the job title ahead of "Job Title"."""
    data = "Title,First Name,Last Name,Job Title,E-mail Address\nDr.,Eva,Schmidt,CTO,eva@x.de\n"
    report = run(store, clock, data)
    assert "Title -> custom field 'salutation'" in report.summary()
    eva, _, _ = contact_named(store, "Eva Schmidt")
    assert eva.custom_fields == {"salutation": "Dr.", "title": "CTO"}


EUROPEAN_DATES = (
    "Record ID,First Name,Last Name,Email,Create Date\n"
    "1,Anna,Berg,anna@example.de,04/03/2025\n"
    "2,Bruno,Klein,bruno@example.de,05/03/2025 14:30\n"
    "3,Clara,Wolf,clara@example.de,2025-03-06\n"
)


def created_days(store: Store) -> dict[str, str]:
    with store.transaction() as session:
        return {c.name: c.created_at.date().isoformat() for c in session.exec(select(Contact))}


def test_numeric_dates_follow_the_date_order_and_the_report_says_so(
    store: Store, clock: ManualClock
) -> None:
    """04/03/2025 was read as 3 April in a European file without a word."""
    report = run(store, clock, EUROPEAN_DATES, dateorder="DMY")
    assert created_days(store) == {
        "Anna Berg": "2025-03-04",
        "Bruno Klein": "2025-03-05",
        "Clara Wolf": "2025-03-06",
    }
    said = report.summary()
    assert "2 date(s) such as '04/03/2025' could be day/month or month/day" in said
    assert "read as day/month (date order DMY)" in said
    assert "--dateorder MDY" in said
    # Run again month-first (the report's own advice): the same records are updated.
    again = run(store, clock, EUROPEAN_DATES, dateorder="MDY")
    assert (again.created, again.updated) == (0, 3)
    assert created_days(store)["Anna Berg"] == "2025-04-03"


def test_a_date_only_the_other_order_can_read_is_flagged(store: Store, clock: ManualClock) -> None:
    data = EUROPEAN_DATES + "4,Dora,Lang,dora@example.de,13/03/2025\n"
    said = run(store, clock, data, dateorder="MDY", dry_run=True).summary()
    assert "1 date(s) can only be day/month (line 5: '13/03/2025')" in said
    assert "the file probably writes day/month" in said
    assert count(store, Contact) == 0  # a dry run


WON_DEALS = (
    "Deal - ID,Deal - Title,Deal - Value,Deal - Currency,Deal - Status,Person - Email,"
    "Deal - Won time\n"
    "12,Pilot,9900,USD,{status},ana@example.br,2026-02-20 10:00\n"
    "13,Orphan,500,USD,won,,2026-02-21 10:00\n"
)


def test_an_imported_won_deal_is_a_sale_once_and_stops_being_one_when_reopened(
    store: Store, clock: ManualClock
) -> None:
    """Imported won deals had no purchase: no sale on the timeline or in /mydata."""
    run(store, clock, "Name,Email\nAna Lima,ana@example.br\n")
    report = run(store, clock, WON_DEALS.format(status="won"))
    assert "line 3 (note): won deal with no contact or company: no sale recorded" in (
        report.summary()
    )
    run(store, clock, WON_DEALS.format(status="won"))  # the same file again
    with store.transaction() as session:
        sales = session.exec(select(Purchase)).all()
        assert [(s.amount_minor, s.purchased_at.date().isoformat()) for s in sales] == [
            (990_000, "2026-02-20")
        ]
    run(store, clock, WON_DEALS.format(status="open"))  # the old CRM reopened it
    assert count(store, Purchase) == 0
