"""Issue 15: rep commands you can trust. RepChats through the real dispatcher and
store (SQLite and PostgreSQL): picks, confirmations, the trash, undo as a strict stack,
most-exact-first references, companies and corrections."""

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.app import RapportApp
from bot.outbound.periodic import purge_deleted_contacts
from channels.base import Address, IncomingMessage
from crm.models import Activity, Contact, Deal, FollowUp, Message, NeedCorrection
from crm.trash import TrashedContact
from tests.factories import RepChat, customer_message, rep_chat


@pytest.fixture
def root(rapport: RapportApp) -> RepChat:
    return rep_chat(rapport, "Root", admin=True, chat="main")


@pytest.fixture
def alice(rapport: RapportApp) -> RepChat:
    return rep_chat(rapport, "Alice", external_id="al", chat="main")


async def _two_john_smiths(t: RepChat) -> None:
    await t.say("add John Smith js1@acme.com at Acme")
    await t.say("add John Smith js2@acme.com at Acme")


def _contacts(rapport: RapportApp) -> set[int]:
    with rapport.store.transaction() as session:
        return {c.id for c in session.exec(select(Contact))}


# --- picks ---------------------------------------------------------------------------


async def test_a_pick_answers_only_the_next_message(root: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    """The day that lost a contact: delete (two matches) -> pipeline -> find -> 1."""
    await _two_john_smiths(root)
    await root.run(
        [
            ("delete John Smith", "Which one?"),
            ("pipeline", "pipeline is empty"),
            ("find jane", "No contact or company matches"),
            ("1", "doesn't answer anything"),
        ]
    )
    assert _contacts(rapport) == {1, 2}


async def test_no_to_a_pick_cancels_it_and_a_stray_no_is_told_so(root: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    """`no` to "Which one?" used to answer "I don't know 'no'" as if it were a command."""
    await _two_john_smiths(root)
    await root.run(
        [
            ("note John Smith: called", "Which one?"),
            ("no", "Cancelled: nothing was done."),
            ("1", "doesn't answer anything"),
            ("nope", "doesn't answer anything"),
            ("cancel", "cancel needs a follow-up number"),
        ]
    )
    with rapport.store.transaction() as session:
        assert session.exec(select(Activity)).all() == []


async def test_a_pick_expires(root: RepChat, rapport, clock) -> None:  # type: ignore[no-untyped-def]
    await _two_john_smiths(root)
    assert "Which one?" in await root.say("note John Smith: called")
    clock.advance(timedelta(minutes=6))
    assert "expired" in await root.say("1")
    with rapport.store.transaction() as session:
        assert session.exec(select(Activity)).all() == []


async def test_a_pick_never_survives_a_restart(make_rapport) -> None:  # type: ignore[no-untyped-def]
    first = make_rapport()
    t = rep_chat(first, "R", external_id="r", admin=True, chat="main")
    await _two_john_smiths(t)
    assert "Which one?" in await t.say("note John Smith: called")
    first.close()
    second = make_rapport()
    again = RepChat(second, t.actor, "main")
    assert "doesn't answer anything" in await again.say("1")
    with second.store.transaction() as session:
        assert session.exec(select(Activity)).all() == []


async def test_a_pick_takes_an_id_and_belongs_to_its_chat(root: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    await _two_john_smiths(root)
    other_chat = root.in_chat("elsewhere")
    assert "Which one?" in await root.say("note John Smith: prefers email")
    assert "doesn't answer anything" in await other_chat.say("2")
    assert "Logged note with John Smith (#2)" in await root.say("#2")


async def test_an_out_of_range_number_keeps_the_question(root: RepChat) -> None:
    await _two_john_smiths(root)
    await root.run(
        [
            ("note John Smith: hi", "Which one?"),
            ("7", "Pick a number from 1 to 2"),
            ("1", "Logged note with John Smith (#1)"),
        ]
    )


async def test_a_pick_says_how_many_more_there_are(root: RepChat) -> None:
    for n in range(8):
        await root.say(f"add Pat Lee p{n}@x.com")
    text = await root.say("note Pat Lee: hello")
    assert "Which one?" in text and "and 3 more not shown" in text
    assert text.count("Pat Lee") >= 5


# --- confirmations, trash, restore, purge -----------------------------------------------


async def _jane_with_history(t: RepChat, rapport: RapportApp) -> None:
    await t.say("add Jane Doe jane@acme.com +1 415 555 0100 at Acme")
    await t.say("log call with Jane: wants pricing, follow up tomorrow 10am")
    await t.say('deal Jane "50 seats" $12,000')
    await t.say('followup jane in 3 days: "How is the trial going?"')
    await rapport.desk.receive(customer_message("hello", 1, chat="77", name="Jane"))


async def test_delete_shows_what_goes_and_waits_for_yes(root: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    await root.say("add Jane Doe jane@acme.com")
    await root.say("log call with Jane: hi")
    preview = await root.say("delete jane")
    assert "Delete #1 Jane Doe" in preview and "1 timeline entries" in preview
    assert "yes" in preview and _contacts(rapport) == {1}
    assert "Cancelled" in await root.say("no")
    assert _contacts(rapport) == {1}
    await root.say("delete jane")
    assert "pipeline is empty" in await root.say("pipeline")  # another command drops it
    assert "doesn't answer" in await root.say("yes") and _contacts(rapport) == {1}
    await root.say("delete jane")
    assert "Deleted #1 Jane Doe" in await root.say("yes")
    assert _contacts(rapport) == set()


async def test_undo_brings_a_deleted_contact_back_whole(root: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    await _jane_with_history(root, rapport)
    with rapport.store.transaction() as session:
        identity_contact = session.exec(select(Message)).one().contact_id
    await root.say(f"delete #{identity_contact}")
    await root.say("yes")
    await root.say("delete #1")
    await root.say("yes")
    assert _contacts(rapport) == set()
    undone = await root.say("undo")
    assert "Undone: deleting Jane Doe (#1); restored with 1 timeline entries" in undone
    assert "1 deals" in undone and "2 follow-ups" in undone
    with rapport.store.transaction() as session:
        deal = session.exec(select(Deal)).one()
        assert deal.contact_id == 1
        assert {f.contact_id for f in session.exec(select(FollowUp))} == {1}
        assert session.exec(select(TrashedContact)).one().contact_id == identity_contact
    card = await root.say("show #1")
    assert "jane@acme.com" in card
    restored = await root.say(f"restore #{identity_contact}")
    assert "Restored" in restored and "1 message" in restored
    with rapport.store.transaction() as session:
        assert session.exec(select(Message)).one().contact_id == identity_contact


async def test_restore_is_for_admins_and_the_trash_is_purged_after_30_days(
    root: RepChat, alice: RepChat, rapport, clock
) -> None:  # type: ignore[no-untyped-def]
    await root.say("add Jane Doe jane@acme.com")
    await root.say("delete #1")
    await root.say("yes")
    assert "#1 Jane Doe" in await root.say("trash")
    assert "Only an admin" in await alice.say("restore #1")
    clock.advance(timedelta(days=31))
    assert await purge_deleted_contacts(rapport.services) == 1
    assert "not in the trash" in await root.say("restore #1")
    with rapport.store.transaction() as session:
        assert session.exec(select(TrashedContact)).all() == []


async def test_a_customers_erasure_stays_immediate(root: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    from crm.privacy import erase_contact

    await root.say("add Jane Doe jane@acme.com")
    with rapport.store.transaction() as session:
        erase_contact(session, actor=root.actor, contact_id=1, now=rapport.services.clock.now())
    with rapport.store.transaction() as session:
        assert session.exec(select(TrashedContact)).all() == []
        assert session.get(Contact, 1) is None


# --- undo ---------------------------------------------------------------------------


async def test_merge_is_confirmed_and_undone_without_skipping(root: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    await root.say("add Jane Doe jane@acme.com")
    await root.say('deal Jane "old deal" $1,000')
    await root.say("add J Doe jd@other.com")
    await root.say("log call with #2: from the other record")
    preview = await root.say("merge #2 into #1")
    assert "This moves 1 timeline entries" in preview and "removes #2" in preview
    assert "Merged J Doe (#2) into Jane Doe (#1)" in await root.say("yes")
    undone = await root.say("undo")
    assert "Undone: merging J Doe (#2) into Jane Doe (#1); #2 is back" in undone
    with rapport.store.transaction() as session:
        assert session.exec(select(Activity)).one().contact_id == 2
        assert session.exec(select(Deal)).one().title == "old deal"  # not silently deleted
    await root.run(
        [
            ("show #1", "jane@acme.com"),
            ("undo", "Undone: the call with J Doe: from the other record"),
            ("undo", "Undone: adding J Doe (#2)"),
            ("undo", "Undone: the new deal #1 old deal"),
        ]
    )


async def test_undo_stops_at_a_change_it_cannot_undo(alice: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    await alice.say("add Jane Doe jane@acme.com")
    await rapport.desk.receive(
        IncomingMessage(Address("shell", "jane"), "jane", "Jane", "hello", message_id="j1")
    )
    with rapport.store.transaction() as session:
        conversation_id = session.exec(select(Message)).one().conversation_id
    await alice.say(f"reply {conversation_id} hi there")
    for _ in range(2):
        text = await alice.say("undo")
        assert "can't undo your last change" in text and "nothing was undone" in text
    assert "jane@acme.com" in await alice.say("show #1")


async def test_undo_replies_say_exactly_what(alice: RepChat) -> None:
    await alice.say("add Jane Doe jane@acme.com")
    await alice.run(
        [
            ('followup jane in 3 days: "checking in"', "follow-up 1"),
            ("undo", "Undone: follow-up 1 to Jane Doe, checking in"),
            ("remind me to call bob tomorrow 9", "reminder 2"),
            ("snooze 2 3h", "Snoozed 2"),
            ("undo", "Undone: snoozing reminder 2, call bob"),
            ("tag jane #vip", "Tagged"),
            ("undo", "Undone: the tag change on Jane Doe (#1); tags are no tags again"),
        ]
    )


async def test_undo_refuses_to_undo_someone_elses_later_change(
    alice: RepChat, root: RepChat
) -> None:
    await alice.say("add Jane Doe jane@acme.com")
    await alice.say("edit jane name Jane Dough")
    await root.say("edit #1 name Jane Doe-Smith")
    text = await alice.say("undo")
    assert "Root changed that contact after you" in text
    assert "Jane Doe-Smith" in await alice.say("show #1")


# --- references ----------------------------------------------------------------------


async def test_the_most_exact_reference_wins(alice: RepChat) -> None:
    await alice.say("add John Smith js1@acme.com at Acme")
    await alice.say("add John Smithers js2@acme.com at Acme")
    await alice.say("add José Núñez jose@x.com")
    await alice.say('deal Acme "Acme add-on" $5,000')
    await alice.say('deal Acme "Acme add-on renewal" $9,000')
    await alice.run(
        [
            ("show john smith", "#1 John Smith"),
            ("show js2@acme.com", "#2 John Smithers"),
            ("show jose nunez", "#3 José Núñez"),
            ("show Hans", "No contact or company matches 'Hans'"),
            ('won "Acme add-on"', "#1 Acme add-on"),
            ("show jos", "#3 José Núñez"),
        ]
    )
    text = await alice.say('deal Acme "third" $1')
    assert "with Acme" in text and "Which one" not in text


async def test_a_fuzzy_match_below_the_clear_score_is_only_a_suggestion(alice: RepChat) -> None:
    await alice.say("add Margaret Thatcher mt@x.com")
    text = await alice.say("note Margret Thacher: hi")
    assert "Logged" in text  # close enough: clearly above the score
    text = await alice.say("note Marge: hi")
    assert "Did you mean Margaret Thatcher" in text and "Logged" not in text


# --- companies -----------------------------------------------------------------------


async def test_companies_are_first_class(alice: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    await alice.say("add Jane Doe jane@acme.com at Acme")
    await alice.say("add Bob Roe bob@acme.com at Acme")
    await alice.say("log call with jane: pricing")
    made = await alice.say('deal Acme "platform" $20,000')
    assert "with Acme" in made and "New company" not in made
    with rapport.store.transaction() as session:
        deal = session.exec(select(Deal)).one()
        assert deal.contact_id is None and deal.company_id is not None
    reply = await rapport.dispatcher.handle(alice.actor, "show acme", alice.address)
    card = dict(reply.cards[0].fields)
    assert "#1 Jane Doe" in card["Contacts"] and "#2 Bob Roe" in card["Contacts"]
    assert "platform" in card["Open deals"] and "pricing" in card["Recent"]
    await alice.run(
        [
            ("find acme", "Company: Acme: 2 contact(s), 1 open deal(s)"),
            ("companies", "- Acme: 2 contact(s), 1 open deal(s)"),
            ("edit acme domain acme.com", "Acme acme.com"),
            ("undo", "Undone: the edit of company Acme"),
            ('deal Globex "pilot" $1', "New company Globex created for it."),
        ]
    )


# --- corrections ---------------------------------------------------------------------


async def _card(t: RepChat, ref: str) -> dict[str, str]:
    reply = await t.app.dispatcher.handle(t.actor, f"show {ref}", t.address)
    return dict(reply.cards[0].fields)


async def test_email_and_phone_corrections(alice: RepChat) -> None:
    await alice.say("add Jane Doe jane@old.com")
    await alice.run(
        [
            ("edit jane email jane@acme.com", "Replaced the primary email"),
            ("edit jane add email j@home.com", "Added email"),
        ]
    )
    assert (await _card(alice, "#1"))["Emails"] == "jane@acme.com, j@home.com"
    assert "jane@acme.com stays as a second email" in await alice.say("primary jane j@home.com")
    assert (await _card(alice, "#1"))["Emails"] == "j@home.com, jane@acme.com"
    assert "Removed email" in await alice.say("remove email jane jane@acme.com")
    assert (await _card(alice, "#1"))["Emails"] == "j@home.com"
    assert "Undone: the edit of Jane Doe (#1)'s emails" in await alice.say("undo")
    assert (await _card(alice, "#1"))["Emails"] == "j@home.com, jane@acme.com"
    await alice.run(
        [
            ("edit jane phone +1 415 555 0100", "(there was none)"),
            ("add phone jane +1 415 555 0199", "Added phone"),
            ("edit jane phone +1 415 555 0111", "was +14155550100"),
        ]
    )
    assert (await _card(alice, "#1"))["Phones"] == "+1 415-555-0111, +1 415-555-0199"
    assert "has no email nobody@x.com" in await alice.say("remove email jane nobody@x.com")


async def test_deal_corrections_delete_and_reopening(alice: RepChat, rapport, clock) -> None:  # type: ignore[no-untyped-def]
    await alice.say('deal Acme "50 seats" $12,000')
    await alice.run(
        [
            ("edit deal #1 amount $15k", "now #1 50 seats $15,000.00"),
            ('edit "50 seats" title 60 seats', "now #1 60 seats"),
            ("edit #1 close 1 Jan 2026", "is in the past"),
            ("yes", "closing Thu 01 Jan 2026"),
            ("undo", "Undone: the close date change of deal #1 60 seats"),
            ("lost #1 price", "to lost"),
            ("won #1", "was lost (price). Reopen it and mark it won?"),
            ("yes", "from lost to won"),
            ("delete deal #1", "Delete deal #1 60 seats"),
            ("yes", "Deleted deal #1"),
        ]
    )
    with rapport.store.transaction() as session:
        assert session.exec(select(Deal)).all() == []
    assert "Undone: deleting deal #1 60 seats; it is back" in await alice.say("undo")
    with rapport.store.transaction() as session:
        assert session.exec(select(Deal)).one().status == "won"


async def test_retag_addresses_what_the_rep_sees(alice: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    for chat, name, text in (("1", "Carol", "my card was charged twice"), ("2", "Dan", "hi")):
        await rapport.desk.receive(customer_message(text, 1, chat=chat, name=name))
    await rapport.desk.receive(customer_message("and again today", 2, chat="1", name="Carol"))
    inbox = await alice.say("inbox")
    assert "(msg 3): and again today" in inbox and "(msg 2): hi" in inbox
    text = await alice.say("retag conversation 1 billing")
    assert 'message 3 from Carol (conversation 1): "and again today" is now billing' in text
    assert "Undone: retagging message 3 as billing" in await alice.say("undo")
    with rapport.store.transaction() as session:
        assert session.exec(select(NeedCorrection)).all() == []


async def test_snooze_without_a_time_never_moves_earlier(alice: RepChat, rapport, clock) -> None:  # type: ignore[no-untyped-def]
    await alice.say("remind me to call bob in 3 days")
    with rapport.store.transaction() as session:
        due = session.exec(select(FollowUp)).one().due_at
    assert "Snoozed 1" in await alice.say("snooze 1")
    with rapport.store.transaction() as session:
        assert session.exec(select(FollowUp)).one().due_at == due + timedelta(hours=1)
    clock.advance(timedelta(days=5))  # overdue now: an hour from now
    await alice.say("snooze 1")
    with rapport.store.transaction() as session:
        assert session.exec(select(FollowUp)).one().due_at == clock.now() + timedelta(hours=1)


async def test_the_delete_question_says_what_stays_in_plain_english(root: RepChat) -> None:
    await root.run(
        [
            ("add Ana Lima ana@example.br", "Added #1"),
            ('deal ana "Web" 500', "New deal #1"),
            ("delete ana", "Their deal stays, without a contact."),  # was "Their 1 deal stay"
            ("no", "Cancelled"),
            ('deal ana "Apps" 900', "New deal #2"),
            ("delete ana", "Their 2 deals stay, without a contact."),
        ]
    )


async def test_an_empty_pipeline_of_mine_points_at_the_teams(root: RepChat, rapport) -> None:  # type: ignore[no-untyped-def]
    """After an import (unowned deals) `pipeline` said "Your pipeline is empty"."""
    bo = rep_chat(rapport, "Bo")
    await bo.run([("add Ana Lima", "Added #1"), ('deal ana "Web" 500', "New deal #1")])
    await root.run(
        [
            ("pipeline", "You own no open deals; the team's pipeline has 1: `pipeline all`"),
            ("pipeline all", "The team's open pipeline:"),
        ]
    )


async def test_a_merge_question_names_only_what_moves(root: RepChat) -> None:
    await root.run(
        [
            ("add Ana Lima ana@x.br", "Added #1"),
            ("add Ana Souza ana.s@x.br", "Added #2"),
            ("merge #2 into #1", "This moves 1 emails/phones to #1. It combines tags"),
        ]
    )
    assert "0 deals" not in await root.say("merge #2 into #1")
