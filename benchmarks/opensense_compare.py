"""hipimu's hip angles against OpenSim's OpenSense on the real recording in shared/data.

Runs OpenSim's IMUPlacer and IMUInverseKinematicsTool (the ``opensim`` package) on
``../shared/data/opensense`` in a temporary folder, and ``hipimu angles`` on the same
files, then prints RMSE, correlation and mean difference per angle, and both tools' run
time. Without ``opensim`` installed it compares against the stored OpenSense result in
``tests/data/opensense_ik_RHJCSwinger.mot``.

    python benchmarks/opensense_compare.py [--pelvis-forward-axis z] [--write-reference]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from hipimu.analysis.opensense import angles_from_files
from hipimu.core import quaternion as quat
from hipimu.store.opensim import MOT_COLUMNS, read_mot, write_mot

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "opensense"
TRIAL = DATA / "MT_012005D6_009-quaternions_RHJCSwinger.sto"
STATIC = DATA / "MT_012005D6_009-quaternions_calibration_trial_Facing_X.sto"
REFERENCE = REPO / "tests" / "data" / "opensense_ik_RHJCSwinger.mot"


def run_opensense() -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    import opensim as osim

    work = Path(tempfile.mkdtemp(prefix="opensense-"))
    for f in DATA.iterdir():
        shutil.copy(f, work)
    cwd = os.getcwd()
    os.chdir(work)
    try:
        t0 = time.perf_counter()
        placer = osim.IMUPlacer("imuPlacerFaceX.xml")
        placer.run(False)
        placer.getCalibratedModel().printToXML("calibrated.osim")
        ik = osim.IMUInverseKinematicsTool("setup_IMUInverseKinematics_HJC_trial.xml")
        ik.set_model_file("calibrated.osim")
        ik.set_results_directory(str(work))
        ik.run(False)
        took = time.perf_counter() - t0
        t, cols, _ = read_mot(work / f"ik_{TRIAL.stem}.mot")
    finally:
        os.chdir(cwd)
        shutil.rmtree(work, ignore_errors=True)
    return t, cols, took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pelvis-forward-axis", default="z")
    ap.add_argument(
        "--write-reference",
        action="store_true",
        help="store OpenSense's result in tests/data (needs opensim)",
    )
    args = ap.parse_args()
    try:
        t_os, os_cols, os_time = run_opensense()
        peer = "OpenSim 4.x OpenSense (run now)"
    except ImportError:
        t_os, os_cols, _ = read_mot(REFERENCE)
        os_time, peer = float("nan"), f"OpenSense result stored in {REFERENCE.name}"
    if args.write_reference:
        write_mot(REFERENCE, t_os, {c: os_cols[c] for c in MOT_COLUMNS}, name="opensense_ik")
    t0 = time.perf_counter()
    kin, _cal = angles_from_files(TRIAL, STATIC, args.pelvis_forward_axis)
    ours_time = time.perf_counter() - t0
    ours = {k: np.rad2deg(v) for k, v in kin.opensim_coordinates().items()}
    os_cols = {k: np.rad2deg(v) for k, v in os_cols.items()}
    # OpenSense's IK leaves the trial's heading uncorrected: its pelvis angles are relative
    # to the earth frame turned into OpenSim's Y-up ground (-90 deg about X)
    ground = Rotation.from_euler("x", -np.pi / 2).as_quat(scalar_first=True)
    pelvis_ground = np.rad2deg(quat.euler_zxy(quat.multiply(ground, kin.segments["pelvis"])))
    print(f"hipimu angles (pelvis forward axis {args.pelvis_forward_axis}) against {peer}")
    print(f"{'angle':<20}{'RMSE deg':>9}{'r':>8}{'mean diff':>11}")
    for name in MOT_COLUMNS:
        if name.startswith("pelvis"):
            j = ("pelvis_tilt", "pelvis_list", "pelvis_rotation").index(name)
            a = np.interp(t_os, kin.time, pelvis_ground[:, j])
            label = name + " (ground)"
        else:
            a = np.interp(t_os, kin.time, ours[name])
            label = name
        b = os_cols[name]
        r = np.corrcoef(a, b)[0, 1]
        print(f"{label:<20}{np.sqrt(np.mean((a - b) ** 2)):9.2f}{r:8.3f}{np.mean(a - b):11.2f}")
    print(
        f"time: hipimu {ours_time:.2f} s, OpenSense {os_time:.2f} s "
        f"(OpenSense / hipimu = {os_time / ours_time:.0f}x)"
    )


if __name__ == "__main__":
    main()
