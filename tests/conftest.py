"""Shared fixtures: emulated boards on gpiozero mock pins, the shared data directory, the
simulated board's calibration and a pygame screen under the dummy drivers."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from device.board import Board
from device.clock import ManualClock
from device.geometry import BoardGeometry
from device.paths import calibration_path
from device.sim.board import calibrate_simulated
from device.sim.emulator import EmulatorFactory
from device.sim.link import SimulatedLink
from device.sim.source import SimulatedSource
from display import theme

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
# commands run without --data-dir must not write into the real data folder (~/.local/share)
os.environ["XDG_DATA_HOME"] = tempfile.mkdtemp(prefix="balance-board-tests-")
os.environ.pop("STATE_DIRECTORY", None)

REPO = Path(__file__).resolve().parents[1]
T0 = "2026-11-23T10:00:00+01:00"
FRAME_S = 1 / 60  # one step of the app at 60 frames a second
SHARED_DATA = Path(os.environ.get("BALANCE_BOARD_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip with the reason when this checkout has no shared folder beside it."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.skip(f"public force-plate data not found at {SHARED_DATA} (../shared/data)")
    return SHARED_DATA


@pytest.fixture
def factory():

    f = EmulatorFactory(seed=1234)
    yield f
    f.close()


@pytest.fixture(scope="session")
def calibration():
    """The simulated board's calibration, by the documented procedure (once per test run)."""

    return calibrate_simulated(BoardGeometry(), T0)


@pytest.fixture
def surface():
    """An 800 × 480 pygame screen under SDL's dummy video driver."""
    pygame = pytest.importorskip("pygame")

    pygame.init()
    yield pygame.display.set_mode(theme.SCREEN_SIZE)
    pygame.quit()


@pytest.fixture
def clock():
    """The app's clock, moved only by the test (no test waits for the wall clock)."""

    return ManualClock(T0)


def simulated_board(clock, calibration, folder: Path, **person):
    """The simulated board read in-process on ``clock``, with a calibration made beforehand:
    the real driver on emulated pins, as in the app."""

    link = SimulatedLink(SimulatedSource(**person), clock)
    return Board("sim", link, calibration, calibration_path(folder, "sim"))


def run_for(app, seconds: float) -> None:
    """Run the app for ``seconds`` on its clock, a frame at a time."""
    end = app.clock.monotonic() + seconds
    while app.clock.monotonic() < end:
        app.step([])
        app.clock.advance(FRAME_S)
