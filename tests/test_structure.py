"""The structure's own parts, each on its own: the patient's session without pygame, the screen
machine, the board assembler, the exercise registry, the clinic actions and the manual clock."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from clinic import actions
from clinic.program import FILE_NAME, load_program, parse_program, program_text
from clinic.store import Store
from device.board import BoardError, choose_kind, open_board
from device.clock import ManualClock
from device.config import BoardConfig, PinMap, load_board_config
from device.geometry import BoardGeometry, GeometryError
from device.sim import generator
from display.machine import FAILSAFE, Screen, ScreenMachine
from display.session import PatientSession, plan_from_program, planned
from exercises.registry import EXERCISES, exercise_spec
from exercises.replay import cop_samples
from tests.conftest import REPO, T0

PROGRAM = """
affected_side = "right"

[[exercise]]
name = "quiet-stance"
duration_s = 20

[[exercise]]
name = "flamingo"
leg = "affected"
hold_s = 10

[[progression]]
exercise = "flamingo"
field = "hold_s"
after_sessions = 1
step = 2
limit = 20
"""


# --- the patient's session, no pygame ------------------------------------------------------------
def test_the_session_module_loads_no_pygame_and_the_core_no_hardware():
    code = (
        "import sys, display.session, exercises.replay, clinic.report, clinic.actions\n"
        "bad = {'pygame', 'gpiozero', 'lgpio', 'device.hx711', 'device.sim'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def feed_recording(exercise, recording) -> None:
    for sample in cop_samples(recording):
        exercise.feed(sample)
        if exercise.finished:
            break


def test_a_session_runs_its_plan_keeps_every_trial_and_progresses(tmp_path):
    clock = ManualClock(T0)
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", affected_side="left", created_at=T0)
        program = parse_program(PROGRAM)
        session = PatientSession(
            store,
            "P-1",
            clock=clock,
            geometry=BoardGeometry(),
            board_kind="hx711",
            program=program,
            data_folder=tmp_path,
        )
        # the record's side (left) wins over the file's (right): the affected leg is the left
        assert [p.exercise for p in session.plan] == ["quiet-stance", "flamingo"]
        assert session.plan[1].params == {"leg": "left", "hold_s": 10.0}
        assert "right foot" in session.plan[1].instruction
        session.start()
        for planned in session.plan:
            exercise = session.begin_trial(calibration_age_days=3.0)
            trial = (
                generator.quiet_stance(1, seconds=25.0)
                if planned.exercise == "quiet-stance"
                else generator.flamingo(1)
            )
            for t, row in zip(trial.recording.t_s, trial.recording.loads_kg, strict=True):
                session.keep_loads(float(t), tuple(row))
            feed_recording(exercise, trial.recording)
            clock.advance(30)
            session.finish_trial(exercise.finish())
            more = session.next_exercise()
        assert not more and session.session_id is None
        kept = store.trials("P-1")
        assert [t.exercise for t in kept] == ["quiet-stance", "flamingo"]
        assert all(store.recording(t.id) is not None for t in kept)
        assert kept[0].started_at == T0 and session.problem is None


def test_a_safety_stop_is_kept_and_a_failing_disk_never_raises(tmp_path):
    clock = ManualClock(T0)
    store = Store(tmp_path / "r.sqlite3")
    store.add_patient("P-2", created_at=T0)
    session = PatientSession(
        store,
        "P-2",
        clock=clock,
        geometry=BoardGeometry(),
        board_kind="hx711",
        program=parse_program(PROGRAM),
    )
    session.start()
    session.begin_trial()
    session.safety_stop("stepped off")
    [trial] = store.trials("P-2", status="aborted")
    assert trial.note == "stepped off" and store.events("safety_stop")
    store.close()  # as if the records file went away under the session
    exercise = session.begin_trial()
    session.finish_trial(exercise.finish())
    session.safety_stop("stepped off again")
    assert session.problem and "could not be saved" in session.problem


def test_progression_runs_after_a_session_and_rewrites_the_program(tmp_path):
    clock = ManualClock(T0)
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-3", affected_side="left", created_at=T0)
        program = actions.prescribe(
            tmp_path,
            store,
            "P-3",
            parse_program(PROGRAM).with_side("left"),
            now_iso=T0,
            source="therapist",
            message="set up",
        )
        clock.advance(3600)
        session_id = store.start_session("P-3", clock.now_iso(), board="hx711")
        trial = store.begin_trial(session_id, "flamingo", {"leg": "left"}, clock.now_iso())
        store.finish_trial(trial, {"score": 90.0}, None, clock.now_iso())
        session = PatientSession(
            store,
            "P-3",
            clock=clock,
            geometry=BoardGeometry(),
            board_kind="hx711",
            program=program,
            data_folder=tmp_path,
        )
        session.progress_program()
        assert session.program.exercises[1].params["hold_s"] == 12.0
        assert load_program(tmp_path / FILE_NAME).exercises[1].params["hold_s"] == 12.0
        assert store.patient("P-3").affected_side == "left"  # a progression never moves it
        assert [e["message"] for e in store.events("progression")] == [
            "flamingo (left leg) hold_s: 10 → 12"
        ]


def test_a_program_imported_while_the_app_runs_is_in_force_from_the_next_session(tmp_path):
    """`balance-board program FILE` while the app runs: the records say the new program is in
    force, so the next session follows it, and a progression starts from it, not from the old
    one (which it would otherwise write back over the therapist's)."""
    from balance_board.cli import main

    clock = ManualClock(T0)
    with Store(tmp_path / "records.sqlite3") as store:
        store.add_patient("P-3", affected_side="right", created_at=T0)
        first = actions.prescribe(
            tmp_path,
            store,
            "P-3",
            parse_program(PROGRAM),
            now_iso=T0,
            source="therapist",
            message="set up",
        )
        session = PatientSession(
            store,
            "P-3",
            clock=clock,
            geometry=BoardGeometry(),
            board_kind="hx711",
            program=first,
            data_folder=tmp_path,
        )
        session.start()
        assert [p.exercise for p in session.plan] == ["quiet-stance", "flamingo"]
        toe = tmp_path / "toe.toml"
        toe.write_text('[[exercise]]\nname = "toe-raises"\ntarget_reps = 8\n', encoding="utf-8")
        assert main(["program", str(toe), "--data-dir", str(tmp_path), "--patient", "P-3"]) == 0
        session.end()
        clock.advance(3600)
        session.start()
        assert [p.exercise for p in session.plan] == ["toe-raises"]
        assert session.program.exercises[0].params["target_reps"] == 8
        session.progress_program()  # no rule: the therapist's file stays as she sent it
        assert load_program(tmp_path / FILE_NAME).exercises[0].exercise == "toe-raises"
        session.end()

        # a file damaged meanwhile: the program in use stays (never the default mid-run)
        (tmp_path / FILE_NAME).write_text("[[exercise]]\nname = 7\n", encoding="utf-8")
        session.start()
        assert [p.exercise for p in session.plan] == ["toe-raises"]


# --- the screen machine --------------------------------------------------------------------------
class Named(Screen):
    def __init__(self, app, name, *, enter=None, update=None):
        super().__init__(app)
        self.name = name
        self._enter, self._update = enter, update

    def enter(self):
        return self._enter() if self._enter else None

    def update(self, samples):
        return self._update() if self._update else None


def test_screens_say_where_to_go_and_only_the_machine_switches():
    seen = []
    machine = ScreenMachine(
        [
            Named(None, "a", update=lambda: "b"),
            Named(None, "b", enter=lambda: seen.append("b") or "c"),  # hands over at once
            Named(None, "c"),
            Named(None, FAILSAFE),
        ],
        "a",
    )
    machine.run(machine.current.update, [])
    assert machine.current.name == "c" and seen == ["b"]


def test_a_failing_hook_shows_the_failsafe_screen_and_a_wrong_name_fails_at_once():
    def boom():
        raise RuntimeError("boom")

    machine = ScreenMachine([Named(None, "a", update=boom), Named(None, FAILSAFE)], "a")
    machine.run(machine.current.update, [])
    assert machine.current.name == FAILSAFE and "boom" in machine.error
    machine = ScreenMachine(
        [Named(None, "a", update=lambda: "nowhere"), Named(None, FAILSAFE)], "a"
    )
    with pytest.raises(ValueError, match="no screen called 'nowhere'"):
        machine.run(machine.current.update, [])
    with pytest.raises(ValueError, match="failsafe"):
        ScreenMachine([Named(None, "a")], "a")
    loop = [Named(None, "a", enter=lambda: "b"), Named(None, "b", enter=lambda: "a")]
    machine = ScreenMachine([*loop, Named(None, FAILSAFE)], FAILSAFE)
    machine.go("a")
    assert machine.current.name == FAILSAFE and "keep handing over" in machine.error


# --- the board assembler --------------------------------------------------------------------------
def test_one_place_opens_every_kind_of_board(tmp_path, monkeypatch, calibration):
    config = BoardConfig()
    assert choose_kind("sim") == "sim"
    monkeypatch.setenv("BALANCE_BOARD", "sim")
    assert choose_kind("auto") == "sim"
    monkeypatch.setenv("BALANCE_BOARD", "wooden")
    with pytest.raises(BoardError, match="BALANCE_BOARD"):
        choose_kind("auto")
    monkeypatch.delenv("BALANCE_BOARD")
    with pytest.raises(BoardError, match="balance-board calibrate --board hx711"):
        open_board("hx711", tmp_path, config=config, now_iso=T0)
    clock = ManualClock(T0)
    (tmp_path / "calibration-sim.json").write_text(calibration.to_json())
    board = open_board("sim", tmp_path, config=config, now_iso=T0, clock=clock, mass_kg=65.0)
    try:
        clock.advance(1.0)
        frames = board.link.frames()
        assert 75 <= len(frames) <= 85 and board.simulated
        total = board.calibration.loads(frames[-1]).total_kg
        assert total == pytest.approx(65.0, abs=0.5)
    finally:
        board.close()


def test_the_pins_and_the_geometry_come_from_one_file(tmp_path):
    config = load_board_config(REPO / "hardware" / "board.toml")
    assert config.pins == PinMap() and config.geometry == BoardGeometry()
    path = tmp_path / "board.toml"
    text = (REPO / "hardware" / "board.toml").read_text()
    path.write_text(text.replace("dout = [5, 6, 13, 19]", "dout = [5, 6, 13, 13]"))
    with pytest.raises(GeometryError, match="uses a GPIO twice"):
        load_board_config(path)
    path.write_text(text.replace("dout = [5, 6, 13, 19]", "dout = [5, 6, 13, 40]"))
    with pytest.raises(GeometryError, match="0 to 27"):
        load_board_config(path)


# --- the registry and the clinic actions --------------------------------------------------------
def test_every_parameter_default_is_allowed_and_files_carry_the_help():
    for spec in EXERCISES.values():
        assert spec.title and spec.instruction and spec.exercise_class
        for parameter in spec.parameters:
            if parameter.default is not None:
                assert parameter.check(parameter.default) == parameter.default, parameter
        if spec.amount:
            assert spec.parameter(spec.amount).step
    text = program_text(parse_program(PROGRAM))
    assert "hold_s = 10   # seconds to stand on one leg (2 to 120 s)" in text
    assert parse_program(text) == parse_program(PROGRAM)
    with pytest.raises(ValueError, match="unknown exercise 'skipping'"):
        exercise_spec("skipping")


def test_importing_a_program_sets_the_patients_side_once_for_everyone(tmp_path):
    source = tmp_path / "usb-program.toml"
    source.write_text(PROGRAM)
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-4", affected_side="left", created_at=T0)
        program = actions.import_program(tmp_path, store, "P-4", source, now_iso=T0)
        assert store.patient("P-4").affected_side == "right"  # the file said so
        assert program.affected_side == "right"
        assert plan_from_program(program, "right")[1].params["leg"] == "right"
        # and the other way: the patient's record changed, the program file follows it
        actions.set_patient_details(store, tmp_path, "P-4", now_iso=T0, affected_side="left")
        assert load_program(tmp_path / FILE_NAME).affected_side == "left"
        assert [v["source"] for v in store.programs("P-4")] == ["import"]
        kinds = [e["kind"] for e in store.events()]
        assert kinds.count("patient") == 2 and "program" in kinds


def test_the_manual_clock_moves_only_when_told():
    clock = ManualClock("2026-10-25T02:30:00+02:00")
    assert clock.monotonic() == 0.0
    clock.advance(90)
    assert clock.now_iso() == "2026-10-25T02:31:30+02:00" and clock.monotonic() == 90.0
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError, match="UTC offset"):
        ManualClock("2026-10-25T02:30:00")


# --- the clock's trust ---------------------------------------------------------------------------
def test_whether_the_clock_is_synchronised_is_asked_of_the_system(tmp_path):
    from device.clock import clock_synchronised

    flag = tmp_path / "timesync" / "synchronized"
    flag.parent.mkdir()
    assert clock_synchronised(flag) is False  # timesyncd runs, not yet synchronised
    flag.write_text("")
    assert clock_synchronised(flag) is True
    answer = clock_synchronised(tmp_path / "none" / "synchronized")  # no timesyncd: the kernel
    assert answer in (True, False, None)


def test_a_session_on_an_unsynchronised_clock_is_recorded_so_and_its_results_flagged(tmp_path):
    from exercises.quiet_stance import QuietStance

    clock = ManualClock(T0, synchronised=False)
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", created_at=T0)
        session = PatientSession(
            store,
            "P-1",
            clock=clock,
            geometry=BoardGeometry(),
            board_kind="hx711",
            plan=(planned("quiet-stance", {}),),
        )
        session.start()

        def synchronised():
            with sqlite3.connect(f"file:{tmp_path / 'r.sqlite3'}?mode=ro", uri=True) as db:
                return [r[0] for r in db.execute("SELECT clock_synchronised FROM session")]

        assert synchronised() == [0]
        context = session.context()
        assert context.clock_synchronised is False
        result = QuietStance(context).finish()
        assert "the device clock was not synchronised: dates may be off" in result.quality.warnings
        clock.is_synchronised = True
        session.start()
        assert synchronised() == [0, 1]
