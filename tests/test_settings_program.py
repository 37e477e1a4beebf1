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
from display.settings import (
    DEFAULT_PIN,
    FREE_ATTEMPTS,
    Settings,
    check_pin,
    load_settings,
    save_settings,
    wait_after,
)


def test_pin_is_stored_hashed_and_wrong_tries_are_rate_limited(tmp_path):
    settings = Settings().with_pin("4711", salt=os.urandom(16))
    save_settings(tmp_path, settings)
    text = (tmp_path / "settings.json").read_text()
    assert "4711" not in text and len(json.loads(text)["pin_hash"]) == 64
    settings = load_settings(tmp_path)
    assert check_pin(settings, "4711", now=1000.0).accepted
    now = 1000.0
    for _ in range(FREE_ATTEMPTS):
        verdict = check_pin(settings, "0000", now)
        settings = verdict.settings
        assert not verdict.accepted
    assert verdict.wait_s == 30.0 and "Wait 30 seconds" in verdict.message
    # during the wait even the right PIN is not checked
    early = check_pin(settings, "4711", now + 10)
    assert not early.accepted and early.wait_s == pytest.approx(20.0)
    # after it, one more wrong try doubles the wait; the right one is accepted and clears it
    later = check_pin(settings, "1234", now + 31)
    assert later.wait_s == 60.0
    ok = check_pin(later.settings, "4711", now + 31 + 61)
    assert ok.accepted and ok.settings.failed_attempts == 0
    assert wait_after(50) == 900.0  # capped at 15 minutes


def test_pin_must_be_digits_and_a_damaged_settings_file_is_kept_aside(tmp_path):
    with pytest.raises(ValueError, match="4 to 8 digits"):
        Settings().with_pin("12a4", salt=b"x" * 16)
    fresh = load_settings(tmp_path)  # nothing saved yet: the default PIN works
    assert check_pin(fresh, DEFAULT_PIN, 0.0).accepted
    (tmp_path / "settings.json").write_text('{"volume": 7}')
    damaged = load_settings(tmp_path)
    assert (tmp_path / "settings.json.bad").read_text() == '{"volume": 7}'
    assert damaged.volume == Settings().volume
    # a damaged file is no way round the rate limit: the next wrong PIN waits at once
    assert check_pin(damaged, "0000", 0.0).wait_s > 0


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
