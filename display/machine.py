"""The screens as a state machine: each screen says which screen comes next; only the machine
switches; a failing hook leads to the failsafe screen (the pibooth pattern).

A ``Screen`` has hooks: ``enter`` (shown), ``handle`` (one input event), ``frames`` (the raw
frames of this step), ``update`` (the CoP samples of this step), ``draw`` and ``exit``. Every hook
but ``draw`` and ``exit`` may return the name of the next screen (or None to stay), so the
transition graph can be read from the screens' return statements. The machine alone exits the
old screen and enters the new one; an exception in any hook is logged and shows the failsafe
screen, so a bug never leaves a traceback on the patient's screen; a name that is not a screen
fails at once (a programming error, found by the tests).

Example::

    machine = ScreenMachine([WelcomeScreen(app), BoardScreen(app), FailsafeScreen(app)], "welcome")
    machine.run(machine.current.handle, event)      # a tap on Start → "board"
    machine.current.name                            # 'board'
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)

FAILSAFE = "failsafe"
MAX_CHAIN = 8  # screens entered in a row without a frame drawn: a loop in the transitions


class Screen:
    """One screen of the app. ``app`` gives it the clock, the board, the session and drawing."""

    name = "screen"
    therapist_mode = False  # a screen of therapist mode (behind the PIN)
    entered_at = 0.0  # when it was last shown, on the app's clock (screens with buttons set it)

    def __init__(self, app) -> None:
        self.app = app

    def enter(self) -> str | None:
        """Shown now; may hand over at once to another screen."""

    def exit(self) -> None:
        """Left now."""

    def handle(self, event) -> str | None:
        """One pygame event (a tap, a key)."""

    def frames(self, frames: list) -> str | None:
        """The raw frames behind this step's samples (the calibration wizard needs counts)."""

    def update(self, samples: list) -> str | None:
        """This step's CoP samples (``device.samples.CopSample``)."""

    def draw(self, surface) -> None:
        """Draw the whole screen on ``surface``."""


class ScreenMachine:
    """Holds the screens and the current one; switches only through ``go``.

    :param screens: the screens; their names must differ, and one must be "failsafe".
    :param start: the name of the first screen.
    """

    def __init__(self, screens: Iterable[Screen], start: str) -> None:
        self.screens: dict[str, Screen] = {}
        for screen in screens:
            if screen.name in self.screens:
                raise ValueError(f"two screens are called {screen.name!r}")
            self.screens[screen.name] = screen
        if FAILSAFE not in self.screens:
            raise ValueError("a machine needs a failsafe screen")
        self.error: str | None = None  # the last failure, for the log and the tests
        self.current: Screen = self._screen(start)
        self._chain = 0
        self._enter(self.current)

    def _screen(self, name: str) -> Screen:
        screen = self.screens.get(name)
        if screen is None:
            raise ValueError(f"no screen called {name!r}; screens: {', '.join(self.screens)}")
        return screen

    def go(self, name: str) -> None:
        """Leave the current screen for ``name`` (ValueError at once for an unknown name)."""
        screen = self._screen(name)
        ok, _ = self._guarded(self.current.exit)
        if not ok:
            return  # on the failsafe screen now
        self.current = screen
        self._enter(screen)

    def _enter(self, screen: Screen) -> None:
        if self._chain >= MAX_CHAIN:
            log.error("screens keep handing over: %s entered last", screen.name)
            self._fail(f"screens keep handing over ({screen.name} entered last)")
            return
        self._chain += 1
        try:
            ok, following = self._guarded(screen.enter)
            if ok and following:
                self.go(following)
        finally:
            self._chain -= 1

    def run(self, hook: Callable, *args) -> None:
        """Call one of the current screen's hooks; go where it says, or to the failsafe screen
        if it fails."""
        ok, following = self._guarded(hook, *args)
        if ok and following:
            self.go(following)

    def draw(self, surface) -> None:
        self._guarded(self.current.draw, surface)

    def _guarded(self, hook: Callable, *args) -> tuple[bool, str | None]:
        """(True, what the hook returned), or (False, None) after a failure: logged, and the
        failsafe screen shown."""
        try:
            return True, hook(*args)
        except Exception as exc:  # never a traceback on the patient's screen
            log.exception("screen %s failed", self.current.name)
            self._fail(f"{type(exc).__name__}: {exc}")
            return False, None

    def _fail(self, error: str) -> None:
        """Show the failsafe screen (unless it is the one failing), keeping the error."""
        self.error = error
        if self.current.name != FAILSAFE:
            self.current = self.screens[FAILSAFE]
            self._guarded(self.current.enter)
