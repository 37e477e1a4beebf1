"""Replay: score a recording with the same exercise code that runs live.

``balance-board replay FILE --exercise EXERCISE [--leg left|right] [--lowpass-hz F] --json``
prints one JSON object ``{"exercise", "score", "metrics", "events", "quality"}``; tools outside
the project rely on that shape and on the metric names.
"""

from __future__ import annotations

import numpy as np

from device.cop import OnBoard, centre_of_pressure
from device.geometry import BoardGeometry
from device.recording import Recording
from device.samples import CopSample
from exercises.base import Result, TrialContext
from exercises.conditioning import DEFAULT_LOWPASS_HZ
from exercises.registry import NAMES, exercise_spec

EXERCISES = NAMES
"""The exercises a recording can be scored as (limits of stability replays a live recording)."""

SIDE_SENSITIVE = ("quiet-stance", "weight-shift")  # need the stance width to split the weight


def cop_samples(recording: Recording, *, on_kg: float = 10.0, off_kg: float = 5.0):
    """The recording's CoP samples, as the live tracker makes them (same formula, same on-board
    hysteresis), computed for all samples at once. Replays need no display filter."""
    x, y, total = centre_of_pressure(
        recording.loads_kg, recording.board_width_mm, recording.board_depth_mm
    )
    none = (None,) * 4
    presence = OnBoard(on_kg, off_kg)
    for t, xi, yi, kg in zip(
        recording.t_s.tolist(), x.tolist(), y.tolist(), total.tolist(), strict=True
    ):
        if presence.update(kg):
            yield CopSample(t, kg, xi, yi, xi, yi, True, none)
        else:
            yield CopSample(t, kg, None, None, None, None, False, none)


def replay(
    recording: Recording,
    exercise: str,
    *,
    leg: str | None = None,
    lowpass_hz: float = DEFAULT_LOWPASS_HZ,
    affected_side: str | None = None,
) -> Result:
    """Feed every sample of ``recording`` to ``exercise`` and score the whole of it."""
    spec = exercise_spec(exercise)
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
    params = {}
    if "leg" in spec.parameter_names:
        params["leg"] = leg or recording.leg or spec.parameter("leg").default
    item = spec.create(context, params)
    for sample in cop_samples(recording):
        item.feed(sample)
    result = item.finish()
    if not recording.stance_width_mm and exercise in SIDE_SENSITIVE:
        result.quality.warnings.append(
            f"stance width not in the recording: {context.stance_width_mm:g} mm assumed"
        )
    return result
