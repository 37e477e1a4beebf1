"""The self-test: from a few seconds of frames, each corner's health in a table.

What a technician reads on the phone: for each corner whether it answers, its rate, its noise in
counts and (calibrated) grams, and its load; for a faulty corner, what is wrong in words.
Pure: frames in, rows out (``balance-board selftest`` reads the frames and prints the rows).

Example::

    rows = corner_health(frames, calibration)
    for row in rows:
        print(row.corner, row.status, row.problem or "")
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from device import CORNER_NAMES
from device.calibration import Calibration
from device.faults import fault_text
from device.noise import white_noise_sd
from device.samples import Frame

MIN_RATE_SPS = 70.0  # of the 80 the chips are wired for
MAX_NOISE_COUNTS = 400.0  # far above the amplifier's own (~50 counts): a loose wire
LOAD_RANGE_KG = (-2.0, 250.0)


@dataclass(frozen=True)
class CornerHealth:
    """One corner's line of the self-test."""

    corner: str
    ok: bool
    rate_sps: float
    noise_counts: float
    noise_g: float  # NaN without a calibration
    load_kg: float  # NaN without a calibration
    problem: str | None

    @property
    def status(self) -> str:
        return "ok" if self.ok else "FAULT"


def corner_health(frames: list[Frame], calibration: Calibration | None) -> list[CornerHealth]:
    """Each corner's health over ``frames`` (at least one)."""
    duration = max(frames[-1].t - frames[0].t, 1e-9)
    rows = []
    for i, name in enumerate(CORNER_NAMES):
        raw = np.array([f.raw[i] for f in frames if f.raw[i] is not None], dtype=float)
        faults = [f.faults[i] for f in frames if f.faults[i] is not None]
        rate = len(raw) / duration
        noise = white_noise_sd(raw) if len(raw) > 10 else math.nan
        grams = load = math.nan
        if calibration is not None and len(raw):
            grams = abs(noise * calibration.kg_per_count[i]) * 1000
            load = float((raw.mean() - calibration.offsets_counts[i]) * calibration.kg_per_count[i])
        problem = None
        if len(raw) == 0:
            problem = f"{name}: {fault_text(faults[-1]) if faults else 'no readings'}"
        elif rate < MIN_RATE_SPS:
            worst = max(set(faults), key=faults.count) if faults else None
            why = fault_text(worst) if worst else "too few readings"
            problem = f"{name}: {rate:.0f} readings a second ({why})"
        elif noise > MAX_NOISE_COUNTS:
            problem = f"{name}: readings far noisier than the amplifier's (loose wire?)"
        elif not math.isnan(load) and not LOAD_RANGE_KG[0] < load < LOAD_RANGE_KG[1]:
            problem = f"{name}: reads {load:.1f} kg; check the cell and calibrate again"
        rows.append(CornerHealth(name, problem is None, rate, noise, grams, load, problem))
    return rows
