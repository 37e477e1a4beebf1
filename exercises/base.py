"""What every exercise shares: the trial's context, the live state, the result, quality flags.

Fifth stage of the flow (... → CoP samples → **exercise** → result → record → report). An exercise
is fed one ``CopSample`` at a time (the same code live and in replay), returns a ``LiveState`` for
the screen after each, and ends with a ``Result``: a score 0-100, named metrics, timed events,
clinical flags and quality flags. A trial with a sensor fault is never scored.

Every exercise also watches, the same way live and in replay (``docs/scoring.md``):

- the load missing from the board, given the body mass (weighed at the session's start, or the
  recording's ``subject_mass_kg``): support from a chair, a hand or the floor;
- stepping off: the trial is interrupted there (event ``stepped_off``) and scored on what came
  before, so stepping off and back on never scores higher than staying on;
- a loss of balance: the load on the board drops suddenly because a foot or a hand takes it
  (event ``loss_of_balance``, at the moment the drop is half done);
- that the load is one person's: far above the body mass, or without one an estimate outside the
  board's range of people, the trial is not scored (``_not_a_person``).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np

from device.faults import describe_fault
from device.noise import white_noise_sd
from device.recording import SUBJECT_MASS_KG
from device.samples import CopSample
from exercises import metrics as m
from exercises.conditioning import DEFAULT_LOWPASS_HZ, is_uniform, lowpass, resample_uniform

SIDES = ("left", "right")
FLAGS = (
    "weight_on_unaffected_side",
    "support",
    "stepped_off",
    "loss_of_balance",
    "target_reached",
)
"""The clinical flags a result may carry, in the order they are listed."""

SUPPORT_FLAG_PCT = 3.0  # mean support at or above this (% body weight) is flagged
# readings missing for longer than this (a reader restart, a stalled link): the trial is not
# scored, since sway over the gap is unknown; shorter losses are counted and said
MAX_GAP_S = 0.25
DROPPED_WARNING_SHARE = 0.01
LOSS_OF_BALANCE_DROP = 0.10  # a sudden drop of the board's load by this share of body weight
LOSS_OF_BALANCE_RISE_S = 0.5  # "sudden": from 20 % to 80 % of the drop within this time
LOSS_OF_BALANCE_HOLD_S = 0.3  # and the load stays down at least this long
STEP_OFF_S = 1.5  # a drop this soon before stepping off was its first foot, not a stumble
# Averaged over a trial, the board carries the body's weight less what a chair, a hand or the
# floor takes (the body starts and ends at rest, so its movements average out): standing, about
# body weight; on a chair or seated, less. More than this many times the body mass is not one
# person on the board (a wrong calibration, a wrong body mass, a fault): not scored. The public
# force-plate trials carry 0.99-1.03 times their subjects' recorded mass (foam included); a mass
# weeks old is off by a few %, a calibration by about 1 %.
MAX_LOAD_PER_BODY_MASS = 1.3
# without a body mass the estimate from the load must be a person's: the board's range of people
# (``SUBJECT_MASS_KG``), judged on the load the board carried standing (95th percentile: seated
# or on the chair it carries less)
STANDING_LOAD_PERCENTILE = 95.0


@dataclass(frozen=True)
class TrialContext:
    """What the exercise needs to know besides the samples (all passed in: no I/O, no clock).

    :param stance_width_mm: distance between the feet's centres (mm).
    :param feet_centre_x_mm: side-to-side position of the midpoint between the feet (mm).
    :param feet_measured: True when the feet's positions were measured (stance check), False
        when they are assumed to be on their marks, None when not known (a replay).
    :param body_mass_kg: the body mass (kg): weighed at the session's start, or the record's;
        None: estimated from the trial's first second (then support present from the start is
        not seen, and the result says so).
    :param body_mass_source: where the body mass came from ("weighed", "record", "recording",
        "given").
    :param affected_side: "left" / "right": results name both sides and score what the
        affected leg does.
    :param rate_hz: the board's nominal rate (Hz).
    :param lowpass_hz: the scores' zero-phase low-pass (Hz; 0 off).
    :param live: live trials end at their target (or ceiling); replays score the whole
        recording.
    """

    stance_width_mm: float = 200.0
    feet_centre_x_mm: float = 0.0
    feet_measured: bool | None = None
    body_mass_kg: float | None = None
    body_mass_source: str | None = None
    affected_side: str | None = None
    rate_hz: float = 80.0
    lowpass_hz: float = DEFAULT_LOWPASS_HZ
    calibration_age_days: float | None = None
    clock_synchronised: bool | None = None
    live: bool = False

    @property
    def unaffected_side(self) -> str | None:
        if self.affected_side not in SIDES:
            return None
        return "right" if self.affected_side == "left" else "left"


@dataclass(frozen=True)
class Event:
    """Something that happened, at the moment the movement was half done."""

    t_s: float
    kind: str
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class LiveState:
    """For the screen: where the exercise is and what to say next."""

    phase: str  # get-ready, lift, hold, rest, raise, shift, done ...
    prompt: str
    elapsed_s: float
    remaining_s: float | None
    counters: dict = field(default_factory=dict)
    target: dict = field(default_factory=dict)
    done: bool = False


@dataclass
class Quality:
    """Can these numbers be trusted? Flags on every result."""

    sample_rate_hz: float
    samples: int
    dropped_samples: int
    faulty_samples: int
    noise_floor_mm: float | None
    calibration_age_days: float | None
    clock_synchronised: bool | None
    sensor_faults: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    body_mass_kg: float | None = None
    body_mass_source: str | None = None  # weighed, record, recording, given, estimated

    @property
    def scorable(self) -> bool:
        return not self.sensor_faults


@dataclass
class Result:
    exercise: str
    score: float | None
    metrics: dict[str, float]
    events: list[Event]
    quality: Quality
    sides: dict[str, str] = field(default_factory=dict)  # e.g. {"stance": "affected"}
    flags: list[str] = field(default_factory=list)  # from FLAGS
    lower_bounds: list[str] = field(default_factory=list)  # metrics cut short by the trial's end

    def to_dict(self) -> dict:
        quality = asdict(self.quality)
        quality["scorable"] = self.quality.scorable
        return {
            "exercise": self.exercise,
            "score": None if self.score is None else round(self.score, 1),
            "metrics": {k: _finite(v) for k, v in self.metrics.items()},
            "events": [{"t_s": round(e.t_s, 3), "kind": e.kind, **e.detail} for e in self.events],
            "quality": {k: _finite(v) for k, v in quality.items()},
            "sides": self.sides,
            "flags": list(self.flags),
            "lower_bounds": list(self.lower_bounds),
        }


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def ramp_score(value: float, best: float, worst: float) -> float:
    """100 at ``best`` or better, 0 at ``worst`` or worse, log-linear between (for sway, where
    norms spread over decades). Monotonic: a worse value never scores higher."""
    if not math.isfinite(value):
        return 0.0
    if best < worst:  # smaller is better
        if value <= best:
            return 100.0
        if value >= worst:
            return 0.0
        return 100.0 * (math.log(worst) - math.log(value)) / (math.log(worst) - math.log(best))
    if value >= best:
        return 100.0
    if value <= worst:
        return 0.0
    return 100.0 * (value - worst) / (best - worst)


def linear_factor(value: float, full_at: float, floor_at: float, floor: float) -> float:
    """1 at ``full_at`` or beyond, ``floor`` at ``floor_at`` or beyond, linear between: how much
    of a score a clinical fault leaves (a worse value never leaves more)."""
    if not math.isfinite(value):
        return 1.0
    u = (value - floor_at) / (full_at - floor_at)
    return floor + (1.0 - floor) * min(1.0, max(0.0, u))


SUPPORT_WORST_PCT = 20.0  # support at or above this leaves half the score (standing, tandem)


def support_factor(support_pct: float | None, flagged_from_pct: float = SUPPORT_FLAG_PCT) -> float:
    """How much of a standing score a hand on the chair leaves: 1 below the flag, falling
    linearly to 0.5 at ``SUPPORT_WORST_PCT`` of body weight. A hand steadies sway, so without
    this, holding on would score better and read as progress."""
    if support_pct is None:
        return 1.0
    return linear_factor(support_pct, flagged_from_pct, SUPPORT_WORST_PCT, 0.5)


class Exercise:
    """Base: keeps the samples, tracks faults, stepping off, losses of balance and support,
    builds the quality flags.

    Subclasses implement ``_step`` (one good sample → live state, events) and ``_finish``
    (arrays → metrics and score), and may add clinical flags in ``_flags``.
    """

    name = "exercise"
    detects_loss_of_balance = True  # off where the load is meant to change (sitting, one leg)
    measures_support = False  # reports the load missing from the board (one leg, eyes closed)
    support_prescribed = False  # a support limit is part of the prescription (one-leg stance)
    uses_weight_share = False  # reports the weight on each leg from the side-to-side CoP

    def __init__(self, context: TrialContext | None = None) -> None:
        self.context = context or TrialContext()
        self._t: list[float] = []
        self._x: list[float] = []
        self._y: list[float] = []
        self._total: list[float] = []
        self.events: list[Event] = []
        self._faulty = 0
        self._reading_faults: list[str] = []  # the readings themselves stopped (not a corner)
        self._last_t: float | None = None  # any sample's time, faulty ones too
        self._gap: tuple[float, float] = (0.0, 0.0)  # the longest gap: (length s, start s)
        self._fault_names: list[str] = []
        self._t0: float | None = None
        self._body_kg: float | None = self.context.body_mass_kg
        self._state = LiveState("get-ready", "Stand still on the board.", 0.0, None)
        self.finished = False
        self.interrupted_at: float | None = None  # stepped off: the trial stops there
        self._was_on = False
        self._recent: deque[tuple[float, float]] = deque()  # (t, total kg) of the last 2.5 s
        self._lob: tuple[float, float, float] | None = None  # a drop not yet confirmed
        self._lob_level: float | None = None  # the load before a loss of balance, until it ends
        # (start, end) of each loss of balance: a foot or hand took load there, which is not
        # the steady support of a hand resting on the chair
        self.balance_lost: list[tuple[float, float]] = []

    def readings_interrupted(self, why: str) -> None:
        """The board's readings were interrupted during the trial (its reader process restarted,
        say): the trial is not scored, and ``why`` says so in its quality."""
        if not self.finished and why not in self._reading_faults:
            self._reading_faults.append(why)

    # --- feeding --------------------------------------------------------------------------
    def feed(self, sample: CopSample) -> LiveState:
        if self.finished or self.interrupted_at is not None:
            return self._state
        if self._t0 is None:
            self._t0 = sample.t
        t = sample.t - self._t0
        if self._last_t is not None and t - self._last_t > self._gap[0]:
            self._gap = (t - self._last_t, self._last_t)
        self._last_t = t
        if any(sample.faults):
            self._faulty += 1
            for i, fault in enumerate(sample.faults):
                name = f"{i}:{fault}"
                if fault and name not in self._fault_names:
                    self._fault_names.append(name)
            return self._state
        if sample.total_kg is None:
            return self._state
        if self._stepped_off(t, sample):
            return self._state
        x = sample.x_mm if sample.x_mm is not None else math.nan
        y = sample.y_mm if sample.y_mm is not None else math.nan
        self._t.append(t)
        self._x.append(x)
        self._y.append(y)
        self._total.append(sample.total_kg)
        n = len(self._t)
        if self._body_kg is None and n >= self.context.rate_hz and n % 8 == 0 and sample.on_board:
            totals = np.array(self._total[-int(self.context.rate_hz) :])
            if np.ptp(totals) < 0.1 * np.median(totals) and np.median(totals) > 15:
                self._body_kg = float(np.median(totals))
        if self.detects_loss_of_balance and n % 4 == 0:
            self._watch_balance(t)
        self._state = self._step(t, x, y, sample.total_kg)
        if self._state.done:
            self.finished = True
        return self._state

    def _stepped_off(self, t: float, sample: CopSample) -> bool:
        """Stepping off ends the trial here: an event at the moment half the load had gone."""
        recent = self._recent
        recent.append((t, sample.total_kg))
        while recent and t - recent[0][0] > 2.5:
            recent.popleft()
        if sample.on_board:
            self._was_on = True
            return False
        if not self._was_on:
            return False
        before = [kg for tt, kg in recent if tt < t - 0.5]
        level = float(np.median(before)) if before else recent[0][1]
        self.interrupted_at = self._crossing(level / 2, falling=True) or t
        # the first foot leaving looked like a sudden drop: it was the step off, not a stumble
        self._lob = None
        self.events = [
            e
            for e in self.events
            if not (e.kind == "loss_of_balance" and e.t_s >= self.interrupted_at - STEP_OFF_S)
        ]
        self.events.append(Event(self.interrupted_at, "stepped_off"))
        self._state = LiveState("stepped-off", "Step back onto the board.", t, None)
        return True

    def _crossing(self, level: float, *, falling: bool, since: float = -math.inf) -> float | None:
        """When the load last crossed ``level`` (interpolated), after ``since``."""
        points = [p for p in self._recent if p[0] >= since]
        for (ta, a), (tb, b) in zip(reversed(points[:-1]), reversed(points[1:]), strict=True):
            crossed = (a > level >= b) if falling else (a < level <= b)
            if crossed:
                return ta + (tb - ta) * (a - level) / (a - b) if a != b else tb
        return None

    def _watch_balance(self, t: float) -> None:
        """A loss of balance: the load drops suddenly by ``LOSS_OF_BALANCE_DROP`` of body weight
        (a foot to the floor, a grab at the chair) and stays down, without the load going away
        entirely (that is stepping off); one event per drop, at the moment it was half done.
        Means over windows of samples: cheap enough to run live at 80 Hz."""
        body = self._body_kg
        if body is None or t < 2.0:
            return
        total, rate = self._total, self.context.rate_hz
        n = len(total)
        k_now = max(2, round(LOSS_OF_BALANCE_HOLD_S * rate))
        now = sum(total[n - k_now :]) / k_now
        if self._lob is not None:
            half, level, drop = self._lob
            window = total[n - k_now :]
            steady = max(window) - min(window) < 0.08 * body
            if now < 0.3 * level or t > half + 3.0:
                self._lob = None  # the load is going away (stepping off), or slowly: no stumble
            elif t >= half + LOSS_OF_BALANCE_HOLD_S and steady:
                detail = {"load_drop_pct": round(100 * max(drop, level - now) / body, 1)}
                self.events.append(Event(half, "loss_of_balance", detail))
                self._lob = None
                self._lob_level = level
                self.balance_lost.append((half, math.inf))
            return
        if self._lob_level is not None:  # after a drop: over once the load is mostly back
            if now >= self._lob_level - 0.3 * LOSS_OF_BALANCE_DROP * body:
                self._lob_level = None
                start, _ = self.balance_lost[-1]
                self.balance_lost[-1] = (start, t)
            return
        before = total[max(0, n - round(2.0 * rate)) : n - round(0.6 * rate)]
        if len(before) < 10:
            return
        level = sum(before) / len(before)
        drop = level - now
        if drop < LOSS_OF_BALANCE_DROP * body or now < 0.3 * level:
            return  # no drop, or the load is going away entirely (stepping off)
        t80 = self._crossing(level - 0.8 * drop, falling=True, since=t - 2.0)
        t20 = self._crossing(level - 0.2 * drop, falling=True, since=t - 2.0)
        if t80 is None or t20 is None or t80 - t20 > LOSS_OF_BALANCE_RISE_S:
            return  # a slow lean on the chair is support, not a loss of balance
        half = self._crossing(level - 0.5 * drop, falling=True, since=t - 2.0)
        self._lob = (half, level, drop)  # confirmed once the load has stayed down

    @property
    def body_kg(self) -> float | None:
        return self._body_kg

    def weight_right_pct(self, x: float) -> float:
        """Share of the body weight on the right foot (%) at CoP ``x`` (``metrics``)."""
        c = self.context
        return float(m.weight_right_pct(x, c.stance_width_mm, c.feet_centre_x_mm))

    def affected_share_pct(self, right_pct: float) -> float | None:
        """The affected leg's share (%) of a right-foot share, None when the side is unknown."""
        side = self.context.affected_side
        if side not in SIDES:
            return None
        return right_pct if side == "right" else 100.0 - right_pct

    def support_pct(self, total: np.ndarray) -> np.ndarray | None:
        """The load missing from the board (chair, hand, floor) in % of body weight, per
        sample; None without a body mass."""
        if not self._body_kg:
            return None
        return 100.0 * (self._body_kg - np.asarray(total, dtype=float)) / self._body_kg

    def _step(self, t: float, x: float, y: float, total: float) -> LiveState:
        raise NotImplementedError

    # --- finishing -----------------------------------------------------------------------
    def finish(self) -> Result:
        self.finished = True
        if self._lob is not None:  # a drop the trial's end cut short of its confirmation
            half, _level, drop = self._lob
            detail = {"load_drop_pct": round(100 * drop / (self._body_kg or 1.0), 1)}
            self.events.append(Event(half, "loss_of_balance", detail))
            self._lob = None
        quality = self.quality()
        t = np.array(self._t)
        arrays = {
            "t": t,
            "x": np.array(self._x),
            "y": np.array(self._y),
            "total": np.array(self._total),
        }
        metrics, score = self._finish(arrays, quality)
        if not quality.scorable:
            score = None
        kinds = {e.kind for e in self.events}
        flags = set(self._flags(metrics)) | (kinds & {"stepped_off", "loss_of_balance"})
        if flags & {"weight_on_unaffected_side", "stepped_off"} or (
            "support" in flags and not self.support_prescribed
        ):
            # a target reached by compensation, on the chair or off the board is not reached:
            # progression would reward what rehabilitation trains away
            flags.discard("target_reached")
        return Result(
            self.name,
            score,
            metrics,
            sorted(self.events, key=lambda e: e.t_s),
            quality,
            self._sides(),
            [f for f in FLAGS if f in flags],
            self._lower_bounds(),
        )

    def _finish(self, arrays: dict, quality: Quality) -> tuple[dict, float | None]:
        raise NotImplementedError

    def _flags(self, metrics: dict) -> list[str]:
        """Clinical flags of this exercise (``FLAGS``) from its metrics."""
        return []

    def _lower_bounds(self) -> list[str]:
        """Metrics whose value was cut short by the trial's end (shown as "≥")."""
        return []

    def _sides(self) -> dict[str, str]:
        return {}

    def _both_sides(self) -> dict[str, str]:
        """The result's sides for an exercise on both legs: which is affected, when known."""
        c = self.context
        if c.affected_side in ("left", "right"):
            return {"affected": c.affected_side, "unaffected": c.unaffected_side}
        return {}

    def side_label(self, side: str) -> str:
        """'left' → 'left (affected)' when the affected side is known."""
        c = self.context
        if c.affected_side == side:
            return f"{side} (affected)"
        if c.unaffected_side == side:
            return f"{side} (unaffected)"
        return side

    def quality(self) -> Quality:
        t = np.array(self._t)
        n = len(t)
        rate = (n - 1) / (t[-1] - t[0]) if n > 1 and t[-1] > t[0] else 0.0
        period = 1.0 / self.context.rate_hz
        gaps = np.diff(t) if n > 1 else np.array([])
        dropped = int(np.sum(np.maximum(np.round(gaps / period) - 1, 0))) if n > 1 else 0
        noise = None
        if n > 20:
            x = np.array(self._x)
            finite = np.isfinite(x)
            if finite.sum() > 20:
                # white-noise floor from second differences: blind to the slow sway itself
                noise = white_noise_sd(x[finite])
        faults = []
        for name in self._fault_names:
            corner, _, fault = name.partition(":")
            faults.append(describe_fault(int(corner), fault))
        faults += self._reading_faults
        not_a_person = self._not_a_person()
        if not_a_person is not None:
            faults.append(not_a_person)
        warnings = []
        gap_s, gap_at = self._gap
        if gap_s > MAX_GAP_S:
            faults.append(
                f"no readings for {gap_s:.1f} s from {gap_at:.1f} s (the board's link stopped)"
            )
        elif n > 1 and dropped > DROPPED_WARNING_SHARE * n:
            warnings.append(f"{dropped} readings missing ({100 * dropped / n:.1f} %)")
        if n > 1 and rate < 0.9 * self.context.rate_hz:
            warnings.append(
                f"sample rate {rate:.0f}/s below the board's {self.context.rate_hz:g}/s"
            )
        if n > 1 and rate < 50:
            warnings.append("below the 50 samples/s recommended for posturography (ISPGR)")
        if noise is not None and noise > 0.5:
            warnings.append(f"noise floor {noise:.2f} mm: velocity may be inflated")
        age = self.context.calibration_age_days
        if age is not None and age > 180:
            warnings.append(f"calibration is {age:.0f} days old")
        if self.context.clock_synchronised is False:
            warnings.append("the device clock was not synchronised: dates may be off")
        source = self.context.body_mass_source or ("given" if self.context.body_mass_kg else None)
        if self.context.body_mass_kg is None:
            source = "estimated" if self._body_kg else None
            if self.measures_support:
                warnings.append(
                    "body mass not known: estimated from the trial itself, so support present "
                    "from the start (a hand on the chair) cannot be seen"
                )
        if self.uses_weight_share and self.context.affected_side in SIDES:
            if self.context.feet_measured is False:
                warnings.append(
                    "feet positions not measured (no stance check): the weight on each leg "
                    "assumes the feet on their marks"
                )
            elif self.context.feet_measured is None:
                warnings.append(
                    "feet positions not known: the weight on each leg assumes the feet on their "
                    "marks"
                )
        if self.interrupted_at is not None:
            warnings.append(
                f"stepped off the board at {self.interrupted_at:.1f} s: scored on the part before"
            )
        return Quality(
            sample_rate_hz=float(rate),
            samples=n,
            dropped_samples=dropped,
            faulty_samples=self._faulty,
            noise_floor_mm=noise,
            calibration_age_days=age,
            clock_synchronised=self.context.clock_synchronised,
            sensor_faults=faults,
            warnings=warnings,
            body_mass_kg=self._body_kg,
            body_mass_source=source,
        )

    def _not_a_person(self) -> str | None:
        """Why the loads are not those of one person standing on the board, or None: more than
        ``MAX_LOAD_PER_BODY_MASS`` times the body mass on average; without a body mass, a load
        outside the board's range of people (``SUBJECT_MASS_KG``)."""
        total = np.asarray(self._total, dtype=float)
        if not len(total):
            return None
        mean_kg = float(total.mean())
        mass = self.context.body_mass_kg
        lightest, heaviest = SUBJECT_MASS_KG
        check = "check the body mass, the board's calibration and its load cells"
        if mass:
            if mean_kg > MAX_LOAD_PER_BODY_MASS * mass:
                return (
                    f"the board carried {mean_kg:.0f} kg on average, {mean_kg / mass:.1f} times "
                    f"the body mass of {mass:.0f} kg: not a person standing on it ({check})"
                )
            return None
        # the body mass estimated from the load (``feed``); a load that was never steady for a
        # second is judged by its mean, which is never above the body's weight
        estimate = max(self._body_kg or 0.0, mean_kg)
        if estimate > heaviest:
            return (
                f"a body mass of {estimate:.0f} kg estimated from the load: more than the "
                f"heaviest person the board is for ({heaviest:g} kg), not a person standing on "
                "it (check the board's calibration and its load cells)"
            )
        standing_kg = float(np.percentile(total, STANDING_LOAD_PERCENTILE))
        if standing_kg < lightest:
            return (
                f"the board carried at most about {standing_kg:.0f} kg: less than the lightest "
                f"person it is for ({lightest:g} kg), not a person standing on it"
            )
        return None

    # --- shared conditioning -------------------------------------------------------------
    def uniform(self, t: np.ndarray, *columns: np.ndarray) -> tuple[float, np.ndarray, list]:
        """Columns on a uniform grid (SWARII when the times are irregular), then low-passed."""
        data = np.column_stack(columns)
        if is_uniform(t):
            fs = 1.0 / float(np.median(np.diff(t)))
            grid = t
        else:
            fs = self.context.rate_hz
            grid, data = resample_uniform(t, data, fs)
        data = lowpass(data, fs, self.context.lowpass_hz) if len(data) > 30 else data
        return fs, grid, [data[:, i] for i in range(data.shape[1])]
