"""The board's configuration: its geometry and its pin map, read from one file.

``hardware/board.toml`` documents the format and holds the values of the board described in
``hardware/``; a Pi reads ``/etc/balance-board/board.toml`` when it exists, else these defaults.
The driver, the simulated board and every command take their pins and geometry from here, so a
board wired differently is described once.

Example::

    config = load_board_config("hardware/board.toml")
    config.pins.dout          # (5, 6, 13, 19): front-left, front-right, back-left, back-right
    config.geometry.width_mm  # 440.0
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from device.geometry import BoardGeometry, GeometryError, geometry_from_toml, read_config_file

SYSTEM_CONFIG = Path("/etc/balance-board/board.toml")


@dataclass(frozen=True)
class PinMap:
    """The BCM GPIO numbers of the four HX711s, corner order FL, FR, BL, BR, and their rate.

    Each chip has its own DOUT and its own PD_SCK line (``hardware/wiring.md``); ``sck`` may
    instead hold one pin shared by all four. ``rate_sps`` is what the RATE pins are wired for
    (80 with RATE high, 10 with it low).
    """

    dout: tuple[int, ...] = (5, 6, 13, 19)
    sck: tuple[int, ...] = (17, 27, 22, 23)
    rate_sps: int = 80

    def __post_init__(self) -> None:
        pins = (*self.dout, *self.sck)
        if len(self.dout) != 4 or len(self.sck) not in (1, 4):
            raise GeometryError("[pins] needs four dout pins and four (or one shared) sck pins")
        if any(isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= 27 for p in pins):
            raise GeometryError("[pins] are BCM GPIO numbers from 0 to 27")
        if len(set(pins)) != len(pins):
            raise GeometryError("[pins] uses a GPIO twice")
        if self.rate_sps not in (10, 80):
            raise GeometryError("[pins] rate_sps must be 80 (RATE high) or 10 (RATE low)")


DEFAULT_PINS = PinMap()

# The Raspberry Pi's 40-pin header (every model since the B+, the Pi 4 and 5 too): which physical
# pin each BCM GPIO is on, so that a technician finds it by counting pins (hardware/wiring.md,
# ``balance-board doctor``). Pin 1 is the 3.3 V pin nearest the SD card's corner.
HEADER_PINS = {
    0: 27, 1: 28, 2: 3, 3: 5, 4: 7, 5: 29, 6: 31, 7: 26, 8: 24, 9: 21, 10: 19, 11: 23, 12: 32,
    13: 33, 14: 8, 15: 10, 16: 36, 17: 11, 18: 12, 19: 35, 20: 38, 21: 40, 22: 15, 23: 16,
    24: 18, 25: 22, 26: 37, 27: 13,
}  # fmt: skip
HEADER_3V3 = (1, 17)
HEADER_5V = (2, 4)
HEADER_GND = (6, 9, 14, 20, 25, 30, 34, 39)


@dataclass(frozen=True)
class BoardConfig:
    """Everything a board's configuration file says: geometry and pins."""

    geometry: BoardGeometry = field(default_factory=BoardGeometry)
    pins: PinMap = DEFAULT_PINS
    source: str = "built-in defaults"


def load_board_config(path: str | Path) -> BoardConfig:
    """Read a configuration file; GeometryError names the file and the problem."""
    data = read_config_file(path)
    geometry = geometry_from_toml(data, path)
    table = data.get("pins", {})
    if not isinstance(table, dict):
        raise GeometryError(f"{path}: [pins] must be a table")
    values = {}
    for key in ("dout", "sck"):
        if key in table:
            if not isinstance(table[key], list):
                raise GeometryError(f"{path}: [pins] {key} must be a list of GPIO numbers")
            values[key] = tuple(table[key])
    if "rate_sps" in table:
        values["rate_sps"] = table["rate_sps"]
    try:
        pins = PinMap(**values)
    except GeometryError as exc:
        raise GeometryError(f"{path}: {exc}") from None
    return BoardConfig(geometry, pins, str(path))


def find_board_config(
    explicit: str | Path | None = None, system_config: Path = SYSTEM_CONFIG
) -> BoardConfig:
    """The configuration in use: ``explicit`` when given, else the system file when it exists,
    else the defaults (the board in ``hardware/``). ``system_config`` is where the system file
    is looked for (``balance-board doctor``'s tests give a made-up Pi's)."""
    if explicit:
        return load_board_config(explicit)
    if system_config.exists():
        return load_board_config(system_config)
    return BoardConfig()
