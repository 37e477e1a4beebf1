"""Clocks, passed in wherever time matters, so that tests and the demo can drive time themselves.

Two kinds of reader need time:

* the driver (``device.hx711``) times its clock pulses and waits for conversions: ``Clock``
  (``now``, ``sleep``), implemented by ``MonotonicClock`` on the Pi and by the emulator's virtual
  clock in tests;
* the app, its screens and the patient's session need the time since something happened, the
  wall-clock time (for the PIN's rate limit, which must survive a restart) and the local date and
  time to stamp records with: ``AppClock`` (``monotonic``, ``wall_s``, ``now_iso``), implemented
  by ``SystemClock`` and, for tests and the demo, by ``ManualClock``, which moves only when told.

Example::

    clock = ManualClock("2026-11-23T10:00:00+01:00")
    clock.advance(2.5)
    clock.now_iso()        # '2026-11-23T10:00:02+01:00'
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Protocol


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


class SystemClock:
    """The real time: ``time.monotonic``, ``time.time`` and the local time zone."""

    def monotonic(self) -> float:
        return time.monotonic()

    def wall_s(self) -> float:
        return time.time()

    def now_iso(self) -> str:
        return datetime.now().astimezone().isoformat(timespec="seconds")


class ManualClock:
    """A clock that moves only when told (``advance``): tests and the demo drive it.

    :param start_iso: the local time it starts at, ISO 8601 with a UTC offset.
    :param monotonic_start_s: its monotonic reading at the start (frames of a simulated board
        read on this clock carry the same time base).
    """

    def __init__(self, start_iso: str, monotonic_start_s: float = 0.0) -> None:
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
