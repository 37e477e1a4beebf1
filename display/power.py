"""Turning the board off from the screen, safely: a question first, then the system is asked.

"Turn off" on the welcome screen leads to "Turn the board off?" with two big buttons; "Yes"
shows "The board is turning off. You can unplug it when the screen is dark." and only then, on
the next step, asks the system (``device.system``: logind, allowed by polkit to the kiosk's user
alone), so the words are on the screen before anything goes dark. The results are safe at any
moment (each trial is committed when it ends), so turning off needs no saving first. When the
system refuses or fails, the screen says so in words and leads back to the start; when it
accepted but the board is still on a minute later, the screen says that too.
"""

from __future__ import annotations

import logging

from device.system import SystemActionError
from display import theme
from display.screens import ButtonScreen, go_to

log = logging.getLogger(__name__)

TURNING_OFF = "The board is turning off."
UNPLUG = "You can unplug it when the screen is dark."
STILL_ON_S = 60.0  # accepted, yet still drawing after this long: say so, and offer a way back


class PowerOffScreen(ButtonScreen):
    """ "Turn the board off?": yes, or no (back to the start). The Yes button sits away from
    where the Turn off button was, so a second tap of a tremor lands on No."""

    name = "power-off"

    def make_buttons(self):
        return [
            self.big_button("Yes, turn it off", go_to("turning-off"), 0.5, 440),
            self.big_button("No, go back", go_to("welcome"), 0.84, 440),
        ]

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        self.app.text(
            surface, "Turn the board off?", theme.TITLE_PX, theme.TEXT, (w // 2, int(h * 0.17))
        )
        self.draw_buttons(surface)


class TurningOffScreen(ButtonScreen):
    """The words first; the system is asked on the step after they were drawn. A failure is
    said in words, with a way back to the start."""

    name = "turning-off"

    def __init__(self, app) -> None:
        super().__init__(app)
        self.drawn = False
        self.asked_at: float | None = None
        self.problem = ""

    def enter(self) -> None:
        self.drawn = False
        self.asked_at = None
        self.problem = ""
        super().enter()

    def make_buttons(self):
        if self.problem or self.still_on:
            return [self.big_button("Back to the start", go_to("welcome"), 0.84, 440)]
        return []

    @property
    def still_on(self) -> bool:
        return self.asked_at is not None and self.app.clock.monotonic() - self.asked_at > STILL_ON_S

    def update(self, samples) -> str | None:
        app = self.app
        if not self.drawn:
            return None  # the words first: the screen may go dark right after the call
        if self.asked_at is None:
            self.asked_at = app.clock.monotonic()
            app.log_event("power_off", "turned off from the screen")
            try:
                app.system.power_off()
            except SystemActionError as exc:
                self.problem = str(exc)
                app.log_event("power_off_failed", self.problem)
            self.buttons = self.make_buttons()
        elif self.still_on and not self.buttons:
            log.warning("the system accepted to turn off, but the board is still on")
            self.buttons = self.make_buttons()
        return None

    def draw(self, surface) -> None:
        surface.fill(theme.BACKGROUND)
        w, h = surface.get_size()
        app = self.app
        if self.problem:
            # what it means, in her words; why and what to do, smaller (device.system's words)
            app.text(surface, "Not turned off", theme.TITLE_PX, theme.WARNING, (w // 2, 50))
            app.text(
                surface,
                "The board could not turn itself off. It is safe to leave it on.",
                theme.BODY_PX,
                theme.TEXT,
                (w // 2, 165),
                width=760,
            )
            app.text(
                surface, self.problem, theme.SMALL_PX, theme.TEXT_DIM, (w // 2, 298), width=760
            )
        elif self.still_on:
            app.text(
                surface,
                "The board is taking long to turn off.",
                theme.TITLE_PX,
                theme.WARNING,
                (w // 2, int(h * 0.18)),
            )
            app.text(
                surface,
                "Please tell the technician. You can go back to the start.",
                theme.BODY_PX,
                theme.TEXT,
                (w // 2, int(h * 0.47)),
            )
        else:
            app.text(surface, TURNING_OFF, theme.TITLE_PX, theme.TEXT, (w // 2, int(h * 0.33)))
            app.text(surface, UNPLUG, theme.BODY_PX, theme.TEXT, (w // 2, int(h * 0.58)))
        self.draw_buttons(surface)
        self.drawn = True


POWER_SCREENS = (PowerOffScreen, TurningOffScreen)
