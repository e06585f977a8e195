"""Where a follow-up goes: a rep's preferred channel, a customer's last conversation.

Reads (crm.views) in the caller's transaction; the order and the kind of address come
from each adapter's ChannelTraits, never from channel names. A channel is offered only
when it is on the hub, so a deployment without Slack sends a rep's reminders to the shell
or by email, and an unreachable identity (a customer who blocked the bot) is
passed over.
"""

from dataclasses import dataclass

from sqlmodel import Session

from channels.base import Action, Address
from channels.hub import ChannelHub
from crm.models import FollowUp, Rep
from crm.views import CustomerReach, rep_identities


@dataclass(frozen=True)
class Target:
    address: Address | None
    problem: str | None = None  # why it cannot be sent (permanent)


def rep_addresses(session: Session, rep: Rep, hub: ChannelHub) -> list[Address]:
    """The rep's channels in the order their adapters rank them for reps (Slack, then the
    shell, then e-mail, as declared); a by-id channel (the shell) as the last resort."""
    by_channel = rep_identities(session, rep.id)
    out = []
    for channel in hub.rep_channels():
        if hub.traits(channel).by_email:
            if by_channel.get(channel) or rep.email:
                out.append(Address(channel, by_channel.get(channel) or rep.email or ""))
        elif channel in by_channel:
            out.append(Address(channel, by_channel[channel]))
    if not out:
        fallback = next((c for c in hub.rep_channels() if hub.traits(c).rep_by_id), None)
        if fallback is not None:
            out.append(Address(fallback, str(rep.id)))
    return out


class CustomerBook(CustomerReach):
    """A batch's customers (crm.views.CustomerReach) and where each can be reached."""

    def target(self, followup: FollowUp, hub: ChannelHub) -> Target:
        """Where they last wrote from, else any reachable channel; never if opted out."""
        contact = self.contacts.get(followup.contact_id or 0)
        if contact is None:
            return Target(None, "the contact was deleted")
        if contact.opted_out:
            return Target(None, f"{contact.name} opted out of follow-ups")
        last = self.last.get(contact.id or 0)
        identities = self.identities.get(contact.id or 0, {})
        wanted = [followup.channel] if followup.channel else None
        order = wanted or ([last.channel] if last else []) + hub.customer_channels()
        for channel in order:
            if not hub.has(channel):
                continue
            identity = identities.get(channel)
            if identity is not None and not identity.reachable:
                continue
            if hub.traits(channel).by_email:
                if contact.id in self.emails:
                    return Target(Address(channel, self.emails[contact.id]))
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
