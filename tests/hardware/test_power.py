"""hardware/power.md's battery-life figures follow from hardware/power.csv (datasheet
currents and stated duty cycles), and the LED duty cycles are the firmware's."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HW = REPO / "hardware"
POWER_MD = REPO / "hardware/power.md"
FIRMWARE_STATUS = HW.parent / "firmware" / "hipimu_fw" / "status.py"
CAPACITY_MAH = 400.0
USABLE = 0.9


def rows() -> list[dict]:
    return list(csv.DictReader((HW / "power.csv").open()))


def average_ma(mode: str) -> float:
    return sum(float(r["current_mA"]) * float(r["duty"]) for r in rows() if r["mode"] == mode)


def test_every_row_is_complete_and_physical():
    for r in rows():
        assert r["mode"] in ("streaming", "advertising", "off"), r
        assert float(r["current_mA"]) >= 0 and 0 <= float(r["duty"]) <= 1, r
        assert len(r["basis"]) > 10, f"{r['consumer']}: say where the figure comes from"


def test_the_cell_is_the_one_on_the_bom():
    bom = (HW / "bom.csv").read_text()
    assert f"{CAPACITY_MAH:.0f} mAh" in bom
    text = POWER_MD.read_text()
    assert f"{CAPACITY_MAH:.0f} mAh cell of bom.csv, {USABLE * 100:.0f} % of it usable" in text


@pytest.mark.parametrize(
    ("mode", "label"),
    [("streaming", "streaming (BNO085, 100 Hz, connected)"),
     ("advertising", "advertising (waiting for the host)"),
     ("off", "switched off (no USB)")],
)  # fmt: skip
def test_power_md_states_what_the_table_gives(mode, label):
    avg = average_ma(mode)
    hours = CAPACITY_MAH * USABLE / avg
    life = f"{hours:.1f} h" if hours < 1000 else f"{hours / 24 / 365.25:.1f} years"
    current = f"{avg:.1f} mA" if avg >= 0.1 else f"{avg:.3f} mA"
    row = f"| {label} | {current} | {life} |"
    assert row in POWER_MD.read_text(), f"hardware/power.md should say: {row}"


def test_streaming_life_is_in_the_plausible_range():
    """A sanity bound independent of the table's details: an ESP32-S3 with its radio
    in use and a fusion IMU draws 30-80 mA (published board measurements), so a 400 mAh
    cell lasts 4.5-12 h."""
    hours = CAPACITY_MAH * USABLE / average_ma("streaming")
    assert 4.5 <= hours <= 12


@pytest.mark.parametrize(
    ("name", "mode"), [("LED_STREAMING", "streaming"), ("LED_ADVERTISING", "advertising")]
)
def test_led_duty_is_the_firmwares_pattern(name, mode):
    period, on = map(int, re.search(rf"{name} = \((\d+), (\d+)\)", FIRMWARE_STATUS.read_text())
                     .groups())  # fmt: skip
    led = next(r for r in rows() if r["mode"] == mode and r["consumer"].startswith("User LED"))
    assert float(led["duty"]) == pytest.approx(on / period)
