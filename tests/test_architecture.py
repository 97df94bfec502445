"""The import graph of nlu_lite: no circles, and imports only flow down the layers that
docs/architecture.md draws.  Every import counts, inside functions too; only imports under
``if TYPE_CHECKING:`` (annotations, never run) are left out."""

from __future__ import annotations

import ast
from pathlib import Path

import nlu_lite

ROOT = Path(nlu_lite.__file__).parent

# Bottom to top: the package's top-level modules and its subpackages.  A unit may import units of
# its own layer or below, never above; docs/architecture.md draws the same layers.
LAYERS: list[set[str]] = [
    {"_version", "errors", "options"},
    {"nlu", "frames"},
    {"hub"},
    {"engine"},
    {"tasks"},
    {"clusters"},
    {"pipeline"},
    {"factory", "plot"},
    {"__init__", "cli", "__main__"},
]


def _module_name(path: Path) -> str:
    """``engine.encoder`` for nlu_lite/engine/encoder.py, ``pipeline`` for nlu_lite/pipeline.py."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__" and len(parts) > 1:
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """The nlu_lite modules a file imports, as dotted names below nlu_lite (``engine.encoder``)."""
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
                base = node.module.split(".", 1)[1]
                subpackage = (ROOT / base.replace(".", "/")).is_dir()
                found.update(f"{base}.{a.name}" for a in node.names) if subpackage else found.add(base)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".", 1)[1] for a in node.names if a.name.startswith("nlu_lite."))
    return found


def _unit(module: str) -> str:
    """The layer unit of a module: its subpackage, or the top-level module itself."""
    return module.split(".")[0]


def _module_graph() -> dict[str, set[str]]:
    graph = {_module_name(p): _imports(p) for p in ROOT.rglob("*.py")}
    return {name: {t for t in targets if t != name} for name, targets in graph.items()}


def _graph() -> dict[str, set[str]]:
    """The graph between layer units (subpackages and top-level modules)."""
    units: dict[str, set[str]] = {}
    for module, targets in _module_graph().items():
        units.setdefault(_unit(module), set()).update(_unit(t) for t in targets)
    return {unit: targets - {unit} for unit, targets in units.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
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
    return cycles


def test_architecture_every_module_has_a_layer():
    placed = set().union(*LAYERS)
    assert set(_graph()) == placed, "place new modules and subpackages in LAYERS (and in docs/architecture.md)"


def test_architecture_imports_flow_down_only():
    level = {name: i for i, layer in enumerate(LAYERS) for name in layer}
    upward = [
        f"{module} (layer {level[module]}) imports {target} (layer {level[target]})"
        for module, targets in _graph().items()
        for target in targets
        if target in level and level[target] > level[module]
    ]
    assert upward == []


def test_architecture_no_import_cycles_between_subpackages():
    assert _cycles(_graph()) == []


def test_architecture_no_import_cycles_between_modules():
    """Inside a subpackage too: no two modules import each other, however indirectly."""
    assert _cycles(_module_graph()) == []


def test_architecture_every_subpackage_says_what_it_owns():
    for init in ROOT.glob("*/__init__.py"):
        assert ast.get_docstring(ast.parse(init.read_text())), f"{init.parent.name}/__init__.py needs a docstring"


def test_architecture_the_graph_test_sees_a_cycle(tmp_path, monkeypatch):
    """The checks above can fail: two modules that import each other are caught."""
    (tmp_path / "a.py").write_text("from nlu_lite import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from nlu_lite.a import x\n")
    (tmp_path / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from nlu_lite import a\n")
    assert _imports(tmp_path / "a.py") == {"b"}
    assert _imports(tmp_path / "b.py") == {"a"}
    assert _imports(tmp_path / "c.py") == set()
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b", "a"]]


def test_architecture_package_face_only_re_exports():
    tree = ast.parse((ROOT / "__init__.py").read_text())
    defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
    assert defined == ["__getattr__"]  # the lazy Pipeline export, nothing else


def test_architecture_options_flow_as_one_object():
    """Options are validated once into PredictOptions and handed down: nothing in the package
    rebuilds them from a frame's local variables."""
    calls = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted(ROOT.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("locals", "vars")
    ]
    assert calls == []


def test_architecture_complexity_rules_are_configured():
    """Functions are kept simple by ruff's complexity rules (run in CI), not by a line count."""
    import pytest

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT.parent / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert {"C901", "PLR0913", "PLR0915"} <= set(config["select"])
    assert config["mccabe"]["max-complexity"] <= 10
    assert config["pylint"]["max-args"] <= 6
