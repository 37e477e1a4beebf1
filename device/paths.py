"""Where the device keeps its data: ``--data-dir``, else $STATE_DIRECTORY (set by systemd's
StateDirectory=), else the platform's user data folder (~/.local/share/balance-board).

One folder holds everything a board writes: the calibration (one file per board kind), the
records file, the program, the settings, the PIN and the speech cache. Every command and the app
find their files through the names here.

The records are health data: the folder is 0700 and the files in it 0600 (the command line sets
the umask 077 at its start, ``keep_private``; files from before are tightened when the folder
is opened). Nobody but the device's own user reads them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "balance-board"
RECORDS_FILE = "balance-board.sqlite3"
LOG_FILE = "balance-board.log"
PRIVATE_UMASK = 0o077  # new files 0600, new folders 0700
# the files a data folder may hold from older versions, made private when it is opened
KNOWN_FILES = (
    RECORDS_FILE,
    RECORDS_FILE + "-wal",
    RECORDS_FILE + "-shm",
    RECORDS_FILE + "-journal",
    LOG_FILE,
    "settings.json",
    "pin.json",
    "program.toml",
    "calibration.json",
    "calibration-sim.json",
)


def keep_private() -> None:
    """Every file this process creates from now on is the user's alone (umask 077)."""
    os.umask(PRIVATE_UMASK)


def make_private(folder: Path) -> None:
    """Tighten a data folder kept by an older version: its known files 0600, and the folder
    0700 when it holds our records or settings (never a folder that merely exists, such as a
    shared /tmp). Only what this user owns; what cannot be changed is left, not fatal."""
    try:
        uid = os.getuid()
        ours = False
        for name in KNOWN_FILES:
            path = folder / name
            if path.is_file() and path.stat().st_uid == uid:
                ours = True
                if path.stat().st_mode & 0o077:
                    path.chmod(0o600)
        if ours and folder.stat().st_uid == uid and folder.stat().st_mode & 0o077:
            folder.chmod(0o700)
    except (OSError, AttributeError):  # AttributeError: no getuid on Windows
        pass


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The data folder, created if needed."""
    path = data_dir_path(explicit)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    make_private(path)
    return path


def data_dir_path(explicit: str | os.PathLike | None = None) -> Path:
    """Where the data folder is, without making it or changing anything (``balance-board
    doctor`` looks and writes nothing, also on a read-only system)."""
    if explicit:
        path = Path(explicit)
    elif os.environ.get("STATE_DIRECTORY"):
        # systemd may list several, separated by colons: the first is ours
        path = Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    elif sys.platform == "win32":
        path = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / APP
    elif sys.platform == "darwin":
        path = Path.home() / "Library" / "Application Support" / APP
    else:
        base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        path = Path(base) / APP
    return path


def calibration_path(folder: Path, board: str) -> Path:
    """The calibration file for a board kind: the simulated board keeps its own."""
    return Path(folder) / ("calibration-sim.json" if board == "sim" else "calibration.json")


def records_path(folder: Path) -> Path:
    """The records file (SQLite) in the data folder."""
    return Path(folder) / RECORDS_FILE
