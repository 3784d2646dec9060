"""The fast offline path gives the report the scipy-based path gave: the same session
reported with this package's kernels (core.dsp, scoring.tdist, the C slerp, the Y-X-Z
angle kernel, the numpy rotation helpers, the log's C scan) and with scipy's functions
and the numpy/Python twins patched back in, which is what ``hipimu report`` ran before
(issue 18). Both must agree to float tolerance, marked sets and detected ones."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import ndimage, signal, stats
from scipy.spatial.transform import Rotation

from hipimu.analysis import sets as sets_module
from hipimu.body import calibration, heading
from hipimu.core import dsp
from hipimu.core import quaternion as quat
from hipimu.orientation import lowpass
from hipimu.reference.quaternion import slerp as numpy_slerp
from hipimu.scoring import reps, smoothness, symmetry
from hipimu.simulate import Protocol, simulate_session
from hipimu.store import log as log_module
from hipimu.store.recorder import write_session
from hipimu.stream import resample
from hipimu.workflow.session import session_report


def _scipy_path(m: pytest.MonkeyPatch) -> None:
    """scipy (and the Python twins) wherever the fast path has its own kernels."""

    def butter(order, cutoff, fs):
        return signal.butter(order, cutoff, fs=fs, output="sos")

    def filtfilt(sos, x, padlen=None):
        return signal.sosfiltfilt(sos, x, axis=0, padlen=padlen)

    def peaks(x, height=None, prominence=None, distance=None):
        return signal.find_peaks(x, height=height, prominence=prominence, distance=distance)[0]

    def mean_quat(q):
        return Rotation.from_quat(q, scalar_first=True).mean().as_quat(scalar_first=True)

    for module in (lowpass, smoothness):
        m.setattr(module, "butter_lowpass", butter)
        m.setattr(module, "sosfiltfilt", filtfilt)
    smoothness._butter_sos.cache_clear()
    m.setattr(reps, "find_peaks", peaks)
    m.setattr(sets_module, "find_peaks", peaks)
    m.setattr(dsp, "find_peaks", peaks)  # the calibration imports it when it runs
    m.setattr(
        dsp,
        "moving_average",
        lambda x, size: ndimage.uniform_filter1d(x, size, axis=0, mode="nearest"),
    )
    m.setattr(
        sets_module,
        "moving_sum",
        lambda x, size: ndimage.uniform_filter1d(x.astype(float), size, axis=0, mode="nearest"),
    )
    m.setattr(symmetry, "tdist", SimpleNamespace(sf=stats.t.sf, ppf=stats.t.ppf))

    def yxz(q):  # what pelvis_angles did: scipy on the finite rows, NaN elsewhere
        q = np.atleast_2d(q)
        out = np.full((len(q), 3), np.nan)
        ok = np.isfinite(q).all(axis=1)
        if ok.any():
            out[ok] = Rotation.from_quat(q[ok], scalar_first=True).as_euler("YXZ")
        return out

    m.setattr(quat, "euler_yxz", yxz)
    m.setattr(calibration, "mean_quat", mean_quat)
    m.setattr(heading, "mean_quat", mean_quat)
    m.setattr(
        calibration,
        "quat_from_matrix",
        lambda mat: Rotation.from_matrix(mat).as_quat(scalar_first=True),
    )
    m.setattr(resample, "slerp", numpy_slerp)
    m.setattr(log_module, "_read_intact", lambda data, pos, *rest: pos)  # the record loop


def _close(a, b, path: str = "") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _close(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, (int, float)):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(
            a, b, rel_tol=1e-7, abs_tol=1e-9
        ), f"{path}: {a} != {b}"
    else:
        assert a == b, path


@pytest.mark.parametrize("marked", [True, False], ids=["marked sets", "detected sets"])
def test_fast_report_equals_the_scipy_path(tmp_path, marked):
    protocol = Protocol(reps=5, variability=0.1, tremor_deg=0.3, sway_deg=0.5)
    sim = simulate_session(protocol, seed=11)
    markers = sim.markers if marked else []
    session = write_session(tmp_path / "s", sim.notifications, markers, {"client": "c-same"})
    fast = session_report(session.parent, save=False)
    with pytest.MonkeyPatch.context() as m:
        _scipy_path(m)
        before = session_report(session.parent, save=False)
    smoothness._butter_sos.cache_clear()
    # a report with substance: every simulated set scored, both sides, smoothness too
    assert {s["source"] for s in fast["sets"]} == {"marker" if marked else "detected"}
    sides = [side for e in fast["exercises"] for side in e["sides"].values()]
    assert len(fast["exercises"]) >= 2
    assert sum(side["repetitions"] for side in sides) >= 4 * len(fast["exercises"])
    assert np.isfinite([side["sparc_mean"] for side in sides if side["repetitions"]]).all()
    _close(fast, before)
