"""The physical panel (rotation, touch mapping) and the systemd handshake of the kiosk.

Screens always draw on a landscape surface. A portrait panel (720 × 1280) gets that surface
rotated on the way out, and its touches mapped back on the way in, so no screen knows about
rotation (../shared/notes/pi-kiosk.md). ``SystemdNotifier`` speaks systemd's sd_notify protocol
(a datagram to $NOTIFY_SOCKET) without a library: READY=1 once the first frame is shown, then
WATCHDOG=1 from the main loop, so a hung app is restarted by systemd (``systemd/``).

Example::

    panel = Panel(window_size=(720, 1280), rotation=90)
    landscape = pygame.Surface(panel.logical_size)   # 800 × 480: what every screen draws on
    ...draw on landscape...
    panel.present(landscape, window)
"""

from __future__ import annotations

import os
import socket

import pygame


class Panel:
    """A window or panel of ``window_size`` showing the ``logical_size`` landscape surface the
    screens draw on, turned by ``rotation`` degrees (0, 90 or 270) and scaled to fit, centred.

    The screens are laid out once, for 800 × 480 (the official 7" display); a 720 × 1280 portrait
    panel shows them turned and 1.5 times larger.
    """

    def __init__(
        self,
        window_size: tuple[int, int],
        rotation: int = 0,
        logical_size: tuple[int, int] = (800, 480),
    ) -> None:
        if rotation not in (0, 90, 270):
            raise ValueError("rotation must be 0, 90 or 270 degrees")
        self.window_size = tuple(window_size)
        self.rotation = rotation
        self.logical_size = tuple(logical_size)
        lw, lh = self.logical_size
        turned = (lw, lh) if rotation == 0 else (lh, lw)
        self._turned = turned
        self.scale = min(self.window_size[0] / turned[0], self.window_size[1] / turned[1])
        self.offset = (
            (self.window_size[0] - turned[0] * self.scale) / 2,
            (self.window_size[1] - turned[1] * self.scale) / 2,
        )

    @property
    def identity(self) -> bool:
        return self.rotation == 0 and self.scale == 1 and self.offset == (0, 0)

    def to_logical(self, pos: tuple[int, int]) -> tuple[int, int]:
        """A touch at panel pixel ``pos`` → the landscape surface's pixel under it."""
        x = int((pos[0] - self.offset[0]) / self.scale)
        y = int((pos[1] - self.offset[1]) / self.scale)
        lw, lh = self.logical_size
        if self.rotation == 90:  # pygame.transform.rotate(…, 90) turns counter-clockwise
            return (lw - 1 - y, x)
        if self.rotation == 270:
            return (y, lh - 1 - x)
        return (x, y)

    def to_panel(self, pos: tuple[int, int]) -> tuple[int, int]:
        """The inverse of ``to_logical`` (the panel pixel showing a landscape pixel)."""
        x, y = pos
        lw, lh = self.logical_size
        if self.rotation == 90:
            x, y = y, lw - 1 - x
        elif self.rotation == 270:
            x, y = lh - 1 - y, x
        return (
            int(x * self.scale + self.offset[0] + self.scale / 2),
            int(y * self.scale + self.offset[1] + self.scale / 2),
        )

    def present(self, surface, window) -> None:
        """Put the landscape ``surface`` on the ``window``, turned and scaled as the panel is."""
        if self.identity:
            if surface is not window:
                window.blit(surface, (0, 0))
            return
        image = surface
        if self.rotation:
            image = pygame.transform.rotate(image, self.rotation)
        if self.scale != 1:
            size = (round(self._turned[0] * self.scale), round(self._turned[1] * self.scale))
            image = pygame.transform.scale(image, size)
        window.blit(image, (round(self.offset[0]), round(self.offset[1])))


class SystemdNotifier:
    """sd_notify without libsystemd: a no-op unless systemd started us with Type=notify."""

    def __init__(self, environ=os.environ) -> None:
        address = environ.get("NOTIFY_SOCKET")
        self._socket = None
        self._address = None
        if address:
            if address.startswith("@"):  # an abstract socket
                address = "\0" + address[1:]
            self._address = address
            self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        usec = environ.get("WATCHDOG_USEC")
        # ping at half the watchdog time, as sd_watchdog_enabled(3) advises
        self.watchdog_interval_s = int(usec) / 2e6 if usec and usec.isdigit() else None

    @property
    def active(self) -> bool:
        return self._socket is not None

    def notify(self, message: str) -> None:
        if self._socket is None:
            return
        try:
            self._socket.sendto(message.encode(), self._address)
        except OSError:
            pass  # systemd gone (shutting down): nothing to tell

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
