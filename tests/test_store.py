"""The records file: a real SQLite file on disk."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from clinic.store import SCHEMA_VERSION, Store, StoreError
from device.sim import generator
from exercises.replay import replay
from tests.conftest import REPO

T0 = "2026-11-23T10:00:00+01:00"


def test_patients_sessions_trials_and_recordings_round_trip(tmp_path):
    path = tmp_path / "records.sqlite3"
    trial = generator.flamingo(4)
    result = replay(trial.recording, "flamingo", leg=trial.truth["leg"]).to_dict()
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        store.add_patient(
            "P-0001",
            affected_side="left",
            birth_year=1951,
            height_cm=168,
            body_mass_kg=71,
            created_at=T0,
        )
        session = store.start_session("P-0001", T0, board="hx711", clock_synchronised=False)
        trial_id = store.begin_trial(session, "flamingo", {"leg": "left"}, T0)
        store.finish_trial(trial_id, result, trial.recording, "2026-11-23T10:01:00+01:00")
        store.end_session(session, "2026-11-23T10:20:00+01:00")
        store.log_event("calibration", "re-zeroed", T0, session)
    with Store(path) as store:  # reopened: everything is there
        assert store.patient("P-0001").affected_side == "left"
        [saved] = store.trials("P-0001", "flamingo")
        assert saved.status == "complete" and saved.result == result
        assert saved.score == result["score"]
        assert store.last_trial("P-0001", "flamingo").id == saved.id
        back = store.recording(saved.id)
        assert (back.t_s == trial.recording.t_s).all()
        assert (back.loads_kg == trial.recording.loads_kg).all()
        assert store.events("calibration")[0]["message"] == "re-zeroed"
        mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"


WRITER = """
import os, sys
from clinic.store import Store
store = Store(sys.argv[1])
session = store.start_session("P-2", "2026-11-23T10:00:00+01:00", board="hx711")
done = store.begin_trial(session, "quiet-stance", {}, "2026-11-23T10:00:00+01:00")
store.finish_trial(done, {"score": 50.0}, None, "2026-11-23T10:00:00+01:00")
store.begin_trial(session, "quiet-stance", {}, "2026-11-23T10:00:00+01:00")
os._exit(0)  # and then the power goes: no clean end, the trial is never finished
"""


def test_a_trial_in_progress_when_the_device_stopped_is_marked_incomplete(tmp_path):
    path = tmp_path / "records.sqlite3"
    with Store(path) as store:
        store.add_patient("P-2", created_at=T0)
    subprocess.run([sys.executable, "-c", WRITER, str(path)], cwd=REPO, check=True)
    with Store(path, read_only=True) as reader:  # reading changes nothing
        assert [t.status for t in reader.trials("P-2", status=None)] == [
            "complete",
            "in_progress",
        ]
    with Store(path) as again:  # its process is gone: interrupted
        assert [t.status for t in again.trials("P-2", status=None)] == ["complete", "incomplete"]
        assert "interrupted" in again.trials("P-2", status="incomplete")[0].note


def test_a_trial_of_a_running_process_is_left_to_it_and_saved_when_it_ends(tmp_path):
    path = tmp_path / "records.sqlite3"
    with Store(path) as app:  # the app, mid-trial
        app.add_patient("P-3", created_at=T0)
        session = app.start_session("P-3", T0, board="hx711")
        trial = app.begin_trial(session, "quiet-stance", {}, T0)
        listing = subprocess.run(
            [sys.executable, "-m", "balance_board", "patient", "--data-dir", str(tmp_path)],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        assert listing.returncode == 0, listing.stderr
        with Store(path) as other:  # another process opening it to write: not its trial
            assert other.trials("P-3", status="in_progress")
        app.finish_trial(trial, {"score": 71.0}, None, T0)
        assert [(t.status, t.score) for t in app.trials("P-3")] == [("complete", 71.0)]


def test_a_foreign_sqlite_file_is_refused_not_taken_over(tmp_path):
    path = tmp_path / "other.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE contacts (name TEXT)")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="not a balance-board records file"):
        Store(path)
    assert {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")} == {
        "contacts"
    }


def test_bad_input_is_refused_with_reasons(tmp_path):
    with Store(tmp_path / "r.sqlite3") as store:
        with pytest.raises(StoreError, match="1 to 32"):
            store.add_patient("", created_at=T0)
        with pytest.raises(StoreError, match="affected side"):
            store.add_patient("P-3", affected_side="middle", created_at=T0)
        with pytest.raises(StoreError, match="UTC offset"):
            store.add_patient("P-3", created_at="2026-11-23T10:00:00")
        store.add_patient("P-3", created_at=T0)
        with pytest.raises(StoreError, match="already"):
            store.add_patient("P-3", created_at=T0)
        with pytest.raises(StoreError, match="no patient"):
            store.start_session("P-404", T0, board="hx711")
        with pytest.raises(StoreError, match="body_mass_kg"):
            store.add_patient("P-4", body_mass_kg=1000, created_at=T0)


def test_a_file_that_is_not_a_database_is_named(tmp_path):
    path = tmp_path / "r.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot be used"):
        Store(path)


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "r.sqlite3"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError, match="newer version"):
        Store(path)
