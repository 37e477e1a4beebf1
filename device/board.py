"""One place that opens a board: its kind, configuration, calibration and the link to its frames.

Every command and the app open the board here (the gpiozero pattern: one place picks the
backend, with an override; unlike gpiozero, no fallback: a simulation never stands in for the
real board). The kinds:

``hx711``
    the real board: four HX711s on the Pi's GPIO, read by the driver in its own supervised
    process (``device.acquisition``); needs a calibration made with a known weight.
``sim``
    the simulated board (``device.sim``): a simulated person on emulated pins, read by the same
    driver; it calibrates itself the first time, the documented way.
``auto``
    ``$BALANCE_BOARD`` when it names a kind; else the real board on a Raspberry Pi (a GPIO chip
    in ``/dev``) and the simulated board on any other computer. On a Pi it is the real board
    always, even when lgpio is missing or the board answers nothing: the screen then says "The
    board is not connected" and why (``Board.problem``). The simulator never stands in for the
    real board: its automatic patient would tap through the exercises into a real patient's
    records.

Example::

    board = open_board("sim", data_dir(), now_iso=SystemClock().now_iso())
    frames = board.link.frames(timeout=0.1)
    loads = board.calibration.loads(frames[0])
    board.close()

The simulation modules are imported only when the simulated board is asked for: the Pi's
production path never loads them.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from device.acquisition import Acquisition, HardwareSource
from device.calibration import Calibration, load_calibration, save_calibration
from device.config import BoardConfig
from device.geometry import BoardGeometry
from device.paths import calibration_path

log = logging.getLogger(__name__)

KINDS = ("hx711", "sim")  # the records keep the same names (``clinic.store.BOARDS``)
ENVIRONMENT_VARIABLE = "BALANCE_BOARD"
DEVICE_FOLDER = Path("/dev")  # a Raspberry Pi has its GPIO chips here (gpiochip0, ...)


class BoardError(Exception):
    """The board cannot be used: not calibrated, not answering; the message says what to do."""


@dataclass
class Board:
    """An open board.

    :param kind: "hx711" or "sim".
    :param link: where frames come from: an ``Acquisition`` (the reader process) or, in tests
        and the demo, a ``device.sim.link.SimulatedLink``; ``frames()``, ``command()``,
        ``failed``, ``close()``.
    :param calibration: turns raw counts into kilograms (``device.calibration``).
    :param calibration_path: where the calibration is kept (a new one is saved there).
    :param config: the board's geometry and pins (``device.config``).
    :param problem: why the board cannot be read, in words for the screen, when that was
        known as it was opened (no GPIO chip, lgpio missing or failing); None: nothing known
        against it. Shown with "The board is not connected" when no readings come.
    """

    kind: str
    link: object
    calibration: Calibration | None
    calibration_path: Path
    config: BoardConfig = field(default_factory=BoardConfig)
    problem: str | None = None

    @property
    def geometry(self) -> BoardGeometry:
        return self.config.geometry

    @property
    def simulated(self) -> bool:
        return self.kind == "sim"

    def use_calibration(self, calibration: Calibration) -> None:
        """Keep a new calibration (a calibration made now, or the start-of-session re-zero):
        saved atomically, then used. OSError when it cannot be saved (then it is not used)."""
        save_calibration(self.calibration_path, calibration)
        self.calibration = calibration

    def close(self) -> None:
        if self.link is not None:
            self.link.close()


def gpio_chip_present(device_folder: Path | None = None) -> bool:
    """Whether this machine has a GPIO chip (``gpiochip*`` in ``device_folder``, ``/dev`` by
    default): a Raspberry Pi, where the real board is wired. The folder is passed in (or
    ``DEVICE_FOLDER`` changed) so that tests can make a Pi of any computer."""
    return any((device_folder or DEVICE_FOLDER).glob("gpiochip*"))


def choose_kind(requested: str, *, device_folder: Path | None = None) -> str:
    """The kind of board to open for ``requested`` ("auto", "hx711" or "sim").

    "auto": ``$BALANCE_BOARD`` when set; else "hx711" on a Raspberry Pi (a GPIO chip in
    ``device_folder``), whatever state the board and its libraries are in, and "sim" elsewhere.
    Nothing is probed: a board that does not answer is for the screen to say, not a reason to
    simulate one."""
    if requested != "auto":
        if requested not in KINDS:
            raise BoardError(f"unknown board {requested!r}; one of auto, {', '.join(KINDS)}")
        return requested
    chosen = os.environ.get(ENVIRONMENT_VARIABLE, "")
    if chosen:
        if chosen not in KINDS:
            raise BoardError(f"${ENVIRONMENT_VARIABLE}={chosen!r}: use one of {', '.join(KINDS)}")
        return chosen
    if gpio_chip_present(device_folder):
        return "hx711"
    log.info("no GPIO chip (not a Raspberry Pi): the simulated board")
    return "sim"


def real_board_problem(device_folder: Path | None = None) -> str | None:
    """Why the real board's pins cannot be read on this machine, in words for the screen; None
    when nothing is known against them (whether a board answers is the reader's to find).

    lgpio is imported to know: it can be missing (Python 3.13 has no wheel of it) or fail at
    import (it makes a pipe in the working folder, and under systemd that is a read-only ``/``
    unless ``LG_WD`` names another: FileNotFoundError, not ImportError)."""
    if not gpio_chip_present(device_folder):
        return "This computer has no GPIO pins: it is not the board's Raspberry Pi."
    try:
        import lgpio  # noqa: F401  (only to know whether it can be used)
    except ImportError:
        return (
            "The lgpio library is missing, so the pins cannot be read. Please call the technician."
        )
    except Exception as exc:  # anything lgpio raises at import is a reason, not a crash
        log.error("lgpio could not be imported: %s: %s", type(exc).__name__, exc)
        return (
            f"The lgpio library could not start ({type(exc).__name__}). Please call the technician."
        )
    return None


def board_calibration(
    kind: str, folder: Path, config: BoardConfig, now_iso: str, *, required: bool = True
) -> Calibration | None:
    """The board's calibration. The simulated board calibrates itself the first time (and
    keeps it); a real board without one raises BoardError saying how to calibrate it, or gives
    None when not ``required``."""
    path = calibration_path(folder, kind)
    status = load_calibration(path)
    if status.calibration is not None:
        return status.calibration
    if kind != "sim":
        if not required:
            return None
        raise BoardError(f"{status.problem} Run: balance-board calibrate --board {kind}")
    # imported here: the simulation is loaded only when the simulated board is used
    from device.sim.board import calibrate_simulated

    calibration = calibrate_simulated(config.geometry, now_iso)
    save_calibration(path, calibration)
    return calibration


def board_source(kind: str, config: BoardConfig, *, realtime: bool = True, **simulated):
    """What the reader process opens for ``kind``; ``simulated`` are ``SimulatedSource``
    options (mass_kg, seed, sway, on_board, faults, script) for the simulated board."""
    if kind == "hx711":
        return HardwareSource(config.pins)
    from device.sim.source import SimulatedSource  # the simulation, only when asked for

    return SimulatedSource(geometry=config.geometry, realtime=realtime, **simulated)


def open_board(
    kind: str,
    folder: Path,
    *,
    config: BoardConfig | None = None,
    now_iso: str,
    realtime: bool = True,
    calibration_required: bool = True,
    clock=None,
    device_folder: Path | None = None,
    **simulated,
) -> Board:
    """Open a board of ``kind`` ("hx711" or "sim"; see ``choose_kind`` for "auto") whose data
    live in ``folder``: its calibration, then its link, started.

    With a ``clock`` (``device.clock.ManualClock``) the simulated board is read in this process
    on that clock (``SimulatedLink``: tests and the demo); otherwise by the reader process. The
    real board is opened even when its pins cannot be read (``real_board_problem``, looked for
    in ``device_folder``): its reader keeps trying, and the screen says why nothing comes.
    """
    config = config or BoardConfig()
    calibration = board_calibration(kind, folder, config, now_iso, required=calibration_required)
    problem = real_board_problem(device_folder) if kind == "hx711" else None
    if problem is not None:
        log.error("the real board cannot be read: %s", problem)
    source = board_source(kind, config, realtime=realtime, **simulated)
    if clock is not None and kind == "sim":
        from device.sim.link import SimulatedLink  # the simulation, only when asked for

        link = SimulatedLink(source, clock)
    else:
        link = Acquisition(source)
        link.start()
    return Board(kind, link, calibration, calibration_path(folder, kind), config, problem)


def first_frame(board: Board, timeout_s: float = 15.0):
    """Wait for the board's first frame; BoardError when none comes."""
    frame = board.link.read(timeout=timeout_s)
    if frame is None:
        why = getattr(board.link, "last_error", None) or "no readings arrived"
        board.close()
        raise BoardError(f"The board is not answering ({why}).")
    return frame
