"""A typer group whose heavy subcommands are imported only when they are run.

`rapport classifier` needs scikit-learn and skops and `rapport report` needs the analytics
stack; importing them for `rapport --help` or `rapport db current` cost seconds on every
start. Each lazy subcommand is named with the module that defines its typer app and a
one-line help, so the top-level help lists it without importing anything.
"""

import importlib
from dataclasses import dataclass

import typer
from typer.core import TyperCommand, TyperGroup

try:  # typer 0.29+ carries its own copy of click and no longer depends on the package
    from typer import _click as click
except ImportError:  # pragma: no cover - older typer, built on the click package
    import click  # type: ignore[no-redef]  # the same click API, from the package


@dataclass(frozen=True)
class LazyCommand:
    """A subcommand known by name and help; `target` is "module:attribute" of a Typer app."""

    name: str
    target: str
    help: str


class LazyGroup(TyperGroup):
    """TyperGroup that imports a lazy subcommand's module the first time it is asked for."""

    lazy: dict[str, LazyCommand] = {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = super().get_command(ctx, cmd_name)
        if found is not None or cmd_name not in self.lazy:
            return found
        if ctx.resilient_parsing or _listing_help(ctx):
            return _placeholder(self.lazy[cmd_name])
        return self._load(cmd_name)

    def _load(self, cmd_name: str) -> click.Command:
        spec = self.lazy[cmd_name]
        module_name, _, attribute = spec.target.partition(":")
        sub_app = getattr(importlib.import_module(module_name), attribute)
        command = typer.main.get_command(sub_app)
        command.name = cmd_name
        self.add_command(command, cmd_name)
        return command


def _listing_help(ctx: click.Context) -> bool:
    """True while click formats the group's own help (it asks every command for its help)."""
    return bool(ctx.meta.get("rapport.listing_help"))


def _placeholder(spec: LazyCommand) -> click.Command:
    return TyperCommand(spec.name, help=spec.help, short_help=spec.help)


def lazy_group(*commands: LazyCommand) -> type[LazyGroup]:
    """A LazyGroup subclass that knows `commands` (a class, because typer takes `cls=`)."""

    class Group(LazyGroup):
        lazy = {command.name: command for command in commands}

        def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
            ctx.meta["rapport.listing_help"] = True
            try:
                super().format_help(ctx, formatter)
            finally:
                ctx.meta.pop("rapport.listing_help", None)

    return Group
