"""The house keeps its plan: spot_lab's imports form no circle and point down the layers only.

Layers, top to bottom (docs/architecture.md): the faces; the demo; what users run on the data
(investigation, scoring, ingest, detectors); display; engines; enrichment (the embedded engine
exposes it as SQL functions, so it sits below the engines); the store; the foundation every
layer may use. Every import is read, also those inside functions (the lazy ones matter as
much), except imports under `if TYPE_CHECKING:`.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "spot_lab"

LAYERS = [  # top first; a module belongs to the layer of its longest matching prefix
    ("faces", ["spot_lab", "spot_lab.__main__", "spot_lab.cli", "spot_lab.magics",
               "spot_lab.server", "spot_lab.maps", "spot_lab.geo"]),
    ("demo", ["spot_lab.demo"]),
    ("work on the data", ["spot_lab.investigation", "spot_lab.scoring", "spot_lab.ingest",
                          "spot_lab.detect", "spot_lab.triage"]),
    ("display", ["spot_lab.display"]),
    ("engines", ["spot_lab.engines"]),
    ("enrichment", ["spot_lab.enrich"]),
    ("store", ["spot_lab.store"]),
    ("foundation", ["spot_lab.errors", "spot_lab.config", "spot_lab.dates", "spot_lab.limits",
                    "spot_lab.queries", "spot_lab._version", "spot_lab.data"]),
]  # fmt: skip


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for p in PACKAGE.rglob("*.py")
        if "labextension" not in p.parts and "node_modules" not in p.parts
    }


def _type_checking_blocks(tree: ast.AST) -> set[int]:
    skipped = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    return skipped


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The spot_lab modules `name` imports (a `from pkg import sub` of a submodule counts as
    the submodule; of a name, as the package that defines it)."""
    tree = ast.parse(path.read_text())
    skipped = _type_checking_blocks(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "spot_lab"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                root = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(root + ([base] if base else []))
            if base.split(".")[0] != "spot_lab":
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def layer_of(module: str) -> int:
    best, rank = -1, None
    for i, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best:
                best, rank = len(prefix), i
    if rank is None:
        raise AssertionError(f"{module} is in no layer: place it in tests/test_layers.py LAYERS")
    return rank


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
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

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def test_no_import_circles_between_modules():
    assert cycles(graph()) == []


def test_no_import_circles_between_packages():
    edges: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph().items():
        for target in targets:
            if package_of(target) != package_of(module) and package_of(module) != "spot_lab":
                edges[package_of(module)].add(package_of(target))
    assert cycles(edges) == []


def test_imports_point_down_the_layers():
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, targets in sorted(graph().items())
        for target in sorted(targets)
        if layer_of(target) < layer_of(module)
    ]
    assert upward == []


def test_every_module_has_a_layer():
    for module in modules():
        layer_of(module)


@pytest.mark.parametrize(
    "edges, expected",
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_the_cycle_finder_finds_cycles(edges, expected):
    assert cycles(edges) == expected


def test_the_reader_sees_lazy_and_relative_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from spot_lab.demo import generator\n"
        "def f():\n    from spot_lab.store.lake import Lake\n"
        "from . import limits\n"
    )
    known = {"spot_lab.store.lake", "spot_lab.demo.generator", "spot_lab.limits", "spot_lab"}
    assert imports_of("spot_lab.cli", source, known) == {"spot_lab.store.lake", "spot_lab.limits"}
    assert layer_of("spot_lab.store.lake") > layer_of("spot_lab.engines.hive")
