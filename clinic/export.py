"""Exports for the therapist: a CSV of every trial and the raw recordings (format v1), as a
folder or as one AES-256 encrypted zip for a USB stick that may get lost.

Last stage of the flow (… → record → **report/export**). Reads the store, writes files; no clock
(the caller names the folder). The CSV has one row per trial, ISO 8601 times with their UTC offset,
and the unit in every numeric column's header (the metric names carry it: ``path_length_mm``).

Example::

    with Store(path) as store:
        write_trials_csv(store, "P-0001", Path("trials.csv"))
"""

from __future__ import annotations

import csv
import io
import os
from datetime import datetime
from pathlib import Path

from device.files import atomic_write_text
from device.recording import recording_text

FIXED_COLUMNS = (
    "trial_id",
    "session_id",
    "patient",
    "exercise",
    "status",
    "started_at",
    "ended_at",
    "duration_s",
    "score_0_100",
    "scorable",
    "sensor_faults",
    "warnings",
    "flags",
    "lower_bounds",
    "parameters",
    "note",
)


def trial_rows(store, patient_code: str) -> tuple[list[str], list[dict]]:
    """(header, rows): the fixed columns, then every metric any trial has (sorted)."""
    trials = store.trials(patient_code, status=None)
    metric_names = sorted({k for t in trials if t.result for k in t.result.get("metrics", {})})
    rows = []
    for t in trials:
        result = t.result or {}
        quality = result.get("quality", {})
        duration = None
        if t.ended_at:
            delta = datetime.fromisoformat(t.ended_at) - datetime.fromisoformat(t.started_at)
            duration = round(delta.total_seconds(), 1)
        row = {
            "trial_id": t.id,
            "session_id": t.session_id,
            "patient": t.patient_code,
            "exercise": t.exercise,
            "status": t.status,
            "started_at": t.started_at,
            "ended_at": t.ended_at or "",
            "duration_s": duration if duration is not None else "",
            "score_0_100": "" if t.score is None else t.score,
            "scorable": {True: "yes", False: "no"}.get(quality.get("scorable"), ""),
            "sensor_faults": "; ".join(quality.get("sensor_faults") or []),
            "warnings": "; ".join(quality.get("warnings") or []),
            "flags": "; ".join(result.get("flags") or []),
            "lower_bounds": "; ".join(result.get("lower_bounds") or []),
            "parameters": "; ".join(f"{k}={v}" for k, v in sorted(t.parameters.items())),
            "note": t.note or "",
        }
        for name in metric_names:
            value = result.get("metrics", {}).get(name)
            row[name] = "" if value is None else value
        rows.append(row)
    return [*FIXED_COLUMNS, *metric_names], rows


def trials_csv_text(store, patient_code: str) -> str:
    header, rows = trial_rows(store, patient_code)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_trials_csv(store, patient_code: str, path: Path) -> None:
    # UTF-8 with a BOM so that spreadsheet programs read "–" and "µ" right
    atomic_write_text(path, "\ufeff" + trials_csv_text(store, patient_code))


def write_recordings(store, patient_code: str, folder: Path) -> list[Path]:
    """Each trial's raw recording as a format-v1 text file; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for t in store.trials(patient_code, status=None):
        recording = store.recording(t.id)
        if recording is None:
            continue
        path = folder / f"trial-{t.id:05d}-{t.exercise}.txt"
        atomic_write_text(path, recording_text(recording))
        written.append(path)
    return written


def export_to_folder(store, patient_code: str, destination: Path, stamp: str) -> Path:
    """One new folder on ``destination`` with trials.csv and recordings/; returns it."""
    folder = Path(destination) / f"balance-board-{patient_code}-{stamp}"
    folder.mkdir(parents=True, exist_ok=False)
    write_trials_csv(store, patient_code, folder / "trials.csv")
    write_recordings(store, patient_code, folder / "recordings")
    return folder


PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a screen


def new_password(groups: int = 4) -> str:
    """A random password to show the therapist once: 4 groups of 4 (80 bits)."""
    import secrets

    return "-".join(
        "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(groups)
    )


def export_encrypted(
    store, patient_code: str, destination: Path, stamp: str, password: str
) -> Path:
    """The same folder as ``export_to_folder``, as one AES-256 encrypted zip (7-Zip and most
    archive tools open it with the password); nothing unencrypted is left on ``destination``."""
    import tempfile

    import pyzipper

    target = Path(destination) / f"balance-board-{patient_code}-{stamp}.zip"
    if target.exists():
        raise FileExistsError(target)
    partial = target.with_name(f".{target.name}.part")
    with tempfile.TemporaryDirectory() as scratch:
        folder = export_to_folder(store, patient_code, Path(scratch), stamp)
        try:
            with pyzipper.AESZipFile(
                partial, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
            ) as archive:
                archive.setpassword(password.encode())
                archive.setencryption(pyzipper.WZ_AES, nbits=256)
                for path in sorted(folder.rglob("*")):
                    if path.is_file():
                        archive.write(path, path.relative_to(folder.parent))
            with open(partial, "rb+") as f:
                os.fsync(f.fileno())
            partial.replace(target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    return target
