"""Modals end to end: the chooser, the contact card's buttons, every form's submission
(with field-level errors on the ack) and the "Log to CRM" message shortcut."""

import json

import pytest
from sqlmodel import select

from crm.models import Activity, Contact, Deal, FollowUp
from tests.standins.slack_harness import REP, SlackWorld


def answer_meta(world: SlackWorld, key: str = "r9") -> str:
    return json.dumps({"response_url": world.standin.response_url(key), "channel": "C0SALES"})


def block(view: dict, block_id: str) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


async def add_jane(world: SlackWorld) -> None:
    await world.command("add Jane Doe jane@acme.com at Acme", key="r0")


async def test_a_chooser_button_swaps_in_its_form_keeping_where_to_answer(
    world: SlackWorld,
) -> None:
    await world.click("choose:new_deal", "new_deal", where='{"response_url":"u"}')
    update = world.standin.last("views.update")
    assert update["view_id"] == "VMODAL" and update["hash"] == "h"
    assert update["view"]["callback_id"] == "rapport:new_deal"
    assert update["view"]["private_metadata"] == '{"response_url":"u"}'
    stages = [o["value"] for o in block(update["view"], "stage")["element"]["options"]]
    assert stages == ["lead", "qualified", "proposal", "negotiation"]


@pytest.mark.parametrize(
    ("button", "form", "prefilled"),
    [
        ("contact_log_call", "rapport:log_activity", ("kind", "call")),
        ("contact_add_note", "rapport:log_activity", ("kind", "note")),
        ("contact_remind", "rapport:reminder", ("text", "Follow up with Jane Doe (#1)")),
        ("contact_open_deal", "rapport:new_deal", None),
    ],
)
async def test_each_contact_button_opens_its_form_prefilled_with_the_contact(
    world: SlackWorld, button: str, form: str, prefilled: tuple[str, str] | None
) -> None:
    await add_jane(world)
    await world.click(button, "#1")
    view = world.standin.last("views.open")["view"]
    assert view["callback_id"] == form
    if form != "rapport:reminder":
        chosen = block(view, "contact")["element"]["initial_option"]
        assert chosen == {"text": {"type": "plain_text", "text": "Jane Doe (#1)", "emoji": True},
                          "value": "#1"}  # fmt: skip
    if prefilled and prefilled[0] == "kind":
        assert block(view, "kind")["element"]["initial_option"]["value"] == prefilled[1]
    elif prefilled:
        assert block(view, "text")["element"]["initial_value"] == prefilled[1]


async def test_add_contact_form_creates_the_contact_and_answers_where_it_was_opened(
    world: SlackWorld,
) -> None:
    values = {"name": "Jane Doe", "email": "jane@acme.com", "phone": "", "company": "Acme",
              "tags": "vip, lead"}  # fmt: skip
    response = await world.submit("add_contact", values, meta=answer_meta(world))
    assert response.status_code == 200 and response.text == ""  # the modal closes
    [answer] = world.standin.responded("r9")
    assert answer["text"].startswith("Added #1 Jane Doe (Acme)")
    with world.rapport.store.transaction() as session:
        contact = session.exec(select(Contact)).one()
        assert contact.tags == ["vip", "lead"] and contact.created_via == "slack"


async def test_add_contact_form_shows_a_bad_email_and_a_duplicate_on_their_fields(
    world: SlackWorld,
) -> None:
    bad = await world.submit("add_contact", {"name": "Jane", "email": "jane@", "phone": "12"})
    body = bad.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {"email", "phone"}
    assert "not a valid email" in body["errors"]["email"]
    await add_jane(world)
    twin = await world.submit("add_contact", {"name": "J. Doe", "email": "JANE@acme.com"})
    assert "Jane Doe (#1) already has that email" in twin.json()["errors"]["email"]
    with world.rapport.store.transaction() as session:
        assert len(session.exec(select(Contact)).all()) == 1
    assert world.standin.responded("r9") == []


async def test_log_activity_form_logs_and_schedules_the_follow_up(world: SlackWorld) -> None:
    await add_jane(world)
    values = {
        "contact": "#1",
        "kind": "call",
        "text": "wants pricing",
        "follow_up": "tomorrow 10am",
    }
    response = await world.submit("log_activity", values, meta=answer_meta(world))
    assert response.text == ""
    assert "Logged call with Jane Doe (#1)" in world.standin.responded("r9")[0]["text"]
    with world.rapport.store.transaction() as session:
        assert session.exec(select(Activity)).one().kind == "call"
        assert session.exec(select(FollowUp)).one().kind == "reminder"
    assert world.standin.calls_to("views.publish")  # the home tab follows


async def test_log_activity_form_errors_name_the_contact_and_the_follow_up(
    world: SlackWorld,
) -> None:
    await add_jane(world)
    values = {"contact": "", "kind": "call", "text": "", "follow_up": "yesterday"}
    errors = (await world.submit("log_activity", values)).json()["errors"]
    assert set(errors) == {"contact", "text", "follow_up"}
    assert "in the past" in errors["follow_up"]
    gone = {"contact": "#99", "kind": "note", "text": "hello"}
    assert (
        "no longer exists" in (await world.submit("log_activity", gone)).json()["errors"]["contact"]
    )


async def test_new_deal_form_creates_the_deal_with_amount_and_stage(world: SlackWorld) -> None:
    await add_jane(world)
    values = {"contact": "#1", "company": "", "title": "50 seats", "amount": "$12,000",
              "stage": "proposal", "close": "end of month"}  # fmt: skip
    await world.submit("new_deal", values, meta=answer_meta(world))
    with world.rapport.store.transaction() as session:
        deal = session.exec(select(Deal)).one()
        assert (deal.title, deal.amount_minor, deal.stage) == ("50 seats", 1_200_000, "proposal")
        assert deal.contact_id == 1 and deal.expected_close is not None


async def test_new_deal_form_errors_for_no_party_and_a_bad_amount(world: SlackWorld) -> None:
    values = {"contact": "", "company": "", "title": "", "amount": "lots", "close": "blurgh"}
    errors = (await world.submit("new_deal", values)).json()["errors"]
    assert set(errors) == {"contact", "title", "amount", "close"}
    assert "isn't an amount" in errors["amount"]
    with world.rapport.store.transaction() as session:
        assert session.exec(select(Deal)).all() == []


async def test_reminder_form_schedules_and_rejects_an_unreadable_time(world: SlackWorld) -> None:
    bad = await world.submit("reminder", {"text": "call bob", "when": "when pigs fly"})
    assert set(bad.json()["errors"]) == {"when"}
    ok = await world.submit("reminder", {"text": "call bob", "when": "tomorrow 9am"})
    assert ok.text == ""
    # No response_url (opened from the home tab): the answer is a direct message.
    dm = world.standin.last("chat.postMessage")
    assert dm["channel"] == REP and "I'll remind you" in dm["text"]
    with world.rapport.store.transaction() as session:
        assert session.exec(select(FollowUp)).one().text == "call bob"


async def test_contact_select_options_come_from_the_crm_search(world: SlackWorld) -> None:
    await add_jane(world)
    await world.command("add Bob Stone bob@stone.io", key="r0b")
    response = await world.suggest("jane")
    options = response.json()["options"]
    assert [o["value"] for o in options] == ["#1"]
    assert options[0]["text"]["text"].startswith("#1 Jane Doe (Acme)")


async def test_log_to_crm_shortcut_saves_a_note_with_a_permalink(world: SlackWorld) -> None:
    await add_jane(world)
    await world.shortcut("Jane says the <https://acme.com/po|PO> is signed &amp; sent")
    view = world.standin.last("views.open")["view"]
    assert view["callback_id"] == "rapport:log_message"
    text = block(view, "text")["element"]["initial_value"]
    assert text == "Jane says the PO (https://acme.com/po) is signed & sent"
    response = await world.submit(
        "log_message", {"contact": "#1", "text": text}, meta=view["private_metadata"]
    )
    assert response.text == ""
    assert world.standin.last("chat.getPermalink")["message_ts"] == "1772400000.000100"
    with world.rapport.store.transaction() as session:
        note = session.exec(select(Activity)).one()
        assert note.kind == "note" and note.text == text
        assert note.source_url == (
            "https://rapport-test.slack.com/archives/C0SALES/p1772400000000100"
        )
    assert "Saved a note on Jane Doe (#1)" in world.standin.responded("r3")[0]["text"]


async def test_log_to_crm_requires_a_contact(world: SlackWorld) -> None:
    response = await world.submit("log_message", {"contact": "", "text": "hi"})
    assert response.json()["errors"] == {"contact": "Pick a contact."}
