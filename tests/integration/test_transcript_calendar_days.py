"""Calendar days written the way people write them (`2 Mar`, `3rd of March`, `Mar 5`)
after a contact's name or a deal, through the real dispatcher and store. Each line here
was once misread: the day's number glued onto the name, the month alone read as today's
date next year, a close date taken as the reason, or lost through a "yes"."""

from collections.abc import Callable
from datetime import UTC

import pytest
from sqlmodel import select

from bot.app import RapportApp
from crm.models import Activity, Deal, FollowUp
from crm.purchases import Purchase
from tests.factories import RepChat, rep_chat

# The clock fixture stands at Mon 2 Mar 2026 09:00 UTC.


@pytest.fixture
def rapport(make_rapport: Callable[..., RapportApp]) -> RapportApp:
    return make_rapport(RAPPORT_CURRENCY="EUR")


@pytest.fixture
def lea(rapport: RapportApp) -> RepChat:
    return rep_chat(rapport, "Lea")


async def test_a_day_after_the_name_is_the_date_not_part_of_the_name(
    lea: RepChat, rapport: RapportApp
) -> None:
    await lea.run(
        [
            ("add Ana García ana@example.es", "Added #1"),
            ("followup ana 12 Mar: ¿Qué tal la demo?", "Thu 12 Mar 09:00"),
            ("followup ana 3rd of april: ¿Seguimos?", "Fri 3 Apr 09:00"),
            ("followup ana mar 20: ¿Y el contrato?", "Fri 20 Mar 09:00"),
            ("log call with ana 27 Feb: talked pricing", "on Fri 27 Feb 2026"),
            ("log call with ana 3rd of february: first call", "on Tue 03 Feb 2026"),
        ]
    )
    with rapport.store.transaction() as session:
        due = sorted(f.due_at.replace(tzinfo=UTC) for f in session.exec(select(FollowUp)))
        occurred = sorted(a.occurred_at.date().isoformat() for a in session.exec(select(Activity)))
    assert [d.date().isoformat() for d in due] == ["2026-03-12", "2026-03-20", "2026-04-03"]
    assert occurred == ["2026-02-03", "2026-02-27"]


async def test_a_day_that_has_just_passed_is_not_moved_to_next_year(
    lea: RepChat, rapport: RapportApp
) -> None:
    """`3 Dec` typed on 4 Dec used to become 3 Dec next year without a word."""
    await lea.run(
        [
            ("remind me to prepare the QBR 1 Mar", "Sun 1 Mar 09:00 UTC has just passed"),
            ("remind me to prepare the QBR 1 Mar", "add the year (2027)"),
            ("remind me to prepare the QBR 1 Mar 2027", "Mon 1 Mar 2027 09:00"),
            ("remind me to prepare the QBR 5 Mar", "Thu 5 Mar 09:00"),
        ]
    )
    with rapport.store.transaction() as session:
        years = sorted(f.due_at.year for f in session.exec(select(FollowUp)))
    assert years == [2026, 2027]


async def test_a_close_date_is_a_date_and_survives_the_question(
    lea: RepChat, rapport: RapportApp
) -> None:
    await lea.run(
        [
            ("add Ana García ana@example.es", "Added #1"),
            ('deal ana "Web" 500', "New deal #1"),
            ("won #1 27 Feb", "from lead to won on Fri 27 Feb 2026"),
            ("lost #1 2 competitors undercut us", "Its sale of €500.00 no longer counts"),
            ("won #1 3 Feb 2026", "was lost (2 competitors undercut us). Reopen it"),
            ("yes", "from lost to won on Tue 03 Feb 2026"),
        ]
    )
    with rapport.store.transaction() as session:
        deal = session.exec(select(Deal)).one()
        sale = session.exec(select(Purchase)).one()
    assert deal.close_reason in (None, "")
    assert deal.closed_at is not None and deal.closed_at.date().isoformat() == "2026-02-03"
    assert sale.purchased_at.date().isoformat() == "2026-02-03"


async def test_no_to_which_one_cancels(lea: RepChat, rapport: RapportApp) -> None:
    await lea.run(
        [
            ("add Ana García", "Added #1"),
            ("add Ana Garcia ana2@example.es", "Added #2"),
            ("note ana: hola", "Which one?"),
            ("no", "Cancelled: nothing was done."),
        ]
    )
    with rapport.store.transaction() as session:
        assert session.exec(select(Activity)).all() == []


async def test_a_sale_date_follows_the_reps_own_date_order(
    make_rapport: Callable[..., RapportApp],
) -> None:
    """`sold` read numeric dates in the zone's order, ignoring the rep's `dateorder`."""
    rapport = make_rapport(RAPPORT_TIMEZONE="Europe/Berlin")
    sam = rep_chat(rapport, "Sam")
    await sam.run(
        [
            ("dateorder MDY", "read MDY"),
            ("add Ana García ana@example.es", "Added #1"),
            ("sold ana 40 on 2/1/2026", "on Sun 01 Feb 2026"),
            ("dateorder DMY", "read DMY"),
            ("sold ana 41 on 2/1/2026", "on Fri 02 Jan 2026"),
        ]
    )
