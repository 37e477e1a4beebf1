"""Labelled synthetic records (``synthetic``) for the demo, the report's tests and benchmarks.

Simulation: loaded only by the demo, tests and benchmarks. May import ``device.sim``.
"""
