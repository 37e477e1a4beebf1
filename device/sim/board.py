"""A simulated board: four load cells under a simulated person, read through emulated HX711s.

The PC stand-in for the hardware. A person (``device.sim.person``) and any objects make point
loads on the board; the board shares them between its four corners; each corner's load cell turns
kilograms into counts (its own sensitivity and offset); the HX711 emulator
(``device.sim.emulator``) adds datasheet noise and serves the counts bit by bit on gpiozero mock
pins to the real driver (``device.hx711``). Demo, tests and the Pi share one path.

Example::

    board = SimulatedBoard(person=SimulatedPerson(mass_kg=72), seed=3)
    board.person.schedule(2.0, "lift_foot", side="left")
    cells = board.open_cells()          # a real HX711Array on the emulated pins
    frame = cells.read()
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from device.calibration import Calibration, CalibrationProcedure
from device.config import DEFAULT_PINS
from device.cop import corner_split
from device.geometry import BoardGeometry
from device.hx711 import HX711Array
from device.sim.emulator import EmulatorFactory, VirtualClock
from device.sim.person import SimulatedPerson

# A 100 kg, 2 mV/V bar cell read at gain 128: counts per kg = 2e-3 / 100 · 128 · 2^24
NOMINAL_COUNTS_PER_KG = 2e-3 / 100 * 128 * 2**24


@dataclass
class LoadCellModel:
    """One corner's cell: counts = offset_counts + counts_per_kg · load."""

    counts_per_kg: float
    offset_counts: float


@dataclass
class SimulatedBoard:
    """The board: four cells at the corners, a person and any objects on it, four HX711s.

    :param gain_error: each cell's sensitivity is nominal × (1 ± up to this).
    :param offset_counts_spread: each cell's zero offset is uniform within ± this many counts.
    :param board_top_kg: the top plate's own weight, shared by the cells (part of the tare).
    """

    geometry: BoardGeometry = field(default_factory=BoardGeometry)
    person: SimulatedPerson | None = None
    seed: int = 0
    gain_error: float = 0.05
    offset_counts_spread: float = 200_000.0
    board_top_kg: float = 3.0
    realtime: bool = False
    start_time: float = 0.0  # the clock's reading at the start (monotonic time for the app)
    oscillator_spread: float = 0.01
    dout: tuple[int, ...] = DEFAULT_PINS.dout
    sck: tuple[int, ...] = DEFAULT_PINS.sck
    lgpio: bool = False  # the driver's Pi fast path (lgpio calls) instead of gpiozero pins

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self.cells = [
            LoadCellModel(
                NOMINAL_COUNTS_PER_KG * (1 + rng.uniform(-self.gain_error, self.gain_error)),
                rng.uniform(-self.offset_counts_spread, self.offset_counts_spread),
            )
            for _ in range(4)
        ]
        self.objects: list[tuple[float, float, float]] = []
        # corners whose cell stopped sensing load: the load it is stuck at (kg)
        self.not_sensing: dict[int, float] = {}
        clock = VirtualClock(self.start_time, realtime=self.realtime)
        self.factory = EmulatorFactory(clock=clock, seed=rng.getrandbits(32), lgpio=self.lgpio)
        self._cache_t = math.nan
        self._cache = np.zeros(4)
        self.chips = self.factory.add_hx711_array(
            inputs=[self._input(i) for i in range(4)],
            dout=self.dout,
            sck=self.sck,
            oscillator_spread=self.oscillator_spread,
        )

    @property
    def clock(self):
        return self.factory.virtual_clock

    def open_cells(self, **kwargs) -> HX711Array:
        """The real driver on this board's emulated pins."""
        return HX711Array(dout=self.dout, sck=self.sck, pin_factory=self.factory, **kwargs)

    def place(self, kg: float, x_mm: float, y_mm: float) -> tuple[float, float, float]:
        """Put an object on the board (a calibration weight, a test load); returns its handle."""
        item = (float(kg), float(x_mm), float(y_mm))
        self.objects.append(item)
        self._cache_t = math.nan
        return item

    def remove(self, item=None) -> None:
        """Take one object (or all of them) off the board."""
        if item is None:
            self.objects.clear()
        else:
            self.objects.remove(item)
        self._cache_t = math.nan

    def corner_loads_kg(self, t: float) -> np.ndarray:
        """True load on each corner at time ``t`` (kg), corner order FL, FR, BL, BR."""
        if t == self._cache_t:
            return self._cache
        g = self.geometry
        points = [(self.board_top_kg, 0.0, 0.0), *self.objects]
        if self.person is not None:
            points += self.person.point_loads(t)
        # each point load split onto the corners, summed; plain numbers here because this runs
        # for every conversion and numpy's overhead would dominate
        fl = fr = bl = br = 0.0
        for kg, x, y in points:
            a, b, c, d = corner_split(kg, x, y, g.width_mm, g.depth_mm)
            fl, fr, bl, br = fl + a, fr + b, bl + c, br + d
        self._cache = np.array([fl, fr, bl, br])
        self._cache_t = t
        return self._cache

    def _input(self, corner: int) -> Callable[[float], float]:
        cell = self.cells[corner]

        def counts(t: float) -> float:
            frozen = self.not_sensing.get(corner)
            kg = self.corner_loads_kg(t)[corner] if frozen is None else frozen
            return cell.offset_counts + cell.counts_per_kg * kg

        return counts

    # --- faults, by corner (0-3 in corner order) ---------------------------------------------
    def inject_fault(self, corner: int, kind: str) -> None:
        """unplugged, dout-stuck-low, dout-stuck-high, saturated, rate-low, not-sensing (a
        broken bridge wire: the amplifier converts on, its noise varies, the load no longer
        reaches it); "none" clears."""
        chip = self.chips[corner]
        if kind == "not-sensing":
            self.not_sensing[corner] = 0.0
        elif kind == "unplugged":
            chip.unplug()
        elif kind in ("dout-stuck-low", "dout-stuck-high"):
            chip.dout_stuck = kind.rsplit("-", 1)[1]
            chip.refresh_dout()
        elif kind == "saturated":
            chip.saturate = "high"
        elif kind == "rate-low":
            chip.rate_sps = 10
        elif kind == "none":
            self.not_sensing.pop(corner, None)
            chip.plug_in()
            chip.dout_stuck = chip.saturate = None
            chip.rate_sps = 80
            chip.refresh_dout()
        else:
            raise ValueError(f"unknown fault {kind!r}")

    def apply(self, name: str, kwargs: dict) -> None:
        """A command from whoever reads the board (the app, a test): a corner unplugged or
        plugged in, an object placed or removed, or a movement of the person."""
        if name == "unplug":
            self.unplug(kwargs["corner"])
        elif name == "plug_in":
            self.plug_in(kwargs["corner"])
        elif name == "fault":
            self.inject_fault(kwargs["corner"], kwargs["kind"])
        elif name == "place":
            self.place(kwargs["kg"], kwargs["x_mm"], kwargs["y_mm"])
        elif name == "remove_objects":
            self.remove()
        elif self.person is not None:
            self.person.command(name, **kwargs)
        else:
            raise ValueError(f"no person on the simulated board to {name}")

    def unplug(self, corner: int) -> None:
        self.chips[corner].unplug()

    def plug_in(self, corner: int) -> None:
        self.chips[corner].plug_in()

    def close(self) -> None:
        self.factory.close()


def calibrate_simulated_board(
    board: SimulatedBoard,
    cells: HX711Array,
    *,
    known_weight_kg: float = 5.0,
    now_iso: str = "2026-01-01T00:00:00+00:00",
    placement_error_mm: float = 2.0,
    max_s: float = 120.0,
):
    """Play the helper who follows the calibration prompts on a simulated board.

    Puts the known weight on each requested mark (within ``placement_error_mm``: on its peg), waits,
    takes it off: the same ``CalibrationProcedure`` a person follows. Returns its final state.
    """
    rng = random.Random(board.seed + 1)
    procedure = CalibrationProcedure(known_weight_kg, now_iso, geometry=board.geometry)
    marks = board.geometry.weight_marks_mm
    weight = None
    clock = board.clock
    start = clock.now()
    state = procedure.state()
    while not state.done:
        if clock.now() - start > max_s:
            raise RuntimeError(f"calibration did not finish: {state.prompt} {state.problem or ''}")
        wanted = state.corner if state.step == "place" else None
        current = weight[1] if weight else None
        if (state.step in ("clear", "remove") and weight is not None) or wanted != current:
            if weight is not None:
                board.remove(weight[0])
                weight = None
            if wanted is not None:
                x, y = marks[wanted]
                jitter = [rng.uniform(-placement_error_mm, placement_error_mm) for _ in "xy"]
                weight = (board.place(known_weight_kg, x + jitter[0], y + jitter[1]), wanted)
        state = procedure.feed(cells.read())
    return state


def calibrate_simulated(
    geometry: BoardGeometry, now_iso: str, *, known_weight_kg: float = 5.0, seed: int = 0
) -> Calibration:
    """The calibration of the simulated board (of this ``seed``), made the documented way: the
    known weight on each mark in turn, read by the real driver on the emulated pins."""
    board = SimulatedBoard(geometry, None, seed=seed)
    try:
        cells = board.open_cells()
        try:
            state = calibrate_simulated_board(
                board, cells, known_weight_kg=known_weight_kg, now_iso=now_iso
            )
        finally:
            cells.close()
    finally:
        board.close()
    return state.calibration
