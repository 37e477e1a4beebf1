"""A simulated person standing on the board: body, stance, natural sway and movements.

Part of the PC stand-in for the hardware (``device.sim``): the person makes point loads (each
foot, a hand on a chair) that the simulated board (``device.sim.board``) shares between its
corners. Movements are commands, given live (``person.command("lean", x_mm=40)``) or scripted
ahead (``person.schedule(5.0, "lift_foot", side="left")``); every change is a smooth minimum-jerk
transition, the way people move (Flash & Hogan 1985). Commands:

    step_on, step_off, lean (x_mm, y_mm), centre, heel_raise (height), toe_raise (height), lower,
    lift_foot (side), foot_down (side, on="board"|"floor"), hand_on_chair (kg), hand_off

Example::

    person = SimulatedPerson(mass_kg=72, seed=3)
    person.schedule(2.0, "lift_foot", side="left")
    person.point_loads(3.0)      # [(kg, x_mm, y_mm)] of the right foot alone
"""

from __future__ import annotations

import math
import random


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
