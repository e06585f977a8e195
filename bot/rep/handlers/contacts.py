"""Contact commands: add, find, show, edit, tag, merge, delete."""

from sqlmodel import Session

from bot.context import HandlerContext
from bot.language.commands import (
    AddContact,
    DeleteContact,
    EditContact,
    FindContacts,
    MergeContacts,
    ShowContact,
    TagContact,
)
from bot.rep.render import contact_actions, contact_card, contact_line
from bot.rep.router import Router
from channels.base import Action, Reply
from crm import contacts
from crm.errors import Conflict
from crm.merge import merge_contacts
from crm.search import resolve_contact, search_contacts
from crm.validation import normalise_email
from crm.views import contact_overview


def add(ctx: HandlerContext, session: Session, cmd: AddContact) -> Reply:
    for word in cmd.name_text.split():
        if "@" in word.strip("<>()"):
            normalise_email(word)  # a mistyped address must not end up in the name
    data = contacts.ContactInput(
        name=cmd.name_text,
        emails=cmd.emails,
        phones=cmd.phones,
        company=cmd.company,
        tags=cmd.tags,
    )
    try:
        contact = contacts.create_contact(
            session,
            actor=ctx.actor,
            data=data,
            now=ctx.now,
            region=ctx.settings.default_phone_region,
        )
    except Conflict as exc:
        existing = exc.existing
        if existing is None:
            raise
        hint = []
        if cmd.emails:
            hint.append(f"`edit #{existing.id} email {cmd.emails[0]}`")
        if cmd.phones:
            hint.append(f"`edit #{existing.id} phone {cmd.phones[0]}`")
        return Reply(
            f"{existing.name} (#{existing.id}) already has that email or phone, so I did not "
            f"create a twin.\nSee them with `show #{existing.id}`"
            + (f", or update them with {' or '.join(hint)}." if hint else "."),
            actions=(Action("Show", "show_contact", f"#{existing.id}"),),
            ok=False,
        )
    card = contact_card(contact_overview(session, contact), tz=ctx.tz, now=ctx.now)
    return Reply(
        f"Added {contact_line(session, contact)}.\n"
        f"Change it with `edit #{contact.id} <field> <value>`, or `undo`.",
        cards=(card,),
        actions=contact_actions(contact),
    )


def find(ctx: HandlerContext, session: Session, cmd: FindContacts) -> Reply:
    matches = search_contacts(session, cmd.query, limit=5)
    if not matches:
        return Reply(f"No contact matches '{cmd.query[:60]}'. Add one with `add <name> ...`.")
    lines = [contact_line(session, m.contact) for m in matches]
    return Reply(
        f"Best matches for '{cmd.query[:60]}':\n"
        + "\n".join(lines)
        + "\nOpen one with `show #id`.",
        actions=tuple(
            Action(f"#{m.contact.id}", "show_contact", f"#{m.contact.id}") for m in matches
        ),
    )


def show(ctx: HandlerContext, session: Session, cmd: ShowContact) -> Reply:
    contact = resolve_contact(session, cmd.ref)
    card = contact_card(contact_overview(session, contact), tz=ctx.tz, now=ctx.now)
    return Reply(contact_line(session, contact), cards=(card,), actions=contact_actions(contact))


def edit(ctx: HandlerContext, session: Session, cmd: EditContact) -> Reply:
    contact = resolve_contact(session, cmd.ref)
    contacts.edit_contact(
        session,
        actor=ctx.actor,
        contact_id=contact.id,
        field_name=cmd.field_name,
        value=cmd.value,
        now=ctx.now,
        region=ctx.settings.default_phone_region,
    )
    return Reply(
        f"Updated {cmd.field_name} of {contact_line(session, contact)}. `undo` puts it back.",
        cards=(contact_card(contact_overview(session, contact), tz=ctx.tz, now=ctx.now),),
    )


def tag(ctx: HandlerContext, session: Session, cmd: TagContact) -> Reply:
    contact = resolve_contact(session, cmd.ref)
    contacts.tag_contact(
        session,
        actor=ctx.actor,
        contact_id=contact.id,
        tags=cmd.tags,
        remove=cmd.remove,
        now=ctx.now,
    )
    shown = " ".join(f"#{t}" for t in contact.tags) or "no tags"
    verb = "Removed" if cmd.remove else "Tagged"
    undo = "tag" if cmd.remove else "untag"
    return Reply(
        f"{verb} {contact.name} (#{contact.id}): now {shown}. "
        f"Undo with `{undo} #{contact.id} {' '.join('#' + t for t in cmd.tags)}`."
    )


def merge(ctx: HandlerContext, session: Session, cmd: MergeContacts) -> Reply:
    source = resolve_contact(session, cmd.source_ref)
    target = resolve_contact(session, cmd.target_ref)
    source_name = f"{source.name} (#{source.id})"
    moved = merge_contacts(
        session, actor=ctx.actor, source_id=source.id, target_id=target.id, now=ctx.now
    )
    summary = ", ".join(f"{n} {table}" for table, n in moved.items() if n) or "nothing else"
    return Reply(
        f"Merged {source_name} into {target.name} (#{target.id}); moved {summary}. "
        "The audit log keeps both records as they were.",
        cards=(contact_card(contact_overview(session, target), tz=ctx.tz, now=ctx.now),),
    )


def delete(ctx: HandlerContext, session: Session, cmd: DeleteContact) -> Reply:
    contact = resolve_contact(session, cmd.ref)
    line = contact_line(session, contact)
    contacts.delete_contact(session, actor=ctx.actor, contact_id=contact.id, now=ctx.now)
    return Reply(f"Deleted {line} and their timeline. The audit log keeps a copy.")


def register(router: Router) -> None:
    router.add(AddContact, add)
    router.add(FindContacts, find)
    router.add(ShowContact, show)
    router.add(EditContact, edit)
    router.add(TagContact, tag)
    router.add(MergeContacts, merge)
    router.add(DeleteContact, delete)
