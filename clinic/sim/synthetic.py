"""Weeks of plausible, clearly labelled synthetic records: for the demo's report, the report's
tests and its benchmark (12 weeks of daily sessions), where real weeks of use cannot be waited for.

Every trial made here carries the note ``synthetic`` so it is never mistaken for a measurement. The
trends follow the clinical picture in ../shared/notes/posturography.md: sway velocity falling
towards the older-adult median, weight on the affected leg rising from about 40 % towards equal,
the affected leg's one-leg time well below the other's and improving. The last two standing
trials carry real recordings from ``device.sim.generator`` so the stabilogram page has data; with
``recordings="every"`` every trial carries one, as the app keeps them (years of records for the
benchmarks: a few generated recordings, kept in turn).

The weeks are written as one batch (``Store.batch``): a commit and a sync per write, which a live
trial needs, would make five years take minutes.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

from clinic.program import DEFAULT_PROGRAM, program_text
from clinic.store import compress_recording
from device.sim.generator import quiet_stance

NOTE = "synthetic"
TZ = timezone(timedelta(hours=1))


def _result(
    exercise: str,
    score: float,
    metrics: dict,
    sides: dict | None = None,
    *,
    flags: tuple = (),
    lower_bounds: tuple = (),
) -> dict:
    return {
        "exercise": exercise,
        "score": round(max(0.0, min(100.0, score)), 1),
        "metrics": {k: round(v, 3) if isinstance(v, float) else v for k, v in metrics.items()},
        "events": [],
        "quality": {
            "sample_rate_hz": 80.0,
            "samples": 2400,
            "dropped_samples": 0,
            "faulty_samples": 0,
            "noise_floor_mm": 0.2,
            "calibration_age_days": 10.0,
            "clock_synchronised": True,
            "sensor_faults": [],
            "warnings": [],
            "scorable": True,
        },
        "sides": sides or {},
        "flags": list(flags),
        "lower_bounds": list(lower_bounds),
    }


def fill_history(
    store,
    code: str,
    first_day: date,
    days: int,
    *,
    seed: int = 0,
    adherence: float = 0.85,
    recordings: bool | str = True,
) -> int:
    """Add ``days`` days of sessions (each day trained with probability ``adherence``) for an
    existing patient; returns the number of trials added.

    :param recordings: True: the last two standing trials carry a generated 20 s recording;
        "every": every trial carries a 30 s one (eight generated recordings in turn); False:
        none.
    """
    with store.batch():
        return _fill(store, code, first_day, days, seed, adherence, recordings)


EVERY_RECORDING_S = 30.0
EVERY_RECORDING_KINDS = 8


def _fill(store, code, first_day, days, seed, adherence, recordings) -> int:
    rng = random.Random(seed)
    kept = []
    if recordings == "every":  # made once: kept thousands of times
        kept = [
            compress_recording(quiet_stance(seed + n, seconds=EVERY_RECORDING_S).recording)
            for n in range(EVERY_RECORDING_KINDS)
        ]
    patient = store.patient(code)
    affected = patient.affected_side or "left"
    other = "right" if affected == "left" else "left"
    store.save_program(
        code,
        program_text(DEFAULT_PROGRAM),
        datetime.combine(first_day, datetime.min.time(), TZ).isoformat(),
        "default",
    )
    added = 0
    standing_trials: list[int] = []
    for i in range(days):
        if rng.random() > adherence:
            continue
        progress = i / max(days - 1, 1)
        start = datetime.combine(first_day + timedelta(days=i), datetime.min.time(), TZ)
        start += timedelta(hours=10, minutes=rng.randint(0, 90))
        # synthetic: made by no board, as the simulated board's are (kept apart from a real
        # patient's trends, labelled in the report)
        session = store.start_session(code, start.isoformat(), board="sim", clock_synchronised=True)
        t = start

        def trial(exercise, params, result, minutes=2, session=session):
            nonlocal t, added
            t += timedelta(minutes=minutes)
            trial_id = store.begin_trial(session, exercise, params, t.isoformat())
            ended = (t + timedelta(seconds=40)).isoformat()
            store.finish_trial(trial_id, result, None, ended)
            store.set_note(trial_id, NOTE)
            if kept:
                store.set_recording(trial_id, kept[added % len(kept)])
            added += 1
            return trial_id

        velocity = 14.0 - 4.0 * progress + rng.gauss(0, 1.0)
        weight = 40.0 + 6.0 * progress + rng.gauss(0, 1.5)
        standing_trials.append(
            trial(
                "quiet-stance",
                {"eyes": "open", "duration_s": 10.0},
                _result(
                    "quiet-stance",
                    100 - 4 * (velocity - 6),
                    {
                        "mean_velocity_mm_s": velocity,
                        "ellipse_area_95_mm2": 260 - 80 * progress + rng.gauss(0, 30),
                        "weight_affected_pct": weight,
                        f"weight_{affected}_pct": weight,
                        f"weight_{other}_pct": 100 - weight,
                        "asymmetry_pct": 100 - 2 * weight,
                        "duration_s": 10.0,
                    },
                    {"affected": affected, "unaffected": other},
                ),
            )
        )
        reps = min(5, 3 + round(2 * progress + rng.gauss(0, 0.5)))
        trial(
            "heel-raises",
            {"target_reps": 5},
            _result("heel-raises", 20 * reps, {"reps": reps, "mean_amplitude_mm": 45.0}),
        )
        leg = affected if i % 2 == 0 else other
        hold = (3.0 + 5.0 * progress) if leg == affected else (10.0 + 4.0 * progress)
        hold = max(0.5, hold + rng.gauss(0, 1.0))
        # the chair carries less as she improves (support fading), more on the affected leg
        support = max(0.0, (14.0 if leg == affected else 6.0) * (1 - progress) + rng.gauss(0, 1))
        reached = hold >= 8.0  # the trial stops at the target: the time is a lower bound then
        trial(
            "flamingo",
            {"leg": leg, "hold_s": 8.0},
            _result(
                "flamingo",
                min(100.0, 100 * hold / 8.0),
                {
                    "first_hold_s": min(hold, 8.0),
                    "single_leg_time_s": min(hold, 8.0),
                    "touchdowns": 0 if reached else 1,
                    "support_pct_bw_mean": support,
                    "unsupported_hold_s": min(hold, 8.0) if support < 3 else 0.0,
                },
                {"stance": "affected" if leg == affected else "unaffected"},
                flags=("target_reached",) * reached + ("support",) * (support >= 3),
                lower_bounds=("first_hold_s", "single_leg_time_s") if reached else (),
            ),
        )
        control = 55 + 20 * progress + rng.gauss(0, 5)
        trial(
            "weight-shift",
            {"cycles": 2},
            _result("weight-shift", control, {"directional_control_pct": control}),
        )
        store.end_session(session, (t + timedelta(minutes=1)).isoformat())
    if recordings is True:
        for n, trial_id in enumerate(standing_trials[-2:]):
            store.set_recording(trial_id, quiet_stance(seed + n, seconds=20.0).recording)
    return added
