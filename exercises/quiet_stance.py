"""Quiet standing, eyes open or closed: sway metrics, weight bearing, support, score against norms.

Standing "still" by leaning on the strong leg is a compensation rehabilitation trains away
(../shared/notes/stroke-balance.md): with the affected side known, the score rewards weight on
the affected leg, and a stance with less than ``SYMMETRY_PCT`` of the weight on it is flagged.
Eyes closed is done with the hands hovering above the chair: a hand that rests on it carries
load the board sees as support (flagged); a light touch under about 1 N cannot be seen by a
board, though it steadies sway about as much as opening the eyes (Jeka & Lackner 1994).
"""

from __future__ import annotations

import numpy as np

from exercises import metrics as m
from exercises.base import (
    SUPPORT_FLAG_PCT,
    Exercise,
    LiveState,
    Quality,
    TrialContext,
    linear_factor,
    ramp_score,
    support_factor,
)

# BDS reference ranges, 60 s, per-subject medians (../shared/notes/posturography.md): the best
# value is the young adults' 5th percentile, the worst the older adults' on foam with eyes closed
# 95th percentile. Log-linear between them.
VELOCITY_BEST_MM_S = 5.2
VELOCITY_WORST_MM_S = 63.0
AREA_BEST_MM2 = 67.0
AREA_WORST_MM2 = 4960.0
# Weight on the affected leg: healthy adults stay within about 7 % of equal; after stroke about
# 60-70 % is on the unaffected leg (Genthon et al. 2008). Below SYMMETRY_PCT on the affected leg
# the score is cut, linearly down to ASYMMETRY_FLOOR of it at ASYMMETRY_WORST_PCT.
EYES = ("open", "closed")
STANDING_SHARE = 0.5  # more than this share of body weight on the board: standing on it
SYMMETRY_PCT = 43.0
AFFECTED_HEAVY_PCT = 57.0  # more than this on the affected leg: flagged (pushing, pain), not scored
AFFECTED_HEAVY_WARNING = (
    f"more than {AFFECTED_HEAVY_PCT:.0f} % of the weight on the affected leg: pushing toward it, "
    "or pain in the other leg?"
)
# eyes closed with the body mass weighed this session: a hand resting on the chair is flagged from
# this much (the 3 % used elsewhere would let a steadying hand through; Jeka & Lackner 1994)
EYES_CLOSED_SUPPORT_FLAG_PCT = 1.5
ASYMMETRY_WORST_PCT = 20.0
ASYMMETRY_FLOOR = 0.5


class QuietStance(Exercise):
    """Stand still with feet on the marks for ``duration_s`` (default 30 s).

    Score (0-100): the mean of two log-linear ramps, mean velocity from 5.2 mm/s (100) to
    63 mm/s (0) and 95 % ellipse area from 67 mm² (100) to 4960 mm² (0): the BDS 5th percentile of
    young adults to the 95th percentile of older adults on foam with eyes closed (Santos & Duarte
    2016). An older adult standing quietly with eyes open (10 mm/s, 217 mm²) scores about 73. A
    trial cut short scales the score by the share of the target time stood; a hand on the chair
    by the support factor (``exercises.base.support_factor``). With the affected
    side known, the score is multiplied by a symmetry factor: 1 with at least 43 % of the weight
    on the affected leg, falling linearly to 0.5 at 20 %. More sway, a shorter stand or less
    weight on the affected leg never scores higher. More than 57 % on the affected leg is
    not rewarded but said in the result's warnings (pushing toward it, or pain in the other
    leg). Support on the chair is flagged from 3 % of body weight, from 1.5 % with eyes
    closed when the body mass was weighed for the session.
    """

    name = "quiet-stance"
    measures_support = True
    uses_weight_share = True

    def __init__(
        self, context: TrialContext | None = None, *, eyes: str = "open", duration_s: float = 30.0
    ) -> None:
        super().__init__(context)
        if eyes not in EYES:
            raise ValueError("eyes must be 'open' or 'closed'")
        if duration_s <= 0:
            raise ValueError("duration_s must be positive")
        self.eyes = eyes
        self.duration_s = duration_s
        self._start: float | None = None

    def _step(self, t, x, y, total) -> LiveState:
        on = self._standing(total, self._body_kg)
        if self._start is None:
            if on and np.isfinite(x):
                self._start = t
            return LiveState("get-ready", "Stand with a foot on each mark.", t, self.duration_s)
        elapsed = t - self._start
        if self.context.live and elapsed >= self.duration_s:
            return LiveState("done", "Well done.", elapsed, 0.0, done=True)
        prompt = "Stand still, eyes open." if self.eyes == "open" else "Stand still, eyes closed."
        return LiveState("hold", prompt, elapsed, max(0.0, self.duration_s - elapsed))

    @staticmethod
    def _standing(total, body: float | None):
        """Standing on the board, not stepping on or off it: more than half the body weight."""
        return True if not body else total > STANDING_SHARE * body

    def _finish(self, arrays: dict, quality: Quality):
        t, x, y, total = arrays["t"], arrays["x"], arrays["y"], arrays["total"]
        body = self._body_kg or (float(np.median(total)) if len(total) else 0)
        standing = np.isfinite(x) & self._standing(total, body)
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
        affected = self.affected_share_pct(right)
        symmetry = 1.0
        if affected is not None:
            metrics["weight_affected_pct"] = affected
            metrics["asymmetry_pct"] = m.asymmetry_pct(100 - affected, affected)
            symmetry = linear_factor(affected, SYMMETRY_PCT, ASYMMETRY_WORST_PCT, ASYMMETRY_FLOOR)
            if affected > AFFECTED_HEAVY_PCT:
                quality.warnings.append(AFFECTED_HEAVY_WARNING)
        steady = np.ones(len(t), dtype=bool)  # a stumble is a loss of balance, not support
        for a, b in self.balance_lost:
            steady &= (t < a) | (t > b)
        support = self.support_pct(total[standing][steady]) if self.context.body_mass_kg else None
        if support is not None and len(support):
            metrics["support_pct_bw_mean"] = max(0.0, float(np.mean(support)))
        velocity = ramp_score(
            metrics["mean_velocity_mm_s"], VELOCITY_BEST_MM_S, VELOCITY_WORST_MM_S
        )
        area = ramp_score(metrics["ellipse_area_95_mm2"], AREA_BEST_MM2, AREA_WORST_MM2)
        stood = min(1.0, metrics["duration_s"] / self.duration_s)
        held = support_factor(metrics.get("support_pct_bw_mean"), self.support_flag_pct())
        return metrics, (velocity + area) / 2 * stood * symmetry * held

    def support_flag_pct(self) -> float:
        """The mean support (% body weight) flagged: 1.5 % with eyes closed when the body mass
        was weighed for this session (or kept in the recording's header), else 3 %."""
        weighed = self.context.body_mass_source in ("weighed", "recording")
        if self.eyes == "closed" and weighed:
            return EYES_CLOSED_SUPPORT_FLAG_PCT
        return SUPPORT_FLAG_PCT

    def _flags(self, metrics: dict) -> list[str]:
        flags = []
        affected = metrics.get("weight_affected_pct")
        if affected is not None and affected < SYMMETRY_PCT:
            flags.append("weight_on_unaffected_side")
        if metrics.get("support_pct_bw_mean", 0.0) >= self.support_flag_pct():
            flags.append("support")
        if metrics.get("duration_s", 0.0) >= self.duration_s - 0.05:
            flags.append("target_reached")
        return flags

    def _sides(self) -> dict[str, str]:
        return self._both_sides()


def romberg(eyes_open: dict, eyes_closed: dict) -> dict[str, float]:
    """Romberg quotients (eyes closed / eyes open) from two quiet-stance results' metrics, for
    trials done the same day."""
    out = {}
    for name in ("mean_velocity_mm_s", "ellipse_area_95_mm2"):
        if eyes_open.get(name) and eyes_closed.get(name) is not None:
            out[f"romberg_{name}"] = m.romberg_quotient(eyes_closed[name], eyes_open[name])
    return out
