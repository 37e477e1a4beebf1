"""The patient's session screens: welcome, instructions, the live exercise, result, safety stop.

Each is a ``Screen`` of the app's state machine (``display.app``): ``enter``, ``handle``,
``update`` (new CoP samples), ``draw``, ``exit``. Key information sits in the middle of the screen
(left-side neglect is common after stroke); one instruction per screen; big buttons.
"""

from __future__ import annotations

import math
import time

from device.hx711 import describe_fault
from display import theme
from display.app import Screen
from display.widgets import Button, TapFilter
from exercises.base import TrialContext
from exercises.replay import exercise_types

ENCOURAGEMENT = (
    (90, "Excellent work!"),
    (70, "Very good – well done."),
    (40, "Good effort. Keep practising."),
    (0, "Thank you. Every session helps."),
)


class ButtonScreen(Screen):
    """A screen with buttons, pressed by a tap released inside them."""

    def __init__(self, app) -> None:
        super().__init__(app)
        self.buttons: list[Button] = []
        self.taps = TapFilter()
        self.entered_at = 0.0

    def enter(self) -> None:
        self.entered_at = time.monotonic()
        self.buttons = self.make_buttons()

    def make_buttons(self) -> list[Button]:
        return []

    @property
    def primary(self) -> Button | None:
        return self.buttons[0] if self.buttons else None

    def handle(self, event) -> None:
        tap = self.app.tap(event)
        if tap is None:
            return
        pressed = self.taps.handle(tap, self.buttons, time.monotonic())
        if pressed is not None:
            pressed.action()

    def big_button(self, label, action, y_frac=0.8, width=360):
        import pygame

        w, h = self.app.surface.get_size()
        rect = pygame.Rect(0, 0, width, 96)
        rect.center = (w // 2, int(h * y_frac))
        return Button(label, rect, action)

    def draw_buttons(self, surface) -> None:
        for button in self.buttons:
            button.draw(surface, self.app)


SPOKEN = (
    "Please step onto the board.",
    "Rest for a moment.",
    "We stopped the exercise. Are you all right? Hold on to the chair.",
    "All done for today. Well done.",
    "Hold the back of a chair.",
)
"""Fixed sentences the app speaks (the exercises' instructions come from the plan)."""

REST_S = 20.0  # rest between exercises; "I am ready" skips it


def small_button(label, action, rect_xywh) -> Button:
    """A secondary button (still at least 80 × 80 px), in a corner, away from the main one."""
    import pygame

    return Button(label, pygame.Rect(*rect_xywh), action, colour=theme.PANEL)


class WelcomeScreen(ButtonScreen):
    """Today's plan and one big Start; progress and the therapist's corner."""

    name = "welcome"

    def make_buttons(self):
        w, h = self.app.surface.get_size()
        return [
            self.big_button("Start", self.app.start_session, 0.62),
            small_button("Progress", lambda: self.app.go("progress"), (w - 230, h - 100, 210, 84)),
            small_button("Therapist", lambda: self.app.go("pin"), (20, h - 100, 210, 84)),
        ]

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        self.app.text(
            surface,
            "Hello! Today's exercises:",
            theme.TITLE_PX,
            theme.TEXT,
            (w // 2, int(h * 0.12)),
        )
        titles = " · ".join(p.title for p in self.app.plan)
        self.app.text(surface, titles, theme.BODY_PX, theme.ACCENT, (w // 2, int(h * 0.33)))
        self.draw_buttons(surface)


class InstructionScreen(ButtonScreen):
    """One instruction, a picture drawn in code, and Begin."""

    name = "instructions"

    def make_buttons(self):
        return [self.big_button("Begin", lambda: self.app.go("exercise"), 0.85, 320)]

    def draw(self, surface) -> None:
        import pygame

        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        item = self.app.planned
        self.app.text(surface, item.title, theme.TITLE_PX, theme.TEXT, (w // 2, int(h * 0.1)))
        # the picture: two feet on the board, the lifted one drawn hollow
        board = pygame.Rect(0, 0, 260, 150)
        board.center = (w // 2, int(h * 0.36))
        pygame.draw.rect(surface, theme.BOARD, board, border_radius=14)
        for side, dx in (("left", -50), ("right", 50)):
            foot = pygame.Rect(0, 0, 40, 100)
            foot.center = (board.centerx + dx, board.centery)
            lifted = item.exercise == "flamingo" and side != item.params.get("leg", "left")
            pygame.draw.ellipse(surface, theme.FOOT, foot, width=4 if lifted else 0)
        if needs_chair(item.exercise):
            draw_chair(surface, (board.right + 60, board.centery))
        self.app.text(surface, item.instruction, theme.BODY_PX, theme.TEXT, (w // 2, int(h * 0.62)))
        self.draw_buttons(surface)

    def enter(self) -> None:
        super().enter()
        self.app.say(self.app.planned.instruction)


def needs_chair(exercise: str) -> bool:
    """Standing on one leg and rising on the toes are always done next to a chair."""
    return exercise in ("flamingo", "heel-raises", "toe-raises")


def draw_chair(surface, centre) -> None:
    """A chair seen from the side, in outline: the back to hold, the seat, the legs."""
    import pygame

    x, y = centre
    colour, width = theme.TEXT_DIM, 6
    pygame.draw.line(surface, colour, (x + 30, y - 70), (x + 30, y + 60), width)  # back and leg
    pygame.draw.line(surface, colour, (x - 30, y), (x + 30, y), width)  # seat
    pygame.draw.line(surface, colour, (x - 30, y), (x - 30, y + 60), width)  # front leg


class ExerciseScreen(ButtonScreen):
    """The live exercise: prompt, timer or counter, the CoP dot over the feet."""

    name = "exercise"
    OFF_BOARD_S = 0.6  # this long off the board mid-exercise is a safety stop

    def enter(self) -> None:
        super().enter()
        app = self.app
        item = app.planned
        context = TrialContext(
            stance_width_mm=app.geometry.stance_width_mm,
            affected_side=app.affected_side,
            live=True,
            calibration_age_days=app.calibration_age_days(),
        )
        self.exercise = exercise_types()[item.exercise](context, **item.params)
        self.state = None
        self.samples = []
        self.off_since: float | None = None
        self.was_on = False
        self._beat: int | None = None
        self._pace_from: float | None = None
        app.begin_trial()
        app.play("start")

    def _metronome(self, sample) -> None:
        """A tick at each turn of a paced exercise (two a cycle: out and back)."""
        pace_s = self.app.planned.params.get("pace_s")
        if not pace_s or self.state is None or self.state.phase in ("get-ready", "done"):
            return
        if self._pace_from is None:
            self._pace_from = sample.t
        beat = int((sample.t - self._pace_from) / (pace_s / 2))
        if beat != self._beat:
            self._beat = beat
            self.app.play("tick")

    def update(self, samples) -> None:
        app = self.app
        for sample in samples:
            self.samples.append(sample)
            self.state = self.exercise.feed(sample)
            self._metronome(sample)
            if sample.on_board:
                self.was_on = True
                self.off_since = None
            elif self.was_on and not any(sample.faults):
                if self.off_since is None:
                    self.off_since = sample.t
                elif sample.t - self.off_since > self.OFF_BOARD_S:
                    app.safety_stop("stepped off or lost balance during the exercise")
                    return
            if self.state is not None and self.state.done:
                app.finish_trial(self.exercise.finish())
                return
        if app.auto_patient is not None:
            app.auto_patient.follow(
                app.planned.exercise, self.state, time.monotonic(), app.planned.params
            )

    def draw(self, surface) -> None:
        import pygame

        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        state = self.state
        prompt = state.prompt if state else "Stand on the board."
        self.app.text(surface, prompt, theme.BODY_PX, theme.TEXT, (w // 2, int(h * 0.1)))
        centre = (w // 2, int(h * 0.45))
        radius = 120
        below = (w // 2, centre[1] + radius + 40)  # the count or time, under the ring
        scale = radius / 240  # board mm to pixels: both feet and ±150 mm fit in the ring
        last = self.samples[-1] if self.samples else None
        faulty = [i for i, f in enumerate(last.faults) if f] if last is not None else []
        if faulty:
            # in the middle, in words: which corner, what happened (this trial is not scored)
            self.app.text(surface, "Board problem", theme.TITLE_PX, theme.DANGER, centre)
            self.app.text(
                surface,
                describe_fault(faulty[0], last.faults[faulty[0]]),
                theme.BODY_PX,
                theme.TEXT,
                (w // 2, int(h * 0.8)),
            )
            return
        if state is not None and state.remaining_s is not None and state.phase != "get-ready":
            total = max(state.elapsed_s + state.remaining_s, 1e-6)
            done = min(1.0, state.elapsed_s / total)
            rect = pygame.Rect(0, 0, 2 * radius, 2 * radius)
            rect.center = centre
            pygame.draw.circle(surface, theme.PANEL, centre, radius, width=18)
            if done > 0:
                pygame.draw.arc(
                    surface,
                    theme.GOOD,
                    rect,
                    math.pi / 2 - 2 * math.pi * done,
                    math.pi / 2,
                    width=18,
                )
            self.app.text(surface, f"{state.remaining_s:.0f} s", theme.TITLE_PX, theme.TEXT, below)
        elif state is not None and "reps" in state.counters:
            self.app.text(
                surface,
                f"{state.counters['reps']} of {state.target.get('reps')}",
                theme.TITLE_PX,
                theme.TEXT,
                below,
            )
        elif state is not None and state.counters:
            done = sum(v for v in state.counters.values() if isinstance(v, int))
            self.app.text(surface, f"{done} done", theme.TITLE_PX, theme.TEXT, below)
        if needs_chair(self.app.planned.exercise):
            # the reminder stays on screen for the whole exercise, beside the ring
            draw_chair(surface, (centre[0] + radius + 110, centre[1] - 10))
            self.app.text(
                surface,
                "Hold the chair",
                theme.SMALL_PX,
                theme.TEXT_DIM,
                (centre[0] + radius + 110, centre[1] + 80),
                width=200,
            )
        # the feet as marked on the board, so the dot has something to move against
        g = self.app.geometry
        lifted = None
        if self.app.planned.exercise == "flamingo" and state is not None and state.phase == "hold":
            lifted = "right" if self.app.planned.params.get("leg", "left") == "left" else "left"
        for side, (fx, fy) in zip(("left", "right"), g.foot_centres_mm, strict=True):
            foot = pygame.Rect(0, 0, int(g.foot_width_mm * scale), int(g.foot_length_mm * scale))
            foot.center = (int(centre[0] + fx * scale), int(centre[1] - fy * scale))
            pygame.draw.ellipse(surface, theme.FOOT, foot, width=3 if side == lifted else 0)
        target = state.target if state is not None else {}
        if "x_mm" in target:  # a target zone to lean into (limits of stability)
            pos = (int(centre[0] + target["x_mm"] * scale), int(centre[1] - target["y_mm"] * scale))
            pygame.draw.circle(surface, theme.GOOD, pos, 26, width=6)
        if last is not None and last.on_board and last.display_x_mm is not None:
            pos = (
                int(centre[0] + last.display_x_mm * scale),
                int(centre[1] - last.display_y_mm * scale),
            )
            pygame.draw.circle(surface, theme.DOT, pos, 16)
            pygame.draw.circle(surface, theme.BACKGROUND, pos, 16, width=3)


class ResultScreen(ButtonScreen):
    """The score, one sentence of encouragement, the comparison with last time."""

    name = "result"

    def make_buttons(self):
        return [self.big_button("Next", self.app.next_exercise, 0.85, 320)]

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        result = self.app.last_result
        title = self.app.planned.title
        self.app.text(surface, title, theme.BODY_PX, theme.TEXT_DIM, (w // 2, int(h * 0.08)))
        if result is None or result.score is None:
            why = "; ".join(result.quality.sensor_faults) if result else ""
            self.app.text(
                surface, "Not scored", theme.TITLE_PX, theme.WARNING, (w // 2, int(h * 0.3))
            )
            self.app.text(
                surface,
                why or "The board had a problem.",
                theme.BODY_PX,
                theme.TEXT,
                (w // 2, int(h * 0.52)),
            )
        else:
            score = result.score
            self.app.text(
                surface, f"{score:.0f} points", theme.TITLE_PX, theme.GOOD, (w // 2, int(h * 0.27))
            )
            words = next(text for limit, text in ENCOURAGEMENT if score >= limit)
            self.app.text(surface, words, theme.BODY_PX, theme.TEXT, (w // 2, int(h * 0.45)))
            previous = self.app.previous_score
            if previous is not None:
                change = score - previous
                trend = "up" if change > 0.5 else "down" if change < -0.5 else "the same as"
                text = (
                    f"Last time: {previous:.0f} – {trend} {abs(change):.0f}"
                    if trend != "the same as"
                    else f"The same as last time ({previous:.0f})"
                )
                self.app.text(surface, text, theme.BODY_PX, theme.ACCENT, (w // 2, int(h * 0.6)))
        self.draw_buttons(surface)


class RestScreen(ButtonScreen):
    """A rest between exercises: a countdown, what comes next, and "I am ready" to skip it."""

    name = "rest"

    def make_buttons(self):
        return [self.big_button("I am ready", lambda: self.app.go("instructions"), 0.84, 400)]

    def enter(self) -> None:
        super().enter()
        self.until = time.monotonic() + REST_S
        self.app.say("Rest for a moment.")

    def update(self, samples) -> None:
        if time.monotonic() >= self.until:
            self.app.play("time-up")
            self.app.go("instructions")

    def draw(self, surface) -> None:
        import pygame

        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        self.app.text(surface, "Rest", theme.TITLE_PX, theme.TEXT, (w // 2, int(h * 0.1)))
        left = max(0.0, self.until - time.monotonic())
        centre, radius = (w // 2, int(h * 0.42)), 90
        pygame.draw.circle(surface, theme.PANEL, centre, radius, width=14)
        done = 1 - left / REST_S
        if done > 0:
            rect = pygame.Rect(0, 0, 2 * radius, 2 * radius)
            rect.center = centre
            start = math.pi / 2
            pygame.draw.arc(surface, theme.ACCENT, rect, start - 2 * math.pi * done, start, 14)
        self.app.text(surface, f"{left:.0f} s", theme.TITLE_PX, theme.TEXT, centre)
        self.app.text(
            surface, f"Next: {self.app.planned.title}", theme.BODY_PX, theme.ACCENT, (w // 2, 330)
        )
        self.draw_buttons(surface)


class SafetyScreen(ButtonScreen):
    """After stepping off or a sudden loss of load: calm words, and is everything all right?"""

    name = "safety"

    def make_buttons(self):
        return [self.big_button("I am all right", lambda: self.app.go("welcome"), 0.8, 420)]

    def enter(self) -> None:
        super().enter()
        self.app.play("time-up")
        self.app.say("We stopped the exercise. Are you all right? Hold on to the chair.")

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        self.app.text(
            surface,
            "We stopped the exercise.",
            theme.TITLE_PX,
            theme.WARNING,
            (w // 2, int(h * 0.2)),
        )
        self.app.text(
            surface,
            "Are you all right? Take your time. Hold on to the chair.",
            theme.BODY_PX,
            theme.TEXT,
            (w // 2, int(h * 0.45)),
        )
        self.draw_buttons(surface)


class DoneScreen(ButtonScreen):
    name = "done"

    def make_buttons(self):
        w, h = self.app.surface.get_size()
        return [
            self.big_button("Finish", lambda: self.app.go("welcome"), 0.62),
            small_button("Progress", lambda: self.app.go("progress"), (w - 230, h - 100, 210, 84)),
        ]

    def enter(self) -> None:
        super().enter()
        self.app.say("All done for today. Well done.")

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        self.app.text(
            surface, "All done for today!", theme.TITLE_PX, theme.GOOD, (w // 2, int(h * 0.15))
        )
        self.app.text(
            surface,
            "Well done. See you tomorrow.",
            theme.BODY_PX,
            theme.TEXT,
            (w // 2, int(h * 0.35)),
        )
        self.draw_buttons(surface)


SESSION_SCREENS = (
    WelcomeScreen,
    InstructionScreen,
    ExerciseScreen,
    ResultScreen,
    RestScreen,
    SafetyScreen,
    DoneScreen,
)
