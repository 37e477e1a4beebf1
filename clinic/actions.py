"""The clinic's actions, shared by the command line and the therapist's screens.

Each action is written once, with all its side effects: the file written, the version kept in
the records, the event logged for the therapist. The command line (``balance_board.cli``) and the
therapist's screens (``display.therapist``) both call these, so importing a program from a USB
stick on the screen and with ``balance-board program FILE`` do the same thing.

The patient's affected side has one source of truth, the patient's record: a program that
states a side sets the record, and the program file the device writes always states the
record's side (``prescribe``, ``set_patient_details``).

Example::

    with Store(records_path(folder)) as store:
        program = import_program(folder, store, "P-0001", Path("/media/usb/program.toml"),
                                 now_iso=clock.now_iso())
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from clinic.export import (
    DEVICE_NAME,
    export_encrypted,
    export_to_folder,
    new_password,
    write_recordings,
    write_trials_csv,
)
from clinic.fhir import write_bundle
from clinic.program import (
    FILE_NAME,
    Program,
    device_program,
    load_program,
    program_text,
    save_program,
)
from clinic.store import StoreError

EXPORT_KINDS = ("csv", "fhir", "recordings", "folder", "encrypted")
MAX_AGE_Y = 120


def software_version() -> str:
    """This software's version (the installed package's), or "development"."""
    try:
        return version("balance-board")
    except PackageNotFoundError:
        return "development"


def device_name() -> str:
    """The name the device goes by in exports and reports: the kind of device, never this
    host's name (exports and reports leave the house)."""
    return DEVICE_NAME


# --- the patient ---------------------------------------------------------------------------------
def _check_birth_year(details: dict, now_iso: str) -> None:
    """A birth year in the future or more than ``MAX_AGE_Y`` years ago is a typing error."""
    year = details.get("birth_year")
    if year is None:
        return
    this_year = datetime.fromisoformat(now_iso).year
    if isinstance(year, bool) or not isinstance(year, int):
        raise ValueError("the year of birth must be a whole number, like 1950")
    if not this_year - MAX_AGE_Y <= year <= this_year:
        raise ValueError(
            f"year of birth out of range: between {this_year - MAX_AGE_Y} and {this_year}, "
            f"not {year}"
        )


def add_patient(store, folder: Path, code: str, *, now_iso: str, **details):
    """A new patient (pseudonymous code) with their details; logged."""
    _check_birth_year(details, now_iso)
    patient = store.add_patient(code, created_at=now_iso, **details)
    store.log_event("patient", f"patient {code} added", now_iso)
    if "affected_side" in details:
        _write_side_into_program(folder, patient.affected_side)
    return patient


def set_patient_details(store, folder: Path, code: str, *, now_iso: str, **details):
    """Change a patient's details (affected_side, birth_year, sex, height_cm, body_mass_kg).
    The affected side is written into the device's program file too, so the two never
    disagree; logged."""
    _check_birth_year(details, now_iso)
    patient = store.update_patient(code, **details)
    changed = ", ".join(f"{k}={v}" for k, v in sorted(details.items()))
    store.log_event("patient", f"patient {code}: {changed}", now_iso)
    if "affected_side" in details:
        _write_side_into_program(folder, patient.affected_side)
    return patient


def _write_side_into_program(folder: Path | None, side: str | None) -> None:
    if folder is None or not (Path(folder) / FILE_NAME).exists():
        return
    program, problem = device_program(Path(folder))
    if problem is None:
        save_program(Path(folder) / FILE_NAME, program.with_side(side))


# --- the program ---------------------------------------------------------------------------------
def keep_program_version(store, code: str, program: Program, *, now_iso: str, source: str) -> bool:
    """Keep the program in force in the records, unless it is the version kept last (the report
    compares what was done with what was prescribed at the time). True when a version was
    added."""
    text = program_text(program)
    versions = store.programs(code)
    if versions and versions[-1]["text"] == text:
        return False
    store.save_program(code, text, now_iso, source)
    return True


def prescribe(
    folder: Path | None,
    store,
    code: str | None,
    program: Program,
    *,
    now_iso: str,
    source: str,
    message: str,
) -> Program:
    """Make ``program`` the patient's: a side it states goes into the patient's record; the
    program file is written stating the record's side; the version is kept and the change
    logged. Returns the program as written. ProgramError or OSError leave everything as it
    was."""
    side = program.affected_side  # what the program states, else the record's
    if side is None and store is not None and code is not None:
        side = store.patient(code).affected_side
    program = program.with_side(side if side != "none" else None)
    if folder is not None:
        save_program(Path(folder) / FILE_NAME, program)  # first: a failure changes nothing
    if store is not None and code is not None:
        recorded = None if program.affected_side == "none" else program.affected_side
        if store.patient(code).affected_side != recorded:
            set_patient_details(store, None, code, now_iso=now_iso, affected_side=recorded)
        keep_program_version(store, code, program, now_iso=now_iso, source=source)
        store.log_event("program", message, now_iso)
    return program


def import_program(folder: Path, store, code: str | None, path: Path, *, now_iso: str) -> Program:
    """Check a program file (ProgramError naming the line and field) and make it the
    patient's (``prescribe``)."""
    program = load_program(path)
    return prescribe(
        folder,
        store,
        code,
        program,
        now_iso=now_iso,
        source="import",
        message=f"program imported from {path}",
    )


# --- the calibration -----------------------------------------------------------------------------
def keep_calibration(board, calibration, store=None, *, now_iso: str) -> None:
    """A new calibration of ``board`` (``device.board.Board``): saved atomically and put in use,
    logged when there are records. OSError when it cannot be saved (then the old one stays)."""
    board.use_calibration(calibration)
    if store is not None:
        store.log_event("calibration", f"known weight {calibration.known_weight_kg:g} kg", now_iso)


# --- exports -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exported:
    """What an export wrote: the file or folder, how many items, for an encrypted archive the
    password to show once, and why the export is not in the device log when it could not be
    noted there (``not_logged``)."""

    path: Path
    count: int
    password: str | None = None
    not_logged: str | None = None

    def summary(self, kind: str) -> str:
        what = {
            "csv": "trials",
            "fhir": "resources in a FHIR R4 Bundle",
            "recordings": "recordings (format v1)",
            "folder": "trials",
            "encrypted": "trials, encrypted",
        }[kind]
        return f"{self.path}: {self.count} {what}"


def export_records(
    store, code: str, kind: str, destination: Path, *, now_iso: str, stamp: str | None = None
) -> Exported:
    """Export a patient's records into ``destination`` (a folder), logged when the records can
    take the event (best effort: see the end).

    ``csv``: ``CODE-trials.csv``; ``fhir``: ``CODE-bundle.json``; ``recordings``:
    ``CODE-recordings/``; ``folder``: a new folder ``balance-board-CODE-STAMP`` with trials.csv
    and recordings (for a USB stick); ``encrypted``: the same as one AES-256 zip, with a new
    random password.
    """
    destination = Path(destination)
    trials = sum(1 for _ in store.iter_trials(code, status=None))  # one at a time: years of them
    if kind == "csv":
        path = destination / f"{code}-trials.csv"
        write_trials_csv(store, code, path)
        done = Exported(path, trials)
    elif kind == "fhir":
        path = destination / f"{code}-bundle.json"
        entries = write_bundle(
            store, code, path, device_version=software_version(), now_iso=now_iso
        )
        done = Exported(path, entries)
    elif kind == "recordings":
        path = destination / f"{code}-recordings"
        done = Exported(path, len(write_recordings(store, code, path)))
    elif kind == "folder":
        done = Exported(export_to_folder(store, code, destination, stamp or "export"), trials)
    elif kind == "encrypted":
        password = new_password()
        path = export_encrypted(store, code, destination, stamp or "export", password)
        done = Exported(path, trials, password)
    else:
        raise ValueError(f"unknown export {kind!r}; one of {', '.join(EXPORT_KINDS)}")
    try:
        store.log_event("export", f"{kind} export to {done.path}", now_iso)
    except StoreError as exc:
        # the export is whole and in place; the cards data are rescued from (read-only, full)
        # cannot take its event, which must not undo it: the caller says it is not logged
        return replace(done, not_logged=str(exc))
    return done
