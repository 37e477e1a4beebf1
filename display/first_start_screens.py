"""The first start's screens: the therapist sets up a new device, once (``display.first_start``
has the rule that decides when).

In order, each screen returning the next one's name: the start ("first-start") → the PIN chosen
and typed twice ("first-pin"; or, when a PIN is already set, asked for: "first-unlock") → the
clock and its time zone ("first-clock", "time-zone") → the patient's code ("first-patient") and
weaker side ("first-side") → the calibration with the known weight ("first-calibration", then
the therapist's calibration wizard, ``display.therapist.CalibrationScreen``) → a sound test
("first-sound") → the patient's welcome. Only the first two steps can be gone back to before
the PIN: there is no way from these screens into the patient's screens or therapist mode but
through the end.

These screens are the therapist's, so their explanations may be in smaller text; the buttons
keep the patient's sizes (at least 80 px), and every colour pair is one of ``theme.TEXT_PAIRS``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pygame

from clinic import actions
from clinic.store import PATIENT_CODE_RULE, StoreError, check_patient_code
from device.system import TIME_ZONES, SystemActionError, zone_words
from display import theme
from display.first_start import DEFAULT_PATIENT, mark
from display.screens import ButtonScreen, go_to, small_button
from display.therapist import PinScreen
from display.widgets import Button

log = logging.getLogger(__name__)

STEPS = 5  # the PIN, the clock, the patient, the calibration, the sound
SOUND_TEST_SPOKEN = "This is your balance board speaking. Can you hear me?"
FIRST_START_SPOKEN = (SOUND_TEST_SPOKEN,)
"""Sentences the first start speaks (rendered ahead with the others)."""


def _button(label, action, x, y, w, h, colour=theme.BUTTON) -> Button:
    return Button(label, pygame.Rect(x, y, w, h), action, colour=colour)


def step_words(step: int, what: str) -> str:
    """The line at the top of each step: "Step 2 of 5: the clock" (short: it fits above the
    words beside a keypad)."""
    return f"Step {step} of {STEPS}: {what}"


@dataclass
class Answers:
    """What the first start was told so far, for its last event in the device log."""

    zone: str | None = None
    patient: str | None = None
    side: str | None = None
    calibrated: bool = False
    heard: bool | None = None

    def summary(self) -> str:
        side = self.side or "neither"
        calibration = "calibrated" if self.calibrated else "calibration left for later"
        sound = {True: "sound heard", False: "sound not heard", None: "sound not tested"}
        return (
            f"first start done: time zone {self.zone or 'unknown'}, patient {self.patient} "
            f"(weaker side: {side}), {calibration}, {sound[self.heard]}"
        )


def answers(app) -> Answers:
    """The answers the first start keeps while it runs (on its first screen)."""
    return app.screens["first-start"].answers


class FirstStartScreen(ButtonScreen):
    """The start of the first start: what it is, who does it, and Begin. On a device whose PIN
    is already set (the first start was cut short, or the technician set it from a shell) it
    goes on behind that PIN."""

    name = "first-start"

    def __init__(self, app) -> None:
        super().__init__(app)
        self.answers = Answers()
        self.message = ""

    @property
    def resuming(self) -> bool:
        return self.app.current_pin().is_set  # the file as it is now (a shell may have set it)

    def make_buttons(self):
        label = "Go on" if self.resuming else "Begin"
        return [self.big_button(label, self.begin, 0.84, 360)]

    def begin(self) -> str:
        if self.resuming:
            return "first-unlock"
        app = self.app
        if app.data_folder is not None:
            try:
                # "begun" before any PIN exists: a first start cut short before the PIN is
                # chosen is offered again, one cut short after it resumes behind the PIN
                mark(app.data_folder, "begun", app.clock.now_iso())
            except OSError as exc:
                log.error("could not keep the first start's marker: %s", exc)
                self.message = f"The board cannot save its settings ({exc.strerror or exc})."
                return None
        return "first-pin"

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        app = self.app
        if self.resuming:
            title = "Setting up this board"
            words = (
                "The setting up is not finished yet. The therapist's PIN, please; then the "
                "steps that are left."
            )
        else:
            title = "Welcome to your balance board"
            words = (
                "Before the first exercises the therapist sets up the board: her PIN, the "
                "clock, the patient, the calibration with a known weight (2 to 20 kg) and the "
                "sound. It takes about ten minutes."
            )
        app.text(surface, title, theme.TITLE_PX, theme.TEXT, (w // 2, int(h * 0.11)))
        app.text(surface, words, theme.SMALL_PX, theme.TEXT, (w // 2, int(h * 0.36)), width=680)
        app.text(
            surface,
            "If you are the patient: please wait for your therapist.",
            theme.SMALL_PX,
            theme.ACCENT,
            (w // 2, int(h * 0.6)),
            width=680,
        )
        if self.message:
            app.text(surface, self.message, theme.SMALL_PX, theme.WARNING, (w // 2, int(h * 0.7)))
        self.draw_buttons(surface)


class FirstStartPinScreen(PinScreen):
    """The PIN keypad as step 1 of the first start: its step above the keypad, Back to the
    first start's beginning."""

    def back(self) -> str:
        return "first-start"

    def draw(self, surface) -> None:
        super().draw(surface)
        self.app.text(
            surface, step_words(1, "the PIN"), theme.SMALL_PX, theme.TEXT_DIM, (210, 30), width=400
        )


class FirstPinScreen(FirstStartPinScreen):
    """Step 1: the therapist chooses her PIN, typed twice. This is how a new device gets its
    first PIN; there is no default one."""

    name = "first-pin"

    def enter(self) -> str | None:
        if self.app.current_pin().is_set:
            return "first-unlock"  # a PIN is never chosen here without knowing the one set
        self.request_change()
        super().enter()
        # a change asks for the PIN in use first; there is none yet (checked just above)
        self.current_confirmed = True
        self.message = "Therapist: choose a PIN of 4 to 8 digits"
        return None

    def check(self) -> str | None:
        if self.app.current_pin().is_set:
            # the technician set one from a shell while this screen was up: that one counts
            return "first-unlock"
        return super().check()

    def chosen(self) -> str:
        self.app.log_event("pin_set", "the therapist chose the first PIN at the first start")
        return "first-clock"


class FirstUnlockScreen(FirstStartPinScreen):
    """Step 1 when a PIN is already set: it is asked for before the first start goes on."""

    name = "first-unlock"

    def enter(self) -> None:
        super().enter()
        if self.app.current_pin().is_set:
            self.message = "Therapist PIN, please"

    def accepted(self) -> str:
        self.app.log_event("therapist_mode", "PIN accepted to finish the first start")
        return "first-clock"


class ClockScreen(ButtonScreen):
    """Step 2: the time and date in large print, the time zone, and whether the clock is set
    from the internet; the zone can be changed from a short list."""

    name = "first-clock"
    therapist_mode = True  # behind the PIN: closes itself when left (app.THERAPIST_IDLE_S)

    def __init__(self, app) -> None:
        super().__init__(app)
        self._message_next = ("", theme.ACCENT)
        self.message, self.message_colour = "", theme.ACCENT

    def tell(self, message: str, colour=theme.ACCENT) -> None:
        """A sentence for the next time this screen is shown ("Time zone set: Berlin.", or
        why it was not)."""
        self._message_next = (message, colour)

    def enter(self) -> None:
        (self.message, self.message_colour), self._message_next = self._message_next, ("", None)
        self.synchronised = self.app.clock.synchronised()
        super().enter()

    def make_buttons(self):
        return [
            _button("Right, go on", self.right, 420, 376, 360, 90),
            _button("Change time zone", go_to("time-zone"), 20, 376, 380, 90, theme.PANEL),
        ]

    def right(self) -> str:
        answers(self.app).zone = self.app.system.time_zone()
        return "first-patient"

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, _ = surface.get_size()
        app = self.app
        app.text(surface, step_words(2, "the clock"), theme.SMALL_PX, theme.TEXT_DIM, (w // 2, 24))
        now = datetime.fromisoformat(app.clock.now_iso())
        app.text(surface, now.strftime("%H:%M"), 96, theme.TEXT, (w // 2, 96))
        date = f"{now.strftime('%A')} {now.day} {now.strftime('%B %Y')}"
        app.text(surface, date, theme.BODY_PX, theme.TEXT, (w // 2, 168))
        zone = app.system.time_zone()
        app.text(
            surface, f"Time zone: {zone_words(zone)}", theme.BODY_PX, theme.TEXT, (w // 2, 222)
        )
        if self.synchronised:
            line, colour = "The clock is set from the internet.", theme.GOOD
        elif self.synchronised is False:
            line, colour = (
                "The clock is not set from the internet: check the time. If it is wrong, "
                "tell the technician.",
                theme.WARNING,
            )
        else:
            line, colour = "The board cannot tell whether its clock is set.", theme.TEXT_DIM
        if self.message:
            line, colour = self.message, self.message_colour
        app.text(surface, line, theme.SMALL_PX, colour, (w // 2, 300), width=720)
        self.draw_buttons(surface)


class TimeZoneScreen(ButtonScreen):
    """A short list of time zones, six a page, each with its time now, so the right one is the
    one showing the time on the wall clock. Setting it asks the system
    (``device.system``: polkit allows the kiosk's user exactly this)."""

    name = "time-zone"
    therapist_mode = True  # behind the PIN: closes itself when left (app.THERAPIST_IDLE_S)
    PER_PAGE = 6

    def __init__(self, app) -> None:
        super().__init__(app)
        self.page = 0

    @property
    def pages(self) -> int:
        return -(-len(TIME_ZONES) // self.PER_PAGE)

    def enter(self) -> None:
        current = self.app.system.time_zone()
        names = [zone for zone, _ in TIME_ZONES]
        self.page = names.index(current) // self.PER_PAGE if current in names else 0
        super().enter()

    def _label(self, zone: str, words: str) -> str:
        """The city and its time now ("Berlin 10:00"), or the city alone when this system has
        no data for the zone."""
        try:
            local = datetime.fromisoformat(self.app.clock.now_iso()).astimezone(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            return words
        return f"{words} {local.strftime('%H:%M')}"

    def make_buttons(self):
        first = self.page * self.PER_PAGE
        buttons = []
        for i, (zone, words) in enumerate(TIME_ZONES[first : first + self.PER_PAGE]):
            x, y = 20 + (i % 2) * 390, 66 + (i // 2) * 100
            buttons.append(
                _button(self._label(zone, words), lambda z=zone: self.choose(z), x, y, 370, 88)
            )
        buttons += [
            small_button("Back", go_to("first-clock"), (20, 376, 200, 90)),
            # one way round the pages (the last leads to the first): one button to learn
            _button("More places", self._more, 410, 376, 370, 90, theme.PANEL),
        ]
        return buttons

    def _more(self) -> None:
        self.page = (self.page + 1) % self.pages
        self.buttons = self.make_buttons()

    def choose(self, zone: str) -> str | None:
        app = self.app
        try:
            app.system.set_time_zone(zone)
        except SystemActionError as exc:
            # in words, on the clock screen, which has room for them; the detail is in the
            # journal (device.system)
            app.log_event("time_zone_failed", f"time zone {zone} not set: {exc}")
            app.screens["first-clock"].tell(str(exc), theme.WARNING)
            return "first-clock"
        app.log_event("time_zone", f"time zone set to {zone} on the screen")
        app.screens["first-clock"].tell(f"Time zone set: {zone_words(zone)}.")
        return "first-clock"

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, _ = surface.get_size()
        app = self.app
        app.text(
            surface,
            f"Choose the place whose time is right (page {self.page + 1} of {self.pages})",
            theme.SMALL_PX,
            theme.TEXT,
            (w // 2, 32),
            width=760,
        )
        self.draw_buttons(surface)


KEY_PAGES = ("1234567890", "ABCDEFGHIJ", "KLMNOPQRST", "UVWXYZ-_")
PAGE_NAMES = ("0-9", "A-J", "K-T", "U-Z")  # the last page has - and _ too


class PatientCodeScreen(ButtonScreen):
    """Step 3: the patient's code, pseudonymous (no names on the device), typed on a keypad
    whose last key turns to the next letters; it starts as P-0001, which is fine when the
    clinic has no code of its own."""

    name = "first-patient"
    therapist_mode = True  # behind the PIN: closes itself when left (app.THERAPIST_IDLE_S)

    def __init__(self, app) -> None:
        super().__init__(app)
        self.code = DEFAULT_PATIENT
        self.keys = 0
        self.message = ""

    def enter(self) -> str | None:
        session = self.app.session
        if session is not None and session.patient_code is not None:
            return "first-side"  # a first start cut short after the patient was added
        self.message = ""
        super().enter()
        return None

    def make_buttons(self):
        buttons = []
        page = KEY_PAGES[self.keys]
        following = PAGE_NAMES[(self.keys + 1) % len(KEY_PAGES)]
        for i, key in enumerate(page):
            x, y = 440 + (i % 3) * 116, 20 + (i // 3) * 112
            buttons.append(_button(key, lambda k=key: self.press(k), x, y, 104, 100))
        # the last row: Del, and the key that turns to the next page of the keypad
        buttons.append(_button("Del", lambda: self.press("Del"), 556, 356, 104, 100, theme.PANEL))
        buttons.append(_button(following, self.turn, 672, 356, 104, 100, theme.PANEL))
        return [
            _button("Next", self.next, 220, 376, 200, 84),
            *buttons,
            small_button("Back", go_to("first-clock"), (20, 376, 190, 84)),
        ]

    def press(self, key: str) -> None:
        self.message = ""
        if key == "Del":
            self.code = self.code[:-1]
        elif len(self.code) < 32:
            self.code += key

    def turn(self) -> None:
        self.keys = (self.keys + 1) % len(KEY_PAGES)
        self.buttons = self.make_buttons()

    def next(self) -> str | None:
        try:
            check_patient_code(self.code)
        except StoreError:
            self.message = PATIENT_CODE_RULE[0].upper() + PATIENT_CODE_RULE[1:] + "."
            return None
        answers(self.app).patient = self.code
        return "first-side"

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        app = self.app
        app.text(
            surface,
            step_words(3, "the patient"),
            theme.SMALL_PX,
            theme.TEXT_DIM,
            (210, 30),
            width=400,
        )
        app.text(surface, "The patient's code", theme.BODY_PX, theme.TEXT, (210, 90), width=400)
        shown = self.code or "…"
        app.text(surface, shown, theme.TITLE_PX, theme.ACCENT, (210, 170), width=400)
        if self.message:
            app.text(surface, self.message, theme.SMALL_PX, theme.WARNING, (210, 290), width=400)
        else:
            app.text(
                surface,
                "No names: a code from the clinic, or P-0001.",
                theme.SMALL_PX,
                theme.TEXT,
                (210, 290),
                width=400,
            )
        self.draw_buttons(surface)


class SideScreen(ButtonScreen):
    """Step 3, second part: the patient's weaker side, kept in the patient's record (the one
    place it is kept, ``clinic.actions``); the exercises for one leg follow it."""

    name = "first-side"
    therapist_mode = True  # behind the PIN: closes itself when left (app.THERAPIST_IDLE_S)

    def __init__(self, app) -> None:
        super().__init__(app)
        self.message = ""

    def enter(self) -> None:
        self.message = ""
        super().enter()

    @property
    def code(self) -> str:
        session = self.app.session
        if session is not None and session.patient_code is not None:
            return session.patient_code
        return answers(self.app).patient or DEFAULT_PATIENT

    def make_buttons(self):
        return [
            _button("Left", lambda: self.choose("left"), 40, 140, 340, 110),
            _button("Right", lambda: self.choose("right"), 420, 140, 340, 110),
            _button("Neither", lambda: self.choose(None), 250, 266, 300, 90, theme.PANEL),
            small_button("Back", self.back, (20, 376, 200, 84)),
        ]

    def back(self) -> str:
        session = self.app.session
        kept = session is not None and session.patient_code is not None
        return "first-clock" if kept else "first-patient"

    def choose(self, side: str | None) -> str | None:
        app = self.app
        session = app.session
        code = self.code
        now = app.clock.now_iso()
        try:
            if session.patient_code is None:
                actions.add_patient(
                    session.store, app.data_folder, code, now_iso=now, affected_side=side
                )
            else:
                actions.set_patient_details(
                    session.store, app.data_folder, code, now_iso=now, affected_side=side
                )
        except (StoreError, OSError, ValueError) as exc:
            log.error("could not keep the patient %s: %s", code, exc)
            self.message = f"Not saved: {exc}"
            return None
        except Exception as exc:  # the records file failed (sqlite3.Error): said, not raised
            log.exception("could not keep the patient %s", code)
            self.message = f"The records could not be written ({type(exc).__name__})."
            return None
        # the patient's session is now hers: today's plan follows her weaker side
        session.patient_code = code
        if session.program is not None:
            session.set_program(session.program)
        session.keep_program_version("device")
        found = answers(app)
        found.patient, found.side = code, side
        return "first-calibration"

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, _ = surface.get_size()
        app = self.app
        app.text(
            surface, step_words(3, "the patient"), theme.SMALL_PX, theme.TEXT_DIM, (w // 2, 24)
        )
        app.text(surface, "Which side is weaker?", theme.TITLE_PX, theme.TEXT, (w // 2, 72))
        line, colour = f"Patient {self.code}: her own left or right.", theme.TEXT
        if self.message:
            line, colour = self.message, theme.WARNING
        app.text(surface, line, theme.SMALL_PX, colour, (560, 410), width=420)
        self.draw_buttons(surface)


class CalibrationStepScreen(ButtonScreen):
    """Step 4: the calibration with the known weight, in the therapist's calibration wizard;
    "Later" leaves it for therapist mode (the board then asks to be calibrated)."""

    name = "first-calibration"
    therapist_mode = True  # behind the PIN: closes itself when left (app.THERAPIST_IDLE_S)

    def __init__(self, app) -> None:
        super().__init__(app)
        self.calibrated = False

    def enter(self) -> None:
        wizard = self.app.screens["calibration"]
        if wizard.saved:
            self.calibrated = True
            answers(self.app).calibrated = True
        super().enter()

    def make_buttons(self):
        if self.calibrated:
            return [
                self.big_button("Next", go_to("first-sound"), 0.62, 360),
                small_button("Calibrate again", self.calibrate, (20, 376, 300, 90)),
            ]
        return [
            self.big_button("Calibrate now", self.calibrate, 0.62, 420),
            small_button("Later", go_to("first-sound"), (560, 376, 220, 90)),
        ]

    def calibrate(self) -> str:
        self.app.screens["calibration"].come_back_to(self.name)
        return "calibration"

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, _ = surface.get_size()
        app = self.app
        app.text(
            surface, step_words(4, "calibration"), theme.SMALL_PX, theme.TEXT_DIM, (w // 2, 24)
        )
        if self.calibrated:
            app.text(surface, "Calibrated and saved.", theme.TITLE_PX, theme.GOOD, (w // 2, 110))
            self.draw_buttons(surface)
            return
        app.text(surface, "Calibrate the board", theme.TITLE_PX, theme.TEXT, (w // 2, 80))
        app.text(
            surface,
            "You need a weight you know exactly, from 2 to 20 kg. The screen shows where to "
            "put it, corner by corner. Later: in therapist mode, Calibrate.",
            theme.SMALL_PX,
            theme.TEXT,
            (w // 2, 170),
            width=700,
        )
        self.draw_buttons(surface)


class SoundTestScreen(ButtonScreen):
    """Step 5: a tone and a spoken sentence, and "Did you hear it?". No: louder, and advice;
    the board works without sound too (every cue is on the screen)."""

    name = "first-sound"
    therapist_mode = True  # behind the PIN: closes itself when left (app.THERAPIST_IDLE_S)

    def __init__(self, app) -> None:
        super().__init__(app)
        self.unheard = False

    @property
    def silent(self) -> bool:
        """No sound device at all: nothing to hear."""
        sound = self.app.sound
        return sound is None or not sound.available

    def enter(self) -> None:
        self.unheard = False
        super().enter()
        self.play()

    def play(self) -> None:
        app = self.app
        app.play("start")
        if app.sound is not None and not app.sound.say(SOUND_TEST_SPOKEN):
            app.sound.prepare([SOUND_TEST_SPOKEN])  # rendered for the next try

    def make_buttons(self):
        if self.silent:
            return [self.big_button("Go on without sound", lambda: self.finish(None), 0.8, 480)]
        if self.unheard:
            return [
                _button("Play again, louder", self.again, 60, 250, 680, 96),
                small_button("Go on without sound", lambda: self.finish(False), (60, 366, 680, 90)),
            ]
        return [
            _button("Yes", lambda: self.finish(True), 60, 250, 320, 110),
            _button("No", self.not_heard, 420, 250, 320, 110, theme.PANEL),
            small_button("Play again", self.play, (250, 380, 300, 84)),
        ]

    def not_heard(self) -> None:
        self.unheard = True
        self.buttons = self.make_buttons()

    def again(self) -> None:
        app = self.app
        app.save_settings(
            replace(app.settings, volume=round(min(1.0, app.settings.volume + 0.2), 1))
        )
        self.unheard = False
        self.buttons = self.make_buttons()
        self.play()

    def finish(self, heard: bool | None) -> str:
        app = self.app
        found = answers(app)
        found.heard = heard
        summary = found.summary()
        if app.data_folder is not None:
            try:
                mark(app.data_folder, "done", app.clock.now_iso(), summary=summary)
            except OSError as exc:  # the patient in the records still closes the first start
                log.error("could not keep the first start's marker: %s", exc)
        app.log_event("first_start", summary)
        app.first_start = "done"
        return "welcome"

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, _ = surface.get_size()
        app = self.app
        app.text(surface, step_words(5, "the sound"), theme.SMALL_PX, theme.TEXT_DIM, (w // 2, 24))
        if self.silent:
            app.text(surface, "No sound device found", theme.TITLE_PX, theme.WARNING, (w // 2, 110))
            app.text(
                surface,
                "The board works without sound: everything is shown on the screen. For sound, "
                "tell the technician.",
                theme.SMALL_PX,
                theme.TEXT,
                (w // 2, 220),
                width=700,
            )
        elif self.unheard:
            app.text(
                surface,
                "Check that the speaker is plugged in and turned on.",
                theme.BODY_PX,
                theme.TEXT,
                (w // 2, 120),
                width=720,
            )
            volume = f"The board's volume: {app.settings.volume * 100:.0f} %"
            app.text(surface, volume, theme.SMALL_PX, theme.TEXT, (w // 2, 205))
        else:
            app.text(surface, "Did you hear a voice?", theme.TITLE_PX, theme.TEXT, (w // 2, 90))
            app.text(
                surface,
                f'It said: "{SOUND_TEST_SPOKEN}"',
                theme.SMALL_PX,
                theme.TEXT,
                (w // 2, 180),
                width=700,
            )
        self.draw_buttons(surface)


FIRST_START_SCREENS = (
    FirstStartScreen,
    FirstPinScreen,
    FirstUnlockScreen,
    ClockScreen,
    TimeZoneScreen,
    PatientCodeScreen,
    SideScreen,
    CalibrationStepScreen,
    SoundTestScreen,
)
