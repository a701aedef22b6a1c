"""The layers of DESIGN §1, checked on the source: no import cycle among the
project's own modules at module level (a package's ``__init__`` counts: to
import ``a.b`` is to import ``a`` first), and the runner reaches no task
module, not even through an import inside a function."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "molam_ops",
    "audit",
    "controls",
    "payouts",
    "approvals",
    "plans",
    "widgets",
    "benchmarks",
)


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str, current: str, level: int, is_package: bool) -> str:
    if not level:
        return name
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def _with_parents(name: str) -> Iterator[str]:
    """``a.b.c`` imports ``a``, ``a.b`` and ``a.b.c``: the ones that are ours."""
    parts = name.split(".")
    for i in range(1, len(parts) + 1):
        candidate = ".".join(parts[:i])
        if candidate in MODULES:
            yield candidate


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, *, late: bool) -> set[str]:
    """What ``module`` imports at module level (``late``: anywhere)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    nodes: list[ast.AST] = []
    if late:
        nodes = list(ast.walk(tree))
    else:
        stack: list[ast.AST] = list(tree.body)
        while stack:
            node = stack.pop()
            nodes.append(node)
            if isinstance(node, ast.If) and not _type_checking(node):
                stack.extend(node.body + node.orelse)
            elif isinstance(node, ast.Try):
                stack.extend(node.body + node.orelse + node.finalbody)
                for handler in node.handlers:
                    stack.extend(handler.body)
    found: set[str] = set()
    is_package = path.name == "__init__.py"
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.update(_with_parents(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module or "", module, node.level, is_package)
            found.update(_with_parents(base))
            for alias in node.names:
                found.update(_with_parents(f"{base}.{alias.name}"))
    found.discard(module)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
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
            visit(node)
    return found


def test_no_import_cycle_at_module_level() -> None:
    graph = {module: _imports(module, late=False) for module in MODULES}
    assert _cycles(graph) == []


def test_the_runner_reaches_no_task_module() -> None:
    graph = {module: _imports(module, late=False) for module in MODULES}
    reached, todo = set(), ["molam_ops.actions.runner"]
    while todo:
        module = todo.pop()
        if module in reached:
            continue
        reached.add(module)
        todo.extend(graph[module])
    late = set().union(*(_imports(m, late=True) for m in reached))
    tasks = sorted(m for m in reached | late if m.split(".")[-1] == "tasks")
    assert tasks == []


def test_the_checker_sees_a_cycle() -> None:
    """The walk itself: a two-module cycle is found, a chain is not."""
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _cycles({"a": {"b"}, "b": {"c"}}) == []
    assert "molam_ops.actions" in _imports("molam_ops.actions.runner", late=False)
