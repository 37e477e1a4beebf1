"""Colours, sizes and fonts of the touchscreen, chosen for older eyes.

Every text/background pair used on screen is listed in ``TEXT_PAIRS`` and tested for a contrast
ratio of at least 7:1 (WCAG AAA); status is never shown by colour alone (a word or symbol goes with
it); body text is at least 40 px on the 800 × 480 panel (../shared/notes/pi-kiosk.md).
"""

from __future__ import annotations

SCREEN_SIZE = (800, 480)

BACKGROUND = (16, 20, 28)
PANEL = (34, 40, 54)
TEXT = (255, 255, 255)
TEXT_DIM = (200, 206, 218)
GOOD = (120, 230, 140)
WARNING = (255, 214, 90)
DANGER = (255, 150, 150)
ACCENT = (120, 200, 255)
BOARD = (58, 66, 86)
FOOT = (150, 160, 185)
DOT = (255, 214, 90)
BUTTON = (22, 70, 140)
BUTTON_TEXT = (255, 255, 255)

TEXT_PAIRS = {
    "text on background": (TEXT, BACKGROUND),
    "dim text on background": (TEXT_DIM, BACKGROUND),
    "good on background": (GOOD, BACKGROUND),
    "warning on background": (WARNING, BACKGROUND),
    "danger on background": (DANGER, BACKGROUND),
    "accent on background": (ACCENT, BACKGROUND),
    "text on panel": (TEXT, PANEL),
    "good on panel": (GOOD, PANEL),
    "warning on panel": (WARNING, PANEL),
    "danger on panel": (DANGER, PANEL),
    "accent on panel (progress chart)": (ACCENT, PANEL),
    "button text on button": (BUTTON_TEXT, BUTTON),
}

BODY_PX = 40
TITLE_PX = 56
SMALL_PX = 28  # secondary labels on the patient's screens; messages on the therapist's screens


def relative_luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """WCAG 2 contrast ratio (1 to 21)."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)
