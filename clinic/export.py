"""Exports for the therapist: a CSV of every trial and the raw recordings (format v1), as a
folder or as one AES-256 encrypted zip for a USB stick that may get lost.

Last stage of the flow (… → record → **report/export**). Reads the store, writes files; no clock
(the caller names the folder). The CSV has one row per trial, ISO 8601 times with their UTC offset,
and the unit in every numeric column's header (the metric names carry it: ``path_length_mm``).
Every trial is exported, whatever board made it, and says which: the CSV's ``board`` column
(``hx711``, the real board; ``sim``, the simulated one; ``unknown`` for sessions kept before the
board was recorded) and a ``# board:`` line in each exported recording.

Years of records are streamed: each trial and each recording is read once, written, and let go,
so memory stays the same whatever the history (five years of recordings are ~1.7 GB of text);
files are written without a sync each and synced once at the end (a sync per file made thousands
of recordings take minutes on a USB stick), then the finished folder or archive is renamed into
place, so a half-written export never has the final name.

The encrypted export never writes plaintext: rows and recordings go straight into the AES-256
zip (``pyzipper``), and nothing in the archive's listing, which a zip shows without the
password, names the patient. Its name is neutral (``balance-board-STAMP.zip``) and so are the
names inside (``trials.csv``, ``recordings/trial-00012-flamingo.txt``). A 7z archive with
encrypted headers would hide even those: py7zr (1.1.4, Python 3.10-3.14, kept up) writes one,
but brings eight more packages, six of them compiled (brotli, psutil, backports.zstd, pyppmd,
pybcj, inflate64), to build or fetch for the Pi, for names that say nothing about who the patient
is; and the zip opens in the same tools (7-Zip) as before (see ``export_encrypted``).

Every file name made here comes from the store's ids, a checked patient code
(``clinic.store.check_stored_code``) and an exercise name reduced to letters, digits and '-', and
is checked to lie inside the folder given: a records file edited by hand cannot make an export
write elsewhere. Nor can a symbolic link planted in the folder (a USB stick prepared by someone):
a final name or a folder that is a link is refused (``ExportError``), and every file is written
under a new temporary name (O_EXCL | O_NOFOLLOW: never through a link) and renamed into place.

Example::

    with Store(path) as store:
        write_trials_csv(store, "P-0001", Path("trials.csv"))
"""

from __future__ import annotations

import csv
import io
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from clinic.store import UNKNOWN_BOARD, check_stored_code
from device.files import sync_folder, written_whole

FIXED_COLUMNS = (
    "trial_id",
    "session_id",
    "board",  # which board made the trial's session: hx711, sim or unknown
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
DEVICE_NAME = "balance board"  # what exports and reports call the device: nothing of this one


class ExportError(ValueError):
    """An export that would write outside its folder (a name with a path in it, a symbolic
    link planted where it writes); says why."""


def refuse_link(path: Path) -> Path:
    """``path``, or ExportError when it is a symbolic link: the export would write where the
    link points, outside its folder (a rename would replace the link, but a link there is no
    export's and is left alone)."""
    path = Path(path)
    if path.is_symlink():
        raise ExportError(f"{path} is a symbolic link: refused, nothing was written through it")
    return path


def device_label(software_version: str) -> str:
    """The device as exports and the report name it: the kind of device and the software, never
    the host's name or anything else that tells one household's board from another."""
    return f"{DEVICE_NAME} {software_version}"


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _row(t, metric_names: Iterable[str]) -> dict:
    result = t.result or {}
    quality = result.get("quality", {}) or {}
    duration = None
    if t.ended_at:
        delta = datetime.fromisoformat(t.ended_at) - datetime.fromisoformat(t.started_at)
        duration = round(delta.total_seconds(), 1)
    row = {
        "trial_id": t.id,
        "session_id": t.session_id,
        "board": t.board or UNKNOWN_BOARD,
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
    metrics = result.get("metrics", {}) or {}
    for name in metric_names:
        value = metrics.get(name)
        row[name] = "" if value is None else value
    return {key: spreadsheet_safe(value) for key, value in row.items()}


def spreadsheet_safe(value):
    """A text cell a spreadsheet will not run as a formula: one starting with = + - @ or a tab
    gets a leading apostrophe (OWASP's advice on CSV injection); numbers stay numbers. A note
    edited into the records must not become a formula on the clinic's computer."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def _trials(store, patient_code: str) -> Iterator:
    """The patient's trials, whatever board made them (each says which), one at a time when
    the store can (``Store.iter_trials``)."""
    check_stored_code(patient_code)
    if hasattr(store, "iter_trials"):
        return store.iter_trials(patient_code, status=None, every_board=True)
    return iter(store.trials(patient_code, status=None, every_board=True))


def csv_header(store, patient_code: str) -> list[str]:
    """The fixed columns, then every metric any of the patient's trials has (sorted)."""
    names = set()
    for t in _trials(store, patient_code):
        if t.result:
            names.update((t.result.get("metrics") or {}).keys())
    return [*FIXED_COLUMNS, *sorted(names)]


def trial_rows(store, patient_code: str) -> tuple[list[str], list[dict]]:
    """(header, rows): the fixed columns, then every metric any trial has (sorted); all rows in
    memory (``write_trials_csv`` streams them)."""
    header = csv_header(store, patient_code)
    metrics = header[len(FIXED_COLUMNS) :]
    return header, [_row(t, metrics) for t in _trials(store, patient_code)]


def write_csv_rows(store, patient_code: str, out: io.TextIOBase) -> int:
    """The CSV (header and one row per trial, CRLF) into ``out``, a row at a time; returns the
    number of trials. Two passes over the records: the header's metric columns first."""
    header = csv_header(store, patient_code)
    metrics = header[len(FIXED_COLUMNS) :]
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    count = 0
    for t in _trials(store, patient_code):
        writer.writerow(_row(t, metrics))
        count += 1
    return count


def trials_csv_text(store, patient_code: str) -> str:
    out = io.StringIO()
    write_csv_rows(store, patient_code, out)
    return out.getvalue()


def write_trials_csv(store, patient_code: str, path: Path) -> int:
    """The CSV file, written whole or not at all (a temporary name, one sync, a rename), UTF-8
    with a BOM so that spreadsheet programs read "–" and "µ" right; returns the trials."""
    with written_whole(refuse_link(path), encoding="utf-8-sig", newline="") as f:
        return write_csv_rows(store, patient_code, f)


_SAFE_NAME = re.compile(r"[^a-z0-9-]+")


def recording_file_name(trial_id: int, exercise: str) -> str:
    """``trial-00012-flamingo.txt``: the exercise reduced to lower-case letters, digits and '-'
    (a name from a file edited by hand can hold no separator)."""
    safe = _SAFE_NAME.sub("-", str(exercise).lower()).strip("-")[:40] or "trial"
    return f"trial-{int(trial_id):05d}-{safe}.txt"


def _inside(folder: Path, name: str) -> Path:
    """``folder / name``, refused unless it is a plain name directly inside ``folder``."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise ExportError(f"{name!r} is not a plain file name: nothing was written")
    path = refuse_link(Path(folder) / name)
    if path.resolve().parent != Path(folder).resolve():
        raise ExportError(f"{name!r} would be written outside {folder}: nothing was written")
    return path


def recording_with_board(text: str, board: str | None) -> str:
    """A kept recording (format v1 text) with a ``# board:`` line after its first, the format
    line: which board made it (hx711, sim, unknown), where format v1 keeps what else it knows
    (an unknown key, ignored by readers that do not know it). A recording that already says
    is left as it is."""
    header = text.find("\nt_s,")  # the metadata lines end there
    if "\n# board:" in text[: max(header, 0)]:
        return text
    cut = text.find("\n") + 1
    return f"{text[:cut]}# board: {board or UNKNOWN_BOARD}\n{text[cut:]}"


def _write_recording_files(store, patient_code: str, folder: Path) -> list[Path]:
    written = []
    for kept in store.recording_texts(patient_code):
        path = _inside(folder, recording_file_name(kept.trial_id, kept.exercise))
        text = recording_with_board(kept.text, kept.board)
        # a new temporary file renamed into place: a file with its final name is always whole,
        # and nothing is written through a link; no sync: one for them all at the end
        with written_whole(path, sync=False) as f:
            f.write(text)
        written.append(path)
    return written


def write_recordings(store, patient_code: str, folder: Path) -> list[Path]:
    """Each trial's raw recording as a format-v1 text file, as it was kept (read once, not
    parsed); synced once at the end; returns the files written."""
    check_stored_code(patient_code)
    folder = refuse_link(folder)
    folder.mkdir(parents=True, exist_ok=True)
    refuse_link(folder)  # made a link since: refused all the same
    written = _write_recording_files(store, patient_code, folder)
    sync_to_disk()
    return written


def export_to_folder(store, patient_code: str, destination: Path, stamp: str) -> Path:
    """One new folder on ``destination`` with trials.csv and recordings/; returns it. Built
    under a hidden name and renamed when it is complete and synced."""
    code = check_stored_code(patient_code)
    destination = Path(destination)
    folder = _inside(destination, f"balance-board-{code}-{_stamp(stamp)}")
    if folder.exists():
        raise FileExistsError(folder)
    partial = _inside(destination, f".{folder.name}.part")
    partial.mkdir(parents=True, exist_ok=False)
    try:
        write_trials_csv(store, code, partial / "trials.csv")
        (partial / "recordings").mkdir()
        _write_recording_files(store, code, partial / "recordings")
        sync_to_disk()
        partial.rename(folder)
    except BaseException:
        _remove_tree(partial)
        raise
    sync_folder(destination)
    return folder


PASSWORD_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a screen


def new_password(groups: int = 4) -> str:
    """A random password to show the therapist once: 4 groups of 4 (80 bits)."""
    return "-".join(
        "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(4)) for _ in range(groups)
    )


# Deflate's fastest level: the recordings' numbers compress to 49 % at level 1 and 46 % at the
# default 6, which takes seven times as long (15 ms against 2 ms a 30 s recording: most of a
# five-year export)
ZIP_LEVEL = 1


def encrypted_archive_name(stamp: str) -> str:
    """``balance-board-20261123-101500.zip``: the archive's name names no patient."""
    return f"balance-board-{_stamp(stamp)}.zip"


def export_encrypted(
    store, patient_code: str, destination: Path, stamp: str, password: str
) -> Path:
    """The CSV and the recordings as one AES-256 encrypted zip (7-Zip and most archive tools
    open it with the password), streamed: no plaintext is ever written to any disk, and a kill
    leaves at most a hidden ``.part`` file of encrypted data.

    What a zip shows without its password is its listing: here ``balance-board-STAMP/trials.csv``
    and ``balance-board-STAMP/recordings/trial-00012-flamingo.txt``, with their sizes and the
    time of the export: no patient code, nothing about who she is. (The file count tells how
    many recordings there are.)"""
    import pyzipper

    code = check_stored_code(patient_code)
    destination = Path(destination)
    target = _inside(destination, encrypted_archive_name(stamp))
    if target.exists():
        raise FileExistsError(target)
    partial = _inside(destination, f".{target.name}.part")
    top = target.stem
    # a new file, never through a link: one left by a killed export is removed first (its
    # name, not what it may point to)
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w+b") as out:
            with pyzipper.AESZipFile(
                out,
                "w",
                compression=pyzipper.ZIP_DEFLATED,
                compresslevel=ZIP_LEVEL,
                encryption=pyzipper.WZ_AES,
            ) as archive:
                archive.setpassword(password.encode())
                archive.setencryption(pyzipper.WZ_AES, nbits=256)
                with archive.open(f"{top}/trials.csv", "w", force_zip64=True) as raw:
                    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                    write_csv_rows(store, code, text)
                    text.flush()
                    text.detach()
                for kept in store.recording_texts(code):
                    name = f"{top}/recordings/{recording_file_name(kept.trial_id, kept.exercise)}"
                    with archive.open(name, "w", force_zip64=True) as entry:
                        entry.write(recording_with_board(kept.text, kept.board).encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        partial.replace(target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    sync_folder(destination)
    return target


@dataclass(frozen=True)
class EncryptedExport:
    """An encrypted export: the archive and the password to show once."""

    path: Path
    password: str


def export_for_usb(store, patient_code: str, destination: Path, stamp: str) -> EncryptedExport:
    """The one-tap export onto a USB stick, encrypted: a stick gets lost. A new random password
    (``new_password``) for the archive (``export_encrypted``); show it once."""
    password = new_password()
    return EncryptedExport(
        export_encrypted(store, patient_code, destination, stamp, password), password
    )


# --- files -----------------------------------------------------------------------------------
def _stamp(stamp: str) -> str:
    """The caller's time stamp in a file name: letters, digits, '-' and '_' only."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", str(stamp)).strip("-")[:40]
    return cleaned or "export"


def sync_to_disk() -> None:
    """Everything written so far on its way to the disk and the stick, in one call (Linux's
    sync waits for it): once for a whole export, not once per file."""
    os.sync()


def _remove_tree(folder: Path) -> None:
    if not folder.exists():
        return
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_dir():
            path.rmdir()
        else:
            path.unlink(missing_ok=True)
    folder.rmdir()
