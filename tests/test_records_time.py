"""Time on the records: the autumn clock change and a clock that jumps must not reorder what
the device did, stop progression for good, count a failed session as passed, or put the wrong
program in force in the report's adherence. Real SQLite files; the session's own progression."""

from __future__ import annotations

from datetime import date

from clinic.program import parse_program, program_text
from clinic.report import gather
from clinic.store import Store
from device.clock import ManualClock
from device.geometry import BoardGeometry
from display.session import PatientSession

T0 = "2026-11-01T09:00:00+01:00"
PROGRAM = (
    'affected_side = "left"\n[[exercise]]\nname = "flamingo"\nleg = "affected"\nhold_s = 10\n'
    '[[progression]]\nexercise = "flamingo"\nfield = "hold_s"\nafter_sessions = 2\n'
    "step = 5\nlimit = 30\n"
)


def _session(store, when: str, score: float) -> int:
    session = store.start_session("P-1", when, board="hx711")
    trial = store.begin_trial(session, "flamingo", {"leg": "left"}, when)
    store.finish_trial(trial, {"score": score}, None, when)
    store.end_session(session, when)
    return trial


def _patient_session(store, tmp_path, now: str) -> PatientSession:
    program = parse_program(PROGRAM)
    return PatientSession(
        store,
        "P-1",
        clock=ManualClock(now),
        geometry=BoardGeometry(),
        board_kind="hx711",
        program=program,
        data_folder=tmp_path,
    )


def _hold_s(session: PatientSession) -> float:
    return session.program.exercises[0].params["hold_s"]


def test_against_last_time_after_the_autumn_clock_change_is_the_trial_done_last(tmp_path):
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", affected_side="left", created_at=T0)
        earlier = _session(store, "2026-10-25T02:30:00+02:00", 40.0)  # summer time
        later = _session(store, "2026-10-25T02:10:00+01:00", 90.0)  # 40 min later, winter
        assert store.last_trial("P-1", "flamingo").id == later
        assert [t.id for t in store.trials("P-1", "flamingo")] == [earlier, later]
        assert [s["started_at"][11:16] for s in store.sessions("P-1")] == ["02:30", "02:10"]


def test_a_program_saved_while_the_clock_was_a_year_ahead_does_not_stop_progression(tmp_path):
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", affected_side="left", created_at=T0)
        _session(store, "2026-11-01T10:00:00+01:00", 90.0)
        # the clock runs a year ahead for a while: the therapist saves the program then
        store.save_program(
            "P-1", program_text(parse_program(PROGRAM)), "2027-11-02T10:00:00+01:00", "therapist"
        )
        # put right again: two good sessions since the program was saved
        _session(store, "2026-11-03T10:00:00+01:00", 90.0)
        _session(store, "2026-11-04T10:00:00+01:00", 95.0)
        session = _patient_session(store, tmp_path, "2026-11-04T11:00:00+01:00")
        session.progress_program()
        assert _hold_s(session) == 15.0  # by the clock's times these came "before" the change
        assert [v["source"] for v in store.programs("P-1")] == ["therapist", "progression"]


def test_a_clock_that_jumped_back_does_not_count_a_failed_session_as_passed(tmp_path):
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", affected_side="left", created_at=T0)
        store.save_program("P-1", program_text(parse_program(PROGRAM)), T0, "therapist")
        _session(store, "2026-11-02T10:00:00+01:00", 90.0)
        _session(store, "2026-11-03T10:00:00+01:00", 95.0)
        # the clock jumps back two days; she fails today's session
        _session(store, "2026-11-01T10:00:00+01:00", 20.0)
        session = _patient_session(store, tmp_path, "2026-11-01T11:00:00+01:00")
        session.progress_program()
        assert _hold_s(session) == 10.0  # sorted by the clock, the failure would come first
        assert [v["source"] for v in store.programs("P-1")] == ["therapist"]


def test_the_program_in_force_for_adherence_is_the_one_saved_last_whatever_the_clock(tmp_path):
    two = PROGRAM.replace("hold_s = 10\n", 'hold_s = 10\n[[exercise]]\nname = "heel-raises"\n')
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", affected_side="left", created_at=T0)
        store.save_program("P-1", program_text(parse_program(PROGRAM)), T0, "therapist")
        # saved later, while the clock stood a week behind: it replaced the first all the same
        store.save_program(
            "P-1", program_text(parse_program(two)), "2026-10-25T09:00:00+01:00", "therapist"
        )
        data = gather(store, "P-1", date(2026, 11, 2), date(2026, 11, 8), with_recordings=False)
        assert data.per_exercise["heel-raises"][1] == 7  # prescribed every day of the week


def _report(tmp_path, capsys, monkeypatch, today: str, *extra: str) -> tuple[str, str]:
    """``balance-board report`` run on ``today`` by the device's clock: (its line, its note)."""
    from balance_board.cli import main

    monkeypatch.setattr("balance_board.cli.SystemClock", lambda: ManualClock(today))
    argv = ["report", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r.pdf"), *extra]
    assert main(argv) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_one_session_on_a_clock_a_year_ahead_does_not_move_the_default_report_period(
    tmp_path, capsys, monkeypatch
):
    from clinic.sim.synthetic import fill_history

    with Store(tmp_path / "balance-board.sqlite3") as store:
        store.add_patient("P-1", affected_side="left", created_at=T0)
        fill_history(store, "P-1", date(2026, 9, 1), 81, recordings=False)  # to 20 November
        _session(store, "2027-11-20T09:00:00+01:00", 50.0)  # the clock a year ahead, once
        _session(store, "2026-11-21T09:00:00+01:00", 55.0)  # and right again the next day
    out, err = _report(tmp_path, capsys, monkeypatch, "2026-11-23T10:00:00+01:00")
    assert "from 2026-08-30 to 2026-11-21" in out  # her twelve weeks, to her latest real day
    assert "1 session(s) dated after today" in err and "2027-11-20" in err, err
    assert err.count("\n") == 1
    # given --to, the therapist may include it
    out, err = _report(tmp_path, capsys, monkeypatch, T0, "--to", "2027-11-20")
    assert "to 2027-11-20" in out and err == ""


def test_when_every_session_lies_after_today_the_report_ends_on_the_latest_and_says_why(
    tmp_path, capsys, monkeypatch
):
    with Store(tmp_path / "balance-board.sqlite3") as store:
        store.add_patient("P-1", affected_side="left", created_at=T0)
        _session(store, "2026-11-20T09:00:00+01:00", 50.0)
        _session(store, "2026-11-21T09:00:00+01:00", 55.0)
    # the device's clock set back to 2025 (a flat clock battery): her sessions lie ahead
    out, err = _report(tmp_path, capsys, monkeypatch, "2025-01-01T10:00:00+01:00")
    assert "to 2026-11-21" in out and "2 trials" in out
    assert "every session of hers is dated after today" in err and "clock" in err, err


def test_from_after_the_default_end_says_what_the_end_is(tmp_path, capsys, monkeypatch):
    from balance_board.cli import main

    with Store(tmp_path / "balance-board.sqlite3") as store:
        store.add_patient("P-1", affected_side="left", created_at=T0)
        _session(store, "2026-11-20T09:00:00+01:00", 50.0)
    monkeypatch.setattr("balance_board.cli.SystemClock", lambda: ManualClock(T0))
    argv = ["report", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r.pdf")]
    assert main([*argv, "--from", "2026-11-22"]) == 2
    err = capsys.readouterr().err
    assert "--from 2026-11-22 is after the report's last day, 2026-11-20" in err, err
    assert "the day of her latest session" in err and "give --to as well" in err
    assert "--to is before --from" not in err  # she gave no --to
