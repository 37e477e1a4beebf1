"""The ``balance-board`` command.

    balance-board run        [--board auto|sim|hx711] [--exit-after S]     the touchscreen app
    balance-board record     --board sim|hx711 --seconds N --out FILE       record calibrated loads
    balance-board selftest   [--board sim|hx711] [--seconds S]              per-corner health table
    balance-board calibrate  [--board sim|hx711] [--weight-kg KG]           guided calibration
    balance-board replay     FILE --exercise E [--leg L] [--lowpass-hz F] [--json]
    balance-board info       FILE                                           check a recording
    balance-board demo       --out DIR                                      a PNG of every screen
    balance-board report     [--patient CODE] [--from D] [--to D] --out FILE.pdf   the report
    balance-board export     [--patient CODE] --format csv|fhir|recordings --out DIR
    balance-board patient    [--code CODE] [--affected-side S] [--birth-year Y] ...  patients
    balance-board program    [FILE]                                         show or import

Every command takes ``--data-dir DIR``. Errors are one line in plain words on stderr: exit status 2
for bad input (arguments, files), 3 when the board is not available or not calibrated, 1 when the
self-test finds a fault. Unexpected errors are logged to ``balance-board.log`` in the data folder,
never shown as a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from datetime import datetime
from pathlib import Path

import numpy as np

from balance_board.paths import calibration_path, data_dir
from device import CORNER_NAMES
from device.geometry import BoardGeometry, GeometryError, load_geometry

log = logging.getLogger("balance_board")

EXIT_FAULT = 1
EXIT_BAD_INPUT = 2
EXIT_NO_BOARD = 3

SIM_FAULTS = ("unplugged", "dout-stuck-low", "dout-stuck-high", "saturated", "rate-low")


class UserError(Exception):
    """An error to show as one line, with an exit status."""

    def __init__(self, message: str, status: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.status = status


def now_iso() -> str:
    """Local time, ISO 8601 with its UTC offset, to the second."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


# --- shared plumbing ------------------------------------------------------------------------------
def _geometry(args) -> BoardGeometry:
    if getattr(args, "geometry", None):
        return load_geometry(args.geometry)
    for candidate in (Path("/etc/balance-board/board.toml"),):
        if candidate.exists():
            return load_geometry(candidate)
    return BoardGeometry()


def _sim_fault(text: str) -> tuple[int, str]:
    corner, _, kind = text.partition(":")
    names = {name: i for i, name in enumerate(CORNER_NAMES)}
    if corner not in names or kind not in SIM_FAULTS:
        raise argparse.ArgumentTypeError(
            f"use CORNER:FAULT with CORNER one of {', '.join(CORNER_NAMES)} "
            f"and FAULT one of {', '.join(SIM_FAULTS)}"
        )
    return names[corner], kind


def _source(args, geometry: BoardGeometry, *, realtime: bool):
    from device.acquisition import HardwareSource, SimulatedSource

    if args.board == "hx711":
        return HardwareSource()
    return SimulatedSource(
        geometry=geometry,
        mass_kg=getattr(args, "mass_kg", None) or 70.0,
        seed=getattr(args, "seed", 0) or 0,
        on_board=getattr(args, "on_board", True),
        realtime=realtime,
        faults=tuple(getattr(args, "sim_fault", None) or ()),
    )


def _calibration(args, folder: Path, geometry: BoardGeometry):
    """The board's calibration; the simulated board calibrates itself the first time."""
    from device.calibration import load_calibration, save_calibration

    path = calibration_path(folder, args.board)
    status = load_calibration(path)
    if status.calibration is not None:
        return status.calibration
    if args.board != "sim":
        raise UserError(
            f"{status.problem} Run: balance-board calibrate --board {args.board}", EXIT_NO_BOARD
        )
    calibration = _calibrate_sim(geometry)
    save_calibration(path, calibration)
    return calibration


def _calibrate_sim(geometry: BoardGeometry, weight_kg: float = 5.0):
    from device.sim import SimulatedBoard, calibrate_simulated_board

    board = SimulatedBoard(geometry, None, seed=0)
    try:
        cells = board.open_cells()
        state = calibrate_simulated_board(
            board, cells, known_weight_kg=weight_kg, now_iso=now_iso()
        )
        cells.close()
    finally:
        board.close()
    return state.calibration


def _open(args, geometry, *, realtime: bool):
    from device.acquisition import Acquisition

    acquisition = Acquisition(_source(args, geometry, realtime=realtime))
    acquisition.start()
    first = acquisition.read(timeout=15.0)
    if first is None:
        acquisition.close()
        why = acquisition.last_error or "no readings arrived"
        raise UserError(f"The board is not answering ({why}).", EXIT_NO_BOARD)
    return acquisition, first


# --- commands ------------------------------------------------------------------------------------
def cmd_record(args) -> int:
    from device.recording import Recording, write_recording

    if not (math.isfinite(args.seconds) and 0 < args.seconds <= 3600):
        raise UserError("--seconds must be between 0 and 3600")
    out = Path(args.out)
    if out.exists() and out.is_dir():
        raise UserError(f"{out} is a folder; give a file name for the recording")
    if not out.parent.exists():
        raise UserError(f"the folder {out.parent} does not exist")
    folder = data_dir(args.data_dir)
    geometry = _geometry(args)
    calibration = _calibration(args, folder, geometry)
    started_at = now_iso()
    acquisition, first = _open(args, geometry, realtime=args.board != "sim")
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
            frame = acquisition.read(timeout=5.0)
            if frame is None:
                raise UserError("The board stopped answering during the recording.", EXIT_NO_BOARD)
    finally:
        acquisition.close()
    if len(times) < 2:
        raise UserError("No valid readings were recorded: run balance-board selftest", EXIT_FAULT)
    recording = Recording(
        t_s=np.array(times) - times[0],
        loads_kg=np.array(loads),
        board_width_mm=geometry.width_mm,
        board_depth_mm=geometry.depth_mm,
        stance_width_mm=geometry.stance_width_mm,
        exercise=args.exercise,
        leg=args.leg,
        subject_mass_kg=args.mass_kg,
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
    from device.calibration import load_calibration
    from device.hx711 import FAULT_TEXT

    folder = data_dir(args.data_dir)
    geometry = _geometry(args)
    calibration = load_calibration(calibration_path(folder, args.board)).calibration
    if calibration is None and args.board == "sim":
        calibration = _calibration(args, folder, geometry)
    acquisition, first = _open(args, geometry, realtime=args.board != "sim")
    frames = [first]
    try:
        while frames[-1].t - first.t < args.seconds:
            frame = acquisition.read(timeout=5.0)
            if frame is None:
                break
            frames.append(frame)
    finally:
        acquisition.close()
    duration = max(frames[-1].t - first.t, 1e-9)
    print(f"Self-test over {duration:.1f} s, {len(frames)} frames")
    header = (
        f"{'corner':<12} {'status':<8} {'rate /s':>8} {'noise':>8} {'noise g':>8} {'load kg':>8}"
    )
    print(header)
    print("-" * len(header))
    faulty = False
    problems = []
    for i, name in enumerate(CORNER_NAMES):
        raw = np.array([f.raw[i] for f in frames if f.raw[i] is not None], dtype=float)
        faults = [f.faults[i] for f in frames if f.faults[i] is not None]
        rate = len(raw) / duration
        # noise from second differences: blind to a steady load and to slow drift
        noise = float(np.std(np.diff(raw, 2)) / math.sqrt(6)) if len(raw) > 10 else math.nan
        grams = load = math.nan
        if calibration is not None and len(raw):
            grams = abs(noise * calibration.kg_per_count[i]) * 1000
            load = float((raw.mean() - calibration.offsets_counts[i]) * calibration.kg_per_count[i])
        status = "ok"
        if len(raw) == 0:
            status = "FAULT"
            problems.append(
                f"{name}: {FAULT_TEXT.get(faults[-1], faults[-1]) if faults else 'no readings'}"
            )
        elif rate < 70:
            status = "FAULT"
            worst = max(set(faults), key=faults.count) if faults else None
            why = FAULT_TEXT.get(worst, worst) if worst else "too few readings"
            problems.append(f"{name}: {rate:.0f} readings a second ({why})")
        elif noise > 400:
            status = "FAULT"
            problems.append(f"{name}: readings far noisier than the amplifier's (loose wire?)")
        elif not math.isnan(load) and not -2 < load < 250:
            status = "FAULT"
            problems.append(f"{name}: reads {load:.1f} kg; check the cell and calibrate again")
        faulty |= status != "ok"
        print(f"{name:<12} {status:<8} {rate:8.1f} {noise:8.1f} {grams:8.1f} {load:8.2f}")
    if calibration is None:
        print("(not calibrated: grams and kilograms cannot be shown)")
    for problem in problems:
        print(problem)
    return EXIT_FAULT if faulty else 0


def cmd_calibrate(args) -> int:
    from device.calibration import CalibrationProcedure, save_calibration

    if not (math.isfinite(args.weight_kg) and 0.5 <= args.weight_kg <= 100):
        raise UserError("--weight-kg must be between 0.5 and 100")
    folder = data_dir(args.data_dir)
    geometry = _geometry(args)
    path = calibration_path(folder, args.board)
    if args.board == "sim":
        calibration = _calibrate_sim(geometry, args.weight_kg)
        save_calibration(path, calibration)
        print(f"Simulated board calibrated; saved to {path}")
        return 0
    procedure = CalibrationProcedure(args.weight_kg, now_iso(), geometry=geometry)
    acquisition, frame = _open(args, geometry, realtime=True)
    shown = None
    try:
        state = procedure.feed(frame)
        while not state.done:
            message = state.problem or state.prompt
            if message != shown:
                print(message, flush=True)
                shown = message
            frame = acquisition.read(timeout=5.0)
            if frame is None:
                raise UserError("The board stopped answering.", EXIT_NO_BOARD)
            state = procedure.feed(frame)
    finally:
        acquisition.close()
    save_calibration(path, state.calibration)
    for note in state.calibration.notes:
        print(note)
    print(f"Calibration saved to {path}")
    return 0


def cmd_info(args) -> int:
    from device.cop import centre_of_pressure
    from device.recording import read_recording

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


def cmd_replay(args) -> int:
    import json

    from device.recording import read_recording
    from exercises.replay import replay

    if not (math.isfinite(args.lowpass_hz) and args.lowpass_hz >= 0):
        raise UserError("--lowpass-hz must be 0 (off) or a positive number of Hz")
    recording = read_recording(args.file)
    try:
        result = replay(
            recording,
            args.exercise,
            leg=args.leg,
            lowpass_hz=args.lowpass_hz,
            affected_side=args.affected_side,
        )
    except ValueError as exc:
        raise UserError(f"{args.file}: {exc}") from None
    data = result.to_dict()
    if args.json:
        print(json.dumps(data, allow_nan=False))
        return 0
    score = "not scored" if data["score"] is None else f"{data['score']:.0f}/100"
    print(f"{data['exercise']}: {score}")
    for name, value in data["metrics"].items():
        print(f"  {name}: {value if value is None else round(value, 3)}")
    for event in data["events"]:
        print(f"  {event['t_s']:8.2f} s  {event['kind']}")
    for flag in data["quality"]["sensor_faults"] + data["quality"]["warnings"]:
        print(f"  ! {flag}")
    return 0


def cmd_demo(args) -> int:
    from display.demo import run_demo

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; give a folder for the screenshots")
    args.board = "sim"
    folder = data_dir(args.data_dir or out)
    geometry = _geometry(args)
    calibration = _calibration(args, folder, geometry)
    files = run_demo(out, folder, calibration, geometry)
    print(f"{len(files)} screenshots in {out}; records in {folder / 'balance-board.sqlite3'}")
    # the therapist's side of the same records: the report and every export
    common = ["--data-dir", str(folder), "--patient", "P-DEMO"]
    cmd_report(build_parser().parse_args(["report", *common, "--out", str(out / "report.pdf")]))
    for kind in ("csv", "fhir", "recordings"):
        args = ["export", *common, "--format", kind, "--out", str(out / "export")]
        cmd_export(build_parser().parse_args(args))
    return 0


# --- the clinic: patients, programs, reports, exports --------------------------------------------
def _store(args):
    from clinic.store import Store, StoreError

    path = data_dir(args.data_dir) / "balance-board.sqlite3"
    if not path.exists():
        raise UserError(f"there are no records in {path.parent} yet", EXIT_BAD_INPUT)
    try:
        return Store(path)
    except StoreError as exc:
        raise UserError(str(exc), EXIT_BAD_INPUT) from None


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


def _date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-23") from None


def _device_id() -> str:
    import socket

    return socket.gethostname() or "balance-board"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("balance-board")
    except PackageNotFoundError:
        return "development"


def cmd_report(args) -> int:
    from datetime import datetime, timedelta

    from clinic.report import gather, write_report
    from device.calibration import load_calibration

    out = Path(args.out)
    if out.suffix.lower() != ".pdf":
        raise UserError(f"{out}: the report is a PDF; give a file name ending in .pdf")
    if not out.parent.is_dir():
        raise UserError(f"{out.parent} is not a folder")
    with _store(args) as store:
        code = _patient_code(args, store)
        trials = store.trials(code, status=None)
        today = datetime.now().astimezone().date()
        last = max((datetime.fromisoformat(t.started_at).date() for t in trials), default=today)
        date_to = args.to or last
        date_from = args.from_ or date_to - timedelta(weeks=12) + timedelta(days=1)
        if date_to < date_from:
            raise UserError("--to is before --from")
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
            device=f"device {_device_id()}, software {_version()}",
        )
    pages = write_report(data, out)
    print(f"{out}: {pages} pages, {len(data.trials)} trials from {date_from} to {date_to}")
    return 0


def cmd_export(args) -> int:
    from clinic.export import write_recordings, write_trials_csv
    from clinic.fhir import patient_bundle
    from device.calibration import atomic_write_text

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; give a folder")
    out.mkdir(parents=True, exist_ok=True)
    with _store(args) as store:
        code = _patient_code(args, store)
        if args.format == "csv":
            path = out / f"{code}-trials.csv"
            write_trials_csv(store, code, path)
            print(f"{path}: {len(store.trials(code, status=None))} trials")
        elif args.format == "fhir":
            bundle = patient_bundle(
                store, code, device_id=_device_id(), device_version=_version(), now_iso=now_iso()
            )
            path = out / f"{code}-bundle.json"
            atomic_write_text(path, json.dumps(bundle, indent=1, ensure_ascii=False) + "\n")
            print(f"{path}: FHIR R4 Bundle with {len(bundle['entry'])} resources")
        else:
            files = write_recordings(store, code, out / f"{code}-recordings")
            print(f"{out / f'{code}-recordings'}: {len(files)} recordings (format v1)")
    return 0


def cmd_patient(args) -> int:
    from clinic.store import Store, StoreError

    path = data_dir(args.data_dir) / "balance-board.sqlite3"
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
    try:
        with Store(path) as store:
            codes = [p.code for p in store.patients()]
            if args.code and args.code not in codes:
                store.add_patient(args.code, created_at=now_iso(), **changes)
                print(f"added patient {args.code}")
            elif changes:
                args.patient = args.code
                store.update_patient(_patient_code(args, store), **changes)
            for patient in store.patients():
                print(
                    f"{patient.code}: affected side {patient.affected_side or '-'}, born "
                    f"{patient.birth_year or '-'}, sex {patient.sex or '-'}, "
                    f"{patient.height_cm or '-'} cm, {patient.body_mass_kg or '-'} kg"
                )
    except StoreError as exc:
        raise UserError(str(exc)) from None
    return 0


def cmd_program(args) -> int:
    from clinic.program import FILE_NAME, ProgramError, device_program, load_program, save_program
    from clinic.program import program_text as text_of

    folder = data_dir(args.data_dir)
    if args.file:
        try:
            program = load_program(args.file)
        except ProgramError as exc:
            raise UserError(str(exc)) from None
        save_program(folder / FILE_NAME, program)
        path = folder / "balance-board.sqlite3"
        if path.exists():
            with _store(args) as store:
                if store.patients():
                    code = _patient_code(args, store)
                    store.save_program(code, text_of(program), now_iso(), "import")
        print(f"program with {len(program.exercises)} exercises imported into {folder / FILE_NAME}")
        return 0
    program, problem = device_program(folder)
    if problem:
        print(f"# not used, the default program is: {problem}")
    print(text_of(program), end="")
    return 0


def cmd_run(args) -> int:
    from display.app import run_app

    return run_app(args)


# --- argument parsing ---------------------------------------------------------------------------
def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive number")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="balance-board", description="Home balance board for stroke rehabilitation."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p, boards=("sim", "hx711"), default="sim"):
        p.add_argument("--data-dir", help="folder for calibration and records")
        p.add_argument("--geometry", help="board geometry file (see hardware/board.toml)")
        p.add_argument("--board", choices=boards, default=default)

    p = sub.add_parser("run", help="the touchscreen app")
    common(p, ("auto", "sim", "hx711"), "auto")
    p.add_argument("--patient", choices=("auto", "manual"), default="auto")
    p.add_argument("--exit-after", type=_positive_float, metavar="SECONDS")
    p.add_argument("--window", action="store_true", help="a window even on the Pi")
    p.add_argument(
        "--rotate",
        type=int,
        choices=(0, 90, 270),
        default=int(os.environ.get("BALANCE_BOARD_ROTATE", "0") or 0),
        help="turn the picture for a portrait panel (720 × 1280: 90)",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("record", help="record calibrated loads to a file")
    common(p, default=None)
    p.add_argument("--seconds", type=_positive_float, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--exercise")
    p.add_argument("--leg", choices=("left", "right"))
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
    p.add_argument("--geometry", help="board geometry file (see hardware/board.toml)")
    p.set_defaults(func=cmd_demo)

    from exercises.replay import EXERCISES

    p = sub.add_parser("replay", help="score a recording")
    p.add_argument("file")
    p.add_argument("--exercise", choices=EXERCISES, required=True)
    p.add_argument("--leg", choices=("left", "right"), help="stance leg for flamingo")
    p.add_argument("--lowpass-hz", type=float, default=10.0, help="0 turns the filter off")
    p.add_argument("--affected-side", choices=("left", "right"))
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

    p = sub.add_parser("info", help="check and summarise a recording")
    p.add_argument("file")
    p.add_argument("--data-dir", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_info)
    return parser


def _log_to_file(folder: str | None) -> None:
    try:
        handler = logging.FileHandler(data_dir(folder) / "balance-board.log", encoding="utf-8")
    except OSError:
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "record" and args.board is None:
        parser.error("record needs --board sim or --board hx711")
    _log_to_file(getattr(args, "data_dir", None))
    from device.recording import RecordingError

    try:
        return args.func(args)
    except UserError as exc:
        print(f"balance-board: {exc}", file=sys.stderr)
        return exc.status
    except (RecordingError, GeometryError) as exc:
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
        return 70
