"""Recording format v1: exact round trip, and every bad file named with its line."""

from __future__ import annotations

import numpy as np
import pytest

from balance_board.cli import main
from device.recording import HEADER, Recording, RecordingError, read_recording, write_recording

GOOD_HEAD = "# format: balance-board-recording/1\n# board_width_mm: 440\n# board_depth_mm: 330\n"


def make(n=500, seed=0):
    rng = np.random.default_rng(seed)
    t = np.cumsum(rng.uniform(0.011, 0.014, n))
    t -= t[0]
    loads = rng.normal(17.5, 3.0, (n, 4))
    loads[0] = [0.0, -0.0, 1e-300, 987.654321012345678]  # awkward floats survive too
    return Recording(
        t,
        loads,
        440.0,
        330.0,
        stance_width_mm=200.0,
        exercise="flamingo",
        leg="left",
        subject_mass_kg=72.5,
        started_at="2026-11-23T10:15:00+01:00",
        extra={"board": "sim", "note": "multi   word\nvalue"},
    )


def test_write_then_read_is_exact(tmp_path):
    rec = make()
    path = tmp_path / "r.csv"
    write_recording(path, rec)
    back = read_recording(path)
    assert np.array_equal(back.t_s, rec.t_s) and np.array_equal(back.loads_kg, rec.loads_kg)
    for key in (
        "board_width_mm",
        "board_depth_mm",
        "stance_width_mm",
        "exercise",
        "leg",
        "subject_mass_kg",
        "started_at",
    ):
        assert getattr(back, key) == getattr(rec, key)
    assert back.extra == {"board": "sim", "note": "multi word value"}
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# format: balance-board-recording/1\n")
    assert ",".join(HEADER) in text


def test_unknown_metadata_is_ignored_and_optional_keys_may_be_missing(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        GOOD_HEAD + "# colour: blue\n" + ",".join(HEADER) + "\n0,1,2,3,4\n0.0125,1,2,3,4\n"
    )
    rec = read_recording(path)
    assert rec.stance_width_mm is None and rec.exercise is None and len(rec.t_s) == 2


BAD = {
    "empty": ("", None, "empty"),
    "no format": ("# board_width_mm: 440\n", 1, "not a balance-board-recording/1"),
    "wrong format": ("# format: other/2\n", 1, "not a balance-board-recording/1"),
    "missing width": (
        "# format: balance-board-recording/1\n# board_depth_mm: 330\n" + ",".join(HEADER) + "\n",
        None,
        "board_width_mm",
    ),
    "missing header": (GOOD_HEAD, 4, "column header"),
    "wrong columns": (GOOD_HEAD + "t_s,fl,fr,bl,br\n0,1,2,3,4\n", 4, "columns must be"),
    "short row": (GOOD_HEAD + ",".join(HEADER) + "\n0,1,2,3\n", 5, "expected 5 values"),
    "not a number": (GOOD_HEAD + ",".join(HEADER) + "\n0,1,2,x,4\n", 5, "not a number"),
    "nan": (GOOD_HEAD + ",".join(HEADER) + "\n0,1,2,3,4\n0.1,nan,2,3,4\n", 6, "NaN"),
    "infinite": (GOOD_HEAD + ",".join(HEADER) + "\n0,1,2,inf,4\n", 5, "NaN or infinite"),
    "backwards": (GOOD_HEAD + ",".join(HEADER) + "\n0.2,1,2,3,4\n0.1,1,2,3,4\n", 6, "backwards"),
    "no samples": (GOOD_HEAD + ",".join(HEADER) + "\n", 4, "no samples"),
    "bad width": (
        GOOD_HEAD.replace("440", "wide") + ",".join(HEADER) + "\n0,1,2,3,4\n",
        None,
        "board_width_mm must be",
    ),
    "bad date": (
        GOOD_HEAD + "# started_at: yesterday\n" + ",".join(HEADER) + "\n0,1,2,3,4\n",
        None,
        "ISO 8601",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_raise_with_file_and_line(tmp_path, case):
    text, line, message = BAD[case]
    path = tmp_path / f"{case.replace(' ', '_')}.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RecordingError, match=message) as info:
        read_recording(path)
    assert str(path) in str(info.value)
    assert info.value.line == line
    if line:
        assert f"line {line}" in str(info.value)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_give_exit_status_2_and_one_line(tmp_path, capsys, case):
    text, _, message = BAD[case]
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and str(path) in err
    assert message in err


def test_not_utf8_and_missing_file(tmp_path, capsys):
    path = tmp_path / "binary.csv"
    path.write_bytes(b"\xff\xfe\x00\x01garbage")
    with pytest.raises(RecordingError, match="not a UTF-8"):
        read_recording(path)
    assert main(["info", str(tmp_path / "nope.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_recording_arrays_must_match():
    with pytest.raises(ValueError):
        Recording(np.zeros(3), np.zeros((4, 4)), 440, 330)
