"""One place that opens a board: its kind, configuration, calibration and the link to its frames.

Every command and the app open the board here (the gpiozero pattern: one place picks the
backend, with ordered fallbacks and an override). The kinds:

``hx711``
    the real board: four HX711s on the Pi's GPIO, read by the driver in its own supervised
    process (``device.acquisition``); needs a calibration made with a known weight.
``sim``
    the simulated board (``device.sim``): a simulated person on emulated pins, read by the same
    driver; it calibrates itself the first time, the documented way.
``auto``
    ``$BALANCE_BOARD`` when it names a kind; else the real board when this machine has a
    gpiochip, lgpio and pins that answer; else the real board anyway when it was calibrated here
    (a balance board with its cable out, so that "board not connected" is shown); else the
    simulated board. Every candidate skipped is logged with the reason.

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
import time
from dataclasses import dataclass, field
from pathlib import Path

from device.acquisition import Acquisition, HardwareSource
from device.calibration import Calibration, load_calibration, save_calibration
from device.config import BoardConfig
from device.geometry import BoardGeometry
from device.paths import calibration_path

log = logging.getLogger(__name__)

KINDS = ("hx711", "sim")
ENVIRONMENT_VARIABLE = "BALANCE_BOARD"
PROBE_S = 2.0  # how long ``auto`` listens for the real board's pins


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
    """

    kind: str
    link: object
    calibration: Calibration | None
    calibration_path: Path
    config: BoardConfig = field(default_factory=BoardConfig)

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


def choose_kind(requested: str, folder: Path, config: BoardConfig) -> str:
    """The kind of board to open for ``requested`` ("auto", "hx711" or "sim")."""
    if requested != "auto":
        if requested not in KINDS:
            raise BoardError(f"unknown board {requested!r}; one of auto, {', '.join(KINDS)}")
        return requested
    chosen = os.environ.get(ENVIRONMENT_VARIABLE, "")
    if chosen:
        if chosen not in KINDS:
            raise BoardError(f"${ENVIRONMENT_VARIABLE}={chosen!r}: use one of {', '.join(KINDS)}")
        return chosen
    why = _hardware_missing(config)
    if why is None:
        return "hx711"
    if calibration_path(folder, "hx711").exists():
        # a Pi whose board was calibrated here is a balance board with its cable out: show
        # "board not connected" rather than a simulated board that would look like a working one
        log.warning("real board not found (%s), but it was calibrated here: using it", why)
        return "hx711"
    log.warning("real board skipped: %s; using the simulated board", why)
    return "sim"


def _hardware_missing(config: BoardConfig) -> str | None:
    """Why the real board cannot be read here, or None when its pins answer."""
    if not any(Path("/dev").glob("gpiochip*")):
        return "no /dev/gpiochip (not a Raspberry Pi)"
    try:
        import lgpio  # noqa: F401  (only to know whether it is installed)
    except ImportError:
        return "the lgpio library is not installed"
    with Acquisition(HardwareSource(config.pins), max_restarts=0) as probe:
        deadline = time.monotonic() + PROBE_S
        while time.monotonic() < deadline:
            if any(any(v is not None for v in f.raw) for f in probe.frames(timeout=0.1)):
                return None
            if probe.failed:
                return f"the board's reader could not start: {probe.last_error}"
        return f"no HX711 answered on the pins within {PROBE_S:g} s"


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
    **simulated,
) -> Board:
    """Open a board of ``kind`` ("hx711" or "sim"; see ``choose_kind`` for "auto") whose data
    live in ``folder``: its calibration, then its link, started.

    With a ``clock`` (``device.clock.ManualClock``) the simulated board is read in this process
    on that clock (``SimulatedLink``: tests and the demo); otherwise by the reader process.
    """
    config = config or BoardConfig()
    calibration = board_calibration(kind, folder, config, now_iso, required=calibration_required)
    source = board_source(kind, config, realtime=realtime, **simulated)
    if clock is not None and kind == "sim":
        from device.sim.link import SimulatedLink  # the simulation, only when asked for

        link = SimulatedLink(source, clock)
    else:
        link = Acquisition(source)
        link.start()
    return Board(kind, link, calibration, calibration_path(folder, kind), config)


def first_frame(board: Board, timeout_s: float = 15.0):
    """Wait for the board's first frame; BoardError when none comes."""
    frame = board.link.read(timeout=timeout_s)
    if frame is None:
        why = getattr(board.link, "last_error", None) or "no readings arrived"
        board.close()
        raise BoardError(f"The board is not answering ({why}).")
    return frame
