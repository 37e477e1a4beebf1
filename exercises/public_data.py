"""The public force-plate data sets used to validate the metrics, turned into board recordings.

- BDS: Santos DA, Duarte M (2016) A public data set of human balance evaluations. PeerJ 4:e2648.
  Quiet standing, 60 s at 100 Hz; COPx is antero-posterior, COPy medio-lateral, in cm.
- PDS: dos Santos DA, Fukuchi CA, Fukuchi RK, Duarte M (2017) A data set with kinematic and ground
  reaction forces of human balance. PeerJ 5:e3626. One foot on each of two plates; lab frame X
  antero-posterior, Y vertical, Z medio-lateral (right foot at +Z), forces in N, CoP in m.

Both CC BY 4.0. Reads plain or gzip-compressed files. A force-plate trial becomes a one-board
recording through the twist-free split of its total load at its CoP (``device.cop.corner_loads``).
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np

from device.cop import corner_loads
from device.recording import Recording

G = 9.80665  # N per kg
BOARD_MM = (600.0, 400.0)  # a board large enough for every trial's CoP


def _open(path: Path):
    path = Path(path)
    return gzip.open(path, "rt") if path.suffix == ".gz" else open(path, encoding="utf-8")


def _table(path: Path) -> tuple[list[str], np.ndarray]:
    with _open(path) as f:
        header = f.readline().split()
        data = np.loadtxt(f)
    return header, data


def bds_references(path: Path) -> dict[str, dict[str, float]]:
    """Trial name → published area (mm²), velocity (mm/s) and mean frequency (Hz)."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            out[row["Trial"]] = {
                "ellipse_area_95_mm2": float(row["COParea"]) * 100,
                "mean_velocity_mm_s": float(row["COPvelo"]) * 10,
                "mean_power_frequency_hz": float(row["COPmfreq"]),
                "vision": row["Vision"],
                "surface": row["Surface"],
            }
    return out


def bds_trial(path: Path) -> dict[str, np.ndarray]:
    """t_s, ml_mm, ap_mm, load_kg of one BDS trial."""
    _, data = _table(path)
    return {
        "t_s": data[:, 0],
        "ap_mm": data[:, 7] * 10,
        "ml_mm": data[:, 8] * 10,
        "load_kg": data[:, 3] / G,
    }


def bds_recording(path: Path) -> Recording:
    """A BDS trial as a board recording (format v1), time from 0."""
    trial = bds_trial(path)
    w, d = BOARD_MM
    loads = corner_loads(trial["load_kg"], trial["ml_mm"], trial["ap_mm"], w, d)
    return Recording(trial["t_s"] - trial["t_s"][0], loads, w, d, exercise="quiet-stance")


def pds_recording(path: Path) -> tuple[Recording, float]:
    """A PDS trial on one board, centred between the feet, with the true stance width (the
    distance between the two feet's mean CoPs). Returns the recording and the true share of
    weight on the right foot (%), mean of RGRF_Y / (RGRF_Y + LGRF_Y)."""
    header, data = _table(path)
    col = {name: i for i, name in enumerate(header)}
    right, left = data[:, col["RGRF_Y"]], data[:, col["LGRF_Y"]]
    right_z, left_z = data[:, col["RCOP_Z"]] * 1000, data[:, col["LCOP_Z"]] * 1000
    centre = (right_z.mean() + left_z.mean()) / 2
    stance = float(right_z.mean() - left_z.mean())
    x = data[:, col["COPNET_Z"]] * 1000 - centre
    ap = data[:, col["COPNET_X"]] * 1000
    y = ap - ap.mean()
    w, d = BOARD_MM
    loads = corner_loads((right + left) / G, x, y, w, d)
    t = data[:, col["Time"]]
    recording = Recording(t - t[0], loads, w, d, stance_width_mm=stance, exercise="quiet-stance")
    truth = float(np.mean(right / (right + left)) * 100)
    return recording, truth
