"""The simulated board as a source of frames: what the reader process opens instead of the Pi's
pins (``device.acquisition``), or what ``SimulatedLink`` reads in-process on a clock the caller
moves (``device.sim.link``).

Example::

    with Acquisition(SimulatedSource(realtime=True)) as board:
        board.command("lift_foot", side="left")     # steer the simulated person
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from device.geometry import BoardGeometry
from device.sim.board import SimulatedBoard
from device.sim.person import SimulatedPerson


@dataclass(frozen=True)
class SimulatedSource:
    """A simulated person on a simulated board (see ``device.sim.board``), read by the real driver.

    :param geometry: the board's geometry (cell spacing, foot marks).
    :param mass_kg: the person's body mass (kg).
    :param stance_width_mm: distance between the feet's centres (mm); None: the foot marks'.
    :param sway: scale of natural sway (1 = typical older adult; 2-3 after a stroke).
    :param seed: the person's random seed.
    :param on_board: whether the person starts on the board.
    :param realtime: pace the emulated chips to the wall clock (the app) instead of running as
        fast as possible (tests, the demo).
    :param script: (time_s, movement, {arguments}) for the person, from the start.
    :param faults: (corner, kind): unplugged, dout-stuck-low/-high, saturated, rate-low,
        not-sensing.
    :param board_seed: the board's own cells; the simulated calibration is for seed 0.
    :param batch_frames: frames per message to the app (the reader runs up to 40 ms ahead).
    :param start_time_s: the board clock's reading at the start; None: ``time.monotonic()``
        when paced (frames then carry monotonic time, like the real board's), else 0.
    """

    geometry: BoardGeometry = field(default_factory=BoardGeometry)
    mass_kg: float = 70.0
    stance_width_mm: float | None = None
    sway: float = 1.0
    seed: int = 0
    on_board: bool = True
    realtime: bool = True
    script: tuple = ()
    faults: tuple = ()
    board_seed: int = 0
    batch_frames: int = 2
    start_time_s: float | None = None

    def open(self):
        """(an HX711Array on the emulated pins, the SimulatedBoard that serves them)."""
        person = SimulatedPerson(
            self.mass_kg,
            self.stance_width_mm or self.geometry.stance_width_mm,
            self.geometry.feet_centre_y_mm,
            sway=self.sway,
            seed=self.seed,
            on_board=self.on_board,
        )
        start = self.start_time_s
        if start is None:
            start = time.monotonic() if self.realtime else 0.0
        board = SimulatedBoard(
            self.geometry,
            person,
            seed=self.board_seed,
            realtime=self.realtime,
            lgpio=True,  # the driver's Pi path: the app on a PC reads the board as the Pi does
            start_time=start,
        )
        for corner, kind in self.faults:
            board.inject_fault(corner, kind)
        for t, name, kwargs in self.script:
            person.schedule(board.clock.now() + t, name, **kwargs)
        return board.open_cells(), board
