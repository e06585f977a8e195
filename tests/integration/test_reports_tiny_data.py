"""Reports on a brand-new store, through the real dispatcher: with one buyer there is not
enough data to segment anyone, so no report may call that buyer "lost" (issue 14)."""

from datetime import date

import pytest

from bot.app import RapportApp
from crm.analytics.segments import MIN_CUSTOMERS, SEGMENTS
from crm.analytics.value import customer_value
from tests.factories import RepChat, rep_chat


@pytest.fixture
def alice(rapport: RapportApp) -> RepChat:
    return rep_chat(rapport, "Alice")


def _labels_in(text: str) -> list[str]:
    words = {w.strip("().,:") for w in text.replace("·", " ").split()}
    return [s for s in SEGMENTS if s in words or s.replace("_", " ") in text.lower()]


async def test_one_buyer_31_days_ago_is_not_labelled_lost(
    alice: RepChat, rapport: RapportApp
) -> None:
    """The clock is 2 Mar 2026: 30 Jan is 31 days back, just past the recency floor, so
    the lone buyer's quintile scores are 1/1/1, which the RFM rules call "lost"."""
    await alice.say("add Jane Doe jane@acme.com")
    assert "bought $120.00" in await alice.say("sold jane 120 on 30 Jan")

    with rapport.store.transaction() as session:  # what the scoring alone would call her
        scored = customer_value(session, as_of=date(2026, 3, 2))
    assert [c.segment for c in scored.customers] == ["lost"] and scored.rfm_customers == 1

    value = await alice.say("report value")
    assert "Jane Doe: spent $120.00" in value
    assert "(lost)" not in value and "unsegmented" not in value
    assert _labels_in(value) == []
    assert "not enough data to segment customers: only 1 customer" in value
    assert f"needs at least {MIN_CUSTOMERS}" in value

    segments = await alice.say("report segments")
    assert "Customer segments as of 2026-03-02 09:00: 1 customer." in segments
    assert _labels_in(segments) == []  # no sizes line, no "Win back" hints
    assert "not enough data: only 1 customer(s)" in segments

    clv = await alice.say("report clv last 60 days")
    assert "Most valuable: Jane Doe, $120.00 profit this period." in clv
    assert _labels_in(clv) == []
