"""Telegram <-> neutral translation, as pure functions (no Application, no network)."""

from telegram import Message

from channels.base import Action, Reply
from channels.telegram.render import (
    TEXT_LIMIT,
    command_of,
    incoming_from,
    inline_keyboard,
    render_reply,
    split_text,
    utf16_len,
)


def message(**fields) -> Message:  # type: ignore[no-untyped-def]
    data = {
        "message_id": 5,
        "date": 1_770_000_000,
        "chat": {"id": 42, "type": "private"},
        "from": {"id": 42, "is_bot": False, "first_name": "Ann", "last_name": "Lee"},
        **fields,
    }
    return Message.de_json(data, None)


def test_short_text_is_one_message() -> None:
    assert split_text("hello") == ["hello"]


def test_long_text_splits_at_paragraphs_and_fits_the_limit() -> None:
    text = "\n\n".join(f"{n} " + "x" * 3000 for n in range(4))
    parts = split_text(text)
    assert len(parts) == 4 and all(utf16_len(p) <= TEXT_LIMIT for p in parts)
    assert [p.split()[0] for p in parts] == ["0", "1", "2", "3"]


def test_limit_counts_utf16_units_so_emoji_never_overflow() -> None:
    text = "😀" * 3000  # 6000 UTF-16 units, one word
    parts = split_text(text)
    assert all(utf16_len(p) <= TEXT_LIMIT for p in parts) and "".join(parts) == text


def test_buttons_render_as_inline_keyboard_and_oversized_data_is_dropped() -> None:
    markup = inline_keyboard(
        (
            Action("Yes", "forget", "tok"),
            Action("Big", "x", "y" * 80),
            Action("Pick", "choose", options=(("A", "a"), ("B", "b"))),
        )
    )
    assert markup is not None
    rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
    assert rows == [[("Yes", "forget:tok")], [("A", "choose:a"), ("B", "choose:b")]]


def test_the_phone_action_is_a_reply_keyboard_in_private_chats_only() -> None:
    reply = Reply("Welcome", actions=(Action("Share my phone number", "share_phone"),))
    private = render_reply(reply, phone_action="share_phone", private=True)
    group = render_reply(reply, phone_action="share_phone", private=False)
    assert private.phone_button == "Share my phone number" and private.inline is None
    assert group.phone_button is None and private.chunks == ["Welcome"]


def test_a_text_becomes_an_incoming_message_with_a_per_chat_id() -> None:
    incoming = incoming_from(message(text="hi"))
    assert incoming is not None
    assert (incoming.address.chat_id, incoming.sender_id, incoming.sender_name) == (
        "42",
        "42",
        "Ann Lee",
    )
    assert incoming.message_id == "42:5" and incoming.text == "hi" and not incoming.edited


def test_own_contact_card_gives_the_phone_and_someone_elses_is_a_card() -> None:
    own = incoming_from(
        message(contact={"phone_number": "447700900123", "first_name": "Ann", "user_id": 42})
    )
    other = incoming_from(
        message(contact={"phone_number": "+15550100", "first_name": "Bo", "user_id": 7})
    )
    assert own is not None and own.phone == "+447700900123" and own.attachment is None
    assert other is not None and other.phone is None
    assert other.attachment is not None and other.attachment.kind == "other"


def test_bots_and_channel_posts_are_ignored() -> None:
    bot = message(text="hi", **{"from": {"id": 9, "is_bot": True, "first_name": "B"}})
    assert incoming_from(bot) is None


def test_commands_are_read_without_the_bot_name() -> None:
    assert command_of(message(text="/Status@rapport_bot please")) == ("status", "please")
