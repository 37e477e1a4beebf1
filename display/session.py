"""Today's plan, and the simulated patient who follows the screen on a PC.

``DEFAULT_PLAN`` is used until the therapist's program (clinic issue) is set. ``AutoPatient``
plays the patient for ``balance-board run --patient auto`` and the demo: it reads what the screen
asks (the exercise's live state) and moves the simulated person accordingly, imperfectly — it
sways, sometimes touches down, does not always rise all the way — and taps the buttons.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from exercises.texts import EXERCISE_TEXTS


@dataclass(frozen=True)
class PlannedExercise:
    """One exercise of a session: which, with what parameters, and how to explain it."""

    exercise: str
    title: str
    instruction: str
    params: dict = field(default_factory=dict)


TEXTS = EXERCISE_TEXTS  # title and the one instruction, in the patient's words


def plan_from_program(program) -> tuple[PlannedExercise, ...]:
    """Today's plan from the therapist's program (``clinic.program``): each exercise as many
    times as prescribed, with the affected leg resolved to left or right."""
    plan = []
    for item in program.exercises:
        title, instruction = TEXTS[item.exercise]
        params = program.resolved_params(item)
        if item.exercise == "flamingo":
            instruction = instruction.replace("one foot", f"your {_other(params['leg'])} foot")
        if item.exercise == "quiet-stance" and params.get("eyes") == "closed":
            title, instruction = (
                "Standing still, eyes closed",
                ("Hold the chair. Stand with a foot on each mark, close your eyes, keep still."),
            )
        plan += [PlannedExercise(item.exercise, title, instruction, params)] * item.repetitions
    return tuple(plan)


def _other(side: str) -> str:
    return "right" if side == "left" else "left"


DEFAULT_PLAN = (
    PlannedExercise(
        "quiet-stance",
        "Standing still",
        "Stand with a foot on each mark. Look ahead and keep still.",
        {"eyes": "open", "duration_s": 10.0},
    ),
    PlannedExercise(
        "heel-raises",
        "Heel raises",
        "Hold the chair. Rise up on your toes, then come down slowly.",
        {"target_reps": 5},
    ),
    PlannedExercise(
        "flamingo",
        "Standing on one leg",
        "Hold the back of a chair. Lift one foot and stand on the other leg.",
        {"leg": "left", "hold_s": 8.0},
    ),
    PlannedExercise(
        "weight-shift",
        "Weight shifts",
        "Lean slowly to the side the screen shows, then back to the middle.",
        {"cycles": 2},
    ),
)


class AutoPatient:
    """Moves the simulated person as the screen asks, with human imperfections."""

    def __init__(self, link, *, seed: int = 0) -> None:
        self.link = link
        self.rng = random.Random(seed)
        self._busy_until = 0.0
        self._last_prompt = None
        self._lifted = False
        self._up = False

    def follow(self, exercise: str, state, now: float, params: dict) -> None:
        """React to the exercise's live state (call every frame while an exercise runs)."""
        if state is None or now < self._busy_until:
            return
        command = self.link.command
        if exercise == "flamingo":
            other = "right" if params.get("leg", "left") == "left" else "left"
            if state.phase in ("lift",) and not self._lifted:
                command("lift_foot", side=other, duration=self.rng.uniform(0.5, 0.9))
                self._lifted = True
                self._busy_until = now + 1.5
            elif state.phase == "hold" and self.rng.random() < 0.002:
                command("foot_down", side=other, duration=0.2)  # a touch-down now and then
                self._lifted = False
                self._busy_until = now + 0.6
            elif state.phase == "done" and self._lifted:
                command("foot_down", side=other)
                self._lifted = False
        elif exercise in ("heel-raises", "toe-raises"):
            up = "heel_raise" if exercise == "heel-raises" else "toe_raise"
            if state.phase == "raise" and not self._up:
                command(up, height=self.rng.uniform(0.7, 1.1), duration=self.rng.uniform(0.5, 1.0))
                self._up = True
                self._busy_until = now + 1.3
            elif state.phase == "lower" and self._up:
                command("lower", duration=self.rng.uniform(0.5, 0.9))
                self._up = False
                self._busy_until = now + 1.3
        elif exercise == "weight-shift" and state.prompt != self._last_prompt:
            self._last_prompt = state.prompt
            reach = self.rng.uniform(35, 70)  # not always the same, not always far
            if "to the right" in state.prompt:
                command("lean", x_mm=reach, duration=1.0)
            elif "to the left" in state.prompt:
                command("lean", x_mm=-reach, duration=1.0)
            elif "back to the middle" in state.prompt:
                command("centre", duration=1.0)
            self._busy_until = now + 1.2

    def reset(self) -> None:
        """Between exercises: both feet down, standing straight."""
        if self._lifted or self._up:
            self.link.command("step_on", duration=0.3)
        self.link.command("centre", duration=0.5)
        self.link.command("lower", duration=0.3)
        self._lifted = self._up = False
        self._last_prompt = None
