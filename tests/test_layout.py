"""The floor plan of exomir as a test: imports of its own modules draw no circle and point down.

Every ``src/exomir/**/*.py`` is parsed (imports at module top and inside functions alike) into a
graph of modules; ``from package import name`` is an arrow to the package (its ``__init__``
runs and its namespace is read) and, when ``name`` is a submodule, to that submodule too. The
packages are then ranked by ``LAYERS``: a package may import its own layer or a layer below.

Run it as a script (``python tests/test_layout.py``) to print the cycles and the package arrows.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import networkx as nx

SRC = Path(__file__).resolve().parents[1] / "src"

#: Bottom first. Packages named here need not exist yet (the remodel adds some of them).
LAYERS: list[set[str]] = [
    {"errors", "progress", "logs", "atomic", "refdata", "_version"},
    {"identity"},
    {"io", "cohort"},
    {"simulate"},  # demo cohorts: written with io, read back by the analysis demo
    {"kb"},
    {"preprocess"},
    {"stats"},
    {"tools"},
    {"plotting"},
    {"results"},
    {"report"},
    {"model"},
    {"analysis", "metaanalysis", "quant"},  # workflows (quant writes its own QC report)
    {"web"},
    {"cli"},
    {"exomir", "pp", "__main__"},  # the public face (exomir/__init__, ex.pp) and ``python -m exomir``
]

#: Module arrows that still close a circle, each with the helper whose work removes it. Shrink
#: this list; an entry that no longer exists fails the test so that it is removed.
ALLOWED_CYCLE_EDGES: dict[tuple[str, str], str] = {}

#: Arrows from a package to a higher layer, (importing module, imported module) → who removes it.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {}


def _modules(src: Path = SRC) -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in sorted((src / "exomir").rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        found[".".join(parts)] = (path, is_package)
    return found


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom, known: dict) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] == "exomir"]
    base = node.module or ""
    if node.level:  # relative import
        package = module.split(".") if is_package else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([base] if base else []))
    if base.split(".")[0] != "exomir":
        return []
    out = [base]
    out += [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in known]
    return out


def module_graph(src: Path = SRC) -> nx.DiGraph:
    """Modules of exomir and the imports between them."""
    known = _modules(src)
    graph = nx.DiGraph()
    for module, (path, is_package) in known.items():
        graph.add_node(module)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(module, is_package, node, known):
                    while target not in known and "." in target:  # a name inside a module
                        target = target.rsplit(".", 1)[0]
                    if target != module:
                        graph.add_edge(module, target)
    return graph


def package_of(module: str) -> str:
    """``exomir.io.tables`` → ``io``; ``exomir.cohort`` → ``cohort``; ``exomir`` → ``exomir``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "exomir"


def package_graph(graph: nx.DiGraph) -> nx.DiGraph:
    packages = nx.DiGraph()
    for a, b in graph.edges:
        if package_of(a) != package_of(b):
            packages.add_edge(package_of(a), package_of(b))
    return packages


def layer_of(package: str) -> int | None:
    return next((i for i, names in enumerate(LAYERS) if package in names), None)


def cycles(graph: nx.DiGraph) -> list[list[str]]:
    return sorted(nx.simple_cycles(graph), key=lambda c: (len(c), c))


def upward(graph: nx.DiGraph) -> list[tuple[str, str]]:
    """Module arrows whose target's package sits in a higher layer than the importer's."""
    return sorted(
        (a, b) for a, b in graph.edges
        if None not in (layer_of(package_of(a)), layer_of(package_of(b)))
        and layer_of(package_of(b)) > layer_of(package_of(a))
    )


def test_every_package_has_a_layer():
    unplaced = sorted({package_of(m) for m in module_graph()} - set().union(*LAYERS))
    assert not unplaced, f"place these in LAYERS of tests/test_layout.py: {unplaced}"


def test_no_module_cycles():
    graph = module_graph()
    stale = [edge for edge in ALLOWED_CYCLE_EDGES if not graph.has_edge(*edge)]
    graph.remove_edges_from(ALLOWED_CYCLE_EDGES)
    found = [" -> ".join([*c, c[0]]) for c in cycles(graph)]
    assert not found, "import cycles:\n" + "\n".join(found)
    assert not stale, f"these arrows are gone: remove them from ALLOWED_CYCLE_EDGES: {stale}"


def test_no_package_cycles():
    graph = module_graph()
    graph.remove_edges_from(ALLOWED_CYCLE_EDGES)
    assert not cycles(package_graph(graph))


def test_no_upward_arrows():
    arrows = upward(module_graph())
    found = [f"{a} -> {b}" for a, b in arrows if (a, b) not in ALLOWED_UPWARD]
    assert not found, "imports of a higher layer:\n" + "\n".join(found)
    stale = [edge for edge in ALLOWED_UPWARD if edge not in arrows]
    assert not stale, f"these arrows are gone: remove them from ALLOWED_UPWARD: {stale}"


def test_nothing_imports_the_public_face():
    """``import exomir`` loads the whole public face: modules name ``exomir._version`` instead."""
    graph = module_graph()
    assert sorted(graph.predecessors("exomir")) in ([], ["exomir.__main__"])


def test_the_graph_sees_every_kind_of_import(tmp_path):
    pkg = tmp_path / "exomir"
    (pkg / "sub").mkdir(parents=True)
    for name in ("__init__.py", "low.py"):
        (pkg / name).write_text("")
    (pkg / "sub" / "__init__.py").write_text("from .a import f\n")  # a package re-exporting a submodule
    (pkg / "sub" / "a.py").write_text("from . import b\nfrom exomir.sub import c\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from ..low import x\n")
    (pkg / "sub" / "c.py").write_text("import exomir.low as low\nfrom exomir import sub\n")
    graph = module_graph(tmp_path)
    assert set(graph.edges) == {
        ("exomir.sub.a", "exomir.sub"), ("exomir.sub.a", "exomir.sub.b"), ("exomir.sub.a", "exomir.sub.c"),
        ("exomir.sub.b", "exomir.low"), ("exomir.sub.c", "exomir.low"), ("exomir.sub.c", "exomir"),
        ("exomir.sub.c", "exomir.sub"), ("exomir.sub", "exomir.sub.a"),
    }
    # a submodule that reads its own package's namespace closes a circle with the package
    assert {frozenset(c) for c in cycles(graph)} == {
        frozenset({"exomir.sub", "exomir.sub.a"}), frozenset({"exomir.sub", "exomir.sub.a", "exomir.sub.c"}),
    }


if __name__ == "__main__":
    src = Path(sys.argv[1]) / "src" if len(sys.argv) > 1 else SRC
    modules = module_graph(src)
    found = cycles(modules)
    print(f"module cycles: {len(found)}")
    for cycle in found:
        print("   " + " -> ".join([*cycle, cycle[0]]))
    packages = package_graph(modules)
    print(f"package cycles: {len(cycles(packages))}")
    arrows = upward(modules)
    print(f"upward arrows: {len(arrows)}")
    for a, b in arrows:
        print(f"   {a} -> {b}")
    print("package arrows:")
    for name in sorted(packages, key=lambda p: (layer_of(p) if layer_of(p) is not None else -1, p)):
        print(f"   [{layer_of(name)}] {name} -> {', '.join(sorted(packages.successors(name)))}")
