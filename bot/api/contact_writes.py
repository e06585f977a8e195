"""Contact writes for the API, each done by the same crm services chat uses.

A PATCH becomes the sequence of `edit_contact` / `tag_contact` calls a rep would
type, so validation, dedupe and the audit trail are chat's own.
"""

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.api import schemas
from crm.actors import Actor
from crm.contacts import (
    EDITABLE_FIELDS,
    ContactInput,
    create_contact,
    edit_contact,
    get_contact,
    tag_contact,
)
from crm.errors import Conflict, Invalid
from crm.externalids import ExternalId, clean_source, find
from crm.ids import id_of
from crm.models import Contact
from crm.validation import normalise_tag

RESERVED = set(EDITABLE_FIELDS) | {"tz", "tags", "tag"}


def _custom(fields: dict[str, schemas.CustomValue]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in fields.items():
        name = key.strip().lower()
        if not name or len(name) > 64 or name in RESERVED:
            raise Invalid("custom_fields", f"'{key[:40]}' cannot be a custom field name.")
        if value is None or not str(value).strip():
            raise Invalid("custom_fields", f"Give a value for {name}.")
        out[name] = str(value).strip()
    return out


def add_refs(
    session: Session, *, contact_id: int, refs: list[schemas.ExternalId], now: datetime
) -> None:
    for ref in refs:
        holder = find_ref(session, ref.system, ref.external_id)
        if holder is not None and holder.entity_id != contact_id:
            raise Conflict(
                f"{ref.system}:{ref.external_id} already belongs to contact #{holder.entity_id}."
            )
        if holder is None:
            try:
                with session.begin_nested():
                    session.add(
                        ExternalId(
                            source=clean_source(ref.system),
                            entity_type="contact",
                            external_id=ref.external_id,
                            entity_id=contact_id,
                            created_at=now,
                        )
                    )
                    session.flush()
            except IntegrityError:
                raise Conflict(f"{ref.system}:{ref.external_id} was just taken.") from None


def find_ref(session: Session, system: str, external_id: str) -> ExternalId | None:
    """The contact id row for (system, id): the same table `rapport import` writes, so a
    HubSpot file's Record ID is found by `system="hubspot"` (sources are lower-cased)."""
    return find(session, source=system, entity_type="contact", external_id=external_id)


def create(
    session: Session, *, actor: Actor, body: schemas.ContactCreate, now: datetime, region: str
) -> Contact:
    contact = create_contact(
        session,
        actor=actor,
        data=ContactInput(
            name=body.name,
            emails=body.emails,
            phones=body.phones,
            company=body.company,
            tags=body.tags,
            owner_id=body.owner_id,
            timezone=body.timezone,
            custom_fields=_custom(body.custom_fields),
        ),
        now=now,
        region=region,
        created_via="api",
    )
    add_refs(session, contact_id=id_of(contact), refs=body.external_ids, now=now)
    return contact


def patch(
    session: Session,
    *,
    actor: Actor,
    contact_id: int,
    body: schemas.ContactPatch,
    now: datetime,
    region: str,
) -> Contact:
    given = body.model_fields_set

    def edit(field_name: str, value: str) -> None:
        edit_contact(
            session,
            actor=actor,
            contact_id=contact_id,
            field_name=field_name,
            value=value,
            now=now,
            region=region,
        )

    if "name" in given and body.name is not None:
        edit("name", body.name)
    for email in body.emails or []:
        edit("email", email)
    for phone in body.phones or []:
        edit("phone", phone)
    if "company" in given:
        edit("company", body.company or "")
    if "owner_id" in given and body.owner_id is not None:
        edit("owner", str(body.owner_id))
    if "timezone" in given and body.timezone is not None:
        edit("timezone", body.timezone)
    for key, value in _custom(body.custom_fields or {}).items():
        edit(key, value)
    if "tags" in given and body.tags is not None:
        wanted = list(dict.fromkeys(normalise_tag(t) for t in body.tags))
        current = list(get_contact(session, contact_id).tags or [])
        gone = [t for t in current if t not in wanted]
        new = [t for t in wanted if t not in current]
        if gone:
            tag_contact(
                session, actor=actor, contact_id=contact_id, tags=gone, remove=True, now=now
            )
        if new:
            tag_contact(
                session, actor=actor, contact_id=contact_id, tags=new, remove=False, now=now
            )
    return get_contact(session, contact_id)


def lock(session: Session, contact_id: int) -> Contact:
    """The contact, row-locked on PostgreSQL so If-Match and the write see one version."""
    row = session.exec(select(Contact).where(Contact.id == contact_id).with_for_update()).first()
    return row if row is not None else get_contact(session, contact_id)
