"""App Home and reminders: what a rep sees when they open Rapport's tab, the Done /
Snooze buttons there and on a reminder DM, and the hub sending reminders to Slack."""

from datetime import timedelta

from sqlmodel import select

from channels.base import Action, Address, OutgoingMessage, Reply
from crm.models import FollowUp
from tests.standins.slack_harness import REP, SlackWorld


def home_text(view: dict) -> str:
    return "\n".join(b["text"]["text"] for b in view["blocks"] if isinstance(b.get("text"), dict))


def home_buttons(view: dict) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e.get("value", ""))
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


async def open_home(world: SlackWorld, event_id: str = "EvHome1") -> dict:
    event = {"type": "app_home_opened", "user": REP, "channel": "D0ALICE", "tab": "home"}
    assert (await world.event(event, event_id=event_id)).status_code == 200
    publish = world.standin.last("views.publish")
    assert publish["user_id"] == REP and publish["view"]["type"] == "home"
    return publish["view"]


async def test_home_shows_due_work_deals_my_conversations_and_unassigned_counts(
    world: SlackWorld,
) -> None:
    await world.command("remind me to call bob in 1 hour")
    await world.command("remind me to send the contract tomorrow 9am")
    await world.command('deal Acme "50 seats" $12,000 stage proposal')
    await world.customer_writes("How much is it?", name="Jane Doe", chat_id="555")
    await world.command("assign 1 me")
    await world.customer_writes("I want a refund", name="Bob Stone", chat_id="556")
    world.rapport.services.clock.advance(timedelta(hours=2))  # type: ignore[attr-defined]

    view = await open_home(world)
    text = home_text(view)
    for heading in (
        "Due today and overdue",
        "My open deals by stage",
        "Conversations assigned to me",
        "Unassigned conversations",
    ):
        assert heading in text
    assert "🔴 overdue · *Mon 2 Mar 11:00 CET* · call bob (#1)" in text
    assert "send the contract" not in text  # due tomorrow
    assert "*proposal* (1): #1 50 seats $12,000.00" in text
    assert "Jane Doe via telegram [pricing]" in text
    assert "1 waiting — refund: 1" in text
    assert ("followup_done", "1") in home_buttons(view)
    assert ("followup_snooze", "1 1h") in home_buttons(view)


async def test_done_and_snooze_on_the_home_tab_change_the_follow_up_and_republish(
    world: SlackWorld,
) -> None:
    await world.command("remind me to call bob in 1 hour")
    await world.command("remind me to call ann in 2 hours")
    publishes = len(world.standin.calls_to("views.publish"))
    await world.click("followup_done", "1", where="home")
    await world.click("followup_snooze", "2 1h", where="home")
    assert len(world.standin.calls_to("views.publish")) == publishes + 2
    view = world.standin.last("views.publish")["view"]
    assert "call bob" not in home_text(view) and "call ann" in home_text(view)
    with world.rapport.store.transaction() as session:
        done, snoozed = session.exec(select(FollowUp).order_by(FollowUp.id)).all()
        assert done.status == "done"
        now = world.rapport.services.clock.now()
        assert snoozed.due_at == now + timedelta(hours=1)


async def test_a_refused_home_button_is_explained_by_direct_message(world: SlackWorld) -> None:
    await world.click("followup_done", "99", where="home")
    dm = world.standin.last("chat.postMessage")
    assert dm["channel"] == REP and "There is no follow-up 99" in dm["text"]


async def test_reminders_from_the_hub_are_dms_whose_done_button_replaces_them(
    world: SlackWorld,
) -> None:
    await world.command("remind me to call bob in 1 hour")
    reminder = OutgoingMessage(
        Address("slack", REP),
        Reply(
            "⏰ call bob",
            actions=(
                Action("Done", "followup_done", "1"),
                Action("Snooze 1h", "followup_snooze", "1 1h"),
            ),
        ),
        kind="reminder",
    )
    result = await world.rapport.services.hub.send(reminder)
    assert result.delivered and result.external_id.startswith("D0ALICE:")
    dm = world.standin.last("chat.postMessage")
    assert dm["channel"] == REP and dm["text"] == "⏰ call bob"
    elements = [e for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(e["action_id"], e["value"]) for e in elements] == [
        ("followup_done", "1"),
        ("followup_snooze", "1 1h"),
    ]
    await world.click("followup_done", "1", channel="D0ALICE")
    [answer] = world.standin.responded("r2")
    assert answer["replace_original"] is True and answer["text"].startswith("Done: call bob")


async def test_app_home_retries_publish_once(world: SlackWorld) -> None:
    await open_home(world, "EvSame")
    event = {"type": "app_home_opened", "user": REP, "channel": "D0ALICE", "tab": "home"}
    await world.event(event, event_id="EvSame", retry=1)
    await world.event(event, event_id="EvSame", retry=2)
    assert len(world.standin.calls_to("views.publish")) == 1


async def test_the_home_tabs_new_button_opens_the_menu(world: SlackWorld) -> None:
    await world.click("home_menu", "menu", where="home")
    view = world.standin.last("views.open")["view"]
    assert view["callback_id"] == "rapport:chooser"


async def test_two_snooze_buttons_get_unique_ids_and_each_snoozes_by_its_value(
    world: SlackWorld,
) -> None:
    await world.command("remind me to call bob in 1 hour")
    reminder = Reply(
        "⏰ call bob",
        actions=(
            Action("Snooze 1h", "followup_snooze", "1 1h"),
            Action("Tomorrow 9:00", "followup_snooze", "1 tomorrow 9:00"),
        ),
    )
    await world.rapport.services.hub.send(OutgoingMessage(Address("slack", REP), reminder))
    dm = world.standin.last("chat.postMessage")
    ids = [e["action_id"] for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert ids == ["followup_snooze:1", "followup_snooze:2"]
    await world.click("followup_snooze:2", "1 tomorrow 9:00", channel="D0ALICE")
    assert world.standin.responded("r2")[0]["text"].startswith("Snoozed 1 to Tue 3 Mar 09:00")
