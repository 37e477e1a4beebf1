"""Weight shifts, side to side or front to back, toward targets or freely (replay).

Excursions are measured from the patient's starting position (the median CoP of the first second).
With targets (live), each shift is timed: time to reach the target zone, time kept in it. With no
target (replay), a shift counts when the CoP moves at least 20 mm to one side and comes back.
A rhythmic variant is paced at 3, 2 or 1 s per cycle.

Shifts made only toward the strong side are a compensation rehabilitation trains away
(../shared/notes/stroke-balance.md): with the affected side known, the score weighs the reach
toward the affected side against the reach toward the other, the largest share of weight the
affected leg took is reported, and shifts avoided toward the affected side are flagged.
"""

from __future__ import annotations

import math

import numpy as np

from exercises import metrics as m
from exercises.base import Event, Exercise, LiveState, Quality, TrialContext

SHIFT_MM = 20.0  # a shift counts from this far out
BACK_MM = 8.0  # and ends when the CoP is back within this of the start
AXES = {"lateral": "lateral", "anteroposterior": "ap"}  # the program's words → ours
AXES_ACCEPTED = {**AXES, "ap": "ap"}
PACES_S = (3.0, 2.0, 1.0)  # seconds per cycle with the metronome
# Balance of the reach with the affected side known: score × (BALANCE_FLOOR + (1 − BALANCE_FLOOR)
# × reach toward the affected side / reach toward the other, at most 1); flagged under
# AVOIDED_RATIO.
BALANCE_FLOOR = 0.5
AVOIDED_RATIO = 0.5


class WeightShift(Exercise):
    """Shift the weight along ``axis`` ("lateral" or "ap").

    Metrics: shifts_left / shifts_right (or shifts_back / shifts_forward for "ap"),
    max_left_mm / max_right_mm (excursion from the start), the same as % body weight moved from
    the start onto each foot (lateral), time_to_target_s and time_in_target_s with targets,
    directional control = (on-axis − off-axis path) / on-axis path (NeuroCom), and with
    ``pace_s`` the mean cycle period and its error.

    Score (0-100) = 70 · mean over sides of min(max excursion / target, 1)
    + 30 · max(directional control, 0). The target is ``target_mm`` or, without one, 40 % of
    the stance width, or ``target_share`` of the patient's ``earlier_max_mm`` (healthy adults
    shift ~95 % BW onto one leg; ~65 % onto the paretic leg
    after stroke: Goldie 1996). With the affected side known (side-to-side shifts), the score is
    multiplied by 0.5 + 0.5 × (reach toward the affected side / reach toward the other, at most
    1): shifts never made toward the affected side score at most 50. Smaller excursions never
    score higher.
    """

    name = "weight-shift"
    uses_weight_share = True

    def __init__(
        self,
        context: TrialContext | None = None,
        *,
        axis: str = "lateral",
        target_mm: float | None = None,
        pace_s: float | None = None,
        cycles: int = 10,
        earlier_max_mm: float | None = None,
        target_share: float = 0.8,
    ) -> None:
        super().__init__(context)
        if target_mm is None and earlier_max_mm is not None:
            # a target the patient can reach: a share of their own best from earlier sessions
            if earlier_max_mm <= 0 or not 0 < target_share <= 1.2:
                raise ValueError("earlier_max_mm must be positive and target_share in (0, 1.2]")
            target_mm = earlier_max_mm * target_share
        if target_mm is not None and target_mm <= 0:
            raise ValueError("target_mm must be positive")
        if axis not in AXES_ACCEPTED:
            raise ValueError("axis must be 'lateral' or 'anteroposterior'")
        axis = AXES_ACCEPTED[axis]
        if pace_s is not None and pace_s not in PACES_S:
            raise ValueError("pace_s must be 3, 2 or 1 seconds per cycle")
        self.axis = axis
        self.target_mm = target_mm
        self.pace_s = pace_s
        self.cycles = cycles
        self.names = ("left", "right") if axis == "lateral" else ("back", "forward")
        self._start_samples: list[tuple[float, float]] = []
        self.start: tuple[float, float] | None = None
        self._side = 0  # -1, 0, +1 while out on a shift
        self._shift_peak = 0.0
        self._shift_t0 = 0.0
        self._in_target_since: float | None = None
        self.shifts: list[dict] = []
        self._counts = dict.fromkeys(self.names, 0)

    def _on_axis(self, x: float, y: float) -> tuple[float, float]:
        dx, dy = x - self.start[0], y - self.start[1]
        return (dx, dy) if self.axis == "lateral" else (dy, dx)

    def _step(self, t, x, y, total) -> LiveState:
        if not (math.isfinite(x) and math.isfinite(y)):
            return self._state
        if self.start is None:
            self._start_samples.append((x, y))
            if len(self._start_samples) >= self.context.rate_hz:
                xs, ys = zip(*self._start_samples, strict=True)
                self.start = (float(np.median(xs)), float(np.median(ys)))
            return LiveState("get-ready", "Stand still in the middle.", t, None)
        on, _ = self._on_axis(x, y)
        if self._side == 0:
            if abs(on) >= SHIFT_MM:
                self._side = 1 if on > 0 else -1
                self._shift_peak = abs(on)
                self._shift_t0 = t
                self._reached_t = None
        else:
            out = on * self._side
            self._shift_peak = max(self._shift_peak, out)
            target = self.target_mm
            if target is not None and out >= target and self._reached_t is None:
                self._reached_t = t
                self.events.append(Event(t, "target_reached", {"side": self._name()}))
            if out <= BACK_MM:
                self.shifts.append(
                    {
                        "side": self._side,
                        "peak_mm": self._shift_peak,
                        "t0": self._shift_t0,
                        "t1": t,
                        "reached": self._reached_t,
                    }
                )
                self.events.append(
                    Event(
                        self._shift_t0,
                        f"shift_{self._name()}",
                        {"max_mm": round(self._shift_peak, 1)},
                    )
                )
                self._counts[self._name()] += 1
                self._side = 0
        counts = dict(self._counts)
        done = self.context.live and len(self.shifts) >= 2 * self.cycles
        if self._side == 0:
            way = self.names[1 if len(self.shifts) % 2 == 0 else 0]
            prompt = f"Lean to the {way}." if self.axis == "lateral" else f"Lean {way}."
        else:
            prompt = "And back to the middle."
        return LiveState(
            "done" if done else "shift",
            "Well done." if done else prompt,
            t,
            None,
            counts,
            {"target_mm": self.target_mm},
            done=done,
        )

    def _name(self) -> str:
        return self.names[0] if self._side < 0 else self.names[1]

    def _finish(self, arrays: dict, quality: Quality):
        neg, pos = self.names
        metrics: dict[str, float] = {}
        for name, sign in ((neg, -1), (pos, 1)):
            mine = [s for s in self.shifts if s["side"] == sign]
            metrics[f"shifts_{name}"] = len(mine)
            metrics[f"max_{name}_mm"] = max((s["peak_mm"] for s in mine), default=0.0)
            reached = [s["reached"] - s["t0"] for s in mine if s["reached"] is not None]
            if self.target_mm is not None:
                metrics[f"time_to_target_{name}_s"] = (
                    float(np.mean(reached)) if reached else float("nan")
                )
        t, x, y = arrays["t"], arrays["x"], arrays["y"]
        finite = np.isfinite(x) & np.isfinite(y)
        if self.start is not None and finite.sum() > 30:
            fs, _, (xf, yf) = self.uniform(t[finite], x[finite], y[finite])
            on, off = (xf, yf) if self.axis == "lateral" else (yf, xf)
            on_path = float(np.sum(np.abs(np.diff(on))))
            off_path = float(np.sum(np.abs(np.diff(off))))
            metrics["directional_control_pct"] = (
                100 * (on_path - off_path) / on_path if on_path else 0.0
            )
            if self.target_mm is not None:
                out = np.abs(on - (self.start[0] if self.axis == "lateral" else self.start[1]))
                metrics["time_in_target_s"] = float(np.sum(out >= self.target_mm) / fs)
        if self.axis == "lateral":
            c = self.context
            for name in (neg, pos):
                # %BW moved onto that foot, from the start
                metrics[f"max_{name}_pct_bw"] = metrics[f"max_{name}_mm"] / c.stance_width_mm * 100
            start_right = (
                float(m.weight_right_pct(self.start[0], c.stance_width_mm, c.feet_centre_x_mm))
                if self.start
                else float("nan")
            )
            metrics["start_weight_right_pct"] = start_right
        starts = [s["t0"] for s in self.shifts]
        if len(starts) > 2:
            cycle = np.diff(starts[::2])
            metrics["mean_cycle_s"] = float(np.mean(cycle)) if len(cycle) else float("nan")
            if self.pace_s:
                metrics["cycle_error_s"] = float(np.mean(np.abs(cycle - self.pace_s)))
        target = self.target_mm or 0.4 * self.context.stance_width_mm
        reaches = {n: min(metrics[f"max_{n}_mm"] / target, 1.0) for n in self.names}
        reach = np.mean(list(reaches.values()))
        control = max(metrics.get("directional_control_pct", 0.0), 0.0) / 100
        score = float(70 * reach + 30 * control)
        c = self.context
        if self.axis == "lateral" and c.affected_side in ("left", "right"):
            toward = reaches[c.affected_side]
            away = reaches[c.unaffected_side]
            ratio = 1.0 if toward >= away else (toward / away if away else 1.0)
            metrics["reach_ratio_affected"] = ratio
            score *= BALANCE_FLOOR + (1 - BALANCE_FLOOR) * ratio
            if self.start is not None and np.isfinite(x).any():
                right = m.weight_right_pct(x[np.isfinite(x)], c.stance_width_mm, c.feet_centre_x_mm)
                affected = right if c.affected_side == "right" else 100.0 - right
                # the most weight the affected leg took (95th percentile: one sample is noise)
                metrics["weight_affected_pct"] = float(np.percentile(affected, 95))
        return metrics, score

    def _flags(self, metrics: dict) -> list[str]:
        flags = []
        if metrics.get("reach_ratio_affected", 1.0) < AVOIDED_RATIO:
            flags.append("weight_on_unaffected_side")
        if self.target_mm is not None and all(
            metrics.get(f"max_{n}_mm", 0.0) >= self.target_mm for n in self.names
        ):
            flags.append("target_reached")
        return flags

    def _sides(self):
        c = self.context
        if self.axis == "lateral" and c.affected_side in ("left", "right"):
            return {"affected": c.affected_side, "unaffected": c.unaffected_side}
        return {}
