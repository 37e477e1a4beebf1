"""The device's settings (volume, text size, speech, the help number), kept in the data folder.

Settings are a small JSON file (``settings.json``) written atomically; a missing or damaged file
means the defaults, never a crash (a damaged file is kept aside as ``settings.json.bad`` so
nothing is lost). The therapist's PIN is not here: it lives in a file of its own
(``display.pin``), so that damage to this one cannot open therapist mode.

Example::

    settings = load_settings(folder)
    save_settings(folder, replace(settings, volume=0.5))
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from device.files import atomic_write_text
from display.pin import FILE_NAME as PIN_FILE
from display.pin import migrate_from_settings

log = logging.getLogger(__name__)

FILE_NAME = "settings.json"
TEXT_SCALES = (1.0, 1.25)  # normal and large text
HELP_CHARS = set("0123456789+ ")
MAX_BYTES = 64 * 1024  # a settings file is a few hundred bytes: more is damage
PIN_KEYS = ("pin_salt", "pin_hash", "failed_attempts", "locked_until")  # older files had these


@dataclass(frozen=True)
class Settings:
    """What the therapist can change on the device."""

    volume: float = 0.8  # 0 (silent) … 1
    large_text: bool = False
    speech: bool = True
    help_number: str = ""  # the number "I need help" tells the patient to call (digits, +, ' ')

    @property
    def text_scale(self) -> float:
        return TEXT_SCALES[1] if self.large_text else TEXT_SCALES[0]


def load_settings(folder: Path) -> Settings:
    """The saved settings; the defaults when there are none yet or the file is damaged (then
    kept aside as ``settings.json.bad``). A PIN left in an older file is moved to its own file
    first (``display.pin``)."""
    path = Path(folder) / FILE_NAME
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES} bytes")
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        if any(key in raw for key in PIN_KEYS):
            if not (Path(folder) / PIN_FILE).exists():
                migrate_from_settings(Path(folder), raw)
            raw = {k: v for k, v in raw.items() if k not in PIN_KEYS}
            atomic_write_text(path, json.dumps(raw, indent=2) + "\n")
        fields = set(Settings.__dataclass_fields__)
        settings = Settings(**{k: v for k, v in raw.items() if k in fields})
        _check(settings)
        return settings
    except FileNotFoundError:
        return Settings()
    except (OSError, ValueError, TypeError, RecursionError) as exc:
        log.error("settings file %s is damaged (%s); using the defaults", path, exc)
        try:
            path.replace(path.with_name(FILE_NAME + ".bad"))
        except OSError:
            pass
        return Settings()


def _check(settings: Settings) -> None:
    volume = settings.volume
    if isinstance(volume, bool) or not (isinstance(volume, int | float) and 0.0 <= volume <= 1.0):
        raise ValueError("volume must be between 0 and 1")
    if not isinstance(settings.large_text, bool) or not isinstance(settings.speech, bool):
        raise ValueError("large_text and speech must be true or false")
    number = settings.help_number
    if not isinstance(number, str) or len(number) > 20 or not all(c in HELP_CHARS for c in number):
        raise ValueError("help_number must be up to 20 digits, spaces or +")


def save_settings(folder: Path, settings: Settings) -> None:
    atomic_write_text(Path(folder) / FILE_NAME, json.dumps(asdict(settings), indent=2) + "\n")
