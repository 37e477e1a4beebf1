"""The stance check at the start of a session: are the feet on their marks?

The weight on each leg comes from the side-to-side CoP between the feet's centres, so a foot
placed 30 mm out reads as a different share (../shared/notes/stroke-balance.md). The board has a
heel cup at each mark (``hardware/building.md``): a foot cannot sit inward of its mark, only out
of it. Leaning onto each foot in turn, both feet down, holding the chair, moves the CoP toward
that foot's centre; a lean that goes more than ``OUTSIDE_MM`` beyond the mark shows the foot is
outside it, and its centre is then taken from the lean. A lean that does not get far enough to
tell (under ``LEAN_SHARE`` of the way) leaves that foot "assumed on its mark", and the results
say so.

Pure: fed ``CopSample``\\ s like an exercise; not scored.
"""

from __future__ import annotations

import math

import numpy as np

from exercises.base import Exercise, LiveState, Quality, TrialContext

SIDES = ("left", "right")
LEAN_SHARE = 0.6  # of the way from the middle to a mark: far enough to tell
OUTSIDE_MM = 25.0  # a lean this far beyond a mark: the foot is outside it
HOLD_S = 1.5  # a lean held this long is measured
TRY_S = 10.0  # each side is given this long


class StanceCheck(Exercise):
    """Lean onto the left foot, then the right, both feet down, holding the chair.

    Metrics: left_foot_x_mm, right_foot_x_mm (each foot's centre: its mark, or the lean when
    the foot is outside it), feet_centre_x_mm, stance_width_mm, and per side whether it was
    measured (``left_measured``: 1 or 0) and how far outside its mark it is (mm, 0 on it).
    """

    name = "stance-check"
    detects_loss_of_balance = False

    def __init__(self, context: TrialContext | None = None) -> None:
        super().__init__(context)
        c = self.context
        half = c.stance_width_mm / 2
        self.marks = {"left": c.feet_centre_x_mm - half, "right": c.feet_centre_x_mm + half}
        self.side_index = 0
        self._since: float | None = None  # the side's attempt started
        self._held_from: float | None = None
        self.reach: dict[str, float] = {}  # the farthest lean toward each side (mm)
        self._xs: list[float] = []

    @property
    def side(self) -> str | None:
        return SIDES[self.side_index] if self.side_index < len(SIDES) else None

    def _step(self, t, x, y, total) -> LiveState:
        side = self.side
        if side is None:
            return LiveState("done", "Thank you. Stand evenly.", t, 0.0, done=True)
        if self._since is None:
            self._since = t
        if math.isfinite(x):
            mid = self.context.feet_centre_x_mm
            toward = (mid - x) if side == "left" else (x - mid)
            needed = LEAN_SHARE * self.context.stance_width_mm / 2
            if toward >= needed:
                self._xs.append(x)
                self._held_from = t if self._held_from is None else self._held_from
            else:
                self._held_from = None
            if (self._held_from is not None and t - self._held_from >= HOLD_S) or (
                t - self._since >= TRY_S
            ):
                if self._xs:
                    far = np.percentile(self._xs, 5 if side == "left" else 95)
                    self.reach[side] = float(far)
                self._xs, self._since, self._held_from = [], None, None
                self.side_index += 1
        return LiveState(
            "lean",
            f"Hold the chair. Keep both feet down and lean onto your {side} foot.",
            t,
            None,
            {"side": side},
            {"side": side},
        )

    def _finish(self, arrays: dict, quality: Quality):
        metrics: dict[str, float] = {}
        feet = {}
        for side in SIDES:
            mark = self.marks[side]
            reach = self.reach.get(side)
            outside = 0.0
            if reach is not None:
                beyond = (mark - reach) if side == "left" else (reach - mark)
                outside = max(0.0, beyond - OUTSIDE_MM)
            feet[side] = mark - outside if side == "left" else mark + outside
            metrics[f"{side}_measured"] = float(reach is not None)
            metrics[f"{side}_outside_mm"] = outside
            metrics[f"{side}_foot_x_mm"] = feet[side]
        metrics["feet_centre_x_mm"] = (feet["left"] + feet["right"]) / 2
        metrics["stance_width_mm"] = feet["right"] - feet["left"]
        return metrics, None


def stance_from(metrics: dict) -> dict:
    """What a stance check found, for the trials' context: the feet's midpoint and distance,
    and whether both feet were measured."""
    return {
        "feet_centre_x_mm": metrics["feet_centre_x_mm"],
        "stance_width_mm": metrics["stance_width_mm"],
        "measured": bool(metrics["left_measured"] and metrics["right_measured"]),
        "left_outside_mm": metrics["left_outside_mm"],
        "right_outside_mm": metrics["right_outside_mm"],
    }
