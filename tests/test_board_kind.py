"""Which board made each session (issue 12): ``auto`` is the real board on a Pi and the simulated
one elsewhere, never a simulation standing in for a real board; every session keeps its board
(records, CSV, FHIR, recordings, report), and the simulated board's sessions move nothing of a
patient measured on the real one. Real SQLite files; the real app under SDL's dummy driver."""

from __future__ import annotations

import csv
import importlib.abc
import importlib.machinery
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zlib
from datetime import date
from pathlib import Path

import numpy as np
import pytest

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
pygame = pytest.importorskip("pygame")

from balance_board.cli import main  # noqa: E402
from clinic.program import (  # noqa: E402
    parse_program,
    program_text,
    progression_decisions,
    since_by_leg,
)
from clinic.report import gather, table_lines  # noqa: E402
from clinic.sim.synthetic import fill_history  # noqa: E402
from clinic.store import BOARDS, MIGRATIONS, Store, StoreError, utc_instant  # noqa: E402
from device.board import KINDS, Board, choose_kind, open_board, real_board_problem  # noqa: E402
from device.clock import ManualClock  # noqa: E402
from device.geometry import BoardGeometry  # noqa: E402
from device.paths import calibration_path  # noqa: E402
from device.recording import Recording, recording_text  # noqa: E402
from device.sim import generator  # noqa: E402
from device.sim.link import SimulatedLink  # noqa: E402
from device.sim.source import SimulatedSource  # noqa: E402
from display.app import App  # noqa: E402
from display.screens import BoardScreen  # noqa: E402
from display.session import PatientSession, PlannedExercise, planned  # noqa: E402
from display.sim.patient import AutoPatient  # noqa: E402
from exercises.replay import cop_samples  # noqa: E402
from tests.conftest import FRAME_S, T0  # noqa: E402

PROGRAM = (
    'affected_side = "left"\n[[exercise]]\nname = "flamingo"\nleg = "affected"\nhold_s = 10\n'
    '[[progression]]\nexercise = "flamingo"\nfield = "hold_s"\nafter_sessions = 2\n'
    "step = 5\nlimit = 30\n"
)


def a_computer(tmp_path: Path, *, pi: bool) -> Path:
    """A /dev folder: a Raspberry Pi's has a GPIO chip (a Pi 5's is gpiochip4), a PC's not."""
    dev = tmp_path / ("dev-pi" if pi else "dev-pc")
    dev.mkdir()
    (dev / "null").touch()
    if pi:
        (dev / "gpiochip4").touch()
    return dev


class FailingImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """lgpio as it fails under systemd with a read-only working folder: its import raises
    FileNotFoundError making its notification pipe (issue 12), not ImportError."""

    def find_spec(self, name, path=None, target=None):
        return importlib.machinery.ModuleSpec(name, self) if name == "lgpio" else None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise FileNotFoundError(2, "No such file or directory", ".lgd-nfy-1")


# --- auto: the real board on a Pi, the simulated one elsewhere -----------------------------------
def test_auto_is_the_real_board_on_a_pi_whatever_its_state_and_the_simulated_one_on_a_pc(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("BALANCE_BOARD", raising=False)
    monkeypatch.setitem(sys.modules, "lgpio", None)  # lgpio missing: import lgpio fails
    pi, pc = a_computer(tmp_path, pi=True), a_computer(tmp_path, pi=False)
    # never calibrated, lgpio missing, nothing answering: still the real board, never simulated
    assert not calibration_path(tmp_path, "hx711").exists()
    assert choose_kind("auto", device_folder=pi) == "hx711"
    assert choose_kind("auto", device_folder=pc) == "sim"
    assert choose_kind("hx711", device_folder=pc) == "hx711"  # asked for: as asked
    monkeypatch.setenv("BALANCE_BOARD", "sim")  # the variable still overrides, on a Pi too
    assert choose_kind("auto", device_folder=pi) == "sim"
    assert KINDS == BOARDS  # the records keep the board by the names the app opens it by


def test_why_the_real_board_cannot_be_read_is_said_in_words(tmp_path, monkeypatch):
    pi, pc = a_computer(tmp_path, pi=True), a_computer(tmp_path, pi=False)
    assert "not the board's Raspberry Pi" in real_board_problem(pc)
    monkeypatch.setitem(sys.modules, "lgpio", None)
    assert "lgpio library is missing" in real_board_problem(pi)
    monkeypatch.delitem(sys.modules, "lgpio")
    monkeypatch.setattr(sys, "meta_path", [FailingImport(), *sys.meta_path])
    problem = real_board_problem(pi)
    assert "lgpio library could not start (FileNotFoundError)" in problem
    assert ".lgd-nfy" not in problem  # the details go to the log, not to her screen


def test_on_a_pi_without_lgpio_the_app_says_the_board_is_not_connected_and_why(
    tmp_path, monkeypatch, calibration, surface
):
    monkeypatch.delenv("BALANCE_BOARD", raising=False)
    monkeypatch.setitem(sys.modules, "lgpio", None)
    pi = a_computer(tmp_path, pi=True)
    calibration_path(tmp_path, "hx711").write_text(calibration.to_json())
    kind = choose_kind("auto", device_folder=pi)
    # the real board, opened as the app opens it: its reader process finds no pins here
    board = open_board(kind, tmp_path, now_iso=T0, device_folder=pi)
    try:
        assert board.kind == "hx711" and "lgpio library is missing" in board.problem
        clock = ManualClock(T0)
        app = App(surface, board, clock=clock)
        said: list[str] = []
        draw = app.text
        monkeypatch.setattr(
            app, "text", lambda s, text, *a, **k: (said.append(text), draw(s, text, *a, **k))
        )
        app.step([])
        clock.advance(BoardScreen.NO_FRAMES_S + 0.5)  # no readings come
        app.step([])
        assert app.current.name == "board" and app.error is None  # no failsafe, no crash
        assert "The board is not connected" in said
        assert board.problem in said  # the reason, in words, on her screen
        assert not any("Traceback" in text or "Error:" in text for text in said)
    finally:
        board.close()


def test_the_kiosk_command_on_a_pi_without_lgpio_stays_up_on_the_real_board(
    tmp_path, monkeypatch, calibration, capsys
):
    """``balance-board run --board auto`` as the kiosk starts it, on a Pi without lgpio: the
    real board (not the simulator), the app up until it is told to stop, the reason logged."""
    monkeypatch.delenv("BALANCE_BOARD", raising=False)
    monkeypatch.setitem(sys.modules, "lgpio", None)
    monkeypatch.setattr("device.board.DEVICE_FOLDER", a_computer(tmp_path, pi=True))
    data = tmp_path / "data"
    data.mkdir()
    # never calibrated: once the simulator (which calibrates itself); now the real board, up
    # all the same (the first start calibrates it on the screen), and simulating nothing
    status = main(["run", "--board", "auto", "--data-dir", str(data), "--exit-after", "1.5"])
    assert status == 0 and "Traceback" not in capsys.readouterr().err
    assert not calibration_path(data, "sim").exists()
    calibration_path(data, "hx711").write_text(calibration.to_json())
    status = main(["run", "--board", "auto", "--data-dir", str(data), "--exit-after", "1.5"])
    assert status == 0 and "Traceback" not in capsys.readouterr().err
    log = (data / "balance-board.log").read_text()
    assert "the real board cannot be read: The lgpio library is missing" in log
    assert not calibration_path(data, "sim").exists()  # the simulated board was never opened


# --- every session keeps its board ---------------------------------------------------------------
def session_boards(records: Path) -> list:
    """The board of each session, as the file itself has it (not through the store)."""
    with sqlite3.connect(f"file:{records}?mode=ro", uri=True) as db:
        return [row[0] for row in db.execute("SELECT board FROM session ORDER BY id")]


def exported_csv(data: Path, code: str) -> list[dict]:
    out = data / "export"
    assert main(["export", "--format", "csv", "--data-dir", str(data), "--out", str(out)]) == 0
    text = (out / f"{code}-trials.csv").read_text(encoding="utf-8-sig")
    return list(csv.DictReader(text.splitlines()))


@pytest.mark.parametrize("kind", ["sim", "hx711"])
def test_a_session_in_the_app_keeps_the_board_it_was_made_on_in_the_records_and_the_csv(
    kind, tmp_path, calibration, surface, capsys
):
    """The real app, its session started by the simulated patient's tap, on the simulated board
    (``sim``) and on a board opened as the real one (``hx711``; fed here by the same emulated
    pins: only the kind the app was given differs)."""
    clock = ManualClock(T0)
    link = SimulatedLink(SimulatedSource(sway=0.7), clock)
    board = Board(kind, link, calibration, calibration_path(tmp_path, kind))
    records = tmp_path / "balance-board.sqlite3"
    plan = (PlannedExercise("quiet-stance", "Standing still", "Stand still.", {"duration_s": 5.0}),)
    try:
        with Store(records) as store:
            store.add_patient("P-1", created_at=T0)
            session = PatientSession(
                store, "P-1", clock=clock, geometry=board.geometry, board_kind=board.kind, plan=plan
            )
            app = App(surface, board, clock=clock, session=session, auto_patient=AutoPatient(link))
            end = clock.monotonic() + 60
            while app.current.name != "done" and clock.monotonic() < end:
                app.step([])
                clock.advance(FRAME_S)
            assert app.current.name == "done" and app.error is None
            [trial] = store.trials("P-1", every_board=True)
            assert trial.board == kind and trial.simulated == (kind == "sim")
    finally:
        board.close()
    assert session_boards(records) == [kind]
    [row] = exported_csv(tmp_path, "P-1")
    assert row["board"] == kind and row["exercise"] == "quiet-stance"
    capsys.readouterr()


def test_a_session_says_which_board_or_it_is_not_kept(tmp_path):
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", created_at=T0)
        with pytest.raises(TypeError):
            store.start_session("P-1", T0)  # no board: no session
        with pytest.raises(StoreError, match="hx711, sim"):
            store.start_session("P-1", T0, board="wooden")
        with pytest.raises(sqlite3.IntegrityError):  # the file itself refuses it too
            store._db.execute(
                "INSERT INTO session (patient_id, started_at, board) VALUES (1, ?, 'wii')", (T0,)
            )
        assert store.sessions("P-1", every_board=True) == []


# --- a stray simulated session moves nothing of a patient measured on the real board --------------
def flamingo_session(store, when: str, score: float, board: str) -> tuple[int, int]:
    session = store.start_session("P-1", when, board=board)
    trial = store.begin_trial(session, "flamingo", {"leg": "left"}, when)
    result = {"score": score, "metrics": {"first_hold_s": score / 10}}
    store.finish_trial(trial, result, None, when)
    store.end_session(session, when)
    return session, trial


def session_with_a_result(store, board_kind: str, now: str) -> PatientSession:
    """A session of one flamingo in the patient's session controller, its trial scored from a
    generated recording (a known one-leg stand on the left leg)."""
    plan = (planned("flamingo", {"leg": "left", "hold_s": 10.0}),)
    session = PatientSession(
        store,
        "P-1",
        clock=ManualClock(now),
        geometry=BoardGeometry(),
        board_kind=board_kind,
        plan=plan,
    )
    session.start()
    exercise = session.begin_trial(calibration_age_days=3.0)
    for sample in cop_samples(generator.flamingo(1).recording):
        exercise.feed(sample)
        if exercise.finished:
            break
    result = exercise.finish()
    assert result.score is not None  # scored: what is compared below is a real score
    session.finish_trial(result)
    session.next_exercise()
    return session


def test_a_stray_simulated_session_moves_nothing_of_a_patient_measured_on_the_real_board(
    tmp_path, calibration, surface
):
    records = tmp_path / "balance-board.sqlite3"
    program = parse_program(PROGRAM)
    with Store(records) as store:
        store.add_patient("P-1", affected_side="left", created_at=T0)
        store.save_program("P-1", program_text(program), "2026-11-01T09:00:00+01:00", "therapist")
        _, first = flamingo_session(store, "2026-11-02T10:00:00+01:00", 60.0, "hx711")
        _, second = flamingo_session(store, "2026-11-03T10:00:00+01:00", 90.0, "hx711")
        # the simulator's automatic patient, on her records: a perfect score, a safety stop
        stray, simulated = flamingo_session(store, "2026-11-04T10:00:00+01:00", 99.0, "sim")
        store.log_event("safety_stop", "stepped off", "2026-11-04T10:01:00+01:00", stray)

        # the records: kept and listed, marked; out of what judges her
        assert store.measured_on_real_board("P-1")
        assert [t.id for t in store.trials("P-1")] == [first, second]
        every = store.trials("P-1", every_board=True)
        assert [(t.id, t.board) for t in every] == [
            (first, "hx711"),
            (second, "hx711"),
            (simulated, "sim"),
        ]
        assert [t.id for t in store.trials("P-1", recent_sessions=1)] == [second]  # checks
        assert store.last_trial("P-1", "flamingo").id == second
        assert [s["board"] for s in store.sessions("P-1")] == ["hx711", "hx711"]

        # progression: counted, the simulated 99 would make two good sessions in a row ...
        since = since_by_leg(store.programs("P-1"), program, "left")
        [counted] = progression_decisions(program, every, since, "left")
        assert counted.action == "advance"
        # ... but a real session's end counts one (hold), and a simulated one's applies nothing
        real = PatientSession(
            store,
            "P-1",
            clock=ManualClock("2026-11-04T12:00:00+01:00"),
            geometry=BoardGeometry(),
            board_kind="hx711",
            program=program,
            data_folder=tmp_path,
        )
        real.progress_program()
        assert real.program.exercises[0].params["hold_s"] == 10.0
        simulation = PatientSession(
            store,
            "P-1",
            clock=ManualClock("2026-11-04T12:00:00+01:00"),
            geometry=BoardGeometry(),
            board_kind="sim",
            program=program,
            data_folder=tmp_path,
        )
        simulation.progress_program()
        assert simulation.program.exercises[0].params["hold_s"] == 10.0
        assert [v["source"] for v in store.programs("P-1")] == ["therapist"]
        [event] = store.events("progression")
        assert "not applied" in event["message"] and "simulated board" in event["message"]

        # against last time: a simulated result is compared with nothing of hers, and hers
        # with her last real one (90), not with the simulation's 99
        on_sim = session_with_a_result(store, "sim", "2026-11-04T14:00:00+01:00")
        assert on_sim.last_change is None and on_sim.previous_score is None
        on_board = session_with_a_result(store, "hx711", "2026-11-05T10:00:00+01:00")
        assert on_board.last_change is not None and on_board.previous_score == 90.0
        assert session_boards(records) == ["hx711", "hx711", "sim", "sim", "hx711"]

    # the Progress screen: her days on the real board only (4 Nov was simulated)
    clock = ManualClock("2026-11-06T09:00:00+01:00")
    link = SimulatedLink(SimulatedSource(sway=0.5), clock)
    board = Board("sim", link, calibration, calibration_path(tmp_path, "sim"))
    try:
        with Store(records) as store:
            session = PatientSession(
                store, "P-1", clock=clock, geometry=board.geometry, board_kind="sim", plan=()
            )
            app = App(surface, board, clock=clock, session=session)
            app.go("progress")
            app.step([])
            days_before = [d for d, _ in app.current.series["flamingo/left"]]
            assert days_before == [4, 3, 1]  # 2, 3 and 5 November; not the 4th
            assert max(s for _, s in app.current.series["flamingo/left"]) < 99.0
    finally:
        board.close()

    # the report: trends, adherence and safety from the real board; the table lists everything
    with Store(records, read_only=True) as store:
        data = gather(store, "P-1", date(2026, 11, 1), date(2026, 11, 6), with_recordings=False)
    assert data.sessions == 3 and data.session_days == 3 and not data.simulated
    assert data.simulated_left_out == 2
    assert [d.day for d, _ in data.scores["flamingo/left"]] == [2, 3, 5]
    assert data.safety == []  # the simulated patient's step off is no safety stop of hers
    assert data.warnings[0].startswith("2 session(s) on the simulated board (04 Nov)")
    lines = table_lines(data.trials)
    assert len(lines) == 5
    assert [("simulated board" in line) for line in lines] == [False, False, True, True, False]


def test_a_demo_folder_all_simulated_still_reports_and_exports_it_labelled(tmp_path, capsys):
    """A demo's folder (weeks of synthetic history and a session on the simulated board): its
    sessions are all simulated, so they make her trends, and every output says so."""
    data = tmp_path / "demo"
    with Store(data / "balance-board.sqlite3") as store:
        store.add_patient("P-DEMO", affected_side="left", birth_year=1954, created_at=T0)
        fill_history(store, "P-DEMO", date(2026, 10, 1), 28, seed=5, adherence=1.0)
        session_id = store.start_session("P-DEMO", "2026-10-29T10:00:00+01:00", board="sim")
        trial = store.begin_trial(session_id, "quiet-stance", {}, "2026-10-29T10:00:00+01:00")
        recording = generator.quiet_stance(2, seconds=12.0).recording
        store.finish_trial(trial, {"score": 70.0}, recording, "2026-10-29T10:00:30+01:00")
        assert not store.measured_on_real_board("P-DEMO")
        data_ = gather(store, "P-DEMO", date(2026, 10, 1), date(2026, 10, 29))
    assert data_.simulated and data_.simulated_left_out == 0
    assert data_.sessions == 29 and data_.scores  # the trends are drawn: nothing left out
    assert data_.warnings[0].startswith("Every session of this period was on the simulated")
    assert all("simulated board" in line for line in table_lines(data_.trials))

    args = ["--data-dir", str(data)]
    assert main(["export", "--format", "csv", *args, "--out", str(data / "out")]) == 0
    rows = list(
        csv.DictReader((data / "out" / "P-DEMO-trials.csv").read_text("utf-8-sig").splitlines())
    )
    assert len(rows) == len(data_.trials) and {row["board"] for row in rows} == {"sim"}
    assert main(["export", "--format", "fhir", *args, "--out", str(data / "out")]) == 0
    bundle = json.loads((data / "out" / "P-DEMO-bundle.json").read_text())
    resources = [entry["resource"] for entry in bundle["entry"]]
    devices = {r["id"]: r for r in resources if r["resourceType"] == "Device"}
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    assert "Balance board, simulated" in devices["balance-board-simulated"]["deviceName"][0]["name"]
    assert {o["device"]["reference"] for o in observations} == {"Device/balance-board-simulated"}
    assert all(o["note"][0]["text"].startswith("simulated board") for o in observations)
    assert main(["export", "--format", "recordings", *args, "--out", str(data / "out")]) == 0
    kept = sorted((data / "out" / "P-DEMO-recordings").glob("*.txt"))
    assert len(kept) == 3  # the history's two standing trials and today's
    for path in kept:
        assert path.read_text().splitlines()[:2] == [
            "# format: balance-board-recording/1",
            "# board: sim",
        ]
    pdf = data / "report.pdf"
    assert (
        main(["report", *args, "--from", "2026-10-01", "--to", "2026-10-29", "--out", str(pdf)])
        == 0
    )
    capsys.readouterr()
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF's text was not read")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "Balance report — patient P-DEMO (simulated board)" in text
    assert "not measurements of a person" in text


# --- the records of before: schema 5 to 6 --------------------------------------------------------
def rows_of(path: Path) -> dict[str, list[dict]]:
    """Every row of every table of a records file, by table, read with plain SQLite."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        tables = [
            r[0]
            for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        return {
            t: [dict(r) for r in db.execute(f"SELECT * FROM {t} ORDER BY rowid")] for t in tables
        }


def test_a_version_5_file_is_brought_to_version_6_keeping_every_record(tmp_path, capsys):
    path = tmp_path / "balance-board.sqlite3"
    db = sqlite3.connect(path)
    db.create_function("utc_instant", 1, utc_instant)
    for version in range(1, 6):
        db.executescript(MIGRATIONS[version])
    db.execute("PRAGMA user_version=5")
    blob = zlib.compress(
        recording_text(
            Recording(np.arange(80) / 80.0, np.full((80, 4), 17.5), 440.0, 330.0)
        ).encode()
    )
    for patient, code in ((1, "P-1"), (2, "P-2")):
        db.execute(
            "INSERT INTO patient (id, code, affected_side, created_at) VALUES (?, ?, 'left', ?)",
            (patient, code, T0),
        )
    for session, patient, day in ((1, 1, 2), (2, 1, 3), (3, 2, 3)):
        when = f"2026-11-{day:02d}T10:00:00+01:00"
        db.execute(
            "INSERT INTO session (id, patient_id, started_at, started_utc, ended_at, "
            "clock_synchronised, body_mass_kg, stance) VALUES (?, ?, ?, ?, ?, 1, 70.5, '{}')",
            (session, patient, when, utc_instant(when), when),
        )
        db.execute(
            "INSERT INTO trial (id, session_id, patient_id, exercise, parameters, started_at, "
            "started_utc, ended_at, status, score, result, note, owner, recording_bytes) VALUES "
            "(?, ?, ?, 'flamingo', '{\"leg\": \"left\"}', ?, ?, ?, 'complete', ?, ?, 'kept', "
            "'pid:1', ?)",
            (
                session,
                session,
                patient,
                when,
                utc_instant(when),
                when,
                50.0 + session,
                json.dumps({"score": 50.0 + session}),
                len(blob),
            ),
        )
        db.execute("INSERT INTO recording (trial_id, data) VALUES (?, ?)", (session, blob))
        db.execute(
            "INSERT INTO device_event (at, at_utc, kind, message, session_id) VALUES "
            "(?, ?, 'calibration', 're-zeroed', ?)",
            (when, utc_instant(when), session),
        )
    db.execute(
        "INSERT INTO program (patient_id, saved_at, source, text, after_trial_id) VALUES "
        "(1, ?, 'therapist', '', 1)",
        (T0,),
    )
    db.commit()
    db.close()
    before = rows_of(path)
    with pytest.raises(StoreError, match="another version"):
        Store(path, read_only=True)  # reading changes nothing, not even the schema
    assert rows_of(path) == before

    with Store(path) as store:
        assert store.schema_version == 6
        assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store._db.execute("PRAGMA foreign_key_check").fetchall() == []
        # every row of every table, as it was; the sessions of before know no board (NULL)
        after = rows_of(path)
        kept = {table: rows for table, rows in before.items() if rows}
        assert set(kept) == {"patient", "session", "trial", "recording", "program", "device_event"}
        for table, rows in kept.items():
            old_columns = [{k: r[k] for k in rows[0]} for r in after[table]]
            assert old_columns == rows, table
        assert [r["board"] for r in after["session"]] == [None, None, None]
        # ... which count as hers: nothing in them tells a simulation from her board
        assert [(t.id, t.board) for t in store.trials("P-1")] == [(1, None), (2, None)]
        assert not store.measured_on_real_board("P-1")
        flamingo_session(store, "2026-11-04T10:00:00+01:00", 99.0, "sim")
        assert [t.id for t in store.trials("P-1")] == [1, 2, 4]  # no real board yet: all count
        flamingo_session(store, "2026-11-05T10:00:00+01:00", 70.0, "hx711")
        assert [t.id for t in store.trials("P-1")] == [1, 2, 5]  # now the simulation is out
        assert store.recording(1).loads_kg.shape == (80, 4)
    out = tmp_path / "out"
    argv = ["export", "--patient", "P-1", "--format", "csv", "--data-dir", str(tmp_path)]
    assert main([*argv, "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "P-1-trials.csv").read_text("utf-8-sig").splitlines()))
    assert [row["board"] for row in rows] == ["unknown", "unknown", "sim", "hx711"]
    capsys.readouterr()
