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
# With the affected side known, the reach toward it weighs three times the other's, and shifts
# toward it reaching under AVOIDED_RATIO of the other's are flagged.
AFFECTED_WEIGHT = 0.75
AVOIDED_RATIO = 0.5
DEFAULT_TARGET_SHARE = 0.4  # of the stance width, without a target: 40 % of body weight moved
# toward the affected side: 30 % (to 80 % on the paretic leg: above the ~65 % typical after
# stroke, Goldie 1996, below the ~95 % of healthy adults)
AFFECTED_TARGET_SHARE = 0.3


def weight_shift_score(
    reaches: dict[str, float], control: float, affected_side: str | None = None
) -> float:
    """The score (0-100): 70 · reach + 30 · max(control, 0), ``reaches`` each side's excursion
    as a share of its target (capped at 1), ``control`` the directional control (0-1). The
    reach is the mean of the sides, or with ``affected_side`` given 0.75 · its reach + 0.25 ·
    the other's: a further reach to either side or more control never scores less.

    >>> weight_shift_score({"left": 0.0, "right": 1.0}, 1.0, "left")
    47.5
    """
    if affected_side is None:
        reach = float(np.mean([min(r, 1.0) for r in reaches.values()]))
    else:
        toward = min(reaches[affected_side], 1.0)
        away = min(next(r for side, r in reaches.items() if side != affected_side), 1.0)
        reach = AFFECTED_WEIGHT * toward + (1 - AFFECTED_WEIGHT) * away
    return float(70 * reach + 30 * max(control, 0.0))


class WeightShift(Exercise):
    """Shift the weight along ``axis`` ("lateral" or "ap").

    Metrics: shifts_left / shifts_right (or shifts_back / shifts_forward for "ap"),
    max_left_mm / max_right_mm (excursion from the start), the same as % body weight moved from
    the start onto each foot (lateral), time_to_target_s and time_in_target_s with targets,
    directional control = (on-axis − off-axis path) / on-axis path (NeuroCom), and with
    ``pace_s`` the mean cycle period and its error.

    Score (0-100) = 70 · reach + 30 · max(directional control, 0), where each side's reach is
    min(max excursion / target, 1) and ``reach`` their mean. The target is ``target_mm``, or
    ``target_share`` of the patient's ``earlier_max_mm``, or without either 40 % of the stance
    width (healthy adults shift ~95 % BW onto one leg; ~65 % onto the paretic leg after
    stroke: Goldie 1996). With the affected side known (side-to-side shifts) and no target
    given, the target toward the affected side is 30 % of the stance width, and ``reach`` is
    0.75 · reach toward the affected side + 0.25 · reach toward the other: shifts never made
    toward the affected side score at most 47.5. A smaller excursion to either side or less
    directional control never scores higher.
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
        c = self.context
        sided = self.axis == "lateral" and c.affected_side in ("left", "right")
        targets = dict.fromkeys(
            self.names, self.target_mm or DEFAULT_TARGET_SHARE * c.stance_width_mm
        )
        if sided and self.target_mm is None:
            targets[c.affected_side] = AFFECTED_TARGET_SHARE * c.stance_width_mm
        reaches = {n: min(metrics[f"max_{n}_mm"] / targets[n], 1.0) for n in self.names}
        if sided:
            # the flag compares the distances themselves (mm), not the capped, target-scaled
            # reaches: 35 mm one way and 95 mm the other is avoidance, whatever the targets
            toward = metrics[f"max_{c.affected_side}_mm"]
            away = metrics[f"max_{c.unaffected_side}_mm"]
            metrics["reach_ratio_affected"] = 1.0 if toward >= away else toward / away
        control = metrics.get("directional_control_pct", 0.0) / 100
        score = weight_shift_score(reaches, control, c.affected_side if sided else None)
        if sided and self.start is not None and np.isfinite(x).any():
            right = m.weight_right_pct(x[np.isfinite(x)], c.stance_width_mm, c.feet_centre_x_mm)
            affected = right if c.affected_side == "right" else 100.0 - right
            # the most weight the affected leg took (95th percentile: one sample is noise)
            metrics["weight_affected_pct"] = float(np.percentile(affected, 95))
        return metrics, score

    def _flags(self, metrics: dict) -> list[str]:
        flags = []
        if metrics.get("reach_ratio_affected", 1.0) < AVOIDED_RATIO:
            flags.append("weight_on_unaffected_side")
        done = all(metrics.get(f"shifts_{n}", 0) >= self.cycles for n in self.names)
        far = self.target_mm is None or all(
            metrics.get(f"max_{n}_mm", 0.0) >= self.target_mm for n in self.names
        )
        if done and far:  # every shift prescribed, to the target when there is one
            flags.append("target_reached")
        return flags

    def _sides(self):
        c = self.context
        if self.axis == "lateral" and c.affected_side in ("left", "right"):
            return {"affected": c.affected_side, "unaffected": c.unaffected_side}
        return {}
