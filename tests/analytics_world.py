"""A small, hand-checkable world for the analytics tests (SQLite and PostgreSQL).

All times are UTC, 2026 unless said otherwise. The report period under test is March
2026 ([2026-03-01, 2026-04-01)); `now` is 2026-04-01 09:00 UTC, a Wednesday.

Contacts (owner):      touches (A = activity, M = inbound message, W = won deal closed)
 1 Ann  (Alice)         A Feb 10, A Mar 20 09:00, M Mar 15 14:00, M Mar 16 03:00, W Jan 20, W Mar 5
 2 Ben  (Bob)           A 2025-12-10
 3 Cara (Alice) #churned M Feb 20, M Mar 10 10:00 (cancellation)
 4 Dan  (Bob)           A Jan 5, M Mar 15 09:00, W Mar 20 12:00 (EUR)
 5 Eve  (Alice)         M Mar 25 11:00 (unclassified), W Mar 28 10:00
 6 Finn (Bob) opted out on Mar 12; A Feb 1
 7 Gus  (Alice)         nothing but an open deal
 8 Hana (Alice)         A Mar 26, 27, 29, 30 (10:00 each), W Mar 30 12:00

Deals (owner, amount in minor units):
 D1 Ann  won  USD 1,200,000 Alice  created Feb 3 09:00, closed Mar 5 09:00   (30 days)
 D2 Dan  won  EUR   150,000 Bob    created Mar 10 12:00, closed Mar 20 12:00 (10 days)
 D3 Eve  won  USD   300,000 Alice  created Mar 27 10:00, closed Mar 28 10:00 (1 day)
 D4 Ben  lost USD   500,000 Bob    closed Mar 12 10:00 "price"
 D5 Cara lost USD    50,000 Alice  closed Mar 18 10:00 "price"
 D6 Finn lost EUR    80,000 Bob    closed Mar 22 10:00 "went with a competitor"
 D7 Ann  won  USD   700,000 Alice  created 2025-12-20 10:00, closed Jan 20 10:00 (before March)
 D8 Hana won  USD 2,500,000 Alice  created Mar 26 12:00, closed Mar 30 12:00 (4 days)
 open: lead USD 100,000 (Gus, Alice), proposal USD 1,000,000 (Ann, Alice),
       proposal EUR 200,000 (Dan, Bob), negotiation USD 400,000 (Ben, Bob)

Conversations (opened, first response, closed, assignee, need, satisfaction):
 C0 Cara Feb 20 10:00 (outside March)
 C1 Cara Mar 10 10:00, +30 min, +2 h,  Alice, cancellation, 2
 C2 Dan  Mar 15 09:00, +2 h,   +24 h, Bob,   billing,      5
 C3 Ann  Mar 15 14:00, +10 min, open,  Alice, other,        -
 C4 Eve  Mar 25 11:00, none,   open,   -,     -,            -
Messages in March (inbound): M1 Cara cancellation 0.9; M2 Dan billing 0.8;
 M3 Ann other 0.4; M4 Ann billing 1.0 corrected by a rep (Mar 16 03:00 UTC, which is
 Mar 15 23:00 in New York); M5 Eve unclassified. Plus one outbound reply to Cara.
"""

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from crm.deals import Pipeline
from crm.models import Activity, Contact, Conversation, Deal, Message, Rep

PIPELINE = Pipeline([("lead", 10), ("qualified", 25), ("proposal", 50), ("negotiation", 75)])
NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)
MARCH = "2026-03-01 to 2026-03-31"


def at(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class Ids:
    """Primary keys of the rows the tests refer to."""

    alice = bob = 0
    contacts: dict[str, int]

    def __init__(self) -> None:
        self.contacts = {}


def build_world(session: Session) -> Ids:
    ids = Ids()
    created = at(1, 1, year=2025)
    alice = Rep(name="Alice", created_at=created)
    bob = Rep(name="Bob", created_at=created)
    session.add_all([alice, bob])
    session.flush()
    ids.alice, ids.bob = alice.id or 0, bob.id or 0

    def contact(name: str, owner: int, **extra: object) -> int:
        row = Contact(name=name, owner_id=owner, created_at=created, updated_at=created, **extra)
        session.add(row)
        session.flush()
        ids.contacts[name] = row.id or 0
        return row.id or 0

    ann = contact("Ann", ids.alice)
    ben = contact("Ben", ids.bob)
    cara = contact("Cara", ids.alice, tags=["vip", "churned"])
    dan = contact("Dan", ids.bob)
    eve = contact("Eve", ids.alice)
    finn = contact("Finn", ids.bob, opted_out=True, consent_changed_at=at(3, 12))
    gus = contact("Gus", ids.alice)
    hana = contact("Hana", ids.alice)

    for who, when in [
        (ann, at(2, 10)),
        (ann, at(3, 20, 9)),
        (ben, at(12, 10, year=2025)),
        (dan, at(1, 5)),
        (finn, at(2, 1)),
        (hana, at(3, 26)),
        (hana, at(3, 27)),
        (hana, at(3, 29)),
        (hana, at(3, 30)),
    ]:
        session.add(Activity(contact_id=who, kind="call", occurred_at=when, created_at=when))

    def deal(
        who: int | None,
        owner: int,
        status: str,
        amount: int,
        currency: str,
        made: datetime,
        closed: datetime | None = None,
        stage: str | None = None,
        reason: str | None = None,
    ) -> None:
        session.add(
            Deal(
                title=f"deal {amount}",
                contact_id=who,
                owner_id=owner,
                amount_minor=amount,
                currency=currency,
                status=status,
                stage=stage or status,
                close_reason=reason,
                closed_at=closed,
                stage_changed_at=made,
                created_at=made,
                updated_at=made,
            )
        )

    deal(ann, ids.alice, "won", 1_200_000, "USD", at(2, 3, 9), at(3, 5, 9))
    deal(dan, ids.bob, "won", 150_000, "EUR", at(3, 10, 12), at(3, 20, 12))
    deal(eve, ids.alice, "won", 300_000, "USD", at(3, 27), at(3, 28))
    deal(ben, ids.bob, "lost", 500_000, "USD", at(1, 10), at(3, 12), reason="price")
    deal(cara, ids.alice, "lost", 50_000, "USD", at(2, 1), at(3, 18), reason="price")
    deal(finn, ids.bob, "lost", 80_000, "EUR", at(2, 1), at(3, 22), reason="went with a competitor")
    deal(ann, ids.alice, "won", 700_000, "USD", at(12, 20, year=2025), at(1, 20))
    deal(hana, ids.alice, "won", 2_500_000, "USD", at(3, 26, 12), at(3, 30, 12))
    deal(gus, ids.alice, "open", 100_000, "USD", at(3, 1), stage="lead")
    deal(ann, ids.alice, "open", 1_000_000, "USD", at(3, 1), stage="proposal")
    deal(dan, ids.bob, "open", 200_000, "EUR", at(3, 1), stage="proposal")
    deal(ben, ids.bob, "open", 400_000, "USD", at(3, 1), stage="negotiation")

    def conversation(
        who: int,
        opened: datetime,
        first: timedelta | None,
        closed: timedelta | None,
        assignee: int | None,
        need: str | None,
        satisfaction: int | None,
    ) -> int:
        row = Conversation(
            contact_id=who,
            channel="telegram",
            chat_id=str(who),
            assignee_id=assignee,
            need=need,
            opened_at=opened,
            last_message_at=opened,
            first_response_at=opened + first if first else None,
            closed_at=opened + closed if closed else None,
            status="closed" if closed else "open",
            satisfaction=satisfaction,
        )
        session.add(row)
        session.flush()
        return row.id or 0

    hour, minute = timedelta(hours=1), timedelta(minutes=1)
    c0 = conversation(cara, at(2, 20), 5 * minute, hour, ids.alice, "support", 4)
    c1 = conversation(cara, at(3, 10), 30 * minute, 2 * hour, ids.alice, "cancellation", 2)
    c2 = conversation(dan, at(3, 15, 9), 2 * hour, 24 * hour, ids.bob, "billing", 5)
    c3 = conversation(ann, at(3, 15, 14), 10 * minute, None, ids.alice, "other", None)
    c4 = conversation(eve, at(3, 25, 11), None, None, None, None, None)

    def message(
        conv: int,
        who: int,
        when: datetime,
        need: str | None,
        confidence: float | None,
        corrected: bool = False,
        direction: str = "inbound",
    ) -> None:
        session.add(
            Message(
                conversation_id=conv,
                contact_id=who,
                channel="telegram",
                direction=direction,
                text="...",
                need=need,
                need_confidence=confidence,
                need_corrected=corrected,
                sent_at=when,
                created_at=when,
                author_rep_id=ids.alice if direction == "outbound" else None,
            )
        )

    message(c0, cara, at(2, 20), "support", 0.7)
    message(c1, cara, at(3, 10), "cancellation", 0.9)
    message(c1, cara, at(3, 10, 10, 30), None, None, direction="outbound")
    message(c2, dan, at(3, 15, 9), "billing", 0.8)
    message(c3, ann, at(3, 15, 14), "other", 0.4)
    message(c3, ann, at(3, 16, 3), "billing", 1.0, corrected=True)
    message(c4, eve, at(3, 25, 11), None, None)
    session.flush()
    return ids


def add_customer(session: Session, name: str, when: datetime) -> int:
    """One contact with one activity: the smallest non-empty world."""
    row = Contact(name=name, created_at=when, updated_at=when)
    session.add(row)
    session.flush()
    session.add(Activity(contact_id=row.id or 0, kind="call", occurred_at=when, created_at=when))
    session.flush()
    return row.id or 0
