"""Shared fixtures: emulated boards on gpiozero mock pins, the shared data directory."""

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
