"""Pins the dependency rule of DESIGN.md by parsing every module's imports."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDKS = {"telegram", "slack_bolt", "slack_sdk", "aiosmtplib", "rich", "uvicorn", "starlette"}
# The composition root and the command-line entry points (bot/cli*.py) may import
# concrete channels and terminal libraries; nothing else in bot/ may.
COMPOSITION_ROOT = {"bot/app.py", "bot/runner.py", "bot/shell.py"}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def top(name: str) -> str:
    return name.split(".")[0]


def test_crm_knows_nothing_of_chats_or_the_bot() -> None:
    for path in modules("crm"):
        bad = {i for i in imports_of(path) if top(i) in {"bot", "channels"} | SDKS}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_channels_import_only_the_neutral_types_and_their_sdk() -> None:
    for path in modules("channels"):
        bad = {i for i in imports_of(path) if top(i) in {"bot", "crm"}}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_bot_reaches_concrete_channels_only_through_the_composition_root() -> None:
    allowed_channels = {"channels", "channels.base", "channels.hub", "channels.render"}
    for path in modules("bot"):
        relative = path.relative_to(ROOT).as_posix()
        entry_point = relative.startswith(("bot/wiring/", "bot/cli"))
        if relative in COMPOSITION_ROOT or entry_point:
            continue
        names = imports_of(path)
        sdk = {i for i in names if top(i) in SDKS}
        concrete = {i for i in names if top(i) == "channels" and i not in allowed_channels}
        assert not sdk, f"{relative} imports a chat SDK: {sdk}"
        assert not concrete, f"{relative} imports a concrete channel: {concrete}"
