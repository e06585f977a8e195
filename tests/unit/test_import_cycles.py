"""No import cycles among the modules of bot/, crm/ and channels/.

Every import statement counts, wherever it sits: at the top, inside a function (a lazy
import) or under `if TYPE_CHECKING:`. A lazy import hides a cycle from Python at start-up,
not from the reader, and it is how bot/slack/bridge.py and bot/slack/forms.py used to
import each other. `from pkg import name` is an edge to `pkg.name` when that is a module,
else to `pkg`; a module is not counted as importing its parent package (Python runs the
package's __init__ first, but that is not a dependency the module chose). The graph's
strongly connected components are found with Tarjan's algorithm; any with more than one
module, or a module importing itself, is a cycle.
"""

import ast
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("bot", "crm", "channels")


def module_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # alembic scripts are loaded by path, not imported
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _targets(node: ast.AST, module: str, is_package: bool, known: set[str]) -> Iterable[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            source = ".".join([*base, node.module] if node.module else base)
        else:
            source = node.module or ""
        for alias in node.names:
            child = f"{source}.{alias.name}"
            yield child if child in known else source


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    known = set(files)
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges: set[str] = set()
        for node in ast.walk(tree):
            for target in _targets(node, module, path.name == "__init__.py", known):
                while target and target not in known:  # `import a.b.c` of a name in a.b
                    target = target.rpartition(".")[0]
                if target:
                    edges.add(target)
        graph[module] = edges
    return graph


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components that are cycles, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(graph) + 100))
    try:
        for node in sorted(graph):
            if node not in index:
                visit(node)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(found)


def test_there_are_no_import_cycles() -> None:
    graph = import_graph()
    assert len(graph) > 100  # the walk found the code
    assert cycles(graph) == []


def test_the_finder_sees_cycles_through_lazy_and_type_checking_imports(tmp_path: Path) -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    lazy = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bot.slack.bridge import SlackBridge\n"
        "def f():\n    from bot.slack import forms\n"
    )
    known = {"bot.slack.bridge", "bot.slack.forms", "bot.slack"}
    targets = {t for node in ast.walk(lazy) for t in _targets(node, "m", False, known)}
    assert {"bot.slack.bridge", "bot.slack.forms"} <= targets
