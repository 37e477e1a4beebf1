"""A near-free ``lgpio`` stand-in whose four HX711s convert on the wall clock (benchmarks only).

Why: the pin-level emulator (``device.sim.emulator``) runs on a virtual clock and its chip model
costs more CPU than the driver, so it cannot say what the driver costs in real time. Here the
driver runs exactly as on the Pi: its fast path (``device.hx711._LgpioPins``) calls this object as
it would call the ``lgpio`` module, it waits with real sleeps on ``time.monotonic``
(``device.clock.MonotonicClock``), and each chip's DOUT falls when the wall clock passes its next
conversion (80 samples/s, oscillators spread ±1 %, random phases).

What a call costs: lgpio 0.2.2's Python layer is kept as it is (each call is a Python wrapper that
masks the handle, calls the C function and checks the status through ``_u2i`` and ``u2i``), so the
Python cost per call is the real one; only the C function is replaced, by a few lines of chip
model (``RealtimeChip``), timed on its own by ``model_cost_s`` so that it can be taken out again.
What is missing is the kernel's part of a real call (an ioctl on the gpiochip), which the
benchmark adds back per call for the Pi.

Wiring: the driver's default pins (``device.config.DEFAULT_PINS``): DOUT 5, 6, 13, 19 and PD_SCK
17, 27, 22, 23, or one PD_SCK shared by all four chips. Example::

    from benchmarks.standins.realtime_lgpio import RealtimeBoard
    from device.hx711 import HX711Array

    board = RealtimeBoard(seed=1)
    cells = HX711Array(pin_factory=board.factory(), clock=board.clock)
    print(cells.read().raw)          # four conversions, read in real time
    cells.close()

The chip model follows the datasheet as far as the driver can tell: DOUT low while a conversion
waits; 24 data bits MSB first on rising edges, the 25th pulse ends the word (DOUT high until the
next conversion); a conversion completing while a word is shifted out is lost; clocking a busy
chip counts as a protocol error; a clock held high over 60 µs powers the chip down and taking it
low restarts it, with 50 ms of garbage conversions (so a real preemption of the benchmark's
process mid-pulse has its real consequence).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

from gpiozero.pins.mock import MockFactory

from device.clock import MonotonicClock
from device.config import DEFAULT_PINS
from device.hx711 import POWER_DOWN_S, SETTLING_S

RATE_SPS = 80
GROUP_ALL = 0xFFFFFFFFFFFFFFFF  # lgpio's "every line of the group"


class RealtimeChip:
    """One HX711 converting on ``time.monotonic``: conversion ``k`` completes at
    ``t0_s + k · period_s``; the chip holds the newest until it is read."""

    __slots__ = (
        "base_counts",
        "busy_edge",
        "conversions_read",
        "garbage_read",
        "high_since_s",
        "level",
        "lost",
        "period_s",
        "protocol_errors",
        "pulses",
        "resets",
        "settle_until_s",
        "t0_s",
        "taken",
        "word",
    )

    def __init__(self, base_counts: int, oscillator: float, phase_s: float, t_start_s: float):
        self.base_counts = base_counts
        self.period_s = 1.0 / (RATE_SPS * oscillator)
        self.t0_s = t_start_s + phase_s - self.period_s  # the first conversion at t_start + phase
        self.taken = 0  # index of the last conversion shifted out (or skipped)
        self.pulses = 0  # rising edges of the word being shifted out
        self.level = 1
        self.word = 0
        self.high_since_s = 0.0
        self.busy_edge = False
        self.settle_until_s = 0.0
        self.conversions_read = 0
        self.garbage_read = 0  # read while settling after a power-down
        self.lost = 0  # completed but never read (replaced, or completed mid-word)
        self.protocol_errors = 0
        self.resets = 0

    def completed(self, t: float) -> int:
        return int((t - self.t0_s) / self.period_s)

    def dout(self, t: float) -> int:
        if self.pulses:
            return self.level
        return 0 if self.completed(t) > self.taken else 1

    def rise(self, t: float) -> None:
        self.high_since_s = t
        if self.pulses == 0:
            n = self.completed(t)
            if n <= self.taken:
                self.busy_edge = True  # an error, unless the line stays high to power down
                return
            self.lost += n - self.taken - 1
            self.taken = n
            self.conversions_read += 1
            if self.t0_s + n * self.period_s < self.settle_until_s:
                self.garbage_read += 1
                value = (n * 2_654_435_761) & 0xFFFFFF
            else:  # a different value each time, else the driver rightly calls it stuck
                value = self.base_counts + (n * 2_654_435_761) % 257 - 128
            self.word = value & 0xFFFFFF
        self.pulses += 1
        self.level = (self.word >> (24 - self.pulses)) & 1 if self.pulses <= 24 else 1

    def fall(self, t: float) -> None:
        busy_edge, self.busy_edge = self.busy_edge, False
        if t - self.high_since_s > POWER_DOWN_S:  # powered down; low again: a restart
            self.resets += 1
            self.t0_s = t
            self.taken = 0
            self.pulses = 0
            self.level = 1
            self.settle_until_s = t + SETTLING_S[RATE_SPS]
            return
        if busy_edge:
            self.protocol_errors += 1  # clocked while busy: the chip ignored the pulse
        if self.pulses >= 25:
            self.pulses = 0
            done = self.completed(t)
            self.lost += done - self.taken  # completed while the word was shifted out
            self.taken = done


@dataclass
class RealtimeBoard:
    """Four ``RealtimeChip``\\ s on the driver's pins, and the lgpio stand-in that reads them.

    :param seed: draws the oscillators (within ±``oscillator_spread``) and the phases.
    :param dout: the four DOUT GPIOs, corner order.
    :param sck: four PD_SCK GPIOs, or one shared by the four chips.
    :param oscillator_spread: the chips' clocks relative to nominal, ±1 % by the datasheet.
    """

    seed: int = 1
    dout: tuple[int, ...] = DEFAULT_PINS.dout
    sck: tuple[int, ...] = DEFAULT_PINS.sck
    oscillator_spread: float = 0.01
    clock: MonotonicClock = field(default_factory=MonotonicClock)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        t = time.monotonic()
        self.chips = [
            RealtimeChip(
                100_000 * (k + 1),
                1.0 + rng.uniform(-self.oscillator_spread, self.oscillator_spread),
                rng.uniform(0.0, 1.0 / RATE_SPS),
                t,
            )
            for k in range(4)
        ]
        self.calls = 0  # lgpio calls made, all kinds
        self.calls_by = dict.fromkeys(("group_read", "gpio_read", "gpio_write", "group_write"), 0)
        self.lgpio = _make_lgpio(self)

    def factory(self) -> MockFactory:
        """A gpiozero factory that offers this stand-in as the driver's lgpio fast path."""
        factory = MockFactory()
        factory.lgpio_fast_path = (self.lgpio, 0)
        return factory

    def totals(self) -> dict[str, int]:
        keys = ("conversions_read", "garbage_read", "lost", "protocol_errors", "resets")
        return {k: sum(getattr(c, k) for c in self.chips) for k in keys}


@dataclass(frozen=True)
class RealtimeSource:
    """The driver on a ``RealtimeBoard``, as a source for ``device.acquisition.Acquisition``: the
    whole reader process (its loop, the pipe, supervision) runs on the stand-in."""

    seed: int = 1

    def open(self):
        from device.hx711 import HX711Array

        board = RealtimeBoard(seed=self.seed)
        return HX711Array(pin_factory=board.factory(), clock=board.clock), None


def _make_lgpio(board: RealtimeBoard) -> SimpleNamespace:
    """The lgpio module's calls the driver makes, as plain functions (like a module's).

    The ``_c_*`` functions stand in for lgpio's C extension ``_lgpio``; the public ones repeat
    lgpio 0.2.2's Python wrappers line for line in what they execute.
    """
    monotonic = time.monotonic
    chips = board.chips
    calls_by = board.calls_by
    douts = list(board.dout)
    sck_chips: dict[int, list[RealtimeChip]] = {}
    for k, chip in enumerate(chips):
        sck = board.sck[0] if len(board.sck) == 1 else board.sck[k]
        sck_chips.setdefault(sck, []).append(chip)
    dout_chip = dict(zip(douts, chips, strict=True))
    levels: dict[int, int] = {}

    # --- the stand-in's "C functions" -------------------------------------------------------
    def _c_group_read(handle, leader):
        board.calls += 1
        calls_by["group_read"] += 1
        t = monotonic()
        bits = 0
        for i, chip in enumerate(chips):
            bits |= chip.dout(t) << i
        return [4, bits]

    def _c_gpio_read(handle, gpio):
        board.calls += 1
        calls_by["gpio_read"] += 1
        chip = dout_chip[gpio]
        return chip.level if chip.pulses else chip.dout(monotonic())

    def _c_gpio_write(handle, gpio, level):
        board.calls += 1
        calls_by["gpio_write"] += 1
        if levels.get(gpio, 0) != level:
            levels[gpio] = level
            t = monotonic()
            for chip in sck_chips.get(gpio, ()):
                if level:
                    chip.rise(t)
                else:
                    chip.fall(t)
        return 0

    scks = list(dict.fromkeys(board.sck))  # the clock lines, as claimed in one output group

    def _c_group_write(handle, leader, bits, mask):
        board.calls += 1
        calls_by["group_write"] += 1
        t = monotonic()  # one instant for every line: one register write in the kernel
        for i, gpio in enumerate(scks):
            if mask >> i & 1:
                level = bits >> i & 1
                if levels.get(gpio, 0) != level:
                    levels[gpio] = level
                    for chip in sck_chips[gpio]:
                        if level:
                            chip.rise(t)
                        else:
                            chip.fall(t)
        return 0

    # --- lgpio 0.2.2's Python layer, as executed per call ---------------------------------------
    def u2i(uint32):
        mask = (2**32) - 1
        v = uint32 | ~mask if uint32 & (1 << 31) else uint32 & mask  # an if/else in lgpio
        return v

    def _u2i(status):
        v = u2i(status)
        if v < 0:
            raise RuntimeError(f"lgpio error {v}")
        return v

    def _u2i_list(lst):
        lst[0] = u2i(lst[0])
        if lst[0] < 0:
            raise RuntimeError(f"lgpio error {lst[0]}")
        return lst

    def group_read(handle, gpio):
        return _u2i_list(_c_group_read(handle & 0xFFFF, gpio))

    def gpio_read(handle, gpio):
        return _u2i(_c_gpio_read(handle & 0xFFFF, gpio))

    def gpio_write(handle, gpio, level):
        return _u2i(_c_gpio_write(handle & 0xFFFF, gpio, level))

    def group_write(handle, gpio, group_bits, group_mask=GROUP_ALL):
        return _u2i(_c_group_write(handle & 0xFFFF, gpio, group_bits, group_mask))

    # set-up calls: made once, their cost does not matter
    def gpiochip_open(chip):
        return 1

    def gpiochip_close(handle):
        return 0

    def group_claim_input(handle, gpios, flags=0):
        return 0

    def gpio_claim_output(handle, gpio, level=0, flags=0):
        _c_gpio_write(handle, gpio, level)
        return 0

    def group_claim_output(handle, gpios, levels=(0,), flags=0):
        for i, gpio in enumerate(gpios):
            _c_gpio_write(handle, gpio, levels[i] if i < len(levels) else 0)
        return 0

    def gpio_free(handle, gpio):
        return 0

    def group_free(handle, gpio):
        return 0

    return SimpleNamespace(
        SET_PULL_UP=32,
        GROUP_ALL=GROUP_ALL,
        group_read=group_read,
        group_write=group_write,
        gpio_read=gpio_read,
        gpio_write=gpio_write,
        gpiochip_open=gpiochip_open,
        gpiochip_close=gpiochip_close,
        group_claim_input=group_claim_input,
        group_claim_output=group_claim_output,
        gpio_claim_output=gpio_claim_output,
        gpio_free=gpio_free,
        group_free=group_free,
        _c_group_read=_c_group_read,
        _c_gpio_read=_c_gpio_read,
        _c_gpio_write=_c_gpio_write,
        _c_group_write=_c_group_write,
        # lgpio's C layer (SWIG's ``_lgpio`` module), which the driver's hot loop calls directly
        _lgpio=SimpleNamespace(
            _group_read=_c_group_read, _group_write=_c_group_write, _gpio_write=_c_gpio_write
        ),
    )


def model_cost_s(board: RealtimeBoard, n: int = 200_000) -> dict[str, float]:
    """CPU seconds per call of the stand-in's C-function replacements alone (to take out)."""
    lg = board.lgpio
    gpio = board.dout[0]
    sck = board.sck[0]
    out = {}
    c0 = time.process_time()
    for _ in range(n):
        lg._c_group_read(1, gpio)
    out["group_read"] = (time.process_time() - c0) / n
    c0 = time.process_time()
    for _ in range(n):
        lg._c_gpio_read(1, gpio)
    out["gpio_read"] = (time.process_time() - c0) / n
    c0 = time.process_time()
    for _ in range(n // 2):
        lg._c_gpio_write(1, sck, 1)
        lg._c_gpio_write(1, sck, 0)
    out["gpio_write"] = (time.process_time() - c0) / n
    c0 = time.process_time()
    for _ in range(n // 2):
        lg._c_group_write(1, sck, 15, 15)
        lg._c_group_write(1, sck, 0, 15)
    out["group_write"] = (time.process_time() - c0) / n
    return out
