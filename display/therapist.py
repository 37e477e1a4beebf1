"""Therapist mode, behind a PIN: the calibration wizard, the patient's program, export, settings.

Screens of the app's state machine (``display.app``). The PIN is checked against its salted hash
with a rate limit (``display.settings``); every screen has Back, and "Done" returns to the
patient's welcome screen so the device is never left in therapist mode.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import replace
from pathlib import Path

from device import CORNER_NAMES
from display import theme
from display.screens import ButtonScreen, small_button
from display.widgets import Button

log = logging.getLogger(__name__)


def _button(label, action, x, y, w=180, h=84, colour=theme.BUTTON) -> Button:
    import pygame

    return Button(label, pygame.Rect(x, y, w, h), action, colour=colour)


class PinScreen(ButtonScreen):
    """A keypad for the therapist's PIN; digits shown as dots."""

    name = "pin"

    def enter(self) -> None:
        self.digits = ""
        self.message = "Therapist PIN"
        self.message_colour = theme.TEXT
        self.changing = False  # True: the PIN typed is a new one (typed twice)
        self.first_new: str | None = None
        super().enter()

    def change_pin(self) -> None:
        """Switch to choosing a new PIN (from Settings, so the old one was just entered)."""
        self.digits = ""
        self.changing = True
        self.first_new = None
        self.message, self.message_colour = "New PIN (4 to 8 digits)", theme.TEXT

    def make_buttons(self):
        buttons = []
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "Del", "0", "OK"]
        for i, key in enumerate(keys):
            x, y = 440 + (i % 3) * 116, 20 + (i // 3) * 112
            buttons.append(_button(key, lambda k=key: self.press(k), x, y, 104, 100))
        buttons.append(small_button("Back", self.back, (20, 376, 200, 84)))
        return buttons

    def press(self, key: str) -> None:
        if key == "Del":
            self.digits = self.digits[:-1]
        elif key == "OK":
            self.check()
        elif len(self.digits) < 8:
            self.digits += key

    def check(self) -> None:
        from display.settings import check_pin

        app = self.app
        if self.changing:
            self._new_pin()
            return
        verdict = check_pin(app.settings, self.digits, app.wall_clock())
        app.save_settings(verdict.settings)  # the attempts count survives a restart
        self.digits = ""
        if verdict.accepted:
            app.store_event("therapist_mode", "PIN accepted")
            app.go("therapist")
        else:
            self.message, self.message_colour = verdict.message, theme.WARNING
            app.store_event("pin_refused", verdict.message)

    def _new_pin(self) -> None:
        app, typed = self.app, self.digits
        self.digits = ""
        if not (4 <= len(typed) <= 8):
            self.message, self.message_colour = "4 to 8 digits, please.", theme.WARNING
            return
        if self.first_new is None:
            self.first_new = typed
            self.message, self.message_colour = "Type the new PIN again", theme.TEXT
            return
        if typed != self.first_new:
            self.first_new = None
            self.message, self.message_colour = "They differ. New PIN again.", theme.WARNING
            return
        app.save_settings(app.settings.with_pin(typed, os.urandom(16)))
        app.store_event("pin_changed", "therapist PIN changed")
        self.changing = False
        app.go("settings")
        app.screens["settings"].message = "PIN changed."

    def back(self) -> None:
        self.app.go("settings" if self.changing else "welcome")

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        app = self.app
        app.text(surface, self.message, theme.BODY_PX, self.message_colour, (210, 110), width=400)
        import pygame

        for i in range(len(self.digits)):  # a dot per digit typed (the digits stay secret)
            pygame.draw.circle(
                surface, theme.TEXT, (210 + (i - (len(self.digits) - 1) / 2) * 40, 240), 12
            )
        if not self.digits:
            pygame.draw.line(surface, theme.TEXT_DIM, (180, 240), (240, 240), 4)
        self.draw_buttons(surface)


class TherapistMenuScreen(ButtonScreen):
    name = "therapist"

    def make_buttons(self):
        go = self.app.go
        return [
            _button("Program", lambda: go("program"), 60, 110, 320, 96),
            _button("Calibrate", lambda: go("calibration"), 420, 110, 320, 96),
            _button("Settings", lambda: go("settings"), 60, 230, 320, 96),
            _button("Export", lambda: go("export"), 420, 230, 320, 96),
            small_button("Done", lambda: go("welcome"), (300, 370, 200, 90)),
        ]

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w = surface.get_width()
        self.app.text(surface, "Therapist", theme.TITLE_PX, theme.TEXT, (w // 2, 50))
        self.draw_buttons(surface)


class SettingsScreen(ButtonScreen):
    """Volume, text size and speech for the patient's screens."""

    name = "settings"

    def make_buttons(self):
        app = self.app

        def change(**kw):
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
            small_button("Back", lambda: app.go("therapist"), (20, 376, 200, 84)),
            _button("Change PIN", self.change_pin, 400, 376, 336, 84, theme.PANEL),
        ]

    def enter(self) -> None:
        self.message = ""
        super().enter()

    def change_pin(self) -> None:
        self.app.go("pin")
        self.app.screens["pin"].change_pin()

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        app, s = self.app, self.app.settings
        app.text(surface, "Volume", theme.BODY_PX, theme.TEXT, (200, 82), width=360)
        app.text(surface, f"{s.volume * 100:.0f} %", theme.BODY_PX, theme.TEXT, (568, 82))
        app.text(surface, "Text size", theme.BODY_PX, theme.TEXT, (200, 192), width=360)
        app.text(surface, "Speech", theme.BODY_PX, theme.TEXT, (200, 302), width=360)
        if app.sound is not None and not app.sound.available:
            app.text(surface, "No sound device", theme.SMALL_PX, theme.WARNING, (200, 350))
        if self.message:
            app.text(surface, self.message, theme.SMALL_PX, theme.ACCENT, (200, 350))
        self.draw_buttons(surface)


# The number each exercise's page changes, its step, and the choice it toggles (if any)
AMOUNTS = {
    "quiet-stance": ("duration_s", 5.0, "eyes", ("open", "closed")),
    "flamingo": ("hold_s", 2.0, "leg", ("affected", "unaffected", "left", "right")),
    "heel-raises": ("target_reps", 1, None, ()),
    "toe-raises": ("target_reps", 1, None, ()),
    "weight-shift": ("cycles", 1, "pace_s", (None, 3.0, 2.0, 1.0)),
    "limits-of-stability": ("body_height_m", 0.05, None, ()),
}
AMOUNT_WORDS = {
    "duration_s": "Time: {:g} s",
    "hold_s": "Hold: {:g} s",
    "target_reps": "{:g} times",
    "cycles": "{:g} cycles",
    "body_height_m": "height {:.2f} m",
}


class ProgramScreen(ButtonScreen):
    """The patient's program, one exercise a page: amount −/+, its option, repetitions, the
    affected side; Save writes program.toml (validated) and today's plan follows it."""

    name = "program"

    def enter(self) -> None:
        from clinic.program import DEFAULT_PROGRAM

        self.program = self.app.program or DEFAULT_PROGRAM
        self.page = 0
        self.message = ""
        super().enter()

    @property
    def item(self):
        return self.program.exercises[self.page]

    def _set(self, **params) -> None:
        from clinic.program import PARAMETERS, ProgramItem

        item = self.item
        new = dict(item.params)
        for key, value in params.items():
            if value is None:
                new.pop(key, None)
                continue
            spec = PARAMETERS[item.exercise][key]
            if spec[0] is not str:
                value = spec[0](min(spec[2], max(spec[1], value)))
            new[key] = value
        self.program = self.program.with_item(
            self.page, ProgramItem(item.exercise, new, item.repetitions)
        )
        self._changed()

    def _cycle_side(self) -> None:
        sides = ("left", "right", "none")
        side = sides[(sides.index(self.program.affected_side) + 1) % 3]
        self.program = replace(self.program, affected_side=side)
        self._changed()

    def _turn(self, step: int) -> None:
        self.page = (self.page + step) % len(self.program.exercises)
        self._changed()

    def save(self) -> None:
        from clinic.program import FILE_NAME, ProgramError, save_program

        app = self.app
        try:
            if app.data_folder is not None:
                save_program(Path(app.data_folder) / FILE_NAME, self.program)
            if app.store is not None and app.patient_code is not None:
                side = self.program.affected_side
                app.store.set_affected_side(app.patient_code, None if side == "none" else side)
        except (OSError, ProgramError) as exc:
            self.message = f"Not saved: {exc}"
            return
        app.set_program(self.program)
        app.keep_program_version("therapist")
        app.store_event("program", "program changed on the device")
        self.message = "Saved."

    def _times(self, step: int) -> None:
        from clinic.program import ProgramItem

        item = self.item
        times = min(10, max(1, item.repetitions + step))
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
        from clinic.program import PARAMETERS, ProgramItem

        present = {item.exercise for item in self.program.exercises}
        missing = [name for name in PARAMETERS if name not in present]
        new = ProgramItem(missing[0]) if missing else ProgramItem("flamingo", {"leg": "unaffected"})
        self.program = replace(self.program, exercises=(*self.program.exercises, new))
        self.page = len(self.program.exercises) - 1
        self._changed()

    def _changed(self) -> None:
        self.message = ""
        self.buttons = self.make_buttons()

    def make_buttons(self):
        from clinic.program import PARAMETERS

        item = self.item
        amount, step, option, choices = AMOUNTS[item.exercise]
        spec = PARAMETERS[item.exercise][amount]
        value = item.params.get(amount, spec[1])
        buttons = [
            _button("Save", self.save, 200, 380, 180, 84),
            _button("<", lambda: self._turn(-1), 20, 16, 96, 84, theme.PANEL),
            _button(">", lambda: self._turn(1), 684, 16, 96, 84, theme.PANEL),
            _button("−", lambda: self._set(**{amount: value - step}), 440, 106, 96, 84),
            _button("+", lambda: self._set(**{amount: value + step}), 684, 106, 96, 84),
            _button("−", lambda: self._times(-1), 440, 196, 96, 84),
            _button("+", lambda: self._times(1), 684, 196, 96, 84),
            _button(f"Weak side: {self.program.affected_side}", self._cycle_side, 20, 286, 400, 84),
            small_button("Back", lambda: self.app.go("therapist"), (20, 380, 170, 84)),
            _button("Remove", self.remove, 390, 380, 190, 84, theme.PANEL),
            _button("Add", self.add, 590, 380, 190, 84, theme.PANEL),
        ]
        if option:
            current = item.params.get(option, choices[0])
            following = choices[(choices.index(current) + 1) % len(choices)]
            label = {None: "no pace"}.get(current, f"{option.split('_')[0]}: {current}")
            if option == "pace_s" and current:
                label = f"pace {current:g} s"
            buttons.append(
                _button(label, lambda: self._set(**{option: following}), 440, 286, 340, 84)
            )
        return buttons

    def draw(self, surface) -> None:
        from clinic.program import PARAMETERS
        from display.session import TEXTS

        surface.fill(theme.BACKGROUND)
        app, item = self.app, self.item
        n = len(self.program.exercises)
        if self.message:  # in the title's place, where it is seen
            app.text(surface, self.message, theme.SMALL_PX, theme.ACCENT, (400, 58), width=540)
        else:
            title = f"{self.page + 1} of {n}: {TEXTS[item.exercise][0]}"
            app.text(surface, title, theme.BODY_PX, theme.TEXT, (400, 58), width=540)
        amount = AMOUNTS[item.exercise][0]
        value = item.params.get(amount, PARAMETERS[item.exercise][amount][1])
        words = AMOUNT_WORDS[amount].format(value)
        app.text(surface, words, theme.BODY_PX, theme.TEXT, (215, 148), width=400)
        times = f"{item.repetitions} time{'s' if item.repetitions > 1 else ''} a session"
        app.text(surface, times, theme.BODY_PX, theme.TEXT, (215, 238), width=400)
        self.draw_buttons(surface)


class CalibrationScreen(ButtonScreen):
    """The known-weight calibration, step by step, with the board and the mark to use."""

    name = "calibration"
    WEIGHTS_KG = (2.0, 5.0, 10.0, 20.0)

    def enter(self) -> None:
        self.weight_kg = 5.0
        self.procedure = None
        self.shown = None
        self.message = ""
        super().enter()

    def make_buttons(self):
        app = self.app
        if self.procedure is None:
            return [
                _button("Start", self.start, 300, 260, 200, 96),
                _button("Change", self.next_weight, 300, 140, 200, 96, theme.PANEL),
                small_button("Back", lambda: app.go("therapist"), (20, 376, 200, 84)),
            ]
        buttons = [small_button("Stop", self.stop, (20, 376, 200, 84))]
        if app.simulated:  # on a PC someone has to put the simulated weight on the board
            buttons.append(_button("Do it (sim)", self.simulate, 560, 376, 220, 84, theme.PANEL))
        return buttons

    def next_weight(self) -> None:
        i = self.WEIGHTS_KG.index(self.weight_kg)
        self.weight_kg = self.WEIGHTS_KG[(i + 1) % len(self.WEIGHTS_KG)]

    def start(self) -> None:
        from device.calibration import CalibrationProcedure

        app = self.app
        self.procedure = CalibrationProcedure(self.weight_kg, app.now(), geometry=app.geometry)
        self.shown = self.procedure.state()
        self.message = ""
        self.buttons = self.make_buttons()

    def stop(self) -> None:
        self.procedure = None
        self.message = "Stopped. The old calibration is still in use."
        self.buttons = self.make_buttons()

    def simulate(self) -> None:
        """Play the therapist on the simulated board: do what the prompt asks."""
        state, link, g = self.shown, self.app.link, self.app.geometry
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
        from device.calibration import save_calibration

        app = self.app
        self.procedure = None
        if state.calibration is None:
            self.message = f"Calibration failed: {state.problem}"
        else:
            try:
                if app.calibration_path is not None:
                    save_calibration(app.calibration_path, state.calibration)
                app.calibration = state.calibration
                self.message = "Calibrated and saved."
                app.store_event("calibration", f"known weight {self.weight_kg:g} kg")
            except OSError as exc:
                self.message = f"Calibrated, but not saved: {exc.strerror}"
        self.buttons = self.make_buttons()

    def draw(self, surface) -> None:
        import pygame

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
            if self.message:
                app.text(surface, self.message, theme.SMALL_PX, theme.ACCENT, (w // 2, 385 - 30))
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
    """Copy the patient's records to a USB stick: one folder with the CSV, the recordings and the
    program; or import a program from the stick."""

    name = "export"

    def enter(self) -> None:
        self.message = ""
        self.password = ""
        super().enter()

    def handle(self, event) -> None:
        tap = self.app.tap(event)
        if tap is not None and tap.kind == "down":
            self.password = ""  # the next touch hides it
        super().handle(event)

    def make_buttons(self):
        return [
            _button("Export to USB", self.export, 200, 110, 400, 90),
            _button("Encrypted", self.export_encrypted, 620, 110, 160, 90, theme.PANEL),
            _button("Import program", self.import_program, 200, 220, 400, 90, theme.PANEL),
            small_button("Back", lambda: self.app.go("therapist"), (20, 376, 200, 84)),
        ]

    def _to_stick(self, write) -> Path | None:
        """Run ``write(store, code, drive, stamp)`` onto the first USB stick, with the messages
        for no stick, no records and a failed write; the written path, or None."""
        app = self.app
        drives = usb_folders()
        if not drives:
            self.message = "No USB stick found. Put one in and try again."
            return None
        if app.store is None or app.patient_code is None:
            self.message = "There are no records on this device yet."
            return None
        try:
            path = write(app.store, app.patient_code, drives[0], time.strftime("%Y%m%d-%H%M%S"))
            os.sync()  # the stick may be pulled out the moment the message appears
        except OSError as exc:
            self.message = f"Export failed: {exc.strerror or exc}. Nothing was changed."
            return None
        app.store_event("export", f"exported to {path}")
        return path

    def export(self) -> None:
        from clinic.export import export_to_folder

        folder = self._to_stick(export_to_folder)
        if folder is not None:
            self.message = f"Saved in {folder.name} on the USB stick."

    def export_encrypted(self) -> None:
        """One encrypted zip; its random password is shown here once, to write down."""
        from clinic.export import export_encrypted, new_password

        password = new_password()
        target = self._to_stick(
            lambda store, code, drive, stamp: export_encrypted(store, code, drive, stamp, password)
        )
        if target is not None:
            self.message = f"Saved {target.name}. Write the password down; it is shown only now."
            self.password = password

    def import_program(self) -> None:
        from clinic.program import FILE_NAME, ProgramError, load_program, save_program

        app = self.app
        candidates = [d / FILE_NAME for d in usb_folders() if (d / FILE_NAME).exists()]
        if not candidates:
            self.message = f"No {FILE_NAME} on a USB stick."
            return
        try:
            program = load_program(candidates[0])
            if app.data_folder is not None:
                save_program(Path(app.data_folder) / FILE_NAME, program)
        except ProgramError as exc:
            self.message = f"Not imported. {exc.message} (line {exc.line or '?'})"
            return
        except OSError as exc:
            self.message = f"Not imported: {exc.strerror or exc}"
            return
        app.set_program(program)
        app.keep_program_version("import")
        app.store_event("program", f"program imported from {candidates[0]}")
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
    TherapistMenuScreen,
    SettingsScreen,
    ProgramScreen,
    CalibrationScreen,
    ExportScreen,
)
