"""Who is writing: resolve a channel user to a Contact (customers) or a Rep (team).

Contacts are channel-neutral; identities are rows unique on (channel,
external_id). A customer is resolved by identity, then email, then phone, else
created, inside a savepoint that retries once when another worker wins a race.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from crm import audit
from crm.actors import SYSTEM, Actor
from crm.contacts import ContactInput, create_contact, find_by_points, normalise_points
from crm.enums import Role
from crm.errors import Invalid
from crm.models import AuditLog, ChannelIdentity, Contact, Rep, snapshot


@dataclass(frozen=True)
class CustomerResolution:
    contact: Contact
    identity: ChannelIdentity
    created: bool  # a new contact was made
    linked: bool  # an existing contact got this identity (by email/phone)


def find_identity(session: Session, channel: str, external_id: str) -> ChannelIdentity | None:
    return session.exec(
        select(ChannelIdentity).where(
            ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id
        )
    ).first()


def resolve_customer(
    session: Session,
    *,
    channel: str,
    external_id: str,
    display_name: str | None,
    now: datetime,
    email: str | None = None,
    phone: str | None = None,
    region: str = "US",
) -> CustomerResolution:
    """The contact behind a channel user, creating or linking one as needed.

    The inbound hot path finds a returning customer with crm.inbound.known_customer
    first and comes here only when that found nobody.
    """
    for attempt in range(2):
        try:
            with session.begin_nested():
                return _resolve_once(
                    session, channel, external_id, display_name, now, email, phone, region
                )
        except IntegrityError:
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


def _resolve_once(
    session: Session,
    channel: str,
    external_id: str,
    display_name: str | None,
    now: datetime,
    email: str | None,
    phone: str | None,
    region: str,
) -> CustomerResolution:
    identity = find_identity(session, channel, external_id)
    if identity is not None and identity.contact_id is not None:
        contact = session.get(Contact, identity.contact_id)
        if contact is not None:
            return CustomerResolution(contact, identity, created=False, linked=False)
    try:
        points = normalise_points([email] if email else [], [phone] if phone else [], region=region)
    except Invalid:
        points = normalise_points([], [], region=region)
    contact = find_by_points(session, points)
    created = contact is None
    if contact is None:
        name = (display_name or "").strip() or f"{channel.title()} user {external_id}"
        actor = Actor(kind="system", id=None, channel=channel, role="admin", name="Rapport")
        contact = create_contact(
            session,
            actor=actor,
            data=ContactInput(name=name[:200], emails=points.emails, phones=points.phones),
            now=now,
            region=region,
            created_via=channel,
        )
    if identity is None:
        identity = ChannelIdentity(
            channel=channel,
            external_id=external_id,
            contact_id=contact.id,
            display_name=(display_name or "")[:200] or None,
            created_at=now,
        )
    else:
        identity.contact_id = contact.id
    session.add(identity)
    session.flush()
    audit.record(
        session,
        actor=SYSTEM,
        action="identity.link",
        entity_type="contact",
        entity_id=contact.id,
        at=now,
        after={"channel": channel, "external_id": external_id, "created": created},
    )
    return CustomerResolution(contact, identity, created=created, linked=not created)


def link_identity_to(
    session: Session, *, identity: ChannelIdentity, contact: Contact, now: datetime
) -> None:
    """Moves an identity onto an existing contact (e.g. a shared phone matched one)."""
    before = {"contact_id": identity.contact_id}
    identity.contact_id = contact.id
    session.add(identity)
    audit.record(
        session,
        actor=SYSTEM,
        action="identity.relink",
        entity_type="contact",
        entity_id=contact.id,
        at=now,
        before=before,
        after={"contact_id": contact.id, "channel": identity.channel},
    )


def identities_of(session: Session, contact_id: int) -> list[ChannelIdentity]:
    return list(
        session.exec(select(ChannelIdentity).where(ChannelIdentity.contact_id == contact_id))
    )


def _granted_admin(session: Session, rep_id: int | None) -> bool:
    last = session.exec(
        select(AuditLog.action)
        .where(
            col(AuditLog.entity_type) == "rep",
            col(AuditLog.entity_id) == rep_id,
            col(AuditLog.action).in_(("rep.admin", "rep.role")),
        )
        .order_by(col(AuditLog.id).desc())
        .limit(1)
    ).first()
    return last == "rep.admin"


def resolve_rep(
    session: Session,
    *,
    channel: str,
    external_id: str,
    name: str,
    now: datetime,
    timezone: str = "UTC",
    admin: bool = False,
) -> Rep:
    """The rep behind a team member's channel id, created on first use from their profile.

    Admin status follows configuration (`admin`) every time, so removing someone
    from the admin list takes effect at once; an admin granted with the `admin @x`
    command (a `rep.admin` audit row newer than any configuration change) stays one.
    """
    identity = find_identity(session, channel, external_id)
    rep = session.get(Rep, identity.rep_id) if identity and identity.rep_id else None
    role = Role.ADMIN if admin else Role.REP
    if rep is not None:
        if role == "rep" and rep.role == "admin" and _granted_admin(session, rep.id):
            role = Role.ADMIN
        if rep.role != role:
            before = snapshot(rep)
            rep.role = role
            session.add(rep)
            audit.record(
                session,
                actor=SYSTEM,
                action="rep.role",
                entity_type="rep",
                entity_id=rep.id,
                at=now,
                before=before,
                after=snapshot(rep),
            )
        return rep
    try:
        with session.begin_nested():
            rep = Rep(name=name[:200] or external_id, role=role, timezone=timezone, created_at=now)
            session.add(rep)
            session.flush()
            session.add(
                ChannelIdentity(
                    channel=channel,
                    external_id=external_id,
                    rep_id=rep.id,
                    display_name=name[:200],
                    created_at=now,
                )
            )
            session.flush()
    except IntegrityError:
        identity = find_identity(session, channel, external_id)
        assert identity is not None and identity.rep_id is not None
        found = session.get(Rep, identity.rep_id)
        assert found is not None
        return found
    audit.record(
        session,
        actor=SYSTEM,
        action="rep.create",
        entity_type="rep",
        entity_id=rep.id,
        at=now,
        after=snapshot(rep) | {"channel": channel, "external_id": external_id},
    )
    return rep


def mark_unreachable(
    session: Session, *, channel: str, external_id: str, reason: str, now: datetime
) -> None:
    """The customer blocked us (or the chat is gone): remember it, and say why."""
    identity = find_identity(session, channel, external_id)
    if identity is None or not identity.reachable:
        return
    identity.reachable = False
    identity.unreachable_reason = reason[:200]
    session.add(identity)
    audit.record(
        session,
        actor=SYSTEM,
        action="identity.unreachable",
        entity_type="contact",
        entity_id=identity.contact_id,
        at=now,
        after={"channel": channel, "reason": reason[:200]},
    )
