"""Who is acting: a rep, an admin, a customer or the system itself.

Services take an Actor on every write so they can check authorization and
write the audit row; the channel the action came through is part of it.
"""

from dataclasses import dataclass

from crm.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    kind: str  # "rep", "customer" or "system"
    id: int | None
    channel: str | None = None
    role: str = "rep"  # for reps: "rep" or "admin"
    name: str = ""
    timezone: str = "UTC"
    external_id: str | None = None  # the user's id on the channel (Slack user id, chat id)
    dateorder: str | None = None  # how the rep writes numeric dates (DMY, MDY, YMD)

    @property
    def label(self) -> str:
        """How the audit log names this actor, e.g. `rep:3` or `rep:3/slack:U0ABC`."""
        base = "system" if self.kind == "system" else f"{self.kind}:{self.id}"
        if self.external_id and self.channel:
            return f"{base}/{self.channel}:{self.external_id}"
        return base

    @property
    def is_rep(self) -> bool:
        return self.kind == "rep"

    @property
    def is_admin(self) -> bool:
        return self.kind == "system" or (self.kind == "rep" and self.role == "admin")


SYSTEM = Actor(kind="system", id=None, channel=None, role="admin", name="Rapport")


def require_rep(actor: Actor) -> None:
    """Rep and admin actions: customers never run them."""
    if not (actor.is_rep or actor.kind == "system"):
        raise Forbidden("Only the team can do that.")


def require_admin(actor: Actor, what: str) -> None:
    if not actor.is_admin:
        raise Forbidden(f"Only an admin can {what}. Ask an admin, or see `help`.")
