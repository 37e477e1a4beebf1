"""The device's records: patients, sessions, trials and device events, in one SQLite file.

Seventh stage of the flow (... → result → **record** → report). Every connection runs with WAL,
synchronous=FULL, foreign keys and a busy timeout (../shared/notes/pi-kiosk.md, "Storage"). Each
trial is committed on its own when it ends, so a crash or power cut loses at most the trial in
progress; a trial still "in progress" when the store is next opened is marked "incomplete".
A trial keeps its result as JSON and its raw recording (format v1) as a zlib-compressed blob,
not a row per sample.

Times are ISO 8601 strings with their UTC offset, given by the caller (no clock in here).

Example::

    store = Store(data_dir / "balance-board.sqlite3")
    store.add_patient("P-0001", affected_side="left")
    session = store.start_session("P-0001", "2026-11-23T10:00:00+01:00", clock_synchronised=True)
    trial = store.begin_trial(session, "flamingo", {"leg": "left"}, "2026-11-23T10:01:00+01:00")
    store.finish_trial(trial, result.to_dict(), recording, "2026-11-23T10:01:40+01:00")
"""

from __future__ import annotations

import json
import os
import sqlite3
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from device.recording import Recording, parse_recording, recording_text

SCHEMA_VERSION = 4
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
}


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


class StoreError(Exception):
    """The records cannot be used (a damaged or foreign file, a bad value); says why."""


@dataclass(frozen=True)
class Patient:
    code: str
    affected_side: str | None
    birth_year: int | None
    sex: str | None
    height_cm: float | None
    body_mass_kg: float | None


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


def _check_time(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise StoreError(f"{value!r} is not an ISO 8601 date-time") from None
    if parsed.utcoffset() is None:
        raise StoreError(f"{value!r} has no UTC offset")
    return value


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

    :param path: the records file (created when missing, unless ``read_only``).
    :param read_only: for commands that only read (listing, the report): nothing is changed,
        not even a trial left open by a process that died.

    Any number of processes may use the file at once (WAL). A trial belongs to the process that
    began it (``owner``); a trial still "in progress" is declared interrupted only when that
    process is gone, so a command run while the app is mid-trial changes nothing of it.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.owner = process_token()
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise StoreError(f"there is no records file {self.path}")
        try:
            if read_only:
                uri = f"file:{self.path}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, timeout=5.0, isolation_level=None)
            else:
                self._db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA busy_timeout=5000")
            self._check_ours()
            if not read_only:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute("PRAGMA foreign_keys=ON")
                self._migrate()
                self._mark_interrupted()
            elif self.schema_version != SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has records of another version (schema {self.schema_version}): "
                    "open it once with the app or a changing command to bring it up to date"
                )
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} cannot be used as the records file ({exc})") from None

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
        raise StoreError(f"{self.path} is not a balance-board records file (another program's)")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        version = self.schema_version
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer version (schema {version}); update the app"
            )
        for target in range(version + 1, SCHEMA_VERSION + 1):
            # one transaction per step: a half-applied migration is never left behind
            self._db.executescript(
                f"BEGIN IMMEDIATE; {MIGRATIONS[target]}; PRAGMA user_version={target}; COMMIT;"
            )
        if self._db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            self._db.execute(f"PRAGMA application_id={APPLICATION_ID}")

    def _transaction(self):
        db = self._db

        class _Tx:
            def __enter__(self):
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self, kind, *rest):
                db.execute("ROLLBACK" if kind else "COMMIT")

        return _Tx()

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
        code = (code or "").strip()
        if not code or len(code) > 32:
            raise StoreError("a patient code is 1 to 32 characters (pseudonymous, no names)")
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

    def patient(self, code: str) -> Patient:
        row = self._db.execute("SELECT * FROM patient WHERE code = ?", (code,)).fetchone()
        if row is None:
            raise StoreError(f"no patient {code} on this device")
        return Patient(
            row["code"],
            row["affected_side"],
            row["birth_year"],
            row["sex"],
            row["height_cm"],
            row["body_mass_kg"],
        )

    def set_affected_side(self, code: str, side: str | None) -> None:
        if side is not None and side not in SIDES:
            raise StoreError(f"affected side must be left or right, not {side!r}")
        with self._transaction():
            self._db.execute(
                "UPDATE patient SET affected_side = ? WHERE id = ?", (side, self._patient_id(code))
            )

    def patients(self) -> list[Patient]:
        codes = [r[0] for r in self._db.execute("SELECT code FROM patient ORDER BY code")]
        return [self.patient(code) for code in codes]

    # --- sessions and trials ----------------------------------------------------------------
    def start_session(
        self, patient_code: str, started_at: str, *, clock_synchronised: bool | None = None
    ) -> int:
        patient_id = self._patient_id(patient_code)
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO session (patient_id, started_at, clock_synchronised) VALUES (?, ?, ?)",
                (
                    patient_id,
                    _check_time(started_at),
                    None if clock_synchronised is None else int(clock_synchronised),
                ),
            )
        return cursor.lastrowid

    def end_session(self, session_id: int, ended_at: str) -> None:
        with self._transaction():
            self._db.execute(
                "UPDATE session SET ended_at = ? WHERE id = ?", (_check_time(ended_at), session_id)
            )

    def begin_trial(self, session_id: int, exercise: str, parameters: dict, started_at: str) -> int:
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO trial (session_id, exercise, parameters, started_at, status, owner) "
                "VALUES (?, ?, ?, ?, 'in_progress', ?)",
                (
                    session_id,
                    exercise,
                    json.dumps(parameters),
                    _check_time(started_at),
                    self.owner,
                ),
            )
        return cursor.lastrowid

    def finish_trial(
        self, trial_id: int, result: dict, recording: Recording | None, ended_at: str
    ) -> None:
        """Keep the trial's result and raw recording: one commit, the trial is then safe."""
        blob = None
        if recording is not None:
            blob = zlib.compress(recording_text(recording).encode("utf-8"), 6)
        with self._transaction():
            cursor = self._db.execute(
                "UPDATE trial SET status = 'complete', ended_at = ?, score = ?, result = ?, "
                "recording = ? WHERE id = ? AND (status = 'in_progress' OR "
                "(status = 'incomplete' AND owner = ?))",
                (
                    _check_time(ended_at),
                    result.get("score"),
                    json.dumps(result, allow_nan=False),
                    blob,
                    trial_id,
                    self.owner,
                ),
            )
        if cursor.rowcount != 1:  # never lose a completed trial without a word
            raise StoreError(f"trial {trial_id} is not open for this device any more")

    def set_note(self, trial_id: int, note: str) -> None:
        with self._transaction():
            self._db.execute("UPDATE trial SET note = ? WHERE id = ?", (note, trial_id))

    def set_recording(self, trial_id: int, recording: Recording) -> None:
        """Attach a raw recording to a trial that was kept without one."""
        blob = zlib.compress(recording_text(recording).encode("utf-8"), 6)
        with self._transaction():
            self._db.execute("UPDATE trial SET recording = ? WHERE id = ?", (blob, trial_id))

    def abort_trial(self, trial_id: int, reason: str, ended_at: str) -> None:
        """A trial stopped early (a safety stop, a sensor fault): kept, marked, not scored."""
        with self._transaction():
            self._db.execute(
                "UPDATE trial SET status = 'aborted', ended_at = ?, note = ? WHERE id = ?",
                (_check_time(ended_at), reason, trial_id),
            )

    def trials(
        self, patient_code: str, exercise: str | None = None, *, status: str | None = "complete"
    ) -> list[TrialRecord]:
        """A patient's trials, oldest first."""
        query = (
            "SELECT trial.*, patient.code FROM trial JOIN session ON session.id = "
            "trial.session_id JOIN patient ON patient.id = session.patient_id "
            "WHERE patient.code = ?"
        )
        args: list = [patient_code]
        if exercise is not None:
            query += " AND trial.exercise = ?"
            args.append(exercise)
        if status is not None:
            query += " AND trial.status = ?"
            args.append(status)
        rows = self._db.execute(query + " ORDER BY trial.started_at, trial.id", args)
        return [self._trial(row) for row in rows]

    def last_trial(self, patient_code: str, exercise: str) -> TrialRecord | None:
        trials = self.trials(patient_code, exercise)
        return trials[-1] if trials else None

    def recording(self, trial_id: int) -> Recording | None:
        row = self._db.execute("SELECT recording FROM trial WHERE id = ?", (trial_id,)).fetchone()
        if row is None or row[0] is None:
            return None
        text = zlib.decompress(row[0]).decode("utf-8")
        return parse_recording(text, f"trial {trial_id}")

    # --- programs ----------------------------------------------------------------------------
    def save_program(self, code: str, text: str, saved_at: str, source: str) -> int:
        """Keep a version of the patient's program (every version stays: the report compares what
        was done with what was prescribed at the time)."""
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO program (patient_id, saved_at, source, text) VALUES (?, ?, ?, ?)",
                (self._patient_id(code), _check_time(saved_at), source, text),
            )
        return cursor.lastrowid

    def programs(self, code: str) -> list[dict]:
        """The patient's program versions, oldest first: {saved_at, source, text}."""
        rows = self._db.execute(
            "SELECT saved_at, source, text FROM program WHERE patient_id = ? ORDER BY saved_at, id",
            (self._patient_id(code),),
        )
        return [dict(row) for row in rows]

    def sessions(self, code: str) -> list[dict]:
        """The patient's sessions, oldest first: {id, started_at, ended_at, body_mass_kg,
        stance}."""
        rows = self._db.execute(
            "SELECT id, started_at, ended_at, body_mass_kg, stance FROM session "
            "WHERE patient_id = ? ORDER BY started_at, id",
            (self._patient_id(code),),
        )
        out = []
        for row in rows:
            item = dict(row)
            item["stance"] = json.loads(item["stance"]) if item["stance"] else None
            out.append(item)
        return out

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
    def log_event(self, kind: str, message: str, at: str, session_id: int | None = None) -> None:
        with self._transaction():
            self._db.execute(
                "INSERT INTO device_event (at, kind, message, session_id) VALUES (?, ?, ?, ?)",
                (_check_time(at), kind, message, session_id),
            )

    def events(self, kind: str | None = None) -> list[dict]:
        query, args = "SELECT * FROM device_event", []
        if kind is not None:
            query += " WHERE kind = ?"
            args.append(kind)
        return [dict(row) for row in self._db.execute(query + " ORDER BY id", args)]

    # --- internals ---------------------------------------------------------------------------
    def _patient_id(self, code: str) -> int:
        row = self._db.execute("SELECT id FROM patient WHERE code = ?", (code,)).fetchone()
        if row is None:
            raise StoreError(f"no patient {code} on this device")
        return row[0]

    def _trial(self, row) -> TrialRecord:
        return TrialRecord(
            id=row["id"],
            session_id=row["session_id"],
            patient_code=row["code"],
            exercise=row["exercise"],
            parameters=json.loads(row["parameters"]),
            started_at=row["started_at"],
            ended_at=row["ended_at"],
            status=row["status"],
            score=row["score"],
            result=json.loads(row["result"]) if row["result"] else None,
            note=row["note"],
        )
