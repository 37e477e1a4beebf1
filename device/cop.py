"""Calibrated corner loads → total load and centre of pressure (CoP), in mm.

Fourth stage of the flow (pins → frames → loads → **CoP** → exercise → ...).

Coordinates (../shared/notes/posturography.md): x medio-lateral, positive to the patient's right;
y antero-posterior, positive toward the toes; origin at the centre of the four cells. With cell
spacing W (left-right), D (front-back) and corner loads FL, FR, BL, BR summing to F::

    x = W/2 · ((FR + BR) − (FL + BL)) / F        y = D/2 · ((FL + FR) − (BL + BR)) / F

``centre_of_pressure`` is the batch form (numpy arrays, for scoring and replay);
``CentreOfPressureTracker`` is the live form: it adds on-board detection with hysteresis
(``OnBoard``, shared with replay) and a causal low-pass for the screen. Scores use the raw CoP
and their own zero-phase filter.
"""

from __future__ import annotations

import math

import numpy as np

from device.geometry import BoardGeometry
from device.samples import CopSample, LoadSample


def cop_xy(fl, fr, bl, br, total, width_mm: float, depth_mm: float):
    """The centre of pressure of four corner loads summing to ``total``: the one formula, for
    plain numbers (the live tracker) and numpy arrays (``centre_of_pressure``) alike.

    x = W/2·((FR+BR)−(FL+BL))/F, y = D/2·((FL+FR)−(BL+BR))/F (../shared/notes/posturography.md).
    """
    x = width_mm / 2 * ((fr + br) - (fl + bl)) / total
    y = depth_mm / 2 * ((fl + fr) - (bl + br)) / total
    return x, y


def centre_of_pressure(
    loads_kg: np.ndarray, width_mm: float, depth_mm: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CoP of corner loads.

    :param loads_kg: array (..., 4) of loads in corner order FL, FR, BL, BR.
    :returns: (x_mm, y_mm, total_kg); x and y are NaN where the total is not positive.

    >>> x, y, total = centre_of_pressure(np.array([10.0, 30.0, 10.0, 30.0]), 440, 330)
    >>> float(x), float(y), float(total)
    (110.0, 0.0, 80.0)
    """
    loads = np.asarray(loads_kg, dtype=float)
    fl, fr, bl, br = loads[..., 0], loads[..., 1], loads[..., 2], loads[..., 3]
    total = fl + fr + bl + br
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(total > 0, total, np.nan)
        x, y = cop_xy(fl, fr, bl, br, safe, width_mm, depth_mm)
    return x, y, total


def corner_split(kg, x_mm, y_mm, width_mm: float, depth_mm: float):
    """The twist-free split of a load of ``kg`` at (x, y) onto the four corners, (FL, FR, BL,
    BR): the inverse of ``centre_of_pressure``, for plain numbers (the simulated board, at every
    conversion) and numpy arrays alike. With u = 2x/W and v = 2y/D: FL = F/4 (1 − u + v),
    FR = F/4 (1 + u + v), BL = F/4 (1 − u − v), BR = F/4 (1 + u − v) (../shared/data/README.md).
    """
    u, v, q = 2 * x_mm / width_mm, 2 * y_mm / depth_mm, kg / 4
    return q * (1 - u + v), q * (1 + u + v), q * (1 - u - v), q * (1 + u - v)


def corner_loads(
    total_kg: np.ndarray, x_mm: np.ndarray, y_mm: np.ndarray, width_mm: float, depth_mm: float
) -> np.ndarray:
    """``corner_split`` for arrays: (..., 4) corner loads in corner order.

    >>> corner_loads(80.0, 110.0, 0.0, 440, 330).tolist()
    [10.0, 30.0, 10.0, 30.0]
    """
    parts = corner_split(
        np.asarray(total_kg, dtype=float),
        np.asarray(x_mm, dtype=float),
        np.asarray(y_mm, dtype=float),
        width_mm,
        depth_mm,
    )
    return np.stack(parts, axis=-1)


ON_KG = 10.0  # somebody is on the board once the total exceeds this ...
OFF_KG = 5.0  # ... and until it falls below this


class OnBoard:
    """Is somebody on the board? Yes once the total exceeds ``on_kg``, until it falls below
    ``off_kg`` (hysteresis, so a light step does not flicker). Live and in replay alike."""

    def __init__(self, on_kg: float = ON_KG, off_kg: float = OFF_KG) -> None:
        if not 0 < off_kg < on_kg:
            raise ValueError("need 0 < off_kg < on_kg")
        self.on_kg = on_kg
        self.off_kg = off_kg
        self.on_board = False

    def update(self, total_kg: float) -> bool:
        if self.on_board and total_kg < self.off_kg:
            self.on_board = False
        elif not self.on_board and total_kg > self.on_kg:
            self.on_board = True
        return self.on_board


class _Biquad:
    """Causal 2nd-order Butterworth low-pass (bilinear transform), one channel."""

    def __init__(self, cutoff_hz: float, rate_hz: float) -> None:
        k = math.tan(math.pi * cutoff_hz / rate_hz)
        q = 1 / math.sqrt(2)
        norm = 1 / (1 + k / q + k * k)
        self.b0 = k * k * norm
        self.b1 = 2 * self.b0
        self.b2 = self.b0
        self.a1 = 2 * (k * k - 1) * norm
        self.a2 = (1 - k / q + k * k) * norm
        self.z1 = self.z2 = 0.0
        self.primed = False

    def reset(self, value: float) -> None:
        # start at rest at ``value`` so the dot does not fly in from the origin
        self.z1 = value * (1 - self.b0)
        self.z2 = value * (self.b2 - self.a2)
        self.primed = True

    def __call__(self, x: float) -> float:
        if not self.primed:
            self.reset(x)
        y = self.b0 * x + self.z1
        self.z1 = self.b1 * x - self.a1 * y + self.z2
        self.z2 = self.b2 * x - self.a2 * y
        return y


class CentreOfPressureTracker:
    """Live CoP: feed it LoadSamples, get CopSamples.

    :param geometry: the board's cell spacing (``device.config``).
    :param on_kg: somebody is "on the board" once the total exceeds this (kg) ...
    :param off_kg: ... and until it falls below this (kg): hysteresis (``OnBoard``).
    :param display_lowpass_hz: cut-off of the causal Butterworth low-pass on the display
        coordinates (Hz); scores use the raw CoP.
    :param rate_hz: the sample rate the filter is designed for (Hz).

    Example::

        tracker = CentreOfPressureTracker(BoardGeometry())
        for load in loads:                     # LoadSamples from Calibration.loads()
            cop = tracker.update(load)
            if cop.on_board: draw_dot(cop.display_x_mm, cop.display_y_mm)
    """

    def __init__(
        self,
        geometry: BoardGeometry,
        *,
        on_kg: float = ON_KG,
        off_kg: float = OFF_KG,
        display_lowpass_hz: float = 4.0,
        rate_hz: float = 80.0,
    ) -> None:
        self.geometry = geometry
        self._presence = OnBoard(on_kg, off_kg)
        self._fx = _Biquad(display_lowpass_hz, rate_hz)
        self._fy = _Biquad(display_lowpass_hz, rate_hz)

    @property
    def on_board(self) -> bool:
        return self._presence.on_board

    def update(self, sample: LoadSample) -> CopSample:
        loads = sample.loads_kg
        if any(v is None for v in loads):
            self._fx.primed = self._fy.primed = False
            return CopSample(sample.t, None, None, None, None, None, self.on_board, sample.faults)
        fl, fr, bl, br = loads
        total = fl + fr + bl + br
        if not self._presence.update(total):
            self._fx.primed = self._fy.primed = False
            return CopSample(sample.t, total, None, None, None, None, False, sample.faults)
        g = self.geometry
        x, y = cop_xy(fl, fr, bl, br, total, g.width_mm, g.depth_mm)
        return CopSample(sample.t, total, x, y, self._fx(x), self._fy(y), True, sample.faults)
