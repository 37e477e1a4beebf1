"""A simulated person standing on the board: body, stance, natural sway and movements.

Part of the PC stand-in for the hardware (``device.sim``): the person makes point loads (each
foot, a hand on a chair) that the simulated board (``device.sim.board``) shares between its
corners. Movements are commands, given live (``person.command("lean", x_mm=40)``) or scripted
ahead (``person.schedule(5.0, "lift_foot", side="left")``); every change is a smooth minimum-jerk
transition, the way people move (Flash & Hogan 1985). Commands:

    step_on, step_off, lean (x_mm, y_mm), centre,
    heel_raise (height, side), toe_raise (height, side), lower,
    lift_foot (side), foot_down (side, on="board"|"floor"), step_to_floor (side),
    hand_on_chair (kg), hand_off, sit, stand_up, place_feet (stance, front), move_foot

Besides what healthy people do, it behaves as people after a stroke do (../shared/notes/
stroke-balance.md): it stands with more weight on the unaffected leg (``lean``), rises on the
unaffected leg alone (``heel_raise(side=...)``, the weight shifted onto that foot), holds a chair
that carries part of its weight (``hand_on_chair``), stumbles with one foot to the floor
(``step_to_floor``), steps off and back on, sits down and stands up with the feet on the board
(``sit``, ``stand_up``: the board then carries only the feet's share), and stands in tandem or
semi-tandem (``place_feet``).

Example::

    person = SimulatedPerson(mass_kg=72, seed=3)
    person.schedule(2.0, "lift_foot", side="left")
    person.point_loads(3.0)      # [(kg, x_mm, y_mm)] of the right foot alone
"""

from __future__ import annotations

import math
import random


def smoothstep(u: float) -> float:
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
        s = smoothstep((t - self.t0) / self.duration)
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
    """A person who can stand, sway, lean, rise on toes or heels, lift a foot, hold a chair,
    stumble, sit and stand up, and stand in tandem.

    :param mass_kg: body mass.
    :param stance_width_mm: distance between the feet's centres (the board's foot marks).
    :param feet_y_mm: front-back position of the feet's centres.
    :param sway: scale of natural sway (1 = typical older adult; 2-3 after a stroke).
    :param seed: the random seed of the sway.
    :param on_board: whether the person starts on the board.
    """

    SEATED_SHARE = 0.2  # seated with the feet on the board, the board carries about this much
    RISE_FORWARD_MM = 45.0  # the CoP moves forward during the rise (momentum transfer)
    HEEL_RAISE_MM = 60.0  # CoP forward to the forefoot, ~6 cm
    TOE_RAISE_MM = 45.0  # CoP back onto the heels

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
        # the body's vertical accelerations: the board's load wobbles by about 0.25 % of body
        # weight standing still on firm ground (SD of the total load over the public trials:
        # median 0.24 %, 0.18 % for the older subject; up to about 1 % on foam with eyes
        # closed), more on one leg (fast, 0.1 s, unlike the sway)
        self._bounce = _Sway(0.0025, random.Random(rng.getrandbits(64)), 0.3, 0.05)
        self.presence = _Smooth(1.0 if on_board else 0.0)
        self.lean_x = _Smooth(0.0)
        self.lean_y = _Smooth(0.0)
        self.raise_y = {"left": _Smooth(0.0), "right": _Smooth(0.0)}
        self.raise_shift = _Smooth(0.0)  # share of weight moved onto a foot raising alone
        self.foot_down = {"left": _Smooth(1.0), "right": _Smooth(1.0)}
        self.foot_floor = {"left": _Smooth(0.0), "right": _Smooth(0.0)}
        half = stance_width_mm / 2
        self.foot_x = {"left": _Smooth(-half), "right": _Smooth(half)}
        self.foot_y = {"left": _Smooth(feet_y_mm), "right": _Smooth(feet_y_mm)}
        self.hand_kg = _Smooth(0.0)
        self.seated = _Smooth(0.0)
        self._rise: tuple[float, float] | None = None  # (start, duration) of a rise or a sit
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

    def _raise(self, t, mm, side, shift, duration):
        sides = ("left", "right") if side in (None, "both") else (side,)
        for s in ("left", "right"):
            self.raise_y[s].to(t, mm if s in sides else 0.0, duration)
        if len(sides) == 1:  # one foot does it all: the weight goes onto it
            self.raise_shift.to(t, shift if side == "right" else -shift, duration)

    def _do_heel_raise(self, t, height=1.0, duration=0.6, side=None, shift=0.35):
        self._raise(t, self.HEEL_RAISE_MM * height, side, shift, duration)

    def _do_toe_raise(self, t, height=1.0, duration=0.6, side=None, shift=0.35):
        self._raise(t, -self.TOE_RAISE_MM * height, side, shift, duration)

    def _do_lower(self, t, duration=0.6):
        for s in ("left", "right"):
            self.raise_y[s].to(t, 0.0, duration)
        self.raise_shift.to(t, 0.0, duration)

    def _do_lift_foot(self, t, side="left", duration=0.6):
        other = "right" if side == "left" else "left"
        self.foot_down[side].to(t, 0.0, duration)
        self.foot_floor[side].to(t, 0.0, duration)
        self.foot_down[other].to(t, 1.0, 0.2)

    def _do_foot_down(self, t, side="left", on="board", duration=0.25):
        if on == "board":
            self.foot_down[side].to(t, 1.0, duration)
            self.foot_floor[side].to(t, 0.0, duration)
        elif on == "floor":
            self.foot_floor[side].to(t, 1.0, duration)
        else:
            raise ValueError("on must be 'board' or 'floor'")

    def _do_step_to_floor(self, t, side="left", duration=0.15):
        """A stumble: the foot leaves the board and lands on the floor beside it, quickly."""
        self.foot_down[side].to(t, 0.0, duration)
        self.foot_floor[side].to(t, 1.0, duration)

    def _do_hand_on_chair(self, t, kg=10.0, duration=0.3):
        self.hand_kg.to(t, kg, duration)

    def _do_hand_off(self, t, duration=0.3):
        self.hand_kg.to(t, 0.0, duration)

    def _do_sit(self, t, duration=1.5):
        """Sit down on a chair behind the board, the feet staying on it."""
        if self.seated.at(t) < 0.5:
            self._rise = (t, duration)
        self.seated.to(t, 1.0, duration)

    def _do_stand_up(self, t, duration=1.2):
        """Stand up from the chair (the trunk leans forward, the CoP moves toward the toes)."""
        if self.seated.at(t) >= 0.5:  # standing already: nothing to do
            self._rise = (t, duration)
        self.seated.to(t, 0.0, duration)

    def _do_move_foot(self, t, side="left", x_mm=0.0, y_mm=0.0, duration=0.4):
        """Move a foot to (x, y) on the board (lift it first: a loaded foot does not slide)."""
        self.foot_x[side].to(t, x_mm, duration)
        self.foot_y[side].to(t, y_mm, duration)

    def _do_place_feet(self, t, stance="side-by-side", front="left", duration=0.8):
        """Step into a stance, one foot at a time (each lifted, moved, put down, as people
        do): the feet side by side on the marks, in semi-tandem (the heel of one foot beside
        the big toe of the other) or in tandem (one foot in front of the other)."""
        half, length = self.stance_width_mm / 2, 130.0  # half a foot length between centres
        back = "right" if front == "left" else "left"
        if stance == "side-by-side":
            xs = {"left": -half, "right": half}
            ys = {"left": self.feet_y_mm, "right": self.feet_y_mm}
        elif stance in ("semi-tandem", "tandem"):
            gap = 50.0 if stance == "semi-tandem" else 0.0  # half a foot's width apart
            sign = -1 if front == "left" else 1
            reach = length if stance == "tandem" else length / 2
            xs = {front: sign * gap / 2, back: -sign * gap / 2}
            ys = {front: self.feet_y_mm + reach, back: self.feet_y_mm - reach}
        else:
            raise ValueError("stance must be side-by-side, semi-tandem or tandem")
        if all(
            abs(self.foot_x[s].at(t) - xs[s]) < 5 and abs(self.foot_y[s].at(t) - ys[s]) < 5
            for s in ("left", "right")
        ):
            return  # standing so already
        step = duration / 2
        for i, side in enumerate((front, back)):
            start = t + i * step
            self.schedule(start, "lift_foot", side=side, duration=step * 0.3)
            self.schedule(
                start + step * 0.3,
                "move_foot",
                side=side,
                x_mm=xs[side],
                y_mm=ys[side],
                duration=step * 0.4,
            )
            self.schedule(start + step * 0.7, "foot_down", side=side, duration=step * 0.3)

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
        seated = self.seated.at(t)
        one_leg_now = min(self.foot_down["left"].at(t), self.foot_down["right"].at(t)) < 0.5
        body *= 1 + self._bounce.at(t, self.sway * (2.0 if one_leg_now else 1.0))
        body *= 1 - (1 - self.SEATED_SHARE) * seated  # the chair carries the rest
        supported = max(0.0, body - min(self.hand_kg.at(t), 0.6 * body))
        avail = {
            s: min(1.0, self.foot_down[s].at(t) + self.foot_floor[s].at(t))
            for s in ["left", "right"]
        }
        fx = {s: self.foot_x[s].at(t) for s in ("left", "right")}
        fy = {s: self.foot_y[s].at(t) for s in ("left", "right")}
        apart = fx["right"] - fx["left"]
        one_leg = min(avail["left"], avail["right"]) < 0.5
        narrow = apart < 60.0  # tandem: the base is a foot wide; sway moves within it
        sway_scale = self.sway * (2.0 if one_leg or narrow else 1.0)
        sway_x = self._sway_x.at(t, sway_scale)
        sway_y = self._sway_y.at(t, sway_scale)
        lean_x = self.lean_x.at(t)
        # in tandem the feet share the weight front to back; side by side the lean (from the
        # middle between the feet) splits it
        right_share = 0.5 if narrow else 0.5 + lean_x / apart + self.raise_shift.at(t)
        right_share = min(1.0, max(0.0, right_share))
        share = {"left": avail["left"] * (1 - right_share), "right": avail["right"] * right_share}
        norm = share["left"] + share["right"]
        if norm <= 1e-9:  # no foot down at all: a hop; the body is in the air
            return []
        y_body = self.lean_y.at(t) + sway_y
        if self._rise is not None:  # the forward shift of a rise or a sit, at its middle
            start, duration = self._rise
            u = (t - start) / duration
            if 0 < u < 1:
                y_body += self.RISE_FORWARD_MM * math.sin(math.pi * u)
        loads = []
        for side in ("left", "right"):
            kg = supported * share[side] / norm
            down, floor = self.foot_down[side].at(t), self.foot_floor[side].at(t)
            on_board = kg * (down / (down + floor)) if down + floor > 1e-9 else 0.0
            if on_board > 0:
                # on one leg or in tandem the CoP moves about within the feet; on two feet
                # side by side the lean does it
                x = fx[side] + (sway_x if one_leg or narrow else 0.0)
                y = fy[side] + y_body + self.raise_y[side].at(t)
                loads.append((on_board, x, y))
        if not (one_leg or narrow) and len(loads) == 2:
            # sway with both feet down shifts load between the feet: apply it to the lean
            loads = _shift_x(loads, sway_x)
        return loads


def _shift_x(loads, dx):
    """Move the combined CoP of two foot loads by dx, keeping each at its foot (shift weight)."""
    total = sum(kg for kg, _, _ in loads)
    if len(loads) != 2 or total <= 0:
        return loads
    (kl, xl, yl), (kr, xr, yr) = loads
    x_now = (kl * xl + kr * xr) / total
    right = min(1.0, max(0.0, (x_now + dx - xl) / (xr - xl)))
    return [(total * (1 - right), xl, yl), (total * right, xr, yr)]
