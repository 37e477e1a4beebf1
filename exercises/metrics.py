"""Stabilogram metrics: pure functions on centre-of-pressure arrays.

Definitions (Prieto et al. 1996, IEEE Trans Biomed Eng 43:956; Santos & Duarte 2016, PeerJ
4:e2648; summarised in ../shared/notes/posturography.md). ``x`` is medio-lateral (ML, + to the
right), ``y`` antero-posterior (AP, + toward the toes), both in mm (any one length unit works:
results come in that unit), sampled uniformly at ``fs`` Hz. N samples last T = N / fs. The BDS
data set reproduces its published reference values with these functions to 1e-7.

No I/O, no clock: arrays in, numbers out.
"""

from __future__ import annotations

import math

import numpy as np


def _xy(x, y) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x and y must be 1-D arrays of the same length")
    if len(x) < 3:
        raise ValueError("at least 3 samples are needed")
    return x, y


def path_length(x, y) -> float:
    """Σ sqrt(Δx² + Δy²): the length of the CoP's path."""
    x, y = _xy(x, y)
    return float(np.sum(np.hypot(np.diff(x), np.diff(y))))


def duration(n: int, fs: float) -> float:
    """T = N / fs, the duration the velocity is divided by (the BDS convention)."""
    return n / fs


def mean_velocity(x, y, fs: float) -> float:
    """Path length / T (mm/s)."""
    x, y = _xy(x, y)
    return path_length(x, y) / duration(len(x), fs)


def mean_velocity_axis(v, fs: float) -> float:
    """Σ|Δv| / T along one axis (mm/s)."""
    v = np.asarray(v, dtype=float)
    return float(np.sum(np.abs(np.diff(v)))) / duration(len(v), fs)


def mean_distance(x, y) -> float:
    """Mean of RD = sqrt(ML² + AP²), with ML and AP referenced to their means (mm)."""
    x, y = _xy(x, y)
    return float(np.mean(np.hypot(x - x.mean(), y - y.mean())))


def rms(v) -> float:
    """Root mean square about the mean = population SD (mm)."""
    return float(np.std(np.asarray(v, dtype=float)))


def range_(v) -> float:
    """max − min (mm)."""
    v = np.asarray(v, dtype=float)
    return float(v.max() - v.min())


def ellipse_area_95(x, y) -> float:
    """Area of the 95 % prediction ellipse (mm²).

    π · F(0.95; 2, N−2) · 2(N−1)(N+1) / (N(N−2)) · sqrt(det S), S the sample covariance
    (ddof 1) of (x, y). For large N this is π · 5.991 · sqrt(det S). It predicts where 95 % of
    the CoP lies; it is not the confidence ellipse of the mean, which shrinks with N.
    """
    x, y = _xy(x, y)
    cov = np.cov(x, y, ddof=1)
    det = max(float(np.linalg.det(cov)), 0.0)
    return float(math.pi * ellipse_factor_95(len(x)) * math.sqrt(det))


def ellipse_factor_95(n: int) -> float:
    """F(0.95; 2, N−2) · 2(N−1)(N+1) / (N(N−2)): the squared scale of the 95 % prediction ellipse
    of N points over their covariance's eigenvalues (see ``ellipse_area_95``)."""
    from scipy.stats import f as f_distribution  # imported when needed (see conditioning)

    return float(f_distribution.ppf(0.95, 2, n - 2) * 2 * (n - 1) * (n + 1) / (n * (n - 2)))


def _welch(v: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.signal import welch

    n = len(v)
    nperseg = n // 2
    return welch(
        v,
        fs=fs,
        window="hann",
        nperseg=nperseg,
        noverlap=n // 4,
        nfft=nperseg,
        detrend="constant",
    )


def mean_power_frequency(x, y, fs: float) -> float:
    """Mean power frequency of the CoP, both axes combined (Hz), as the BDS defines it.

    Welch PSD per axis (Hann window, nperseg = N/2, noverlap = N/4, nfft = N/2, constant
    detrend); per axis mpf = ∫f·P df / ∫P df (trapezoidal rule); combined =
    (mpf_ML·ΣP_ML + mpf_AP·ΣP_AP) / (ΣP_ML + ΣP_AP).
    """
    x, y = _xy(x, y)
    f, p_ml = _welch(x, fs)
    _, p_ap = _welch(y, fs)
    s_ml, s_ap = float(p_ml.sum()), float(p_ap.sum())
    if s_ml + s_ap == 0:
        return 0.0

    def mpf(p: np.ndarray) -> float:
        area = float(np.trapezoid(p, f))
        return float(np.trapezoid(f * p, f)) / area if area else 0.0

    return (mpf(p_ml) * s_ml + mpf(p_ap) * s_ap) / (s_ml + s_ap)


def prieto_mean_frequency(x, y, fs: float) -> float:
    """MFREQ = mean velocity / (2π · mean distance) (Hz; Prieto et al. 1996)."""
    distance = mean_distance(x, y)
    return mean_velocity(x, y, fs) / (2 * math.pi * distance) if distance else 0.0


def romberg_quotient(eyes_closed: float, eyes_open: float) -> float:
    """Eyes-closed value / eyes-open value of the same metric (velocity-based is the more
    reliable; about 1-1.3 in healthy adults on a firm surface)."""
    if eyes_open <= 0:
        raise ValueError("the eyes-open value must be positive")
    return eyes_closed / eyes_open


def weight_right_pct(x, stance_width_mm: float, feet_centre_x_mm: float = 0.0) -> np.ndarray:
    """Share of the body weight on the right foot (%), from the ML CoP on one board.

    %BW right = (x − x_left) / (x_right − x_left) · 100, the feet's centres at
    ``feet_centre_x_mm`` ± stance_width/2 (the marked foot outlines). A 1 cm error in the feet's
    midpoint costs about 5 percentage points at 20 cm stance width.
    """
    if stance_width_mm <= 0:
        raise ValueError("stance width must be positive")
    x_left = feet_centre_x_mm - stance_width_mm / 2
    return (np.asarray(x, dtype=float) - x_left) / stance_width_mm * 100


def asymmetry_pct(unaffected: float, affected: float) -> float:
    """100 · (F_unaffected − F_affected) / (F_unaffected + F_affected); 0 = symmetric,
    positive = more load on the unaffected side (~21 % on average after stroke)."""
    total = unaffected + affected
    return 100 * (unaffected - affected) / total if total else 0.0


def sway_metrics(x, y, fs: float) -> dict[str, float]:
    """The standard set for one trial, by the names the replay contract uses."""
    x, y = _xy(x, y)
    return {
        "duration_s": duration(len(x), fs),
        "path_length_mm": path_length(x, y),
        "mean_velocity_mm_s": mean_velocity(x, y, fs),
        "mean_velocity_ml_mm_s": mean_velocity_axis(x, fs),
        "mean_velocity_ap_mm_s": mean_velocity_axis(y, fs),
        "ellipse_area_95_mm2": ellipse_area_95(x, y),
        "mean_distance_mm": mean_distance(x, y),
        "rms_ml_mm": rms(x),
        "rms_ap_mm": rms(y),
        "range_ml_mm": range_(x),
        "range_ap_mm": range_(y),
        "mean_power_frequency_hz": mean_power_frequency(x, y, fs),
        "prieto_mean_frequency_hz": prieto_mean_frequency(x, y, fs),
    }
