"""Two boundaries the layout alone does not show, checked on the source:

* bot/ logic names no channel: routing, limits and rendering read the adapters' declared
  ChannelTraits (channels/base.py), so a new channel needs no edit there;
* bot/ renders and routes values: the queries live in crm/ (crm/views.py and the services),
  except in the composition root, which wires a session to everything.
"""

import ast
from pathlib import Path

from channels.base import ChannelTraits
from channels.console import ConsoleChannel
from channels.email import EmailChannel
from channels.hub import ChannelHub
from channels.slack.adapter import SlackChannel
from channels.telegram.channel import telegram_traits

ROOT = Path(__file__).resolve().parents[2]
CHANNEL_NAMES = {"slack", "shell", "telegram"}
# The composition root and the CLI pick concrete channels by definition; bot/slack/ is the
# CRM side of Slack; bot/settings.py names the settings after their channel.
NAMED_BY_DEFINITION = ("bot/runtime/", "bot/cli/", "bot/app.py", "bot/slack/", "bot/settings.py")
# bot/api/ is the REST adapter whose filters, keyset cursors and query language compile to
# SQL by design (issue 20); it is the one bot/ package besides the composition root that may.
MAY_QUERY = ("bot/app.py", "bot/runtime/", "bot/api/")
# Renderers that take values: App Home's sections get a crm.views.HomeView, not a session
# (its build_home opens one transaction for crm.views.home_view and renders after it);
# the rep's replies and cards get crm.views values (ContactOverview, ContactBrief); the
# reports get what crm/analytics/views.py read (NeedsView, ValueView, ...).
RENDERS_VALUES = ("bot/slack/home.py", "bot/rep/render.py", "bot/reports/render.py")


def _sources(excluded: tuple[str, ...]) -> list[Path]:
    return [
        path
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if not path.relative_to(ROOT).as_posix().startswith(excluded)
    ]


def test_bot_logic_has_no_channel_name_literals() -> None:
    found = []
    for path in _sources(NAMED_BY_DEFINITION):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in CHANNEL_NAMES:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert found == [], "read ChannelTraits from the hub instead:\n" + "\n".join(found)


def test_bot_outside_the_composition_root_runs_no_queries() -> None:
    found = []
    for path in _sources(MAY_QUERY):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in {"select", "exec"}:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}(")
    assert found == [], "move the query into crm/views.py:\n" + "\n".join(found)


def test_renderers_take_values_not_sessions() -> None:
    found = []
    for name in RENDERS_VALUES:
        path = ROOT / name
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                modules += (
                    [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
                )
                found += [f"{name}:{node.lineno} imports {m}" for m in modules
                          if m.split(".")[0] in {"sqlmodel", "sqlalchemy"}]  # fmt: skip
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for arg in node.args.args + node.args.kwonlyargs:
                    shown = ast.unparse(arg.annotation) if arg.annotation else ""
                    if arg.arg == "session" or "Session" in shown:
                        found.append(f"{name}:{node.lineno} {node.name}({arg.arg}: {shown})")
    assert found == [], "read in crm/views.py and pass the values:\n" + "\n".join(found)


class _Declaring:
    def __init__(self, name: str, traits: ChannelTraits) -> None:
        self.name, self.traits = name, traits

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def test_the_hub_orders_channels_by_their_declared_traits() -> None:
    hub = ChannelHub()
    for name, traits in (
        ("email", EmailChannel.traits),
        ("shell", ConsoleChannel.traits),
        ("telegram", telegram_traits(12)),
        ("slack", SlackChannel.traits),
        ("webchat", ChannelTraits(customer_rank=5)),
    ):
        hub.register(_Declaring(name, traits))  # type: ignore[arg-type]
    assert hub.rep_channels() == ["slack", "shell", "email"]
    assert hub.customer_channels() == ["telegram", "email", "shell", "webchat"]
    assert hub.team_channel() == "slack"
    assert hub.traits("telegram").limits[0].rate == 12
    assert not hub.traits("shell").shows_images and hub.traits("slack").shows_images
    assert hub.traits("not-registered") == ChannelTraits()  # declares nothing, has nothing
