"""Flamingo: stand on one leg, with lift-off, touch-down and support measured.

On one board (../shared/notes/posturography.md, "Single-leg stance"): lift-off = the CoP moves
over the stance foot; the raised foot down on the board = the CoP comes back toward the midline
with the total load unchanged; the raised foot on the floor = the total load drops by a quarter
of body weight or more, suddenly.

Support is measured, not guessed (../shared/notes/stroke-balance.md): with the body mass known
(weighed at the session's start, or the recording's ``subject_mass_kg``), the load missing from
the board at every moment is what a hand on the chair carries. A hand on the chair does not end
the hold: the hold goes on, and its support is reported as a share of body weight. The therapist
may prescribe a limit (``max_support_pct``: "hold 20 s with at most 10 % on the chair") that is
progressed toward none.

A *touch-down* is a return to support (the other foot on the board or the floor) that is
followed by another lift-off; the final step down is not one. Event times are taken where the
movement is half done.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from exercises import metrics as m
from exercises.base import (
    SUPPORT_FLAG_PCT,
    Event,
    Exercise,
    LiveState,
    Quality,
    TrialContext,
)

LEGS = ("left", "right")
LIFT_SHARE = 0.85  # share of the load over the stance foot that means "on one leg"
DOWN_SHARE = 0.72  # below this, the other foot is back on the board
LIFT_MIN_LOAD = 0.6  # on one leg the board carries at least this much (the rest: the chair)
CONFIRM_LIFT_S = 0.15
CONFIRM_BOARD_S = 0.08
CONFIRM_DROP_S = 0.20
# a drop bigger than this share of body weight: a foot on the floor (a hand on a chair carries a
# few % to about 20 %: ../shared/notes/stroke-balance.md)
FLOOR_DROP = 0.3
WAIT_FOR_LIFT_S = 30.0  # live: give up waiting for the lift after this long
SUPPORT_SMOOTH_S = 0.4  # support is judged over this much time (a sway is not a support)
SUPPORT_TOLERANCE_PCT = 2.0  # within the prescribed limit up to this much above it
SUPPORT_GRACE_S = 0.5  # beyond the limit this long: the hold within it has ended


class Flamingo(Exercise):
    """Stand on ``leg`` (the stance leg) for ``hold_s`` seconds (default 30).

    :param leg: the stance leg, "left" or "right".
    :param hold_s: the target (s).
    :param ceiling_s: live, the patient may keep going past the target up to this (s); None
        stops at the target (the time is then a lower bound, "≥").
    :param max_support_pct: the most support allowed while holding (% of body weight); None:
        no limit (the support is still measured and reported).

    Metrics: first_hold_s (lift-off to the first return to support), single_leg_time_s (all
    time on one leg), touchdowns, support_pct_bw_mean (mean load missing from the board while on
    one leg, % body weight), unsupported_hold_s (time on one leg with under 3 % support),
    hold_within_support_s (first hold within the prescribed support), and sway on one leg
    (mean_velocity_mm_s, ellipse_area_95_mm2).

    Score (0-100) = 60 · min(first hold within the support limit / target, 1)
    + 40 · min(time on one leg / target, 1), less 5 per touch-down, not below 0. The target
    defaults to 30 s, the clinical test's usual ceiling; normative first holds with eyes open
    are about 27 s at 60-69 years, 15 s at 70-79 and 6 s over 80 (Springer et al. 2007), and
    under 5 s goes with injurious falls (Vellas et al. 1997). Fewer seconds, more touch-downs or
    more support beyond the limit never score higher.
    """

    name = "flamingo"
    measures_support = True

    def __init__(
        self,
        context: TrialContext | None = None,
        *,
        leg: str = "left",
        hold_s: float = 30.0,
        ceiling_s: float | None = None,
        max_support_pct: float | None = None,
    ) -> None:
        super().__init__(context)
        if leg not in LEGS:
            raise ValueError("leg must be 'left' or 'right'")
        if hold_s <= 0:
            raise ValueError("hold_s must be positive")
        if ceiling_s is not None and ceiling_s < hold_s:
            raise ValueError("ceiling_s must be at least hold_s")
        if max_support_pct is not None and not 0 <= max_support_pct <= 100:
            raise ValueError("max_support_pct must be between 0 and 100")
        self.leg = leg
        self.hold_s = hold_s
        self.ceiling_s = ceiling_s or hold_s
        self.max_support_pct = max_support_pct
        self.support_prescribed = max_support_pct is not None
        self.phase = "ready"  # ready → single ⇄ support
        self._pending: tuple[str, float] | None = None  # (transition, since)
        self._history: deque[tuple[float, float, float]] = deque(maxlen=400)  # t, share, load
        self._first_lift: float | None = None
        self._lift_t: float | None = None
        self._periods: list[tuple[float, float]] = []  # single-leg periods (start, end)
        self._supports: list[Event] = []
        self._last_t = 0.0
        self._support_drop: float | None = None  # load level of a floor support
        self._touchdowns = 0
        self._target_t: float | None = None  # when the first hold reached the target
        self._helped = False  # the first hold went beyond its support limit (live)
        self._support_mean = 0.0  # running mean of the support (% body weight)
        self._support_t: float | None = None
        self._over_since: float | None = None
        self._cut_first = False  # the first hold was still going when the trial ended
        self._cut_any = False
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
            back = self._support_drop is None or load >= self._support_drop + 0.8 * FLOOR_DROP
            lifted = share >= LIFT_SHARE and load >= LIFT_MIN_LOAD and back
            if self._confirm("lift", lifted, t, CONFIRM_LIFT_S):
                self._on_lift(t)
        elif self.phase == "single":
            level = self._single_level(t)
            if self._confirm("board", share < DOWN_SHARE, t, CONFIRM_BOARD_S):
                self._on_support(t, "board")
            elif self._confirm("drop", load < level - FLOOR_DROP, t, CONFIRM_DROP_S):
                self._on_support(t, "floor", level)
        if self.phase == "single" and not self._periods and self._body_kg:
            self._watch_support(t, load)
        if (
            self._target_t is None
            and not self._helped
            and self.phase == "single"
            and self._first_lift is not None
            and not self._periods
            and t - self._first_lift >= self.hold_s
        ):
            self._target_t = self._first_lift + self.hold_s
            self.events.append(Event(self._target_t, "target_reached", {"hold_s": self.hold_s}))
        return self._live_state(t)

    def _watch_support(self, t: float, load: float) -> None:
        """Live, during the first hold: has the support gone beyond its limit for longer than
        a moment (the same rule as ``hold_within_support_s``, on a running mean)? Then the
        target cannot be reached in this hold, and the screen does not say it was."""
        support = 100.0 * (1.0 - load)
        dt = t - self._support_t if self._support_t is not None else 0.0
        self._support_t = t
        alpha = min(1.0, dt / SUPPORT_SMOOTH_S) if dt > 0 else 1.0
        self._support_mean += alpha * (support - self._support_mean)
        if self._support_mean <= self._support_limit():
            self._over_since = None
        elif self._over_since is None:
            self._over_since = t
        elif t - self._over_since >= SUPPORT_GRACE_S:
            self._helped = True

    def _support_limit(self) -> float:
        """The support (% body weight) beyond which the hold is no longer within it."""
        if self.max_support_pct is not None:
            return self.max_support_pct + SUPPORT_TOLERANCE_PCT
        return SUPPORT_FLAG_PCT

    def _single_level(self, t: float) -> float:
        """The load (share of body weight) while on one leg, before the last moments: the level
        a foot on the floor drops from."""
        values = [h[2] for h in self._history if t - 1.5 <= h[0] <= t - CONFIRM_DROP_S - 0.1]
        return float(np.median(values)) if values else 1.0

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
            # off the floor again, the foot still up: the load comes back
            t_half = self._half_time(2, self._support_drop, self._support_drop + FLOOR_DROP)
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

    def _on_support(self, t: float, where: str, level: float = 1.0) -> None:
        if where == "board":
            t_half = self._half_time(1, 1.0, 0.5)
            detail = {"where": "board"}
        else:
            drop_level = min(h[2] for h in self._history if h[0] >= t - CONFIRM_DROP_S)
            t_half = self._half_time(2, level, drop_level)
            detail = {"where": "floor", "load_drop_pct": round(100 * (level - drop_level), 1)}
            self._support_drop = drop_level
        self._periods.append((self._lift_t, max(t_half, self._lift_t)))
        self._supports.append(Event(t_half, "support", detail))
        self._lift_t = None
        self.phase = "support"

    def _live_state(self, t: float) -> LiveState:
        counters = {"touchdowns": self._touchdowns}
        target = self._target
        live = self.context.live
        if self._first_lift is None:
            if live and t > WAIT_FOR_LIFT_S:
                return LiveState(
                    "done", "Let's try again another time.", t, 0.0, counters, target, done=True
                )
            return LiveState("lift", self._lift_prompt, t, self.hold_s, counters, target)
        held = t - self._first_lift
        reached = self._target_t is not None
        if live and held >= self.ceiling_s:
            return LiveState(
                "done", "Time is up. Put your foot down.", held, 0.0, counters, target, done=True
            )
        if live and reached and self.phase == "support":
            return LiveState("done", "Well done.", held, 0.0, counters, target, done=True)
        if self.phase == "single":
            if self._helped and not self._periods and held >= self.hold_s:
                return LiveState(
                    "hold",
                    "The time is there, with help from the chair. Keep going if you can.",
                    held,
                    max(0.0, self.ceiling_s - held),
                    counters,
                    target,
                )
            if reached:
                remaining = max(0.0, self.ceiling_s - held)
                return LiveState(
                    "hold",
                    "Target reached! Keep going if you can.",
                    held,
                    remaining,
                    counters,
                    target,
                )
            remaining = max(0.0, self.hold_s - held)
            return LiveState("hold", "Hold it… keep going.", held, remaining, counters, target)
        remaining = max(0.0, self.hold_s - held)
        return LiveState(
            "lift", "Lift your foot again when you are ready.", held, remaining, counters, target
        )

    def _single_periods(self) -> tuple[list[tuple[float, float]], bool]:
        """The periods on one leg, up to the trial's end; and whether the last one was cut by
        the end (still on one leg when the trial stopped)."""
        t_end = self._last_t
        if self.interrupted_at is not None:
            t_end = min(t_end, self.interrupted_at)
        if self.context.live and self._first_lift is not None:
            t_end = min(t_end, self._first_lift + self.ceiling_s)
        periods = list(self._periods)
        cut = self.phase == "single" and self._lift_t is not None
        if cut:
            periods.append((self._lift_t, t_end))
        periods = [(a, min(b, t_end)) for a, b in periods if a < t_end]
        return periods, cut and bool(periods)

    def _finish(self, arrays: dict, quality: Quality):
        periods, cut = self._single_periods()
        self._cut_first = cut and len(periods) == 1
        self._cut_any = cut
        # a foot put down on the floor is a touch-down (the hold ends), her choice, not a loss of
        # balance; a sudden grab at the chair while still on one leg stays one
        floor = [e.t_s for e in self._supports if e.detail.get("where") == "floor"]
        self.events = [
            e
            for e in self.events
            if not (e.kind == "loss_of_balance" and any(abs(e.t_s - f) < 0.5 for f in floor))
        ]
        first_hold = periods[0][1] - periods[0][0] if periods else 0.0
        single = float(sum(b - a for a, b in periods))
        touchdowns = sum(1 for e in self.events if e.kind == "touchdown")
        metrics = {
            "first_hold_s": float(first_hold),
            "single_leg_time_s": single,
            "touchdowns": touchdowns,
        }
        metrics.update(self._support(arrays, periods))
        within = metrics.get("hold_within_support_s", first_hold)
        metrics.update(self._sway_on_one_leg(arrays, periods))
        score = (
            60 * min(within / self.hold_s, 1.0)
            + 40 * min(single / self.hold_s, 1.0)
            - 5 * touchdowns
        )
        return metrics, max(0.0, score)

    def _support(self, arrays: dict, periods) -> dict:
        """Support while on one leg: its mean, the time held without it, and the first hold
        within the prescribed limit."""
        support = self.support_pct(arrays["total"])
        if support is None or not periods:
            return {}
        t = arrays["t"]
        rate = self.context.rate_hz
        k = max(1, round(SUPPORT_SMOOTH_S * rate))
        smooth = np.convolve(support, np.ones(k) / k, mode="same")
        dt = np.diff(t, append=t[-1] if len(t) else 0.0)
        on_one = np.zeros(len(t), dtype=bool)
        for a, b in periods:
            on_one |= (t >= a) & (t < b)
        if not on_one.any():
            return {}
        out = {
            "support_pct_bw_mean": max(0.0, float(np.mean(support[on_one]))),
            "unsupported_hold_s": float(np.sum(dt[on_one & (smooth < SUPPORT_FLAG_PCT)])),
        }
        # the first hold counts until the support first went beyond the prescribed limit (2
        # points of tolerance) for SUPPORT_GRACE_S; without a prescription, beyond 3 %: 25 % on
        # the chair is not the same hold as none, and a moment's wobble of the load is not a
        # hand on the chair
        limit = self._support_limit()
        a, b = periods[0]
        first = (t >= a) & (t < b)
        beyond = first & (smooth > limit)
        held = b - a
        since = None
        for ti, over in zip(t[first], beyond[first], strict=True):
            if not over:
                since = None
            elif since is None:
                since = ti
            elif ti - since >= SUPPORT_GRACE_S:
                held = since - a
                break
        out["hold_within_support_s"] = float(max(0.0, held))
        return out

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

    def _flags(self, metrics: dict) -> list[str]:
        flags = []
        if metrics.get("support_pct_bw_mean", 0.0) >= SUPPORT_FLAG_PCT:
            flags.append("support")
        held = metrics.get("hold_within_support_s", metrics.get("first_hold_s", 0.0))
        if held >= self.hold_s - 1.0 / self.context.rate_hz:  # within a sample of it
            flags.append("target_reached")
        return flags

    def _lower_bounds(self) -> list[str]:
        bounds = []
        if self._cut_first:
            bounds += ["first_hold_s", "hold_within_support_s", "unsupported_hold_s"]
        if self._cut_any:
            bounds.append("single_leg_time_s")
        return bounds

    def _sides(self):
        c = self.context
        if c.affected_side in ("left", "right"):
            return {"stance": "affected" if self.leg == c.affected_side else "unaffected"}
        return {}
