"""The weekly summary (posted once, whatever the number of workers) and nightly retraining."""

from collections.abc import Iterator

import pytest
from sqlmodel import select

from bot.app import RapportApp
from bot.outbound.periodic import post_weekly_summary, retrain_classifier
from channels.base import OutgoingMessage, SendResult
from crm import conversations
from crm.clock import ManualClock
from crm.identities import resolve_customer
from crm.models import NeedCorrection, ProcessedEvent
from tests.factories import build_rapport
from tests.standins.outbox_channels import standard_traits


class RecordingSlack:
    name = "slack"
    traits = standard_traits("slack")

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, message: OutgoingMessage) -> SendResult:
        self.sent.append(message)
        return SendResult(delivered=True, external_id=str(len(self.sent)))


@pytest.fixture
def rapport(tmp_path, clock) -> Iterator[RapportApp]:  # type: ignore[no-untyped-def]
    """SQLite only (the default file in the data dir): a second worker shares its settings."""
    app = build_rapport(tmp_path, clock, RAPPORT_SLACK_REPORTS_CHANNEL="C0REPORTS")
    yield app
    app.close()


async def test_weekly_summary_is_posted_once_per_week_with_charts(
    rapport: RapportApp, clock: ManualClock
) -> None:
    slack = RecordingSlack()
    rapport.services.hub.register(slack)
    second_worker = RapportApp.build(rapport.settings, clock=clock)
    second_worker.services.hub.register(slack)
    assert await post_weekly_summary(rapport.services) == 4
    assert await post_weekly_summary(second_worker.services) == 0  # same ISO week: skipped
    second_worker.close()
    titles = [m.reply.text.splitlines()[0] for m in slack.sent]
    assert [t.split(" as of")[0].split(":")[0] for t in titles] == [
        "Pipeline", "Needs", "Inbox", "Customer value"
    ]  # fmt: skip
    assert "not enough data" in slack.sent[3].reply.text  # an empty store says why
    assert all(m.address.chat_id == "C0REPORTS" and m.reply.public for m in slack.sent)
    assert slack.sent[0].reply.image is not None  # the pipeline chart
    clock.advance(days=7)
    assert await post_weekly_summary(rapport.services) == 4


class FlakySlack(RecordingSlack):
    """Refuses posts whose text starts with one of `failing` (a report title), as told."""

    def __init__(self, failing: tuple[str, ...], *, permanent: bool = False) -> None:
        super().__init__()
        self.failing, self.permanent = failing, permanent

    async def send(self, message: OutgoingMessage) -> SendResult:
        if message.reply.text.startswith(self.failing):
            error = "channel_not_found" if self.permanent else "HTTP 503"
            return SendResult(delivered=False, error=error, permanent=self.permanent)
        return await super().send(message)


async def test_a_report_that_failed_to_post_is_posted_by_the_next_run_and_only_it(
    rapport: RapportApp, clock: ManualClock
) -> None:
    slack = FlakySlack(failing=("Needs",))
    rapport.services.hub.register(slack)
    assert await post_weekly_summary(rapport.services) == 3  # Slack refused "Needs" (503)
    slack.failing = ()  # Slack is back
    clock.advance(hours=1)
    assert await post_weekly_summary(rapport.services) == 1
    assert await post_weekly_summary(rapport.services) == 0  # the whole week is posted now
    titles = [m.reply.text.split(" as of")[0].split(":")[0] for m in slack.sent]
    assert titles == ["Pipeline", "Inbox", "Customer value", "Needs"]


async def test_a_permanent_refusal_is_logged_and_not_retried(
    rapport: RapportApp, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    slack = FlakySlack(failing=("Inbox",), permanent=True)
    rapport.services.hub.register(slack)
    assert await post_weekly_summary(rapport.services) == 3
    clock.advance(hours=1)
    assert await post_weekly_summary(rapport.services) == 0
    assert "weekly inbox report not posted, not retried error=channel_not_found" in caplog.text


async def test_a_week_claimed_whole_by_an_earlier_version_is_not_posted_again(
    rapport: RapportApp,
) -> None:
    slack = RecordingSlack()
    rapport.services.hub.register(slack)
    week = rapport.services.clock.now().strftime("%G-W%V")
    with rapport.store.transaction() as session:
        session.add(ProcessedEvent(source="weekly-report", event_id=week,
                                   at=rapport.services.clock.now()))  # fmt: skip
    assert await post_weekly_summary(rapport.services) == 0
    assert slack.sent == []


async def test_nothing_is_posted_without_slack(rapport: RapportApp) -> None:
    assert await post_weekly_summary(rapport.services) == 0


@pytest.mark.slow
async def test_nightly_retraining_learns_reps_corrections(rapport: RapportApp, clock) -> None:  # type: ignore[no-untyped-def]
    with rapport.store.transaction() as session:
        who = resolve_customer(
            session, channel="shell", external_id="c", display_name="Carol", now=clock.now()
        )
        result = conversations.record_inbound(
            session,
            contact=who.contact,
            channel="shell",
            chat_id="c",
            text="my parcel from you has been sitting in customs for a week",
            sent_at=clock.now(),
            now=clock.now(),
            need="other",
            need_confidence=0.2,
        )
        session.add(
            NeedCorrection(
                message_id=result.message.id,
                text=result.message.text,
                old_need="other",
                new_need="order_status",
                created_at=clock.now(),
            )
        )
    assert await retrain_classifier(rapport.services) is True
    assert rapport.services.classifier is not None
    with rapport.store.transaction() as session:
        assert len(session.exec(select(NeedCorrection)).all()) == 1
    prediction = rapport.services.classifier.predict(
        "my parcel from you has been sitting in customs for a week"
    )
    assert prediction.need == "order_status"
