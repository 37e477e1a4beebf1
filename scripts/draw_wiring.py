"""Draws hardware/wiring.svg, the board's wiring, from the pin map the software uses.

    .venv/bin/python scripts/draw_wiring.py      # rewrites hardware/wiring.svg

The pins come from ``device.config`` (the defaults, which ``hardware/board.toml`` repeats) and
the header's pin numbers from ``device.config.HEADER_PINS``, so the drawing cannot say other
than the software; ``tests/test_hardware_docs.py`` checks that the committed drawing is what
this script draws now, and that ``hardware/wiring.md``'s tables say the same. Plain SVG written
by hand (no plotting library: the file stays small, readable and the same on every machine).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from html import escape
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from device import CORNER_NAMES  # noqa: E402  (the repository on the path first)
from device.config import DEFAULT_PINS, HEADER_PINS  # noqa: E402

OUT = REPO / "hardware" / "wiring.svg"
SHORT = {"front-left": "FL", "front-right": "FR", "back-left": "BL", "back-right": "BR"}
# DIN 47100 core colours, as LiYCY control cable is made: (name, SVG colour, stripe colour)
DIN_47100 = [
    ("white", "#ffffff", None),
    ("brown", "#8b5a2b", None),
    ("green", "#2e9e44", None),
    ("yellow", "#f2d21b", None),
    ("grey", "#9a9a9a", None),
    ("pink", "#f29cc3", None),
    ("blue", "#2a62c9", None),
    ("red", "#d62828", None),
    ("black", "#1a1a1a", None),
    ("violet", "#8e44ad", None),
    ("grey-pink", "#9a9a9a", "#f29cc3"),
    ("red-blue", "#d62828", "#2a62c9"),
]
GROUND_PIN, SECOND_GROUND_PIN, SHIELD_PIN, SUPPLY_PIN = 9, 39, 25, 1
CELL_RATING_KG = 200  # hardware/parts.md; hardware/safety.md derives the user's limit from it
DISPLAY_PINS = (2, 4, 6)  # the Touch Display 2's power block: 5 V, 5 V, GND


@dataclass(frozen=True)
class Core:
    """One conductor of the cable from the Pi to the board's box."""

    number: int  # also the box's D-sub pin
    colour: str
    signal: str
    pi_pin: int | None  # the header's physical pin; None: not connected
    gpio: int | None = None


def cable(pins=DEFAULT_PINS) -> list[Core]:
    """The cable's cores: each corner's DOUT and PD_SCK, then the supply and the grounds. With
    four clocks that is 4 + 4 + 3.3 V + GND = 10 conductors; the 12-core cable's 11th is a
    second ground, the 12th a spare."""
    clocks = pins.sck if len(pins.sck) == 4 else pins.sck * 4
    signals = []
    for corner, dout, sck in zip(CORNER_NAMES, pins.dout, clocks, strict=True):
        signals.append((f"DOUT {corner}", dout))
        if len(pins.sck) == 4 or corner == CORNER_NAMES[0]:
            signals.append((f"PD_SCK {corner}" if len(pins.sck) == 4 else "PD_SCK (all)", sck))
    # red and black carry the supply and the ground, as everyone expects; the signals take the
    # other colours in order (cores 1-7, then violet)
    order = [0, 1, 2, 3, 4, 5, 6, 9]
    cores = [
        Core(order[i] + 1, DIN_47100[order[i]][0], name, HEADER_PINS[gpio], gpio)
        for i, (name, gpio) in enumerate(signals)
    ]
    cores += [
        Core(8, "red", "3.3 V (HX711 VCC and VDD)", SUPPLY_PIN),
        Core(9, "black", "GND", GROUND_PIN),
        Core(11, "grey-pink", "GND", SECOND_GROUND_PIN),
        Core(12, "red-blue", "spare (insulated at both ends)", None),
    ]
    return sorted(cores, key=lambda c: c.number)


# --- drawing ------------------------------------------------------------------------------------
FONT = "font-family:DejaVu Sans,Arial,Helvetica,sans-serif"
WIDTH, HEIGHT = 1180, 860
ROW0, ROW_H = 128, 30


def _text(x, y, words, size=13, anchor="start", weight="normal", colour="#111") -> str:
    return (
        f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}" '
        f'font-weight="{weight}" fill="{colour}" style="{FONT}">{escape(words)}</text>'
    )


def _wire(x1, y1, x2, y2, colour, stripe=None, width=5) -> str:
    parts = [
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#333" '
        f'stroke-width="{width + 2}" stroke-linecap="round"/>',
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" '
        f'stroke-width="{width}" stroke-linecap="round"/>',
    ]
    if stripe:
        parts.append(
            f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{stripe}" '
            f'stroke-width="{width}" stroke-dasharray="10 10"/>'
        )
    return "\n".join(parts)


def _colour(name: str) -> tuple[str, str | None]:
    for core_name, colour, stripe in DIN_47100:
        if core_name == name:
            return colour, stripe
    raise KeyError(name)


def _header(x: int, y: int, used: dict[int, str]) -> list[str]:
    """The 40-pin header seen from above with the board's edge at the top: even pins along the
    edge, odd pins inside, pin 1 at the end away from the USB ports; used pins coloured."""
    out = [
        _text(x, y - 12, "The header seen from above (the board's edge at the top, its USB "
              "ports to the right): the pins used, in the cores' colours", 12),
    ]  # fmt: skip
    for pin in range(1, 41):
        column, edge_row = (pin - 1) // 2, pin % 2 == 0
        cx, cy = x + 10 + column * 17, y + (6 if edge_row else 23)
        fill = used.get(pin, "#ffffff")
        shape = (
            f'<rect x="{cx - 5.5}" y="{cy - 5.5}" width="11" height="11" '
            if pin == 1  # the square pad
            else f'<circle cx="{cx}" cy="{cy}" r="5.5" '
        )
        out.append(shape + f'fill="{fill}" stroke="#333" stroke-width="1"/>')
    out += [
        _text(x - 6, y + 27, "1", 11, "end", "bold"),
        _text(x - 6, y + 10, "2", 11, "end", "bold"),
        _text(x + 10 + 19 * 17 + 10, y + 27, "39", 11),
        _text(x + 10 + 19 * 17 + 10, y + 10, "40", 11),
        _text(x + 10 + 19 * 17 + 34, y + 19, "grey: the Touch Display 2's power block "
              "(pins 2, 4, 6)", 11),
    ]  # fmt: skip
    return out


def drawing(pins=DEFAULT_PINS) -> str:
    cores = cable(pins)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}">',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        _text(20, 30, "Balance board wiring: four HX711s on the Raspberry Pi's GPIO", 20, "start",
              "bold"),
        _text(20, 52, "GPIO numbers are BCM numbers; 'pin' is the header's physical pin. "
              "Drawn by scripts/draw_wiring.py from device/config.py; hardware/wiring.md has "
              "the same in tables.", 12, colour="#444"),
    ]  # fmt: skip
    # the Pi's side: a row per core, on the screw-terminal breakout
    top, bottom = ROW0 - 50, ROW0 + ROW_H * (len(cores) + 1) - 6
    out += [
        f'<rect x="20" y="{top}" width="300" height="{bottom - top}" rx="8" fill="#eef6ee" '
        'stroke="#2e7d32" stroke-width="2"/>',
        _text(34, top + 22, "Raspberry Pi 4 or 5", 14, weight="bold"),
        _text(34, top + 40, "GPIO screw-terminal breakout", 12),
    ]
    used = {p: "#dddddd" for p in DISPLAY_PINS}
    for i, core in enumerate(cores):
        y = ROW0 + 12 + i * ROW_H
        if core.pi_pin is None:
            where = "not connected"
        elif core.gpio is not None:
            where = f"pin {core.pi_pin} · GPIO{core.gpio}"
        else:
            where = f"pin {core.pi_pin} · {'3.3 V' if core.pi_pin == SUPPLY_PIN else 'GND'}"
        out.append(_text(262, y + 4, where, 13, "end"))
        colour, stripe = _colour(core.colour)
        if core.pi_pin is not None:
            used[core.pi_pin] = colour
            out.append(f'<circle cx="290" cy="{y}" r="6" fill="#c0c0c0" stroke="#333"/>')
        x_start = 296
        if core.gpio is not None:  # the series resistor at the Pi's end
            out.append(_wire(296, y, 330, y, colour, stripe, 3))
            out.append(
                f'<rect x="330" y="{y - 6}" width="34" height="12" rx="2" fill="#e8d9b5" '
                'stroke="#333"/>'
            )
            x_start = 364
        elif core.pi_pin is None:
            x_start = 340
        out.append(_wire(x_start, y, 760, y, colour, stripe))
        label = f"{core.number} {core.colour}: {core.signal}"
        out.append(
            f'<rect x="448" y="{y - 10}" width="{7.2 * len(label) + 10:.0f}" height="17" '
            'fill="#ffffff" fill-opacity="0.85"/>'
        )
        out.append(_text(453, y + 4, label, 12))
    shield_y = ROW0 + 12 + len(cores) * ROW_H
    out += [
        _text(262, shield_y + 4, f"pin {SHIELD_PIN} · GND", 13, "end"),
        f'<circle cx="290" cy="{shield_y}" r="6" fill="#c0c0c0" stroke="#333"/>',
        f'<line x1="296" y1="{shield_y}" x2="400" y2="{shield_y}" stroke="#555" '
        'stroke-width="2" stroke-dasharray="6 4"/>',
        _text(410, shield_y + 4, "shield: to GND at the Pi only; cut back at the box", 12),
        _text(347, ROW0 - 2, "220 Ω", 12, "middle", "bold"),
    ]
    used[SHIELD_PIN] = "#555555"
    out += _header(40, bottom + 36, used)
    # the cable's sheath
    sheath_top, sheath_bottom = ROW0 - 6, ROW0 + 12 + (len(cores) - 1) * ROW_H + 18
    out += [
        f'<rect x="400" y="{sheath_top}" width="330" height="{sheath_bottom - sheath_top}" '
        'rx="14" fill="none" stroke="#555" stroke-width="2" stroke-dasharray="8 5"/>',
        _text(565, sheath_top - 28, "12-core shielded cable, 2 m", 14, "middle", "bold"),
        _text(565, sheath_top - 12, "LiYCY 12 × 0.14 mm², DIN 47100 colours", 12, "middle"),
    ]
    # the box's connector and what each pin feeds
    d_top, d_bottom = ROW0 - 8, ROW0 + 12 + (len(cores) - 1) * ROW_H + 20
    out += [
        f'<path d="M 760 {d_top} L 800 {d_top + 10} L 800 {d_bottom - 10} L 760 {d_bottom} Z" '
        'fill="#d9d9e8" stroke="#333" stroke-width="2"/>',
        _text(780, d_top - 12, "D-sub 15", 12, "middle", "bold"),
        _text(806, d_bottom + 2, "13–15 free", 11),
    ]
    for i, core in enumerate(cores):
        y = ROW0 + 12 + i * ROW_H
        out.append(_text(780, y + 4, str(core.number), 12, "middle", "bold"))
        if core.pi_pin is not None:
            net = _net(core)
            out.append(
                f'<line x1="800" y1="{y}" x2="840" y2="{y}" stroke="#333" stroke-width="2"/>'
            )
            out.append(_text(846, y + 4, net, 13))
    # the junction box under the board holds the connector and the four amplifiers; the load
    # cells' own leads come in to it from the corners
    amp_top = bottom + 140
    lower = amp_top - 42
    out.append(
        f'<path d="M 740 {top} H 1160 V {HEIGHT - 34} H 20 V {lower} H 740 Z" fill="none" '
        'stroke="#1565c0" stroke-width="2" stroke-dasharray="10 6"/>'
    )
    out.append(_text(1146, top + 22, "junction box under the board", 14, "end", "bold"))
    out.append(_text(1146, lower + 20, "load cells at the corners", 12, "end", colour="#1565c0"))
    for i, corner in enumerate(CORNER_NAMES):
        out += _amplifier(44 + i * 280, amp_top, corner)
    out.append(
        _text(20, HEIGHT - 14, "Same net names are connected. RATE on every HX711: cut its "
              "trace to GND and bridge it to VDD (80 readings a second). Load-cell colours vary: "
              "check your cell's sheet.", 12, colour="#444")
    )  # fmt: skip
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _net(core: Core) -> str:
    """The name a core's signal has inside the box (net labels: same name, same wire)."""
    if core.gpio is None:
        return "3.3 V" if core.pi_pin == SUPPLY_PIN else "GND"
    kind, corner = core.signal.split(" ", 1)
    return f"{kind} {SHORT.get(corner, corner)}"


def _amplifier(x: int, y: int, corner: str) -> list[str]:
    """One HX711 breakout with its nets on the left and its load cell on the right."""
    short = SHORT[corner]
    out = [
        f'<rect x="{x + 70}" y="{y}" width="110" height="150" rx="6" fill="#dcecf9" '
        'stroke="#1565c0" stroke-width="2"/>',
        _text(x + 125, y - 8, f"HX711 {corner}", 13, "middle", "bold"),
    ]
    left = [("VCC", "3.3 V"), ("VDD", "3.3 V"), ("DT", f"DOUT {short}"), ("SCK", f"PD_SCK {short}"),
            ("GND", "GND")]  # fmt: skip
    for j, (pin, net) in enumerate(left):
        py = y + 22 + j * 26
        out += [
            f'<line x1="{x + 40}" y1="{py}" x2="{x + 70}" y2="{py}" stroke="#333" '
            'stroke-width="2"/>',
            _text(x + 76, py + 4, pin, 12),
            _text(x + 36, py + 4, net, 11, "end"),
        ]
    right = [("E+", "red"), ("E−", "black"), ("A+", "green"), ("A−", "white")]
    cell_x = x + 218
    for j, (pin, colour) in enumerate(right):
        py = y + 30 + j * 28
        fill, _ = _colour(colour)
        out += [
            _text(x + 174, py + 4, pin, 12, "end"),
            _wire(x + 180, py, cell_x, y + 56 + j * 12, fill, None, 3),
        ]
    out += [
        f'<rect x="{cell_x}" y="{y + 40}" width="22" height="70" rx="3" fill="#c9ccd1" '
        'stroke="#333" stroke-width="2"/>',
        _text(cell_x + 11, y + 128, "load cell", 11, "middle"),
        _text(cell_x + 11, y + 142, f"{CELL_RATING_KG} kg", 11, "middle"),
        _text(x + 125, y + 168, "RATE → VDD", 11, "middle", colour="#1565c0"),
    ]
    return out


def main() -> int:
    OUT.write_text(drawing(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
