"""Everything between the load cells and the centre of pressure.

Data flow (each stage a small object that never reaches back upstream)::

    pins ──HX711Array──▶ Frame (4 raw counts) ──Calibration──▶ LoadSample (4 × kg)
         ──CentreOfPressureTracker──▶ CopSample (x, y mm, total kg) ──▶ exercises

Modules:
    hx711        the driver for the four HX711 amplifiers, on any gpiozero pin factory
    emulator     a pin-level HX711 emulator on gpiozero's MockFactory, with a virtual clock
    sim          a simulated person on a simulated board, feeding the emulator
    acquisition  runs the driver in its own supervised process
    calibration  tare, per-corner gains, re-zero check, atomic save
    cop          loads to centre of pressure, on-board detection, live low-pass
    geometry     the board geometry file (cell spacing, foot marks)
    recording    recording files, format balance-board-recording/1
    selftest     the per-corner health table
"""

CORNERS = ("front_left", "front_right", "back_left", "back_right")
"""Order of the four cells everywhere in the project: FL, FR, BL, BR."""

CORNER_NAMES = ("front-left", "front-right", "back-left", "back-right")
"""The corners in the words shown to people."""
