"""What every exercise shares: the trial's context, the live state, the result, quality flags.

Fifth stage of the flow (... → CoP samples → **exercise** → result → record → report). An exercise
is fed one ``CopSample`` at a time (the same code live and in replay), returns a ``LiveState`` for
the screen after each, and ends with a ``Result``: a score 0-100, named metrics, timed events and
quality flags. A trial with a sensor fault is never scored.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from device.faults import describe_fault
from device.noise import white_noise_sd
from device.samples import CopSample
from exercises import metrics as m
from exercises.conditioning import DEFAULT_LOWPASS_HZ, is_uniform, lowpass, resample_uniform

SIDES = ("left", "right")


@dataclass(frozen=True)
class TrialContext:
    """What the exercise needs to know besides the samples (all passed in: no I/O, no clock)."""

    stance_width_mm: float = 200.0
    feet_centre_x_mm: float = 0.0
    body_mass_kg: float | None = None  # else estimated from the first second on the board
    affected_side: str | None = None  # "left" / "right": results name both sides
    rate_hz: float = 80.0  # the board's nominal rate
    lowpass_hz: float = DEFAULT_LOWPASS_HZ
    calibration_age_days: float | None = None
    clock_synchronised: bool | None = None
    live: bool = False  # live trials end at their target; replays score the whole recording

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


class Exercise:
    """Base: keeps the samples, tracks faults, builds the quality flags.

    Subclasses implement ``_step`` (one good sample → live state, events) and ``_finish``
    (arrays → metrics and score).
    """

    name = "exercise"

    def __init__(self, context: TrialContext | None = None) -> None:
        self.context = context or TrialContext()
        self._t: list[float] = []
        self._x: list[float] = []
        self._y: list[float] = []
        self._total: list[float] = []
        self.events: list[Event] = []
        self._faulty = 0
        self._fault_names: list[str] = []
        self._t0: float | None = None
        self._body_kg: float | None = self.context.body_mass_kg
        self._state = LiveState("get-ready", "Stand still on the board.", 0.0, None)
        self.finished = False

    # --- feeding --------------------------------------------------------------------------
    def feed(self, sample: CopSample) -> LiveState:
        if self.finished:
            return self._state
        if self._t0 is None:
            self._t0 = sample.t
        t = sample.t - self._t0
        if any(sample.faults):
            self._faulty += 1
            for i, fault in enumerate(sample.faults):
                name = f"{i}:{fault}"
                if fault and name not in self._fault_names:
                    self._fault_names.append(name)
            return self._state
        if sample.total_kg is None:
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
        self._state = self._step(t, x, y, sample.total_kg)
        if self._state.done:
            self.finished = True
        return self._state

    @property
    def body_kg(self) -> float | None:
        return self._body_kg

    def weight_right_pct(self, x: float) -> float:
        """Share of the body weight on the right foot (%) at CoP ``x`` (``metrics``)."""
        c = self.context
        return float(m.weight_right_pct(x, c.stance_width_mm, c.feet_centre_x_mm))

    def _step(self, t: float, x: float, y: float, total: float) -> LiveState:
        raise NotImplementedError

    # --- finishing -----------------------------------------------------------------------
    def finish(self) -> Result:
        self.finished = True
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
        return Result(self.name, score, metrics, list(self.events), quality, self._sides())

    def _finish(self, arrays: dict, quality: Quality) -> tuple[dict, float | None]:
        raise NotImplementedError

    def _sides(self) -> dict[str, str]:
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
        warnings = []
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
        )

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
