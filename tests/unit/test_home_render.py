"""App Home renders values: `render_home` gets a `crm.views.HomeView` and no session, so
its sections are checked here on rows built in memory (the reads are checked through the
real Slack stand-in in tests/e2e/slack/test_slack_home.py)."""

from datetime import UTC, datetime, timedelta

from bot.slack.home import PER_SECTION, render_home
from crm.enums import Direction, FollowUpKind, FollowUpStatus
from crm.models import Contact, Conversation, Deal, FollowUp, Message
from crm.views import HomeView

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Mon 2 Mar, 10:00 in Berlin
STAGES = ["lead", "proposal"]


def follow_up(n: int, due: datetime, text: str = "call bob") -> FollowUp:
    return FollowUp(
        id=n, kind=FollowUpKind.REMINDER, due_at=due, text=text,
        status=FollowUpStatus.PENDING, created_at=NOW, updated_at=NOW, dedupe_key=f"k{n}",
    )  # fmt: skip


def deal(n: int, stage: str, amount_minor: int = 1_200_000) -> Deal:
    return Deal(id=n, title=f"deal {n}", stage=stage, amount_minor=amount_minor, currency="USD",
                created_at=NOW, updated_at=NOW, stage_changed_at=NOW)  # fmt: skip


def empty(**values: object) -> HomeView:
    base: dict[str, object] = {"due": [], "deals": [], "mine": [], "unassigned": []}
    return HomeView(**{**base, **values})  # type: ignore[arg-type]


def test_an_empty_home_says_so_in_each_section() -> None:
    sections = render_home(empty(), tz="Europe/Berlin", now=NOW, stages=STAGES)
    assert [(heading, [r.text for r in rows]) for heading, rows in sections] == [
        ("Due today and overdue", ["Nothing due today."]),
        ("My open deals by stage", ["No open deals. `/crm deal ...` adds one."]),
        ("Conversations assigned to me", ["None assigned to you."]),
        ("Unassigned conversations", ["None waiting."]),
    ]


def test_due_rows_flag_the_overdue_carry_buttons_and_stop_at_the_section_size() -> None:
    due = [follow_up(1, NOW - timedelta(hours=1))] + [
        follow_up(n, NOW + timedelta(hours=n)) for n in range(2, PER_SECTION + 3)
    ]
    (heading, rows), *_ = render_home(empty(due=due), tz="Europe/Berlin", now=NOW, stages=STAGES)
    assert heading == "Due today and overdue"
    assert rows[0].text.startswith("🔴 overdue · *") and rows[0].text.endswith("call bob (#1)")
    assert "overdue" not in rows[1].text
    assert [(a.action_id, a.value) for a in rows[0].actions] == [
        ("followup_done", "1"), ("followup_snooze", "1 1h"),
    ]  # fmt: skip
    assert len(rows) == PER_SECTION + 1 and rows[-1].text == "…and 2 more: `/crm followups`."


def test_deals_go_by_pipeline_order_then_unknown_stages_and_list_five() -> None:
    deals = [deal(n, "proposal") for n in range(1, 8)] + [deal(8, "lead"), deal(9, "zombie")]
    _, (_, rows), *_ = render_home(empty(deals=deals), tz="UTC", now=NOW, stages=STAGES)
    assert [r.text.split(" (")[0] for r in rows] == ["*lead*", "*proposal*", "*zombie*"]
    assert rows[1].text.startswith("*proposal* (7): #1 deal 1 $12,000.00;")
    assert rows[1].text.endswith("and 2 more")


def test_my_conversations_and_the_unassigned_counts() -> None:
    conversation = Conversation(
        id=4, contact_id=1, channel="telegram", chat_id="555", need="billing_issue",
        opened_at=NOW, last_message_at=NOW,
    )  # fmt: skip
    jane = Contact(id=1, name="Jane Doe", created_at=NOW, updated_at=NOW)
    last = Message(conversation_id=4, contact_id=1, channel="telegram", direction=Direction.INBOUND,
                   kind="text", text="where is it?",
                   sent_at=NOW, created_at=NOW)  # fmt: skip
    view = empty(mine=[(conversation, jane, last)], unassigned=[(None, 1), ("refund", 3)])
    *_, (_, mine), (_, unassigned) = render_home(view, tz="UTC", now=NOW, stages=STAGES)
    assert mine[0].text.startswith("*4.* Jane Doe via telegram [billing issue], ")
    assert mine[0].text.endswith(": where is it?")
    assert [r.text for r in unassigned] == [
        "4 waiting — refund: 3 · untagged: 1. `/crm inbox unassigned` lists them."
    ]
