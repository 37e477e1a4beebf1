"""Everything between the load cells and the centre of pressure: the bottom layer.

Data flow (each stage a small object that never reaches back upstream)::

    pins ──HX711Array──▶ Frame (4 raw counts) ──Calibration──▶ LoadSample (4 × kg)
         ──CentreOfPressureTracker──▶ CopSample (x, y mm, total kg) ──▶ exercises

Owns: the sample types, the HX711 driver and the reader process, calibration, the centre of
pressure, the board's configuration (geometry and pins), recordings, the data folder, clocks,
and opening a board of a given kind. May import: nothing else of the project (it is the bottom
layer); gpiozero and lgpio only in ``hx711``, ``acquisition`` and ``sim``.

Modules:
    samples      Frame, LoadSample, CopSample: plain data, no hardware
    faults       the fault names in frames and their words
    hx711        the driver for the four HX711 amplifiers, on any gpiozero pin factory
    acquisition  runs the driver in its own supervised process
    board        opens a board (hx711, sim, auto): calibration, configuration, the link
    calibration  tare, per-corner gains, re-zero check, atomic save
    cop          loads to centre of pressure, on-board detection, live low-pass
    config       the board's configuration file: geometry and pin map
    geometry     the board geometry (cell spacing, foot marks)
    recording    recording files, format balance-board-recording/1
    selftest     the per-corner health table
    noise        the white-noise floor of a signal
    clock        the driver's clock and the app's clock (system, manual)
    paths        the data folder and the files in it
    files        atomic writes
    sim          the simulated hardware (loaded only when asked for)
"""

CORNERS = ("front_left", "front_right", "back_left", "back_right")
"""Order of the four cells everywhere in the project: FL, FR, BL, BR."""

CORNER_NAMES = ("front-left", "front-right", "back-left", "back-right")
"""The corners in the words shown to people."""
