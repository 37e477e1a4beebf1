"""Recordings a physiotherapist can trust: a recording that is not a person standing on a sensing
board is never scored, a result that is not scored says so in the exit status, and a recording
exported from the records holds everything its score was made with."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pytest

from balance_board.cli import EXIT_NOT_SCORABLE, main
from clinic import actions
from clinic.export import ExportError, exported_recording_text, recording_file_name
from clinic.store import KeptRecording, Store
from device.clock import ManualClock
from device.faults import STUCK_VALUE
from device.recording import (
    Recording,
    parse_recording,
    read_recording,
    recording_text,
    write_recording,
)
from device.samples import LoadSample
from device.sim import generator
from device.watch import FROZEN_KG, LoadWatch
from exercises.base import MAX_LOAD_PER_BODY_MASS
from exercises.public_data import bds_recording, pds_recording
from exercises.registry import NAMES, exercise_spec
from exercises.replay import NotScorable, replay
from tests.conftest import FRAME_S, T0, simulated_board

pygame = pytest.importorskip("pygame")

from display.session import planned  # noqa: E402
from tests.test_session import session_app  # noqa: E402


def replay_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    """``balance-board replay …``: (exit status, stdout, stderr); never a traceback."""
    status = main(["replay", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    return status, captured.out, captured.err


def with_gap(recording, from_s: float, to_s: float):
    """The recording with its readings lost between ``from_s`` and ``to_s`` (a reader restart)."""
    t = recording.t_s - recording.t_s[0]
    keep = (t < from_s) | (t > to_s)
    return dataclasses.replace(
        recording, t_s=recording.t_s[keep], loads_kg=recording.loads_kg[keep]
    )


def with_dead_cell(recording, corner: int, at_s: float, seed: int = 0):
    """The recording with one cell cut off from its load at ``at_s``: a constant plus the HX711's
    noise (1.5 g rms), as ``tests/test_sensing_faults.py`` makes it."""
    loads = recording.loads_kg.copy()
    after = recording.t_s - recording.t_s[0] >= at_s
    loads[after, corner] = 0.4 + np.random.default_rng(seed).normal(0, 0.0015, after.sum())
    return dataclasses.replace(recording, loads_kg=loads)


# --- replay's exit status -------------------------------------------------------------------
def test_a_replay_that_is_not_scored_exits_4_and_still_prints_the_result_with_its_reasons(
    tmp_path, capsys
):
    trial = generator.quiet_stance(5, seconds=15).recording
    cases = {
        "gap": (with_gap(trial, 6.0, 6.5), "no readings for 0.5 s from 6.0 s"),
        "dead cell": (
            with_dead_cell(trial, 1, at_s=5.0),
            "front-right corner: not responding to load",
        ),
    }
    for name, (recording, reason) in cases.items():
        path = tmp_path / f"{name}.txt"
        write_recording(path, recording)
        status, out, _ = replay_cli([str(path), "--exercise", "quiet-stance", "--json"], capsys)
        data = json.loads(out)
        assert status == EXIT_NOT_SCORABLE == 4, name
        assert data["score"] is None and data["quality"]["scorable"] is False
        assert any(reason in fault for fault in data["quality"]["sensor_faults"]), data
        assert data["metrics"], "the numbers are still shown, marked not scored"
        status, out, _ = replay_cli([str(path), "--exercise", "quiet-stance"], capsys)
        assert status == 4 and "quiet-stance: not scored" in out and reason in out
    intact = tmp_path / "intact.txt"
    write_recording(intact, trial)
    status, out, _ = replay_cli([str(intact), "--exercise", "quiet-stance", "--json"], capsys)
    assert status == 0 and json.loads(out)["score"] is not None


# --- the load must be one person's ----------------------------------------------------------
def not_a_person(result) -> list[str]:
    return [f for f in result.quality.sensor_faults if "not a person standing on it" in f]


def standing(total_kg: float, *, mass_kg: float | None, seconds: float = 10.0, seed: int = 0):
    """A still stance carrying ``total_kg`` on the board, with ``mass_kg`` in its header: the
    four corners sharing it, with the HX711's noise (2 g) and a little sway."""
    rng = np.random.default_rng(seed)
    n = int(seconds * 80)
    t = np.arange(n) / 80.0
    sway = 0.5 * np.sin(2 * np.pi * 0.3 * t)[:, None] * np.array([1, -1, 1, -1])  # kg
    loads = total_kg / 4 + sway + rng.normal(0, 0.002, (n, 4))
    return Recording(t, loads, 440.0, 330.0, exercise="quiet-stance", subject_mass_kg=mass_kg)


def test_a_load_far_above_the_body_mass_is_not_a_person_and_is_not_scored(tmp_path, capsys):
    heavy = standing(4 * 999.0, mass_kg=70.0)  # the reviewer's: 999 kg on each corner
    result = replay(heavy, "quiet-stance")
    assert result.score is None
    assert not_a_person(result) == [
        "the board carried 3996 kg on average, 57.1 times the body mass of 70 kg: not a person "
        "standing on it (check the body mass, the board's calibration and its load cells)"
    ]
    path = tmp_path / "heavy.txt"
    write_recording(path, heavy)
    status, out, _ = replay_cli([str(path), "--exercise", "quiet-stance", "--json"], capsys)
    assert status == 4 and json.loads(out)["score"] is None
    # the documented tolerance: up to 1.3 times the body mass is a person (a mass weeks old, a
    # calibration a little off, a heavy coat); beyond it, not
    assert MAX_LOAD_PER_BODY_MASS == 1.3
    for ratio, scored in ((1.0, True), (1.25, True), (1.35, False), (2.0, False)):
        result = replay(standing(70.0 * ratio, mass_kg=70.0), "quiet-stance")
        assert (result.score is not None) is scored, ratio
        assert bool(not_a_person(result)) is not scored, ratio
    # partial support lowers the load, never makes it "not a person": half the body on a chair
    assert replay(standing(35.0, mass_kg=70.0), "quiet-stance").score is not None
    # --body-mass-kg is judged the same way
    status, out, _ = replay_cli(
        [str(path), "--exercise", "quiet-stance", "--body-mass-kg", "300", "--json"], capsys
    )
    assert status == 4 and "13.3 times the body mass of 300 kg" in out


def test_an_estimated_body_mass_outside_20_to_300_kg_is_not_a_person(tmp_path, capsys):
    result = replay(standing(838.0, mass_kg=None), "quiet-stance")  # the reviewer's 838 kg
    assert result.score is None and not_a_person(result) == [
        "a body mass of 838 kg estimated from the load: more than the heaviest person the board "
        "is for (300 kg), not a person standing on it (check the board's calibration and its "
        "load cells)"
    ]
    light = replay(standing(16.0, mass_kg=None), "quiet-stance")  # a bag, a child, a dog
    assert light.score is None and not_a_person(light) == [
        "the board carried at most about 16 kg: less than the lightest person it is for (20 kg), "
        "not a person standing on it"
    ]
    for kg in (25.0, 140.0, 290.0):  # the board's range of people: scored
        assert replay(standing(kg, mass_kg=None), "quiet-stance").score is not None, kg
    path = tmp_path / "838.txt"
    write_recording(path, standing(838.0, mass_kg=None))
    status, out, _ = replay_cli([str(path), "--exercise", "quiet-stance"], capsys)
    assert status == 4 and "838 kg estimated from the load" in out


def test_no_generated_trial_of_any_exercise_is_taken_for_not_a_person():
    """Rising from a chair, raises, shifts, one leg with the chair, stepping off: the load swings
    and drops, and the rule never mistakes it, with the body mass known or estimated."""
    trials = [
        *(generator.sit_to_stand(seed) for seed in range(6)),
        *(generator.raises(seed) for seed in range(4)),
        *(generator.raises(seed, "toe") for seed in range(2)),
        *(generator.weight_shift(seed) for seed in range(3)),
        *(generator.flamingo(seed, support_pct=20.0) for seed in range(3)),
        *(generator.flamingo(seed) for seed in range(3, 6)),
        *(generator.tandem(seed, support_pct=10.0) for seed in range(3)),
        *(generator.stumble(seed, seconds=12) for seed in range(2)),
        *(generator.stepping_off(seed, seconds=12) for seed in range(2)),
    ]
    for trial in trials:
        recording = trial.recording
        for mass in (recording.subject_mass_kg, None):
            guess = dataclasses.replace(recording, subject_mass_kg=mass)
            result = replay(guess, recording.exercise, leg=recording.leg)
            assert not not_a_person(result), (recording.exercise, mass, result.quality)


def real_trials(shared_data: Path) -> list[tuple[str, Recording, float]]:
    """Every public force-plate trial as a recording, with its subject's recorded mass (kg)."""
    out = []
    for folder, column in (("bds", "Weight"), ("pds", "Mass")):
        with open(shared_data / folder / "reference.tsv", encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                if folder == "bds":
                    recording = bds_recording(shared_data / "bds" / f"{row['Trial']}.txt")
                else:
                    recording = pds_recording(shared_data / "pds" / f"{row['Trial']}grf.txt")[0]
                out.append((row["Trial"], recording, float(row[column])))
    return out


def test_no_real_standing_trial_is_refused_by_the_load_and_mass_rule(shared_data):
    """All 52 public trials (young and older adults, firm and foam, eyes open and closed), with
    their subjects' recorded mass and without: each carries 0.99-1.03 times that mass, far
    inside the rule, and is scored."""
    trials = real_trials(shared_data)
    assert len(trials) == 52
    ratios = []
    for name, recording, mass in trials:
        ratios.append(float(recording.loads_kg.sum(axis=1).mean()) / mass)
        for known in (mass, None):
            result = replay(dataclasses.replace(recording, subject_mass_kg=known), "quiet-stance")
            assert result.score is not None and not result.quality.sensor_faults, (name, known)
    assert min(ratios) > 0.98 and max(ratios) < 1.04 < MAX_LOAD_PER_BODY_MASS


def test_the_real_sample_in_tests_data_is_scored_with_its_mass():
    """Always run (no shared folder needed): subject 13 of the two-plate data, 65.35 kg."""
    recording, _ = pds_recording(Path(__file__).parent / "data" / "PDS13OR1grf.txt.gz")
    result = replay(dataclasses.replace(recording, subject_mass_kg=65.35), "quiet-stance")
    assert result.score is not None and not result.quality.sensor_faults


# --- readings that do not change at all -----------------------------------------------------
def test_four_perfectly_flat_corners_are_not_scored_the_board_was_not_sensing(tmp_path, capsys):
    n = 800
    flat = Recording(np.arange(n) / 80.0, np.full((n, 4), 17.5), 440.0, 330.0, subject_mass_kg=70)
    with pytest.raises(NotScorable, match=r"^the readings did not change at all: the board was"):
        replay(flat, "quiet-stance")
    path = tmp_path / "flat.txt"
    write_recording(path, flat)
    for exercise in ("quiet-stance", "flamingo", "heel-raises", "sit-to-stand"):
        status, out, err = replay_cli([str(path), "--exercise", exercise, "--json"], capsys)
        assert status == 4 and out == ""
        assert err.strip().endswith("the readings did not change at all: the board was not sensing")
    # the same stance with the amplifiers' noise (1 g) is a person standing still: scored
    noisy = dataclasses.replace(
        flat, loads_kg=flat.loads_kg + np.random.default_rng(0).normal(0, 0.001, (n, 4))
    )
    assert replay(noisy, "quiet-stance").score is not None


def test_one_frozen_corner_under_a_stock_still_person_is_named_and_not_scored():
    """The others vary only by noise (nothing moves), so a corner cut off from its load cannot
    be told; a corner that does not change at all can: no working amplifier is that still."""
    n = 1600
    rng = np.random.default_rng(2)
    loads = 17.5 + rng.normal(0, 0.001, (n, 4))
    loads[800:, 3] = loads[799, 3]  # back-right frozen at its last value from 10 s
    recording = Recording(np.arange(n) / 80.0, loads, 440.0, 330.0, subject_mass_kg=70.0)
    result = replay(recording, "quiet-stance")
    assert result.score is None
    assert result.quality.sensor_faults == [
        "back-right corner: reading frozen at one value (amplifier or cell wiring fault)"
    ]


def test_the_frozen_rule_keeps_the_watch_judging_no_empty_board_nor_stock_still_person():
    """FROZEN_KG (0.2 g) sits below a fifth of the HX711's own noise (40-60 LSB rms, 0.8-1.2 g
    with our cells; the simulated board's self-test reads 0.8-1.0 g): half the datasheet's
    lowest noise is never judged, loaded or not, and an empty board is never judged at all."""
    assert FROZEN_KG == 0.0002
    rng = np.random.default_rng(3)
    for noise_kg, person_kg, judged in (
        (0.0004, 70.0, False),  # a stock-still person, the amplifiers at half their noise
        (0.0, 0.7, False),  # an empty board, perfectly flat: nobody on it, nothing judged
        (0.0004, 0.7, False),  # an empty board with noise
        (0.00005, 70.0, True),  # a person on four corners that hardly change: frozen
    ):
        watch = LoadWatch()
        faults = set()
        for i in range(800):
            loads = tuple(person_kg / 4 + rng.normal(0, noise_kg, 4))
            faults |= {f for f in watch.update(LoadSample(i / 80, loads, (None,) * 4)).faults if f}
        assert faults == ({STUCK_VALUE} if judged else set()), (noise_kg, person_kg)


def test_the_simulated_board_read_by_the_real_driver_is_never_taken_for_frozen(
    calibration, tmp_path
):
    """The emulated HX711s with the datasheet's noise, a person standing still and then nobody:
    the watch in the app's path raises nothing."""
    clock = ManualClock(T0)
    board = simulated_board(clock, calibration, tmp_path, sway=0.0)
    watch = LoadWatch()
    faults, totals = set(), []
    try:
        for step in range(int(12 / FRAME_S)):
            if step == int(6 / FRAME_S):
                board.link.command("step_off")
            for frame in board.link.frames():
                loads = watch.update(board.calibration.loads(frame))
                faults |= {f for f in loads.faults if f}
                totals.append(sum(loads.loads_kg))
            clock.advance(FRAME_S)
    finally:
        board.close()
    assert faults == set()
    assert totals[200] > 60 and abs(totals[-1]) < 1  # she stood on it, then nobody did


# --- links planted in an export's folder ----------------------------------------------------
def records_with_recordings(folder: Path, code: str = "P-1", trials: int = 3) -> Path:
    """A records file with ``trials`` trials of quiet standing, each with its recording."""
    path = folder / "balance-board.sqlite3"
    with Store(path) as store:
        store.add_patient(code, created_at=T0)
        session = store.start_session(code, T0, board="hx711")
        for seed in range(trials):
            trial = store.begin_trial(session, "quiet-stance", {"duration_s": 5.0}, T0)
            recording = generator.quiet_stance(seed, seconds=5).recording
            store.finish_trial(trial, {"score": 50.0, "metrics": {}}, recording, T0)
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file and link under ``folder``, with its content (a link: where it points)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            out[str(path)] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            out[str(path)] = path.read_bytes()
        else:
            out[str(path)] = b"<folder>"
    return out


PLANTED = {  # (export, a name in --out made a link to a file outside, refused?)
    "csv": [("P-1-trials.csv", True)],
    "fhir": [("P-1-bundle.json", True)],
    "recordings": [
        ("P-1-recordings/.trial-00001-quiet-stance.txt.part", False),  # the old temporary name
        ("P-1-recordings/trial-00002-quiet-stance.txt", True),
        ("P-1-recordings", True),  # the recordings' folder itself, a link to a folder outside
    ],
}


def test_links_planted_in_out_never_let_an_export_write_outside_it(tmp_path, capsys):
    """A USB stick prepared with symbolic links: for every export (CSV, FHIR, the recordings)
    nothing outside --out changes. A link at a final name is refused in one line (exit 2); a
    link at a temporary name is never followed (temporaries are new files, O_EXCL)."""
    data = tmp_path / "data"
    data.mkdir()
    records_with_recordings(data)
    outside = tmp_path / "outside"
    (outside / "folder").mkdir(parents=True)
    victim = outside / "health-data.txt"
    victim.write_text("someone else's file\n")
    for kind, planted in PLANTED.items():
        for name, refused in planted:
            out = tmp_path / f"out-{kind}-{name.count('/')}-{refused}"
            link = out / name
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(outside / "folder" if name == "P-1-recordings" else victim)
            before = snapshot(outside)
            status = main(["export", "--data-dir", str(data), "--format", kind, "--out", str(out)])
            err = capsys.readouterr().err
            assert snapshot(outside) == before, (kind, name)
            assert link.is_symlink(), "the planted link is left as it was"
            if refused:
                assert status == 2 and "is a symbolic link: refused" in err, (kind, name, err)
                assert len(err.strip().splitlines()) == 1
            else:
                assert status == 0, err
                written = sorted(p.name for p in (out / "P-1-recordings").iterdir())
                assert written == [
                    ".trial-00001-quiet-stance.txt.part",
                    "trial-00001-quiet-stance.txt",
                    "trial-00002-quiet-stance.txt",
                    "trial-00003-quiet-stance.txt",
                ]
    # the stick exports (a folder, the encrypted archive): their hidden partial names too
    with Store(data / "balance-board.sqlite3") as store:
        for kind, partial in (
            ("folder", ".balance-board-P-1-s.part"),
            ("encrypted", ".balance-board-s.zip.part"),
        ):
            stick = tmp_path / f"stick-{kind}"
            stick.mkdir()
            (stick / partial).symlink_to(victim)
            before = snapshot(outside)
            with pytest.raises(ExportError, match="is a symbolic link: refused"):
                actions.export_records(store, "P-1", kind, stick, now_iso=T0, stamp="s")
            assert snapshot(outside) == before and (stick / partial).is_symlink()
    assert victim.read_text() == "someone else's file\n"


# --- an exported recording holds what its score was made with ---------------------------------
EVERY_EXERCISE = (  # every exercise of the registry, as a program gives them, with the side known
    planned("quiet-stance", {"duration_s": 6.0, "eyes": "open"}),
    planned("quiet-stance", {"duration_s": 5.0, "eyes": "closed"}),
    planned("heel-raises", {"target_reps": 3}),
    planned("toe-raises", {"target_reps": 2}),
    planned("flamingo", {"leg": "left", "hold_s": 4.0}),
    planned("flamingo", {"leg": "right", "hold_s": 3.0, "ceiling_s": 5.0}),
    planned("weight-shift", {"cycles": 2}),
    planned("weight-shift", {"cycles": 1, "axis": "anteroposterior"}),
    planned("sit-to-stand", {"target_reps": 5}),
    planned("tandem-stance", {"front": "right", "hold_s": 4.0}),
    planned("limits-of-stability", {}),
)
HEADER_KEYS = (  # what the exported header must say for a replay to score as the app did
    "exercise",
    "parameters",
    "affected_side",
    "subject_mass_kg",
    "subject_mass_source",
    "started_at",
    "board",
    "calibrated_at",
    "clock_synchronised",
    "rate_hz",
    "stance_width_mm",
    "feet_centre_x_mm",
    "feet_measured",
    "live",
)


def session_in_the_app(calibration, surface, folder: Path, plan) -> list:
    """The real app on the simulated board, its simulated patient doing ``plan`` (affected side
    left: weighed on the board, feet found by the stance check); the records in ``folder``.
    Returns the trials kept."""
    with session_app(
        surface,
        calibration,
        folder / "balance-board.sqlite3",
        "P-1",
        plan,
        auto_seed=3,
        affected_side="left",
        sway=0.7,
    ) as app:
        end = app.clock.monotonic() + 600
        while app.current.name != "done" and app.clock.monotonic() < end:
            app.step([])
            app.clock.advance(FRAME_S)
        assert app.current.name == "done" and app.error is None
        assert app.session.weighed_kg and app.session.stance["measured"]
        return app.session.store.trials("P-1", status=None)


def same_result(replayed: dict, kept: dict, what: str) -> None:
    """The replay's result is the kept one: the score (both rounded to 0.1 as kept), every
    metric within floating-point rounding, the same events, flags, lower bounds, sides, and the
    same quality (body mass and its source, warnings, faults, calibration age)."""
    assert replayed["score"] == kept["score"], what
    assert replayed["metrics"].keys() == kept["metrics"].keys(), what
    for name, value in kept["metrics"].items():
        expected = value if value is None else pytest.approx(value, rel=1e-9, abs=1e-9)
        assert replayed["metrics"][name] == expected, (what, name)  # None: not a number
    for key in ("events", "flags", "lower_bounds", "sides"):
        assert replayed[key] == kept[key], (what, key)
    for key in ("body_mass_kg", "body_mass_source", "warnings", "sensor_faults", "samples"):
        assert replayed["quality"][key] == kept["quality"][key], (what, key)
    age = replayed["quality"]["calibration_age_days"]
    assert age == pytest.approx(kept["quality"]["calibration_age_days"], abs=1e-9), what


def test_every_exercise_made_in_the_app_exported_and_replayed_alone_gives_the_score_kept(
    calibration, surface, tmp_path, capsys
):
    """For each exercise: a trial made by the real app, exported (``export --format
    recordings``), replayed with ``replay FILE --json`` and nothing else: the same score and
    metrics as the records keep. The app ends a trial at its target, ceiling or time limit
    (``live: yes``), and replay ends it at the same point: the numbers match exactly, capped
    ones ("≥", lower bounds) included."""
    assert {item.exercise for item in EVERY_EXERCISE} == set(NAMES)
    trials = session_in_the_app(calibration, surface, tmp_path, EVERY_EXERCISE)
    assert [t.exercise for t in trials] == [item.exercise for item in EVERY_EXERCISE]
    out = tmp_path / "export"
    assert (
        main(["export", "--data-dir", str(tmp_path), "--format", "recordings", "--out", str(out)])
        == 0
    )
    capsys.readouterr()
    for trial in trials:
        assert trial.status == "complete" and trial.score is not None, trial
        path = out / "P-1-recordings" / recording_file_name(trial.id, trial.exercise)
        recording = read_recording(path)
        header = {
            line[2:].split(":")[0] for line in path.read_text().splitlines() if line[0] == "#"
        }
        assert set(HEADER_KEYS) <= header, set(HEADER_KEYS) - header
        assert recording.t_s[0] == 0.0  # times from the trial's first reading (README)
        assert recording.parameters == trial.parameters and recording.started_at == trial.started_at
        assert recording.affected_side == "left" and recording.subject_mass_source == "weighed"
        assert recording.extra["board"] == "sim" and recording.live
        status, stdout, _ = replay_cli([str(path), "--json"], capsys)
        assert status == 0
        replayed = json.loads(stdout)
        what = f"{trial.exercise} {trial.parameters}"
        same_result(replayed, trial.result, what)
        headline = exercise_spec(trial.exercise).headline
        if headline is not None:
            assert replayed["metrics"][headline.metric] == pytest.approx(
                trial.result["metrics"][headline.metric], rel=1e-12
            ), what


def test_a_recording_kept_before_its_header_said_it_all_is_completed_from_the_records(
    calibration, surface, tmp_path, capsys
):
    """Recordings kept before this version: times on the device's clock (about 14297 s at the
    first reading), a header with only the board, the stance marks, the exercise and the leg;
    replayed, a one-leg stance scored 1 against 32.6 kept, heel raises 50 against 100. Exported
    now, their times start at 0 and the records fill the header (settings, leg, side, body mass,
    feet, start, board, calibration, clock): the score kept comes back. What the records never
    knew is not invented: such a file has no ``live`` or ``rate_hz``, so replay scores the whole
    recording, at its measured rate, and a count the app capped at its target is not marked a
    lower bound."""
    plan = (planned("flamingo", {"leg": "right", "hold_s": 4.0}), planned("heel-raises", {}))
    trials = session_in_the_app(calibration, surface, tmp_path, plan)
    records = tmp_path / "balance-board.sqlite3"
    with Store(records) as store:
        new = {t.id: store.recording(t.id) for t in trials}
        for trial in trials:  # as the app kept them before
            recording = new[trial.id]
            store.set_recording(
                trial.id,
                Recording(
                    recording.t_s + 14297.31,
                    recording.loads_kg,
                    recording.board_width_mm,
                    recording.board_depth_mm,
                    stance_width_mm=200.0,
                    exercise=trial.exercise,
                    leg=trial.parameters.get("leg"),
                ),
            )
    out = tmp_path / "export"
    assert (
        main(["export", "--data-dir", str(tmp_path), "--format", "recordings", "--out", str(out)])
        == 0
    )
    capsys.readouterr()
    replayed = {}
    for trial in trials:
        path = out / "P-1-recordings" / recording_file_name(trial.id, trial.exercise)
        exported, kept_new = read_recording(path), new[trial.id]
        assert exported.t_s[0] == 0.0
        assert exported.t_s == pytest.approx(kept_new.t_s, abs=1e-9)
        for key in (
            "exercise",
            "parameters",
            "leg",
            "affected_side",
            "subject_mass_kg",
            "subject_mass_source",
            "started_at",
            "clock_synchronised",
            "stance_width_mm",
            "feet_centre_x_mm",
            "feet_measured",
        ):
            assert getattr(exported, key) == getattr(kept_new, key), (trial.exercise, key)
        assert exported.extra["board"] == "sim" and exported.calibrated_at
        assert not exported.live and exported.rate_hz is None  # never known: not invented
        status, stdout, _ = replay_cli([str(path), "--json"], capsys)
        replayed[trial.exercise] = json.loads(stdout)
        assert status == 0 and replayed[trial.exercise]["score"] == trial.result["score"]
        headline = exercise_spec(trial.exercise).headline.metric
        assert replayed[trial.exercise]["metrics"][headline] == pytest.approx(
            trial.result["metrics"][headline], abs=0.05
        )
    [flamingo, raises] = trials
    assert flamingo.result["score"] > 30 and raises.result["score"] == 100.0
    assert raises.result["lower_bounds"] == ["reps"]  # live: she might have done more
    assert replayed["heel-raises"]["lower_bounds"] == []  # the documented difference


HEAD = "# format: balance-board-recording/1\n# board_width_mm: 440\n# board_depth_mm: 330\n"


def test_a_header_that_says_wrong_things_is_refused_in_one_line(tmp_path, capsys):
    write_recording(tmp_path / "good.txt", standing(70.0, mass_kg=None))
    rows = (tmp_path / "good.txt").read_text().split("t_s,", 1)[1]  # the column header on
    cases = {
        "# parameters: [1, 2]\n": "parameters must be one JSON object",
        '# parameters: {"hold_s": NaN}\n': "parameters must be one JSON object",
        '# parameters: {"x": {"y": 1}}\n': "names and plain values",
        '# exercise: flamingo\n# parameters: {"hold_s": -3}\n': "hold_s (s) must be between",
        '# exercise: flamingo\n# parameters: {"speed": 3}\n': "flamingo has no setting 'speed'",
        "# live: maybe\n": "live must be yes or no",
        "# subject_mass_source: guessed\n": "subject_mass_source must be weighed or record",
        "# calibrated_at: last spring\n": "calibrated_at must be an ISO 8601 date-time",
        "# rate_hz: 0\n": "rate_hz must be between 1 and 1000",
        "": "the recording does not say which exercise it is: give --exercise",
    }
    for lines, words in cases.items():
        path = tmp_path / "r.txt"
        path.write_text(HEAD + lines + "t_s," + rows)
        status, out, err = replay_cli([str(path), "--json"], capsys)
        assert status == 2 and words in err and out == "", (lines, err)
        assert len(err.strip().splitlines()) == 1
    # the header's settings are the default; the command line's come first
    path = tmp_path / "r.txt"
    path.write_text(
        HEAD + '# exercise: quiet-stance\n# parameters: {"duration_s": 60.0}\nt_s,' + rows
    )
    status, out, _ = replay_cli([str(path), "--json"], capsys)
    assert status == 0 and json.loads(out)["score"] is not None
    shorter = json.loads(out)["score"]  # 10 s of a 60 s trial: scaled by the share stood
    status, out, _ = replay_cli([str(path), "--param", "duration_s=10", "--json"], capsys)
    assert status == 0 and json.loads(out)["score"] > shorter
    # another exercise than the header's: the header's settings are not its own
    status, out, _ = replay_cli([str(path), "--exercise", "heel-raises", "--json"], capsys)
    assert status == 0 and json.loads(out)["exercise"] == "heel-raises"


def test_the_records_fill_only_what_the_kept_header_does_not_say():
    """The kept header wins (a mass kept with the recording keeps its own source, none
    borrowed); the side comes from the result's sides (the stance leg said to be the unaffected
    one, standing on the right: the left is affected); the calibration from its kept age."""
    n = 200
    t = np.arange(n) / 80.0 + 14297.31
    loads = 17.5 + np.random.default_rng(4).normal(0, 0.3, (n, 4))
    recording = Recording(t, loads, 440.0, 330.0, exercise="flamingo", leg="right")
    result = {
        "sides": {"stance": "unaffected"},
        "quality": {
            "body_mass_kg": 71.5,
            "body_mass_source": "weighed",
            "calibration_age_days": 2.5,
        },
    }
    kept = KeptRecording(
        7,
        "flamingo",
        None,
        recording_text(recording),
        parameters={"leg": "right", "hold_s": 10.0},
        started_at="2026-11-23T10:00:00+01:00",
        result=result,
        stance={"measured": True, "stance_width_mm": 212.0, "feet_centre_x_mm": -4.0},
        clock_synchronised=False,
    )
    exported = parse_recording(exported_recording_text(kept))
    assert exported.t_s[0] == 0.0 and exported.t_s == pytest.approx(t - t[0], abs=1e-12)
    assert exported.affected_side == "left" and exported.leg == "right"
    assert exported.parameters == {"leg": "right", "hold_s": 10.0}
    assert (exported.subject_mass_kg, exported.subject_mass_source) == (71.5, "weighed")
    assert exported.calibrated_at == "2026-11-20T22:00:00+01:00"
    assert (exported.stance_width_mm, exported.feet_centre_x_mm) == (212.0, -4.0)
    assert exported.feet_measured and exported.clock_synchronised is False
    assert exported.extra["board"] == "unknown" and not exported.live
    with_mass = dataclasses.replace(recording, subject_mass_kg=64.0)
    kept = dataclasses.replace(kept, text=recording_text(with_mass))
    exported = parse_recording(exported_recording_text(kept))
    assert (exported.subject_mass_kg, exported.subject_mass_source) == (64.0, None)
