"""THE rep verb table: each verb is declared once, here, and everything else derives from it.

A `Verb` names the word reps type (plus its aliases), the parse function in
`bot.language.grammar` that turns the rest of the line into a Command, the usage line,
an example, the longer help, the help group, the Command type it builds and whether
that command only reads. From this one table come: `parse` (word -> parse function),
the ParseError's verb (so the reply can add the usage line), `Command.name`
(`commands.COMMAND_NAMES`), the help text and usage lines (`bot.language.help`) and
Slack's read-only set (no App Home refresh after a read). The router is checked
against it by tests/unit/test_verbs_complete.py.

Several verbs may build one Command type (won/lost, log/note, tag/untag); the FIRST
verb declared for a type is the command's name.

To add a rep command, touch two files plus tests (README, Development): here, the
frozen Command dataclass (existing ones live in bot/language/commands.py; a new one may
sit just above its Verb), a parse function (a generic one from bot.language.grammar such
as `_id_command`, `_contact_ref`, `_scoped`, or a new one beside the dataclass) and one
`Verb(...)` in VERBS; then the handler and its `router.add` in bot/rep/handlers/.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace

from rapidfuzz import fuzz, process

from bot.language import commands as cmd
from bot.language import grammar as g
from bot.language import tokens as tok
from bot.language.commands import Command, ParseError

__all__ = ["GROUPS", "READ_ONLY", "VERBS", "Verb", "by_word", "parse", "parse_line"]

Parser = Callable[[str, str], Command | ParseError]  # (verb as typed, text after it)

CONTACTS, ACTIVITIES, DEALS = "Contacts", "Activities", "Deals"
REMINDERS, INBOX, REPORTS, SETTINGS = "Reminders & follow-ups", "Inbox", "Reports", "Settings"
TEAM = "Team (admins)"
GROUPS = (CONTACTS, ACTIVITIES, DEALS, REMINDERS, INBOX, REPORTS, SETTINGS, TEAM)  # help order


@dataclass(frozen=True)
class Verb:
    """One rep verb. `usage` is the line without the example; `details` the help text."""

    name: str
    command: type[Command]
    parse: Parser
    usage: str
    example: str
    details: str
    group: str
    aliases: tuple[str, ...] = ()
    read_only: bool = False
    also: tuple[type[Command], ...] = ()  # other Command types its parser builds

    @property
    def usage_line(self) -> str:
        """The one line shown after an error: `usage   e.g. example`."""
        return f"{self.usage}   e.g. {self.example}"


# fmt: off
VERBS: tuple[Verb, ...] = (
    # --- contacts ---
    Verb(
        "add", cmd.AddContact, g._add,
        usage="add <name> [email] [phone] [at <company>] [#tag ...]",
        example="add Jane Doe jane@acme.com +1 415 555 0100 at Acme #vip",
        details="Emails, phones and #tags can go anywhere after the name; 'at', 'from' or '@' "
        "starts the company.",
        group=CONTACTS,
    ),
    Verb(
        "find", cmd.FindContacts, g._find, aliases=("search", "lookup"), read_only=True,
        usage="find <text>",
        example="find acme",
        details="Searches contacts (names, emails, phones, companies) and companies. Also: "
        "search, lookup.",
        group=CONTACTS,
    ),
    Verb(
        "show", cmd.ShowContact, g._contact_ref(cmd.ShowContact), aliases=("contact",),
        read_only=True,
        usage="show <contact or company>",
        example="show jane, show #42 or show acme",
        details='A contact is #id, an email, a phone, a "quoted name" or a name; a company is its '
        "name (its card lists contacts, open deals and recent timeline). Also: contact.",
        group=CONTACTS,
    ),
    Verb(
        "edit", cmd.EditContact, g._edit, aliases=("set",), also=(cmd.EditDeal, cmd.ChangePoint),
        usage="edit <contact, company or deal> <field> <value>",
        example="edit jane phone +44 20 7946 0958",
        details="Contact fields: name, email and phone (replace the primary one), company, owner, "
        "timezone, language (es, fr, ... or auto); any other word is a custom field (edit #42 "
        "title CTO). Emails and phones: edit jane add|remove|primary email <value>. Company: "
        "edit acme name|domain <value>. Deal: edit deal #12 amount|title|close|owner <value> "
        "(amount and close need no 'deal'). Quote names of several words if in doubt. Also: set.",
        group=CONTACTS,
    ),
    Verb(
        "tag", cmd.TagContact, g._tag,
        usage="tag <contact> #tag [#tag ...]",
        example="tag jane #churn-risk #vip",
        details="Tags are letters, digits, - and _, stored lower-case.",
        group=CONTACTS,
    ),
    Verb(
        "untag", cmd.TagContact, g._tag,
        usage="untag <contact> #tag [#tag ...]",
        example="untag jane #vip",
        details="Removes the tags from the contact.",
        group=CONTACTS,
    ),
    Verb(
        "merge", cmd.MergeContacts, g._merge,
        usage="merge <contact> into <contact>",
        example="merge #12 into #15",
        details="The first contact is folded into the second. I show what moves and ask `yes` "
        'first; `undo` splits them again. Also: merge "Jane Doe" "J. Doe".',
        group=CONTACTS,
    ),
    Verb(
        "delete", cmd.DeleteContact, g._delete, also=(cmd.DeleteDeal,),
        usage="delete <contact> | delete deal <deal>",
        example="delete #42",
        details="I show what goes with the contact and ask `yes` first. A deleted contact stays "
        "in the trash for 30 days: `undo` or an admin's `restore #id` brings it back whole.",
        group=CONTACTS,
    ),
    Verb(
        "remove", cmd.ChangePoint, g._remove,
        usage="remove email|phone <contact> <value>",
        example="remove email jane jane@old.com",
        details="Removes one email or phone from a contact. Also: edit jane remove email "
        "jane@old.com.",
        group=CONTACTS,
    ),
    Verb(
        "primary", cmd.ChangePoint, g._primary,
        usage="primary <contact> <email or phone>",
        example="primary jane jane@acme.com",
        details="Makes an email or phone the contact's first (primary) one; the old one stays.",
        group=CONTACTS,
    ),
    Verb(
        "companies", cmd.ListCompanies, g._companies, aliases=("company",), read_only=True,
        usage="companies [text]",
        example="companies acme",
        details="Companies with their contacts and open deals. `show <company>` opens one.",
        group=CONTACTS,
    ),
    Verb(
        "restore", cmd.RestoreContact, g._restore_either, also=(cmd.SetRepAccess,),
        usage="restore #<contact id> | restore @rep",
        example="restore #42",
        details="Admins: brings a deleted contact back from the trash (kept 30 days) with its "
        "timeline, deals and follow-ups; `restore @bob` gives a revoked rep access again.",
        group=CONTACTS,
    ),
    Verb(
        "trash", cmd.ShowTrash, lambda verb, rest: cmd.ShowTrash(), read_only=True,
        usage="trash",
        example="trash",
        details="Admins: deleted contacts that `restore` can still bring back (30 days).",
        group=CONTACTS,
    ),
    # --- activities ---
    Verb(
        "log", cmd.LogActivity, g._log, aliases=("call", "meeting", *g._ACTIVITY_VERBS),
        usage="log call|meeting|email|note with <contact>: <what happened>[, follow up <when>]",
        example="log call with Jane: wants pricing for 50 seats, follow up next tuesday 10am",
        details="Also: call jane: ..., meeting with jane: ..., note jane: .... Add ', follow up "
        "<when>' and I'll remind you.",
        group=ACTIVITIES,
    ),
    Verb(
        "note", cmd.LogActivity, g._log,
        usage="note <contact>: <text>",
        example="note jane: prefers email",
        details="Same as log note on <contact>: <text>.",
        group=ACTIVITIES,
    ),
    # --- deals ---
    Verb(
        "deal", cmd.CreateDeal, g._deal,
        usage='deal <contact or company> ["title"] [amount] [stage <stage>] [close <when>]',
        example='deal Acme "50 seats" $12,000 stage proposal close end of month',
        details="Amounts: $12,000, 12k, €1.5m, 12000 EUR. Without quotes the first word is the "
        "contact or company and the other words the title. A company's deal is the company's, "
        "however many contacts it has; an unknown name makes a new company (I say so).",
        group=DEALS,
    ),
    Verb(
        "stage", cmd.SetDealStage, g._stage,
        usage="stage <deal> <stage>",
        example="stage #12 negotiation",
        details="The stage is the last word: stage acme renewal negotiation. Add ': reason' "
        "if you like.",
        group=DEALS,
    ),
    Verb(
        "won", cmd.CloseDeal, g._close_deal,
        usage="won <deal> [on <date>] [reason]",
        example="won #12 great demo",
        details="Marks the deal won. The deal is #id, a \"quoted title\", the text before ':' "
        "or the first word.",
        group=DEALS,
    ),
    Verb(
        "lost", cmd.CloseDeal, g._close_deal,
        usage="lost <deal> [reason]",
        example="lost #12 went with a competitor",
        details="Marks the deal lost; a reason helps the reports: lost acme: price.",
        group=DEALS,
    ),
    Verb(
        "sold", cmd.RecordSale, g._sold,
        usage=g._SOLD_USAGE,
        example="sold jane $120 on 2 Nov ref INV-7",
        details="Records a purchase by the contact (counts for value, churn and segments). A "
        "past date is fine: on 2 Nov, on yesterday; `ref` adds an order or invoice number.",
        group=DEALS,
    ),
    Verb(
        "pipeline", cmd.ShowPipeline, g._scoped(cmd.ShowPipeline, "mine", g._MINE),
        read_only=True,
        usage="pipeline [all]",
        example="pipeline all",
        details="Your open deals by stage; 'all' shows the whole team.",
        group=DEALS,
    ),
    # --- reminders and follow-ups ---
    Verb(
        "remind", cmd.Remind, g._remind,
        usage="remind me to <what> <when>",
        example="remind me to send the contract to Jane tomorrow at 9",
        details="Also: remind me tomorrow at 9 to call Bob, remind me in 2 hours: call Bob.",
        group=REMINDERS,
    ),
    Verb(
        "followup", cmd.ScheduleFollowUp, g._followup,
        usage="followup <contact> <when>: <message>",
        example='followup jane in 3 days: "How is the trial going?"',
        details="Sends the message to the customer at that time, unless they reply first; "
        "add --keep to send it anyway.",
        group=REMINDERS,
    ),
    Verb(
        "followups", cmd.ListFollowUps, g._scoped(cmd.ListFollowUps, "mine", g._MINE),
        aliases=("reminders",), read_only=True,
        usage="followups [all]",
        example="followups all",
        details="Your pending follow-ups and reminders, with their numbers. Also: reminders.",
        group=REMINDERS,
    ),
    Verb(
        "done", cmd.CompleteFollowUp, g._id_command(cmd.CompleteFollowUp, "follow-up"),
        usage="done <follow-up number>",
        example="done 7",
        details="Marks a reminder or follow-up as done.",
        group=REMINDERS,
    ),
    Verb(
        "snooze", cmd.SnoozeFollowUp, g._snooze,
        usage="snooze <follow-up number> [when]",
        example="snooze 7 2h or snooze 7 until tomorrow 9am",
        details="Without a time it moves an hour later than it was due (or than now, if it is "
        "overdue); never earlier.",
        group=REMINDERS,
    ),
    Verb(
        "cancel", cmd.CancelFollowUp, g._id_command(cmd.CancelFollowUp, "follow-up"),
        usage="cancel <follow-up number>",
        example="cancel 7",
        details="Cancels a follow-up before it is sent.",
        group=REMINDERS,
    ),
    # --- inbox ---
    Verb(
        "inbox", cmd.ShowInbox, g._scoped(cmd.ShowInbox, "open", g._INBOX), read_only=True,
        usage="inbox [mine|unassigned]",
        example="inbox unassigned",
        details="Open customer conversations; 'mine' or 'unassigned' to narrow down.",
        group=INBOX,
    ),
    Verb(
        "reply", cmd.ReplyToConversation, g._reply,
        usage="reply <conversation number> <message>",
        example="reply 12 Thanks, we'll look at it",
        details="Sends your text to the customer on their channel.",
        group=INBOX,
    ),
    Verb(
        "assign", cmd.AssignConversation, g._assign,
        usage="assign <conversation number> [me|@rep]",
        example="assign 12 @bob",
        details="Without a name the conversation is assigned to you.",
        group=INBOX,
    ),
    Verb(
        "retag", cmd.RetagMessage, g._retag,
        usage="retag <message number> <need> | retag conversation <number> <need>",
        example="retag 345 billing",
        details="Corrects the need of a customer message: the inbox shows message numbers; "
        "`retag conversation 12 billing` retags its latest customer message. The reply quotes it.",
        group=INBOX,
    ),
    Verb(
        "close", cmd.CloseConversation, g._id_command(cmd.CloseConversation, "conversation"),
        usage="close <conversation number>",
        example="close 12",
        details="Closes the conversation; it reopens if the customer writes again.",
        group=INBOX,
    ),
    # --- reports ---
    Verb(
        "report", cmd.Report, g._report, read_only=True,
        # the names are bot.reports.REPORTS (tests/unit/test_report_registry.py checks)
        usage="report needs|pipeline|clv|churn|segments|inbox|value [period]",
        example="report pipeline last month",
        details="Period examples: this week, last month, 2026-01-01 to 2026-03-31.",
        group=REPORTS,
    ),
    # --- settings and help ---
    Verb(
        "timezone", cmd.SetTimezone, g._timezone, aliases=("tz",),
        usage="timezone <zone>",
        example="timezone Europe/Paris",
        details="Dates you type are read in this zone. Also: tz.",
        group=SETTINGS,
    ),
    Verb(
        "dateorder", cmd.SetDateOrder, g._dateorder,
        usage="dateorder DMY|MDY|YMD",
        example="dateorder DMY",
        details="How you write numeric dates: DMY reads 5.1.2027 as 5 January, MDY as May 1; "
        "without it the order follows your time zone.",
        group=SETTINGS,
    ),
    Verb(
        "undo", cmd.Undo, lambda verb, rest: cmd.Undo(),
        usage="undo",
        example="undo (reverts your last change)",
        details="Reverts your own last change and says exactly what; if that change can't be "
        "undone it says so and stops (it never skips to an older one).",
        group=SETTINGS,
    ),
    Verb(
        "help", cmd.Help, g._help, aliases=("?",), read_only=True,
        usage="help [command]",
        example="help log",
        details="Type help alone for the list of commands.",
        group=SETTINGS,
    ),
    # --- the team (admins) ---
    Verb(
        "reps", cmd.ListReps, lambda verb, rest: cmd.ListReps(), read_only=True,
        usage="reps",
        example="reps",
        details="Admins: every team member, active or revoked, and who is an admin.",
        group=TEAM,
    ),
    Verb(
        "revoke", cmd.SetRepAccess, g._rep_access,
        usage="revoke @rep",
        example="revoke @bob",
        details="Admins: locks the rep out of Rapport at once (their data stays).",
        group=TEAM,
    ),
    Verb(
        "admin", cmd.SetRepAccess, g._rep_access,
        usage="admin @rep",
        example="admin @bob",
        details="Admins: makes the rep an admin.",
        group=TEAM,
    ),
)
# fmt: on

_BY_WORD: dict[str, Verb] = {word: v for v in VERBS for word in (v.name, *v.aliases)}
READ_ONLY: frozenset[type[Command]] = frozenset(v.command for v in VERBS if v.read_only)
for _verb in reversed(VERBS):  # reversed: the first verb of a type wins
    cmd.COMMAND_NAMES[_verb.command] = _verb.name
for _verb in VERBS:  # a type only ever built through another verb (`delete deal`) is named by it
    for _also in _verb.also:
        cmd.COMMAND_NAMES.setdefault(_also, _verb.name)


def by_word(word: str) -> Verb | None:
    """The verb a word (its name or an alias) stands for."""
    return _BY_WORD.get(word)


def is_read_only(command: object) -> bool:
    """Whether running `command` leaves the CRM as it was (Slack skips the home refresh)."""
    return type(command) in READ_ONLY


def parse(text: str) -> Command | ParseError:
    """Turn one line of rep text into a command. Never raises: anything unexpected
    becomes a ParseError so one odd message cannot take the bot down."""
    try:
        return parse_line(text)
    except Exception:  # a bug here must cost one reply, not the process
        return ParseError("Sorry, I couldn't read that. Type help for the list of commands.")


def parse_line(text: str) -> Command | ParseError:
    """`parse` without the safety net (the property tests call this to find real bugs).

    A ParseError for a known verb names the verb (`command`, the Verb's name even when an
    alias was typed) so the reply can add the usage line; one for an unknown verb carries
    the usage of up to three close verbs as hints."""
    if not isinstance(text, str):
        return ParseError("I can only read text.")
    if len(text) > tok.MAX_INPUT_CHARS:
        return ParseError(
            f"That message is too long ({len(text)} characters); "
            f"keep commands under {tok.MAX_INPUT_CHARS}."
        )
    word, rest = tok.split_verb(tok.clean_input(text))
    if not word:
        return cmd.Help(None)
    verb = _BY_WORD.get(word)
    if verb is None:
        return _unknown_verb(word)
    result = verb.parse(word, rest)
    if isinstance(result, ParseError) and result.command is not None:
        result = replace(result, command=verb.name)
    return result


def _unknown_verb(word: str) -> ParseError:
    close = process.extract(word, list(_BY_WORD), scorer=fuzz.ratio, limit=6, score_cutoff=60)
    usages = dict.fromkeys(_BY_WORD[name].usage_line for name, _, _ in close)
    return ParseError(
        f"I don't know '{word[:30]}'.", hints=(*list(usages)[:3], "Type help for the list.")
    )
