"""The BLE soak (tests/host/_ble_soak.py, reported by benchmarks/ble_soak.py): a short run
always, the 30-minute one as slow."""

from __future__ import annotations

import pytest

pytest.importorskip("bleak")


def load_soak():
    from _ble_soak import soak  # tests/host/_ble_soak.py

    return soak


def check(r: dict, drops: int) -> None:
    assert r["log_clean"]
    assert r["every_received_notification_logged"]
    for s in r["sensors"].values():
        assert s["all_received_samples_logged"]
        assert s["drops"] == drops and s["drops_marked_as_gaps"]
        assert s["duplicates_logged"] == s["duplicates_sent"]
    assert r["alignment_sync"]["worst_pair_ms"] < 2.0


def test_short_soak(tmp_path):
    r = load_soak()(minutes=3.0, drops_per_sensor=1, out_dir=tmp_path, verbose=False)
    check(r, drops=1)


@pytest.mark.slow
def test_thirty_minute_soak(tmp_path):
    r = load_soak()(minutes=30.0, drops_per_sensor=3, out_dir=tmp_path, verbose=False)
    check(r, drops=3)
    first, last = r["memory"]["traced_mb_first_last_after_warmup"]
    assert last - first < 0.5  # MB over 25 simulated minutes: no growth with time
