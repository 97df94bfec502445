"""The import graph of nlu_lite: no circles, and imports only flow down the layers that
docs/architecture.md draws.  Every import counts, inside functions too; only imports under
``if TYPE_CHECKING:`` (annotations, never run) are left out."""

from __future__ import annotations

import ast
from pathlib import Path

import nlu_lite

ROOT = Path(nlu_lite.__file__).parent

# Bottom to top; a module may import modules of its own layer or below, never above.
LAYERS: list[set[str]] = [
    {"_version", "errors"},
    {"options", "sentences", "vectors", "model_files", "spark_tokens", "conventions"},
    {"registry", "inputs", "batching", "output", "pooling", "devices"},
    {"hub", "checkpoint"},
    {"locking"},
    {"components"},
    {"runner", "fused"},
    {"encoder"},
    {"levels", "scale", "saving"},
    {"pipeline"},
    {"catalogue", "factory", "plot"},
    {"__init__", "cli", "__main__"},
]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "nlu_lite":
                found.update(a.name for a in node.names)
            elif node.module.startswith("nlu_lite."):
                found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("nlu_lite."))
    return found


def _graph() -> dict[str, set[str]]:
    return {p.stem: _imports(p) - {p.stem} for p in ROOT.glob("*.py")}


def test_architecture_every_module_has_a_layer():
    placed = set().union(*LAYERS)
    assert set(_graph()) == placed, "place new modules in LAYERS (and in docs/architecture.md)"


def test_architecture_imports_flow_down_only():
    level = {name: i for i, layer in enumerate(LAYERS) for name in layer}
    upward = [
        f"{module} (layer {level[module]}) imports {target} (layer {level[target]})"
        for module, targets in _graph().items()
        for target in targets
        if target in level and level[target] > level[module]
    ]
    assert upward == []


def test_architecture_no_import_cycles():
    graph = _graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_architecture_the_graph_test_sees_a_cycle(tmp_path, monkeypatch):
    """The checks above can fail: two modules that import each other are caught."""
    (tmp_path / "a.py").write_text("from nlu_lite import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from nlu_lite.a import x\n")
    (tmp_path / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from nlu_lite import a\n")
    assert _imports(tmp_path / "a.py") == {"b"}
    assert _imports(tmp_path / "b.py") == {"a"}
    assert _imports(tmp_path / "c.py") == set()


def test_architecture_package_face_only_re_exports():
    tree = ast.parse((ROOT / "__init__.py").read_text())
    defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert defined == ["__getattr__"]  # the lazy Pipeline export, nothing else


def test_architecture_functions_stay_short():
    """No function or method over 60 lines (docstring and signature included)."""
    long = []
    for path in sorted(ROOT.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > 60:
                    long.append(f"{path.name}:{node.lineno} {node.name} ({length} lines)")
    assert long == []
