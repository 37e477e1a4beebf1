"""The patient's session: today's plan, the trial in progress, results, safety stops, progression,
and every write to the records. No pygame: the screens show it, tests drive it on its own.

The plan comes from the therapist's program (``clinic.program``): each exercise as many times as
prescribed, the affected leg resolved from the patient's record, titles and instructions from the
exercise registry (``exercises.registry``). A write to the records that fails (a full or damaged
disk) is logged and said in ``problem``; it never stops the session on the patient's screen.

Example::

    session = PatientSession(store, "P-0001", clock=SystemClock(), geometry=BoardGeometry(),
                             board_kind=board.kind, program=program)
    session.start()
    exercise = session.begin_trial(calibration_age_days=12.0)
    ...feed it samples, session.keep_loads(t, loads) for the recording...
    session.finish_trial(exercise.finish())
    more = session.next_exercise()   # False: the session is over (progression applied)
"""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from clinic import actions
from clinic.program import (
    DEFAULT_PROGRAM,
    FILE_NAME,
    Program,
    device_program,
    progress,
    progression_decisions,
    since_by_leg,
)
from clinic.store import RECENT_SESSIONS
from device.geometry import BoardGeometry
from device.recording import METADATA_RANGES, SUBJECT_MASS_KG, Recording
from exercises.base import Exercise, Result, TrialContext
from exercises.registry import exercise_spec

log = logging.getLogger(__name__)


MIN_OWN_TRIALS = 5  # earlier comparable trials before her own variability is used
RECENT_TRIALS = 10  # ... the latest this many


@dataclass(frozen=True)
class Change:
    """A result against the last comparable one: "better" or "worse" only beyond the noise
    (``mdc`` points, from her own trials or the exercise's default), else "same"."""

    last_score: float
    last_value: float | None  # the headline number last time
    change: float
    mdc: float
    source: str  # "own" or "default"
    verdict: str  # better, worse, same


@dataclass(frozen=True)
class PlannedExercise:
    """One exercise of a session: which, with what parameters, and how to explain it."""

    exercise: str
    title: str
    instruction: str
    params: dict = field(default_factory=dict)

    @property
    def needs_chair(self) -> bool:
        return exercise_spec(self.exercise).needs_chair


def planned(exercise: str, params: dict) -> PlannedExercise:
    """An exercise with its parameters, titled and explained as the registry says."""
    spec = exercise_spec(exercise)
    return PlannedExercise(exercise, spec.title_for(params), spec.instruction_for(params), params)


def plan_from_program(program: Program, affected_side: str | None = None) -> tuple:
    """Today's plan from the therapist's program: each exercise as many times as prescribed,
    with the affected leg resolved to left or right for the patient's ``affected_side``."""
    plan = []
    for item in program.exercises:
        params = program.resolved_params(item, affected_side)
        plan += [planned(item.exercise, params)] * item.repetitions
    return tuple(plan)


DEFAULT_PLAN = plan_from_program(DEFAULT_PROGRAM)
"""The plan of the default program, for a patient whose side is not known."""


def change_words(exercise: str, field: str, old, new, leg: str | None) -> str:
    """A progression in words for the therapist's log: "flamingo (left leg) hold_s: 10 → 15"."""
    where = f" ({leg} leg)" if leg else ""
    return f"{exercise}{where} {field}: {old:g} → {new:g}"


class PatientSession:
    """Today's session for one patient, kept in the records.

    :param store: the records (``clinic.store.Store``), or None (the board view alone).
    :param patient_code: whose session.
    :param clock: an ``AppClock`` (``device.clock``): times on the records come from it.
    :param geometry: the board's geometry (stance width, cell spacing for the recordings).
    :param board_kind: which board the sessions are made on, "hx711" (the real board) or "sim"
        (``device.board.Board.kind``): kept with each session. On the simulated board, for a
        patient measured on the real one, results are kept but compared with nothing and move
        no progression.
    :param program: the therapist's program; its progression rules run after each session.
    :param plan: today's plan, when given directly (tests, the demo); else from ``program``.
    :param data_folder: where the program file lives (a progression rewrites it).
    """

    def __init__(
        self,
        store,
        patient_code: str | None,
        *,
        clock,
        geometry: BoardGeometry,
        board_kind: str,
        program: Program | None = None,
        plan: tuple | None = None,
        data_folder: Path | None = None,
    ) -> None:
        self.store = store
        self.patient_code = patient_code
        self.clock = clock
        self.geometry = geometry
        self.board_kind = board_kind
        self.program = program
        self.data_folder = data_folder
        self.plan = tuple(plan) if plan else self._plan_for(program)
        self.index = 0
        self.session_id: int | None = None
        self.trial_id: int | None = None
        self.last_result: Result | None = None
        self.previous_score: float | None = None
        self.completed: list[Result] = []  # this session's results (the records keep them all)
        self.problem: str | None = None  # the last write to the records that failed
        self.started = False  # a session is under way (whether or not the records took it)
        self.on_new_plan: Callable[[], None] | None = None  # e.g. render the new speech
        self._loads: list[tuple[float, tuple]] = []
        self._trial_context = TrialContext(live=True)  # the trial under way's
        self._trial_started_at: str | None = None
        self.weighed_kg: float | None = None  # on the board at this session's start
        self.clock_synchronised: bool | None = None  # as the system said at the start
        self.stance: dict | None = None  # the stance check's findings (exercises.stance_check)
        self.last_change: Change | None = None  # the last result against the one before

    # --- what the screens read -----------------------------------------------------------------
    @property
    def planned(self) -> PlannedExercise:
        return self.plan[self.index]

    @property
    def active(self) -> bool:
        """A session has been started (and not finished): the board check leads on."""
        return bool(self.plan) and self.started

    @property
    def affected_side(self) -> str | None:
        """The patient's affected side, from their record (the one source of truth)."""
        if self.store is None or self.patient_code is None:
            return None
        try:
            return self.store.patient(self.patient_code).affected_side
        except Exception as exc:  # a damaged record: results then name left and right only
            log.error("could not read the patient's record: %s", exc)
            return None

    @property
    def recording(self) -> bool:
        """A trial is under way whose loads are kept."""
        return self.trial_id is not None

    def spoken_texts(self) -> list[str]:
        """Every instruction of the plan, to render as speech ahead of time."""
        return [p.instruction for p in self.plan]

    # --- the session -------------------------------------------------------------------------
    def start(self) -> None:
        """A new session from the first exercise (one left open is closed first)."""
        self.end()
        self.follow_program_file()
        self.index = 0
        self.started = True
        self.completed = []  # a device that runs for months must not hold every result
        self.weighed_kg = None
        self.stance = None
        # a Pi without a network starts from the time of its last shutdown: the session says
        # whether its times can be trusted, and its results are flagged when not
        self.clock_synchronised = self._clock_synchronised()
        if self.clock_synchronised is False:
            log.warning("the clock is not synchronised: this session's times may be wrong")
        if self.store is not None and self.patient_code is not None:
            self.session_id = self._write(
                "start the session",
                self.store.start_session,
                self.patient_code,
                self.now(),
                board=self.board_kind,
                clock_synchronised=self.clock_synchronised,
            )

    def _clock_synchronised(self) -> bool | None:
        asks = getattr(self.clock, "synchronised", None)
        try:
            return asks() if asks is not None else None
        except Exception:  # asking must never stop a session
            return None

    def weigh(self, kg: float) -> None:
        """The weight read on the board at the start, standing still: the body mass for this
        session's support measures (a record's mass weeks old is off by a few %)."""
        self.weighed_kg = float(kg)
        record = self._record_mass()
        if record and abs(kg - record) > 0.1 * record:
            self.log_event(
                "weighed",
                f"weighed {kg:.1f} kg on the board; the record says {record:.1f} kg",
            )
        if self.store is not None and self.session_id is not None:
            self._write(
                "keep the weight", self.store.set_session_measures, self.session_id, body_mass_kg=kg
            )

    @property
    def needs_stance_check(self) -> bool:
        """Check the feet at the start when it matters: the affected side is known and today's
        plan reads the weight on each leg."""
        if self.stance is not None or self.affected_side is None:
            return False
        return any(exercise_spec(p.exercise).exercise_class.uses_weight_share for p in self.plan)

    def set_stance(self, stance: dict) -> None:
        """The stance check's findings: the feet's positions for this session's weight shares."""
        self.stance = dict(stance)
        if self.store is not None and self.session_id is not None:
            self._write(
                "keep the stance",
                self.store.set_session_measures,
                self.session_id,
                stance=self.stance,
            )

    def _record_mass(self) -> float | None:
        if self.store is None or self.patient_code is None:
            return None
        try:
            return self.store.patient(self.patient_code).body_mass_kg
        except Exception:  # a damaged record: no fallback mass
            return None

    def context(self, calibration_age_days: float | None = None) -> TrialContext:
        """What this session's trials know: the side, the body mass (weighed now, else the
        record's), the feet's positions (measured by the stance check, else the marks)."""
        mass, source = self.weighed_kg, "weighed"
        if mass is None:
            mass, source = self._record_mass(), "record"
        stance = self.stance or {}
        return TrialContext(
            stance_width_mm=stance.get("stance_width_mm", self.geometry.stance_width_mm),
            feet_centre_x_mm=stance.get("feet_centre_x_mm", 0.0),
            feet_measured=bool(stance.get("measured")) if stance else False,
            body_mass_kg=mass,
            body_mass_source=source if mass else None,
            affected_side=self.affected_side,
            live=True,
            calibration_age_days=calibration_age_days,
            clock_synchronised=self.clock_synchronised,
        )

    def begin_trial(self, calibration_age_days: float | None = None) -> Exercise:
        """The exercise object for the planned exercise; its trial is opened in the records."""
        item = self.planned
        context = self.context(calibration_age_days)
        exercise = exercise_spec(item.exercise).create(context, item.params)
        self._loads = []
        # what the trial is scored with goes into its recording, so a replay scores it alike
        self._trial_context = context
        self._trial_started_at = self.now()
        if self.store is not None and self.session_id is not None:
            self.trial_id = self._write(
                "begin the trial",
                self.store.begin_trial,
                self.session_id,
                item.exercise,
                item.params,
                self._trial_started_at,
            )
        return exercise

    def keep_loads(self, t: float, loads_kg: tuple) -> None:
        """One calibrated sample of the trial in progress, for its recording."""
        self._loads.append((t, loads_kg))

    def finish_trial(self, result: Result) -> None:
        """The trial's result and recording into the records, with the score of last time."""
        self.last_result = result
        self.completed.append(result)
        self.previous_score = None
        self.last_change = None
        if self.store is not None and self.trial_id is not None:
            self.last_change = self._write("compare with last time", self._change, result)
            if self.last_change is not None:
                self.previous_score = self.last_change.last_score
            try:
                recording = self._recording()
            except ValueError as exc:  # the record is kept without its raw data
                log.error("could not keep the trial's recording: %s", exc)
                recording = None
            self._write(
                "keep the result",
                self.store.finish_trial,
                self.trial_id,
                result.to_dict(),
                recording,
                self.now(),
            )
            self.trial_id = None
        self._loads = []

    def _change(self, result: Result) -> Change | None:
        """This result against the last comparable one (same exercise, leg, eyes, duration),
        judged against the patient's own variability (``MIN_OWN_TRIALS`` or more earlier
        trials: MDC95 = 1.96·√2·SD of their scores) or the exercise's documented default."""
        if result.score is None or self._stray_simulation():
            return None
        item = self.planned
        spec = exercise_spec(item.exercise)
        earlier = [
            t
            for t in self.store.trials(
                self.patient_code, item.exercise, recent_sessions=RECENT_SESSIONS
            )
            if t.id != self.trial_id
            and t.score is not None
            and spec.comparable(item.params, t.parameters)
        ]
        if not earlier:
            return None
        scores = [t.score for t in earlier[-RECENT_TRIALS:]]
        if len(scores) >= MIN_OWN_TRIALS:
            mdc, source = 1.96 * math.sqrt(2) * statistics.stdev(scores), "own"
        else:
            mdc, source = spec.default_mdc(item.params), "default"
        last = earlier[-1]
        headline = spec.headline.metric if spec.headline else None
        last_value = ((last.result or {}).get("metrics") or {}).get(headline) if headline else None
        change = result.score - last.score
        verdict = "same" if abs(change) <= mdc else ("better" if change > 0 else "worse")
        return Change(last.score, last_value, change, mdc, source, verdict)

    def skip(self, reason: str) -> bool:
        """The patient did not do the planned exercise (nobody nearby, say): logged for the
        therapist; on to the next one (``next_exercise``)."""
        self.log_event("skipped", f"{self.planned.title}: {reason}")
        return self.next_exercise()

    def ask_for_help(self) -> None:
        """The patient asked for help after a safety stop: an event the therapist sees."""
        self.log_event("help_requested", "the patient asked for help after a safety stop")

    def safety_stop(self, reason: str) -> None:
        """The trial stopped for safety: kept as aborted, and an event for the therapist."""
        if self.store is not None:
            if self.trial_id is not None:
                self._write(
                    "mark the trial stopped",
                    self.store.abort_trial,
                    self.trial_id,
                    reason,
                    self.now(),
                )
                self.trial_id = None
            self.log_event("safety_stop", reason)
        self._loads = []

    def next_exercise(self) -> bool:
        """On to the next exercise: True when there is one; False when the session is over
        (then it is closed in the records and the program's progression rules applied)."""
        self.index += 1
        if self.index < len(self.plan):
            return True
        ended = self.session_id is not None
        self.end()
        if ended:
            self._write("apply the progression", self.progress_program)
        self.index = 0
        return False

    def end(self) -> None:
        """Close the session in the records (finished, or left after a safety stop)."""
        if self.store is not None and self.session_id is not None:
            self._write("end the session", self.store.end_session, self.session_id, self.now())
        self.session_id = None
        self.started = False

    # --- the program -------------------------------------------------------------------------
    def follow_program_file(self) -> None:
        """The program file as it is now: a program imported while the app ran (``balance-board
        program FILE``, which also keeps its version in the records) is in force from the next
        session, and a later progression starts from it. A file that cannot be read now keeps
        the program in use (a prescription never falls back to the default mid-run)."""
        if self.data_folder is None or not (Path(self.data_folder) / FILE_NAME).exists():
            return
        program, problem = device_program(self.data_folder)
        if problem:
            log.error("the program file cannot be read; the program in use stays: %s", problem)
            return
        if program == self.program:
            return
        log.info("the program file changed: the new program is in force from this session")
        self.set_program(program)
        self.keep_program_version("device")

    def set_program(self, program: Program) -> None:
        """A new program: today's plan follows it from the next session."""
        self.program = program
        self.plan = self._plan_for(program)
        if self.on_new_plan is not None:
            self.on_new_plan()

    def keep_program_version(self, source: str) -> None:
        """Keep the program in force in the records (the report compares done with
        prescribed)."""
        if self.store is None or self.patient_code is None or self.program is None:
            return
        self._write(
            "keep the program",
            actions.keep_program_version,
            self.store,
            self.patient_code,
            self.program,
            now_iso=self.now(),
            source=source,
        )

    def progress_program(self) -> None:
        """After a session: apply the program's progression rules (automatic progression),
        keep the new version in the records and the program file, and log what changed."""
        program, store, code = self.program, self.store, self.patient_code
        if program is None or not program.progression or store is None or code is None:
            return
        if self._stray_simulation():
            self.log_event("progression", "not applied: this session was on the simulated board")
            return
        side = self.affected_side
        # each leg's run counts from when its own value last changed, not the other leg's; by
        # trial ids (the records' order), not clock times, which jump
        since = since_by_leg(store.programs(code), program, side)
        trials = store.trials(code, status=None, recent_sessions=RECENT_SESSIONS)
        decisions = progression_decisions(program, trials, since, side)
        new, changes = progress(program, decisions, side)
        moved = {(exercise, field, leg) for exercise, field, _, _, leg in changes}
        for d in decisions:
            leg = f" ({d.leg} leg)" if d.leg else ""
            if d.action == "hold" and "safety" in d.reason:
                self.log_event("progression", f"{d.exercise}{leg} {d.field} held: {d.reason}")
            elif d.action != "hold" and (d.exercise, d.field, d.leg) not in moved:
                # a step that cannot be taken (already at the limit or the minimum) is said
                where = "its limit" if d.action == "advance" else "its lowest setting"
                self.log_event(
                    "progression", f"{d.exercise}{leg} {d.field} stays at {where}: {d.reason}"
                )
        if not changes:
            return
        words = [change_words(*change) for change in changes]
        summary = "; ".join(words)
        new = actions.prescribe(
            self.data_folder,
            store,
            code,
            new.with_side(self.affected_side),  # a progression never changes the side
            now_iso=self.now(),
            source="progression",
            message=f"progression: {summary}",
        )
        for text in words:
            self.log_event("progression", text)
        self.set_program(new)

    # --- records -------------------------------------------------------------------------------
    def _stray_simulation(self) -> bool:
        """This session is on the simulated board and she has been measured on the real one:
        its results are kept and marked, but judge nothing of hers (``clinic.store``,
        ``counts_in_trends``)."""
        if self.board_kind != "sim":
            return False
        return self.store.measured_on_real_board(self.patient_code)

    def now(self) -> str:
        return self.clock.now_iso()

    def log_event(self, kind: str, message: str) -> None:
        """A device event for the therapist's log (calibration, PIN, export, safety stop …)."""
        if self.store is not None:
            self._write(
                f"log {kind}", self.store.log_event, kind, message, self.now(), self.session_id
            )

    def _write(self, what: str, action: Callable, *args, **kwargs):
        """Run a write to the records; a failure is logged and kept in ``problem``, never
        raised to the screen."""
        try:
            return action(*args, **kwargs)
        except Exception as exc:
            log.exception("could not %s", what)
            self.problem = f"The result could not be saved ({type(exc).__name__})."
            return None

    def _plan_for(self, program: Program | None) -> tuple:
        if program is None:
            return ()
        return plan_from_program(program, self.affected_side)

    def _recording(self) -> Recording | None:
        """The trial's recording (format v1), with what it was scored with in its header (the
        side, the body mass and how it was known, the feet, the rate, made live) and its times
        from its first reading, as the exercise counted them: replayed, it scores the same."""
        if len(self._loads) < 2:
            return None
        item, context = self.planned, self._trial_context
        leg_parameter = exercise_spec(item.exercise).leg_parameter
        # a value out of the format's ranges would make the kept recording unreadable: left out
        mass = context.body_mass_kg
        known = mass is not None and SUBJECT_MASS_KG[0] <= mass <= SUBJECT_MASS_KG[1]
        low, high, _ = METADATA_RANGES["stance_width_mm"]
        stance = context.stance_width_mm
        if not low <= stance <= high:
            stance = self.geometry.stance_width_mm
        t0 = self._loads[0][0]
        return Recording(
            [row[0] - t0 for row in self._loads],
            [row[1] for row in self._loads],
            self.geometry.width_mm,
            self.geometry.depth_mm,
            stance_width_mm=stance,
            exercise=item.exercise,
            parameters=dict(item.params),
            leg=item.params.get(leg_parameter) if leg_parameter else None,
            affected_side=context.affected_side,
            subject_mass_kg=mass if known else None,
            subject_mass_source=context.body_mass_source if known else None,
            started_at=self._trial_started_at,
            clock_synchronised=context.clock_synchronised,
            rate_hz=context.rate_hz,
            feet_centre_x_mm=context.feet_centre_x_mm,
            feet_measured=context.feet_measured,
            live=context.live,
            extra={"board": self.board_kind} if self.board_kind else {},
        )
