"""Other systems' recordings as hipimu session directories (``hipimu import``).

* OpenSense/Xsens quaternion ``.sto`` (:func:`hipimu.store.opensim.read_sto_quaternions`):
  columns ``pelvis_imu``, ``femur_r_imu``, ``femur_l_imu``, each ``q_GS``.
* Raw IMU CSV: one ``time`` column and, per sensor, ``<role>_gyr_x..z``,
  ``<role>_acc_x..z`` and optionally ``<role>_mag_x..z`` with units in brackets
  (``pelvis_gyr_x [deg/s]``; :mod:`hipimu.export.tables` names and units), roles
  ``pelvis``, ``femur_r``, ``femur_l``. A single-sensor file (``gyr_x`` ... without a
  role) is the pelvis.

Each sensor's samples are packed by the firmware's own :class:`hipimu_fw.stream.Streamer`
(as a sensor would stream them) on a device clock equal to the file's time, and written
through the one recorder (:mod:`hipimu.store.recorder`), so every command that reads a recorded
session reads an imported one the same way. Rows that are not finite become gaps.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np

from hipimu.core.names import ROLES
from hipimu.core.types import Notification
from hipimu.export.tables import ImuCsvError, _classify, _factor, _split_unit, read_csv_header
from hipimu.store.opensim import read_sto_quaternions
from hipimu.store.recorder import check_target, session_metadata, utc_iso, utc_now, write_session
from hipimu_fw import packet
from hipimu_fw.stream import Streamer

FORMATS = {".sto": "sto", ".csv": "csv", ".txt": "csv", ".tsv": "csv"}
ROLE_CODES = {
    "pelvis": packet.ROLE_PELVIS,
    "femur_r": packet.ROLE_FEMUR_R,
    "femur_l": packet.ROLE_FEMUR_L,
}
GYR_CODE, ACC_CODE, MAG_CODE = 4, 3, 0  # 2000 deg/s, 16 g, 400 uT full scale
U32 = 1 << 32
LATENCY_S = 0.002  # host arrival after the last sample of a notification
STANDING_GAP_S = 2.0  # a separate standing trial ends this long before the movement


def guess_format(path: str | Path, fmt: str | None = None) -> str:
    """``sto`` or ``csv``: ``fmt`` if given, else from the file name's extension."""
    if fmt is not None:
        if fmt not in ("sto", "csv"):
            raise ValueError(f"--format {fmt!r}: choose sto or csv")
        return fmt
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"{path}: cannot tell the format from the extension {suffix or '(none)'!r}; "
            "give --format sto (OpenSense quaternions) or --format csv (raw IMU)"
        )
    return FORMATS[suffix]


def _supported_rate(path: Path, time: np.ndarray) -> float:
    if len(time) < 2:
        raise ValueError(f"{path}: fewer than two samples")
    measured = 1.0 / float(np.median(np.diff(time)))
    rate = min(packet.RATE_HZ.values(), key=lambda r: abs(np.log(r / measured)))
    return float(rate)


def _regrid(time: np.ndarray, rate: float) -> tuple[np.ndarray, bool]:
    """The sample grid at ``rate`` over ``time``; True when the file's own samples fit it
    (within 1 % of a period)."""
    grid = time[0] + np.arange(int(np.floor((time[-1] - time[0]) * rate + 1e-6)) + 1) / rate
    same = len(grid) == len(time) and np.max(np.abs(grid - time)) < 0.01 / rate
    return grid, bool(same)


def _notifications(
    role: str,
    time: np.ndarray,
    rate: float,
    push,
    content: int,
    ranges: int,
) -> list[Notification]:
    """Run the firmware's streamer over one sensor's samples (``push(streamer, i, tick)``
    queues sample ``i``, or returns False for a gap)."""
    streamer = Streamer(ROLE_CODES[role], content, rate, ranges, capacity=64, batch=4)
    address = f"IMPORT:{ROLES.index(role) + 1:02d}"
    out = []
    t0 = time[0]
    base_us = 1_000_000  # device clock at the file's first sample
    for i, t in enumerate(time.tolist()):
        tick = round(base_us + (t - t0) * 1e6)
        if not push(streamer, i, tick % U32):
            continue
        payload = streamer.next_packet()
        if payload is None:
            continue
        out.append(Notification(t - t0 + LATENCY_S, address, bytes(payload)))
        streamer.commit()
    return out


def _sto_table(path: Path):
    """The file's quaternion table, its roles (pelvis first) and its sample rate."""
    table = read_sto_quaternions(path)
    roles = [r for r in ROLES if r in table.quat]
    if "pelvis" not in roles:
        raise ValueError(
            f"{path}: no pelvis_imu column (columns: {', '.join(table.quat)}); "
            "the pelvis defines the hip angles"
        )
    return table, roles, _supported_rate(path, table.time)


def _sto_rows(table, role: str, grid: np.ndarray, same: bool) -> tuple[np.ndarray, np.ndarray]:
    """One role's unit quaternions on ``grid`` and which rows are usable."""
    q = np.asarray(table.quat[role], dtype=np.float64)
    if not same:
        q = _slerp(table.time, q, grid)
    norm = np.linalg.norm(q, axis=1)
    ok = np.isfinite(norm) & (np.abs(norm - 1.0) < 0.05)
    return q / np.where(ok, norm, 1.0)[:, None], ok


def from_sto(path: Path, standing: Path | None = None) -> tuple[list[Notification], dict]:
    """Notifications of an OpenSense quaternion ``.sto`` and what was imported.

    ``standing``: a calibration trial of the same sensors (the subject standing still,
    e.g. OpenSense's ``calibration_trial``), streamed first and ending
    :data:`STANDING_GAP_S` before the movement starts (the orientations are kept as
    recorded, so both trials share their earth frame). ``info["standing"]`` gives its
    span in the session's time, for a ``standing`` marker."""
    table, roles, rate = _sto_table(path)
    grid, same = _regrid(table.time, rate)
    parts = [(table, grid, same, 0.0)]  # (table, its grid, on the file's samples, shift)
    info: dict = {"roles": roles, "rate_hz": rate, "samples": len(grid), "columns": table.columns}
    if standing is not None:
        cal, cal_roles, cal_rate = _sto_table(standing)
        missing = [r for r in roles if r not in cal_roles]
        if missing:
            raise ValueError(
                f"{standing}: the standing trial has no "
                f"{', '.join(m + '_imu' for m in missing)} column, which {path.name} has; "
                "it must be a trial of the same sensors"
            )
        if cal_rate != rate:
            raise ValueError(
                f"{standing}: sampled at {cal_rate:g} Hz, {path.name} at {rate:g} Hz; "
                "the standing trial must come from the same recording"
            )
        cal_grid, cal_same = _regrid(cal.time, rate)
        # on the movement's clock, whole samples apart: ends STANDING_GAP_S before it
        shift = round((grid[0] - STANDING_GAP_S - cal_grid[-1]) * rate) / rate
        parts.insert(0, (cal, cal_grid, cal_same, shift))
        info["standing"] = {
            "file": str(standing.resolve()),
            "start": 0.0,
            "end": float(cal_grid[-1] - cal_grid[0]),
            "samples": len(cal_grid),
        }
    time = np.concatenate([g + shift for _, g, _, shift in parts])
    notes: list[Notification] = []
    for role in roles:
        pieces = [_sto_rows(t, role, g, s) for t, g, s, _ in parts]
        ok = np.concatenate([k for _, k in pieces])
        rows = np.vstack([q for q, _ in pieces]).tolist()

        def push(streamer, i, tick, rows=rows, ok=ok):
            if not ok[i]:
                return False
            w, x, y, z = rows[i]
            streamer.push_quat(tick, w, x, y, z)
            return True

        notes += _notifications(role, time, rate, push, packet.CONTENT_QUAT, packet.ranges_byte())
    return notes, info


def _slerp(time: np.ndarray, q: np.ndarray, grid: np.ndarray) -> np.ndarray:
    from scipy.spatial.transform import Rotation, Slerp

    ok = np.isfinite(q).all(axis=1)
    rot = Rotation.from_quat(q[ok], scalar_first=True)
    inside = (grid >= time[ok][0]) & (grid <= time[ok][-1])
    out = np.full((len(grid), 4), np.nan)
    out[inside] = Slerp(time[ok], rot)(grid[inside]).as_quat(scalar_first=True)
    return out


def read_multi_imu_csv(path: Path) -> tuple[np.ndarray, dict[str, dict[str, np.ndarray]]]:
    """Time (s) and, per role, ``gyr`` (rad/s), ``acc`` (m/s^2), ``mag`` (uT) arrays."""
    lines, delimiter, names = read_csv_header(path)
    head_no = lines[0][0]
    where: dict[tuple[str, str], list[int | None]] = {}
    units: dict[tuple[str, str], str] = {}
    time_col, time_unit = None, "s"
    for col, name in enumerate(names):
        base, unit = _split_unit(name)
        role = next((r for r in ROLES if base.lower().startswith(r + "_")), None)
        rest = base[len(role) + 1 :] if role else base
        kind = _classify(rest)
        if kind is None:
            continue
        quantity, axis = kind
        if quantity == "time":
            if time_col is None:
                time_col, time_unit = (
                    col,
                    unit or ("us" if rest.lower() == "sampletimefine" else "s"),
                )
            continue
        key = (role or "pelvis", quantity)
        where.setdefault(key, [None, None, None])
        if where[key][axis] is None:
            where[key][axis] = col
            if unit:
                units.setdefault(key, unit)
    if time_col is None:
        raise ImuCsvError(f"{path}:{head_no}: no time column (time, timestamp, ...)")
    roles = sorted({r for r, _ in where}, key=ROLES.index)
    for role in roles:
        for quantity in ("gyr", "acc"):
            cols = where.get((role, quantity), [None, None, None])
            missing = [a for a, c in zip("xyz", cols, strict=True) if c is None]
            if missing:
                raise ImuCsvError(
                    f"{path}:{head_no}: {role}: no {quantity} column for axis "
                    f"{', '.join(missing)} (columns: {', '.join(names)})"
                )
    if "pelvis" not in roles:
        raise ImuCsvError(
            f"{path}:{head_no}: no pelvis columns (pelvis_gyr_x ...; columns: {', '.join(names)})"
        )
    body = lines[1:]
    table = np.full((len(body), len(names)), np.nan)
    for k, (lineno, line) in enumerate(body):
        cells = line.split(delimiter)
        if len(cells) != len(names):
            raise ImuCsvError(f"{path}:{lineno}: {len(cells)} cells, the header names {len(names)}")
        try:
            table[k] = [float(c) if c.strip() else np.nan for c in cells]
        except ValueError as exc:
            raise ImuCsvError(f"{path}:{lineno}: {exc}") from None
    time = table[:, time_col] * _factor(path, "time", time_unit)
    if np.any(np.diff(time) <= 0):
        bad = int(np.argmax(np.diff(time) <= 0)) + 1
        raise ImuCsvError(f"{path}:{body[bad][0]}: time does not increase")
    default = {"gyr": "rad/s", "acc": "m/s^2", "mag": "uT"}
    out: dict[str, dict[str, np.ndarray]] = {}
    for (role, quantity), cols in where.items():
        if any(c is None for c in cols):
            continue
        factor = _factor(path, quantity, units.get((role, quantity), default[quantity]))
        out.setdefault(role, {})[quantity] = table[:, cols] * factor
    return time, out


def from_csv(path: Path) -> tuple[list[Notification], dict]:
    """Notifications of a raw IMU CSV (the host fuses them, as for raw-mode sensors)."""
    time, sensors = read_multi_imu_csv(path)
    rate = _supported_rate(path, time)
    grid, same = _regrid(time, rate)
    gyr_lsb = np.deg2rad(packet.GYR_FS_DPS[GYR_CODE]) / 32768.0
    acc_lsb = packet.ACC_FS_G[ACC_CODE] * 9.80665 / 32768.0
    mag_lsb = packet.MAG_FS_UT[MAG_CODE] / 32768.0
    notes: list[Notification] = []
    for role, data in sensors.items():
        arrays = {k: v if same else _interp(time, v, grid) for k, v in data.items()}
        has_mag = "mag" in arrays
        content = packet.CONTENT_GYR | packet.CONTENT_ACC | (packet.CONTENT_MAG if has_mag else 0)
        stack = [arrays["gyr"], arrays["acc"]] + ([arrays["mag"]] if has_mag else [])
        ok = np.isfinite(np.hstack(stack)).all(axis=1)

        def counts(v: np.ndarray, lsb: float) -> list:
            return np.clip(np.round(np.nan_to_num(v) / lsb), -32768, 32767).astype(int).tolist()

        g, a = counts(arrays["gyr"], gyr_lsb), counts(arrays["acc"], acc_lsb)
        m = counts(arrays["mag"], mag_lsb) if has_mag else None

        def push(streamer, i, tick, g=g, a=a, m=m, ok=ok):
            if not ok[i]:
                return False
            streamer.push_raw(tick, None, g[i], a[i], m[i] if m is not None else None)
            return True

        notes += _notifications(
            role, grid, rate, push, content, packet.ranges_byte(GYR_CODE, ACC_CODE, MAG_CODE)
        )
    info = {"roles": list(sensors), "rate_hz": rate, "samples": len(grid)}
    return notes, info


def _interp(time: np.ndarray, v: np.ndarray, grid: np.ndarray) -> np.ndarray:
    return np.column_stack([np.interp(grid, time, v[:, j]) for j in range(v.shape[1])])


def import_file(
    path: str | Path,
    out: str | Path,
    fmt: str | None = None,
    force: bool = False,
    standing: str | Path | None = None,
) -> dict:
    """Write ``path`` (OpenSense ``.sto`` or raw IMU CSV) as a session directory ``out``;
    returns what was imported (roles, rate, samples, notifications).

    ``standing`` (``.sto`` only): a separate calibration trial of the same sensors whose
    standing pose calibrates a movement trial that has none (:func:`from_sto`); it is
    marked ``standing`` in the session, so the calibration takes it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no file at {path}")
    if standing is not None:
        standing = Path(standing)
        if not standing.is_file():
            raise FileNotFoundError(f"--standing: no file at {standing}")
    check_target(out, force)  # an existing session is refused before the work
    kind = guess_format(path, fmt)
    if standing is not None and kind != "sto":
        raise ValueError(
            f"--standing {standing}: a separate standing trial is read for OpenSense .sto "
            f"imports only; {path} is {kind}"
        )
    if kind == "sto":
        notes, info = from_sto(path, standing)
    else:
        notes, info = from_csv(path)
    if not notes:
        raise ValueError(f"{path}: no finite samples to import")
    notes.sort(key=lambda n: n.host_time)
    markers = []
    if "standing" in info:
        span = info["standing"]
        markers.append(
            {"exercise": "standing", "side": None, "start": span["start"], "end": span["end"]}
        )
    metadata = session_metadata(
        "imported",
        "import",
        host_clock="imported",
        imported_from=str(path.resolve()),
        import_format=kind,
        imported_utc=utc_now(),
        **{"import": info},
    )
    # the recording's own date, as well as a file can tell it (neither format carries one):
    # the file's last modification, not the moment of the import (the report's date)
    modified = _dt.datetime.fromtimestamp(path.stat().st_mtime, _dt.UTC)
    metadata["started_utc"] = utc_iso(modified)
    metadata["started_utc_from"] = "file modified time"
    write_session(out, notes, markers, metadata, force=force)
    return {**info, "format": kind, "notifications": len(notes), "out": str(out)}
