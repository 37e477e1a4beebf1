"""A simulated person on a simulated board, feeding the real driver through emulated HX711s.

The PC stand-in for the hardware. A body (mass, stance, natural sway, movements) stands on the
board; its feet, hands and any objects make point loads; the board shares them between its four
corners; each corner's load cell turns kilograms into counts (its own sensitivity and offset);
the HX711 emulator (``device.emulator``) adds datasheet noise and serves the counts bit by bit on
gpiozero mock pins to the real driver (``device.hx711``). Demo, tests and the Pi share one path.

Movements are commands, given live (``person.command("lean", x_mm=40)``) or scripted ahead
(``person.schedule(5.0, "lift_foot", side="left")``); every change is a smooth minimum-jerk
transition, the way people move. Commands:

    step_on, step_off, lean (x_mm, y_mm), centre, heel_raise (height), toe_raise (height), lower,
    lift_foot (side), foot_down (side, on="board"|"floor"), hand_on_chair (kg), hand_off

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

from device.emulator import EmulatorFactory, VirtualClock
from device.geometry import BoardGeometry
from device.hx711 import HX711Array

DEFAULT_DOUT = (5, 6, 13, 19)
DEFAULT_SCK = (17, 27, 22, 23)

# A 100 kg, 2 mV/V bar cell read at gain 128: counts per kg = 2e-3 / 100 · 128 · 2^24
NOMINAL_COUNTS_PER_KG = 2e-3 / 100 * 128 * 2**24


def _smoothstep(u: float) -> float:
    """Minimum-jerk profile from 0 to 1 (Flash & Hogan 1985)."""
    if u <= 0:
        return 0.0
    if u >= 1:
        return 1.0
    return u * u * u * (10 - 15 * u + 6 * u * u)


class _Smooth:
    """A quantity moving smoothly from one value to another over a duration."""

    def __init__(self, value: float) -> None:
        self.start_value = self.end_value = value
        self.t0 = 0.0
        self.duration = 1e-9

    def to(self, t: float, value: float, duration: float) -> None:
        self.start_value = self.at(t)
        self.end_value = value
        self.t0 = t
        self.duration = max(duration, 1e-9)

    def at(self, t: float) -> float:
        s = _smoothstep((t - self.t0) / self.duration)
        return self.start_value + (self.end_value - self.start_value) * s


class _Sway:
    """Postural sway on one axis: an Ornstein-Uhlenbeck drift smoothed by a first-order lag.

    With the defaults the CoP has an SD of a few mm and a mean speed near 10 mm/s, like a healthy
    older adult standing quietly (../shared/notes/posturography.md).
    """

    STEP_S = 0.0025

    def __init__(self, sd_mm: float, rng: random.Random, tau_slow_s=1.5, tau_fast_s=0.2) -> None:
        self.sd_mm = sd_mm
        self.rng = rng
        self.tau_slow = tau_slow_s
        self.tau_fast = tau_fast_s
        self.u = rng.gauss(0, sd_mm)
        self.x = self.u
        self.t: float | None = None  # starts at the first time asked for

    def at(self, t: float, scale: float) -> float:
        if self.t is None:
            self.t = t
        dt = self.STEP_S
        kick = math.sqrt(2 * dt / self.tau_slow)
        while self.t + dt <= t:
            self.u += -self.u / self.tau_slow * dt + self.sd_mm * kick * self.rng.gauss(0, 1)
            self.x += (self.u - self.x) / self.tau_fast * dt
            self.t += dt
        return self.x * scale


class SimulatedPerson:
    """A person who can stand, sway, lean, rise on toes or heels, lift a foot, hold a chair.

    :param mass_kg: body mass.
    :param stance_width_mm: distance between the feet's centres (the board's foot marks).
    :param sway: scale of natural sway (1 = typical older adult; 2-3 after a stroke).
    :param on_board: whether the person starts on the board.
    """

    def __init__(
        self,
        mass_kg: float = 70.0,
        stance_width_mm: float = 200.0,
        feet_y_mm: float = 0.0,
        *,
        sway: float = 1.0,
        seed: int = 0,
        on_board: bool = True,
    ) -> None:
        self.mass_kg = mass_kg
        self.stance_width_mm = stance_width_mm
        self.feet_y_mm = feet_y_mm
        self.sway = sway
        rng = random.Random(seed)
        self._sway_x = _Sway(3.5, random.Random(rng.getrandbits(64)))
        self._sway_y = _Sway(5.0, random.Random(rng.getrandbits(64)))
        self.presence = _Smooth(1.0 if on_board else 0.0)
        self.lean_x = _Smooth(0.0)
        self.lean_y = _Smooth(0.0)
        self.raise_y = _Smooth(0.0)
        self.foot_down = {"left": _Smooth(1.0), "right": _Smooth(1.0)}
        self.foot_floor = {"left": _Smooth(0.0), "right": _Smooth(0.0)}
        self.hand_kg = _Smooth(0.0)
        self._pending: list[tuple[float, str, dict]] = []
        self._now = 0.0

    # --- commands -----------------------------------------------------------------------------
    def schedule(self, t: float, name: str, **kwargs) -> None:
        """Carry out command ``name`` at time ``t`` (seconds on the board's clock)."""
        if not hasattr(self, f"_do_{name}"):
            raise ValueError(f"unknown movement {name!r}")
        self._pending.append((t, name, kwargs))
        self._pending.sort(key=lambda item: item[0])

    def command(self, name: str, **kwargs) -> None:
        """Carry out ``name`` now (live steering)."""
        self.schedule(self._now, name, **kwargs)

    def _do_step_on(self, t, duration=1.2):
        self.presence.to(t, 1.0, duration)
        for side in ("left", "right"):
            self.foot_down[side].to(t, 1.0, 0.3)
            self.foot_floor[side].to(t, 0.0, 0.3)

    def _do_step_off(self, t, duration=1.0):
        self.presence.to(t, 0.0, duration)

    def _do_lean(self, t, x_mm=0.0, y_mm=0.0, duration=1.0):
        self.lean_x.to(t, x_mm, duration)
        self.lean_y.to(t, y_mm, duration)

    def _do_centre(self, t, duration=1.0):
        self._do_lean(t, 0.0, 0.0, duration)

    def _do_heel_raise(self, t, height=1.0, duration=0.6):
        self.raise_y.to(t, 60.0 * height, duration)  # CoP forward to the forefoot, ~6 cm

    def _do_toe_raise(self, t, height=1.0, duration=0.6):
        self.raise_y.to(t, -45.0 * height, duration)  # CoP back onto the heels

    def _do_lower(self, t, duration=0.6):
        self.raise_y.to(t, 0.0, duration)

    def _do_lift_foot(self, t, side="left", duration=0.6):
        other = "right" if side == "left" else "left"
        self.foot_down[side].to(t, 0.0, duration)
        self.foot_floor[side].to(t, 0.0, duration)
        self.foot_down[other].to(t, 1.0, 0.2)

    def _do_foot_down(self, t, side="left", on="board", duration=0.25):
        if on == "board":
            self.foot_down[side].to(t, 1.0, duration)
        elif on == "floor":
            self.foot_floor[side].to(t, 1.0, duration)
        else:
            raise ValueError("on must be 'board' or 'floor'")

    def _do_hand_on_chair(self, t, kg=10.0, duration=0.3):
        self.hand_kg.to(t, kg, duration)

    def _do_hand_off(self, t, duration=0.3):
        self.hand_kg.to(t, 0.0, duration)

    # --- loads --------------------------------------------------------------------------------
    def point_loads(self, t: float) -> list[tuple[float, float, float]]:
        """(kg, x_mm, y_mm) of each foot's load on the board at time ``t``."""
        while self._pending and self._pending[0][0] <= t:
            when, name, kwargs = self._pending.pop(0)
            getattr(self, f"_do_{name}")(when, **kwargs)
        self._now = t
        presence = self.presence.at(t)
        if presence <= 0:
            return []
        body = self.mass_kg * presence
        supported = max(0.0, body - min(self.hand_kg.at(t), 0.6 * body))
        avail = {
            s: min(1.0, self.foot_down[s].at(t) + self.foot_floor[s].at(t))
            for s in ["left", "right"]
        }
        half = self.stance_width_mm / 2
        lean_x = self.lean_x.at(t)
        one_leg = min(avail["left"], avail["right"]) < 0.5
        sway_scale = self.sway * (2.0 if one_leg else 1.0)
        sway_x = self._sway_x.at(t, sway_scale)
        sway_y = self._sway_y.at(t, sway_scale)
        right_share = min(1.0, max(0.0, (lean_x + half) / self.stance_width_mm))
        share = {"left": avail["left"] * (1 - right_share), "right": avail["right"] * right_share}
        norm = share["left"] + share["right"]
        if norm <= 1e-9:  # no foot down at all: a hop; the body is in the air
            return []
        y = self.feet_y_mm + self.lean_y.at(t) + self.raise_y.at(t) + sway_y
        loads = []
        for side, x_foot in (("left", -half), ("right", half)):
            kg = supported * share[side] / norm
            down, floor = self.foot_down[side].at(t), self.foot_floor[side].at(t)
            on_board = kg * (down / (down + floor)) if down + floor > 1e-9 else 0.0
            if on_board > 0:
                # on one leg the CoP moves about within the stance foot; on two the lean does it
                x = x_foot + (sway_x if one_leg else 0.0)
                loads.append((on_board, x, y))
        if not one_leg and loads:
            # sway with both feet down shifts load between the feet: apply it to the lean
            loads = _shift_x(loads, sway_x, half)
        return loads


def _shift_x(loads, dx, half):
    """Move the combined CoP of two foot loads by dx, keeping each at its foot (shift weight)."""
    total = sum(kg for kg, _, _ in loads)
    if len(loads) != 2 or total <= 0:
        return loads
    (kl, xl, yl), (kr, xr, yr) = loads
    x_now = (kl * xl + kr * xr) / total
    right = min(1.0, max(0.0, (x_now + dx - xl) / (xr - xl)))
    return [(total * (1 - right), xl, yl), (total * right, xr, yr)]


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
    dout: tuple[int, ...] = DEFAULT_DOUT
    sck: tuple[int, ...] = DEFAULT_SCK
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
        # the twist-free split of each point load (device.cop.corner_loads), summed; plain
        # Python here because it runs for every conversion and numpy's overhead dominates
        fl = fr = bl = br = 0.0
        for kg, x, y in points:
            u, v, q = 2 * x / g.width_mm, 2 * y / g.depth_mm, kg / 4
            fl += q * (1 - u + v)
            fr += q * (1 + u + v)
            bl += q * (1 - u - v)
            br += q * (1 + u - v)
        self._cache = np.array([fl, fr, bl, br])
        self._cache_t = t
        return self._cache

    def _input(self, corner: int) -> Callable[[float], float]:
        cell = self.cells[corner]

        def counts(t: float) -> float:
            return cell.offset_counts + cell.counts_per_kg * self.corner_loads_kg(t)[corner]

        return counts

    # --- faults, by corner (0-3 in corner order) ---------------------------------------------
    def inject_fault(self, corner: int, kind: str) -> None:
        """unplugged, dout-stuck-low, dout-stuck-high, saturated, rate-low; "none" clears."""
        chip = self.chips[corner]
        if kind == "unplugged":
            chip.unplug()
        elif kind in ("dout-stuck-low", "dout-stuck-high"):
            chip.dout_stuck = kind.rsplit("-", 1)[1]
            chip.refresh_dout()
        elif kind == "saturated":
            chip.saturate = "high"
        elif kind == "rate-low":
            chip.rate_sps = 10
        elif kind == "none":
            chip.plug_in()
            chip.dout_stuck = chip.saturate = None
            chip.rate_sps = 80
            chip.refresh_dout()
        else:
            raise ValueError(f"unknown fault {kind!r}")

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
    from device.calibration import CalibrationProcedure

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
