"""The rep command language: one line of text -> one `Command` (or a `ParseError`).

`parse` is pure and total: it never raises, never touches the database or the
clock. Values that need context (dates, which "jane") stay raw text for the
handlers; only money is parsed here because it needs none. A ParseError for a known
verb names it (`command`, a key of USAGE) so the reply can add the usage line; one
for an unknown verb carries the usage of up to three close verbs as hints.
"""

import re
from collections.abc import Callable

from rapidfuzz import fuzz, process

from bot.language import commands as cmd
from bot.language import tokens as tok
from bot.language.commands import Command, ParseError

__all__ = ["HELP_TOPICS", "USAGE", "help_text", "parse", "parse_line"]

Result = Command | ParseError
Handler = Callable[[str, str], Result]  # (verb as typed, text after it) -> result
REPORTS = ("needs", "pipeline", "clv", "churn", "segments", "inbox")
CONTACT_FIELDS = ("name", "email", "phone", "company", "owner", "timezone")
_FIELD_ALIASES = {"tz": "timezone", "mail": "email", "e-mail": "email", "mobile": "phone",
                  "tel": "phone", "org": "company", "organisation": "company"}  # fmt: skip
_ACTIVITY_KINDS = {"call": "call", "called": "call", "phone": "call", "meeting": "meeting",
                   "meet": "meeting", "met": "meeting", "mtg": "meeting", "email": "email",
                   "emailed": "email", "mail": "email", "note": "note"}  # fmt: skip
_SEND_WHAT = "What should I send? e.g. followup jane in 3 days: How is the trial going?"


def parse(text: str) -> Command | ParseError:
    """Turn one line of rep text into a command. Never raises: anything unexpected
    becomes a ParseError so one odd message cannot take the bot down."""
    try:
        return parse_line(text)
    except Exception:  # a bug here must cost one reply, not the process
        return ParseError("Sorry, I couldn't read that. Type help for the list of commands.")


def parse_line(text: str) -> Command | ParseError:
    """`parse` without the safety net (the property tests call this to find real bugs)."""
    if not isinstance(text, str):
        return ParseError("I can only read text.")
    if len(text) > tok.MAX_INPUT_CHARS:
        return ParseError(
            f"That message is too long ({len(text)} characters); "
            f"keep commands under {tok.MAX_INPUT_CHARS}."
        )
    verb, rest = tok.split_verb(tok.clean_input(text))
    if not verb:
        return cmd.Help(None)
    handler = _HANDLERS.get(verb)
    return _unknown_verb(verb) if handler is None else handler(verb, rest)


def _unknown_verb(verb: str) -> ParseError:
    close = process.extract(verb, list(_HANDLERS), scorer=fuzz.ratio, limit=6, score_cutoff=60)
    usages = dict.fromkeys(USAGE[_CANONICAL.get(name, name)] for name, _, _ in close)
    return ParseError(
        f"I don't know '{verb[:30]}'.", hints=(*list(usages)[:3], "Type help for the list.")
    )


def _error(verb: str, message: str) -> ParseError:
    """A known verb with bad arguments: say what is wrong. `command` is always a key of
    USAGE, so the caller shows the usage line (hints stay empty to avoid repeating it)."""
    return ParseError(message, command=_CANONICAL.get(verb, verb))


def _needs_id(verb: str, token: str, what: str) -> ParseError:
    if not token:
        return _error(verb, f"{verb} needs a {what} number, e.g. {verb} 7.")
    return _error(verb, f"'{token[:20]}' isn't a {what} number; use the number, e.g. {verb} 7.")


def _strip_word(pattern: str, text: str) -> str:
    """Drop a leading filler word ("with", "to", ...) that reps add out of habit."""
    return re.sub(rf"^(?:{pattern})(?:\s+|$)", "", text.strip(), flags=re.IGNORECASE)


# --- contacts ----------------------------------------------------------------------


def _add(verb: str, rest: str) -> Result:
    name, values, company = tok.split_contact_details(rest)
    if not name:
        return _error(verb, "add needs a name.")
    return cmd.AddContact(name, values["email"], values["phone"], company, values["tag"])


def _find(verb: str, rest: str) -> Result:
    query = " ".join(tok.strip_quotes(rest).split())
    return cmd.FindContacts(query) if query else _error(verb, "What should I look for?")


def _contact_ref(factory: Callable[[str], Command]) -> Handler:
    def handler(verb: str, rest: str) -> Result:
        ref = tok.normalise_ref(rest)
        return factory(ref) if ref else _error(verb, f"Which contact? e.g. {verb} jane")

    return handler


def _edit(verb: str, rest: str) -> Result:
    """Field rule: after a quoted or `#id` ref the next word is the field. Otherwise the
    first known field (name, email, phone, company, owner, timezone, or an alias such
    as tz/mail/mobile) among words 2-4 ends the ref ("edit jane doe email jd@x.com");
    failing that the ref is one word and the next word is a custom field
    ("edit jane title CTO"). "to", "=" or ":" before a known field's value is dropped."""
    if tok.starts_with_exact_ref(rest):
        ref, tail = tok.take_ref(rest)
        field, _, value = tail.partition(" ")
    else:
        words = rest.split()
        at = next((i for i, w in enumerate(words[1:4], 1) if _field(w) in CONTACT_FIELDS), 1)
        ref, field = " ".join(words[:at]), "".join(words[at : at + 1])
        value = " ".join(words[at + 1 :])
    field = _field(field)
    if field in CONTACT_FIELDS:
        value = re.sub(r"^(?:to\s+|=\s*|:\s*)", "", value.strip(), flags=re.IGNORECASE)
    value = tok.strip_quotes(value)
    if not ref or not field:
        return _error(verb, "edit needs a contact, a field and a value.")
    if not value:
        return _error(verb, f"What should {field} be?")
    return cmd.EditContact(tok.normalise_ref(ref), field, value)


def _field(word: str) -> str:
    word = word.lower().rstrip(":=")
    return _FIELD_ALIASES.get(word, word)


def _tag(verb: str, rest: str) -> Result:
    """Tags are the `#words`; the ref is the rest (or a leading `#id`)."""
    if re.match(r"#\d+\b", rest):
        ref, tail = tok.take_ref(rest)
        tags, leftover = tok.extract_tags(tail)
        ref = f"{ref} {leftover}".strip() if leftover else ref
    else:
        tags, ref = tok.extract_tags(rest)
    if not tags:
        return _error(verb, f"{verb} needs at least one #tag.")
    ref = tok.normalise_ref(ref)
    if not ref:
        return _error(verb, f"Which contact? e.g. {verb} jane #vip")
    return cmd.TagContact(ref, tags, remove=verb == "untag")


def _merge(verb: str, rest: str) -> Result:
    """`merge A into B`, two quoted names, or exactly two words (ids or names)."""
    parts = re.split(r"\s+(?:into|->|→|>)\s+", rest, maxsplit=1, flags=re.IGNORECASE)
    if len(parts) != 2:
        spans = tok.quoted_spans(rest)
        parts = [s[2] for s in spans] if len(spans) == 2 else rest.split()
    source, target = (tok.normalise_ref(p) for p in parts) if len(parts) == 2 else ("", "")
    if not source or not target:
        return _error(verb, "merge needs two contacts: merge #12 into #15")
    if source.lower() == target.lower():
        return _error(verb, "Those are the same contact.")
    return cmd.MergeContacts(source, target)


# --- activities ----------------------------------------------------------------------


def _log(verb: str, rest: str) -> Result:
    """`log <kind> [with|to|on|for] <ref>: <text>[, follow up <when>]`; a kind-less
    `log jane: ...` is a note. The ref ends at the first ':' or ' - ' (or is a leading
    quoted name / `#id`)."""
    kind = _ACTIVITY_KINDS.get(verb, "note")
    first, _, after = rest.partition(" ")
    if verb == "log" and first.lower().rstrip(":") in _ACTIVITY_KINDS:
        kind, rest = _ACTIVITY_KINDS[first.lower().rstrip(":")], after
    rest = _strip_word("with|to|on|for|about|w/", rest)
    split = re.search(r"(?<!\d):|:(?!\d)|\s[-–—]\s", rest)
    if split:
        ref, text = rest[: split.start()], rest[split.end() :]
    elif tok.starts_with_exact_ref(rest):
        ref, text = tok.take_ref(rest)
    else:
        return _error(verb, "Put a ':' after the contact, e.g. log call with Jane: wants pricing")
    ref, (text, when) = tok.normalise_ref(ref), tok.split_follow_up(text.strip())
    if not ref:
        return _error(verb, "Who was it with?")
    if not text:
        return _error(verb, "What happened? Write it after the ':'.")
    return cmd.LogActivity(kind, ref, text, when)


# --- deals -------------------------------------------------------------------------------


def _deal(verb: str, rest: str) -> Result:
    """Ref is the text before the first quoted part (the title); if the text opens with
    a quote, the first quoted part is the ref and the second the title. Without quotes
    the ref is the first word and the title the words that are not amount/stage/close.
    No title at all: the ref doubles as the title."""
    spans = tok.quoted_spans(rest)
    title = None
    if spans and rest[: spans[0][0]].strip():
        ref, title, tail = rest[: spans[0][0]], spans[0][2], rest[spans[0][1] :]
    elif len(spans) > 1:
        ref, title = spans[0][2], spans[1][2]
        tail = rest[spans[0][1] : spans[1][0]] + " " + rest[spans[1][1] :]
    else:
        ref, tail = tok.take_ref(rest)
    ref = tok.normalise_ref(ref)
    if not ref:
        return _error(verb, "deal needs a contact or company.")
    try:
        amount, stage, close_when, leftover = tok.deal_terms(tail.split())
    except ValueError as exc:
        return _error(verb, str(exc))
    if title is not None and leftover:
        return _error(verb, f"I didn't understand '{leftover[:40]}' after the title.")
    minor, currency = amount or (None, None)
    return cmd.CreateDeal(ref, title or leftover or ref, minor, currency, stage, close_when)


def _stage(verb: str, rest: str) -> Result:
    """`stage <deal ref...> <stage>[: reason]`: the stage is the last word."""
    head, _, reason = tok.split_colon(rest)
    words = head.split()
    if len(words) > 2 and words[-2].lower() in ("to", "->", "→"):
        del words[-2]
    if len(words) < 2:
        return _error(verb, "stage needs a deal and a stage, e.g. stage #12 negotiation")
    stage = words[-1].lower().strip(",;.")
    return cmd.SetDealStage(tok.normalise_ref(" ".join(words[:-1])), stage, reason.strip() or None)


def _close_deal(verb: str, rest: str) -> Result:
    """Deal ref: `#id`, a quoted name, the text before ':', else the first word;
    the rest is the reason."""
    if tok.split_colon(rest)[1] and not tok.starts_with_exact_ref(rest):
        ref, _, reason = tok.split_colon(rest)
    else:
        ref, reason = tok.take_ref(rest)
    ref = tok.normalise_ref(ref)
    if not ref:
        return _error(verb, f"Which deal? e.g. {verb} #12")
    reason = re.sub(r"^[\s:–—-]*(?:because\s+)?", "", reason, flags=re.IGNORECASE).strip()
    return cmd.CloseDeal(ref, verb == "won", reason or None)


def _scoped(factory: Callable[[str], Command], default: str, scopes: dict[str, str]) -> Handler:
    def handler(verb: str, rest: str) -> Result:
        word = rest.lower().strip(" .")
        scope = scopes.get(word) if word else default
        if scope is None:
            choices = " or ".join(dict.fromkeys(scopes.values()))
            return _error(verb, f"{verb} can show {choices}, not '{rest[:30]}'.")
        return factory(scope)

    return handler


_MINE = {"mine": "mine", "me": "mine", "my": "mine", "all": "all", "team": "all", "everyone": "all"}
_INBOX = {"open": "open", "all": "open", "mine": "mine", "me": "mine", "my": "mine",
          "unassigned": "unassigned", "new": "unassigned"}  # fmt: skip


# --- reminders and follow-ups --------------------------------------------------------------


def _remind(verb: str, rest: str) -> Result:
    """`remind me [to] <text> <when>`, `remind me <when> to <text>`, `remind me <when>: <text>`."""
    body = _strip_word("me|us|myself", rest).lstrip(", ")
    found = tok.split_reminder(body)
    if not found and tok.is_when(_strip_word("to", body)):
        return _error(verb, "What should I remind you about?")
    if not found:
        return _error(verb, "When should I remind you? e.g. remind me to call Jane tomorrow at 9")
    text = tok.strip_quotes(_strip_word("to", found[0].strip(" ,;:-")))
    if not text:
        return _error(verb, "What should I remind you about?")
    return cmd.Remind(text, found[1])


_KEEP_FLAG = re.compile(r"\s*(?:--keep\b|\(even if (?:they|she|he) repl(?:y|ies)\))", re.I)


def _followup(verb: str, rest: str) -> Result:
    """`followup <ref> <when>: <text>` (or the text quoted at the end). The ref is a
    quoted name, `#id`, or the words before the first date-like word. `--keep` or
    "(even if they reply)" anywhere sends it even if the customer replies first."""
    keep = bool(_KEEP_FLAG.search(rest))
    body = _strip_word("with", _KEEP_FLAG.sub(" ", rest))
    head, sep, text = tok.split_colon(body)
    if not sep:
        spans = tok.quoted_spans(body)
        if not spans or body[spans[-1][1] :].strip() or spans[-1][0] == 0:
            return _error(verb, _SEND_WHAT)
        head, text = body[: spans[-1][0]], spans[-1][2]
    ref, when = tok.ref_then_when(head)
    text = tok.strip_quotes(text)
    if not ref:
        return _error(verb, "Who should I follow up with?")
    if not when:
        return _error(verb, f"When should I follow up with {ref}? e.g. in 3 days, tomorrow 10am")
    if not text:
        return _error(verb, _SEND_WHAT)
    return cmd.ScheduleFollowUp(ref, when, text, stop_on_reply=not keep)


def _split_id(rest: str) -> tuple[int | None, str, str]:
    """`12 Thanks, we'll look` -> (12, "12", "Thanks, we'll look"); newlines kept in the text."""
    match = re.match(r"(\S*)\s*(.*)", rest, re.DOTALL)
    token, text = (match[1], match[2].strip()) if match else ("", "")
    return tok.parse_id(token), token, text


def _id_command(factory: Callable[[int], Command], what: str) -> Handler:
    def handler(verb: str, rest: str) -> Result:
        number, token, _ = _split_id(rest)
        return _needs_id(verb, token, what) if number is None else factory(number)

    return handler


def _snooze(verb: str, rest: str) -> Result:
    """Snooze by "1h" when no time is given: the most common intent."""
    number, token, when = _split_id(rest)
    if number is None:
        return _needs_id(verb, token, "follow-up")
    return cmd.SnoozeFollowUp(number, _strip_word("until|till|til|to|for|by", when) or "1h")


# --- inbox ---------------------------------------------------------------------------------


def _reply(verb: str, rest: str) -> Result:
    number, token, text = _split_id(rest)
    if number is None:
        return _needs_id(verb, token, "conversation")
    text = re.sub(r"^[:\-–—]\s*", "", text).strip()
    return cmd.ReplyToConversation(number, text) if text else _error(verb, "What should I reply?")


def _rep_access(verb: str, rest: str) -> Result:
    """`revoke @bob`, `restore @bob`, `admin @bob`: the rep is named with an @ (a plain
    `restore #12` is a contact in the trash, not a rep)."""
    who = rest.strip()
    mention = re.fullmatch(r"<@([A-Z0-9]+)(?:\|[^>]*)?>", who)  # a Slack mention
    if mention:
        return cmd.SetRepAccess(verb, mention.group(1))
    if not who.startswith("@") or len(who) < 2:
        return _error(verb, "Name the team member with @, e.g. @bob.")
    return cmd.SetRepAccess(verb, " ".join(who.lstrip("@").split()))


def _assign(verb: str, rest: str) -> Result:
    number, token, who = _split_id(rest)
    if number is None:
        return _needs_id(verb, token, "conversation")
    who = " ".join(_strip_word("to", who).lstrip("@").split())
    return cmd.AssignConversation(number, "me" if who.lower() in ("", "me", "myself") else who)


def _retag(verb: str, rest: str) -> Result:
    number, token, need = _split_id(rest)
    if number is None:
        return _needs_id(verb, token, "message")
    need = "_".join(_strip_word("as|to", need).lstrip("#").lower().split())
    return cmd.RetagMessage(number, need) if need else _error(verb, "Which need? e.g. billing")


# --- reports, settings, help -------------------------------------------------------------------


def _report(verb: str, rest: str) -> Result:
    name, _, period = rest.strip().partition(" ")
    name = {"need": "needs", "segment": "segments", "ltv": "clv"}.get(name.lower(), name.lower())
    if name not in REPORTS:
        shown = f"I don't know the report '{name[:30]}'. " if name else "Which report? "
        return _error(verb, shown + "Reports: " + ", ".join(REPORTS) + ".")
    return cmd.Report(name, " ".join(period.split()) or None)


def _timezone(verb: str, rest: str) -> Result:
    """Accept any capitalisation of an IANA name; suggest close ones otherwise."""
    wanted = " ".join(rest.split())
    zones = tok.zone_names()
    zone = zones.get(wanted.lower().replace(" ", "_"))
    if zone:
        return cmd.SetTimezone(zone)
    cities = {name: name.rsplit("/", 1)[-1].replace("_", " ") for name in zones.values()}
    close = [name for _, _, name in process.extract(wanted, cities, limit=3, score_cutoff=60)]
    hint = f" Did you mean {', '.join(close)}?" if close and wanted else ""
    message = f"'{wanted[:40]}' is not a time zone." if wanted else "Which time zone?"
    return _error(verb, message + hint + " Use a name like Europe/Paris.")


def _help(verb: str, rest: str) -> Result:
    topic = rest.strip().lower().lstrip("/").split(" ")[0]
    return cmd.Help(topic or None)


_CANONICAL = {
    "search": "find", "lookup": "find", "contact": "show", "set": "edit", "call": "log",
    "meeting": "log", "reminders": "followups", "tz": "timezone", "?": "help",
}  # fmt: skip
_HANDLERS: dict[str, Handler] = {
    "add": _add, "find": _find, "search": _find, "lookup": _find,
    "show": _contact_ref(cmd.ShowContact), "contact": _contact_ref(cmd.ShowContact),
    "edit": _edit, "set": _edit, "tag": _tag, "untag": _tag, "merge": _merge,
    "delete": _contact_ref(cmd.DeleteContact),
    "log": _log, "note": _log, "call": _log, "meeting": _log,
    "deal": _deal, "stage": _stage, "won": _close_deal, "lost": _close_deal,
    "pipeline": _scoped(cmd.ShowPipeline, "mine", _MINE),
    "remind": _remind, "followup": _followup,
    "followups": _scoped(cmd.ListFollowUps, "mine", _MINE),
    "reminders": _scoped(cmd.ListFollowUps, "mine", _MINE),
    "done": _id_command(cmd.CompleteFollowUp, "follow-up"), "snooze": _snooze,
    "cancel": _id_command(cmd.CancelFollowUp, "follow-up"),
    "inbox": _scoped(cmd.ShowInbox, "open", _INBOX), "reply": _reply, "assign": _assign,
    "retag": _retag, "close": _id_command(cmd.CloseConversation, "conversation"),
    "report": _report, "timezone": _timezone, "tz": _timezone,
    "undo": lambda verb, rest: cmd.Undo(), "help": _help, "?": _help,
    "reps": lambda verb, rest: cmd.ListReps(), "revoke": _rep_access,
    "restore": _rep_access, "admin": _rep_access,
}  # fmt: skip


# --- usage and help ------------------------------------------------------------------------

USAGE: dict[str, str] = {
    "reps": "reps   e.g. reps",
    "revoke": "revoke @rep   e.g. revoke @bob",
    "restore": "restore @rep   e.g. restore @bob",
    "admin": "admin @rep   e.g. admin @bob",
    "add": "add <name> [email] [phone] [at <company>] [#tag ...]   "
    "e.g. add Jane Doe jane@acme.com +1 415 555 0100 at Acme #vip",
    "find": "find <text>   e.g. find acme",
    "show": "show <contact>   e.g. show jane or show #42",
    "edit": "edit <contact> <field> <value>   e.g. edit jane phone +44 20 7946 0958",
    "tag": "tag <contact> #tag [#tag ...]   e.g. tag jane #churn-risk #vip",
    "untag": "untag <contact> #tag [#tag ...]   e.g. untag jane #vip",
    "merge": "merge <contact> into <contact>   e.g. merge #12 into #15",
    "delete": "delete <contact>   e.g. delete #42",
    "log": "log call|meeting|email|note with <contact>: <what happened>[, follow up <when>]   "
    "e.g. log call with Jane: wants pricing for 50 seats, follow up next tuesday 10am",
    "note": "note <contact>: <text>   e.g. note jane: prefers email",
    "deal": 'deal <contact or company> ["title"] [amount] [stage <stage>] [close <when>]   '
    'e.g. deal Acme "50 seats" $12,000 stage proposal close end of month',
    "stage": "stage <deal> <stage>   e.g. stage #12 negotiation",
    "won": "won <deal> [reason]   e.g. won #12 great demo",
    "lost": "lost <deal> [reason]   e.g. lost #12 went with a competitor",
    "pipeline": "pipeline [all]   e.g. pipeline all",
    "remind": "remind me to <what> <when>   "
    "e.g. remind me to send the contract to Jane tomorrow at 9",
    "followup": "followup <contact> <when>: <message>   "
    'e.g. followup jane in 3 days: "How is the trial going?"',
    "followups": "followups [all]   e.g. followups all",
    "done": "done <follow-up number>   e.g. done 7",
    "snooze": "snooze <follow-up number> [when]   e.g. snooze 7 2h or snooze 7 until tomorrow 9am",
    "cancel": "cancel <follow-up number>   e.g. cancel 7",
    "inbox": "inbox [mine|unassigned]   e.g. inbox unassigned",
    "reply": "reply <conversation number> <message>   e.g. reply 12 Thanks, we'll look at it",
    "assign": "assign <conversation number> [me|@rep]   e.g. assign 12 @bob",
    "retag": "retag <message number> <need>   e.g. retag 345 billing",
    "close": "close <conversation number>   e.g. close 12",
    "report": "report needs|pipeline|clv|churn|segments|inbox [period]   "
    "e.g. report pipeline last month",
    "timezone": "timezone <zone>   e.g. timezone Europe/Paris",
    "undo": "undo   e.g. undo (reverts your last change)",
    "help": "help [command]   e.g. help log",
}
_DETAILS = {
    "add": "Emails, phones and #tags can go anywhere after the name; 'at', 'from' or '@' "
    "starts the company.",
    "find": "Searches names, emails, phones and companies. Also: search, lookup.",
    "show": 'A contact is #id, a "quoted name" or any text I can search for. Also: contact.',
    "edit": "Fields: name, email, phone, company, owner, timezone; any other word is a custom "
    "field (e.g. edit #42 title CTO). Quote names of several words if in doubt. Also: set.",
    "tag": "Tags are letters, digits, - and _, stored lower-case.",
    "untag": "Removes the tags from the contact.",
    "merge": 'The first contact is folded into the second. Also: merge "Jane Doe" "J. Doe".',
    "delete": "Type undo right after if you didn't mean it.",
    "log": "Also: call jane: ..., meeting with jane: ..., note jane: .... Add ', follow up "
    "<when>' and I'll remind you.",
    "note": "Same as log note on <contact>: <text>.",
    "deal": "Amounts: $12,000, 12k, €1.5m, 12000 EUR. Without quotes the first word is the "
    "contact or company and the other words the title.",
    "stage": "The stage is the last word: stage acme renewal negotiation. Add ': reason' if "
    "you like.",
    "won": "Marks the deal won. The deal is #id, a \"quoted title\", the text before ':' or "
    "the first word.",
    "lost": "Marks the deal lost; a reason helps the reports: lost acme: price.",
    "pipeline": "Your open deals by stage; 'all' shows the whole team.",
    "remind": "Also: remind me tomorrow at 9 to call Bob, remind me in 2 hours: call Bob.",
    "followup": "Sends the message to the customer at that time, unless they reply first; "
    "add --keep to send it anyway.",
    "followups": "Your pending follow-ups and reminders, with their numbers. Also: reminders.",
    "done": "Marks a reminder or follow-up as done.",
    "snooze": "Without a time it is snoozed for an hour.",
    "cancel": "Cancels a follow-up before it is sent.",
    "inbox": "Open customer conversations; 'mine' or 'unassigned' to narrow down.",
    "reply": "Sends your text to the customer on their channel.",
    "assign": "Without a name the conversation is assigned to you.",
    "retag": "Corrects the need detected for a customer message.",
    "close": "Closes the conversation; it reopens if the customer writes again.",
    "report": "Period examples: this week, last month, 2026-01-01 to 2026-03-31.",
    "timezone": "Dates you type are read in this zone. Also: tz.",
    "undo": "Reverts your own last change.",
    "help": "Type help alone for the list of commands.",
    "reps": "Admins: every team member, active or revoked, and who is an admin.",
    "revoke": "Admins: locks the rep out of Rapport at once (their data stays).",
    "restore": "Admins: gives a revoked rep access again.",
    "admin": "Admins: makes the rep an admin.",
}
HELP_TOPICS: dict[str, str] = {
    verb: f"{USAGE[verb].split('   e.g. ')[0]}\n{_DETAILS[verb]}\nExample: "
    f"{USAGE[verb].split('   e.g. ')[-1]}"
    for verb in USAGE
}
_GROUPS = (
    ("Contacts", ("add", "find", "show", "edit", "tag", "untag", "merge", "delete")),
    ("Activities", ("log", "note")),
    ("Deals", ("deal", "stage", "won", "lost", "pipeline")),
    ("Reminders & follow-ups", ("remind", "followup", "followups", "done", "snooze", "cancel")),
    ("Inbox", ("inbox", "reply", "assign", "retag", "close")),
    ("Reports", ("report",)),
    ("Settings", ("timezone", "undo", "help")),
    ("Team (admins)", ("reps", "revoke", "restore", "admin")),
)


def help_text(topic: str | None = None) -> str:
    """The overview (every verb, grouped) or the detailed help for one verb/alias."""
    if not topic or not topic.strip():
        lines = ["Here is what I understand:"]
        for group, verbs in _GROUPS:
            lines.append(f"\n{group}")
            lines.extend(f"  {USAGE[verb].split('   e.g. ')[0]}" for verb in verbs)
        lines.append("\nType help <command> for details and an example, e.g. help log.")
        return "\n".join(lines)
    wanted = topic.strip().lower().lstrip("/")
    verb = {"follow": "followup", "follow-up": "followup"}.get(wanted, wanted)
    verb = _CANONICAL.get(verb, verb)
    if verb in HELP_TOPICS:
        return HELP_TOPICS[verb]
    close = process.extract(wanted, list(USAGE), scorer=fuzz.ratio, limit=3, score_cutoff=60)
    close = [name for name, _, _ in close]
    maybe = f" Did you mean {', '.join(close)}?" if close else ""
    return f"I have no help on '{wanted[:30]}'.{maybe} Type help for the list."
