"""The simulated board read in this process, on a clock the caller moves: what tests and the
demo give the app instead of the reader process, so that no test waits for the wall clock.

It offers what the app uses of ``device.acquisition.Acquisition`` (``frames``, ``read``,
``command``, ``failed``, ``last_error``, ``events``, ``close``) and the same data path: the real
driver reads the emulated pins of a ``SimulatedBoard``. Each call to ``frames`` reads the driver
until the board's virtual time has caught up with the caller's clock.

Example::

    clock = ManualClock("2026-11-23T10:00:00+01:00")
    link = SimulatedLink(SimulatedSource(), clock)
    clock.advance(0.5)
    frames = link.frames()          # about 40 frames, 0.5 s of board time
"""

from __future__ import annotations

from dataclasses import replace

from device.samples import Frame
from device.sim.source import SimulatedSource


class SimulatedLink:
    """A simulated board in this process, kept level with ``clock`` (an ``AppClock``)."""

    def __init__(self, source: SimulatedSource, clock) -> None:
        self.source = replace(source, realtime=False, start_time_s=clock.monotonic())
        self._clock = clock
        self.cells, self.board = self.source.open()
        self.failed = False
        self.last_error: str | None = None
        self.events: list = []
        self._backlog: list[Frame] = []

    def frames(self, timeout: float = 0.0) -> list[Frame]:
        """Every frame the board has made up to the clock's time (``timeout`` is not waited:
        time moves only with the clock)."""
        out = self._backlog
        self._backlog = []
        board_clock = self.board.clock
        target = self._clock.monotonic()
        while board_clock.now() < target:
            out.append(self.cells.read(timeout=0.2))
        return out

    def read(self, timeout: float = 1.0) -> Frame | None:
        """The next frame, moving the board (not the caller's clock) on as far as it takes."""
        if not self._backlog:
            self._backlog.append(self.cells.read(timeout=min(timeout, 0.2)))
        return self._backlog.pop(0)

    def command(self, name: str, **kwargs) -> None:
        """Steer the simulated person, unplug a corner, place a weight (as the reader process
        does with the same commands)."""
        self.board.apply(name, kwargs)

    def close(self) -> None:
        self.cells.close()
        self.board.close()
