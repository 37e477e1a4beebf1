"""Years of records: listings without the recordings, date ranges by the patient's own day, the
migration of older files, patient codes checked where they enter. Real SQLite files."""

from __future__ import annotations

import sqlite3
import zlib
from datetime import date

import numpy as np
import pytest

from clinic.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Store,
    StoreError,
    check_patient_code,
    utc_instant,
)
from device.recording import Recording, recording_text

T0 = "2026-11-23T10:00:00+01:00"
RECORDING = Recording(np.arange(800) / 80.0, np.full((800, 4), 17.5), 440.0, 330.0)


def _trial(store, code, when, exercise="quiet-stance", *, score=50.0, recording=RECORDING):
    session = store.start_session(code, when, board="hx711")
    trial = store.begin_trial(session, exercise, {}, when)
    store.finish_trial(trial, {"score": score, "metrics": {"x_mm": 1.0}}, recording, when)
    return trial


def _recording_reads(store) -> list:
    """Every column of the recordings' table the store's connection reads from now on (SQLite's
    authorizer sees each column a statement reads)."""
    reads = []

    def authorizer(action, table, column, *_):
        if action == sqlite3.SQLITE_READ and table == "recording":
            reads.append(column)
        return sqlite3.SQLITE_OK

    store._db.set_authorizer(authorizer)
    return reads


def test_listing_trials_reads_no_recording_and_a_recording_is_read_only_when_asked(tmp_path):
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", created_at=T0)
        first = _trial(store, "P-1", T0)
        _trial(store, "P-1", "2026-11-24T10:00:00+01:00", recording=None)
        reads = _recording_reads(store)
        listed = store.trials("P-1", status=None)
        store.trials("P-1", "quiet-stance", first_day=date(2026, 11, 1), recent_sessions=5)
        store.last_trial("P-1", "quiet-stance")
        store.sessions("P-1")
        assert reads == []  # the listing never touched a recording
        assert [t.has_recording for t in listed] == [True, False]
        assert store.recording(first).loads_kg.shape == (800, 4)
        assert "data" in reads  # asked for: read


def test_a_version_4_file_is_brought_up_to_date_keeping_every_record(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    for version in range(1, 5):
        db.executescript(MIGRATIONS[version])
    db.execute("PRAGMA user_version=4")
    db.execute("INSERT INTO patient (id, code, created_at) VALUES (1, 'P-1', ?)", (T0,))
    # the autumn clock change: the second session came later but its text sorts first
    db.execute("INSERT INTO session (id, patient_id, started_at) VALUES (1, 1, ?)", (T0,))
    blob = zlib.compress(recording_text(RECORDING).encode())
    for trial_id, when in ((1, "2026-10-25T02:30:00+02:00"), (2, "2026-10-25T02:10:00+01:00")):
        db.execute(
            "INSERT INTO trial (id, session_id, exercise, started_at, status, score, result, "
            "recording) VALUES (?, 1, 'quiet-stance', ?, 'complete', 50, '{\"score\": 50}', ?)",
            (trial_id, when, blob if trial_id == 1 else None),
        )
    db.execute(
        "INSERT INTO program (patient_id, saved_at, source, text) VALUES "
        "(1, '2026-10-25T02:40:00+02:00', 'therapist', '')"
    )
    db.execute("INSERT INTO device_event (at, kind, message) VALUES (?, 'export', 'x')", (T0,))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="another version"):
        Store(path, read_only=True)  # reading changes nothing, not even the schema
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        trials = store.trials("P-1")
        assert [t.id for t in trials] == [1, 2] and [t.has_recording for t in trials] == [1, 0]
        assert (store.recording(1).loads_kg == RECORDING.loads_kg).all()
        assert store.last_trial("P-1", "quiet-stance").id == 2
        [version] = store.programs("P-1")
        assert version["after_trial_id"] == 1  # the trial before it by the instant
        assert store.events()[0]["at_utc"] == utc_instant(T0)
        utc = [r[0] for r in store._db.execute("SELECT started_utc FROM trial ORDER BY id")]
        assert utc == ["2026-10-25T00:30:00.000000Z", "2026-10-25T01:10:00.000000Z"]
        assert store._db.execute("PRAGMA foreign_key_check").fetchall() == []
        columns = {r[1] for r in store._db.execute("PRAGMA table_info(trial)")}
        assert "recording" not in columns  # the blobs left the trial rows
        # ... without being copied: they stay in the old table, read from there
        legacy = "SELECT count(*) FROM recording_before_v5 WHERE recording IS NOT NULL"
        assert store._db.execute(legacy).fetchone()[0] == 1
        store.set_recording(1, RECORDING)  # kept again: in the new table, the old one let go
        assert store._db.execute(legacy).fetchone()[0] == 0
        assert (store.recording(1).loads_kg == RECORDING.loads_kg).all()
    with Store(tmp_path / "new.sqlite3") as store:  # a new file has no old table
        assert not store._has_table("recording_before_v5")


def test_date_ranges_keep_the_patients_own_day_whatever_the_offset(tmp_path):
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", created_at=T0)
        kept = [
            _trial(store, "P-1", "2026-11-23T00:05:00+14:00"),  # 22 Nov in UTC
            _trial(store, "P-1", "2026-11-24T23:55:00-12:00"),  # 25 Nov in UTC
        ]
        _trial(store, "P-1", "2026-11-22T23:59:00+01:00")
        _trial(store, "P-1", "2026-11-25T00:00:00-12:00")
        days = {"first_day": date(2026, 11, 23), "last_day": date(2026, 11, 24)}
        assert [t.id for t in store.trials("P-1", **days)] == kept
        assert len(store.sessions("P-1", **days)) == 2
        store.log_event("safety_stop", "x", "2026-11-24T23:55:00-12:00")
        store.log_event("safety_stop", "y", "2026-11-25T00:10:00+01:00")
        assert [e["message"] for e in store.events("safety_stop", **days)] == ["x"]


def test_recent_sessions_bound_what_the_end_of_session_checks_read(tmp_path):
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", created_at=T0)
        ids = [_trial(store, "P-1", f"2026-11-{day:02d}T10:00:00+01:00") for day in range(1, 9)]
        assert [t.id for t in store.trials("P-1", recent_sessions=3)] == ids[-3:]


def test_a_batch_is_one_commit_and_nothing_of_it_is_kept_when_it_fails(tmp_path):
    path = tmp_path / "r.sqlite3"
    with Store(path) as store:
        store.add_patient("P-1", created_at=T0)
        with pytest.raises(StoreError), store.batch():
            _trial(store, "P-1", T0)
            store.start_session("P-404", T0, board="hx711")  # fails: the batch is undone
        assert store.trials("P-1", status=None) == []
        with store.batch():
            _trial(store, "P-1", T0)
            with pytest.raises(StoreError):
                store.add_patient("P-1", created_at=T0)  # one step fails, undone alone
    with Store(path, read_only=True) as reader:
        assert len(reader.trials("P-1")) == 1


BAD_CODES = [
    "../../../../tmp/x",
    "a/b",
    "a\\b",
    "..",
    ".hidden",
    "-rf",
    "x\ny",
    "x\x00y",
    "x\x1b[31m",
    "P 1",
    "Müller",
    "C:x",
    "x" * 33,
    "",
]


@pytest.mark.parametrize("code", BAD_CODES)
def test_a_new_patient_code_outside_the_rule_is_refused_with_the_rule(tmp_path, code):
    with Store(tmp_path / "r.sqlite3") as store:
        with pytest.raises(StoreError, match="1 to 32 letters, digits"):
            store.add_patient(code, created_at=T0)
        assert store.patients() == []


def test_good_codes_pass_and_a_code_edited_into_the_file_is_refused_on_use(tmp_path):
    for code in ("P-0001", "p_2", "A" * 32, "7"):
        assert check_patient_code(code) == code
    path = tmp_path / "r.sqlite3"
    with Store(path) as store:
        store.add_patient("P-1", created_at=T0)
        _trial(store, "P-1", T0)
    db = sqlite3.connect(path)
    db.execute("UPDATE patient SET code = '../../../../tmp/x'")
    db.commit()
    db.close()
    with Store(path, read_only=True) as store:
        assert [p.code for p in store.patients()] == ["../../../../tmp/x"]  # seen, to put right
        for use in (store.trials, store.patient, store.sessions, store.programs):
            with pytest.raises(StoreError, match="cannot be used"):
                use("../../../../tmp/x")


def test_reading_commands_change_no_byte_of_the_records(tmp_path, capsys):
    from balance_board.cli import main

    with Store(tmp_path / "balance-board.sqlite3") as store:
        store.add_patient("P-1", created_at=T0)
        _trial(store, "P-1", T0)
        session = store.start_session("P-1", T0, board="hx711")
        store.begin_trial(session, "flamingo", {}, T0)  # left open by a process that is gone
        store._db.execute("UPDATE trial SET owner = 'pid:999999999' WHERE status = 'in_progress'")
    records = tmp_path / "balance-board.sqlite3"
    before = records.read_bytes()
    content = _content(records)
    assert main(["patient", "--data-dir", str(tmp_path)]) == 0
    assert main(["report", "--data-dir", str(tmp_path), "--out", str(tmp_path / "r.pdf")]) == 0
    assert records.read_bytes() == before  # not even the trial the dead process left open
    wal = tmp_path / "balance-board.sqlite3-wal"  # (a reader of a WAL file makes an empty one)
    assert not wal.exists() or wal.stat().st_size == 0
    # each export adds its one line to the device log (who took the data out, and where), and
    # nothing else: the trial left open by the dead process stays as it was
    for kind in ("csv", "fhir", "recordings"):
        argv = ["export", "--data-dir", str(tmp_path), "--format", kind, "--out", str(tmp_path)]
        assert main(argv) == 0
    after = _content(records)
    added = [line for line in after if line not in content]
    assert [line for line in content if line not in after] == []
    assert len(added) == 3 and all(line.startswith('INSERT INTO "device_event"') for line in added)
    assert all("'export'" in line for line in added), added
    assert "not noted" not in capsys.readouterr().err  # the device log took each event


def _content(path) -> list[str]:
    """Everything the records file holds, as SQL (its journal included), read without a
    change."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return list(db.iterdump())
    finally:
        db.close()
