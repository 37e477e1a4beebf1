"""Acquisition in its own process: the driver reads the chips, frames come back over a pipe.

Why a process: bit-banging the HX711 from Python fails when something holds the clock line high
for more than 60 µs, and in the UI's process the garbage collector, pygame and other threads do
exactly that (a CPU-bound thread stretched high phases to 5 ms; ../shared/notes/hx711.md). The
reader process does nothing else, keeps the garbage collector out of its loop, and sends every
frame with its data-ready timestamp.

The process is supervised: if it dies it is restarted, and each restart is reported as an
``AcquisitionEvent`` for the device log. After ``max_restarts`` in a minute it pauses (``failed``
is true meanwhile: the screen says the board is not answering) and tries again after a wait that
doubles each time, up to five minutes: it never gives up for good, so a board that comes back
(a loose connector pushed in) is read again without a reboot.

Example::

    with Acquisition(HardwareSource()) as board:
        for frame in board.frames(timeout=0.1):
            print(frame.t, frame.raw, frame.faults)

The simulated board (``device.sim.source.SimulatedSource``) is another source; to it the link
also passes commands (``board.command("lean", x_mm=40)``) that steer the simulated person.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing as mp
import os
import time
import traceback
from collections import deque
from dataclasses import dataclass

from device.config import DEFAULT_PINS, PinMap
from device.hx711 import HX711Array
from device.samples import Frame


@dataclass(frozen=True)
class HardwareSource:
    """The real board: four HX711s on the Pi's GPIO (``device.config.PinMap``)."""

    pins: PinMap = DEFAULT_PINS

    def open(self):
        cells = HX711Array(dout=self.pins.dout, sck=self.pins.sck, rate_sps=self.pins.rate_sps)
        return cells, None


def _apply(board, name: str, kwargs: dict) -> None:
    """A command from the consumer, for the simulated board (or its person)."""
    if board is None:
        raise ValueError("commands other than stop are for the simulated board only")
    board.apply(name, kwargs)


def _reader_main(source, conn) -> None:
    """The child process: read frames until told to stop."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, -10)  # allowed when systemd grants it; else ignored
    except (OSError, AttributeError):
        pass
    try:
        cells, board = source.open()
    except Exception as exc:  # report the reason (no pins, no lgpio ...) and end
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    gc.collect()
    gc.freeze()  # what exists now is never scanned again
    gc.disable()  # and no collection can land inside a clock pulse
    last_collect = time.monotonic()
    # Frames go to the app in small batches where that costs no latency: the simulated board runs
    # ahead of the wall clock anyway, and a message fewer is two system calls fewer on each side.
    batch = getattr(source, "batch_frames", 1)
    pending: list = []
    try:
        while True:
            while conn.poll():
                message = conn.recv()
                if message[0] == "stop":
                    return
                try:
                    _apply(board, message[1], message[2])
                except Exception as exc:
                    conn.send(("error", f"command {message[1]!r} failed: {exc}"))
            pending.append(cells.read(timeout=0.2))
            if len(pending) >= batch:
                conn.send(("frames", pending))
                pending = []
            if time.monotonic() - last_collect > 5.0:
                gc.collect()  # between frames, when no pulse is in flight
                last_collect = time.monotonic()
    except (BrokenPipeError, EOFError, KeyboardInterrupt):
        return
    except Exception:
        with contextlib.suppress(OSError):
            conn.send(("error", traceback.format_exc(limit=3)))
        raise
    finally:
        cells.close()


@dataclass(frozen=True)
class AcquisitionEvent:
    """Something the device log should keep: the reader died, was restarted, or gave up."""

    t: float
    kind: str  # "restarted", "paused" (too many restarts: waiting), "error"
    message: str


class Acquisition:
    """Supervises the reader process and hands its frames to the consumer.

    :param source: what the reader opens: ``HardwareSource`` (the Pi's pins) or the simulated
        board (``device.sim.source.SimulatedSource``); it must pickle (the process is spawned).
    :param max_restarts: restarts allowed in a minute before the link pauses (``failed``).
    :param pause_s: the first pause after that (s); each further one is twice as long, up to
        ``max_pause_s``.
    :param context: the multiprocessing start method ("spawn": a clean process, no inherited
        threads or pygame state).
    """

    def __init__(
        self,
        source,
        *,
        max_restarts: int = 5,
        pause_s: float = 10.0,
        max_pause_s: float = 300.0,
        context: str = "spawn",
    ) -> None:
        self.source = source
        self.max_restarts = max_restarts
        self.pause_s = pause_s
        self.max_pause_s = max_pause_s
        self._next_pause_s = pause_s
        self._retry_at: float | None = None
        self._ctx = mp.get_context(context)
        self._process = None
        self._conn = None
        self._restarts: deque[float] = deque()
        self.events: list[AcquisitionEvent] = []
        self.failed = False
        self.last_error: str | None = None
        self._backlog: deque[Frame] = deque()

    def __enter__(self) -> Acquisition:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        parent, child = self._ctx.Pipe()
        self._process = self._ctx.Process(
            target=_reader_main, args=(self.source, child), name="balance-board-reader", daemon=True
        )
        self._process.start()
        child.close()
        self._conn = parent

    @property
    def pid(self) -> int | None:
        """The reader process's id (None before ``start``)."""
        return None if self._process is None else self._process.pid

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    def command(self, name: str, **kwargs) -> None:
        """Send a command to the simulated board (movements, unplug/plug_in a corner)."""
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send(("command", name, kwargs))

    def frames(self, timeout: float = 0.0) -> list[Frame]:
        """Every frame that has arrived (waiting up to ``timeout`` s for the first)."""
        out: list[Frame] = []
        if self.failed:
            self._retry_if_due()
        if self._conn is None:
            return out
        try:
            if self._conn.poll(timeout):
                while self._conn.poll():
                    kind, payload = self._conn.recv()
                    if kind == "frames":
                        out.extend(payload)
                    else:
                        self.last_error = payload
                        self.events.append(AcquisitionEvent(time.monotonic(), "error", payload))
        except (EOFError, OSError):
            pass
        if not out and not self.alive:
            self._supervise()
        return out

    def read(self, timeout: float = 1.0) -> Frame | None:
        """One frame (the oldest waiting), or None after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not self._backlog:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self._backlog.extend(self.frames(timeout=min(remaining, 0.1)))
        return self._backlog.popleft()

    def _supervise(self) -> None:
        if self.failed or self._process is None:
            return
        code = self._process.exitcode
        now = time.monotonic()
        while self._restarts and now - self._restarts[0] > 60:
            self._restarts.popleft()
        why = self.last_error or f"exit code {code}"
        self._conn.close()
        if len(self._restarts) >= self.max_restarts:
            # failing again and again: pause, then try again (never for good)
            self.failed = True
            self._retry_at = now + self._next_pause_s
            self.events.append(
                AcquisitionEvent(
                    now,
                    "paused",
                    f"reader failed {len(self._restarts) + 1} times in a minute ({why}); "
                    f"next try in {self._next_pause_s:.0f} s",
                )
            )
            self._next_pause_s = min(self.max_pause_s, 2 * self._next_pause_s)
            return
        self._restarts.append(now)
        self.events.append(AcquisitionEvent(now, "restarted", f"reader restarted after {why}"))
        self.start()

    def _retry_if_due(self) -> None:
        """After a pause: start the reader again (it counts as a fresh start: a board that
        came back stays up; one still failing pauses again, for longer)."""
        now = time.monotonic()
        if self._retry_at is None or now < self._retry_at:
            return
        self.failed = False
        self._retry_at = None
        self._restarts.clear()
        self.last_error = None
        self.events.append(AcquisitionEvent(now, "restarted", "reader started again after a pause"))
        self.start()

    @property
    def retry_in_s(self) -> float | None:
        """While paused: seconds until the next try."""
        if not self.failed or self._retry_at is None:
            return None
        return max(0.0, self._retry_at - time.monotonic())

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.send(("stop",))
        if self._process is not None:
            self._process.join(timeout=2)
            if self._process.is_alive():
                self._process.kill()
                self._process.join(timeout=2)
        if self._conn is not None:
            self._conn.close()
        self._process = None
        self._conn = None
