"""Quiet standing, eyes open or closed: sway metrics, weight bearing, score against norms."""

from __future__ import annotations

import numpy as np

from exercises import metrics as m
from exercises.base import Exercise, LiveState, Quality, TrialContext, ramp_score

# BDS reference ranges, 60 s, per-subject medians (../shared/notes/posturography.md): the best
# value is the young adults' 5th percentile, the worst the older adults' on foam with eyes closed
# 95th percentile. Log-linear between them.
VELOCITY_BEST_MM_S = 5.2
VELOCITY_WORST_MM_S = 63.0
AREA_BEST_MM2 = 67.0
AREA_WORST_MM2 = 4960.0


class QuietStance(Exercise):
    """Stand still with feet on the marks for ``duration_s`` (default 30 s).

    Score (0-100): the mean of two log-linear ramps, mean velocity from 5.2 mm/s (100) to
    63 mm/s (0) and 95 % ellipse area from 67 mm² (100) to 4960 mm² (0): the BDS 5th percentile of
    young adults to the 95th percentile of older adults on foam with eyes closed (Santos & Duarte
    2016). An older adult standing quietly with eyes open (10 mm/s, 217 mm²) scores about 73. A
    trial cut short scales the score by the share of the target time stood. More sway never
    scores higher.
    """

    name = "quiet-stance"

    def __init__(
        self, context: TrialContext | None = None, *, eyes: str = "open", duration_s: float = 30.0
    ) -> None:
        super().__init__(context)
        if eyes not in ("open", "closed"):
            raise ValueError("eyes must be 'open' or 'closed'")
        if duration_s <= 0:
            raise ValueError("duration_s must be positive")
        self.eyes = eyes
        self.duration_s = duration_s
        self._start: float | None = None

    def _step(self, t, x, y, total) -> LiveState:
        on = self._body_kg is None or total > 0.5 * self._body_kg
        if self._start is None:
            if on and np.isfinite(x):
                self._start = t
            return LiveState("get-ready", "Stand with a foot on each mark.", t, self.duration_s)
        elapsed = t - self._start
        if self.context.live and elapsed >= self.duration_s:
            return LiveState("done", "Well done.", elapsed, 0.0, done=True)
        prompt = "Stand still, eyes open." if self.eyes == "open" else "Stand still, eyes closed."
        return LiveState("hold", prompt, elapsed, max(0.0, self.duration_s - elapsed))

    def _finish(self, arrays: dict, quality: Quality):
        t, x, y, total = arrays["t"], arrays["x"], arrays["y"], arrays["total"]
        body = self._body_kg or (float(np.median(total)) if len(total) else 0)
        standing = np.isfinite(x) & (total > 0.5 * body) if body else np.isfinite(x)
        if standing.sum() < 30:
            return {"duration_s": 0.0}, 0.0
        t, x, y = t[standing], x[standing], y[standing]
        fs, _, (xf, yf) = self.uniform(t, x, y)
        metrics = m.sway_metrics(xf, yf, fs)
        right = float(
            np.mean(
                m.weight_right_pct(xf, self.context.stance_width_mm, self.context.feet_centre_x_mm)
            )
        )
        metrics["weight_right_pct"] = right
        metrics["weight_left_pct"] = 100.0 - right
        c = self.context
        if c.affected_side in ("left", "right"):
            affected = right if c.affected_side == "right" else 100 - right
            metrics["weight_affected_pct"] = affected
            metrics["asymmetry_pct"] = m.asymmetry_pct(100 - affected, affected)
        velocity = ramp_score(
            metrics["mean_velocity_mm_s"], VELOCITY_BEST_MM_S, VELOCITY_WORST_MM_S
        )
        area = ramp_score(metrics["ellipse_area_95_mm2"], AREA_BEST_MM2, AREA_WORST_MM2)
        stood = min(1.0, metrics["duration_s"] / self.duration_s)
        return metrics, (velocity + area) / 2 * stood

    def _sides(self):
        c = self.context
        if c.affected_side in ("left", "right"):
            return {"affected": c.affected_side, "unaffected": c.unaffected_side}
        return {}


def romberg(eyes_open: dict, eyes_closed: dict) -> dict[str, float]:
    """Romberg quotients (eyes closed / eyes open) from two quiet-stance results' metrics, for
    trials done the same day."""
    out = {}
    for name in ("mean_velocity_mm_s", "ellipse_area_95_mm2"):
        if eyes_open.get(name) and eyes_closed.get(name) is not None:
            out[f"romberg_{name}"] = m.romberg_quotient(eyes_closed[name], eyes_open[name])
    return out
