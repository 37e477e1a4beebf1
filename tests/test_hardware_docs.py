"""The hardware documents agree with the software and with each other, so that neither can drift:
the pin map in hardware/wiring.md is the one device/config.py and hardware/board.toml give the
driver; every GPIO named with its header pin is on that pin; the cable table is the drawing's;
the committed drawing is what scripts/draw_wiring.py draws now; one cable is named everywhere;
the parts add up to their total; the maximum user weight keeps the load cells within their
rating."""

from __future__ import annotations

import importlib.util
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from device import CORNER_NAMES
from device.config import DEFAULT_PINS, HEADER_3V3, HEADER_GND, HEADER_PINS, load_board_config

REPO = Path(__file__).resolve().parents[1]
HARDWARE = REPO / "hardware"
GPIO_WITH_PIN = re.compile(r"GPIO(\d+) \((?:pin )?(\d+)\)")
DYNAMIC_FACTOR = 1.5  # hardware/safety.md: stepping on pushes down harder than standing


def read(name: str) -> str:
    return (HARDWARE / name).read_text(encoding="utf-8")


def table_after(text: str, heading: str) -> list[list[str]]:
    """The cells of the first Markdown table after ``heading`` (header and rule left out)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif rows:
            break
    return [row for row in rows[1:] if not set("".join(row)) <= set("-: ")]


def wiring_pin_map(text: str) -> tuple[list[str], list[tuple[int, int]], list[tuple[int, int]]]:
    """(corners, [(DOUT GPIO, header pin)], [(PD_SCK GPIO, header pin)]) from wiring.md's table."""
    corners, dout, sck = [], [], []
    for corner, dout_cell, sck_cell in table_after(text, "## Pi GPIO"):
        corners.append(corner)
        for cell, into in ((dout_cell, dout), (sck_cell, sck)):
            match = GPIO_WITH_PIN.fullmatch(cell)
            assert match, f"{cell!r} is not written as GPIOn (pin)"
            into.append((int(match.group(1)), int(match.group(2))))
    return corners, dout, sck


def pin_map_differences(text: str) -> list[str]:
    """How wiring.md's pin map differs from the software's (empty when they agree)."""
    corners, dout, sck = wiring_pin_map(text)
    config = load_board_config(HARDWARE / "board.toml").pins
    problems = []
    if corners != list(CORNER_NAMES):
        problems.append(f"corners {corners}")
    for name, documented, software in (
        ("DOUT", dout, DEFAULT_PINS.dout),
        ("PD_SCK", sck, DEFAULT_PINS.sck),
    ):
        gpios = tuple(g for g, _ in documented)
        if gpios != software:
            problems.append(f"{name} {gpios} in wiring.md, {software} in device/config.py")
        if gpios != (config.dout if name == "DOUT" else config.sck):
            problems.append(f"{name} {gpios} in wiring.md differs from board.toml")
        problems += [
            f"GPIO{g} is on header pin {HEADER_PINS[g]}, not {p}"
            for g, p in documented
            if HEADER_PINS[g] != p
        ]
    return problems


def draw_wiring():
    spec = importlib.util.spec_from_file_location("draw_wiring", REPO / "scripts/draw_wiring.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


# --- the pin map ---------------------------------------------------------------------------------
def test_the_pin_map_in_wiring_md_is_the_one_the_software_reads():
    assert pin_map_differences(read("wiring.md")) == []


def test_a_pin_map_that_drifted_from_the_software_is_caught():
    text = read("wiring.md")
    moved = text.replace("| GPIO5 (29)", "| GPIO4 (7) ", 1)
    assert moved != text
    assert pin_map_differences(moved) == [
        "DOUT (4, 6, 13, 19) in wiring.md, (5, 6, 13, 19) in device/config.py",
        "DOUT (4, 6, 13, 19) in wiring.md differs from board.toml",
    ]
    wrong_pin = text.replace("GPIO17 (11)", "GPIO17 (12)", 1)
    assert pin_map_differences(wrong_pin) == ["GPIO17 is on header pin 11, not 12"]


def test_the_header_map_covers_the_40_pins_once():
    pins = [*HEADER_PINS.values(), *HEADER_3V3, *HEADER_GND, 2, 4]  # 2, 4: the 5 V pins
    assert sorted(pins) == list(range(1, 41))


def test_every_gpio_named_with_its_header_pin_anywhere_in_hardware_is_on_that_pin():
    named = 0
    for path in [*HARDWARE.glob("*.md"), HARDWARE / "wiring.svg"]:
        # the drawing writes "pin 29 · GPIO5"
        text = re.sub(r"pin (\d+) · GPIO(\d+)", r"GPIO\2 (\1)", path.read_text(encoding="utf-8"))
        for gpio, pin in GPIO_WITH_PIN.findall(text):
            named += 1
            assert HEADER_PINS[int(gpio)] == int(pin), f"{path.name}: GPIO{gpio} ({pin})"
    assert named >= 24  # the pin map, the cable table and the drawing's eight


# --- the cable and the drawing -------------------------------------------------------------------
def test_the_cable_table_is_the_drawings_and_carries_every_line_the_pins_need():
    cores = draw_wiring().cable()
    rows = table_after(read("wiring.md"), "| core | colour")
    documented = [r for r in rows if r[0].isdigit()]
    assert [int(r[0]) for r in documented] == [c.number for c in cores]
    for row, core in zip(documented, cores, strict=True):
        _, colour, signal, pi_pin, dsub = row
        assert colour == core.colour
        assert core.signal.startswith(signal), (signal, core.signal)
        assert int(dsub) == core.number  # the box's D-sub pin is the core's number
        if core.pi_pin is None:
            assert pi_pin == "not connected"
        else:
            assert pi_pin.endswith(f"({core.pi_pin})"), (pi_pin, core.pi_pin)
            if core.gpio is not None:
                assert pi_pin == f"GPIO{core.gpio} ({core.pi_pin})"
    # every line the pin map needs, on a core of its own
    gpios = sorted(c.gpio for c in cores if c.gpio is not None)
    assert gpios == sorted((*DEFAULT_PINS.dout, *DEFAULT_PINS.sck))
    assert any(c.pi_pin in HEADER_3V3 for c in cores)
    assert any(c.pi_pin in HEADER_GND for c in cores)
    needed = len(DEFAULT_PINS.dout) + len(DEFAULT_PINS.sck) + 2  # + 3.3 V + GND
    assert f"**{needed} conductors**" in read("wiring.md")
    assert len(cores) == 12 >= needed
    assert not any(c.pi_pin in (2, 4) for c in cores)  # the display's block has the 5 V pins


def test_the_committed_drawing_is_what_the_script_draws_and_it_parses():
    module = draw_wiring()
    committed = read("wiring.svg")
    assert committed == module.drawing(), "run: .venv/bin/python scripts/draw_wiring.py"
    svg = ET.fromstring(committed)
    words = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    for corner in CORNER_NAMES:
        assert f"HX711 {corner}" in words
    for gpio in (*DEFAULT_PINS.dout, *DEFAULT_PINS.sck):
        assert f"GPIO{gpio}" in words
    assert "(wiring.svg)" in read("wiring.md")  # shown where the wiring is described


def test_a_board_wired_with_one_shared_clock_gets_a_cable_of_its_own():
    from device.config import PinMap

    cores = draw_wiring().cable(PinMap(sck=(17,)))
    gpios = [c.gpio for c in cores if c.gpio is not None]
    assert sorted(gpios) == [5, 6, 13, 17, 19]
    assert "PD_SCK (all)" in [c.signal for c in cores]


# --- one cable, one set of parts, one weight limit ----------------------------------------------
def test_every_document_names_the_same_cable():
    for name in ("parts.md", "wiring.md"):
        text = read(name)
        assert "12 × 0.14 mm²" in text and "LiYCY" in text, name
    assert "12-core shielded cable, 2 m" in read("wiring.md")
    assert "2 m of 12-core shielded cable" in read("building.md")
    assert "| 2 m | shielded control cable 12 × 0.14 mm²" in read("parts.md")
    for path in HARDWARE.glob("*.md"):
        text = path.read_text(encoding="utf-8")
        assert "8-core" not in text and "under 50 cm" not in text, path.name


def test_the_parts_of_the_board_add_up_to_its_total():
    rows = table_after(read("parts.md"), "## The board")
    prices = [r[-1] for r in rows if r[-1].startswith("€")]
    total_row = next(r for r in rows if r[1] == "**board**")
    stated = float(total_row[-1].strip("*€"))
    assert sum(float(p.strip("€")) for p in prices) == pytest.approx(stated, abs=0.5)


def test_the_maximum_user_weight_keeps_each_load_cell_within_its_rating():
    parts, safety = read("parts.md"), read("safety.md")
    rating = int(re.search(r"\| 4 \| (\d+) kg bar load cell", parts).group(1))
    limit = int(re.search(r"^## Maximum user weight: (\d+) kg", safety, re.M).group(1))
    assert limit * DYNAMIC_FACTOR <= rating  # her whole weight on one cell, stepping on
    assert f"{DYNAMIC_FACTOR:g} × {limit} kg = {limit * DYNAMIC_FACTOR:g} kg" in safety
    assert f"the {rating} kg cells" in safety
    assert rating == draw_wiring().CELL_RATING_KG
    # the one-leg share in safety.md follows from board.toml's geometry
    geometry = load_board_config(HARDWARE / "board.toml").geometry
    share = (geometry.width_mm / 2 + geometry.stance_width_mm / 2) / geometry.width_mm / 2
    assert f"{share:.0%}".replace("%", " %") in safety
