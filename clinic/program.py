"""The therapist's program (prescription): which exercises, with what parameters, and how they
progress. A TOML file the therapist writes, edits on the device, or imports from a USB stick.

It feeds the app (``display.session.plan_from_program``) and the report (prescribed against
done). Every problem is reported with the file, the line and the field, in words a therapist
understands; nothing is half-loaded. What each exercise takes (names, ranges, units, help) comes
from the exercise registry (``exercises.registry``), which also writes the comments of a saved
file.

The patient's affected side is kept in the patient's record (``clinic.store``), the one source
of truth; a program file may state it (``affected_side``), and importing such a file sets the
record (``clinic.actions``).

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
from datetime import datetime
from pathlib import Path

from device.files import atomic_write_text
from exercises.registry import EXERCISES, exercise_spec

FILE_NAME = "program.toml"
SIDES = ("left", "right", "none")
ITEM_KEYS = {"name", "repetitions"}
RULE_KEYS = {"exercise", "field", "after_sessions", "step", "limit"}
MAX_REPETITIONS = 10


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
    """A prescription: the exercises in order, and the rules that progress them.

    ``affected_side`` is what the file states ("left", "right" or "none"), None when it is
    silent; the patient's record holds the side in force.
    """

    exercises: tuple[ProgramItem, ...]
    affected_side: str | None = None
    progression: tuple[ProgressionRule, ...] = ()

    def resolved_params(self, item: ProgramItem, affected_side: str | None = None) -> dict:
        """The item's parameters with ``leg = affected/unaffected`` turned into left/right, for
        the patient's ``affected_side`` (by default the side the file states; the left leg when
        no side is known)."""
        params = dict(item.params)
        leg = params.get("leg")
        if leg in ("affected", "unaffected"):
            side = affected_side if affected_side is not None else self.affected_side
            side = side if side in ("left", "right") else "left"
            other = "right" if side == "left" else "left"
            params["leg"] = side if leg == "affected" else other
        return params

    def with_side(self, affected_side: str | None) -> Program:
        """The same program stating the patient's side (None in the record: "none")."""
        return replace(self, affected_side=affected_side or "none")

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
    side = data.get("affected_side")
    if side is not None and side not in SIDES:
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
        if name not in EXERCISES:
            fail("name", f"unknown exercise {name!r}; known: {', '.join(EXERCISES)}")
        spec = EXERCISES[name]
        params = {}
        for key, value in raw.items():
            if key in ITEM_KEYS:
                continue
            if key not in spec.parameter_names:
                fail(
                    key,
                    f"{name} has no setting '{key}' (it has: {', '.join(spec.parameter_names)})",
                )
            try:
                params[key] = spec.parameter(key).check(value)
            except ValueError as exc:
                fail(key, str(exc))
        try:
            reps = _number(raw.get("repetitions", 1), int, 1, MAX_REPETITIONS, "repetitions")
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
        if exercise not in EXERCISES:
            fail("exercise", f"unknown exercise {exercise!r}")
        if name not in EXERCISES[exercise].progressable:
            fail("field", f"{exercise} has no number '{name}' to progress")
        parameter = EXERCISES[exercise].parameter(name)
        low, high, unit = parameter.low, parameter.high, parameter.unit
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
    """The TOML text of a program (``parse_program`` reads it back equal), each setting with its
    help from the exercise registry as a comment."""
    lines = ["# Balance board program (see clinic/program.py for every setting)"]
    if program.affected_side is not None:
        lines.append(f"affected_side = {_value(program.affected_side)}   # left | right | none")
    for item in program.exercises:
        spec = exercise_spec(item.exercise)
        lines += ["", "[[exercise]]", f"name = {_value(item.exercise)}   # {spec.title}"]
        for key, value in item.params.items():
            parameter = spec.parameter(key)
            help_ = parameter.help
            if parameter.numeric and not parameter.choices:
                help_ += f" ({parameter.low:g} to {parameter.high:g} {parameter.unit})"
            lines.append(f"{key} = {_value(value)}   # {help_}")
        if item.repetitions != 1:
            lines.append(f"repetitions = {item.repetitions}   # times a session")
    for rule in program.progression:
        lines += [
            "",
            "[[progression]]",
            f"exercise = {_value(rule.exercise)}",
            f"field = {_value(rule.field)}",
            f"after_sessions = {rule.after_sessions}   # sessions in a row meeting the target",
            f"step = {_value(rule.step)}   # added each time",
            f"limit = {_value(rule.limit)}   # never beyond this",
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
            parameter = exercise_spec(item.exercise).parameter(rule.field)
            old = item.params.get(rule.field, parameter.default)
            new = old + rule.step
            new = min(new, rule.limit) if rule.step > 0 else max(new, rule.limit)
            if parameter.kind is int:
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
