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


# --- each trouble of the records file: its own exit status, its own words, nothing changed -------
from balance_board.cli import EXIT_RECORDS, main  # noqa: E402
from clinic.store import Store  # noqa: E402


def command_on(folder, capsys, *argv) -> tuple[int, str]:
    status = main([*argv, "--data-dir", str(folder)])
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") <= 1, err
    return status, err


def make_records(folder):
    with Store(folder / "balance-board.sqlite3") as store:
        store.add_patient("P-1", created_at=T0)
    return folder / "balance-board.sqlite3"


@pytest.mark.parametrize(
    ("make", "kind", "words"),
    [
        (damaged, "damaged", "cannot be used as the records file"),
        (foreign, "foreign", "another program's"),
    ],
    ids=["damaged", "foreign"],
)
def test_a_damaged_or_foreign_records_file_has_its_own_exit_status(
    tmp_path, capsys, make, kind, words
):
    path = make(tmp_path)
    before = path.read_bytes()
    for argv in (
        ("patient",),
        ("patient", "--code", "P-2"),
        ("export", "--format", "csv", "--out", str(tmp_path / "out")),
    ):
        (tmp_path / "out").mkdir(exist_ok=True)
        status, err = command_on(tmp_path, capsys, *argv)
        assert status == EXIT_RECORDS[kind] and words in err, (argv, status, err)
    assert path.read_bytes() == before


def test_a_records_file_of_a_newer_version_is_refused_untouched(tmp_path, capsys):
    path = make_records(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=99")
    db.close()
    before = path.read_bytes()
    status, err = command_on(tmp_path, capsys, "patient", "--code", "P-2")
    assert status == EXIT_RECORDS["newer"] and "newer version" in err
    assert path.read_bytes() == before


def test_a_records_file_held_by_another_program_says_busy_and_changes_nothing(tmp_path, capsys):
    path = make_records(tmp_path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program keeps it locked past the 5 s wait
    try:
        status, err = command_on(tmp_path, capsys, "patient", "--code", "P-2")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert status == EXIT_RECORDS["locked"] and "busy" in err
    with Store(path, read_only=True) as store:
        assert [p.code for p in store.patients()] == ["P-1"]


@pytest.fixture
def small_disk(tmp_path):
    """A 1 MB file system of its own (tmpfs), or a skip saying why there is none here."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here (needs root): {done.stderr!r}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_a_full_disk_is_said_and_the_records_stay_whole(small_disk, capsys):
    path = make_records(small_disk)
    filler = small_disk / "filler"
    with filler.open("wb", buffering=0) as f:  # everything else on the disk, to the last byte
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass
    status, err = command_on(small_disk, capsys, "patient", "--code", "P-2", "--birth-year", "1950")
    assert status == EXIT_RECORDS["disk-full"] and "disk is full" in err, err
    filler.unlink()
    with Store(path) as store:  # whole, and the half-written patient is not there
        assert [p.code for p in store.patients()] == ["P-1"]
        assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_read_only_file_system_is_said_and_reading_still_works(small_disk, capsys):
    make_records(small_disk)
    done = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot remount read-only here: {done.stderr!r}")
    status, err = command_on(small_disk, capsys, "patient", "--code", "P-2")
    assert status == EXIT_RECORDS["read-only"] and "read-only" in err, err
    status, _ = command_on(small_disk, capsys, "patient")  # listing only reads
    assert status == 0
