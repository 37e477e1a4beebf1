"""Replay: score a recording with the same exercise code that runs live.

``balance-board replay FILE --exercise EXERCISE [--leg left|right] [--affected-side left|right]
[--body-mass-kg M] [--lowpass-hz F] --json`` prints one JSON object ``{"exercise", "score",
"metrics", "events", "quality", "sides", "flags", "lower_bounds"}``; tools outside the project
rely on that shape and on the metric, event and flag names.

The recording's header says what the trial was made with (README, "Recording format v1"): the
exercise and its settings (``exercise``, ``parameters``, ``leg``), the affected side, the body
mass and how it was known, the feet's positions, the board's rate, its calibration date, the
clock, and whether it was made live (``live: yes``: the app ended it at its target, ceiling or
time limit, and replay ends it at the same point). A recording exported from the records holds
all of it, so that replaying it gives the score the app gave. Arguments given here take
precedence. Without a body mass the exercise estimates it from its first second, and says so.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from device.cop import OFF_KG, ON_KG, OnBoard, centre_of_pressure
from device.geometry import BoardGeometry
from device.recording import Recording
from device.samples import CopSample, LoadSample
from device.watch import FROZEN_KG, LoadWatch
from exercises.base import Result, TrialContext
from exercises.conditioning import DEFAULT_LOWPASS_HZ
from exercises.registry import NAMES, ExerciseSpec, exercise_spec

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


def recording_rate_hz(recording: Recording) -> float:
    """The readings a second the trial was scored with: the header's ``rate_hz`` (the board's
    nominal rate, as the app used it), else measured from the times."""
    if recording.rate_hz:
        return recording.rate_hz
    dt = np.diff(recording.t_s)
    return 1.0 / float(np.median(dt)) if len(dt) else 80.0


def recording_exercise(recording: Recording, exercise: str | None) -> str:
    """``exercise``, else the recording's own (its header); ValueError when neither says."""
    name = exercise or recording.exercise
    if not name:
        raise ValueError("the recording does not say which exercise it is: give --exercise")
    exercise_spec(name)  # ValueError naming the exercises for an unknown one
    return name


def recording_settings(recording: Recording, spec: ExerciseSpec) -> dict:
    """The exercise's settings from the header's ``parameters``, each checked as a program's
    are (ValueError naming it); none when the header is for another exercise."""
    if not recording.parameters or recording.exercise not in (None, spec.name):
        return {}
    settings = {}
    for name, value in recording.parameters.items():
        if name not in spec.parameter_names:
            raise ValueError(f"parameters: {spec.name} has no setting {name!r}")
        parameter = spec.parameter(name)
        if value is None and parameter.optional:
            settings[name] = None
            continue
        try:
            settings[name] = parameter.check(value)
        except ValueError as exc:
            raise ValueError(f"parameters: {exc}") from None
    return settings


def calibration_age_days(recording: Recording) -> float | None:
    """Days from the board's calibration to the trial (the header's ``calibrated_at`` and
    ``started_at``), as the app reckoned it; None when either is missing."""
    if not (recording.calibrated_at and recording.started_at):
        return None
    try:
        since = datetime.fromisoformat(recording.started_at) - datetime.fromisoformat(
            recording.calibrated_at
        )
    except TypeError:  # one with a UTC offset, the other without: not comparable
        return None
    return since.total_seconds() / 86400


def cop_samples(recording: Recording, *, on_kg: float = ON_KG, off_kg: float = OFF_KG):
    """The recording's CoP samples, as the live tracker makes them (same formula, same on-board
    hysteresis, the same watch for a cell that stopped sensing load), computed for all samples
    at once. Replays need no display filter."""
    x, y, total = centre_of_pressure(
        recording.loads_kg, recording.board_width_mm, recording.board_depth_mm
    )
    none = (None,) * 4
    presence = OnBoard(on_kg, off_kg)
    watch = LoadWatch(rate_hz=recording_rate_hz(recording))
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
    exercise: str | None = None,
    *,
    leg: str | None = None,
    lowpass_hz: float = DEFAULT_LOWPASS_HZ,
    affected_side: str | None = None,
    body_mass_kg: float | None = None,
    params: dict | None = None,
) -> Result:
    """Feed every sample of ``recording`` to ``exercise`` (default: the header's) and score
    it: the whole of it, or, made live (``live: yes``), up to where the app ended it.

    The exercise's settings, the affected side, the body mass, the feet and the rest default to
    the recording's header; ``params`` are settings given here (``eyes``, ``hold_s``…), over
    the header's. Raises ``NotScorable`` with the reason for a recording that cannot be scored
    at all, ValueError for settings that are not the exercise's."""
    exercise = recording_exercise(recording, exercise)
    spec = exercise_spec(exercise)
    settings = recording_settings(recording, spec)
    problem = scorable_problem(recording)
    if problem is not None:
        raise NotScorable(problem)
    mass, source = body_mass_kg, "given"
    if mass is None and recording.subject_mass_kg:
        # how the app knew it (weighed that session, or the record's) decides what it flags
        mass, source = recording.subject_mass_kg, recording.subject_mass_source or "recording"
    context = TrialContext(
        stance_width_mm=recording.stance_width_mm or BoardGeometry().stance_width_mm,
        feet_centre_x_mm=recording.feet_centre_x_mm or 0.0,
        feet_measured=recording.feet_measured,
        body_mass_kg=mass,
        body_mass_source=source if mass else None,
        affected_side=affected_side or recording.affected_side,
        rate_hz=recording_rate_hz(recording),
        lowpass_hz=lowpass_hz,
        calibration_age_days=calibration_age_days(recording),
        clock_synchronised=recording.clock_synchronised,
        live=recording.live,
    )
    if spec.leg_parameter:  # --leg: the stance leg, or the front foot of a tandem stance
        name = spec.leg_parameter
        settings[name] = leg or settings.get(name) or recording.leg or spec.parameter(name).default
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
