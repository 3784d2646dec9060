"""Imports: raw IMU CSV from other systems into SI, with clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from hipimu.export.tables import ImuCsvError, RawImu, read_imu_csv, write_imu_csv


def test_units_in_the_header_are_converted_to_si(tmp_path):
    path = tmp_path / "xsens.csv"
    path.write_text(
        "// General information:\n// MT: 00B4\n"
        "PacketCounter;SampleTimeFine;Acc_X [g];Acc_Y [g];Acc_Z [g];"
        "Gyr_X [deg/s];Gyr_Y [deg/s];Gyr_Z [deg/s];Mag_X [mG];Mag_Y [mG];Mag_Z [mG]\n"
        "1;1000000;0;0;1;90;0;-180;100;200;300\n"
        "2;1010000;0.5;0;1;0;45;0;100;200;300\n"
    )
    imu = read_imu_csv(path)
    assert imu.time == pytest.approx([1.0, 1.01])  # SampleTimeFine is in microseconds
    assert imu.acc[0] == pytest.approx([0, 0, 9.80665])
    assert imu.acc[1, 0] == pytest.approx(0.5 * 9.80665)
    assert imu.gyr[0] == pytest.approx([np.pi / 2, 0, -np.pi])
    assert imu.mag[0] == pytest.approx([10.0, 20.0, 30.0])  # 1 mG = 0.1 uT
    assert imu.rate_hz == pytest.approx(100.0)
    assert imu.units == {"time": "us", "gyr": "deg/s", "acc": "g", "mag": "mG"}


def test_units_given_by_the_caller_and_no_magnetometer(tmp_path):
    path = tmp_path / "phone.csv"
    path.write_text("timestamp,ax,ay,az,gyro_x,gyro_y,gyro_z\n0,1,2,3,4,5,6\n10,1,2,3,4,5,6\n")
    with pytest.raises(ImuCsvError, match=r"phone.csv:1: no acc column for axis x, y, z"):
        read_imu_csv(path)
    path.write_text(
        "timestamp,acc x,acc y,acc z,gyro_x,gyro_y,gyro_z\n0,1,2,3,4,5,6\n10,1,2,3,4,5,6\n"
    )
    imu = read_imu_csv(path, units={"time": "ms", "gyr": "dps"})
    assert imu.mag is None
    assert imu.time == pytest.approx([0.0, 0.01])
    assert imu.gyr[0] == pytest.approx(np.deg2rad([4, 5, 6]))
    assert imu.acc[0] == pytest.approx([1, 2, 3])


def test_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    n = 500
    imu = RawImu(np.arange(n) / 200.0, rng.normal(size=(n, 3)), rng.normal(size=(n, 3)),
                 rng.normal(size=(n, 3)) * 40)  # fmt: skip
    write_imu_csv(tmp_path / "imu.csv", imu)
    back = read_imu_csv(tmp_path / "imu.csv")
    for name in ("time", "gyr", "acc", "mag"):
        assert np.allclose(getattr(back, name), getattr(imu, name), rtol=1e-8, atol=1e-12)
    assert back.units == {"time": "s", "gyr": "rad/s", "acc": "m/s^2", "mag": "uT"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gyr_x,gyr_y,gyr_z,acc_x,acc_y,acc_z\n1,2,3,4,5,6\n", r"x.csv:1: no time column"),
        ("time,gyr_x [rpm],gyr_y,gyr_z,acc_x,acc_y,acc_z\n0,1,2,3,4,5,6\n",
         r"unknown unit 'rpm' for gyr"),
        ("time,gyr_x,gyr_y,gyr_z,acc_x,acc_y,acc_z\n0,1,2,3,4,5,6\n0.01,1,2,x,4,5,6\n",
         r"x.csv:3: could not convert"),
        ("time,gyr_x,gyr_y,gyr_z,acc_x,acc_y,acc_z\n0,1,2,3,4,5,6\n0.01,1,2\n",
         r"x.csv:3: 3 cells, the header names 7"),
        ("time,gyr_x,gyr_y,gyr_z,acc_x,acc_y,acc_z\n0,1,2,3,4,5,6\n0,1,2,3,4,5,6\n",
         r"x.csv:3: time does not increase"),
    ],
)  # fmt: skip
def test_bad_files_say_what_and_where(tmp_path, text, message):
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(ImuCsvError, match=message):
        read_imu_csv(path)
