"""Contact commands: add, find, show, edit, tag, merge, delete."""

from dataclasses import replace

from sqlmodel import Session

from bot.context import HandlerContext, Outcome
from bot.language.commands import (
    AddContact,
    ChangePoint,
    DeleteContact,
    DeleteDeal,
    EditContact,
    EditDeal,
    FindContacts,
    MergeContacts,
    ShowContact,
    TagContact,
)
from bot.rep.handlers.companies import company_card, company_line, edit_company, matching_companies
from bot.rep.handlers.corrections import change_point, delete_deal, edit_deal
from bot.rep.render import contact_actions, contact_card, contact_line
from bot.rep.router import Router
from channels.base import Action, Reply
from crm import contacts
from crm.actors import require_admin
from crm.deals import resolve_deal
from crm.errors import Ambiguous, Conflict, Invalid, NotFound
from crm.ids import id_of
from crm.merge import merge_contacts
from crm.models import Company, Contact
from crm.references import fold
from crm.search import namesakes, resolve_contact, resolve_party, search_contacts
from crm.trash import RETENTION, contents, counts_text, delete_contact
from crm.validation import normalise_email
from crm.views import contact_brief, contact_overview


def add(ctx: HandlerContext, session: Session, cmd: AddContact) -> Reply | Outcome:
    for word in cmd.name_text.split():
        if "@" in word.strip("<>()"):
            normalise_email(word)  # a mistyped address must not end up in the name
    twins = [] if cmd.confirmed or cmd.emails or cmd.phones else namesakes(session, cmd.name_text)
    if twins:
        shown = "\n".join(contact_line(contact_brief(session, t)) for t in twins[:5])
        first = twins[0].id
        return Outcome(
            Reply(
                f"You already have someone of that name:\n{shown}\n"
                f"Add another {cmd.name_text.strip()[:80]} anyway? (To add details to the one "
                f"you have: `edit #{first} email ...`; to see them: `show #{first}`.)"
            ),
            confirm=replace(cmd, confirmed=True),
            confirm_what=f"adding a second {cmd.name_text.strip()[:80]}",
        )
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
        f"Added {contact_line(contact_brief(session, contact))}.\n"
        f"Change it with `edit #{contact.id} <field> <value>`, or `undo`.",
        cards=(card,),
        actions=contact_actions(contact),
    )


def find(ctx: HandlerContext, session: Session, cmd: FindContacts) -> Reply:
    matches = search_contacts(session, cmd.query, limit=5)
    found_companies = matching_companies(session, cmd.query)
    if not matches and not found_companies:
        return Reply(
            f"No contact or company matches '{cmd.query[:60]}'. Add one with `add <name> ...`."
        )
    lines = [contact_line(contact_brief(session, m.contact)) for m in matches]
    lines += [f"Company: {company_line(session, c)}" for c in found_companies]
    return Reply(
        f"Best matches for '{cmd.query[:60]}':\n"
        + "\n".join(lines)
        + "\nOpen one with `show #id` (a company: `show <name>`).",
        actions=tuple(
            Action(f"#{m.contact.id}", "show_contact", f"#{m.contact.id}") for m in matches
        ),
    )


def show(ctx: HandlerContext, session: Session, cmd: ShowContact) -> Reply:
    party = resolve_party(session, cmd.ref)
    if isinstance(party, Company):
        return Reply(
            company_line(session, party),
            cards=(company_card(session, party, tz=ctx.tz, now=ctx.now),),
        )
    contact = party
    card = contact_card(contact_overview(session, contact), tz=ctx.tz, now=ctx.now)
    return Reply(
        contact_line(contact_brief(session, contact)),
        cards=(card,),
        actions=contact_actions(contact),
    )


def edit(ctx: HandlerContext, session: Session, cmd: EditContact) -> Reply | Outcome:
    if cmd.field_name in ("title", "owner") and _names_a_deal(session, cmd.ref):
        return edit_deal(ctx, session, EditDeal(cmd.ref, cmd.field_name, cmd.value))
    party = resolve_party(session, cmd.ref)
    if isinstance(party, Company):
        return edit_company(ctx, session, party, cmd.field_name, cmd.value)
    contact = party
    if cmd.field_name in ("email", "phone"):
        return change_point(
            ctx, session, ChangePoint(f"#{contact.id}", cmd.field_name, "replace", cmd.value)
        )
    contacts.edit_contact(
        session,
        actor=ctx.actor,
        contact_id=id_of(contact),
        field_name=cmd.field_name,
        value=cmd.value,
        now=ctx.now,
        region=ctx.settings.default_phone_region,
    )
    return Reply(
        f"Updated {cmd.field_name} of {contact_line(contact_brief(session, contact))}."
        " `undo` puts it back.",
        cards=(contact_card(contact_overview(session, contact), tz=ctx.tz, now=ctx.now),),
    )


def _names_a_deal(session: Session, ref: str) -> bool:
    """`edit "Acme add-on" title ...`: a deal's exact title beats a contact's fuzzy name."""
    try:
        deal = resolve_deal(session, ref)
    except (NotFound, Ambiguous):
        return False
    return fold(deal.title) == fold(ref) and not ref.strip().startswith("#")


def tag(ctx: HandlerContext, session: Session, cmd: TagContact) -> Reply:
    contact = resolve_contact(session, cmd.ref)
    before = list(contact.tags or [])
    contacts.tag_contact(
        session,
        actor=ctx.actor,
        contact_id=id_of(contact),
        tags=cmd.tags,
        remove=cmd.remove,
        now=ctx.now,
    )
    shown = " ".join(f"#{t}" for t in contact.tags) or "no tags"
    if contact.tags == before:
        how = "has none of those tags" if cmd.remove else "already has them"
        return Reply(f"{contact.name} (#{contact.id}) {how}; nothing changed (tags: {shown}).")
    verb = "Removed" if cmd.remove else "Tagged"
    undo = "tag" if cmd.remove else "untag"
    return Reply(
        f"{verb} {contact.name} (#{contact.id}): now {shown}. "
        f"Undo with `{undo} #{contact.id} {' '.join('#' + t for t in cmd.tags)}`."
    )


def _goes_and_stays(counts: dict[str, int]) -> str:
    """What a delete takes with it, and that deals stay (a pipeline keeps its history)."""
    deals = counts.get("deal", 0)
    going = {k: n for k, n in counts.items() if k != "deal" and n}
    text = f" With them go {counts_text(going)}." if going else ""
    if deals:
        text += (
            " Their deal stays, without a contact."
            if deals == 1
            else f" Their {deals} deals stay, without a contact."
        )
    return text


def _moves(counts: dict[str, int], target: Contact) -> str:
    """What a merge moves, naming only what there is ("0 deals, 0 messages" was noise)."""
    if not any(n for key, n in counts.items() if key != "externalid"):
        return ""
    return f"This moves {counts_text(counts)} to #{target.id}. "


def merge(ctx: HandlerContext, session: Session, cmd: MergeContacts) -> Reply | Outcome:
    source = resolve_contact(session, cmd.source_ref)
    target = resolve_contact(session, cmd.target_ref)
    source_name = f"{source.name} (#{source.id})"
    if not cmd.confirmed:
        require_admin(ctx.actor, "merge contacts")
        if source.id == target.id:
            raise Invalid("contact", "Those are the same contact.")
        counts = contents(session, id_of(source))
        return Outcome(
            Reply(
                f"Merge {source_name} into {target.name} (#{target.id})? {_moves(counts, target)}"
                f"It combines tags and custom fields (#{target.id} wins a clash) and removes "
                f"#{source.id}. `undo` splits them again."
            ),
            confirm=MergeContacts(f"#{source.id}", f"#{target.id}", confirmed=True),
            confirm_what=f"merging {source_name}",
        )
    moved = merge_contacts(
        session, actor=ctx.actor, source_id=id_of(source), target_id=id_of(target), now=ctx.now
    )
    return Reply(
        f"Merged {source_name} into {target.name} (#{target.id}); moved {counts_text(moved)}. "
        "`undo` splits them again.",
        cards=(contact_card(contact_overview(session, target), tz=ctx.tz, now=ctx.now),),
    )


def delete(ctx: HandlerContext, session: Session, cmd: DeleteContact) -> Reply | Outcome:
    try:
        contact = resolve_contact(session, cmd.ref)
    except NotFound:
        if cmd.ref.strip().startswith("#"):
            raise
        try:
            deal = resolve_deal(session, cmd.ref)
        except NotFound:
            raise NotFound(f"No contact or deal matches '{cmd.ref[:60]}'.") from None
        return delete_deal(ctx, session, DeleteDeal(f"#{deal.id}"))
    line = contact_line(contact_brief(session, contact))
    if not cmd.confirmed:
        require_admin(ctx.actor, "delete contacts")
        counts = contents(session, id_of(contact))
        return Outcome(
            Reply(
                f"Delete {line}?{_goes_and_stays(counts)} It all waits in the trash for "
                f"{RETENTION.days} days: `undo` or `restore #{contact.id}` brings it back."
            ),
            confirm=DeleteContact(f"#{contact.id}", confirmed=True),
            confirm_what=f"deleting {contact.name} (#{contact.id})",
        )
    delete_contact(session, actor=ctx.actor, contact_id=id_of(contact), now=ctx.now)
    return Reply(
        f"Deleted {line}. It is in the trash for {RETENTION.days} days: `undo` or "
        f"`restore #{contact.id}` brings it back whole."
    )


def register(router: Router) -> None:
    router.add(AddContact, add)
    router.add(FindContacts, find)
    router.add(ShowContact, show)
    router.add(EditContact, edit)
    router.add(TagContact, tag)
    router.add(MergeContacts, merge)
    router.add(DeleteContact, delete)
