"""The exercises, each described once: the one place that spells an exercise's facts.

For each exercise: its class, its title and instruction in the patient's words (and what is
spoken), its parameters (kind, range, unit, step, label, choices and the sentence of help that
goes into the program file), its headline number (what its trend shows) and whether it is done
beside a chair. The program parser and editor, the screens, replay, the report, the exports and
the demo all read it here (the pibooth pattern: one table drives the configuration file, the
settings screen and the validation).

A parameter's default is the exercise class's own keyword default (read from its signature), so
a default is written once, where the exercise is.

Example::

    spec = EXERCISES["flamingo"]
    spec.title                                   # 'Standing on one leg'
    spec.parameter("hold_s").check(12)           # 12.0 (or ValueError in words)
    exercise = spec.create(context, {"leg": "left", "hold_s": 12})
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from exercises.base import Exercise, TrialContext
from exercises.flamingo import LEGS, Flamingo
from exercises.limits_of_stability import HEIGHT_RANGE_M, LimitsOfStability
from exercises.quiet_stance import EYES, QuietStance
from exercises.raises import HeelRaises, ToeRaises
from exercises.sit_to_stand import ARMS, SitToStand
from exercises.tandem_stance import FRONT_FEET, STANCES, TandemStance
from exercises.weight_shift import AXES, PACES_S, WeightShift

SHOWN_CHARS = 80  # of a value from a file or the command line echoed in a message


def shown(value, limit: int = SHOWN_CHARS) -> str:
    """A value someone typed or a file held, for a message: its repr (quotes, escaped line
    breaks: the message stays one line), cut to ``limit`` characters with "…" (a line of ten
    kilobytes in a program file is not echoed whole)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_number(value, kind: type, low: float, high: float, what: str):
    """``value`` as ``kind`` (int or float) within [low, high], or ValueError in words."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, not {shown(value)}")
    if kind is int and isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{what} must be a whole number, not {shown(value)}")
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{what} must be between {low:g} and {high:g}, not {shown(value)}")
    return kind(value)


@dataclass(frozen=True)
class Parameter:
    """One setting of an exercise, as the therapist prescribes it.

    :param name: the keyword the exercise class takes (and the program file's key).
    :param words: how the program screen shows it, a format for the value ("Hold: {:g} s").
    :param kind: float, int or str.
    :param default: the exercise class's default.
    :param low, high: the allowed range for numbers.
    :param unit: the unit in words ("s", "repetitions").
    :param step: the program screen's −/+ step.
    :param choices: the allowed values (strings; or the few numbers a number may take).
    :param optional: may be left out (None): e.g. no pace.
    :param help: one sentence, written beside the value in program files.
    """

    name: str
    words: str
    kind: type
    default: object = None
    low: float | None = None
    high: float | None = None
    unit: str = ""
    step: float | None = None
    choices: tuple = ()
    optional: bool = False
    help: str = ""

    @property
    def numeric(self) -> bool:
        return self.kind in (int, float)

    def check(self, value):
        """The value in its kind, or ValueError saying what is allowed, in words."""
        what = f"{self.name} ({self.unit})" if self.unit and self.numeric else self.name
        if self.kind is str:
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(
                    f"{self.name} must be one of {', '.join(self.choices)}, not {shown(value)}"
                )
            return value
        value = check_number(value, self.kind, self.low, self.high, what)
        if self.choices and value not in self.choices:
            allowed = ", ".join(f"{c:g}" for c in sorted(self.choices))
            raise ValueError(f"{what} must be one of {allowed}, not {shown(value)}")
        return value

    def clamp(self, value):
        """A number kept inside the range (the program screen's −/+ stop at the ends), rounded
        to the step's precision (1.70 − 0.05 − 0.05 is 1.6, not 1.5999999999999999)."""
        value = min(self.high, max(self.low, value))
        return round(value, 6) if self.kind is float else round(value)

    def show(self, value) -> str:
        """The value as the program screen shows it."""
        return self.words.format(value)


@dataclass(frozen=True)
class Headline:
    """The number an exercise's trend follows: a metric, its label with the unit, and which
    way is better."""

    metric: str
    label: str
    lower_is_better: bool = False


@dataclass(frozen=True)
class StandardCode:
    """A code from a standard terminology for an exercise's headline number (FHIR export)."""

    system: str
    code: str
    display: str
    metric: str


@dataclass(frozen=True)
class ExerciseSpec:
    """Everything the product knows of one exercise besides how it is scored (its class)."""

    name: str
    exercise_class: type[Exercise]
    title: str
    instruction: str
    parameters: tuple[Parameter, ...]
    headline: Headline | None = None
    needs_chair: bool = False
    amount: str | None = None  # the parameter the program screen's −/+ change
    option: str | None = None  # the parameter the program screen's option button cycles
    option_cycle: tuple = ()  # the values it cycles through, in order
    standard_code: StandardCode | None = None
    variant: Callable[[dict], tuple[str, str]] | None = field(default=None, repr=False)
    leg_parameter: str | None = None  # the parameter ``replay --leg`` sets
    score_mdc: float = 15.0  # default change in score that is not noise (MDC95, points)
    one_leg_or_eyes_closed: Callable[[dict], bool] | None = field(default=None, repr=False)

    def default_mdc(self, params: dict) -> float:
        """The change in score (points) below which "better" or "worse than last time" would
        be noise, until the patient has enough trials of her own (``docs/scoring.md``).
        Standing still: 16 points between repeated 10 s trials, 15 at 30 s and 12 at 60 s,
        measured on the public BDS recordings (4 people × 4 conditions × 3 repeated trials, each
        cut to its first 10, 30 or 60 s; MDC95 = 1.96·√2·pooled within-condition SD;
        ``tests/test_metrics.py``); between, interpolated."""
        if self.name == "quiet-stance":
            seconds = self.value(params, "duration_s")
            return float(np.interp(seconds, QUIET_STANCE_MDC_S, QUIET_STANCE_MDC_POINTS))
        return self.score_mdc

    def comparable(self, params: dict, other: dict) -> bool:
        """Two trials of this exercise can be compared: the same leg, eyes, stance, duration."""
        keys = [p.name for p in self.parameters if p.kind is str or p.name == "duration_s"]
        return all(self.value(params, k) == self.value(other, k) for k in keys)

    def needs_someone_nearby(self, params: dict) -> bool:
        """One-leg and eyes-closed work: ask "Is someone nearby? Is the chair in place?"
        first (../shared/notes/stroke-balance.md, "Safety at home")."""
        return bool(self.one_leg_or_eyes_closed and self.one_leg_or_eyes_closed(params))

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(f"{self.name} has no setting {name!r}")

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def progressable(self) -> tuple[str, ...]:
        """The numbers a progression rule may change."""
        return tuple(p.name for p in self.parameters if p.numeric and not p.choices)

    def title_for(self, params: dict) -> str:
        """The title for these parameters (eyes closed is its own title)."""
        return self.variant(params)[0] if self.variant else self.title

    def instruction_for(self, params: dict) -> str:
        """The one instruction, for these parameters (which foot to lift, eyes closed)."""
        return self.variant(params)[1] if self.variant else self.instruction

    def spoken_for(self, params: dict) -> str:
        """What is said aloud before the exercise: the instruction, word for word."""
        return self.instruction_for(params)

    def value(self, params: dict, name: str):
        """A parameter's value in ``params``, else its default."""
        return params.get(name, self.parameter(name).default)

    def create(self, context: TrialContext, params: dict) -> Exercise:
        """The exercise object for one trial."""
        return self.exercise_class(context, **params)


# the score change that is noise standing still, by trial length (see ExerciseSpec.default_mdc)
QUIET_STANCE_MDC_S = (10.0, 30.0, 60.0)
QUIET_STANCE_MDC_POINTS = (16.0, 15.0, 12.0)


def _default(cls: type, name: str):
    """The class's own default for keyword ``name`` (one place for each default)."""
    return inspect.signature(cls.__init__).parameters[name].default


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


def _quiet_stance_variant(params: dict) -> tuple[str, str]:
    if params.get("eyes") == "closed":
        # the hands hover above the chair: a hand resting on it would steady her as much as
        # opening the eyes does (Jeka & Lackner 1994), and the board sees it as support
        return (
            "Standing still, eyes closed",
            "Keep your hands just above the chair, not on it. Stand with a foot on each mark, "
            "close your eyes, keep still.",
        )
    return (
        "Standing still",
        "Stand with a foot on each mark. Look ahead and keep still.",
    )


def _flamingo_variant(params: dict) -> tuple[str, str]:
    leg = params.get("leg")
    foot = f"your {_other(leg)} foot" if leg in ("left", "right") else "one foot"
    return (
        "Standing on one leg",
        f"Hold the back of a chair. Lift {foot} and stand on the other leg. To stop, put the "
        "foot back down on the board.",
    )


def _sit_to_stand_variant(params: dict) -> tuple[str, str]:
    if params.get("arms") == "allowed":
        return (
            "Sit to stand",
            "Sit on the chair with your feet on the marks. Stand up, pushing on the armrests "
            "if you need to, then sit down slowly.",
        )
    # the standard test: arms folded (Bohannon 2006; Mong, Teo & Ng 2010)
    return (
        "Sit to stand",
        "Sit on the chair with your feet on the marks and your arms crossed on your chest. "
        "Stand up, then sit down slowly.",
    )


def _tandem_variant(params: dict) -> tuple[str, str]:
    front = params.get("front")
    foot = f"your {front} foot" if front in FRONT_FEET else "one foot"
    if params.get("stance") == "semi-tandem":
        return (
            "Feet half a step apart",
            f"Keep your hands just above the chair, ready to hold it. Put {foot} half a foot "
            "forward, its heel beside the other's big toe, and stand still.",
        )
    other = {"your left foot": "your right foot", "your right foot": "your left foot"}.get(
        foot, "the other"
    )
    return (
        "Feet heel to toe",
        f"Keep your hands just above the chair, ready to hold it. Put {foot} straight in front "
        f"of {other}, heel against toes, and stand still.",
    )


def _raises_parameters(cls: type) -> tuple[Parameter, ...]:
    return (
        Parameter(
            "target_reps",
            "{:g} times",
            int,
            _default(cls, "target_reps"),
            1,
            50,
            "repetitions",
            step=1,
            help="repetitions to do",
        ),
    )


_SPECS = (
    ExerciseSpec(
        "quiet-stance",
        QuietStance,
        *_quiet_stance_variant({}),
        parameters=(
            Parameter(
                "eyes",
                "eyes: {}",
                str,
                _default(QuietStance, "eyes"),
                choices=EYES,
                help="open, or closed (the hands just above the chair, not on it)",
            ),
            Parameter(
                "duration_s",
                "Time: {:g} s",
                float,
                _default(QuietStance, "duration_s"),
                5.0,
                120.0,
                "s",
                step=5.0,
                help="seconds of standing still",
            ),
        ),
        headline=Headline("mean_velocity_mm_s", "sway velocity (mm/s)", lower_is_better=True),
        amount="duration_s",
        option="eyes",
        option_cycle=EYES,
        variant=_quiet_stance_variant,
        one_leg_or_eyes_closed=lambda params: params.get("eyes") == "closed",
    ),
    ExerciseSpec(
        "flamingo",
        Flamingo,
        *_flamingo_variant({}),
        parameters=(
            Parameter(
                "leg",
                "leg: {}",
                str,
                _default(Flamingo, "leg"),
                choices=(*LEGS, "affected", "unaffected"),
                help="the stance leg: left, right, affected or unaffected",
            ),
            Parameter(
                "hold_s",
                "Hold: {:g} s",
                float,
                _default(Flamingo, "hold_s"),
                2.0,
                120.0,
                "s",
                step=2.0,
                help="seconds to stand on one leg",
            ),
            Parameter(
                "ceiling_s",
                "up to {:g} s",
                float,
                _default(Flamingo, "ceiling_s"),
                2.0,
                300.0,
                "s",
                optional=True,
                help="she may keep going past the target up to this (none: stop at the target)",
            ),
            Parameter(
                "max_support_pct",
                "chair at most {:g} %",
                float,
                _default(Flamingo, "max_support_pct"),
                0.0,
                50.0,
                "% of body weight",
                step=5.0,
                optional=True,
                help="the most weight on the chair while holding (none: not limited)",
            ),
        ),
        headline=Headline("first_hold_s", "one-leg hold, affected leg (s)"),
        needs_chair=True,
        amount="hold_s",
        option="leg",
        option_cycle=("affected", "unaffected", "left", "right"),
        standard_code=StandardCode(
            "http://loinc.org", "66569-5", "Single leg stance test hold time", "first_hold_s"
        ),
        variant=_flamingo_variant,
        leg_parameter="leg",
        one_leg_or_eyes_closed=lambda params: True,
    ),
    ExerciseSpec(
        "heel-raises",
        HeelRaises,
        "Heel raises",
        "Hold the chair. Rise up on your toes, then come down slowly.",
        parameters=_raises_parameters(HeelRaises),
        headline=Headline("reps", "heel raises (count)"),
        needs_chair=True,
        amount="target_reps",
    ),
    ExerciseSpec(
        "toe-raises",
        ToeRaises,
        "Toe raises",
        "Hold the chair. Lift your toes, then put them down slowly.",
        parameters=_raises_parameters(ToeRaises),
        headline=Headline("reps", "toe raises (count)"),
        needs_chair=True,
        amount="target_reps",
    ),
    ExerciseSpec(
        "weight-shift",
        WeightShift,
        "Weight shifts",
        "Lean slowly to the side the screen shows, then back to the middle.",
        parameters=(
            Parameter(
                "axis",
                "axis: {}",
                str,
                _default(WeightShift, "axis"),
                choices=tuple(AXES),
                help="lateral (side to side) or anteroposterior (front to back)",
            ),
            Parameter(
                "cycles",
                "{:g} cycles",
                int,
                _default(WeightShift, "cycles"),
                1,
                40,
                "cycles",
                step=1,
                help="shifts to each side",
            ),
            Parameter(
                "pace_s",
                "pace {:g} s",
                float,
                _default(WeightShift, "pace_s"),
                1.0,
                3.0,
                "s",
                choices=PACES_S,
                optional=True,
                help="seconds per cycle with a metronome: 3, 2 or 1 (none: at her own pace)",
            ),
            Parameter(
                "target_mm",
                "target {:g} mm",
                float,
                _default(WeightShift, "target_mm"),
                10.0,
                200.0,
                "mm",
                step=5.0,
                optional=True,
                help="how far to lean to each side (none: 40 % of the stance width)",
            ),
        ),
        headline=Headline("directional_control_pct", "directional control (%)"),
        amount="cycles",
        option="pace_s",
        option_cycle=(None, *PACES_S),
    ),
    ExerciseSpec(
        "sit-to-stand",
        SitToStand,
        "Sit to stand",
        "Sit on the chair with your feet on the marks and your arms crossed on your chest. "
        "Stand up, then sit down slowly.",
        parameters=(
            Parameter(
                "target_reps",
                "{:g} times",
                int,
                _default(SitToStand, "target_reps"),
                1,
                30,
                "repetitions",
                step=1,
                help="times to stand up (5 for the five-times test)",
            ),
            Parameter(
                "arms",
                "arms: {}",
                str,
                _default(SitToStand, "arms"),
                choices=ARMS,
                help="folded (the standard test), or allowed (pushing up: a modified test)",
            ),
        ),
        variant=_sit_to_stand_variant,
        option="arms",
        option_cycle=ARMS,
        headline=Headline("five_times_s", "five times sit to stand (s)", lower_is_better=True),
        needs_chair=True,
        amount="target_reps",
    ),
    ExerciseSpec(
        "tandem-stance",
        TandemStance,
        "Feet heel to toe",
        "Keep your hands just above the chair, ready to hold it. Put one foot right in front of "
        "the other, heel to toe, and stand still.",
        parameters=(
            Parameter(
                "front",
                "front: {}",
                str,
                _default(TandemStance, "front"),
                choices=FRONT_FEET,
                help="the foot in front: left or right",
            ),
            Parameter(
                "stance",
                "{}",
                str,
                _default(TandemStance, "stance"),
                choices=STANCES,
                help="tandem (heel to toe) or semi-tandem (heel beside the big toe)",
            ),
            Parameter(
                "hold_s",
                "Hold: {:g} s",
                float,
                _default(TandemStance, "hold_s"),
                2.0,
                120.0,
                "s",
                step=2.0,
                help="seconds to hold the stance (10 in the SPPB)",
            ),
            Parameter(
                "ceiling_s",
                "up to {:g} s",
                float,
                _default(TandemStance, "ceiling_s"),
                2.0,
                300.0,
                "s",
                optional=True,
                help="she may keep going past the target up to this (none: stop at the target)",
            ),
        ),
        headline=Headline("hold_s", "tandem stance (s)"),
        needs_chair=True,
        amount="hold_s",
        option="stance",
        option_cycle=STANCES,
        variant=_tandem_variant,
        leg_parameter="front",
        one_leg_or_eyes_closed=lambda params: True,
    ),
    ExerciseSpec(
        "limits-of-stability",
        LimitsOfStability,
        "Reaching leans",
        "Keep your feet still. Lean towards each circle as far as you safely can.",
        parameters=(
            Parameter(
                "body_height_m",
                "height {:.2f} m",
                float,
                _default(LimitsOfStability, "body_height_m"),
                *HEIGHT_RANGE_M,
                "m",
                step=0.05,
                help="the patient's height: it sets how far the targets are",
            ),
        ),
        amount="body_height_m",
    ),
)

EXERCISES: dict[str, ExerciseSpec] = {spec.name: spec for spec in _SPECS}
"""Every exercise by its name, in the order the product offers them."""

NAMES: tuple[str, ...] = tuple(EXERCISES)


def exercise_spec(name: str) -> ExerciseSpec:
    """The exercise called ``name``; ValueError naming the known ones otherwise."""
    spec = EXERCISES.get(name)
    if spec is None:
        raise ValueError(f"unknown exercise {name!r}; one of {', '.join(NAMES)}")
    return spec


def title_of(name: str) -> str:
    """An exercise's title; an unknown name (an old record) is shown as it is."""
    spec = EXERCISES.get(name)
    return spec.title if spec else name
