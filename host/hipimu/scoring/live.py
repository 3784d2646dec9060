"""The trainer's rule for the live view, without Qt: the current band, why, overrides.

``LiveTargets.from_history(session_dir)`` loads the rule's state the client's latest
earlier session saved (``scores.json``, :mod:`hipimu.scoring.targets`). The live view asks
:meth:`LiveTargets.band` for the band of the exercise and side being done (degrees of the
primary range) and :meth:`LiveTargets.why` for one line saying why; when the trainer
changes the band, :meth:`LiveTargets.override` applies it and returns the session-log
event (``{"type": "target_override", ...}``) to record, so ``hipimu report`` replays it
in time order (docs/scoring.md, "The trainer's rule").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hipimu.scoring.rule import ExerciseRule, RuleConfig, Step
from hipimu.scoring.targets import load_history, previous_rule

MODE_WORDS = {
    "reduced": "reduced",
    "building": "building up",
    "full": "full range",
    "trainer": "set by the trainer",
}


@dataclass
class LiveTargets:
    """Current rule state per exercise (from history), with trainer overrides."""

    rules: dict[str, ExerciseRule] = field(default_factory=dict)
    config: RuleConfig = field(default_factory=RuleConfig)

    @classmethod
    def from_history(
        cls,
        session_dir: str | Path,
        config: RuleConfig | None = None,
        client: str | None = None,
    ):
        """The state the sessions before ``session_dir`` (its dated siblings) left; only
        ``client``'s sessions when given (:func:`hipimu.scoring.targets.load_history`)."""
        config = config or RuleConfig()
        parent_exists = Path(session_dir).parent.is_dir()
        history = load_history(session_dir, client=client) if parent_exists else []
        keys = {k for h in history for k in h.data.get("rule", {})}
        rules = {}
        for key in keys:
            state = previous_rule(history, key)
            if state:
                rules[key] = ExerciseRule.from_dict(key, state, config)
        return cls(rules, config)

    def step(self, exercise: str, side: str) -> Step | None:
        rule = self.rules.get(exercise)
        return rule.step(side) if rule else None

    def band(self, exercise: str, side: str) -> tuple[float, float] | None:
        """The band (degrees of the primary range), or None where the rule has none."""
        s = self.step(exercise, side)
        if s is None:
            return None
        return float(np.rad2deg(s.low)), float(np.rad2deg(s.high))

    def why(self, exercise: str, side: str) -> str:
        """One line for the live view: the mode, the band's share and the reason."""
        s = self.step(exercise, side)
        if s is None:
            return "no target yet: the first set of each side sets it"
        share = f"{s.share[0] * 100:.0f}-{s.share[1] * 100:.0f}% of {np.rad2deg(s.reference):.0f}°"
        detail = f": {s.detail}" if s.detail else ""
        return f"{MODE_WORDS.get(s.mode, s.mode)} ({share}), {s.reason}{detail}"

    def override(
        self,
        exercise: str,
        side: str,
        low_deg: float,
        high_deg: float,
        time: float,
        note: str = "",
    ) -> dict:
        """Apply the trainer's band; returns the session-log event to record."""
        rule = self.rules.setdefault(exercise, ExerciseRule(exercise, self.config))
        rule.override(side, float(np.deg2rad(low_deg)), float(np.deg2rad(high_deg)), note)
        return {
            "type": "target_override",
            "time": float(time),
            "exercise": exercise,
            "side": side,
            "low_deg": float(low_deg),
            "high_deg": float(high_deg),
            "note": note,
        }


@dataclass
class StillBaseline:
    """A set's baseline as rows arrive (the live twin of
    :func:`hipimu.scoring.reps.set_baseline`): the first ``seconds`` in which the pelvis
    stays within ``pelvis_tol`` (radians) of where it was and every hip angle within
    ``hip_tol``: the client is in the exercise posture and still. Until then there is no
    reference, so nothing reads as compensation while the client lies down."""

    rate_hz: float
    seconds: float = 0.5
    pelvis_tol: float = 2.0 * np.pi / 180
    hip_tol: float = 5.0 * np.pi / 180
    reference: np.ndarray | None = None
    _q: np.ndarray = field(default_factory=lambda: np.empty((0, 4)))
    _h: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))

    def feed(self, q_pelvis: np.ndarray, hips: np.ndarray | None = None) -> np.ndarray | None:
        """New rows: pelvis ``q_GB`` (N, 4) and hip angles (N, k); the reference pelvis
        orientation once found (then unchanged)."""
        if self.reference is not None:
            return self.reference
        n = max(round(self.seconds * self.rate_hz), 2)
        q = np.asarray(q_pelvis, float)
        h = np.zeros((len(q), 0)) if hips is None else np.asarray(hips, float)
        if self._h.shape[1] != h.shape[1]:
            self._h = np.empty((0, h.shape[1]))
        self._q = np.concatenate([self._q, q])
        self._h = np.concatenate([self._h, h])
        for i in range(max(len(self._q) - n + 1, 0)):
            win, hw = self._q[i : i + n], self._h[i : i + n]
            if not (np.isfinite(win).all() and np.isfinite(hw).all()):
                continue
            dot = np.clip(np.abs(win @ win[0]), 0.0, 1.0)
            if np.max(2 * np.arccos(dot)) > self.pelvis_tol:
                continue
            if hw.shape[1] and np.max(np.ptp(hw, axis=0)) > self.hip_tol:
                continue
            m = win * np.where(win @ win[0] < 0, -1.0, 1.0)[:, None]
            m = m.mean(axis=0)
            self.reference = m / np.linalg.norm(m)
            self._q = self._h = None
            return self.reference
        keep = n - 1
        self._q, self._h = self._q[-keep:], self._h[-keep:]
        return None
