"""The acquisition process, and the commands as a user runs them (real processes, real files)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from balance_board.cli import main
from device.acquisition import Acquisition
from device.recording import read_recording
from device.sim.source import SimulatedSource
from tests.conftest import REPO


def test_frames_come_from_another_process_with_their_times():
    with Acquisition(SimulatedSource(realtime=True)) as acq:
        frames = []
        deadline = time.monotonic() + 20
        while len(frames) < 80 and time.monotonic() < deadline:
            frames += acq.frames(timeout=0.2)
        assert acq.pid != os.getpid()
    assert len(frames) >= 80
    times = np.array([f.t for f in frames])
    assert np.all(np.diff(times) > 0)
    assert abs(times[-1] - time.monotonic()) < 5  # monotonic time, like the real board
    assert np.median(np.diff(times)) == pytest.approx(1 / 80, rel=0.05)


def test_commands_steer_the_simulated_person_and_unplug_a_corner():
    with Acquisition(SimulatedSource(realtime=False, sway=0.1)) as acq:
        acq.read(timeout=20)
        acq.command("unplug", corner=2)
        faults = []
        for _ in range(200):
            frame = acq.read(timeout=5)
            faults.append(frame.faults[2])
        assert faults[-1] == "not-responding"
        acq.command("no_such_command")
        acq.read(timeout=5)
        for _ in range(20):
            acq.read(timeout=5)
        assert "no_such_command" in (acq.last_error or "")


def test_a_killed_reader_is_restarted_and_reported():
    with Acquisition(SimulatedSource(realtime=True)) as acq:
        assert acq.read(timeout=20) is not None
        os.kill(acq.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while acq.alive and time.monotonic() < deadline:  # the reader process, not the UI
            time.sleep(0.05)
        deadline = time.monotonic() + 30
        while not acq.events and time.monotonic() < deadline:
            acq.read(timeout=1)  # frames sent before the kill come first
        assert acq.read(timeout=20) is not None  # then the new reader's
        assert [e.kind for e in acq.events] == ["restarted"]
        assert "exit code -9" in acq.events[0].message


class BrokenSource:
    """A board whose pins cannot be opened (module level: the reader process unpickles it)."""

    def open(self):
        raise RuntimeError("no GPIO here")


def test_a_reader_that_cannot_start_pauses_with_the_reason_and_never_gives_up():
    acq = Acquisition(BrokenSource(), max_restarts=2, pause_s=0.5)
    acq.start()
    try:
        deadline = time.monotonic() + 60
        while not acq.failed and time.monotonic() < deadline:
            acq.frames(timeout=0.2)
        assert acq.failed and acq.retry_in_s is not None
        assert "no GPIO here" in acq.last_error
        assert acq.events[-1].kind == "paused" and "next try in 0 s" in acq.events[-1].message
        # after the pause it tries again, fails again and pauses longer: never for good
        deadline = time.monotonic() + 60
        while len([e for e in acq.events if e.kind == "paused"]) < 2:
            assert time.monotonic() < deadline
            acq.frames(timeout=0.2)
        kinds = [e.kind for e in acq.events]
        assert "restarted" in kinds[kinds.index("paused") :]
        assert "next try in 1 s" in acq.events[-1].message  # doubled
    finally:
        acq.close()


def test_record_command_writes_a_readable_recording(tmp_path, capsys):
    out = tmp_path / "quiet.csv"
    code = main(
        [
            "record",
            "--board",
            "sim",
            "--seconds",
            "5",
            "--out",
            str(out),
            "--data-dir",
            str(tmp_path),
            "--exercise",
            "quiet-stance",
            "--mass-kg",
            "82",
        ]
    )
    assert code == 0
    rec = read_recording(out)
    assert rec.duration_s == pytest.approx(5, abs=0.05)
    assert 78 <= (len(rec.t_s) - 1) / rec.duration_s <= 81
    assert rec.exercise == "quiet-stance" and rec.subject_mass_kg == 82
    assert np.mean(rec.loads_kg.sum(axis=1)) == pytest.approx(82, abs=0.3)
    assert (tmp_path / "calibration-sim.json").exists()  # the simulated board calibrated itself
    assert "Recorded" in capsys.readouterr().out


def test_record_refuses_bad_arguments(tmp_path, capsys):
    assert (
        main(
            [
                "record",
                "--board",
                "sim",
                "--seconds",
                "1",
                "--out",
                str(tmp_path / "no" / "such" / "dir.csv"),
                "--data-dir",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["record", "--board", "sim", "--seconds", "-3", "--out", "x.csv"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["record", "--seconds", "3", "--out", "x.csv"])
    assert info.value.code == 2


def test_hx711_without_calibration_says_what_to_do(tmp_path, capsys):
    code = main(
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
        ]
    )
    assert code == 3
    assert "balance-board calibrate" in capsys.readouterr().err


def test_selftest_table_and_exit_status(tmp_path, capsys):
    assert main(["selftest", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for corner in ("front-left", "front-right", "back-left", "back-right"):
        assert corner in out
    assert "FAULT" not in out
    assert (
        main(["selftest", "--data-dir", str(tmp_path), "--sim-fault", "front-right:unplugged"]) == 1
    )
    out = capsys.readouterr().out
    assert "front-right: not responding" in out
    assert main(["selftest", "--data-dir", str(tmp_path), "--sim-fault", "back-left:rate-low"]) == 1
    assert "RATE" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["selftest", "--sim-fault", "middle:exploded"])


def test_selftest_noise_matches_the_datasheet(tmp_path, capsys):
    main(["selftest", "--data-dir", str(tmp_path), "--seconds", "5"])
    rows = [line.split() for line in capsys.readouterr().out.splitlines() if " ok " in line]
    noise = [float(r[3]) for r in rows]
    # 90 nV rms at 80 SPS, 1 LSB = 5 V / (128 · 2^24) = 2.33 nV: about 39 counts
    assert all(30 < n < 48 for n in noise), noise


def test_calibrate_sim_command(tmp_path, capsys):
    assert main(["calibrate", "--board", "sim", "--data-dir", str(tmp_path)]) == 0
    assert (tmp_path / "calibration-sim.json").exists()
    assert (
        main(["calibrate", "--board", "sim", "--weight-kg", "0.1", "--data-dir", str(tmp_path)])
        == 2
    )


def test_console_script_runs_as_a_process(tmp_path):
    out = tmp_path / "r.csv"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "balance_board",
            "record",
            "--board",
            "sim",
            "--seconds",
            "2",
            "--out",
            str(out),
            "--data-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("# format: balance-board-recording/1\n")
    result = subprocess.run(
        [sys.executable, "-m", "balance_board", "info", str(bad)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "board_width_mm" in result.stderr
