"""``balance-board doctor``: what a technician asks for on the phone, found in one go.

Each finding is one line, OK, WARNING or PROBLEM, with what was found and, when something is
off, what to do:

* the app's version, Python, the system, the Pi's model; the libraries' versions;
* the configuration in use (pins, geometry, screen rotation, data folder) and where each came
  from (``/etc/balance-board``, the unit, or the package's default);
* the data folder and its disk space;
* whether each corner's HX711 answers: a few seconds of the self-test's measures through the
  real driver, on the Pi's pins or, with ``--board sim``, on the simulated board;
* the calibration's age;
* the display (SDL's video drivers, the DRM cards and their connectors, the graphics libraries
  SDL loads), the sound cards and speech, the clock, a Pi's power supply (under-voltage);
* the records file (opens? its version, SQLite's integrity check, its size), the device events
  and errors of the last 7 days, the kiosk service's state.

It writes nothing and changes nothing, so that it runs as the service's user on a read-only
system: the data folder is looked at, not made; the records are opened read-only; the simulated
board is not calibrated (its self-test needs no calibration). A broken piece never stops it:
each check runs on its own, and one that fails is a PROBLEM with the reason while the others go
on. Exit status 0 when no finding is a PROBLEM, else 1 (README, "Exit statuses").

Example::

    findings = examine(Options(board="sim"))
    print(report_text(findings))
    status = exit_status(findings)      # 0 or 1

Everything is looked up under ``System.root`` and through ``System.run`` (a command's output),
so the tests check a made-up Raspberry Pi's files on a PC.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import getpass
import importlib.metadata
import importlib.util
import json
import os
import platform
import pwd
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from balance_board.cli import ROTATE_VARIABLE, ROTATIONS
from clinic.actions import software_version
from clinic.store import SCHEMA_VERSION, Store, StoreError
from device.acquisition import Acquisition
from device.board import board_source
from device.calibration import load_calibration
from device.clock import SystemClock, clock_synchronised
from device.config import HEADER_PINS, SYSTEM_CONFIG, BoardConfig, find_board_config
from device.geometry import GeometryError
from device.paths import LOG_FILE, calibration_path, data_dir_path, records_path
from device.selftest import corner_health

OK, WARNING, PROBLEM = "OK", "WARNING", "PROBLEM"
SEVERITY = {OK: 0, WARNING: 1, PROBLEM: 2}
EXIT_PROBLEM = 1  # README, "Exit statuses": doctor found at least one PROBLEM

UNIT = "balance-board.service"
SERVICE_USER = "balance-board"  # the unit's User=, when systemd cannot be asked
SERVICE_DATA = "/var/lib/balance-board"  # the unit's StateDirectory=balance-board
RECENT_DAYS = 7
CALIBRATION_MAX_AGE_DAYS = 183  # hardware/building.md: calibrate at least every six months
# Disk: BENCHMARKS.md's records file grows about 127 MB a year of daily sessions; the system
# keeps some room for the journal, the records' write-ahead log and an update.
RECORDS_MB_PER_YEAR = 130
RESERVE_MB = 100
COMMAND_TIMEOUT_S = 5.0
LOG_TAIL_BYTES = 256 * 1024  # the app log's end is enough for a week of errors
# What SDL's kmsdrm driver loads at run time (../shared/notes/pi-kiosk.md), by library name
GRAPHICS_LIBRARIES = ("drm", "gbm", "EGL", "GLESv2")
REQUIRED_LIBRARIES = ("numpy", "scipy", "pygame-ce", "gpiozero", "matplotlib", "pyzipper")
# lgpio comes from PyPI (``lgpio``, ``adafruit-lgpio``) or Raspberry Pi OS (python3-lgpio)
LGPIO_DISTRIBUTIONS = ("lgpio", "adafruit-lgpio", "rpi-lgpio")
# Raspberry Pi firmware's throttled flags (vcgencmd get_throttled)
UNDER_VOLTAGE_NOW, THROTTLED_NOW = 1 << 0, 1 << 2
UNDER_VOLTAGE_SINCE_BOOT, THROTTLED_SINCE_BOOT = 1 << 16, 1 << 18


@dataclass(frozen=True)
class Finding:
    """One line of the report.

    :param topic: what was looked at, in the technician's words ("records file").
    :param status: OK, WARNING (works, but look at it) or PROBLEM (the board cannot do its job).
    :param found: what was found, one sentence.
    :param advice: what to do about it (empty when OK).
    :param data: the same for machines (``--json``): plain values only.
    """

    topic: str
    status: str
    found: str
    advice: str = ""
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "topic": self.topic,
            "status": self.status,
            "found": self.found,
            "advice": self.advice,
            "data": self.data,
        }


@dataclass(frozen=True)
class Options:
    """What the technician asked for.

    :param board: "auto" (the Pi's pins when this machine has GPIO), "hx711" (the real board,
        a PROBLEM when absent) or "sim" (the simulated board through the real driver).
    :param data_dir: the data folder; None: the service's (``$STATE_DIRECTORY``, the unit's
        StateDirectory, /var/lib/balance-board when it exists), else the user's.
    :param geometry: a board configuration file instead of /etc/balance-board/board.toml.
    :param seconds: how long each corner is listened to (s).
    :param sim_faults: faults for the simulated board's corners, (corner, kind), as ``selftest``.
    """

    board: str = "auto"
    data_dir: str | None = None
    geometry: str | None = None
    seconds: float = 3.0
    sim_faults: tuple = ()


def _run_command(argv: list[str]) -> str | None:
    """A command's standard output, or None when it cannot run, fails or takes too long."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


@dataclass(frozen=True)
class System:
    """Where the doctor looks.

    :param root: the file system's root; the tests give a made-up Pi's folder tree.
    :param run: runs a command that only reads (systemctl show, vcgencmd) and gives its output,
        None when it cannot.
    :param environ: the environment (the rotation, the data folder, the desktop).
    :param find_library: a shared library's file name, None when it is not installed.
    """

    root: Path = Path("/")
    run: Callable[[list[str]], str | None] = _run_command
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    find_library: Callable[[str], str | None] = ctypes.util.find_library

    def path(self, absolute: str | Path) -> Path:
        return self.root / str(absolute).lstrip("/")

    def read(self, absolute: str | Path, limit: int = 64 * 1024) -> str | None:
        """A small file's text (``absolute`` under ``root``), None when missing or unreadable."""
        return read_text(self.path(absolute), limit)


def read_text(path: Path, limit: int = 64 * 1024) -> str | None:
    """The start of a file's text, None when it is missing or unreadable."""
    try:
        with path.open("rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return None


# --- the checks --------------------------------------------------------------------------------
class Doctor:
    """Runs the checks in the report's order; each check gives one or more findings."""

    def __init__(self, options: Options, system: System) -> None:
        self.options = options
        self.system = system
        # the records, opened look-only by check_records for the checks after it; or why not
        self._store: Store | None = None
        self._store_trouble: str | None = None

    # facts several checks need, found once
    @property
    def model(self) -> str | None:
        """The Raspberry Pi's model from the device tree, None on a PC."""
        text = self.system.read("/proc/device-tree/model")
        return text.rstrip("\0\n ") if text else None

    @property
    def on_pi(self) -> bool:
        return bool(self.model and "Raspberry Pi" in self.model)

    @property
    def gpio_chips(self) -> list[str]:
        return sorted(p.name for p in self.system.path("/dev").glob("gpiochip*"))

    @functools.cached_property
    def unit(self) -> dict[str, str] | None:
        """The kiosk unit's properties from systemd, None when systemd is not running here."""
        if not self.system.path("/run/systemd/system").is_dir():  # sd_booted(3)'s test
            return None
        text = self.system.run(
            [
                "systemctl",
                "show",
                UNIT,
                "-p",
                "LoadState,ActiveState,SubState,NRestarts,Result,UnitFileState,"
                "ActiveEnterTimestamp,User,StateDirectory,Environment,EnvironmentFiles",
            ]
        )
        if text is None:
            return None
        unit: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key == "EnvironmentFiles":  # one line per file: "PATH (ignore_errors=no)"
                unit[key] = f"{unit.get(key, '')}\n{value}".strip()
            elif sep:
                unit[key] = value
        return unit

    def unit_running(self) -> bool:
        unit = self.unit or {}
        return unit.get("ActiveState") in ("active", "activating", "reloading")

    def service_user(self) -> str:
        return (self.unit or {}).get("User") or SERVICE_USER

    @functools.cached_property
    def data_folder(self) -> tuple[Path, str]:
        """The data folder and where that came from, without making it."""
        if self.options.data_dir:
            return Path(self.options.data_dir), "--data-dir"
        state = self.system.environ.get("STATE_DIRECTORY")
        if state:
            return Path(state.split(":")[0]), "$STATE_DIRECTORY (systemd)"
        unit = self.unit or {}
        if unit.get("LoadState") == "loaded" and unit.get("StateDirectory"):
            name = unit["StateDirectory"].split()[0]
            return self.system.path(f"/var/lib/{name}"), f"the service's StateDirectory={name}"
        if self.system.path(SERVICE_DATA).is_dir():
            return self.system.path(SERVICE_DATA), "the service's data folder"
        # no service here: the user's own folder, found as every other command finds it
        return data_dir_path(None), "the user's data folder (no service here)"

    @functools.cached_property
    def board_config(self) -> tuple[BoardConfig | None, str | None]:
        """(the board configuration in use, None) or (None, why it cannot be read)."""
        try:
            return find_board_config(self.options.geometry, self.system.path(SYSTEM_CONFIG)), None
        except (GeometryError, OSError, ValueError) as exc:
            return None, str(exc)

    def board_kind(self) -> str | None:
        """The board whose pins are checked: None on a PC asked for "auto"."""
        if self.options.board != "auto":
            return self.options.board
        return "hx711" if self.gpio_chips or self.on_pi else None

    def calibrated_kind(self) -> str:
        """The board whose calibration is checked: the one checked, else (a PC) the one the
        app would open: the real board when it was calibrated here, else the simulated one."""
        kind = self.board_kind()
        if kind is not None:
            return kind
        folder, _ = self.data_folder
        return "hx711" if calibration_path(folder, "hx711").exists() else "sim"

    def folder_unreadable(self, topic: str) -> Finding | None:
        """For a check of a file in the data folder: a WARNING when this user cannot look into
        the folder (the data folder's line is the PROBLEM), else None."""
        folder, _ = self.data_folder
        if not folder.is_dir() or os.access(folder, os.R_OK | os.X_OK):
            return None
        return Finding(
            topic,
            WARNING,
            f"not read: user {_user_name()} cannot look into the data folder",
            "see the data folder's line",
        )

    def close(self) -> None:
        if self._store is not None:
            with contextlib.suppress(Exception):
                self._store.close()
            self._store = None

    # ---------------------------------------------------------------------------------------
    def checks(self) -> list[Callable[[], Iterator[Finding]]]:
        return [
            self.check_app,
            self.check_libraries,
            self.check_configuration,
            self.check_data_folder,
            self.check_disk,
            self.check_pins,
            self.check_calibration,
            self.check_display,
            self.check_sound,
            self.check_clock,
            self.check_power,
            self.check_records,
            self.check_recent_events,
            self.check_app_log,
            self.check_service,
        ]

    def check_app(self) -> Iterator[Finding]:
        release = self.system.read("/etc/os-release") or ""
        match = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', release, re.M)
        system = match.group(1) if match else platform.system()
        bits = f"{struct.calcsize('P') * 8}-bit"  # this Python's, not the kernel's
        found = (
            f"balance-board {software_version()}; Python {platform.python_version()} ({bits}); "
            f"{system}, Linux {platform.release()}, {platform.machine()}"
        )
        if self.model:
            found += f"; {self.model}"
        yield Finding(
            "app",
            OK,
            found,
            data={
                "version": software_version(),
                "python": platform.python_version(),
                "python_bits": bits,
                "system": system,
                "kernel": platform.release(),
                "architecture": platform.machine(),
                "model": self.model,
            },
        )

    def check_libraries(self) -> Iterator[Finding]:
        for name in REQUIRED_LIBRARIES:
            version = _version(name)
            if version is None:
                yield Finding(
                    name,
                    PROBLEM,
                    "not installed",
                    "install the app again (its environment is incomplete)",
                    {"version": None},
                )
            else:
                yield Finding(name, OK, version, data={"version": version})
        if _version("pygame") is not None and _version("pygame-ce") is not None:
            yield Finding(
                "pygame",
                WARNING,
                f"PyPI pygame {_version('pygame')} is installed beside pygame-ce: one hides the "
                "other, and PyPI pygame cannot draw without a desktop",
                "uninstall pygame from the app's environment (pip uninstall pygame), then "
                "reinstall pygame-ce",
            )
        yield self._lgpio()

    def _lgpio(self) -> Finding:
        version = next(filter(None, map(_version, LGPIO_DISTRIBUTIONS)), None)
        if version is None:
            try:
                spec = importlib.util.find_spec("lgpio")  # found, not imported (it makes a pipe)
            except (ImportError, ValueError):
                spec = None
            if spec is not None:
                version = f"installed ({spec.origin}), version not recorded"
        if version is not None:
            return Finding("lgpio", OK, version, data={"version": version})
        if self.gpio_chips or self.on_pi:
            return Finding(
                "lgpio",
                PROBLEM,
                "not installed: the real board cannot be read",
                "install python3-lgpio (Raspberry Pi OS) or run the installer again",
                {"version": None},
            )
        return Finding(
            "lgpio",
            OK,
            "not installed (needed only on a Raspberry Pi)",
            data={"version": None},
        )

    def check_configuration(self) -> Iterator[Finding]:
        config, trouble = self.board_config
        if config is None:
            yield Finding(
                "board configuration",
                PROBLEM,
                f"cannot be read: {trouble}",
                f"correct the file (its format is in hardware/board.toml), or remove "
                f"{SYSTEM_CONFIG} to use the board described in hardware/",
            )
        else:
            source = (
                "the package's default (the board in hardware/board.toml)"
                if config.source == BoardConfig().source
                else config.source
            )
            pins = config.pins
            shared = len(pins.sck) == 1
            found = (
                f"DOUT {_gpios(pins.dout)}, PD_SCK {_gpios(pins.sck)}"
                f"{' (one shared clock)' if shared else ''} (front-left, front-right, "
                f"back-left, back-right), {pins.rate_sps} readings a second; from {source}"
            )
            data = {
                "dout": list(pins.dout),
                "sck": list(pins.sck),
                "rate_sps": pins.rate_sps,
                "source": config.source,
            }
            if pins.rate_sps != 80:
                yield Finding(
                    "pin map",
                    WARNING,
                    found,
                    "the exercises expect 80 readings a second: tie each HX711's RATE pin to "
                    "3.3 V (hardware/wiring.md) and set rate_sps = 80",
                    data,
                )
            else:
                yield Finding("pin map", OK, found, data=data)
            g = config.geometry
            default = BoardConfig().geometry
            differs = (g.width_mm, g.depth_mm, g.stance_width_mm) != (
                default.width_mm,
                default.depth_mm,
                default.stance_width_mm,
            )
            yield Finding(
                "geometry",
                OK,
                f"load cells {g.width_mm:g} × {g.depth_mm:g} mm apart, foot marks "
                f"{g.stance_width_mm:g} mm apart"
                f"{' (not the board in hardware/)' if differs else ''}; from {source}",
                data={
                    "width_mm": g.width_mm,
                    "depth_mm": g.depth_mm,
                    "stance_width_mm": g.stance_width_mm,
                    "source": config.source,
                },
            )
        yield self._rotation()

    def _rotation(self) -> Finding:
        text, source = self.system.environ.get(ROTATE_VARIABLE), "this shell's environment"
        if text is None:
            text, source = self._unit_environment().get(ROTATE_VARIABLE, (None, ""))
        if text is None:
            return Finding(
                "screen rotation",
                OK,
                "0° (the default: a landscape screen)",
                data={"degrees": 0, "source": "default"},
            )
        try:
            degrees = int(text)
        except ValueError:
            degrees = None
        if degrees not in ROTATIONS:
            return Finding(
                "screen rotation",
                PROBLEM,
                f"{ROTATE_VARIABLE}={text!r} in {source}: the app refuses it",
                f"set {ROTATE_VARIABLE} to 0, 90 (the portrait Touch Display 2) or 270",
                {"degrees": None, "source": source},
            )
        return Finding(
            "screen rotation",
            OK,
            f"{degrees}° ({ROTATE_VARIABLE} in {source})",
            data={"degrees": degrees, "source": source},
        )

    def _unit_environment(self) -> dict[str, tuple[str, str]]:
        """The unit's environment: variable → (value, where it is set)."""
        unit = self.unit or {}
        found: dict[str, tuple[str, str]] = {}
        for line in unit.get("EnvironmentFiles", "").splitlines():
            name = re.sub(r" \(ignore_errors=\w+\)$", "", line.strip())
            text = self.system.read(name) or ""
            for line in text.splitlines():
                key, sep, value = line.strip().partition("=")
                if sep and not key.startswith("#"):
                    found[key.strip()] = (value.strip().strip("\"'"), name)
        for item in unit.get("Environment", "").split():
            key, sep, value = item.partition("=")
            if sep:
                found[key] = (value, f"the unit {UNIT}")
        return found

    def check_data_folder(self) -> Iterator[Finding]:
        folder, source = self.data_folder
        user = _user_name()
        data = {"path": str(folder), "source": source, "user": user}
        if not folder.exists():
            yield Finding(
                "data folder",
                WARNING,
                f"{folder} ({source}) does not exist yet",
                "the app makes it at its first start; if this is the device, check the "
                "service's StateDirectory= and run the doctor as its user",
                data,
            )
            return
        if not folder.is_dir():
            yield Finding(
                "data folder",
                PROBLEM,
                f"{folder} ({source}) is not a folder",
                "move that file away; the app makes the folder at its next start",
                data,
            )
            return
        info = folder.stat()
        owner = _owner_name(info.st_uid)
        data.update(owner=owner, mode=f"{info.st_mode & 0o777:04o}")
        where = f"{folder} ({source}), owner {owner}, mode {info.st_mode & 0o777:04o}"
        if not os.access(folder, os.R_OK | os.X_OK):
            yield Finding(
                "data folder",
                PROBLEM,
                f"{where}: user {user} cannot read it",
                f"run the doctor as the service's user: sudo -u {self.service_user()} "
                f"{_command()} doctor",
                data,
            )
            return
        if _read_only_medium(folder):
            yield Finding(
                "data folder",
                PROBLEM,
                f"{where}: on a read-only file system; results cannot be kept",
                "a failing SD card is remounted read-only by the kernel: copy the data off "
                "(the records still read) and replace the card; or give the data a writable "
                "partition",
                data,
            )
            return
        if not os.access(folder, os.W_OK):
            yield Finding(
                "data folder",
                PROBLEM if user == self.service_user() else WARNING,
                f"{where}: user {user} cannot write to it",
                f"it must belong to the service's user: sudo chown -R {self.service_user()} "
                f"{folder} (if this is not that user, run the doctor as it: sudo -u "
                f"{self.service_user()} {_command()} doctor)",
                data,
            )
            return
        if info.st_mode & 0o077:
            yield Finding(
                "data folder",
                WARNING,
                f"{where}: other users may look into it (health data)",
                f"chmod 700 {folder} (the app tightens it at its next start)",
                data,
            )
            return
        yield Finding("data folder", OK, where, data=data)

    def check_disk(self) -> Iterator[Finding]:
        folder, _ = self.data_folder
        existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
        stat = os.statvfs(existing)
        free_mb = stat.f_bavail * stat.f_frsize / 1e6
        total_mb = stat.f_blocks * stat.f_frsize / 1e6
        years = max(0.0, (free_mb - RESERVE_MB) / RECORDS_MB_PER_YEAR)
        room = "over 10 years" if years > 10 else f"about {years:.1f} years"
        found = (
            f"{_megabytes(free_mb)} free of {_megabytes(total_mb)} on {existing}: {room} of "
            "daily sessions"
        )
        data = {"free_mb": round(free_mb), "total_mb": round(total_mb), "years_left": years}
        if free_mb < RESERVE_MB:
            yield Finding(
                "disk space",
                PROBLEM,
                found,
                "the next sessions may not be kept: export the records to a USB stick "
                "(Therapist → Export), then free space (old logs: journalctl --vacuum-size=50M)",
                data,
            )
        elif years < 1:
            yield Finding(
                "disk space",
                WARNING,
                found,
                "less than a year of records left: export them and plan a larger SD card",
                data,
            )
        else:
            yield Finding("disk space", OK, found, data=data)

    def check_pins(self) -> Iterator[Finding]:
        kind = self.board_kind()
        config, _ = self.board_config
        if kind is None:
            yield Finding(
                "board pins",
                WARNING,
                "no GPIO here (not a Raspberry Pi): the board's pins were not checked",
                "run the doctor on the board's Pi; `--board sim` checks the simulated board "
                "through the real driver",
            )
            return
        if config is None:
            yield Finding(
                "board pins",
                PROBLEM,
                "not checked: the board configuration cannot be read (see above)",
                "correct the configuration file",
            )
            return
        if kind == "hx711":
            why = self._real_pins_unavailable()
            if why is not None:
                yield why
                return
        yield from self._listen(kind, config)

    def _real_pins_unavailable(self) -> Finding | None:
        """Why the Pi's pins cannot be listened to now, as a finding; None when they can."""
        if not self.gpio_chips:
            return Finding(
                "board pins",
                PROBLEM,
                "no GPIO here (no /dev/gpiochip): the real board cannot be read",
                "run the doctor on the board's Raspberry Pi"
                if not self.on_pi
                else "the Pi's GPIO driver is missing: update Raspberry Pi OS",
            )
        if self.unit_running():
            # the app holds the pins; a second reader would be refused them ("GPIO busy")
            return Finding(
                "board pins",
                OK,
                "in use by the running app, which reads them (its faults are in the recent "
                "events below); to listen to each corner here: sudo systemctl stop "
                "balance-board, run the doctor, then sudo systemctl start balance-board",
                data={"probed": False},
            )
        return None

    def _listen(self, kind: str, config: BoardConfig) -> Iterator[Finding]:
        """A few seconds of the board through the real driver in its reader process, judged
        as the self-test judges them."""
        if kind == "sim":
            # as fast as it runs (no wall clock needed), nobody on it; not calibrated: a
            # self-test needs no calibration, and calibrating it would write a file
            source = board_source(
                "sim", config, realtime=False, on_board=False, faults=self.options.sim_faults
            )
        else:
            source = board_source("hx711", config)
        folder, _ = self.data_folder
        calibration = load_calibration(calibration_path(folder, kind)).calibration
        frames = []
        link = Acquisition(source, max_restarts=0)
        with _lgpio_working_folder(self.system.environ):
            link.start()  # the reader process takes this environment with it
        try:
            deadline = time.monotonic() + self.options.seconds + 15.0  # a start on a slow Pi
            while time.monotonic() < deadline:
                frames.extend(link.frames(timeout=0.1))
                if frames and frames[-1].t - frames[0].t >= self.options.seconds:
                    break
                if link.failed or (not link.alive and not frames):
                    break
            error = link.last_error
        finally:
            link.close()
        where = "the simulated board" if kind == "sim" else "the Pi's pins"
        if len(frames) < 2:
            why = error or "no readings arrived"
            yield Finding(
                "board pins",
                PROBLEM,
                f"the board's reader on {where} could not start: {why.strip()}",
                _reader_advice(why, self.service_user()),
                {"probed": True, "error": why.strip()},
            )
            return
        rows = corner_health(frames, calibration)
        span = frames[-1].t - frames[0].t
        for row, dout, sck in zip(
            rows, config.pins.dout, _per_corner(config.pins.sck), strict=True
        ):
            grams = "" if row.noise_g != row.noise_g else f" ({row.noise_g:.0f} g)"  # NaN
            load = "" if row.load_kg != row.load_kg else f", load {row.load_kg:.1f} kg"
            found = (
                f"DOUT {_gpios([dout])}, PD_SCK {_gpios([sck])} on {where}: "
                f"{row.rate_sps:.1f} readings a "
                f"second, noise {row.noise_counts:.0f} counts{grams}{load} over {span:.1f} s"
            )
            data = {
                "corner": row.corner,
                "dout": dout,
                "sck": sck,
                "rate_sps": round(row.rate_sps, 2),
                "noise_counts": None if row.noise_counts != row.noise_counts else row.noise_counts,
                "probed": True,
            }
            if row.ok:
                yield Finding(f"corner {row.corner}", OK, found, data=data)
            else:
                yield Finding(
                    f"corner {row.corner}",
                    PROBLEM,
                    f"{found}. {row.problem}",
                    f"check this corner's wires (DOUT {_gpios([dout])}, PD_SCK "
                    f"{_gpios([sck])}), its "
                    "HX711's 3.3 V and 5 V and its load cell's four wires (hardware/wiring.md)",
                    data,
                )

    def check_calibration(self) -> Iterator[Finding]:
        if unreadable := self.folder_unreadable("calibration"):
            yield unreadable
            return
        kind = self.calibrated_kind()
        folder, _ = self.data_folder
        path = calibration_path(folder, kind)
        status = load_calibration(path)
        how = (
            "on the screen: Therapist → Calibrate, with the 5 kg plate (hardware/building.md)"
            if kind == "hx711"
            else "nothing to do: the simulated board calibrates itself at its next use"
        )
        if status.calibration is None:
            missing = not path.exists()
            # the real board measures nothing without one; the simulated board makes one at
            # its next use
            severity = PROBLEM if kind == "hx711" else OK if missing else WARNING
            found = (
                f"the {_board_words(kind)} has not been calibrated yet ({path} is missing)"
                if missing
                else status.problem
            )
            yield Finding(
                "calibration",
                severity,
                found if kind == "hx711" else f"{found}; it calibrates itself at its next use",
                "" if severity == OK else how,
                {"path": str(path), "calibrated_at": None},
            )
            return
        calibration = status.calibration
        now = datetime.now().astimezone()
        age_days = calibration.age_days(now)
        zeroed = f", last zeroed {calibration.zeroed_at}" if calibration.zeroed_at else ""
        found = (
            f"{_board_words(kind)} calibrated {calibration.calibrated_at} ({age_days:.0f} days "
            f"ago) with {calibration.known_weight_kg:g} kg{zeroed}"
        )
        data = {
            "path": str(path),
            "calibrated_at": calibration.calibrated_at,
            "age_days": round(age_days, 1),
        }
        if age_days > CALIBRATION_MAX_AGE_DAYS:
            yield Finding(
                "calibration",
                WARNING,
                found,
                f"calibrate again (at least every six months): {how}",
                data,
            )
        elif age_days < -1:
            yield Finding(
                "calibration",
                WARNING,
                found + ": in the future, so the clock was wrong then or is now",
                "check the clock (below), then calibrate again",
                data,
            )
        else:
            yield Finding("calibration", OK, found, data=data)

    def check_display(self) -> Iterator[Finding]:
        yield self._sdl_drivers()
        yield self._drm_cards()
        if self.on_pi or self.system.path("/dev/dri").is_dir():
            yield self._graphics_libraries()

    def _sdl_drivers(self) -> Finding:
        drivers = _sdl_video_drivers()
        if drivers is None:
            return Finding(
                "display driver",
                PROBLEM,
                "pygame (SDL) cannot be loaded",
                "install the app again (pygame-ce is missing or broken)",
            )
        names = [d.lower() for d in drivers]
        found = f"SDL video drivers: {', '.join(drivers)}"
        if "kmsdrm" not in names:
            return Finding(
                "display driver",
                PROBLEM if self.on_pi else WARNING,
                found + ": no kmsdrm, so no full screen without a desktop",
                "install pygame-ce (not PyPI pygame, whose SDL has no kmsdrm)",
                {"sdl_video_drivers": drivers},
            )
        return Finding("display driver", OK, found, data={"sdl_video_drivers": drivers})

    def _drm_cards(self) -> Finding:
        cards = []
        for card in sorted(self.system.path("/sys/class/drm").glob("card[0-9]*")):
            if "-" in card.name:
                continue  # a connector (card1-HDMI-A-1), listed under its card below
            link = card / "device" / "driver"
            driver = link.resolve().name if link.exists() else "unknown"
            connectors = {}
            for connector in sorted(card.parent.glob(f"{card.name}-*")):
                status = (read_text(connector / "status") or "").strip() or "unknown"
                connectors[connector.name.removeprefix(f"{card.name}-")] = status
            device = self.system.path(f"/dev/dri/{card.name}")
            cards.append(
                {
                    "card": card.name,
                    "driver": driver,
                    "connectors": connectors,
                    "can_open": device.exists() and os.access(device, os.R_OK | os.W_OK),
                }
            )
        desktop = self.system.environ.get("WAYLAND_DISPLAY") or self.system.environ.get("DISPLAY")
        if not cards:
            if desktop and not self.on_pi:
                return Finding(
                    "display",
                    OK,
                    f"a desktop session ({desktop}): the app opens a window",
                    data={"cards": []},
                )
            return Finding(
                "display",
                PROBLEM if self.on_pi else WARNING,
                "no display device (/dev/dri) and no desktop: the app cannot show a screen here",
                "the Pi's display driver is off: dtoverlay=vc4-kms-v3d in /boot/firmware/"
                "config.txt (Raspberry Pi OS has it by default), then reboot"
                if self.on_pi
                else "only `balance-board demo` (pictures, no screen) runs here",
                {"cards": []},
            )
        words = "; ".join(
            f"{c['card']} ({c['driver']}): "
            + (", ".join(f"{k} {v}" for k, v in c["connectors"].items()) or "no connectors")
            for c in cards
        )
        connected = any(v == "connected" for c in cards for v in c["connectors"].values())
        blocked = [c["card"] for c in cards if not c["can_open"]]
        data = {"cards": cards}
        if blocked:
            return Finding(
                "display",
                PROBLEM if _user_name() == self.service_user() else WARNING,
                f"{words}; user {_user_name()} cannot open {', '.join(blocked)}",
                f"the service's user needs the video and render groups: sudo usermod -aG "
                f"video,render {self.service_user()}",
                data,
            )
        if not connected and self.on_pi:
            return Finding(
                "display",
                WARNING,
                f"{words}: no screen connected",
                "check the display's ribbon cable (DSI) or HDMI cable, then reboot",
                data,
            )
        return Finding("display", OK, words, data=data)

    def _graphics_libraries(self) -> Finding:
        found = {name: self.system.find_library(name) for name in GRAPHICS_LIBRARIES}
        dri = sorted(
            p.name
            for pattern in ("usr/lib/*/dri/*_dri.so", "usr/lib/*/libgallium*.so")
            for p in self.system.root.glob(pattern)
        )
        missing = [f"lib{name}" for name, file in found.items() if file is None]
        data = {"libraries": found, "mesa_drivers": dri}
        if missing or not dri:
            lacking = missing + ([] if dri else ["the mesa DRI drivers"])
            return Finding(
                "graphics libraries",
                PROBLEM if self.on_pi else WARNING,
                f"missing: {', '.join(lacking)} (SDL's kmsdrm loads them at run time: "
                "'EGL not initialized' otherwise)",
                "sudo apt install libdrm2 libgbm1 libegl1 libgles2 libegl-mesa0 "
                "libgl1-mesa-dri (the installer does)",
                data,
            )
        return Finding(
            "graphics libraries",
            OK,
            f"{', '.join(f for f in found.values() if f)}; mesa {', '.join(dri[:4])}",
            data=data,
        )

    def check_sound(self) -> Iterator[Finding]:
        text = self.system.read("/proc/asound/cards")
        cards = re.findall(r"^\s*(\d+)\s+\[(\S+)\s*\]:\s*(.+)$", text or "", re.M)
        listed = [{"number": int(n), "id": i, "name": name.strip()} for n, i, name in cards]
        default = _default_sound_card(self.system.read("/etc/asound.conf") or "")
        data = {"cards": listed, "default": default}
        if not listed:
            yield Finding(
                "sound",
                WARNING,
                "no sound card: the app runs silently (every cue is also on the screen)",
                "plug in the USB speaker (a Pi 5 has no audio jack), then restart the app",
                data,
            )
        else:
            words = ", ".join(f"{c['number']} {c['id']} ({c['name']})" for c in listed)
            known = {str(c["number"]) for c in listed} | {c["id"] for c in listed}
            if default is not None and default not in known:
                yield Finding(
                    "sound",
                    WARNING,
                    f"cards {words}; /etc/asound.conf chooses card {default}, which is not "
                    "there: silence",
                    "plug in the USB speaker, or correct defaults.pcm.card in /etc/asound.conf",
                    data,
                )
            else:
                choice = f"; default card {default}" if default is not None else ""
                yield Finding("sound", OK, f"cards {words}{choice}", data=data)
        speech = next(
            (
                p
                for d in ("usr/bin", "bin", "usr/local/bin")
                if (p := self.system.root / d / "espeak-ng").exists()
            ),
            None,
        )
        if speech is None:
            yield Finding(
                "speech",
                WARNING,
                "espeak-ng is not installed: instructions are shown, not spoken",
                "sudo apt install espeak-ng",
            )
        else:
            yield Finding("speech", OK, f"espeak-ng ({speech})")

    def check_clock(self) -> Iterator[Finding]:
        synchronised = clock_synchronised(self.system.path("/run/systemd/timesync/synchronized"))
        now = SystemClock().now_iso()
        zone = _time_zone(self.system)
        rtc = self.system.path("/dev/rtc0").exists()
        found = (
            f"{now} ({zone}); "
            + {
                True: "set from a time source",
                False: "NOT set from a time source",
                None: "whether it was set from a time source cannot be told",
            }[synchronised]
            + ("; battery clock present" if rtc else "; no battery clock")
        )
        data = {"now": now, "zone": zone, "synchronised": synchronised, "rtc": rtc}
        if synchronised:
            yield Finding("clock", OK, found, data=data)
        else:
            yield Finding(
                "clock",
                WARNING,
                found,
                "results are marked 'clock not synchronised' until it is: connect the "
                "network once (timedatectl shows the state); a Pi 4 has no battery clock",
                data,
            )

    def check_power(self) -> Iterator[Finding]:
        if not self.on_pi:
            return  # the flags are the Raspberry Pi firmware's
        flags = None
        text = self.system.run(["vcgencmd", "get_throttled"])
        if text and (match := re.search(r"throttled=(0x[0-9a-fA-F]+)", text)):
            flags = int(match.group(1), 16)
        else:
            # without vcgencmd: the kernel's rpi_volt sensor says whether it is low now
            for hwmon in self.system.path("/sys/class/hwmon").glob("hwmon*"):
                if (read_text(hwmon / "name") or "").strip() != "rpi_volt":
                    continue
                alarm = read_text(hwmon / "in0_lcrit_alarm")
                if alarm is not None:
                    flags = UNDER_VOLTAGE_NOW if alarm.strip() == "1" else 0
        if flags is None:
            yield Finding(
                "power supply",
                WARNING,
                "the Pi's under-voltage flags cannot be read",
                "run the doctor as a user in the video group, or with sudo",
            )
            return
        data = {"throttled_flags": hex(flags)}
        if flags & UNDER_VOLTAGE_NOW:
            yield Finding(
                "power supply",
                PROBLEM,
                "under-voltage now: the Pi may reset and the SD card may be damaged",
                "use the official Raspberry Pi power supply (hardware/parts.md), plugged "
                "straight into the wall",
                data,
            )
        elif flags & (UNDER_VOLTAGE_SINCE_BOOT | THROTTLED_SINCE_BOOT | THROTTLED_NOW):
            yield Finding(
                "power supply",
                WARNING,
                f"under-voltage or throttling since the last start (flags {hex(flags)})",
                "use the official Raspberry Pi power supply; keep the Pi's vents free",
                data,
            )
        else:
            yield Finding("power supply", OK, "no under-voltage since the last start", data=data)

    def check_records(self) -> Iterator[Finding]:
        if unreadable := self.folder_unreadable("records file"):
            self._store_trouble = "the data folder cannot be read"
            yield unreadable
            return
        folder, _ = self.data_folder
        path = records_path(folder)
        if not path.exists():
            self._store_trouble = "there are no records yet"
            yield Finding(
                "records file",
                OK,
                f"none yet at {path} (made at the first session)",
                data={"path": str(path), "exists": False},
            )
            return
        size_mb = sum(
            p.stat().st_size / 1e6 for p in (path, path.with_name(path.name + "-wal")) if p.exists()
        )
        data = {"path": str(path), "exists": True, "size_mb": round(size_mb, 1)}
        try:
            self._store = Store(path, look_only=True)
        except StoreError as exc:
            self._store_trouble = str(exc)
            severity, advice = _records_advice(exc.kind, self.service_user())
            yield Finding(
                "records file",
                severity,
                f"{exc} ({_megabytes(size_mb)})",
                advice,
                data | {"trouble": exc.kind},
            )
            return
        started = time.monotonic()
        problems = self._store.quick_check()
        check_s = time.monotonic() - started
        data.update(schema=self._store.schema_version, integrity=problems or "ok")
        if problems:
            self._store_trouble = "the records file is damaged"
            self.close()
            yield Finding(
                "records file",
                PROBLEM,
                f"{path} ({_megabytes(size_mb)}, schema {data['schema']}) is damaged: "
                f"{'; '.join(problems)}",
                "keep a copy of the file before anything else (the app leaves it as it is), "
                "and bring it to the technician; see docs/reliability.md",
                data,
            )
            return
        patients = self._store.patients()
        sessions = [s for p in patients for s in self._store.sessions(p.code)]
        last = max((s["started_at"] for s in sessions), default=None)
        data.update(patients=len(patients), sessions=len(sessions), last_session=last)
        yield Finding(
            "records file",
            OK,
            f"{path}: opens, schema {self._store.schema_version} (this app's is "
            f"{SCHEMA_VERSION}), integrity ok ({check_s:.1f} s), {_megabytes(size_mb)}; "
            f"{len(patients)} patient(s), {len(sessions)} session(s)"
            + (f", the last {last}" if last else ""),
            data=data,
        )

    def check_recent_events(self) -> Iterator[Finding]:
        store = self._store  # opened by check_records, look-only
        if store is None:
            if self._store_trouble == "there are no records yet":
                return
            yield Finding(
                "recent events",
                WARNING,
                f"not read: {self._store_trouble or 'the records were not opened'}",
                "see the records file above",
            )
            return
        today = date.today()
        first = today - timedelta(days=RECENT_DAYS - 1)
        events = store.events(first_day=first, last_day=today)
        kinds = Counter(e["kind"] for e in events)
        faulty = [e for e in events if e["kind"].startswith("reader_")]
        # trials the driver or the load watch flagged (a sensor fault: not scored)
        sensor = Counter()
        for patient in store.patients():
            for trial in store.trials(patient.code, status=None, first_day=first, last_day=today):
                for fault in ((trial.result or {}).get("quality") or {}).get("sensor_faults", []):
                    sensor[str(fault)] += 1
        counts = ", ".join(f"{kind} {n}" for kind, n in sorted(kinds.items())) or "none"
        data = {
            "days": RECENT_DAYS,
            "events": dict(kinds),
            "sensor_faults": dict(sensor),
            "last_faults": [f"{e['at']} {e['kind']}: {e['message']}" for e in faulty[-3:]],
        }
        found = f"last {RECENT_DAYS} days: device events {counts}"
        if sensor:
            found += "; trials with sensor faults: " + ", ".join(
                f"{fault} {n}" for fault, n in sensor.most_common()
            )
        if faulty:
            found += "; the last: " + " | ".join(data["last_faults"])
        if faulty or sensor:
            yield Finding(
                "recent events",
                WARNING,
                found,
                "the board's reader or a corner had faults: check the cables and connectors "
                "(hardware/wiring.md), then stop the app and run the doctor to listen to each "
                "corner",
                data,
            )
        else:
            yield Finding("recent events", OK, found, data=data)

    def check_app_log(self) -> Iterator[Finding]:
        if unreadable := self.folder_unreadable("app log"):
            yield unreadable
            return
        folder, _ = self.data_folder
        path = folder / LOG_FILE
        if not path.exists():
            yield Finding("app log", OK, f"no {LOG_FILE} (nothing logged)", data={"errors": 0})
            return
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - LOG_TAIL_BYTES))
            text = f.read().decode("utf-8", "replace")
        since = (datetime.now() - timedelta(days=RECENT_DAYS)).strftime("%Y-%m-%d")
        errors = [
            line
            for line in text.splitlines()
            if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (ERROR|CRITICAL) ", line)
            and line[:10] >= since
        ]
        data = {
            "path": str(path),
            "errors": len(errors),
            "last_error": errors[-1] if errors else None,
        }
        if errors:
            yield Finding(
                "app log",
                WARNING,
                f"{len(errors)} error(s) in the last {RECENT_DAYS} days in {path}; the last: "
                f"{errors[-1][:200]}",
                "send the log file to the developers (it holds no patient names)",
                data,
            )
        else:
            yield Finding(
                "app log", OK, f"no errors in the last {RECENT_DAYS} days ({path})", data=data
            )

    def check_service(self) -> Iterator[Finding]:
        unit = self.unit
        if unit is None:
            yield Finding(
                "kiosk service",
                WARNING if self.on_pi else OK,
                "not under systemd here (systemd is not running, or cannot be asked)",
                "on the device, the app runs as the systemd service balance-board"
                if self.on_pi
                else "",
                {"systemd": False},
            )
            return
        state = {k: unit.get(k, "") for k in ("LoadState", "ActiveState", "SubState", "Result")}
        restarts_text = unit.get("NRestarts", "")
        restarts = int(restarts_text) if restarts_text.isdigit() else 0  # older systemd: none
        data = {
            "systemd": True,
            **state,
            "NRestarts": restarts,
            "UnitFileState": unit.get("UnitFileState", ""),
        }
        found = (
            f"{UNIT}: {state['ActiveState']} ({state['SubState']}), result {state['Result']}, "
            f"{restarts} restart(s)"
            + (
                f", since {unit['ActiveEnterTimestamp']}"
                if unit.get("ActiveEnterTimestamp")
                else ""
            )
            + (f", {unit['UnitFileState']} at boot" if unit.get("UnitFileState") else "")
        )
        logs = "journalctl -u balance-board -b -n 50 shows why"
        if state["LoadState"] != "loaded":
            yield Finding(
                "kiosk service",
                WARNING,
                f"{UNIT} is not installed ({state['LoadState']})",
                "install the app with the installer (README, the Pi)",
                data,
            )
        elif state["ActiveState"] == "failed":
            yield Finding(
                "kiosk service",
                PROBLEM,
                found,
                f"the app stopped and systemd gave up: {logs}; start it again with sudo "
                "systemctl restart balance-board",
                data,
            )
        elif state["ActiveState"] != "active":
            yield Finding(
                "kiosk service",
                WARNING,
                found,
                f"the app is not running: sudo systemctl start balance-board ({logs})",
                data,
            )
        elif restarts or unit.get("UnitFileState") not in (None, "", "enabled"):
            yield Finding(
                "kiosk service",
                WARNING,
                found,
                f"restarted {restarts} time(s): {logs}"
                if restarts
                else "it does not start at boot: sudo systemctl enable balance-board",
                data,
            )
        else:
            yield Finding("kiosk service", OK, found, data=data)


# --- running it ---------------------------------------------------------------------------------
def examine(options: Options, system: System | None = None) -> list[Finding]:
    """Every finding, in the report's order. Never raises for a broken piece: a check that
    fails becomes a PROBLEM naming the check and the error, and the others still run."""
    doctor = Doctor(options, system or System())
    findings: list[Finding] = []
    try:
        for check in doctor.checks():
            topic = check.__name__.removeprefix("check_").replace("_", " ")
            try:
                findings.extend(check())
            except Exception as exc:  # one broken piece: said, and the others go on
                findings.append(
                    Finding(
                        topic,
                        PROBLEM,
                        f"could not be checked: {type(exc).__name__}: {exc}",
                        "report this line to the developers",
                    )
                )
    finally:
        doctor.close()
    return findings


def exit_status(findings: list[Finding]) -> int:
    """0 when no finding is a PROBLEM, else 1."""
    return EXIT_PROBLEM if any(f.status == PROBLEM for f in findings) else 0


def summary(findings: list[Finding]) -> str:
    counts = Counter(f.status for f in findings)
    return (
        f"{counts[PROBLEM]} problem(s), {counts[WARNING]} warning(s), {counts[OK]} OK: "
        f"exit status {exit_status(findings)}"
    )


def report_text(findings: list[Finding], width: int = 100) -> str:
    """The report for people: a line per finding (status, topic, what was found), and under a
    WARNING or PROBLEM what to do."""
    topic_width = max(len(f.topic) for f in findings) + 2 if findings else 10
    indent = " " * (9 + topic_width)
    lines = [
        f"balance-board doctor, {SystemClock().now_iso()}, as user {_user_name()}",
        "",
    ]
    for f in findings:
        head = f"{f.status:<9}{f.topic:<{topic_width}}"
        lines += _wrap(f.found, width, head, indent)
        if f.advice and f.status != OK:
            lines += _wrap(f"→ {f.advice}", width, indent, indent + "  ")
    lines += ["", summary(findings)]
    return "\n".join(lines)


def _wrap(text: str, width: int, first: str, rest: str) -> list[str]:
    # commands and file names stay whole: "balance-board" is never cut at its hyphen
    wrapped = textwrap.wrap(
        text, width, initial_indent=first, subsequent_indent=rest, break_on_hyphens=False
    )
    return wrapped or [first]


def report_json(findings: list[Finding]) -> str:
    """The report for machines: one JSON object."""
    worst = max((f.status for f in findings), key=SEVERITY.__getitem__, default=OK)
    return json.dumps(
        {
            "format": "balance-board-doctor/1",
            "checked_at": SystemClock().now_iso(),
            "user": _user_name(),
            "status": worst,
            "exit_status": exit_status(findings),
            "findings": [f.to_dict() for f in findings],
        },
        indent=1,
        default=str,
    )


# --- small helpers ------------------------------------------------------------------------------
def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _user_name() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except (KeyError, OSError):
        with contextlib.suppress(Exception):
            return getpass.getuser()
        return str(os.getuid())


def _owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _command() -> str:
    """How this program was started, to repeat in advice (its full path when it has one)."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "balance-board" and argv0.exists():
        return str(argv0.resolve())
    return "balance-board"


def _megabytes(mb: float) -> str:
    if mb >= 1000:
        return f"{mb / 1000:.1f} GB"
    return f"{mb:.1f} MB" if mb >= 1 else f"{mb * 1000:.0f} kB"


def _read_only_medium(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _gpios(numbers) -> str:
    """BCM GPIO numbers with their header pins, as a technician counts them: 'GPIO5 (pin 29)'."""
    return ", ".join(f"GPIO{n} (pin {HEADER_PINS.get(n, '?')})" for n in numbers)


def _per_corner(sck: tuple[int, ...]) -> tuple[int, ...]:
    return sck if len(sck) == 4 else sck * 4


@contextlib.contextmanager
def _lgpio_working_folder(environ: Mapping[str, str]) -> Iterator[None]:
    """lgpio makes its notification pipe in the working folder at import, which fails in a
    read-only one such as a service's ``/`` (../shared/notes/pi-appliance.md): while the
    reader process starts, ``LG_WD`` names a writable folder (the runtime folder, else the
    temporary one) unless it is set already."""
    if "LG_WD" in os.environ:
        yield
        return
    os.environ["LG_WD"] = environ.get("RUNTIME_DIRECTORY") or tempfile.gettempdir()
    try:
        yield
    finally:
        del os.environ["LG_WD"]


def _board_words(kind: str) -> str:
    return "simulated board" if kind == "sim" else "real board"


def _reader_advice(error: str, user: str) -> str:
    """What to do when the board's reader could not start, from its error."""
    text = error.lower()
    if ("lgpio" in text and "no module" in text) or "unable to load any default pin" in text:
        # gpiozero found no pin library it could start: on a Pi that is lgpio missing
        return "install python3-lgpio (Raspberry Pi OS) or run the installer again"
    if "busy" in text:
        return (
            "another program holds the pins (the app?): sudo systemctl stop balance-board, "
            "then run the doctor again"
        )
    if "permission" in text or "denied" in text:
        return f"the user needs the gpio group: sudo usermod -aG gpio {user}"
    if "lgd-nfy" in text or "filenotfound" in text:
        return "lgpio needs a writable working folder: set LG_WD=/tmp (the service sets it)"
    return "check the GPIO configuration and the pins in /etc/balance-board/board.toml"


def _records_advice(kind: str, user: str) -> tuple[str, str]:
    """(status, what to do) for a records file that would not open, by its trouble."""
    return {
        "damaged": (
            PROBLEM,
            "keep a copy of the file before anything else (the app leaves it as it is) and "
            "bring it to the technician; see docs/reliability.md",
        ),
        "foreign": (PROBLEM, "another program's file has this name: move it away"),
        "newer": (PROBLEM, "install the newer app that wrote it (an update was rolled back?)"),
        "outdated": (WARNING, "the app brings it up to date at its next start"),
        "locked": (WARNING, "another program held it for more than 5 s: run the doctor again"),
        "read-only": (
            PROBLEM,
            f"no permission, or a read-only disk: run the doctor as the service's user "
            f"(sudo -u {user} {_command()} doctor); a failing SD card is remounted read-only",
        ),
        "cannot-open": (
            PROBLEM,
            f"no permission: run the doctor as the service's user (sudo -u {user} "
            f"{_command()} doctor)",
        ),
    }.get(kind, (PROBLEM, "see docs/reliability.md"))


def _sdl_video_drivers() -> list[str] | None:
    """The video drivers built into the SDL that pygame loads (none is started: the running
    app holds the display), None when pygame cannot be loaded."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        import pygame  # noqa: F401  (loads its SDL)
    except Exception:
        return None
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            libraries = sorted(
                {line.split()[-1] for line in maps if re.search(r"/libSDL2[-.]", line)}
            )
        sdl = ctypes.CDLL(libraries[0])
    except (OSError, IndexError):
        return None
    sdl.SDL_GetVideoDriver.restype = ctypes.c_char_p
    sdl.SDL_GetVideoDriver.argtypes = [ctypes.c_int]
    return [sdl.SDL_GetVideoDriver(i).decode() for i in range(sdl.SDL_GetNumVideoDrivers())]


def _default_sound_card(asound_conf: str) -> str | None:
    """The card /etc/asound.conf makes the default (defaults.pcm.card N, or pcm.!default's
    card N), None when it chooses none."""
    match = re.search(r"defaults\.pcm\.card\s+(\S+)", asound_conf) or re.search(
        r"pcm\.!default[^}]*?\bcard\s+(\S+)", asound_conf, re.S
    )
    return match.group(1).strip("\"'") if match else None


def _time_zone(system: System) -> str:
    text = system.read("/etc/timezone")
    if text and text.strip():
        return text.strip()
    with contextlib.suppress(OSError):
        target = os.readlink(system.path("/etc/localtime"))
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    return time.strftime("%Z")
