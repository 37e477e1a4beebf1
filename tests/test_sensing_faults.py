"""Sensing faults end to end: a cell that stops sensing load, a gap in the readings, a reader
process that dies mid-trial. None is ever scored silently; each is named."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from device.faults import NOT_SENSING
from device.samples import LoadSample
from device.sim import generator
from device.watch import LoadWatch
from exercises.public_data import bds_recording, pds_recording
from exercises.replay import replay
from tests.conftest import REPO

pygame = pytest.importorskip("pygame")

from display.session import PlannedExercise  # noqa: E402
from tests.conftest import run_for  # noqa: E402
from tests.test_session import session_app  # noqa: E402

SAMPLE = Path(__file__).parent / "data"


def broken_cell(recording, corner: int, at_s: float, seed: int = 0):
    """The recording with one corner's cell cut off from its load at ``at_s``: it reads a
    constant plus the HX711's noise (1.5 g rms)."""
    loads = recording.loads_kg.copy()
    rng = np.random.default_rng(seed)
    after = recording.t_s - recording.t_s[0] >= at_s
    loads[after, corner] = 0.4 + rng.normal(0, 0.0015, after.sum())
    return dataclasses.replace(recording, loads_kg=loads)


# --- a cell that stops sensing load -----------------------------------------------------------
def test_a_cell_cut_off_from_its_load_is_named_and_the_trial_not_scored():
    trial = generator.quiet_stance(3, seconds=20)
    intact = replay(trial.recording, "quiet-stance")
    broken = replay(broken_cell(trial.recording, 2, at_s=8.0), "quiet-stance")
    assert intact.score is not None and not intact.quality.sensor_faults
    assert broken.score is None
    assert broken.quality.sensor_faults == [
        "back-left corner: not responding to load (check the load cell's wires)"
    ]


def test_the_load_watch_raises_no_alarm_on_real_standing_sample():
    """The public force-plate trials, split onto four corners: every corner moves."""
    recording, _ = pds_recording(SAMPLE / "PDS13OR1grf.txt.gz")
    assert replay(recording, "quiet-stance").quality.sensor_faults == []


def test_the_load_watch_raises_no_alarm_on_any_real_standing_trial(shared_data):
    trials = [bds_recording(p) for p in sorted((shared_data / "bds").glob("BDS*.txt"))]
    trials += [pds_recording(p)[0] for p in sorted((shared_data / "pds").glob("PDS*grf.txt"))]
    assert len(trials) == 52
    for recording in trials:
        watch = LoadWatch(rate_hz=100.0)
        for t, loads in zip(recording.t_s, recording.loads_kg.tolist(), strict=True):
            sample = watch.update(LoadSample(float(t), tuple(loads), (None,) * 4))
            assert NOT_SENSING not in sample.faults


def test_an_empty_board_or_a_stock_still_person_is_never_judged():
    watch = LoadWatch()
    rng = np.random.default_rng(1)
    for i in range(800):  # the empty board: every corner flat, nobody on it
        sample = watch.update(LoadSample(i / 80, tuple(0.7 + rng.normal(0, 0.002, 4)), (None,) * 4))
        assert not any(sample.faults)
    for i in range(800):  # 70 kg, perfectly still: nothing moves, so nothing can be told
        loads = tuple(17.5 + rng.normal(0, 0.002, 4))
        assert not any(watch.update(LoadSample(i / 80, loads, (None,) * 4)).faults)


def test_a_cell_that_stops_sensing_mid_exercise_is_named_on_screen_and_not_scored(
    calibration, surface, tmp_path
):
    plan = (
        PlannedExercise("quiet-stance", "Standing still", "Stand still.", {"duration_s": 8.0}),
        PlannedExercise("quiet-stance", "Standing still", "Stand still.", {"duration_s": 4.0}),
    )
    with session_app(surface, calibration, tmp_path / "r.sqlite3", "P-5", plan) as app:
        app.start_session()
        app.go("exercise")
        run_for(app, 2.0)
        app.link.command("fault", corner=3, kind="not-sensing")
        run_for(app, 4.0)
        assert app.current.name == "exercise"
        pygame.image.save(surface, str(tmp_path / "not-sensing.png"))
        app.link.command("fault", corner=3, kind="none")
        run_for(app, 6.0)
        assert app.current.name == "result"
        result = app.session.last_result
        assert result.score is None
        assert result.quality.sensor_faults == [
            "back-right corner: not responding to load (check the load cell's wires)"
        ]
        assert app.session.store.trials("P-5")[0].score is None
        app.next_exercise()
        app.go("exercise")  # the cell senses again: the next trial is scored
        run_for(app, 6.0)
        assert app.current.name == "result" and app.session.last_result.score is not None


# --- gaps ------------------------------------------------------------------------------------
def test_a_gap_in_the_readings_is_never_scored_silently():
    recording = generator.quiet_stance(4, seconds=20).recording
    t = recording.t_s - recording.t_s[0]
    keep = (t < 9.0) | (t > 9.4)  # 0.4 s of readings lost (32 samples)
    gapped = dataclasses.replace(
        recording, t_s=recording.t_s[keep], loads_kg=recording.loads_kg[keep]
    )
    result = replay(gapped, "quiet-stance")
    assert result.score is None
    assert any("no readings for 0.4 s from 9.0 s" in f for f in result.quality.sensor_faults)
    short = (t < 9.0) | (t > 9.05)  # a few samples lost: scored, and counted
    lightly = dataclasses.replace(
        recording, t_s=recording.t_s[short], loads_kg=recording.loads_kg[short]
    )
    scored = replay(lightly, "quiet-stance")
    assert scored.score is not None
    assert scored.quality.dropped_samples == int((~short).sum())


# --- the reader process dying mid-trial ----------------------------------------------------------
def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(p) for p in text]
    return out


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_a_reader_killed_mid_trial_is_logged_and_the_trial_not_scored(tmp_path):
    """The real app on the simulated board (its reader a separate process, as on the Pi): the
    reader is killed while she stands; the trial is kept unscored and the restart logged."""
    (tmp_path / "program.toml").write_text(
        '[[exercise]]\nname = "quiet-stance"\nduration_s = 10\n'
        '[[exercise]]\nname = "quiet-stance"\nduration_s = 5\n'
    )
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "balance_board", "run", "--board", "sim"]
    app = subprocess.Popen(
        [*command, "--data-dir", str(tmp_path), "--exit-after", "60"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    path = tmp_path / "balance-board.sqlite3"

    def rows(query):
        if not path.exists():
            return []
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute(query).fetchall()

    try:
        deadline = time.monotonic() + 40
        while not rows("SELECT id FROM trial WHERE status = 'in_progress'"):
            assert time.monotonic() < deadline and app.poll() is None
            time.sleep(0.2)
        time.sleep(3.0)  # standing, mid-trial
        readers = children(app.pid)
        assert readers
        for pid in readers:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 40
        while len(rows("SELECT id FROM trial WHERE status = 'complete'")) < 2:
            assert time.monotonic() < deadline and app.poll() is None
            time.sleep(0.2)
    finally:
        app.kill()
        app.wait()
    first, second = rows("SELECT score, result FROM trial WHERE status = 'complete' ORDER BY id")
    assert first[0] is None and "reader" in first[1]  # not scored, and why
    assert second[0] is not None  # the restarted reader serves the next trial
    events = rows("SELECT kind, message FROM device_event WHERE kind LIKE 'reader_%'")
    assert events and events[0][0] == "reader_restarted" and "exit code -9" in events[0][1]
