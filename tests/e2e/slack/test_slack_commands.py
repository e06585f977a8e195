"""`/crm` end to end: signed HTTP requests to the real bolt app on Rapport's server,
the Web API and response_url answered by the stand-in."""

import json

import pytest
from sqlmodel import select

from crm.models import AuditLog, Contact, Rep
from tests.standins.slack_harness import ADMIN, DEALS, REP, SlackWorld, answer_with_a_chart


def texts(world: SlackWorld, key: str = "r1") -> list[str]:
    return [body["text"] for body in world.standin.responded(key)]


async def test_text_command_answers_ephemerally_with_the_dispatcher_reply(
    world: SlackWorld,
) -> None:
    response = await world.command("help log")
    assert response.status_code == 200
    [answer] = world.standin.responded()
    assert answer["response_type"] == "ephemeral"
    assert "log call|meeting|email|note" in answer["text"]
    assert answer["blocks"][0]["type"] == "section"


def buttons(blocks: list[dict]) -> dict[str, str]:
    """action_id -> value of every button in a message."""
    return {
        element["action_id"]: element.get("value", "")
        for block in blocks
        if block["type"] == "actions"
        for element in block["elements"]
    }


async def test_contact_card_renders_fields_timeline_and_its_four_buttons(
    world: SlackWorld,
) -> None:
    await world.customer_writes("How much is the pro plan?", name="Jane Doe")
    await world.command("tag #1 #vip")
    await world.command("log call with #1: wants pricing for 50 seats")
    await world.command("show #1", key="r2")
    [answer] = world.standin.responded("r2")
    blocks = answer["blocks"]
    fields = [f["text"] for b in blocks if "fields" in b for f in b["fields"]]
    assert "*Tags*\n#vip" in fields and "*Owner*\n-" in fields
    [recent] = [
        b["text"]["text"] for b in blocks if b.get("text", {}).get("text", "")[:8] == "*Recent*"
    ]
    assert "call: wants pricing for 50 seats" in recent
    assert "inbound [pricing 87%]: How much is the pro plan?" in recent
    assert buttons(blocks) == {
        "contact_log_call": "#1",
        "contact_add_note": "#1",
        "contact_remind": "#1",
        "contact_open_deal": "#1",
    }


async def test_a_new_workspace_member_becomes_a_rep_from_their_profile_once(
    world: SlackWorld,
) -> None:
    await world.command("followups")
    await world.command("pipeline")
    assert len(world.standin.calls_to("users.info")) == 1
    with world.rapport.store.transaction() as session:
        [rep] = session.exec(select(Rep)).all()
        assert (rep.name, rep.timezone, rep.role) == ("Alice Martin", "Europe/Paris", "rep")


async def test_a_won_deal_is_announced_in_channel_and_in_the_deals_channel(
    world: SlackWorld,
) -> None:
    await world.command('deal Acme "50 seats" $12,000 stage proposal')
    await world.command("won #1 great demo", key="r2")
    [answer] = world.standin.responded("r2")
    assert answer["response_type"] == "in_channel"
    notice = world.standin.last("chat.postMessage")
    assert notice["channel"] == DEALS and "Deal won" in notice["text"]


async def test_crm_alone_opens_the_chooser_and_add_alone_the_contact_form(
    world: SlackWorld,
) -> None:
    await world.command("")
    await world.command("add")
    await world.command("deal")
    chooser, add, deal = (call.args["view"] for call in world.standin.calls_to("views.open"))
    assert deal["callback_id"] == "rapport:new_deal"
    assert chooser["callback_id"] == "rapport:chooser"
    assert {e["action_id"] for e in chooser["blocks"][1]["elements"]} == {
        "choose:add_contact",
        "choose:log_activity",
        "choose:new_deal",
        "choose:reminder",
    }
    assert add["callback_id"] == "rapport:add_contact"
    assert json.loads(add["private_metadata"])["response_url"].endswith("/respond/r1")
    assert world.standin.responded() == []  # no usage error: a form instead


async def test_delete_is_refused_to_a_rep_and_done_for_an_admin_with_an_audit_label(
    world: SlackWorld,
) -> None:
    await world.command("add Jane Doe jane@acme.com")
    await world.command("delete #1", key="r2")
    assert "Only an admin can" in texts(world, "r2")[0]
    await world.command("delete #1", user=ADMIN, key="r3")
    [question] = world.standin.responded("r3")
    assert question["text"].startswith("Delete #1 Jane Doe")
    assert buttons(question["blocks"]) == {"confirm_pending:1": "yes", "confirm_pending:2": "no"}
    await world.click("confirm_pending:1", "yes", user=ADMIN, key="r4")
    assert texts(world, "r4")[0].startswith("Deleted #1 Jane Doe")
    with world.rapport.store.transaction() as session:
        assert session.exec(select(Contact)).all() == []
        row = session.exec(select(AuditLog).where(AuditLog.action == "contact.delete")).one()
        assert row.actor.endswith(f"/slack:{ADMIN}") and row.channel == "slack"
        created = session.exec(select(AuditLog).where(AuditLog.action == "contact.create")).one()
        assert created.actor.endswith(f"/slack:{REP}")


async def test_an_ambiguous_name_offers_numbered_buttons_that_finish_the_command(
    world: SlackWorld,
) -> None:
    await world.command("add Jane Doe jane@acme.com")
    await world.command("add Jane Dobbs jd@other.com")
    await world.command("note jan: prefers email", key="r2")
    [question] = world.standin.responded("r2")
    assert "Which one?" in question["text"]
    ids = list(buttons(question["blocks"]))
    assert ids[:2] == ["pick_candidate:1", "pick_candidate:2"]
    await world.click(ids[1], "2", key="r3")
    assert "Logged note with Jane Dobbs (#2)" in texts(world, "r3")[0]


async def test_a_chart_is_uploaded_to_the_reps_dm_with_files_upload_v2(
    world: SlackWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    png = answer_with_a_chart(world.rapport, monkeypatch)
    await world.command("report pipeline")
    assert world.standin.last("conversations.open")["users"] == REP
    assert list(world.standin.uploads.values()) == [png]
    complete = world.standin.last("files.completeUploadExternal")
    assert complete["channel_id"] == "D0ALICE"
    assert "The chart is in your messages" in texts(world)[0]


async def test_find_results_have_buttons_that_show_the_card(world: SlackWorld) -> None:
    await world.command("add Jane Doe jane@acme.com at Acme")
    await world.command("find acme", key="r2")
    [found] = world.standin.responded("r2")
    assert buttons(found["blocks"]) == {"show_contact": "#1"}
    await world.click("show_contact", "#1", key="r3")
    [card] = world.standin.responded("r3")
    assert card["text"].startswith("#1 Jane Doe (Acme)") and "contact_log_call" in buttons(
        card["blocks"]
    )


async def test_slack_entities_in_command_text_are_read_as_typed(world: SlackWorld) -> None:
    """Slack sends a typed `&` as `&amp;` in slash-command text: the contact must be
    called "Jane & Co", not "Jane &amp; Co"."""
    await world.command("add Jane &amp; Co jane@acme.com")
    with world.rapport.store.transaction() as session:
        assert [c.name for c in session.exec(select(Contact))] == ["Jane & Co"]
