"""Sit-to-stand with the feet on the board: repetitions, the time for five, and the weight on the
affected leg during the rises.

Seated, the board carries only the feet (about a fifth of body weight); standing, all of it. A
repetition is a rise from seated to standing: the load passes ``STAND_SHARE`` of body weight after
having been below ``SEAT_SHARE`` (hysteresis, so a wobble is not a repetition). Each rise runs
from the moment the load had risen a tenth of the way from seated to standing (the start) to the
moment it was nine tenths of the way (standing): the five-times time (5×STS) is from the start of
the first rise to the fifth standing, the protocol that stops the clock at the fifth stand
(Bohannon 2006; Mong, Teo & Ng 2010).

During the rises the paretic leg typically takes only 25-40 % of the load, and an asymmetric rise
is linked with falls (Cheng et al. 1998; ../shared/notes/stroke-balance.md): with the affected side
known, its share during the rises is reported and scored.
"""

from __future__ import annotations

import math

import numpy as np

from exercises import metrics as m
from exercises.base import Event, Exercise, LiveState, Quality, TrialContext, linear_factor

STAND_SHARE = 0.8  # of body weight: standing
SEAT_SHARE = 0.45  # below this again: seated
RISE_FROM, RISE_TO = 0.1, 0.9  # of the way from seated to standing: a rise's start and end
FAST_S, SLOW_S = 12.0, 30.0  # 5×STS: 100 points at 12 s or less (stroke cut-off), 0 at 30 s
SHARE_FULL_PCT, SHARE_WORST_PCT, SHARE_FLOOR = 40.0, 20.0, 0.5
SHARE_FLAG_PCT = 35.0
WAIT_S = 120.0  # live: the exercise ends after this long whatever the count
ARMS = ("folded", "allowed")
ARMS_ALLOWED_WARNING = "arms allowed: a modified test, not comparable with the 12 s cut-off"


def sit_to_stand_score(repetitions: int, target_reps: int, five_times_s: float | None) -> float:
    """The score (0-100) before the affected leg's share: with a target of five or more,
    70 · min(repetitions / target, 1) + 30 · speed, speed 1 for five in ``FAST_S`` (12 s) or
    less, 0 at ``SLOW_S`` (30 s), linear between, and 0 with fewer than five (so one more
    repetition always scores more); with a target under five, 100 · min(repetitions / target, 1).

    >>> sit_to_stand_score(4, 5, None) < sit_to_stand_score(5, 5, 30.0)
    True
    """
    done = min(repetitions / target_reps, 1.0)
    if target_reps < 5:
        return 100 * done  # no five-times time to score
    speed = 0.0
    if repetitions >= 5 and five_times_s is not None:
        speed = linear_factor(-five_times_s, -FAST_S, -SLOW_S, 0.0)
    return 70 * done + 30 * speed


class SitToStand(Exercise):
    """Stand up from a chair and sit down again, ``target_reps`` times (default 5), the feet on
    the board.

    :param target_reps: repetitions to do (5 for the five-times test).
    :param arms: "folded" (the standard test: arms across the chest) or "allowed" (pushing up
        from the armrests: a modified test, said in the result's warnings and kept out of the
        comparison with the 12 s cut-off, which was measured with arms folded).

    Metrics: repetitions, five_times_s (start of the first rise to the fifth standing; only
    with five or more), mean_rise_s, and with the affected side known weight_affected_pct (its
    share during the rises).

    Score (0-100), with a target of five or more = 70 · min(repetitions / target, 1) + 30 ·
    speed, speed 1 with five done in 12 s or less, 0 at 30 s (linear) and 0 with fewer than
    five; with a target below five there is no five-times time: 100 · repetitions / target.
    With the affected side known, times a factor for its share during the rises (1 from 40 %,
    0.5 at 20 % or less). Fewer repetitions, a slower five or less weight on the affected leg
    never score higher.
    """

    name = "sit-to-stand"
    detects_loss_of_balance = False  # the load changes by design
    uses_weight_share = True

    def __init__(
        self, context: TrialContext | None = None, *, target_reps: int = 5, arms: str = "folded"
    ) -> None:
        super().__init__(context)
        if target_reps < 1:
            raise ValueError("target_reps must be at least 1")
        if arms not in ARMS:
            raise ValueError(f"arms must be one of {', '.join(ARMS)}")
        self.target_reps = target_reps
        self.arms = arms
        self.standing = False
        self._seated_level: float | None = None  # share of body weight on the board seated
        self._low = math.inf  # the lowest load since the last stand (this rise's seated level)
        self._history: list[tuple[float, float, float]] = []  # (t, load share, x)
        self.rises: list[dict] = []
        self._peak_load = 0.0

    def _body(self, total: float) -> float:
        """Body weight: given, else the highest steady load seen (standing)."""
        if self.context.body_mass_kg:
            return self.context.body_mass_kg
        self._peak_load = max(self._peak_load, total)
        return self._peak_load

    def _step(self, t, x, y, total) -> LiveState:
        body = self._body(total)
        share = total / body if body > 0 else 0.0
        self._history.append((t, share, x))
        if len(self._history) > 800:
            del self._history[:200]
        self._low = min(self._low, share)
        if not self.standing and share >= self._standing_level(self._low):
            self.standing = True
            self._on_rise(t, self._low)
        elif self.standing and share <= SEAT_SHARE:
            self.standing = False
            self._low = share
        done = self.context.live and (
            (len(self.rises) >= self.target_reps and not self.standing) or t > WAIT_S
        )
        if done:
            return self._live(t, "done", "Well done.", done=True)
        if self.standing:
            return self._live(t, "sit", "Now sit down slowly.")
        return self._live(t, "stand", "Stand up.")

    def _live(self, t: float, phase: str, prompt: str, *, done: bool = False) -> LiveState:
        return LiveState(
            phase,
            prompt,
            t,
            None,
            {"reps": len(self.rises)},
            {"reps": self.target_reps},
            done=done,
        )

    def _standing_level(self, seated: float) -> float:
        """The load (share of body weight) that means standing after being seated at
        ``seated``: nine tenths of the way up, and at least ``STAND_SHARE``; never from a
        seat that was not below ``SEAT_SHARE``."""
        if seated > SEAT_SHARE:
            return math.inf
        return max(STAND_SHARE, seated + RISE_TO * (1.0 - seated))

    def _on_rise(self, t: float, seated: float) -> None:
        """A rise just reached standing: when it started and ended, and the CoP meanwhile."""
        span = 1.0 - seated
        start_level, end_level = seated + RISE_FROM * span, self._standing_level(seated)
        history = self._history
        pairs = list(zip(reversed(history[:-1]), reversed(history[1:]), strict=True))
        end = start = history[-1][0]
        for (ta, a, _), (tb, b, _) in pairs:
            if a < end_level <= b:
                end = ta + (tb - ta) * (end_level - a) / (b - a)
                break
        for (ta, a, _), (tb, b, _) in pairs:
            if a < start_level <= b and tb <= end:
                start = ta + (tb - ta) * (start_level - a) / (b - a)
                break
        xs = [x for tt, _, x in history if start <= tt <= end and math.isfinite(x)]
        self.rises.append({"start": start, "end": end, "x": float(np.mean(xs)) if xs else math.nan})
        self.events.append(Event(end, "stand", {"rise_s": round(end - start, 2)}))

    def _finish(self, arrays: dict, quality: Quality):
        rises = self.rises
        metrics: dict[str, float] = {"repetitions": len(rises)}
        if rises:
            metrics["mean_rise_s"] = float(np.mean([r["end"] - r["start"] for r in rises]))
        if len(rises) >= 5:
            metrics["five_times_s"] = rises[4]["end"] - rises[0]["start"]
        score = sit_to_stand_score(len(rises), self.target_reps, metrics.get("five_times_s"))
        if self.arms == "allowed":
            quality.warnings.append(ARMS_ALLOWED_WARNING)
        xs = np.array([r["x"] for r in rises if math.isfinite(r["x"])])
        c = self.context
        if len(xs):
            right = float(np.mean(m.weight_right_pct(xs, c.stance_width_mm, c.feet_centre_x_mm)))
            metrics["weight_right_pct"] = right
            affected = self.affected_share_pct(right)
            if affected is not None:
                metrics["weight_affected_pct"] = affected
                score *= linear_factor(affected, SHARE_FULL_PCT, SHARE_WORST_PCT, SHARE_FLOOR)
        return metrics, score

    def _flags(self, metrics: dict) -> list[str]:
        flags = []
        if metrics.get("weight_affected_pct", 100.0) < SHARE_FLAG_PCT:
            flags.append("weight_on_unaffected_side")
        if metrics.get("repetitions", 0) >= self.target_reps:
            flags.append("target_reached")
        return flags

    def _lower_bounds(self) -> list[str]:
        """Live, the trial stops at the target: she might have done more ("≥")."""
        if self.context.live and len(self.rises) >= self.target_reps:
            return ["repetitions"]
        return []

    def _sides(self) -> dict[str, str]:
        return self._both_sides()
