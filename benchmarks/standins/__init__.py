"""Stand-in modules for the benchmarks only: never imported by the app or the tests of the app.

- ``realtime_lgpio``: an lgpio look-alike whose four HX711s convert on the wall clock and whose
  calls cost next to nothing, so the driver's own CPU can be measured in real time;
- ``rpi_gpio``: an ``RPi.GPIO`` look-alike that routes the PyPI HX711 libraries' pin calls to the
  pin-level emulator (``device.sim.emulator``), so they read the same emulated chips as ours.
"""
