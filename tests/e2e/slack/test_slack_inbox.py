"""The customer inbox in Slack: a Telegram customer's conversation becomes one post,
later messages go to its thread, a rep's thread reply reaches the customer, and
Assign / Change need / Close edit the post in place."""

from sqlmodel import select

from crm.models import Conversation, Message, NeedCorrection
from tests.standins.slack_harness import INBOX, REP, SlackWorld


def elements(blocks: list[dict]) -> dict[str, dict]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def all_text(blocks: list[dict]) -> str:
    parts = []
    for b in blocks:
        if "text" in b and isinstance(b["text"], dict):
            parts.append(b["text"]["text"])
        parts.extend(f["text"] for f in b.get("fields", []))
    return "\n".join(parts)


def post_ts(world: SlackWorld) -> str:
    with world.rapport.store.transaction() as session:
        ref = session.exec(select(Conversation)).one().inbox_ref
    assert ref is not None and ref.startswith(f"{INBOX}:")
    return ref.split(":", 1)[1]


async def test_a_new_conversation_is_one_post_and_later_messages_go_to_its_thread(
    world: SlackWorld,
) -> None:
    await world.customer_writes("Hi, how much is the pro plan for 50 seats?", name="Jane Doe")
    post = world.standin.last("chat.postMessage")
    assert post["channel"] == INBOX and "thread_ts" not in post
    text = all_text(post["blocks"])
    assert "Jane Doe via telegram [pricing (87%)]" in text
    assert ">Hi, how much is the pro plan for 50 seats?" in text
    assert "*Assigned to*\nnobody" in text
    actions = elements(post["blocks"])
    assert set(actions) == {"inbox_assign", "inbox_need", "inbox_close"}
    assert actions["inbox_need"]["initial_option"]["value"] == "1:pricing"
    assert "confirm" in actions["inbox_close"]
    ts = post_ts(world)

    await world.customer_writes("Also, can I get a refund on the old plan?", name="Jane Doe")
    posts = world.standin.calls_to("chat.postMessage")
    assert len(posts) == 2
    thread = posts[-1].args
    assert thread["channel"] == INBOX and thread["thread_ts"] == ts
    assert "Jane Doe wrote [refund (91%)] (msg " in all_text(thread["blocks"])


async def test_a_reps_thread_reply_reaches_the_customer_and_the_thread_shows_a_tick(
    world: SlackWorld,
) -> None:
    await world.customer_writes("How much is it?", name="Jane Doe")
    ts = post_ts(world)
    event = {"type": "message", "channel": INBOX, "user": REP, "text": "It's *$10* a seat &amp; "
             "<https://acme.com/pricing|here>", "ts": "1772409999.000001", "thread_ts": ts,
             "channel_type": "channel"}  # fmt: skip
    response = await world.event(event, event_id="Ev1")
    assert response.status_code == 200
    [sent] = world.telegram.sent
    assert sent.address.chat_id == "555"
    assert sent.reply.text == "It's *$10* a seat & here (https://acme.com/pricing)"
    note = world.standin.last("chat.postMessage")
    assert note["thread_ts"] == ts and note["text"] == "✓ Delivered to Jane Doe on telegram."
    update = world.standin.last("chat.update")
    assert update["ts"] == ts and "*Assigned to*\nAlice Martin" in all_text(update["blocks"])
    with world.rapport.store.transaction() as session:
        outbound = session.exec(select(Message).where(Message.direction == "outbound")).one()
        assert outbound.delivery == "delivered"


async def test_an_undeliverable_thread_reply_shows_the_reason(world: SlackWorld) -> None:
    await world.customer_writes("How much is it?", name="Jane Doe")
    ts = post_ts(world)
    world.telegram.refuse = "the customer blocked the bot"
    event = {"type": "message", "channel": INBOX, "user": REP, "text": "Ten dollars",
             "ts": "1772409999.000002", "thread_ts": ts}  # fmt: skip
    await world.event(event, event_id="Ev2")
    note = world.standin.last("chat.postMessage")
    assert note["thread_ts"] == ts
    assert note["text"].startswith(
        "⚠ Not delivered to Jane Doe on telegram: the customer blocked the bot."
    )


async def test_messages_outside_inbox_threads_and_bot_messages_are_ignored(
    world: SlackWorld,
) -> None:
    await world.customer_writes("How much is it?", name="Jane Doe")
    ts = post_ts(world)
    before = len(world.standin.calls)
    chatter = {"type": "message", "channel": INBOX, "user": REP, "text": "lunch?", "ts": "9.3"}
    elsewhere = chatter | {"channel": "C0OTHER", "ts": "9.4", "thread_ts": "1772400000.9"}
    bot = chatter | {"user": None, "bot_id": "B0X", "ts": "9.5", "thread_ts": ts}
    for number, event in enumerate((chatter, elsewhere, bot)):
        assert (await world.event(event, event_id=f"Ev{number}")).status_code == 200
    assert world.telegram.sent == []
    assert [c.method for c in world.standin.calls[before:] if c.method != "auth.test"] == []


async def test_assign_button_updates_the_post_in_place_and_confirms_to_the_rep(
    world: SlackWorld,
) -> None:
    await world.customer_writes("How much is it?", name="Jane Doe")
    ts = post_ts(world)
    await world.click("inbox_assign", "1", channel=INBOX)
    [confirmation] = world.standin.responded("r2")
    assert confirmation["response_type"] == "ephemeral"
    assert "assigned to Alice Martin" in confirmation["text"]
    assert "replace_original" not in confirmation
    update = world.standin.last("chat.update")
    assert update["channel"] == INBOX and update["ts"] == ts
    assert "*Assigned to*\nAlice Martin" in all_text(update["blocks"])


async def test_change_need_stores_the_correction_and_reselects_the_need(
    world: SlackWorld,
) -> None:
    await world.customer_writes("How much is it?", name="Jane Doe")
    await world.click("inbox_need", selected="1:billing", channel=INBOX)
    with world.rapport.store.transaction() as session:
        correction = session.exec(select(NeedCorrection)).one()
        assert (correction.old_need, correction.new_need) == ("pricing", "billing")
        assert session.exec(select(Conversation)).one().need == "billing"
    update = world.standin.last("chat.update")
    assert elements(update["blocks"])["inbox_need"]["initial_option"]["value"] == "1:billing"
    assert "[billing (100%)]" in update["text"]


async def test_close_button_and_close_command_both_update_the_post(world: SlackWorld) -> None:
    await world.customer_writes("How much is it?", name="Jane Doe")
    await world.click("inbox_close", "1", channel=INBOX)
    update = world.standin.last("chat.update")
    assert update["text"].startswith("Closed: conversation with Jane Doe")
    assert elements(update["blocks"]) == {}
    await world.customer_writes("One more thing", name="Jane Doe")  # a new conversation
    assert len(world.standin.calls_to("chat.postMessage")) == 2
    await world.command("assign 2 me")
    assert world.standin.calls_to("chat.update")[-1].args["ts"] != update["ts"]
