"""The device's settings (volume, text size) and the therapist's PIN, kept in the data folder.

Settings are a small JSON file (``settings.json``) written atomically; a missing or damaged file
means the defaults, never a crash (a damaged file is kept aside as ``settings.json.bad`` so
nothing is lost). The therapist's PIN is stored only as a salted scrypt hash, and wrong attempts
are rate-limited: after ``FREE_ATTEMPTS`` wrong PINs each further try waits twice as long as the
one before (30 s, 60 s, … capped at 15 minutes). Time is passed in (``now`` in seconds), so the
rules are tested without a clock.

Example::

    settings = load_settings(folder)
    settings = settings.with_pin("2580", salt=os.urandom(16))
    verdict = check_pin(settings, "2580", now=time.time())
    save_settings(folder, verdict.settings)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from device.files import atomic_write_text

log = logging.getLogger(__name__)

FILE_NAME = "settings.json"
DEFAULT_PIN = "2580"  # set on first start; the therapist changes it (hardware/building.md)
FREE_ATTEMPTS = 3
FIRST_WAIT_S = 30.0
MAX_WAIT_S = 900.0
TEXT_SCALES = (1.0, 1.25)  # normal and large text
HELP_CHARS = set("0123456789+ ")
# scrypt: 16 MiB of memory, ~50 ms on a Pi 4; the PIN is short, the hash must be slow
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


@dataclass(frozen=True)
class Settings:
    """What the therapist can change on the device."""

    volume: float = 0.8  # 0 (silent) … 1
    large_text: bool = False
    speech: bool = True
    pin_salt: str = ""  # hex
    pin_hash: str = ""  # hex scrypt of the PIN; empty until a PIN is set
    failed_attempts: int = 0
    locked_until: float = 0.0  # wall-clock seconds: no attempt is checked before this
    help_number: str = ""  # the number "I need help" tells the patient to call (digits, +, ' ')

    @property
    def text_scale(self) -> float:
        return TEXT_SCALES[1] if self.large_text else TEXT_SCALES[0]

    @property
    def has_pin(self) -> bool:
        return bool(self.pin_hash)

    def with_pin(self, pin: str, salt: bytes) -> Settings:
        """These settings with a new PIN (4–8 digits), its attempts counter cleared."""
        if not (pin.isdigit() and 4 <= len(pin) <= 8):
            raise ValueError("The PIN must be 4 to 8 digits.")
        return replace(
            self,
            pin_salt=salt.hex(),
            pin_hash=_hash(pin, salt).hex(),
            failed_attempts=0,
            locked_until=0.0,
        )


def _hash(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, dklen=32, **_SCRYPT)


@dataclass(frozen=True)
class PinVerdict:
    accepted: bool
    settings: Settings  # with the attempts counter updated: save it
    wait_s: float = 0.0  # how long until the next attempt is allowed
    message: str = ""


def wait_after(failed_attempts: int) -> float:
    """Seconds to wait after this many wrong PINs in a row."""
    if failed_attempts < FREE_ATTEMPTS:
        return 0.0
    return min(MAX_WAIT_S, FIRST_WAIT_S * 2 ** (failed_attempts - FREE_ATTEMPTS))


def check_pin(settings: Settings, pin: str, now: float) -> PinVerdict:
    """Check a PIN attempt at wall-clock time ``now`` (seconds)."""
    if now < settings.locked_until:
        wait = settings.locked_until - now
        return PinVerdict(False, settings, wait, f"Too many tries. Wait {_duration(wait)}.")
    if not settings.has_pin:
        return PinVerdict(False, settings, 0.0, "No PIN is set on this device.")
    expected = bytes.fromhex(settings.pin_hash)
    if hmac.compare_digest(_hash(pin, bytes.fromhex(settings.pin_salt)), expected):
        return PinVerdict(True, replace(settings, failed_attempts=0, locked_until=0.0))
    failed = settings.failed_attempts + 1
    wait = wait_after(failed)
    updated = replace(settings, failed_attempts=failed, locked_until=now + wait if wait else 0.0)
    message = f"Wrong PIN. Wait {_duration(wait)}." if wait else "Wrong PIN. Try again."
    return PinVerdict(False, updated, wait, message)


def _duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"


def load_settings(folder: Path) -> Settings:
    """The saved settings; defaults (with the default PIN) when there are none yet.

    A damaged file is renamed to ``settings.json.bad`` and the defaults are used, keeping the
    PIN's rate limit: a damaged file must not be a way round it.
    """
    path = Path(folder) / FILE_NAME
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        fields = set(Settings.__dataclass_fields__)
        settings = Settings(**{k: v for k, v in raw.items() if k in fields})
        _check(settings)
        return settings
    except FileNotFoundError:
        pass
    except (OSError, ValueError, TypeError) as exc:
        log.error("settings file %s is damaged (%s); using the defaults", path, exc)
        try:
            path.replace(path.with_name(FILE_NAME + ".bad"))
        except OSError:
            pass
        settings = Settings().with_pin(DEFAULT_PIN, os.urandom(16))
        return replace(settings, failed_attempts=FREE_ATTEMPTS, locked_until=0.0)
    return Settings().with_pin(DEFAULT_PIN, os.urandom(16))


def _check(settings: Settings) -> None:
    if not (isinstance(settings.volume, int | float) and 0.0 <= settings.volume <= 1.0):
        raise ValueError("volume must be between 0 and 1")
    if not isinstance(settings.large_text, bool) or not isinstance(settings.speech, bool):
        raise ValueError("large_text and speech must be true or false")
    bytes.fromhex(settings.pin_salt)
    bytes.fromhex(settings.pin_hash)
    number = settings.help_number
    if not isinstance(number, str) or len(number) > 20 or not all(c in HELP_CHARS for c in number):
        raise ValueError("help_number must be up to 20 digits, spaces or +")


def save_settings(folder: Path, settings: Settings) -> None:
    atomic_write_text(Path(folder) / FILE_NAME, json.dumps(asdict(settings), indent=2) + "\n")
