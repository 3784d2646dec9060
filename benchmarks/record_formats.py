"""Export of a 10-minute session in every format, against a named numpy peer.

Simulates a session of about ten minutes (``Protocol(reps=63)``), analyses it once, then
times each writer (best of ``--repeats``) and the same numbers written by a plain numpy
peer: ``np.savetxt`` of the same table for the text formats (CSV, .sto, .mot) and
``np.save`` of the same arrays for the binary ones (HDF5, C3D). Also times reading the
session log and the whole ``hipimu export`` path (read, analyse, write) for one format.

    python benchmarks/record_formats.py [--reps 63] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hipimu.analysis.pipeline import analyse
from hipimu.export.formats import FORMATS, SUFFIX, from_analysis, write
from hipimu.simulate import Protocol, simulate_session
from hipimu.store.session_dir import load_session, write_session
from hipimu.workflow.session import export_session


def best_of(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def peer(fmt: str, data, path: Path):
    """The numpy peer writing the same numbers."""
    if fmt in ("csv", "mot"):
        table = np.column_stack([data.time, data.angle_matrix()])
        return lambda: np.savetxt(path, table, fmt="%.8g", delimiter=",")
    if fmt == "sto":
        table = np.column_stack([data.time, *data.sensors.values()])
        return lambda: np.savetxt(path, table, fmt="%.16g", delimiter=",")
    arrays = np.column_stack([data.time, data.angle_matrix(), *data.sensors.values(),
                              *data.segments.values()])  # fmt: skip
    if fmt == "c3d":
        arrays = data.angle_matrix()
    return lambda: np.save(path, arrays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=63, help="repetitions per exercise")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        sim = simulate_session(Protocol(reps=args.reps), seed=0)
        t_sim = time.perf_counter() - t0
        session = tmp / "session"
        t_write_log = best_of(
            lambda: write_session(session, sim.notifications, sim.markers, {"client": "c-1"}), 1
        )
        t_read = best_of(lambda: load_session(session), args.repeats)
        contents = load_session(session)
        t0 = time.perf_counter()
        analysis = analyse(contents.notifications, contents.markers)
        t_analyse = time.perf_counter() - t0
        data = from_analysis(analysis, contents, "session")
        minutes = (data.time[-1] - data.time[0]) / 60
        print(
            f"session: {minutes:.1f} min, {len(contents.notifications)} notifications, "
            f"{len(data.time)} samples at {data.rate_hz:g} Hz "
            f"(simulated in {t_sim:.1f} s, analysed in {t_analyse:.2f} s)"
        )
        print(
            f"session log: written in {t_write_log:.2f} s, read in {t_read:.2f} s "
            f"({(session / 'session.hiplog').stat().st_size / 1e6:.1f} MB)"
        )
        print()
        print(
            f"{'format':<8}{'hipimu s':>10}{'size MB':>9}   {'peer':<14}{'peer s':>8}{'ratio':>7}"
        )
        for fmt in FORMATS:
            path = tmp / f"out{SUFFIX[fmt]}"
            t_ours = best_of(lambda fmt=fmt, path=path: write(data, fmt, path), args.repeats)
            size = path.stat().st_size / 1e6
            peer_path = tmp / f"peer-{fmt}.{'txt' if fmt in ('csv', 'sto', 'mot') else 'npy'}"
            t_peer = best_of(peer(fmt, data, peer_path), args.repeats)
            name = "np.savetxt" if fmt in ("csv", "sto", "mot") else "np.save"
            print(
                f"{fmt:<8}{t_ours:10.3f}{size:9.2f}   {name:<14}{t_peer:8.3f}{t_ours / t_peer:7.1f}"
            )
        t_cli = best_of(lambda: export_session(session, "hdf5", tmp / "cli.h5"), 1)
        print()
        print(f"whole `hipimu export --format hdf5` path (read + analyse + write): {t_cli:.2f} s")


if __name__ == "__main__":
    main()
