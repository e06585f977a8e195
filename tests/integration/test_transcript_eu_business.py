"""A European business typing the way people do, through the real dispatcher and store:
comma-separated contact details, amounts in the business's own currency (RAPPORT_CURRENCY)
when the rep names none, and sales written with the currency as a word."""

from collections.abc import Callable

import pytest
from sqlmodel import select

from bot.app import RapportApp
from crm.models import Company, Contact, Deal
from crm.purchases import Purchase
from tests.factories import RepChat, rep_chat


@pytest.fixture
def rapport(make_rapport: Callable[..., RapportApp]) -> RapportApp:
    return make_rapport(RAPPORT_CURRENCY="EUR", RAPPORT_TIMEZONE="Europe/Madrid")


@pytest.fixture
def lucia(rapport: RapportApp) -> RepChat:
    return rep_chat(rapport, "Lucía", timezone="Europe/Madrid")


async def test_comma_separated_details_give_a_clean_name_and_the_company(
    lucia: RepChat, rapport: RapportApp
) -> None:
    await lucia.run(
        [
            (
                "add María José García-López, maria.jose@ejemplo.es, +34 612 34 56 78, "
                "company Acme Iberia",
                "Added #1 María José García-López",
            ),
            ("find garcia", "#1 María José García-López"),
            ('deal Acme Iberia "renovación" 12.500,50', "€12,500.50"),
        ]
    )
    with rapport.store.transaction() as session:
        contact = session.exec(select(Contact)).one()
        company = session.exec(select(Company)).one()
    assert contact.name == "María José García-López"
    assert (company.name, contact.company_id) == ("Acme Iberia", company.id)


async def test_bare_amounts_are_in_the_business_currency(
    lucia: RepChat, rapport: RapportApp
) -> None:
    await lucia.run(
        [
            ("add Zhang Wei zhang.wei@example.cn", "Added #1"),
            ('deal Zhang "pilot" 5000', "€5,000.00"),
            ('deal Zhang "yen deal" ¥8000', "¥8,000"),
            ("sold Zhang 120", "bought €120.00"),
            ("sold Zhang 80 euros on 1 Dec", "bought €80.00"),
            ("sold Zhang 12 500 € ref X-1", "bought €12,500.00 (X-1)"),
            ("sold Zhang 3 million yen", "bought ¥3,000,000"),
            ("sold Zhang 8000 yen yesterday: INV-77", "bought ¥8,000 (INV-77)"),
        ]
    )
    with rapport.store.transaction() as session:
        deals = {d.title: (d.amount_minor, d.currency) for d in session.exec(select(Deal))}
        sales = sorted((p.amount_minor, p.currency) for p in session.exec(select(Purchase)))
    assert deals == {"pilot": (500_000, "EUR"), "yen deal": (8_000, "JPY")}
    assert sales == [
        (8_000, "EUR"),
        (8_000, "JPY"),
        (12_000, "EUR"),
        (1_250_000, "EUR"),
        (3_000_000, "JPY"),
    ]


async def test_decimals_the_business_currency_lacks_are_refused_and_nothing_is_stored(
    make_rapport: Callable[..., RapportApp],
) -> None:
    app = make_rapport(RAPPORT_CURRENCY="JPY")
    kenji = rep_chat(app, "Kenji", timezone="Asia/Tokyo")
    await kenji.say("add Sato Yuki sato@example.jp")
    reply = await kenji.say("sold sato 1200.50")
    assert "JPY amounts can't have that many decimals" in reply
    assert "bought ¥1,200" in await kenji.say("sold sato 1200")
    with app.store.transaction() as session:
        assert [(p.amount_minor, p.currency) for p in session.exec(select(Purchase))] == [
            (1200, "JPY")
        ]


async def test_a_sale_typed_twice_is_undone_once_and_a_won_deals_sale_stays(
    lucia: RepChat, rapport: RapportApp
) -> None:
    await lucia.run(
        [
            ("add Pilar Núñez pilar@nunez.example", "Added #1"),
            ("sold pilar 99,90", "`undo` removes it"),
            ("sold pilar 99,90", "already has a sale of that amount: €99.90"),  # typed twice
            ("yes", "bought €99.90"),  # and confirmed by mistake
            ("undo", "Undone: the sale of €99.90; it is removed"),
            ('deal pilar "Renovación" 1.500,00', "€1,500.00"),
            ("won #1", "won"),
        ]
    )
    with rapport.store.transaction() as session:
        amounts = sorted(p.amount_minor for p in session.exec(select(Purchase)))
    assert amounts == [9_990, 150_000]  # one sale of 99.90 left, and the won deal's


def sales(rapport: RapportApp) -> list[int]:
    with rapport.store.transaction() as session:
        return sorted(p.amount_minor for p in session.exec(select(Purchase)))


async def test_undo_after_won_reverts_the_win_and_its_sale_together(
    lucia: RepChat, rapport: RapportApp
) -> None:
    """`won #1` then `undo` once stopped at "Purchase #1 is won deal #1" and undid nothing;
    undoing the win by hand left the sale counting in value and churn."""
    await lucia.run(
        [
            ("add Pilar Núñez pilar@nunez.example", "Added #1"),
            ('deal pilar "Renovación" 1.500,00 stage proposal', "New deal #1"),
            ("won #1", "to won"),
        ]
    )
    assert sales(rapport) == [150_000]
    undone = await lucia.say("undo")
    assert "Undone: marking deal #1 Renovación won; it is back in proposal" in undone, undone
    assert "its sale of €1,500.00 is removed" in undone, undone
    assert sales(rapport) == []
    await lucia.run(
        [
            ("won #1", "to won"),
            ("lost #1 changed their mind", "to lost"),
        ]
    )
    assert sales(rapport) == []  # a lost deal is no sale
    assert "counts again" in await lucia.say("undo")  # back to won, with its sale
    assert sales(rapport) == [150_000]
    assert "is removed" in await lucia.say("undo")  # the second win
    assert sales(rapport) == []
    # the first win was undone already, so the next undo reaches the deal itself
    assert "the new deal #1 Renovación" in await lucia.say("undo")
    with rapport.store.transaction() as session:
        assert session.exec(select(Deal)).all() == []


async def test_a_deal_typed_twice_asks_before_a_second_one(
    lucia: RepChat, rapport: RapportApp
) -> None:
    await lucia.run(
        [
            ("add Pilar Núñez pilar@nunez.example", "Added #1"),
            ('deal pilar "Renovación 2027" 12.500,00', "New deal #1"),
            ('deal pilar "renovacion 2027" 12.500,00', "already has the open deal #1"),
            ("no", "Cancelled"),
            ('deal pilar "Renovación 2027" 12.500,00', "Add a second one anyway?"),
            ("yes", "New deal #2"),
            ('deal pilar "Soporte" 900', "New deal #3"),  # another title: no question
        ]
    )
    with rapport.store.transaction() as session:
        assert len(session.exec(select(Deal)).all()) == 3


async def test_umlauts_typed_as_a_german_keyboard_less_rep_would(lucia: RepChat) -> None:
    await lucia.run(
        [
            ("add Jürgen Weiß, j.weiss@beispiel.de, company Weiß GmbH", "Added #1 Jürgen Weiß"),
            ("add Søren Kierkegaard soren@example.dk", "Added #2"),
            ("show juergen", "#1 Jürgen Weiß"),
            ("show jurgen weiss", "#1 Jürgen Weiß"),
            ("show soeren", "#2 Søren Kierkegaard"),
            ('deal juergen "Wartung 2027" 900', "with Jürgen Weiß"),
        ]
    )


async def test_a_second_contact_of_the_same_name_is_asked_about_first(
    lucia: RepChat, rapport: RapportApp
) -> None:
    """Two people can share a name, but a rep typing `add` twice usually means one person:
    with nothing (email, phone) to tell them apart, Rapport asks before adding a twin."""
    await lucia.run(
        [
            ("add Jürgen Müller at Nordwind GmbH", "Added #1 Jürgen Müller"),
            ("add jürgen müller", "You already have someone of that name"),
            ("no", "Cancelled"),
            ("add Jurgen  Muller", "#1 Jürgen Müller"),
            ("yes", "Added #2"),
            ("add Jürgen Müller juergen@other.de", "Added #3 Jürgen Müller"),
            ("add Jürgen Mühler", "Added #4"),
        ]
    )
    with rapport.store.transaction() as session:
        names = sorted(c.name for c in session.exec(select(Contact)))
    assert names == ["Jurgen Muller", "Jürgen Mühler", "Jürgen Müller", "Jürgen Müller"]


async def test_a_company_with_an_accent_is_found_typed_with_or_without_it(
    lucia: RepChat, rapport: RapportApp
) -> None:
    """`find müller` and `find muller` found no "Müller GmbH": the company's key keeps its
    accents and the search folded them away."""
    await lucia.run(
        [
            ("add Jürgen Weber jw@mueller.example, company Müller GmbH", "Added #1"),
            ("find müller", "Company: Müller GmbH"),
            ("find Muller gmbh", "Company: Müller GmbH"),
            ("companies muller", "Müller GmbH: 1 contact(s)"),
            ("show muller gmbh", "Müller GmbH: 1 contact(s), 0 open deal(s)"),
            ('deal muller gmbh "Fase 2" 4.000,00', "with Müller GmbH"),
        ]
    )
    with rapport.store.transaction() as session:
        assert [c.name for c in session.exec(select(Company))] == ["Müller GmbH"]
