"""Neutral Replies -> Block Kit, and Slack's markup -> plain text.

Handlers never build Block Kit; this module is the one place that knows its
limits (3000 characters a section, 10 fields, unique action ids in a block), so
a long card or many buttons degrade into more blocks instead of an API error.
"""

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from channels.base import Action, Card, Reply
from channels.render import reply_as_text

Block = dict[str, Any]

SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
FIELDS_PER_SECTION = 10
BUTTONS_PER_BLOCK = 5
FALLBACK_LIMIT = 3000
ACTION_SUFFIX = ":"  # "followup_done:2": a repeated action id made unique in one message

_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")


_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def escape(text: str) -> str:
    """Slack's three control characters; everything else in mrkdwn is left alone. Control
    characters and bidi overrides (U+202E...), which could disguise what someone wrote,
    become a visible U+FFFD."""
    text = _UNSAFE.sub("\ufffd", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape_entities(text: str) -> str:
    """Slack sends `&`, `<` and `>` typed by a person as entities (in messages and in
    slash-command text alike); commands must see what was typed ("Acme & Co")."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def plain_from_slack(text: str) -> str:
    """What a person meant: `<https://x|label>` -> `label (https://x)`, `<@U1>` -> `@U1`,
    entities unescaped. Used before a rep's words are relayed to a customer."""

    def unwrap(match: re.Match[str]) -> str:
        target, label = match[1], match[2]
        if target.startswith(("@", "#")):
            return f"{target[0]}{label or target[1:]}"
        if target.startswith("!"):
            return f"@{(label or target[1:]).split('^')[0]}"
        target = target.removeprefix("mailto:").removeprefix("tel:")
        if label and label != target:
            return f"{label} ({target})"
        return target

    return unescape_entities(_LINK.sub(unwrap, text))


def base_action_id(action_id: str) -> str:
    """The neutral action id behind a rendered one (`pick_candidate:2` -> `pick_candidate`)."""
    return action_id.split(ACTION_SUFFIX, 1)[0]


def fallback_text(reply: Reply) -> str:
    """The notification / screen-reader text Slack asks for alongside blocks."""
    text = escape(reply_as_text(reply, with_actions=False))  # Slack parses it: no `<!channel>`
    return text if len(text) <= FALLBACK_LIMIT else text[: FALLBACK_LIMIT - 1] + "…"


def chunks(text: str, limit: int = SECTION_LIMIT) -> Iterator[str]:
    """Splits on line breaks where possible so a long listing stays readable."""
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        cut = cut if cut > 0 else limit
        yield text[:cut]
        text = text[cut:].lstrip("\n")
    if text:
        yield text


def mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def plain(text: str, limit: int = 75) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit] or " ", "emoji": True}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def text_blocks(text: str) -> list[Block]:
    return [section(part) for part in chunks(escape(text.rstrip()))]


def card_blocks(card: Card) -> list[Block]:
    """Short fields side by side; multi-line ones (the "Recent" timeline) get their own section."""
    heading = f"*{escape(card.title)}*"
    if card.subtitle:
        heading += f"\n{escape(card.subtitle)}"
    blocks: list[Block] = [section(heading)]
    short = [(n, v) for n, v in card.fields if "\n" not in v]
    long = [(n, v) for n, v in card.fields if "\n" in v]
    for start in range(0, len(short), FIELDS_PER_SECTION):
        fields = [
            mrkdwn(f"*{escape(name)}*\n{escape(value)}"[:FIELD_LIMIT])
            for name, value in short[start : start + FIELDS_PER_SECTION]
        ]
        blocks.append({"type": "section", "fields": fields})
    for name, value in long:
        for part in chunks(f"*{escape(name)}*\n{escape(value)}"):
            blocks.append(section(part))
    if card.footer:
        blocks.append({"type": "context", "elements": [mrkdwn(escape(card.footer)[:2000])]})
    return blocks


def option(label: str, value: str) -> dict[str, Any]:
    return {"text": plain(label), "value": value[:150]}


def action_element(
    action: Action,
    action_id: str,
    *,
    selected: str | None = None,
    confirm: str | None = None,
) -> dict[str, Any]:
    """A button, or a static select when the Action carries options."""
    element: dict[str, Any]
    if action.options:
        element = {
            "type": "static_select",
            "action_id": action_id,
            "placeholder": plain(action.label),
            "options": [option(label, value) for label, value in action.options[:100]],
        }
        chosen = [o for o in action.options if o[1] == selected]
        if chosen:
            element["initial_option"] = option(*chosen[0])
    else:
        element = {
            "type": "button",
            "action_id": action_id,
            "text": plain(action.label),
            "value": action.value[:2000],
        }
        if action.style in ("primary", "danger"):
            element["style"] = action.style
    if confirm:
        element["confirm"] = {
            "title": plain("Are you sure?"),
            "text": plain(confirm, 300),
            "confirm": plain("Yes"),
            "deny": plain("Cancel"),
        }
    return element


def unique_action_ids(actions: Sequence[Action]) -> list[str]:
    """Slack rejects repeated action ids in a block; repeats get a `:n` suffix."""
    counts: dict[str, int] = {}
    for action in actions:
        counts[action.action_id] = counts.get(action.action_id, 0) + 1
    seen: dict[str, int] = {}
    ids = []
    for action in actions:
        if counts[action.action_id] == 1:
            ids.append(action.action_id)
            continue
        seen[action.action_id] = seen.get(action.action_id, 0) + 1
        ids.append(f"{action.action_id}{ACTION_SUFFIX}{seen[action.action_id]}")
    return ids


def actions_blocks(
    actions: Sequence[Action],
    *,
    selected: Mapping[str, str] | None = None,
    confirm: Mapping[str, str] | None = None,
) -> list[Block]:
    selected, confirm = selected or {}, confirm or {}
    elements = [
        action_element(
            action,
            action_id,
            selected=selected.get(action.action_id),
            confirm=confirm.get(action.action_id),
        )
        for action, action_id in zip(actions, unique_action_ids(actions), strict=True)
    ]
    return [
        {"type": "actions", "elements": elements[start : start + BUTTONS_PER_BLOCK]}
        for start in range(0, min(len(elements), 25), BUTTONS_PER_BLOCK)
    ]


def reply_blocks(
    reply: Reply,
    *,
    selected: Mapping[str, str] | None = None,
    confirm: Mapping[str, str] | None = None,
) -> list[Block]:
    """The whole reply: text, each card, then the buttons (at most 50 blocks)."""
    blocks = text_blocks(reply.text)
    for card in reply.cards:
        blocks.extend(card_blocks(card))
    blocks.extend(actions_blocks(reply.actions, selected=selected, confirm=confirm))
    return blocks[:50]


def action_value(action: Mapping[str, Any]) -> str:
    """A button's value or a select's chosen value, as one string."""
    if "selected_option" in action and action["selected_option"]:
        return str(action["selected_option"].get("value", ""))
    return str(action.get("value") or "")
