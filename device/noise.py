"""The white-noise floor of a signal, for the self-test (counts) and the quality flags (mm)."""

from __future__ import annotations

import math

import numpy as np


def white_noise_sd(values) -> float:
    """SD of the white noise in ``values``, from their second differences.

    For white noise of SD σ the second difference x[n+1] − 2x[n] + x[n−1] has variance 6σ²,
    while a slow signal (sway, drift, a steady load) adds almost nothing to it: so the estimate
    is blind to the signal itself. NaN for fewer than three values.

    >>> rng = np.random.default_rng(0)
    >>> round(white_noise_sd(np.linspace(0, 100, 20000) + rng.normal(0, 2.0, 20000)), 1)
    2.0
    """
    v = np.asarray(values, dtype=float)
    if len(v) < 3:
        return math.nan
    return float(np.std(np.diff(v, 2)) / math.sqrt(6))
