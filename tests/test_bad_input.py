"""Bad input on every path a user can reach from the command line: each is refused in one line
with the documented exit status (README, "Exit statuses"), prints no traceback, and changes
nothing. The records file's own troubles are in test_records_file.py."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from balance_board.cli import EXIT_BAD_INPUT, EXIT_NOT_SCORABLE, main
from device.recording import FORMAT, HEADER, Recording, write_recording
from device.sim import generator
from tests.conftest import REPO

HEAD = f"# format: {FORMAT}\n# board_width_mm: 440\n# board_depth_mm: 330\n" + ",".join(HEADER)


def rows(n: int, kg: float = 17.5, dt: float = 0.0125, start: float = 0.0) -> str:
    return "".join(f"\n{start + i * dt:.4f},{kg},{kg},{kg},{kg}" for i in range(n))


def run(argv, capsys) -> tuple[int, str]:
    status = main(argv)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return status, captured.err


def digest(folder: Path) -> dict[str, str]:
    """Every file in the folder and its content's hash (the log aside: it says what happened)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.endswith(".log")
    }


# --- recordings ----------------------------------------------------------------------------------
RECORDINGS = {
    "empty": ("", EXIT_BAD_INPUT, "empty"),
    "binary": (None, EXIT_BAD_INPUT, "not a UTF-8 text file"),
    "no format line": ("t_s,a\n1,2", EXIT_BAD_INPUT, "no '# format:' line"),
    "no header": (
        f"# format: {FORMAT}\n# board_width_mm: 440\n# board_depth_mm: 330\n",
        2,
        "header",
    ),
    "three columns": (HEAD + "\n0,1,2", EXIT_BAD_INPUT, "expected 5 values"),
    "a word": (HEAD + "\n0,1,2,x,4", EXIT_BAD_INPUT, "not a number"),
    "nan": (HEAD + "\n0,1,2,nan,4", EXIT_BAD_INPUT, "NaN or infinite"),
    "backwards": (HEAD + rows(10) + "\n0.001,1,1,1,1", EXIT_BAD_INPUT, "time goes backwards"),
    "duplicate times": (HEAD + "\n0,1,1,1,1\n0,1,1,1,1", EXIT_BAD_INPUT, "same time"),
    "1e300 kg": (HEAD + rows(100, kg=1e300), EXIT_BAD_INPUT, "beyond ±1000 kg"),
    "board 1e300 mm wide": (
        HEAD.replace("440", "1e300") + rows(100),
        EXIT_BAD_INPUT,
        "board_width_mm must be between",
    ),
    "board 0 mm deep": (HEAD.replace("330", "0") + rows(100), 2, "board_depth_mm"),
    "mass 5000 kg": (
        HEAD.replace("# board_depth_mm: 330", "# board_depth_mm: 330\n# subject_mass_kg: 5000")
        + rows(100),
        EXIT_BAD_INPUT,
        "subject_mass_kg",
    ),
    "a 10 kB line": (HEAD + "\n" + "1" * 10_000, EXIT_BAD_INPUT, "far too long"),
    "longer than an hour": (
        HEAD + "\n0,17,17,17,17\n3601,17,17,17,17",
        EXIT_BAD_INPUT,
        "longer than 1 hour",
    ),
    "one sample": (HEAD + rows(1), EXIT_NOT_SCORABLE, "too short to score"),
    "half a second": (HEAD + rows(40), EXIT_NOT_SCORABLE, "too short to score"),
    "an empty board": (HEAD + rows(400, kg=0.2), EXIT_NOT_SCORABLE, "nobody stood on the board"),
    "negative loads": (HEAD + rows(400, kg=-17.5), EXIT_NOT_SCORABLE, "the loads are negative"),
}


@pytest.mark.parametrize("case", sorted(RECORDINGS))
def test_a_bad_recording_is_refused_in_one_line(tmp_path, capsys, case):
    text, expected, words = RECORDINGS[case]
    path = tmp_path / "r.csv"
    if text is None:
        path.write_bytes(b"\xff\xfe\x00\x01" * 100)
    else:
        path.write_text(text, encoding="utf-8")
    status, err = run(["replay", str(path), "--exercise", "quiet-stance"], capsys)
    assert status == expected and words in err, (case, status, err)
    assert err.count("\n") == 1 and err.startswith("balance-board: ")
    if expected == EXIT_BAD_INPUT:  # info reads the same file the same way
        status, err = run(["info", str(path)], capsys)
        assert status == EXIT_BAD_INPUT and words in err


def test_a_recording_too_large_is_refused_before_it_is_read(tmp_path, capsys):
    path = tmp_path / "huge.csv"
    with path.open("wb") as f:  # a sparse 200 MB file: refused by its size, never read
        f.seek(200_000_000)
        f.write(b"\n")
    status, err = run(["replay", str(path), "--exercise", "quiet-stance"], capsys)
    assert status == EXIT_BAD_INPUT and "200 MB" in err and "at most 64 MB" in err


def test_a_folder_or_a_missing_file_as_a_recording(tmp_path, capsys):
    status, err = run(["replay", str(tmp_path), "--exercise", "quiet-stance"], capsys)
    assert status == EXIT_BAD_INPUT and "is a folder" in err
    status, err = run(["replay", str(tmp_path / "nope.csv"), "--exercise", "flamingo"], capsys)
    assert status == EXIT_BAD_INPUT and "no such file" in err


def test_a_good_recording_still_replays(tmp_path, capsys):
    path = tmp_path / "good.csv"
    write_recording(path, generator.quiet_stance(1, seconds=5).recording)
    status, _ = run(["replay", str(path), "--exercise", "quiet-stance", "--json"], capsys)
    assert status == 0


# --- programs ------------------------------------------------------------------------------------
PROGRAMS = {
    "not TOML": ("[[exercise\nname =", "not a valid TOML file"),
    "no exercises": ('affected_side = "left"\n', "no [[exercise]] entries"),
    "unknown exercise": ('[[exercise]]\nname = "juggling"\n', "unknown exercise"),
    "a word for a number": ('[[exercise]]\nname = "flamingo"\nhold_s = "long"\n', "hold_s"),
    "a huge number": ('[[exercise]]\nname = "flamingo"\nhold_s = 1e308\n', "hold_s"),
    "a negative number": ('[[exercise]]\nname = "flamingo"\nhold_s = -3\n', "hold_s"),
    "100 exercises": ('[[exercise]]\nname = "flamingo"\n' * 100, "at most 30 exercises"),
    "10 000 exercises": ('[[exercise]]\nname = "flamingo"\n' * 10_000, "larger"),
    "100 000 bytes": ("# " + "x" * 100_000 + '\n[[exercise]]\nname = "flamingo"\n', "larger"),
    "nested 10 000 deep": ("a = " + "[" * 10_000 + "]" * 10_000, "program"),
    "control characters": ('[[exercise]]\nname = "flamingo\u0000"\n', "program"),
    "too many repetitions": ('[[exercise]]\nname = "flamingo"\nrepetitions = 500\n', "repetitions"),
}


@pytest.mark.parametrize("case", sorted(PROGRAMS))
def test_a_bad_program_is_refused_and_nothing_changes(tmp_path, capsys, case):
    text, words = PROGRAMS[case]
    folder = tmp_path / "data"
    assert main(["patient", "--data-dir", str(folder), "--code", "P-1"]) == 0
    capsys.readouterr()
    before = digest(folder)
    path = tmp_path / "program.toml"
    path.write_text(text, encoding="utf-8")
    status, err = run(["program", str(path), "--data-dir", str(folder)], capsys)
    assert status == EXIT_BAD_INPUT and words in err, (case, err)
    assert err.count("\n") == 1
    assert digest(folder) == before


# --- patient details -----------------------------------------------------------------------------
PATIENTS = {
    "born in 2100": (["--birth-year", "2100"], "year of birth out of range"),
    "born in 1800": (["--birth-year", "1800"], "year of birth out of range"),
    "a word for a year": (["--birth-year", "fifty"], "invalid int value"),
    "1e9 kg": (["--mass-kg", "1e9"], "kg"),
    "0 cm": (["--height-cm", "0"], "positive"),
    "a path for a code": (["--code", "../../../../tmp/x"], "code"),
    "an empty code": (["--code", ""], "code"),
    "a code of 1000 letters": (["--code", "P" * 1000], "code"),
    "a code with a newline": (["--code", "P-1\nP-2"], "code"),
    "a side called middle": (["--affected-side", "middle"], "invalid choice"),
}


@pytest.mark.parametrize("case", sorted(PATIENTS))
def test_bad_patient_details_are_refused_and_nothing_changes(tmp_path, capsys, case):
    extra, words = PATIENTS[case]
    folder = tmp_path / "data"
    assert main(["patient", "--data-dir", str(folder), "--code", "P-1"]) == 0
    capsys.readouterr()
    before = digest(folder)
    argv = ["patient", "--data-dir", str(folder), *extra]
    if "--code" not in extra:
        argv += ["--code", "P-1"]
    try:
        status, err = run(argv, capsys)
    except SystemExit as exc:  # argparse refuses before the command runs: also status 2
        status, err = exc.code, capsys.readouterr().err
    assert status == EXIT_BAD_INPUT and words in err, (case, err)
    assert digest(folder) == before
    assert not Path("/tmp/x").exists() or not Path("/tmp/x").is_dir() or case != "path"


# --- dates ---------------------------------------------------------------------------------------
OUTSIDE = "a report covers days from 1970-01-01 to 2199-12-31"


@pytest.mark.parametrize(
    ("dates", "words"),
    [
        (["--from", "0001-01-01", "--to", "9999-12-31"], OUTSIDE),
        (["--to", "9999-12-31"], OUTSIDE),
        (["--from", "0001-01-01", "--to", "0001-02-01"], OUTSIDE),
        (["--from", "1990-01-01", "--to", "2026-11-01"], "at most 10 years"),
        (["--from", "2026-11-30", "--to", "2026-11-01"], "--to is before --from"),
        (["--from", "2099-01-01"], "is after the report's last day"),
        (["--from", "2026-02-30"], "not a date"),
        (["--to", "yesterday"], "not a date"),
    ],
)
def test_report_dates_that_make_no_sense_are_refused_at_once(tmp_path, capsys, dates, words):
    folder = tmp_path / "data"
    assert main(["patient", "--data-dir", str(folder), "--code", "P-1"]) == 0
    capsys.readouterr()
    argv = ["report", "--data-dir", str(folder), "--out", str(tmp_path / "r.pdf"), *dates]
    try:
        status, err = run(argv, capsys)
    except SystemExit as exc:
        status, err = exc.code, capsys.readouterr().err
    assert status == EXIT_BAD_INPUT and words in err, err
    assert err.count("\n") == 1 and err.startswith("balance-board: "), err
    assert not (tmp_path / "r.pdf").exists()


@pytest.mark.parametrize(
    ("argv", "what"),
    [
        (["report", "--out", "/proc/x.pdf"], "the report cannot be written to /proc/x.pdf"),
        (["export", "--format", "csv", "--out", "/proc/x"], "the export cannot be written"),
    ],
    ids=["report", "export"],
)
def test_an_out_where_nothing_can_be_written_is_one_line_and_nothing_is_half_written(
    tmp_path, capsys, argv, what
):
    folder = tmp_path / "data"
    assert main(["patient", "--data-dir", str(folder), "--code", "P-1"]) == 0
    capsys.readouterr()
    status, err = run([*argv, "--data-dir", str(folder)], capsys)
    assert status == EXIT_BAD_INPUT and what in err and "nothing was written" in err, err
    assert err.count("\n") == 1
    assert not Path("/proc/.x.pdf.part").exists() and not Path("/proc/x").exists()


# --- arguments -----------------------------------------------------------------------------------
def _commands() -> list[str]:
    from balance_board.cli import build_parser

    parser = build_parser()
    [commands] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(commands.choices)


@pytest.mark.parametrize(
    "argv",
    [
        *([command, "--no-such-option"] for command in _commands()),
        ["patient", "--mass-kg", "-70"],
        ["report", "--from", "2026-02-30", "--out", "r.pdf"],
        ["no-such-command"],
        [],
    ],
    ids=lambda argv: " ".join(argv) or "nothing",
)
def test_a_mistake_in_the_arguments_is_one_line_for_every_command(tmp_path, capsys, argv):
    with pytest.raises(SystemExit) as stopped:
        main([*argv, "--data-dir", str(tmp_path)] if argv[1:] else argv)
    err = capsys.readouterr().err
    assert stopped.value.code == EXIT_BAD_INPUT
    assert err.count("\n") == 1 and err.startswith("balance-board: "), err
    command = f"balance-board {argv[0]}" if argv[1:] else "balance-board"
    assert err.endswith(f" (see {command} --help)\n"), err
    assert "usage:" not in err


@pytest.mark.parametrize(
    "argv",
    [["program", "{}"], ["info", "{}"], ["replay", "{}", "--exercise", "quiet-stance"]],
    ids=["program", "info", "replay"],
)
def test_a_pipe_or_a_device_given_as_a_file_is_refused_before_it_is_read(tmp_path, argv):
    """A pipe nobody writes to (or /dev/zero, which never ends) would hang the command or fill
    its memory: refused before a byte is read."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [a.replace("{}", str(fifo)) for a in argv]
    done = subprocess.run(
        [sys.executable, "-m", "balance_board", *command, "--data-dir", str(tmp_path / "data")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,  # the pipe would block a reader for ever
    )
    assert done.returncode == EXIT_BAD_INPUT and "not a regular file" in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1


def test_a_program_file_saved_with_a_byte_order_mark_is_read(tmp_path, capsys):
    path = tmp_path / "program.toml"
    path.write_text('[[exercise]]\nname = "quiet-stance"\n', encoding="utf-8-sig")  # Notepad's
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    status, err = run(["program", str(path), "--data-dir", str(tmp_path / "data")], capsys)
    assert status == 0, err


@pytest.mark.parametrize(
    "text",
    [
        '[[exercise]]\nname = "' + "A" * 5000 + '"\n',
        "X" * 5000 + " = 1\n",
        '[[exercise]]\nname = "flamingo"\nhold_s = "' + "B" * 5000 + '"\n',
        '[[exercise]]\nname = "flamingo"\nleg = "' + "line\\n" * 100 + '"\n',
    ],
    ids=["an exercise", "a setting", "a value", "line breaks"],
)
def test_a_long_line_of_a_program_is_echoed_cut_short(tmp_path, capsys, text):
    path = tmp_path / "program.toml"
    path.write_text(text, encoding="utf-8")
    status, err = run(["program", str(path), "--data-dir", str(tmp_path / "data")], capsys)
    assert status == EXIT_BAD_INPUT and err.count("\n") == 1, err
    echoed = err.split(": ", 2)[-1]
    assert "…" in echoed and len(echoed) < 300, err


# --- the device's own small files ----------------------------------------------------------------
@pytest.mark.parametrize("content", ["[]", "null", "{", "[" * 50_000, '{"volume": "loud"}'])
def test_a_damaged_settings_file_never_stops_a_command(tmp_path, capsys, content):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "settings.json").write_text(content)
    status, _ = run(["patient", "--data-dir", str(folder), "--code", "P-1"], capsys)
    assert status == 0
    status, _ = run(["pin", "status", "--data-dir", str(folder)], capsys)
    assert status == 0


@pytest.mark.parametrize(
    "content",
    [
        "",
        "[]",
        "[" * 50_000,
        json.dumps({"format": "balance-board-calibration/1", "offsets_counts": "x"}),
        json.dumps(
            {
                "format": "balance-board-calibration/1",
                "offsets_counts": [0, 0, 0, 0],
                "kg_per_count": [1e300] * 4,
                "calibrated_at": "2026-01-01T00:00:00+00:00",
                "known_weight_kg": 5,
            }
        ),
    ],
)
def test_a_damaged_calibration_says_the_board_needs_calibrating(tmp_path, capsys, content):
    from balance_board.cli import EXIT_NO_BOARD

    (tmp_path / "calibration.json").write_text(content)
    status, err = run(
        [
            "record",
            "--board",
            "hx711",
            "--seconds",
            "1",
            "--out",
            str(tmp_path / "r.csv"),
            "--data-dir",
            str(tmp_path),
        ],
        capsys,
    )
    assert status == EXIT_NO_BOARD and ("calibrat" in err or "not" in err)


def test_numbers_of_a_generated_recording_round_trip_the_checks(tmp_path):
    """The limits leave every real recording alone: an hour at 80 Hz reads back."""
    t = np.arange(0, 3599.0, 1 / 80)
    loads = np.full((len(t), 4), 17.5)
    path = tmp_path / "hour.csv"
    write_recording(path, Recording(t, loads, 440.0, 330.0))
    from device.recording import read_recording

    assert len(read_recording(path).t_s) == len(t)
