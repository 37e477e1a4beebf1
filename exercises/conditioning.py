"""Signal conditioning for scores: zero-phase low-pass and resampling to a uniform grid.

Pure functions on arrays (../shared/notes/posturography.md, "Signal conditioning"). The live
screen uses its own causal filter (``device.cop``); scores use these, over the whole trial.
"""

from __future__ import annotations

import numpy as np

DEFAULT_LOWPASS_HZ = 10.0


def lowpass(x: np.ndarray, fs: float, cutoff_hz: float = DEFAULT_LOWPASS_HZ, order: int = 4):
    """Zero-phase Butterworth low-pass along the first axis.

    ``sosfiltfilt(butter(order, cutoff_hz, fs=fs, output="sos"), x)``: the filter runs forward
    and backward, so the effective order doubles and there is no phase lag. ``cutoff_hz`` 0
    returns ``x`` unchanged; a cut-off at or above Nyquist is refused. Short signals (fewer samples
    than the filter's padding needs) are returned unfiltered.

    Without it, 0.5 mm of sensor noise inflates the mean velocity by about 180 %; with it by
    about 8 % (posturography notes).
    """
    x = np.asarray(x, dtype=float)
    if cutoff_hz == 0:
        return x
    if not 0 < cutoff_hz < fs / 2:
        raise ValueError(f"low-pass cut-off must be between 0 and {fs / 2:g} Hz (Nyquist)")
    # imported here: scipy.signal costs over a second of CPU to import (4 s on a Pi 4), which
    # every command and the app's start would otherwise pay before it is needed
    from scipy.signal import butter, sosfiltfilt

    sos = butter(order, cutoff_hz, fs=fs, output="sos")
    padlen = 3 * (2 * len(sos) + 1)
    if len(x) <= padlen:
        return x
    return sosfiltfilt(sos, x, axis=0)


def warm_up() -> None:
    """Load the numerical libraries the scores need (scipy.signal and scipy.stats: over a second
    here, several on a Pi 4) and run each once. The app calls it in the background at its
    start, so that the end of the first trial does not freeze the screen while they load."""
    from scipy.signal import butter, sosfiltfilt, welch  # noqa: F401
    from scipy.stats import f  # noqa: F401

    lowpass(np.zeros(200), 80.0)


def resample_uniform(t: np.ndarray, x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Irregularly timed samples → a uniform grid at ``fs``, by sliding-window averaging.

    SWARII (Audiffren & Contal, Sensors 2016): each sample holds its value over its *relevance
    interval*, from the midpoint with the previous sample to the midpoint with the next; each
    output is the time-weighted mean of the held signal over a window of one output period
    centred on its instant. Computed exactly through the integral of the held signal, so it is
    O(N). Linear or zero-order-hold interpolation would distort the velocity.

    :returns: (uniform times, resampled values); ``x`` may be (N,) or (N, k).
    """
    t = np.asarray(t, dtype=float)
    x = np.asarray(x, dtype=float)
    if len(t) < 2:
        return t.copy(), x.copy()
    if np.any(np.diff(t) < 0):
        raise ValueError("sample times must not go backwards")
    edges = np.concatenate([[t[0]], (t[1:] + t[:-1]) / 2, [t[-1]]])
    widths = np.diff(edges)
    flat = x.reshape(len(t), -1)
    integral = np.vstack([np.zeros(flat.shape[1]), np.cumsum(flat * widths[:, None], axis=0)])
    period = 1.0 / fs
    grid = t[0] + np.arange(int(np.floor((t[-1] - t[0]) * fs)) + 1) * period
    lo = np.clip(grid - period / 2, t[0], t[-1])
    hi = np.clip(grid + period / 2, t[0], t[-1])
    cols = [
        np.interp(hi, edges, integral[:, j]) - np.interp(lo, edges, integral[:, j])
        for j in range(flat.shape[1])
    ]
    span = np.maximum(hi - lo, 1e-12)
    out = np.stack(cols, axis=1) / span[:, None]
    return grid, out.reshape((len(grid), *x.shape[1:]))


def is_uniform(t: np.ndarray, tolerance: float = 0.01) -> bool:
    """True when every interval is within ``tolerance`` (relative) of the median interval."""
    dt = np.diff(np.asarray(t, dtype=float))
    if len(dt) == 0:
        return True
    median = np.median(dt)
    return bool(median > 0 and np.all(np.abs(dt - median) <= tolerance * median))
