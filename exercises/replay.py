"""Replay: score a recording with the same exercise code that runs live.

``balance-board replay FILE --exercise EXERCISE [--leg left|right] [--affected-side left|right]
[--body-mass-kg M] [--lowpass-hz F] --json`` prints one JSON object ``{"exercise", "score",
"metrics", "events", "quality", "sides", "flags", "lower_bounds"}``; tools outside the project
rely on that shape and on the metric, event and flag names.

The recording's header says the affected side (``affected_side``) and the body mass
(``subject_mass_kg``) when it was recorded; arguments given here take precedence. Without a body
mass the exercise estimates it from its first second, and says so.
"""

from __future__ import annotations

import numpy as np

from device.cop import OFF_KG, ON_KG, OnBoard, centre_of_pressure
from device.geometry import BoardGeometry
from device.recording import Recording
from device.samples import CopSample, LoadSample
from device.watch import FROZEN_KG, LoadWatch
from exercises.base import Result, TrialContext
from exercises.conditioning import DEFAULT_LOWPASS_HZ
from exercises.registry import NAMES, exercise_spec

EXERCISES = NAMES
"""The exercises a recording can be scored as (limits of stability replays a live recording)."""

SIDE_SENSITIVE = ("quiet-stance", "weight-shift")  # need the stance width to split the weight
MIN_DURATION_S = 1.0  # less than this is no trial to score


class NotScorable(ValueError):
    """A recording that can be read but not scored: the reason, in words."""


def scorable_problem(recording: Recording) -> str | None:
    """Why this recording cannot be scored at all, or None: too short, nobody on the board,
    loads that are negative (a calibration with the wrong sign), readings that never change (a
    working load cell always shows its amplifier's noise: ``device.watch.FROZEN_KG``)."""
    n = len(recording.t_s)
    if n < 2 or recording.duration_s < MIN_DURATION_S:
        return (
            f"too short to score: {n} sample(s), {recording.duration_s:.2f} s "
            f"(at least {MIN_DURATION_S:g} s)"
        )
    total = recording.loads_kg.sum(axis=1)
    if float(np.median(total)) < -ON_KG:
        return (
            f"the loads are negative (median {float(np.median(total)):.1f} kg): the calibration "
            "has the wrong sign, or the corners are wired the wrong way round"
        )
    if float(total.max()) < ON_KG:
        return (
            f"nobody stood on the board (the most it carried was {float(total.max()):.1f} kg; "
            f"someone on it carries more than {ON_KG:g} kg)"
        )
    if bool(np.all(recording.loads_kg.std(axis=0) < FROZEN_KG)):
        return "the readings did not change at all: the board was not sensing"
    return None


def cop_samples(recording: Recording, *, on_kg: float = ON_KG, off_kg: float = OFF_KG):
    """The recording's CoP samples, as the live tracker makes them (same formula, same on-board
    hysteresis, the same watch for a cell that stopped sensing load), computed for all samples
    at once. Replays need no display filter."""
    x, y, total = centre_of_pressure(
        recording.loads_kg, recording.board_width_mm, recording.board_depth_mm
    )
    none = (None,) * 4
    presence = OnBoard(on_kg, off_kg)
    dt = np.diff(recording.t_s)
    watch = LoadWatch(rate_hz=1.0 / float(np.median(dt)) if len(dt) else 80.0)
    loads = recording.loads_kg.tolist()
    for t, xi, yi, kg, corners in zip(
        recording.t_s.tolist(), x.tolist(), y.tolist(), total.tolist(), loads, strict=True
    ):
        faults = watch.update(LoadSample(t, tuple(corners), none)).faults
        if presence.update(kg):
            yield CopSample(t, kg, xi, yi, xi, yi, True, faults)
        else:
            yield CopSample(t, kg, None, None, None, None, False, faults)


def replay(
    recording: Recording,
    exercise: str,
    *,
    leg: str | None = None,
    lowpass_hz: float = DEFAULT_LOWPASS_HZ,
    affected_side: str | None = None,
    body_mass_kg: float | None = None,
    params: dict | None = None,
) -> Result:
    """Feed every sample of ``recording`` to ``exercise`` and score the whole of it.

    ``affected_side`` and ``body_mass_kg`` default to the recording's header; ``params`` are
    the exercise's settings (``eyes``, ``hold_s``…), as a program would give them. Raises
    ``NotScorable`` with the reason for a recording that cannot be scored at all."""
    spec = exercise_spec(exercise)
    problem = scorable_problem(recording)
    if problem is not None:
        raise NotScorable(problem)
    dt = np.diff(recording.t_s)
    rate = 1.0 / float(np.median(dt)) if len(dt) else 80.0
    mass, source = body_mass_kg, "given"
    if mass is None and recording.subject_mass_kg:
        mass, source = recording.subject_mass_kg, "recording"
    context = TrialContext(
        stance_width_mm=recording.stance_width_mm or BoardGeometry().stance_width_mm,
        body_mass_kg=mass,
        body_mass_source=source if mass else None,
        affected_side=affected_side or recording.affected_side,
        rate_hz=rate,
        lowpass_hz=lowpass_hz,
        live=False,
    )
    settings = {}
    if spec.leg_parameter:  # --leg: the stance leg, or the front foot of a tandem stance
        name = spec.leg_parameter
        settings[name] = leg or recording.leg or spec.parameter(name).default
    settings.update(params or {})
    item = spec.create(context, settings)
    for sample in cop_samples(recording):
        item.feed(sample)
    result = item.finish()
    if not recording.stance_width_mm and exercise in SIDE_SENSITIVE:
        result.quality.warnings.append(
            f"stance width not in the recording: {context.stance_width_mm:g} mm assumed"
        )
    return result
