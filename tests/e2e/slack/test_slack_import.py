"""An admin drops a CSV into the DM with Rapport: the dry-run report comes back with an
"Import it" button; pressing it imports. Real bolt app, signed events, the Web API
stand-in serving files.info and the private download."""

import asyncio
from pathlib import Path
from typing import Any

from sqlmodel import func, select

from crm.models import Contact
from tests.standins.slack_api import TEAM_ID
from tests.standins.slack_harness import ADMIN, REP, SlackWorld, block_texts

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "imports" / "hubspot_contacts.csv"
ADMIN_DM = "D0ROOT"


def file_share(
    world: SlackWorld, *, user: str, channel: str, file_id: str = "F0CSV1"
) -> dict[str, Any]:
    shared = world.standin.add_file(file_id, "hubspot_contacts.csv", FIXTURE.read_bytes())
    ts = "1772409100.000100"
    return {"type": "message", "subtype": "file_share", "channel": channel, "user": user,
            "text": "", "ts": ts, "event_ts": ts, "channel_type": "im", "team": TEAM_ID,
            "files": [shared]}  # fmt: skip


def contacts(world: SlackWorld) -> int:
    with world.rapport.store.transaction() as session:
        return session.exec(select(func.count()).select_from(Contact)).one()


async def posts(world: SlackWorld, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(5):
        calls = await world.standin.wait_for("chat.postMessage", count)
    return [c.args for c in calls]


async def test_an_admin_gets_the_dry_run_then_confirms_and_the_file_is_imported(
    world: SlackWorld,
) -> None:
    response = await world.event(file_share(world, user=ADMIN, channel=ADMIN_DM), event_id="EvF1")
    assert response.status_code == 200
    [report] = await posts(world, 1)
    assert report["channel"] == ADMIN_DM
    shown = "\n".join(block_texts(report["blocks"]))
    assert "Dry run, nothing written" in shown and "would create 3" in shown
    assert "Contact owner -&gt; owner" in shown and "Unknown Person" in shown  # escaped
    button = next(e for b in report["blocks"] if b["type"] == "actions" for e in b["elements"])
    assert button["action_id"].startswith("import_confirm") and button["value"] == "F0CSV1"
    assert contacts(world) == 0
    assert world.standin.downloads == ["Bearer xoxb-test"]

    await world.click("import_confirm", "F0CSV1", user=ADMIN, channel=ADMIN_DM)
    _, done = await posts(world, 2)
    assert "created 3, updated 0" in "\n".join(block_texts(done["blocks"]))
    assert done["channel"] == ADMIN_DM
    assert not any(b["type"] == "actions" for b in done["blocks"])  # no second button
    assert contacts(world) == 3


async def test_a_rep_who_is_not_admin_is_told_no_and_nothing_is_imported(
    world: SlackWorld,
) -> None:
    await world.event(file_share(world, user=REP, channel="D0ALICE"), event_id="EvF2")
    [answer] = await posts(world, 1)
    assert "Only an admin can import" in answer["text"]
    assert contacts(world) == 0


async def test_a_file_slack_cannot_serve_gets_a_friendly_answer(world: SlackWorld) -> None:
    event = file_share(world, user=ADMIN, channel=ADMIN_DM)
    world.standin.files.clear()
    await world.event(event, event_id="EvF3")
    [answer] = await posts(world, 1)
    assert "couldn't download that file" in answer["text"]
