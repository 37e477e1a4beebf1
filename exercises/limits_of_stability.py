"""Limits of stability: an assessment of how far, how fast and how straight the patient can lean
in eight directions, after NeuroCom's LOS test.

The exercise leads: it waits until the patient stands still in the middle, shows a target in one
direction (the cue), gives up to 8 s to lean toward it, waits for the return to the middle, and
goes on to the next direction. Targets lie at the theoretical limits of stability — 8.5° forward,
4.5° back and 8° to each side of sway about the ankles, at a centre-of-mass height of 0.55 × body
height — but never beyond the feet.

Per direction (NeuroCom definitions):
- reaction time (s): from the cue to the start of the movement (5 % of the target distance);
- movement velocity (mm/s): mean speed from 5 % to 95 % of the primary movement;
- endpoint excursion (%): how far the primary movement went before its first stop, toward the
  target, in % of the target distance;
- maximum excursion (%): the farthest point reached toward the target while the cue was up;
- directional control (%): (movement toward the target − movement across it) / movement toward it.
"""

from __future__ import annotations

import math

import numpy as np

from exercises.base import Event, Exercise, LiveState, Quality, TrialContext

DIRECTIONS = (
    ("forward", 0.0),
    ("forward-right", 45.0),
    ("right", 90.0),
    ("back-right", 135.0),
    ("back", 180.0),
    ("back-left", 225.0),
    ("left", 270.0),
    ("forward-left", 315.0),
)
LIMIT_DEG = {"forward": 8.5, "back": 4.5, "side": 8.0}
HEIGHT_RANGE_M = (1.0, 2.3)  # the heights the target formula is meant for
CENTRE_MM = 15.0  # "in the middle" = within this of the start
STILL_S = 1.0
REACH_S = 8.0
ONSET = 0.05  # of the target distance: the movement has started
STOP_MM_S = 20.0  # slower than this after the onset: the primary movement has stopped


class LimitsOfStability(Exercise):
    """Eight directions in turn; see the module docstring for the measures.

    :param body_height_m: sets the target distances (default 1.70 m).
    :param foot_length_mm: targets never lie beyond the feet (forward/back half a foot length
        from the feet's centre, sideways the stance half-width plus half a foot width).

    Score (0-100): the mean over directions of 0.6 × min(maximum excursion, 100 %) + 0.4 × max
    (directional control, 0). Shorter or more crooked leans never score higher.
    """

    name = "limits-of-stability"

    def __init__(
        self,
        context: TrialContext | None = None,
        *,
        body_height_m: float = 1.70,
        foot_length_mm: float = 260.0,
        foot_width_mm: float = 105.0,
        directions=DIRECTIONS,
    ) -> None:
        super().__init__(context)
        low, high = HEIGHT_RANGE_M
        if not low <= body_height_m <= high:
            raise ValueError(f"body height must be between {low} and {high} m")
        height_mm = 0.55 * body_height_m * 1000
        half_stance = self.context.stance_width_mm / 2
        forward = min(height_mm * math.tan(math.radians(LIMIT_DEG["forward"])), foot_length_mm / 2)
        back = min(height_mm * math.tan(math.radians(LIMIT_DEG["back"])), foot_length_mm / 2)
        side = min(
            height_mm * math.tan(math.radians(LIMIT_DEG["side"])), half_stance + foot_width_mm / 2
        )
        self.directions = list(directions)
        self.targets = {}
        for name, angle in self.directions:
            a = math.radians(angle)
            ux, uy = math.sin(a), math.cos(a)
            # an ellipse through the four limits: the target distance along this direction
            ry = forward if uy >= 0 else back
            distance = 1 / math.sqrt((ux / side) ** 2 + (uy / ry) ** 2)
            self.targets[name] = (ux, uy, distance)
        self._index = 0
        self._phase = "centre"
        self._since: float | None = None
        self.start: tuple[float, float] | None = None
        self._trace: list[tuple[float, float, float]] = []  # (t, x, y) while the cue is up
        self._cue_t = 0.0
        self.results: dict[str, dict] = {}

    def _target_xy(self, name: str) -> tuple[float, float]:
        ux, uy, d = self.targets[name]
        return self.start[0] + ux * d, self.start[1] + uy * d

    def _step(self, t, x, y, total) -> LiveState:
        if not (math.isfinite(x) and math.isfinite(y)):
            return self._state
        if self.start is None:
            self.start = (x, y)
            self._since = t
        if self._index >= len(self.directions):
            return LiveState("done", "Well done.", t, 0.0, {"done": len(self.results)}, done=True)
        name = self.directions[self._index][0]
        off_centre = math.hypot(x - self.start[0], y - self.start[1])
        if self._phase == "centre":
            if off_centre > CENTRE_MM:
                self._since = t
            elif t - self._since >= STILL_S:
                self._phase = "reach"
                self._cue_t = t
                self._trace = [(t, x, y)]
                self.events.append(Event(t, "cue", {"direction": name}))
            return LiveState(
                "centre",
                "Stand still in the middle.",
                t,
                None,
                {"done": len(self.results)},
                {"direction": name},
            )
        if self._phase == "reach":
            self._trace.append((t, x, y))
            if t - self._cue_t >= REACH_S:
                self.results[name] = self._measure(name)
                self._phase = "centre"
                self._since = t
                self._index += 1
            tx, ty = self._target_xy(name)
            return LiveState(
                "reach",
                f"Lean {name.replace('-', ' and ')}, as far as you can, then come back.",
                t - self._cue_t,
                REACH_S - (t - self._cue_t),
                {"done": len(self.results)},
                {"direction": name, "x_mm": tx, "y_mm": ty},
            )
        return self._state

    def _measure(self, name: str) -> dict[str, float]:
        ux, uy, distance = self.targets[name]
        trace = np.array(self._trace)
        t = trace[:, 0] - self._cue_t
        dx, dy = trace[:, 1] - self.start[0], trace[:, 2] - self.start[1]
        along = dx * ux + dy * uy
        across = -dx * uy + dy * ux
        out = {"target_mm": distance}
        started = np.nonzero(along >= ONSET * distance)[0]
        if len(started) == 0:
            out.update(
                reaction_time_s=math.nan,
                movement_velocity_mm_s=0.0,
                endpoint_excursion_pct=0.0,
                max_excursion_pct=0.0,
                directional_control_pct=0.0,
            )
            return out
        onset = int(started[0])
        speed = np.abs(np.gradient(along, t)) if len(t) > 2 else np.zeros(len(t))
        # the primary movement ends at its first stop after reaching speed, or at the peak
        moving = np.nonzero(speed[onset:] > STOP_MM_S)[0]
        end = len(along) - 1
        if len(moving):
            after = onset + int(moving[0])
            stops = np.nonzero(speed[after:] < STOP_MM_S)[0]
            if len(stops):
                end = after + int(stops[0])
        end = max(end, onset + 1)
        primary = along[onset : end + 1]
        lo, hi = 0.05 * primary.max(), 0.95 * primary.max()
        inside = np.nonzero((primary >= lo) & (primary <= hi))[0]
        if len(inside) > 1:
            a, b = onset + inside[0], onset + inside[-1]
            velocity = (along[b] - along[a]) / max(t[b] - t[a], 1e-6)
        else:
            velocity = 0.0
        on_path = float(np.sum(np.abs(np.diff(along[onset : end + 1]))))
        off_path = float(np.sum(np.abs(np.diff(across[onset : end + 1]))))
        out.update(
            reaction_time_s=float(t[onset]),
            movement_velocity_mm_s=float(velocity),
            endpoint_excursion_pct=float(100 * along[end] / distance),
            max_excursion_pct=float(100 * along.max() / distance),
            directional_control_pct=float(100 * (on_path - off_path) / on_path) if on_path else 0.0,
        )
        return out

    def _finish(self, arrays: dict, quality: Quality):
        metrics: dict[str, float] = {}
        parts = []
        for name, values in self.results.items():
            key = name.replace("-", "_")
            for measure, value in values.items():
                metrics[f"{key}_{measure}"] = value
            parts.append(
                0.6 * min(values["max_excursion_pct"], 100)
                + 0.4 * max(values["directional_control_pct"], 0.0)
            )
        for measure in (
            "reaction_time_s",
            "movement_velocity_mm_s",
            "endpoint_excursion_pct",
            "max_excursion_pct",
            "directional_control_pct",
        ):
            values = [v[measure] for v in self.results.values() if math.isfinite(v[measure])]
            metrics[f"mean_{measure}"] = float(np.mean(values)) if values else math.nan
        metrics["directions_done"] = len(self.results)
        score = float(np.sum(parts) / len(self.directions)) if parts else 0.0
        return metrics, score
