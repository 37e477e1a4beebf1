"""The therapist's PIN: its salted hash and the wrong-attempts counter, in a file of its own.

Therapist mode (the program, calibration, export, settings) is behind this PIN. The threat is
someone at the touchscreen or with a USB stick (a relative, a visitor) with no shell, and files
damaged by a power cut or a worn SD card. So the PIN fails closed:

- it lives in ``pin.json``, apart from ``settings.json``: a damaged or deleted settings file
  cannot touch it;
- there is no default PIN. With no PIN file, or a damaged one, no PIN is accepted and the screen
  says to ask the technician, who sets a new one from a shell
  (``balance-board pin set``: the documented recovery, logged as a device event);
- the counter of wrong attempts only goes up until a right PIN: a file whose counter is
  negative, not a whole number or whose lock is not a time is damaged, hence closed; a lock
  further ahead than the longest wait (a clock that jumped back) is shortened to that wait, never
  lifted;
- the PIN is stored only as a salted scrypt hash; after ``FREE_ATTEMPTS`` wrong PINs each
  further try waits twice as long as the one before (30 s, 60 s, … up to 15 minutes).

Time is passed in (``now``, wall-clock seconds), so the rules are tested without a clock.

Example::

    state = set_pin(folder, "4711", now=time.time())   # the technician, from a shell
    verdict = check_pin(load_pin(folder), "4711", now=time.time())
    save_pin(folder, verdict.state)                     # the counter survives a restart
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

from device.files import atomic_write_text

log = logging.getLogger(__name__)

FILE_NAME = "pin.json"
FREE_ATTEMPTS = 3
FIRST_WAIT_S = 30.0
MAX_WAIT_S = 900.0
SALT_BYTES = 16
HASH_BYTES = 32
# scrypt: 16 MiB of memory, ~50 ms on a Pi 4; the PIN is short, the hash must be slow
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MAX_BYTES = 4096  # the file is about 200 bytes: more is damage
ASK_TECHNICIAN = "No PIN on this device. Ask the technician to set one."


@dataclass(frozen=True)
class PinState:
    """The PIN's hash and its attempts, as kept in ``pin.json``.

    ``status`` says how the file was found: "set", "missing" or "damaged" (only "set" can
    accept a PIN)."""

    salt_hex: str = ""
    hash_hex: str = ""
    failed_attempts: int = 0
    locked_until: float = 0.0  # wall-clock seconds: no attempt is checked before this
    status: str = "missing"

    @property
    def is_set(self) -> bool:
        return self.status == "set"


@dataclass(frozen=True)
class PinVerdict:
    accepted: bool
    state: PinState  # with the attempts counter updated: save it
    wait_s: float = 0.0  # how long until the next attempt is allowed
    message: str = ""


def valid_pin(pin: str) -> bool:
    """4 to 8 digits."""
    return isinstance(pin, str) and pin.isdigit() and pin.isascii() and 4 <= len(pin) <= 8


def new_pin_state(pin: str, salt: bytes) -> PinState:
    """A state holding this PIN (4-8 digits), its counter cleared."""
    if not valid_pin(pin):
        raise ValueError("The PIN must be 4 to 8 digits.")
    return PinState(salt.hex(), _hash(pin, salt).hex(), 0, 0.0, "set")


def _hash(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode(), salt=salt, dklen=HASH_BYTES, **_SCRYPT)


def wait_after(failed_attempts: int) -> float:
    """Seconds to wait after this many wrong PINs in a row."""
    if failed_attempts < FREE_ATTEMPTS:
        return 0.0
    return min(MAX_WAIT_S, FIRST_WAIT_S * 2 ** min(failed_attempts - FREE_ATTEMPTS, 20))


def check_pin(state: PinState, pin: str, now: float) -> PinVerdict:
    """Check a PIN attempt at wall-clock time ``now`` (seconds). Pure: save the verdict's
    state."""
    if not state.is_set:
        return PinVerdict(False, state, 0.0, ASK_TECHNICIAN)
    # a lock further ahead than the longest wait: the clock jumped back; shorten, never lift
    locked_until = min(state.locked_until, now + MAX_WAIT_S)
    if now < locked_until:
        wait = locked_until - now
        return PinVerdict(
            False,
            replace(state, locked_until=locked_until),
            wait,
            f"Too many tries. Wait {_duration(wait)}.",
        )
    expected = bytes.fromhex(state.hash_hex)
    if hmac.compare_digest(_hash(pin, bytes.fromhex(state.salt_hex)), expected):
        return PinVerdict(True, replace(state, failed_attempts=0, locked_until=0.0))
    failed = state.failed_attempts + 1
    wait = wait_after(failed)
    updated = replace(state, failed_attempts=failed, locked_until=now + wait if wait else 0.0)
    message = f"Wrong PIN. Wait {_duration(wait)}." if wait else "Wrong PIN. Try again."
    return PinVerdict(False, updated, wait, message)


def _duration(seconds: float) -> str:
    seconds = max(1, round(seconds))
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"


def _parse(text: str) -> PinState:
    """The state in ``text``, or ValueError naming what is wrong."""
    raw = json.loads(text)
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    salt, digest = raw.get("salt_hex"), raw.get("hash_hex")
    failed, locked = raw.get("failed_attempts"), raw.get("locked_until")
    if not (isinstance(salt, str) and len(bytes.fromhex(salt)) == SALT_BYTES):
        raise ValueError("salt is not 16 bytes of hex")
    if not (isinstance(digest, str) and len(bytes.fromhex(digest)) == HASH_BYTES):
        raise ValueError("hash is not 32 bytes of hex")
    if isinstance(failed, bool) or not isinstance(failed, int) or failed < 0:
        raise ValueError("failed_attempts is not a whole number of at least 0")
    if (
        isinstance(locked, bool)
        or not isinstance(locked, int | float)
        or not math.isfinite(locked)
        or locked < 0
    ):
        raise ValueError("locked_until is not a time")
    return PinState(salt, digest, failed, float(locked), "set")


def load_pin(folder: Path) -> PinState:
    """The PIN state kept in ``folder``: "missing" without a file, "damaged" when the file
    cannot be read as one (it is kept aside as ``pin.json.bad`` for the technician)."""
    path = Path(folder) / FILE_NAME
    try:
        if path.stat().st_size > MAX_BYTES:
            raise OSError(f"larger than {MAX_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return PinState(status="missing")
    except (OSError, UnicodeDecodeError) as exc:
        log.error("the PIN file %s cannot be read (%s): therapist mode is closed", path, exc)
        return PinState(status="damaged")
    try:
        return _parse(text)
    except (ValueError, TypeError, RecursionError) as exc:
        log.error("the PIN file %s is damaged (%s): therapist mode is closed", path, exc)
        try:
            path.replace(path.with_name(FILE_NAME + ".bad"))
        except OSError:
            pass
        return PinState(status="damaged")


def save_pin(folder: Path, state: PinState) -> None:
    """Keep the state (atomically; only a state holding a PIN is written)."""
    if not state.is_set:
        return
    data = {
        "salt_hex": state.salt_hex,
        "hash_hex": state.hash_hex,
        "failed_attempts": state.failed_attempts,
        "locked_until": state.locked_until,
    }
    atomic_write_text(Path(folder) / FILE_NAME, json.dumps(data, indent=2) + "\n")


def set_pin(folder: Path, pin: str, salt: bytes | None = None) -> PinState:
    """A new PIN kept in ``folder`` (the therapist's "Change PIN", or the technician's
    recovery): the counter is cleared. Raises ValueError for a PIN that is not 4-8 digits."""
    state = new_pin_state(pin, salt or os.urandom(SALT_BYTES))
    save_pin(folder, state)
    return state


def migrate_from_settings(folder: Path, raw_settings: dict) -> PinState | None:
    """Older devices kept the PIN inside ``settings.json``: move a valid one into
    ``pin.json`` once (its counter kept), so that later damage to the settings cannot touch
    it. Returns the new state, or None when there was nothing valid to move."""
    try:
        state = _parse(
            json.dumps(
                {
                    "salt_hex": raw_settings.get("pin_salt"),
                    "hash_hex": raw_settings.get("pin_hash"),
                    "failed_attempts": raw_settings.get("failed_attempts", 0),
                    "locked_until": raw_settings.get("locked_until", 0.0),
                }
            )
        )
    except (ValueError, TypeError):
        return None
    save_pin(folder, state)
    return state
