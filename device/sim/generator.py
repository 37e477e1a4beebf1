"""Exercise recordings with known answers, from the simulated person, for tests and tuning.

Each generator scripts a ``device.sim.person.SimulatedPerson`` (random but seeded: body mass, sway,
speed, hard cases such as slow or partial raises, wobbles, brief touch-downs, floor and hand
support), turns its foot loads into corner loads, adds load-cell noise and the board's timing
jitter, and returns the recording (format v1) with the truth: how many repetitions, touch-downs,
how long the holds were. The truth comes from the script, never from the detectors under test.

This path skips the pin-level emulator (it is tested on its own) so that hundreds of trials
generate in seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from device.cop import corner_loads
from device.geometry import BoardGeometry
from device.recording import Recording
from device.sim.person import SimulatedPerson

GEOMETRY = BoardGeometry()


@dataclass
class GeneratedTrial:
    recording: Recording
    truth: dict
    script: list = field(default_factory=list)


def render(
    person: SimulatedPerson,
    seconds: float,
    rng: random.Random,
    *,
    exercise: str,
    leg: str | None = None,
    noise_g: float | None = None,
) -> Recording:
    """Sample the person's loads like the board does: ~80/s with jitter, noisy cells."""
    rate = 80.0 * (1 + rng.uniform(-0.01, 0.01))
    n = int(seconds * rate)
    t = np.arange(n) / rate + np.array([rng.gauss(0, 0.0004) for _ in range(n)])
    t = np.maximum.accumulate(t)  # jitter never reverses time
    t -= t[0]
    g = GEOMETRY
    loads = np.zeros((n, 4))
    for i, ti in enumerate(t):
        points = person.point_loads(float(ti))
        if points:
            kg = np.array([p[0] for p in points])
            x = np.array([p[1] for p in points])
            y = np.array([p[2] for p in points])
            loads[i] = corner_loads(kg, x, y, g.width_mm, g.depth_mm).sum(axis=0)
    noise = (noise_g if noise_g is not None else rng.choice([1.0, 2.0, 5.0, 20.0])) / 1000
    loads += np.random.default_rng(rng.getrandbits(32)).normal(0, noise, loads.shape)
    return Recording(
        t,
        loads,
        g.width_mm,
        g.depth_mm,
        stance_width_mm=g.stance_width_mm,
        exercise=exercise,
        leg=leg,
        subject_mass_kg=person.mass_kg,
    )


def _person(rng: random.Random, sway: tuple[float, float]) -> SimulatedPerson:
    return SimulatedPerson(
        mass_kg=rng.choice([rng.uniform(45, 60), rng.uniform(60, 90), rng.uniform(90, 140)]),
        stance_width_mm=GEOMETRY.stance_width_mm,
        sway=rng.uniform(*sway),
        seed=rng.getrandbits(32),
    )


def flamingo(seed: int) -> GeneratedTrial:
    """Stand, lift a foot, hold with touch-downs (board taps, floor, hand on the chair), step
    down. Truth: first_hold_s, single_leg_time_s, touchdowns."""
    rng = random.Random(seed)
    person = _person(rng, (0.5, 1.5))
    leg = rng.choice(["left", "right"])
    lifted = "right" if leg == "left" else "left"
    t = rng.uniform(2.0, 4.0)
    lift = rng.uniform(0.4, 1.0)  # slow and quick lifts
    script = [(t, "lift_foot", {"side": lifted, "duration": lift})]
    start = t + lift / 2
    periods = []
    supports = rng.choice([0, 0, 1, 1, 2, 3, 4])
    for k in range(supports + 1):
        t = start + rng.uniform(2.0, 12.0)  # holding
        down = rng.uniform(0.15, 0.4)
        how = rng.choice(["board", "board", "floor", "hand"]) if k < supports else "board"
        if how == "hand":
            kg = person.mass_kg * rng.uniform(0.12, 0.3)
            script.append((t, "hand_on_chair", {"kg": kg, "duration": down}))
            periods.append((start, t + down / 2))
            t += down + rng.uniform(0.5, 2.0)  # leaning on the chair, foot still up
            script.append((t, "hand_off", {"duration": down}))
            start = t + down / 2
        else:
            script.append((t, "foot_down", {"side": lifted, "on": how, "duration": down}))
            periods.append((start, t + down / 2))
            if k == supports:
                break  # the final step down
            t += down + rng.uniform(0.2, 2.0)  # a brief tap, or a rest
            lift = rng.uniform(0.4, 1.0)
            script.append((t, "lift_foot", {"side": lifted, "duration": lift}))
            start = t + lift / 2
    t += 2.0
    for when, name, kwargs in script:
        person.schedule(when, name, **kwargs)
    recording = render(person, t, rng, exercise="flamingo", leg=leg)
    truth = {
        "leg": leg,
        "first_hold_s": periods[0][1] - periods[0][0],
        "single_leg_time_s": sum(b - a for a, b in periods),
        "touchdowns": supports,
    }
    return GeneratedTrial(recording, truth, script)


def raises(seed: int, kind: str = "heel") -> GeneratedTrial:
    """Repeated raises, some slow, some partial (still counted), with small wobbles between
    (never counted). Truth: reps."""
    rng = random.Random(seed)
    person = _person(rng, (0.5, 1.3))
    command = "heel_raise" if kind == "heel" else "toe_raise"
    t = rng.uniform(2.0, 3.0)
    reps = 0
    script = []
    for _ in range(rng.randint(4, 14)):
        if rng.random() < 0.2:  # a wobble of a few mm: a small, quick rise, not a repetition
            height = rng.uniform(0.04, 0.12)
            up = rng.uniform(0.3, 0.6)
        else:
            height = rng.uniform(0.6, 0.8) if rng.random() < 0.25 else rng.uniform(0.85, 1.2)
            up = rng.uniform(1.2, 2.5) if rng.random() < 0.25 else rng.uniform(0.4, 0.9)
            reps += 1
        script.append((t, command, {"height": height, "duration": up}))
        t += up + rng.uniform(0.0, 1.5)  # hold at the top
        script.append((t, "lower", {"duration": up}))
        t += up + rng.uniform(0.5, 1.5)
    t += 1.5
    for when, name, kwargs in script:
        person.schedule(when, name, **kwargs)
    recording = render(person, t, rng, exercise=f"{kind}-raises")
    return GeneratedTrial(recording, {"reps": reps}, script)


def weight_shift(seed: int) -> GeneratedTrial:
    """Side-to-side shifts of different sizes and speeds, with small wobbles (not shifts).
    Truth: shifts_left, shifts_right, max_left_mm, max_right_mm."""
    rng = random.Random(seed)
    person = _person(rng, (0.4, 1.0))
    t = rng.uniform(2.0, 3.0)
    counts = {"left": 0, "right": 0}
    peaks = {"left": 0.0, "right": 0.0}
    script = []
    for _ in range(rng.randint(3, 10)):
        side = rng.choice(["left", "right"])
        sign = -1 if side == "left" else 1
        if rng.random() < 0.2:
            size = rng.uniform(3.0, 9.0)  # a wobble
        else:
            size = rng.uniform(35.0, 90.0)
            counts[side] += 1
            peaks[side] = max(peaks[side], size)
        move = rng.uniform(0.6, 2.5)
        script.append((t, "lean", {"x_mm": sign * size, "duration": move}))
        t += move + rng.uniform(0.3, 2.0)
        script.append((t, "centre", {"duration": move}))
        t += move + rng.uniform(0.8, 2.0)
    t += 1.0
    for when, name, kwargs in script:
        person.schedule(when, name, **kwargs)
    recording = render(person, t, rng, exercise="weight-shift")
    truth = {
        "shifts_left": counts["left"],
        "shifts_right": counts["right"],
        "max_left_mm": peaks["left"],
        "max_right_mm": peaks["right"],
    }
    return GeneratedTrial(recording, truth, script)


def quiet_stance(seed: int, seconds: float = 30.0) -> GeneratedTrial:
    """Quiet standing with a lean to one side (weight bearing). Truth: weight_right_pct."""
    rng = random.Random(seed)
    person = _person(rng, (0.5, 2.5))
    lean = rng.uniform(-40, 40)
    person.schedule(0.0, "lean", x_mm=lean, duration=0.01)
    recording = render(person, seconds, rng, exercise="quiet-stance", noise_g=1.0)
    truth = {"weight_right_pct": 50 + lean / GEOMETRY.stance_width_mm * 100}
    return GeneratedTrial(recording, truth)
