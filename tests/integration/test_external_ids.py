"""One external-id table for `rapport import` and the REST API (SQLite and PostgreSQL).

A contact imported from a HubSpot file is found by the API's bulk upsert with
`system="hubspot"` and the file's Record ID, and a contact the API created with an
external id is updated (not duplicated) by an import carrying that id. The ids follow
the contact through a merge, the trash and a restore, and are gone after an erasure.
"""

import io

import pytest
from sqlmodel import select

from crm.actors import SYSTEM, Actor
from crm.clock import ManualClock
from crm.db import Store
from crm.errors import Conflict
from crm.externalids import ExternalId
from crm.imports import ImportOptions, ImportReport, run_import
from crm.merge import merge_contacts
from crm.models import Contact
from crm.privacy import erase_contact, export_contact
from crm.trash import delete_contact, find_entry, restore_contact
from crm.undo import undo_last
from tests.api_world import client, deps_for, make_world

HUBSPOT = (
    "Record ID,First Name,Last Name,Email,Phone Number,Company Name,Lifecycle Stage\n"
    "5101,Ada,Quill,ada@brassworks.example.org,+1 415 555 0101,Brassworks,customer\n"
    "5102,Bram,Otter,bram@otterly.example.net,,Otterly,lead\n"
)


def run(store: Store, clock: ManualClock, text: str, **kw: object) -> ImportReport:
    return run_import(
        store, io.BytesIO(text.encode()), actor=SYSTEM, now=clock.now(),
        options=ImportOptions(**kw),  # type: ignore[arg-type]
    )  # fmt: skip


def contact_ids(store: Store) -> list[int]:
    with store.transaction() as session:
        return sorted(c.id for c in session.exec(select(Contact)) if c.id is not None)


def refs(store: Store, contact_id: int) -> list[tuple[str, str]]:
    with store.transaction() as session:
        rows = session.exec(
            select(ExternalId)
            .where(ExternalId.entity_type == "contact", ExternalId.entity_id == contact_id)
            .order_by(ExternalId.id)  # type: ignore[arg-type]
        )
        return [(r.source, r.external_id) for r in rows]


async def test_an_imported_contact_is_upserted_by_the_api_with_the_same_external_id(
    store: Store, clock: ManualClock
) -> None:
    report = run(store, clock, HUBSPOT)
    assert (report.source, report.created) == ("hubspot", 2)
    [ada, bram] = contact_ids(store)
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        got = await api.get(f"/v1/contacts/{ada}")
        assert got.json()["external_ids"] == [{"system": "hubspot", "external_id": "5101"}]
        bulk = await api.post(
            "/v1/contacts/bulk",
            json={
                "system": "HubSpot",  # the same system however it is capitalised
                "records": [
                    {"external_id": "5101", "tags": ["paying"]},
                    {"external_id": "5102", "name": "Bram Otter-Smith"},
                    {"external_id": "5999", "name": "Cleo Marsh"},
                ],
            },
        )
        assert bulk.status_code == 200, bulk.text
        results = bulk.json()["results"]
        assert [(r["status"], r.get("id")) for r in results[:2]] == [
            ("updated", ada),
            ("updated", bram),
        ]
        assert results[2]["status"] == "created"
        cleo = results[2]["id"]
        assert (await api.get(f"/v1/contacts/{ada}")).json()["tags"] == ["paying"]
    assert contact_ids(store) == [ada, bram, cleo]
    # ... and the other way: a file naming the API's id updates the API's contact.
    again = run(
        store, clock, "Record ID,First Name,Last Name,Email\n5999,Cleo,Marsh,cleo@marsh.example\n"
    )
    assert (again.created, again.updated) == (0, 1)
    assert contact_ids(store) == [ada, bram, cleo]
    assert refs(store, cleo) == [("hubspot", "5999")]


async def test_a_contact_created_by_the_api_is_updated_by_an_import_not_duplicated(
    store: Store, clock: ManualClock
) -> None:
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        made = await api.post(
            "/v1/contacts",
            json={
                "name": "Dana Reed",
                "external_ids": [
                    {"system": "salesforce", "external_id": "003A1"},
                    {"system": "billing", "external_id": "cus_9"},
                ],
            },
        )
        assert made.status_code == 201, made.text
        dana = made.json()["id"]
    salesforce = "Id,FirstName,LastName,Email,MailingCity\n003A1,Dana,Reed,dana@reed.example,Oslo\n"
    report = run(store, clock, salesforce, source="salesforce")
    assert (report.created, report.updated) == (0, 1), report.problems
    assert contact_ids(store) == [dana]
    async with client(deps_for(store, clock), world) as api:
        body = (await api.get(f"/v1/contacts/{dana}")).json()
    assert body["emails"] == ["dana@reed.example"]
    assert body["external_ids"] == [
        {"system": "salesforce", "external_id": "003A1"},
        {"system": "billing", "external_id": "cus_9"},
    ]
    # a taken id is refused by the API whichever side stored it
    async with client(deps_for(store, clock), world) as api:
        clash = await api.post(
            "/v1/contacts",
            json={
                "name": "Other",
                "external_ids": [{"system": "salesforce", "external_id": "003A1"}],
            },
        )
    assert clash.status_code == 409 and f"#{dana}" in clash.text


async def test_external_ids_survive_trash_and_restore_and_follow_a_merge(
    store: Store, clock: ManualClock, admin: Actor
) -> None:
    run(store, clock, HUBSPOT)
    [ada, bram] = contact_ids(store)
    world = make_world(store, clock)
    async with client(deps_for(store, clock), world) as api:
        patched = await api.post(
            "/v1/contacts/bulk",
            json={"system": "billing", "records": [{"external_id": "cus_1", "name": "Ada Q"}]},
        )
        billing = patched.json()["results"][0]["id"]
    with store.transaction() as session:
        merge_contacts(session, actor=admin, source_id=billing, target_id=ada, now=clock.now())
    assert refs(store, ada) == [("hubspot", "5101"), ("billing", "cus_1")]
    with store.transaction() as session:
        delete_contact(session, actor=admin, contact_id=ada, now=clock.now())
    assert refs(store, ada) == []  # in the trash with the contact: an upsert cannot find it
    with store.transaction() as session:
        restore_contact(session, entry=find_entry(session, ada, now=clock.now()))
    assert refs(store, ada) == [("hubspot", "5101"), ("billing", "cus_1")]
    rerun = run(store, clock, HUBSPOT)
    assert (rerun.created, rerun.updated) == (0, 2)
    async with client(deps_for(store, clock), world) as api:
        bulk = await api.post(
            "/v1/contacts/bulk",
            json={"system": "billing", "records": [{"external_id": "cus_1", "tags": ["back"]}]},
        )
    assert bulk.json()["results"][0] == {
        "index": 0, "external_id": "cus_1", "status": "updated", "id": ada
    }  # fmt: skip
    assert contact_ids(store) == [ada, bram]


async def test_a_restore_is_refused_when_its_external_id_was_taken_meanwhile(
    store: Store, clock: ManualClock, admin: Actor
) -> None:
    run(store, clock, HUBSPOT)
    [ada, _bram] = contact_ids(store)
    with store.transaction() as session:
        delete_contact(session, actor=admin, contact_id=ada, now=clock.now())
    again = run(store, clock, HUBSPOT)  # Ada is in the trash: the file creates her afresh
    assert (again.created, again.updated) == (1, 1)
    with store.transaction() as session:
        entry = find_entry(session, ada, now=clock.now())
        with pytest.raises(Conflict, match="hubspot external id 5101 now belongs to contact #3"):
            restore_contact(session, entry=entry)


async def test_an_erasure_erases_the_contacts_external_ids(
    store: Store, clock: ManualClock, admin: Actor
) -> None:
    run(store, clock, HUBSPOT)
    [ada, bram] = contact_ids(store)
    with store.transaction() as session:  # /mydata shows them before
        mydata = export_contact(session, contact_id=ada, now=clock.now())
    assert mydata["contact"]["external_ids"] == ["hubspot:5101"]
    with store.transaction() as session:
        erasure = erase_contact(session, actor=admin, contact_id=ada, now=clock.now())
    assert erasure.counts["external_ids"] == 1
    assert refs(store, ada) == [] and refs(store, bram) == [("hubspot", "5102")]
    with store.transaction() as session:
        left = session.exec(select(ExternalId.external_id)).all()
    assert left == ["5102"]


async def test_undoing_a_merge_gives_the_external_ids_back(
    store: Store, clock: ManualClock, admin: Actor
) -> None:
    run(store, clock, HUBSPOT)
    [ada, bram] = contact_ids(store)
    with store.transaction() as session:
        merge_contacts(session, actor=admin, source_id=bram, target_id=ada, now=clock.now())
    assert refs(store, ada) == [("hubspot", "5101"), ("hubspot", "5102")]
    with store.transaction() as session:
        said = undo_last(session, actor=admin, now=clock.now())
    assert f"#{bram} is back" in said
    assert refs(store, ada) == [("hubspot", "5101")] and refs(store, bram) == [("hubspot", "5102")]
