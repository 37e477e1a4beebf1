"""Exports for the therapist: a CSV of every trial and the raw recordings (format v1), as a
folder or as one AES-256 encrypted zip for a USB stick that may get lost.

Last stage of the flow (… → record → **report/export**). Reads the store, writes files; no clock
(the caller names the folder). The CSV has one row per trial, ISO 8601 times with their UTC offset,
and the unit in every numeric column's header (the metric names carry it: ``path_length_mm``).
Every trial is exported, whatever board made it, and says which: the CSV's ``board`` column
(``hx711``, the real board; ``sim``, the simulated one; ``unknown`` for sessions kept before the
board was recorded) and a ``# board:`` line in each exported recording. An exported recording
holds everything its score was made with, times from 0 (``exported_recording_text``): replayed
alone, it gives the score the records keep.

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
from datetime import datetime, timedelta
from pathlib import Path

from clinic.store import UNKNOWN_BOARD, KeptRecording, check_stored_code
from device.files import sync_folder, written_whole
from device.recording import MASS_SOURCES, METADATA_ORDER, METADATA_RANGES, metadata_value
from exercises.registry import exercise_spec

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


# --- a recording that holds everything its score was made with -----------------------------
def exported_recording_text(kept: KeptRecording) -> str:
    """A kept recording as exported: format v1 that holds what its score was made with, so
    that ``balance-board replay FILE`` gives the score the app gave (README, "Recording format
    v1"), its times from its first reading.

    The app keeps the trial's context in the recording's header (the side, the body mass and
    how it was known, the feet, the rate, made live); the records add what they know and the
    header lacks: the exercise, its settings, the trial's start, the board, the calibration date
    (from the result's calibration age), the session's clock and, for a recording kept before
    the header carried them, the feet's positions, the body mass and the affected side from the
    result. A recording kept with the device's clock in its times (before they started at 0)
    is moved to start at 0, exactly as the exercise counted them (``t - t0``)."""
    end = kept.text.find("\nt_s,")
    if end < 0:  # not format v1 text: as kept, with its board
        return recording_with_board(kept.text, kept.board)
    meta: dict[str, str] = {}
    for line in kept.text[:end].split("\n"):
        key, sep, value = line.lstrip("#").partition(":")
        if line.startswith("#") and sep:
            meta[key.strip()] = value.strip()
    if "feet_measured" not in meta:  # kept before the header said how the feet were known
        meta.update(_session_stance(kept.stance))
    records = _what_the_records_know(kept)
    if "subject_mass_kg" in meta:  # the mass kept with the recording goes with its own source
        records.pop("subject_mass_source", None)
    for key, value in records.items():
        meta.setdefault(key, value)
    # in the format's order (the board on the line after the format's, where the exports have
    # always put it), then keys the format does not know, as kept
    known = {key: meta.pop(key) for key in METADATA_ORDER if key in meta}
    meta = {**known, **meta}
    head = "".join(f"# {key}: {' '.join(value.split())}\n" for key, value in meta.items())
    return head + _times_from_zero(kept.text[end + 1 :])


def _what_the_records_know(kept: KeptRecording) -> dict[str, str]:
    """Header values from the records, for what the kept header does not say."""
    out: dict[str, str] = {"exercise": kept.exercise}
    parameters = kept.parameters or {}
    out["parameters"] = metadata_value(parameters)  # {}: the exercise's defaults
    try:
        leg_parameter = exercise_spec(kept.exercise).leg_parameter
    except ValueError:  # an exercise name edited by hand: nothing more to say of it
        leg_parameter = None
    leg = parameters.get(leg_parameter) if leg_parameter else None
    if leg in ("left", "right"):
        out["leg"] = leg
    result = kept.result or {}
    quality = result.get("quality") or {}
    side = _affected_side(result.get("sides") or {}, leg)
    if side is not None:
        out["affected_side"] = side
    mass, source = quality.get("body_mass_kg"), quality.get("body_mass_source")
    low, high, _ = METADATA_RANGES["subject_mass_kg"]
    if source in MASS_SOURCES and isinstance(mass, int | float) and low <= mass <= high:
        out["subject_mass_kg"] = metadata_value(mass)
        out["subject_mass_source"] = source
    if kept.started_at:
        out["started_at"] = kept.started_at
    out["board"] = kept.board or UNKNOWN_BOARD
    calibrated = _calibrated_at(kept.started_at, quality.get("calibration_age_days"))
    if calibrated is not None:
        out["calibrated_at"] = calibrated
    if kept.clock_synchronised is not None:
        out["clock_synchronised"] = metadata_value(kept.clock_synchronised)
    return out


def _session_stance(stance: dict | None) -> dict[str, str]:
    """The feet as the app used them (``PatientSession.context``) for a recording kept before
    its header said: the session's stance check when it measured them, over the board's marks
    the old header gives."""
    stance = stance or {}
    out = {}
    low, high, _ = METADATA_RANGES["stance_width_mm"]
    width = stance.get("stance_width_mm")
    if isinstance(width, int | float) and low <= width <= high:
        out["stance_width_mm"] = metadata_value(width)
    centre = stance.get("feet_centre_x_mm", 0.0)
    low, high, _ = METADATA_RANGES["feet_centre_x_mm"]
    if isinstance(centre, int | float) and low <= centre <= high:
        out["feet_centre_x_mm"] = metadata_value(centre)
    out["feet_measured"] = metadata_value(bool(stance.get("measured")))
    return out


def _affected_side(sides: dict, leg: str | None) -> str | None:
    """The affected side the trial was scored with, from its result's ``sides``: "affected"
    names it; a stance leg or front foot said to be the affected or unaffected one, with the
    leg, tells it; None when the result does not say."""
    if sides.get("affected") in ("left", "right"):
        return sides["affected"]
    other = {"left": "right", "right": "left"}
    for key in ("stance", "front_leg"):
        if leg in other and sides.get(key) in ("affected", "unaffected"):
            return leg if sides[key] == "affected" else other[leg]
    return None


def _calibrated_at(started_at: str | None, age_days) -> str | None:
    """The calibration's date and time: the trial's start less the calibration's age the
    result kept; None when either is missing."""
    if not started_at or not isinstance(age_days, int | float):
        return None
    try:
        start = datetime.fromisoformat(started_at)
        return (start - timedelta(days=age_days)).isoformat()
    except (ValueError, OverflowError):
        return None


def _times_from_zero(rows: str) -> str:
    """The column header and the rows, times from the first row's: as they are when they
    already start at 0 (a recording kept since times start there), else each moved by the first
    time, as the exercise counted them (one subtraction, written in shortest repr)."""
    header, _, body = rows.partition("\n")
    first = body.split(",", 1)[0]
    try:
        t0 = float(first)
    except ValueError:  # no rows: as kept
        return rows
    if t0 == 0.0:
        return rows
    moved = [header]
    for line in body.split("\n"):
        if line:
            t, _, loads = line.partition(",")
            moved.append(f"{float(t) - t0!r},{loads}")
    return "\n".join(moved) + "\n"


def _write_recording_files(store, patient_code: str, folder: Path) -> list[Path]:
    written = []
    for kept in store.recording_texts(patient_code):
        path = _inside(folder, recording_file_name(kept.trial_id, kept.exercise))
        text = exported_recording_text(kept)
        # a new temporary file renamed into place: a file with its final name is always whole,
        # and nothing is written through a link; no sync: one for them all at the end
        with written_whole(path, sync=False) as f:
            f.write(text)
        written.append(path)
    return written


def write_recordings(store, patient_code: str, folder: Path) -> list[Path]:
    """Each trial's raw recording as a format-v1 text file that holds what its score was made
    with (``exported_recording_text``; read once, not parsed); synced once at the end; returns
    the files written."""
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
                        entry.write(exported_recording_text(kept).encode("utf-8"))
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
