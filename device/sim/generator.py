"""Exercise recordings with known answers, from the simulated person, for tests and tuning.

Each generator scripts a ``device.sim.person.SimulatedPerson`` (random but seeded: body mass, sway,
speed, hard cases such as slow or partial raises, wobbles, brief touch-downs, floor and hand
support), turns its foot loads into corner loads, adds load-cell noise and the board's timing
jitter, and returns the recording (format v1) with the truth: how many repetitions, touch-downs,
how long the holds were. The truth comes from the script, never from the detectors under test.

Besides healthy movement they make what a stroke survivor does (../shared/notes/
stroke-balance.md): standing with the weight on the unaffected leg, raises carried by the
unaffected leg, shifts avoided toward the affected side, a hand on the chair from the start,
stumbles with a foot to the floor, stepping off and back on, sit-to-stand with an asymmetric rise,
and tandem stance that ends with a step out.

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
from device.sim.person import SimulatedPerson, smoothstep

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
    affected_side: str | None = None,
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
        affected_side=affected_side,
    )


def _person(rng: random.Random, sway: tuple[float, float]) -> SimulatedPerson:
    return SimulatedPerson(
        mass_kg=rng.choice([rng.uniform(45, 60), rng.uniform(60, 90), rng.uniform(90, 140)]),
        stance_width_mm=GEOMETRY.stance_width_mm,
        sway=rng.uniform(*sway),
        seed=rng.getrandbits(32),
    )


def flamingo(seed: int, *, support_pct: float | None = None) -> GeneratedTrial:
    """Stand, lift a foot, hold with touch-downs (board taps, the floor) and moments leaning on
    the chair (support: the hold goes on), step down. With ``support_pct`` a hand rests on the
    chair with that share of body weight from the start. Truth: first_hold_s,
    single_leg_time_s, touchdowns, support_pct_bw_mean (while on one leg)."""
    rng = random.Random(seed)
    person = _person(rng, (0.5, 1.5))
    leg = rng.choice(["left", "right"])
    lifted = "right" if leg == "left" else "left"
    script = []
    if support_pct is not None:
        script.append((0.0, "hand_on_chair", {"kg": person.mass_kg * support_pct / 100}))
    t = rng.uniform(2.0, 4.0)
    lift = rng.uniform(0.4, 1.0)  # slow and quick lifts
    script.append((t, "lift_foot", {"side": lifted, "duration": lift}))
    start = t + lift / 2
    periods = []
    hands = []  # (start, end, kg) of leaning on the chair while on one leg
    supports = rng.choice([0, 0, 1, 1, 2, 3, 4])
    touchdowns = 0
    cursor = start  # the time the next movement follows
    for k in range(supports + 1):
        t = cursor + rng.uniform(2.0, 12.0)  # holding
        down = rng.uniform(0.15, 0.4)
        how = rng.choice(["board", "board", "floor", "hand"]) if k < supports else "board"
        if how == "hand" and support_pct is None:
            # a moment on the chair (up to a fifth of the weight): the hold goes on
            kg = person.mass_kg * rng.uniform(0.08, 0.2)
            end = t + down + rng.uniform(0.5, 2.0)
            script.append((t, "hand_on_chair", {"kg": kg, "duration": down}))
            script.append((end, "hand_off", {"duration": down}))
            hands.append((t + down / 2, end + down / 2, kg))
            cursor = end + down
            continue
        how = "board" if how == "hand" else how
        script.append((t, "foot_down", {"side": lifted, "on": how, "duration": down}))
        periods.append((start, t + down / 2))
        if k == supports:
            break  # the final step down
        touchdowns += 1
        t += down + rng.uniform(0.2, 2.0)  # a brief tap, or a rest
        lift = rng.uniform(0.4, 1.0)
        script.append((t, "lift_foot", {"side": lifted, "duration": lift}))
        start = cursor = t + lift / 2
    t += 2.0
    for when, name, kwargs in script:
        person.schedule(when, name, **kwargs)
    recording = render(person, t, rng, exercise="flamingo", leg=leg)
    single = sum(b - a for a, b in periods)
    leaning = sum(
        max(0.0, min(b, pb) - max(a, pa)) * kg for a, b, kg in hands for pa, pb in periods
    )
    mean_support = 100 * leaning / person.mass_kg / single if single else 0.0
    if support_pct is not None:
        mean_support = support_pct
    truth = {
        "leg": leg,
        "first_hold_s": periods[0][1] - periods[0][0],
        "single_leg_time_s": single,
        "touchdowns": touchdowns,
        "support_pct_bw_mean": mean_support,
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


# --- what a stroke survivor does ----------------------------------------------------------------
def _smoothstep_inverse(share: float) -> float:
    """The share of a minimum-jerk movement's duration at which it is ``share`` done."""
    lo, hi = 0.0, 1.0
    for _ in range(50):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if smoothstep(mid) < share else (lo, mid)
    return (lo + hi) / 2


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def _lean_for(side: str, share_pct: float) -> float:
    """The lean (mm) that puts ``share_pct`` of the weight on ``side``'s foot."""
    right = share_pct if side == "right" else 100.0 - share_pct
    return (right / 100.0 - 0.5) * GEOMETRY.stance_width_mm


def asymmetric_stance(
    seed: int,
    affected_side: str,
    affected_pct: float,
    *,
    seconds: float = 30.0,
    sway: float = 0.6,
    support_pct: float = 0.0,
) -> GeneratedTrial:
    """Quiet standing with ``affected_pct`` of the weight on the affected leg (65/35 is typical
    after stroke), and ``support_pct`` of body weight on the chair throughout (a resting hand).
    The sway is the same for the same seed whatever the share. Truth: weight_affected_pct,
    support_pct_bw_mean."""
    rng = random.Random(seed)
    person = SimulatedPerson(
        mass_kg=rng.uniform(55, 95), stance_width_mm=GEOMETRY.stance_width_mm, sway=sway, seed=seed
    )
    person.schedule(0.0, "lean", x_mm=_lean_for(affected_side, affected_pct), duration=0.01)
    if support_pct:
        person.schedule(0.0, "hand_on_chair", kg=person.mass_kg * support_pct / 100)
    recording = render(
        person,
        seconds,
        rng,
        exercise="quiet-stance",
        noise_g=1.0,
        affected_side=affected_side,
    )
    truth = {"weight_affected_pct": affected_pct, "support_pct_bw_mean": support_pct}
    return GeneratedTrial(recording, truth)


def one_leg_raises(
    seed: int, affected_side: str, *, kind: str = "heel", on: str = "unaffected"
) -> GeneratedTrial:
    """Raises carried by one leg: ``on`` "unaffected" (the compensation) or "both" (as
    prescribed). Truth: reps, the leg that did the work."""
    rng = random.Random(seed)
    person = _person(rng, (0.5, 1.0))
    command = "heel_raise" if kind == "heel" else "toe_raise"
    side = _other(affected_side) if on == "unaffected" else None
    t = rng.uniform(2.0, 3.0)
    reps = rng.randint(5, 10)
    script = []
    for _ in range(reps):
        up = rng.uniform(0.5, 1.0)
        script.append((t, command, {"height": rng.uniform(0.9, 1.1), "duration": up, "side": side}))
        t += up + rng.uniform(0.2, 0.8)
        script.append((t, "lower", {"duration": up}))
        t += up + rng.uniform(0.5, 1.2)
    t += 1.5
    for when, name, kwargs in script:
        person.schedule(when, name, **kwargs)
    recording = render(person, t, rng, exercise=f"{kind}-raises", affected_side=affected_side)
    return GeneratedTrial(recording, {"reps": reps, "on": on}, script)


def shifts_avoiding(seed: int, affected_side: str) -> GeneratedTrial:
    """Side-to-side shifts made only toward the unaffected side: the affected leg is never
    loaded. Truth: shifts toward each side."""
    rng = random.Random(seed)
    person = _person(rng, (0.4, 0.8))
    sign = 1 if affected_side == "left" else -1  # toward the unaffected side
    t = rng.uniform(2.0, 3.0)
    script = []
    shifts = rng.randint(4, 8)
    for _ in range(shifts):
        move = rng.uniform(0.8, 1.6)
        script.append((t, "lean", {"x_mm": sign * rng.uniform(50, 80), "duration": move}))
        t += move + rng.uniform(0.5, 1.5)
        script.append((t, "centre", {"duration": move}))
        t += move + rng.uniform(0.8, 1.5)
    t += 1.0
    for when, name, kwargs in script:
        person.schedule(when, name, **kwargs)
    recording = render(person, t, rng, exercise="weight-shift", affected_side=affected_side)
    truth = {f"shifts_{_other(affected_side)}": shifts, f"shifts_{affected_side}": 0}
    return GeneratedTrial(recording, truth, script)


def shifts_uneven(
    seed: int, affected_side: str, toward_mm: float, away_mm: float
) -> GeneratedTrial:
    """Side-to-side shifts both ways, reaching ``toward_mm`` toward the affected side and
    ``away_mm`` toward the other (a partial avoidance). Truth: the two reaches (mm)."""
    rng = random.Random(seed)
    person = _person(rng, (0.4, 0.8))
    toward = -1 if affected_side == "left" else 1  # +x is the right foot
    t = rng.uniform(2.0, 3.0)
    for _ in range(rng.randint(3, 5)):
        for sign, mm in ((-toward, away_mm), (toward, toward_mm)):
            move = rng.uniform(0.8, 1.4)
            person.schedule(t, "lean", x_mm=sign * mm, duration=move)
            t += move + rng.uniform(0.5, 1.0)
            person.schedule(t, "centre", duration=move)
            t += move + rng.uniform(0.8, 1.2)
    recording = render(person, t + 1.0, rng, exercise="weight-shift", affected_side=affected_side)
    return GeneratedTrial(recording, {"toward_mm": toward_mm, "away_mm": away_mm})


def stepping_off(
    seed: int, *, seconds: float = 30.0, back_on: bool = True, steps_off: bool = True
) -> GeneratedTrial:
    """Quiet standing, stepping off the board part way through (and back on); with
    ``steps_off`` False the same person stands the whole time (the trial to compare with).
    Truth: stepped_off_t_s, the moment half the load had gone."""
    rng = random.Random(seed)
    person = _person(rng, (0.5, 1.2))
    off = rng.uniform(0.3, 0.7) * seconds
    duration = rng.uniform(0.6, 1.2)
    script = [(off, "step_off", {"duration": duration})]
    if back_on:
        script.append((off + duration + rng.uniform(2.0, 5.0), "step_on", {"duration": 1.0}))
    if not steps_off:
        script = []
    for when, name, kwargs in script:
        person.schedule(when, name, **kwargs)
    recording = render(person, seconds, rng, exercise="quiet-stance", noise_g=1.0)
    return GeneratedTrial(recording, {"stepped_off_t_s": off + duration / 2}, script)


def stumble(seed: int, *, seconds: float = 30.0, floor_s: float = 1.5) -> GeneratedTrial:
    """Quiet standing with a stumble: one foot off the board onto the floor for ``floor_s``,
    then back. Truth: loss_of_balance_t_s, the moment the foot's load was half gone."""
    rng = random.Random(seed)
    person = _person(rng, (0.5, 1.2))
    side = rng.choice(["left", "right"])
    at = rng.uniform(0.3, 0.7) * seconds
    quick = rng.uniform(0.1, 0.25)
    script = [
        (at, "step_to_floor", {"side": side, "duration": quick}),
        (at + quick + floor_s, "foot_down", {"side": side, "duration": 0.3}),
    ]
    for when, name, kwargs in script:
        person.schedule(when, name, **kwargs)
    recording = render(person, seconds, rng, exercise="quiet-stance", noise_g=1.0)
    return GeneratedTrial(recording, {"loss_of_balance_t_s": at + quick / 2, "side": side}, script)


def sit_to_stand(
    seed: int, *, affected_side: str | None = None, affected_pct: float = 35.0
) -> GeneratedTrial:
    """Sit-to-stand with the feet on the board: seated, then rises and sits, some slow, some
    fast, with pauses; during each rise the affected leg takes ``affected_pct`` of the load
    (25-40 % is typical after stroke). Truth: repetitions, five_times_s (from the start of the
    first rise to the fifth standing), weight_affected_pct."""
    rng = random.Random(seed)
    person = _person(rng, (0.4, 0.9))
    person.schedule(0.0, "sit", duration=0.01)
    lean = _lean_for(affected_side, affected_pct) if affected_side else 0.0
    t = rng.uniform(2.0, 3.0)
    reps = rng.randint(3, 8)
    script = []
    first = None
    stood = []
    # a rise starts when the load is a tenth of the way up and ends nine tenths of the way
    # (exercises.sit_to_stand): on the minimum-jerk profile, at these shares of its duration
    u_start, u_end = _smoothstep_inverse(0.1), _smoothstep_inverse(0.9)
    for _ in range(reps):
        up = rng.uniform(0.8, 2.0)  # a slow rise takes two seconds
        script.append((t, "lean", {"x_mm": lean, "duration": 0.4}))
        script.append((t, "stand_up", {"duration": up}))
        first = t + u_start * up if first is None else first
        stood.append(t + u_end * up)
        t += up + rng.uniform(0.3, 1.5)  # standing a moment
        down = rng.uniform(0.9, 2.0)
        script.append((t, "sit", {"duration": down}))
        script.append((t + down, "centre", {"duration": 0.4}))
        t += down + rng.uniform(0.3, 1.5)  # seated a moment
    t += 1.0
    for when, name, kwargs in script:
        person.schedule(when, name, **kwargs)
    recording = render(person, t, rng, exercise="sit-to-stand", affected_side=affected_side)
    truth = {
        "repetitions": reps,
        "five_times_s": stood[4] - first if reps >= 5 else None,
        "weight_affected_pct": affected_pct if affected_side else None,
    }
    return GeneratedTrial(recording, truth, script)


def tandem(
    seed: int,
    *,
    front: str | None = None,
    stance: str = "tandem",
    support_pct: float = 0.0,
    wobble: bool = False,
) -> GeneratedTrial:
    """Tandem (or semi-tandem) stance from feet side by side: the feet are placed one at a time,
    held, and the stance ends with a step out (a foot lifted) or lasts to the end. With
    ``support_pct`` a hand rests on the chair (that share of body weight) all along; with
    ``wobble`` a quick rock onto the front foot mid-hold (out and back within 0.2 s: a sway, not
    a step).
    Truth: hold_s, from the second foot down (half-way) to the first foot lifted (half-way)."""
    rng = random.Random(seed)
    person = _person(rng, (0.4, 1.0))
    front = front or rng.choice(["left", "right"])
    if support_pct:
        person.schedule(0.0, "hand_on_chair", kg=person.mass_kg * support_pct / 100)
    place, settle = rng.uniform(1.5, 2.5), rng.uniform(0.8, 1.6)
    person.schedule(place, "place_feet", stance=stance, front=front, duration=settle)
    step = settle / 2
    start = place + step + step * 0.7 + step * 0.3 / 2  # the second foot half-way down
    hold = rng.uniform(3.0, 25.0)
    if wobble:
        hold = max(hold, 6.0)
        jerk = start + hold / 2
        # the weight rocked onto the front foot and back, no foot lifted: along the line of the
        # feet the CoP can travel a foot's length without a step
        person.schedule(jerk, "lean", y_mm=70.0, duration=0.08)
        person.schedule(jerk + 0.1, "lean", y_mm=0.0, duration=0.08)
    steps_out = rng.random() < 0.7
    if steps_out:
        out = start + hold
        person.schedule(out, "place_feet", stance="side-by-side", front=front, duration=0.8)
        end = out + 0.4 * 0.3 / 2  # the first foot half-way up
        seconds = out + 2.0
    else:
        seconds = end = start + hold
    recording = render(person, seconds, rng, exercise="tandem-stance", leg=front)
    truth = {"hold_s": end - start, "front": front, "stepped_out": steps_out}
    return GeneratedTrial(recording, truth)
