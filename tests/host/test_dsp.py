"""hipimu.core.dsp against scipy.signal (the independent expectation) and the C sosfilt
kernel against its numpy twin (hipimu.reference.dsp)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from hipimu import _core
from hipimu.core import dsp
from hipimu.reference import dsp as ref


@pytest.mark.parametrize(
    ("cutoff", "fs"), [(6.0, 100.0), (3.0, 100.0), (10.0, 60.0), (49.0, 100.0)]
)
def test_butter_lowpass_is_scipys_design(cutoff, fs):
    ours = dsp.butter_lowpass(2, cutoff, fs)
    theirs = signal.butter(2, cutoff, fs=fs, output="sos")
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_butter_lowpass_other_orders_and_bad_cutoff():
    np.testing.assert_allclose(
        dsp.butter_lowpass(4, 5.0, 100.0), signal.butter(4, 5.0, fs=100.0, output="sos")
    )
    with pytest.raises(ValueError, match="between 0 and half the sample rate"):
        dsp.butter_lowpass(2, 60.0, 100.0)


def test_sosfilt_kernel_matches_twin_and_scipy():
    rng = np.random.default_rng(1)
    sos = signal.butter(4, 8.0, fs=100.0, output="sos")
    x = rng.normal(size=(300, 3))
    zi = rng.normal(size=(len(sos), 2, 3))
    y, zf = dsp.sosfilt(sos, x, zi)
    y_ref, zf_ref = ref.sosfilt(sos, x, zi)
    y_sp, zf_sp = signal.sosfilt(sos, x, axis=0, zi=zi)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(zf, zf_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, y_sp, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(zf, zf_sp, rtol=1e-12, atol=1e-12)
    # backwards, and in place
    y, zf = dsp.sosfilt(sos, x, zi, reverse=True)
    y_ref, zf_ref = ref.sosfilt(sos, x, zi, reverse=True)
    y_sp, zf_sp = signal.sosfilt(sos, x[::-1], axis=0, zi=zi)
    np.testing.assert_allclose(y, y_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y, y_sp[::-1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(zf, zf_sp, rtol=1e-12, atol=1e-12)
    inplace = x.copy()
    dsp.sosfilt(sos, inplace, zi, reverse=True, out=inplace)
    np.testing.assert_array_equal(inplace, y)


def test_sosfilt_zi_is_scipys():
    for sos in (dsp.butter_lowpass(2, 6.0, 100.0), signal.butter(4, 8.0, fs=100.0, output="sos")):
        np.testing.assert_allclose(dsp.sosfilt_zi(sos), signal.sosfilt_zi(sos), rtol=1e-12)


def test_sosfilt_kernel_rejects_bad_buffers():
    sos = np.array([[1.0, 0.0, 0.0, 1.0, 0.0, 0.0]])
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match="zi: expected 2 rows"):
        _core.sosfilt(sos, x, np.zeros((4, 2)), np.zeros((5, 2)), 2)
    with pytest.raises(ValueError, match="out"):
        _core.sosfilt(sos, x, np.zeros((2, 2)), np.zeros((4, 2)), 2)
    with pytest.raises(ValueError, match="a0 != 1"):
        _core.sosfilt(sos * 2, x, np.zeros((2, 2)), np.zeros((5, 2)), 2)
    with pytest.raises(TypeError, match="float64"):
        _core.sosfilt(sos, x.astype(np.float32), np.zeros((2, 2)), np.zeros((5, 2)), 2)


@pytest.mark.parametrize("shape", [(500,), (500, 4), (40, 2)])
@pytest.mark.parametrize("padlen", [None, 9, 0])
def test_sosfiltfilt_is_scipys(shape, padlen):
    rng = np.random.default_rng(2)
    x = np.cumsum(rng.normal(size=shape), axis=0)
    sos = dsp.butter_lowpass(2, 6.0, 100.0)
    ours = dsp.sosfiltfilt(sos, x, padlen=padlen)
    theirs = signal.sosfiltfilt(sos, x, axis=0, padlen=padlen)
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


def test_sosfiltfilt_too_short_says_why():
    with pytest.raises(ValueError, match="greater than padlen, which is 9"):
        dsp.sosfiltfilt(dsp.butter_lowpass(2, 6.0, 100.0), np.zeros(9))


def _scipy_peaks(x, **kw):
    return signal.find_peaks(x, **kw)[0]


@pytest.mark.parametrize("seed", range(6))
def test_find_peaks_is_scipys_on_noise_and_plateaus(seed):
    rng = np.random.default_rng(seed)
    x = np.cumsum(rng.normal(size=3000))
    x = np.round(x, 0 if seed % 2 else 1)  # plateaus and equal peaks
    if seed == 5:
        x[rng.integers(0, len(x), 30)] = np.nan
    for kw in (
        {},
        {"height": 0.0},
        {"prominence": 2.0},
        {"distance": 50},
        {"distance": 7.5, "prominence": 1.0},
        {"height": float(np.nanmedian(x)), "prominence": 3.0, "distance": 20},
    ):
        np.testing.assert_array_equal(dsp.find_peaks(x, **kw), _scipy_peaks(x, **kw), str(kw))


def test_find_peaks_on_a_smooth_movement():
    t = np.arange(0, 30, 0.01)
    x = np.sin(2 * np.pi * 0.4 * t) * (1 + 0.3 * np.sin(0.2 * t)) + 0.01 * np.sin(40 * t)
    for kw in ({"prominence": 0.5}, {"height": 0.5, "distance": 50}):
        np.testing.assert_array_equal(dsp.find_peaks(x, **kw), _scipy_peaks(x, **kw))
    assert len(dsp.find_peaks(x, prominence=0.5)) == 12  # 0.4 Hz over 30 s


def test_find_peaks_edges():
    assert len(dsp.find_peaks(np.array([1.0, 2.0]))) == 0
    assert len(dsp.find_peaks(np.array([3.0, 1.0, 1.0, 3.0]))) == 0
    np.testing.assert_array_equal(dsp.find_peaks(np.array([0.0, 1.0, 1.0, 1.0, 0.0])), [2])
    with pytest.raises(ValueError, match="distance"):
        dsp.find_peaks(np.zeros(5), distance=0.5)


@pytest.mark.parametrize("df", [1.0, 1.3, 2.5, 4.0, 9.3, 30.0, 77.7, 1000.0, 1e4, 1e6])
def test_t_distribution_is_scipy_stats_t(df):
    from scipy import stats

    from hipimu.scoring import tdist

    rtol = 1e-12 if df <= 1000 else 1e-8
    for t in (0.0, 0.01, 0.3, 1.0, 1.96, 2.5, 4.0, 10.0, 40.0, -1.5, -30.0):
        np.testing.assert_allclose(tdist.sf(t, df), stats.t.sf(t, df), rtol=rtol, atol=0)
    for p in (0.025, 0.3, 0.5, 0.5001, 0.6, 0.9, 0.95, 0.975, 0.995, 0.9995, 1 - 1e-9):
        # near p = 0.5 scipy's own inversion is good to 1e-13 absolute (cdf(ppf) - p)
        np.testing.assert_allclose(tdist.ppf(p, df), stats.t.ppf(p, df), rtol=rtol, atol=1e-12)
        np.testing.assert_allclose(stats.t.cdf(tdist.ppf(p, df), df), p, rtol=1e-9, atol=1e-15)
    assert np.isnan(tdist.ppf(0.9, 0.0)) and np.isnan(tdist.sf(1.0, -1.0))
    assert tdist.ppf(1.0, df) == np.inf and tdist.sf(np.inf, df) == 0.0


def test_symmetry_intervals_use_scipys_t_quantiles():
    from scipy import stats

    from hipimu.scoring import symmetry

    rng = np.random.default_rng(9)
    right, left = rng.normal(10, 1, 6), rng.normal(11, 2, 7)
    (_lo, hi), p = symmetry.welch_interval(right, left)
    d = left.mean() - right.mean()
    vr, vl = right.var(ddof=1) / 6, left.var(ddof=1) / 7
    se = np.sqrt(vr + vl)
    dof = (vr + vl) ** 2 / (vr**2 / 5 + vl**2 / 6)
    np.testing.assert_allclose(hi - d, stats.t.ppf(0.975, dof) * se, rtol=1e-12)
    np.testing.assert_allclose(p, 2 * stats.t.sf(abs(d) / se, dof), rtol=1e-12)


@pytest.mark.parametrize("size", [1, 2, 5, 50, 51])
def test_moving_average_is_scipys_uniform_filter(size):
    from scipy.ndimage import uniform_filter1d

    rng = np.random.default_rng(size)
    x = np.abs(np.cumsum(rng.normal(size=(2000, 3)), axis=0)) * 30.0
    np.testing.assert_allclose(
        dsp.moving_average(x, size),
        uniform_filter1d(x, size, axis=0, mode="nearest"),
        rtol=1e-10,
        atol=1e-9,
    )
    counts = (x > 50).astype(np.int32)
    np.testing.assert_array_equal(
        dsp.moving_sum(counts, size),
        np.round(uniform_filter1d(counts.astype(float), size, axis=0, mode="nearest") * size),
    )
    short = x[:3, 0]
    np.testing.assert_allclose(
        dsp.moving_average(short, size), uniform_filter1d(short, size, mode="nearest")
    )
