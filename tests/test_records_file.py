"""The records file's own troubles (damaged, another program's, read-only, locked): the app shows
why and keeps the board on the screen instead of crash-looping under systemd; nothing is lost."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
from datetime import date

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


def real_records(folder):
    """A real records file: a patient with 60 days of sessions (two recordings kept)."""
    from clinic.sim.synthetic import fill_history
    from clinic.store import Store

    path = folder / "balance-board.sqlite3"
    with Store(path) as store:
        store.add_patient("P-1", affected_side="left", birth_year=1950, created_at=T0)
        fill_history(store, "P-1", date(2026, 9, 1), 60, seed=1)
    return path


def damaged_inside(folder, offset: int = 5000, seed: int = 11):
    """A real records file with 20 kB of random bytes written inside it (a worn card's bad
    blocks): its header whole, its first pages of tables spoiled."""
    path = real_records(folder)
    data = bytearray(path.read_bytes())
    data[offset : offset + 20_000] = random.Random(seed).randbytes(20_000)
    path.write_bytes(bytes(data))
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
        (damaged, "damaged", "is damaged: it cannot be used as the records file"),
        (damaged_inside, "damaged", "is damaged: it cannot be used as the records file"),
        (foreign, "foreign", "another program's"),
    ],
    ids=["damaged after its header", "damaged inside", "foreign"],
)
def test_a_damaged_or_foreign_records_file_has_its_own_exit_status(
    tmp_path, capsys, make, kind, words
):
    path = make(tmp_path)
    before = path.read_bytes()
    out = tmp_path / "out"
    for argv in (
        ("patient",),
        ("patient", "--code", "P-2"),
        ("report", "--out", str(tmp_path / "report.pdf")),
        ("export", "--format", "csv", "--out", str(out)),
        ("export", "--format", "fhir", "--out", str(out)),
        ("export", "--format", "recordings", "--out", str(out)),
    ):
        status, err = command_on(tmp_path, capsys, *argv)
        assert status == EXIT_RECORDS[kind] and words in err, (argv, status, err)
    assert path.read_bytes() == before
    assert not (tmp_path / "report.pdf").exists() and not any(out.rglob("*.*"))


@pytest.mark.parametrize("offset", range(0, 300_000, 30_000))
def test_damage_anywhere_in_the_records_is_said_never_a_fault_of_the_program(
    tmp_path, capsys, offset
):
    """Bad blocks at ten places of a real records file: each reading command either reads what
    it needs (the damage lies elsewhere) or says the file is damaged; never exit 70."""
    path = damaged_inside(tmp_path, offset, seed=offset)
    for argv in (
        ("patient",),
        ("report", "--out", str(tmp_path / "report.pdf")),
        ("export", "--format", "csv", "--out", str(tmp_path / "out")),
        ("export", "--format", "recordings", "--out", str(tmp_path / "out")),
    ):
        status, err = command_on(tmp_path, capsys, *argv)
        assert status in (0, EXIT_RECORDS["damaged"]), (argv, status, err)
        assert status == 0 or "is damaged" in err
    assert path.stat().st_size > 300_000  # the damage was inside the file


def damage_rows(path, edits: dict[str, str]) -> dict[str, int]:
    """Rows of the records edited into what the store never writes (a hand edit, bad bytes
    inside a row): {what: the trial's id}, the newest trials first."""
    with sqlite3.connect(path) as db:
        ids = [row[0] for row in db.execute("SELECT id FROM trial ORDER BY id DESC")]
        for trial_id, sql in zip(ids, edits.values(), strict=False):
            db.execute(f"UPDATE trial SET {sql} WHERE id = ?", (trial_id,))
    db.close()
    return {what: trial_id for trial_id, what in zip(ids, edits, strict=False)}


ROW_DAMAGE = {
    "result not JSON": "result = '{\"score\": 7'",
    "a start that is no time": "started_at = 'garbage'",
    "a score in words": "score = 'high'",
    "metrics of words": """result = '{"metrics": {"first_hold_s": "long"}}'""",
}


def test_damaged_rows_are_named_and_left_out_of_the_report_and_refused_by_the_exports(
    tmp_path, capsys
):
    from clinic.report import gather

    path = real_records(tmp_path)
    damaged_ids = damage_rows(path, ROW_DAMAGE)
    before = path.read_bytes()
    # the report is made without them, and says which were left out: here and on its page
    status, err = command_on(tmp_path, capsys, "report", "--out", str(tmp_path / "r.pdf"))
    assert status == 0 and (tmp_path / "r.pdf").exists(), err
    assert "4 damaged record(s) left out of the report" in err
    assert all(f"trial {i}" in err for i in damaged_ids.values()), err
    with Store(path, read_only=True) as store:
        data = gather(store, "P-1", date(2026, 9, 1), date(2026, 10, 30), with_recordings=False)
    assert not {t.id for t in data.trials} & set(damaged_ids.values())
    said = data.warnings[0]
    assert said.startswith("Left out of this report, their records damaged")
    for words, trial_id in (
        ("its result is not JSON", damaged_ids["result not JSON"]),
        ("its start is 'garbage', not a time", damaged_ids["a start that is no time"]),
        ("its score is 'high', not a number", damaged_ids["a score in words"]),
        ("its metric 'first_hold_s' is 'long'", damaged_ids["metrics of words"]),
    ):
        assert f"trial {trial_id} ({words}" in said, said
    # an export must be whole: it names the first damaged trial it meets and writes nothing
    out = tmp_path / "out"
    for kind in ("csv", "fhir"):
        status, err = command_on(tmp_path, capsys, "export", "--format", kind, "--out", str(out))
        assert status == EXIT_RECORDS["damaged"] and "cannot be read: its" in err, (kind, err)
    assert not any(out.iterdir())
    assert path.read_bytes() == before


def test_a_damaged_version_number_is_damage_not_a_fault_of_the_program(tmp_path, capsys):
    path = make_records(tmp_path)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version=-1")
    db.close()
    before = path.read_bytes()
    for argv in (
        ("patient",),
        ("patient", "--code", "P-2"),
        ("report", "--out", str(tmp_path / "r.pdf")),
        ("export", "--format", "csv", "--out", str(tmp_path / "out")),
    ):
        status, err = command_on(tmp_path, capsys, *argv)
        assert status == EXIT_RECORDS["damaged"] and "version number is -1" in err, (argv, err)
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


def fill(disk):
    """Everything left on the disk taken, to the last byte; the file that took it."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 512)
        except OSError:
            pass
    return filler


def reading_commands(folder, capsys, elsewhere) -> list[str]:
    """The listing, the report and the three exports, written to ``elsewhere`` (another disk):
    each works; returns what each said on stderr."""
    said = []
    elsewhere.mkdir(exist_ok=True)
    for argv in (
        ("patient",),
        ("report", "--out", str(elsewhere / "report.pdf")),
        *(("export", "--format", kind, "--out", str(elsewhere)) for kind in EXPORTS),
    ):
        status, err = command_on(folder, capsys, *argv)
        assert status == 0, (argv, err)
        said.append(err)
    assert (elsewhere / "report.pdf").exists() and (elsewhere / "P-1-trials.csv").exists()
    assert (elsewhere / "P-1-bundle.json").exists()
    return said


EXPORTS = ("csv", "fhir", "recordings")


def test_a_full_disk_is_said_and_the_records_stay_whole(small_disk, capsys, tmp_path):
    path = make_records(small_disk)
    filler = fill(small_disk)
    status, err = command_on(small_disk, capsys, "patient", "--code", "P-2", "--birth-year", "1950")
    assert status == EXIT_RECORDS["disk-full"] and "disk is full" in err, err
    # reading still works, a report or an export going to another disk; an export says in one
    # line that it could not be noted in the device log
    before = path.read_bytes()
    said = reading_commands(small_disk, capsys, tmp_path / "elsewhere")
    assert said[:2] == ["", ""]
    for err in said[2:]:
        assert "not noted in the device log" in err and "disk is full" in err, err
    assert path.read_bytes() == before
    filler.unlink()
    with Store(path) as store:  # whole, and the half-written patient is not there
        assert [p.code for p in store.patients()] == ["P-1"]
        assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def remount_read_only(disk) -> None:
    done = subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot remount read-only here: {done.stderr!r}")


def test_a_read_only_file_system_is_said_and_reading_still_works(small_disk, capsys, tmp_path):
    make_records(small_disk)
    remount_read_only(small_disk)
    status, err = command_on(small_disk, capsys, "patient", "--code", "P-2")
    assert status == EXIT_RECORDS["read-only"] and "read-only" in err, err
    # the listing, the report and every export still work (an SD card the kernel remounted
    # read-only is the one data are rescued from); an export says it is not in the device log
    said = reading_commands(small_disk, capsys, tmp_path / "elsewhere")
    assert said[:2] == ["", ""]
    for err in said[2:]:
        assert "not noted in the device log" in err and "read-only" in err, err


KILLED_MID_WORK = """
import os, sys
from clinic.store import Store
with Store(sys.argv[1]) as store:
    session = store.start_session("P-1", "2026-11-23T10:00:00+01:00", board="hx711")
    trial = store.begin_trial(session, "quiet-stance", {}, "2026-11-23T10:00:00+01:00")
    store.finish_trial(trial, {"score": 61.0}, None, "2026-11-23T10:00:30+01:00")
    os.kill(os.getpid(), 9)  # the card goes read-only with the trial still in the journal
"""


def test_a_read_only_card_with_trials_still_in_its_journal_is_read_whole(small_disk, capsys):
    """The app's last trials are in the journal (-wal) until SQLite copies them into the file:
    a card remounted read-only then must not be read without them (the main file alone lacks
    them, or looks damaged); without the journal's index (-shm) they cannot be read there, and
    the command says so and what to do."""
    path = make_records(small_disk)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-c", KILLED_MID_WORK, str(path)], env=env, cwd=REPO)
    journal = path.with_name(path.name + "-wal")
    assert journal.stat().st_size > 0  # the trial is in the journal, not in the file
    remount_read_only(small_disk)
    with Store(path, read_only=True) as store:
        [trial] = store.trials("P-1")
    assert trial.score == 61.0
    out = small_disk.parent / "out"
    status, err = command_on(small_disk, capsys, "export", "--format", "csv", "--out", str(out))
    assert status == 0 and "not noted in the device log" in err
    assert ",61.0," in (out / "P-1-trials.csv").read_text()


def test_a_journal_that_cannot_be_read_in_place_is_said_with_what_to_do(small_disk, capsys):
    path = make_records(small_disk)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    subprocess.run([sys.executable, "-c", KILLED_MID_WORK, str(path)], env=env, cwd=REPO)
    path.with_name(path.name + "-shm").unlink()  # the journal's index gone with the power
    remount_read_only(small_disk)
    status, err = command_on(small_disk, capsys, "patient")
    assert status == EXIT_RECORDS["read-only"], err
    assert "latest changes are still in its journal" in err and "--data-dir" in err
