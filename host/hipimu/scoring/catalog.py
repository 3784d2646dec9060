"""The exercise catalog: what each exercise trains and which compensations to watch.

The catalog is data (``catalog.toml`` beside this module; format in docs/scoring.md).
Entries with ``levels_deg`` expand to one exercise per level, ``<key>_<level>``.
Marker names not in the catalog fall back to the entry their name starts with, then to
a generic exercise (flexion, standing compensations), so scoring never fails on a new
name; :attr:`Exercise.known` says which.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

CATALOG_PATH = Path(__file__).with_name("catalog.toml")

# angle name -> (hip angle column, sign giving the named direction positive)
ANGLES: dict[str, tuple[int, float]] = {
    "flexion": (0, 1.0),
    "extension": (0, -1.0),
    "adduction": (1, 1.0),
    "abduction": (1, -1.0),
    "internal_rotation": (2, 1.0),
    "external_rotation": (2, -1.0),
}
# compensation measures -> (source, column)
MEASURES: dict[str, tuple[str, int]] = {
    "pelvis_rotation": ("pelvis", 0),
    "pelvis_obliquity": ("pelvis", 1),
    "pelvis_tilt": ("pelvis", 2),
    "flexion": ("hip", 0),
    "adduction": ("hip", 1),
    "rotation": ("hip", 2),
}
DOSAGES = ("reps", "hold", "either")
POSTURES = ("standing", "side_lying")


@dataclass(frozen=True)
class Compensation:
    """A movement to watch: a pelvis or hip angle, signed per side."""

    key: str
    measure: str
    sign_right: float
    sign_left: float
    plain: str

    def sign(self, side: str) -> float:
        return self.sign_right if side == "right" else self.sign_left


@dataclass(frozen=True)
class Exercise:
    """One catalog entry."""

    key: str
    name: str
    how: str
    posture: str
    primary: str
    secondary: tuple[str, ...]
    watch: tuple[Compensation, ...]
    dosage: str
    muscles: tuple[str, ...]
    level_deg: float | None = None
    known: bool = True

    @property
    def primary_column(self) -> int:
        return ANGLES[self.primary][0]

    @property
    def primary_sign(self) -> float:
        return ANGLES[self.primary][1]

    @property
    def primary_plane(self) -> str:
        """The hip angle plane of the primary angle: flexion, adduction or rotation."""
        return ("flexion", "adduction", "rotation")[self.primary_column]


class CatalogError(ValueError):
    """The catalog file is malformed."""


def _check(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise CatalogError(f"catalog {where}: {what}")


def parse_catalog(data: dict) -> dict[str, Exercise]:
    """Exercises by key from the parsed TOML; raises :class:`CatalogError` if malformed."""
    comps: dict[str, Compensation] = {}
    for key, c in data.get("compensation", {}).items():
        where = f"[compensation.{key}]"
        _check(c.get("measure") in MEASURES, where, f"measure must be one of {list(MEASURES)}")
        for s in ("sign_right", "sign_left"):
            _check(c.get(s) in (1, -1), where, f"{s} must be 1 or -1")
        comps[key] = Compensation(
            key, c["measure"], float(c["sign_right"]), float(c["sign_left"]), c.get("plain", key)
        )
    out: dict[str, Exercise] = {}
    for key, e in data.get("exercise", {}).items():
        where = f"[exercise.{key}]"
        for field in ("name", "primary", "posture", "dosage"):
            _check(field in e, where, f"missing '{field}'")
        _check(e["primary"] in ANGLES, where, f"primary must be one of {list(ANGLES)}")
        for a in e.get("secondary", []):
            _check(a in ANGLES, where, f"secondary angle {a!r} unknown")
        _check(e["posture"] in POSTURES, where, f"posture must be one of {POSTURES}")
        _check(e["dosage"] in DOSAGES, where, f"dosage must be one of {DOSAGES}")
        for w in e.get("watch", []):
            _check(w in comps, where, f"watches {w!r}, which has no [compensation.{w}]")
        base = Exercise(
            key,
            e["name"],
            e.get("how", ""),
            e["posture"],
            e["primary"],
            tuple(e.get("secondary", [])),
            tuple(comps[w] for w in e.get("watch", [])),
            e["dosage"],
            tuple(e.get("muscles", [])),
        )
        out[key] = base
        for level in e.get("levels_deg", []):
            lk = f"{key}_{int(level)}"
            out[lk] = Exercise(
                lk,
                f"{base.name} to {int(level)}°",
                base.how,
                base.posture,
                base.primary,
                base.secondary,
                base.watch,
                base.dosage,
                base.muscles,
                float(level),
            )
    return out


@dataclass(frozen=True)
class FlagRule:
    """When a left/right difference in one measure is flagged (docs/scoring.md).

    ``min_difference`` is in SI units (radians for angles, seconds for times).
    """

    key: str
    label: str
    unit: str
    min_difference: float
    min_percent: float | None
    better: str


UNITS = {"deg": np.pi / 180.0, "s": 1.0, "1": 1.0}


def parse_flags(data: dict) -> dict[str, FlagRule]:
    """Flag rules by measure from the parsed TOML ``[flag.*]`` tables."""
    out = {}
    for key, f in data.get("flag", {}).items():
        where = f"[flag.{key}]"
        _check(f.get("unit") in UNITS, where, f"unit must be one of {list(UNITS)}")
        _check(f.get("better") in ("higher", "lower"), where, "better must be higher or lower")
        _check(float(f.get("min_difference", -1)) >= 0, where, "min_difference must be >= 0")
        out[key] = FlagRule(
            key,
            f.get("label", key),
            f["unit"],
            float(f["min_difference"]) * UNITS[f["unit"]],
            float(f["min_percent"]) if "min_percent" in f else None,
            f["better"],
        )
    return out


@cache
def _load(path: str | None) -> dict:
    p = Path(path) if path else CATALOG_PATH
    try:
        return tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CatalogError(f"exercise catalog not found at {p}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{p}: {exc}") from exc


def load_catalog(path: str | None = None) -> dict[str, Exercise]:
    """The catalog from ``path`` (default: the packaged ``catalog.toml``)."""
    return parse_catalog(_load(path))


def load_flags(path: str | None = None) -> dict[str, FlagRule]:
    """The side-to-side flag rules from the catalog file."""
    return parse_flags(_load(path))


def exercise(key: str, catalog: dict[str, Exercise] | None = None) -> Exercise:
    """The catalog entry for a marker's exercise name (falls back, see module doc)."""
    cat = catalog if catalog is not None else load_catalog()
    if key in cat:
        return cat[key]
    prefixes = sorted((k for k in cat if key.startswith(k + "_")), key=len, reverse=True)
    if prefixes:
        e = cat[prefixes[0]]
        return Exercise(
            key,
            e.name,
            e.how,
            e.posture,
            e.primary,
            e.secondary,
            e.watch,
            e.dosage,
            e.muscles,
            e.level_deg,
            known=False,
        )
    generic = cat.get("standing_leg_lift")
    watch = generic.watch if generic else ()
    name = key.replace("_", " ").capitalize()
    return Exercise(key, name, "", "standing", "flexion", (), watch, "either", (), known=False)
