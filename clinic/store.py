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
import sqlite3
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from device.recording import Recording, parse_recording, recording_text

SCHEMA_VERSION = 3
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
}


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
    """One SQLite file of records; open it, use it, close it (or use ``with``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._migrate()
            self._mark_interrupted()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} cannot be used as the records file ({exc})") from None

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

    def _transaction(self):
        db = self._db

        class _Tx:
            def __enter__(self):
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self, kind, *rest):
                db.execute("ROLLBACK" if kind else "COMMIT")

        return _Tx()

    def _mark_interrupted(self) -> None:
        with self._transaction():
            self._db.execute(
                "UPDATE trial SET status = 'incomplete', note = COALESCE(note, "
                "'interrupted: the device stopped during this trial') "
                "WHERE status = 'in_progress'"
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
                "INSERT INTO trial (session_id, exercise, parameters, started_at, status) "
                "VALUES (?, ?, ?, ?, 'in_progress')",
                (session_id, exercise, json.dumps(parameters), _check_time(started_at)),
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
            self._db.execute(
                "UPDATE trial SET status = 'complete', ended_at = ?, score = ?, result = ?, "
                "recording = ? WHERE id = ? AND status = 'in_progress'",
                (
                    _check_time(ended_at),
                    result.get("score"),
                    json.dumps(result, allow_nan=False),
                    blob,
                    trial_id,
                ),
            )

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
