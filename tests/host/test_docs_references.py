"""The docs and code comments point only at files and modules that exist.

A path such as ``docs/live.md`` or ``host/hipimu/...`` in any doc, docstring or comment,
a bare ``NAME.md``, and a module named in the docs as ``hipimu.x.y`` must resolve in
this repository (DESIGN.md, for one, is not in it: quote what is needed instead).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PATH = re.compile(
    r"(?<![\w./-])((?:docs|host|tests|benchmarks|firmware|hardware|\.ci)/[\w./*-]*[\w*])"
)
MARKDOWN = re.compile(r"(?<![\w/.-])([\w-]+\.md)\b")
MODULE = re.compile(r"`(hipimu(?:_fw)?(?:\.\w+)+)")
SUFFIXES = {".py", ".md", ".toml", ".c", ".h", ".mjs", ".cfg"}
SKIP_DIRS = {"node_modules", ".venv", "build", ".git", "__pycache__"}


def _files() -> list[Path]:
    return sorted(
        p
        for p in REPO.rglob("*")
        if p.suffix in SUFFIXES
        and p.is_file()
        and p != Path(__file__).resolve()
        and not SKIP_DIRS & set(p.relative_to(REPO).parts)
    )


def _module_exists(name: str) -> bool:
    """``hipimu.a.b.c``: the longest prefix that is a module, then the next part an
    attribute of it (a function, a constant); parts after that are not checked."""
    parts = name.split(".")
    for k in range(len(parts), 0, -1):
        try:
            found = importlib.util.find_spec(".".join(parts[:k])) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            if k == len(parts):
                return True
            module = importlib.import_module(".".join(parts[:k]))
            return hasattr(module, parts[k])
    return False


def _missing() -> set[tuple[str, str]]:
    missing = set()
    for f in _files():
        rel = f.relative_to(REPO).as_posix()
        text = f.read_text(errors="replace")
        for m in PATH.finditer(text):
            ref = m.group(1).rstrip(".")
            if "node_modules" in ref:  # made by `npm ci`, not part of the repository
                continue
            if "*" in ref:  # a pattern: something must match it
                if not any(REPO.glob(ref)):
                    missing.add((rel, ref))
            elif not ((REPO / ref).exists() or (f.parent / ref).exists()):
                missing.add((rel, ref))
        for m in MARKDOWN.finditer(text):
            ref = m.group(1)
            if not any(p.exists() for p in (REPO / ref, REPO / "docs" / ref, f.parent / ref)):
                missing.add((rel, ref))
        if f.suffix == ".md":
            for m in MODULE.finditer(text):
                if not _module_exists(m.group(1)):
                    missing.add((rel, m.group(1)))
    return missing


def test_docs_and_comments_reference_only_what_exists():
    missing = _missing()
    assert not missing, sorted(missing)


def test_the_checker_sees_a_missing_reference(tmp_path):
    """The patterns catch the forms used in this repository."""
    line = "see DESIGN.md and docs/nothing.md, `hipimu.record.read_log` and host/hipimu/x.py"
    assert MARKDOWN.findall(line) == ["DESIGN.md"]  # a path: PATH finds it
    assert PATH.findall(line) == ["docs/nothing.md", "host/hipimu/x.py"]
    assert MODULE.findall(line) == ["hipimu.record.read_log"]
    assert not _module_exists("hipimu.record.read_log")
    assert _module_exists("hipimu.store.log.read_log")
    assert _module_exists("hipimu_fw.VERSION") and not _module_exists("hipimu_fw.NOTHING")


def test_install_hints_work_from_a_checkout():
    """hipimu is not on a package registry: `pip install 'hipimu[x]'` cannot work; the
    docs and messages say `pip install '.[x]'` (from the checkout)."""
    wrong = [
        f.relative_to(REPO).as_posix()
        for f in _files()
        if f.suffix in (".py", ".md") and "install 'hipimu[" in f.read_text(errors="replace")
    ]
    assert not wrong, wrong
