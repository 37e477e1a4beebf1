"""The samples that flow from the pins to the exercises: frames of raw counts, calibrated loads
and centre-of-pressure samples.

Plain data, no hardware: the driver (``device.hx711``) makes ``Frame``\\ s, calibration
(``device.calibration``) turns them into ``LoadSample``\\ s, the CoP stage (``device.cop``) into
``CopSample``\\ s, which the exercises (``exercises``) read. Keeping the types here lets the pure
core import them without loading gpiozero or the reader process.

    pins ──▶ Frame (4 raw counts) ──▶ LoadSample (4 × kg) ──▶ CopSample (x, y mm) ──▶ exercise

All three are in corner order front-left, front-right, back-left, back-right (``device.CORNERS``);
a corner that failed is None, with the fault's name beside it (``device.faults``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Frame:
    """One reading of the four cells, in corner order FL, FR, BL, BR.

    ``t`` is monotonic seconds at data-ready (the mean over the chips that delivered);
    ``raw[i]`` is None exactly when ``faults[i]`` names what went wrong with that corner.
    """

    t: float
    raw: tuple[int | None, ...]
    faults: tuple[str | None, ...]
    chip_t: tuple[float | None, ...] = ()  # data-ready time of each corner's reading

    @property
    def ok(self) -> bool:
        """True when all four corners delivered a valid reading."""
        return all(f is None for f in self.faults)


@dataclass(frozen=True, slots=True)
class LoadSample:
    """Calibrated load per corner (kg, None where the corner is faulty), corner order."""

    t: float
    loads_kg: tuple[float | None, ...]
    faults: tuple[str | None, ...]

    @property
    def total_kg(self) -> float | None:
        if any(v is None for v in self.loads_kg):
            return None
        return sum(self.loads_kg)


@dataclass(frozen=True, slots=True)
class CopSample:
    """One CoP sample. ``x_mm``/``y_mm`` are None when the CoP cannot be computed (nobody on
    the board, or a corner faulty: then ``faults`` names it)."""

    t: float
    total_kg: float | None
    x_mm: float | None
    y_mm: float | None
    display_x_mm: float | None  # low-passed for the screen
    display_y_mm: float | None
    on_board: bool
    faults: tuple[str | None, ...]
