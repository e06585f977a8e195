"""The per-verb parse functions of the rep command language: the text after a verb ->
one `Command` (or a `ParseError`).

The verb table (bot.language.verbs) maps each word to one of these and holds `parse`.
Parse functions are pure and total: they never touch the database or the clock. Values
that need context (dates, which "jane") stay raw text for the handlers; only money is
parsed here because it needs none. A ParseError for a known verb carries `command`, set
to the verb (the table replaces an alias with the verb's name), so the reply can add the
usage line.
"""

import re
from collections.abc import Callable

from rapidfuzz import fuzz, process

from bot.language import commands as cmd
from bot.language import tokens as tok
from bot.language.commands import Command, ParseError
from bot.language.parsing import misspelt_date_word, read_amount

Result = Command | ParseError
Handler = Callable[[str, str], Result]  # (verb as typed, text after it) -> result
CONTACT_FIELDS = ("name", "email", "phone", "company", "owner", "timezone", "language", "domain",
                  "amount", "value", "close", "title")  # fmt: skip
_FIELD_ALIASES = {"tz": "timezone", "mail": "email", "e-mail": "email", "mobile": "phone",
                  "tel": "phone", "org": "company", "organisation": "company"}  # fmt: skip
_ACTIVITY_KINDS = {"call": "call", "called": "call", "phone": "call", "meeting": "meeting",
                   "meet": "meeting", "met": "meeting", "mtg": "meeting", "email": "email",
                   "emailed": "email", "mail": "email", "note": "note", "phoned": "call",
                   "rang": "call", "spoke": "call", "lunch": "meeting", "dinner": "meeting",
                   "coffee": "meeting", "visited": "meeting", "demo": "meeting",
                   "wrote": "email", "texted": "note"}  # fmt: skip
# Verbs that log an activity on their own ("met jane: ...", "lunch with jane: ...").
_ACTIVITY_VERBS = ("called", "phoned", "rang", "spoke", "met", "lunch", "dinner", "coffee",
                   "visited", "emailed", "wrote", "texted")  # fmt: skip
_SEND_WHAT = "What should I send? e.g. followup jane in 3 days: How is the trial going?"


def _error(verb: str, message: str) -> ParseError:
    """A known verb with bad arguments: say what is wrong. `command` names the verb, so the
    caller shows the usage line (hints stay empty to avoid repeating it)."""
    return ParseError(message, command=verb)


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
    if not any(ch.isalpha() for ch in name):
        # `add 00000000000000000000000` is a phone gone wrong, not a person called that
        shown = name if len(name) <= 40 else f"{name[:37]}..."
        return _error(
            verb,
            f"add needs a name with letters: `{shown}` is not a name, nor a phone I can read"
            " (e.g. add Jane Doe +1 415 555 0100).",
        )
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
    custom = len(field) > 2 and field[0] == field[-1] and field[0] in "\"'"
    field = field[1:-1].strip() if custom else _field(field)
    if field in CONTACT_FIELDS:
        value = re.sub(r"^(?:to\s+|=\s*|:\s*)", "", value.strip(), flags=re.IGNORECASE)
    value = tok.strip_quotes(value)
    if not ref or not field:
        return _error(verb, "edit needs a contact, a field and a value.")
    if not value:
        return _error(verb, f"What should {field} be?")
    if not custom and field in ("tag", "tags"):
        ref_text = tok.normalise_ref(ref)
        tags = " ".join(f"#{t.lstrip('#')}" for t in re.split(r"[\s,]+", value) if t.strip("#"))
        return _error(verb, f"Tags have their own command: tag {ref_text} {tags[:60]} (and untag).")
    near = None if custom or field in CONTACT_FIELDS else _near_field(field)
    if near is not None:  # `edit #1 nmae Ana`: a typo would become a custom field "nmae"
        ref_text = tok.normalise_ref(ref)
        return _error(
            verb,
            f"Did you mean `edit {ref_text} {near} {value[:60]}`? Any other word is a field of "
            f"your own; to keep '{field[:30]}' as one, quote it: "
            f'edit {ref_text} "{field[:30]}" {value[:60]}',
        )
    if field in ("amount", "value", "close"):
        return cmd.EditDeal(tok.normalise_ref(ref), "amount" if field == "value" else field, value)
    return cmd.EditContact(tok.normalise_ref(ref), field, value)


def _near_field(word: str) -> str | None:
    """The built-in field a word is a near miss of (`nmae` -> name, `emial` -> email)."""
    if len(word) < 4:
        return None
    match = process.extractOne(word.lower(), CONTACT_FIELDS, scorer=fuzz.ratio, score_cutoff=75)
    return match[0] if match is not None else None


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
        return _error(verb, f"Put a ':' after the contact, e.g. {_with_colon(verb, kind, rest)}")
    ref, occurred = _trailing_past(ref)
    ref, (text, when) = tok.normalise_ref(ref), tok.split_follow_up(text.strip())
    if not ref:
        return _error(verb, "Who was it with?")
    if not text:
        return _error(verb, "What happened? Write it after the ':'.")
    return cmd.LogActivity(kind, ref, text, when, occurred)


def _with_colon(verb: str, kind: str, rest: str) -> str:
    """The rep's own line with a ':' after its first word, as an example of the form: the
    contact's name may be longer, so it is offered as an e.g., never acted on."""
    said = f"log {kind}" if verb == "log" else verb
    first, _, text = rest.strip().partition(" ")
    if not text.strip():
        return f"{said} Jane: wants pricing"
    return f"{said} {first[:40]}: {text.strip()[:60]}"


_DATE_START = (
    r"(?:\d|yesterday|today|last\s|mon|tue|wed|thu|fri|sat|sun|jan|feb|mar|apr|may|jun|jul"
    r"|aug|sep|oct|nov|dec)"
)
_MONTH = tok.MONTH_WORD
_CALENDAR_DAY = (  # `2 Dec`, `3rd of December 2026`, `Dec 2`, `2/12`, `2.12.2026`
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:\s+\d{{4}})?"
    rf"|{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    r"|\d{1,4}[./-]\d{1,2}(?:[./-]\d{2,4})?"
)
_PAST = re.compile(
    r"\s+(yesterday(?:\s+\S+)?|today|this\s+morning|last\s+\w+|\d+\s+days?\s+ago"
    rf"|on\s+{_DATE_START}.*|{_CALENDAR_DAY})$",
    re.IGNORECASE,
)


def _trailing_past(ref: str) -> tuple[str, str | None]:
    """`Jane yesterday` -> ("Jane", "yesterday"); `Jane on 2 Nov` -> ("Jane", "2 Nov")."""
    match = _PAST.search(ref.strip())
    if match is None:
        return ref, None
    when = re.sub(r"^on\s+", "", match.group(1), flags=re.IGNORECASE)
    return ref.strip()[: match.start()], when


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
    return cmd.CreateDeal(ref, title or leftover or ref, amount, stage, close_when)


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


_RELATIVE_PAST = re.compile(
    r"^\s*(yesterday|today|this\s+morning|\d+\s+days?\s+ago"
    rf"|last\s+(?:mon|tues|wednes|thurs|fri|satur|sun)day|{_CALENDAR_DAY})(?![\w.])[\s,:]*",
    re.IGNORECASE,
)


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
    when = None
    dated = re.match(rf"^\s*on\s+({_DATE_START}[^:,]*?)\s*(?:[:,]\s*(.*))?$", reason, re.I)
    relative = None if dated else _RELATIVE_PAST.match(reason)
    if dated:
        when, reason = dated.group(1).strip(), dated.group(2) or ""
    elif relative:  # `won #3 yesterday`: a day, not a reason
        when, reason = relative.group(1), reason[relative.end() :]
    reason = re.sub(r"^[\s:–—-]*(?:because\s+)?", "", reason, flags=re.IGNORECASE).strip()
    return cmd.CloseDeal(ref, verb == "won", reason or None, when=when)


_SOLD_USAGE = "sold <contact> $amount [on <date>] [ref <reference>]"


def _sold(verb: str, rest: str) -> Result:
    """`sold <contact> <amount> [on <date>] [ref <reference>]`: the contact is every word
    before the first one that reads as money; `ref`/`#`/`:` starts the reference; the
    date follows `on` (a bare date word after the amount is read as one too)."""
    words = rest.split()
    at = next((i for i, w in enumerate(words) if _money_word(w)), None)
    if at is not None and at > 1 and tok.is_currency_word(words[at - 1]):
        at -= 1  # `sold miles CHF 7'500`: the code belongs to the amount, not the name
    if at is None or at == 0:
        refusal = next((r for w in words[1:] if (r := _money_refusal(w))), None)
        return _error(
            verb, refusal or f"Say who bought and how much: {_SOLD_USAGE}, e.g. sold jane $120"
        )
    try:
        found = tok.find_amount(words[at:], frozenset({"on", "ref"}))
    except ValueError as exc:
        return _error(verb, str(exc))
    if found is None or found[0] != 0:  # a bare number find_amount leaves to a title: money
        found = (0, 1, read_amount(words[at]))
    _, end, amount = found
    tail = " ".join(words[at + end :])
    reference = None
    split = re.search(r"(?:(?:^|\s)ref\b[:\s]*|\s*:\s*)", tail, flags=re.IGNORECASE)
    if split:
        tail, reference = tail[: split.start()], tail[split.end() :].strip() or None
    when = re.sub(r"^on\s+", "", tail.strip(), flags=re.IGNORECASE) or None
    if when and when == tail.strip() and _REFERENCE_LIKE.match(when):
        example = " ".join([verb, *words[: at + end], "ref", when])
        return _error(verb, f"Is '{when[:40]}' the sale's reference? Put `ref` before: {example}")
    return cmd.RecordSale(tok.normalise_ref(" ".join(words[:at])), amount, when, reference)


# `INV-1`, `PO7781`, `A-22`: letters then digits, and the letters are no month or weekday
# (`dec5` stays a date for the date parser to read or refuse).
_REFERENCE_LIKE = re.compile(
    r"^(?!(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)"
    r"[a-z]*\.?\s*\d{1,2}$)[a-z]+[-_/#.]?\d+[a-z0-9-]*$",
    re.IGNORECASE,
)


def _money_word(word: str) -> bool:
    if not re.match(rf"^(?:{tok.SYMBOLS_RE}|[A-Za-z]{{3}})?\d", word):
        return False
    try:
        read_amount(word)
    except ValueError:
        return False
    return True


def _money_refusal(word: str) -> str | None:
    """Why a word shaped like money is not one (`€12.500` reads two ways), else None."""
    if not re.match(r"^[-−]?(?:[$€£¥]|[A-Za-z]{3})?[-−]?\d", word):
        return None
    try:
        read_amount(word)
    except ValueError as exc:
        return None if str(exc).startswith("I couldn't read") else str(exc)
    return None


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
        typo = misspelt_date_word(body)
        if typo:
            wrong, right = typo
            fixed = re.sub(rf"\b{re.escape(wrong)}\b", right, body, count=1)
            return _error(verb, f"Did you mean '{right}'? e.g. remind me {fixed[:80]}")
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
    """Report names and aliases come from the registry in bot.reports, imported here on
    first use so that parsing other verbs does not load the analytics."""
    from bot.reports import REPORT_NAMES, report_named

    name, _, period = rest.strip().partition(" ")
    spec = report_named(name)
    if spec is None:
        name = name.lower()
        shown = f"I don't know the report '{name[:30]}'. " if name else "Which report? "
        return _error(verb, shown + "Reports: " + ", ".join(REPORT_NAMES) + ".")
    return cmd.Report(spec.name, " ".join(period.split()) or None)


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


_DATE_ORDERS = {"dmy": "DMY", "mdy": "MDY", "ymd": "YMD", "day": "DMY", "month": "MDY",
                "year": "YMD", "d.m.y": "DMY", "m/d/y": "MDY", "y-m-d": "YMD"}  # fmt: skip


def _dateorder(verb: str, rest: str) -> Result:
    """`dateorder DMY` (5.1.2027 is 5 January), `MDY` (January 5) or `YMD`."""
    order = _DATE_ORDERS.get(rest.strip().lower().split(" ")[0] if rest.strip() else "")
    if order is None:
        return _error(verb, "Which order? dateorder DMY (5.1 is 5 Jan), MDY (1/5) or YMD.")
    return cmd.SetDateOrder(order)


def _help(verb: str, rest: str) -> Result:
    topic = rest.strip().lower().lstrip("/").split(" ")[0]
    return cmd.Help(topic or None)


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


def _delete(verb: str, rest: str) -> Result:
    """`delete <contact>`, or `delete deal <deal>`."""
    if re.match(r"deal\s", rest, re.IGNORECASE):
        return _contact_ref(cmd.DeleteDeal)(verb, rest.split(None, 1)[1])
    return _contact_ref(cmd.DeleteContact)(verb, rest)


def _restore_either(verb: str, rest: str) -> Result:
    """`restore #42` brings a contact back from the trash; `restore @bob` gives a revoked rep
    access again (the @ or a Slack mention tells them apart)."""
    who = rest.strip()
    if who.startswith("@") or who.startswith("<@"):
        return _rep_access(verb, rest)
    return _restore(verb, rest)
