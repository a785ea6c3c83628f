"""The import graph of scalecore has no cycle (issue 20): each module imports only modules below it.

The graph is read from the source (every relative import, at the top of a module or inside a
function alike, since a lazy import hides a cycle rather than removing it), not by importing. Only
imports under ``if TYPE_CHECKING:`` are left out: they name types for annotations and never run."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "scalecore"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """{module: the scalecore modules it imports}, from every relative ``from ... import`` line."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for block in ast.walk(tree) if _is_type_checking(block) for s in block.body
                       for n in ast.walk(s)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.level == 0 or id(node) in typing_only:
                continue
            base = package.split(".")
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
            if node.module is None or target not in modules:  # "from . import x": x are modules
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    if sub in modules:
                        graph[name].add(sub)
                if target in modules and node.module is not None:
                    graph[name].add(target)
            else:
                graph[name].add(target)
    for name in graph:
        graph[name].discard(name)
    return graph


def _is_type_checking(node) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING"))


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (first == last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {m: WHITE for m in graph}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        colour[m] = GREY
        stack.append(m)
        for n in sorted(graph[m]):
            if colour.get(n) == GREY:
                return stack[stack.index(n):] + [n]
            if colour.get(n) == WHITE:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        colour[m] = BLACK
        return None

    for m in sorted(graph):
        if colour[m] == WHITE:
            found = visit(m)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_reads_relative_imports():
    graph = import_graph()
    assert "scalecore.budget.planning" not in graph["scalecore.budget.presentation"]  # under TYPE_CHECKING
    assert "scalecore.optimum" in graph["scalecore.bootstrap"]  # from . import optimum
    assert "scalecore.families" in graph["scalecore.optimum"]  # from .families import ...
    assert "scalecore.budget.law" in graph["scalecore.budget.planning"]  # from .law import ...
    assert "scalecore.optimum" in graph["scalecore.budget.planning"]  # from .. import optimum


def test_scalecore_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle in scalecore: " + " -> ".join(cycle)


def test_budget_and_bootstrap_do_not_import_each_other():
    graph = import_graph()
    budget = {m for m in graph if m == "scalecore.budget" or m.startswith("scalecore.budget.")}
    assert not (graph["scalecore.bootstrap"] & budget)
    assert not any("scalecore.bootstrap" in graph[m] for m in budget)
