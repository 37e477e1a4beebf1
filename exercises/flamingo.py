"""Flamingo: stand on one leg, with lift-off, touch-down and hand-support detection.

On one board (../shared/notes/posturography.md, "Single-leg stance"): lift-off = the CoP moves
over the stance foot; the raised foot down on the board = the CoP comes back toward the midline
with the total load unchanged; the raised foot on the floor, or a hand on the chair = the total
load drops below ~90 % of body weight for more than ~0.2 s.

A *touch-down* is a return to support (the other foot on the board or the floor, or a hand)
that is followed by another lift-off; the final step down is not one. Event times are taken where
the movement is half done.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from exercises import metrics as m
from exercises.base import Event, Exercise, LiveState, Quality, TrialContext

LIFT_SHARE = 0.85  # share of the load over the stance foot that means "on one leg"
DOWN_SHARE = 0.72  # below this, the other foot is back on the board
LOAD_DROP = 0.90  # total below this share of body weight = floor or hand support
CONFIRM_LIFT_S = 0.15
CONFIRM_BOARD_S = 0.08
CONFIRM_DROP_S = 0.20
FLOOR_DROP = 0.25  # a drop bigger than this share of body weight: a foot on the floor
WAIT_FOR_LIFT_S = 30.0  # live: give up waiting for the lift after this long


class Flamingo(Exercise):
    """Stand on ``leg`` (the stance leg) for ``hold_s`` seconds (default 30).

    Metrics: first_hold_s (lift-off to the first return to support), single_leg_time_s (all
    time on one leg), touchdowns, and sway on one leg (mean_velocity_mm_s, ellipse_area_95_mm2).

    Score (0-100) = 60 · min(first hold / target, 1) + 40 · min(time on one leg / target, 1),
    less 5 per touch-down, not below 0. The target defaults to 30 s, the clinical test's usual
    ceiling; normative first holds with eyes open are about 25-29 s at 60-69 years, 11-18 s at
    70-79 and 6-7 s over 80, and under 5 s goes with injurious falls (approximate, secondary
    sources; Berg item 14: > 10 s scores 4). Fewer seconds or more touch-downs never score higher.
    """

    name = "flamingo"

    def __init__(
        self, context: TrialContext | None = None, *, leg: str = "left", hold_s: float = 30.0
    ) -> None:
        super().__init__(context)
        if leg not in ("left", "right"):
            raise ValueError("leg must be 'left' or 'right'")
        if hold_s <= 0:
            raise ValueError("hold_s must be positive")
        self.leg = leg
        self.hold_s = hold_s
        self.phase = "ready"  # ready → single ⇄ support
        self._pending: tuple[str, float] | None = None  # (transition, since)
        self._history: deque[tuple[float, float, float]] = deque(maxlen=400)
        self._first_lift: float | None = None
        self._lift_t: float | None = None
        self._periods: list[tuple[float, float]] = []  # single-leg periods (start, end)
        self._supports: list[Event] = []
        self._last_t = 0.0
        self._support_drop: float | None = None  # load level of a floor or hand support
        self._touchdowns = 0
        self._target = {"hold_s": hold_s, "leg": leg}
        self._lift_prompt = (
            f"Hold the chair. Lift your other foot, stand on your {self.side_label(leg)} leg."
        )

    def share(self, x: float) -> float:
        """Share of the load over the stance foot (0.5 = even, 1 = all on the stance foot)."""
        right = self.weight_right_pct(x) / 100
        return right if self.leg == "right" else 1 - right

    def _step(self, t, x, y, total) -> LiveState:
        self._last_t = t
        share = self.share(x) if np.isfinite(x) else 0.0
        load = total / self._body_kg if self._body_kg else 1.0
        self._history.append((t, share, load))
        if self.phase in ("ready", "support"):
            lifted = share >= LIFT_SHARE and load >= LOAD_DROP
            if self._confirm("lift", lifted, t, CONFIRM_LIFT_S):
                self._on_lift(t)
        elif self.phase == "single":
            if self._confirm("board", share < DOWN_SHARE, t, CONFIRM_BOARD_S):
                self._on_support(t, "board")
            elif self._confirm("drop", load < LOAD_DROP and share >= DOWN_SHARE, t, CONFIRM_DROP_S):
                self._on_support(t, "drop")
        return self._live_state(t)

    def _confirm(self, what: str, condition: bool, t: float, needed_s: float) -> bool:
        """True once ``condition`` has held for ``needed_s``."""
        if not condition:
            if self._pending and self._pending[0] == what:
                self._pending = None
            return False
        if not self._pending or self._pending[0] != what:
            self._pending = (what, t)
        if t - self._pending[1] >= needed_s:
            self._pending = None
            return True
        return False

    def _half_time(self, column: int, level_from: float, level_to: float) -> float:
        """When the signal last crossed halfway between two levels (the movement half done)."""
        half = (level_from + level_to) / 2
        rising = level_to > level_from
        history = list(self._history)
        for i in range(len(history) - 1, 0, -1):
            a, b = history[i - 1][column], history[i][column]
            crossed = (a < half <= b) if rising else (a > half >= b)
            if crossed:
                ta, tb = history[i - 1][0], history[i][0]
                return ta + (tb - ta) * (half - a) / (b - a) if b != a else tb
        return history[-1][0]

    def _level_before(self, column: int, t_before: float, window_s: float = 0.5) -> float:
        values = [h[column] for h in self._history if t_before - window_s <= h[0] <= t_before]
        return float(np.median(values)) if values else self._history[0][column]

    def _on_lift(self, t: float) -> None:
        if self._support_drop is not None:
            # off the chair or the floor again, the foot still up: the load comes back
            t_half = self._half_time(2, self._support_drop, 1.0)
        else:
            start = self._lift_t_start()
            t_half = self._half_time(1, self._level_before(1, start), 1.0)
        self._support_drop = None
        if self.phase == "support" and self._supports:
            # the support we were in is followed by a lift: it was a touch-down
            support = self._supports[-1]
            self.events.append(Event(support.t_s, "touchdown", dict(support.detail)))
            self._touchdowns += 1
        self.events.append(Event(t_half, "lift_off"))
        self._lift_t = t_half
        if self._first_lift is None:
            self._first_lift = t_half
        self.phase = "single"

    def _lift_t_start(self) -> float:
        # the level before the lift: the last moment the share was low
        for h in reversed(self._history):
            if h[1] < DOWN_SHARE:
                return h[0]
        return self._history[0][0]

    def _on_support(self, t: float, how: str) -> None:
        if how == "board":
            t_half = self._half_time(1, 1.0, 0.5)
            detail = {"where": "board"}
        else:
            drop_level = min(h[2] for h in self._history if h[0] >= t - CONFIRM_DROP_S)
            t_half = self._half_time(2, 1.0, drop_level)
            depth = 1.0 - drop_level
            detail = {
                "where": "floor" if depth >= FLOOR_DROP else "hand",
                "load_drop_pct": round(100 * depth, 1),
            }
            self._support_drop = drop_level
        self._periods.append((self._lift_t, max(t_half, self._lift_t)))
        self._supports.append(Event(t_half, "support", detail))
        self._lift_t = None
        self.phase = "support"

    def _live_state(self, t: float) -> LiveState:
        counters = {"touchdowns": self._touchdowns}
        target = self._target
        if self._first_lift is None:
            if self.context.live and t > WAIT_FOR_LIFT_S:
                return LiveState(
                    "done", "Let's try again another time.", t, 0.0, counters, target, done=True
                )
            return LiveState(
                "lift",
                self._lift_prompt,
                t,
                self.hold_s,
                counters,
                target,
            )
        held = t - self._first_lift
        remaining = max(0.0, self.hold_s - held)
        if self.context.live and held >= self.hold_s:
            return LiveState(
                "done", "Time is up. Put your foot down.", held, 0.0, counters, target, done=True
            )
        if self.phase == "single":
            return LiveState("hold", "Hold it… keep going.", held, remaining, counters, target)
        return LiveState(
            "lift", "Lift your foot again when you are ready.", held, remaining, counters, target
        )

    def _finish(self, arrays: dict, quality: Quality):
        t_end = self._last_t
        if self.context.live and self._first_lift is not None:
            t_end = min(t_end, self._first_lift + self.hold_s)
        periods = list(self._periods)
        if self.phase == "single" and self._lift_t is not None:
            periods.append((self._lift_t, t_end))
        periods = [(a, min(b, t_end)) for a, b in periods if a < t_end]
        first_hold = periods[0][1] - periods[0][0] if periods else 0.0
        single = float(sum(b - a for a, b in periods))
        touchdowns = sum(1 for e in self.events if e.kind == "touchdown")
        metrics = {
            "first_hold_s": float(first_hold),
            "single_leg_time_s": single,
            "touchdowns": touchdowns,
            "hand_supports": sum(
                1 for e in self.events if e.kind == "touchdown" and e.detail.get("where") == "hand"
            ),
        }
        metrics.update(self._sway_on_one_leg(arrays, periods))
        score = (
            60 * min(first_hold / self.hold_s, 1.0)
            + 40 * min(single / self.hold_s, 1.0)
            - 5 * touchdowns
        )
        return metrics, max(0.0, score)

    def _sway_on_one_leg(self, arrays: dict, periods) -> dict:
        t, x, y = arrays["t"], arrays["x"], arrays["y"]
        path, duration, xs, ys = 0.0, 0.0, [], []
        for a, b in periods:
            inside = (t >= a + 0.2) & (t <= b - 0.2) & np.isfinite(x)  # leave the transitions out
            if inside.sum() < 30:
                continue
            fs, _, (xf, yf) = self.uniform(t[inside], x[inside], y[inside])
            path += m.path_length(xf, yf)
            duration += len(xf) / fs
            xs.append(xf - xf.mean())
            ys.append(yf - yf.mean())
        if not xs:
            return {"mean_velocity_mm_s": float("nan"), "ellipse_area_95_mm2": float("nan")}
        return {
            "mean_velocity_mm_s": path / duration,
            "ellipse_area_95_mm2": m.ellipse_area_95(np.concatenate(xs), np.concatenate(ys)),
        }

    def _sides(self):
        c = self.context
        if c.affected_side in ("left", "right"):
            return {"stance": "affected" if self.leg == c.affected_side else "unaffected"}
        return {}
