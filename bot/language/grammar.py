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
CONTACT_FIELDS = ("name", "email", "phone", "company", "owner", "timezone", "domain", "amount",
                  "value", "close", "title")  # fmt: skip
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
    if re.match(r"(?:email|phone)\s", rest, re.IGNORECASE):
        kind, tail = rest.split(None, 1)
        return _point_op(verb, "add", kind.lower(), tail)
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
    point = _point_change(rest)
    if point is not None:
        return point
    if re.match(r"deal\s", rest, re.IGNORECASE):
        return _edit_deal(verb, rest.split(None, 1)[1])
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
    if field in ("amount", "value", "close"):
        return cmd.EditDeal(tok.normalise_ref(ref), "amount" if field == "value" else field, value)
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
    """No time given: `when` stays empty and the handler moves it an hour past the later
    of its due time and now (never earlier than it was due)."""
    number, token, when = _split_id(rest)
    if number is None:
        return _needs_id(verb, token, "follow-up")
    return cmd.SnoozeFollowUp(number, _strip_word("until|till|til|to|for|by", when))


# --- inbox ---------------------------------------------------------------------------------


def _reply(verb: str, rest: str) -> Result:
    number, token, text = _split_id(rest)
    if number is None:
        return _needs_id(verb, token, "conversation")
    text = re.sub(r"^[:\-–—]\s*", "", text).strip()
    return cmd.ReplyToConversation(number, text) if text else _error(verb, "What should I reply?")


def _assign(verb: str, rest: str) -> Result:
    number, token, who = _split_id(rest)
    if number is None:
        return _needs_id(verb, token, "conversation")
    who = " ".join(_strip_word("to", who).lstrip("@").split())
    return cmd.AssignConversation(number, "me" if who.lower() in ("", "me", "myself") else who)


def _retag(verb: str, rest: str) -> Result:
    """`retag 345 billing` is message 345; `retag conversation 12 billing` (or `c12`) is
    the latest customer message of conversation 12."""
    conversation = re.match(r"(?:conversation|conv|c)\s*#?(?=\d)", rest, re.IGNORECASE)
    if conversation:
        number, token, need = _split_id(rest[conversation.end() :])
        if number is None:
            return _needs_id(verb, token, "conversation")
        need = "_".join(_strip_word("as|to", need).lstrip("#").lower().split())
        if not need:
            return _error(verb, "Which need? e.g. billing")
        return cmd.RetagMessage(number, need, conversation=True)
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
    "delete": lambda verb, rest: (
        _contact_ref(cmd.DeleteDeal)(verb, rest.split(None, 1)[1] if " " in rest.strip() else "")
        if re.match(r"deal\s", rest, re.IGNORECASE)
        else _contact_ref(cmd.DeleteContact)(verb, rest)
    ),
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
}  # fmt: skip


# --- issue 15: corrections, companies, trash (each verb's parts kept together) ---------------

_POINT_FORM = re.compile(
    r"(?P<ref>.+?)\s+(?P<op>add|remove|primary)\s+(?P<kind>email|phone)\s+(?P<value>.+)$", re.I
)


def _point_change(rest: str) -> Result | None:
    """`edit jane add email x@y.com`, `edit jane remove phone ...`, `edit jane primary ...`."""
    match = _POINT_FORM.match(rest.strip())
    if not match:
        return None
    ref = tok.normalise_ref(match["ref"])
    value = tok.strip_quotes(match["value"])
    return cmd.ChangePoint(ref, match["kind"].lower(), match["op"].lower(), value)


def _point_op(verb: str, op: str, kind: str | None, rest: str) -> Result:
    """`<contact> <value>`: the value is the trailing email or phone."""
    rest = rest.strip()
    email = re.search(r"(\S+@\S+)\s*$", rest)
    phone = re.search(r"((?:\+|\()?\d[\d\s().-]{5,}\d)\s*$", rest)
    found = email if (kind or "email") == "email" and email else phone if phone else email
    if kind is None:
        kind = "email" if found is email and email else "phone"
    if not found:
        return _error(
            verb,
            f"Which {kind}? e.g. {verb} {kind} jane jane@acme.com".replace(
                f"{verb} {kind} {kind}", f"{verb} {kind}"
            ),
        )
    ref = tok.normalise_ref(rest[: found.start()])
    if not ref:
        return _error(verb, f"Whose {kind}? Put the contact before it.")
    return cmd.ChangePoint(ref, kind, op, found[1].strip())


def _remove(verb: str, rest: str) -> Result:
    match = re.match(r"(email|phone)\s+(.+)$", rest.strip(), re.IGNORECASE)
    if not match:
        return _error(
            verb, "remove email|phone <contact> <value>, e.g. remove email jane j@old.com"
        )
    return _point_op(verb, "remove", match[1].lower(), match[2])


def _primary(verb: str, rest: str) -> Result:
    match = re.match(r"(email|phone)\s+(.+)$", rest.strip(), re.IGNORECASE)
    kind, tail = (match[1].lower(), match[2]) if match else (None, rest)
    return _point_op(verb, "primary", kind, tail)


_DEAL_FIELDS = {"amount": "amount", "value": "amount", "title": "title", "name": "title",
                "close": "close", "owner": "owner"}  # fmt: skip


def _edit_deal(verb: str, rest: str) -> Result:
    """`edit deal <ref> <field> <value>`: the ref ends at the first deal field word."""
    if tok.starts_with_exact_ref(rest):
        ref, tail = tok.take_ref(rest)
        field, _, value = tail.partition(" ")
    else:
        words = rest.split()
        at = next((i for i, w in enumerate(words[1:6], 1) if w.lower() in _DEAL_FIELDS), 1)
        ref, field, value = (
            " ".join(words[:at]),
            "".join(words[at : at + 1]),
            " ".join(words[at + 1 :]),
        )
    field = _DEAL_FIELDS.get(field.lower(), "")
    value = tok.strip_quotes(re.sub(r"^(?:to\s+|=\s*|:\s*)", "", value.strip(), flags=re.I))
    if not ref or not field:
        return _error(
            verb, "edit deal needs a deal, a field (amount, title, close, owner) and a value."
        )
    if not value:
        return _error(verb, f"What should the deal's {field} be?")
    return cmd.EditDeal(tok.normalise_ref(ref), field, value)


def _companies(verb: str, rest: str) -> Result:
    return cmd.ListCompanies(" ".join(rest.split()) or None)


def _restore(verb: str, rest: str) -> Result:
    number, token, _ = _split_id(rest)
    return _needs_id(verb, token, "contact") if number is None else cmd.RestoreContact(number)


# name, aliases, parser, usage, details, help group
_ISSUE15_VERBS: tuple[tuple[str, tuple[str, ...], Handler, str, str, str], ...] = (
    ("remove", (), _remove,
     "remove email|phone <contact> <value>   e.g. remove email jane jane@old.com",
     "Removes one email or phone from a contact. Also: edit jane remove email jane@old.com.",
     "Contacts"),
    ("primary", (), _primary,
     "primary <contact> <email or phone>   e.g. primary jane jane@acme.com",
     "Makes an email or phone the contact's first (primary) one; the old one stays.",
     "Contacts"),
    ("companies", ("company",), _companies,
     "companies [text]   e.g. companies acme",
     "Companies with their contacts and open deals. `show <company>` opens one.",
     "Contacts"),
    ("restore", (), _restore,
     "restore #<contact id>   e.g. restore #42",
     "Admins: brings a deleted contact back from the trash (kept 30 days) with its timeline, "
     "deals and follow-ups.",
     "Contacts"),
    ("trash", (), lambda verb, rest: cmd.ShowTrash(),
     "trash   e.g. trash",
     "Admins: deleted contacts that `restore` can still bring back (30 days).",
     "Contacts"),
)  # fmt: skip
for _name, _aliases, _parser, _usage, _detail, _group in _ISSUE15_VERBS:
    _HANDLERS[_name] = _parser
    for _alias in _aliases:
        _HANDLERS[_alias] = _parser
        _CANONICAL[_alias] = _name


# --- usage and help ------------------------------------------------------------------------

USAGE: dict[str, str] = {
    "add": "add <name> [email] [phone] [at <company>] [#tag ...]   "
    "e.g. add Jane Doe jane@acme.com +1 415 555 0100 at Acme #vip",
    "find": "find <text>   e.g. find acme",
    "show": "show <contact or company>   e.g. show jane, show #42 or show acme",
    "edit": "edit <contact, company or deal> <field> <value>   "
    "e.g. edit jane phone +44 20 7946 0958",
    "tag": "tag <contact> #tag [#tag ...]   e.g. tag jane #churn-risk #vip",
    "untag": "untag <contact> #tag [#tag ...]   e.g. untag jane #vip",
    "merge": "merge <contact> into <contact>   e.g. merge #12 into #15",
    "delete": "delete <contact> | delete deal <deal>   e.g. delete #42",
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
    "retag": "retag <message number> <need> | retag conversation <number> <need>   "
    "e.g. retag 345 billing",
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
    "find": "Searches contacts (names, emails, phones, companies) and companies. Also: search, "
    "lookup.",
    "show": 'A contact is #id, an email, a phone, a "quoted name" or a name; a company is its '
    "name (its card lists contacts, open deals and recent timeline). Also: contact.",
    "edit": "Contact fields: name, email and phone (replace the primary one), company, owner, "
    "timezone; any other word is a custom field (edit #42 title CTO). Emails and phones: "
    "edit jane add|remove|primary email <value>. Company: edit acme name|domain <value>. "
    "Deal: edit deal #12 amount|title|close|owner <value> (amount and close need no 'deal'). "
    "Quote names of several words if in doubt. Also: set.",
    "tag": "Tags are letters, digits, - and _, stored lower-case.",
    "untag": "Removes the tags from the contact.",
    "merge": "The first contact is folded into the second. I show what moves and ask `yes` "
    'first; `undo` splits them again. Also: merge "Jane Doe" "J. Doe".',
    "delete": "I show what goes with the contact and ask `yes` first. A deleted contact stays "
    "in the trash for 30 days: `undo` or an admin's `restore #id` brings it back whole.",
    "log": "Also: call jane: ..., meeting with jane: ..., note jane: .... Add ', follow up "
    "<when>' and I'll remind you.",
    "note": "Same as log note on <contact>: <text>.",
    "deal": "Amounts: $12,000, 12k, €1.5m, 12000 EUR. Without quotes the first word is the "
    "contact or company and the other words the title. A company's deal is the company's, "
    "however many contacts it has; an unknown name makes a new company (I say so).",
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
    "snooze": "Without a time it moves an hour later than it was due (or than now, if it is "
    "overdue); never earlier.",
    "cancel": "Cancels a follow-up before it is sent.",
    "inbox": "Open customer conversations; 'mine' or 'unassigned' to narrow down.",
    "reply": "Sends your text to the customer on their channel.",
    "assign": "Without a name the conversation is assigned to you.",
    "retag": "Corrects the need of a customer message: the inbox shows message numbers; "
    "`retag conversation 12 billing` retags its latest customer message. The reply quotes it.",
    "close": "Closes the conversation; it reopens if the customer writes again.",
    "report": "Period examples: this week, last month, 2026-01-01 to 2026-03-31.",
    "timezone": "Dates you type are read in this zone. Also: tz.",
    "undo": "Reverts your own last change and says exactly what; if that change can't be undone "
    "it says so and stops (it never skips to an older one).",
    "help": "Type help alone for the list of commands.",
}
for _name, _aliases, _parser, _usage, _detail, _group in _ISSUE15_VERBS:
    USAGE[_name], _DETAILS[_name] = _usage, _detail
HELP_TOPICS: dict[str, str] = {
    verb: f"{USAGE[verb].split('   e.g. ')[0]}\n{_DETAILS[verb]}\nExample: "
    f"{USAGE[verb].split('   e.g. ')[-1]}"
    for verb in USAGE
}
_GROUPS = (
    (
        "Contacts",
        (
            "add",
            "find",
            "show",
            "edit",
            "tag",
            "untag",
            "merge",
            "delete",
            *(v[0] for v in _ISSUE15_VERBS if v[5] == "Contacts"),
        ),
    ),
    ("Activities", ("log", "note")),
    ("Deals", ("deal", "stage", "won", "lost", "pipeline")),
    ("Reminders & follow-ups", ("remind", "followup", "followups", "done", "snooze", "cancel")),
    ("Inbox", ("inbox", "reply", "assign", "retag", "close")),
    ("Reports", ("report",)),
    ("Settings", ("timezone", "undo", "help")),
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
