"""The patient's screens: the board, welcome, instructions, the live exercise, result, rest,
safety stop, done, and the failsafe screen.

Each is a ``Screen`` of the app's state machine (``display.machine``): its hooks return the name
of the next screen, and its buttons' actions too, so the session's flow reads from the returns
below. The patient's session itself (plan, trials, records) is ``display.session``; these screens
show it. Key information sits in the middle of the screen (left-side neglect is common after
stroke); one instruction per screen; big buttons. Time comes from the app's clock.
"""

from __future__ import annotations

import math
import statistics

import pygame

from device import CORNER_NAMES
from device.faults import describe_fault, fault_text
from device.samples import CopSample
from display import theme
from display.machine import Screen
from display.widgets import Button, TapFilter
from exercises.registry import exercise_spec
from exercises.stance_check import StanceCheck, stance_from

STEP_ON_SPOKEN = "Please step onto the board, and stand still."
NEARBY_SPOKEN = "Before we start: is the chair within reach, and can someone hear you call?"
STANCE_SPOKEN = (
    "First, a quick check of where your feet are. Hold the chair. Keep both feet down. "
    "Lean onto your left foot, then your right."
)
SAFETY_SPOKEN = "We stopped the exercise. Are you all right? Take your time."
CALM_SPOKEN = "Rest now. Your therapist will see what happened."
SPOKEN = (
    STEP_ON_SPOKEN,
    "Rest for a moment.",
    "Good. Rest a moment.",
    SAFETY_SPOKEN,
    "All done for today. Well done.",
    NEARBY_SPOKEN,
    STANCE_SPOKEN,
    CALM_SPOKEN,
)
"""Fixed sentences the app speaks (the exercises' instructions come from the plan)."""

REST_S = 20.0  # rest between exercises; "I am ready" skips it
EMERGENCY = "If you are hurt or cannot get up, call the emergency number."


def help_words(number: str) -> str:
    """What "I need help" says: stay, hold on, and whom to call."""
    call = f"Call {' '.join(number)}." if number else "Call someone who can help you."
    return f"Stay where you are. Hold the chair or sit down on it. {call} {EMERGENCY}"


STILL_SHARE = 0.05  # standing still: the load within this share of its median (weighing)
SIM_KEYS = "arrows lean · L/R lift a foot · F to floor · H chair · O off/on · A auto/manual"


def message_box(app, surface, title: str, text: str, colour, height_px: int) -> None:
    """A boxed message in the middle of the screen, where it is seen (left-side neglect): a
    title in ``colour`` and a line of text under it."""
    w, h = surface.get_size()
    box = pygame.Rect(0, 0, w - 60, height_px)
    box.center = (w // 2, h // 2)
    pygame.draw.rect(surface, theme.PANEL, box, border_radius=16)
    pygame.draw.rect(surface, colour, box, width=4, border_radius=16)
    app.text(surface, title, theme.BODY_PX, colour, (w // 2, box.top + 45))
    app.text(surface, text, theme.SMALL_PX, theme.TEXT, (w // 2, box.centery + 30))


class ButtonScreen(Screen):
    """A screen with buttons, pressed by a tap released inside them."""

    def __init__(self, app) -> None:
        super().__init__(app)
        self.buttons: list[Button] = []
        self.taps = TapFilter()
        self.entered_at = 0.0

    def enter(self) -> str | None:
        self.entered_at = self.app.clock.monotonic()
        self.buttons = self.make_buttons()
        return None

    def make_buttons(self) -> list[Button]:
        return []

    @property
    def primary(self) -> Button | None:
        return self.buttons[0] if self.buttons else None

    def handle(self, event) -> str | None:
        tap = self.app.tap(event)
        if tap is None:
            return None
        pressed = self.taps.handle(tap, self.buttons, self.app.clock.monotonic())
        return pressed.action() if pressed is not None else None

    def big_button(self, label, action, y_frac=0.8, width=360) -> Button:
        w, h = self.app.surface.get_size()
        rect = pygame.Rect(0, 0, width, 96)
        rect.center = (w // 2, int(h * y_frac))
        return Button(label, rect, action)

    def draw_buttons(self, surface) -> None:
        for button in self.buttons:
            button.draw(surface, self.app)


def small_button(label, action, rect_xywh) -> Button:
    """A secondary button (still at least 80 × 80 px), in a corner, away from the main one."""
    return Button(label, pygame.Rect(*rect_xywh), action, colour=theme.PANEL)


def go_to(name: str):
    """A button action that only shows another screen."""
    return lambda: name


class BoardScreen(Screen):
    """Live view of the board: foot marks, the CoP dot, the load, each corner's state. During a
    session it is the board check: standing still on the board for ``ON_BOARD_S`` leads on."""

    name = "board"
    ON_BOARD_S = 2.0  # standing still on the board this long: the board check is passed
    NO_FRAMES_S = 3.0  # no reading at all for this long: the board is not connected

    def __init__(self, app) -> None:
        super().__init__(app)
        self.latest: CopSample | None = None
        self.lifted = {"left": False, "right": False}
        self.off = False
        self.holding = False
        self._on_since: float | None = None
        self.taps = TapFilter()
        self.buttons: list[Button] = []

    def enter(self) -> None:
        self._on_since = None
        self._weights: list[float] = []
        session = self.app.session
        self.checking = session is not None and session.active
        self.buttons = []
        if session is not None and session.plan:
            # top left, clear of the board and of the words under it
            self.buttons = [small_button("Back", self.back, (10, 10, 132, 84))]
        if self.checking:
            self.app.say(STEP_ON_SPOKEN)

    def back(self) -> str:
        self.app.session.end()
        return "welcome"

    def update(self, samples: list[CopSample]) -> str | None:
        if samples:
            self.latest = samples[-1]
        session = self.app.session
        if session is None or not session.active:
            return None  # the plain board view, no session going on
        for sample in samples:
            good = sample.on_board and not any(sample.faults)
            if good and self._weights:
                median = statistics.median(self._weights)
                good = abs(sample.total_kg - median) < STILL_SHARE * median  # standing still
            if not good:
                self._on_since = None
                self._weights = []
                continue
            if self._on_since is None:
                self._on_since = sample.t
            self._weights.append(sample.total_kg)
            if sample.t - self._on_since >= self.ON_BOARD_S:
                # standing still on the board: the check is passed, and she is weighed
                session.weigh(statistics.median(self._weights))
                return "stance" if session.needs_stance_check else "instructions"
        return None

    @property
    def disconnected(self) -> bool:
        app = self.app
        if getattr(app.board.link, "failed", False):
            return True
        last = app.last_frame_at if app.last_frame_at is not None else app.started_at
        return app.clock.monotonic() - last > self.NO_FRAMES_S

    def _board_rect(self, surface):
        g = self.app.geometry
        w, h = surface.get_size()
        scale = min((w * 0.62) / (g.width_mm + 80), (h * 0.74) / (g.depth_mm + 80))
        rect = pygame.Rect(0, 0, int((g.width_mm + 80) * scale), int((g.depth_mm + 80) * scale))
        rect.center = (w // 2, int(h * 0.45))
        return rect, scale

    def to_screen(self, surface, x_mm: float, y_mm: float) -> tuple[int, int]:
        rect, scale = self._board_rect(surface)
        return int(rect.centerx + x_mm * scale), int(rect.centery - y_mm * scale)

    def to_board(self, surface, px: int, py: int) -> tuple[float, float]:
        rect, scale = self._board_rect(surface)
        return (px - rect.centerx) / scale, (rect.centery - py) / scale

    def handle(self, event) -> str | None:
        """A tap dismisses a notice; on the simulated board, keys and the mouse steer the
        simulated person (``SIM_KEYS``)."""
        app = self.app
        link = app.board.link
        if app.notice and event.type in (pygame.MOUSEBUTTONUP, pygame.FINGERUP):
            app.notice = None  # read and dismissed with a tap
            return None
        tap = app.tap(event)
        if tap is not None:
            pressed = self.taps.handle(tap, self.buttons, app.clock.monotonic())
            if pressed is not None:
                return pressed.action()
        if not app.board.simulated:
            return None
        if event.type == pygame.KEYDOWN:
            step = 25.0
            moves = {
                pygame.K_LEFT: (-step, 0),
                pygame.K_RIGHT: (step, 0),
                pygame.K_UP: (0, step),
                pygame.K_DOWN: (0, -step),
            }
            if event.key in moves:
                dx, dy = moves[event.key]
                app.lean = (app.lean[0] + dx, app.lean[1] + dy)
                link.command("lean", x_mm=app.lean[0], y_mm=app.lean[1])
            elif event.key in (pygame.K_l, pygame.K_r):
                side = "left" if event.key == pygame.K_l else "right"
                self.lifted[side] = not self.lifted[side]
                link.command("lift_foot" if self.lifted[side] else "foot_down", side=side)
            elif event.key == pygame.K_f:
                for side, up in self.lifted.items():
                    if up:
                        link.command("foot_down", side=side, on="floor")
                        self.lifted[side] = False
            elif event.key == pygame.K_h:
                self.holding = not self.holding
                link.command("hand_on_chair" if self.holding else "hand_off", kg=12.0)
            elif event.key == pygame.K_o:
                self.off = not self.off
                link.command("step_off" if self.off else "step_on")
        elif event.type in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEMOTION):
            pressed = event.type == pygame.MOUSEBUTTONDOWN or event.buttons[0]
            if pressed:
                x, y = self.to_board(app.surface, *event.pos)
                app.lean = (x, y)
                link.command("lean", x_mm=x, y_mm=y, duration=0.3)
        return None

    def draw(self, surface) -> None:
        app = self.app
        surface.fill(theme.BACKGROUND)
        rect, scale = self._board_rect(surface)
        pygame.draw.rect(surface, theme.BOARD, rect, border_radius=18)
        g = app.geometry
        for fx, fy in g.foot_centres_mm:
            foot = pygame.Rect(0, 0, int(g.foot_width_mm * scale), int(g.foot_length_mm * scale))
            foot.center = self.to_screen(surface, fx, fy)
            pygame.draw.ellipse(surface, theme.FOOT, foot, width=4)
        sample = self.latest
        faults = [] if sample is None else [i for i, f in enumerate(sample.faults) if f]
        for i, (cx, cy) in enumerate(g.cell_positions_mm):
            pos = self.to_screen(surface, cx, cy)
            bad = i in faults
            colour = theme.DANGER if bad else theme.GOOD
            # a cross for a faulty corner, a filled disc for a good one: never colour alone
            if bad:
                pygame.draw.line(
                    surface, colour, (pos[0] - 12, pos[1] - 12), (pos[0] + 12, pos[1] + 12), 6
                )
                pygame.draw.line(
                    surface, colour, (pos[0] - 12, pos[1] + 12), (pos[0] + 12, pos[1] - 12), 6
                )
            else:
                pygame.draw.circle(surface, colour, pos, 10)
        if sample is not None and sample.on_board and sample.display_x_mm is not None:
            pos = self.to_screen(surface, sample.display_x_mm, sample.display_y_mm)
            pygame.draw.circle(surface, theme.DOT, pos, 18)
            pygame.draw.circle(surface, theme.BACKGROUND, pos, 18, width=3)
        # the status in words, centred: a headline, and for a fault what to do about it
        w, h = surface.get_size()
        detail = None
        if self.disconnected:
            line, colour = "The board is not connected", theme.DANGER
            # why, when it is known (lgpio missing, not a Pi): in words, never the reader's trace
            detail = (
                app.board.problem or "Check the cable between the board and the screen, then wait."
            )
        elif app.board.calibration is None:
            line, colour = "The board is not calibrated yet", theme.WARNING
            detail = "Your therapist calibrates it: Therapist, then Calibrate."
        elif sample is None:
            line, colour = "Waiting for the board…", theme.TEXT_DIM
        elif faults:
            i = faults[0]
            line, colour = f"Board problem: {CORNER_NAMES[i]} corner", theme.DANGER
            detail = fault_text(sample.faults[i])
        elif self.checking and sample.on_board:
            line, colour = "Stand still on the board, please", theme.TEXT
        elif sample.on_board and sample.total_kg is not None:
            line, colour = f"{sample.total_kg:.1f} kg on the board", theme.TEXT
        else:
            line, colour = "Please step onto the board", theme.TEXT
        if app.trouble:
            # the records cannot be used: no exercises (nothing could be kept), and a message
            # that stays, in the middle, until the technician has seen to it
            message_box(app, surface, "Exercises are off for now", app.trouble, theme.DANGER, 300)
            return
        if app.notice and not faults:
            # a message box in the middle of the screen, where it is seen (left-side neglect)
            message_box(app, surface, "Please check the board", app.notice, theme.WARNING, 260)
            return
        if detail:
            app.text(surface, line, theme.BODY_PX, colour, (w // 2, int(h * 0.84)))
            app.text(surface, detail, theme.SMALL_PX, theme.TEXT, (w // 2, int(h * 0.92)))
        else:
            app.text(surface, line, theme.BODY_PX, colour, (w // 2, int(h * 0.88)))
        if app.board.simulated and not detail:
            app.text(surface, "Simulated: " + SIM_KEYS, 18, theme.TEXT_DIM, (w // 2, h - 14))
        for button in self.buttons:
            button.draw(surface, app)


class FailsafeScreen(Screen):
    """Shown when a screen fails: calm words, no traceback; a tap goes back to the board."""

    name = "failsafe"

    def handle(self, event) -> str | None:
        if event.type in (pygame.MOUSEBUTTONUP, pygame.FINGERUP, pygame.KEYDOWN):
            if self.app.session is not None and self.app.session.plan:
                self.app.session.end()
                return "welcome"  # the start, where there is always a way on
            return "board"
        return None

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        self.app.text(
            surface,
            "Sorry, something went wrong.",
            theme.TITLE_PX,
            theme.WARNING,
            (w // 2, h // 2 - 50),
        )
        self.app.text(
            surface,
            "Touch the screen to carry on.",
            theme.BODY_PX,
            theme.TEXT,
            (w // 2, h // 2 + 30),
        )


class WelcomeScreen(ButtonScreen):
    """Today's plan and one big Start; progress, turning the board off (it asks first), and the
    therapist's corner."""

    name = "welcome"

    def make_buttons(self):
        w, h = self.app.surface.get_size()
        return [
            self.big_button("Start", self.start, 0.62),
            small_button("Progress", go_to("progress"), (w - 230, h - 100, 210, 84)),
            small_button("Turn off", go_to("power-off"), (w // 2 - 105, h - 100, 210, 84)),
            small_button("Therapist", go_to("pin"), (20, h - 100, 210, 84)),
        ]

    def start(self) -> str:
        self.app.session.start()
        return "board"

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
        titles = " · ".join(p.title for p in self.app.session.plan)
        self.app.text(surface, titles, theme.BODY_PX, theme.ACCENT, (w // 2, int(h * 0.33)))
        self.draw_buttons(surface)


class InstructionScreen(ButtonScreen):
    """One instruction, a picture drawn in code, and Begin."""

    name = "instructions"

    def make_buttons(self):
        return [self.big_button("Begin", self.begin, 0.85, 320)]

    def begin(self) -> str:
        planned = self.app.session.planned
        if exercise_spec(planned.exercise).needs_someone_nearby(planned.params):
            return "nearby"  # one leg, eyes closed: is someone nearby, is the chair there?
        return "exercise"

    def enter(self) -> None:
        super().enter()
        self.app.say(self.app.session.planned.instruction)

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        item = self.app.session.planned
        self.app.text(surface, item.title, theme.TITLE_PX, theme.TEXT, (w // 2, int(h * 0.08)))
        # the instruction first decides the room left for the picture (large text too)
        button_top = self.primary.rect.top if self.primary else h
        text_h = self.app.text_height(item.instruction, theme.BODY_PX, w - 40)
        text_top = button_top - 12 - text_h
        top = int(h * 0.08) + 40
        room = max(60, text_top - 10 - top)
        scale = min(1.0, room / 170)
        self.draw_picture(surface, item, (w // 2, top + room // 2), scale)
        self.app.text(
            surface, item.instruction, theme.BODY_PX, theme.TEXT, (w // 2, text_top + text_h // 2)
        )
        self.draw_buttons(surface)

    def draw_picture(self, surface, item, centre, scale: float) -> None:
        """Two feet on the board (the lifted one hollow with an arrow up, the front one of a
        tandem stance in the accent colour), and the chair."""
        board = pygame.Rect(0, 0, int(260 * scale), int(150 * scale))
        board.center = centre
        pygame.draw.rect(surface, theme.BOARD, board, border_radius=14)
        front = item.params.get("front", "left") if item.exercise == "tandem-stance" else None
        for side, (dx, dy) in feet_picture(item).items():
            foot = pygame.Rect(0, 0, int(40 * scale), int((100 if dy == 0 else 62) * scale))
            foot.center = (board.centerx + int(dx * scale), board.centery + int(dy * scale))
            lifted = item.exercise == "flamingo" and side != item.params.get("leg", "left")
            colour = theme.ACCENT if side == front else theme.FOOT
            pygame.draw.ellipse(surface, colour, foot, width=5 if lifted else 0)
            if lifted:  # an arrow up over the lifted foot
                x, y = foot.centerx, foot.top - 8
                pygame.draw.polygon(surface, theme.ACCENT, [(x, y - 22), (x - 14, y), (x + 14, y)])
        if item.needs_chair:
            draw_chair(surface, (board.right + int(60 * scale), board.centery), scale)


def live_feet_mm(item, geometry) -> dict[str, tuple[float, float]]:
    """Where the feet stand on the board (mm) for the live screen: on their marks, or heel to
    toe along the middle for a tandem stance (half a step apart for semi-tandem)."""
    marks = dict(zip(("left", "right"), geometry.foot_centres_mm, strict=True))
    if item.exercise != "tandem-stance":
        return marks
    front = item.params.get("front", "left")
    back = "right" if front == "left" else "left"
    semi = item.params.get("stance") == "semi-tandem"
    reach, gap = (65.0, 25.0) if semi else (130.0, 0.0)
    sign = -1 if front == "left" else 1
    return {front: (sign * gap, reach), back: (-sign * gap, -reach)}


def feet_picture(item) -> dict[str, tuple[int, int]]:
    """Where the instruction's picture draws each foot (pixels from the board's middle): side
    by side, or one in front of the other for a tandem stance."""
    if item.exercise != "tandem-stance":
        return {"left": (-50, 0), "right": (50, 0)}
    front = item.params.get("front", "left")
    back = "right" if front == "left" else "left"
    gap = 14 if item.params.get("stance") == "semi-tandem" else 0
    return {front: (-gap, -34), back: (gap, 34)}


def draw_chair(surface, centre, scale: float = 1.0) -> None:
    """A chair seen from the side, in outline: the back to hold, the seat, the legs; ``scale``
    shrinks it with the rest of the picture (large text leaves less room)."""
    x, y = centre

    def at(dx: int, dy: int) -> tuple[int, int]:
        return (x + round(dx * scale), y + round(dy * scale))

    colour, width = theme.TEXT_DIM, max(3, round(6 * scale))
    pygame.draw.line(surface, colour, at(30, -70), at(30, 60), width)  # back and leg
    pygame.draw.line(surface, colour, at(-30, 0), at(30, 0), width)  # seat
    pygame.draw.line(surface, colour, at(-30, 0), at(-30, 60), width)  # front leg


class ExerciseScreen(ButtonScreen):
    """The live exercise: prompt, timer or counter, the CoP dot over the feet."""

    name = "exercise"
    OFF_BOARD_S = 0.6  # this long off the board mid-exercise is a safety stop

    def enter(self) -> None:
        super().enter()
        app = self.app
        self.exercise = app.session.begin_trial(app.calibration_age_days())
        if app.auto_patient is not None:
            app.auto_patient.prepare(app.session.planned.exercise, app.clock.monotonic())
        self.state = None
        self.samples = []
        self.off_since: float | None = None
        self.was_on = False
        self._beat: int | None = None
        self._pace_from: float | None = None
        self._spoken: str | None = None
        app.play("start")

    def _metronome(self, sample) -> None:
        """A tick at each turn of a paced exercise (two a cycle: out and back)."""
        pace_s = self.app.session.planned.params.get("pace_s")
        if not pace_s or self.state is None or self.state.phase in ("get-ready", "done"):
            return
        if self._pace_from is None:
            self._pace_from = sample.t
        beat = int((sample.t - self._pace_from) / (pace_s / 2))
        if beat != self._beat:
            self._beat = beat
            self.app.play("tick")

    def _speak_prompt(self) -> None:
        """Say a new prompt aloud (many cannot read it while looking ahead or with eyes
        closed); a prompt not yet in the speech cache is rendered for next time."""
        prompt = self.state.prompt if self.state is not None else None
        if prompt and prompt != self._spoken:
            self._spoken = prompt
            if self.app.sound is not None and not self.app.sound.say(prompt):
                self.app.sound.prepare([prompt])

    def update(self, samples) -> str | None:
        app = self.app
        session = app.session
        self._speak_prompt()
        for sample in samples:
            self.samples.append(sample)
            self.state = self.exercise.feed(sample)
            self._metronome(sample)
            if self.exercise.interrupted_at is not None:
                # she stepped off, even for a moment: the trial is kept, scored on the part
                # before and flagged, and she is asked whether she is all right
                session.finish_trial(self.exercise.finish())
                session.safety_stop("stepped off the board during the exercise")
                return "safety"
            if sample.on_board:
                self.was_on = True
                self.off_since = None
            elif self.was_on and not any(sample.faults):
                if self.off_since is None:
                    self.off_since = sample.t
                elif sample.t - self.off_since > self.OFF_BOARD_S:
                    session.safety_stop("stepped off or lost balance during the exercise")
                    return "safety"
            if self.state is not None and self.state.done:
                result = self.exercise.finish()
                session.finish_trial(result)
                app.play("success" if result.score is not None else "time-up")
                if app.auto_patient is not None:
                    app.auto_patient.reset()
                return "result"
        if app.auto_patient is not None:
            app.auto_patient.follow(
                session.planned.exercise, self.state, app.clock.monotonic(), session.planned.params
            )
        return None

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        state = self.state
        planned = self.app.session.planned
        centre = (w // 2, int(h * 0.45))
        radius = 120
        below = (w // 2, centre[1] + radius + 40)  # the count or time, under the ring
        scale = radius / 240  # board mm to pixels: both feet and ±150 mm fit in the ring
        last = self.samples[-1] if self.samples else None
        faulty = [i for i, f in enumerate(last.faults) if f] if last is not None else []
        if not faulty:  # with a fault, the exercise's prompt would contradict what to do
            prompt = state.prompt if state else "Stand on the board."
            self.app.text(surface, prompt, theme.BODY_PX, theme.TEXT, (w // 2, int(h * 0.1)))
        if faulty:
            # in the middle, in plain words: what to do; the corner and the fault, smaller, for
            # whoever looks at the board later (this trial is not scored)
            self.app.text(surface, "The board needs checking", theme.TITLE_PX, theme.DANGER, centre)
            self.app.text(
                surface,
                "Step off carefully, hold the chair, and tell your therapist.",
                theme.BODY_PX,
                theme.TEXT,
                (w // 2, int(h * 0.7)),
            )
            self.app.text(
                surface,
                describe_fault(faulty[0], last.faults[faulty[0]]),
                theme.SMALL_PX,
                theme.TEXT_DIM,
                (w // 2, int(h * 0.9)),
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
        if planned.needs_chair:
            # the reminder stays on screen for the whole exercise, beside the ring
            draw_chair(surface, (centre[0] + radius + 110, centre[1] - 10))
            self.app.text(
                surface,
                "Sit on the chair" if planned.exercise == "sit-to-stand" else "Hold the chair",
                theme.SMALL_PX,
                theme.TEXT_DIM,
                (centre[0] + radius + 110, centre[1] + 80),
                width=200,
            )
        # the feet as marked on the board, so the dot has something to move against
        g = self.app.geometry
        lifted = None
        if planned.exercise == "flamingo" and state is not None and state.phase == "hold":
            lifted = "right" if planned.params.get("leg", "left") == "left" else "left"
        for side, (fx, fy) in live_feet_mm(planned, g).items():
            foot = pygame.Rect(0, 0, int(g.foot_width_mm * scale), int(g.foot_length_mm * scale))
            foot.center = (int(centre[0] + fx * scale), int(centre[1] - fy * scale))
            pygame.draw.ellipse(surface, theme.FOOT, foot, width=5 if side == lifted else 0)
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


def measured_words(exercise: str, params: dict, result, affected: str | None) -> tuple[str, str]:
    """What the patient did, measured, in her words: the headline and one line of detail (the
    weight on the leg being trained, the support), never a score alone. Whole seconds: a tenth
    of a second means nothing to her."""
    metrics, flags = result.metrics, result.flags
    weak = metrics.get("weight_affected_pct")
    weak_line = f"{weak:.0f} % of your weight on your {affected} leg" if weak is not None else ""
    if exercise == "flamingo":
        side = params.get("leg", "left")
        head = f"{metrics.get('first_hold_s', 0.0):.0f} s standing on your {side} leg"
        support = metrics.get("support_pct_bw_mean")
        detail = f"{support:.0f} % of your weight on the chair" if "support" in flags else ""
        return head, detail
    if exercise in ("heel-raises", "toe-raises"):
        return f"{metrics.get('reps', 0):g} raises", weak_line
    if exercise == "sit-to-stand":
        reps = metrics.get("repetitions", 0)
        five = metrics.get("five_times_s")
        head = f"5 stands in {five:.0f} s" if five is not None else f"{reps:g} stands"
        return head, weak_line
    if exercise == "tandem-stance":
        return f"{metrics.get('hold_s', 0.0):.0f} s with your feet heel to toe", ""
    if exercise == "quiet-stance":
        return f"{metrics.get('duration_s', 0.0):.0f} s standing still", weak_line
    if exercise == "weight-shift":
        counts = [metrics.get(k, 0) for k in metrics if k.startswith("shifts_")]
        head = f"{sum(counts):g} leans, side to side" if counts else "Weight shifts done"
        if weak is not None:
            return head, f"Up to {weak:.0f} % of your weight on your {affected} leg"
        return head, ""
    return "Done", ""


UNIT_WORDS = {"s": "s", "repetitions": "times", "cycles": "times each side", "m": "m"}


def goal_words(planned) -> str:
    """The goal of this exercise, as the program sets it: "Goal: 10 s", "Goal: 5 times"."""
    spec = exercise_spec(planned.exercise)
    if not spec.amount:
        return ""
    amount = spec.parameter(spec.amount)
    value = spec.value(planned.params, amount.name)
    unit = UNIT_WORDS.get(amount.unit, amount.unit)
    if value == 1 and unit.startswith("times"):
        unit = unit.replace("times", "once", 1).replace("once each", "once to each")
        return f"Goal: {unit}"
    return f"Goal: {value:g} {unit}"


CHANGE_WORDS = {
    "better": "Better than last time.",
    "same": "About the same as last time.",
    "worse": "Not as good as last time. Every day is different.",
}


class ResultScreen(ButtonScreen):
    """What she did, measured (the seconds, the repetitions, the weight on the weak leg), the
    goal, and "better than last time" only when the change is beyond the noise. The score is
    there, smaller. Everything in the middle of the screen."""

    name = "result"

    def make_buttons(self):
        return [self.big_button("Next", self.next, 0.87, 320)]

    def next(self) -> str:
        return "rest" if self.app.session.next_exercise() else "done"

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        session = self.app.session
        result = session.last_result
        planned = session.planned
        self.app.text(
            surface, planned.title, theme.BODY_PX, theme.TEXT_DIM, (w // 2, int(h * 0.07))
        )
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
            self.draw_buttons(surface)
            return
        head, detail = measured_words(
            planned.exercise, planned.params, result, session.affected_side
        )
        self.app.text(surface, head, theme.TITLE_PX, theme.GOOD, (w // 2, int(h * 0.22)))
        goal = goal_words(planned)
        if goal:
            reached = "target_reached" in result.flags
            line = "Goal reached!" if reached else f"{goal}. Keep practising."
            colour = theme.GOOD if reached else theme.ACCENT
            self.app.text(surface, line, theme.BODY_PX, colour, (w // 2, int(h * 0.39)))
        if detail:
            self.app.text(surface, detail, theme.BODY_PX, theme.TEXT, (w // 2, int(h * 0.53)))
        change = session.last_change
        words = CHANGE_WORDS[change.verdict] if change is not None else ""
        score = f"{result.score:.0f} of 100 points"
        line = f"{score}. {words}" if words else score
        self.app.text(surface, line, theme.SMALL_PX, theme.TEXT, (w // 2, int(h * 0.67)))
        self.draw_buttons(surface)


class RestScreen(ButtonScreen):
    """A rest between exercises: a countdown, what comes next, and "I am ready" to skip it."""

    name = "rest"

    def __init__(self, app) -> None:
        super().__init__(app)
        self._note_next = ""

    def tell(self, note: str) -> None:
        """A sentence for the next rest ("We left that one out today.")."""
        self._note_next = note

    def make_buttons(self):
        w, h = self.app.surface.get_size()
        return [
            self.big_button("I am ready", go_to("instructions"), 0.84, 320),
            small_button("Stop for today", self.stop, (w - 225, h - 100, 205, 84)),
        ]

    def stop(self) -> str:
        self.app.session.end()
        return "done"

    def enter(self) -> None:
        super().enter()
        self.note, self._note_next = self._note_next, ""
        self.until = self.app.clock.monotonic() + REST_S
        self.app.say(self.note or "Rest for a moment.")

    def update(self, samples) -> str | None:
        if self.app.clock.monotonic() >= self.until:
            self.app.play("time-up")
            return "instructions"
        return None

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        title = self.note or "Rest"
        self.app.text(surface, title, theme.TITLE_PX, theme.TEXT, (w // 2, int(h * 0.1)))
        left = max(0.0, self.until - self.app.clock.monotonic())
        centre, radius = (w // 2, int(h * 0.42)), 90
        pygame.draw.circle(surface, theme.PANEL, centre, radius, width=14)
        done = 1 - left / REST_S
        if done > 0:
            rect = pygame.Rect(0, 0, 2 * radius, 2 * radius)
            rect.center = centre
            start = math.pi / 2
            pygame.draw.arc(surface, theme.ACCENT, rect, start - 2 * math.pi * done, start, 14)
        self.app.text(surface, f"{left:.0f} s", theme.TITLE_PX, theme.TEXT, centre)
        title = self.app.session.planned.title
        self.app.text(surface, f"Next: {title}", theme.BODY_PX, theme.ACCENT, (w // 2, 330))
        self.draw_buttons(surface)


class SafetyScreen(ButtonScreen):
    """After stepping off or a sudden loss of load: calm words, and is everything all right?"""

    name = "safety"

    def make_buttons(self):
        return [
            self.big_button("I am all right", self.all_right, 0.62, 420),
            self.big_button("I need help", go_to("help"), 0.86, 420),
        ]

    def all_right(self) -> str:
        """A rest first; then the next exercise, or stop for today (the rest screen asks)."""
        if not self.app.session.next_exercise():
            return "done"
        self.app.screens["rest"].tell("Good. Rest a moment.")
        return "rest"

    def enter(self) -> None:
        super().enter()
        self.app.play("time-up")
        self.app.say(SAFETY_SPOKEN)
        if self.app.auto_patient is not None:
            self.app.auto_patient.recover()

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
            "Are you all right? Take your time.",
            theme.BODY_PX,
            theme.TEXT,
            (w // 2, int(h * 0.4)),
        )
        self.draw_buttons(surface)


class HelpScreen(ButtonScreen):
    """ "I need help": one large, calm instruction in the middle, the number to call (the one
    the therapist set, spoken too), the emergency number, and an event the therapist sees."""

    name = "help"

    def make_buttons(self):
        return [self.big_button("Help has come", go_to("calm"), 0.88, 440)]

    def enter(self) -> None:
        super().enter()
        self.app.session.ask_for_help()
        self.app.say(help_words(self.app.settings.help_number))

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        self.app.text(
            surface, "Stay where you are.", theme.TITLE_PX, theme.WARNING, (w // 2, int(h * 0.1))
        )
        self.app.text(
            surface,
            "Hold the chair or sit down on it.",
            theme.BODY_PX,
            theme.TEXT,
            (w // 2, int(h * 0.26)),
        )
        number = self.app.settings.help_number
        call = f"Call {number}" if number else "Call someone who can help you."
        self.app.text(surface, call, theme.TITLE_PX, theme.TEXT, (w // 2, int(h * 0.46)))
        self.app.text(surface, EMERGENCY, theme.SMALL_PX, theme.TEXT, (w // 2, int(h * 0.65)))
        self.draw_buttons(surface)


class CalmScreen(ButtonScreen):
    """After help has come: rest, the session is over, the therapist will know."""

    name = "calm"

    def make_buttons(self):
        return [self.big_button("Back to the start", self.back, 0.82, 440)]

    def back(self) -> str:
        return "welcome"

    def enter(self) -> None:
        super().enter()
        self.app.session.end()
        self.app.say(CALM_SPOKEN)

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        self.app.text(surface, "Rest now.", theme.TITLE_PX, theme.TEXT, (w // 2, int(h * 0.2)))
        self.app.text(
            surface,
            "Your therapist will see what happened.",
            theme.BODY_PX,
            theme.TEXT,
            (w // 2, int(h * 0.42)),
        )
        self.draw_buttons(surface)


class NearbyScreen(ButtonScreen):
    """Before one-leg or eyes-closed work: is someone nearby, is the chair in place? Yes goes
    on; "Not today" leaves this exercise out (logged)."""

    name = "nearby"

    def make_buttons(self):
        return [
            self.big_button("Yes, go on", go_to("exercise"), 0.64, 420),
            self.big_button("Skip this one", self.not_today, 0.87, 420),
        ]

    def not_today(self) -> str:
        more = self.app.session.skip("nobody nearby or no chair")
        if not more:
            return "done"
        self.app.screens["rest"].tell("We left that one out today.")
        return "rest"

    def enter(self) -> None:
        super().enter()
        self.app.say(NEARBY_SPOKEN)

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        self.app.text(
            surface, "Before we start", theme.BODY_PX, theme.TEXT_DIM, (w // 2, int(h * 0.08))
        )
        self.app.text(
            surface,
            "Is the chair within reach, and can someone hear you call?",
            theme.TITLE_PX,
            theme.TEXT,
            (w // 2, int(h * 0.3)),
        )
        self.draw_buttons(surface)


class StanceScreen(ButtonScreen):
    """The stance check at the start of a session: lean onto each foot in turn, both feet
    down, holding the chair, so the weight on each leg is read from where the feet really are
    (``exercises.stance_check``). "Skip" assumes the feet on their marks (the results say so)."""

    name = "stance"

    def make_buttons(self):
        w, h = self.app.surface.get_size()
        return [small_button("Skip", self.skip, (w - 230, h - 100, 210, 84))]

    @property
    def primary(self):
        return None  # nothing to tap: she leans (Skip is for the therapist)

    def enter(self) -> None:
        super().enter()
        self.check = StanceCheck(self.app.session.context())
        self.state = None
        self.last = None
        self.app.say(STANCE_SPOKEN)

    def skip(self) -> str:
        self.app.session.set_stance({"measured": False})
        return "instructions"

    def update(self, samples) -> str | None:
        for sample in samples:
            self.last = sample
            self.state = self.check.feed(sample)
            if self.state.done:
                self.app.session.set_stance(stance_from(self.check.finish().metrics))
                if self.app.auto_patient is not None:
                    self.app.auto_patient.reset()
                return "instructions"
        if self.app.auto_patient is not None and self.state is not None:
            self.app.auto_patient.follow("stance-check", self.state, self.app.clock.monotonic(), {})
        return None

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        side = self.state.counters.get("side") if self.state else "left"
        self.app.text(
            surface,
            "First, a quick check of where your feet are",
            theme.SMALL_PX,
            theme.TEXT_DIM,
            (w // 2, int(h * 0.05)),
        )
        prompt = self.state.prompt if self.state else "Stand evenly on both feet."
        self.app.text(surface, prompt, theme.BODY_PX, theme.TEXT, (w // 2, int(h * 0.17)))
        centre, scale = (w // 2, int(h * 0.55)), 0.6
        g = self.app.geometry
        for foot_side, (fx, fy) in zip(("left", "right"), g.foot_centres_mm, strict=True):
            foot = pygame.Rect(0, 0, int(g.foot_width_mm * scale), int(g.foot_length_mm * scale))
            foot.center = (int(centre[0] + fx * scale), int(centre[1] - fy * scale))
            # both feet stay down (filled); the one to lean onto stands out
            colour = theme.ACCENT if foot_side == side else theme.FOOT
            pygame.draw.ellipse(surface, colour, foot)
        draw_chair(surface, (centre[0] + 250, centre[1] - 10))
        # an arrow toward the foot to lean onto, from the middle
        sign = -1 if side == "left" else 1
        tip = (centre[0] + sign * 150, centre[1])
        pygame.draw.line(surface, theme.ACCENT, centre, tip, 10)
        pygame.draw.polygon(
            surface,
            theme.ACCENT,
            [tip, (tip[0] - sign * 28, tip[1] - 22), (tip[0] - sign * 28, tip[1] + 22)],
        )
        last = self.last
        if last is not None and last.on_board and last.display_x_mm is not None:
            pos = (
                int(centre[0] + last.display_x_mm * scale),
                int(centre[1] - last.display_y_mm * scale),
            )
            pygame.draw.circle(surface, theme.DOT, pos, 16)
            pygame.draw.circle(surface, theme.BACKGROUND, pos, 16, width=3)
        self.draw_buttons(surface)


class DoneScreen(ButtonScreen):
    """The end of the session: well done, and the way to the progress chart."""

    name = "done"

    def make_buttons(self):
        w, h = self.app.surface.get_size()
        return [
            self.big_button("Finish", go_to("welcome"), 0.62),
            small_button("Progress", go_to("progress"), (w - 230, h - 100, 210, 84)),
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
    StanceScreen,
    InstructionScreen,
    NearbyScreen,
    ExerciseScreen,
    ResultScreen,
    RestScreen,
    SafetyScreen,
    HelpScreen,
    CalmScreen,
    DoneScreen,
)
