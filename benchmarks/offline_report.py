"""How fast is ``hipimu report`` on a 30-minute recording, and where does the time go?

Makes (once, kept in ``--dir``) a session with ``hipimu record --simulate --fast``: three
sensors at 100 Hz through the BLE code path, time-sync round trips included. Then:

  process  ``hipimu report`` as a new process: wall time, CPU time and peak RSS (median
           of --runs); the targets of issue 18 are <= 1.5 s and <= 200 MB. The peer: a
           process that imports numpy, reads the log and decodes its quaternions with
           the numpy decode floor (below), interleaved with the report runs
  phases   the same work in this process, stage by stage: read the log, decode and
           assemble (``SessionAssembler.extend``: ``decode_batch`` + the stream core),
           timelines, resample, the rest of ``analyse``, scoring and the HTML
  peers    measured here on the same payloads: the numpy decode floor (every payload of
           one length through one structured view, no checks) and per-notification
           decoding (``Decoder.decode`` in a loop, the path before ``decode_batch``)

    PYTHONPATH=host:firmware python benchmarks/offline_report.py [--minutes 30] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_session(directory: Path, minutes: float) -> Path:
    """A simulated recording of ``minutes`` (made once; reused when it exists)."""
    session = directory / f"sim{minutes:g}min"
    if (session / "session.hiplog").exists():
        return session
    cmd = [sys.executable, "-m", "hipimu.app.cli", "record", "--simulate", "--fast"]
    cmd += ["--quiet", "--duration", str(minutes * 60), "--out", str(session)]
    print(f"recording {minutes:g} simulated minutes into {session} ...", file=sys.stderr)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return session


def report_process(session: Path, out: Path) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (MB) of one ``hipimu
    report`` process."""
    cmd = [sys.executable, "-m", "hipimu.app.cli", "report", "--no-save", "--out", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen([*cmd, str(session)], stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"hipimu report failed on {session}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def floor_process(session: Path) -> tuple[float, float, float]:
    """The same for the floor: a process that imports numpy, reads the log's bytes and
    decodes every quaternion with :func:`numpy_floor` (no checks, no analysis)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--floor", str(session)])
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("the numpy floor process failed")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def floor_from_file(session: Path) -> int:
    """Read ``session.hiplog`` and decode all its quaternions the cheapest way numpy can:
    notification records found by their sync bytes and fixed layout, no CRC, no checks."""
    data = (session / "session.hiplog").read_bytes()
    raw = np.frombuffer(data, dtype=np.uint8)
    kind = 3  # notification records: sync, kind, u32 length, f64 time, u16 index, payload
    cand = np.flatnonzero((raw[:-1] == 0xA5) & (raw[1:] == 0x5A))
    cand = cand[(cand + 7 < len(raw)) & (raw[np.minimum(cand + 2, len(raw) - 1)] == kind)]
    length = raw[cand + 3].astype(np.int64) | (raw[cand + 4].astype(np.int64) << 8)
    payloads = [
        data[s + 17 : s + 7 + n] for s, n in zip(cand.tolist(), length.tolist(), strict=True)
    ]
    common = max(set(map(len, payloads[:1000])), key=payloads[:1000].count)
    t0, quat = numpy_floor([p for p in payloads if len(p) == common])
    return len(t0) + len(quat)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def numpy_floor(payloads: list[bytes]) -> np.ndarray:
    """The least decoding can cost: one join, one view, quaternions to float (no checks)."""
    from hipimu.wire.protocol import HEADER_DTYPE, HEADER_SIZE, Q14

    length = len(payloads[0])
    raw = np.frombuffer(b"".join(payloads), dtype=np.uint8).reshape(-1, length)
    head = raw[:, :HEADER_SIZE].copy().view(HEADER_DTYPE)[:, 0]
    quat = np.ascontiguousarray(raw[:, HEADER_SIZE:]).view("<i2").reshape(-1, 4)
    return head["t0_us"], quat.astype(np.float64) / Q14


def phases(session: Path, out: Path) -> dict[str, float]:
    from hipimu.analysis import pipeline
    from hipimu.report.client import ReportInput, render
    from hipimu.scoring.summary import score_session
    from hipimu.store.session_dir import load_session
    from hipimu.stream.assembler import SessionAssembler, resample
    from hipimu.wire.protocol import Decoder

    res: dict[str, float] = {}
    log, res["read log"] = timed(lambda: load_session(session))
    notes = log.notifications
    asm = SessionAssembler()
    for e in log.events:
        asm.add_event(e)
    _, res["decode + stream core"] = timed(lambda: asm.extend(notes))
    tls, res["timelines"] = timed(asm.timelines)
    _, res["resample"] = timed(lambda: resample(tls))
    analysis, total = timed(lambda: pipeline.analyse_log(log))
    res["rest of analyse"] = total - res["decode + stream core"] - res["timelines"]
    res["rest of analyse"] -= res["resample"]

    scores, res["score (sets found by analyse)"] = timed(
        lambda: score_session(analysis.kinematics, analysis.sets)
    )
    _, res["html"] = timed(
        lambda: out.write_text(render(ReportInput(scores, analysis.kinematics)), encoding="utf-8")
    )
    sample = [n.payload for n in notes if len(n.payload) == len(notes[0].payload)]
    _, res["peer: numpy decode floor"] = timed(lambda: numpy_floor(sample))
    dec = Decoder()
    _, res["peer: per-notification decode"] = timed(lambda: [dec.decode(p) for p in sample])
    _, res["decode_batch alone"] = timed(lambda: Decoder().decode_batch(sample))
    res["notifications"] = len(notes)
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "hipimu-bench")
    ap.add_argument("--floor", type=Path, help=argparse.SUPPRESS)  # the peer's process
    args = ap.parse_args()
    if args.floor:
        floor_from_file(args.floor)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    session = make_session(args.dir, args.minutes)
    out = args.dir / "report.html"
    load = os.getloadavg()[0]
    runs, floors = [], []
    for _ in range(args.runs):  # interleaved, so that both see the same load
        runs.append(report_process(session, out))
        floors.append(floor_process(session))
    wall, cpu, rss = (statistics.median(r[i] for r in runs) for i in range(3))
    f_wall, f_cpu, f_rss = (statistics.median(r[i] for r in floors) for i in range(3))
    res = phases(session, out)
    floor = res["peer: numpy decode floor"]
    print(f"hipimu report, {args.minutes:g}-minute simulated session ({res['notifications']:.0f}")
    print(
        f"notifications, 3 sensors x 100 Hz), median of {args.runs} processes; load average "
        f"{load:.1f} before, {os.getloadavg()[0]:.1f} after, {os.cpu_count()} cores:"
    )
    print(f"  {'':22s}{'wall s':>8s}{'cpu s':>8s}{'peak MB':>9s}")
    print(f"  {'hipimu report':22s}{wall:8.2f}{cpu:8.2f}{rss:9.0f}")
    print(f"  {'numpy decode floor':22s}{f_wall:8.2f}{f_cpu:8.2f}{f_rss:9.0f}   (peer process)")
    print(f"  {'ratio':22s}{wall / f_wall:8.1f}{cpu / f_cpu:8.1f}{rss / f_rss:9.1f}")
    print(f"  target wall <= 1.5 s: {'met' if wall <= 1.5 else 'NOT met'}; ", end="")
    print(f"peak <= 200 MB: {'met' if rss <= 200 else 'NOT met'}")
    print("stages in one process (s), against the numpy decode floor in this process:")
    for name, value in res.items():
        if name != "notifications":
            print(f"  {name:32s} {value:7.3f}   {value / floor:7.1f} x numpy decode floor")


if __name__ == "__main__":
    main()
