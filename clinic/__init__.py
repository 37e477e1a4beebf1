"""The clinic's side: the records, the therapist's program, reports, exports, and the actions
the command line and the therapist's screens share.

Seventh and last stages of the flow (... → result → **record → report → clinic**).

Owns: the records file (``store``), the program and its progression (``program``), the PDF
report (``report``), the CSV and recordings exports (``export``), the FHIR Bundle (``fhir``),
the clinic actions (``actions``: import a program, save a calibration, export, the patient's
details) and labelled synthetic history for the demo and tests (``sim``).

May import: ``exercises`` and ``device``'s plain modules. Never the hardware or the simulated
board (``clinic.sim`` alone may use ``device.sim``), nor the screen (pygame) or anything above.
"""
