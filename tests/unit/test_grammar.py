"""bot.language.grammar: every command as reps actually type it, and the errors they get."""

from datetime import UTC, datetime, time
from decimal import Decimal as D

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.language.commands import (
    COMMAND_NAMES,
    AddContact,
    AssignConversation,
    CancelFollowUp,
    CloseConversation,
    CloseDeal,
    Command,
    CompleteFollowUp,
    CreateDeal,
    DeleteContact,
    EditContact,
    FindContacts,
    Help,
    ListFollowUps,
    LogActivity,
    MergeContacts,
    ParseError,
    Remind,
    ReplyToConversation,
    Report,
    RetagMessage,
    ScheduleFollowUp,
    SetDealStage,
    SetTimezone,
    ShowContact,
    ShowInbox,
    ShowPipeline,
    SnoozeFollowUp,
    TagContact,
    Undo,
)
from bot.language.help import HELP_TOPICS, USAGE, help_text
from bot.language.parsing import Amount, parse_when
from bot.language.verbs import parse, parse_line

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CASES: list[tuple[str, Command]] = [
    # contacts
    ("add Jane Doe jane@acme.com +1 415 555 0100 at Acme #vip",
     AddContact("Jane Doe", ("jane@acme.com",), ("+1 415 555 0100",), "Acme", ("vip",))),
    ("add Jane Doe, jane@acme.com, +1 415 555 0100, from Acme Corp #VIP #churn-risk",
     AddContact("Jane Doe", ("jane@acme.com",), ("+1 415 555 0100",), "Acme Corp",
                ("vip", "churn-risk"))),
    ("add Bob (415) 555-0100 bob@x.io @ Globex",
     AddContact("Bob", ("bob@x.io",), ("(415) 555-0100",), "Globex")),
    ("add Jane at Acme jane@acme.com", AddContact("Jane", ("jane@acme.com",), (), "Acme")),
    ('add "Mary Ann Smith" 415.555.0100', AddContact("Mary Ann Smith", (), ("415.555.0100",))),
    ("add Li Wei li@a.cn li.wei@b.cn +44 20 7946 0958 +1 415 555 0100",
     AddContact("Li Wei", ("li@a.cn", "li.wei@b.cn"), ("+44 20 7946 0958", "+1 415 555 0100"))),
    ("add Jane", AddContact("Jane")),
    ("add Jane <mailto:jane@acme.com|jane@acme.com> <tel:+14155550100|+1 415 555 0100>",
     AddContact("Jane", ("jane@acme.com",), ("+1 415 555 0100",))),
    ("/add Jane Doe", AddContact("Jane Doe")),
    ("crm add Jane Doe", AddContact("Jane Doe")),
    ("  ADD   Jane   Doe  ", AddContact("Jane Doe")),
    ("find acme", FindContacts("acme")),
    ("search jane doe", FindContacts("jane doe")),
    ('lookup "acme corp"', FindContacts("acme corp")),
    ("show jane", ShowContact("jane")),
    ("show #42", ShowContact("#42")),
    ("show 42", ShowContact("#42")),
    ("contact Jane Doe", ShowContact("Jane Doe")),
    ('show "Jane Doe"', ShowContact("Jane Doe")),
    ("edit jane phone +44 20 7946 0958", EditContact("jane", "phone", "+44 20 7946 0958")),
    ("edit jane doe email jd@x.com", EditContact("jane doe", "email", "jd@x.com")),
    ("set jane company Globex", EditContact("jane", "company", "Globex")),
    ("set jane company to Globex Inc", EditContact("jane", "company", "Globex Inc")),
    ("edit #42 title CTO", EditContact("#42", "title", "CTO")),
    ("edit jane title Head of Sales", EditContact("jane", "title", "Head of Sales")),
    ('edit "Jane Doe" tz Europe/Paris', EditContact("Jane Doe", "timezone", "Europe/Paris")),
    ("edit jane Owner: @bob", EditContact("jane", "owner", "@bob")),
    ("tag jane #churn-risk #vip", TagContact("jane", ("churn-risk", "vip"))),
    ("tag jane doe #VIP", TagContact("jane doe", ("vip",))),
    ("tag #42 #vip #vip", TagContact("#42", ("vip",))),
    ("untag jane #vip", TagContact("jane", ("vip",), remove=True)),
    ("merge #12 into #15", MergeContacts("#12", "#15")),
    ('merge "Jane Doe" "J. Doe"', MergeContacts("Jane Doe", "J. Doe")),
    ("merge 12 15", MergeContacts("#12", "#15")),
    ("merge jane doe into j doe", MergeContacts("jane doe", "j doe")),
    ("delete jane", DeleteContact("jane")),
    ("delete #42", DeleteContact("#42")),
    # activities
    ("log call with Jane: wants pricing for 50 seats, follow up next tuesday 10am",
     LogActivity("call", "Jane", "wants pricing for 50 seats", "next tuesday 10am")),
    ("log meeting jane: demo went well", LogActivity("meeting", "jane", "demo went well")),
    ("log email to jane: sent the proposal. Follow up in 3 days",
     LogActivity("email", "jane", "sent the proposal", "in 3 days")),
    ("log note on jane: prefers email", LogActivity("note", "jane", "prefers email")),
    ("log jane: met at the fair", LogActivity("note", "jane", "met at the fair")),
    ("call jane: left voicemail", LogActivity("call", "jane", "left voicemail")),
    ("meeting with jane doe - great demo; followup friday",
     LogActivity("meeting", "jane doe", "great demo", "friday")),
    ("note jane: prefers email", LogActivity("note", "jane", "prefers email")),
    ("note #42 prefers email", LogActivity("note", "#42", "prefers email")),
    ("Log Call With Jane: call at 10:30, remind me tomorrow 10:30",
     LogActivity("call", "Jane", "call at 10:30", "tomorrow 10:30")),
    ("log call with Jane: follow up with legal about the MSA, follow up with her next week",
     LogActivity("call", "Jane", "follow up with legal about the MSA", "next week")),
    ("log call with Jane: asked us to follow up with legal",
     LogActivity("call", "Jane", "asked us to follow up with legal")),
    # deals
    ('deal Acme "50 seats" $12,000 stage proposal close end of month',
     CreateDeal("Acme", "50 seats", Amount(D("12000"), "USD"), "proposal", "end of month")),
    ("deal Acme Corp “Renewal 2026” €5m close by friday",
     CreateDeal("Acme Corp", "Renewal 2026", Amount(D("5000000"), "EUR"), None, "friday")),
    ("deal acme renewal 12k", CreateDeal("acme", "renewal", Amount(D("12000")))),
    ("deal acme 100 seats 12000 stage proposal",
     CreateDeal("acme", "100 seats", Amount(D("12000")), "proposal")),
    ("deal acme 50 seats 12000 EUR", CreateDeal("acme", "50 seats", Amount(D("12000"), "EUR"))),
    ("deal acme JPY 5000 widgets", CreateDeal("acme", "widgets", Amount(D("5000"), "JPY"))),
    ("deal acme $12k", CreateDeal("acme", "acme", Amount(D("12000"), "USD"))),
    ("deal acme", CreateDeal("acme", "acme")),
    ("deal acme renewal 2026", CreateDeal("acme", "renewal 2026")),
    ('deal "Acme Corp" "50 seats" £99.99 closing in 30 days stage negotiation',
     CreateDeal("Acme Corp", "50 seats", Amount(D("99.99"), "GBP"), "negotiation", "in 30 days")),
    ("deal #42 'pilot' 1,234.56 usd", CreateDeal("#42", "pilot", Amount(D("1234.56"), "USD"))),
    ("stage #12 negotiation", SetDealStage("#12", "negotiation")),
    ("stage acme deal won", SetDealStage("acme deal", "won")),
    ("stage #12 to lost: price", SetDealStage("#12", "lost", "price")),
    ("won #12", CloseDeal("#12", won=True)),
    ("won acme great demo", CloseDeal("acme", True, "great demo")),
    ("lost #12 went with a competitor", CloseDeal("#12", False, "went with a competitor")),
    ("lost acme: price", CloseDeal("acme", False, "price")),
    ("lost acme renewal: price", CloseDeal("acme renewal", False, "price")),
    ('lost "Acme renewal" because budget', CloseDeal("Acme renewal", False, "budget")),
    ("pipeline", ShowPipeline("mine")),
    ("pipeline all", ShowPipeline("all")),
    ("pipeline team", ShowPipeline("all")),
    # reminders and follow-ups
    ("remind me to send the contract to jane tomorrow at 9",
     Remind("send the contract to jane", "tomorrow at 9")),
    ("remind me tomorrow at 9 to call bob", Remind("call bob", "tomorrow at 9")),
    ("remind me in 2 hours: call bob", Remind("call bob", "in 2 hours")),
    ("remind call bob on friday", Remind("call bob", "on friday")),
    ("remind me to call jane at acme tomorrow", Remind("call jane at acme", "tomorrow")),
    ("remind me to call bob tomorrow about pricing", Remind("call bob about pricing", "tomorrow")),
    ("remind me to prepare for the monday meeting on friday",
     Remind("prepare for the monday meeting", "on friday")),
    ("remind me at 10:30 to call bob", Remind("call bob", "at 10:30")),
    ("remind me to call bob: tomorrow 9am", Remind("call bob", "tomorrow 9am")),
    ("remind me next tuesday 10am to send deck to Acme",
     Remind("send deck to Acme", "next tuesday 10am")),
    ("remind me to email jane in 3 days", Remind("email jane", "in 3 days")),
    ("remind me eod to send invoice", Remind("send invoice", "eod")),
    ("remind me to follow up with acme end of month",
     Remind("follow up with acme", "end of month")),
    ("remind me to call bob 12/3", Remind("call bob", "12/3")),
    ("remind me to send the deck to acme on monday at 10am",
     Remind("send the deck to acme", "on monday at 10am")),
    ('followup jane in 3 days: "How is the trial going?"',
     ScheduleFollowUp("jane", "in 3 days", "How is the trial going?")),
    ("follow up with jane tomorrow 10am: Checking in",
     ScheduleFollowUp("jane", "tomorrow 10am", "Checking in")),
    ("follow up with jane doe tomorrow 10:30: Checking in --keep",
     ScheduleFollowUp("jane doe", "tomorrow 10:30", "Checking in", stop_on_reply=False)),
    ("followup #42 next week: Hi (even if they reply)",
     ScheduleFollowUp("#42", "next week", "Hi", stop_on_reply=False)),
    ('followup "Jane Doe" friday 3pm: “Any news?”',
     ScheduleFollowUp("Jane Doe", "friday 3pm", "Any news?")),
    ('followup jane in 3 days "How is the trial going?"',
     ScheduleFollowUp("jane", "in 3 days", "How is the trial going?")),
    ("follow-up jane tomorrow: hi", ScheduleFollowUp("jane", "tomorrow", "hi")),
    ("followups", ListFollowUps("mine")),
    ("followups all", ListFollowUps("all")),
    ("reminders", ListFollowUps("mine")),
    ("done 7", CompleteFollowUp(7)),
    ("done #7", CompleteFollowUp(7)),
    ("snooze 7 2h", SnoozeFollowUp(7, "2h")),
    ("snooze 7 until tomorrow 9am", SnoozeFollowUp(7, "tomorrow 9am")),
    ("snooze 7 to monday", SnoozeFollowUp(7, "monday")),
    ("snooze #7", SnoozeFollowUp(7, "")),
    ("cancel 7", CancelFollowUp(7)),
    # inbox
    ("inbox", ShowInbox("open")),
    ("inbox mine", ShowInbox("mine")),
    ("inbox unassigned", ShowInbox("unassigned")),
    ("reply 12 Thanks, we'll look at it", ReplyToConversation(12, "Thanks, we'll look at it")),
    ("reply #12 Thanks,\nBob", ReplyToConversation(12, "Thanks,\nBob")),
    ("assign 12", AssignConversation(12, "me")),
    ("assign 12 me", AssignConversation(12, "me")),
    ("assign 12 @bob", AssignConversation(12, "bob")),
    ("assign 12 to bob", AssignConversation(12, "bob")),
    ("retag 345 billing", RetagMessage(345, "billing")),
    ("retag 345 Product Question", RetagMessage(345, "product_question")),
    ("retag 345 #billing", RetagMessage(345, "billing")),
    ("close 12", CloseConversation(12)),
    # reports, settings, help
    ("report needs", Report("needs")),
    ("report pipeline last month", Report("pipeline", "last month")),
    ("report clv this week", Report("clv", "this week")),
    ("report churn 2026-01-01 to 2026-03-31", Report("churn", "2026-01-01 to 2026-03-31")),
    ("report Segments", Report("segments")),
    ("report inbox", Report("inbox")),
    ("timezone Europe/Paris", SetTimezone("Europe/Paris")),
    ("tz europe/paris", SetTimezone("Europe/Paris")),
    ("tz America/New York", SetTimezone("America/New_York")),
    ("tz utc", SetTimezone("UTC")),
    ("undo", Undo()),
    ("help", Help(None)),
    ("help log", Help("log")),
    ("help /Deal", Help("deal")),
    ("?", Help(None)),
    ("", Help(None)),
    ("   \n ", Help(None)),
]  # fmt: skip

LUNCH = time(14, 0)  # the default RAPPORT_LUNCH_ENDS


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:50] for c in CASES])
def test_parse(text: str, expected: Command) -> None:
    assert parse(text) == expected


def _when_text(command: Command) -> str | None:
    for field in ("when", "follow_up_when", "close_when"):
        value = getattr(command, field, None)
        if value is not None:
            return value
    return None


@pytest.mark.parametrize("when", sorted({w for _, c in CASES if (w := _when_text(c))}))
def test_every_date_the_grammar_keeps_is_one_parse_when_reads(when: str) -> None:
    assert parse_when(
        when, tz="Europe/Paris", now=datetime(2025, 12, 1, 11, tzinfo=UTC), after_lunch=LUNCH
    )


@pytest.mark.parametrize(
    ("text", "command", "message"),
    [
        ("add", "add", "add needs a name"),
        ("add jane@acme.com #vip", "add", "add needs a name"),
        ("find", "find", "What should I look for?"),
        ("show", "show", "Which contact?"),
        ("delete  ", "delete", "Which contact?"),
        ("edit jane", "edit", "needs a contact, a field and a value"),
        ("edit jane phone", "edit", "What should phone be?"),
        ("tag jane", "tag", "needs at least one #tag"),
        ("untag #vip", "untag", "Which contact?"),
        ("merge jane", "merge", "merge needs two contacts"),
        ("merge a b c", "merge", "merge needs two contacts"),
        ("merge #12 into #12", "merge", "same contact"),
        ("note jane prefers email", "note", "e.g. note jane: prefers email"),
        ("log call Ana discussed pricing", "log", "e.g. log call Ana: discussed pricing"),
        ("log call", "log", "e.g. log call Jane: wants pricing"),
        ("log call with Jane:", "log", "What happened?"),
        ("call : hi", "log", "Who was it with?"),
        ("deal", "deal", "needs a contact or company"),
        ("deal acme $-5", "deal", "cannot be negative"),
        ("deal acme $99999999999999", "deal", "too large"),
        ('deal acme "x" junk', "deal", "I didn't understand 'junk'"),
        ("deal acme stage", "deal", "Which stage?"),
        ("deal acme close", "deal", "When will it close?"),
        ("stage #12", "stage", "needs a deal and a stage"),
        ("won", "won", "Which deal?"),
        ("lost", "lost", "Which deal?"),
        ("pipeline bob", "pipeline", "pipeline can show mine or all"),
        ("remind me", "remind", "When should I remind you?"),
        ("remind me to call bob", "remind", "When should I remind you?"),
        ("remind me tomorrow", "remind", "What should I remind you about?"),
        ("followup jane: hi", "followup", "When should I follow up with jane?"),
        ("followup jane tomorrow", "followup", "What should I send?"),
        ("followup jane tomorrow: ", "followup", "What should I send?"),
        ("followups bob", "followups", "can show mine or all"),
        ("done", "done", "done needs a follow-up number"),
        ("done abc", "done", "'abc' isn't a follow-up number"),
        ("done 0", "done", "'0' isn't a follow-up number"),
        ("cancel 99999999999999999999999", "cancel", "isn't a follow-up number"),
        ("snooze x 2h", "snooze", "'x' isn't a follow-up number"),
        ("inbox foo", "inbox", "inbox can show open or mine or unassigned"),
        ("reply 12", "reply", "What should I reply?"),
        ("reply abc hi", "reply", "'abc' isn't a conversation number"),
        ("assign bob", "assign", "'bob' isn't a conversation number"),
        ("retag 345", "retag", "Which need?"),
        ("retag x billing", "retag", "'x' isn't a message number"),
        ("close acme", "close", "'acme' isn't a conversation number"),
        ("report", "report", "Which report?"),
        ("tz", "timezone", "Which time zone?"),
    ],
)
def test_known_verb_with_bad_arguments(text: str, command: str, message: str) -> None:
    result = parse(text)
    assert isinstance(result, ParseError), result
    assert result.command == command
    assert message in result.message
    assert result.hints == ()  # the dispatcher adds USAGE[command] itself


def test_unknown_report_lists_the_six_reports() -> None:
    result = parse("report revenue")
    assert isinstance(result, ParseError) and result.command == "report"
    assert "revenue" in result.message
    for name in ("needs", "pipeline", "clv", "churn", "segments", "inbox"):
        assert name in result.message


def test_unknown_timezone_suggests_close_zones() -> None:
    result = parse("tz Paris")
    assert isinstance(result, ParseError) and result.command == "timezone"
    assert "Europe/Paris" in result.message


@pytest.mark.parametrize(
    ("text", "suggested"),
    [("remnd me to x tomorrow", "remind"), ("ad jane", "add"), ("folowup jane", "followup"),
     ("pipline", "pipeline"), ("snoze 7", "snooze")],
)  # fmt: skip
def test_unknown_verb_suggests_close_verbs(text: str, suggested: str) -> None:
    result = parse(text)
    assert isinstance(result, ParseError) and result.command is None
    assert result.message == f"I don't know '{text.split()[0]}'."
    assert USAGE[suggested] in result.hints
    assert result.hints[-1] == "Type help for the list."
    assert len(result.hints) <= 4


def test_unknown_verb_without_close_match() -> None:
    assert parse("xyzzy") == ParseError("I don't know 'xyzzy'.", hints=("Type help for the list.",))


def test_too_long_input_is_refused() -> None:
    result = parse("find " + "a" * 4000)
    assert isinstance(result, ParseError) and "too long" in result.message
    assert parse("find " + "a" * 3990) == FindContacts("a" * 3990)


def test_control_characters_are_dropped() -> None:
    assert parse("find\x00 ac\x07me") == FindContacts("ac me")


# --- usage and help ---------------------------------------------------------------------------


def test_every_verb_has_usage_and_help() -> None:
    verbs = set(COMMAND_NAMES.values()) | {"lost", "note", "untag"}
    assert verbs <= set(USAGE)
    assert set(USAGE) == set(HELP_TOPICS)
    for verb, line in USAGE.items():
        assert line.startswith(verb), line
        assert "e.g. " in line, line


def test_usage_examples_parse_to_their_command() -> None:
    for verb, line in USAGE.items():
        example = line.split("e.g. ", 1)[1].split(" or ")[0].split(" (")[0]
        result = parse(example)
        assert not isinstance(result, ParseError), (verb, example, result)
        # a command is named by the first verb the table declares for it (bot/language/verbs.py)
        expected = {"lost": "won", "note": "log", "untag": "tag",
                    "primary": "remove"}.get(verb, verb)  # fmt: skip
        assert result.name == expected, (verb, example)


def test_help_overview_groups_every_verb() -> None:
    text = help_text(None)
    for group in ("Contacts", "Activities", "Deals", "Reminders & follow-ups", "Inbox",
                  "Reports"):  # fmt: skip
        assert group in text
    for verb in USAGE:
        assert f"\n  {verb}" in text
    assert help_text("") == text


@pytest.mark.parametrize(("topic", "verb"), [("log", "log"), ("LOST", "lost"), ("call", "log"),
                                             ("search", "find"), ("follow-up", "followup"),
                                             ("tz", "timezone")])  # fmt: skip
def test_help_for_one_verb(topic: str, verb: str) -> None:
    assert help_text(topic) == HELP_TOPICS[verb]
    assert USAGE[verb].split("   e.g. ")[0] in help_text(topic)


def test_help_for_unknown_topic_suggests() -> None:
    assert "Did you mean followup" in help_text("folowup")
    assert help_text("zzz").startswith("I have no help on 'zzz'.")


# --- properties -------------------------------------------------------------------------------

VERBS = sorted(USAGE) + ["search", "set", "call", "meeting", "tz", "reminders", "follow up"]
WORDS = st.sampled_from(
    ["jane", "#42", "42", '"Jane Doe"', "at", "to", "into", ":", "-", "tomorrow", "9am", "in",
     "3", "days", "$12,000", "12k", "€", "stage", "close", "#vip", "jane@acme.com", "+1", "415",
     "555", "0100", "follow", "up", "--keep", "'", "“", "next", "friday", "me", "@bob", "\n"]
)  # fmt: skip


@FAST
@given(st.text(max_size=300))
def test_parse_never_raises_on_any_text(text: str) -> None:
    assert isinstance(parse_line(text), Command | ParseError)


@FAST
@given(st.sampled_from(VERBS), st.lists(WORDS, max_size=14))
def test_parse_never_raises_on_command_like_text(verb: str, words: list[str]) -> None:
    result = parse_line(" ".join([verb, *words]))
    assert isinstance(result, Command | ParseError)
    if isinstance(result, ParseError) and result.command:
        assert result.command in USAGE and result.hints == ()


@FAST
@given(st.sampled_from(VERBS), st.text(max_size=200))
def test_parse_never_raises_after_a_known_verb(verb: str, rest: str) -> None:
    assert isinstance(parse_line(f"{verb} {rest}"), Command | ParseError)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(VERBS), st.text(min_size=3000, max_size=4100))
def test_parse_handles_huge_input(verb: str, rest: str) -> None:
    assert isinstance(parse_line(f"{verb} {rest}"), Command | ParseError)


@pytest.mark.parametrize("line", ["add 0000000000000000000000", "add " + "0" * 3000])
def test_a_name_of_digits_only_is_refused_not_stored(line: str) -> None:
    result = parse_line(line)
    assert isinstance(result, ParseError) and "needs a name with letters" in result.message


def test_parse_is_total_even_for_non_strings() -> None:
    assert isinstance(parse(None), ParseError)  # type: ignore[arg-type]


def test_sold_reads_contact_amount_date_and_reference() -> None:
    from bot.language.commands import RecordSale
    from bot.language.verbs import parse

    assert parse("sold jane doe $120 on 2 Nov ref INV-7") == RecordSale(
        "jane doe", Amount(D("120"), "USD"), "2 Nov", "INV-7"
    )
    assert parse("sold #4 30eur") == RecordSale("#4", Amount(D("30"), "EUR"), None, None)
    assert parse("sold jane $5 yesterday: order 9") == RecordSale(
        "jane", Amount(D("5"), "USD"), "yesterday", "order 9"
    )
    error = parse("sold jane")
    assert error.command == "sold" and "how much" in error.message


@pytest.mark.parametrize(
    ("line", "ref", "value", "currency"),
    [
        # The code before the number was glued onto the name and the sale recorded in the
        # business's currency: `sold miles CHF 7'500` became $7,500.00 for "miles CHF".
        ("sold miles CHF 7'500", "miles", "7500", "CHF"),
        ("sold miles o'brien chf 7500", "miles o'brien", "7500", "CHF"),
        ("sold priya INR 500000", "priya", "500000", "INR"),
        # ₹ opening the amount was not money at all ("Say who bought and how much").
        ("sold priya ₹5,00,000", "priya", "500000", "INR"),
        ("sold priya ₹500000", "priya", "500000", "INR"),
        ("sold Ana Eur 50", "Ana", "50", "EUR"),
        ("sold eur 50", "eur", "50", None),  # a contact called EUR keeps its name
    ],
)
def test_sold_reads_a_currency_written_before_the_amount(
    line: str, ref: str, value: str, currency: str | None
) -> None:
    from bot.language.commands import RecordSale
    from bot.language.verbs import parse

    assert parse(line) == RecordSale(ref, Amount(D(value), currency), None, None)


def test_a_bare_reference_after_a_sale_is_asked_about_not_read_as_a_date() -> None:
    from bot.language.commands import RecordSale
    from bot.language.verbs import parse

    error = parse("sold Ana 50 INV-1")
    assert "Is 'INV-1' the sale's reference?" in error.message
    assert "sold Ana 50 ref INV-1" in error.message
    assert "sold Ana €12 ref PO7781" in parse("sold Ana €12 PO7781").message
    assert parse("sold Ana 50 dec5") == RecordSale("Ana", Amount(D("50"), None), "dec5", None)
    assert parse("sold Ana 50 on INV-1").when == "INV-1"  # `on` says it is a date: the date


def test_past_dates_on_log_and_won() -> None:
    from bot.language.commands import CloseDeal, LogActivity
    from bot.language.verbs import parse

    assert parse("log call with Jane yesterday: wants pricing") == LogActivity(
        "call", "Jane", "wants pricing", None, "yesterday"
    )
    assert parse("log call with Jane Doe on 2 Nov: older") == LogActivity(
        "call", "Jane Doe", "older", None, "2 Nov"
    )
    assert parse("log call with Jane: today").occurred_when is None  # text, not a date
    assert parse("won #3 on 2 Nov") == CloseDeal("#3", True, None, when="2 Nov")
    assert parse("won #3 on 2 Nov: great demo") == CloseDeal("#3", True, "great demo", when="2 Nov")
    assert parse("lost #3 on price") == CloseDeal("#3", False, "on price", when=None)
    assert parse("won #3 yesterday") == CloseDeal("#3", True, None, when="yesterday")
    assert parse("lost #3 last friday: went with a rival") == CloseDeal(
        "#3", False, "went with a rival", when="last friday"
    )
    assert parse("lost #3 last minute change").when is None  # a reason, not a day


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        ("remind me to call maria next fridy", "Did you mean 'friday'? e.g. remind me to call "
         "maria next friday"),
        ("remind me to call maria tomorow", "Did you mean 'tomorrow'?"),
        ("remind me to call maria on wensday", "Did you mean 'wednesday'?"),
        ("remind me to call frida", "When should I remind you?"),  # a name, not a typo
        ("remind me to email the team", "When should I remind you?"),
    ],
)  # fmt: skip
def test_a_misspelt_day_gets_a_did_you_mean(line: str, hint: str) -> None:
    from bot.language.verbs import parse

    result = parse(line)
    assert isinstance(result, ParseError) and hint in result.message


def test_an_impossible_clock_time_is_the_date_so_it_is_refused_with_the_reason() -> None:
    from bot.language.commands import Remind
    from bot.language.verbs import parse

    result = parse("remind me to call maria 25:00")
    assert isinstance(result, Remind) and result.when == "25:00"


@pytest.mark.parametrize(
    ("line", "hint"),
    [
        # A typo of a field became a custom field: "Nmae: Ana L." on the card.
        ("edit #1 nmae Ana L.", 'Did you mean `edit #1 name Ana L.`? Any other word is a field of '
         'your own; to keep \'nmae\' as one, quote it: edit #1 "nmae" Ana L.'),
        ("edit jane emial jane@example.com", "Did you mean `edit jane email jane@example.com`?"),
        ("edit jane timzone Europe/Berlin", "Did you mean `edit jane timezone Europe/Berlin`?"),
        ("edit jane tags vip, churn-risk", "Tags have their own command: tag jane #vip "
         "#churn-risk (and untag)."),
    ],
)  # fmt: skip
def test_edit_asks_about_a_near_miss_of_a_field(line: str, hint: str) -> None:
    from bot.language.verbs import parse

    result = parse(line)
    assert isinstance(result, ParseError) and hint in result.message


def test_edit_takes_a_quoted_or_unrelated_word_as_a_field_of_ones_own() -> None:
    from bot.language.commands import EditContact
    from bot.language.verbs import parse

    assert parse('edit #1 "nmae" Ana L.') == EditContact("#1", "nmae", "Ana L.")
    assert parse("edit jane title CTO") == EditContact("jane", "title", "CTO")
    assert parse("edit jane notes likes tea") == EditContact("jane", "notes", "likes tea")


def test_an_impossible_follow_up_time_is_the_follow_up_not_part_of_the_note() -> None:
    """`..., follow up 25:00` left "follow up 25:00" in the note and scheduled nothing."""
    from bot.language.commands import LogActivity
    from bot.language.verbs import parse

    result = parse("log call maria: wants pricing, follow up 25:00")
    assert isinstance(result, LogActivity)
    assert (result.text, result.follow_up_when) == ("wants pricing", "25:00")
    kept = parse("log call maria: follow up with legal")
    assert isinstance(kept, LogActivity) and kept.text == "follow up with legal"
