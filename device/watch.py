"""Watching the calibrated loads for a cell that no longer senses load.

The driver sees what goes wrong on the wires (a chip not answering, a stuck data line, a frozen
value, saturation: ``device.faults``). It cannot see a load cell whose bridge wire broke: the
amplifier still converts, its noise still varies, only the load no longer reaches it. Across the
four corners it shows: with someone on the board every sway moves load between all four cells,
so each corner's load varies by tenths of a kilogram, while the broken one varies only by the
amplifier's noise (a few grams). Such a corner is marked ``NOT_SENSING`` in the samples, so the
trial is not scored and the screen names the corner, until it varies with the others again.

A corner whose load does not change at all is not converting: a working HX711 always shows its
own noise, even on a stock-still load. Such a corner is marked ``STUCK_VALUE`` whatever the
others do (the driver names a raw value repeated 40 times the same way; this finds it in
recordings, where the raw counts are gone).

Streaming and cheap: a window of the last ``WINDOW_S`` seconds, judged every ``EVERY`` samples.
Pure computation on the samples given (no clock, no I/O), so replay and the live path share it.

Example::

    watch = LoadWatch(rate_hz=80)
    for load in loads:                      # LoadSamples from Calibration.loads()
        load = watch.update(load)           # a broken cell now carries its fault
"""

from __future__ import annotations

from collections import deque

import numpy as np

from device.faults import NOT_SENSING, STUCK_VALUE
from device.samples import LoadSample

WINDOW_S = 2.0
EVERY = 16  # judge every 16 samples (0.2 s at 80 Hz)
ON_BOARD_KG = 15.0  # below this total nobody stands on the board: nothing to judge
# A cell cut off from its load varies only by the HX711's noise: about 50 counts rms at 80 SPS
# (datasheet), about 1-3 g with our cells. Real standing moves every corner more: over 2 s
# windows of the 52 public force-plate trials (split onto four corners) the quietest corner
# still varied by 12.7 g (SD), even when the sway ran along a diagonal and left two corners
# nearly still. So a corner is flat under 6 g, half that, while the others vary 16 times more.
FLAT_KG = 0.006  # a corner varying less than this (SD, kg) senses nothing ...
MOVING_KG = 0.1  # ... while the others vary by more than this (median SD, kg)
BACK_KG = 0.012  # a flagged corner varying more than this again senses again
# A converting HX711 is never still: 40-60 LSB rms at 80 SPS (datasheet, ../shared/notes/hx711.md),
# about 0.02 g an LSB with our cells, so 0.8-1.2 g (the simulated board's self-test: 0.8-1.0 g);
# real standing moves every corner by 13 g or more (above). A corner varying less than a fifth of
# the amplifier's own noise over the window is frozen, whoever stands on the board: the empty
# board is not judged at all, and a stock-still person's corners still show the noise.
FROZEN_KG = 0.0002  # SD, kg: 0.2 g


class LoadWatch:
    """Marks a corner whose load stays flat while the others move (a cell that stopped sensing).

    :param rate_hz: samples per second (for the window's length).
    """

    def __init__(self, rate_hz: float = 80.0) -> None:
        self._window: deque[tuple[float, float, float, float]] = deque(
            maxlen=max(EVERY, round(WINDOW_S * rate_hz))
        )
        self._count = 0
        # per corner: None, or the fault found (NOT_SENSING: cut off; STUCK_VALUE: frozen)
        self.faults: list[str | None] = [None, None, None, None]

    @property
    def not_sensing(self) -> list[bool]:
        """Per corner: judged not to sense load (cut off from it, or frozen)."""
        return [fault is not None for fault in self.faults]

    def update(self, sample: LoadSample) -> LoadSample:
        """The sample, with ``NOT_SENSING`` (or ``STUCK_VALUE``) on any corner judged not to
        sense load (a fault the driver already named is kept)."""
        loads = sample.loads_kg
        if any(v is None for v in loads):
            self._window.clear()  # a gap: judge afresh on clean samples
        else:
            self._window.append(loads)
            self._count += 1
            if self._count % EVERY == 0 and len(self._window) == self._window.maxlen:
                self._judge()
        if not any(self.faults):
            return sample
        faults = tuple(
            fault or found for fault, found in zip(sample.faults, self.faults, strict=True)
        )
        return LoadSample(sample.t, loads, faults)

    def _judge(self) -> None:
        window = np.asarray(self._window)
        if float(np.median(window.sum(axis=1))) < ON_BOARD_KG:
            return  # nobody on the board: an empty board is flat everywhere
        spread = window.std(axis=0)
        for corner in range(4):
            others = float(np.median(np.delete(spread, corner)))
            if spread[corner] < FROZEN_KG:
                self.faults[corner] = STUCK_VALUE
            elif self.faults[corner] == NOT_SENSING and spread[corner] < BACK_KG:
                pass  # cut off until it varies like a loaded cell again
            elif spread[corner] < FLAT_KG and others > MOVING_KG:
                self.faults[corner] = NOT_SENSING
            else:
                self.faults[corner] = None
