"""Heel raises and toe raises: repetitions counted with hysteresis on the AP excursion.

A heel raise moves the CoP forward onto the forefoot (roughly 4-8 cm), a toe raise back onto the
heels (../shared/notes/posturography.md). A repetition counts when the CoP rises a high
threshold above the standing level, and the counter re-arms only once it is well back down, so
wobbles of a few millimetres never count. Both thresholds are relative (to the standing level of
the last seconds, and to the top of the raise), so slow postural drift does not matter.

After a stroke, raises are often done by shifting onto the unaffected leg and rising on it alone
(../shared/notes/stroke-balance.md). The board sees it in the side-to-side CoP at the top of each
raise: with the affected side known, the affected leg's share during the raises is reported and
scored, and a share under ``RAISE_SHARE_FLAG_PCT`` is flagged.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from exercises import metrics as m
from exercises.base import Event, Exercise, LiveState, Quality, TrialContext, linear_factor

BASE_WINDOW_S = 3.0  # the standing level comes from this much time spent down
# The affected leg's share of the weight at the top of the raises: at least RAISE_SHARE_FULL_PCT
# counts in full; the score falls linearly to RAISE_FLOOR of itself at RAISE_SHARE_WORST_PCT (the
# unaffected leg doing the raise alone puts ~85 % or more on it); under RAISE_SHARE_FLAG_PCT the
# raises are flagged as carried by the unaffected leg.
RAISE_SHARE_FULL_PCT = 40.0
RAISE_SHARE_WORST_PCT = 20.0
RAISE_FLOOR = 0.5
RAISE_SHARE_FLAG_PCT = 35.0


class Raises(Exercise):
    """Repeated raises; ``direction`` +1 (heels up, CoP forward) or −1 (toes up, CoP back).

    Metrics: reps, mean_amplitude_mm, mean_hold_s (time above 80 % of each rep's peak),
    mean_period_s and, with a metronome ``pace_s``, tempo_error_s; weight_right_pct during the
    raises against standing (compensation onto one side: shift_during_raise_pct).

    Score (0-100) = 100 · min(reps / target, 1) · (0.5 + 0.5 · min(mean amplitude / expected, 1)):
    the count matters most, height second; with the affected side known, times a factor for the
    affected leg's share at the top of the raises (1 from 40 %, 0.5 at 20 % or less). More
    repetitions, or more weight on the affected leg, never score lower.
    """

    name = "raises"
    uses_weight_share = True
    direction = 1
    high_mm = 25.0
    release_mm = 12.0
    expected_amplitude_mm = 50.0

    def __init__(
        self,
        context: TrialContext | None = None,
        *,
        target_reps: int = 10,
        pace_s: float | None = None,
    ) -> None:
        super().__init__(context)
        if target_reps < 1:
            raise ValueError("target_reps must be at least 1")
        self.target_reps = target_reps
        self.pace_s = pace_s
        self.baseline: float | None = None
        self.up = False
        self._peak = 0.0
        self._up_samples: list[tuple[float, float, float]] = []  # (t, excursion, x)
        self.reps: list[dict] = []
        self._down_x: list[float] = []
        self._down: deque[tuple[float, float]] = deque()
        self._since_base = 0

    def _step(self, t, x, y, total) -> LiveState:
        if not math.isfinite(y):
            return self._state
        level = self.direction * y  # rising = the raise
        if self.baseline is None:
            self.baseline = level
        if not self.up:
            self._down.append((t, level))
            while t - self._down[0][0] > BASE_WINDOW_S:
                self._down.popleft()
            # the standing level: the 30th percentile of the last seconds spent down. Counting
            # from it, not from a fixed zero, makes the count blind to slow postural drift; a low
            # percentile, because the start of every rise (slow ones take over a second) is
            # spent "down" too and must not lift the level, and not the minimum, which sway
            # would pull down.
            self._since_base += 1
            if self._since_base >= 16:  # every 0.2 s is plenty for a drift
                self._since_base = 0
                values = sorted(v for _, v in self._down)  # (np.percentile costs 10× more)
                self.baseline = values[int(0.3 * (len(values) - 1))]
            if level - self.baseline >= self.high_mm:
                self.up = True
                self._peak = level
                self._up_samples = [(t, level - self.baseline, x)]
            else:
                self._down_x.append(x)
        else:
            excursion = level - self.baseline
            self._up_samples.append((t, excursion, x))
            self._peak = max(self._peak, level)
            # down again once well back from the top (hysteresis: wobbles at the top are not
            # a new repetition)
            if self._peak - level >= max(self.release_mm, 0.6 * (self._peak - self.baseline)):
                self._finish_rep(t)
                self._down.clear()
                self.baseline = level  # until the median of the new stretch down takes over
        done = self.context.live and len(self.reps) >= self.target_reps and not self.up
        return LiveState(
            "done" if done else ("lower" if self.up else "raise"),
            "Well done."
            if done
            else (
                "Now down slowly."
                if self.up
                else f"Up on your {'toes' if self.direction > 0 else 'heels'}."
            ),
            t,
            None,
            {"reps": len(self.reps)},
            {"reps": self.target_reps},
            done=done,
        )

    def _finish_rep(self, t: float) -> None:
        samples = np.array(self._up_samples)
        peak = float(samples[:, 1].max())
        top = samples[samples[:, 1] >= 0.8 * peak]
        hold = float(top[-1, 0] - top[0, 0]) if len(top) > 1 else 0.0
        t_peak = float(samples[np.argmax(samples[:, 1]), 0])
        x_up = samples[:, 2][np.isfinite(samples[:, 2])]
        self.reps.append(
            {
                "t_start": float(samples[0, 0]),
                "t_peak": t_peak,
                "amplitude_mm": peak,
                "hold_s": hold,
                "x_mm": float(np.mean(x_up)) if len(x_up) else math.nan,
            }
        )
        self.events.append(Event(float(samples[0, 0]), "rep", {"amplitude_mm": round(peak, 1)}))
        self.up = False
        self._up_samples = []

    def _finish(self, arrays: dict, quality: Quality):
        reps = self.reps
        metrics: dict[str, float] = {"reps": len(reps)}
        if reps:
            amplitudes = [r["amplitude_mm"] for r in reps]
            metrics["mean_amplitude_mm"] = float(np.mean(amplitudes))
            metrics["min_amplitude_mm"] = float(np.min(amplitudes))
            metrics["mean_hold_s"] = float(np.mean([r["hold_s"] for r in reps]))
        else:
            metrics["mean_amplitude_mm"] = 0.0
        starts = [r["t_start"] for r in reps]
        if len(starts) > 1:
            periods = np.diff(starts)
            metrics["mean_period_s"] = float(np.mean(periods))
            if self.pace_s:
                metrics["tempo_error_s"] = float(np.mean(np.abs(periods - self.pace_s)))
        c = self.context
        down = np.array([v for v in self._down_x if math.isfinite(v)])
        up_x = np.array([r["x_mm"] for r in reps if math.isfinite(r["x_mm"])])
        if len(down) and len(up_x):
            standing = float(
                np.mean(m.weight_right_pct(down, c.stance_width_mm, c.feet_centre_x_mm))
            )
            raising = float(
                np.mean(m.weight_right_pct(up_x, c.stance_width_mm, c.feet_centre_x_mm))
            )
            metrics["weight_right_pct"] = standing
            metrics["weight_right_during_raise_pct"] = raising
            shift = raising - standing
            affected = self.affected_share_pct(raising)
            if affected is not None:
                # positive = load moved onto the unaffected side during the raise
                metrics["shift_to_unaffected_pct"] = shift if c.affected_side == "left" else -shift
                metrics["weight_affected_pct"] = affected
            metrics["shift_during_raise_pct"] = shift
        amplitude = metrics["mean_amplitude_mm"] / self.expected_amplitude_mm
        score = 100 * min(len(reps) / self.target_reps, 1) * (0.5 + 0.5 * min(amplitude, 1))
        if "weight_affected_pct" in metrics:
            share = metrics["weight_affected_pct"]
            score *= linear_factor(share, RAISE_SHARE_FULL_PCT, RAISE_SHARE_WORST_PCT, RAISE_FLOOR)
        return metrics, score

    def _flags(self, metrics: dict) -> list[str]:
        flags = []
        if metrics.get("weight_affected_pct", 100.0) < RAISE_SHARE_FLAG_PCT:
            flags.append("weight_on_unaffected_side")
        if metrics.get("reps", 0) >= self.target_reps:
            flags.append("target_reached")
        return flags

    def _lower_bounds(self) -> list[str]:
        """Live, the trial stops at the target: she might have done more ("≥")."""
        if self.context.live and len(self.reps) >= self.target_reps:
            return ["reps"]
        return []

    def _sides(self) -> dict[str, str]:
        return self._both_sides()


class HeelRaises(Raises):
    """Heel raises: up onto the toes, the CoP goes forward (expected 40-80 mm)."""

    name = "heel-raises"
    direction = 1
    high_mm = 25.0
    release_mm = 12.0
    expected_amplitude_mm = 50.0


class ToeRaises(Raises):
    """Toe raises: up onto the heels, the CoP goes back (expected 30-60 mm)."""

    name = "toe-raises"
    direction = -1
    high_mm = 18.0
    release_mm = 10.0
    expected_amplitude_mm = 40.0
