"""Security against the issue's threat model: someone at the touchscreen or with a USB stick (no
shell), and files damaged by a power cut. The PIN's own tests are in test_settings_program.py;
here the files' permissions."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from tests.conftest import REPO


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_records_log_and_settings_are_the_users_alone(tmp_path):
    """A fresh process (its own umask, as systemd or a shell would give it: 022) makes the
    data folder 0700 and every file in it 0600."""
    folder = tmp_path / "data"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    run = [
        sys.executable,
        "-c",
        "import os, sys; os.umask(0o022); "
        "from balance_board.cli import main; sys.exit(main(sys.argv[1:]))",
    ]
    subprocess.run(
        [*run, "patient", "--data-dir", str(folder), "--code", "P-1"],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*run, "report", "--data-dir", str(folder), "--out", str(folder / "r.pdf")],
        env=env,
        check=True,
        capture_output=True,
    )
    assert mode(folder) == 0o700
    files = [p for p in folder.iterdir() if p.is_file()]
    assert {p.name for p in files} >= {"balance-board.sqlite3", "balance-board.log", "r.pdf"}
    assert all(mode(p) == 0o600 for p in files), {p.name: oct(mode(p)) for p in files}


def test_an_older_folder_with_world_readable_files_is_tightened(tmp_path):
    from device.paths import data_dir

    folder = tmp_path / "old"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    records = folder / "balance-board.sqlite3"
    records.write_bytes(b"")
    records.chmod(0o644)
    other = folder / "holiday.jpg"  # not ours: left alone
    other.write_bytes(b"")
    other.chmod(0o644)
    data_dir(folder)
    assert mode(folder) == 0o700 and mode(records) == 0o600 and mode(other) == 0o644


def test_a_shared_folder_without_our_files_is_never_narrowed(tmp_path):
    from device.paths import data_dir

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    data_dir(shared)
    assert mode(shared) == 0o1777
