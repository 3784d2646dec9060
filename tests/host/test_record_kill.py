"""kill -9 a process recording a paced simulated session; reopen and account for it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from _paths import import_path

from hipimu.simulate import Protocol, simulate_session
from hipimu.store.log import read_log

SPEED = 5.0
REPS = 2


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = import_path()
    return env


def record_and_kill(path: Path, after_s: float) -> tuple[int, float | None]:
    """Start the recorder, SIGKILL it ``after_s`` s after it starts streaming; returns the
    last index it reported written and its start (monotonic)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "hipimu.app.record_simulated", str(path), "--speed", str(SPEED),
         "--reps", str(REPS)],
        stdout=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    state = {"last": -1, "start": None}
    started = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            key, value = line.split()
            if key == "start":
                state["start"] = float(value)
                started.set()
            else:
                state["last"] = int(key)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert started.wait(60), "the recorder did not start"
    time.sleep(after_s)
    acknowledged = state["last"]  # written before this moment, by the recorder's account
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    reader.join(10)
    assert proc.returncode == -signal.SIGKILL
    return acknowledged, state["start"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_minus_9_loses_nothing_written(tmp_path, seed):
    sim = simulate_session(Protocol(reps=REPS), seed=0)
    after = random.Random(seed).uniform(0.2, 2.5)
    path = tmp_path / "session.hiplog"
    acknowledged, _ = record_and_kill(path, after)
    out = read_log(path)
    got = out.notifications
    # an exact prefix of what the recorder was fed, and all it said it had written
    assert got == sim.notifications[: len(got)]
    assert len(got) >= acknowledged + 1
    assert out.metadata["client"] == "sim-0001"
    # only the very end can be damaged: nothing corrupt in the middle
    assert out.recovery.corrupt_records == 0
    assert out.recovery.records >= len(got)
    summary = out.recovery.summary()
    assert ("intact" in summary) == out.recovery.clean
    # markers whose exercise had ended are there
    ended = [m for m in sim.markers if got and m["end"] <= got[-1].host_time]
    assert out.markers[: len(ended)] == ended


def test_kill_minus_9_during_hipimu_record_simulate(tmp_path):
    """The real recorder (BLE code path, simulated sensors, real time) killed mid-stream."""
    pytest.importorskip("hipimu.app.commands.record", reason="`hipimu record` not present")
    from hipimu.wire.protocol import Decoder

    out = tmp_path / "rec"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hipimu.app.cli", "record", "--simulate", "--out", str(out),
         "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(),
    )  # fmt: skip
    log = out / "session.hiplog"
    seen = 0
    deadline = time.monotonic() + 90.0
    try:
        while seen < 60 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
            if log.exists():
                seen = len(read_log(log).notifications)
        if seen >= 60:
            time.sleep(random.Random(7).uniform(0.0, 1.0))
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert seen >= 60, f"the recorder wrote no stream: {proc.stderr.read().decode()}"
    got = read_log(log)
    assert len(got.notifications) >= seen
    assert got.recovery.corrupt_records == 0
    assert got.metadata["source"] == "simulated-ble"
    decoder = Decoder()
    assert all(decoder.decode(n.payload) is not None for n in got.notifications)
