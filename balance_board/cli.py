"""The ``balance-board`` command: the top layer, which nothing else imports.

    balance-board run        [--board auto|sim|hx711] [--exit-after S]     the touchscreen app
    balance-board record     --board sim|hx711 --seconds N --out FILE       record calibrated loads
    balance-board selftest   [--board sim|hx711] [--seconds S]              per-corner health table
    balance-board calibrate  [--board sim|hx711] [--weight-kg KG]           guided calibration
    balance-board replay     FILE [--exercise E] [--leg L] [--lowpass-hz F] [--json]
    balance-board info       FILE                                           check a recording
    balance-board demo       --out DIR                                      a PNG of every screen
    balance-board report     [--patient CODE] [--from D] [--to D] --out FILE.pdf   the report
    balance-board export     [--patient CODE] --format csv|fhir|recordings --out DIR
    balance-board patient    [--code CODE] [--affected-side S] [--birth-year Y] ...  patients
    balance-board program    [FILE]                                         show or import
    balance-board doctor     [--board auto|hx711|sim] [--json]              what a technician asks

Every command takes ``--data-dir DIR``. The board is opened by ``device.board`` (one place for
every command and the app); what changes the records goes through ``clinic.actions`` (the same
actions as the therapist's screens). Errors are one line in plain words on stderr: exit status 2
for bad input (arguments, files), 3 when the board is not available or not calibrated, 1 when the
self-test finds a fault. Unexpected errors are logged to ``balance-board.log`` in the data
folder, never shown as a traceback.
"""

from __future__ import annotations

import argparse
import errno
import getpass
import json
import logging
import math
import os
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import numpy as np

from clinic import actions
from clinic.export import ExportError
from clinic.program import FILE_NAME, ProgramError, device_program, program_text
from clinic.report import gather, write_report
from clinic.store import Store, StoreError, check_patient_code
from device import CORNER_NAMES
from device.board import Board, BoardError, choose_kind, first_frame, open_board
from device.calibration import CalibrationProcedure, load_calibration
from device.clock import SystemClock
from device.config import BoardConfig, find_board_config
from device.cop import centre_of_pressure
from device.files import atomic_write_text
from device.geometry import GeometryError
from device.paths import LOG_FILE, calibration_path, data_dir, keep_private, records_path
from device.recording import Recording, RecordingError, read_recording, write_recording
from device.selftest import corner_health
from display.pin import FILE_NAME as PIN_FILE
from display.pin import load_pin, set_pin, valid_pin
from exercises.registry import NAMES, SHOWN_CHARS, exercise_spec, shown
from exercises.replay import NotScorable, recording_exercise, replay

log = logging.getLogger("balance_board")

# exit statuses (README, "Exit statuses"): one per kind of trouble, so scripts can tell them apart
EXIT_FAULT = 1  # the board has a fault (self-test; a recording without one valid reading)
EXIT_BAD_INPUT = 2  # arguments, files or values that are not what they should be
EXIT_NO_BOARD = 3  # the board is missing, not answering or not calibrated
EXIT_NOT_SCORABLE = 4  # a recording that reads well but holds nothing to score
# the records file (``clinic.store.StoreError.kind``): each trouble its own status
EXIT_RECORDS = {
    "damaged": 5,
    "foreign": 6,
    "newer": 7,
    "outdated": 7,
    "locked": 8,
    "read-only": 9,
    "cannot-open": 9,
    "disk-full": 10,
}
EXIT_INTERNAL = 70  # a fault of this program (logged with its traceback)
ROTATE_VARIABLE = "BALANCE_BOARD_ROTATE"  # the unit turns the screen with it (README)
ROTATIONS = (0, 90, 270)  # degrees a panel can be turned (display.kiosk.Panel)
MAX_REPORT_DAYS = 10 * 365 + 3  # a report over more is a typing error (years 1 to 9999)
# the days a report may name: from the clock's epoch (a Pi that booted without network or clock
# battery) to far past any clock that stood ahead; years 1 and 9999 are typing errors
REPORT_DAYS = (date(1970, 1, 1), date(2199, 12, 31))

SIM_FAULTS = (
    "unplugged",
    "dout-stuck-low",
    "dout-stuck-high",
    "saturated",
    "rate-low",
    "not-sensing",
)


class UserError(Exception):
    """An error to show as one line, with an exit status."""

    def __init__(self, message: str, status: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.status = status


# --- shared plumbing ------------------------------------------------------------------------------
def _config(args) -> BoardConfig:
    return find_board_config(getattr(args, "geometry", None))


def _sim_fault(text: str) -> tuple[int, str]:
    corner, _, kind = text.partition(":")
    names = {name: i for i, name in enumerate(CORNER_NAMES)}
    if corner not in names or kind not in SIM_FAULTS:
        raise argparse.ArgumentTypeError(
            f"use CORNER:FAULT with CORNER one of {', '.join(CORNER_NAMES)} "
            f"and FAULT one of {', '.join(SIM_FAULTS)}"
        )
    return names[corner], kind


def _open(args, folder: Path, config: BoardConfig, *, calibration_required: bool = True):
    """The board the arguments name, opened (the simulated one runs as fast as it can: only
    the app and a real board need the wall clock), and its first frame."""
    simulated = {}
    if args.board == "sim":
        simulated = {
            "mass_kg": getattr(args, "mass_kg", None) or 70.0,
            "seed": getattr(args, "seed", 0) or 0,
            "on_board": getattr(args, "on_board", True),
            "faults": tuple(getattr(args, "sim_fault", None) or ()),
        }
    board = open_board(
        args.board,
        folder,
        config=config,
        now_iso=SystemClock().now_iso(),
        realtime=args.board != "sim",
        calibration_required=calibration_required,
        **simulated,
    )
    return board, first_frame(board)


# --- commands ------------------------------------------------------------------------------------
def cmd_record(args) -> int:
    if not (math.isfinite(args.seconds) and 0 < args.seconds <= 3600):
        raise UserError("--seconds must be between 0 and 3600")
    out = Path(args.out)
    if out.exists() and out.is_dir():
        raise UserError(f"{out} is a folder; give a file name for the recording")
    if not out.parent.exists():
        raise UserError(f"the folder {out.parent} does not exist")
    folder = data_dir(args.data_dir)
    config = _config(args)
    started_at = SystemClock().now_iso()
    board, first = _open(args, folder, config)
    calibration = board.calibration
    times, loads = [], []
    skipped = [0] * 4
    try:
        frame = first
        t0 = first.t
        while frame.t - t0 < args.seconds:
            if frame.ok:
                sample = calibration.loads(frame)
                times.append(frame.t - t0)
                loads.append(sample.loads_kg)
            else:
                for i, fault in enumerate(frame.faults):
                    skipped[i] += fault is not None
            frame = board.link.read(timeout=5.0)
            if frame is None:
                raise UserError("The board stopped answering during the recording.", EXIT_NO_BOARD)
    finally:
        board.close()
    if len(times) < 2:
        raise UserError("No valid readings were recorded: run balance-board selftest", EXIT_FAULT)
    geometry = config.geometry
    recording = Recording(
        t_s=np.array(times) - times[0],
        loads_kg=np.array(loads),
        board_width_mm=geometry.width_mm,
        board_depth_mm=geometry.depth_mm,
        stance_width_mm=geometry.stance_width_mm,
        exercise=args.exercise,
        leg=args.leg,
        subject_mass_kg=args.mass_kg,
        affected_side=args.affected_side,
        started_at=started_at,
        extra={"board": args.board, "calibrated_at": calibration.calibrated_at},
    )
    write_recording(out, recording)
    rate = (len(times) - 1) / recording.duration_s if recording.duration_s else 0
    print(
        f"Recorded {len(times)} samples over {recording.duration_s:.1f} s ({rate:.1f}/s) to {out}"
    )
    if any(skipped):
        where = ", ".join(f"{CORNER_NAMES[i]} {n}" for i, n in enumerate(skipped) if n)
        print(f"Left out samples with a faulty corner: {where}", file=sys.stderr)
    return 0


def cmd_selftest(args) -> int:
    folder = data_dir(args.data_dir)
    board, first = _open(args, folder, _config(args), calibration_required=False)
    frames = [first]
    try:
        while frames[-1].t - first.t < args.seconds:
            frame = board.link.read(timeout=5.0)
            if frame is None:
                break
            frames.append(frame)
    finally:
        board.close()
    duration = max(frames[-1].t - first.t, 1e-9)
    print(f"Self-test over {duration:.1f} s, {len(frames)} frames")
    header = (
        f"{'corner':<12} {'status':<8} {'rate /s':>8} {'noise':>8} {'noise g':>8} {'load kg':>8}"
    )
    print(header)
    print("-" * len(header))
    rows = corner_health(frames, board.calibration)
    for r in rows:
        print(
            f"{r.corner:<12} {r.status:<8} {r.rate_sps:8.1f} {r.noise_counts:8.1f} "
            f"{r.noise_g:8.1f} {r.load_kg:8.2f}"
        )
    if board.calibration is None:
        print("(not calibrated: grams and kilograms cannot be shown)")
    for r in rows:
        if r.problem:
            print(r.problem)
    return EXIT_FAULT if any(not r.ok for r in rows) else 0


def cmd_calibrate(args) -> int:
    if not (math.isfinite(args.weight_kg) and 0.5 <= args.weight_kg <= 100):
        raise UserError("--weight-kg must be between 0.5 and 100")
    folder = data_dir(args.data_dir)
    config = _config(args)
    clock = SystemClock()
    path = calibration_path(folder, args.board)
    if args.board == "sim":
        # a simulated helper follows the same procedure (the simulation is imported only here,
        # when the simulated board is asked for)
        from device.sim.board import calibrate_simulated

        calibration = calibrate_simulated(
            config.geometry, clock.now_iso(), known_weight_kg=args.weight_kg
        )
        _keep_calibration(folder, path, calibration, clock)
        print(f"Simulated board calibrated; saved to {path}")
        return 0
    procedure = CalibrationProcedure(args.weight_kg, clock.now_iso(), geometry=config.geometry)
    board, frame = _open(args, folder, config, calibration_required=False)
    shown = None
    try:
        state = procedure.feed(frame)
        while not state.done:
            message = state.problem or state.prompt
            if message != shown:
                print(message, flush=True)
                shown = message
            frame = board.link.read(timeout=5.0)
            if frame is None:
                raise UserError("The board stopped answering.", EXIT_NO_BOARD)
            state = procedure.feed(frame)
    finally:
        board.close()
    _keep_calibration(folder, path, state.calibration, clock, board)
    for note in state.calibration.notes:
        print(note)
    print(f"Calibration saved to {path}")
    return 0


def _keep_calibration(folder: Path, path: Path, calibration, clock, board=None) -> None:
    """Keep a calibration as the therapist's screen does (``clinic.actions``): saved, and
    logged in the records when there are records."""
    board = board or Board("sim", None, None, path)  # the simulated board, not opened
    store = Store(records_path(folder)) if records_path(folder).exists() else None
    try:
        actions.keep_calibration(board, calibration, store, now_iso=clock.now_iso())
    finally:
        if store is not None:
            store.close()


def _not_a_device(path: str) -> None:
    """Refuse a device, a pipe or a socket given as a file before a byte is read: /dev/zero
    has no size to refuse and no end of line, so a reader would fill the memory."""
    file = Path(path)
    if file.exists() and not file.is_dir() and not file.is_file():
        raise UserError(f"{path} is not a regular file (a device, a pipe or a socket)")


def cmd_info(args) -> int:
    _not_a_device(args.file)
    rec = read_recording(args.file)
    x, y, total = centre_of_pressure(rec.loads_kg, rec.board_width_mm, rec.board_depth_mm)
    rate = (len(rec.t_s) - 1) / rec.duration_s if rec.duration_s else 0
    print(f"{args.file}: {len(rec.t_s)} samples, {rec.duration_s:.2f} s, {rate:.1f} samples/s")
    print(
        f"board {rec.board_width_mm:g} × {rec.board_depth_mm:g} mm; total load "
        f"{np.nanmean(total):.1f} kg mean"
    )
    if np.isfinite(x).any():
        print(
            f"CoP x {np.nanmin(x):.1f} to {np.nanmax(x):.1f} mm, "
            f"y {np.nanmin(y):.1f} to {np.nanmax(y):.1f} mm"
        )
    for key in ("exercise", "leg", "subject_mass_kg", "started_at"):
        if getattr(rec, key) is not None:
            print(f"{key}: {getattr(rec, key)}")
    return 0


def _replay_params(exercise: str, pairs: list[str]) -> dict:
    """``--param KEY=VALUE`` settings, each checked against the exercise's own settings (the
    same check as a program file's)."""
    spec = exercise_spec(exercise)
    params = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"--param {pair!r}: write it as KEY=VALUE, e.g. eyes=closed")
        if key not in spec.parameter_names:
            known = ", ".join(spec.parameter_names) or "none"
            raise UserError(f"--param {key}: {exercise} has no such setting (it has: {known})")
        parameter = spec.parameter(key)
        value: object = text.strip()
        if parameter.numeric:
            try:
                value = float(text)
            except ValueError:
                raise UserError(f"--param {key}: {text!r} is not a number") from None
            if parameter.kind is int and value.is_integer():
                value = int(value)
        try:
            params[key] = parameter.check(value)
        except ValueError as exc:
            raise UserError(f"--param {exc}") from None
    return params


def cmd_replay(args) -> int:
    if not (math.isfinite(args.lowpass_hz) and args.lowpass_hz >= 0):
        raise UserError("--lowpass-hz must be 0 (off) or a positive number of Hz")
    if args.body_mass_kg is not None and not 20 <= args.body_mass_kg <= 300:
        raise UserError("--body-mass-kg must be between 20 and 300")
    _not_a_device(args.file)
    recording = read_recording(args.file)
    try:  # the recording's own exercise (its header) unless --exercise says
        exercise = recording_exercise(recording, args.exercise)
    except ValueError as exc:
        raise UserError(f"{args.file}: {exc}") from None
    params = _replay_params(exercise, args.param or [])
    try:
        result = replay(
            recording,
            exercise,
            leg=args.leg,
            lowpass_hz=args.lowpass_hz,
            affected_side=args.affected_side,
            body_mass_kg=args.body_mass_kg,
            params=params,
        )
    except NotScorable as exc:
        raise UserError(f"{args.file}: {exc}", EXIT_NOT_SCORABLE) from None
    except ValueError as exc:
        raise UserError(f"{args.file}: {exc}") from None
    data = result.to_dict()
    # not scored (a gap, a failed cell…): the result is still printed, with its reasons
    status = 0 if data["score"] is not None else EXIT_NOT_SCORABLE
    if args.json:
        print(json.dumps(data, allow_nan=False))
        return status
    score = "not scored" if data["score"] is None else f"{data['score']:.0f}/100"
    print(f"{data['exercise']}: {score}")
    for name, value in data["metrics"].items():
        print(f"  {name}: {value if value is None else round(value, 3)}")
    for event in data["events"]:
        print(f"  {event['t_s']:8.2f} s  {event['kind']}")
    if data["flags"]:
        print(f"  flags: {', '.join(data['flags'])}")
    for flag in data["quality"]["sensor_faults"] + data["quality"]["warnings"]:
        print(f"  ! {flag}")
    return status


def cmd_demo(args) -> int:
    # imported when used: the screens and pygame cost start-up time every other command saves
    from display.demo import run_demo

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; give a folder for the screenshots")
    folder = data_dir(args.data_dir or out)
    files = run_demo(out, folder, _config(args))
    print(f"{len(files)} screenshots in {out}; records in {records_path(folder)}")
    # the therapist's side of the same records: the report and every export
    common = ["--data-dir", str(folder), "--patient", "P-DEMO"]
    cmd_report(build_parser().parse_args(["report", *common, "--out", str(out / "report.pdf")]))
    for kind in ("csv", "fhir", "recordings"):
        args = ["export", *common, "--format", kind, "--out", str(out / "export")]
        cmd_export(build_parser().parse_args(args))
    return 0


# --- the clinic: patients, programs, reports, exports --------------------------------------------
def _store(args, *, read_only: bool = False) -> Store:
    """The records file; ``read_only`` for commands that only read (they change nothing, even
    while the app is mid-trial)."""
    path = records_path(data_dir(args.data_dir))
    if not path.exists():
        raise UserError(f"there are no records in {path.parent} yet", EXIT_BAD_INPUT)
    return Store(path, read_only=read_only)  # a StoreError: the exit status of its kind


def _patient_code(args, store) -> str:
    """--patient, or the only patient on the device."""
    codes = [p.code for p in store.patients()]
    if args.patient:
        if args.patient not in codes:
            known = ", ".join(codes) or "none"
            raise UserError(f"no patient {args.patient} on this device (patients: {known})")
        return args.patient
    if len(codes) == 1:
        return codes[0]
    if not codes:
        raise UserError("there are no patients on this device yet")
    raise UserError(f"this device has {len(codes)} patients: say which with --patient")


def _date(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a date like 2026-11-23") from None
    first, last = REPORT_DAYS
    if not first <= day <= last:
        raise argparse.ArgumentTypeError(
            f"{text}: a report covers days from {first} to {last} (what a device's clock shows)"
        )
    return day


def _default_end(store, code: str, today: date) -> tuple[date, str, str | None]:
    """The report's last day when --to is not given: the day of her latest session, of those
    not after today by this device's clock (one session on a clock that stood a year ahead
    must not move the report's twelve weeks into months she has not lived); today when she
    has none. Only when every session of hers lies after today (the clock is behind now) is
    the latest of them the end. Returns (the day, what it is in words, a note to show or None).
    """
    latest = store.latest_session_day(code, not_after=today)
    ahead = store.sessions(code, first_day=today + timedelta(days=1), unreadable=[])
    if not ahead:
        return (latest, "the day of her latest session", None) if latest else (today, "today", None)
    last_ahead = max(datetime.fromisoformat(s["started_at"]).date() for s in ahead)
    if latest is None:
        return (
            last_ahead,
            "the day of her latest session",
            f"every session of hers is dated after today by this device's clock (the latest "
            f"on {last_ahead}): the report ends then; is the clock right?",
        )
    return (
        latest,
        "the day of her latest session",
        f"{len(ahead)} session(s) dated after today by this device's clock (the latest on "
        f"{last_ahead}: was the clock ahead?) are outside the report; give --to to include them",
    )


def cmd_report(args) -> int:
    out = Path(args.out)
    if out.suffix.lower() != ".pdf":
        raise UserError(f"{out}: the report is a PDF; give a file name ending in .pdf")
    if not out.parent.is_dir():
        raise UserError(f"{out.parent} is not a folder")
    with _store(args, read_only=True) as store:
        code = _patient_code(args, store)
        today = datetime.fromisoformat(SystemClock().now_iso()).date()
        note = None
        if args.to is not None:
            date_to = args.to
        else:
            date_to, end_words, note = _default_end(store, code, today)
        date_from = args.from_ or date_to - timedelta(weeks=12) + timedelta(days=1)
        if date_to < date_from:
            if args.to is None:
                raise UserError(
                    f"--from {date_from} is after the report's last day, {date_to} ({end_words});"
                    " give --to as well"
                )
            raise UserError("--to is before --from")
        if (date_to - date_from).days > MAX_REPORT_DAYS:
            raise UserError(
                f"a report covers at most {MAX_REPORT_DAYS // 365} years; "
                "give --from and --to closer together"
            )
        folder = data_dir(args.data_dir)
        status = load_calibration(calibration_path(folder, "hx711"))
        if status.calibration is None:
            status = load_calibration(calibration_path(folder, "sim"))
        calibrated_at = status.calibration.calibrated_at if status.calibration else None
        data = gather(
            store,
            code,
            date_from,
            date_to,
            calibrated_at=calibrated_at,
            device=f"device {actions.device_name()}, software {actions.software_version()}",
        )
    try:
        pages = write_report(data, out)  # whole or not at all
    except OSError as exc:
        raise _cannot_write(out, exc, "the report") from None
    print(f"{out}: {pages} pages, {len(data.trials)} trials from {date_from} to {date_to}")
    if note:
        print(f"balance-board: note: {note}", file=sys.stderr)
    if data.unreadable:
        named = ", ".join(f"{row.table} {row.id}" for row in data.unreadable[:10])
        print(
            f"balance-board: note: {len(data.unreadable)} damaged record(s) left out of the "
            f"report ({named}{', …' if len(data.unreadable) > 10 else ''}), named under "
            '"Data quality"; the records file needs the technician',
            file=sys.stderr,
        )
    return 0


def _cannot_write(path: Path, exc: OSError, what: str) -> UserError:
    """A file or folder a command must write (a report, an export, the PIN) that cannot be
    written: one line with the system's reason, and the exit status of the kind of trouble
    (a full disk; a read-only medium or no permission; else a place that cannot hold it)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        status = EXIT_RECORDS["disk-full"]
    elif exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        status = EXIT_RECORDS["read-only"]
    else:
        status = EXIT_BAD_INPUT
    reason = exc.strerror or str(exc)
    return UserError(f"{what} cannot be written to {path} ({reason}); nothing was written", status)


def cmd_export(args) -> int:
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; give a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_write(out, exc, "the export") from None
    # an export reads: it works on the cards data are rescued from (read-only, full); its one
    # trace in the device log is written apart, when it can be (``Store.log_event``)
    with _store(args, read_only=True) as store:
        code = _patient_code(args, store)
        try:
            done = actions.export_records(
                store, code, args.format, out, now_iso=SystemClock().now_iso()
            )
        except OSError as exc:
            raise _cannot_write(out, exc, "the export") from None
    print(done.summary(args.format))
    if done.not_logged:
        print(
            f"balance-board: note: the export is done but not noted in the device log: "
            f"{done.not_logged}",
            file=sys.stderr,
        )
    return 0


def _read_new_pin() -> str:
    """The new PIN: typed twice, hidden, at a terminal; one line on standard input otherwise
    (an installer script)."""
    if sys.stdin.isatty():
        first = getpass.getpass("New therapist PIN (4 to 8 digits): ")
        if getpass.getpass("The same PIN again: ") != first:
            raise UserError("the two PINs differ; nothing changed")
        return first
    return sys.stdin.readline().strip()


def cmd_pin(args) -> int:
    """The technician's side of the PIN: its state, or a new one (the recovery of a lost or
    damaged PIN: it needs a shell on the device, and it is logged)."""
    folder = data_dir(args.data_dir)
    if args.action == "status":
        state = load_pin(folder)
        words = {
            "set": "a PIN is set",
            "missing": "no PIN is set: therapist mode is closed until `balance-board pin set`",
            "damaged": "the PIN file is damaged: therapist mode is closed until "
            "`balance-board pin set`",
        }[state.status]
        extra = f" ({state.failed_attempts} wrong attempt(s) since the last right one)"
        print(words + (extra if state.is_set else ""))
        return 0
    pin = _read_new_pin()
    if not valid_pin(pin):
        raise UserError("the PIN must be 4 to 8 digits; nothing changed")
    before = load_pin(folder).status
    _set_pin_with_its_trace(
        folder, pin, f"PIN set by the technician from a shell (it was {before})"
    )
    log.warning("therapist PIN set from the command line (it was %s)", before)
    print("PIN set. Therapist mode opens with it; the change is in the device log.")
    return 0


def _set_pin_with_its_trace(folder: Path, pin: str, message: str) -> None:
    """A new PIN and its ``pin_reset`` event in the records, both or neither: a PIN changed
    without a trace is what the recovery must never be. The records are opened for writing
    first (a damaged, foreign, locked, read-only or full records file stops it here, before
    anything changes), the event written in a transaction with the PIN file saved inside it,
    and the old PIN file put back should the commit fail. Without records yet the trace is
    the device log's alone."""
    path = records_path(folder)
    if not path.exists():
        _save_pin(folder, pin)
        return
    pin_file = folder / PIN_FILE
    try:
        previous = pin_file.read_bytes()
    except OSError:
        previous = None  # none (or unreadable: closed either way, as it was)
    saved = False
    try:
        with Store(path) as store, store.batch():
            store.log_event("pin_reset", message, SystemClock().now_iso())
            _save_pin(folder, pin)  # an error here undoes the event with it
            saved = True
    except StoreError as exc:
        if saved:  # the event could not be committed: the PIN goes back to what it was
            if previous is None:
                pin_file.unlink(missing_ok=True)
            else:
                atomic_write_text(pin_file, previous.decode("utf-8", errors="replace"))
        raise UserError(
            f"{exc}; the PIN was not changed (its change must be in the records)",
            EXIT_RECORDS.get(exc.kind, EXIT_BAD_INPUT),
        ) from None


def _save_pin(folder: Path, pin: str) -> None:
    try:
        set_pin(folder, pin)
    except OSError as exc:
        raise _cannot_write(folder / PIN_FILE, exc, "the PIN") from None


def cmd_patient(args) -> int:
    folder = data_dir(args.data_dir)
    changes = {
        k: v
        for k, v in (
            ("affected_side", args.affected_side),
            ("birth_year", args.birth_year),
            ("sex", args.sex),
            ("height_cm", args.height_cm),
            ("body_mass_kg", args.mass_kg),
        )
        if v is not None
    }
    now = SystemClock().now_iso()
    if args.code is not None:
        try:
            check_patient_code(args.code)
        except StoreError as exc:
            raise UserError(str(exc)) from None
    listing_only = not args.code and not changes
    if listing_only and not records_path(folder).exists():
        print("no patients yet")
        return 0
    try:
        with Store(records_path(folder), read_only=listing_only) as store:
            codes = [p.code for p in store.patients()]
            if args.code and args.code not in codes:
                actions.add_patient(store, folder, args.code, now_iso=now, **changes)
                print(f"added patient {args.code}")
            elif changes:
                args.patient = args.code
                code = _patient_code(args, store)
                actions.set_patient_details(store, folder, code, now_iso=now, **changes)
            for patient in store.patients():
                print(
                    f"{patient.code}: affected side {patient.affected_side or '-'}, born "
                    f"{patient.birth_year or '-'}, sex {patient.sex or '-'}, "
                    f"{patient.height_cm or '-'} cm, {patient.body_mass_kg or '-'} kg"
                )
    except StoreError as exc:
        raise UserError(str(exc), EXIT_RECORDS.get(exc.kind, EXIT_BAD_INPUT)) from None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return 0


def cmd_program(args) -> int:
    folder = data_dir(args.data_dir)
    if args.file:
        store = _store(args) if records_path(folder).exists() else None
        try:
            code = _patient_code(args, store) if store is not None and store.patients() else None
            program = actions.import_program(
                folder, store, code, Path(args.file), now_iso=SystemClock().now_iso()
            )
        except ProgramError as exc:
            raise UserError(str(exc)) from None
        finally:
            if store is not None:
                store.close()
        print(f"program with {len(program.exercises)} exercises imported into {folder / FILE_NAME}")
        return 0
    program, problem = device_program(folder)
    if problem:
        print(f"# not used, the default program is: {problem}")
    print(program_text(program), end="")
    return 0


def cmd_doctor(args) -> int:
    from balance_board import doctor  # imported when used: pygame, SQLite and the driver

    options = doctor.Options(
        board=args.board,
        data_dir=args.data_dir,
        geometry=args.geometry,
        seconds=args.seconds,
        sim_faults=tuple(args.sim_fault or ()),
    )
    findings = doctor.examine(options)
    print(doctor.report_json(findings) if args.json else doctor.report_text(findings))
    return doctor.exit_status(findings)


def _rotation(args) -> int:
    """``--rotate``, else ``$BALANCE_BOARD_ROTATE`` (the unit's way), else 0. Checked here,
    not when the arguments are parsed: a bad value in the environment must not stop the
    commands that do not draw (``doctor`` reports it)."""
    if args.rotate is not None:
        return args.rotate
    text = os.environ.get(ROTATE_VARIABLE, "").strip() or "0"
    if text not in {str(degrees) for degrees in ROTATIONS}:
        raise UserError(f"${ROTATE_VARIABLE}={text!r}: use 0, 90 or 270")
    return int(text)


def cmd_run(args) -> int:
    # imported when used: the screens and pygame cost start-up time every other command saves
    from display.app import run_app

    rotation = _rotation(args)
    folder = data_dir(args.data_dir)
    config = _config(args)
    kind = choose_kind(args.board)  # on a Pi the real board, always: never a simulated one
    # a real board not calibrated yet still starts the app: the first start (or therapist
    # mode) calibrates it on the screen, and the board screen says so until then
    board = open_board(
        kind, folder, config=config, now_iso=SystemClock().now_iso(), calibration_required=False
    )
    return run_app(
        board,
        folder,
        patient=args.patient,
        exit_after_s=args.exit_after,
        rotation=rotation,
        window=args.window,
    )


# --- argument parsing ---------------------------------------------------------------------------
def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{shown(text)} must be a positive number")
    return value


class OneLineParser(argparse.ArgumentParser):
    """argparse's parser, whose mistakes are said as every other error of the command is: one
    line, "balance-board: what is wrong (see balance-board CMD --help)", exit status 2; not the
    usage of every option first. Each command's parser is one too (argparse makes them of
    their parent's class)."""

    def error(self, message: str) -> NoReturn:
        words = " ".join(message.split())  # one line, whatever argparse put in it
        if len(words) > 3 * SHOWN_CHARS:  # it may echo what was typed: a line, not a page
            words = words[: 3 * SHOWN_CHARS - 1] + "…"
        self.exit(EXIT_BAD_INPUT, f"balance-board: {words} (see {self.prog} --help)\n")

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but an argument no command knows is said by that command's parser
        (argparse says it with the top one's name: "see balance-board --help")."""
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            commands = [a for a in self._actions if isinstance(a, argparse._SubParsersAction)]
            command = getattr(parsed, "command", None)
            parser = commands[0].choices.get(command, self) if commands else self
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="balance-board", description="Home balance board for stroke rehabilitation."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, boards=("sim", "hx711"), default="sim"):
        p.add_argument("--data-dir", help="folder for calibration and records")
        p.add_argument("--geometry", help="board configuration file (see hardware/board.toml)")
        p.add_argument("--board", choices=boards, default=default)

    p = sub.add_parser("run", help="the touchscreen app")
    common(p, ("auto", "sim", "hx711"), "auto")
    p.add_argument("--patient", choices=("auto", "manual"), default="auto")
    p.add_argument("--exit-after", type=_positive_float, metavar="SECONDS")
    p.add_argument("--window", action="store_true", help="a window even on the Pi")
    p.add_argument(
        "--rotate",
        type=int,
        choices=ROTATIONS,
        help=f"turn the picture for a portrait panel (720 × 1280: 90); default "
        f"${ROTATE_VARIABLE}, else 0",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("record", help="record calibrated loads to a file")
    common(p, default=None)
    p.add_argument("--seconds", type=_positive_float, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--exercise")
    p.add_argument("--leg", choices=("left", "right"))
    p.add_argument("--affected-side", choices=("left", "right"), help="kept in the header")
    p.add_argument(
        "--mass-kg", type=_positive_float, help="body mass (and of the simulated person)"
    )
    p.add_argument("--seed", type=int, default=0, help="simulated person's seed")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("selftest", help="check every corner")
    common(p)
    p.add_argument("--seconds", type=_positive_float, default=3.0)
    p.add_argument("--sim-fault", type=_sim_fault, action="append", metavar="CORNER:FAULT")
    p.set_defaults(func=cmd_selftest, on_board=False)

    p = sub.add_parser("calibrate", help="calibrate with a known weight")
    common(p)
    p.add_argument("--weight-kg", type=_positive_float, default=5.0)
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("demo", help="a scripted session: a PNG of every screen")
    p.add_argument("--out", required=True, help="folder for the screenshots")
    p.add_argument("--data-dir", help="folder for the records (default: the --out folder)")
    p.add_argument("--geometry", help="board configuration file (see hardware/board.toml)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("replay", help="score a recording")
    p.add_argument("file")
    p.add_argument("--exercise", choices=NAMES, help="default: the recording's (its header)")
    p.add_argument(
        "--leg",
        choices=("left", "right"),
        help="the stance leg (flamingo), the front foot (tandem-stance)",
    )
    p.add_argument("--lowpass-hz", type=float, default=10.0, help="0 turns the filter off")
    p.add_argument(
        "--affected-side", choices=("left", "right"), help="default: the recording's header"
    )
    p.add_argument(
        "--body-mass-kg",
        type=_positive_float,
        help="body mass for support (default: the recording's subject_mass_kg)",
    )
    p.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="an exercise setting, as in a program file (eyes=closed, hold_s=10); repeatable",
    )
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.add_argument("--data-dir", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("report", help="the therapist's PDF report")
    p.add_argument("--patient", help="patient code (not needed with one patient)")
    p.add_argument("--from", dest="from_", type=_date, help="first day (default: 12 weeks back)")
    p.add_argument("--to", type=_date, help="last day (default: the last session)")
    p.add_argument("--out", required=True, help="FILE.pdf")
    p.add_argument("--data-dir", help="folder of the records")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("export", help="the records as CSV, FHIR or raw recordings")
    p.add_argument("--patient", help="patient code (not needed with one patient)")
    p.add_argument("--format", choices=("csv", "fhir", "recordings"), required=True)
    p.add_argument("--out", required=True, help="folder")
    p.add_argument("--data-dir", help="folder of the records")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("patient", help="add a patient or change their details; lists them")
    p.add_argument("--code", help="pseudonymous code (a new code adds a patient)")
    p.add_argument("--affected-side", choices=("left", "right"))
    p.add_argument("--birth-year", type=int)
    p.add_argument("--sex", choices=("female", "male", "other"))
    p.add_argument("--height-cm", type=_positive_float)
    p.add_argument("--mass-kg", type=_positive_float)
    p.add_argument("--data-dir", help="folder of the records")
    p.set_defaults(func=cmd_patient, patient=None)

    p = sub.add_parser("program", help="show the program, or import one from a TOML file")
    p.add_argument("file", nargs="?", help="a program file to check and import")
    p.add_argument("--patient", help="patient code (not needed with one patient)")
    p.add_argument("--data-dir", help="folder of the records")
    p.set_defaults(func=cmd_program)

    p = sub.add_parser(
        "pin", help="the therapist PIN: its state, or set a new one (technician's recovery)"
    )
    p.add_argument("action", choices=("status", "set"))
    p.add_argument("--data-dir", help="folder of the device's data")
    p.set_defaults(func=cmd_pin)

    p = sub.add_parser(
        "doctor",
        help="what a technician asks for: versions, configuration, pins, display, sound, "
        "disk, clock, records, recent faults, the service; writes nothing",
    )
    p.add_argument("--data-dir", help="the data folder (default: the service's)")
    p.add_argument("--geometry", help="board configuration file (see hardware/board.toml)")
    p.add_argument(
        "--board",
        choices=("auto", "hx711", "sim"),
        default="auto",
        help="whose pins to listen to (auto: the Pi's when this machine has GPIO)",
    )
    p.add_argument("--seconds", type=_positive_float, default=3.0, help="per listen")
    p.add_argument("--sim-fault", type=_sim_fault, action="append", metavar="CORNER:FAULT")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    # it writes nothing, not even the log file (a read-only system, the service's user)
    p.set_defaults(func=cmd_doctor, log_to_file=False)

    p = sub.add_parser("info", help="check and summarise a recording")
    p.add_argument("file")
    p.add_argument("--data-dir", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_info)
    return parser


def _log_to_file(folder: str | None) -> logging.Handler | None:
    """Log to the data folder's log file for this command (the handler to remove after)."""
    try:
        handler = logging.FileHandler(data_dir(folder) / LOG_FILE, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    return handler


def main(argv: list[str] | None = None) -> int:
    keep_private()  # health data: every file made from here on is the user's alone
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "record" and args.board is None:
        parser.error("record needs --board sim or --board hx711")
    handler = (
        _log_to_file(getattr(args, "data_dir", None))
        if getattr(args, "log_to_file", True)
        else None
    )
    try:
        return _run(args)
    finally:
        if handler is not None:  # main() may run again in this process (tests, the demo)
            logging.getLogger().removeHandler(handler)
            handler.close()


def _run(args) -> int:
    """Run the command; every error becomes one line and an exit status."""
    try:
        return args.func(args)
    except UserError as exc:
        print(f"balance-board: {exc}", file=sys.stderr)
        return exc.status
    except BoardError as exc:
        print(f"balance-board: {exc}", file=sys.stderr)
        return EXIT_NO_BOARD
    except StoreError as exc:
        print(f"balance-board: {exc}", file=sys.stderr)
        return EXIT_RECORDS.get(exc.kind, EXIT_BAD_INPUT)
    except (RecordingError, GeometryError, ExportError) as exc:
        print(f"balance-board: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("balance-board: stopped", file=sys.stderr)
        return 130
    except Exception as exc:
        log.exception("unexpected error in %s", args.command)
        print(
            f"balance-board: something went wrong ({type(exc).__name__}: {exc}). "
            "Details are in balance-board.log in the data folder.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
