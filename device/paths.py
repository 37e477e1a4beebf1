"""Where the device keeps its data: ``--data-dir``, else $STATE_DIRECTORY (set by systemd's
StateDirectory=), else the platform's user data folder (~/.local/share/balance-board).

One folder holds everything a board writes: the calibration (one file per board kind), the
records file, the program, the settings and the speech cache. Every command and the app find
their files through the names here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "balance-board"
RECORDS_FILE = "balance-board.sqlite3"
LOG_FILE = "balance-board.log"


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The data folder, created if needed."""
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
    path.mkdir(parents=True, exist_ok=True)
    return path


def calibration_path(folder: Path, board: str) -> Path:
    """The calibration file for a board kind: the simulated board keeps its own."""
    return Path(folder) / ("calibration-sim.json" if board == "sim" else "calibration.json")


def records_path(folder: Path) -> Path:
    """The records file (SQLite) in the data folder."""
    return Path(folder) / RECORDS_FILE
