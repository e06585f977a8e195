"""Telegram <-> neutral types, both ways, as pure functions.

Kept apart from the adapter (channels/telegram/channel.py) so the translation can be
read and tested without an Application: an incoming Telegram `Message` becomes
an `IncomingMessage`; a neutral `Reply` becomes message texts (split to
Telegram's limit) and a keyboard.
"""

import logging
from dataclasses import dataclass

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)

from channels.base import Action, Address, Attachment, IncomingMessage, Reply
from channels.render import reply_as_text

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
TEXT_LIMIT = 4096  # Telegram counts UTF-16 code units
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _prefix_within(text: str, limit: int) -> int:
    """The longest prefix (in code points) whose UTF-16 length fits `limit`."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cuts an oversized text into messages Telegram accepts.

    Prefers a paragraph break, then a line break, then a space in the second
    half of the allowed window, so a split rarely falls inside a word.
    """
    chunks: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        window = _prefix_within(rest, limit)
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = rest.rfind(separator, window // 2, window)
            if cut > 0:
                break
        if cut <= 0:
            cut = window
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest.strip() or not chunks:
        chunks.append(rest)
    return [c for c in chunks if c.strip()]


def callback_data(action: Action, value: str | None = None) -> str | None:
    """`action_id:value`, or None when Telegram's 64-byte limit cannot hold it."""
    data = f"{action.action_id}:{action.value if value is None else value}"
    if len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        logger.warning("button dropped: callback data too long action=%s", action.action_id)
        return None
    return data


def parse_callback_data(data: str | None) -> tuple[str, str]:
    action_id, _, value = (data or "").partition(":")
    return action_id, value


def inline_keyboard(actions: tuple[Action, ...]) -> InlineKeyboardMarkup | None:
    """One row per button; a select (`options`) becomes one row of its choices."""
    rows: list[list[InlineKeyboardButton]] = []
    for action in actions:
        if action.options:
            row = [
                InlineKeyboardButton(label, callback_data=data)
                for label, value in action.options
                if (data := callback_data(action, value)) is not None
            ]
        else:
            data = callback_data(action)
            row = [InlineKeyboardButton(action.label, callback_data=data)] if data else []
        if row:
            rows.append(row)
    return InlineKeyboardMarkup(rows) if rows else None


def phone_keyboard(label: str) -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup(
        [[KeyboardButton(label, request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


@dataclass(frozen=True)
class Rendered:
    chunks: list[str]
    inline: InlineKeyboardMarkup | None
    phone_button: str | None  # label of a "share my phone" reply-keyboard button


def render_reply(reply: Reply, *, phone_action: str, private: bool) -> Rendered:
    """Text chunks plus the keyboard for the last one.

    An action whose id is `phone_action` becomes a reply-keyboard button that
    asks Telegram for the person's own phone number (private chats only; a
    message cannot carry both keyboard kinds, so inline buttons win).
    """
    phone = [a for a in reply.actions if a.action_id == phone_action]
    others = tuple(a for a in reply.actions if a.action_id != phone_action)
    text = reply_as_text(reply, with_actions=False)
    inline = inline_keyboard(others)
    phone_label = phone[0].label if phone and private and inline is None else None
    return Rendered(split_text(text) if text.strip() else [], inline, phone_label)


# --- incoming -------------------------------------------------------------------------


def _location_caption(message: Message) -> str | None:
    if message.venue is not None:
        venue, spot = message.venue, message.venue.location
        return (
            f"Location: {venue.title}, {venue.address} ({spot.latitude:.5f}, {spot.longitude:.5f})"
        )
    if message.location is not None:
        spot = message.location
        return f"Location: {spot.latitude:.5f}, {spot.longitude:.5f}"
    return None


def attachment_of(message: Message) -> Attachment | None:
    """The file (or place) a message carries, as a neutral Attachment."""
    caption = message.caption
    if message.photo:
        best = message.photo[-1]  # Telegram lists sizes smallest first
        return Attachment("photo", best.file_id, best.file_size, caption)
    if message.animation is not None:
        media = message.animation
        return Attachment("video", media.file_id, media.file_size, caption)
    for kind, other in (
        ("document", message.document),
        ("voice", message.voice),
        ("document", message.audio),
        ("video", message.video),
        ("video", message.video_note),
    ):
        if other is not None:
            return Attachment(kind, other.file_id, other.file_size, caption)
    if message.sticker is not None:
        sticker = message.sticker
        return Attachment("sticker", sticker.file_id, sticker.file_size, sticker.emoji)
    if (where := _location_caption(message)) is not None:
        return Attachment("location", None, None, where)
    if message.contact is not None:
        card = message.contact
        name = " ".join(p for p in (card.first_name, card.last_name) if p)
        return Attachment("other", None, None, f"Contact card: {name} {card.phone_number}")
    return None


def own_phone(message: Message) -> str | None:
    """The sender's own number when they shared it with the button (not someone else's card)."""
    card, sender = message.contact, message.from_user
    if card is None or sender is None or card.user_id != sender.id:
        return None
    number = card.phone_number.strip()
    return number if number.startswith("+") else f"+{number}"  # Telegram omits the plus


def incoming_from(message: Message, *, edited: bool = False) -> IncomingMessage | None:
    """A neutral message, or None for what Rapport ignores (bots, channel posts)."""
    sender = message.from_user
    if sender is None or sender.is_bot:
        return None
    phone = own_phone(message)
    attachment = None if phone else attachment_of(message)
    thread = str(message.message_thread_id) if message.is_topic_message else None
    chat_id = str(message.chat.id)
    return IncomingMessage(
        address=Address(CHANNEL, chat_id, thread),
        sender_id=str(sender.id),
        sender_name=sender.full_name,
        text=message.text or "",
        message_id=f"{chat_id}:{message.message_id}",
        sent_at=(message.edit_date or message.date) if edited else message.date,
        attachment=attachment,
        phone=phone,
        edited=edited,
        language_hint=sender.language_code,
    )


def command_of(message: Message) -> tuple[str, str]:
    """`/Start@rapport_bot  hello` -> ("start", "hello")."""
    head, _, rest = (message.text or "").strip().partition(" ")
    return head.lstrip("/").split("@")[0].lower(), rest.strip()
