"""The records file's own troubles (damaged, another program's, read-only, locked): the app shows
why and keeps the board on the screen instead of crash-looping under systemd; nothing is lost."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import REPO

pygame = pytest.importorskip("pygame")

from device.clock import ManualClock  # noqa: E402
from display import theme  # noqa: E402
from display.app import App  # noqa: E402
from tests.conftest import T0, simulated_board  # noqa: E402


def run_app(folder, seconds: float = 4.0) -> subprocess.CompletedProcess:
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYTHONPATH=str(REPO))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "balance_board",
            "run",
            "--board",
            "sim",
            "--data-dir",
            str(folder),
            "--exit-after",
            str(seconds),
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def damaged(folder):
    path = folder / "balance-board.sqlite3"
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(4000))
    return path


def foreign(folder):
    path = folder / "balance-board.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO photos (name) VALUES ('holiday.jpg')")
    db.close()
    return path


@pytest.mark.parametrize("make", [damaged, foreign], ids=["damaged", "another program's"])
def test_the_app_on_an_unusable_records_file_stays_up_and_says_why(tmp_path, make):
    path = make(tmp_path)
    before = path.read_bytes()
    result = run_app(tmp_path)
    assert result.returncode == 0, result.stderr  # no exit, so no restart loop
    log = (tmp_path / "balance-board.log").read_text()
    assert "the records cannot be used, exercises are off" in log
    assert "Traceback" not in result.stderr
    assert path.read_bytes() == before  # nothing overwritten: the technician can still look


def test_the_trouble_screen_shows_the_board_and_why_exercises_are_off(
    calibration, surface, tmp_path
):
    clock = ManualClock(T0)
    board = simulated_board(clock, calibration, tmp_path, sway=0.5)
    try:
        app = App(surface, board, clock=clock)
        app.trouble = "The results could not be kept (file is not a database)."
        for _ in range(10):
            app.step([])
            clock.advance(1 / 60)
        assert app.current.name == "board"
        red = pygame.mask.from_threshold(surface, theme.DANGER, (4, 4, 4, 255)).count()
        assert red > 800  # the framed message in the middle
        # a tap does not dismiss it: it stays until the technician has seen to it
        tap = pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(400, 240), button=1, touch=False)
        app.step([tap])
        assert app.trouble is not None
    finally:
        board.close()
