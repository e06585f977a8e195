"""Slack is closed by default: with SLACK_TEAM_ID unset the workspace is the bot token's
own (auth.test), and signed requests from another team, or from none, are refused."""

import json
from pathlib import Path
from urllib.parse import urlencode

from sqlmodel import select

from crm.models import Contact, Conversation
from tests.standins.slack_api import TEAM_ID
from tests.standins.slack_harness import INBOX, REP, SlackWorld


def contacts(world: SlackWorld) -> list[str]:
    with world.rapport.store.transaction() as session:
        return [c.name for c in session.exec(select(Contact)).all()]


async def test_unset_team_id_pins_the_token_workspace_and_refuses_others(tmp_path: Path):
    async with SlackWorld.running(tmp_path, SLACK_TEAM_ID=None) as world:
        foreign = await world.command("add Mallory Foreign", team="T0EVIL")
        assert "only serves its own Slack workspace" in foreign.text
        fields = {"command": "/crm", "text": "add Nobody Teamless", "user_id": REP,
                  "channel_id": "C0SALES", "response_url": world.standin.response_url(),
                  "trigger_id": "trigger-x"}  # fmt: skip
        teamless = await world.post(urlencode(fields).encode(), "application/x-www-form-urlencoded")
        assert "only serves its own Slack workspace" in teamless.text
        assert contacts(world) == []
        await world.customer_writes("How much is it?", name="Jane Doe")
        with world.rapport.store.transaction() as session:
            ts = session.exec(select(Conversation)).one().inbox_ref.split(":", 1)[1]
        event = {
            "type": "message",
            "channel": INBOX,
            "user": "U0EVIL",
            "text": "pay to X",
            "ts": "1772409999.000002",
            "thread_ts": ts,
            "channel_type": "channel",
        }
        await world.event(event, event_id="EvForeign", team="T0EVIL")
        body = json.loads(world.event_body(event, event_id="EvNoTeam"))
        body.pop("team_id")
        body.pop("authorizations")
        await world.post(json.dumps(body).encode(), "application/json")
        assert world.telegram.sent == []  # nothing reached the customer
        ours = await world.command("add Real Person", team=TEAM_ID)
        assert ours.status_code == 200
        assert contacts(world) == ["Jane Doe", "Real Person"]
        assert len(world.standin.calls_to("auth.test")) >= 1


async def test_a_note_in_an_inbox_thread_stays_internal(world: SlackWorld) -> None:
    """`note: ...` in the thread is a timeline note; the customer receives nothing."""
    from crm.models import Activity

    await world.customer_writes("How much is it?", name="Jane Doe")
    with world.rapport.store.transaction() as session:
        ts = session.exec(select(Conversation)).one().inbox_ref.split(":", 1)[1]
    for n, text in enumerate(["note: she is a reseller, quote the partner price",
                              "NOTE:second thought", "  Note :  third"]):  # fmt: skip
        event = {
            "type": "message",
            "channel": INBOX,
            "user": REP,
            "text": text,
            "ts": f"1772409999.00001{n}",
            "thread_ts": ts,
            "channel_type": "channel",
        }
        assert (await world.event(event, event_id=f"EvNote{n}")).status_code == 200
        answer = world.standin.last("chat.postMessage")
        assert answer["thread_ts"] == ts and "not sent to the customer" in answer["text"]
    assert world.telegram.sent == []
    with world.rapport.store.transaction() as session:
        notes = session.exec(select(Activity).where(Activity.kind == "note")).all()
    assert [a.text for a in notes] == [
        "she is a reseller, quote the partner price",
        "second thought",
        "third",
    ]
    relayed = {
        "type": "message",
        "channel": INBOX,
        "user": REP,
        "text": "notes are ready",
        "ts": "1772409999.000020",
        "thread_ts": ts,
        "channel_type": "channel",
    }
    await world.event(relayed, event_id="EvRelay")
    assert [m.reply.text for m in world.telegram.sent] == ["notes are ready"]
    assert world.standin.last("chat.postMessage")["text"].startswith("✓ Delivered")
