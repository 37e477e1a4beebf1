"""Raw counts → kilograms per corner: tare, per-corner gains, the re-zero check, and the file.

Third stage of the flow (pins → frames → **loads** → CoP → ...). Each corner is linear::

    load_kg[i] = (raw[i] − offset_counts[i]) · kg_per_count[i]

*Tare* gives the offsets (empty board). The *gains* come from one known weight (a 5 kg dumbbell
plate, weighed on a kitchen scale) put over the peg at each corner's mark in turn
(``hardware/building.md``). Each placement k at mark (x_k, y_k) gives three equations in the four
gains g_i, with Δ_k the change in counts and (x_i, y_i) the cell positions::

    Σ_i g_i Δ_ki = m        Σ_i g_i Δ_ki x_i = m x_k        Σ_i g_i Δ_ki y_i = m y_k

solved by weighted least squares. The totals alone are not enough: a stiff board shares any load
between its corners without twist (FL − FR − BL + BR = 0), so a gain error of the form
λ·(+1, −1, −1, +1) leaves every total right and shears the CoP (x' = x − λ·W/D·y). Only the
positions of the weight pin λ down, hence the pegs: 2 mm of placement error costs about 0.5 % of
shear, under 1 mm of CoP error anywhere a foot stands.

``CalibrationProcedure`` walks a person through it step by step (the CLI and the therapist's
screen both drive it); it is fed frames and never reads a clock. ``save_calibration`` writes
atomically; ``load_calibration`` turns a missing or corrupt file into "needs calibration".
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np

from device import CORNER_NAMES
from device.faults import describe_fault
from device.files import atomic_write_text
from device.geometry import BoardGeometry
from device.samples import Frame, LoadSample

FORMAT = "balance-board-calibration/1"
MAX_FILE_BYTES = 64_000  # a calibration is under a kilobyte: more is damage
# kg per count a real cell can give at gain 128: a 5 kg cell at 2 mV/V gives about 2e-7, a 500 kg
# cell at 0.5 mV/V about 2e-4; anything far outside is a damaged file
GAIN_RANGE = (1e-9, 1e-2)


@dataclass(frozen=True)
class Calibration:
    """Offsets and gains of the four corners, with when and how they were made."""

    offsets_counts: tuple[float, float, float, float]
    kg_per_count: tuple[float, float, float, float]
    calibrated_at: str  # ISO 8601 with offset
    known_weight_kg: float
    zeroed_at: str = ""  # last re-zero, ISO 8601 with offset
    notes: tuple[str, ...] = field(default=())

    def loads(self, frame: Frame) -> LoadSample:
        """One frame of raw counts → LoadSample (faulty corners stay None, with their fault)."""
        loads = tuple(
            None if raw is None else (raw - off) * gain
            for raw, off, gain in zip(
                frame.raw, self.offsets_counts, self.kg_per_count, strict=True
            )
        )
        return LoadSample(frame.t, loads, frame.faults)

    def loads_array(self, raw: np.ndarray) -> np.ndarray:
        """Array (N, 4) of raw counts → array (N, 4) of kg."""
        return (np.asarray(raw, dtype=float) - self.offsets_counts) * self.kg_per_count

    def rezeroed(self, offsets_counts, when: str) -> Calibration:
        """The same gains with new offsets (the empty board read at the start of a session)."""
        offsets = tuple(float(v) for v in offsets_counts)
        return replace(self, offsets_counts=offsets, zeroed_at=when)

    def age_days(self, now: datetime) -> float:
        """Days since the known-weight calibration, at ``now`` (timezone-aware)."""
        return (now - datetime.fromisoformat(self.calibrated_at)).total_seconds() / 86400

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "corner_order": list(CORNER_NAMES),
                "calibrated_at": self.calibrated_at,
                "zeroed_at": self.zeroed_at,
                "known_weight_kg": self.known_weight_kg,
                "offsets_counts": list(self.offsets_counts),
                "kg_per_count": list(self.kg_per_count),
                "notes": list(self.notes),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Calibration:
        """Parse a calibration file's text; ValueError says what is wrong."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")

        def four(name):
            values = data.get(name)
            if (
                not isinstance(values, list)
                or len(values) != 4
                or not all(isinstance(v, int | float) and math.isfinite(v) for v in values)
            ):
                raise ValueError(f"{name} must be four numbers")
            return tuple(float(v) for v in values)

        gains = four("kg_per_count")
        if any(g == 0 for g in gains):
            raise ValueError("a corner has a zero gain")
        if not all(GAIN_RANGE[0] <= abs(g) <= GAIN_RANGE[1] for g in gains):
            raise ValueError(
                f"kg_per_count beyond what any load cell gives ({GAIN_RANGE[0]:g} to "
                f"{GAIN_RANGE[1]:g} kg per count)"
            )
        offsets = four("offsets_counts")
        if not all(abs(o) <= 2**24 for o in offsets):
            raise ValueError("offsets_counts beyond the 24-bit range of the HX711")
        try:
            calibrated_at = str(data["calibrated_at"])
            datetime.fromisoformat(calibrated_at)
            weight = float(data["known_weight_kg"])
        except (KeyError, TypeError, ValueError):
            raise ValueError("calibrated_at or known_weight_kg missing or malformed") from None
        return cls(
            offsets_counts=offsets,
            kg_per_count=gains,
            calibrated_at=calibrated_at,
            known_weight_kg=weight,
            zeroed_at=str(data.get("zeroed_at", "")),
            notes=tuple(str(n) for n in data.get("notes", [])),
        )


def save_calibration(path: str | Path, calibration: Calibration) -> None:
    """Save atomically (never a half-written file)."""
    atomic_write_text(path, calibration.to_json() + "\n")


@dataclass(frozen=True)
class CalibrationStatus:
    """The result of looking for a calibration: either one, or the reason it needs doing."""

    calibration: Calibration | None
    problem: str | None = None

    @property
    def needs_calibration(self) -> bool:
        return self.calibration is None


def load_calibration(path: str | Path) -> CalibrationStatus:
    """Read the calibration file; a missing or corrupt file is "needs calibration", not an error."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return CalibrationStatus(None, f"The calibration file {path} is damaged: too large.")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CalibrationStatus(None, "The board has not been calibrated yet.")
    except (OSError, UnicodeDecodeError) as exc:
        return CalibrationStatus(None, f"The calibration file {path} cannot be read ({exc}).")
    try:
        return CalibrationStatus(Calibration.from_json(text))
    except (ValueError, TypeError, KeyError, RecursionError) as exc:
        what = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        return CalibrationStatus(None, f"The calibration file {path} is damaged: {what}.")


@dataclass(frozen=True)
class ZeroCheck:
    """How far the empty-board reading moved from the calibration's offsets."""

    shift_kg: tuple[float, float, float, float]
    moved: bool
    message: str | None


def zero_check(calibration: Calibration, empty_raw_mean, *, warn_kg: float = 0.5) -> ZeroCheck:
    """Compare an empty-board reading with the stored offsets.

    Cheap bar cells creep about 0.03 % of full scale per 30 min and drift a few grams per degree
    (../shared/notes/hx711.md), so a corner that moved more than ``warn_kg`` points at something
    else: an object on the board, a cell knocked loose, a board that was dropped.
    """
    shifts = tuple(
        float((raw - off) * gain)
        for raw, off, gain in zip(
            empty_raw_mean, calibration.offsets_counts, calibration.kg_per_count, strict=True
        )
    )
    moved = [i for i, s in enumerate(shifts) if abs(s) > warn_kg]
    if not moved:
        return ZeroCheck(shifts, False, None)
    where = ", ".join(f"{CORNER_NAMES[i]} {shifts[i]:+.1f} kg" for i in moved)
    return ZeroCheck(
        shifts,
        True,
        f"The empty board reads differently from its calibration ({where}). Make sure nothing "
        "is on or touching the board; if this keeps happening, calibrate it again.",
    )


def rezero(
    calibration: Calibration,
    raw: np.ndarray,
    now_iso: str,
    *,
    empty_kg: float = 5.0,
    warn_kg: float = 0.5,
) -> tuple[Calibration | None, ZeroCheck | None]:
    """The start-of-session re-zero, from a second or so of raw frames (N, 4).

    Returns (new calibration, check). Nothing is done, (None, None), when the board is not empty
    and still (someone is on it). When a corner moved more than ``warn_kg`` the offsets are kept
    and only the check's warning comes back: re-zeroing would hide an object on the board or a
    damaged cell.
    """
    raw = np.asarray(raw, dtype=float)
    if raw.ndim != 2 or len(raw) < 10:
        return None, None
    if np.ptp(raw, axis=0).max() > CalibrationProcedure.STILL_COUNTS:
        return None, None
    mean = raw.mean(axis=0)
    if abs(float(calibration.loads_array(mean).sum())) > empty_kg:
        return None, None
    check = zero_check(calibration, mean, warn_kg=warn_kg)
    if check.moved:
        return None, check
    return calibration.rezeroed(mean, now_iso), check


# --- the guided procedure ---------------------------------------------------------------------
@dataclass(frozen=True)
class ProcedureState:
    """What to show the person calibrating: the step, one instruction, progress 0-1."""

    step: str  # "clear", "place", "remove", "done"
    corner: int | None
    prompt: str
    progress: float
    problem: str | None = None
    calibration: Calibration | None = None

    @property
    def done(self) -> bool:
        return self.step == "done"


class CalibrationProcedure:
    """Tare, then the known weight on each corner mark in turn, then off again.

    Feed it every frame; each call returns what to show. A step completes when the reading has
    been still for ``still_s`` seconds. ``now_iso`` is the date to stamp on the result (pure code
    takes time from its caller).

    Example::

        procedure = CalibrationProcedure(known_weight_kg=5.0, now_iso="2026-11-23T10:00:00+01:00")
        while not (state := procedure.feed(cells.read())).done:
            show(state.prompt, state.progress)
        save_calibration(path, state.calibration)
    """

    STILL_COUNTS = 4000  # peak-to-peak per corner allowed in a "still" window (~0.1 kg)
    MIN_RESPONSE = 0.2  # the weight must move the sum by this share of the first placement

    PLACEMENT_SD_MM = 2.0  # how precisely the weight sits on its peg
    TOTAL_SD = 0.001  # relative: the totals are known far better than the positions

    def __init__(
        self,
        known_weight_kg: float,
        now_iso: str,
        *,
        geometry: BoardGeometry | None = None,
        still_s: float = 2.0,
    ) -> None:
        if not (math.isfinite(known_weight_kg) and 0.5 <= known_weight_kg <= 100):
            raise ValueError("the known weight must be between 0.5 and 100 kg")
        self.known_weight_kg = known_weight_kg
        self.now_iso = now_iso
        self.geometry = geometry or BoardGeometry()
        self.still_s = still_s
        self._window: deque[tuple[float, tuple[int, ...]]] = deque()
        self._step = "clear"
        self._corner = 0
        self._tare: np.ndarray | None = None
        self._placed: list[np.ndarray] = []
        self._result: Calibration | None = None
        self._problem: str | None = None

    def prompt(self) -> str:
        w = f"{self.known_weight_kg:g} kg"
        if self._step == "clear":
            return "Take everything off the board and do not touch it."
        if self._step == "place":
            return f"Put the {w} weight on the {CORNER_NAMES[self._corner]} mark and let go."
        if self._step == "remove":
            return f"Take the {w} weight off the board."
        return "Calibration finished."

    def state(self, progress: float = 0.0) -> ProcedureState:
        corner = self._corner if self._step == "place" else None
        return ProcedureState(
            self._step, corner, self.prompt(), progress, self._problem, self._result
        )

    def feed(self, frame: Frame) -> ProcedureState:
        if self._step == "done":
            return self.state(1.0)
        faulty = [i for i, f in enumerate(frame.faults) if f is not None]
        if faulty:
            self._window.clear()
            self._problem = "; ".join(describe_fault(i, frame.faults[i]) for i in faulty)
            return self.state(0.0)
        window = self._window
        window.append((frame.t, frame.raw))
        while window and frame.t - window[0][0] > self.still_s:
            window.popleft()
        raw = np.array([r for _, r in window], dtype=float)
        if np.ptp(raw, axis=0).max() > self.STILL_COUNTS:
            # moving: keep only the newest frame and start the still window again
            last = window[-1]
            window.clear()
            window.append(last)
            return self.state(0.0)
        span = window[-1][0] - window[0][0]
        if span < self.still_s * 0.98:
            return self.state(span / self.still_s)
        self._complete_step(raw.mean(axis=0))
        window.clear()
        return self.state(1.0 if self._step == "done" else 0.0)

    def _complete_step(self, mean: np.ndarray) -> None:
        self._problem = None
        if self._step == "clear":
            self._tare = mean
            self._step = "place"
            return
        delta = mean - self._tare
        if self._step == "remove":
            if abs(delta.sum()) > 0.5 * abs(self._placed[-1].sum()):
                self._problem = "The weight is still on the board."
                return
            self._finish(delta)
            return
        corner = self._corner
        strongest = int(np.argmax(np.abs(delta)))
        needed = self.MIN_RESPONSE * abs(self._placed[0].sum()) if self._placed else 20_000
        if abs(delta.sum()) < needed:
            self._problem = f"No weight felt yet on the {CORNER_NAMES[corner]} mark."
            return
        if self._placed and strongest == corner - 1:
            self._problem = f"Now move the weight to the {CORNER_NAMES[corner]} mark."
            return
        if strongest != corner:
            self._problem = (
                f"The weight seems to be nearest the {CORNER_NAMES[strongest]} corner. Put it on "
                f"the {CORNER_NAMES[corner]} mark. If it is already there, the "
                f"{CORNER_NAMES[corner]} and {CORNER_NAMES[strongest]} cables are swapped "
                "(see hardware/wiring.md)."
            )
            return
        if delta[corner] < 0:
            self._problem = (
                f"The {CORNER_NAMES[corner]} load cell reads backwards: swap its green and white "
                "wires at the amplifier (A+ and A−, see hardware/wiring.md)."
            )
            return
        self._placed.append(delta)
        if corner < 3:
            self._corner += 1
        else:
            self._step = "remove"

    def _finish(self, tare_shift: np.ndarray) -> None:
        gains, off_mark_mm = solve_gains(
            np.array(self._placed),
            self.geometry.weight_marks_mm,
            self.geometry.cell_positions_mm,
            self.known_weight_kg,
            placement_sd_mm=self.PLACEMENT_SD_MM,
            total_sd=self.TOTAL_SD,
        )
        shift_kg = float(np.abs(tare_shift * gains).max())
        if shift_kg > 0.05 * self.known_weight_kg:
            self._problem = (
                "The board did not return to zero when the weight came off. Make sure nothing "
                "else is on it; we will start again."
            )
            self._step, self._corner, self._placed = "clear", 0, []
            return
        notes = []
        for i, off in enumerate(off_mark_mm):
            if off > 10:
                notes.append(
                    f"The weight sat {off:.0f} mm away from the {CORNER_NAMES[i]} mark: for the "
                    "best accuracy, calibrate again with the weight on its peg."
                )
        median = float(np.median(gains))
        for i, g in enumerate(gains):
            if g <= 0 or not 0.5 < g / median < 2:
                notes.append(
                    f"The {CORNER_NAMES[i]} cell's sensitivity is far from the others': "
                    "check its wiring and that it is the same model."
                )
        self._result = Calibration(
            offsets_counts=tuple(float(v) for v in self._tare),
            kg_per_count=tuple(float(g) for g in gains),
            calibrated_at=self.now_iso,
            known_weight_kg=self.known_weight_kg,
            zeroed_at=self.now_iso,
            notes=tuple(notes),
        )
        self._step = "done"


def solve_gains(
    deltas: np.ndarray,
    marks_mm,
    cells_mm,
    known_kg: float,
    *,
    placement_sd_mm: float = 2.0,
    total_sd: float = 0.001,
) -> tuple[np.ndarray, list[float]]:
    """Per-corner gains (kg per count) from a known weight placed at known marks.

    :param deltas: (K, 4) change in counts for each of K placements.
    :param marks_mm: K (x, y) positions of the weight; ``cells_mm``: the 4 cell positions.
    :returns: the gains, and for each placement how far from its mark the solved CoP lies (mm).

    Weighted least squares over Σ g_i Δ_ki = m (relative s.d. ``total_sd``) and the two moment
    equations Σ g_i Δ_ki x_i = m x_k, Σ g_i Δ_ki y_i = m y_k (s.d. m · ``placement_sd_mm``).
    """
    deltas = np.asarray(deltas, dtype=float)
    cells = np.asarray(cells_mm, dtype=float)
    marks = np.asarray(marks_mm, dtype=float)[: len(deltas)]
    rows, rhs = [], []
    for delta, (x, y) in zip(deltas, marks, strict=True):
        rows.append(delta / total_sd)
        rhs.append(known_kg / total_sd)
        rows.append(delta * cells[:, 0] / placement_sd_mm)
        rhs.append(known_kg * x / placement_sd_mm)
        rows.append(delta * cells[:, 1] / placement_sd_mm)
        rhs.append(known_kg * y / placement_sd_mm)
    a, b = np.array(rows), np.array(rhs)
    scale = np.abs(a).max(axis=0)  # column scaling keeps the solve well conditioned
    gains = np.linalg.lstsq(a / scale, b, rcond=None)[0] / scale
    loads = deltas * gains
    totals = loads.sum(axis=1)
    cop = loads @ cells / totals[:, None]
    off = np.hypot(*(cop - marks).T)
    return gains, [float(v) for v in off]
