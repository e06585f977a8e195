"""Corrections to a contact's emails and phones: replace the primary, add, remove, make primary.

The first point of each kind (lowest `position`) is the primary one: the one shown
on a line and used to reach the customer. `edit jane email x` replaces it (a
correction: the old value was wrong); `add email` keeps the old one too. Every
change is one `contact.update` audit row with the whole before/after lists, so
`undo` puts the lists back exactly.
"""

from datetime import datetime

from sqlmodel import Session, col, select

from crm import audit
from crm.actors import Actor, require_rep
from crm.contacts import (
    _points_dict,
    find_by_points,
    get_contact,
    normalise_points,
    refresh_search_text,
)
from crm.enums import PointKind
from crm.errors import Conflict, Invalid
from crm.ids import id_of
from crm.models import Contact, ContactPoint, snapshot

KINDS = ("email", "phone")


def set_points(
    session: Session, contact: Contact, *, emails: list[str], phones: list[str], now: datetime
) -> None:
    """Makes the contact's points exactly these lists, in this order (primary first)."""
    wanted = [(PointKind.EMAIL, v) for v in emails] + [(PointKind.PHONE, v) for v in phones]
    rows = list(session.exec(select(ContactPoint).where(ContactPoint.contact_id == contact.id)))
    keep = {(kind, value) for kind, value in wanted}
    for row in rows:
        if (row.kind, row.value) not in keep:
            session.delete(row)
    session.flush()
    have = {(row.kind, row.value): row for row in rows if (row.kind, row.value) in keep}
    for position, (kind, value) in enumerate(wanted):
        point = have.get((kind, value))
        if point is None:
            point = ContactPoint(contact_id=id_of(contact), kind=kind, value=value, created_at=now)
        point.position = position
        session.add(point)
    session.flush()
    refresh_search_text(session, contact)
    session.add(contact)


def _normalise(kind: str, value: str, region: str) -> str:
    points = normalise_points(
        [value] if kind == "email" else [], [value] if kind == "phone" else [], region=region
    )
    found = points.emails if kind == "email" else points.phones
    if not found:
        raise Invalid(kind, f"Give the {kind}, e.g. jane@acme.com or +1 415 555 0100.")
    return found[0]


def change_point(
    session: Session,
    *,
    actor: Actor,
    contact_id: int,
    kind: str,
    op: str,
    value: str,
    now: datetime,
    region: str = "US",
) -> tuple[Contact, str | None]:
    """op is replace (the primary), add, remove or primary. Returns the contact and the
    value that was replaced or demoted (None when there was none)."""
    require_rep(actor)
    if kind not in KINDS:
        raise Invalid("kind", "Only an email or a phone can be added, removed or made primary.")
    contact = get_contact(session, contact_id)
    before = snapshot(contact) | _points_dict(session, contact_id)
    lists = {"email": list(before["emails"]), "phone": list(before["phones"])}
    current = lists[kind]
    clean = _normalise(kind, value, region)
    if op in ("replace", "add"):
        holder = find_by_points(
            session,
            normalise_points(
                [clean] if kind == "email" else [],
                [clean] if kind == "phone" else [],
                region=region,
            ),
        )
        if holder is not None and holder.id != contact.id:
            raise Conflict(f"{holder.name} (#{holder.id}) already has {clean}.", holder)
    previous: str | None = None
    if op in ("replace", "primary") and current and current[0] == clean:
        # Typed twice, or the same value again: say so rather than "replaced (was same)".
        raise Invalid(kind, f"{clean} is already {contact.name}'s primary {kind}; nothing changed.")
    if op == "replace":
        previous = current[0] if current else None
        rest = [v for v in current[1:] if v != clean]
        lists[kind] = [clean, *rest]
    elif op == "add":
        if clean in current:
            raise Invalid(kind, f"{contact.name} already has {clean}.")
        lists[kind] = [*current, clean]
    elif op == "remove":
        if clean not in current:
            shown = ", ".join(current) or f"no {kind}"
            raise Invalid(kind, f"{contact.name} has no {kind} {clean} (they have {shown}).")
        lists[kind] = [v for v in current if v != clean]
    elif op == "primary":
        if clean not in current:
            raise Invalid(kind, f"{contact.name} has no {kind} {clean}; `add {kind}` it first.")
        previous = current[0] if current[0] != clean else None
        lists[kind] = [clean, *[v for v in current if v != clean]]
    else:
        raise Invalid("op", f"Unknown change '{op}'.")
    set_points(session, contact, emails=lists["email"], phones=lists["phone"], now=now)
    contact.updated_at = now
    session.add(contact)
    audit.record(
        session,
        actor=actor,
        action="contact.update",
        entity_type="contact",
        entity_id=contact.id,
        at=now,
        before=before,
        after=snapshot(contact) | _points_dict(session, contact_id) | {"point_op": op},
    )
    return contact, previous


def primary_of(session: Session, contact_id: int, kind: str) -> str | None:
    row = session.exec(
        select(ContactPoint)
        .where(ContactPoint.contact_id == contact_id, ContactPoint.kind == kind)
        .order_by(col(ContactPoint.position), col(ContactPoint.id))
    ).first()
    return row.value if row else None
