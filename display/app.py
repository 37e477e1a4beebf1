"""The touchscreen app: an explicit state machine of screens, fed by the acquisition process.

Each screen has ``enter``, ``handle`` (one pygame event), ``update`` (new CoP samples), ``draw``
and ``exit``; the app switches screens by name and falls back to a failsafe screen if a screen
raises, so a bug never leaves a traceback on the patient's screen (the pibooth pattern).

Today the app has the live board screen: the board with its foot marks, the centre of pressure,
the total load and every corner's state in words. On a PC it runs on the simulated board, which
can be steered from the keyboard or mouse (see ``SIM_KEYS``).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from device import CORNER_NAMES
from device.cop import CentreOfPressureTracker, CopSample
from device.geometry import BoardGeometry
from device.hx711 import FAULT_TEXT
from display import theme

log = logging.getLogger(__name__)

SIM_KEYS = "arrows lean · L/R lift a foot · F to floor · H chair · O off/on · A auto/manual"


class Screen:
    """One screen of the app."""

    name = "screen"

    def __init__(self, app: App) -> None:
        self.app = app

    entered_at = 0.0

    def enter(self) -> None: ...

    def exit(self) -> None: ...

    def handle(self, event) -> None: ...

    def update(self, samples: list[CopSample]) -> None: ...

    def frames(self, frames: list) -> None:
        """The raw frames behind this step's samples (the calibration wizard needs counts)."""

    def draw(self, surface) -> None: ...


class BoardScreen(Screen):
    """Live view of the board: foot marks, the CoP dot, the load, each corner's state."""

    name = "board"

    def __init__(self, app: App) -> None:
        super().__init__(app)
        self.latest: CopSample | None = None
        self.lifted = {"left": False, "right": False}
        self.off = False
        self.holding = False

    ON_BOARD_S = 2.0  # standing still on the board this long: the board check is passed

    def enter(self) -> None:
        self._on_since: float | None = None

    def update(self, samples: list[CopSample]) -> None:
        if samples:
            self.latest = samples[-1]
        if not self.app.plan or (self.app.session_id is None and self.app.store is not None):
            return  # the plain board view, no session going on
        for sample in samples:
            good = sample.on_board and not any(sample.faults)
            if not good:
                self._on_since = None
            elif self._on_since is None:
                self._on_since = sample.t
            elif sample.t - self._on_since >= self.ON_BOARD_S:
                self.app.go("instructions")
                return

    NO_FRAMES_S = 3.0  # no reading at all for this long: the board is not connected

    @property
    def disconnected(self) -> bool:
        app = self.app
        if getattr(app.link, "failed", False):
            return True
        last = app.last_frame_at if app.last_frame_at is not None else app.started_at
        return time.monotonic() - last > self.NO_FRAMES_S

    def _board_rect(self, surface):
        import pygame

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

    def handle(self, event) -> None:
        import pygame

        link = self.app.link
        if self.app.notice and event.type in (pygame.MOUSEBUTTONUP, pygame.FINGERUP):
            self.app.notice = None  # read and dismissed with a tap
            return
        if event.type == pygame.KEYDOWN and self.app.simulated:
            step = 25.0
            moves = {
                pygame.K_LEFT: (-step, 0),
                pygame.K_RIGHT: (step, 0),
                pygame.K_UP: (0, step),
                pygame.K_DOWN: (0, -step),
            }
            if event.key in moves:
                dx, dy = moves[event.key]
                self.app.lean = (self.app.lean[0] + dx, self.app.lean[1] + dy)
                link.command("lean", x_mm=self.app.lean[0], y_mm=self.app.lean[1])
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
        elif event.type in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEMOTION) and self.app.simulated:
            pressed = event.type == pygame.MOUSEBUTTONDOWN or event.buttons[0]
            if pressed:
                x, y = self.to_board(self.app.surface, *event.pos)
                self.app.lean = (x, y)
                link.command("lean", x_mm=x, y_mm=y, duration=0.3)

    def draw(self, surface) -> None:
        import pygame

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
            detail = "Check the cable between the board and the screen, then wait."
        elif sample is None:
            line, colour = "Waiting for the board…", theme.TEXT_DIM
        elif faults:
            i = faults[0]
            line, colour = f"Board problem: {CORNER_NAMES[i]} corner", theme.DANGER
            detail = FAULT_TEXT.get(sample.faults[i], sample.faults[i])
        elif sample.on_board and sample.total_kg is not None:
            line, colour = f"{sample.total_kg:.1f} kg on the board", theme.TEXT
        else:
            line, colour = "Please step onto the board", theme.TEXT
        if app.notice and not faults:
            # a message box in the middle of the screen, where it is seen (left-side neglect)
            box = pygame.Rect(0, 0, w - 60, 260)
            box.center = (w // 2, h // 2)
            pygame.draw.rect(surface, theme.PANEL, box, border_radius=16)
            pygame.draw.rect(surface, theme.WARNING, box, width=4, border_radius=16)
            app.text(
                surface,
                "Please check the board",
                theme.BODY_PX,
                theme.WARNING,
                (w // 2, box.top + 45),
            )
            app.text(surface, app.notice, theme.SMALL_PX, theme.TEXT, (w // 2, box.centery + 30))
            return
        if detail:
            app.text(surface, line, theme.BODY_PX, colour, (w // 2, int(h * 0.84)))
            app.text(surface, detail, theme.SMALL_PX, theme.TEXT, (w // 2, int(h * 0.92)))
        else:
            app.text(surface, line, theme.BODY_PX, colour, (w // 2, int(h * 0.88)))
        if app.simulated and not detail:
            app.text(surface, "Simulated: " + SIM_KEYS, 18, theme.TEXT_DIM, (w // 2, h - 14))


class FailsafeScreen(Screen):
    """Shown when a screen fails: calm words, no traceback; a tap goes back to the board."""

    name = "failsafe"

    def handle(self, event) -> None:
        import pygame

        if event.type in (pygame.MOUSEBUTTONUP, pygame.FINGERUP, pygame.KEYDOWN):
            self.app.go("board")

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


class App:
    """Screens, the board link (an ``Acquisition``), calibration, CoP tracking, drawing."""

    ZERO_FRAMES = 80  # one second of the empty board at the start, for the re-zero check

    def __init__(
        self,
        surface,
        link,
        calibration,
        geometry: BoardGeometry,
        *,
        simulated: bool,
        calibration_path: Path | None = None,
        store=None,
        patient_code: str | None = None,
        plan=None,
        auto_patient=None,
        now_iso=None,
        settings=None,
        data_folder: Path | None = None,
        sound=None,
        program=None,
        panel=None,
        wall_clock=time.time,
    ):
        from display.settings import Settings

        self.surface = surface
        self.settings = settings or Settings()
        self.data_folder = data_folder
        self.sound = sound
        self.program = program
        self.panel = panel  # a rotated panel maps touches back to this (landscape) surface
        self.wall_clock = wall_clock  # for the PIN's rate limit (survives restarts)
        self.trial_loads: list[tuple[float, tuple]] = []
        self.store = store
        self.patient_code = patient_code
        self.plan = tuple(plan) if plan else ()
        self.auto_patient = auto_patient
        self._now_iso = now_iso
        self.session_id: int | None = None
        self.index = 0
        self.trial_id: int | None = None
        self.last_result = None
        self.previous_score: float | None = None
        self.completed: list = []  # results of this run, for tests and the demo
        self.calibration_path = calibration_path
        self._zero_raw: list[tuple[int, ...]] | None = []
        self.notice: str | None = None  # a message for the person, e.g. the re-zero warning
        self.link = link
        self.calibration = calibration
        self.geometry = geometry
        self.simulated = simulated
        self.tracker = CentreOfPressureTracker(geometry)
        self.lean = (0.0, 0.0)
        self._fonts: dict[int, object] = {}
        self._text_cache: dict[tuple, list] = {}
        from display.progress import ProgressScreen
        from display.screens import SESSION_SCREENS
        from display.therapist import THERAPIST_SCREENS

        kinds = (BoardScreen, FailsafeScreen, *SESSION_SCREENS, ProgressScreen, *THERAPIST_SCREENS)
        self.screens: dict[str, Screen] = {s.name: s(self) for s in kinds}
        self.current: Screen = self.screens["welcome" if self.plan else "board"]
        self.current.enter()
        self.error: str | None = None
        self.started_at = time.monotonic()
        self.last_frame_at: float | None = None

    def text(self, surface, text: str, size: int, colour, center, *, width=None) -> None:
        """Draw ``text`` centred on ``center``, wrapped onto more lines when wider than
        ``width`` (the screen's width less margins by default)."""
        width = width or surface.get_width() - 40
        size = round(size * self.settings.text_scale)
        key = (text, size, tuple(colour), width)
        images = self._text_cache.get(key)
        if images is None:
            images = self._render_text(text, size, colour, width)
            if len(self._text_cache) > 256:  # the screens use a few dozen texts; counters more
                self._text_cache.clear()
            self._text_cache[key] = images
        height = sum(image.get_height() for image in images)
        y = center[1] - height // 2
        for image in images:
            surface.blit(image, image.get_rect(midtop=(center[0], y)))
            y += image.get_height()

    def font(self, size: int, *, scaled: bool = True):
        """The font for text ``size`` px high (times the large-text setting when ``scaled``)."""
        import pygame

        if scaled:
            size = round(size * self.settings.text_scale)
        font = self._fonts.get(size)
        if font is None:
            # pygame's default font draws capitals about 1/1.3 of the size asked for
            font = self._fonts[size] = pygame.font.Font(None, int(size * 1.3))
        return font

    def _render_text(self, text: str, size: int, colour, width: int) -> list:
        """Word-wrapped lines as images (rendering text is the costliest part of a frame)."""
        import pygame

        font = self.font(size, scaled=False)
        lines: list[str] = []
        for word in text.split():
            if lines and font.size(f"{lines[-1]} {word}")[0] <= width:
                lines[-1] = f"{lines[-1]} {word}"
            else:
                lines.append(word)
        images = []
        for line in lines:
            image = font.render(line, True, colour)
            if image.get_width() > width:  # a single word wider than the screen: shrink it
                ratio = width / image.get_width()
                image = pygame.transform.smoothscale(
                    image, (int(image.get_width() * ratio), int(image.get_height() * ratio))
                )
            images.append(image)
        return images

    def _rezero(self) -> None:
        """At the start, zero the empty board again and warn if a corner moved too far."""
        from balance_board.cli import now_iso
        from device.calibration import rezero, save_calibration

        new, check = rezero(self.calibration, self._zero_raw, now_iso())
        self._zero_raw = None
        if check is not None and check.moved:
            self.notice = check.message
            log.warning("re-zero check: %s", check.message)
        if new is not None:
            self.calibration = new
            if self.calibration_path is not None:
                try:
                    save_calibration(self.calibration_path, new)
                except OSError as exc:  # a full or read-only disk must not stop the session
                    log.error("could not save the re-zeroed calibration: %s", exc)

    # --- the session: plan, trials, records --------------------------------------------------
    def now(self) -> str:
        if self._now_iso is not None:
            return self._now_iso()
        from balance_board.cli import now_iso

        return now_iso()

    @property
    def planned(self):
        return self.plan[self.index]

    @property
    def affected_side(self) -> str | None:
        if self.store is None or self.patient_code is None:
            return None
        return self.store.patient(self.patient_code).affected_side

    def calibration_age_days(self) -> float | None:
        from datetime import datetime

        try:
            return self.calibration.age_days(datetime.fromisoformat(self.now()))
        except (TypeError, ValueError):
            return None

    def store_event(self, kind: str, message: str) -> None:
        """A device event for the therapist's log (calibration, PIN, export, …)."""
        if self.store is not None:
            try:
                self.store.log_event(kind, message, self.now(), self.session_id)
            except Exception as exc:  # the log must never stop the screen
                log.error("could not log %s: %s", kind, exc)

    def start_session(self) -> None:
        self.index = 0
        if self.store is not None and self.patient_code is not None:
            self.session_id = self.store.start_session(self.patient_code, self.now())
        self.go("board")

    def tap(self, event):
        """The tap in ``event`` in this surface's coordinates (a rotated panel mapped back)."""
        from display.widgets import tap_from_event

        if self.panel is not None:
            return tap_from_event(event, self.panel.window_size, self.panel.to_logical)
        return tap_from_event(event, self.surface.get_size())

    def say(self, text: str) -> None:
        if self.sound is not None:
            self.sound.say(text)

    def play(self, name: str) -> None:
        if self.sound is not None:
            self.sound.play(name)

    def spoken_texts(self) -> list[str]:
        """Every sentence the app may speak: rendered ahead (espeak-ng) into the cache."""
        from display.screens import SPOKEN

        return [p.instruction for p in self.plan] + list(SPOKEN)

    def save_settings(self, settings) -> None:
        from display.settings import save_settings

        self.settings = settings
        self._text_cache.clear()  # text size may have changed
        if self.sound is not None:
            self.sound.set_volume(settings.volume)
            self.sound.speech = settings.speech
        if self.data_folder is not None:
            try:
                save_settings(self.data_folder, settings)
            except OSError as exc:
                log.error("could not save the settings: %s", exc)

    def set_program(self, program) -> None:
        """The therapist saved a new program: today's plan follows it from the next session."""
        from display.session import plan_from_program

        self.program = program
        self.plan = plan_from_program(program)
        if self.sound is not None:
            self.sound.prepare(self.spoken_texts())

    def keep_program_version(self, source: str) -> None:
        """Keep the program in force in the records (the report compares done with prescribed)."""
        from clinic.program import program_text

        if self.store is None or self.patient_code is None or self.program is None:
            return
        text = program_text(self.program)
        versions = self.store.programs(self.patient_code)
        if versions and versions[-1]["text"] == text:
            return
        self.store.save_program(self.patient_code, text, self.now(), source)

    def progress_program(self) -> None:
        """After a session: apply the program's progression rules (automatic progression), keep
        the new version in the records and the program file, and log what changed."""
        from clinic.program import (
            FILE_NAME,
            program_text,
            progress,
            save_program,
            sessions_meeting_target,
        )

        program, store, code = self.program, self.store, self.patient_code
        if program is None or not program.progression or store is None or code is None:
            return
        versions = store.programs(code)
        since = versions[-1]["saved_at"] if versions else None
        met = sessions_meeting_target(program, store.trials(code), since)
        new, changes = progress(program, met)
        if not changes:
            return
        now = self.now()
        if self.data_folder is not None:
            save_program(Path(self.data_folder) / FILE_NAME, new)
        store.save_program(code, program_text(new), now, "progression")
        for exercise, name, old, value in changes:
            self.store_event("progression", f"{exercise} {name}: {old:g} → {value:g}")
        self.set_program(new)

    def _recording(self):
        from device.recording import Recording

        if len(self.trial_loads) < 2:
            return None
        t = [row[0] for row in self.trial_loads]
        loads = [row[1] for row in self.trial_loads]
        item = self.planned
        return Recording(
            t,
            loads,
            self.geometry.width_mm,
            self.geometry.depth_mm,
            stance_width_mm=self.geometry.stance_width_mm,
            exercise=item.exercise,
            leg=item.params.get("leg"),
        )

    def begin_trial(self) -> None:
        self.trial_loads = []
        item = self.planned
        if self.store is not None and self.session_id is not None:
            self.trial_id = self.store.begin_trial(
                self.session_id, item.exercise, item.params, self.now()
            )

    def finish_trial(self, result) -> None:
        self.last_result = result
        self.completed.append(result)
        self.previous_score = None
        if self.store is not None and self.trial_id is not None:
            last = self.store.last_trial(self.patient_code, result.exercise)
            self.previous_score = last.score if last is not None else None
            try:
                recording = self._recording()
            except ValueError as exc:  # the record is kept without its raw data
                log.error("could not keep the trial's recording: %s", exc)
                recording = None
            self.store.finish_trial(self.trial_id, result.to_dict(), recording, self.now())
            self.trial_id = None
        self.trial_loads = []
        self.play("success" if result.score is not None else "time-up")
        if self.auto_patient is not None:
            self.auto_patient.reset()
        self.go("result")

    def safety_stop(self, reason: str) -> None:
        if self.store is not None:
            if self.trial_id is not None:
                self.store.abort_trial(self.trial_id, reason, self.now())
                self.trial_id = None
            self.store.log_event("safety_stop", reason, self.now(), self.session_id)
        self.trial_loads = []
        if self.auto_patient is not None:
            self.auto_patient.link.command("step_on")
        self.go("safety")

    def next_exercise(self) -> None:
        self.index += 1
        if self.index >= len(self.plan):
            if self.store is not None and self.session_id is not None:
                self.store.end_session(self.session_id, self.now())
                self.session_id = None
                self._guarded(self.progress_program)
            self.index = 0
            self.go("done")
        else:
            self.go("rest")

    def go(self, name: str) -> None:
        self.current.exit()
        self.current = self.screens[name]
        self.current.enter()

    def _guarded(self, action, *args) -> None:
        try:
            action(*args)
        except Exception as exc:  # never a traceback on the patient's screen
            log.exception("screen %s failed", self.current.name)
            self.error = f"{type(exc).__name__}: {exc}"
            if self.current.name != "failsafe":
                self.go("failsafe")

    def step(self, events) -> None:
        """Handle events, take new frames, draw once."""
        import pygame

        board = self.screens["board"]
        for event in events:
            if self.simulated and event.type == pygame.KEYDOWN and event.key == pygame.K_a:
                self.toggle_auto_patient()
                continue
            self._guarded(self.current.handle, event)
            if (
                self.current is not board
                and self.simulated
                and self.auto_patient is None
                and event.type == pygame.KEYDOWN
            ):
                self._guarded(board.handle, event)  # steer the simulated person on any screen
        samples = []
        frames = self.link.frames(timeout=0)
        recording = self.trial_id is not None and self.current.name == "exercise"
        for frame in frames:
            if self._zero_raw is not None and frame.ok:
                self._zero_raw.append(frame.raw)
                if len(self._zero_raw) >= self.ZERO_FRAMES:
                    self._rezero()
            loads = self.calibration.loads(frame)
            if recording and frame.ok:
                self.trial_loads.append((frame.t, loads.loads_kg))
            samples.append(self.tracker.update(loads))
        if frames:
            self.last_frame_at = time.monotonic()
        self._guarded(self.current.frames, frames)
        self._guarded(self.current.update, samples)
        if self.auto_patient is not None:
            self._auto_tap()
        self._guarded(self.current.draw, self.surface)

    def toggle_auto_patient(self) -> None:
        """On the simulated board: switch between the simulated patient who follows the screen
        and steering the simulated person by hand (key A), while the app runs."""
        from display.session import AutoPatient

        self.auto_patient = None if self.auto_patient else AutoPatient(self.link)
        log.info("simulated patient: %s", "auto" if self.auto_patient else "manual")

    LIVE_SCREENS = ("board", "exercise")

    @property
    def frame_rate(self) -> int:
        """60 frames a second while the dot moves; 15 on screens that only wait for a tap."""
        return 60 if self.current.name in self.LIVE_SCREENS else 15

    AUTO_READ_S = 1.0  # the simulated patient reads a screen this long before tapping

    def _auto_tap(self) -> None:
        """The simulated patient presses the main button after reading the screen a while."""
        import pygame

        screen = self.current
        button = getattr(screen, "primary", None)
        if button is None or time.monotonic() - screen.entered_at < self.AUTO_READ_S:
            return
        w, h = self.surface.get_size()
        x, y = button.rect.center
        for kind in (pygame.FINGERDOWN, pygame.FINGERUP):
            pygame.event.post(
                pygame.event.Event(
                    kind, x=x / w, y=y / h, dx=0, dy=0, touch_id=1, finger_id=0, pressure=1.0
                )
            )
        screen.entered_at = time.monotonic()  # one tap, then wait again


def _pick_board(args) -> str:
    """``auto``: the real board when lgpio and a gpiochip are there and its pins answer."""
    if args.board != "auto":
        return args.board
    if not any(Path("/dev").glob("gpiochip*")):
        return "sim"
    try:
        import lgpio  # noqa: F401
    except ImportError:
        return "sim"
    from device.acquisition import Acquisition, HardwareSource

    with Acquisition(HardwareSource(), max_restarts=0) as probe:
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if any(any(v is not None for v in f.raw) for f in probe.frames(timeout=0.1)):
                return "hx711"
    # A Pi whose board was calibrated here is a balance board with its cable out: show "board not
    # connected" rather than a simulated board that would look like a working one.
    from balance_board import cli

    if cli.calibration_path(cli.data_dir(args.data_dir), "hx711").exists():
        return "hx711"
    return "sim"


def run_app(args) -> int:
    """``balance-board run``: full screen on the Pi (kmsdrm), a window on a PC."""
    from balance_board import cli
    from clinic.program import device_program
    from clinic.store import Store
    from device.acquisition import Acquisition
    from display.kiosk import Panel, SystemdNotifier
    from display.session import AutoPatient, plan_from_program
    from display.settings import load_settings, save_settings
    from display.sound import Sound

    board = _pick_board(args)
    args.board = board
    folder = cli.data_dir(args.data_dir)
    geometry = cli._geometry(args)
    calibration = cli._calibration(args, folder, geometry)
    settings = load_settings(folder)
    if not (folder / "settings.json").exists():
        save_settings(folder, settings)  # the default PIN's hash, kept from the first start
    program, problem = device_program(folder)
    if problem:
        log.error("program not used, the default one is: %s", problem)
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    pygame.init()
    rotation = getattr(args, "rotate", 0) or 0
    kiosk = os.environ.get("SDL_VIDEODRIVER") == "kmsdrm" and not args.window
    if kiosk:
        window = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        pygame.mouse.set_visible(False)
    else:
        w, h = theme.SCREEN_SIZE
        window = pygame.display.set_mode((w, h) if rotation == 0 else (h, w))
    pygame.display.set_caption("Balance board")
    panel = Panel(window.get_size(), rotation, theme.SCREEN_SIZE)
    surface = window if panel.identity else pygame.Surface(theme.SCREEN_SIZE)
    source = cli._source(args, geometry, realtime=True)
    link = Acquisition(source)
    link.start()
    store = Store(folder / "balance-board.sqlite3")
    patients = store.patients()
    # a home board has one patient; until the therapist sets one up, a pseudonymous default
    code = (
        patients[0].code if patients else store.add_patient("P-0001", created_at=cli.now_iso()).code
    )
    sound = Sound(folder / "speech-cache", settings.volume, speech=settings.speech)
    auto = AutoPatient(link) if board == "sim" and args.patient == "auto" else None
    app = App(
        surface,
        link,
        calibration,
        geometry,
        simulated=board == "sim",
        calibration_path=cli.calibration_path(folder, board),
        store=store,
        patient_code=code,
        plan=plan_from_program(program),
        auto_patient=auto,
        settings=settings,
        data_folder=folder,
        sound=sound,
        program=program,
        panel=None if panel.identity else panel,
    )
    sound.prepare(app.spoken_texts())
    app.keep_program_version("device")
    notifier = SystemdNotifier()
    clock = pygame.time.Clock()
    start = last_ping = time.monotonic()
    ready = False
    try:
        while True:
            events = pygame.event.get()
            if any(e.type == pygame.QUIT for e in events):
                break
            app.step(events)
            panel.present(surface, window)
            pygame.display.flip()
            now = time.monotonic()
            if not ready:
                notifier.notify("READY=1")
                ready = True
            if notifier.watchdog_interval_s and now - last_ping >= notifier.watchdog_interval_s:
                # only a loop that still draws pings: a hung screen gets restarted by systemd
                notifier.notify("WATCHDOG=1")
                last_ping = now
            if args.exit_after and now - start >= args.exit_after:
                break
            clock.tick(app.frame_rate)
    finally:
        notifier.notify("STOPPING=1")
        notifier.close()
        link.close()
        sound.close()
        store.close()
        pygame.quit()
    return 0
