"""Issue 16 through the real dispatcher and store (SQLite and PostgreSQL): dates read whole
or refused with the reason, per-rep date order, phones, money and accent-free search."""

import pytest
from sqlmodel import select

from bot.app import RapportApp
from crm.models import ContactPoint, Deal, FollowUp
from tests.factories import RepChat, rep_chat


def greta(app: RapportApp, timezone: str) -> RepChat:
    """The same rep name in each zone, one Rep per zone."""
    return rep_chat(app, "Greta", external_id=f"rep-{timezone}", timezone=timezone)


@pytest.fixture
def berlin(rapport: RapportApp) -> RepChat:
    return greta(rapport, "Europe/Berlin")  # the clock: Mon 2 Mar 2026 10:00 in Berlin


def _pending(rapport: RapportApp) -> list[FollowUp]:
    with rapport.store.transaction() as session:
        return list(session.exec(select(FollowUp)).all())


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("remind me to call jane 31 feb", "31 Feb does not exist"),
        ("remind me to call jane tomorrow 13pm", "'13pm' is not a time of day"),
        ("remind me to call jane last monday", "is in the past"),
        ("remind me to call jane yesterday", "is in the past"),
        ("remind me to call jane 13.13.2027", "has no month 13"),
    ],
)
async def test_bad_dates_are_refused_with_the_reason_and_nothing_is_stored(
    berlin: RepChat, rapport: RapportApp, text: str, reason: str
) -> None:
    reply = await berlin.say(text)
    assert reason in reply
    assert _pending(rapport) == []


async def test_reminder_keeps_the_whole_date_and_the_whole_text(
    berlin: RepChat, rapport: RapportApp
) -> None:
    reply = await berlin.say("remind me to prepare QBR 3 Dec")
    assert "Thu 3 Dec 09:00 CET: prepare QBR (reminder 1)" in reply
    [row] = _pending(rapport)
    assert row.text == "prepare QBR"


async def test_far_future_is_confirmed_with_how_far(berlin: RepChat) -> None:
    reply = await berlin.say("remind me to call Jane in 20 years")
    assert "2046" in reply and "that is 20 years from now" in reply and ": call Jane (" in reply


async def test_date_order_follows_the_zone_then_the_reps_setting(
    berlin: RepChat, rapport: RapportApp
) -> None:
    assert "Tue 5 Jan 2027 09:00 CET" in await berlin.say("remind me to a 5.1.2027")
    assert "read MDY" in await berlin.say("dateorder MDY")
    assert "Sat 1 May 2027 09:00 CEST" in await berlin.say("remind me to b 5.1.2027")
    new_york = greta(rapport, "America/New_York")
    assert "Sat 1 May 2027 09:00 EDT" in await new_york.say("remind me to c 5/1/2027")


async def test_team_date_order_setting(make_rapport) -> None:  # type: ignore[no-untyped-def]
    app = make_rapport(RAPPORT_DATE_ORDER="MDY", RAPPORT_LUNCH_ENDS="13:30")
    rep = greta(app, "Europe/Berlin")
    assert "Sat 1 May 2027" in await rep.say("remind me to a 5.1.2027")
    assert "Mon 2 Mar 13:30 CET" in await rep.say("remind me to b after lunch")


async def test_log_follow_up_without_a_comma(berlin: RepChat, rapport: RapportApp) -> None:
    await berlin.say("add Jane Doe jane@acme.com")
    reply = await berlin.say("met jane: demo went well follow up tomorrow 10am")
    assert "Logged meeting with Jane Doe (#1): demo went well" in reply
    assert "Tue 3 Mar 10:00 CET" in reply


async def test_phones_and_search(berlin: RepChat, rapport: RapportApp) -> None:
    assert "Added #1" in await berlin.say("add José Müller 0049 30 12345678")
    assert "Added #2" in await berlin.say("add Bob Stone (415) 555-0123 ext. 42")
    refused = await berlin.say("add Jane 555-0123")
    assert "'555-0123' is not a valid phone number" in refused and "Added" not in refused
    decomposed = "Jose\u0301 Garci\u0301a"  # typed with combining accents
    assert "Added #3" in await berlin.say(f"add {decomposed}")
    found = await berlin.say("find jose")
    assert "José Müller" in found and "José García" in found
    assert "#2 Bob Stone" in await berlin.say("find BOB")
    with rapport.store.transaction() as session:
        values = {p.value for p in session.exec(select(ContactPoint)).all()}
    assert values == {"+493012345678", "+14155550123;ext=42"}
    shown = await berlin.say("show #2")
    assert "ext. 42" in shown


async def test_world_money_in_deals(berlin: RepChat, rapport: RapportApp) -> None:
    assert "cannot be negative" in await berlin.say("deal acme -5 EUR")
    await berlin.say('deal acme "renewal" 1.234,56 €')
    await berlin.say("deal globex CHF 7'500")
    with rapport.store.transaction() as session:
        deals = {(d.amount_minor, d.currency) for d in session.exec(select(Deal)).all()}
    assert deals == {(123456, "EUR"), (750000, "CHF")}


async def test_follow_up_in_the_customers_night_says_when_it_really_goes(
    berlin: RepChat, rapport: RapportApp
) -> None:
    await berlin.say("add Maria Lopez maria@example.com")
    await berlin.say("edit maria timezone America/Mexico_City")
    # 23:00 in Berlin is 16:00 in Mexico City: not night there, no note
    day = await berlin.say('followup maria tomorrow 11pm: "Any news?"')
    assert "It is night" not in day
    # 10:00 in Berlin is 03:00 in Mexico City: held until 08:00 there (15:00 in Berlin)
    night = await berlin.say('followup maria tomorrow 10am: "Hola"')
    assert "It is night for Maria then: it goes Tue 3 Mar 15:00 CET." in night
