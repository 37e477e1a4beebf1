"""Shared fixtures: emulated boards on gpiozero mock pins, the shared data directory, the
simulated board's calibration and a pygame screen under the dummy drivers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BALANCE_BOARD_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data() -> Path:
    """../shared/data, or skip with the reason when this checkout has no shared folder beside it."""
    if not (SHARED_DATA / "README.md").exists():
        pytest.skip(f"public force-plate data not found at {SHARED_DATA} (../shared/data)")
    return SHARED_DATA


@pytest.fixture
def factory():
    from device.emulator import EmulatorFactory

    f = EmulatorFactory(seed=1234)
    yield f
    f.close()


@pytest.fixture(scope="session")
def calibration():
    """The simulated board's calibration, by the documented procedure (once per test run)."""
    from balance_board.cli import _calibrate_sim
    from device.geometry import BoardGeometry

    return _calibrate_sim(BoardGeometry())


@pytest.fixture
def surface():
    """An 800 × 480 pygame screen under SDL's dummy video driver."""
    pygame = pytest.importorskip("pygame")
    from display import theme

    pygame.init()
    yield pygame.display.set_mode(theme.SCREEN_SIZE)
    pygame.quit()
