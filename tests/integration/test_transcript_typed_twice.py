"""A line sent twice (a double Enter, a retry after a slow reply, a paste) is asked about,
not silently doubled: calls and notes within the hour, sales with the same reference or the
same amount within the hour. Through the real dispatcher and store."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.app import RapportApp
from crm.clock import ManualClock
from crm.models import Activity, AuditLog, Message
from crm.purchases import Purchase
from tests.factories import RepChat, customer_message, rep_chat


@pytest.fixture
def rapport(make_rapport: Callable[..., RapportApp]) -> RapportApp:
    return make_rapport(RAPPORT_CURRENCY="EUR")


@pytest.fixture
def ana(rapport: RapportApp) -> RepChat:
    return rep_chat(rapport, "Ana")


async def test_a_call_logged_twice_is_asked_about(
    ana: RepChat, rapport: RapportApp, clock: ManualClock
) -> None:
    await ana.run(
        [
            ("add Chen Jing chen@example.cn", "Added #1"),
            ("log call Chen: discussed pricing", "Logged call with Chen Jing (#1)"),
            ("log call chen:  Discussed pricing", "You logged that call with Chen Jing (#1)"),
            ("no", "Cancelled"),
            ("log meeting Chen: discussed pricing", "Logged meeting"),  # another kind: logged
            ("log call Chen: discussed pricing", "Log it a second time?"),
            ("yes", "Logged call with Chen Jing (#1)"),
        ]
    )
    clock.advance(timedelta(hours=2))
    await ana.run([("log call Chen: discussed pricing", "Logged call with Chen Jing (#1)")])
    with rapport.store.transaction() as session:
        kinds = sorted(a.kind.value for a in session.exec(select(Activity)))
    assert kinds == ["call", "call", "call", "meeting"]


async def test_another_rep_logging_the_same_words_is_not_asked(
    ana: RepChat, rapport: RapportApp
) -> None:
    bo = rep_chat(rapport, "Bo")
    await ana.run([("add Chen Jing chen@example.cn", "Added #1"), ("note chen: vip", "Logged")])
    await bo.run([("note chen: vip", "Logged note with Chen Jing (#1)")])


async def test_a_sale_typed_twice_is_asked_about(ana: RepChat, rapport: RapportApp) -> None:
    await ana.run(
        [
            ("add Chen Jing chen@example.cn", "Added #1"),
            ("sold Chen 50 INV-1", "Is 'INV-1' the sale's reference? Put `ref` before"),
            ("sold Chen 50 ref INV-1", "bought €50.00 (INV-1)"),
            ("sold Chen 60 ref inv-1", "already has a sale with the reference INV-1"),
            ("no", "Cancelled"),
            ("sold Chen 50", "already has a sale of that amount: €50.00"),
            ("yes", "bought €50.00"),
            ("sold Chen 75", "bought €75.00"),
            ("add Pilar Ruiz pilar@example.es", "Added #2"),
            ("sold pilar 80 ref INV-1", "Chen Jing (#1) already has a sale with the reference"),
            ("no", "Cancelled"),
        ]
    )
    with rapport.store.transaction() as session:
        amounts = sorted(p.amount_minor for p in session.exec(select(Purchase)))
    assert amounts == [5000, 5000, 7500]


async def test_a_deal_moved_where_it_already_is_changes_nothing(
    ana: RepChat, rapport: RapportApp, clock: ManualClock
) -> None:
    """`won #1` twice: the second says so and writes nothing, so `undo` still reverts the
    real win (and its sale). A new close date or reason on a closed deal is an update."""
    await ana.run(
        [
            ("add Chen Jing chen@example.cn", "Added #1"),
            ('deal Chen "Renewal" 5000', "New deal #1 Renewal €5,000.00 (lead)"),
            ("stage #1 proposal", "from lead to proposal"),
            ("stage #1 proposal", "is already in proposal; nothing changed"),
            ("won #1", "from proposal to won"),
            ("won #1", "is already won on"),
            ("won #1 yesterday", "Updated #1 Renewal €5,000.00 (won): closed on"),
        ]
    )
    yesterday = (clock.now() - timedelta(days=1)).date()
    with rapport.store.transaction() as session:
        sale = session.exec(select(Purchase)).one()
    assert sale.purchased_at.date() == yesterday  # the sale follows the close date
    await ana.run(
        [
            ("undo", "it has its earlier ones back"),
            ("undo", "marking deal #1 Renewal won; it is back in proposal; its sale"),
            ("lost #1 too pricey", "from proposal to lost"),
            ("lost #1", "is already lost on"),
            ("lost #1 budget cut", "reason: budget cut"),
        ]
    )
    with rapport.store.transaction() as session:
        assert session.exec(select(Purchase)).all() == []


async def test_a_deleted_won_deal_takes_its_sale_and_undo_brings_both_back(
    ana: RepChat, rapport: RapportApp
) -> None:
    """Deleting a won deal left its sale behind unlinked: after `undo` and a second win the
    customer had bought twice."""
    await ana.run(
        [
            ("add Chen Jing chen@example.cn", "Added #1"),
            ('deal chen "Web" 500', "New deal #1"),
            ("won #1", "to won"),
            ("delete deal #1", "Its sale of €500.00 goes with it."),
            ("yes", "Deleted deal #1 Web €500.00 (won), and its sale of €500.00."),
        ]
    )
    with rapport.store.transaction() as session:
        assert session.exec(select(Purchase)).all() == []
    await ana.run(
        [
            ("undo", "it is back, with its sale of €500.00"),
            ("stage #1 lead", "Its sale of €500.00 no longer counts"),
            ("won #1", "to won"),
        ]
    )
    with rapport.store.transaction() as session:
        assert [(p.deal_id, p.amount_minor) for p in session.exec(select(Purchase))] == [
            (1, 50_000)
        ]


async def test_a_reply_typed_twice_asks_before_the_customer_gets_it_twice(
    ana: RepChat, rapport: RapportApp, clock: ManualClock
) -> None:
    await rapport.desk.receive(customer_message("¿Tenéis la bici roja?", 1, name="Lucía"))
    await ana.run(
        [
            ("reply 1 Sí, nos quedan dos.", "Reply to Lucía on telegram (conversation 1)"),
            ("reply 1 sí, nos quedan  dos.", "You already sent Lucía that (msg 2"),
            ("no", "Cancelled"),
            ("reply 1 Sí, nos quedan dos.", "Send it again?"),
            ("yes", "Reply to Lucía"),
        ]
    )
    await rapport.desk.receive(customer_message("¿Y en azul?", 2, name="Lucía"))
    await ana.run([("reply 1 Sí, nos quedan dos.", "Reply to Lucía")])  # she wrote since
    clock.advance(timedelta(hours=2))
    await ana.run([("reply 1 Sí, nos quedan dos.", "Reply to Lucía")])  # hours later: meant
    with rapport.store.transaction() as session:
        sent = [m.text for m in session.exec(select(Message)) if m.direction == "outbound"]
    assert sent == ["Sí, nos quedan dos."] * 4


async def test_tag_and_assign_typed_twice_change_nothing(ana: RepChat, rapport: RapportApp) -> None:
    await rapport.desk.receive(customer_message("hello", 1, name="Lucía"))
    await ana.run(
        [
            ("tag lucía #vip", "now #vip"),
            ("tag lucía #vip", "already has them; nothing changed (tags: #vip)"),
            ("untag lucía #churn-risk", "has none of those tags; nothing changed"),
            ("assign 1 me", "is assigned to Ana"),
            ("assign 1 me", "is assigned to you already; nothing changed"),
            ("undo", "Undone"),  # the real assignment, not a no-op
        ]
    )
    with rapport.store.transaction() as session:
        tags = [a for a in session.exec(select(AuditLog)) if a.action == "contact.tag"]
    assert len(tags) == 1
