"""The one look-up an inbound message from a known customer needs.

Every customer message runs this, so it is a single query: the channel identity, its
contact, the contact's open conversation on that channel (if any) and whether they have
follow-ups that stop when they write. A first-time writer is not found here; the caller
then resolves (creates) them with `crm.identities.resolve_customer`.
"""

from dataclasses import dataclass

from sqlalchemy import and_, exists
from sqlmodel import Session, col, select

from crm.enums import FollowUpKind, FollowUpStatus
from crm.identities import CustomerResolution
from crm.models import ChannelIdentity, Contact, Conversation, FollowUp


@dataclass(frozen=True)
class KnownCustomer:
    resolution: CustomerResolution
    conversation: Conversation | None  # their open conversation on this channel
    followups_to_stop: bool  # pending customer follow-ups with stop-on-reply
    found: bool = True  # False: resolved (maybe created) by the caller, nothing prefetched


def known_customer(session: Session, *, channel: str, external_id: str) -> KnownCustomer | None:
    """The customer behind (channel, external_id), or None if they never wrote before."""
    to_stop = exists().where(
        col(FollowUp.contact_id) == Contact.id,
        col(FollowUp.kind) == FollowUpKind.CUSTOMER,
        col(FollowUp.status) == FollowUpStatus.PENDING,
        col(FollowUp.stop_on_reply).is_(True),
    )
    row = session.exec(
        select(ChannelIdentity, Contact, Conversation, to_stop)
        .join(Contact, col(Contact.id) == ChannelIdentity.contact_id)
        .outerjoin(
            Conversation,
            and_(
                col(Conversation.contact_id) == Contact.id,
                col(Conversation.channel) == channel,
                col(Conversation.status) == "open",
            ),
        )
        .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
        .order_by(col(Conversation.id).desc())
    ).first()
    if row is None:
        return None
    identity, contact, conversation, pending = row
    return KnownCustomer(
        CustomerResolution(contact, identity, created=False, linked=False),
        conversation,
        bool(pending),
    )
