"""Slack form submissions -> the same commands the grammar builds, with errors per field.

A form cannot show a usage line; it shows what is wrong next to the field. So
values are checked here first with the domain's own rules (email, phone, tags,
dates in the rep's zone, money, stages, the contact still existing), and only a
clean form becomes a Command for `dispatcher.handle_command`. Should the
handler still refuse (a race, a duplicate), its message lands on the form's
main field instead of disappearing (SlackBridge.submit). Form and field names
are the contract with channels/slack/modals.py. `check_form` sees the services
and the actor, never the bridge.
"""

import re
from collections.abc import Callable, Mapping

from sqlmodel import Session

from bot.context import HandlerContext, Services
from bot.language import commands as cmd
from bot.language.parsing import Amount, parse_when
from bot.language.tokens import deal_terms
from bot.rep.handlers.checks import when_or_invalid
from channels.base import Reply
from crm.activities import log_activity
from crm.actors import Actor
from crm.contacts import find_by_points, normalise_points
from crm.errors import CRMError, Invalid
from crm.ids import id_of
from crm.models import Contact
from crm.search import ID_REF
from crm.validation import normalise_email, normalise_phone, normalise_tag

ACTIVITY_KINDS = ("call", "meeting", "email", "note")
# Where a handler's refusal is shown when no field is named.
MAIN_FIELD = {
    "add_contact": "name",
    "log_activity": "contact",
    "new_deal": "title",
    "reminder": "when",
    "log_message": "contact",
}
Errors = dict[str, str]
Built = cmd.Command | Errors | Reply
Check = Callable[[Session, HandlerContext, Mapping[str, str], Mapping[str, str]], Built]


def field_text(error: str) -> str:
    """A form shows one line; the usage hint is for the command line."""
    return error.splitlines()[0][:300] if error else "Please check this field."


def _contact(session: Session, ref: str, errors: Errors, name: str = "contact") -> Contact | None:
    match = ID_REF.match(ref.strip())
    if not ref.strip():
        errors[name] = "Pick a contact."
        return None
    contact = session.get(Contact, int(match.group(1))) if match else None
    if contact is None:
        errors[name] = "That contact no longer exists; pick another."
    return contact


def _add_contact(
    session: Session, ctx: HandlerContext, v: Mapping[str, str], _meta: Mapping[str, str]
) -> Built:
    errors: Errors = {}
    region = ctx.settings.default_phone_region
    name = " ".join(v.get("name", "").split())
    if not name:
        errors["name"] = "A contact needs a name."
    email, phone = v.get("email", "").strip(), v.get("phone", "").strip()
    tags = tuple(t for t in re.split(r"[\s,]+", v.get("tags", "")) if t.strip("#"))
    for key, check in (
        ("email", lambda: normalise_email(email) if email else None),
        ("phone", lambda: normalise_phone(phone, region) if phone else None),
        ("tags", lambda: [normalise_tag(t) for t in tags]),
    ):
        try:
            check()
        except Invalid as exc:
            errors[key] = exc.reason
    if not errors and (email or phone):
        points = normalise_points([email] if email else [], [phone] if phone else [], region=region)
        existing = find_by_points(session, points)
        if existing is not None:
            errors["email" if email else "phone"] = (
                f"{existing.name} (#{existing.id}) already has that "
                f"{'email' if email else 'phone'}; use `/crm edit #{existing.id} ...`."
            )
    if errors:
        return errors
    company = " ".join(v.get("company", "").split()) or None
    return cmd.AddContact(
        name,
        (email,) if email else (),
        (phone,) if phone else (),
        company,
        tuple(t.lstrip("#") for t in tags),
    )


def _log_activity(
    session: Session, ctx: HandlerContext, v: Mapping[str, str], _meta: Mapping[str, str]
) -> Built:
    errors: Errors = {}
    contact = _contact(session, v.get("contact", ""), errors)
    kind = v.get("kind") or "note"
    if kind not in ACTIVITY_KINDS:
        errors["kind"] = "Pick call, meeting, email or note."
    text = v.get("text", "").strip()
    if not text:
        errors["text"] = "Say what happened."
    follow_up = v.get("follow_up", "").strip()
    if follow_up:
        try:
            when_or_invalid(follow_up, ctx)
        except Invalid as exc:
            errors["follow_up"] = exc.reason
    if errors or contact is None:
        return errors
    return cmd.LogActivity(kind, f"#{contact.id}", text, follow_up or None)


def _new_deal(
    session: Session, ctx: HandlerContext, v: Mapping[str, str], _meta: Mapping[str, str]
) -> Built:
    errors: Errors = {}
    ref = ""
    if v.get("contact", "").strip():
        contact = _contact(session, v["contact"], errors)
        ref = f"#{contact.id}" if contact else ""
    elif company := " ".join(v.get("company", "").split()):
        ref = company
    else:
        errors["contact"] = "Pick a contact, or type a company below."
    title = " ".join(v.get("title", "").split())
    if not title:
        errors["title"] = "A deal needs a title."
    found: Amount | None = None
    if amount := v.get("amount", "").strip():
        try:
            found, _, _, leftover = deal_terms(amount.split())
            if found is not None:
                found.minor(ctx.settings.default_currency)  # decimals the currency lacks
        except ValueError as exc:
            errors["amount"] = str(exc)
        else:
            if found is None or leftover:
                errors["amount"] = f"'{amount[:30]}' isn't an amount; e.g. $12,000 or 12k EUR."
    stage = v.get("stage", "").strip() or None
    if stage:
        try:
            stage = ctx.services.pipeline.check(stage)
        except Invalid as exc:
            errors["stage"] = exc.reason
    close = v.get("close", "").strip() or None
    if close:
        try:
            parse_when(
                close, tz=ctx.tz, now=ctx.now, dateorder=ctx.dateorder, after_lunch=ctx.after_lunch
            )
        except ValueError as exc:
            errors["close"] = str(exc)
    if errors:
        return errors
    return cmd.CreateDeal(ref, title, found, stage, close)


def _reminder(
    _session: Session, ctx: HandlerContext, v: Mapping[str, str], _meta: Mapping[str, str]
) -> Built:
    errors: Errors = {}
    text = " ".join(v.get("text", "").split())
    if not text:
        errors["text"] = "What should I remind you about?"
    when = v.get("when", "").strip()
    if not when:
        errors["when"] = "When? e.g. tomorrow 9am"
    else:
        try:
            when_or_invalid(when, ctx)
        except Invalid as exc:
            errors["when"] = exc.reason
    return errors or cmd.Remind(text, when)


def _log_message(
    session: Session, ctx: HandlerContext, v: Mapping[str, str], meta: Mapping[str, str]
) -> Built:
    """The "Log to CRM" shortcut: a note with a link back to the Slack message."""
    errors: Errors = {}
    contact = _contact(session, v.get("contact", ""), errors)
    text = v.get("text", "").strip()
    if not text:
        errors["text"] = "The note is empty."
    if errors or contact is None:
        return errors
    permalink = meta.get("permalink")
    try:
        with session.begin_nested():
            log_activity(
                session,
                actor=ctx.actor,
                contact_id=id_of(contact),
                kind="note",
                text=text,
                now=ctx.now,
                source_url=permalink[:500] if permalink else None,
            )
    except CRMError as exc:
        field = exc.field if isinstance(exc, Invalid) and exc.field in v else "text"
        return {field: field_text(str(exc))}
    link = f", linked to {permalink}" if permalink else ""
    return Reply(f"Saved a note on {contact.name} (#{contact.id}){link}. `undo` removes it.")


CHECKS: dict[str, Check] = {
    "add_contact": _add_contact,
    "log_activity": _log_activity,
    "new_deal": _new_deal,
    "reminder": _reminder,
    "log_message": _log_message,
}


def check_form(
    services: Services, actor: Actor, form: str, v: Mapping[str, str], meta: Mapping[str, str]
) -> Built:
    """Field errors, a finished Reply (the form did its own work) or the Command to run.
    `form` must be a key of CHECKS (the bridge refuses unknown forms first)."""
    ctx = HandlerContext(services, actor)
    with services.store.transaction() as session:
        return CHECKS[form](session, ctx, v, meta)
