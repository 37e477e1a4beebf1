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

import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from device.files import atomic_write_text
from exercises.registry import EXERCISES, check_number, exercise_spec, shown

FILE_NAME = "program.toml"
SIDES = ("left", "right", "none")
ITEM_KEYS = {"name", "repetitions"}
RULE_KEYS = {"exercise", "field", "after_sessions", "step", "limit"}
MAX_REPETITIONS = 10
MAX_EXERCISES = 30  # a program is what one session can hold
MAX_RULES = 30
MAX_PROGRAM_BYTES = 64_000  # 30 exercises and 30 rules with comments fit in a few kB


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
        ProgramItem("quiet-stance", {"eyes": "open", "duration_s": 30.0}),  # 30 s: reliable sway
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


def parse_program(text: str, source: str = "program") -> Program:
    """A Program from TOML text; ProgramError naming the line and field otherwise. A byte order
    mark at the start (Windows' Notepad writes one) is not part of the program."""
    text = text.removeprefix("\ufeff")
    if len(text) > MAX_PROGRAM_BYTES:
        raise ProgramError(
            source, None, f"larger than a program can be ({MAX_PROGRAM_BYTES} bytes)"
        )
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise ProgramError(source, None, "this is not a program (nested too deeply)") from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise ProgramError(source, line, f"this is not a valid TOML file ({exc})") from None
    unknown = set(data) - {"affected_side", "exercise", "progression", "patient"}
    for key in sorted(unknown):
        raise ProgramError(source, _top_line(text, key), f"unknown setting {shown(key)}")
    side = data.get("affected_side")
    if side is not None and (not isinstance(side, str) or side not in SIDES):
        raise ProgramError(
            source,
            _top_line(text, "affected_side"),
            f"affected_side must be one of {', '.join(SIDES)}, not {shown(side)}",
        )
    items_raw = data.get("exercise")
    if not isinstance(items_raw, list) or not items_raw:
        raise ProgramError(source, None, "the program has no [[exercise]] entries")
    if len(items_raw) > MAX_EXERCISES:
        raise ProgramError(source, None, f"at most {MAX_EXERCISES} exercises in a program")
    items = [_item(text, source, i, raw) for i, raw in enumerate(items_raw)]
    rules_raw = data.get("progression", [])
    if not isinstance(rules_raw, list):
        raise ProgramError(
            source, _top_line(text, "progression"), "write progression rules as [[progression]]"
        )
    if len(rules_raw) > MAX_RULES:
        raise ProgramError(source, None, f"at most {MAX_RULES} progression rules in a program")
    rules = [_rule(text, source, i, raw, items) for i, raw in enumerate(rules_raw)]
    return Program(tuple(items), side, tuple(rules))


def _item(text: str, source: str, i: int, raw) -> ProgramItem:
    """One [[exercise]] table, checked against the exercise registry."""

    def fail(key, message):
        raise ProgramError(source, _line_of(text, "exercise", i, key), message)

    if not isinstance(raw, dict):
        fail(None, f"exercise {i + 1} must be an [[exercise]] table")
    name = raw.get("name")
    if name is None:
        fail(None, f"exercise {i + 1} has no name")
    if not isinstance(name, str) or name not in EXERCISES:
        fail("name", f"unknown exercise {shown(name)}; known: {', '.join(EXERCISES)}")
    spec = EXERCISES[name]
    params = {}
    for key, value in raw.items():
        if key in ITEM_KEYS:
            continue
        if key not in spec.parameter_names:
            fail(
                key,
                f"{name} has no setting {shown(key)} (it has: {', '.join(spec.parameter_names)})",
            )
        try:
            params[key] = spec.parameter(key).check(value)
        except ValueError as exc:
            fail(key, str(exc))
    try:
        reps = check_number(raw.get("repetitions", 1), int, 1, MAX_REPETITIONS, "repetitions")
    except ValueError as exc:
        fail("repetitions", str(exc))
    if "ceiling_s" in params and params["ceiling_s"] < spec.value(params, "hold_s"):
        fail("ceiling_s", "ceiling_s must be at least hold_s (she may go past the target)")
    return ProgramItem(name, params, reps)


def _rule(text: str, source: str, i: int, raw, items: list[ProgramItem]) -> ProgressionRule:
    """One [[progression]] table: the exercise's number it moves, by how much, up to where.
    The step must point toward the limit (a rule that moves a prescription the wrong way is
    refused)."""

    def fail(key, message):
        raise ProgramError(source, _line_of(text, "progression", i, key), message)

    if not isinstance(raw, dict):
        fail(None, f"progression rule {i + 1} must be a [[progression]] table")
    for key in raw:
        if key not in RULE_KEYS:
            fail(key, f"a progression rule has no setting {shown(key)}")
    for key in sorted(RULE_KEYS - set(raw)):
        fail(None, f"progression rule {i + 1} needs '{key}'")
    exercise, name = raw["exercise"], raw["field"]
    if not isinstance(exercise, str) or exercise not in EXERCISES:
        fail("exercise", f"unknown exercise {shown(exercise)}")
    if not isinstance(name, str) or name not in EXERCISES[exercise].progressable:
        fail("field", f"{exercise} has no number {shown(name)} to progress")
    parameter = EXERCISES[exercise].parameter(name)
    low, high, unit = parameter.low, parameter.high, parameter.unit
    try:
        after = check_number(raw["after_sessions"], int, 1, 20, "after_sessions")
    except ValueError as exc:
        fail("after_sessions", str(exc))
    try:
        step = check_number(raw["step"], parameter.kind, -high, high, f"step ({unit})")
        if step == 0:
            raise ValueError("step must not be 0")
    except ValueError as exc:
        fail("step", str(exc))
    try:
        limit = check_number(raw["limit"], float, low, high, f"limit ({unit})")
    except ValueError as exc:
        fail("limit", str(exc))
    for item in items:
        if item.exercise != exercise:
            continue
        value = item.params.get(name, parameter.default)
        if value is None:
            continue  # not prescribed (e.g. no support limit yet): nothing to move
        if (step > 0 and limit < value) or (step < 0 and limit > value):
            way = "up" if step > 0 else "down"
            fail(
                "step",
                f"step {step:g} moves {name} {way}, away from its limit {limit:g} "
                f"(it is {value:g} now): the step must point toward the limit",
            )
    return ProgressionRule(exercise, name, after, float(step), limit)


def load_program(path: str | Path) -> Program:
    """The program in a file; ProgramError naming the file (and the line) otherwise: no such
    file, a folder, not text, larger than ``MAX_PROGRAM_BYTES``, or a program that does not
    check."""
    path = Path(path)
    try:
        if path.is_dir():
            raise ProgramError(str(path), None, "is a folder, not a program file")
        if path.exists() and not path.is_file():
            # /dev/zero has no size to refuse and no end: reading it would never finish
            raise ProgramError(
                str(path), None, "is not a regular file (a device, a pipe or a socket)"
            )
        if path.stat().st_size > MAX_PROGRAM_BYTES:
            raise ProgramError(
                str(path), None, f"is larger than a program can be ({MAX_PROGRAM_BYTES} bytes)"
            )
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
TARGET_SCORE = 80.0  # a result without flags (older records) met its target at this score


@dataclass(frozen=True)
class Decision:
    """What a progression rule does for one exercise and leg after a session: "advance" (one
    step toward the limit), "hold" (nothing) or "back" (one step away from it), and why."""

    exercise: str
    field: str
    leg: str | None
    action: str
    reason: str


def _met(trial) -> bool:
    """A complete trial reached its target: flagged so (or, for older records without flags, a
    score of at least ``TARGET_SCORE``)."""
    if trial.status != "complete" or trial.score is None:
        return False
    flags = (trial.result or {}).get("flags")
    if flags is None:
        return trial.score >= TARGET_SCORE
    return "target_reached" in flags


def _unsafe(trial) -> bool:
    """A trial stopped for safety, in which the patient lost balance, or stepped off."""
    if trial.status == "aborted":
        return True
    flags = (trial.result or {}).get("flags") or []
    return "loss_of_balance" in flags or "stepped_off" in flags


def leg_of(exercise: str, params: dict) -> str | None:
    """The leg an exercise's parameters are for (the stance leg, the front foot), with the
    exercise's default when not given; None for exercises done on both legs."""
    spec = EXERCISES.get(exercise)
    if spec is None or spec.leg_parameter is None:
        return None
    return params.get(spec.leg_parameter, spec.parameter(spec.leg_parameter).default)


def value_since(
    versions: list[dict], program: Program, rule, leg: str | None, affected_side: str | None
) -> int | str | None:
    """When the value a rule moves, for this leg, last changed: of the oldest of the latest
    program versions that all prescribe today's value, the newest trial id before it
    (``after_trial_id``, as ``Store.programs`` gives it), else the time it was saved (None:
    always so). Each leg's run counts from its own change, not from the other leg's."""

    def value_in(prog: Program):
        for item in prog.exercises:
            params = prog.resolved_params(item, affected_side)
            if item.exercise == rule.exercise and leg_of(item.exercise, params) == leg:
                return params.get(rule.field)
        return None

    current = value_in(program)
    since = None
    for version in reversed(versions):
        try:
            earlier = parse_program(version["text"], "saved program")
        except ProgramError:
            break
        if value_in(earlier) != current:
            break
        # the newest trial before that version (the records' order, robust to a clock that
        # jumped); the time it was saved for versions kept without it
        if "after_trial_id" in version:
            since = version["after_trial_id"] or 0  # None: no trial before it
        else:
            since = version["saved_at"]
    return since


def since_by_leg(
    versions: list[dict], program: Program, affected_side: str | None
) -> dict[tuple[str, str, str | None], int | str | None]:
    """For every rule and every leg it moves: when that value last changed (``value_since``),
    as ``progression_decisions`` takes it. Pure."""
    since = {}
    for rule in program.progression:
        for item in program.exercises:
            if item.exercise != rule.exercise:
                continue
            leg = leg_of(item.exercise, program.resolved_params(item, affected_side))
            key = (rule.exercise, rule.field, leg)
            if key not in since:
                since[key] = value_since(versions, program, rule, leg, affected_side)
    return since


def progression_decisions(
    program: Program,
    trials,
    since_iso: str | int | dict | None,
    affected_side: str | None = None,
) -> list[Decision]:
    """For each rule and each leg it applies to, what the sessions since its value last changed
    (``since_iso``: one time for all, or {(exercise, field, leg): time}; or, robust to a clock
    that jumped, the id of the newest trial before the change, as ``Store.programs`` gives it in
    ``after_trial_id``) ask for, each leg on its own results:

    - a session with a safety stop, a loss of balance or a step off in that exercise holds it
      back: no step that time; two such sessions in a row step it back, away from the limit
      (whenever the value last changed: safety looks at the last two sessions);
    - otherwise ``after_sessions`` sessions in a row that reached the target step it forward;
      an unsafe session ends a run.

    Sessions without that exercise and leg do not break a run. Pure: ``trials`` are the store's
    TrialRecords, oldest first."""
    per_session: dict[tuple[str, str | None], dict[int, list]] = {}
    order: list[int] = []
    for t in trials:
        if t.session_id not in order:
            order.append(t.session_id)
        key = (t.exercise, leg_of(t.exercise, t.parameters))
        per_session.setdefault(key, {}).setdefault(t.session_id, []).append(t)
    decisions = []
    for rule in program.progression:
        legs = {
            leg_of(item.exercise, program.resolved_params(item, affected_side))
            for item in program.exercises
            if item.exercise == rule.exercise
        }
        for leg in sorted(legs, key=str):
            sessions = per_session.get((rule.exercise, leg), {})
            done = [sessions[s] for s in order if s in sessions]  # oldest first
            since_text = (
                since_iso.get((rule.exercise, rule.field, leg))
                if isinstance(since_iso, dict)
                else since_iso
            )
            if isinstance(since_text, int):  # a trial id: the records' order, not the clock's
                since = since_text
            else:
                since = datetime.fromisoformat(since_text) if since_text else None
            if done and any(_unsafe(t) for t in done[-1]):
                twice = len(done) >= 2 and any(_unsafe(t) for t in done[-2])
                action = "back" if twice else "hold"
                reason = (
                    "safety stops or losses of balance in two sessions in a row"
                    if twice
                    else "a safety stop or a loss of balance last session"
                )
                decisions.append(Decision(rule.exercise, rule.field, leg, action, reason))
                continue
            run = 0
            for trials_of_session in reversed(done):
                first = trials_of_session[0]
                started = first.id if isinstance(since, int) else first.started_at
                started = datetime.fromisoformat(started) if isinstance(started, str) else started
                if since is not None and started <= since:
                    break  # before the value last changed
                if any(_unsafe(t) for t in trials_of_session):
                    break  # an unsafe session ends a run
                if not any(_met(t) for t in trials_of_session):
                    break
                run += 1
            if run >= rule.after_sessions:
                reason = f"target reached in {run} sessions in a row"
                decisions.append(Decision(rule.exercise, rule.field, leg, "advance", reason))
            else:
                reason = f"target reached in {run} of {rule.after_sessions} sessions in a row"
                decisions.append(Decision(rule.exercise, rule.field, leg, "hold", reason))
    return decisions


def progress(
    program: Program, decisions: list[Decision], affected_side: str | None = None
) -> tuple[Program, list]:
    """Apply the decisions: each item of the exercise and leg moves one step of its rule toward
    the limit ("advance", never past it, never the other way) or away from it ("back", within
    the parameter's range). Returns the new program and a list of (exercise, field, old, new,
    leg) changes (pure: no I/O)."""
    changes = []
    items = list(program.exercises)
    rules = {(r.exercise, r.field): r for r in program.progression}
    for decision in decisions:
        if decision.action == "hold":
            continue
        rule = rules[(decision.exercise, decision.field)]
        for i, item in enumerate(items):
            leg = leg_of(item.exercise, program.resolved_params(item, affected_side))
            if item.exercise != rule.exercise or leg != decision.leg:
                continue
            parameter = exercise_spec(item.exercise).parameter(rule.field)
            old = item.params.get(rule.field, parameter.default)
            if old is None:
                continue  # not prescribed for this item
            if decision.action == "advance":
                new = old + rule.step
                # toward the limit, never past it, never backwards from beyond it
                new = (
                    max(old, min(new, rule.limit))
                    if rule.step > 0
                    else min(old, max(new, rule.limit))
                )
            else:
                new = parameter.clamp(old - rule.step)
            new = parameter.clamp(new)
            if new != old:
                params = {**item.params, rule.field: new}
                # a ceiling below the new target would cut her off before she reaches it
                ceiling = params.get("ceiling_s")
                if rule.field == "hold_s" and ceiling is not None and ceiling < new:
                    params["ceiling_s"] = new
                    changes.append((item.exercise, "ceiling_s", ceiling, new, leg))
                items[i] = replace(item, params=params)
                changes.append((item.exercise, rule.field, old, new, leg))
    return replace(program, exercises=tuple(items)), changes
