"""The layers of docs/architecture.md, checked by reading every module's imports."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "storecfg"


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = ["storecfg", *path.relative_to(PACKAGE).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """Every storecfg module `name` imports, at any depth (lazy imports count too)."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            target = ".".join(p for p in (base, node.module or "") if p)
            candidates = [target, *(f"{target}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        else:
            continue
        yield from (c for c in candidates if c in MODULES and c != name)


GRAPH = {name: set(_imports(name, path)) for name, path in MODULES.items()}


def _layer(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


@pytest.mark.parametrize(
    ("layer", "forbidden"),
    [
        ("storecfg.store", {"storecfg.compiler", "storecfg.apply", "storecfg.views", "storecfg.cli"}),
        ("storecfg.server", {"storecfg.compiler", "storecfg.apply", "storecfg.views", "storecfg.cli"}),
        ("storecfg.spec", {"storecfg.compiler", "storecfg.store", "storecfg.server", "storecfg.apply"}),
        ("storecfg.compiler", {"storecfg.store", "storecfg.server", "storecfg.apply", "storecfg.views"}),
        ("storecfg.workflows", {"storecfg.views", "storecfg.cli"}),
        ("storecfg.apply", {"storecfg.views", "storecfg.cli", "storecfg.workflows"}),
    ],
)  # fmt: skip
def test_a_layer_never_imports_one_above_it(layer: str, forbidden: set[str]) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        if _layer(module) == layer
        for target in targets
        if _layer(target) in forbidden
    )
    assert not wrong


def test_no_import_cycle() -> None:
    """Tarjan's strongly connected components over module imports: none has two modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in GRAPH[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(GRAPH):
        if module not in index:
            visit(module)
    assert not cycles


def test_no_private_name_is_imported_from_another_module() -> None:
    wrong = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (
                node.level or (node.module or "").startswith("storecfg")
            ):
                wrong += [f"{name}: {a.name}" for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]  # fmt: skip
    assert not wrong


def test_the_graph_is_read() -> None:
    """The checks above mean something only if imports are found at all."""
    assert "storecfg.spec" in {_layer(t) for t in GRAPH["storecfg.store.validation"]}
    assert "storecfg.compiler.compile" in GRAPH["storecfg.apply.workflow"] or any(
        _layer(t) == "storecfg.compiler" for t in GRAPH["storecfg.apply.workflow"]
    )
