"""Tests and benchmarks stay apart (issue 13): no test imports or runs a benchmark, and a
benchmark imports the package, libraries and shared test references, never another
benchmark. Reference twins live in ``hipimu.reference``."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCHMARKS = REPO / "benchmarks"
BENCH_MODULES = {p.stem for p in BENCHMARKS.glob("*.py")}


def imported_names(tree: ast.AST) -> set[str]:
    """The top-level module names a file imports (also inside functions)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def code_strings(tree: ast.AST) -> list[str]:
    """String constants that are not docstrings (paths a file builds)."""
    docs = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(body[0].value, ast.Constant):
                docs.add(id(body[0].value))
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    ]


def test_no_test_imports_or_loads_a_benchmark():
    here = Path(__file__).resolve()
    files = [
        p for p in (REPO / "tests").rglob("*.py") if "node_modules" not in p.parts and p != here
    ]
    assert len(files) > 20
    offenders = []
    for path in files:
        tree = ast.parse(path.read_text(), str(path))
        clash = imported_names(tree) & BENCH_MODULES
        paths = [s for s in code_strings(tree) if s == "benchmarks" or "benchmarks/" in s]
        if clash or paths:
            offenders.append(f"{path.relative_to(REPO)}: {sorted(clash) or paths}")
    assert not offenders, offenders


def test_benchmarks_import_no_other_benchmark():
    assert BENCH_MODULES
    offenders = []
    for path in BENCHMARKS.glob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        clash = imported_names(tree) & (BENCH_MODULES - {path.stem})
        if clash:
            offenders.append(f"{path.name}: {sorted(clash)}")
    assert not offenders, offenders


def test_reference_twins_live_in_hipimu_reference():
    """Numpy twins of the C kernels are in hipimu.reference, not beside the kernels."""
    host = REPO / "host" / "hipimu"
    twins = {p.name for p in (host / "reference").glob("*.py")} - {"__init__.py"}
    assert {"quaternion.py", "filter.py"} <= twins
    elsewhere = [
        p.relative_to(REPO)
        for p in host.rglob("*.py")
        if "reference" not in p.parts and ("_reference" in p.stem or p.stem.startswith("ref_"))
    ]
    assert not elsewhere, elsewhere
