"""Typed rep commands: what `bot.language.grammar.parse` turns a rep's text into.

One frozen dataclass per command, no behaviour. The grammar only recognises the
shape of a command; values that need context to resolve (dates in the rep's
timezone, which contact "jane" is) stay as the raw text the rep typed and are
resolved by the handlers, so the parser stays pure and total.

Reference conventions shared by every command:
- a *contact ref* is `#42` (an id), a quoted name, or free text searched fuzzily;
- a *deal ref* is `#12` or free text matched against deal titles and companies;
- follow-up, conversation and message ids are plain numbers (`7` or `#7`).
"""

from dataclasses import dataclass, field

from bot.language.parsing import Amount


@dataclass(frozen=True)
class Command:
    """Base of every command; `name` is the verb used for help and routing."""

    @property
    def name(self) -> str:
        return COMMAND_NAMES[type(self)]


# --- contacts -----------------------------------------------------------------


@dataclass(frozen=True)
class AddContact(Command):
    name_text: str
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    company: str | None = None
    tags: tuple[str, ...] = ()
    confirmed: bool = False  # a namesake with nothing to tell them apart asks first


@dataclass(frozen=True)
class FindContacts(Command):
    query: str


@dataclass(frozen=True)
class ShowContact(Command):
    ref: str


@dataclass(frozen=True)
class EditContact(Command):
    """`edit jane phone +44 20 7946 0958`; field is lower-case (name, email, phone,
    company, owner, timezone, or any other word: a custom field)."""

    ref: str
    field_name: str
    value: str


@dataclass(frozen=True)
class TagContact(Command):
    ref: str
    tags: tuple[str, ...]
    remove: bool = False


@dataclass(frozen=True)
class MergeContacts(Command):
    """`merge <source> into <target>` or `merge <a> <b>`: source is folded into target."""

    source_ref: str
    target_ref: str
    confirmed: bool = False


@dataclass(frozen=True)
class DeleteContact(Command):
    ref: str
    confirmed: bool = False


# --- activities -----------------------------------------------------------------


@dataclass(frozen=True)
class LogActivity(Command):
    """`log call with Jane: wants pricing, follow up next tuesday 10am` or `note jane: ...`.

    kind is one of call, meeting, email, note. follow_up_when is the raw date text
    after "follow up" (None when absent)."""

    kind: str
    ref: str
    text: str
    follow_up_when: str | None = None
    occurred_when: str | None = None  # `log call with Jane yesterday: ...` (raw, past)
    confirmed: bool = False  # the same entry sent again within the hour asks first


# --- deals ----------------------------------------------------------------------


@dataclass(frozen=True)
class CreateDeal(Command):
    """`deal Acme "50 seats" $12,000 stage proposal close end of month`.

    amount is parsed by the grammar; its currency is None when the rep named none (the
    handler applies the business's currency); close_when stays raw text."""

    ref: str
    title: str
    amount: Amount | None = None
    stage: str | None = None
    close_when: str | None = None
    confirmed: bool = False  # a second open deal of the same title with the party asks first


@dataclass(frozen=True)
class SetDealStage(Command):
    deal_ref: str
    stage: str
    reason: str | None = None
    confirmed: bool = False  # reopening a lost deal as won asks first


@dataclass(frozen=True)
class CloseDeal(Command):
    """`won <deal> [reason]` / `lost <deal> <reason>`."""

    deal_ref: str
    won: bool
    reason: str | None = None
    confirmed: bool = False
    when: str | None = None  # `won #3 on 2 Nov` (raw, past)


@dataclass(frozen=True)
class RecordSale(Command):
    """`sold <contact> $120 [on <date>] [ref <reference>]`: a purchase, maybe backdated.

    when stays raw text (None: now); reference is free text (an order or invoice)."""

    ref: str
    amount: Amount  # currency None: the business's (RAPPORT_CURRENCY)
    when: str | None = None
    reference: str | None = None
    confirmed: bool = False  # a sale that repeats one (same reference, or amount this hour) asks


@dataclass(frozen=True)
class ShowPipeline(Command):
    scope: str = "mine"  # "mine" or "all"


# --- reminders and follow-ups ------------------------------------------------------


@dataclass(frozen=True)
class Remind(Command):
    """`remind me to send the contract to jane tomorrow at 9`."""

    text: str
    when: str


@dataclass(frozen=True)
class ScheduleFollowUp(Command):
    """`followup jane in 3 days: "How is the trial going?"` (a message to the customer)."""

    ref: str
    when: str
    text: str
    stop_on_reply: bool = True


@dataclass(frozen=True)
class ListFollowUps(Command):
    scope: str = "mine"  # "mine" or "all"


@dataclass(frozen=True)
class CompleteFollowUp(Command):
    followup_id: int


@dataclass(frozen=True)
class SnoozeFollowUp(Command):
    followup_id: int
    when: str


@dataclass(frozen=True)
class CancelFollowUp(Command):
    followup_id: int


# --- customer inbox --------------------------------------------------------------------


@dataclass(frozen=True)
class ShowInbox(Command):
    scope: str = "open"  # "open", "mine" or "unassigned"


@dataclass(frozen=True)
class ReplyToConversation(Command):
    conversation_id: int
    text: str
    confirmed: bool = False  # the same words sent within the hour ask first (typed twice)


@dataclass(frozen=True)
class AssignConversation(Command):
    """assignee is "me" or a rep handle/name without the leading @."""

    conversation_id: int
    assignee: str = "me"


@dataclass(frozen=True)
class RetagMessage(Command):
    """`retag 345 billing` (a message number) or `retag conversation 12 billing` (its
    latest customer message)."""

    message_id: int
    need: str
    conversation: bool = False


@dataclass(frozen=True)
class CloseConversation(Command):
    conversation_id: int


# --- reports, help, misc ------------------------------------------------------------------


@dataclass(frozen=True)
class Report(Command):
    """`report needs|pipeline|clv|churn|segments|inbox [period]`."""

    report: str
    period: str | None = None


@dataclass(frozen=True)
class SetTimezone(Command):
    timezone: str


@dataclass(frozen=True)
class SetDateOrder(Command):
    order: str  # DMY, MDY or YMD


@dataclass(frozen=True)
class Undo(Command):
    """Reverts the rep's own last change (from the audit log)."""


@dataclass(frozen=True)
class Help(Command):
    topic: str | None = None


# --- issue 15: corrections, companies, trash ------------------------------------------


@dataclass(frozen=True)
class ChangePoint(Command):
    """`edit jane add|remove|primary email|phone <value>` (also `add email jane <value>`,
    `remove phone jane <value>`, `primary jane <value>`)."""

    ref: str
    kind: str  # "email" or "phone"
    op: str  # "add", "remove" or "primary"
    value: str


@dataclass(frozen=True)
class EditDeal(Command):
    """`edit deal <deal> amount|title|close|owner <value>` (`edit <deal> amount 5k`)."""

    deal_ref: str
    field_name: str
    value: str
    confirmed: bool = False  # a close date in the past asks first


@dataclass(frozen=True)
class DeleteDeal(Command):
    deal_ref: str
    confirmed: bool = False


@dataclass(frozen=True)
class ListCompanies(Command):
    query: str | None = None


@dataclass(frozen=True)
class RestoreContact(Command):
    """Admin: `restore #42` brings a deleted contact back from the trash (30 days)."""

    contact_id: int


@dataclass(frozen=True)
class ShowTrash(Command):
    """Admin: the deleted contacts that can still be restored."""


@dataclass(frozen=True)
class ParseError:
    """Not a command: what the grammar returns when text cannot be understood.

    `command` names the verb when it was recognised (so help for it can be shown),
    `message` says specifically what was wrong, in words for a person."""

    message: str
    command: str | None = None
    hints: tuple[str, ...] = field(default_factory=tuple)


# --- the team (admins) ------------------------------------------------------------


@dataclass(frozen=True)
class ListReps(Command):
    """`reps`: every team member, active or revoked, with their role."""


@dataclass(frozen=True)
class SetRepAccess(Command):
    """`revoke @bob` / `restore @bob` (a rep; `restore #id` is the trash's) / `admin @bob`.

    access is one of "revoke", "restore", "admin"."""

    access: str
    who: str

    @property
    def name(self) -> str:
        return self.access


# Command type -> its verb's name. Filled by bot.language.verbs (the one place verbs are
# declared) when bot.language is imported: see bot/language/__init__.py.
COMMAND_NAMES: dict[type, str] = {}
