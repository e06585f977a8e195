"""Pins the dependency rule of ARCHITECTURE.md by parsing every module's imports.

Relative imports are resolved to absolute names first, so `from ..bot import x` cannot
slip past; a relative import anywhere is itself refused (the project uses none)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDKS = {"telegram", "slack_bolt", "slack_sdk", "aiosmtplib", "rich", "uvicorn", "starlette"}
# The composition root (bot/app.py, bot/runtime/) and the command-line entry points
# (bot/cli/) may import concrete channels and terminal libraries; nothing else in bot/ may.
COMPOSITION_ROOT = ("bot/app.py", "bot/runtime/", "bot/cli/")
SHARED_CHANNEL_MODULES = {"channels", "channels.base", "channels.hub", "channels.render"}
SHARED_CHANNEL_MODULES |= {"channels.http"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _package_of(path: Path) -> str:
    name = _module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, relative imports resolved against its package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module:
                found.add(node.module)
                continue
            base = _package_of(path).split(".")
            base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            prefix = ".".join(base)
            found.add(f"{prefix}.{node.module}" if node.module else prefix)
    return found


def relative_imports(path: Path) -> int:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return sum(1 for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level > 0)


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


def test_a_channel_never_imports_another_channel() -> None:
    """channels/<a>/ may use the shared neutral modules and its own package, nothing else."""
    for path in modules("channels"):
        parts = path.relative_to(ROOT).parts
        own = f"channels.{Path(parts[1]).stem}"
        for name in imports_of(path):
            if top(name) != "channels" or name in SHARED_CHANNEL_MODULES:
                continue
            assert name == own or name.startswith(own + "."), (
                f"{path.relative_to(ROOT)} imports another channel: {name}"
            )


def test_bot_reaches_concrete_channels_only_through_the_composition_root() -> None:
    for path in modules("bot"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(COMPOSITION_ROOT):
            continue
        names = imports_of(path)
        sdk = {i for i in names if top(i) in SDKS}
        concrete = {i for i in names if top(i) == "channels" and i not in SHARED_CHANNEL_MODULES}
        assert not sdk, f"{relative} imports a chat SDK: {sdk}"
        assert not concrete, f"{relative} imports a concrete channel: {concrete}"


def test_no_module_uses_relative_imports() -> None:
    for package in ("bot", "crm", "channels"):
        for path in modules(package):
            assert relative_imports(path) == 0, f"{path.relative_to(ROOT)} uses a relative import"
