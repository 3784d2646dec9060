"""Batch analysis: a tree of session directories into one table of per-session scores.

Runs in parallel on this machine (a process pool) or on a Dask cluster given its
scheduler address. On a cluster the workers need hipimu installed and the session
directories at the same paths (a shared filesystem). A session that cannot be analysed
gives a row with its ``error``; the others go on. The local pool spawns fresh workers
with single-threaded BLAS (as Dask's are), so a script calling :func:`run_batch` with
several workers needs the ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import csv
import math
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from hipimu.store.session_dir import LOG_NAME

SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
LEADING = (
    "session", "client", "source", "error", "duration_s", "notifications", "log_intact",
    "log_recovery", "loss_percent_max", "rejected_packets", "calibration_heading",
    "calibration_warnings", "session_id",
)  # fmt: skip


def find_sessions(root: str | Path) -> list[Path]:
    """Every directory under ``root`` (itself included) holding a session log, sorted;
    symlinked directories are followed (each real directory once)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a directory")
    found, seen = [], set()
    for directory, subdirs, files in os.walk(root, followlinks=True):
        real = os.path.realpath(directory)
        if real in seen:  # a symlink loop, or the same tree linked twice
            subdirs.clear()
            continue
        seen.add(real)
        if LOG_NAME in files and os.path.isfile(os.path.join(directory, LOG_NAME)):
            found.append(Path(directory))
    return sorted(found)


def score_session(path: str | Path) -> dict:
    """Analyse one session directory into a flat row (degrees, percent, seconds)."""
    from hipimu.store.log import LogDamageWarning
    from hipimu.workflow.session import analyse_session, open_session

    path = Path(path)
    row: dict = {"session": str(path)}
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():  # reported in the row (log_recovery) instead
            warnings.simplefilter("ignore", LogDamageWarning)
            session = open_session(path)
        contents = session.contents
        meta = contents.metadata
        rec = contents.recovery
        row.update(
            session_id=meta.get("session_id", ""),
            client=meta.get("client") or "",
            source=meta.get("source", ""),
            duration_s=round(contents.duration, 3),
            notifications=len(contents.notifications),
            log_intact=rec.clean,
            log_recovery="" if rec.clean else rec.summary(),
        )
        if not contents.notifications:
            raise ValueError("the session log holds no notifications")
        analysis = analyse_session(session)
        row.update(_scores(analysis))
    except Exception as exc:  # one bad session must not stop the batch
        row["error"] = f"{type(exc).__name__}: {exc}"
    row["analysis_seconds"] = round(time.perf_counter() - start, 3)
    return row


def _scores(analysis) -> dict:
    out: dict = {}
    losses = {role: tl.loss_percent for role, tl in analysis.timelines.items()}
    out["loss_percent_max"] = round(max(losses.values()), 3)
    for role, value in sorted(losses.items()):
        out[f"loss_percent_{role}"] = round(value, 3)
    out["rejected_packets"] = int(sum(analysis.assembler.decoder.rejected.values()))
    q = analysis.calibration.quality
    out["calibration_heading"] = q.heading_source
    out["calibration_warnings"] = len(q.warnings)
    out["calibration_static_max_speed_deg_s"] = round(float(q.static_max_speed_deg_s), 3)
    if math.isfinite(q.heading_spread_deg):
        out["calibration_heading_spread_deg"] = round(float(q.heading_spread_deg), 3)
    for role, peaks in sorted(q.flexion_peaks.items()):
        out[f"calibration_flexion_peaks_{role}"] = peaks
    ranges: dict[str, float] = {}
    for r in analysis.ranges:
        for plane, value in zip(("flexion", "adduction", "rotation"), r.range, strict=True):
            key = f"{r.exercise}_{r.side}_{plane}_deg"
            ranges[key] = max(ranges.get(key, -np.inf), float(np.rad2deg(value)))
    out.update({k: round(v, 3) for k, v in ranges.items()})
    for s in analysis.sides:
        if s.primary:
            out[f"{s.exercise}_{s.plane}_left_percent_of_right"] = round(s.left_percent_of_right, 2)
    return out


def run_batch(
    root: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Score every session under ``root``; rows sorted by session, paths made relative.

    ``scheduler``: a Dask scheduler address (``tcp://host:8786``) to run on that cluster;
    otherwise ``workers`` processes here (default: the CPU count; 1 runs in this process).
    ``progress(done, total)`` is called as sessions finish.
    """
    root = Path(root)
    sessions = [str(p) for p in find_sessions(root)]
    if not sessions:
        raise FileNotFoundError(f"{root}: no session directories (no {LOG_NAME} found)")
    if scheduler:
        rows = _on_dask(sessions, scheduler, progress)
    else:
        rows = _on_pool(sessions, workers or os.cpu_count() or 1, progress)
    for row in rows:
        rel = os.path.relpath(row["session"], root)
        row["session"] = "." if rel == "." else Path(rel).as_posix()
    return sorted(rows, key=lambda r: r["session"])


def _on_pool(
    sessions: list[str], workers: int, progress: Callable[[int, int], None] | None
) -> list[dict]:
    rows = []
    if workers <= 1:
        for path in sessions:
            rows.append(score_session(path))
            if progress:
                progress(len(rows), len(sessions))
        return rows
    # fresh worker processes with single-threaded BLAS/OpenMP (as Dask's workers have):
    # several processes each running a multi-threaded BLAS oversubscribe the cores
    with (
        _environ(SINGLE_THREADED),
        ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn")
        ) as pool,
    ):
        futures = [pool.submit(score_session, p) for p in sessions]
        for future in as_completed(futures):
            rows.append(future.result())
            if progress:
                progress(len(rows), len(sessions))
    return rows


@contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables the user has not set, for child processes started inside."""
    added = {k: v for k, v in values.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            os.environ.pop(key, None)


def _on_dask(
    sessions: list[str], address: str, progress: Callable[[int, int], None] | None
) -> list[dict]:
    from hipimu.core.extras import require

    distributed = require("distributed", "a Dask scheduler", "batch")
    Client, dask_completed = distributed.Client, distributed.as_completed
    try:
        client = Client(address, timeout="20s")
    except OSError as exc:
        raise OSError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    rows = []
    try:
        futures = client.map(score_session, sessions, pure=False)
        for future in dask_completed(futures):
            rows.append(future.result())
            if progress:
                progress(len(rows), len(sessions))
    finally:
        client.close()
    return rows


def write_table(rows: Iterable[dict], path: str | Path) -> Path:
    """Write rows as CSV: the leading columns, then every other column in first-seen order."""
    rows = list(rows)
    columns = [c for c in LEADING if any(c in r for r in rows)]
    for r in rows:
        columns += [c for c in r if c not in columns]
    path = Path(path)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return path
