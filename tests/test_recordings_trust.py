"""Recordings a physiotherapist can trust: a recording that is not a person standing on a sensing
board is never scored, a result that is not scored says so in the exit status, and a recording
exported from the records holds everything its score was made with."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from balance_board.cli import EXIT_NOT_SCORABLE, main
from device.recording import write_recording
from device.sim import generator


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
