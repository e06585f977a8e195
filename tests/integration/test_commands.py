"""The rep command language end to end: text in, reply out, through the dispatcher,
the handlers and the real store (SQLite and PostgreSQL)."""

import pytest
from sqlmodel import select

from bot.app import RapportApp
from crm.models import Activity, AuditLog, Contact, Deal, FollowUp
from tests.factories import RepChat, rep_chat


@pytest.fixture
def alice(rapport: RapportApp) -> RepChat:
    return rep_chat(rapport, "Alice")


@pytest.fixture
def root(rapport: RapportApp) -> RepChat:
    return rep_chat(rapport, "Root", admin=True)


async def test_add_find_show_edit_tag(alice: RepChat, rapport: RapportApp) -> None:
    text = await alice.say("add Jane Doe jane@acme.com +1 415 555 0100 at Acme #vip")
    assert "Added #1 Jane Doe (Acme)" in text and "undo" in text
    assert "#1 Jane Doe" in await alice.say("find acme")
    shown = await alice.say("show jane")
    assert "Jane Doe" in shown
    reply = await rapport.dispatcher.handle(alice.actor, "show jane")
    card = dict(reply.cards[0].fields)
    assert card["Phones"] == "+1 415-555-0100" and card["Tags"] == "#vip"
    assert card["Owner"] == "Alice"
    assert "Replaced the primary phone" in await alice.say("edit jane phone +44 20 7946 0958")
    assert "#churn-risk" in await alice.say("tag jane #churn-risk")
    with rapport.store.transaction() as session:
        contact = session.exec(select(Contact)).one()
        assert contact.tags == ["vip", "churn-risk"]


async def test_duplicate_email_offers_update_instead_of_a_twin(alice: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    await alice.say("add Jane Doe jane@acme.com")
    text = await alice.say("add Janet D JANE@acme.com")
    assert "already has that email" in text and "edit #1 email" in text
    with rapport.store.transaction() as session:
        assert len(session.exec(select(Contact)).all()) == 1


async def test_ambiguous_reference_waits_for_a_pick(alice: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    await alice.say("add Jane Doe jane@acme.com")
    await alice.say("add Jane Roe roe@x.com")
    text = await alice.say("note jane: prefers email")
    assert "Which one?" in text and "Nothing was done" in text
    with rapport.store.transaction() as session:
        assert session.exec(select(Activity)).all() == []
    text = await alice.say("2")
    assert "Logged note with Jane Roe (#2)" in text


async def test_log_with_follow_up_and_reminders(alice: RepChat, rapport, clock) -> None:  # type: ignore[no-untyped-def]
    await alice.say("add Jane Doe jane@acme.com")
    text = await alice.say(
        "log call with Jane: wants pricing for 50 seats, follow up next tuesday 10am"
    )
    assert "Logged call" in text and "Tue 3 Mar 10:00 UTC" in text  # clock: Mon 2 Mar 2026
    text = await alice.say("remind me to send the contract to jane tomorrow at 9")
    assert "Tue 3 Mar 09:00 UTC" in text
    listing = await alice.say("followups")
    assert "send the contract" in listing and "pending" in listing
    assert "Snoozed 2" in await alice.say("snooze 2 2h")
    assert "Done" in await alice.say("done 1")
    assert "Cancelled 2" in await alice.say("cancel 2")
    with rapport.store.transaction() as session:
        states = {f.id: f.status for f in session.exec(select(FollowUp))}
    assert states == {1: "done", 2: "cancelled"}
    assert "is in the past" in await alice.say("remind me to call bob on 1 March 2026 at 9")
    assert "couldn't understand the date" in (await alice.say("snooze 1 blorpday")).lower()


async def test_deals_pipeline_won_lost_and_undo(alice: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    text = await alice.say('deal Acme "50 seats" $12,000 stage proposal close end of month')
    assert "$12,000.00 (proposal)" in text and "closing Tue 31 Mar 2026" in text
    assert "weighted $6,000.00 at 50%" in await alice.say("pipeline")
    refused = await alice.say("lost #1")  # a reason is required
    assert "Say why it was lost" in refused and "Usage: lost" in refused
    assert "to lost" in await alice.say("lost #1 went with a competitor")
    assert "Undone: marking deal #1 50 seats lost; it is back in proposal" in await alice.say(
        "undo"
    )
    assert "to won" in await alice.say("won #1 great demo")
    with rapport.store.transaction() as session:
        deal = session.exec(select(Deal)).one()
        assert (deal.status, deal.close_reason, deal.amount_minor) == ("won", "great demo", 1200000)
    assert "empty" in await alice.say("pipeline")


async def test_admin_only_actions_are_refused_for_reps(alice: RepChat, root: RepChat) -> None:
    await alice.say("add Jane Doe jane@acme.com")
    await alice.say("add J Doe +1 415 555 0100")
    assert "Only an admin can delete" in await alice.say("delete #1")
    assert "Only an admin can merge" in await alice.say("merge #2 into #1")
    assert "Merge J Doe (#2) into Jane Doe (#1)?" in await root.say("merge #2 into #1")
    assert "Merged J Doe (#2) into Jane Doe (#1)" in await root.say("yes")
    assert "Delete #1" in await root.say("delete #1")
    assert "Deleted #1" in await root.say("yes")


async def test_bad_input_gets_specific_help_and_nothing_is_written(alice: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    assert "I don't know 'blorp'" in await alice.say("blorp")
    assert "Usage: edit" in await alice.say("edit")
    assert "not a valid email" in await alice.say("add Bob bob@@x")
    assert "There is no contact #99" in await alice.say("show #99")
    assert "No contact matches" in await alice.say("note nobody-at-all: hi")
    assert "not a stage" in (await alice.say('deal Acme "x" $5 stage dreaming')).lower()
    typo = await alice.say('deal Acme "x" $5 stage negotation')
    assert "'negotation' is not a stage. Did you mean negotiation?" in typo
    with rapport.store.transaction() as session:
        assert session.exec(select(Contact)).all() == []
        audit = session.exec(select(AuditLog).where(AuditLog.action == "contact.create")).all()
        assert audit == []
    assert "Contacts" in await alice.say("help")
    assert "log" in (await alice.say("help log")).lower()


async def test_unexpected_errors_are_apologised_not_shown(
    alice: RepChat, rapport, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import bot.rep.handlers.contacts as handlers

    def explode(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database on fire")

    monkeypatch.setattr(handlers, "search_contacts", explode)
    text = await alice.say("find acme")
    assert "Sorry, something went wrong" in text and "database on fire" not in text


async def test_report_answers_in_text_and_saves_the_chart_in_the_shell(
    alice: RepChat, rapport: RapportApp
) -> None:
    await alice.say('deal Acme "50 seats" $12,000 stage proposal')
    text = await alice.say("report pipeline this month")
    assert "Open pipeline: 1 deal, $12,000.00" in text
    path = text.rsplit("Chart saved to ", 1)[1].strip()
    with open(path, "rb") as chart:
        assert chart.read(8) == b"\x89PNG\r\n\x1a\n"
    assert "Reports: needs, pipeline" in await alice.say("report weather")
    assert "not a real date" in await alice.say("report churn 2026-01-01 to 2026-02-31")


async def test_inbox_assign_retag_reply_and_close(alice: RepChat, rapport: RapportApp) -> None:
    from channels.base import Address, IncomingMessage, OutgoingMessage, SendResult
    from crm.models import Conversation, Message, NeedCorrection
    from tests.standins.outbox_channels import standard_traits

    class RecordingTelegram:
        name = "telegram"
        traits = standard_traits("telegram")
        sent: list[OutgoingMessage] = []

        async def start(self) -> None: ...

        async def stop(self) -> None: ...

        async def send(self, message: OutgoingMessage) -> SendResult:
            self.sent.append(message)
            return SendResult(delivered=True, external_id="tg-1")

    telegram = RecordingTelegram()
    rapport.services.hub.register(telegram)
    await rapport.desk.receive(
        IncomingMessage(
            Address("telegram", "555"),
            "555",
            "Carol King",
            "my card was charged twice",
            message_id="555:1",
        )
    )
    listing = await alice.say("inbox")
    assert "1. [untagged] Carol King via telegram" in listing and "unassigned" in listing
    assert "assigned to Alice" in await alice.say("assign 1")
    assert '"my card was charged twice" is now billing' in await alice.say("retag 1 billing")
    assert "not a need" in await alice.say("retag 1 gossip")
    text = await alice.say("reply 1 Sorry about that, refunding now")
    assert "✓ Delivered." in text
    assert telegram.sent[0].address == Address("telegram", "555")
    assert "Closed conversation 1" in await alice.say("close 1")
    assert "empty" in await alice.say("inbox")
    with rapport.store.transaction() as session:
        conversation = session.exec(select(Conversation)).one()
        assert conversation.need == "billing" and conversation.first_response_at is not None
        outbound = session.exec(select(Message).where(Message.direction == "outbound")).one()
        assert (outbound.delivery, outbound.external_id) == ("delivered", "tg-1")
        assert session.exec(select(NeedCorrection)).one().new_need == "billing"


async def test_sold_and_backdated_log_and_won_through_the_dispatcher(  # type: ignore[no-untyped-def]
    rapport: RapportApp, alice: RepChat
) -> None:
    """A sale, a call logged yesterday and a deal won on 2 Nov (last year's: the clock is
    in March), as a rep types them."""
    from crm.purchases import Purchase

    await alice.say("add Jane Doe jane@acme.com")
    reply = await alice.say("sold jane $120 on 2 Nov ref INV-7")
    assert "bought $120.00 (INV-7) on Sun 02 Nov 2025" in reply
    assert "in the future" in await alice.say("sold jane $5 on 2030-01-01")
    assert "on Sun 01 Mar 2026" in await alice.say("log call with Jane yesterday: wants pricing")
    await alice.say('deal jane "Seats" $500')
    await alice.say("won #1 on 2 Nov: great demo")
    with rapport.store.transaction() as session:
        call = session.exec(select(Activity)).one()
        assert call.occurred_at.date().isoformat() == "2026-03-01"
        deal = session.exec(select(Deal)).one()
        assert deal.closed_at is not None and deal.closed_at.date().isoformat() == "2025-11-02"
        assert deal.close_reason == "great demo"
        amounts = sorted(p.amount_minor for p in session.exec(select(Purchase)))
        assert amounts == [12_000, 50_000]
