"""What the touchscreen asks of the operating system: turning the board off and setting the
time zone.

Both need privileges the kiosk does not have and must not get: its unit runs without
capabilities, with no new privileges, a read-only system and a system-call filter
(``systemd/balance-board.service``). So the app only *asks*, over the system D-Bus (a Unix
socket, which the unit's ``RestrictAddressFamilies=AF_UNIX`` allows): logind's ``PowerOff``
and timedated's ``SetTimezone``, never interactive (no password prompt can appear on a kiosk).
polkit decides, by two narrow rules that allow exactly these actions to the service's user and
nobody else (``systemd/polkit/``, installed into ``/etc/polkit-1/rules.d``). The calls go
through ``busctl``, which systemd ships on every Raspberry Pi OS, so no D-Bus library is needed.

The app is handed a system object (``LinuxSystem`` in the kiosk, ``NoSystem`` on a PC, a fake in
tests) with two actions, ``power_off()`` and ``set_time_zone(zone)``, and one question,
``time_zone()``. An action that fails raises ``SystemActionError`` whose message is plain words
for the screen; the technical detail goes to the log.

Example::

    system = choose_system(kiosk=True)
    try:
        system.set_time_zone("Europe/Berlin")
    except SystemActionError as exc:
        print(exc)    # "This board is not allowed to change its time zone. ..."
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

BUSCTL_TIMEOUT_S = 10  # logind and timedated answer in well under a second; a hung bus must
# not freeze the screen longer than this (the kiosk's watchdog allows 20 s)
LOCALTIME = Path("/etc/localtime")
ZONEINFO_MARK = "zoneinfo/"

# the time zones offered on the screen: a short list to pick from with big buttons (the
# technician sets any other with `timedatectl set-timezone`); (zone, the words shown)
TIME_ZONES: tuple[tuple[str, str], ...] = (
    ("Europe/London", "London"),
    ("Europe/Dublin", "Dublin"),
    ("Europe/Lisbon", "Lisbon"),
    ("Europe/Paris", "Paris"),
    ("Europe/Brussels", "Brussels"),
    ("Europe/Amsterdam", "Amsterdam"),
    ("Europe/Berlin", "Berlin"),
    ("Europe/Zurich", "Zurich"),
    ("Europe/Vienna", "Vienna"),
    ("Europe/Rome", "Rome"),
    ("Europe/Madrid", "Madrid"),
    ("Europe/Stockholm", "Stockholm"),
    ("Europe/Warsaw", "Warsaw"),
    ("Europe/Helsinki", "Helsinki"),
    ("Europe/Athens", "Athens"),
    ("America/New_York", "New York"),
    ("America/Chicago", "Chicago"),
    ("America/Denver", "Denver"),
    ("America/Los_Angeles", "Los Angeles"),
    ("Australia/Sydney", "Sydney"),
    ("UTC", "UTC (no zone)"),
)


class SystemActionError(Exception):
    """An action the system refused or could not do; ``str(exc)`` is words for the screen."""


class System(Protocol):
    """What the app may ask of the operating system."""

    def power_off(self) -> None:
        """Turn the device off (returns once the system has accepted; it then goes down)."""
        ...

    def set_time_zone(self, zone: str) -> None:
        """Set the system's time zone (an IANA name such as "Europe/Berlin")."""
        ...

    def time_zone(self) -> str | None:
        """The system's time zone, or None when it cannot be told."""
        ...


def zone_words(zone: str | None) -> str:
    """The zone as the screen names it: "Berlin" for Europe/Berlin; the name itself for a zone
    not in the short list; "not set" for none."""
    if not zone:
        return "not set"
    for name, words in TIME_ZONES:
        if name == zone:
            return words
    return zone.replace("_", " ")


def read_time_zone(localtime: Path = LOCALTIME) -> str | None:
    """The zone /etc/localtime points to (timedated keeps it a link into the zoneinfo folder);
    else /etc/timezone (older Debian); else None."""
    try:
        target = os.readlink(localtime)
    except OSError:
        target = ""
    if ZONEINFO_MARK in target:
        return target.split(ZONEINFO_MARK, 1)[1]
    try:
        text = (localtime.parent / "timezone").read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text or None


def _words_for(detail: str, what: str) -> str:
    """busctl's error (logind's or timedated's D-Bus error, as busctl prints it) as words for
    the screen."""
    low = detail.lower()
    if any(
        words in low
        for words in ("interactive authentication required", "access denied", "not authorized")
    ):
        # polkit said no: the installation's rule (systemd/polkit/) is missing
        return f"The board is not allowed to {what}. Please tell the technician."
    if "in progress" in low or "inhibit" in low:
        return f"The board cannot {what} just now: it is busy. Please try again in a few minutes."
    if "invalid" in low and "time zone" in low:
        return "The board does not know this time zone. Please choose another one."
    if "timed out" in low or "timeout" in low:
        return f"The board did not answer in time, so it could not {what}. Please try again."
    return f"The board could not {what}. Please tell the technician."


class LinuxSystem:
    """The real system, asked over D-Bus with ``busctl`` (the kiosk, allowed by polkit).

    :param busctl: the busctl program (found on PATH when None).
    :param localtime: the link that names the time zone (/etc/localtime).
    """

    def __init__(self, busctl: str | None = None, localtime: Path = LOCALTIME) -> None:
        self.busctl = busctl or shutil.which("busctl") or "busctl"
        self.localtime = localtime

    def _call(self, what: str, *arguments: str) -> None:
        command = [
            self.busctl,
            "--system",
            f"--timeout={BUSCTL_TIMEOUT_S}",
            "call",
            *arguments,
        ]
        try:
            done = subprocess.run(
                command,
                # no terminal: nothing may wait for a password on the kiosk's tty1
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=BUSCTL_TIMEOUT_S + 5,
                check=False,
            )
        except FileNotFoundError:
            log.error("cannot %s: busctl not found (%s)", what, self.busctl)
            raise SystemActionError(
                f"The board could not {what}: a part of its system is missing. "
                "Please tell the technician."
            ) from None
        except subprocess.TimeoutExpired:
            log.error("cannot %s: busctl did not answer in %d s", what, BUSCTL_TIMEOUT_S + 5)
            raise SystemActionError(_words_for("timed out", what)) from None
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip()
            log.error("cannot %s: %s (exit %d)", what, detail, done.returncode)
            raise SystemActionError(_words_for(detail, what))
        log.info("%s: asked the system, accepted", what)

    def power_off(self) -> None:
        # logind's PowerOff(interactive=false): polkit action org.freedesktop.login1.power-off
        # (…-multiple-sessions when someone else is logged in, e.g. the technician over ssh)
        self._call(
            "turn itself off",
            "org.freedesktop.login1",
            "/org/freedesktop/login1",
            "org.freedesktop.login1.Manager",
            "PowerOff",
            "b",
            "false",
        )

    def set_time_zone(self, zone: str) -> None:
        # timedated's SetTimezone(zone, interactive=false): polkit action
        # org.freedesktop.timedate1.set-timezone; timedated checks the name itself
        self._call(
            "change its time zone",
            "org.freedesktop.timedate1",
            "/org/freedesktop/timedate1",
            "org.freedesktop.timedate1",
            "SetTimezone",
            "sb",
            zone,
            "false",
        )
        # this process's local time follows the new zone at once (the C library caches it)
        time.tzset()

    def time_zone(self) -> str | None:
        return read_time_zone(self.localtime)


class NoSystem:
    """A PC running the app in a window: the app never turns the computer off or changes its
    time zone; each action says so in words."""

    def power_off(self) -> None:
        raise SystemActionError(
            "On this computer the app does not turn anything off. Close its window instead."
        )

    def set_time_zone(self, zone: str) -> None:
        raise SystemActionError(
            "On this computer the time zone is set in the computer's own settings."
        )

    def time_zone(self) -> str | None:
        return read_time_zone()


def choose_system(*, kiosk: bool, environ: dict | None = None) -> System:
    """The system the app may ask: ``$BALANCE_BOARD_SYSTEM`` ("linux" or "none") when set, else
    the real one in the kiosk (full screen through kmsdrm) and none on a PC, where a tap on
    "Turn the board off" must never turn a developer's computer off."""
    environ = os.environ if environ is None else environ
    chosen = environ.get("BALANCE_BOARD_SYSTEM", "")
    if chosen == "linux" or (not chosen and kiosk):
        return LinuxSystem()
    if chosen not in ("", "none"):
        log.warning("BALANCE_BOARD_SYSTEM=%s is not linux or none: none is used", chosen)
    return NoSystem()
