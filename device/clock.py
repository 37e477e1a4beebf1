"""Clocks for the acquisition side: the real monotonic clock, and the interface the emulator's
virtual clock also implements, so the driver's timing logic is the same on a Pi and in tests."""

from __future__ import annotations

import time
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
