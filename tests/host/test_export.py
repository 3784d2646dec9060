"""Research formats: write, read back (with the format's own library) and compare."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from hipimu.analysis.pipeline import analyse
from hipimu.app.cli import main
from hipimu.export.formats import ANGLE_COLUMNS, FORMATS, export_session, from_analysis, write
from hipimu.export.tables import read_angles_csv
from hipimu.simulate import Protocol, simulate_session
from hipimu.store.opensim import (
    OpenSimFormatError,
    read_mot,
    read_sto_quaternions,
    write_sto_quaternions,
)
from hipimu.store.session_dir import load_session, write_session

OPENSENSE = "/work/shared/data/opensense/MT_012005D6_009-quaternions_RHJCSwinger.sto"


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    directory = tmp_path_factory.mktemp("sess") / "s01"
    sim = simulate_session(Protocol(reps=2), seed=3)
    write_session(directory, sim.notifications, sim.markers, {"client": "c-42", "source": "sim"})
    contents = load_session(directory)
    analysis = analyse(contents.notifications, contents.markers)
    data = from_analysis(analysis, contents, "s01")
    # a gap, to see NaN survive every format
    for name in ANGLE_COLUMNS:
        data.angles[name] = data.angles[name].copy()
        data.angles[name][100:110] = np.nan
    return directory, analysis, data


def test_csv_has_time_in_seconds_and_degrees(session, tmp_path):
    _, analysis, data = session
    path = write(data, "csv", tmp_path / "a.csv")
    with open(path) as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["time", *ANGLE_COLUMNS]
    table = np.array([[float(v) for v in r] for r in rows[1:]])
    assert table[0, 0] == 0.0
    assert np.allclose(np.diff(table[:, 0]), 1 / analysis.aligned.rate_hz, atol=1e-4)
    flex = np.rad2deg(analysis.kinematics.hip_right[:, 0])
    ok = np.isfinite(table[:, 1])
    assert np.allclose(table[ok, 1], flex[ok], atol=1e-4)
    assert np.isnan(table[100:110, 1:]).all()
    t, angles = read_angles_csv(path)
    assert np.allclose(t, data.time, atol=1e-4)
    for name in ANGLE_COLUMNS:
        assert np.allclose(angles[name], data.angles[name], atol=1e-6, equal_nan=True)


def test_sto_matches_opensense_header_and_round_trips(session, tmp_path):
    _, _, data = session
    path = write(data, "sto", tmp_path / "q.sto")
    ours = path.read_text().splitlines()
    theirs = open(OPENSENSE).read().splitlines()
    assert ours[:6] == theirs[:6]  # name, DataRate, DataType, version, OpenSimVersion, end
    assert ours[6].split("\t") == ["time", "pelvis_imu", "femur_r_imu", "femur_l_imu"]
    first = ours[7].split("\t")
    assert float(first[0]) == 0.0
    assert [float(v) for v in first[1].split(",")] == pytest.approx(data.sensors["pelvis"][0])
    back = read_sto_quaternions(path)
    assert back.rate_hz == data.rate_hz
    assert back.columns == {"pelvis": "pelvis_imu", "femur_r": "femur_r_imu",
                            "femur_l": "femur_l_imu"}  # fmt: skip
    assert np.allclose(back.time, data.time, atol=1e-9)
    for role, q in data.sensors.items():
        assert np.allclose(back.quat[role], q, atol=1e-15, equal_nan=True)


def test_sto_read_back_gives_the_same_angles_through_the_pipeline(session, tmp_path):
    from hipimu.body.kinematics import compute

    _, analysis, data = session
    back = read_sto_quaternions(write(data, "sto", tmp_path / "q.sto"))
    from hipimu.orientation.lowpass import DEFAULT_CUTOFF_HZ

    kin = compute(back.aligned(), analysis.calibration, DEFAULT_CUTOFF_HZ)
    for mine, theirs in ((kin.hip_right, analysis.kinematics.hip_right),
                         (kin.pelvis, analysis.kinematics.pelvis)):  # fmt: skip
        assert np.allclose(mine, theirs, atol=1e-9, equal_nan=True)


def test_opensense_sample_file_reads_into_roles():
    sto = read_sto_quaternions(OPENSENSE)
    with open(OPENSENSE) as f:
        lines = f.read().splitlines()
    names = lines[6].split("\t")
    cells = lines[7].split("\t")
    assert sto.time[0] == float(cells[0])
    pelvis = [float(v) for v in cells[names.index("pelvis_imu")].split(",")]
    assert sto.quat["pelvis"][0].tolist() == pelvis
    assert {"pelvis", "femur_r", "femur_l", "torso_imu", "calcn_l_imu"} <= set(sto.quat)
    assert sto.rate_hz == 100.0
    assert len(sto.time) == len(lines) - 7
    norms = np.linalg.norm(sto.quat["femur_l"], axis=1)
    assert np.allclose(norms, 1.0, atol=1e-6)
    aligned = sto.aligned()
    assert set(aligned.quat) == {"pelvis", "femur_r", "femur_l"}
    assert aligned.valid["pelvis"].all() and aligned.rate_hz == 100.0


def test_sto_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.sto"
    bad.write_text("x\nDataType=Quaternion\nendheader\ntime\tpelvis_imu\n0\t1,0,0\n")
    with pytest.raises(OpenSimFormatError, match=r"bad.sto:5: column 'pelvis_imu': 3 values"):
        read_sto_quaternions(bad)
    bad.write_text("x\nDataType=Quaternion\n")
    with pytest.raises(OpenSimFormatError, match="no 'endheader'"):
        read_sto_quaternions(bad)


def test_sto_writes_gaps_as_nan(tmp_path):
    t = np.arange(3) / 100
    q = np.tile([1.0, 0, 0, 0], (3, 1))
    q[1] = np.nan
    write_sto_quaternions(tmp_path / "g.sto", t, {"pelvis": q}, 100.0)
    assert "nan,nan,nan,nan" in (tmp_path / "g.sto").read_text()
    back = read_sto_quaternions(tmp_path / "g.sto")
    assert np.isnan(back.quat["pelvis"][1]).all() and back.quat["pelvis"][2, 0] == 1.0


def test_mot_in_degrees_with_opensim_names(session, tmp_path):
    _, _, data = session
    path = write(data, "mot", tmp_path / "a.mot")
    lines = path.read_text().splitlines()
    end = lines.index("endheader")
    assert "inDegrees=yes" in lines[:end]
    assert f"nRows={len(data.time)}" in lines[:end]
    names = lines[end + 1].split("\t")
    assert names[0] == "time" and set(names[1:]) == set(ANGLE_COLUMNS)
    raw = np.genfromtxt(lines[end + 2 :], delimiter="\t")
    j = names.index("hip_adduction_l")
    ok = np.isfinite(raw[:, j])
    assert np.allclose(raw[ok, j], np.rad2deg(data.angles["hip_adduction_l"][ok]), atol=1e-5)
    _t, cols, header = read_mot(path)
    assert header["inDegrees"] == "yes"
    for name in ANGLE_COLUMNS:
        assert np.allclose(cols[name], data.angles[name], rtol=1e-7, atol=1e-9, equal_nan=True)


def test_hdf5_has_units_and_round_trips(session, tmp_path):
    h5py = pytest.importorskip("h5py", reason="HDF5 export needs h5py (the test extra)")
    from hipimu.export.hdf5 import read_hdf5

    _, _, data = session
    path = write(data, "hdf5", tmp_path / "a.h5")
    with h5py.File(path, "r") as f:
        assert f["time"].attrs["units"] == "s"
        assert f["angles/hip_flexion_r"].attrs["units"] == "deg"
        assert f["sensors/pelvis"].shape == (len(data.time), 4)
        assert f["raw/femur_r/device_us"].attrs["units"] == "us"
        flex = f["angles/hip_flexion_r"][()]
        assert json.loads(f.attrs["metadata"])["client"] == "c-42"
    ok = np.isfinite(flex)
    assert np.allclose(flex[ok], np.rad2deg(data.angles["hip_flexion_r"][ok]))
    back = read_hdf5(path)
    assert np.array_equal(back.time, data.time)
    for name in ANGLE_COLUMNS:
        assert np.allclose(back.angles[name], data.angles[name], equal_nan=True)
    for role in data.segments:
        assert np.array_equal(back.segments[role], data.segments[role], equal_nan=True)
        assert np.array_equal(back.sensors[role], data.sensors[role], equal_nan=True)
    assert back.markers == data.markers
    assert back.calibration == data.calibration
    assert back.time_offset == data.time_offset
    assert set(back.raw) == {"pelvis", "femur_r", "femur_l"}
    for role, arrays in data.raw.items():
        assert set(back.raw[role]) == set(arrays) >= {"host_time", "device_us", "quat"}
        for name, values in arrays.items():
            assert np.array_equal(back.raw[role][name], values)


def test_c3d_angles_follow_plug_in_gait_and_round_trip(session, tmp_path):
    ezc3d = pytest.importorskip("ezc3d", reason="C3D export needs ezc3d (the test extra)")
    from hipimu.export.c3d import read_c3d

    _, _, data = session
    path = write(data, "c3d", tmp_path / "a.c3d")
    c3d = ezc3d.c3d(str(path))
    point = c3d["parameters"]["POINT"]
    labels = list(point["LABELS"]["value"])
    assert {"RHipAngles", "LHipAngles", "RPelvisAngles", "LPelvisAngles"} <= set(labels)
    assert set(point["ANGLES"]["value"]) == set(labels)
    assert list(point["ANGLE_UNITS"]["value"]) == ["deg"]
    assert point["RATE"]["value"][0] == data.rate_hz
    pts = c3d["data"]["points"]
    deg = {k: np.rad2deg(v) for k, v in data.angles.items()}
    lhip = pts[:3, labels.index("LHipAngles")]
    rpel = pts[:3, labels.index("RPelvisAngles")]
    ok = np.isfinite(lhip[0])
    assert not ok[100:110].any()
    # x flexion, y adduction, z internal rotation; the pelvis: anterior tilt, right up
    assert np.allclose(lhip[0, ok], deg["hip_flexion_l"][ok], atol=1e-3)
    assert np.allclose(lhip[1, ok], deg["hip_adduction_l"][ok], atol=1e-3)
    assert np.allclose(lhip[2, ok], deg["hip_rotation_l"][ok], atol=1e-3)
    assert np.allclose(rpel[0, ok], -deg["pelvis_tilt"][ok], atol=1e-3)
    assert np.allclose(rpel[1, ok], -deg["pelvis_list"][ok], atol=1e-3)
    events = c3d["parameters"]["EVENT"]
    assert events["USED"]["value"][0] == 2 * len(data.markers)
    times = np.asarray(events["TIMES"]["value"])
    first = 60 * times[0, 0] + times[1, 0]
    assert first == pytest.approx(data.markers[0]["start"] - data.time_offset, abs=1e-3)
    back = read_c3d(path)
    assert len(back.time) == len(data.time)
    for name in ANGLE_COLUMNS:
        assert np.allclose(back.angles[name], data.angles[name], atol=1e-5, equal_nan=True)
    assert back.markers == data.markers
    assert back.metadata == data.metadata
    assert back.calibration == data.calibration


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_command_writes_every_format(session, tmp_path, fmt, capsys):
    if fmt == "hdf5":
        pytest.importorskip("h5py", reason="HDF5 export needs h5py (the test extra)")
    if fmt == "c3d":
        pytest.importorskip("ezc3d", reason="C3D export needs ezc3d (the test extra)")
    directory, _, _ = session
    assert main(["export", str(directory), "--format", fmt, "--out", str(tmp_path)]) == 0
    written = list(tmp_path.iterdir())
    assert len(written) == 1 and written[0].stem == "s01"
    assert str(written[0]) in capsys.readouterr().out


def test_export_into_a_new_directory(session, tmp_path):
    directory, _, _ = session
    path = export_session(directory, "mot", f"{tmp_path}/new/")
    assert path == tmp_path / "new" / "s01.mot"
    assert export_session(directory, "csv", tmp_path / "deep" / "x.csv").exists()


def test_export_refuses_bad_input_clearly(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["export", str(tmp_path), "--format", "xls"])
    assert "invalid choice: 'xls'" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "none"), "--format", "csv"]) == 1
    assert "no session log at" in capsys.readouterr().err
    with pytest.raises(ValueError, match="unknown export format"):
        export_session(tmp_path, "xls")


def test_export_lowpass_option(session, tmp_path, capsys):
    """--lowpass 0 writes the unfiltered angles (those of compute() without a low-pass);
    the default differs from them by the soft-tissue-band content only (a fraction of a
    degree), and a negative cut-off is refused by name."""
    from hipimu.body.kinematics import compute
    from hipimu.store.opensim import read_mot

    directory, analysis, _ = session
    raw_path, smooth_path = tmp_path / "raw.mot", tmp_path / "smooth.mot"
    args = ["export", str(directory), "-f", "mot", "--out"]
    assert main([*args, str(raw_path), "--lowpass", "0"]) == 0
    assert main([*args, str(smooth_path)]) == 0
    _, raw, _ = read_mot(raw_path)  # radians
    _, smooth, _ = read_mot(smooth_path)
    unfiltered = compute(analysis.aligned, analysis.calibration).hip_right[:, 0]
    assert np.allclose(raw["hip_flexion_r"], unfiltered, atol=1e-6, equal_nan=True)
    diff = np.abs(raw["hip_flexion_r"] - smooth["hip_flexion_r"])
    assert 0 < np.nanmax(diff) < np.deg2rad(1.0)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:  # an option value: usage error, exit code 2
        main([*args, str(raw_path), "--lowpass", "-3"])
    assert exc.value.code == 2
    assert "argument --lowpass: must be 0 or more, got -3" in capsys.readouterr().err
