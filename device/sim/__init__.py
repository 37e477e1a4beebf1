"""The simulated hardware: what stands in for the board on a PC, in tests and in the demo.

Loaded only when the simulated board, the demo or a test asks for it (``device.board`` imports it
lazily for ``--board sim``); nothing on the Pi's production path imports it.

Modules:
    emulator    pin-level HX711s on gpiozero's MockFactory, with a virtual clock
    person      a simulated person: stance, sway, movements, a hand on the chair
    board       the board: four cells under the person, read through the emulator
    source      the simulated board as a frame source for the reader process
    link        the simulated board read in-process on a clock the caller moves
    generator   exercise recordings with known answers (no emulator: fast)

May import: ``device`` (below it) and gpiozero's mock pins. Imported by: ``device.board``
(lazily), ``clinic.sim``, ``display.sim``, tests and benchmarks.
"""
