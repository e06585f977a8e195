"""The verb table is complete: every Command type can be typed, is handled, and is explained.

A command that the grammar can build but no handler runs used to show up only at run
time ("`x` is not available here yet"); these tests make it a failing build instead."""

import inspect

from bot.language import commands
from bot.language.commands import Command
from bot.language.help import HELP_TOPICS, USAGE, help_text
from bot.language.verbs import GROUPS, READ_ONLY, VERBS, by_word, parse
from bot.rep.handlers import build_router


def command_types() -> list[type[Command]]:
    """Every concrete Command subclass, wherever it is declared."""
    found: list[type[Command]] = []
    todo = list(Command.__subclasses__())
    while todo:
        kind = todo.pop()
        found.append(kind)
        todo.extend(kind.__subclasses__())
    return sorted(found, key=lambda t: t.__name__)


def test_the_commands_module_declares_the_command_types() -> None:
    declared = {
        obj for _, obj in inspect.getmembers(commands, inspect.isclass) if issubclass(obj, Command)
    } - {Command}
    assert len(declared) >= 27 and declared <= set(command_types())


def test_every_command_type_has_a_verb() -> None:
    typed = {verb.command for verb in VERBS} | {t for verb in VERBS for t in verb.also}
    assert [t.__name__ for t in command_types() if t not in typed] == []


def test_every_command_type_has_a_handler() -> None:
    assert [t.__name__ for t in build_router().missing(command_types())] == []


def test_missing_names_the_unhandled_types() -> None:
    class Unhandled(Command):
        pass

    router = build_router()
    assert router.missing([commands.Help, Unhandled, commands.Undo]) == [Unhandled]


def test_every_verb_has_help_text_usage_and_a_group() -> None:
    overview = help_text(None)
    for verb in VERBS:
        assert verb.usage.startswith(verb.name), verb.name
        assert verb.example.strip() and verb.details.strip(), verb.name
        assert verb.group in GROUPS, verb.name
        assert f"  {verb.usage}\n" in overview + "\n", verb.name
        assert HELP_TOPICS[verb.name].startswith(verb.usage), verb.name
        assert USAGE[verb.name] == f"{verb.usage}   e.g. {verb.example}"


def test_every_word_is_unique_and_finds_its_verb() -> None:
    words = [word for verb in VERBS for word in (verb.name, *verb.aliases)]
    assert len(words) == len(set(words))
    for verb in VERBS:
        for word in (verb.name, *verb.aliases):
            assert by_word(word) is verb
            assert help_text(word) == HELP_TOPICS[verb.name]


def test_each_example_builds_its_verbs_command() -> None:
    for verb in VERBS:
        example = verb.example.split(" or ")[0].split(" (")[0]
        assert isinstance(parse(example), verb.command), (verb.name, example)


def test_a_command_is_named_after_the_first_verb_that_builds_it() -> None:
    first: dict[type, str] = {}
    for verb in VERBS:
        first.setdefault(verb.command, verb.name)
    for verb in VERBS:  # types only built through another verb take that verb's name
        for also in verb.also:
            first.setdefault(also, verb.name)
    assert first == commands.COMMAND_NAMES
    assert parse("lost #12").name == "won" and parse("note jane: hi").name == "log"


def test_read_only_verbs_are_exactly_the_reading_commands() -> None:
    assert {t.__name__ for t in READ_ONLY} == {
        "FindContacts", "ShowContact", "ShowPipeline", "ListFollowUps", "ShowInbox",
        "Report", "Help", "ListCompanies", "ShowTrash", "ListReps",
    }  # fmt: skip
    for verb in VERBS:  # verbs sharing a command agree on whether it reads
        assert verb.read_only == (verb.command in READ_ONLY), verb.name
