"""The CRM services on real databases: every test runs on SQLite and on PostgreSQL."""

from datetime import timedelta

import pytest
from sqlmodel import select

from crm import activities, contacts, conversations, deals, followups, identities, merge, trash
from crm.errors import Ambiguous, Conflict, Forbidden, Invalid, NotFound
from crm.models import AuditLog, ChannelIdentity, Contact, ContactPoint, FollowUp
from crm.search import resolve_contact, search_contacts
from crm.self_service import record_edit
from crm.undo import undo_last
from tests.factories import inbound, make_contact
from tests.standins.outbox_world import expire_leases

PIPELINE = deals.Pipeline([("lead", 10), ("proposal", 50), ("negotiation", 75)])


def test_create_normalises_points_and_audits(store, rep, clock):  # type: ignore[no-untyped-def]
    jane = make_contact(
        store, rep, clock, "  Jane   Doe ", ["Jane@ACME.com"], ["(415) 555-0100"], "Acme", ["VIP"]
    )
    with store.transaction() as session:
        points = contacts.points_of(session, jane.id)
        assert points.emails == ["jane@acme.com"]
        assert points.phones == ["+14155550100"]
        contact = session.get(Contact, jane.id)
        assert contact.name == "Jane Doe" and contact.tags == ["vip"]
        assert contact.owner_id == rep.id
        assert contact.created_at.tzinfo is not None  # read back aware on both databases
        rows = session.exec(select(AuditLog).where(AuditLog.entity_id == jane.id)).all()
        assert [r.action for r in rows if r.entity_type == "contact"] == ["contact.create"]
        assert rows[-1].actor == f"rep:{rep.id}"


def test_same_email_or_phone_is_the_same_person(store, rep, clock):  # type: ignore[no-untyped-def]
    jane = make_contact(store, rep, clock, "Jane Doe", ["jane@acme.com"], ["+1 415 555 0100"])
    for emails, phones in ((["JANE@acme.com"], []), ([], ["415-555-0100"])):
        with pytest.raises(Conflict) as caught, store.transaction() as session:
            contacts.create_contact(
                session,
                actor=rep,
                data=contacts.ContactInput("J. Doe", emails, phones),
                now=clock.now(),
            )
        assert f"#{jane.id}" in str(caught.value)
    with store.transaction() as session:
        assert len(session.exec(select(Contact)).all()) == 1


def test_bad_email_and_phone_are_invalid_and_nothing_is_written(store, rep, clock):  # type: ignore[no-untyped-def]
    for emails, phones, field in ((["not-an-email"], [], "email"), ([], ["12"], "phone")):
        with pytest.raises(Invalid) as caught, store.transaction() as session:
            contacts.create_contact(
                session,
                actor=rep,
                data=contacts.ContactInput("X", emails, phones),
                now=clock.now(),
            )
        assert caught.value.field == field
    with store.transaction() as session:
        assert session.exec(select(Contact)).all() == []


def test_search_is_fuzzy_over_name_company_email_phone_and_tags(store, rep, clock):  # type: ignore[no-untyped-def]
    make_contact(store, rep, clock, "Jane Doe", ["jane@acme.com"], [], "Acme", ["vip"])
    make_contact(
        store, rep, clock, "John Smith", ["john@globex.com"], ["+44 20 7946 0958"], "Globex"
    )
    with store.transaction() as session:
        assert [m.contact.name for m in search_contacts(session, "acme")] == ["Jane Doe"]
        assert search_contacts(session, "globex")[0].contact.name == "John Smith"
        assert search_contacts(session, "#vip")[0].contact.name == "Jane Doe"
        assert search_contacts(session, "+44 20 7946 0958")[0].contact.name == "John Smith"
        assert search_contacts(session, "jnae doe")[0].contact.name == "Jane Doe"  # typo
        assert search_contacts(session, "zzzzqqq") == []


def test_ambiguous_reference_lists_candidates(store, rep, clock):  # type: ignore[no-untyped-def]
    a = make_contact(store, rep, clock, "Jane Doe", ["jd@a.com"])
    b = make_contact(store, rep, clock, "Jane Roe", ["jr@b.com"])
    with store.transaction() as session:
        with pytest.raises(Ambiguous) as caught:
            resolve_contact(session, "jane")
        assert {c.id for c in caught.value.candidates} == {a.id, b.id}
        assert resolve_contact(session, f"#{b.id}").id == b.id
        assert resolve_contact(session, "jane roe").id == b.id
        with pytest.raises(NotFound):
            resolve_contact(session, "#999")


def test_edit_tag_and_undo(store, rep, clock):  # type: ignore[no-untyped-def]
    jane = make_contact(store, rep, clock, "Jane Doe", ["jane@acme.com"])
    with store.transaction() as session:
        contacts.edit_contact(
            session,
            actor=rep,
            contact_id=jane.id,
            field_name="phone",
            value="+44 20 7946 0958",
            now=clock.now(),
        )
        contacts.edit_contact(
            session,
            actor=rep,
            contact_id=jane.id,
            field_name="company",
            value="Globex",
            now=clock.now(),
        )
    with store.transaction() as session:
        assert contacts.points_of(session, jane.id).phones == ["+442079460958"]
        assert "globex" in session.get(Contact, jane.id).search_text
        assert undo_last(session, actor=rep, now=clock.now()).startswith(
            "the edit of Jane Doe (#1)'s company"
        )
    with store.transaction() as session:
        assert session.get(Contact, jane.id).company_id is None
        # creating Globex on the fly was a change too: undo never skips over it
        assert undo_last(session, actor=rep, now=clock.now()) == (
            "creating company Globex; it is removed"
        )
        assert undo_last(session, actor=rep, now=clock.now()).startswith(
            "the edit of Jane Doe (#1)'s phones"
        )
    with store.transaction() as session:
        assert contacts.points_of(session, jane.id).phones == []
        tagged = contacts.tag_contact(
            session,
            actor=rep,
            contact_id=jane.id,
            tags=["churn-risk"],
            remove=False,
            now=clock.now(),
        )
        assert tagged.tags == ["churn-risk"]


def test_delete_and_merge_are_admin_only(store, rep, admin, clock):  # type: ignore[no-untyped-def]
    a = make_contact(store, rep, clock, "Jane Doe", ["jane@acme.com"])
    b = make_contact(store, rep, clock, "J Doe", [], ["+1 415 555 0100"])
    with pytest.raises(Forbidden), store.transaction() as session:
        trash.delete_contact(session, actor=rep, contact_id=a.id, now=clock.now())
    with pytest.raises(Forbidden), store.transaction() as session:
        merge.merge_contacts(session, actor=rep, source_id=b.id, target_id=a.id, now=clock.now())
    with store.transaction() as session:
        activities.log_activity(
            session, actor=rep, contact_id=b.id, kind="call", text="hello", now=clock.now()
        )
        moved = merge.merge_contacts(
            session, actor=admin, source_id=b.id, target_id=a.id, now=clock.now()
        )
    assert moved["activity"] == 1 and moved["contactpoint"] == 1
    with store.transaction() as session:
        assert session.get(Contact, b.id) is None
        assert contacts.points_of(session, a.id).phones == ["+14155550100"]
        assert len(activities.timeline(session, contact_id=a.id)) == 1
        trash.delete_contact(session, actor=admin, contact_id=a.id, now=clock.now())
    with store.transaction() as session:
        assert session.exec(select(ContactPoint)).all() == []
        actions = [r.action for r in session.exec(select(AuditLog))]
        assert "contact.merge" in actions and "contact.delete" in actions


def test_deal_lifecycle_and_pipeline_summary(store, rep, clock):  # type: ignore[no-untyped-def]
    jane = make_contact(store, rep, clock, "Jane Doe", ["jane@acme.com"], [], "Acme")
    with store.transaction() as session:
        d1 = deals.create_deal(
            session,
            actor=rep,
            pipeline=PIPELINE,
            title="50 seats",
            contact=jane,
            amount_minor=1_200_000,
            now=clock.now(),
        )
        deals.create_deal(
            session,
            actor=rep,
            pipeline=PIPELINE,
            title="Support plan",
            contact=jane,
            amount_minor=50_000,
            currency="EUR",
            stage="proposal",
            now=clock.now(),
        )
        summary = deals.pipeline_summary(session, pipeline=PIPELINE)
        assert [(s.stage, s.count, s.amounts) for s in summary] == [
            ("lead", 1, {"USD": 1_200_000}),
            ("proposal", 1, {"EUR": 50_000}),
        ]
        assert deals.resolve_deal(session, "50 seats").id == d1.id
        with pytest.raises(Invalid):
            deals.set_stage(
                session, actor=rep, pipeline=PIPELINE, deal_id=d1.id, stage="lost", now=clock.now()
            )
        with pytest.raises(Invalid):
            deals.set_stage(
                session,
                actor=rep,
                pipeline=PIPELINE,
                deal_id=d1.id,
                stage="banana",
                now=clock.now(),
            )
        won = deals.set_stage(
            session,
            actor=rep,
            pipeline=PIPELINE,
            deal_id=d1.id,
            stage="won",
            now=clock.now(),
            reason="great demo",
        )
        assert (won.status, won.close_reason) == ("won", "great demo")
    with store.transaction() as session:
        assert [s.stage for s in deals.pipeline_summary(session, pipeline=PIPELINE)] == ["proposal"]


def test_followup_claim_is_atomic_and_respects_leases(store, rep, clock):  # type: ignore[no-untyped-def]
    with store.transaction() as session:
        for n in range(3):
            followups.schedule(
                session,
                actor=rep,
                kind="reminder",
                due_at=clock.now(),
                text=f"r{n}",
                rep_id=rep.id,
                now=clock.now(),
                dedupe_key=f"k{n}",
            )
        with pytest.raises(Conflict):
            followups.schedule(
                session,
                actor=rep,
                kind="reminder",
                due_at=clock.now(),
                text="again",
                rep_id=rep.id,
                now=clock.now(),
                dedupe_key="k0",
            )
    lease = timedelta(minutes=1)
    with store.transaction() as session:
        first = followups.claim_due(session, worker="w1", now=clock.now(), lease=lease, limit=2)
    with store.transaction() as session:
        second = followups.claim_due(session, worker="w2", now=clock.now(), lease=lease)
    assert len(first) == 2 and len(second) == 1
    assert {f.id for f in first}.isdisjoint({f.id for f in second})
    with store.transaction() as session:
        followups.finish(
            session,
            followup_id=first[0].id,
            worker="w1",
            token=first[0].claim_token,
            now=clock.now(),
            sent=True,
        )
        assert (
            followups.finish(
                session,
                followup_id=first[1].id,
                worker="w2",
                token=second[0].claim_token,
                now=clock.now(),
                sent=True,
            )
            is None
        )  # not w2's claim
        followups.finish(
            session,
            followup_id=second[0].id,
            worker="w2",
            token=second[0].claim_token,
            now=clock.now(),
            sent=False,
            error="boom",
        )
    clock.advance(minutes=5)  # the app's clock moving does not end a lease: the database's does
    with store.transaction() as session:
        assert followups.claim_due(session, worker="w3", now=clock.now(), lease=lease) == []
    expire_leases(store)  # w1's lease on the other row ran out: it is claimable again
    with store.transaction() as session:
        again = followups.claim_due(session, worker="w3", now=clock.now(), lease=lease)
        assert [f.id for f in again] == [first[1].id] and again[0].attempts == 2
        assert again[0].claim_token not in (first[1].claim_token, None)
    with store.transaction() as session:  # w1, late, can no longer record it
        late = followups.finish(
            session,
            followup_id=first[1].id,
            worker="w1",
            token=first[1].claim_token,
            now=clock.now(),
            sent=True,
        )
        assert late is None
        assert session.get(FollowUp, first[1].id).claimed_by == "w3"


def test_customer_resolution_dedupes_messages_and_stops_followups(store, rep, clock):  # type: ignore[no-untyped-def]
    with store.transaction() as session:
        found = identities.resolve_customer(
            session,
            channel="telegram",
            external_id="777",
            display_name="Tele Jane",
            now=clock.now(),
        )
        assert found.created
        followups.schedule(
            session,
            actor=rep,
            kind="customer",
            due_at=clock.now() + timedelta(days=3),
            text="How is the trial?",
            contact_id=found.contact.id,
            now=clock.now(),
        )
    with store.transaction() as session:
        again = identities.resolve_customer(
            session, channel="telegram", external_id="777", display_name="x", now=clock.now()
        )
        assert again.contact.id == found.contact.id and not again.created
        first = conversations.record_inbound(
            session,
            contact=again.contact,
            channel="telegram",
            chat_id="777",
            text="hi",
            sent_at=clock.now(),
            now=clock.now(),
            external_id="u1",
        )
        dup = conversations.record_inbound(
            session,
            contact=again.contact,
            channel="telegram",
            chat_id="777",
            text="hi",
            sent_at=clock.now(),
            now=clock.now(),
            external_id="u1",
        )
        assert first.new_conversation and dup.duplicate and dup.message.id == first.message.id
        cancelled = followups.cancel_on_reply(session, contact_id=again.contact.id, now=clock.now())
        assert len(cancelled) == 1
    with store.transaction() as session:
        assert session.exec(select(FollowUp)).one().status == "cancelled"
        assert len(session.exec(select(ChannelIdentity)).all()) == 2  # rep's shell + telegram


@pytest.mark.parametrize("old_sqlite", [False, True], ids=["on-conflict", "savepoint"])
def test_a_redelivery_after_the_conversation_closed_opens_nothing(  # type: ignore[no-untyped-def]
    store, clock, old_sqlite, monkeypatch
):
    """The insert's conflict is the duplicate check; a conversation opened for a
    re-delivered message is taken back (and SQLite < 3.35 takes the savepoint path)."""
    if old_sqlite:
        monkeypatch.setattr(store.engine.dialect, "insert_returning", False)
    with store.transaction() as session:
        jane = identities.resolve_customer(
            session, channel="telegram", external_id="778", display_name="Jane", now=clock.now()
        ).contact
        first = inbound(session, jane, clock.now(), "m-1")
        first.conversation.status = "closed"
        session.add(first.conversation)
    with store.transaction() as session:
        again = inbound(session, jane, clock.now(), "m-1")
        assert again.duplicate and again.message.id == first.message.id
        assert again.conversation.id == first.conversation.id
    with store.transaction() as session:
        assert [c.status for c in session.exec(select(conversations.Conversation))] == ["closed"]
        assert len(session.exec(select(conversations.Message)).all()) == 1
        fresh = inbound(session, jane, clock.now(), "m-2")  # a new message opens a new one
        assert fresh.new_conversation and not fresh.duplicate
        assert fresh.message.delivery == "received" and fresh.message.edits == []


def test_the_last_resort_typo_pass_keeps_to_the_first_letter_on_a_large_store(  # type: ignore[no-untyped-def]
    store, rep, clock, monkeypatch
):
    """ "jhon" shares no three letters with "John Smith": only the last-resort pass over
    names finds it. Above FULL_PASS_CONTACTS that pass reads only names starting with the
    query's first letter, so "ojhn" (first letter wrong) is found on a small store only."""
    import crm.search

    make_contact(store, rep, clock, "John Smith", ["john@globex.com"])
    make_contact(store, rep, clock, "Hannah Jones", ["hannah@initech.com"])
    with store.transaction() as session:
        assert search_contacts(session, "jhon")[0].contact.name == "John Smith"
        assert search_contacts(session, "ojhn")[0].contact.name == "John Smith"
    monkeypatch.setattr(crm.search, "FULL_PASS_CONTACTS", 1)  # this store now counts as large
    with store.transaction() as session:
        assert search_contacts(session, "jhon")[0].contact.name == "John Smith"
        assert search_contacts(session, "ojhn") == []
        assert search_contacts(session, "zzzzqqq") == []


def test_an_overlong_customer_message_is_kept_to_the_cap_and_says_it_was_cut(store, clock):  # type: ignore[no-untyped-def]
    with store.transaction() as session:
        contact = identities.resolve_customer(
            session, channel="telegram", external_id="779", display_name="Long", now=clock.now()
        ).contact
        text = "".join(f"line {n} of a very long complaint\n" for n in range(1_000))  # ~32k
        stored = conversations.record_inbound(
            session, contact=contact, channel="telegram", chat_id="779", text=text,
            sent_at=clock.now(), now=clock.now(), external_id="779:1",
        ).message  # fmt: skip
        assert len(stored.text) == conversations.MAX_MESSAGE
        assert stored.text.endswith(conversations.CUT_MARK)
        assert text.startswith(stored.text.removesuffix(conversations.CUT_MARK))
        edited = record_edit(session, channel="telegram", external_id="779:1",
                             text=text + "PS", at=clock.now())  # fmt: skip
        assert edited is not None and edited.text.endswith(conversations.CUT_MARK)
        short = conversations.record_inbound(
            session, contact=contact, channel="telegram", chat_id="779", text="x" * 20_000,
            sent_at=clock.now(), now=clock.now(), external_id="779:2",
        ).message  # fmt: skip
        assert short.text == "x" * 20_000  # at the cap exactly: nothing is cut
