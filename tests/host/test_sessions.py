"""Sessions that work on real recordings (issue 14): standing pose, postures, sets,
``hipimu import``, raw exports without a calibration, the simulated world starting with
streaming. True poses are built here with scipy from the ISB definitions (Wu et al.
2002), not with the simulator's or the pipeline's own code."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hipimu.analysis.pipeline import analyse, resample_window
from hipimu.app import cli
from hipimu.body import posture
from hipimu.body.calibration import CalibrationError, calibrate, find_standing
from hipimu.body.kinematics import compute
from hipimu.stream.assembler import AlignedSamples

STATIC = "MT_012005D6_009-quaternions_calibration_trial_Facing_X.sto"
REFERENCE_MOT = Path(__file__).resolve().parents[1] / "data" / "opensense_ik_RHJCSwinger.mot"
TRIAL = "MT_012005D6_009-quaternions_RHJCSwinger.sto"
RATE = 100.0

# ISB (Wu et al. 2002): pelvis X anterior, Y superior, Z right; femur alike, y along the
# femur towards the hip. Standing facing north in ENU: X -> north, Y -> up, Z -> east.
FACING_NORTH = Rotation.from_matrix([[0, 0, 1], [1, 0, 0], [0, 1, 0]])
# hardware/placement.md: sensor axes (columns) in segment coordinates
MOUNTS = {
    "pelvis": Rotation.from_matrix([[0, 0, -1], [1, 0, 0], [0, -1, 0]]),
    "femur_r": Rotation.from_matrix([[0, -1, 0], [1, 0, 0], [0, 0, 1]]),
    "femur_l": Rotation.from_matrix([[0, 1, 0], [1, 0, 0], [0, 0, -1]]),
}


def isb_hip(flexion, adduction, rotation, side: str) -> Rotation:
    """Femur in pelvis from the ISB joint coordinate system: flexion about the pelvis Z,
    then adduction about the floating (femur x after flexion), then internal rotation
    about the femur y; on the left, adduction and internal rotation are the mirror."""
    s = 1.0 if side == "right" else -1.0
    out = Rotation.from_rotvec(np.outer(flexion, [0, 0, 1]))
    out = out * Rotation.from_rotvec(np.outer(s * np.asarray(adduction), [1, 0, 0]))
    return out * Rotation.from_rotvec(np.outer(s * np.asarray(rotation), [0, 1, 0]))


def sensors(
    pelvis: Rotation,
    hips: dict[str, np.ndarray],
    mount_turn: float = 12.0,
    pelvis_turn: bool = True,
):
    """``q_GS`` per role: segments from ISB angles, sensors on them turned from the
    nominal placement by ``mount_turn`` degrees (the pelvis sensor too if
    ``pelvis_turn``)."""
    rng = np.random.default_rng(3)
    out = {}
    n = len(hips["right"])
    if pelvis.single:
        pelvis = Rotation.concatenate([pelvis] * n)
    segs = {"pelvis": pelvis}
    for role, side in (("femur_r", "right"), ("femur_l", "left")):
        h = hips[side]
        segs[role] = pelvis * isb_hip(h[:, 0], h[:, 1], h[:, 2], side)
    for role, seg in segs.items():
        turn = Rotation.from_rotvec(rng.normal(size=3) / np.sqrt(3) * np.deg2rad(mount_turn))
        if role == "pelvis" and not pelvis_turn:
            turn = Rotation.identity()
        out[role] = (seg * MOUNTS[role] * turn).as_quat(scalar_first=True)
    return out


def aligned_of(quats: dict[str, np.ndarray]) -> AlignedSamples:
    n = len(next(iter(quats.values())))
    return AlignedSamples(np.arange(n) / RATE, quats, {r: np.ones(n, bool) for r in quats}, RATE)


def sway(n: int, rms_deg: float, rng) -> np.ndarray:
    """Band-limited (0.1-1 Hz) sway, (n, 3) radians."""
    from scipy.signal import butter, sosfiltfilt

    x = sosfiltfilt(
        butter(2, [0.1, 1.0], "bandpass", fs=RATE, output="sos"),
        rng.normal(size=(n + 400, 3)),
        axis=0,
    )[200:-200]
    return x / x.std(axis=0) * np.deg2rad(rms_deg)


# -- standing pose -------------------------------------------------------------------------
def test_real_standing_trial_calibrates_whole_and_its_first_4_s(shared_data):
    from hipimu.analysis.opensense import load_aligned

    whole = load_aligned(shared_data / "opensense" / STATIC)
    first = resample_window(whole, (whole.time[0], whole.time[0] + 4.0))
    a = calibrate(whole, placement_prior=False)
    b = calibrate(first, placement_prior=False)
    assert b.quality.standing_score > 0.5
    for role in ("femur_r", "femur_l"):  # the same person standing: the same mounting
        # (the heading is the placement fallback in both; compare the vertical part)
        up_a = Rotation.from_quat(a.mounts[role], scalar_first=True).apply([0, 1, 0])
        up_b = Rotation.from_quat(b.mounts[role], scalar_first=True).apply([0, 1, 0])
        assert np.rad2deg(np.arccos(np.clip(up_a @ up_b, -1, 1))) < 1.0


def test_normal_sway_and_noise_calibrate_and_the_old_rule_would_not():
    """4 s of standing with 0.4 deg RMS sway and 0.1 deg output noise: every sample's
    speed is well above 3 deg/s often, yet the standing pose is found and the hip
    angles of a later flexion are right."""
    rng = np.random.default_rng(1)
    n = 1400
    t = np.arange(n) / RATE
    hips = {s: sway(n, 0.4, rng) for s in ("right", "left")}
    lift = np.clip((t - 6.0) / 2.0, 0, 1)  # then the right hip flexes to 50 deg
    hips["right"][:, 0] += np.deg2rad(50) * np.sin(np.pi / 2 * lift) ** 2
    pelvis = FACING_NORTH * Rotation.from_rotvec(sway(n, 0.4, rng))
    q = sensors(pelvis, hips)
    for role in q:  # output noise
        q[role] = (
            Rotation.from_quat(q[role], scalar_first=True)
            * Rotation.from_rotvec(rng.normal(scale=np.deg2rad(0.1), size=(n, 3)))
        ).as_quat(scalar_first=True)
    aligned = aligned_of(q)
    raw_speed = (
        np.rad2deg(
            np.linalg.norm(
                np.diff(
                    Rotation.from_quat(q["pelvis"][:400], scalar_first=True).as_rotvec(), axis=0
                ),
                axis=1,
            )
        )
        * RATE
    )
    assert np.percentile(raw_speed, 90) > 3.0  # the old per-sample rule: never still
    cal = calibrate(aligned)
    t0, t1 = cal.quality.static_window
    assert t1 <= 6.0 and t1 - t0 >= 2.0
    kin = compute(aligned, cal, None)
    late = t > 8.5
    err = np.rad2deg(kin.hip("right")[late, 0] - hips["right"][late, 0])
    assert np.sqrt(np.mean(err**2)) < 1.0


def test_lying_and_the_case_never_count_as_standing():
    n = 800
    zero = np.zeros((n, 3))
    lying = FACING_NORTH * Rotation.from_euler("x", -90, degrees=True)
    q = sensors(lying, {"right": zero, "left": zero})
    with pytest.raises(CalibrationError, match=r"never upright.*side_lying_left_down"):
        find_standing(aligned_of(q))
    flat = Rotation.from_euler("z", 20, degrees=True)  # all flat, lid up, in the case
    case = {r: np.tile(flat.as_quat(scalar_first=True), (n, 1)) for r in MOUNTS}
    with pytest.raises(CalibrationError, match="case"):
        find_standing(aligned_of(case))


def test_postures_from_isb_poses():
    zero = np.zeros((1, 3))
    cases = {
        "standing": FACING_NORTH,
        "side_lying_left_down": FACING_NORTH * Rotation.from_euler("x", -90, degrees=True),
        "side_lying_right_down": FACING_NORTH * Rotation.from_euler("x", 90, degrees=True),
        # on the back: the anterior axis up, turned about the pelvis Z (right)
        "supine": FACING_NORTH * Rotation.from_euler("z", 90, degrees=True),
    }
    for name, pelvis in cases.items():
        q = sensors(pelvis, {"right": zero, "left": zero})
        assert posture.classify(q)[0] == name, name
    lifted = {"right": np.deg2rad([[80.0, 0, 0]]), "left": zero}  # one knee up: standing
    assert posture.classify(sensors(FACING_NORTH, lifted))[0] == "standing"


# -- kinematics against ISB truth ----------------------------------------------------------
def test_hip_angles_match_isb_poses_built_with_scipy():
    rng = np.random.default_rng(7)
    n = 900
    t = np.arange(n) / RATE
    hips = {}
    for side in ("right", "left"):
        move = np.clip((t - 3.0) / 5.0, 0, 1)
        target = np.deg2rad([rng.uniform(20, 70), rng.uniform(-25, 10), rng.uniform(-20, 20)])
        hips[side] = np.outer(np.sin(np.pi * move) ** 2, target)
    q = sensors(Rotation.from_euler("z", 33, degrees=True) * FACING_NORTH, hips, pelvis_turn=False)
    aligned = aligned_of(q)
    # the pelvis sensor sits as placed: its -z points forward (thigh sensors are turned)
    cal = calibrate(aligned, (0.5, 2.5), pelvis_forward=np.array([0.0, 0.0, -1.0]))
    kin = compute(aligned, cal, None)
    for side in ("right", "left"):
        err = np.rad2deg(kin.hip(side) - hips[side])
        assert np.abs(err).max() < 0.01, (side, np.abs(err).max(axis=0))


# -- sets ----------------------------------------------------------------------------------
def test_sets_found_without_markers_count_the_true_repetitions():
    from hipimu.simulate import REALISTIC, simulate_session
    from hipimu.simulate.motion import random_protocol

    proto = random_protocol(41, sets=5)
    sim = simulate_session(proto, seed=41, sensors_realism=REALISTIC)
    an = analyse(sim.notifications)  # no markers
    truth = [b for b in proto.blocks if b.reps]
    assert len(an.sets) == len(truth)
    scores = an.scores
    counted = {}
    for e in scores.exercises:
        for side, items in e.sets.items():
            for s in items:
                counted[(round(s.start, 3), side)] = len(s.reps)
    for block, found in zip(truth, an.sets, strict=True):
        assert found["source"] == "detected" and 0 < found["confidence"] <= 1
        assert found["side"] == block.side
        assert found["start"] < block.reps[0][0] + 1.0 and found["end"] > block.reps[-1][0]
        for side in ("right", "left"):
            true = sum(1 for r in block.reps if r[2] == side)
            if true:
                assert counted[(round(found["start"], 3), side)] == true


def test_trainer_markers_override_detection(demo_session):
    an = analyse(demo_session.notifications, demo_session.markers)
    marked = [m for m in demo_session.markers if m["side"]]
    assert [s["source"] for s in an.sets] == ["marker"] * len(marked)
    assert [s["exercise"] for s in an.sets] == [m["exercise"] for m in marked]


# -- import and raw exports ----------------------------------------------------------------
def test_import_sto_round_trips_the_quaternions(tmp_path, demo_session):
    from hipimu.store.opensim import write_sto_quaternions
    from hipimu.store.session_dir import load_session
    from hipimu.stream.assembler import SessionAssembler, resample

    an = analyse(demo_session.notifications, demo_session.markers)
    t = an.aligned.time[:3000] - an.aligned.time[0]
    quats = {r: q[:3000] for r, q in an.aligned.quat.items()}
    path = tmp_path / "walk.sto"
    write_sto_quaternions(path, t, quats, 100.0)
    os.utime(path, (1_700_000_000, 1_700_000_000))  # recorded 2023-11-14, imported today
    assert cli.main(["import", str(path), "--out", str(tmp_path / "imp")]) == 0
    log = load_session(tmp_path / "imp")
    assert log.metadata["source"] == "imported" and log.metadata["recorder"] == "import"
    assert log.metadata["started_utc"] == "2023-11-14T22:13:20Z"  # the report's date
    assert log.metadata["imported_utc"] > log.metadata["started_utc"]
    assert log.metadata["host_clock"] == "imported" and log.metadata["import_format"] == "sto"
    asm = SessionAssembler()
    asm.extend(log.notifications)
    back = resample(asm.timelines())
    for role, q in quats.items():
        got = back.quat[role][: len(q)]
        dot = np.abs(np.sum(got * q[: len(got)], axis=1))
        assert np.rad2deg(2 * np.arccos(np.clip(dot, -1, 1))).max() < 0.05  # Q14 steps


def test_import_csv_of_raw_imu_and_wrong_columns(tmp_path):
    from hipimu.store.session_dir import load_session
    from hipimu.stream.assembler import SessionAssembler

    n = 500
    t = np.arange(n) / 100.0
    cols = ["time [s]"]
    data = [t]
    g = np.array([9.80665, 0.0, 0.0])  # sensor x up: gravity's reaction along +x
    for role in ("pelvis", "femur_r", "femur_l"):
        cols += [f"{role}_gyr_{a} [deg/s]" for a in "xyz"] + [f"{role}_acc_{a} [g]" for a in "xyz"]
        data += [np.full(n, 1.5), np.zeros(n), np.zeros(n)] + [np.full(n, v / 9.80665) for v in g]
    path = tmp_path / "raw.csv"
    np.savetxt(path, np.column_stack(data), delimiter=",", header=",".join(cols), comments="")
    assert cli.main(["import", str(path), "--out", str(tmp_path / "imp")]) == 0
    asm = SessionAssembler()
    asm.extend(load_session(tmp_path / "imp").notifications)
    tl = asm.timelines()
    assert set(tl) == {"pelvis", "femur_r", "femur_l"}
    assert np.allclose(tl["pelvis"].gyr[:, 0], np.deg2rad(1.5), atol=2e-3)
    assert np.allclose(tl["femur_l"].acc[:, 0], 9.80665, atol=5e-3)
    bad = tmp_path / "bad.csv"
    bad.write_text("time,pelvis_gyr_x,pelvis_gyr_y\n0,1,2\n")
    assert cli.main(["import", str(bad), "--out", str(tmp_path / "x")]) == 1
    odd = tmp_path / "data.bin"
    odd.write_text("x")
    assert cli.main(["import", str(odd), "--out", str(tmp_path / "y")]) == 1


def test_real_opensense_import_then_report_and_export(tmp_path, shared_data, capsys):
    out = tmp_path / "static"
    assert cli.main(["import", str(shared_data / "opensense" / STATIC), "--out", str(out)]) == 0
    capsys.readouterr()
    assert cli.main(["report", str(out), "--json", "--no-save"]) == 0
    assert json.loads(capsys.readouterr().out)["format"].startswith("hipimu-scores")
    for fmt in ("sto", "mot", "csv"):
        assert cli.main(["export", str(out), "--format", fmt]) == 0


def test_movement_trial_imports_with_a_separate_standing_trial(tmp_path, shared_data, capsys):
    """The real swing trial has no standing pose: alone it is refused with the reason;
    with --standing (the calibration trial of the same sensors) import -> report works
    and its right hip follows OpenSim's own IK of the same trial (tests/data, independent).
    """
    from hipimu.store.opensim import read_mot
    from hipimu.workflow.importer import STANDING_GAP_S
    from hipimu.workflow.session import analyse_session, open_session

    trial, static = shared_data / "opensense" / TRIAL, shared_data / "opensense" / STATIC
    alone = tmp_path / "alone"
    assert cli.main(["import", str(trial), "--out", str(alone)]) == 0
    capsys.readouterr()
    assert cli.main(["report", str(alone), "--json", "--no-save"]) == 1
    err = capsys.readouterr().err
    assert "no standing pose" in err and "hipimu import FILE --standing STATIC" in err
    out = tmp_path / "swing"
    assert cli.main(["import", str(trial), "--standing", str(static), "--out", str(out)]) == 0
    assert "standing pose from" in capsys.readouterr().out
    assert cli.main(["report", str(out), "--json", "--no-save"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert any(e["sides"]["right"]["repetitions"] for e in data["exercises"]), data
    assert cli.main(["replay", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "leg lift" in printed and "_lift_" not in printed  # the catalog's plain names
    session = open_session(out)
    span = session.metadata["import"]["standing"]
    assert span["samples"] == 2001 and session.contents.markers[0]["exercise"] == "standing"
    kin = analyse_session(session).kinematics
    t_ref, ref, _ = read_mot(REFERENCE_MOT)
    start = span["end"] + STANDING_GAP_S  # the movement's first sample, in session time
    ours = {k: np.rad2deg(v) for k, v in kin.opensim_coordinates().items()}
    for name, minimum in (("hip_flexion_r", 0.95), ("hip_adduction_r", 0.9)):
        ok = np.isfinite(ours[name])
        a = np.interp(t_ref - t_ref[0] + start, kin.time[ok], ours[name][ok])
        # the `angles` command, told the pelvis forward axis, reaches 0.99 / 0.98; here the
        # heading comes from the swing itself (flexion with abduction), so a little less
        assert np.corrcoef(a, np.rad2deg(ref[name]))[0, 1] >= minimum, name
    assert 50 < np.nanmax(ours["hip_flexion_r"]) < 90  # about 70 deg (data README)
    assert cli.main(["import", str(trial), "--standing", str(tmp_path / "no.sto"),
                     "--out", str(tmp_path / "x")]) == 1  # fmt: skip
    assert "--standing: no file at" in capsys.readouterr().err


def test_exports_of_a_session_without_markers_carry_the_sets_found(tmp_path, demo_session):
    """A recorded or imported session has no set markers: HDF5 and C3D carry the sets
    report scores (found in the signals), as C3D events a researcher's tools read."""
    pytest.importorskip("h5py")
    ezc3d = pytest.importorskip("ezc3d")
    from hipimu.export.hdf5 import read_hdf5
    from hipimu.store.recorder import write_session

    out = tmp_path / "unmarked"
    write_session(out, demo_session.notifications, [], {"source": "simulated"})
    marked = [(m["exercise"], m["side"]) for m in demo_session.markers if m["side"]]
    for fmt in ("hdf5", "c3d"):
        assert cli.main(["export", str(out), "--format", fmt]) == 0
    found = read_hdf5(out / "unmarked.h5").markers
    assert [(m["exercise"], m["side"]) for m in found] == marked
    assert all(m["source"] == "detected" and 0 < m["confidence"] <= 1 for m in found)
    events = ezc3d.c3d(str(out / "unmarked.c3d"))["parameters"]["EVENT"]
    assert events["LABELS"]["value"] == [
        f"{e} {edge}" for e, _ in marked for edge in ("start", "end")
    ]


def test_raw_exports_need_no_standing_pose(tmp_path, demo_session, capsys):
    """A session cut short while lying (no standing pose at all): sto and hdf5 are written,
    the angle formats say why not."""
    from hipimu.export.hdf5 import read_hdf5
    from hipimu.store.opensim import read_sto_quaternions
    from hipimu.store.session_dir import write_session

    lying = [n for n in demo_session.notifications if 10.0 < n.host_time < 30.0]
    write_session(tmp_path / "cut", lying, [], {"source": "test"})
    assert cli.main(["export", str(tmp_path / "cut"), "--format", "sto"]) == 0
    table = read_sto_quaternions(tmp_path / "cut" / "cut.sto")
    assert set(table.columns) == {"pelvis", "femur_r", "femur_l"} and len(table.time) > 1500
    assert cli.main(["export", str(tmp_path / "cut"), "--format", "hdf5"]) == 0
    data = read_hdf5(tmp_path / "cut" / "cut.h5")
    assert data.angles == {} and "no standing pose" in data.metadata["uncalibrated"]
    assert len(data.raw["pelvis"]["quat"]) > 1500
    capsys.readouterr()
    assert cli.main(["export", str(tmp_path / "cut"), "--format", "csv"]) == 1
    err = capsys.readouterr().err
    assert "need a calibration" in err and "sto and hdf5" in err


# -- the simulated world starts with streaming ---------------------------------------------
def test_record_simulate_60_s_then_report_scores_both_sides(tmp_path, capsys):
    out = tmp_path / "s"
    argv = ["record", "--out", str(out), "--simulate", "--fast", "--duration", "60", "--quiet"]
    assert cli.main(argv) == 0
    capsys.readouterr()
    assert cli.main(["report", str(out), "--json", "--no-save"]) == 0
    data = json.loads(capsys.readouterr().out)
    both = [
        e
        for e in data["exercises"]
        if all(e["sides"].get(s, {}).get("repetitions") for s in ("right", "left"))
    ]
    assert both, data["messages"]
    assert all(s["source"] == "detected" and "confidence" in s for s in data["sets"])


# -- the functional heading ----------------------------------------------------------------
def _swings(degrees: list[float], rng) -> list[np.ndarray]:
    """Horizontal swing directions (pelvis frame: x anterior, y up, z right), each
    ``degrees`` to the right of anterior, with 1 deg of scatter."""
    a = np.deg2rad(np.asarray(degrees) + rng.normal(0.0, 1.0, len(degrees)))
    return [np.array([np.cos(t), 0.0, np.sin(t)]) for t in a]


@pytest.mark.parametrize(
    "right, left, expected",
    [
        # lifts forward-and-out swing 25 deg outwards; straight flexion straight ahead
        ([0.0] * 8 + [25.0] * 12, [0.0] * 14 + [-25.0] * 6, 0.0),  # mostly out on the right
        ([25.0] * 6, [0.0] * 10 + [-25.0] * 12, 0.0),  # the right only lifted out
        ([25.0] * 8, [-25.0] * 8, 0.0),  # both only lifted out: mirrored, they cancel
        ([0.0] * 10, [0.0] * 10, 0.0),
    ],
)
def test_functional_heading_takes_straight_flexion_not_lifts_forward_and_out(right, left, expected):
    from hipimu.body.calibration import _flexion_headings

    rng = np.random.default_rng(0)
    peaks = [("femur_r", h, 0.8) for h in _swings(right, rng)]
    peaks += [("femur_l", h, 0.8) for h in _swings(left, rng)]
    prior = np.array([np.cos(0.2), 0.0, np.sin(0.2)])  # a placement 11 deg off
    per_leg = _flexion_headings(peaks, prior, np.array([0.0, 1.0, 0.0]))
    legs = [np.mean(hs, axis=0) for hs in per_leg.values() if hs]
    anterior = np.mean([m / np.linalg.norm(m) for m in legs], axis=0)
    heading = np.rad2deg(np.arctan2(anterior[2], anterior[0]))
    assert heading == pytest.approx(expected, abs=1.0), per_leg.keys()
