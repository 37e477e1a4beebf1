"""The board's geometry: where the load cells and the foot marks are.

Read, with the pin map, from the board's configuration file (``device.config``;
``hardware/board.toml`` documents the format and holds the values for the board described in
``hardware/``). The CoP stage needs the cell spacing; exercises need the foot marks; calibration
needs the weight marks.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

FORMAT = "balance-board-geometry/1"


class GeometryError(ValueError):
    """The geometry file is missing, unreadable or inconsistent; the message says where."""


@dataclass(frozen=True)
class BoardGeometry:
    """Cell spacing and marks, in mm (x to the patient's right, y toward the toes)."""

    width_mm: float = 440.0
    depth_mm: float = 330.0
    stance_width_mm: float = 200.0
    feet_centre_y_mm: float = 0.0
    foot_length_mm: float = 260.0
    foot_width_mm: float = 105.0
    mark_inset_mm: float = 40.0

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not math.isfinite(value):
                raise GeometryError(f"{name} must be a number, not {value!r}")
        for name in ("width_mm", "depth_mm", "stance_width_mm", "foot_length_mm", "foot_width_mm"):
            if getattr(self, name) <= 0:
                raise GeometryError(f"{name} must be positive")
        if self.stance_width_mm + self.foot_width_mm > 2 * self.width_mm:
            raise GeometryError("the foot marks do not fit between the cells")
        if not 0 <= self.mark_inset_mm < min(self.width_mm, self.depth_mm) / 2:
            raise GeometryError("mark_inset_mm must put the weight marks inside the cells")

    @property
    def cell_positions_mm(self) -> tuple[tuple[float, float], ...]:
        """(x, y) of the cells in corner order FL, FR, BL, BR."""
        w, d = self.width_mm / 2, self.depth_mm / 2
        return ((-w, d), (w, d), (-w, -d), (w, -d))

    @property
    def weight_marks_mm(self) -> tuple[tuple[float, float], ...]:
        """(x, y) of the calibration weight marks, one inside each cell, corner order."""
        w = self.width_mm / 2 - self.mark_inset_mm
        d = self.depth_mm / 2 - self.mark_inset_mm
        return ((-w, d), (w, d), (-w, -d), (w, -d))

    @property
    def foot_centres_mm(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """(x, y) of the left and right foot marks' centres."""
        s, y = self.stance_width_mm / 2, self.feet_centre_y_mm
        return ((-s, y), (s, y))


def geometry_from_toml(data: dict, path: str | Path) -> BoardGeometry:
    """The geometry in a parsed configuration file's tables; GeometryError names the file."""
    fields = {
        "width_mm": ("cells", "width_mm"),
        "depth_mm": ("cells", "depth_mm"),
        "stance_width_mm": ("feet", "stance_width_mm"),
        "feet_centre_y_mm": ("feet", "centre_y_mm"),
        "foot_length_mm": ("feet", "length_mm"),
        "foot_width_mm": ("feet", "width_mm"),
        "mark_inset_mm": ("calibration", "mark_inset_mm"),
    }
    values = {}
    for name, (table, key) in fields.items():
        section = data.get(table, {})
        value = section.get(key) if isinstance(section, dict) else None
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise GeometryError(f"{path}: [{table}] {key} must be a number of millimetres")
        values[name] = float(value)
    try:
        return BoardGeometry(**values)
    except GeometryError as exc:
        raise GeometryError(f"{path}: {exc}") from None


def read_config_file(path: str | Path) -> dict:
    """A board configuration file's tables (TOML, ``format`` checked); GeometryError says why
    it cannot be used."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GeometryError(f"{path}: no such geometry file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GeometryError(f"{path}: not a readable TOML file ({exc})") from None
    if data.get("format") != FORMAT:
        raise GeometryError(f"{path}: format must be {FORMAT!r}")
    return data


def load_geometry(path: str | Path) -> BoardGeometry:
    """Read a configuration file's geometry; raises GeometryError naming the file and the
    problem."""
    return geometry_from_toml(read_config_file(path), path)
