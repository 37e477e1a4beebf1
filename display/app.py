"""The touchscreen app: the screens' state machine, fed by the board, on a clock passed in.

Each step the app hands the screen its input events, turns the board's new frames into loads
(the board's calibration) and CoP samples (``device.cop``), gives them to the screen, and draws
it. The screens (``display.screens``, ``display.progress``, ``display.therapist``) say which
screen comes next; only the machine (``display.machine``) switches. The patient's session
(``display.session``) keeps the plan, the trials and the records; the clock (``device.clock``)
is the only source of time, so tests and the demo drive the whole app without waiting.

Example::

    board = open_board("sim", folder, now_iso=clock.now_iso(), clock=clock)
    app = App(surface, board, clock=clock, session=PatientSession(store, "P-0001", ...))
    while True:
        app.step(pygame.event.get())
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from datetime import datetime
from pathlib import Path

import pygame

from clinic.program import device_program
from clinic.store import Store, StoreError
from device.board import Board
from device.calibration import rezero
from device.clock import SystemClock
from device.cop import CentreOfPressureTracker
from device.geometry import BoardGeometry
from device.paths import records_path
from device.system import NoSystem, System, choose_system
from device.watch import LoadWatch
from display import theme
from display.first_start import DEFAULT_PATIENT, DONE, first_start_state, settle
from display.first_start_screens import FIRST_START_SCREENS, FIRST_START_SPOKEN
from display.kiosk import Panel, SystemdNotifier
from display.machine import ScreenMachine
from display.pin import PinState, load_pin, save_pin
from display.power import POWER_SCREENS
from display.progress import ProgressScreen
from display.screens import SESSION_SCREENS, SPOKEN, BoardScreen, FailsafeScreen, help_words
from display.session import PatientSession
from display.settings import Settings, load_settings, save_settings
from display.sound import Sound
from display.text import TextPainter
from display.therapist import THERAPIST_SCREENS
from display.widgets import tap_from_event
from exercises.conditioning import warm_up

log = logging.getLogger(__name__)

LIVE_SCREENS = ("board", "exercise")
THERAPIST_IDLE_S = 300.0  # therapist mode left open this long without a touch closes itself
INPUT_EVENTS = (pygame.MOUSEBUTTONDOWN, pygame.FINGERDOWN, pygame.KEYDOWN)


class App:
    """The screens, the board, the patient's session, drawing.

    :param surface: the landscape surface every screen draws on (800 × 480).
    :param board: the open board (``device.board.Board``): its link, calibration, geometry.
    :param clock: the app's clock (``device.clock.SystemClock``; ``ManualClock`` in tests).
    :param session: the patient's session (``display.session.PatientSession``); None shows the
        board alone.
    :param settings: volume, text size, speech, the help number (``display.settings``).
    :param pin: the therapist's PIN and its attempts (``display.pin``); None: no PIN, so
        therapist mode stays closed.
    :param sound: tones and speech (``display.sound.Sound``), or None for silence.
    :param panel: a rotated or scaled panel, to map touches back (``display.kiosk.Panel``).
    :param data_folder: where settings and the program are saved (None: nowhere).
    :param auto_patient: the simulated patient who follows the screen (``display.sim``).
    :param system: what may be asked of the operating system: turning off, the time zone
        (``device.system``); None: nothing (``NoSystem``, as on a PC).
    :param first_start: "new" or "resume" to show this device's first start before the
        patient's welcome (``display.first_start``); "done" (the default) for the welcome.
    """

    ZERO_FRAMES = 80  # one second of the empty board at the start, for the re-zero check

    def __init__(
        self,
        surface,
        board: Board,
        *,
        clock,
        session: PatientSession | None = None,
        settings: Settings | None = None,
        pin: PinState | None = None,
        sound: Sound | None = None,
        panel: Panel | None = None,
        data_folder: Path | None = None,
        auto_patient=None,
        system: System | None = None,
        first_start: str = DONE,
    ) -> None:
        self.surface = surface
        self.board = board
        self.clock = clock
        self.session = session
        self.settings = settings or Settings()
        self.pin = pin or PinState()
        self.sound = sound
        self.panel = panel
        self.data_folder = data_folder
        self.auto_patient = auto_patient
        self.system = system or NoSystem()
        self.first_start = first_start
        self.painter = TextPainter(self.settings.text_scale)
        self.tracker = CentreOfPressureTracker(board.geometry)
        self.watch = LoadWatch()  # a cell that stopped sensing load, named in the samples
        self._link_events_seen = 0
        self.lean = (0.0, 0.0)  # where the simulated person is steered to, by hand
        self.notice: str | None = None  # a message for the person, e.g. the re-zero warning
        self.trouble: str | None = None  # why exercises are off (the records cannot be used)
        self.started_at = clock.monotonic()
        self.last_touch_at = self.started_at  # the last tap or key, for therapist mode's timeout
        self.last_frame_at: float | None = None
        self._zero_raw: list | None = []
        self._queued: list = []  # the simulated patient's taps, for the next step
        if session is not None:
            session.on_new_plan = self._new_plan
        kinds = (
            BoardScreen,
            FailsafeScreen,
            *SESSION_SCREENS,
            ProgressScreen,
            *THERAPIST_SCREENS,
            *FIRST_START_SCREENS,
            *POWER_SCREENS,
        )
        start = "welcome" if session is not None and session.plan else "board"
        if session is not None and first_start != DONE:
            start = "first-start"  # a new device: the therapist sets it up first
        self.machine = ScreenMachine((kind(self) for kind in kinds), start)

    # --- the machine ---------------------------------------------------------------------------
    @property
    def current(self):
        return self.machine.current

    @property
    def screens(self) -> dict:
        return self.machine.screens

    @property
    def error(self) -> str | None:
        return self.machine.error

    def go(self, name: str) -> None:
        """Show screen ``name`` now (tests and the demo; screens return names instead)."""
        self.machine.go(name)

    def start_session(self) -> None:
        """Start the patient's session, as the Start button does."""
        self.machine.run(self.screens["welcome"].start)

    def next_exercise(self) -> None:
        """On to the next exercise, as the result screen's Next does."""
        self.machine.run(self.screens["result"].next)

    # --- the board -----------------------------------------------------------------------------
    @property
    def link(self):
        """Where the board's frames come from (``Board.link``)."""
        return self.board.link

    @property
    def calibration(self):
        return self.board.calibration

    @property
    def geometry(self) -> BoardGeometry:
        return self.board.geometry

    def calibration_age_days(self) -> float | None:
        try:
            now = datetime.fromisoformat(self.clock.now_iso())
            return self.board.calibration.age_days(now)
        except (AttributeError, TypeError, ValueError):
            return None

    def _samples(self, frames: list) -> list:
        """Frames → calibrated loads (kept for the trial's recording) → CoP samples."""
        session = self.session
        keep = session is not None and session.recording and self.current.name == "exercise"
        samples = []
        if self.board.calibration is None:
            # a real board not calibrated yet (the first start, or "Later"): its raw frames
            # still reach the calibration wizard, but there are no loads to show
            if frames:
                self.last_frame_at = self.clock.monotonic()
            return samples
        for frame in frames:
            if self._zero_raw is not None and frame.ok:
                self._zero_raw.append(frame.raw)
                if len(self._zero_raw) >= self.ZERO_FRAMES:
                    self._rezero()
            loads = self.watch.update(self.board.calibration.loads(frame))
            if keep and frame.ok:
                session.keep_loads(frame.t, loads.loads_kg)
            samples.append(self.tracker.update(loads))
        if frames:
            self.last_frame_at = self.clock.monotonic()
        return samples

    def _rezero(self) -> None:
        """At the start, zero the empty board again and warn if a corner moved too far."""
        new, check = rezero(self.board.calibration, self._zero_raw, self.clock.now_iso())
        self._zero_raw = None
        if check is not None and check.moved:
            self.notice = check.message
            log.warning("re-zero check: %s", check.message)
        if new is not None:
            try:
                self.board.use_calibration(new)
            except OSError as exc:  # a full or read-only disk must not stop the session
                log.error("could not save the re-zeroed calibration: %s", exc)
                self.board.calibration = new

    # --- one step --------------------------------------------------------------------------------
    def step(self, events) -> None:
        """Handle events, take new frames, draw once."""
        events = [*self._queued, *events]
        self._queued = []
        board_screen = self.screens["board"]
        steering = self.board.simulated
        for event in events:
            if event.type in INPUT_EVENTS:
                self.last_touch_at = self.clock.monotonic()
            if steering and event.type == pygame.KEYDOWN and event.key == pygame.K_a:
                self.toggle_auto_patient()
                continue
            self.machine.run(self.current.handle, event)
            if (
                steering
                and self.auto_patient is None
                and event.type == pygame.KEYDOWN
                and self.current is not board_screen
            ):
                self.machine.run(board_screen.handle, event)  # steer on any screen
        if (
            getattr(self.current, "therapist_mode", False)
            and self.clock.monotonic() - self.last_touch_at > THERAPIST_IDLE_S
        ):
            self.machine.run(self._close_therapist_mode, None)
        frames = self.board.link.frames(timeout=0)
        self._link_events()
        samples = self._samples(frames)
        self.machine.run(self.current.frames, frames)
        self.machine.run(self.current.update, samples)
        if self.auto_patient is not None:
            now = self.clock.monotonic()
            self._queued = self.auto_patient.taps(self.current, self.surface.get_size(), now)
        self.machine.draw(self.surface)

    def _link_events(self) -> None:
        """What happened to the board's reader (restarted, paused) goes to the device log; a
        restart during an exercise means its readings were interrupted: not scored."""
        events = getattr(self.board.link, "events", [])
        for event in events[self._link_events_seen :]:
            log.warning("board reader %s: %s", event.kind, event.message)
            self.log_event(f"reader_{event.kind}", event.message)
            exercise = getattr(self.current, "exercise", None)
            if self.current.name == "exercise" and exercise is not None:
                exercise.readings_interrupted(f"the board's reader {event.kind}: {event.message}")
        self._link_events_seen = len(events)

    @property
    def frame_rate(self) -> int:
        """60 frames a second while the dot moves; 15 on screens that only wait for a tap."""
        return 60 if self.current.name in LIVE_SCREENS else 15

    def toggle_auto_patient(self) -> None:
        """On the simulated board: switch between the simulated patient who follows the screen
        and steering the simulated person by hand (key A), while the app runs."""
        from display.sim.patient import AutoPatient  # the simulation, only when asked for

        self.auto_patient = None if self.auto_patient else AutoPatient(self.board.link)
        log.info("simulated patient: %s", "auto" if self.auto_patient else "manual")

    # --- what the screens use ------------------------------------------------------------------
    def text(self, surface, text: str, size: int, colour, center, *, width=None) -> None:
        """Draw ``text`` centred on ``center``, word-wrapped (``display.text``)."""
        self.painter.draw(surface, text, size, colour, center, width=width)

    def font(self, size: int, *, scaled: bool = True):
        return self.painter.font(size, scaled=scaled)

    def text_height(self, text: str, size: int, width: int) -> int:
        return self.painter.height(text, size, width)

    def tap(self, event):
        """The tap in ``event`` in this surface's coordinates (a rotated panel mapped back)."""
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
        planned = self.session.spoken_texts() if self.session is not None else []
        return [*planned, *SPOKEN, *FIRST_START_SPOKEN, help_words(self.settings.help_number)]

    def _new_plan(self) -> None:
        if self.sound is not None:
            self.sound.prepare(self.spoken_texts())

    def save_settings(self, settings: Settings) -> None:
        """New settings: in use at once (text size, volume, speech) and saved."""
        self.settings = settings
        self.painter.set_scale(settings.text_scale)
        if self.sound is not None:
            self.sound.set_volume(settings.volume)
            self.sound.speech = settings.speech
            self.sound.prepare([help_words(settings.help_number)])
        if self.data_folder is not None:
            try:
                save_settings(self.data_folder, settings)
            except OSError as exc:
                log.error("could not save the settings: %s", exc)

    def _close_therapist_mode(self, _) -> str:
        """Therapist mode left open (she was called away): closed before a visitor finds it."""
        minutes = THERAPIST_IDLE_S / 60
        self.log_event("therapist_mode", f"closed after {minutes:g} minutes without a touch")
        # in an unfinished first start, back to its beginning, which asks for the PIN
        return "welcome" if self.first_start == DONE else "first-start"

    def current_pin(self) -> PinState:
        """The PIN's state as kept now: a PIN the technician set while the app ran (``balance-
        board pin set``) is the one checked, and an attempt is counted on top of the file's."""
        if self.data_folder is not None:
            self.pin = load_pin(self.data_folder)
        return self.pin

    def save_pin(self, state: PinState) -> None:
        """The PIN's state after an attempt or a change: in use at once and kept (the attempts
        counter survives a restart)."""
        self.pin = state
        if self.data_folder is not None:
            try:
                save_pin(self.data_folder, state)
            except OSError as exc:
                log.error("could not save the PIN's state: %s", exc)

    def log_event(self, kind: str, message: str) -> None:
        """A device event for the therapist's log (PIN, export …), when there are records."""
        if self.session is not None:
            self.session.log_event(kind, message)


def _warm_up() -> None:
    began = time.monotonic()
    warm_up()
    log.info("the scores' libraries loaded in the background in %.1f s", time.monotonic() - began)


def open_records(
    folder: Path, board: Board, clock, pin: PinState, program, *, first_start_offered: bool = True
) -> tuple[Store | None, PatientSession | None, str, str | None]:
    """The records and the patient's session the app starts with: (store, session, the first
    start's state, why exercises are off or None). On a new device the first start's rule is
    applied before anything is added to the records, and no patient is made up: the first
    start asks for her code (``display.first_start``). Without ``first_start_offered`` (the
    simulated patient's demo) the patient is P-0001 and there is no PIN, as before."""
    store = session = trouble = None
    first_start = DONE
    try:
        store = Store(records_path(folder))
        # decided before anything is added to the records (display.first_start)
        if first_start_offered:
            first_start = first_start_state(folder, store, pin)
        settle(folder, store, first_start, clock.now_iso())
        patients = store.patients()
        if len(patients) > 1:
            log.warning(
                "%d patients on this board: the app uses %s", len(patients), patients[0].code
            )
        if patients:
            code = patients[0].code
        elif first_start != DONE:
            code = None  # the first start asks for the patient's code
        else:
            code = store.add_patient(DEFAULT_PATIENT, created_at=clock.now_iso()).code
        session = PatientSession(
            store,
            code,
            clock=clock,
            geometry=board.geometry,
            board_kind=board.kind,  # each session keeps which board made it
            program=program,
            data_folder=folder,
        )
    except (StoreError, sqlite3.Error, OSError) as exc:
        # no restart loop to a blank screen: the board is shown, exercises are off, and why is
        # on the screen and in the journal until the technician has seen to it
        log.error("the records cannot be used, exercises are off: %s", exc)
        first_start = DONE  # no first start without records to keep it in
        trouble = (
            f"The results could not be kept ({exc}). Please tell your therapist or the "
            "technician. The board itself still works."
        )
        if store is not None:
            store.close()
            store = None
    return store, session, first_start, trouble


def run_app(
    board: Board,
    folder: Path,
    *,
    patient: str = "auto",
    exit_after_s: float | None = None,
    rotation: int = 0,
    window: bool = False,
    clock=None,
) -> int:
    """``balance-board run``: full screen on the Pi (kmsdrm), a window on a PC, until closed or
    ``exit_after_s``. ``patient`` "auto" lets the simulated patient follow the screen on the
    simulated board."""
    clock = clock or SystemClock()
    settings = load_settings(folder)
    pin = load_pin(folder)
    if not pin.is_set:
        log.warning("no usable PIN (%s): therapist mode stays closed", pin.status)
    program, problem = device_program(folder)
    if problem:
        log.error("program not used, the default one is: %s", problem)
    pygame.init()
    kiosk = os.environ.get("SDL_VIDEODRIVER") == "kmsdrm" and not window
    if kiosk:
        screen = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        pygame.mouse.set_visible(False)
    else:
        w, h = theme.SCREEN_SIZE
        screen = pygame.display.set_mode((w, h) if rotation == 0 else (h, w))
    pygame.display.set_caption("Balance board")
    panel = Panel(screen.get_size(), rotation, theme.SCREEN_SIZE)
    surface = screen if panel.identity else pygame.Surface(theme.SCREEN_SIZE)
    # the simulated patient who follows the screen cannot set a device up (nor should it choose
    # a PIN): its demo skips the first start; on the simulated board by hand it is there
    demo = board.simulated and patient == "auto"
    store, session, first_start, trouble = open_records(
        folder, board, clock, pin, program, first_start_offered=not demo
    )
    sound = Sound(folder / "speech-cache", settings.volume, speech=settings.speech)
    auto = None
    if demo:
        from display.sim.patient import AutoPatient  # the simulation, only when asked for

        auto = AutoPatient(board.link)
    app = App(
        surface,
        board,
        clock=clock,
        session=session,
        settings=settings,
        pin=pin,
        sound=sound,
        panel=None if panel.identity else panel,
        data_folder=folder,
        auto_patient=auto,
        system=choose_system(kiosk=kiosk),
        first_start=first_start if session is not None else DONE,
    )
    if app.first_start != DONE:
        log.warning("this device's first start is %s: it is shown first", app.first_start)
    app.trouble = trouble
    sound.prepare(app.spoken_texts())
    if session is not None:
        session.keep_program_version("device")
    notifier = SystemdNotifier()
    ticker = pygame.time.Clock()
    start = last_ping = clock.monotonic()
    ready = False
    try:
        while True:
            events = pygame.event.get()
            if any(e.type == pygame.QUIT for e in events):
                break
            app.step(events)
            panel.present(surface, screen)
            pygame.display.flip()
            now = clock.monotonic()
            if not ready:
                notifier.notify("READY=1")
                ready = True
                # the scores' libraries load now, while she reads the first screen, instead of
                # freezing the screen at the end of her first trial
                threading.Thread(target=_warm_up, name="warm-up", daemon=True).start()
            if notifier.watchdog_interval_s and now - last_ping >= notifier.watchdog_interval_s:
                # only a loop that still draws pings: a hung screen gets restarted by systemd
                notifier.notify("WATCHDOG=1")
                last_ping = now
            if exit_after_s and now - start >= exit_after_s:
                break
            ticker.tick(app.frame_rate)
    finally:
        notifier.notify("STOPPING=1")
        notifier.close()
        board.close()
        sound.close()
        if store is not None:
            store.close()
        pygame.quit()
    return 0
