"""Text on the touchscreen: word-wrapped, centred, cached, and larger when the therapist sets
large text.

Rendering text is the costliest part of drawing a frame, so each rendered line is kept (a few
dozen texts on the screens; counters add more, hence the cap). pygame's default font draws
capitals about 1/1.3 of the size asked for, so sizes are scaled up to give the pixel heights the
theme names (``display.theme``: body text at least 40 px).

Example::

    painter = TextPainter()
    painter.draw(surface, "Stand on the board.", theme.BODY_PX, theme.TEXT, (400, 240))
"""

from __future__ import annotations

CACHE_LIMIT = 256


class TextPainter:
    """Draws text for the screens. ``scale`` is the large-text factor (1 or 1.25)."""

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale
        self._fonts: dict[int, object] = {}
        self._cache: dict[tuple, list] = {}

    def set_scale(self, scale: float) -> None:
        if scale != self.scale:
            self.scale = scale
            self._cache.clear()

    def draw(self, surface, text: str, size: int, colour, center, *, width=None) -> None:
        """Draw ``text`` centred on ``center``, wrapped onto more lines when wider than
        ``width`` (the surface's width less margins by default)."""
        width = width or surface.get_width() - 40
        size = round(size * self.scale)
        key = (text, size, tuple(colour), width)
        images = self._cache.get(key)
        if images is None:
            images = self._render(text, size, colour, width)
            if len(self._cache) > CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = images
        height = sum(image.get_height() for image in images)
        y = center[1] - height // 2
        for image in images:
            surface.blit(image, image.get_rect(midtop=(center[0], y)))
            y += image.get_height()

    def height(self, text: str, size: int, width: int) -> int:
        """How tall ``text`` is drawn at ``size`` wrapped to ``width`` (to lay a screen out
        around it, with large text too)."""
        size = round(size * self.scale)
        return sum(image.get_height() for image in self._render(text, size, (0, 0, 0), width))

    def font(self, size: int, *, scaled: bool = True):
        """The font for text ``size`` px high (times the large-text factor when ``scaled``)."""
        import pygame

        if scaled:
            size = round(size * self.scale)
        font = self._fonts.get(size)
        if font is None:
            font = self._fonts[size] = pygame.font.Font(None, int(size * 1.3))
        return font

    def _render(self, text: str, size: int, colour, width: int) -> list:
        """Word-wrapped lines as images."""
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
