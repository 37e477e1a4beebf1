"""The exercises on the project's own generated recordings (known answers), live and replayed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from balance_board.cli import main
from device.cop import centre_of_pressure, corner_loads
from device.geometry import BoardGeometry
from device.recording import write_recording
from device.samples import CopSample
from device.sim import generator
from device.sim.person import SimulatedPerson
from exercises.base import TrialContext, ramp_score
from exercises.flamingo import Flamingo
from exercises.limits_of_stability import LimitsOfStability
from exercises.quiet_stance import QuietStance, romberg
from exercises.raises import HeelRaises
from exercises.replay import cop_samples, replay
from exercises.weight_shift import WeightShift


def accuracy(kind: str, seeds) -> dict:
    """Share of generated recordings where the counts come out exact, and hold-time errors."""
    exact, hold_errors, n = 0, [], 0
    for seed in seeds:
        n += 1
        if kind == "flamingo":
            trial = generator.flamingo(seed)
            got = replay(trial.recording, "flamingo", leg=trial.truth["leg"]).metrics
            exact += got["touchdowns"] == trial.truth["touchdowns"]
            hold_errors.append(abs(got["first_hold_s"] - trial.truth["first_hold_s"]))
        elif kind in ("heel", "toe"):
            trial = generator.raises(seed, kind)
            got = replay(trial.recording, f"{kind}-raises").metrics
            exact += got["reps"] == trial.truth["reps"]
        elif kind == "weight-shift":
            trial = generator.weight_shift(seed)
            got = replay(trial.recording, "weight-shift").metrics
            exact += (got["shifts_left"], got["shifts_right"]) == (
                trial.truth["shifts_left"],
                trial.truth["shifts_right"],
            )
    return {"exact": exact / n, "max_hold_error_s": max(hold_errors, default=0.0), "n": n}


@pytest.mark.parametrize("kind", ["flamingo", "heel", "toe", "weight-shift"])
def test_generated_recordings_a_quick_sample(kind):
    result = accuracy(kind, range(1000, 1008))
    assert result["exact"] >= 0.85, result
    assert result["max_hold_error_s"] <= 0.3, result


@pytest.mark.slow
@pytest.mark.parametrize(
    ("kind", "needed"), [("flamingo", 0.95), ("heel", 0.98), ("toe", 0.98), ("weight-shift", 0.98)]
)
def test_generated_recordings_at_least_50_each(kind, needed):
    result = accuracy(kind, range(60))
    assert result["n"] >= 50
    assert result["exact"] >= needed, result
    assert result["max_hold_error_s"] <= 0.3, result


def test_flamingo_hold_times_and_events_are_half_way_through_the_movement():
    trial = generator.flamingo(7)
    result = replay(trial.recording, "flamingo", leg=trial.truth["leg"])
    assert result.metrics["first_hold_s"] == pytest.approx(trial.truth["first_hold_s"], abs=0.3)
    assert result.metrics["single_leg_time_s"] == pytest.approx(
        trial.truth["single_leg_time_s"], abs=0.3 * (1 + trial.truth["touchdowns"])
    )
    lift = next(e for e in result.events if e.kind == "lift_off")
    first = trial.script[0]  # (t, "lift_foot", {"duration": d})
    assert lift.t_s == pytest.approx(first[0] + first[2]["duration"] / 2, abs=0.2)


def test_weight_shift_excursions_match_the_script():
    trial = generator.weight_shift(3)
    got = replay(trial.recording, "weight-shift").metrics
    for side in ("left", "right"):
        if trial.truth[f"shifts_{side}"]:
            # the person sways on top of the lean, so the peak is the lean ± a few mm
            assert got[f"max_{side}_mm"] == pytest.approx(trial.truth[f"max_{side}_mm"], abs=12)


def test_quiet_stance_weight_bearing_on_generated_trials():
    for seed in range(5):
        trial = generator.quiet_stance(seed)
        got = replay(trial.recording, "quiet-stance").metrics["weight_right_pct"]
        assert got == pytest.approx(trial.truth["weight_right_pct"], abs=3)


# --- live use: the same classes fed sample by sample -----------------------------------------
def test_flamingo_live_ends_at_the_target_and_counts_touchdowns_as_they_happen():
    trial = generator.flamingo(11)
    context = TrialContext(live=True)
    live = Flamingo(context, leg=trial.truth["leg"], hold_s=8.0)
    states = []
    for sample in cop_samples(trial.recording):
        states.append(live.feed(sample))
        if states[-1].done:
            break
    assert states[-1].done and states[-1].phase == "done"
    assert states[-1].elapsed_s == pytest.approx(8.0, abs=0.05)
    assert any(s.phase == "hold" for s in states)
    assert all(s.prompt for s in states)
    result = live.finish()
    assert result.metrics["single_leg_time_s"] <= 8.0 + 1e-6


def test_heel_raises_live_counter_and_done():
    trial = generator.raises(5, "heel")
    live = HeelRaises(TrialContext(live=True), target_reps=3)
    counts = []
    for sample in cop_samples(trial.recording):
        state = live.feed(sample)
        counts.append(state.counters["reps"])
        if state.done:
            break
    assert counts[-1] == 3 and sorted(counts) == counts  # never counts down


def test_quiet_stance_live_stops_at_its_duration_and_romberg():
    trial = generator.quiet_stance(2, seconds=12)
    live = QuietStance(TrialContext(live=True), duration_s=10)
    for sample in cop_samples(trial.recording):
        if live.feed(sample).done:
            break
    assert live.finished
    open_eyes = live.finish().metrics
    closed = dict(open_eyes, mean_velocity_mm_s=open_eyes["mean_velocity_mm_s"] * 1.3)
    assert romberg(open_eyes, closed)["romberg_mean_velocity_mm_s"] == pytest.approx(1.3)


# --- faults, quality, sides -------------------------------------------------------------------
def test_a_sensor_fault_during_the_trial_is_named_and_not_scored():
    trial = generator.quiet_stance(1, seconds=10)
    exercise = QuietStance(TrialContext())
    for i, sample in enumerate(cop_samples(trial.recording)):
        if 300 <= i < 320:
            sample = CopSample(
                sample.t, None, None, None, None, None, True, ("not-responding", None, None, None)
            )
        exercise.feed(sample)
    result = exercise.finish()
    assert result.score is None
    assert result.quality.faulty_samples == 20
    assert result.quality.sensor_faults == [
        "front-left corner: not responding (check the cable and the amplifier's power)"
    ]
    assert result.to_dict()["quality"]["scorable"] is False


def test_quality_flags_rate_noise_calibration_clock():
    trial = generator.quiet_stance(4, seconds=20)
    context = TrialContext(calibration_age_days=400, clock_synchronised=False)
    exercise = QuietStance(context)
    for i, sample in enumerate(cop_samples(trial.recording)):
        if i % 3:  # two thirds of the samples lost
            exercise.feed(sample)
    q = exercise.finish().quality
    assert q.dropped_samples > 100
    assert 20 < q.sample_rate_hz < 60
    text = " ".join(q.warnings)
    assert "sample rate" in text and "400 days" in text and "not synchronised" in text
    assert q.noise_floor_mm is not None and q.noise_floor_mm < 0.5


def test_results_name_the_affected_side():
    trial = generator.flamingo(2)
    leg = trial.truth["leg"]
    result = replay(trial.recording, "flamingo", leg=leg, affected_side=leg)
    assert result.sides == {"stance": "affected"}
    quiet = replay(generator.quiet_stance(3).recording, "quiet-stance", affected_side="left")
    assert quiet.sides == {"affected": "left", "unaffected": "right"}
    assert quiet.metrics["weight_affected_pct"] == pytest.approx(quiet.metrics["weight_left_pct"])


# --- scores ------------------------------------------------------------------------------------
def test_more_sway_never_scores_higher():
    velocities = np.linspace(1, 100, 200)
    scores = [ramp_score(v, 5.2, 63.0) for v in velocities]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] == 100 and scores[-1] == 0


def test_quiet_stance_score_falls_with_sway():
    quiet = generator.quiet_stance(0)
    scores = []
    for scale in (0.5, 1.0, 2.0, 4.0):
        rec = quiet.recording
        loads = rec.loads_kg.copy()

        x, y, total = centre_of_pressure(loads, rec.board_width_mm, rec.board_depth_mm)
        x = x.mean() + (x - x.mean()) * scale
        y = y.mean() + (y - y.mean()) * scale
        rec.loads_kg = corner_loads(total, x, y, rec.board_width_mm, rec.board_depth_mm)
        scores.append(replay(rec, "quiet-stance").score)
        rec.loads_kg = loads
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]


def flamingo_trial(hold_s: float, taps: int = 0, seed: int = 1):
    import random

    person = SimulatedPerson(mass_kg=70, seed=seed, sway=0.8)
    t = 2.0
    person.schedule(t, "lift_foot", side="right", duration=0.6)
    for _ in range(taps):
        t += hold_s / (taps + 1)
        person.schedule(t, "foot_down", side="right", duration=0.2)
        person.schedule(t + 0.5, "lift_foot", side="right", duration=0.4)
    person.schedule(2.0 + hold_s + 0.5 * taps, "foot_down", side="right", duration=0.3)
    return generator.render(
        person, 2.0 + hold_s + 0.5 * taps + 2, random.Random(seed), exercise="flamingo", leg="left"
    )


def test_flamingo_score_rewards_seconds_and_penalises_touchdowns():
    scores = [replay(flamingo_trial(h), "flamingo", leg="left").score for h in (3, 8, 15, 40)]
    assert scores == sorted(scores) and scores[0] < scores[-1] and scores[-1] == 100
    steady = replay(flamingo_trial(12), "flamingo", leg="left")
    tapping = replay(flamingo_trial(12, taps=2), "flamingo", leg="left")
    assert tapping.metrics["touchdowns"] == 2 and steady.metrics["touchdowns"] == 0
    assert tapping.score < steady.score


def test_weight_shift_with_targets_and_pace():
    trial = generator.weight_shift(8)
    exercise = WeightShift(TrialContext(), target_mm=30.0, pace_s=2.0)
    for sample in cop_samples(trial.recording):
        exercise.feed(sample)
    result = exercise.finish()
    assert any(e.kind == "target_reached" for e in result.events)
    assert result.metrics["time_in_target_s"] > 0
    assert -100 <= result.metrics["directional_control_pct"] <= 100
    with pytest.raises(ValueError):
        WeightShift(TrialContext(), pace_s=1.5)
    with pytest.raises(ValueError):
        WeightShift(TrialContext(), axis="diagonal")


def test_bad_exercise_parameters_are_refused():
    with pytest.raises(ValueError):
        Flamingo(TrialContext(), leg="middle")
    with pytest.raises(ValueError):
        Flamingo(TrialContext(), hold_s=-1)
    with pytest.raises(ValueError):
        HeelRaises(TrialContext(), target_reps=0)
    with pytest.raises(ValueError):
        QuietStance(TrialContext(), eyes="half")


def test_replay_cli_on_generated_flamingo(tmp_path, capsys):
    trial = generator.flamingo(12)
    path = tmp_path / "flamingo.csv"
    write_recording(path, trial.recording)
    assert main(["replay", str(path), "--exercise", "flamingo", "--json"]) == 0  # leg from file
    data = json.loads(capsys.readouterr().out)
    assert data["metrics"]["touchdowns"] == trial.truth["touchdowns"]
    for name in (
        "first_hold_s",
        "single_leg_time_s",
        "touchdowns",
        "mean_velocity_mm_s",
        "ellipse_area_95_mm2",
    ):
        assert name in data["metrics"]
    assert {e["kind"] for e in data["events"]} >= {"lift_off"}
    assert main(["replay", str(path), "--exercise", "heel-raises"]) == 0
    assert "heel-raises" in capsys.readouterr().out


# --- limits of stability: a simulated patient following the cues ------------------------------
def test_limits_of_stability_with_a_patient_who_follows_the_cues():

    g = BoardGeometry()
    person = SimulatedPerson(mass_kg=70, seed=5, sway=0.3)
    los = LimitsOfStability(TrialContext(live=True), body_height_m=1.70)
    reach = 0.8  # the patient leans to 80 % of each target
    seen = None
    state = None
    t = 0.0
    while t < 120:
        loads = person.point_loads(t)
        kg = np.array([p[0] for p in loads])
        xs = np.array([p[1] for p in loads])
        ys = np.array([p[2] for p in loads])
        corners = corner_loads(kg, xs, ys, g.width_mm, g.depth_mm).sum(axis=0)
        x, y, total = centre_of_pressure(corners, g.width_mm, g.depth_mm)
        state = los.feed(
            CopSample(t, float(total), float(x), float(y), float(x), float(y), True, (None,) * 4)
        )
        if state.done:
            break
        if state.phase == "reach" and state.target["direction"] != seen:
            seen = state.target["direction"]
            tx, ty = state.target["x_mm"], state.target["y_mm"]
            sx, sy = los.start
            person.schedule(
                t + 0.4,
                "lean",
                x_mm=sx + (tx - sx) * reach,
                y_mm=sy + (ty - sy) * reach,
                duration=1.0,
            )
            person.schedule(t + 3.0, "centre", duration=1.0)
        t += 1 / 80
    assert state.done
    result = los.finish()
    assert result.metrics["directions_done"] == 8
    for name in ("forward", "back", "left", "right", "forward_left"):
        assert 0.4 < result.metrics[f"{name}_reaction_time_s"] < 0.9
        assert result.metrics[f"{name}_max_excursion_pct"] == pytest.approx(80, abs=12)
        assert result.metrics[f"{name}_directional_control_pct"] > 60
    assert 40 < result.score < 100
    # targets: forward further than back, never beyond the feet
    assert los.targets["forward"][2] > los.targets["back"][2]
    assert los.targets["right"][2] <= g.stance_width_mm / 2 + g.foot_width_mm / 2


def test_weight_shift_target_from_the_patients_earlier_maximum():
    exercise = WeightShift(TrialContext(), earlier_max_mm=50.0)
    assert exercise.target_mm == pytest.approx(40.0)
    assert WeightShift(TrialContext(), earlier_max_mm=50.0, target_mm=30).target_mm == 30
    with pytest.raises(ValueError):
        WeightShift(TrialContext(), earlier_max_mm=-5.0)
    with pytest.raises(ValueError):
        WeightShift(TrialContext(), target_mm=0)
