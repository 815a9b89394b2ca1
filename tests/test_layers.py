"""The house plan: imports run one way, from the commands down to the leaves.

Every ``import`` in src/facetwin (at the top of a module or inside a function) is read
from the source; one from a package to another is allowed only downwards in LAYERS
(docs/design.md, "Layout"). Two packages of one layer may not import each other at
all, so no two packages can depend on each other. Imports under ``if TYPE_CHECKING:``
are annotations only and are not counted.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "facetwin"

#: Bottom to top. A package (or top-level module) may import from the layers below its own.
LAYERS: list[tuple[str, ...]] = [
    ("errors", "_version", "progress"),
    ("_check",),
    ("io", "device"),  # files and media; where a run computes
    ("alignments",),
    ("faces",),  # detection, landmarks, alignment geometry, identity
    ("models",),  # networks, their registry and the model folder
    ("config", "pairs"),  # every stage's settings; pair lists
    ("forensics",),  # the marks and verify
    ("data",),  # training faces, augmentation, the time split
    ("extraction",),
    ("training",),
    ("conversion",),
    ("evaluation",),
    ("dataset",),  # runs extract, train and convert for each pair
    ("detection", "demo"),
    ("options", "presets", "completion"),  # option tables; settings files; shell completion
    ("ui",),
    ("cli",),
    ("__main__", "(top)"),
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _room(module: str) -> str:
    """facetwin.training.trainer -> "training"; facetwin -> "(top)"."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(top)"


def _module_name(path: Path, src: Path = SRC) -> str:
    parts = list(path.relative_to(src.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for child in node.body for n in ast.walk(child))
    return skip


def import_edges(src: Path = SRC) -> list[tuple[str, str, str]]:
    """(importing module, imported module, "file:line") for every facetwin import."""
    edges = []
    for path in sorted(src.rglob("*.py")):
        module = _module_name(path, src)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip = _type_checking_nodes(tree)
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    names = [".".join(base + ([node.module] if node.module else []))]
                else:
                    names = [node.module or ""]
            else:
                continue
            where = f"{path.relative_to(src.parent)}:{node.lineno}"
            edges += [(module, name, where) for name in names if name.split(".")[0] == "facetwin"]
    return edges


def layer_violations(edges: list[tuple[str, str, str]]) -> list[str]:
    problems = []
    for module, imported, where in edges:
        a, b = _room(module), _room(imported)
        if a == b:
            continue
        if a not in RANK or b not in RANK:
            problems.append(f"{where}: {a} or {b} has no layer in LAYERS (tests/test_layers.py)")
        elif RANK[b] >= RANK[a]:
            how = "the same layer" if RANK[b] == RANK[a] else "a higher layer"
            problems.append(f"{where}: {module} imports {imported}, from {how} ({a} -> {b})")
    return problems


def test_every_package_has_a_layer():
    rooms = {_room(_module_name(p)) for p in SRC.rglob("*.py")}
    assert rooms - set(RANK) == set(), "add new packages to LAYERS (and to docs/design.md's layout)"


def test_imports_run_only_downwards():
    edges = import_edges()
    assert len(edges) > 300  # the reader finds the imports (else the check below proves nothing)
    assert layer_violations(edges) == []


def test_the_check_catches_an_upward_import(tmp_path):
    # A copy of two rooms with one import against the plan, and one annotation-only import.
    (tmp_path / "facetwin" / "io").mkdir(parents=True)
    (tmp_path / "facetwin" / "forensics").mkdir()
    (tmp_path / "facetwin" / "io" / "writers.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from facetwin.training import trainer\n"
        "def f():\n    from facetwin.forensics.watermark import embed_watermark\n"
    )
    (tmp_path / "facetwin" / "forensics" / "__init__.py").write_text(
        "from . import watermark\nfrom ..io import writers\n"
    )
    edges = import_edges(tmp_path / "facetwin")
    problems = layer_violations(edges)
    assert len(problems) == 1 and "io -> forensics" in problems[0] and "writers.py:5" in problems[0]
    assert ("facetwin.forensics", "facetwin.io", "facetwin/forensics/__init__.py:2") in edges


@pytest.mark.parametrize(
    "module, absent",
    [
        # Inference loads a model without the training loop, its plots or its augmentation.
        ("facetwin.conversion", ("facetwin.training", "matplotlib", "facetwin.data.augment_batch")),
        ("facetwin.models.checkpoint", ("facetwin.training", "matplotlib")),
        ("facetwin.forensics", ("facetwin.training", "facetwin.conversion", "facetwin.dataset", "c2pa")),
        ("facetwin.io.writers", ("facetwin.forensics", "torch")),
    ],
)
def test_importing_a_room_loads_nothing_above_it(module, absent):
    code = (
        f"import sys, {module}\n"
        f"print('\\n'.join(sorted(m for m in sys.modules if m.split('.')[0] in ('facetwin', 'matplotlib', 'c2pa', 'torch'))))"
    )
    loaded = set(
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    )
    assert module in loaded
    assert [m for m in loaded if any(m == a or m.startswith(a + ".") for a in absent)] == []
