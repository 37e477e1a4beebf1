"""Tandem and semi-tandem stance: how long the feet stay heel to toe, and the sway meanwhile.

The SPPB balance test's harder stands (Guralnik et al. 1994): semi-tandem (the heel of one foot
beside the big toe of the other) and tandem (one foot right in front of the other), each held
up to 10 s; a tandem held 3 to 9.99 s scores 1, 10 s or more 2.

On one board the feet are not seen, but stepping is: lifting a foot to place it, or to step out,
moves the centre of pressure at once onto the other foot, tens of millimetres away (sideways from
feet side by side, forward or back from tandem). So the hold starts when the last foot of the
placing is down (the CoP back within ``BASE_MM`` of the middle and staying there), and ends at the
first step out of it (the CoP leaving that base for at least ``STEP_OUT_S``, timed at the moment it
was half-way out: a shorter excursion is a sway, not a step), at a sudden loss of load (a hand
grabbing the chair, a foot to the floor) or at stepping off. What ended it is an event
(``hold_ended``). A hand resting on the chair does not end the hold, but with the body mass known
it is measured (support, % body weight) and flagged like everywhere else.
"""

from __future__ import annotations

import math
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
    ramp_score,
    support_factor,
)

STANCES = ("tandem", "semi-tandem")
FRONT_FEET = ("left", "right")
STEP_MM = 45.0  # the CoP this far from the middle: a foot is off the board's surface
BASE_MM = 30.0  # back within this of the middle: both feet down again
SETTLE_S = 0.6  # the CoP stays in the base this long: the stance is taken
STEP_OUT_S = 0.25  # out of the base at least this long: a step, not a sway
WAIT_FOR_PLACING_S = 30.0  # live: give up waiting for the feet after this long
VELOCITY_BEST_MM_S, VELOCITY_WORST_MM_S = 10.0, 80.0


class TandemStance(Exercise):
    """Stand with the ``front`` foot in front of the other, heel to toe, for ``hold_s`` seconds.

    :param front: the front foot ("left" or "right"; ``--leg`` in replay).
    :param stance: "tandem" (heel to toe) or "semi-tandem" (heel beside the big toe).
    :param hold_s: the target (s; 10 in the SPPB).
    :param ceiling_s: live, the patient may keep going past the target up to this (s); None
        stops at the target (the time is then a lower bound, "≥").

    Metrics: hold_s, mean_velocity_mm_s and ellipse_area_95_mm2 during the hold, and with the
    body mass known support_pct_bw_mean (the load missing from the board: a hand on the chair).

    Score (0-100) = (85 · min(hold / target, 1) + 15 · the velocity ramp (10 mm/s or less: 100,
    80 mm/s: 0, log-linear)) × the support factor (``exercises.base.support_factor``: 1 under
    3 % of body weight on the chair, 0.5 at 20 %). A shorter hold, more sway or more support
    never scores higher.
    """

    name = "tandem-stance"
    measures_support = True

    def __init__(
        self,
        context: TrialContext | None = None,
        *,
        front: str = "left",
        stance: str = "tandem",
        hold_s: float = 10.0,
        ceiling_s: float | None = None,
    ) -> None:
        super().__init__(context)
        if front not in FRONT_FEET:
            raise ValueError("front must be 'left' or 'right'")
        if stance not in STANCES:
            raise ValueError("stance must be 'tandem' or 'semi-tandem'")
        if hold_s <= 0:
            raise ValueError("hold_s must be positive")
        if ceiling_s is not None and ceiling_s < hold_s:
            raise ValueError("ceiling_s must be at least hold_s")
        self.front = front
        self.stance = stance
        self.hold_s = hold_s
        self.ceiling_s = ceiling_s or hold_s
        # the middle between the feet's marks: a foot lifted to be placed moves the CoP far from
        # it; once the stance is taken, the middle is where the CoP settled
        self.centre: tuple[float, float] = (self.context.feet_centre_x_mm, 0.0)
        self._settling: list[tuple[float, float]] = []
        self._track: deque[tuple[float, float]] = deque(maxlen=200)  # (t, distance)
        self.phase = "placing"  # placing → holding → ended
        self._stepped = False  # a step of the placing was seen
        self._back_since: float | None = None
        self._back_at: float | None = None  # when the last step came back into the base
        self._out_since: float | None = None  # holding: when the CoP left the base
        self.start: float | None = None
        self.end: float | None = None
        self.ended_by: str | None = None  # step, loss of balance, stepping off, trial end

    def _distance(self, x: float, y: float) -> float:
        return math.hypot(x - self.centre[0], y - self.centre[1])

    def _half_way(self, level: float, *, rising: bool) -> float:
        """When the distance from the middle last crossed ``level``."""
        track = list(self._track)
        for (ta, a), (tb, b) in zip(reversed(track[:-1]), reversed(track[1:]), strict=True):
            crossed = (a < level <= b) if rising else (a > level >= b)
            if crossed:
                return ta + (tb - ta) * (level - a) / (b - a) if b != a else tb
        return track[-1][0]

    def _step(self, t, x, y, total) -> LiveState:
        if not (math.isfinite(x) and math.isfinite(y)):
            return self._state
        d = self._distance(x, y)
        self._track.append((t, d))
        if self.phase == "placing":
            if d > STEP_MM:
                self._stepped = True
                self._back_since = None
            elif self._stepped and d < BASE_MM:
                if self._back_since is None:
                    self._back_since = t
                    self._settling = []
                    peak = max(dd for tt, dd in self._track if tt >= t - 1.0)
                    self._back_at = self._half_way(peak / 2, rising=False)
                self._settling.append((x, y))
                if t - self._back_since >= SETTLE_S:
                    self.phase = "holding"
                    self.start = self._back_at
                    xs, ys = zip(*self._settling, strict=True)
                    self.centre = (float(np.median(xs)), float(np.median(ys)))
                    self._track.clear()
        elif self.phase == "holding":
            if d <= STEP_MM:
                self._out_since = None  # back before it was a step: a sway
            if d > STEP_MM:
                if self._out_since is None:
                    self._out_since = t
                elif t - self._out_since >= STEP_OUT_S:
                    # timed from the start of the excursion, not from its confirmation
                    before = [p for p in self._track if p[0] <= self._out_since]
                    peak = max(dd for tt, dd in before if tt >= self._out_since - 0.3)
                    self._track = deque(before, maxlen=self._track.maxlen)
                    self._end(self._half_way(max(peak, STEP_MM) / 2, rising=True), "step")
            elif any(e.kind == "loss_of_balance" for e in self.events):
                lob = next(e for e in self.events if e.kind == "loss_of_balance")
                self._end(lob.t_s, "loss of balance")
        return self._live(t)

    def _end(self, t: float, why: str) -> None:
        self.phase = "ended"
        self.end = max(t, self.start or t)
        self.ended_by = why
        self.events.append(Event(self.end, "hold_ended", {"by": why}))

    def _live(self, t: float) -> LiveState:
        live = self.context.live
        target = {"hold_s": self.hold_s, "front": self.front}
        if self.phase == "placing":
            if live and t > WAIT_FOR_PLACING_S:
                return LiveState("done", "Let's try again another time.", t, 0.0, {}, target, True)
            back = "right" if self.front == "left" else "left"
            prompt = (
                f"Put your {self.front} foot straight in front of your {back} foot, heel "
                "against toes."
                if self.stance == "tandem"
                else f"Put your {self.front} foot half a foot forward, beside your {back} foot."
            )
            return LiveState("place", prompt, t, None, {}, target)
        held = (self.end if self.end is not None else t) - self.start
        if self.phase == "ended":
            return LiveState("done", "Well done. Stand as you like.", held, 0.0, {}, target, True)
        if live and held >= self.ceiling_s:
            self._end(self.start + self.ceiling_s, "trial end")
            return LiveState("done", "Time is up. Well done.", held, 0.0, {}, target, True)
        if held >= self.hold_s:
            return LiveState(
                "hold",
                "Target reached! Keep going if you can.",
                held,
                max(0.0, self.ceiling_s - held),
                {},
                target,
            )
        return LiveState("hold", "Hold it… keep still.", held, self.hold_s - held, {}, target)

    def _finish(self, arrays: dict, quality: Quality):
        if self.start is None:
            quality.warnings.append("the feet were not seen being placed: no hold measured")
            return {"hold_s": 0.0}, 0.0
        end = self.end
        if end is None:
            end = arrays["t"][-1] if len(arrays["t"]) else self.start
            if self.interrupted_at is not None:
                end = min(end, self.interrupted_at)
                self._end(end, "stepping off")
            else:
                self._end(end, "trial end")
        hold = max(0.0, end - self.start)
        metrics: dict[str, float] = {"hold_s": float(hold)}
        t, x, y = arrays["t"], arrays["x"], arrays["y"]
        during = (t >= self.start) & (t <= end)
        if self.context.body_mass_kg and during.any():
            support = self.support_pct(arrays["total"][during])
            metrics["support_pct_bw_mean"] = max(0.0, float(np.mean(support)))
        inside = (t >= self.start + 0.2) & (t <= end - 0.2) & np.isfinite(x)
        velocity = math.nan
        if inside.sum() >= 30:
            fs, _, (xf, yf) = self.uniform(t[inside], x[inside], y[inside])
            velocity = m.mean_velocity(xf, yf, fs)
            metrics["mean_velocity_mm_s"] = velocity
            metrics["ellipse_area_95_mm2"] = m.ellipse_area_95(xf, yf)
        sway = ramp_score(velocity, VELOCITY_BEST_MM_S, VELOCITY_WORST_MM_S) / 100
        held = support_factor(metrics.get("support_pct_bw_mean"))
        return metrics, (85 * min(hold / self.hold_s, 1.0) + 15 * sway) * held

    def _flags(self, metrics: dict) -> list[str]:
        flags = []
        if metrics.get("support_pct_bw_mean", 0.0) >= SUPPORT_FLAG_PCT:
            flags.append("support")
        if metrics.get("hold_s", 0.0) >= self.hold_s - 1e-6:
            flags.append("target_reached")
        return flags

    def _lower_bounds(self) -> list[str]:
        return ["hold_s"] if self.ended_by == "trial end" else []

    def _sides(self):
        c = self.context
        out = {"front": self.front, "stance": self.stance}
        if c.affected_side in ("left", "right"):
            out["front_leg"] = "affected" if self.front == c.affected_side else "unaffected"
        return out
