"""Clocks, passed in wherever time matters, so that tests and the demo can drive time themselves.

Two kinds of reader need time:

* the driver (``device.hx711``) times its clock pulses and waits for conversions: ``Clock``
  (``now``, ``sleep``), implemented by ``MonotonicClock`` on the Pi and by the emulator's virtual
  clock in tests;
* the app, its screens and the patient's session need the time since something happened, the
  wall-clock time (for the PIN's rate limit, which must survive a restart) and the local date and
  time to stamp records with: ``AppClock`` (``monotonic``, ``wall_s``, ``now_iso``), implemented
  by ``SystemClock`` and, for tests and the demo, by ``ManualClock``, which moves only when told.

Whether the wall clock can be trusted matters on a Pi: it has no battery-backed clock, so after a
power cut it starts from the time saved at the last shutdown until the network sets it.
``clock_synchronised`` asks the system (systemd-timesyncd's flag file, else the kernel's
``adjtimex`` status); each session records the answer, and results from an unsynchronised clock
are flagged.

Example::

    clock = ManualClock("2026-11-23T10:00:00+01:00")
    clock.advance(2.5)
    clock.now_iso()        # '2026-11-23T10:00:02+01:00'
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")  # systemd-timesyncd, since v239
TIME_ERROR = 5  # adjtimex's answer when the kernel's clock is not synchronised


class _Timex(ctypes.Structure):
    # struct timex (Linux): modes, then the fields up to status; the rest is padding, read-only
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("rest", ctypes.c_byte * 256),
    ]


def clock_synchronised(timesync_flag: Path = TIMESYNC_FLAG) -> bool | None:
    """Is the wall clock set from a time source? True or False when the system says, None when
    it cannot tell (not Linux, or the call is not allowed, as under systemd's ProtectClock).

    systemd-timesyncd keeps ``/run/systemd/timesync/synchronized`` while synchronised; without
    it, the kernel's NTP status (``adjtimex`` with no change asked: TIME_ERROR means not
    synchronised), which chrony and ntpd keep too."""
    if timesync_flag.parent.is_dir():
        return timesync_flag.exists()
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        state = libc.adjtimex(ctypes.byref(_Timex()))  # modes 0: read only
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return state != TIME_ERROR


class Clock(Protocol):
    """What the driver needs of time: a monotonic reading in seconds and a way to wait."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class MonotonicClock:
    """The real clock: ``time.monotonic`` (CLOCK_MONOTONIC, 1 ns resolution on Linux)."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class AppClock(Protocol):
    """What the app, the screens and the session need of time."""

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps (for durations)."""
        ...

    def wall_s(self) -> float:
        """Seconds since the epoch (for what must survive a restart)."""
        ...

    def now_iso(self) -> str:
        """The local date and time, ISO 8601 with its UTC offset, to the second."""
        ...

    def synchronised(self) -> bool | None:
        """Whether the wall clock is set from a time source (None: cannot tell)."""
        ...


class SystemClock:
    """The real time: ``time.monotonic``, ``time.time`` and the local time zone."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall_s(self) -> float:
        return time.time()

    def now_iso(self) -> str:
        return datetime.now().astimezone().isoformat(timespec="seconds")

    def synchronised(self) -> bool | None:
        return clock_synchronised()


class ManualClock:
    """A clock that moves only when told (``advance``): tests and the demo drive it.

    :param start_iso: the local time it starts at, ISO 8601 with a UTC offset.
    :param monotonic_start_s: its monotonic reading at the start (frames of a simulated board
        read on this clock carry the same time base).
    :param synchronised: what ``synchronised()`` answers (a test sets an unsynchronised clock).
    """

    def __init__(
        self, start_iso: str, monotonic_start_s: float = 0.0, synchronised: bool | None = True
    ) -> None:
        self.is_synchronised = synchronised
        self._start = datetime.fromisoformat(start_iso)
        if self._start.utcoffset() is None:
            raise ValueError("start_iso needs a UTC offset")
        self._t0 = monotonic_start_s
        self._elapsed = 0.0

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a monotonic clock never goes back")
        self._elapsed += seconds

    def set_time(self, iso: str) -> None:
        """Jump the wall clock to ``iso`` (the monotonic reading keeps running on)."""
        self._start = datetime.fromisoformat(iso) - timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._t0 + self._elapsed

    def wall_s(self) -> float:
        return (self._start + timedelta(seconds=self._elapsed)).timestamp()

    def now_iso(self) -> str:
        return (self._start + timedelta(seconds=self._elapsed)).isoformat(timespec="seconds")

    def synchronised(self) -> bool | None:
        return self.is_synchronised
