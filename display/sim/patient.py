"""The simulated patient who follows the screen: reads what the live exercise asks, moves the
simulated person accordingly, imperfectly, and taps the main button after reading a screen.

For ``balance-board run --patient auto`` on the simulated board and the demo. It sways, sometimes
touches down, does not always rise all the way or lean as far; it taps the main button (by the
finger path, as a touchscreen would) after ``READ_S`` seconds on a screen.

Example::

    patient = AutoPatient(board.link, seed=2)
    patient.follow("flamingo", live_state, now=clock.monotonic(), params={"leg": "left"})
    events = patient.taps(app.current, surface.get_size(), clock.monotonic())
"""

from __future__ import annotations

import random

import pygame

READ_S = 1.0  # the simulated patient reads a screen this long before tapping


class AutoPatient:
    """Moves the simulated person as the screen asks, with human imperfections.

    :param link: the board's link (its ``command`` steers the simulated person).
    :param seed: the patient's random seed.
    """

    def __init__(self, link, *, seed: int = 0) -> None:
        self.link = link
        self.rng = random.Random(seed)
        self._busy_until = 0.0
        self._last_prompt = None
        self._lifted = False
        self._up = False
        self._placed = False
        self._last_tap: tuple[object, float] | None = None

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
            elif "forward" in state.prompt:
                command("lean", y_mm=reach * 0.8, duration=1.0)
            elif "back" in state.prompt and "middle" not in state.prompt:
                command("lean", y_mm=-reach * 0.5, duration=1.0)
            elif "back to the middle" in state.prompt:
                command("centre", duration=1.0)
            self._busy_until = now + 1.2
        elif exercise == "stance-check" and state.prompt != self._last_prompt:
            self._last_prompt = state.prompt
            side = state.counters.get("side")
            # a lean most of the way onto the foot, both feet down
            lean = self.rng.uniform(75, 90) * (-1 if side == "left" else 1)
            command("lean", x_mm=lean, duration=1.0)
            self._busy_until = now + 1.0
        elif exercise == "sit-to-stand":
            if state.phase == "stand" and not self._up:
                command("stand_up", duration=self.rng.uniform(1.0, 1.8))
                self._up = True
                self._busy_until = now + 2.0
            elif state.phase == "sit" and self._up:
                command("sit", duration=self.rng.uniform(1.2, 1.8))
                self._up = False
                self._busy_until = now + 2.0
        elif exercise == "tandem-stance":
            front = params.get("front", "left")
            if state.phase == "place" and not self._placed:
                command("place_feet", stance=params.get("stance", "tandem"), front=front)
                self._placed = True
                self._busy_until = now + 1.5
            elif state.phase == "hold" and self.rng.random() < 0.001:
                command("place_feet", stance="side-by-side", front=front, duration=0.8)
                self._busy_until = now + 1.0  # stepped out of it, as people do
            elif state.phase == "done" and self._placed:
                command("place_feet", stance="side-by-side", front=front, duration=0.8)
                self._placed = False

    def reset(self) -> None:
        """Between exercises: standing, both feet down on their marks, straight."""
        if self._lifted or self._up:
            self.link.command("step_on", duration=0.3)
        self.link.command("stand_up", duration=0.8)
        self.link.command("place_feet", stance="side-by-side", duration=0.8)
        self.link.command("centre", duration=0.5)
        self.link.command("lower", duration=0.3)
        self._lifted = self._up = self._placed = False
        self._last_prompt = None

    def prepare(self, exercise: str, now: float) -> None:
        """Before an exercise: sit on the chair for sit-to-stand, as the instruction says."""
        if exercise == "sit-to-stand":
            self.link.command("sit", duration=1.2)
            self._up = False
            self._busy_until = now + 2.0  # seated before the first rise

    def recover(self) -> None:
        """After a safety stop: back on the board with both feet."""
        self.link.command("step_on")
        self._lifted = self._up = False

    def taps(self, screen, surface_size: tuple[int, int], now: float) -> list:
        """The finger events of a tap on ``screen``'s main button, once the screen has been
        read for ``READ_S`` seconds; then the patient reads again before the next tap."""
        button = getattr(screen, "primary", None)
        if button is None:
            return []
        start = getattr(screen, "entered_at", now)
        if self._last_tap is not None and self._last_tap[0] is screen:
            start = max(start, self._last_tap[1])  # one tap, then read again
        if now - start < READ_S:
            return []
        self._last_tap = (screen, now)
        w, h = surface_size
        x, y = button.rect.center
        return [
            pygame.event.Event(
                kind, x=x / w, y=y / h, dx=0, dy=0, touch_id=1, finger_id=0, pressure=1.0
            )
            for kind in (pygame.FINGERDOWN, pygame.FINGERUP)
        ]
