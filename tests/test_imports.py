"""Who imports whom: no import cycle in the archive, and a function-local import only
where a comment says why. The layers and forbidden imports are import-linter's
contracts (pyproject.toml, ``make lint``); this test adds what they cannot say.

A cycle here is one Python meets when it imports the modules: the module-level
imports (not those inside functions), and the packages each import initialises on
the way (importing ``archive.interviews.identity`` runs ``archive/interviews/
__init__.py`` first, whatever that imports).
"""

from __future__ import annotations

import ast
from pathlib import Path

ARCHIVE = Path(__file__).resolve().parents[1] / "archive"
#: The application factory imports the app's layers when an app is built: the
#: package root is imported before any of its modules (its docstring says so).
LOCAL_IMPORTS_ALLOWED = {"archive/__init__.py"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(ARCHIVE.rglob("*.py")):
        relative = path.relative_to(ARCHIVE.parent).with_suffix("")
        if "migrations" in relative.parts:
            continue
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports run when the module is imported: outside functions, and outside
    ``if TYPE_CHECKING:``."""
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append(node)
            elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)
            elif isinstance(node, (ast.If, ast.Try, ast.With, ast.ClassDef)):
                for field in ("body", "orelse", "finalbody", "handlers"):
                    for child in getattr(node, field, []):
                        visit(child.body if isinstance(child, ast.ExceptHandler) else [child])

    visit(tree.body)
    return found


def _import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        targets = []
        for node in _module_level_imports(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            elif node.module and node.level == 0:
                targets += [
                    f"{node.module}.{alias.name}"
                    if f"{node.module}.{alias.name}" in modules
                    else node.module
                    for alias in node.names
                ]
        for target in targets:
            if not target.startswith("archive"):
                continue
            parts = target.split(".")
            # The target and every package initialised on the way to it, but the
            # importer's own packages (already being initialised when it runs).
            for depth in range(1, len(parts) + 1):
                step = ".".join(parts[:depth])
                if step in modules and step != name and not name.startswith(step + "."):
                    graph[name].add(step)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                strong(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strong(node)
    return found


def test_no_module_imports_itself_round_a_cycle():
    assert _cycles(_import_graph()) == []


def test_the_cycle_finder_finds_a_cycle_through_a_package():
    # a.y imports b.z, which initialises b first; b imports a.y.
    graph = {"a": set(), "a.x": set(), "a.y": {"b", "b.z"}, "b": {"a.y"}, "b.z": set()}
    assert _cycles(graph) == [["a.y", "b"]]


def test_function_local_imports_say_why():
    """An import inside a function hides a dependency: kept only under a comment
    (on its line, or heading its block of imports) that says why."""
    unexplained = []
    for path in _modules().values():
        relative = path.relative_to(ARCHIVE.parent).as_posix()
        if relative in LOCAL_IMPORTS_ALLOWED:
            continue
        lines = path.read_text().splitlines()
        for function in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if not isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                above = node.lineno - 2
                while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
                    above -= 1
                if "#" not in lines[node.lineno - 1] and not lines[above].strip().startswith("#"):
                    unexplained.append(
                        f"{relative}:{node.lineno}: {lines[node.lineno - 1].strip()}"
                    )
    assert unexplained == []
