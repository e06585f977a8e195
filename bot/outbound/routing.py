"""Where a follow-up goes: a rep's preferred channel, a customer's last conversation.

Pure reads in the caller's transaction. A channel is offered only when it is
on the hub, so a deployment without Slack sends a rep's reminders to the shell
or by email, and an unreachable identity (a customer who blocked the bot) is
passed over.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from channels.base import Action, Address
from crm.models import ChannelIdentity, Contact, ContactPoint, Conversation, FollowUp, Rep


@dataclass(frozen=True)
class Target:
    address: Address | None
    problem: str | None = None  # why it cannot be sent (permanent)


def rep_addresses(session: Session, rep: Rep, channels: list[str]) -> list[Address]:
    """Slack when the rep has a Slack id, else the shell, then email (when configured)."""
    identities = session.exec(
        select(ChannelIdentity).where(
            ChannelIdentity.rep_id == rep.id, col(ChannelIdentity.reachable).is_(True)
        )
    ).all()
    by_channel = {i.channel: i.external_id for i in identities}
    out = [
        Address(c, by_channel[c]) for c in ("slack", "shell") if c in channels and c in by_channel
    ]
    if "email" in channels and (by_channel.get("email") or rep.email):
        out.append(Address("email", by_channel.get("email") or rep.email or ""))
    if not out and "shell" in channels:
        out.append(Address("shell", str(rep.id)))
    return out


@dataclass
class CustomerBook:
    """What routing needs to know about a batch's customers, read with a few IN queries
    instead of three queries per follow-up (and kept referenced: the session's identity
    map holds rows only weakly)."""

    contacts: dict[int, Contact] = field(default_factory=dict)
    last: dict[int, Conversation] = field(default_factory=dict)
    identities: dict[int, dict[str, ChannelIdentity]] = field(default_factory=dict)
    emails: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session, contact_ids: Iterable[int | None]) -> "CustomerBook":
        ids = sorted({i for i in contact_ids if i is not None})
        book = cls()
        if not ids:
            return book
        book.contacts = {
            c.id: c for c in session.exec(select(Contact).where(col(Contact.id).in_(ids)))
        }
        for conversation in session.exec(
            select(Conversation)
            .where(col(Conversation.contact_id).in_(ids))
            .order_by(col(Conversation.last_message_at).desc(), col(Conversation.id).desc())
        ):
            book.last.setdefault(conversation.contact_id, conversation)
        for identity in session.exec(
            select(ChannelIdentity).where(col(ChannelIdentity.contact_id).in_(ids))
        ):
            book.identities.setdefault(identity.contact_id or 0, {})[identity.channel] = identity
        for point in session.exec(
            select(ContactPoint)
            .where(col(ContactPoint.contact_id).in_(ids), ContactPoint.kind == "email")
            .order_by(col(ContactPoint.position), col(ContactPoint.id))
        ):
            book.emails.setdefault(point.contact_id, point.value)
        return book

    def target(self, followup: FollowUp, channels: list[str]) -> Target:
        """Where they last wrote from, else any reachable channel; never if opted out."""
        contact = self.contacts.get(followup.contact_id or 0)
        if contact is None:
            return Target(None, "the contact was deleted")
        if contact.opted_out:
            return Target(None, f"{contact.name} opted out of follow-ups")
        last = self.last.get(contact.id or 0)
        identities = self.identities.get(contact.id or 0, {})
        wanted = [followup.channel] if followup.channel else None
        order = wanted or ([last.channel] if last else []) + ["telegram", "email", "shell"]
        for channel in order:
            if channel not in channels:
                continue
            identity = identities.get(channel)
            if identity is not None and not identity.reachable:
                continue
            if channel == "email":
                if contact.id in self.emails:
                    return Target(Address("email", self.emails[contact.id]))
            elif last is not None and last.channel == channel:
                return Target(Address(channel, last.chat_id))
            elif identity is not None:
                return Target(Address(channel, identity.external_id))
        return Target(None, f"{contact.name} has no reachable channel")


def reminder_actions(followup_id: int) -> tuple[Action, ...]:
    return (
        Action("Done", "followup_done", str(followup_id), style="primary"),
        Action("Snooze 1h", "followup_snooze", f"{followup_id} 1h"),
        Action("Tomorrow 9:00", "followup_snooze", f"{followup_id} tomorrow 9:00"),
    )
