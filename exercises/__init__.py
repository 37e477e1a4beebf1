"""The pure core: exercises and their metrics and scores, fed one CoP sample at a time.

Fifth stage of the flow (... → CoP samples → **exercise** → result → record → report).

Owns: the metrics (``metrics``: formulas with their references), signal conditioning, one class
per exercise (``quiet_stance``, ``flamingo``, ``raises``, ``weight_shift``,
``limits_of_stability``), the registry that describes each exercise once (``registry``: titles,
instructions, parameters, headline numbers), replay of recordings (``replay``) and the readers
of the public validation data (``public_data``).

May import: ``device``'s plain modules (sample types, faults, CoP formula, recordings,
geometry). Never the hardware or the simulation (gpiozero, lgpio, the driver, the reader
process, ``device.sim``), the screen (pygame) or anything above it; no clock, and no I/O but
``public_data`` reading the validation files: time and data are passed in. import-linter checks
this (``[tool.importlinter]`` in ``pyproject.toml``).
"""
