"""The first start: once per device, what it needs before the patient's first session.

On a new device the touchscreen first asks the therapist to choose her PIN (there is no default
PIN, ever), shows the time and time zone and whether the clock is synchronised, takes the
patient's code and weaker side, the calibration with the known weight and a sound test; then the
patient's welcome. The screens are ``display.first_start_screens``; this module holds the rule
that decides whether the first start is offered, with no pygame, so it is tested on its own.

The threat (``display.pin``): someone at the touchscreen (a relative, a visitor) with no shell,
and files damaged or lost by a power cut or a worn SD card. Choosing a PIN without knowing one
must therefore never come back once this device has had a PIN. The first start is offered from
its beginning ("new") only when **nothing** says the device was set up:

- no PIN file (``pin.json``) and no damaged one kept aside (``pin.json.bad``),
- the first start's own marker (``first-start.json``) absent, or saying only "begun" (the first
  start was cut short before a PIN was chosen), and
- records (``balance-board.sqlite3``) that hold no patient and no event of a PIN (chosen here,
  changed, set by the technician, or accepted: ``PIN_EVENTS``); choosing the PIN is logged there
  and the patient is added right after. Other events (a reader restart while the board is
  still unplugged at installation) say nothing about a PIN and do not count.

Any one of these is enough to keep it closed, so deleting or damaging any one file never brings
it back: a damaged marker counts as "done", a damaged PIN file is kept aside as
``pin.json.bad``, and records that cannot be read offer nothing. Therapist mode then says to ask
the technician, whose ``balance-board pin set`` from a shell is the recovery (logged).

With a PIN set and the first start not finished (the marker "begun", or absent on a device with
no patient yet: cut short after the PIN, or the technician set the PIN from a shell first), the
first start resumes *behind that PIN* ("resume"): the PIN is asked, then the other steps. In
every other case it is over ("done"). The marker is written "begun" when the therapist starts,
"done" at the end; a device set up before the marker existed gets one ("done") at its next
start, so a later loss of its records cannot reopen the first start either.

Example::

    state = first_start_state(folder, store, load_pin(folder))   # "new", "resume" or "done"
    mark(folder, "begun", now_iso)
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from device.files import atomic_write_text
from display.pin import FILE_NAME as PIN_FILE
from display.pin import PinState

log = logging.getLogger(__name__)

MARKER = "first-start.json"
DEFAULT_PATIENT = "P-0001"  # a home board has one patient; pseudonymous until the clinic sets one
NEW, RESUME, DONE = "new", "resume", "done"
MAX_BYTES = 4096  # the marker is about 100 bytes: more is damage
# device events that mean this device has had a PIN: chosen at the first start, changed in the
# settings, set by the technician from a shell, or accepted at the keypad
PIN_EVENTS = ("pin_set", "pin_changed", "pin_reset", "therapist_mode")


def read_marker(folder: Path) -> str:
    """The first start's marker: "absent", "begun", "done", or "damaged" (anything else, which
    counts as done: a damaged file must never reopen the first start)."""
    path = Path(folder) / MARKER
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES} bytes")
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return "absent"
    except (OSError, ValueError, UnicodeDecodeError, RecursionError) as exc:
        log.error("the first start's marker %s is damaged (%s): taken as done", path, exc)
        return "damaged"
    state = raw.get("state") if isinstance(raw, dict) else None
    if state not in ("begun", "done"):
        log.error("the first start's marker %s is damaged (state %r): taken as done", path, state)
        return "damaged"
    return state


def mark(folder: Path, state: str, now_iso: str, **details) -> None:
    """Keep the first start's progress ("begun" or "done"), atomically."""
    if state not in ("begun", "done"):
        raise ValueError(f"a first start is begun or done, not {state!r}")
    data = {"state": state, "at": now_iso, **details}
    atomic_write_text(Path(folder) / MARKER, json.dumps(data, indent=2) + "\n")


def _records_used(store) -> tuple[bool, bool]:
    """(any patient, any event of a PIN) in the records; both True when they cannot be read
    (fail closed)."""
    try:
        return bool(store.patients()), any(store.events(kind) for kind in PIN_EVENTS)
    except Exception as exc:  # a damaged records file must not open anything
        log.error("the records cannot be read for the first start's rule: %s", exc)
        return True, True


def first_start_state(folder: Path, store, pin: PinState) -> str:
    """Whether this device's first start is offered: "new" (from choosing the PIN), "resume"
    (behind the PIN that is set) or "done" (never again). ``store`` is the open records, or None
    when they cannot be used (then nothing is offered); ``pin`` as ``load_pin`` found it."""
    folder = Path(folder)
    marker = read_marker(folder)
    if marker in ("done", "damaged") or store is None:
        return DONE
    patients, pin_events = _records_used(store)
    if pin.is_set:
        return RESUME if marker == "begun" or not patients else DONE
    kept_aside = (folder / (PIN_FILE + ".bad")).exists()
    if pin.status == "missing" and not kept_aside and not patients and not pin_events:
        return NEW
    return DONE


def settle(folder: Path, store, state: str, now_iso: str) -> None:
    """A device found set up without a marker (set up before the marker existed, or the marker
    lost) gets one again, so that losing its records later cannot reopen the first start."""
    if state != DONE or store is None or read_marker(folder) != "absent":
        return
    patients, _ = _records_used(store)
    if not patients:
        return
    try:
        mark(folder, "done", now_iso, note="set up before this marker was kept")
    except OSError as exc:  # a read-only or full disk: the other evidence still holds
        log.error("could not write the first start's marker: %s", exc)
