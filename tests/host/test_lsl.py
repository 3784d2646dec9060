"""LSL publisher on loopback: a real inlet receives what was pushed (pylsl's liblsl)."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

pylsl = pytest.importorskip("pylsl", reason="LSL streaming needs pylsl (the test extra)")

from hipimu.export.formats import ANGLE_COLUMNS  # noqa: E402
from hipimu.export.lsl import QUAT_CHANNELS, LslPublisher  # noqa: E402


def _inlet(name: str):
    found = pylsl.resolve_byprop("name", name, minimum=1, timeout=10.0)
    assert found, f"no LSL stream named {name!r} found on loopback"
    inlet = pylsl.StreamInlet(found[0])
    inlet.open_stream(timeout=10.0)
    return inlet


def _pull(inlet, count: int):
    samples, stamps = [], []
    deadline = time.monotonic() + 10.0
    while len(samples) < count and time.monotonic() < deadline:
        chunk, ts = inlet.pull_chunk(timeout=0.5)
        samples += chunk
        stamps += ts
    return np.array(samples), np.array(stamps)


def _labels(info) -> list[str]:
    ch = info.desc().child("channels").child("channel")
    out = []
    while not ch.empty():
        out.append(ch.child_value("label"))
        ch = ch.next_sibling()
    return out


def test_angles_and_quaternions_reach_an_inlet():
    name = f"hipimu-test-{uuid.uuid4().hex[:8]}"
    with LslPublisher(name, rate_hz=100.0) as pub:
        angles_in, quats_in = _inlet(pub.angles_name), _inlet(pub.quats_name)
        info = angles_in.info(timeout=10.0)
        assert info.type() == "Angles" and info.channel_count() == 9
        assert _labels(info) == list(ANGLE_COLUMNS)
        assert _labels(quats_in.info(timeout=10.0)) == list(QUAT_CHANNELS)
        n = 20
        base = pylsl.local_clock()
        times = base + np.arange(n) / 100.0
        angles = np.arange(n * 9, dtype=float).reshape(n, 9) / 4
        q = {r: np.tile([1.0, 0.0, 0.0, 0.0], (n, 1)) * (k + 1) / 4
             for k, r in enumerate(("pelvis", "femur_r", "femur_l"))}  # fmt: skip
        for i in range(10):  # sample by sample, angles by name for one of them
            row = dict(zip(ANGLE_COLUMNS, angles[i], strict=True)) if i == 3 else angles[i]
            pub.push(times[i], row, {r: v[i] for r, v in q.items()})
        pub.push_chunk(times[10:], angles[10:], {r: v[10:] for r, v in q.items()})
        got, stamps = _pull(angles_in, n)
        got_q, _ = _pull(quats_in, n)
    assert got.shape == (n, 9)
    assert np.allclose(got, angles, atol=1e-4)
    assert np.allclose(stamps, times, atol=1e-6)
    assert np.allclose(got_q[:, 4], 0.5) and np.allclose(got_q[:, 1:4], 0.0)


def test_wrong_shapes_are_refused():
    with LslPublisher(f"hipimu-test-{uuid.uuid4().hex[:8]}") as pub:
        with pytest.raises(ValueError, match="8 angles, expected 9"):
            pub.push(0.0, [0.0] * 8)
        with pytest.raises(ValueError, match="no quaternion for femur_l"):
            pub.push(0.0, [0.0] * 9, {"pelvis": [1, 0, 0, 0], "femur_r": [1, 0, 0, 0]})
