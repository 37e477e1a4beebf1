"""Settings and the therapist's PIN; the program file: reading, writing, errors, progression."""

from __future__ import annotations

import json
import os

import pytest

from clinic.program import (
    DEFAULT_PROGRAM,
    Decision,
    ProgramError,
    load_program,
    parse_program,
    program_text,
    progress,
    save_program,
)
from display.pin import (
    ASK_TECHNICIAN,
    FREE_ATTEMPTS,
    MAX_WAIT_S,
    check_pin,
    load_pin,
    save_pin,
    set_pin,
    wait_after,
)
from display.settings import Settings, load_settings, save_settings


def test_pin_is_stored_hashed_and_wrong_tries_are_rate_limited(tmp_path):
    set_pin(tmp_path, "4711", salt=os.urandom(16))
    text = (tmp_path / "pin.json").read_text()
    assert "4711" not in text and len(json.loads(text)["hash_hex"]) == 64
    state = load_pin(tmp_path)
    assert check_pin(state, "4711", now=1000.0).accepted
    now = 1000.0
    for _ in range(FREE_ATTEMPTS):
        verdict = check_pin(state, "0000", now)
        state = verdict.state
        assert not verdict.accepted
    assert verdict.wait_s == 30.0 and "Wait 30 seconds" in verdict.message
    # during the wait even the right PIN is not checked
    early = check_pin(state, "4711", now + 10)
    assert not early.accepted and early.wait_s == pytest.approx(20.0)
    # after it, one more wrong try doubles the wait; the right one is accepted and clears it
    later = check_pin(state, "1234", now + 31)
    assert later.wait_s == 60.0
    ok = check_pin(later.state, "4711", now + 31 + 61)
    assert ok.accepted and ok.state.failed_attempts == 0
    assert wait_after(50) == 900.0 and wait_after(10**9) == 900.0  # capped at 15 minutes


def test_pin_must_be_digits_and_a_damaged_settings_file_is_kept_aside(tmp_path):
    with pytest.raises(ValueError, match="4 to 8 digits"):
        set_pin(tmp_path, "12a4")
    with pytest.raises(ValueError, match="4 to 8 digits"):
        set_pin(tmp_path, "١٢٣٤")  # digits, but not the keypad's
    (tmp_path / "settings.json").write_text('{"volume": 7}')
    damaged = load_settings(tmp_path)
    assert (tmp_path / "settings.json.bad").read_text() == '{"volume": 7}'
    assert damaged.volume == Settings().volume


@pytest.mark.parametrize("content", ["[]", "null", '"text"', "7", "[" * 100_000, "{", "\xff"])
def test_a_settings_file_of_any_shape_gives_the_defaults_and_never_a_crash(tmp_path, content):
    (tmp_path / "settings.json").write_text(content, encoding="latin-1")
    assert load_settings(tmp_path) == Settings()
    assert (tmp_path / "settings.json.bad").exists()


def test_no_default_pin_comes_back_when_the_pin_file_is_deleted_or_damaged(tmp_path):
    """Fail closed: no PIN file, a damaged one, a deleted or damaged settings file: no PIN
    opens therapist mode (not 2580, not the old one), until the technician sets a new one."""
    fresh = load_pin(tmp_path)
    assert fresh.status == "missing"
    for pin in ("2580", "0000", "1234", ""):
        verdict = check_pin(fresh, pin, 0.0)
        assert not verdict.accepted and verdict.message == ASK_TECHNICIAN
    set_pin(tmp_path, "4711")
    save_settings(tmp_path, Settings(volume=0.5))
    (tmp_path / "settings.json").unlink()  # the settings deleted: the PIN is untouched
    assert check_pin(load_pin(tmp_path), "4711", 0.0).accepted
    (tmp_path / "settings.json").write_text("garbage")  # damaged: still untouched
    load_settings(tmp_path)
    assert check_pin(load_pin(tmp_path), "4711", 0.0).accepted
    (tmp_path / "pin.json").unlink()  # the PIN file deleted: closed
    gone = load_pin(tmp_path)
    assert gone.status == "missing"
    assert not any(check_pin(gone, p, 0.0).accepted for p in ("4711", "2580"))
    set_pin(tmp_path, "4711")
    for damage in ("", "{", "[]", '{"salt_hex": "00"}', "\x00" * 40):
        (tmp_path / "pin.json").write_text(damage)
        state = load_pin(tmp_path)
        assert state.status == "damaged"
        assert not check_pin(state, "4711", 0.0).accepted
        set_pin(tmp_path, "4711")


@pytest.mark.parametrize(
    ("failed", "locked"),
    [(-1_000_000, 0.0), (-1, 0.0), (1.5, 0.0), (True, 0.0), ("0", 0.0), (0, -5.0), (0, "soon")],
)
def test_the_attempt_counter_cannot_be_lowered_or_widened(tmp_path, failed, locked):
    """A counter written below zero or not a whole number, or a lock that is not a time, is a
    damaged file: closed, not an open door."""
    set_pin(tmp_path, "4711")
    raw = json.loads((tmp_path / "pin.json").read_text())
    raw["failed_attempts"], raw["locked_until"] = failed, locked
    (tmp_path / "pin.json").write_text(json.dumps(raw))
    state = load_pin(tmp_path)
    assert state.status == "damaged"
    assert not check_pin(state, "4711", 0.0).accepted


def test_a_lock_from_a_clock_that_jumped_back_is_shortened_never_lifted(tmp_path):
    state = set_pin(tmp_path, "4711")
    for _ in range(FREE_ATTEMPTS + 5):
        state = check_pin(state, "0000", 10**9).state  # the clock years ahead
    assert state.locked_until > 10**9
    now = 1000.0  # the clock set back: the lock would last years
    verdict = check_pin(state, "4711", now)
    assert not verdict.accepted and verdict.wait_s == pytest.approx(MAX_WAIT_S)
    save_pin(tmp_path, verdict.state)
    assert check_pin(load_pin(tmp_path), "4711", now + MAX_WAIT_S + 1).accepted


def test_an_older_pin_in_the_settings_moves_to_its_own_file_once(tmp_path):
    set_pin(tmp_path, "4711")
    old = json.loads((tmp_path / "pin.json").read_text())
    (tmp_path / "pin.json").unlink()
    (tmp_path / "settings.json").write_text(
        json.dumps(
            {
                "volume": 0.5,
                "pin_salt": old["salt_hex"],
                "pin_hash": old["hash_hex"],
                "failed_attempts": 2,
                "locked_until": 0.0,
            }
        )
    )
    assert load_settings(tmp_path).volume == 0.5
    assert "pin_hash" not in (tmp_path / "settings.json").read_text()  # gone from there
    moved = load_pin(tmp_path)
    assert moved.failed_attempts == 2 and check_pin(moved, "4711", 0.0).accepted


def test_the_technician_sets_a_pin_from_a_shell_and_it_is_logged(tmp_path, capsys, monkeypatch):
    import io

    from balance_board.cli import main

    folder = str(tmp_path)
    assert main(["patient", "--data-dir", folder, "--code", "P-1"]) == 0
    assert main(["pin", "status", "--data-dir", folder]) == 0
    assert "no PIN is set" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("12ab\n"))
    assert main(["pin", "set", "--data-dir", folder]) == 2
    assert "4 to 8 digits" in capsys.readouterr().err
    assert load_pin(tmp_path).status == "missing"
    monkeypatch.setattr("sys.stdin", io.StringIO("97531\n"))
    assert main(["pin", "set", "--data-dir", folder]) == 0
    assert check_pin(load_pin(tmp_path), "97531", 0.0).accepted
    from clinic.store import Store

    with Store(tmp_path / "balance-board.sqlite3", read_only=True) as store:
        [event] = store.events("pin_reset")
    assert "technician" in event["message"] and "missing" in event["message"]


def _unusable(kind: str, path) -> None:
    """A records file that cannot keep the PIN's trace: damaged, or another program's."""
    import sqlite3

    if kind == "damaged":
        path.write_bytes(b"SQLite format 3\x00" + os.urandom(4000))
        return
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
    db.close()


@pytest.mark.parametrize(("kind", "status"), [("damaged", 5), ("foreign", 6)])
def test_pin_set_on_records_that_cannot_keep_its_trace_changes_nothing(
    tmp_path, capsys, monkeypatch, kind, status
):
    import io

    from balance_board.cli import main

    set_pin(tmp_path, "2468")  # the PIN in use
    records = tmp_path / "balance-board.sqlite3"
    _unusable(kind, records)
    before = records.read_bytes(), (tmp_path / "pin.json").read_bytes()
    monkeypatch.setattr("sys.stdin", io.StringIO("97531\n"))
    assert main(["pin", "set", "--data-dir", str(tmp_path)]) == status
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the PIN was not changed" in err, err
    assert (records.read_bytes(), (tmp_path / "pin.json").read_bytes()) == before
    assert check_pin(load_pin(tmp_path), "2468", 0.0).accepted


def test_a_pin_whose_trace_cannot_be_committed_is_put_back(tmp_path, capsys, monkeypatch):
    """The last moment the trace can fail: its commit, after the new PIN was saved (the disk
    full just then). The PIN file goes back to what it was."""
    import contextlib
    import io

    import balance_board.cli as cli
    from clinic.store import Store, StoreError

    assert cli.main(["patient", "--data-dir", str(tmp_path), "--code", "P-1"]) == 0
    set_pin(tmp_path, "2468")

    class CommitFails(Store):
        @contextlib.contextmanager
        def batch(self):
            with contextlib.suppress(StoreError), super().batch():
                yield self
                raise StoreError("the trace was rolled back")  # undoes the batch
            raise StoreError("the disk is full", "disk-full")

    monkeypatch.setattr(cli, "Store", CommitFails)
    monkeypatch.setattr("sys.stdin", io.StringIO("97531\n"))
    assert cli.main(["pin", "set", "--data-dir", str(tmp_path)]) == 10
    assert "the PIN was not changed" in capsys.readouterr().err
    assert check_pin(load_pin(tmp_path), "2468", 0.0).accepted
    assert not check_pin(load_pin(tmp_path), "97531", 0.0).accepted
    with Store(tmp_path / "balance-board.sqlite3", read_only=True) as store:
        assert store.events("pin_reset") == []


GOOD = """
affected_side = "left"

[[exercise]]
name = "quiet-stance"
eyes = "closed"
duration_s = 30

[[exercise]]
name = "flamingo"
leg = "affected"
hold_s = 10
repetitions = 2

[[progression]]
exercise = "flamingo"
field = "hold_s"
after_sessions = 3
step = 5
limit = 20
"""


def test_a_program_reads_resolves_the_affected_leg_and_writes_back_equal(tmp_path):
    program = parse_program(GOOD)
    assert [i.exercise for i in program.exercises] == ["quiet-stance", "flamingo"]
    assert program.exercises[1].repetitions == 2
    assert program.resolved_params(program.exercises[1]) == {"leg": "left", "hold_s": 10.0}
    save_program(tmp_path / "program.toml", program)
    assert load_program(tmp_path / "program.toml") == program
    assert parse_program(program_text(DEFAULT_PROGRAM)) == DEFAULT_PROGRAM


def test_progression_raises_the_hold_after_enough_sessions_up_to_the_limit():
    program = parse_program(GOOD)  # affected side left: the affected leg is the left
    hold = [Decision("flamingo", "hold_s", "left", "hold", "2 of 3")]
    advance = [Decision("flamingo", "hold_s", "left", "advance", "3 in a row")]
    same, changes = progress(program, hold)
    assert same == program and changes == []
    step1, changes = progress(program, advance)
    assert changes == [("flamingo", "hold_s", 10.0, 15.0, "left")]
    step2, _ = progress(step1, advance)
    step3, changes = progress(step2, advance)
    assert step2.exercises[1].params["hold_s"] == 20.0 and changes == []  # the limit holds
    assert step3 == step2
    other_leg = [Decision("flamingo", "hold_s", "right", "advance", "3 in a row")]
    assert progress(program, other_leg)[1] == []  # each leg on its own results


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ('[[exercise]]\nname = "flamingo"\nhold_s = "ten"\n', 3, "hold_s (s) must be a number"),
        ('[[exercise]]\nname = "skipping"\n', 2, "unknown exercise 'skipping'"),
        ('[[exercise]]\nname = "flamingo"\nhold_s = -5\n', 3, "between 2 and 120"),
        ('[[exercise]]\nname = "heel-raises"\ntarget_reps = 2.5\n', 3, "whole number"),
        ('[[exercise]]\nname = "flamingo"\nspeed = 3\n', 3, "flamingo has no setting 'speed'"),
        ('affected_side = "both"\n[[exercise]]\nname = "flamingo"\n', 1, "affected_side"),
        ('[[exercise]]\nname = "flamingo"\n\n[[exercise]]\nhold_s = 3\n', 4, "has no name"),
        ("[[exercise]\nname = 1\n", 1, "not a valid TOML file"),
        ('affected_side = "left"\n', None, "no [[exercise]] entries"),
        (
            '[[exercise]]\nname = "flamingo"\n[[progression]]\nexercise = "flamingo"\n'
            'field = "leg"\nafter_sessions = 3\nstep = 1\nlimit = 3\n',
            5,
            "no number 'leg'",
        ),
        (
            '[[exercise]]\nname = "flamingo"\n[[progression]]\nexercise = "flamingo"\n'
            'field = "hold_s"\nafter_sessions = 3\nstep = 5\n',
            3,
            "needs 'limit'",
        ),
    ],
)
def test_bad_program_files_name_the_line_and_the_field(text, line, words):
    with pytest.raises(ProgramError) as caught:
        parse_program(text, "program.toml")
    error = caught.value
    assert words in str(error)
    assert error.line == line
    assert str(error).startswith("program.toml")


def test_missing_and_binary_program_files_say_so(tmp_path):
    with pytest.raises(ProgramError, match="no such file"):
        load_program(tmp_path / "nope.toml")
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ProgramError, match="not a text file"):
        load_program(tmp_path / "bin.toml")
