"""Contacts: create with dedupe, update, tag, delete, and look up.

Service functions are keyword-only, take the caller's session and do not
commit: the caller owns the transaction, so a change, its audit row and any
follow-up it schedules commit together.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm import audit
from crm.actors import Actor, require_rep
from crm.companies import get_or_create_company
from crm.contact_language import REP as LANGUAGE_SET_BY_REP
from crm.contact_language import parse_language
from crm.enums import PointKind
from crm.errors import Conflict, Invalid, NotFound
from crm.ids import id_of
from crm.models import Company, Contact, ContactPoint, Rep, snapshot
from crm.validation import (
    check_timezone,
    fold,
    normalise_email,
    normalise_name,
    normalise_phone,
    normalise_tag,
)


@dataclass
class ContactInput:
    """What a person gave us to create a contact, before normalisation."""

    name: str
    emails: Sequence[str] = ()
    phones: Sequence[str] = ()
    company: str | None = None
    tags: Sequence[str] = ()
    owner_id: int | None = None
    timezone: str | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NormalisedPoints:
    emails: list[str]
    phones: list[str]


def normalise_points(
    emails: Sequence[str], phones: Sequence[str], *, region: str
) -> NormalisedPoints:
    """Validates every email and phone, dropping repeats but keeping order."""
    clean_emails = list(dict.fromkeys(normalise_email(e) for e in emails if e.strip()))
    clean_phones = list(dict.fromkeys(normalise_phone(p, region) for p in phones if p.strip()))
    return NormalisedPoints(clean_emails, clean_phones)


def find_by_points(session: Session, points: NormalisedPoints) -> Contact | None:
    """The contact already holding one of these emails or phones, if any."""
    pairs = [("email", e) for e in points.emails] + [("phone", p) for p in points.phones]
    for kind, value in pairs:
        point = session.exec(
            select(ContactPoint).where(ContactPoint.kind == kind, ContactPoint.value == value)
        ).first()
        if point is not None:
            return session.get(Contact, point.contact_id)
    return None


def points_of(session: Session, contact_id: int) -> NormalisedPoints:
    rows = session.exec(
        select(ContactPoint)
        .where(ContactPoint.contact_id == contact_id)
        .order_by(col(ContactPoint.position), col(ContactPoint.id))
    ).all()
    return NormalisedPoints(
        [r.value for r in rows if r.kind == "email"], [r.value for r in rows if r.kind == "phone"]
    )


def refresh_search_text(session: Session, contact: Contact) -> None:
    """Keeps the denormalised, folded search column in step with the contact."""
    company = session.get(Company, contact.company_id) if contact.company_id else None
    points = points_of(session, contact.id) if contact.id else NormalisedPoints([], [])
    parts = [contact.name, company.name if company else ""]
    parts += points.emails + points.phones + [f"#{t}" for t in contact.tags or []]
    # folded (no case, no accents): `jose` finds José; crm.search folds queries the same way
    contact.search_text = fold(" ".join(p for p in parts if p))


def _add_points(
    session: Session, contact: Contact, points: NormalisedPoints, now: datetime
) -> None:
    existing = points_of(session, id_of(contact))
    position = len(existing.emails) + len(existing.phones)
    for kind, values, have in (
        (PointKind.EMAIL, points.emails, existing.emails),
        (PointKind.PHONE, points.phones, existing.phones),
    ):
        for value in values:
            if value in have:
                continue
            session.add(
                ContactPoint(
                    contact_id=id_of(contact),
                    kind=kind,
                    value=value,
                    position=position,
                    created_at=now,
                )
            )
            position += 1
    session.flush()


def create_contact(
    session: Session,
    *,
    actor: Actor,
    data: ContactInput,
    now: datetime,
    region: str = "US",
    created_via: str | None = None,
) -> Contact:
    """Creates a contact, or raises Conflict naming the existing one with the same email/phone.

    The unique constraint on (kind, value) backs the check up when two workers race.
    """
    require_rep(actor)
    name = normalise_name(data.name)
    points = normalise_points(data.emails, data.phones, region=region)
    existing = find_by_points(session, points)
    if existing is not None:
        raise Conflict(
            f"{existing.name} (#{existing.id}) already has that email or phone.", existing
        )
    tags = list(dict.fromkeys(normalise_tag(t) for t in data.tags))
    company = get_or_create_company(session, actor=actor, name=data.company, now=now)
    contact = Contact(
        name=name,
        company_id=company.id if company else None,
        owner_id=data.owner_id if data.owner_id is not None else _own_rep_id(actor),
        tags=tags,
        timezone=check_timezone(data.timezone) if data.timezone else None,
        custom_fields=dict(data.custom_fields),
        created_via=created_via or actor.channel or "shell",
        created_at=now,
        updated_at=now,
    )
    session.add(contact)
    try:
        with session.begin_nested():
            session.flush()
            _add_points(session, contact, points, now)
    except IntegrityError:
        raise Conflict("Another contact got that email or phone at the same moment.") from None
    refresh_search_text(session, contact)
    audit.record(
        session,
        actor=actor,
        action="contact.create",
        entity_type="contact",
        entity_id=contact.id,
        at=now,
        after=snapshot(contact) | {"emails": points.emails, "phones": points.phones},
    )
    return contact


def _own_rep_id(actor: Actor) -> int | None:
    return actor.id if actor.kind == "rep" else None


def get_contact(session: Session, contact_id: int) -> Contact:
    contact = session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"There is no contact #{contact_id}.")
    return contact


EDITABLE_FIELDS = ("name", "email", "phone", "company", "owner", "timezone", "language")


def edit_contact(
    session: Session,
    *,
    actor: Actor,
    contact_id: int,
    field_name: str,
    value: str,
    now: datetime,
    region: str = "US",
) -> Contact:
    """One field at a time, as a rep types it. An email or phone is added to the
    contact's list (the first one stays primary), never silently replacing one."""
    require_rep(actor)
    contact = get_contact(session, contact_id)
    before = snapshot(contact) | _points_dict(session, contact_id)
    field_name = field_name.lower()
    if field_name == "name":
        contact.name = normalise_name(value)
    elif field_name in {"email", "phone"}:
        points = normalise_points(
            [value] if field_name == "email" else [],
            [value] if field_name == "phone" else [],
            region=region,
        )
        holder = find_by_points(session, points)
        if holder is not None and holder.id != contact.id:
            raise Conflict(f"{holder.name} (#{holder.id}) already has {value.strip()}.", holder)
        _add_points(session, contact, points, now)
    elif field_name == "company":
        company = get_or_create_company(session, actor=actor, name=value, now=now)
        contact.company_id = company.id if company else None
    elif field_name == "owner":
        contact.owner_id = find_rep(session, value).id
    elif field_name in {"timezone", "tz"}:
        contact.timezone = check_timezone(value)
    elif field_name in {"language", "lang"}:
        contact.language = parse_language(value)  # `auto`: None, learnt again from messages
        contact.language_source = LANGUAGE_SET_BY_REP if contact.language else None
    else:
        if not value.strip():
            raise Invalid(field_name, f"Give a value for {field_name}.")
        contact.custom_fields = {**(contact.custom_fields or {}), field_name: value.strip()}
    contact.updated_at = now
    refresh_search_text(session, contact)
    session.add(contact)
    audit.record(
        session,
        actor=actor,
        action="contact.update",
        entity_type="contact",
        entity_id=contact.id,
        at=now,
        before=before,
        after=snapshot(contact) | _points_dict(session, contact_id),
    )
    return contact


def _points_dict(session: Session, contact_id: int) -> dict[str, list[str]]:
    points = points_of(session, contact_id)
    return {"emails": points.emails, "phones": points.phones}


def find_rep(session: Session, text: str) -> Rep:
    name = text.strip().lstrip("@").lower()
    if name.isdigit():
        rep = session.get(Rep, int(name))
        if rep:
            return rep
    reps = session.exec(select(Rep).where(Rep.active)).all()
    matches = [r for r in reps if r.name.lower() == name] or [
        r for r in reps if r.name.lower().startswith(name)
    ]
    if len(matches) != 1:
        names = ", ".join(r.name for r in reps[:10]) or "none yet"
        raise NotFound(f"No single rep called '{text.strip()[:40]}'. Reps: {names}.")
    return matches[0]


def tag_contact(
    session: Session,
    *,
    actor: Actor,
    contact_id: int,
    tags: Sequence[str],
    remove: bool,
    now: datetime,
) -> Contact:
    require_rep(actor)
    contact = get_contact(session, contact_id)
    before = list(contact.tags or [])
    clean = [normalise_tag(t) for t in tags]
    if remove:
        contact.tags = [t for t in before if t not in clean]
    else:
        contact.tags = list(dict.fromkeys(before + clean))
    if contact.tags == before:  # typed twice, or removing a tag it never had: no audit row
        return contact
    contact.updated_at = now
    refresh_search_text(session, contact)
    session.add(contact)
    audit.record(
        session,
        actor=actor,
        action="contact.tag",
        entity_type="contact",
        entity_id=contact.id,
        at=now,
        before={"tags": before},
        after={"tags": contact.tags},
    )
    return contact


def set_consent(
    session: Session, *, actor: Actor, contact_id: int, opted_out: bool, now: datetime, source: str
) -> Contact:
    """Opt-out / opt-in for follow-ups and marketing, stored with the time and source."""
    contact = get_contact(session, contact_id)
    before = {"opted_out": contact.opted_out}
    contact.opted_out = opted_out
    contact.consent_changed_at = now
    contact.consent_source = source
    contact.updated_at = now
    session.add(contact)
    audit.record(
        session,
        actor=actor,
        action="contact.consent",
        entity_type="contact",
        entity_id=contact_id,
        at=now,
        before=before,
        after={"opted_out": opted_out, "source": source},
    )
    return contact
