"""Scores that see the stroke, on generated recordings with known truth (one test per behaviour of
docs/scoring.md), on the public two-plate data, in replay's JSON, and in progression."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from balance_board.cli import main
from clinic.program import (
    ProgramError,
    parse_program,
    progress,
    progression_decisions,
)
from clinic.report import gather, headline_text
from clinic.store import Store
from device.recording import read_recording, write_recording
from device.sim import generator
from exercises.base import TrialContext
from exercises.flamingo import Flamingo
from exercises.public_data import pds_recording
from exercises.registry import exercise_spec
from exercises.replay import cop_samples, replay
from tests.conftest import T0

SAMPLE = Path(__file__).parent / "data"


# --- the affected side in every result -----------------------------------------------------------
@pytest.mark.parametrize("side", ["left", "right"])
def test_a_65_35_stance_scores_below_the_same_sway_at_50_50_and_is_flagged(side):
    even = replay(generator.asymmetric_stance(3, side, 50.0).recording, "quiet-stance")
    leaning = replay(generator.asymmetric_stance(3, side, 35.0).recording, "quiet-stance")
    assert leaning.metrics["weight_affected_pct"] == pytest.approx(35.0, abs=1.5)
    assert leaning.score < even.score - 10
    assert "weight_on_unaffected_side" in leaning.flags
    assert "weight_on_unaffected_side" not in even.flags


@pytest.mark.parametrize("seed", range(4))
def test_raises_carried_by_the_unaffected_leg_are_flagged_and_score_at_most_60(seed):
    side = ("left", "right")[seed % 2]
    both = replay(generator.one_leg_raises(seed, side, on="both").recording, "heel-raises")
    one = replay(generator.one_leg_raises(seed, side, on="unaffected").recording, "heel-raises")
    assert one.metrics["reps"] == both.metrics["reps"]  # the count is not the problem
    assert one.score <= 60 and "weight_on_unaffected_side" in one.flags
    # the same repetitions on both legs score half as much again at least
    assert both.score > 1.5 * one.score and "weight_on_unaffected_side" not in both.flags


@pytest.mark.parametrize("seed", range(4))
def test_shifts_never_made_toward_the_affected_side_score_at_most_50(seed):
    side = ("left", "right")[seed % 2]
    result = replay(generator.shifts_avoiding(seed, side).recording, "weight-shift")
    assert result.score <= 50 and "weight_on_unaffected_side" in result.flags


@pytest.mark.parametrize("support_pct", [5.0, 10.0, 15.0, 20.0])
def test_chair_support_is_measured_within_3_points_and_flagged(support_pct):
    for seed in range(3):
        trial = generator.flamingo(200 + seed, support_pct=support_pct)
        result = replay(trial.recording, "flamingo", leg=trial.truth["leg"])
        assert result.metrics["support_pct_bw_mean"] == pytest.approx(support_pct, abs=3)
        assert "support" in result.flags
        # the hold goes on through the support: not ended by it, no touch-down
        assert result.metrics["touchdowns"] == trial.truth["touchdowns"]
        assert result.metrics["first_hold_s"] == pytest.approx(trial.truth["first_hold_s"], abs=0.3)


def test_without_a_body_mass_support_from_the_start_is_unseen_and_said_so():
    trial = generator.flamingo(201, support_pct=15.0)
    recording = trial.recording
    mass, recording.subject_mass_kg = recording.subject_mass_kg, None
    result = replay(recording, "flamingo", leg=trial.truth["leg"])
    assert any("support present from the start" in w for w in result.quality.warnings)
    assert result.metrics["support_pct_bw_mean"] < 3  # unseen: the estimate includes it
    given = replay(recording, "flamingo", leg=trial.truth["leg"], body_mass_kg=mass)
    assert given.metrics["support_pct_bw_mean"] == pytest.approx(15.0, abs=3)


@pytest.mark.parametrize("seed", range(8))
def test_stepping_off_and_back_never_scores_above_staying_on_and_is_timed(seed):
    trial = generator.stepping_off(seed)
    stayed = replay(generator.stepping_off(seed, steps_off=False).recording, "quiet-stance")
    interrupted = replay(trial.recording, "quiet-stance")
    assert interrupted.score <= stayed.score
    [event] = [e for e in interrupted.events if e.kind == "stepped_off"]
    assert event.t_s == pytest.approx(trial.truth["stepped_off_t_s"], abs=0.3)
    assert "stepped_off" in interrupted.flags and "stepped_off" not in stayed.flags


@pytest.mark.parametrize("seed", range(8))
def test_a_stumble_with_a_foot_to_the_floor_is_a_loss_of_balance_at_its_moment(seed):
    trial = generator.stumble(seed)
    result = replay(trial.recording, "quiet-stance")
    [event] = [e for e in result.events if e.kind == "loss_of_balance"]
    assert event.t_s == pytest.approx(trial.truth["loss_of_balance_t_s"], abs=0.3)
    assert "loss_of_balance" in result.flags


def test_quiet_standing_and_movements_raise_no_false_losses_of_balance():
    for seed in range(10):
        for result in (
            replay(generator.quiet_stance(seed).recording, "quiet-stance"),
            replay(generator.raises(seed).recording, "heel-raises"),
            replay(generator.weight_shift(seed).recording, "weight-shift"),
        ):
            assert "loss_of_balance" not in result.flags, (seed, result.exercise)


# --- no capped numbers read as results -----------------------------------------------------------
def one_leg_live(trial, **kwargs):
    # the body mass from her standing before the lift: the generated person is not 70 kg
    live = Flamingo(TrialContext(live=True), leg=trial.truth["leg"], **kwargs)
    for sample in cop_samples(trial.recording):
        if live.feed(sample).done:
            break
    return live.finish()


def test_a_hold_that_reaches_its_target_is_flagged_and_the_report_marks_it_at_least(tmp_path):
    trial = next(
        t for t in (generator.flamingo(s) for s in range(40)) if t.truth["first_hold_s"] > 6.0
    )
    capped = one_leg_live(trial, hold_s=4.0)
    assert "target_reached" in capped.flags and "first_hold_s" in capped.lower_bounds
    assert capped.metrics["first_hold_s"] == pytest.approx(4.0, abs=0.05)
    longer = one_leg_live(trial, hold_s=4.0, ceiling_s=60.0)  # may keep going: measured
    assert "target_reached" in longer.flags and "first_hold_s" not in longer.lower_bounds
    assert longer.metrics["first_hold_s"] == pytest.approx(trial.truth["first_hold_s"], abs=0.3)
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", affected_side=trial.truth["leg"], birth_year=1950, created_at=T0)
        session = store.start_session("P-1", T0, board="hx711")
        for result in (capped, longer):
            trial_id = store.begin_trial(session, "flamingo", {"leg": trial.truth["leg"]}, T0)
            store.finish_trial(trial_id, result.to_dict(), None, T0)
        data = gather(store, "P-1", date(2026, 11, 23), date(2026, 11, 23))
        first, second = data.trials
        assert headline_text(first) == "≥4.0 s" and not headline_text(second).startswith("≥")
        leg_points = data.single_leg[trial.truth["leg"]]
        assert [capped for _, _, capped in leg_points] == [True, False]  # not against norms


# --- two exercises stroke programs rely on -------------------------------------------------------
def counted(kind: str, seeds) -> tuple[float, float]:
    exact, worst = 0, 0.0
    for seed in seeds:
        if kind == "sit-to-stand":
            trial = generator.sit_to_stand(seed, affected_side="left", affected_pct=30.0)
            result = replay(trial.recording, "sit-to-stand")
            ok = result.metrics["repetitions"] == trial.truth["repetitions"]
            if trial.truth["five_times_s"] is not None:
                error = abs(result.metrics["five_times_s"] - trial.truth["five_times_s"])
                ok &= error <= 0.2
                worst = max(worst, error)
            assert result.metrics["weight_affected_pct"] == pytest.approx(30.0, abs=3)
        else:
            trial = generator.tandem(seed, stance=("tandem", "semi-tandem")[seed % 2])
            result = replay(trial.recording, "tandem-stance", leg=trial.truth["front"])
            error = abs(result.metrics["hold_s"] - trial.truth["hold_s"])
            ok = error <= 0.3
            worst = max(worst, error)
        exact += ok
    return exact / len(seeds), worst


@pytest.mark.parametrize("kind", ["sit-to-stand", "tandem-stance"])
def test_sit_to_stand_and_tandem_a_quick_sample(kind):
    share, _ = counted(kind, range(300, 310))
    assert share >= 0.9


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sit-to-stand", "tandem-stance"])
def test_sit_to_stand_and_tandem_counted_and_timed_in_at_least_98_percent(kind):
    share, worst = counted(kind, range(60))
    assert share >= 0.98, (share, worst)


def test_sit_to_stand_below_the_seat_threshold_is_not_a_repetition():
    trial = generator.sit_to_stand(5)
    loads = trial.recording.loads_kg
    # sitting still all along: each corner its mean load and the HX711's noise (a board whose
    # readings do not change at all is not sensing, and is not scored)
    noise = np.random.default_rng(5).normal(0, 0.001, loads.shape)
    trial.recording.loads_kg = loads * 0.0 + loads.mean(axis=0) + noise
    assert replay(trial.recording, "sit-to-stand").metrics["repetitions"] == 0


# --- the real two-plate data ---------------------------------------------------------------------
def affected_share_matches(path: Path) -> None:
    recording, right_truth = pds_recording(path)
    for side, truth in (("right", right_truth), ("left", 100.0 - right_truth)):
        result = replay(recording, "quiet-stance", affected_side=side)
        assert result.metrics["weight_affected_pct"] == pytest.approx(truth, abs=1.5), path


def test_weight_on_the_affected_leg_matches_the_plates_sample():
    affected_share_matches(SAMPLE / "PDS13OR1grf.txt.gz")


def test_weight_on_the_affected_leg_matches_the_plates_all_trials(shared_data):
    paths = sorted((shared_data / "pds").glob("PDS*grf.txt"))
    assert len(paths) == 4
    for path in paths:
        affected_share_matches(path)


# --- replay's output contract --------------------------------------------------------------------
def test_replay_json_has_flags_events_and_reads_the_header(tmp_path, capsys):
    trial = generator.stumble(2)
    path = tmp_path / "stumble.csv"
    trial.recording.affected_side = "left"
    write_recording(path, trial.recording)
    assert read_recording(path).affected_side == "left"
    assert main(["replay", str(path), "--exercise", "quiet-stance", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "loss_of_balance" in data["flags"] and "weight_affected_pct" in data["metrics"]
    [event] = [e for e in data["events"] if e["kind"] == "loss_of_balance"]
    assert event["t_s"] == pytest.approx(trial.truth["loss_of_balance_t_s"], abs=0.3)
    assert data["quality"]["body_mass_source"] == "recording"
    args = ["replay", str(path), "--exercise", "quiet-stance", "--json", "--body-mass-kg", "90"]
    assert main([*args, "--affected-side", "right"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["quality"]["body_mass_kg"] == 90 and data["sides"]["affected"] == "right"
    for kind, leg in (("sit-to-stand", None), ("tandem-stance", "left")):
        trial = generator.sit_to_stand(1) if leg is None else generator.tandem(1, front=leg)
        write_recording(tmp_path / f"{kind}.csv", trial.recording)
        args = ["replay", str(tmp_path / f"{kind}.csv"), "--exercise", kind, "--json"]
        assert main(args + (["--leg", leg] if leg else [])) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["exercise"] == kind
        assert ("repetitions" if leg is None else "hold_s") in data["metrics"]
    assert main(["replay", str(path), "--exercise", "quiet-stance", "--body-mass-kg", "5"]) == 2


def test_front_back_weight_shifts_work():
    program = parse_program('[[exercise]]\nname = "weight-shift"\naxis = "anteroposterior"\n')
    exercise = exercise_spec("weight-shift").create(TrialContext(), program.exercises[0].params)
    assert exercise.names == ("back", "forward")


# --- safe progression, per leg -------------------------------------------------------------------
RULE = """
affected_side = "left"
[[exercise]]
name = "flamingo"
leg = "affected"
hold_s = 10
[[exercise]]
name = "flamingo"
leg = "unaffected"
hold_s = 10
[[progression]]
exercise = "flamingo"
field = "hold_s"
after_sessions = 2
step = 5
limit = 30
"""


class Trial:
    def __init__(self, session, leg, *, status="complete", flags=("target_reached",), score=90):
        self.session_id, self.status, self.score = session, status, score
        self.exercise, self.parameters = "flamingo", {"leg": leg}
        self.started_at = f"2026-11-{10 + session:02d}T10:00:00+01:00"
        self.result = {"score": score, "flags": list(flags)}


def test_the_weak_leg_stopping_for_safety_is_not_raised_while_the_strong_leg_is():
    program = parse_program(RULE)
    trials = []
    for session in (1, 2):
        trials.append(Trial(session, "right"))  # the unaffected leg reaches its target
        trials.append(Trial(session, "left", flags=()))  # held 3 s
        if session == 2:
            trials.append(Trial(session, "left", status="aborted", flags=(), score=None))
    decisions = {d.leg: d for d in progression_decisions(program, trials, None, "left")}
    assert decisions["right"].action == "advance"
    assert decisions["left"].action == "hold" and "safety" in decisions["left"].reason
    new, changes = progress(program, list(decisions.values()), "left")
    assert changes == [("flamingo", "hold_s", 10.0, 15.0, "right")]
    assert new.exercises[0].params["hold_s"] == 10.0  # the affected leg stays


def test_two_sessions_with_safety_stops_step_the_exercise_back():
    program = parse_program(RULE)
    trials = [
        Trial(1, "left", flags=("loss_of_balance",)),
        Trial(2, "left", status="aborted", flags=(), score=None),
    ]
    [left] = [d for d in progression_decisions(program, trials, None, "left") if d.leg == "left"]
    assert left.action == "back"
    changes = progress(program, [left], "left")[1]
    assert changes == [("flamingo", "hold_s", 10.0, 5.0, "left")]


def test_a_rule_that_points_away_from_its_limit_is_refused_with_its_line():
    text = RULE.replace("limit = 30", "limit = 5")  # +5 s toward 5 s from 10 s: the wrong way
    with pytest.raises(ProgramError) as caught:
        parse_program(text, "program.toml")
    assert caught.value.line == text.splitlines().index("step = 5") + 1
    assert "away from its limit" in str(caught.value)
    support = (
        '[[exercise]]\nname = "flamingo"\nmax_support_pct = 15\n[[progression]]\n'
        'exercise = "flamingo"\nfield = "max_support_pct"\nafter_sessions = 2\nstep = -5\n'
        "limit = 0\n"
    )
    assert parse_program(support).progression[0].step == -5  # support fading: allowed


# --- scores that never reward less ----------------------------------------------------------------
def test_sit_to_stand_one_more_repetition_always_scores_more():
    from exercises.sit_to_stand import sit_to_stand_score

    for target in (1, 3, 5, 8, 10):
        for reps in range(0, target + 3):
            for five in (8.0, 12.0, 20.0, 30.0, 45.0):
                now = sit_to_stand_score(reps, target, five if reps >= 5 else None)
                more = sit_to_stand_score(reps + 1, target, five if reps + 1 >= 5 else None)
                assert more >= now, (target, reps, five)
                if reps < target:
                    assert more > now, (target, reps, five)
    # four done never beats five done slowly (the old 0.5 speed for fewer than five did)
    assert sit_to_stand_score(4, 5, None) < sit_to_stand_score(5, 5, 30.0)


def test_weight_shift_a_further_reach_or_more_control_never_scores_less():
    from exercises.weight_shift import weight_shift_score

    grid = [0.0, 0.2, 0.5, 0.8, 1.0, 1.3]
    for side in (None, "left", "right"):
        for left in grid:
            for right in grid:
                for control in (0.0, 0.5, 1.0):
                    base = weight_shift_score({"left": left, "right": right}, control, side)
                    assert (
                        weight_shift_score({"left": left + 0.1, "right": right}, control, side)
                        >= base
                    )
                    assert (
                        weight_shift_score({"left": left, "right": right + 0.1}, control, side)
                        >= base
                    )
                    assert (
                        weight_shift_score({"left": left, "right": right}, control + 0.1, side)
                        >= base
                    )
    # all the reach on the strong side: under half marks, however good the control
    assert weight_shift_score({"left": 0.0, "right": 1.0}, 1.0, "left") < 50


def test_sit_to_stand_with_the_arms_allowed_is_said_and_marked_in_the_report(tmp_path):
    trial = generator.sit_to_stand(1)  # eight repetitions: a five-times time
    folded = replay(trial.recording, "sit-to-stand")
    pushed = replay(trial.recording, "sit-to-stand", params={"arms": "allowed"})
    assert any("modified test" in w for w in pushed.quality.warnings)
    assert not any("modified test" in w for w in folded.quality.warnings)
    assert pushed.flags == folded.flags  # the contract's flags only
    assert "arms crossed" in exercise_spec("sit-to-stand").instruction_for({})
    assert "armrests" in exercise_spec("sit-to-stand").instruction_for({"arms": "allowed"})
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", affected_side="left", birth_year=1950, created_at=T0)
        session = store.start_session("P-1", T0, board="hx711")
        for result, params in ((folded, {}), (pushed, {"arms": "allowed"})):
            trial_id = store.begin_trial(session, "sit-to-stand", params, T0)
            store.finish_trial(trial_id, result.to_dict(), None, T0)
        data = gather(store, "P-1", date(2026, 11, 23), date(2026, 11, 23))
    assert [marked for _, _, marked in data.timed["sit-to-stand"]] == [False, True]
    assert any("arms allowed" in w for w in data.warnings)


def test_eyes_closed_a_resting_hand_is_flagged_from_1_5_percent_when_weighed():
    for seed in range(3):
        hand = generator.asymmetric_stance(seed, "left", 50.0, support_pct=2.0).recording
        free = generator.asymmetric_stance(seed, "left", 50.0).recording
        closed = {"eyes": "closed"}
        assert "support" in replay(hand, "quiet-stance", params=closed).flags
        assert "support" not in replay(free, "quiet-stance", params=closed).flags
        # eyes open, the 3 % flag as everywhere
        assert "support" not in replay(hand, "quiet-stance").flags


def test_more_weight_on_the_affected_leg_is_said_not_rewarded():
    even = replay(generator.asymmetric_stance(4, "right", 50.0).recording, "quiet-stance")
    heavy = replay(generator.asymmetric_stance(4, "right", 65.0).recording, "quiet-stance")
    assert any("more than 57 %" in w for w in heavy.quality.warnings)
    assert not any("more than 57 %" in w for w in even.quality.warnings)
    assert heavy.score <= even.score + 1


def test_replay_param_is_checked_against_the_exercise_settings(tmp_path, capsys):
    path = tmp_path / "stance.csv"
    write_recording(path, generator.asymmetric_stance(1, "left", 50.0, seconds=8.0).recording)
    assert main(["replay", str(path), "--exercise", "quiet-stance", "--param", "eyes=closed"]) == 0
    for bad, words in (
        ("eyes=shut", "eyes must be one of open, closed"),
        ("hold_s=5", "quiet-stance has no such setting"),
        ("duration_s=lots", "is not a number"),
        ("eyes", "KEY=VALUE"),
    ):
        assert main(["replay", str(path), "--exercise", "quiet-stance", "--param", bad]) == 2
        err = capsys.readouterr().err
        assert words in err and "Traceback" not in err, (bad, err)


# --- tandem stance: a rock is not a step; a hand on the chair is seen ---------------------------
@pytest.mark.parametrize("seed", range(4))
def test_tandem_a_quick_rock_onto_the_front_foot_does_not_end_the_hold(seed):
    trial = generator.tandem(seed, wobble=True)
    result = replay(trial.recording, "tandem-stance", leg=trial.truth["front"])
    assert result.metrics["hold_s"] == pytest.approx(trial.truth["hold_s"], abs=0.3)
    [ended] = [e for e in result.events if e.kind == "hold_ended"]
    assert ended.detail["by"] == ("step" if trial.truth["stepped_out"] else "trial end")


def test_tandem_a_hand_on_the_chair_is_measured_and_flagged_and_reaches_no_target():
    trial = generator.tandem(3, support_pct=8.0)
    result = replay(trial.recording, "tandem-stance", leg=trial.truth["front"])
    assert result.metrics["support_pct_bw_mean"] == pytest.approx(8.0, abs=2)
    assert "support" in result.flags and "target_reached" not in result.flags
    free = replay(generator.tandem(3).recording, "tandem-stance", leg=trial.truth["front"])
    assert free.metrics["support_pct_bw_mean"] < 2 and "support" not in free.flags
    assert "just above the chair" in exercise_spec("tandem-stance").instruction_for({})


def test_the_report_compares_measured_holds_only_and_splits_one_leg_work_by_leg(tmp_path):
    from datetime import UTC, datetime, timedelta

    from clinic.report import best_score_by_day

    start = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", affected_side="left", birth_year=1950, created_at=T0)
        session = store.start_session("P-1", T0, board="hx711")

        def hold(day: int, seconds: float, capped: bool, leg: str = "left", score: float = 50.0):
            at = (start + timedelta(days=day)).isoformat()
            trial_id = store.begin_trial(session, "flamingo", {"leg": leg, "hold_s": 8.0}, at)
            result = {
                "score": score,
                "metrics": {"first_hold_s": seconds},
                "lower_bounds": ["first_hold_s"] if capped else [],
                "flags": ["target_reached"] if capped else [],
            }
            store.finish_trial(trial_id, result, None, at)

        for day, seconds in ((0, 3.0), (2, 4.0), (4, 5.0)):
            hold(day, seconds, False)
        for day in (20, 22, 24):
            hold(day, 8.0, True)  # at the target: lower bounds
        hold(26, 6.0, False)
        hold(26, 30.0, False, leg="right", score=95.0)  # the good leg's day
        data = gather(store, "P-1", date(2026, 10, 1), date(2026, 10, 28))
        [change] = [c for c in data.changes if c.exercise == "flamingo"]
        assert change.recent == 6.0 and change.capped_recent == 3
        assert "3 of the last two weeks reached the target" in change.sentence()
        series = best_score_by_day(store.trials("P-1"))
        assert set(series) == {"flamingo/left", "flamingo/right"}
        assert series["flamingo/left"][date(2026, 10, 27)] == 50.0  # not hidden by the 95


def test_a_hold_advanced_past_its_ceiling_raises_the_ceiling_too():
    program = parse_program(
        RULE.replace("hold_s = 10\n[[exercise]]", "hold_s = 10\nceiling_s = 12\n[[exercise]]", 1)
    )
    trials = [Trial(session, "left") for session in (1, 2)]
    [left] = [d for d in progression_decisions(program, trials, None, "left") if d.leg == "left"]
    new, changes = progress(program, [left], "left")
    assert ("flamingo", "ceiling_s", 12.0, 15.0, "left") in changes
    assert new.exercises[0].params == {"leg": "affected", "hold_s": 15.0, "ceiling_s": 15.0}


def test_each_leg_counts_its_run_from_its_own_last_change():
    from clinic.program import value_since

    before = {"text": RULE, "saved_at": "2026-11-01T10:00:00+00:00"}
    right_moved = RULE.replace('leg = "unaffected"\nhold_s = 10', 'leg = "unaffected"\nhold_s = 15')
    after = {"text": right_moved, "saved_at": "2026-11-12T10:00:00+00:00"}
    program = parse_program(right_moved)
    rule = program.progression[0]
    # the right leg's value changed on the 12th; the left leg's has not changed since the 1st
    assert value_since([before, after], program, rule, "right", "left") == after["saved_at"]
    assert value_since([before, after], program, rule, "left", "left") == before["saved_at"]


# --- review fixes: what a therapist found -----------------------------------------------------
def test_a_live_one_leg_hold_stopped_at_its_target_is_reached():
    """The trial stops at the target: every hold that got there without leaning on the chair is
    flagged, so progression can see it (before, 4.99 s against 5 s missed the flag in most
    trials); one that leaned on the chair on the way is not, and the screen never said so."""
    clean = helped = 0
    for seed in range(500, 540):
        trial = generator.flamingo(seed)
        if trial.truth["first_hold_s"] < 6.0:
            continue
        lift = next(t for t, name, _ in trial.script if name == "lift_foot")
        leaned = any(
            name == "hand_on_chair" and lift < t < lift + 5.5 for t, name, _ in trial.script
        )
        live = Flamingo(TrialContext(live=True), leg=trial.truth["leg"], hold_s=5.0)
        prompts = []
        for sample in cop_samples(trial.recording):
            state = live.feed(sample)
            prompts.append(state.prompt)
            if state.done:
                break
        result = live.finish()
        if leaned:
            helped += 1
            assert "target_reached" not in result.flags, seed
            assert not any(p.startswith("Target reached") for p in prompts), seed
        else:
            clean += 1
            assert "target_reached" in result.flags, seed
            assert "first_hold_s" in result.lower_bounds, seed
    assert clean >= 20 and helped >= 1


def test_a_hand_resting_on_the_chair_throughout_is_no_unsupported_hold():
    for seed in range(500, 506):
        trial = generator.flamingo(seed, support_pct=5.0)
        result = replay(trial.recording, "flamingo", leg=trial.truth["leg"])
        assert result.metrics["hold_within_support_s"] < 0.6  # beyond 3 % from the start
        assert result.metrics["unsupported_hold_s"] < 0.5
        free = replay(generator.flamingo(seed).recording, "flamingo", leg=trial.truth["leg"])
        assert result.score < free.score


def test_sit_to_stand_stopped_at_its_count_is_a_lower_bound():
    trial = generator.sit_to_stand(1)  # eight stands
    live = exercise_spec("sit-to-stand").create(TrialContext(live=True), {"target_reps": 3})
    for sample in cop_samples(trial.recording):
        if live.feed(sample).done:
            break
    result = live.finish()
    assert result.metrics["repetitions"] == 3 and result.lower_bounds == ["repetitions"]


def test_stepping_off_is_not_also_a_loss_of_balance():
    for seed in range(500, 526):
        result = replay(generator.stepping_off(seed).recording, "quiet-stance")
        assert "stepped_off" in result.flags and "loss_of_balance" not in result.flags, seed


def test_shifts_reaching_under_half_as_far_toward_the_affected_side_are_flagged():
    avoided = replay(generator.shifts_uneven(500, "left", 35.0, 95.0).recording, "weight-shift")
    even = replay(generator.shifts_uneven(500, "left", 90.0, 95.0).recording, "weight-shift")
    assert avoided.metrics["reach_ratio_affected"] < 0.5
    assert "weight_on_unaffected_side" in avoided.flags
    assert "weight_on_unaffected_side" not in even.flags and even.score > avoided.score


def test_a_hand_on_the_chair_lowers_the_standing_and_tandem_scores():
    for seed in range(3):
        free = replay(generator.asymmetric_stance(seed, "left", 50.0).recording, "quiet-stance")
        held = replay(
            generator.asymmetric_stance(seed, "left", 50.0, support_pct=15.0).recording,
            "quiet-stance",
        )
        assert held.score < free.score - 10
        tandem = generator.tandem(seed, support_pct=10.0)
        leaning = replay(tandem.recording, "tandem-stance", leg=tandem.truth["front"])
        alone = replay(generator.tandem(seed).recording, "tandem-stance", leg=tandem.truth["front"])
        assert leaning.score < alone.score - 5


def test_a_planned_step_down_to_the_floor_past_the_target_is_no_loss_of_balance():
    import random

    from device.sim.person import SimulatedPerson

    for on in ("floor", "board"):
        person = SimulatedPerson(mass_kg=75, stance_width_mm=200, sway=0.8, seed=501)
        person.schedule(3.0, "lift_foot", side="left", duration=0.6)
        person.schedule(12.0, "foot_down", side="left", on=on, duration=0.3)
        recording = generator.render(person, 16, random.Random(501), exercise="flamingo")
        live = Flamingo(
            TrialContext(live=True, body_mass_kg=75, body_mass_source="weighed"),
            leg="right",
            hold_s=5,
            ceiling_s=30,
        )
        for sample in cop_samples(recording):
            if live.feed(sample).done:
                break
        result = live.finish()
        assert result.flags == ["target_reached"], (on, result.flags)


def test_a_stumble_is_a_loss_of_balance_not_support_on_the_chair():
    for seed in range(500, 510):
        result = replay(generator.stumble(seed).recording, "quiet-stance")
        assert "loss_of_balance" in result.flags and "support" not in result.flags, seed
