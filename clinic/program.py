"""The therapist's program (prescription): which exercises, with what parameters, and how they
progress. A TOML file the therapist writes, edits on the device, or imports from a USB stick.

It feeds the app (``display.session.plan_from_program``) and the report (prescribed against
done). Every problem is reported with the file, the line and the field, in words a therapist
understands; nothing is half-loaded.

Example file::

    affected_side = "left"        # left | right | none

    [[exercise]]
    name = "quiet-stance"
    eyes = "open"
    duration_s = 30

    [[exercise]]
    name = "flamingo"
    leg = "affected"              # left | right | affected | unaffected
    hold_s = 10
    repetitions = 2               # times per session (default 1)

    [[progression]]
    exercise = "flamingo"
    field = "hold_s"
    after_sessions = 3            # sessions in a row meeting the target
    step = 5                      # added each time (negative to reduce)
    limit = 30                    # never beyond this

Example::

    program = load_program(folder / "program.toml")
    for item in program.exercises: ...
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from device.calibration import atomic_write_text

FILE_NAME = "program.toml"
SIDES = ("left", "right", "none")

# What each exercise takes: field → (type, lowest, highest, unit or choices)
PARAMETERS: dict[str, dict[str, tuple]] = {
    "quiet-stance": {
        "eyes": (str, ("open", "closed")),
        "duration_s": (float, 5.0, 120.0, "s"),
    },
    "flamingo": {
        "leg": (str, ("left", "right", "affected", "unaffected")),
        "hold_s": (float, 2.0, 120.0, "s"),
    },
    "heel-raises": {"target_reps": (int, 1, 50, "repetitions")},
    "toe-raises": {"target_reps": (int, 1, 50, "repetitions")},
    "weight-shift": {
        "axis": (str, ("lateral", "anteroposterior")),
        "cycles": (int, 1, 40, "cycles"),
        "pace_s": (float, 1.0, 3.0, "s"),
        "target_mm": (float, 10.0, 200.0, "mm"),
    },
    "limits-of-stability": {"body_height_m": (float, 1.0, 2.3, "m")},
}
# Fields a progression rule may change (numbers only)
PROGRESSABLE = {
    name: [f for f, spec in fields.items() if spec[0] in (int, float)]
    for name, fields in PARAMETERS.items()
}
ITEM_KEYS = {"name", "repetitions"}
RULE_KEYS = {"exercise", "field", "after_sessions", "step", "limit"}


class ProgramError(ValueError):
    """A problem in a program file: where it is and what is wrong, in words."""

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source, self.line, self.message = source, line, message
        where = f"{source}, line {line}" if line else source
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class ProgramItem:
    exercise: str
    params: dict = field(default_factory=dict)
    repetitions: int = 1


@dataclass(frozen=True)
class ProgressionRule:
    exercise: str
    field: str
    after_sessions: int
    step: float
    limit: float


@dataclass(frozen=True)
class Program:
    exercises: tuple[ProgramItem, ...]
    affected_side: str = "none"
    progression: tuple[ProgressionRule, ...] = ()

    def resolved_params(self, item: ProgramItem) -> dict:
        """The item's parameters with ``leg = affected/unaffected`` turned into left/right."""
        params = dict(item.params)
        leg = params.get("leg")
        if leg in ("affected", "unaffected"):
            side = self.affected_side if self.affected_side != "none" else "left"
            other = "right" if side == "left" else "left"
            params["leg"] = side if leg == "affected" else other
        return params

    def with_item(self, index: int, item: ProgramItem) -> Program:
        items = list(self.exercises)
        items[index] = item
        return replace(self, exercises=tuple(items))


DEFAULT_PROGRAM = Program(
    exercises=(
        ProgramItem("quiet-stance", {"eyes": "open", "duration_s": 10.0}),
        ProgramItem("heel-raises", {"target_reps": 5}),
        ProgramItem("flamingo", {"leg": "affected", "hold_s": 8.0}),
        ProgramItem("weight-shift", {"cycles": 2}),
    ),
    progression=(ProgressionRule("flamingo", "hold_s", 3, 5.0, 30.0),),
)


# --- reading ------------------------------------------------------------------------------------
def _line_of(text: str, table: str, index: int, key: str | None) -> int | None:
    """Line number of ``key`` in the ``index``-th ``[[table]]`` (or of the header)."""
    count = -1
    header_line = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            if re.fullmatch(rf"\[\[\s*{table}\s*\]\]\s*(#.*)?", stripped):
                count += 1
                if count == index:
                    header_line = number
                    if key is None:
                        return number
                    continue
            if count == index and header_line is not None and number > header_line:
                break
        elif count == index and key is not None and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return header_line


def _top_line(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip().startswith("["):
            return None
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return number
    return None


def _number(value, kind, low, high, what: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, not {value!r}")
    if kind is int and (isinstance(value, float) and not value.is_integer()):
        raise ValueError(f"{what} must be a whole number, not {value!r}")
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"{what} must be between {low:g} and {high:g}, not {value!r}")
    return kind(value)


def parse_program(text: str, source: str = "program") -> Program:
    """A Program from TOML text; ProgramError naming the line and field otherwise."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise ProgramError(source, line, f"this is not a valid TOML file ({exc})") from None
    unknown = set(data) - {"affected_side", "exercise", "progression", "patient"}
    for key in sorted(unknown):
        raise ProgramError(source, _top_line(text, key), f"unknown setting '{key}'")
    side = data.get("affected_side", "none")
    if side not in SIDES:
        raise ProgramError(
            source,
            _top_line(text, "affected_side"),
            f"affected_side must be one of {', '.join(SIDES)}, not {side!r}",
        )
    items_raw = data.get("exercise")
    if not isinstance(items_raw, list) or not items_raw:
        raise ProgramError(source, None, "the program has no [[exercise]] entries")
    items = []
    for i, raw in enumerate(items_raw):

        def fail(key, message, i=i):
            raise ProgramError(source, _line_of(text, "exercise", i, key), message)

        name = raw.get("name")
        if name is None:
            fail(None, f"exercise {i + 1} has no name")
        if name not in PARAMETERS:
            fail("name", f"unknown exercise {name!r}; known: {', '.join(PARAMETERS)}")
        specs = PARAMETERS[name]
        params = {}
        for key, value in raw.items():
            if key in ITEM_KEYS:
                continue
            spec = specs.get(key)
            if spec is None:
                fail(key, f"{name} has no setting '{key}' (it has: {', '.join(specs)})")
            try:
                if spec[0] is str:
                    if value not in spec[1]:
                        raise ValueError(
                            f"{key} must be one of {', '.join(spec[1])}, not {value!r}"
                        )
                    params[key] = value
                else:
                    params[key] = _number(value, spec[0], spec[1], spec[2], f"{key} ({spec[3]})")
            except ValueError as exc:
                fail(key, str(exc))
        if name == "weight-shift" and "pace_s" in params and params["pace_s"] not in (1, 2, 3):
            fail("pace_s", "pace_s must be 1, 2 or 3 seconds per cycle")
        try:
            reps = _number(raw.get("repetitions", 1), int, 1, 10, "repetitions")
        except ValueError as exc:
            fail("repetitions", str(exc))
        items.append(ProgramItem(name, params, reps))
    rules = []
    for i, raw in enumerate(data.get("progression", [])):

        def fail(key, message, i=i):
            raise ProgramError(source, _line_of(text, "progression", i, key), message)

        for key in raw:
            if key not in RULE_KEYS:
                fail(key, f"a progression rule has no setting '{key}'")
        for key in sorted(RULE_KEYS - set(raw)):
            fail(None, f"progression rule {i + 1} needs '{key}'")
        exercise, name = raw["exercise"], raw["field"]
        if exercise not in PARAMETERS:
            fail("exercise", f"unknown exercise {exercise!r}")
        if name not in PROGRESSABLE[exercise]:
            fail("field", f"{exercise} has no number '{name}' to progress")
        _, low, high, unit = PARAMETERS[exercise][name]
        try:
            after = _number(raw["after_sessions"], int, 1, 20, "after_sessions")
        except ValueError as exc:
            fail("after_sessions", str(exc))
        try:
            step = _number(raw["step"], float, -high, high, f"step ({unit})")
            if step == 0:
                raise ValueError("step must not be 0")
        except ValueError as exc:
            fail("step", str(exc))
        try:
            limit = _number(raw["limit"], float, low, high, f"limit ({unit})")
        except ValueError as exc:
            fail("limit", str(exc))
        rules.append(ProgressionRule(exercise, name, after, step, limit))
    return Program(tuple(items), side, tuple(rules))


def load_program(path: str | Path) -> Program:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ProgramError(str(path), None, "there is no such file") from None
    except UnicodeDecodeError:
        raise ProgramError(str(path), None, "this is not a text file") from None
    except OSError as exc:
        raise ProgramError(str(path), None, f"cannot be read ({exc.strerror})") from None
    return parse_program(text, str(path))


# --- writing ------------------------------------------------------------------------------------
def _value(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def program_text(program: Program) -> str:
    """The TOML text of a program (``parse_program`` reads it back equal)."""
    lines = [
        "# Balance board program (see clinic/program.py for every setting)",
        f"affected_side = {_value(program.affected_side)}",
    ]
    for item in program.exercises:
        lines += ["", "[[exercise]]", f"name = {_value(item.exercise)}"]
        lines += [f"{k} = {_value(v)}" for k, v in item.params.items()]
        if item.repetitions != 1:
            lines.append(f"repetitions = {item.repetitions}")
    for rule in program.progression:
        lines += [
            "",
            "[[progression]]",
            f"exercise = {_value(rule.exercise)}",
            f"field = {_value(rule.field)}",
            f"after_sessions = {rule.after_sessions}",
            f"step = {_value(rule.step)}",
            f"limit = {_value(rule.limit)}",
        ]
    return "\n".join(lines) + "\n"


def save_program(path: str | Path, program: Program) -> None:
    text = program_text(program)
    parse_program(text, str(path))  # never write a file the device could not read back
    atomic_write_text(path, text)


def device_program(folder: Path) -> tuple[Program, str | None]:
    """The program in the data folder; the default one (and why) when it is missing or bad."""
    path = Path(folder) / FILE_NAME
    if not path.exists():
        return DEFAULT_PROGRAM, None
    try:
        return load_program(path), None
    except ProgramError as exc:
        return DEFAULT_PROGRAM, str(exc)


# --- progression --------------------------------------------------------------------------------
def progress(program: Program, met_in_a_row: dict[tuple[str, str], int]) -> tuple[Program, list]:
    """Apply the progression rules: where ``met_in_a_row[(exercise, field)]`` has reached the
    rule's ``after_sessions``, move the field one step towards its limit. Returns the new
    program and a list of (exercise, field, old, new) changes (pure: no I/O)."""
    changes = []
    items = list(program.exercises)
    for rule in program.progression:
        if met_in_a_row.get((rule.exercise, rule.field), 0) < rule.after_sessions:
            continue
        for i, item in enumerate(items):
            if item.exercise != rule.exercise:
                continue
            default = PARAMETERS[item.exercise][rule.field][1]
            old = item.params.get(rule.field, default)
            new = old + rule.step
            new = min(new, rule.limit) if rule.step > 0 else max(new, rule.limit)
            if PARAMETERS[item.exercise][rule.field][0] is int:
                new = round(new)
            if new != old:
                items[i] = replace(item, params={**item.params, rule.field: new})
                changes.append((item.exercise, rule.field, old, new))
    return replace(program, exercises=tuple(items)), changes


TARGET_SCORE = 80.0  # a session "meets the target" of an exercise when its best score is this


def sessions_meeting_target(
    program: Program, trials, since_iso: str | None
) -> dict[tuple[str, str], int]:
    """For each progression rule, how many of the latest sessions in a row (started after
    ``since_iso``, when the program last changed) met the target: the exercise's best score in
    the session at least ``TARGET_SCORE``. Sessions without that exercise do not break the run.
    Pure: ``trials`` are the store's TrialRecords, oldest first."""
    from datetime import datetime

    since = datetime.fromisoformat(since_iso) if since_iso else None
    best: dict[str, dict[int, float]] = {}
    order: list[int] = []
    for t in trials:
        if t.status != "complete" or t.score is None:
            continue
        if since is not None and datetime.fromisoformat(t.started_at) <= since:
            continue
        if t.session_id not in order:
            order.append(t.session_id)
        sessions = best.setdefault(t.exercise, {})
        sessions[t.session_id] = max(sessions.get(t.session_id, t.score), t.score)
    counts = {}
    for rule in program.progression:
        run = 0
        sessions = best.get(rule.exercise, {})
        for session_id in reversed(order):
            if session_id not in sessions:
                continue
            if sessions[session_id] < TARGET_SCORE:
                break
            run += 1
        counts[(rule.exercise, rule.field)] = run
    return counts
