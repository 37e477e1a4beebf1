"""Therapist mode, behind a PIN: the calibration wizard, the patient's program, export, settings.

Screens of the app's state machine (``display.machine``): hooks and buttons return the next
screen's name. The PIN is checked against its salted hash with a rate limit
(``display.settings``); every screen has Back, and "Done" returns to the patient's welcome screen
so the device is never left in therapist mode. What these screens change goes through the clinic
actions (``clinic.actions``), the same ones the command line uses; the program page is laid out
from the exercise registry (``exercises.registry``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pygame

from clinic import actions
from clinic.program import (
    DEFAULT_PROGRAM,
    FILE_NAME,
    MAX_REPETITIONS,
    SIDES,
    ProgramError,
    ProgramItem,
)
from device import CORNER_NAMES
from device.calibration import CalibrationProcedure
from display import theme
from display.pin import ASK_TECHNICIAN, check_pin, new_pin_state, valid_pin
from display.screens import ButtonScreen, go_to, small_button
from display.widgets import Button
from exercises.registry import EXERCISES, exercise_spec

log = logging.getLogger(__name__)


def _button(label, action, x, y, w=180, h=84, colour=theme.BUTTON) -> Button:
    return Button(label, pygame.Rect(x, y, w, h), action, colour=colour)


class PinScreen(ButtonScreen):
    """A keypad for the therapist's PIN; digits shown as dots."""

    name = "pin"

    def __init__(self, app) -> None:
        super().__init__(app)
        self._change_next = False

    def request_change(self) -> None:
        """The next time this screen is shown it asks for a new PIN (typed twice): from
        Settings, so the old one was just entered."""
        self._change_next = True

    def enter(self) -> None:
        self.digits = ""
        self.changing, self._change_next = self._change_next, False
        self.first_new: str | None = None
        self.current_confirmed = False  # a change asks for the PIN in use first
        if self.changing:
            self.message, self.message_colour = "Your current PIN", theme.TEXT
        elif not self.app.current_pin().is_set:
            self.message, self.message_colour = ASK_TECHNICIAN, theme.WARNING
        else:
            self.message, self.message_colour = "Therapist PIN", theme.TEXT
        super().enter()

    def make_buttons(self):
        buttons = []
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "Del", "0", "OK"]
        for i, key in enumerate(keys):
            x, y = 440 + (i % 3) * 116, 20 + (i // 3) * 112
            buttons.append(_button(key, lambda k=key: self.press(k), x, y, 104, 100))
        buttons.append(small_button("Back", self.back, (20, 376, 200, 84)))
        return buttons

    def press(self, key: str) -> str | None:
        if key == "Del":
            self.digits = self.digits[:-1]
        elif key == "OK":
            return self.check()
        elif len(self.digits) < 8:
            self.digits += key
        return None

    def check(self) -> str | None:
        app = self.app
        if self.changing and self.current_confirmed:
            return self._new_pin()
        # the file as it is now: a PIN the technician set while the app ran counts
        verdict = check_pin(app.current_pin(), self.digits, app.clock.wall_s())
        app.save_pin(verdict.state)  # the attempts count survives a restart
        self.digits = ""
        if verdict.accepted and self.changing:
            # therapist mode left open is no way to a new PIN: the one in use comes first
            self.current_confirmed = True
            self.message, self.message_colour = "New PIN (4 to 8 digits)", theme.TEXT
            return None
        if verdict.accepted:
            return self.accepted()
        self.message, self.message_colour = verdict.message, theme.WARNING
        if verdict.message == ASK_TECHNICIAN:
            app.log_event("pin_refused", f"no usable PIN on the device ({app.pin.status})")
        else:
            app.log_event("pin_refused", verdict.message)
        return None

    def _new_pin(self) -> str | None:
        app, typed = self.app, self.digits
        self.digits = ""
        if not valid_pin(typed):
            self.message, self.message_colour = "4 to 8 digits, please.", theme.WARNING
            return None
        if self.first_new is None:
            self.first_new = typed
            self.message, self.message_colour = "Type the new PIN again", theme.TEXT
            return None
        if typed != self.first_new:
            self.first_new = None
            self.message, self.message_colour = "They differ. New PIN again.", theme.WARNING
            return None
        app.save_pin(new_pin_state(typed, os.urandom(16)))
        self.changing = False
        return self.chosen()

    def accepted(self) -> str:
        """The right PIN: therapist mode (the first start goes on to its next step instead)."""
        self.app.log_event("therapist_mode", "PIN accepted")
        return "therapist"

    def chosen(self) -> str:
        """A new PIN, typed twice, is kept: back to the settings, which say so."""
        self.app.log_event("pin_changed", "therapist PIN changed")
        self.app.screens["settings"].tell("PIN changed.")
        return "settings"

    def back(self) -> str:
        return "settings" if self.changing else "welcome"

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        app = self.app
        app.text(surface, self.message, theme.BODY_PX, self.message_colour, (210, 110), width=400)
        for i in range(len(self.digits)):  # a dot per digit typed (the digits stay secret)
            pygame.draw.circle(
                surface, theme.TEXT, (210 + (i - (len(self.digits) - 1) / 2) * 40, 240), 12
            )
        if not self.digits:
            pygame.draw.line(surface, theme.TEXT_DIM, (180, 240), (240, 240), 4)
        self.draw_buttons(surface)


class HelpNumberScreen(ButtonScreen):
    """The number "I need help" tells the patient to call (a relative, a neighbour, the
    clinic's line): typed on a keypad, shown in full, saved with the settings and spoken."""

    name = "help-number"
    therapist_mode = True  # closes itself when left open (display.app.THERAPIST_IDLE_S)

    def enter(self) -> None:
        self.digits = self.app.settings.help_number
        self.message = ""
        super().enter()

    def make_buttons(self):
        buttons = []
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "+", "0", "Del"]
        for i, key in enumerate(keys):
            x, y = 440 + (i % 3) * 116, 20 + (i // 3) * 112
            buttons.append(_button(key, lambda k=key: self.press(k), x, y, 104, 100))
        buttons.append(_button("Save", self.save, 220, 376, 200, 84))
        buttons.append(small_button("Back", go_to("settings"), (20, 376, 190, 84)))
        return buttons

    def press(self, key: str) -> None:
        if key == "Del":
            self.digits = self.digits[:-1]
        elif len(self.digits) < 20:
            self.digits += key
        self.message = ""

    def save(self) -> str | None:
        app = self.app
        try:
            app.save_settings(replace(app.settings, help_number=self.digits))
        except ValueError as exc:
            self.message = str(exc)
            return None
        app.log_event("help_number", "help number changed")
        app.screens["settings"].tell("Help number saved.")
        return "settings"

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        app = self.app
        app.text(
            surface, "Number to call for help", theme.BODY_PX, theme.TEXT, (210, 60), width=400
        )
        shown = self.digits or "none yet"
        app.text(surface, shown, theme.TITLE_PX, theme.ACCENT, (210, 200), width=400)
        if self.message:
            app.text(surface, self.message, theme.SMALL_PX, theme.WARNING, (210, 300), width=400)
        self.draw_buttons(surface)


class TherapistMenuScreen(ButtonScreen):
    """The therapist's menu."""

    name = "therapist"
    therapist_mode = True  # closes itself when left open (display.app.THERAPIST_IDLE_S)

    def make_buttons(self):
        return [
            _button("Program", go_to("program"), 60, 110, 320, 96),
            _button("Calibrate", go_to("calibration"), 420, 110, 320, 96),
            _button("Settings", go_to("settings"), 60, 230, 320, 96),
            _button("Export", go_to("export"), 420, 230, 320, 96),
            small_button("Done", go_to("welcome"), (300, 370, 200, 90)),
        ]

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w = surface.get_width()
        self.app.text(surface, "Therapist", theme.TITLE_PX, theme.TEXT, (w // 2, 50))
        self.draw_buttons(surface)


class SettingsScreen(ButtonScreen):
    """Volume, text size and speech for the patient's screens."""

    name = "settings"
    therapist_mode = True  # closes itself when left open (display.app.THERAPIST_IDLE_S)

    def __init__(self, app) -> None:
        super().__init__(app)
        self._message_next = ""

    def tell(self, message: str) -> None:
        """A message to show the next time this screen is shown."""
        self._message_next = message

    def make_buttons(self):
        app = self.app

        def change(**kw) -> None:
            app.save_settings(replace(app.settings, **kw))
            self.buttons = self.make_buttons()
            app.play("tick")

        s = app.settings
        return [
            _button("−", lambda: change(volume=round(max(0.0, s.volume - 0.1), 1)), 400, 40, 96),
            _button("+", lambda: change(volume=round(min(1.0, s.volume + 0.1), 1)), 640, 40, 96),
            _button(
                "Large" if s.large_text else "Normal",
                lambda: change(large_text=not s.large_text),
                400,
                150,
                336,
            ),
            _button(
                "On" if s.speech else "Off", lambda: change(speech=not s.speech), 400, 260, 336
            ),
            small_button("Back", go_to("therapist"), (20, 376, 200, 84)),
            _button("Help no.", go_to("help-number"), 230, 376, 160, 84, theme.PANEL),
            _button("Change PIN", self.change_pin, 400, 376, 336, 84, theme.PANEL),
        ]

    def enter(self) -> None:
        self.message, self._message_next = self._message_next, ""
        super().enter()

    def change_pin(self) -> str:
        self.app.screens["pin"].request_change()
        return "pin"

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        app, s = self.app, self.app.settings
        app.text(surface, "Volume", theme.BODY_PX, theme.TEXT, (200, 82), width=360)
        app.text(surface, f"{s.volume * 100:.0f} %", theme.BODY_PX, theme.TEXT, (568, 82))
        app.text(surface, "Text size", theme.BODY_PX, theme.TEXT, (200, 192), width=360)
        app.text(surface, "Speech", theme.BODY_PX, theme.TEXT, (200, 302), width=360)
        if self.message:  # a message for now, in the place of the sound warning
            app.text(surface, self.message, theme.SMALL_PX, theme.ACCENT, (200, 350))
        elif app.sound is not None and not app.sound.available:
            app.text(surface, "No sound device", theme.SMALL_PX, theme.WARNING, (200, 350))
        self.draw_buttons(surface)


class ProgramScreen(ButtonScreen):
    """The patient's program, one exercise a page: amount −/+, its option, repetitions, the
    affected side; Save makes it the patient's (``clinic.actions.prescribe``) and today's plan
    follows it. Every page is laid out from the exercise registry."""

    name = "program"
    therapist_mode = True  # closes itself when left open (display.app.THERAPIST_IDLE_S)

    def enter(self) -> None:
        session = self.app.session
        program = (session.program if session else None) or DEFAULT_PROGRAM
        side = session.affected_side if session else program.affected_side
        self.program = program.with_side(side)
        self.page = 0
        self.message = ""
        super().enter()

    @property
    def item(self) -> ProgramItem:
        return self.program.exercises[self.page]

    def _set(self, **params) -> None:
        item = self.item
        spec = exercise_spec(item.exercise)
        new = dict(item.params)
        for key, value in params.items():
            if value is None:
                new.pop(key, None)
                continue
            parameter = spec.parameter(key)
            new[key] = parameter.clamp(value) if parameter.step else value
        self.program = self.program.with_item(
            self.page, ProgramItem(item.exercise, new, item.repetitions)
        )
        self._changed()

    def _cycle_side(self) -> None:
        side = SIDES[(SIDES.index(self.program.affected_side) + 1) % len(SIDES)]
        self.program = replace(self.program, affected_side=side)
        self._changed()

    def _turn(self, step: int) -> None:
        self.page = (self.page + step) % len(self.program.exercises)
        self._changed()

    def save(self) -> None:
        app = self.app
        session = app.session
        try:
            program = actions.prescribe(
                app.data_folder,
                session.store if session else None,
                session.patient_code if session else None,
                self.program,
                now_iso=app.clock.now_iso(),
                source="therapist",
                message="program changed on the device",
            )
        except (OSError, ProgramError) as exc:
            self.message = f"Not saved: {exc}"
            return
        if session is not None:
            session.set_program(program)
        self.message = "Saved."

    def _times(self, step: int) -> None:
        item = self.item
        times = min(MAX_REPETITIONS, max(1, item.repetitions + step))
        self.program = self.program.with_item(
            self.page, ProgramItem(item.exercise, item.params, times)
        )
        self._changed()

    def remove(self) -> None:
        """Take the exercise on this page out of the program (one always stays)."""
        if len(self.program.exercises) == 1:
            self.message = "A program needs at least one exercise."
            return
        items = list(self.program.exercises)
        del items[self.page]
        self.program = replace(self.program, exercises=tuple(items))
        self.page = min(self.page, len(items) - 1)
        self._changed()

    def add(self) -> None:
        """Add an exercise the program does not have yet (with its defaults), or a second
        standing on one leg for the other leg; show its page."""
        present = {item.exercise for item in self.program.exercises}
        missing = [name for name in EXERCISES if name not in present]
        new = ProgramItem(missing[0]) if missing else ProgramItem("flamingo", {"leg": "unaffected"})
        self.program = replace(self.program, exercises=(*self.program.exercises, new))
        self.page = len(self.program.exercises) - 1
        self._changed()

    def _changed(self) -> None:
        self.message = ""
        self.buttons = self.make_buttons()

    def make_buttons(self):
        item = self.item
        spec = exercise_spec(item.exercise)
        buttons = [
            _button("Save", self.save, 200, 380, 180, 84),
            _button("<", lambda: self._turn(-1), 20, 16, 96, 84, theme.PANEL),
            _button(">", lambda: self._turn(1), 684, 16, 96, 84, theme.PANEL),
        ]
        if spec.amount:  # the exercise's main number, −/+ by its step
            amount = spec.parameter(spec.amount)
            value = spec.value(item.params, amount.name)
            buttons += [
                _button("−", lambda: self._set(**{amount.name: value - amount.step}), 440, 106, 96),
                _button("+", lambda: self._set(**{amount.name: value + amount.step}), 684, 106, 96),
            ]
        buttons += [
            _button("−", lambda: self._times(-1), 440, 196, 96, 84),
            _button("+", lambda: self._times(1), 684, 196, 96, 84),
            _button(f"Weak side: {self.program.affected_side}", self._cycle_side, 20, 286, 400, 84),
            small_button("Back", go_to("therapist"), (20, 380, 170, 84)),
            _button("Remove", self.remove, 390, 380, 190, 84, theme.PANEL),
            _button("Add", self.add, 590, 380, 190, 84, theme.PANEL),
        ]
        if spec.option:
            option = spec.parameter(spec.option)
            choices = spec.option_cycle
            current = spec.value(item.params, option.name)
            current = current if current in choices else choices[0]
            following = choices[(choices.index(current) + 1) % len(choices)]
            label = "no pace" if current is None else option.show(current)
            buttons.append(
                _button(label, lambda: self._set(**{option.name: following}), 440, 286, 340, 84)
            )
        return buttons

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        app, item = self.app, self.item
        spec = exercise_spec(item.exercise)
        n = len(self.program.exercises)
        if self.message:  # in the title's place, where it is seen
            app.text(surface, self.message, theme.SMALL_PX, theme.ACCENT, (400, 58), width=540)
        else:
            title = f"{self.page + 1} of {n}: {spec.title}"
            app.text(surface, title, theme.BODY_PX, theme.TEXT, (400, 58), width=540)
        if spec.amount:
            amount = spec.parameter(spec.amount)
            words = amount.show(spec.value(item.params, amount.name))
            app.text(surface, words, theme.BODY_PX, theme.TEXT, (215, 148), width=400)
        times = f"{item.repetitions} time{'s' if item.repetitions > 1 else ''} a session"
        app.text(surface, times, theme.BODY_PX, theme.TEXT, (215, 238), width=400)
        self.draw_buttons(surface)


class CalibrationScreen(ButtonScreen):
    """The known-weight calibration, step by step, with the board and the mark to use."""

    name = "calibration"
    therapist_mode = True  # closes itself when left open (display.app.THERAPIST_IDLE_S)
    WEIGHTS_KG = (2.0, 5.0, 10.0, 20.0)

    def __init__(self, app) -> None:
        super().__init__(app)
        self.return_to = "therapist"  # where Back leads: the menu, or the first start's step
        self.saved = False  # a calibration was saved on this visit

    def come_back_to(self, name: str) -> None:
        """Back leads to screen ``name`` on the next visit (the first start uses the wizard)."""
        self.return_to = name

    def enter(self) -> None:
        self.weight_kg = 5.0
        self.procedure = None
        self.shown = None
        self.message = ""
        self.saved = False
        super().enter()

    def back(self) -> str:
        following, self.return_to = self.return_to, "therapist"
        return following

    def make_buttons(self):
        if self.procedure is None:
            return [
                _button("Start", self.start, 300, 260, 200, 96),
                _button("Change", self.next_weight, 300, 140, 200, 96, theme.PANEL),
                small_button("Back", self.back, (20, 376, 200, 84)),
            ]
        buttons = [small_button("Stop", self.stop, (20, 376, 200, 84))]
        if self.app.board.simulated:  # on a PC someone has to put the simulated weight on
            buttons.append(_button("Do it (sim)", self.simulate, 560, 376, 220, 84, theme.PANEL))
        return buttons

    def next_weight(self) -> None:
        i = self.WEIGHTS_KG.index(self.weight_kg)
        self.weight_kg = self.WEIGHTS_KG[(i + 1) % len(self.WEIGHTS_KG)]

    def start(self) -> None:
        app = self.app
        self.procedure = CalibrationProcedure(
            self.weight_kg, app.clock.now_iso(), geometry=app.geometry
        )
        self.shown = self.procedure.state()
        self.message = ""
        self.buttons = self.make_buttons()

    def stop(self) -> None:
        self.procedure = None
        self.message = "Stopped. The old calibration is still in use."
        self.buttons = self.make_buttons()

    def simulate(self) -> None:
        """Play the therapist on the simulated board: do what the prompt asks."""
        state, link, g = self.shown, self.app.board.link, self.app.geometry
        if state is None:
            return
        if state.step == "clear":
            link.command("step_off")
            link.command("remove_objects")
        elif state.step == "place":
            link.command("remove_objects")
            x, y = g.weight_marks_mm[state.corner]
            link.command("place", kg=self.weight_kg, x_mm=x, y_mm=y)
        elif state.step == "remove":
            link.command("remove_objects")

    def frames(self, frames) -> None:
        if self.procedure is None:
            return
        for frame in frames:
            self.shown = self.procedure.feed(frame)
            if self.shown.done:
                self._finish(self.shown)
                return

    def _finish(self, state) -> None:
        app = self.app
        self.procedure = None
        if state.calibration is None:
            self.message = f"Calibration failed: {state.problem}"
        else:
            session = app.session
            try:
                actions.keep_calibration(
                    app.board,
                    state.calibration,
                    session.store if session else None,
                    now_iso=app.clock.now_iso(),
                )
                self.message = "Calibrated and saved."
                self.saved = True
            except OSError as exc:
                self.message = f"Calibrated, but not saved: {exc.strerror}"
        self.buttons = self.make_buttons()

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        app = self.app
        w = surface.get_width()
        if self.procedure is None:
            app.text(surface, "Calibration", theme.TITLE_PX, theme.TEXT, (w // 2, 40))
            app.text(
                surface,
                f"Known weight: {self.weight_kg:g} kg",
                theme.BODY_PX,
                theme.TEXT,
                (w // 2, 100),
            )
            if self.message:  # beside Back, clear of the Start button
                app.text(surface, self.message, theme.SMALL_PX, theme.ACCENT, (500, 418), width=500)
            self.draw_buttons(surface)
            return
        state = self.shown
        app.text(surface, state.prompt, theme.BODY_PX, theme.TEXT, (w // 2, 60))
        # the board from above with the mark to use
        board = pygame.Rect(0, 0, 300, 180)
        board.center = (w // 2, 230)
        pygame.draw.rect(surface, theme.BOARD, board, border_radius=14)
        g = app.geometry
        sx, sy = board.width / g.width_mm, board.height / g.depth_mm
        for corner, (x, y) in enumerate(g.weight_marks_mm):
            pos = (int(board.centerx + x * sx), int(board.centery - y * sy))
            active = state.step == "place" and state.corner == corner
            pygame.draw.circle(
                surface, theme.WARNING if active else theme.FOOT, pos, 14, 0 if active else 3
            )
            if active:
                name = CORNER_NAMES[corner]
                app.text(surface, name, theme.SMALL_PX, theme.WARNING, (w // 2, board.bottom + 22))
        bar = pygame.Rect(board.left, board.bottom + 44, board.width, 18)
        pygame.draw.rect(surface, theme.PANEL, bar)
        pygame.draw.rect(
            surface, theme.GOOD, (bar.left, bar.top, int(bar.width * state.progress), 18)
        )
        self.draw_buttons(surface)


def usb_folders() -> list[Path]:
    """Mounted removable drives: $BALANCE_BOARD_USB when set (tests, odd setups), else the
    folders desktop automounters use (/media/USER/NAME, /run/media/USER/NAME)."""
    explicit = os.environ.get("BALANCE_BOARD_USB")
    if explicit:
        return [Path(p) for p in explicit.split(os.pathsep) if Path(p).is_dir()]
    found = []
    for base in (Path("/media"), Path("/run/media")):
        if base.is_dir():
            found += [p for p in base.glob("*/*") if p.is_dir() and os.access(p, os.W_OK)]
    return found


class ExportScreen(ButtonScreen):
    """Copy the patient's records to a USB stick, always as one encrypted archive (AES-256 zip,
    neutral names: a lost stick shows nobody anything; the password is shown once); or import a
    program from the stick. A plain export needs a shell (``balance-board export``)."""

    name = "export"
    therapist_mode = True  # closes itself when left open (display.app.THERAPIST_IDLE_S)

    def enter(self) -> None:
        self.message = ""
        self.password = ""
        super().enter()

    def handle(self, event) -> str | None:
        tap = self.app.tap(event)
        if tap is not None and tap.kind == "down":
            self.password = ""  # the next touch hides it
        return super().handle(event)

    def make_buttons(self):
        return [
            _button("Export to USB", lambda: self._export("encrypted"), 200, 110, 400, 90),
            _button("Import program", self.import_program, 200, 220, 400, 90, theme.PANEL),
            small_button("Back", go_to("therapist"), (20, 376, 200, 84)),
        ]

    def _export(self, kind: str) -> None:
        """Export onto the first USB stick (``clinic.actions.export_records``), with the messages
        for no stick, no records and a failed write."""
        app = self.app
        session = app.session
        drives = usb_folders()
        if not drives:
            self.message = "No USB stick found. Put one in and try again."
            return
        if session is None or session.store is None or session.patient_code is None:
            self.message = "There are no records on this device yet."
            return
        now = app.clock.now_iso()
        stamp = datetime.fromisoformat(now).strftime("%Y%m%d-%H%M%S")
        try:
            done = actions.export_records(
                session.store, session.patient_code, kind, drives[0], now_iso=now, stamp=stamp
            )
            os.sync()  # the stick may be pulled out the moment the message appears
        except OSError as exc:
            self.message = f"Export failed: {exc.strerror or exc}. Nothing was changed."
            return
        if done.password:
            self.message = f"Saved {done.path.name}. Write the password down; it is shown only now."
            self.password = done.password
        else:
            self.message = f"Saved in {done.path.name} on the USB stick."

    def import_program(self) -> None:
        app = self.app
        session = app.session
        candidates = [d / FILE_NAME for d in usb_folders() if (d / FILE_NAME).exists()]
        if not candidates:
            self.message = f"No {FILE_NAME} on a USB stick."
            return
        try:
            program = actions.import_program(
                app.data_folder,
                session.store if session else None,
                session.patient_code if session else None,
                candidates[0],
                now_iso=app.clock.now_iso(),
            )
        except ProgramError as exc:
            self.message = f"Not imported. {exc.message} (line {exc.line or '?'})"
            return
        except OSError as exc:
            self.message = f"Not imported: {exc.strerror or exc}"
            return
        if session is not None:
            session.set_program(program)
        self.message = "Program imported."

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w = surface.get_width()
        self.app.text(surface, "Export", theme.TITLE_PX, theme.TEXT, (w // 2, 50))
        if self.password:
            self.app.text(surface, self.password, theme.BODY_PX, theme.WARNING, (w // 2, 345))
        if self.message:
            self.app.text(
                surface, self.message, theme.SMALL_PX, theme.ACCENT, (500, 418), width=500
            )
        self.draw_buttons(surface)


THERAPIST_SCREENS = (
    PinScreen,
    HelpNumberScreen,
    TherapistMenuScreen,
    SettingsScreen,
    ProgramScreen,
    CalibrationScreen,
    ExportScreen,
)
