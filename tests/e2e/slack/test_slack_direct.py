"""Commands typed in a DM with Rapport, end to end: signed `message` events to the real
bolt app on Rapport's server; answers read from the Web API stand-in's record."""

import itertools
from typing import Any

import pytest
from sqlmodel import select

from crm.models import AuditLog, Contact, ContactPoint, ProcessedEvent
from tests.standins.slack_api import BOT_ID, BOT_USER_ID, TEAM_ID
from tests.standins.slack_harness import ADMIN, REP, SlackWorld, answer_with_a_chart

REP_DM = "D0ALICE"  # the stand-in's IM id for U0ALICE
ADMIN_DM = "D0ROOT"
_ts = itertools.count(1)


def dm(text: str, *, user: str = REP, channel: str = REP_DM, **extra: Any) -> dict[str, Any]:
    """A `message.im` event as Slack sends it for a person's new line."""
    ts = f"{1_772_409_000 + next(_ts)}.000100"
    event = {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
             "event_ts": ts, "channel_type": "im", "team": TEAM_ID}  # fmt: skip
    return event | extra


def posted(world: SlackWorld) -> list[dict[str, Any]]:
    return [call.args for call in world.standin.calls_to("chat.postMessage")]


def contacts(world: SlackWorld) -> list[tuple[str, str]]:
    """(name, email) of every contact in the database."""
    with world.rapport.store.transaction() as session:
        rows = session.exec(
            select(Contact.name, ContactPoint.value)
            .join(ContactPoint, isouter=True)
            .where((ContactPoint.kind == "email") | (ContactPoint.id.is_(None)))  # type: ignore[union-attr]
        ).all()
        return [(name, email) for name, email in rows]


async def test_a_dm_add_creates_the_contact_and_answers_in_that_dm(world: SlackWorld) -> None:
    text = "add Jane Doe <mailto:jane@acme.com|jane@acme.com>"  # how Slack sends an email
    response = await world.event(dm(text), event_id="EvDm1")
    assert response.status_code == 200
    assert contacts(world) == [("Jane Doe", "jane@acme.com")]
    [answer] = posted(world)
    assert answer["channel"] == REP_DM and "thread_ts" not in answer
    assert "Jane Doe" in answer["text"] and answer["blocks"][0]["type"] == "section"
    assert world.standin.responses == []  # no response_url: the DM itself is the answer
    with world.rapport.store.transaction() as session:
        row = session.exec(select(AuditLog).where(AuditLog.action == "contact.create")).one()
        assert row.actor.endswith(f"/slack:{REP}") and row.channel == "slack"


async def test_a_dm_in_a_thread_is_answered_in_that_thread_and_a_typed_crm_is_dropped(
    world: SlackWorld,
) -> None:
    await world.event(dm("add Jane Doe jane@acme.com"), event_id="EvDm1")
    event = dm("/crm find jane", thread_ts="1772408000.000001")
    await world.event(event, event_id="EvDm2")
    answer = posted(world)[-1]
    assert answer["channel"] == REP_DM and answer["thread_ts"] == "1772408000.000001"
    assert "#1 Jane Doe" in answer["text"]


async def test_bot_messages_edits_deletes_and_channel_messages_are_not_commands(
    world: SlackWorld,
) -> None:
    add = "add Mallory Bot mallory@evil.com"
    ignored = [
        dm(add, user=BOT_USER_ID, bot_id=BOT_ID),  # Rapport's own reply, echoed back
        dm(add, user="U0OTHERBOT", bot_id="B0OTHER"),  # another app's bot user
        {k: v for k, v in dm(add, subtype="bot_message", bot_id="B0OTHER").items() if k != "user"},
        dm(add, subtype="message_changed", message={"user": REP, "text": add}),
        dm(add, subtype="message_deleted"),
        dm(add, subtype="channel_join"),
        dm(add, channel="C0SALES", channel_type="channel"),  # a public channel
        dm(add, channel="G0PRIVATE", channel_type="group"),
        dm(add, channel="G0MPIM", channel_type="mpim"),
    ]
    for number, event in enumerate(ignored):
        assert (await world.event(event, event_id=f"EvIgnored{number}")).status_code == 200
    assert posted(world) == [] and contacts(world) == []
    assert world.standin.calls_to("users.info") == []  # nobody became a rep either

    await world.event(dm("help"), event_id="EvReal")  # the same app does answer a person
    [answer] = posted(world)
    assert answer["channel"] == REP_DM and contacts(world) == []


async def test_a_retried_dm_event_runs_the_command_once(world: SlackWorld) -> None:
    event = dm("add Jane Doe jane@acme.com")
    for retry in (None, 1, 2):
        assert (await world.event(event, event_id="EvDmRetry", retry=retry)).status_code == 200
    assert contacts(world) == [("Jane Doe", "jane@acme.com")]
    assert len(posted(world)) == 1
    with world.rapport.store.transaction() as session:
        [row] = session.exec(select(ProcessedEvent)).all()
        assert (row.source, row.event_id) == ("slack", "EvDmRetry")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("frobnicate jane", "I don't know 'frobnicate'."),
        ("add @@@", "Usage: add"),
        ("log call with", "Usage: log"),
    ],
)
async def test_a_malformed_dm_gets_the_friendly_slash_command_error(
    world: SlackWorld, text: str, expected: str
) -> None:
    await world.command(text)
    [slash] = world.standin.responded()
    await world.event(dm(text), event_id="EvBad")
    [answer] = posted(world)
    assert answer["channel"] == REP_DM
    assert expected in answer["text"] and answer["text"] == slash["text"]
    assert "Traceback" not in answer["text"] and "Error" not in answer["text"]
    assert contacts(world) == []


async def test_an_admin_only_command_in_a_dm_is_refused_to_a_rep_as_with_slash_crm(
    world: SlackWorld,
) -> None:
    await world.event(dm("add Jane Doe jane@acme.com"), event_id="EvDm1")
    await world.event(dm("delete #1"), event_id="EvDm2")
    refusal = posted(world)[-1]
    assert refusal["channel"] == REP_DM and "Only an admin can" in refusal["text"]
    assert contacts(world) == [("Jane Doe", "jane@acme.com")]

    await world.event(dm("delete #1", user=ADMIN, channel=ADMIN_DM), event_id="EvDm3")
    question = posted(world)[-1]
    assert question["text"].startswith("Delete #1 Jane Doe") and "yes" in question["text"]
    assert contacts(world) == [("Jane Doe", "jane@acme.com")]
    await world.event(dm("yes", user=ADMIN, channel=ADMIN_DM), event_id="EvDm4")
    done = posted(world)[-1]
    assert done["channel"] == ADMIN_DM and done["text"].startswith("Deleted #1 Jane Doe")
    assert contacts(world) == []
    with world.rapport.store.transaction() as session:
        row = session.exec(select(AuditLog).where(AuditLog.action == "contact.delete")).one()
        assert row.actor.endswith(f"/slack:{ADMIN}") and row.channel == "slack"


async def test_an_ambiguous_name_in_a_dm_is_finished_by_typing_the_number(
    world: SlackWorld,
) -> None:
    await world.event(dm("add Jane Doe jane@acme.com"), event_id="EvDm1")
    await world.event(dm("add Jane Dobbs jd@other.com"), event_id="EvDm2")
    await world.event(dm("note jan: prefers email"), event_id="EvDm3")
    question = posted(world)[-1]
    assert "Which one?" in question["text"]
    await world.event(dm("2"), event_id="EvDm4")
    assert "Logged note with Jane Dobbs (#2)" in posted(world)[-1]["text"]


async def test_a_chart_asked_for_in_a_dm_is_uploaded_into_that_dm(
    world: SlackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    png = answer_with_a_chart(world.rapport, monkeypatch)
    await world.event(dm("report pipeline"), event_id="EvChart")
    assert list(world.standin.uploads.values()) == [png]
    complete = world.standin.last("files.completeUploadExternal")
    assert complete["channel_id"] == REP_DM and complete["initial_comment"] == "Pipeline by stage"
    assert world.standin.calls_to("conversations.open") == []
