"""Modal views (forms) and reading their submissions back.

Every input's block id is the field name and its action id is `value`, so a
submission reads back as `{field: text}` and a validation error names the same
block id (`response_action: errors`). The form name travels in the callback id
(`rapport:<form>`) and small context (where to answer) in `private_metadata`.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

from channels.slack.blocks import option, plain, section

CALLBACK_PREFIX = "rapport:"
CONTACT_SEARCH = "contact_search"  # the external select's action id (options load URL)
CHOOSE_PREFIX = "choose:"
ACTIVITY_KINDS = ("call", "meeting", "email", "note")

ADD_CONTACT = "add_contact"
LOG_ACTIVITY = "log_activity"
NEW_DEAL = "new_deal"
REMINDER = "reminder"
LOG_MESSAGE = "log_message"
CHOICES = (
    (ADD_CONTACT, "Add a contact"),
    (LOG_ACTIVITY, "Log an activity"),
    (NEW_DEAL, "New deal"),
    (REMINDER, "Set a reminder"),
)
TITLES = {
    ADD_CONTACT: "Add a contact",
    LOG_ACTIVITY: "Log an activity",
    NEW_DEAL: "New deal",
    REMINDER: "Remind me",
    LOG_MESSAGE: "Log to CRM",
}

Prefill = Mapping[str, Any]  # field -> text, or (label, value) for a contact select


def pack_meta(meta: Mapping[str, str | None]) -> str:
    """private_metadata holds at most 3000 characters: empty keys are dropped, and should
    it still be too long only where to answer is kept (a cut JSON would not parse)."""
    kept = {k: v for k, v in meta.items() if v}
    packed = json.dumps(kept, separators=(",", ":"))
    if len(packed) > 3000:
        packed = json.dumps({"response_url": kept.get("response_url", "")[:2900]})
    return packed


def unpack_meta(raw: str | None) -> dict[str, str]:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def form_of(callback_id: str) -> str:
    return callback_id.removeprefix(CALLBACK_PREFIX)


def _modal(title: str, blocks: list[dict[str, Any]], meta: str, *, form: str | None) -> dict:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": f"{CALLBACK_PREFIX}{form or 'chooser'}",
        "title": plain(title, 24),
        "close": plain("Cancel"),
        "blocks": blocks,
        "private_metadata": meta,
    }
    if form is not None:
        view["submit"] = plain("Save")
    return view


def text_input(
    field: str,
    label: str,
    *,
    optional: bool = False,
    multiline: bool = False,
    initial: str | None = None,
    hint: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value"}
    if multiline:
        element["multiline"] = True
    if initial:
        element["initial_value"] = initial[:3000]
    block: dict[str, Any] = {
        "type": "input",
        "block_id": field,
        "label": plain(label, 2000),
        "optional": optional,
        "element": element,
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def select_input(
    field: str,
    label: str,
    choices: Sequence[tuple[str, str]],
    *,
    optional: bool = False,
    initial: str | None = None,
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": "value",
        "placeholder": plain(f"Choose {label.lower()}"),
        "options": [option(text, value) for text, value in choices[:100]],
    }
    chosen = [c for c in choices if c[1] == initial]
    if chosen:
        element["initial_option"] = option(*chosen[0])
    return {
        "type": "input",
        "block_id": field,
        "label": plain(label, 2000),
        "optional": optional,
        "element": element,
    }


def contact_input(
    field: str = "contact", *, optional: bool = False, initial: tuple[str, str] | None = None
) -> dict[str, Any]:
    """An external select: options come from the CRM's contact search as the rep types."""
    element: dict[str, Any] = {
        "type": "external_select",
        "action_id": CONTACT_SEARCH,
        "placeholder": plain("Type a name, email or company"),
        "min_query_length": 1,
    }
    if initial:
        element["initial_option"] = option(*initial)
    return {
        "type": "input",
        "block_id": field,
        "label": plain("Contact"),
        "optional": optional,
        "element": element,
    }


def chooser_view(meta: str) -> dict[str, Any]:
    """`/crm` alone: pick what to do; each button swaps in its form (views.update)."""
    buttons = [
        {
            "type": "button",
            "action_id": f"{CHOOSE_PREFIX}{form}",
            "text": plain(label),
            "value": form,
        }
        for form, label in CHOICES
    ]
    blocks = [
        section("What would you like to do? (Or type `/crm help` for every command.)"),
        {"type": "actions", "block_id": "choices", "elements": buttons},
    ]
    return _modal("Rapport", blocks, meta, form=None)


def form_view(
    form: str, meta: str, *, prefill: Prefill | None = None, stages: Sequence[str] = ()
) -> dict[str, Any]:
    """The modal for one form, prefilled (e.g. with the contact whose button was pressed)."""
    values = dict(prefill or {})
    builders = {
        ADD_CONTACT: _add_contact_blocks,
        LOG_ACTIVITY: _log_activity_blocks,
        NEW_DEAL: lambda v: _deal_blocks(v, stages),
        REMINDER: _reminder_blocks,
        LOG_MESSAGE: _log_message_blocks,
    }
    if form not in builders:
        raise KeyError(f"unknown form {form!r}")
    return _modal(TITLES[form], builders[form](values), meta, form=form)


def _add_contact_blocks(v: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        text_input("name", "Name", initial=v.get("name")),
        text_input("email", "Email", optional=True, hint="e.g. jane@acme.com"),
        text_input("phone", "Phone", optional=True, hint="with the country code, e.g. +1 415…"),
        text_input("company", "Company", optional=True),
        text_input("tags", "Tags", optional=True, hint="words separated by spaces, e.g. vip lead"),
    ]


def _log_activity_blocks(v: dict[str, Any]) -> list[dict[str, Any]]:
    kinds = [(kind.title(), kind) for kind in ACTIVITY_KINDS]
    return [
        contact_input(initial=v.get("contact")),
        select_input("kind", "Kind", kinds, initial=v.get("kind") or "call"),
        text_input("text", "What happened?", multiline=True, initial=v.get("text")),
        text_input(
            "follow_up",
            "Follow up",
            optional=True,
            hint="Remind me, e.g. next tuesday 10am (leave empty for no reminder)",
        ),
    ]


def _deal_blocks(v: dict[str, Any], stages: Sequence[str]) -> list[dict[str, Any]]:
    return [
        contact_input(optional=True, initial=v.get("contact")),
        text_input("company", "Company", optional=True, hint="when the deal has no contact yet"),
        text_input("title", "Title", initial=v.get("title"), hint='e.g. "50 seats"'),
        text_input("amount", "Amount", optional=True, hint="e.g. $12,000 or 12k EUR"),
        select_input("stage", "Stage", [(s, s) for s in stages], optional=True),
        text_input("close", "Expected close", optional=True, hint="e.g. end of month"),
    ]


def _reminder_blocks(v: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        text_input("text", "Remind me to", initial=v.get("text")),
        text_input("when", "When", initial=v.get("when"), hint="e.g. tomorrow 9am, in 2 hours"),
    ]


def _log_message_blocks(v: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        contact_input(initial=v.get("contact")),
        text_input("text", "Note", multiline=True, initial=v.get("text")),
    ]


def read_values(state: Mapping[str, Any]) -> dict[str, str]:
    """`view.state.values` -> {block id: text}; an empty input reads as ""."""
    out: dict[str, str] = {}
    for block_id, elements in (state or {}).items():
        for element in elements.values():
            chosen = element.get("selected_option")
            if chosen:
                out[block_id] = str(chosen.get("value") or "")
            else:
                out[block_id] = str(element.get("value") or "")
            break
    return out
