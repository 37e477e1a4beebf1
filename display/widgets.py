"""Touch handling and buttons for people with a tremor, weak eyes and little patience.

- A tap acts on *release inside* the button it started on (a slip off the button cancels it).
- A second tap within 400 ms of an accepted one is ignored (a tremor double tap presses once).
- SDL reports a touch twice, as FINGER* events (x, y from 0 to 1 over the panel) and as mouse
  events marked ``touch=True``; only the finger path is used for touches, the mouse path for a
  real mouse (../shared/notes/pi-kiosk.md).
- Buttons are at least 80 px high and wide on the 800 × 480 panel, with text of at least 40 px.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pygame

from display import theme

REPEAT_IGNORE_S = 0.4
MIN_TARGET_PX = 80


@dataclass
class Tap:
    """A press or release at a screen position."""

    kind: str  # "down" or "up"
    pos: tuple[int, int]


def tap_from_event(event, screen_size: tuple[int, int], to_logical=None) -> Tap | None:
    """The tap in an SDL event, from the finger path or a real mouse; None for anything else.

    ``to_logical`` maps physical panel pixels to the drawn (landscape) surface when the panel is
    rotated.
    """
    pos = None
    kind = None
    if event.type in (pygame.FINGERDOWN, pygame.FINGERUP):
        pos = (int(event.x * screen_size[0]), int(event.y * screen_size[1]))
        kind = "down" if event.type == pygame.FINGERDOWN else "up"
    elif event.type in (pygame.MOUSEBUTTONDOWN, pygame.MOUSEBUTTONUP):
        if getattr(event, "touch", False) or getattr(event, "button", 1) != 1:
            return None  # the copy of a touch, or not the main button
        pos = event.pos
        kind = "down" if event.type == pygame.MOUSEBUTTONDOWN else "up"
    if pos is None:
        return None
    if to_logical is not None:
        pos = to_logical(pos)
    return Tap(kind, pos)


class TapFilter:
    """Decides which releases count as presses: inside the button pressed, not a repeat."""

    def __init__(self, repeat_ignore_s: float = REPEAT_IGNORE_S) -> None:
        self.repeat_ignore_s = repeat_ignore_s
        self._down_on: Button | None = None
        self._last_accept = -1e9

    def handle(self, tap: Tap, buttons: list[Button], now: float) -> Button | None:
        if tap.kind == "down":
            self._down_on = next((b for b in buttons if b.enabled and b.contains(tap.pos)), None)
            return None
        pressed, self._down_on = self._down_on, None
        if pressed is None or not pressed.contains(tap.pos):
            return None
        if now - self._last_accept < self.repeat_ignore_s:
            return None
        self._last_accept = now
        return pressed


@dataclass
class Button:
    """A large labelled button; ``action`` runs when it is pressed and returns the name of the
    screen to show next, or None to stay."""

    label: str
    rect: object  # pygame.Rect
    action: Callable[[], str | None]
    colour: tuple[int, int, int] = theme.BUTTON
    text_colour: tuple[int, int, int] = theme.BUTTON_TEXT
    enabled: bool = True

    def contains(self, pos) -> bool:
        return self.rect.collidepoint(pos)

    def draw(self, surface, app) -> None:
        pygame.draw.rect(surface, self.colour, self.rect, border_radius=18)
        pygame.draw.rect(surface, self.text_colour, self.rect, width=3, border_radius=18)
        # the label fits inside, shrunk if need be (large text, long words)
        app.text(
            surface,
            self.label,
            theme.BODY_PX,
            self.text_colour,
            self.rect.center,
            width=self.rect.width - 16,
        )
