"""The device's records: patients, sessions, trials and device events, in one SQLite file.

Seventh stage of the flow (... → result → **record** → report). Every connection runs with WAL,
synchronous=FULL, foreign keys and a busy timeout (../shared/notes/pi-kiosk.md, "Storage"). Each
trial is committed on its own when it ends, so a crash or power cut loses at most the trial in
progress; a trial still "in progress" when the store is next opened is marked "incomplete".
A trial keeps its result as JSON; its raw recording (format v1) is a zlib-compressed blob in a
table of its own (``recording``), read only when asked for, so that listing years of trials
reads kilobytes, not the recordings' hundreds of megabytes.

Every session keeps the board that made it (``board``: "hx711", the real board, or "sim", the
simulated one; NULL for sessions kept before schema 6, when it was not recorded). A patient
measured on the real board has her trends from it alone: a stray session on the simulated board
is kept, listed and exported, marked, but left out of what judges her (``counts_in_trends``).

Times are ISO 8601 strings with their UTC offset, given by the caller (no clock in here), kept
as given (the patient's wall clock: the report's days are hers) and beside them as a UTC
instant (``*_utc``), which date ranges use through indexes. Lists come oldest first in the
order the device did things (by id), never by time text: after the autumn clock change
"10:10+01:00" sorts before "10:30+02:00" though it came later, and a clock that jumped would
reorder the past. The patient's code is checked wherever it enters (``check_patient_code``).

The file's own troubles are a StoreError whose ``kind`` says which (``file_trouble``), wherever
they are met: on opening, on writing, or in a read that reaches a page a worn card spoiled
halfway through a report. A row holding what the store never writes (a damaged page, an edit
by hand) is named ("trial 123 cannot be read: its result is not JSON"); a report passes over it
and says so (``unreadable``), an export stops. A reader (``read_only``) works on a read-only or
full medium, where SQLite cannot make the files it reads beside the records.

Example::

    store = Store(data_dir / "balance-board.sqlite3")
    store.add_patient("P-0001", affected_side="left")
    session = store.start_session(
        "P-0001", "2026-11-23T10:00:00+01:00", board="hx711", clock_synchronised=True
    )
    trial = store.begin_trial(session, "flamingo", {"leg": "left"}, "2026-11-23T10:01:00+01:00")
    store.finish_trial(trial, result.to_dict(), recording, "2026-11-23T10:01:40+01:00")
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import math
import os
import re
import sqlite3
import unicodedata
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from device.recording import Recording, RecordingError, parse_recording, recording_text

SCHEMA_VERSION = 6
APPLICATION_ID = 0x42424F44  # "BBOD": marks a records file as this program's (PRAGMA)
SIDES = ("left", "right")

MIGRATIONS = {
    1: """
    CREATE TABLE patient (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL UNIQUE,              -- pseudonymous: no names on the device
        affected_side TEXT CHECK (affected_side IN ('left', 'right')),
        birth_year INTEGER,
        sex TEXT,
        height_cm REAL,
        body_mass_kg REAL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE session (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patient(id),
        started_at TEXT NOT NULL,
        ended_at TEXT,
        clock_synchronised INTEGER
    );
    CREATE TABLE trial (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES session(id),
        exercise TEXT NOT NULL,
        parameters TEXT NOT NULL DEFAULT '{}',  -- JSON
        started_at TEXT NOT NULL,
        ended_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('in_progress', 'complete', 'aborted',
                                                'incomplete')),
        score REAL,
        result TEXT,                            -- JSON, as Result.to_dict()
        recording BLOB,                         -- zlib(format v1 text)
        note TEXT
    );
    CREATE INDEX trial_by_session ON trial(session_id);
    CREATE TABLE device_event (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,                     -- calibration, fault, safety_stop, restart ...
        message TEXT NOT NULL,
        session_id INTEGER REFERENCES session(id)
    );
    """,
    2: """
    CREATE TABLE program (
        id INTEGER PRIMARY KEY,
        patient_id INTEGER NOT NULL REFERENCES patient(id),
        saved_at TEXT NOT NULL,
        source TEXT NOT NULL,                   -- therapist, import, progression, default
        text TEXT NOT NULL                      -- the program file (TOML), as prescribed
    );
    CREATE INDEX program_by_patient ON program(patient_id, saved_at);
    CREATE INDEX session_by_patient ON session(patient_id, started_at);
    """,
    3: """
    ALTER TABLE session ADD COLUMN body_mass_kg REAL;  -- weighed on the board at the start
    ALTER TABLE session ADD COLUMN stance TEXT;        -- JSON: the feet's positions, measured
    """,
    4: """
    ALTER TABLE trial ADD COLUMN owner TEXT;  -- the process running it (boot:pid:start)
    """,
    # Years of records: the recordings leave the trial rows (a listing read every blob: SQLite
    # walks a row's overflow pages to reach the columns after it); UTC instants beside the
    # local times, with indexes for date ranges; the patient on each trial; each program
    # version knows the newest trial before it (progression counts trials, not clock times).
    # The old trial table, with the recordings kept until now, stays as it is under the name
    # recording_before_v5 (read from, never written: its other columns are stale copies), and
    # a new trial table is made beside it: copying hundreds of megabytes of recordings would
    # take minutes on a Pi's card, past the service's start timeout, and start over after each
    # kill. Runs with foreign keys off (SQLite's documented way to rebuild a table), in one
    # transaction; utc_instant() is registered by the Store.
    5: """
    DROP INDEX IF EXISTS trial_by_session;
    ALTER TABLE trial RENAME TO recording_before_v5;
    CREATE TABLE trial (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES session(id),
        patient_id INTEGER NOT NULL REFERENCES patient(id),  -- the session's, for indexes
        exercise TEXT NOT NULL,
        parameters TEXT NOT NULL DEFAULT '{}',  -- JSON
        started_at TEXT NOT NULL,               -- ISO 8601 with the offset, as the clock said
        started_utc TEXT NOT NULL,              -- the same instant in UTC (fixed width)
        ended_at TEXT,
        status TEXT NOT NULL CHECK (status IN ('in_progress', 'complete', 'aborted',
                                                'incomplete')),
        score REAL,
        result TEXT,                            -- JSON, as Result.to_dict()
        note TEXT,
        owner TEXT,                             -- the process running it (boot:pid:start)
        recording_bytes INTEGER                 -- size of its kept recording; NULL: none
    );
    INSERT INTO trial (id, session_id, patient_id, exercise, parameters, started_at,
                       started_utc, ended_at, status, score, result, note, owner,
                       recording_bytes)
        SELECT old.id, old.session_id, session.patient_id, old.exercise, old.parameters,
               old.started_at, utc_instant(old.started_at), old.ended_at, old.status,
               old.score, old.result, old.note, old.owner, length(old.recording)
        FROM recording_before_v5 AS old JOIN session ON session.id = old.session_id;
    CREATE TABLE recording (
        trial_id INTEGER PRIMARY KEY REFERENCES trial(id),
        data BLOB NOT NULL                      -- zlib(format v1 text)
    );
    CREATE INDEX trial_by_session ON trial(session_id);
    CREATE INDEX trial_by_patient_time ON trial(patient_id, started_utc);
    CREATE INDEX trial_in_progress ON trial(status) WHERE status = 'in_progress';
    ALTER TABLE session ADD COLUMN started_utc TEXT;
    UPDATE session SET started_utc = utc_instant(started_at);
    DROP INDEX IF EXISTS session_by_patient;
    CREATE INDEX session_by_patient ON session(patient_id);  -- in id order: the latest N
    CREATE INDEX session_by_patient_time ON session(patient_id, started_utc);
    ALTER TABLE device_event ADD COLUMN at_utc TEXT;
    UPDATE device_event SET at_utc = utc_instant(at);
    CREATE INDEX device_event_by_time ON device_event(at_utc);
    ALTER TABLE program ADD COLUMN after_trial_id INTEGER;  -- newest trial when it was saved
    UPDATE program SET after_trial_id = (
        SELECT max(trial.id) FROM trial WHERE trial.patient_id = program.patient_id
        AND trial.started_utc <= utc_instant(program.saved_at));
    DROP INDEX IF EXISTS program_by_patient;
    CREATE INDEX program_by_patient ON program(patient_id);
    """,
    # Which board made each session: on a Pi the app once fell back to the simulated board,
    # whose automatic patient tapped through the exercises into the real patient's records.
    # The sessions kept before this have no board (NULL, "unknown"): nothing in them tells a
    # simulated session from a real one, and a real patient's history must not vanish from her
    # trends with an update, so they count as hers (``counts_in_trends``). A new column, no
    # rebuild: instant on any size of records.
    6: """
    ALTER TABLE session ADD COLUMN board TEXT CHECK (board IN ('hx711', 'sim'));
    CREATE INDEX session_by_patient_board ON session(patient_id, board);
    """,
}

LEGACY_RECORDINGS = "recording_before_v5"  # the trial table of schema 4: recordings kept then
BOARDS = ("hx711", "sim")  # which board made a session: ``device.board.KINDS``
UNKNOWN_BOARD = "unknown"  # what the exports call the board of a session kept before schema 6

# How far a local date can lie from the UTC date of the same instant (offsets run from -12:00
# to +14:00): a day's trials are looked up in UTC with this margin, then kept by their own date.
_OFFSET_MARGIN = timedelta(hours=14)
RECENT_SESSIONS = 100  # what the end-of-session checks look back over (``recent_sessions``)


def process_token(pid: int | None = None) -> str:
    """A name for a running process that no other process has, across reboots: the boot's id,
    the pid and the process's start time (Linux /proc); the pid alone elsewhere."""
    pid = os.getpid() if pid is None else pid
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
        start = stat.rsplit(")", 1)[1].split()[19]  # field 22, after the command name
    except (OSError, IndexError):
        return f"pid:{pid}"
    return f"{boot}:{pid}:{start}"


def process_alive(token: str | None) -> bool:
    """Whether the process a token names is still running (the trial it owns is not over)."""
    if not token:
        return False
    pid_text = token.split(":")[1]
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # running, as another user
    if token.startswith("pid:"):
        return True
    return process_token(pid) == token


def compress_recording(recording: Recording) -> bytes:
    """What the store keeps of a recording: its format-v1 text, zlib-compressed (about half
    the size; a 30 s trial at 80 Hz is ~220 kB of text, ~100 kB kept)."""
    return zlib.compress(recording_text(recording).encode("utf-8"), 6)


class StoreError(Exception):
    """The records cannot be used, or a value cannot go into them; says why. ``kind`` says
    which trouble it is, so that the command line can give each its own exit status:
    "bad-value" (a patient detail, a code, a time), "damaged", "foreign" (another program's
    file), "newer" (a newer version's), "locked" (another process holds it too long),
    "read-only", "cannot-open" (no such folder, no permission), "disk-full"."""

    def __init__(self, message: str, kind: str = "bad-value") -> None:
        super().__init__(message)
        self.kind = kind


def _free_bytes(folder: Path) -> int:
    try:
        stat = os.statvfs(folder)
    except (OSError, AttributeError):
        return 1 << 62
    return stat.f_bavail * stat.f_frsize


def _writable(folder: Path) -> bool:
    """Can files be made in ``folder`` (SQLite's journal beside the records needs that)?"""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return False
    except (OSError, AttributeError):
        pass
    return os.access(folder, os.W_OK)


def file_trouble(path, exc: sqlite3.Error) -> StoreError:
    """An SQLite failure of the file itself, in words, with its kind."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StoreError(
            f"{path} is busy: another program has held it for more than 5 s; try again", "locked"
        )
    if "readonly" in text or "read-only" in text:
        return StoreError(f"{path} cannot be written (read-only file or file system)", "read-only")
    if "full" in text or ("i/o error" in text and _free_bytes(Path(path).parent) < 256 * 1024):
        # a full disk shows as "disk I/O error" when SQLite's shared-memory file cannot grow
        return StoreError(f"{path} cannot grow: the disk is full", "disk-full")
    if "i/o error" in text:
        return StoreError(
            f"{path} cannot be read or written (disk I/O error: a failing SD card?)", "damaged"
        )
    if "unable to open" in text:
        if not _writable(Path(path).parent):
            return StoreError(
                f"{path} cannot be written (read-only file or file system)", "read-only"
            )
        return StoreError(
            f"{path} cannot be opened (no such folder, or no permission)", "cannot-open"
        )
    return damaged(path, str(exc))


def damaged(path, what: str) -> StoreError:
    """The records file is damaged (a page a worn card or a power cut spoiled; a row edited by
    hand into something the store never writes): says what cannot be read, with the kind that
    gives it its exit status. The file is left as it is: the technician may still rescue it."""
    return StoreError(
        f"{path} is damaged: it cannot be used as the records file ({what}); it is left as it "
        "is for the technician",
        "damaged",
    )


# SQLite's failures of the file itself: a damaged page ("database disk image is malformed", a
# plain DatabaseError), I/O, locks, a full disk (OperationalError), a length gone wrong
# (DataError), an inconsistency SQLite found in its own structures (InternalError). Not a
# constraint refused (IntegrityError: a value's trouble) nor a misuse (ProgrammingError: ours).
_FILE_FAULTS = (sqlite3.OperationalError, sqlite3.DataError, sqlite3.InternalError)


def _file_fault(exc: sqlite3.Error) -> bool:
    return type(exc) is sqlite3.DatabaseError or isinstance(exc, _FILE_FAULTS)


def _records_trouble(method):
    """A Store method whose failures of the file itself come out as a StoreError of their
    kind (``file_trouble``) wherever they happen, on opening, writing or reading: a damaged
    page is often found only by the read that reaches it, halfway through a report. For a
    method that yields, while it yields."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def each(self, *args, **kwargs):
            try:
                yield from method(self, *args, **kwargs)
            except sqlite3.Error as exc:
                if not _file_fault(exc):
                    raise
                raise file_trouble(self.path, exc) from None

        return each

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            if not _file_fault(exc):
                raise
            raise file_trouble(self.path, exc) from None

    return call


@dataclass(frozen=True)
class UnreadableRow:
    """A row of the records that cannot be read (its fields are not what the store writes: a
    damaged page, an edit by hand), left out of a report that says so: which row, and why."""

    table: str  # "trial", "session"
    id: int
    why: str

    def __str__(self) -> str:
        return f"{self.table} {self.id} ({self.why})"


class _Unreadable(ValueError):
    """A field of a row is not what the store writes; says which (``UnreadableRow.why``)."""


def _shown(value, limit: int = 40) -> str:
    """A value read from a damaged row, for a message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _time_field(value, name: str) -> str:
    """An ISO 8601 time with its offset, as the store writes them."""
    try:
        return _check_time(value)
    except StoreError:
        raise _Unreadable(f"its {name} is {_shown(value)}, not a time") from None


def _optional_time_field(value, name: str) -> str | None:
    return None if value is None else _time_field(value, name)


def _number_field(value, name: str) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _Unreadable(f"its {name} is {_shown(value)}, not a number")
    return value


def _json_field(value, name: str, kind: type):
    """A JSON column holding a ``kind`` (dict, list)."""
    try:
        parsed = json.loads(value)
    except (TypeError, ValueError, RecursionError):
        raise _Unreadable(f"its {name} is not JSON") from None
    if not isinstance(parsed, kind):
        raise _Unreadable(f"its {name} is not a JSON {'object' if kind is dict else 'list'}")
    return parsed


def _text_list(value, name: str) -> None:
    if value is not None and (
        not isinstance(value, list) or not all(isinstance(v, str) for v in value)
    ):
        raise _Unreadable(f"its result's {name} is not a list of words")


def _check_result(result: dict) -> dict:
    """A trial's result has the shape of ``Result.to_dict()`` where the report and the exports
    read it: metrics numbers (or null), quality an object, flags and warnings lists of words."""
    metrics = result.get("metrics")
    if metrics is not None:
        if not isinstance(metrics, dict):
            raise _Unreadable("its result's metrics are not a JSON object")
        for key, value in metrics.items():
            _number_field(value, f"metric {_shown(key, 30)}")
    quality = result.get("quality")
    if quality is not None:
        if not isinstance(quality, dict):
            raise _Unreadable("its result's quality is not a JSON object")
        _text_list(quality.get("sensor_faults"), "sensor faults")
        _text_list(quality.get("warnings"), "warnings")
    _text_list(result.get("flags"), "flags")
    _text_list(result.get("lower_bounds"), "lower bounds")
    for name, kind in (("events", list), ("sides", dict)):
        if result.get(name) is not None and not isinstance(result[name], kind):
            raise _Unreadable(f"its result's {name} are not what a result holds")
    return result


TRIAL_STATUSES = ("in_progress", "complete", "aborted", "incomplete")


@dataclass(frozen=True)
class Patient:
    code: str
    affected_side: str | None
    birth_year: int | None
    sex: str | None
    height_cm: float | None
    body_mass_kg: float | None
    created_at: str | None = None  # when she was added, by the device's clock


_ADD_EVENT = (
    "INSERT INTO device_event (at, at_utc, kind, message, session_id) VALUES (?, ?, ?, ?, ?)"
)

# A trial as the listings read it: the patient's code and the session's board beside it
_TRIAL_COLUMNS = (
    "SELECT trial.id, trial.session_id, patient.code, trial.exercise, trial.parameters, "
    "trial.started_at, trial.ended_at, trial.status, trial.score, trial.result, trial.note, "
    "trial.recording_bytes, session.board FROM trial JOIN patient ON patient.id = "
    "trial.patient_id JOIN session ON session.id = trial.session_id"
)


@dataclass(frozen=True)
class KeptRecording:
    """A trial's kept recording, for the exports: ``text`` is format v1 as kept; the rest is
    what the records know of its trial, for a recording kept without it in its header."""

    trial_id: int
    exercise: str
    board: str | None  # its session's: "hx711", "sim"; None: kept before schema 6
    text: str
    parameters: dict = field(default_factory=dict)  # the trial's settings, as prescribed
    started_at: str | None = None  # the trial's start (ISO 8601)
    result: dict | None = None  # the trial's result as kept (Result.to_dict())
    stance: dict | None = None  # its session's stance check (the feet's positions)
    clock_synchronised: bool | None = None  # its session's clock


@dataclass(frozen=True)
class TrialRecord:
    id: int
    session_id: int
    patient_code: str
    exercise: str
    parameters: dict
    started_at: str
    ended_at: str | None
    status: str
    score: float | None
    result: dict | None
    note: str | None
    has_recording: bool = False  # a raw recording is kept (``Store.recording`` reads it)
    board: str | None = None  # its session's: "hx711", "sim"; None: kept before schema 6

    @property
    def simulated(self) -> bool:
        """Made on the simulated board (not a measurement of a person)."""
        return self.board == "sim"


def counts_in_trends(board: str | None, measured_on_real_board: bool) -> bool:
    """Whether a session on ``board`` enters the trends, comparisons and progression of a
    patient who has (``measured_on_real_board``) or has not been measured on the real board.

    A patient measured on the real board: her real board's sessions and those kept before the
    board was recorded (None) count; a simulated one does not (it is kept, listed, marked). A
    patient never measured on it (a demo, a computer without the board): every session counts,
    the report says they are simulated.
    """
    return not (measured_on_real_board and board == "sim")


def _check_time(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise StoreError(f"{value!r} is not an ISO 8601 date-time") from None
    if parsed.utcoffset() is None:
        raise StoreError(f"{value!r} has no UTC offset")
    return value


def utc_instant(value: str) -> str:
    """The UTC instant of an ISO 8601 time with an offset, as fixed-width text that sorts in
    time order: "2026-10-25T02:10:00+01:00" → "2026-10-25T01:10:00.000000Z"."""
    parsed = datetime.fromisoformat(_check_time(value))
    return parsed.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _utc_for_sql(value):
    """``utc_instant`` for the migration's SQL: a time it cannot read (written by hand into
    the file) keeps its text rather than stop the records from opening."""
    try:
        return utc_instant(value)
    except (StoreError, TypeError, ValueError):
        return value


def _day_bounds(first_day: date | None, last_day: date | None) -> tuple[str | None, str | None]:
    """UTC instants that surely enclose every local time on the days from ``first_day`` to
    ``last_day`` (inclusive), whatever the offset. At the ends of the calendar (years 1 and
    9999), where the margin would leave it, a bound is None: nothing lies beyond them."""
    low = high = None
    if first_day is not None and first_day > date.min + timedelta(days=1):
        low = datetime.combine(first_day, time()) - _OFFSET_MARGIN
        low = low.isoformat(timespec="microseconds") + "Z"
    if last_day is not None and last_day < date.max - timedelta(days=1):
        high = datetime.combine(last_day + timedelta(days=1), time()) + _OFFSET_MARGIN
        high = high.isoformat(timespec="microseconds") + "Z"
    return low, high


def _local_day(iso: str) -> date:
    return datetime.fromisoformat(iso).date()


def _in_days(iso: str, first_day: date | None, last_day: date | None) -> bool:
    day = _local_day(iso)
    return (first_day is None or day >= first_day) and (last_day is None or day <= last_day)


PATIENT_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
PATIENT_CODE_RULE = (
    "a patient code is 1 to 32 letters, digits, '-' or '_', starting with a letter or a digit "
    "(pseudonymous: no names)"
)
_NOT_IN_FILE_NAMES = set('/\\:*?"<>|')


def check_patient_code(code) -> str:
    """A new patient's code, checked: it names files on a USB stick (``P-0001-trials.csv``) and
    goes into FHIR ids, so only ASCII letters, digits, '-' and '_', 1 to 32 of them, first a
    letter or a digit. StoreError with the rule otherwise."""
    if not isinstance(code, str) or PATIENT_CODE.fullmatch(code) is None:
        shown = code if isinstance(code, str) and len(code) <= 40 else f"{str(code)[:40]}…"
        raise StoreError(f"{PATIENT_CODE_RULE}; {shown!r} is not one")
    return code


def check_stored_code(code) -> str:
    """A code read back or asked for: the rule for new codes came after the first records, so
    an older code with, say, a space still works; but one that could name a file outside the
    export's folder (a separator, "..", a control character: a records file edited by hand) is
    refused. StoreError naming the code otherwise."""
    if not isinstance(code, str) or not code or len(code) > 32:
        raise StoreError(f"{PATIENT_CODE_RULE}; {str(code)[:40]!r} is not one")
    bad = (
        ".." in code
        or code[0] in ".-"
        or code != code.strip()
        or any(c in _NOT_IN_FILE_NAMES for c in code)
        or any(unicodedata.category(c)[0] == "C" for c in code)
    )
    if bad:
        raise StoreError(
            f"the patient code {code!r} cannot be used: it could name a file outside the "
            f"export's folder ({PATIENT_CODE_RULE})"
        )
    return code


SEXES = ("female", "male", "other")


def _check_patient(affected_side, birth_year, sex, height_cm, body_mass_kg) -> None:
    if affected_side not in (None, *SIDES):
        raise StoreError("affected side must be left, right or not given")
    if birth_year is not None and not 1900 <= birth_year <= 2100:
        raise StoreError("year of birth out of range")
    if sex not in (None, *SEXES):
        raise StoreError(f"sex must be one of {', '.join(SEXES)} or not given")
    for name, value, low, high in (
        ("height_cm", height_cm, 50, 250),
        ("body_mass_kg", body_mass_kg, 20, 300),
    ):
        if value is not None and not low <= value <= high:
            raise StoreError(f"{name} must be between {low} and {high}")


class Store:
    """One SQLite file of records; open it, use it, close it (or use ``with``).

    :param path: the records file (created when missing, unless ``read_only``; an older one is
        brought up to date, ``MIGRATIONS``).
    :param read_only: for commands that only read (listing, the report): nothing is changed,
        not even a trial left open by a process that died.
    :param look_only: read-only, and no file made beside it either (``balance-board doctor``,
        often run as another user than the app's: a ``-shm`` file of root's beside the records
        would lock the app out of them). While no process has the records open (no ``-shm``
        beside them) the file is read as it is (SQLite's ``immutable``: a write-ahead log left
        behind is not read); while the app has them open, through its shared memory.

    Any number of processes may use the file at once (WAL). A trial belongs to the process that
    began it (``owner``); a trial still "in progress" is declared interrupted only when that
    process is gone, so a command run while the app is mid-trial changes nothing of it.
    """

    def __init__(
        self, path: str | Path, *, read_only: bool = False, look_only: bool = False
    ) -> None:
        self.path = Path(path)
        read_only = read_only or look_only
        self.read_only = read_only
        self.owner = process_token()
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise StoreError(f"there is no records file {self.path}")
        try:
            if read_only:
                self._db = self._connect_to_read(look_only=look_only)
            else:
                self._db = self._connect(str(self.path))
            self._check_ours()
            if not read_only:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._migrate()  # foreign keys off: a table is rebuilt (SQLite's procedure)
                self._db.execute("PRAGMA foreign_keys=ON")
                self._mark_interrupted()
            elif self.schema_version < 0:
                raise damaged(self.path, f"its version number is {self.schema_version}")
            elif self.schema_version != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has records of another version (schema {self.schema_version}): "
                    "open it once with the app or a changing command to bring it up to date",
                    "newer" if self.schema_version > SCHEMA_VERSION else "outdated",
                )
            self._before_v5 = self._has_table(LEGACY_RECORDINGS)
        except sqlite3.Error as exc:
            with contextlib.suppress(Exception):
                self._db.close()
            raise file_trouble(self.path, exc) from None
        except StoreError:
            with contextlib.suppress(Exception):
                self._db.close()
            raise

    @staticmethod
    def _connect(target: str, *, uri: bool = False) -> sqlite3.Connection:
        db = sqlite3.connect(target, uri=uri, timeout=5.0, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.create_function("utc_instant", 1, _utc_for_sql, deterministic=True)
        db.execute("PRAGMA busy_timeout=5000")
        return db

    def _connect_to_read(self, *, look_only: bool = False) -> sqlite3.Connection:
        """A connection that cannot write, on any medium the file can be read from.

        A reader of a WAL file needs SQLite's shared memory beside it (``-shm``), which it
        makes when missing: on a full disk or a read-only one (an SD card the kernel remounted
        after errors) it cannot. Then, if the journal (``-wal``) holds nothing, the file is
        read as it is, ``immutable`` (no shared memory, no locks): the main file holds every
        record, and no program writes to it (a writer would have made the shared memory). If
        the journal holds changes, reading the main file alone would miss the latest trials
        (or find it damaged): refused, with what to do. An existing ``-shm`` is used as it is,
        read-only media included. ``look_only`` makes no shared memory either (``doctor``, maybe as
        root, must leave no file a service user could not open): without one, the file is read
        as it is, as on a read-only medium."""
        target = f"file:{self.path}?mode=ro"
        shared_memory = self.path.with_name(self.path.name + "-shm")
        if look_only and not shared_memory.exists():
            return self._read_as_it_is(target, "read-only")
        try:
            db = self._connect(target, uri=True)
        except sqlite3.Error as exc:
            raise file_trouble(self.path, exc) from None
        try:
            db.execute("PRAGMA application_id").fetchone()  # opens the journal's index
            return db
        except sqlite3.OperationalError as exc:
            db.close()
            trouble = file_trouble(self.path, exc)
            if trouble.kind not in ("disk-full", "read-only"):
                raise trouble from None
        return self._read_as_it_is(target, trouble.kind)

    def _read_as_it_is(self, target: str, kind: str) -> sqlite3.Connection:
        """The main file alone, ``immutable``, when its journal holds nothing (see
        ``_connect_to_read``)."""
        journal = self.path.with_name(self.path.name + "-wal")
        with contextlib.suppress(OSError):
            if journal.stat().st_size > 0:
                why = {"disk-full": "the disk is full", "read-only": "a read-only medium"}
                raise StoreError(
                    f"{self.path} cannot be read here ({why[kind]}): its latest changes "
                    f"are still in its journal ({journal.name}), which SQLite reads only with "
                    "room for a file beside it; copy the data folder to another disk and give "
                    "that with --data-dir",
                    kind,
                )
        return self._connect(target + "&immutable=1", uri=True)

    def _check_ours(self) -> None:
        """Refuse another program's SQLite file rather than add tables to it."""
        app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
        if app_id == APPLICATION_ID:
            return
        tables = {
            row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
        if not tables:
            return  # a new file: it becomes ours
        if app_id == 0 and {"patient", "session", "trial"} <= tables:
            return  # ours, from before the files were marked
        raise StoreError(
            f"{self.path} is not a balance-board records file (another program's)", "foreign"
        )

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def quick_check(self, max_problems: int = 5) -> list[str]:
        """SQLite's quick integrity check of the whole file (every page read, nothing written):
        [] when sound, else up to ``max_problems`` of its findings. Reads the file once: about
        the time it takes to copy it (``balance-board doctor``)."""
        try:
            rows = self._db.execute(f"PRAGMA quick_check({int(max_problems)})").fetchall()
        except sqlite3.DatabaseError as exc:  # so damaged that the check cannot run
            return [str(exc)]
        found = [str(row[0]) for row in rows]
        return [] if found == ["ok"] else found

    def _migrate(self) -> None:
        version = self.schema_version
        if version < 0:
            raise damaged(self.path, f"its version number is {version}")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer version (schema {version}); update the app",
                "newer",
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            # one transaction per step: a half-applied migration is never left behind
            self._db.executescript(
                f"BEGIN IMMEDIATE; {MIGRATIONS[target]}; PRAGMA user_version={target}; COMMIT;"
            )
        if self._db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")
        if (
            self._has_table(LEGACY_RECORDINGS)
            and not self._db.execute(
                f"SELECT 1 FROM {LEGACY_RECORDINGS} WHERE recording IS NOT NULL LIMIT 1"
            ).fetchone()
        ):
            with self._transaction():  # no recordings kept before schema 5: not needed
                self._db.execute(f"DROP TABLE {LEGACY_RECORDINGS}")

    def _has_table(self, name: str) -> bool:
        return (
            self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
            ).fetchone()
            is not None
        )

    @contextmanager
    def _transaction(self):
        """One transaction (BEGIN IMMEDIATE … COMMIT); inside ``batch`` a savepoint, so that
        a failed step undoes only itself."""
        db = self._db
        if db.in_transaction:
            db.execute("SAVEPOINT step")
            try:
                yield
            except BaseException:
                db.execute("ROLLBACK TO step")
                db.execute("RELEASE step")
                raise
            db.execute("RELEASE step")
            return
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:  # locked too long, read-only
            raise file_trouble(self.path, exc) from None
        try:
            yield
        except sqlite3.OperationalError as exc:  # the disk full mid-write, say: nothing kept
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise file_trouble(self.path, exc) from None
        except BaseException:
            db.execute("ROLLBACK")
            raise
        try:
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise file_trouble(self.path, exc) from None

    @contextmanager
    def batch(self):
        """Many writes as one commit (generating weeks of synthetic records, an import): each
        write otherwise commits and syncs on its own, which a live trial needs and a thousand
        writes in a row do not. Nothing of the batch is kept if it fails."""
        with self._transaction():
            yield self

    def _mark_interrupted(self) -> None:
        """Trials left "in progress" by a process that is gone (a crash, a power cut) were
        interrupted; those of a process still running are its own to finish."""
        rows = self._db.execute("SELECT id, owner FROM trial WHERE status = 'in_progress'")
        gone = [row["id"] for row in rows if not process_alive(row["owner"])]
        if not gone:
            return
        with self._transaction():
            self._db.executemany(
                "UPDATE trial SET status = 'incomplete', note = COALESCE(note, "
                "'interrupted: the device stopped during this trial') "
                "WHERE id = ? AND status = 'in_progress'",
                [(trial_id,) for trial_id in gone],
            )

    # --- patients ---------------------------------------------------------------------------
    @_records_trouble
    def add_patient(
        self,
        code: str,
        *,
        affected_side: str | None = None,
        birth_year: int | None = None,
        sex: str | None = None,
        height_cm: float | None = None,
        body_mass_kg: float | None = None,
        created_at: str = "1970-01-01T00:00:00+00:00",
    ) -> Patient:
        code = check_patient_code((code or "").strip() if isinstance(code, str) else code)
        _check_patient(affected_side, birth_year, sex, height_cm, body_mass_kg)
        try:
            with self._transaction():
                self._db.execute(
                    "INSERT INTO patient (code, affected_side, birth_year, sex, height_cm, "
                    "body_mass_kg, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        code,
                        affected_side,
                        birth_year,
                        sex,
                        height_cm,
                        body_mass_kg,
                        _check_time(created_at),
                    ),
                )
        except sqlite3.IntegrityError:
            raise StoreError(f"there is already a patient {code}") from None
        return self.patient(code)

    @_records_trouble
    def patient(self, code: str) -> Patient:
        check_stored_code(code)
        row = self._db.execute("SELECT * FROM patient WHERE code = ?", (code,)).fetchone()
        if row is None:
            raise StoreError(f"no patient {code} on this device")
        return self._patient(row)

    @_records_trouble
    def set_affected_side(self, code: str, side: str | None) -> None:
        if side is not None and side not in SIDES:
            raise StoreError(f"affected side must be left or right, not {side!r}")
        with self._transaction():
            self._db.execute(
                "UPDATE patient SET affected_side = ? WHERE id = ?", (side, self._patient_id(code))
            )

    @_records_trouble
    def patients(self) -> list[Patient]:
        """Every patient, by code; a code that cannot be used (``check_stored_code``) is still
        listed, so that it can be seen and put right."""
        rows = self._db.execute("SELECT * FROM patient ORDER BY code")
        return [self._patient(row) for row in rows]

    # --- sessions and trials ----------------------------------------------------------------
    @_records_trouble
    def start_session(
        self,
        patient_code: str,
        started_at: str,
        *,
        board: str,
        clock_synchronised: bool | None = None,
    ) -> int:
        """A new session of the patient's, made on ``board`` ("hx711": the real board; "sim":
        the simulated one). The board has no default: a session that does not say which board
        made it could put a simulation into a real patient's trends."""
        if board not in BOARDS:
            raise StoreError(f"the board must be one of {', '.join(BOARDS)}, not {board!r}")
        patient_id = self._patient_id(patient_code)
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO session (patient_id, started_at, started_utc, clock_synchronised, "
                "board) VALUES (?, ?, ?, ?, ?)",
                (
                    patient_id,
                    _check_time(started_at),
                    utc_instant(started_at),
                    None if clock_synchronised is None else int(clock_synchronised),
                    board,
                ),
            )
        return cursor.lastrowid

    @_records_trouble
    def measured_on_real_board(self, patient_code: str) -> bool:
        """Whether the patient has a session on the real board: then a session on the simulated
        board is no part of her trends (``counts_in_trends``). One index lookup."""
        return self._on_real_board(self._patient_id(patient_code))

    def _on_real_board(self, patient_id: int) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM session WHERE patient_id = ? AND board = 'hx711' LIMIT 1",
            (patient_id,),
        ).fetchone()
        return row is not None

    @_records_trouble
    def end_session(self, session_id: int, ended_at: str) -> None:
        with self._transaction():
            self._db.execute(
                "UPDATE session SET ended_at = ? WHERE id = ?", (_check_time(ended_at), session_id)
            )

    @_records_trouble
    def begin_trial(self, session_id: int, exercise: str, parameters: dict, started_at: str) -> int:
        with self._transaction():
            row = self._db.execute(
                "SELECT patient_id FROM session WHERE id = ?", (session_id,)
            ).fetchone()
            if row is None:
                raise StoreError(f"there is no session {session_id}")
            cursor = self._db.execute(
                "INSERT INTO trial (session_id, patient_id, exercise, parameters, started_at, "
                "started_utc, status, owner) VALUES (?, ?, ?, ?, ?, ?, 'in_progress', ?)",
                (
                    session_id,
                    row[0],
                    exercise,
                    json.dumps(parameters),
                    _check_time(started_at),
                    utc_instant(started_at),
                    self.owner,
                ),
            )
        return cursor.lastrowid

    @_records_trouble
    def finish_trial(
        self, trial_id: int, result: dict, recording: Recording | None, ended_at: str
    ) -> None:
        """Keep the trial's result and raw recording: one commit, the trial is then safe."""
        blob = None if recording is None else compress_recording(recording)
        with self._transaction():
            cursor = self._db.execute(
                "UPDATE trial SET status = 'complete', ended_at = ?, score = ?, result = ? "
                "WHERE id = ? AND (status = 'in_progress' OR "
                "(status = 'incomplete' AND owner = ?))",
                (
                    _check_time(ended_at),
                    result.get("score"),
                    json.dumps(result, allow_nan=False),
                    trial_id,
                    self.owner,
                ),
            )
            if cursor.rowcount != 1:  # never lose a completed trial without a word
                raise StoreError(f"trial {trial_id} is not open for this device any more")
            self._keep_recording(trial_id, blob)

    @_records_trouble
    def set_note(self, trial_id: int, note: str) -> None:
        with self._transaction():
            self._db.execute("UPDATE trial SET note = ? WHERE id = ?", (note, trial_id))

    @_records_trouble
    def set_recording(self, trial_id: int, recording: Recording | bytes) -> None:
        """Attach a raw recording to a trial that was kept without one: a Recording, or one
        already made into what is kept (``compress_recording``; for one recording kept many
        times over, as synthetic history does)."""
        blob = recording if isinstance(recording, bytes) else compress_recording(recording)
        with self._transaction():
            self._keep_recording(trial_id, blob)

    def _keep_recording(self, trial_id: int, blob: bytes | None) -> None:
        """Inside a transaction: the recording's blob in its table, its size on the trial (and
        one kept before schema 5 for the same trial let go)."""
        if self._before_v5:
            self._db.execute(f"DELETE FROM {LEGACY_RECORDINGS} WHERE id = ?", (trial_id,))
        if blob is None:
            self._db.execute("DELETE FROM recording WHERE trial_id = ?", (trial_id,))
        else:
            self._db.execute(
                "INSERT OR REPLACE INTO recording (trial_id, data) VALUES (?, ?)", (trial_id, blob)
            )
        self._db.execute(
            "UPDATE trial SET recording_bytes = ? WHERE id = ?",
            (None if blob is None else len(blob), trial_id),
        )

    @_records_trouble
    def abort_trial(self, trial_id: int, reason: str, ended_at: str) -> None:
        """A trial stopped early (a safety stop, a sensor fault): kept, marked, not scored."""
        with self._transaction():
            self._db.execute(
                "UPDATE trial SET status = 'aborted', ended_at = ?, note = ? WHERE id = ?",
                (_check_time(ended_at), reason, trial_id),
            )

    @_records_trouble
    def trials(
        self,
        patient_code: str,
        exercise: str | None = None,
        *,
        status: str | None = "complete",
        first_day: date | None = None,
        last_day: date | None = None,
        recent_sessions: int | None = None,
        every_board: bool = False,
        unreadable: list[UnreadableRow] | None = None,
    ) -> list[TrialRecord]:
        """A patient's trials, oldest first (in the order they were begun), without their
        recordings.

        :param exercise: only this exercise's; None: all.
        :param status: only trials in this state ("complete", "aborted", "incomplete",
            "in_progress"); None: all.
        :param first_day, last_day: only trials begun on these days, inclusive, by the
            patient's own date (the day her clock showed); None: no bound.
        :param recent_sessions: only the trials of her latest this many sessions (the
            end-of-session checks: what they cost stays the same after years of records).
        :param every_board: every trial, whatever board made it (exports, the report's table,
            each trial marked with its ``board``). False, for what judges her (trends, "against
            last time", progression): a patient measured on the real board gets none of the
            simulated board's (``counts_in_trends``).
        :param unreadable: where a trial whose row cannot be read (a damaged page, an edit by
            hand) is noted and left out, for a report that says which; None: such a trial is a
            StoreError of kind "damaged" naming it (an export must be whole or not be).
        """
        return list(
            self.iter_trials(
                patient_code,
                exercise,
                status=status,
                first_day=first_day,
                last_day=last_day,
                recent_sessions=recent_sessions,
                every_board=every_board,
                unreadable=unreadable,
            )
        )

    @_records_trouble
    def iter_trials(
        self,
        patient_code: str,
        exercise: str | None = None,
        *,
        status: str | None = "complete",
        first_day: date | None = None,
        last_day: date | None = None,
        recent_sessions: int | None = None,
        every_board: bool = False,
        unreadable: list[UnreadableRow] | None = None,
    ) -> Iterator[TrialRecord]:
        """``trials``, one at a time (exports of years of records hold one trial in memory)."""
        query = _TRIAL_COLUMNS + " WHERE trial.patient_id = ?"
        patient_id = self._patient_id(patient_code)
        args: list = [patient_id]
        stray = "" if every_board else self._stray_simulated_sql(patient_id)
        if recent_sessions is not None:
            # from her latest sessions, through the trials' session index: the same few rows
            # whatever the years before them
            query = query.replace(
                "WHERE trial.patient_id = ?",
                f"WHERE trial.session_id IN (SELECT id FROM session WHERE patient_id = ?{stray} "
                "ORDER BY id DESC LIMIT ?)",
            )
            args.append(int(recent_sessions))
        elif stray:
            query += stray
        if exercise is not None:
            query += " AND trial.exercise = ?"
            args.append(exercise)
        if status is not None:
            query += " AND trial.status = ?"
            args.append(status)
        low, high = _day_bounds(first_day, last_day)
        if low is not None:
            query += " AND trial.started_utc >= ?"
            args.append(low)
        if high is not None:
            query += " AND trial.started_utc < ?"
            args.append(high)
        for row in self._db.execute(query + " ORDER BY trial.id", args):
            try:
                trial = _trial_record(row)
            except _Unreadable as exc:
                if unreadable is None:
                    raise damaged(self.path, f"trial {row['id']} cannot be read: {exc}") from None
                unreadable.append(UnreadableRow("trial", row["id"], str(exc)))
                continue
            if _in_days(trial.started_at, first_day, last_day):
                yield trial

    @_records_trouble
    def last_trial(self, patient_code: str, exercise: str) -> TrialRecord | None:
        """The trial of this exercise she did last (by the order of the records, whatever the
        clock said), of those that count for her (``counts_in_trends``)."""
        patient_id = self._patient_id(patient_code)
        stray = self._stray_simulated_sql(patient_id)
        row = self._db.execute(
            _TRIAL_COLUMNS + " WHERE trial.patient_id = ? AND trial.exercise = ? AND "
            f"trial.status = 'complete'{stray} ORDER BY trial.id DESC LIMIT 1",
            (patient_id, exercise),
        ).fetchone()
        if row is None:
            return None
        try:
            return _trial_record(row)
        except _Unreadable as exc:
            raise damaged(self.path, f"trial {row['id']} cannot be read: {exc}") from None

    def _stray_simulated_sql(self, patient_id: int) -> str:
        """The condition that leaves out the simulated board's sessions of a patient measured
        on the real board (``counts_in_trends``), on the session's ``board`` (the only column
        of that name: it reads the same in a query on sessions or on trials joined to them);
        "" when all count."""
        if not self._on_real_board(patient_id):
            return ""
        return " AND board IS NOT 'sim'"  # NULL (kept before boards were recorded) counts

    @_records_trouble
    def recording(self, trial_id: int) -> Recording | None:
        """A trial's raw recording, parsed; None when none was kept."""
        text = self.recording_text(trial_id)
        if text is None:
            return None
        try:
            return parse_recording(text, f"trial {trial_id}")
        except RecordingError as exc:  # kept whole by the store: damaged since
            raise damaged(self.path, f"the recording of trial {trial_id}: {exc}") from None

    @_records_trouble
    def recording_text(self, trial_id: int) -> str | None:
        """A trial's raw recording as format-v1 text, as kept (no parsing: exports copy it)."""
        row = self._db.execute(
            "SELECT data FROM recording WHERE trial_id = ?", (trial_id,)
        ).fetchone()
        if row is None and self._before_v5:
            row = self._db.execute(
                f"SELECT recording FROM {LEGACY_RECORDINGS} WHERE id = ? AND recording IS NOT NULL",
                (trial_id,),
            ).fetchone()
        if row is None:
            return None
        try:
            return zlib.decompress(row[0]).decode("utf-8")
        except (zlib.error, TypeError, UnicodeDecodeError):
            raise damaged(self.path, f"the recording of trial {trial_id} cannot be read") from None

    @_records_trouble
    def recording_texts(self, patient_code: str) -> Iterator[KeptRecording]:
        """Each kept recording of the patient's (``KeptRecording``: its trial, exercise, board,
        format-v1 text, and what the records know of its trial: settings, start, result, the
        session's stance check and clock), whatever board made it, oldest first, one at a time:
        an export of years of recordings holds one in memory, and reads each once."""
        patient_id = self._patient_id(patient_code)
        ids = self._db.execute(
            "SELECT id FROM trial WHERE patient_id = ? AND recording_bytes IS NOT NULL ORDER BY id",
            (patient_id,),
        ).fetchall()
        for (trial_id,) in ids:  # each trial's row read with its recording: memory stays flat
            row = self._db.execute(
                "SELECT trial.exercise, session.board, trial.parameters, trial.started_at, "
                "trial.result, session.stance, session.clock_synchronised FROM trial JOIN "
                "session ON session.id = trial.session_id WHERE trial.id = ?",
                (trial_id,),
            ).fetchone()
            text = self.recording_text(trial_id)
            if row is not None and text is not None:
                exercise, board, parameters, started_at, result, stance, clock = row
                yield KeptRecording(
                    trial_id,
                    exercise,
                    board,
                    text,
                    parameters=json.loads(parameters) if parameters else {},
                    started_at=started_at,
                    result=json.loads(result) if result else None,
                    stance=json.loads(stance) if stance else None,
                    clock_synchronised=None if clock is None else bool(clock),
                )

    # --- programs ----------------------------------------------------------------------------
    @_records_trouble
    def save_program(self, code: str, text: str, saved_at: str, source: str) -> int:
        """Keep a version of the patient's program (every version stays: the report compares what
        was done with what was prescribed at the time). The version remembers the newest trial
        before it: the trials after that one were done under it, whatever the clock said."""
        patient_id = self._patient_id(code)
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO program (patient_id, saved_at, source, text, after_trial_id) "
                "VALUES (?, ?, ?, ?, (SELECT max(id) FROM trial WHERE patient_id = ?))",
                (patient_id, _check_time(saved_at), source, text, patient_id),
            )
        return cursor.lastrowid

    @_records_trouble
    def programs(self, code: str) -> list[dict]:
        """The patient's program versions, oldest first (in the order they were saved, whatever
        the clock said): {id, saved_at, source, text, after_trial_id}; ``after_trial_id`` is
        the newest trial before the version (None: none)."""
        rows = self._db.execute(
            "SELECT id, saved_at, source, text, after_trial_id FROM program "
            "WHERE patient_id = ? ORDER BY id",
            (self._patient_id(code),),
        )
        versions = []
        for row in rows:
            try:
                _time_field(row["saved_at"], "time saved")
                if not isinstance(row["text"], str):
                    raise _Unreadable("its text is not text")
                if row["after_trial_id"] is not None and not isinstance(row["after_trial_id"], int):
                    raise _Unreadable(f"its trial before is {_shown(row['after_trial_id'])}")
            except _Unreadable as exc:
                raise damaged(
                    self.path, f"program version {row['id']} cannot be read: {exc}"
                ) from None
            versions.append(dict(row))
        return versions

    @_records_trouble
    def sessions(
        self,
        code: str,
        *,
        first_day: date | None = None,
        last_day: date | None = None,
        every_board: bool = False,
        unreadable: list[UnreadableRow] | None = None,
    ) -> list[dict]:
        """The patient's sessions, oldest first (in the order they began), on the days from
        ``first_day`` to ``last_day`` when given: {id, started_at, ended_at, body_mass_kg,
        stance, board} (board None: kept before schema 6). Those that count for her
        (``counts_in_trends``), or with ``every_board`` all of them. A session whose row cannot
        be read goes into ``unreadable`` and is left out, or without it is a StoreError of kind
        "damaged" naming it (as ``trials``)."""
        query = (
            "SELECT id, started_at, ended_at, body_mass_kg, stance, board FROM session "
            "WHERE patient_id = ?"
        )
        patient_id = self._patient_id(code)
        if not every_board:
            query += self._stray_simulated_sql(patient_id)
        args: list = [patient_id]
        low, high = _day_bounds(first_day, last_day)
        if low is not None:
            query += " AND started_utc >= ?"
            args.append(low)
        if high is not None:
            query += " AND started_utc < ?"
            args.append(high)
        out = []
        for row in self._db.execute(query + " ORDER BY id", args):
            try:
                item = _session_record(row)
            except _Unreadable as exc:
                if unreadable is None:
                    raise damaged(self.path, f"session {row['id']} cannot be read: {exc}") from None
                unreadable.append(UnreadableRow("session", row["id"], str(exc)))
                continue
            if _in_days(item["started_at"], first_day, last_day):
                out.append(item)
        return out

    @_records_trouble
    def first_session_day(self, code: str) -> date | None:
        """The day (her clock's) of the patient's earliest session that counts for her
        (``counts_in_trends``): when she began; None before her first. The earliest by the
        clock, not the first kept: a first session on a clock that stood ahead would otherwise
        move her beginning months on."""
        return self._session_day(code, "ORDER BY started_utc", None)

    @_records_trouble
    def latest_session_day(self, code: str, *, not_after: date | None = None) -> date | None:
        """The day (her clock's) of the patient's latest session that counts for her, of those
        not after ``not_after`` when given (a session on a clock that stood ahead is later than
        any real one); None when there is none."""
        return self._session_day(code, "ORDER BY started_utc DESC", not_after)

    def _session_day(self, code: str, order: str, not_after: date | None) -> date | None:
        patient_id = self._patient_id(code)
        stray = self._stray_simulated_sql(patient_id)
        query = f"SELECT started_at FROM session WHERE patient_id = ?{stray}"
        args: list = [patient_id]
        _, high = _day_bounds(None, not_after)
        if high is not None:
            query += " AND started_utc < ?"
            args.append(high)
        for (started_at,) in self._db.execute(f"{query} {order}", args):
            try:
                day = _local_day(_check_time(started_at))
            except StoreError:
                continue  # a damaged session: the report names it (``sessions``)
            if not_after is None or day <= not_after:
                return day
        return None

    @_records_trouble
    def set_session_measures(
        self, session_id: int, *, body_mass_kg: float | None = None, stance: dict | None = None
    ) -> None:
        """What the session measured at its start: the weight on the board, the feet."""
        if body_mass_kg is not None and not 20 <= body_mass_kg <= 300:
            raise StoreError("a weighed body mass must be between 20 and 300 kg")
        with self._transaction():
            if body_mass_kg is not None:
                self._db.execute(
                    "UPDATE session SET body_mass_kg = ? WHERE id = ?", (body_mass_kg, session_id)
                )
            if stance is not None:
                self._db.execute(
                    "UPDATE session SET stance = ? WHERE id = ?",
                    (json.dumps(stance, allow_nan=False), session_id),
                )

    @_records_trouble
    def update_patient(self, code: str, **fields) -> Patient:
        """Change a patient's details (affected_side, birth_year, sex, height_cm, body_mass_kg)."""
        current = self.patient(code)
        allowed = {"affected_side", "birth_year", "sex", "height_cm", "body_mass_kg"}
        unknown = set(fields) - allowed
        if unknown:
            raise StoreError(f"unknown patient field {sorted(unknown)[0]!r}")
        merged = {k: getattr(current, k) for k in allowed} | fields
        _check_patient(**merged)
        with self._transaction():
            self._db.execute(
                "UPDATE patient SET affected_side = ?, birth_year = ?, sex = ?, height_cm = ?, "
                "body_mass_kg = ? WHERE id = ?",
                (
                    merged["affected_side"],
                    merged["birth_year"],
                    merged["sex"],
                    merged["height_cm"],
                    merged["body_mass_kg"],
                    self._patient_id(code),
                ),
            )
        return self.patient(code)

    # --- device events -------------------------------------------------------------------------
    @_records_trouble
    def log_event(self, kind: str, message: str, at: str, session_id: int | None = None) -> None:
        """A device event, kept. A Store opened ``read_only`` (a reading command that leaves a
        trace: an export) writes it through a short connection of its own that adds this one
        row and changes nothing else of the file (no trial declared interrupted, no update);
        a StoreError of the file's trouble when it cannot (a read-only or full medium, a lock
        held too long): the caller says whether the trace is needed."""
        row = (_check_time(at), utc_instant(at), kind, message, session_id)
        if self.read_only:
            self._add_event_apart(row)
            return
        with self._transaction():
            self._db.execute(_ADD_EVENT, row)

    def _add_event_apart(self, row: tuple) -> None:
        writer = None
        try:
            writer = self._connect(str(self.path))
            writer.execute("PRAGMA synchronous=FULL")
            writer.execute("BEGIN IMMEDIATE")
            writer.execute(_ADD_EVENT, row)
            writer.execute("COMMIT")
        except sqlite3.Error as exc:
            raise file_trouble(self.path, exc) from None
        finally:
            if writer is not None:
                writer.close()  # an unfinished transaction is rolled back

    @_records_trouble
    def events(
        self,
        kind: str | None = None,
        *,
        first_day: date | None = None,
        last_day: date | None = None,
    ) -> list[dict]:
        """Device events, oldest first (in the order they happened), of one kind and on the
        days from ``first_day`` to ``last_day`` when given: {id, at, kind, message,
        session_id, at_utc}."""
        query, args = "SELECT * FROM device_event WHERE 1", []
        if kind is not None:
            query += " AND kind = ?"
            args.append(kind)
        low, high = _day_bounds(first_day, last_day)
        if low is not None:
            query += " AND at_utc >= ?"
            args.append(low)
        if high is not None:
            query += " AND at_utc < ?"
            args.append(high)
        rows = []
        for row in self._db.execute(query + " ORDER BY id", args):
            try:
                _time_field(row["at"], "time")
                for name in ("kind", "message"):
                    if not isinstance(row[name], str):
                        raise _Unreadable(f"its {name} is {_shown(row[name])}, not text")
            except _Unreadable as exc:
                raise damaged(
                    self.path, f"device event {row['id']} cannot be read: {exc}"
                ) from None
            if _in_days(row["at"], first_day, last_day):
                rows.append(dict(row))
        return rows

    # --- internals ---------------------------------------------------------------------------
    def _patient_id(self, code: str) -> int:
        check_stored_code(code)
        row = self._db.execute("SELECT id FROM patient WHERE code = ?", (code,)).fetchone()
        if row is None:
            raise StoreError(f"no patient {code} on this device")
        return row[0]

    def _patient(self, row) -> Patient:
        try:
            return _patient_record(row)
        except _Unreadable as exc:
            raise damaged(
                self.path, f"patient {_shown(row['code'], 40)}'s record cannot be read: {exc}"
            ) from None


def _patient_record(row) -> Patient:
    """A patient row as a Patient; _Unreadable naming a field the store never writes so."""
    if not isinstance(row["code"], str):
        raise _Unreadable(f"its code is {_shown(row['code'])}")
    if row["affected_side"] not in (None, *SIDES):
        raise _Unreadable(f"its affected side is {_shown(row['affected_side'])}")
    if row["birth_year"] is not None and (
        isinstance(row["birth_year"], bool) or not isinstance(row["birth_year"], int)
    ):
        raise _Unreadable(f"its year of birth is {_shown(row['birth_year'])}")
    if row["sex"] is not None and not isinstance(row["sex"], str):
        raise _Unreadable(f"its sex is {_shown(row['sex'])}")
    return Patient(
        row["code"],
        row["affected_side"],
        row["birth_year"],
        row["sex"],
        _number_field(row["height_cm"], "height"),
        _number_field(row["body_mass_kg"], "body mass"),
        _created_at(row["created_at"]),
    )


def _created_at(value) -> str | None:
    """When a patient was added; None when it cannot be read (it only tells the report where
    her adherence may start: not worth refusing her records for)."""
    try:
        return _check_time(value)
    except StoreError:
        return None


def _trial_record(row) -> TrialRecord:
    """A trial row as a TrialRecord; _Unreadable naming a field that is not what the store
    writes (not JSON, not a time, a score that is not a number): a damaged page or an edit."""
    for name in ("code", "exercise"):
        if not isinstance(row[name], str):
            raise _Unreadable(f"its {name} is {_shown(row[name])}, not text")
    if row["status"] not in TRIAL_STATUSES:
        raise _Unreadable(f"its status is {_shown(row['status'])}")
    if row["note"] is not None and not isinstance(row["note"], str):
        raise _Unreadable(f"its note is {_shown(row['note'])}, not text")
    result = None
    if row["result"]:
        result = _check_result(_json_field(row["result"], "result", dict))
    return TrialRecord(
        id=row["id"],
        session_id=row["session_id"],
        patient_code=row["code"],
        exercise=row["exercise"],
        parameters=_json_field(row["parameters"], "parameters", dict),
        started_at=_time_field(row["started_at"], "start"),
        ended_at=_optional_time_field(row["ended_at"], "end"),
        status=row["status"],
        score=_number_field(row["score"], "score"),
        result=result,
        note=row["note"],
        has_recording=row["recording_bytes"] is not None,
        board=row["board"],
    )


def _session_record(row) -> dict:
    """A session row as the dict ``Store.sessions`` gives; _Unreadable as ``_trial_record``."""
    item = dict(row)
    _time_field(item["started_at"], "start")
    _optional_time_field(item["ended_at"], "end")
    _number_field(item["body_mass_kg"], "body mass")
    item["stance"] = _json_field(item["stance"], "stance", dict) if item["stance"] else None
    return item
