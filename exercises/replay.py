"""Replay: score a recording with the same exercise code that runs live.

``balance-board replay FILE --exercise EXERCISE [--leg left|right] [--lowpass-hz F] --json``
prints one JSON object ``{"exercise", "score", "metrics", "events", "quality"}``; tools outside
the project rely on that shape and on the metric names.
"""

from __future__ import annotations

import numpy as np

from device.calibration import LoadSample
from device.cop import CentreOfPressureTracker
from device.geometry import BoardGeometry
from device.recording import Recording
from exercises.base import Exercise, Result, TrialContext
from exercises.conditioning import DEFAULT_LOWPASS_HZ


def exercise_types() -> dict[str, type[Exercise]]:
    from exercises.flamingo import Flamingo
    from exercises.quiet_stance import QuietStance
    from exercises.raises import HeelRaises, ToeRaises
    from exercises.weight_shift import WeightShift

    return {
        "quiet-stance": QuietStance,
        "flamingo": Flamingo,
        "heel-raises": HeelRaises,
        "toe-raises": ToeRaises,
        "weight-shift": WeightShift,
    }


EXERCISES = ("quiet-stance", "flamingo", "heel-raises", "toe-raises", "weight-shift")


def replay(
    recording: Recording,
    exercise: str,
    *,
    leg: str | None = None,
    lowpass_hz: float = DEFAULT_LOWPASS_HZ,
    affected_side: str | None = None,
) -> Result:
    """Feed every sample of ``recording`` to ``exercise`` and score the whole of it."""
    types = exercise_types()
    if exercise not in types:
        raise ValueError(f"unknown exercise {exercise!r}; one of {', '.join(EXERCISES)}")
    dt = np.diff(recording.t_s)
    rate = 1.0 / float(np.median(dt)) if len(dt) else 80.0
    context = TrialContext(
        stance_width_mm=recording.stance_width_mm or BoardGeometry().stance_width_mm,
        body_mass_kg=None,
        affected_side=affected_side,
        rate_hz=rate,
        lowpass_hz=lowpass_hz,
        live=False,
    )
    kwargs = {}
    if exercise == "flamingo":
        kwargs["leg"] = leg or recording.leg or "left"
    item = types[exercise](context, **kwargs)
    geometry = BoardGeometry(
        width_mm=recording.board_width_mm,
        depth_mm=recording.board_depth_mm,
        stance_width_mm=context.stance_width_mm,
    )
    tracker = CentreOfPressureTracker(geometry, rate_hz=rate)
    none = (None,) * 4
    for t, loads in zip(recording.t_s.tolist(), recording.loads_kg.tolist(), strict=True):
        item.feed(tracker.update(LoadSample(t, tuple(loads), none)))
    result = item.finish()
    if not recording.stance_width_mm and exercise in ("quiet-stance", "weight-shift"):
        result.quality.warnings.append(
            f"stance width not in the recording: {context.stance_width_mm:g} mm assumed"
        )
    return result
