"""Driver for the board's four HX711 load-cell amplifiers: pins in, frames of four raw counts out.

First stage of the flow (pins → **frames** → loads → CoP → exercise → result → record → report).

Wiring (see ``hardware/wiring.md``): each HX711 has its own DOUT and its own PD_SCK line, RATE tied
high (80 samples/s), DVDD on the Pi's 3.3 V. The default BCM pins are::

    corner        DOUT  PD_SCK
    front-left       5      17
    front-right      6      27
    back-left       13      22
    back-right      19      23

Example::

    from device.hx711 import HX711Array

    cells = HX711Array(dout=(5, 6, 13, 19), sck=(17, 27, 22, 23))   # FL, FR, BL, BR
    frame = cells.read(timeout=0.2)     # frame.t, frame.raw (4 × int or None), frame.faults
    print(frame.raw, frame.faults)
    cells.close()

The chips convert on their own oscillators (spread about ±1 %), so they drift in phase. ``read``
services every chip as soon as its DOUT falls, and returns when every healthy chip has delivered a
fresh conversion. A chip that misses its conversion by half a period is named in the frame
(``not-ready``, after ten misses ``not-responding``) and the others are not held back.

Protocol facts enforced here (Avia HX711 datasheet V2.0, ../shared/notes/hx711.md): a chip is
clocked only while its DOUT is low; exactly 25 PD_SCK pulses per conversion (channel A, gain 128);
each high phase is timed, a high phase over 50 µs drops the sample and over 60 µs means the chip
powered down and reset, so its conversions are discarded for the settling time; DOUT must be high
after the 25th pulse; the saturation codes 0x7FFFFF and 0x800000 are flagged, never used as loads.

On a Raspberry Pi with gpiozero's lgpio pin factory the driver talks to lgpio directly (one
``group_read`` polls all four DOUT lines, the clock and data lines are driven with single lgpio
calls), because gpiozero's per-pin property machinery costs several microseconds a call. Any other
pin factory, including gpiozero's MockFactory and this project's emulator, goes through gpiozero's
pin interface. Both paths share the protocol code below.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gpiozero import Device
from gpiozero.exc import PinFixedPull

from device import CORNER_NAMES
from device.clock import Clock, MonotonicClock
from device.config import DEFAULT_PINS
from device.faults import (
    GLITCH,
    NOT_READY,
    NOT_RESPONDING,
    RESETTING,
    SATURATED,
    SLOW,
    STUCK_LOW,
    STUCK_VALUE,
)
from device.samples import Frame

# --- datasheet numbers -------------------------------------------------------------------------
BITS = 24
PULSES_GAIN_128 = 25
CODE_MAX = 0x7FFFFF  # positive saturation code
CODE_MIN = -0x800000  # negative saturation code
HIGH_TIME_MAX_S = 50e-6  # datasheet maximum PD_SCK high time
POWER_DOWN_S = 60e-6  # longer high time powers the chip down; taking it low resets it
SETTLING_S = {80: 0.050, 10: 0.400}  # output settling after reset, by rate
# Conversions inside the settling time are discarded. The margin covers a slow oscillator (-1 %)
# and is kept small on purpose: a chip counts as settled only once seen busy after the window,
# so a wider window buys no safety, only a later recovery.
SETTLING_MARGIN = 1.04

MISSES_BEFORE_NOT_RESPONDING = 10
STUCK_VALUE_REPEATS = 40
DEADLINE_PERIODS = 1.5  # a conversion later than this many periods counts as missed
SILENCE_PERIODS = 12  # longer than a 10 SPS chip's period: the chip was silent, not slow

# --- when to look (see "Waking up" in HX711Array) ------------------------------------------------
POLL_S = 0.0005  # polling interval while looking for a conversion's data-ready edge
EDGE_EARLY_S = 2 * POLL_S  # a probe's first look, this long before the predicted edge
LATE_S = 0.0003  # a chip whose timing holds is looked at this long after its predicted edge
BRACKET_S = POLL_S + 0.0002  # seen busy at most this long before seen ready: the edge was seen
EDGE_TOLERANCE_S = 0.0005  # a seen edge this close to the predicted one confirms the timing
PROBE_EVERY_MAX = 16  # conversions between probes, at most, while a chip's timing holds
GUARD_S = 0.0015  # a waiting conversion is read at least this long before the next replaces it
MIN_WAIT_S = 50e-6  # shortest sleep between looks
PERIOD_SPREAD = 0.05  # a measured period stays this close to nominal (oscillators: about ±1 %)


# For each chip, a bytes.translate table taking a pulse's DOUT levels (one bit per chip) to the
# ASCII digit of that chip's bit.
BIT_AS_DIGIT = [bytes(0x31 if (b >> c) & 1 else 0x30 for b in range(256)) for c in range(8)]


def decode(bits: int) -> int:
    """24-bit two's complement word (as shifted out, MSB first) → signed count.

    >>> decode(0x000000), decode(0xFFFFFF), decode(0x7FFFFF), decode(0x800000)
    (0, -1, 8388607, -8388608)
    """
    bits &= 0xFFFFFF
    return bits - 0x1000000 if bits & 0x800000 else bits


def is_saturated(value: int) -> bool:
    """True for the two codes the HX711 outputs when its input is out of range."""
    return value in (CODE_MAX, CODE_MIN)


@dataclass(slots=True)
class ChipCounters:
    """What one chip did since the driver opened; for self-tests and quality flags."""

    conversions: int = 0  # conversions shifted out
    valid: int = 0  # accepted readings
    extra: int = 0  # a second valid reading before the frame was complete (not used)
    glitches: int = 0  # dropped because a clock high phase ran over 50 µs
    resets: int = 0  # chip powered down (clock high over 60 µs) and restarted
    settling_discarded: int = 0  # conversions thrown away while settling
    saturated: int = 0
    stuck_low: int = 0
    missed: int = 0  # conversion deadlines missed


class _GpiozeroPins:
    """The generic path: pins through gpiozero's pin interface, any factory."""

    def __init__(self, factory, dout: Sequence[int], sck: Sequence[int]) -> None:
        self._dout_pins = []
        self._sck_pins = []
        for n in dout:
            pin = factory.pin(n)
            pin.function = "input"
            try:
                pin.pull = "up"  # an unplugged chip then reads as busy, never as "ready"
            except PinFixedPull:
                pass
            self._dout_pins.append(pin)
        for n in sck:
            pin = factory.pin(n)
            pin.function = "output"
            pin.state = 0
            self._sck_pins.append(pin)

    def ready_levels(self) -> list[int]:
        return [pin.state for pin in self._dout_pins]

    def clock_setter(self, group: int) -> Callable[[int], None]:
        pin = self._sck_pins[group]

        def set_clock(level: int) -> None:
            pin.state = level

        return set_clock

    def bit_reader(self, chip: int) -> Callable[[], int]:
        pin = self._dout_pins[chip]
        return lambda: pin.state

    def close(self) -> None:
        for pin in self._sck_pins:
            try:
                pin.state = 0
            except Exception:  # the factory may already be gone (interpreter shutdown)
                pass
            pin.close()
        for pin in self._dout_pins:
            pin.close()


class _LgpioPins:
    """The Pi fast path: lgpio calls on our own handle to the factory's gpiochip.

    gpiozero only reserves the pins (so no other device takes them); the lines are claimed here,
    the four DOUT lines as one input group so a single ``group_read`` polls them all, and four
    clock lines as one output group so a single ``group_write`` raises or lowers any of them:
    chips that are ready together are clocked together, a quarter of the calls (each a system
    call on the Pi) of reading them one after the other.
    """

    def __init__(self, lgpio, chip: int, dout: Sequence[int], sck: Sequence[int]) -> None:
        self._lg = lgpio
        self._dout = list(dout)
        self._sck = list(sck)
        self._handle = lgpio.gpiochip_open(chip)
        self._setters: dict[tuple[int, ...], Callable[[int], None]] = {}
        lgpio.group_claim_input(self._handle, self._dout, lgpio.SET_PULL_UP)
        if len(self._sck) > 1:
            lgpio.group_claim_output(self._handle, self._sck, [0] * len(self._sck))
        else:
            lgpio.gpio_claim_output(self._handle, self._sck[0], 0)

    def ready_levels(self) -> list[int]:
        _, bits = self._lg.group_read(self._handle, self._dout[0])
        return [(bits >> i) & 1 for i in range(len(self._dout))]

    def levels_reader(self) -> Callable[[], int]:
        """All DOUT levels in one call, as bits (bit ``c`` is chip ``c``'s)."""
        read, handle, leader = self._lg.group_read, self._handle, self._dout[0]
        return lambda: read(handle, leader)[1]

    def clock_setter(self, group: int) -> Callable[[int], None]:
        write, handle, gpio = self._lg.gpio_write, self._handle, self._sck[group]
        return lambda level: write(handle, gpio, level)

    def clocks_setter(self, groups: tuple[int, ...]) -> Callable[[int], None]:
        """One call that raises or lowers the clock lines of ``groups`` together."""
        setter = self._setters.get(groups)
        if setter is None:
            if len(self._sck) == 1:
                setter = self.clock_setter(0)
            else:
                write, handle, leader = self._lg.group_write, self._handle, self._sck[0]
                mask = sum(1 << g for g in groups)
                setter = lambda level: write(handle, leader, mask if level else 0, mask)  # noqa: E731
            self._setters[groups] = setter
        return setter

    def pass_calls(self, groups: tuple[int, ...]) -> tuple:
        """(group_write or a gpio_write taking the same arguments, group_read, handle, clock
        line, DOUT group, clock mask, DOUT group size) for the hot loop of a pass over
        ``groups``.

        lgpio's own C functions (``lgpio._lgpio``) when it has them: its Python wrapper around
        each (three Python calls that turn a negative status into an exception) would be half
        of the pass's Python work. Without the wrapper a failed call returns its status instead
        of raising: a write returns 0 and a read the group's size when they succeed, and the
        pass checks that (``_shift_together``)."""
        lg, handle = self._lg, self._handle
        c_layer = getattr(lg, "_lgpio", None)
        if c_layer is not None and hasattr(c_layer, "_group_read"):
            group_write, group_read = c_layer._group_write, c_layer._group_read
            gpio_write = c_layer._gpio_write
        else:
            group_write, group_read, gpio_write = lg.group_write, lg.group_read, lg.gpio_write
        size = len(self._dout)
        if len(self._sck) == 1:
            write = lambda h, gpio, bits, mask: gpio_write(h, gpio, bits)  # noqa: E731
            return write, group_read, handle, self._sck[0], self._dout[0], 1, size
        mask = sum(1 << g for g in groups)
        return group_write, group_read, handle, self._sck[0], self._dout[0], mask, size

    def bit_reader(self, chip: int) -> Callable[[], int]:
        read, handle, gpio = self._lg.gpio_read, self._handle, self._dout[chip]
        return lambda: read(handle, gpio)

    def close(self) -> None:
        lg, handle = self._lg, self._handle
        if len(self._sck) > 1:
            lg.group_write(handle, self._sck[0], 0, (1 << len(self._sck)) - 1)
            lg.group_free(handle, self._sck[0])
        else:
            lg.gpio_write(handle, self._sck[0], 0)
            lg.gpio_free(handle, self._sck[0])
        lg.group_free(handle, self._dout[0])
        lg.gpiochip_close(handle)


def _lgpio_fast_path(factory):
    """(lgpio module, chip number) when ``factory`` drives pins through lgpio, else None.

    A factory may also offer ``lgpio_fast_path`` itself (the tests do, with an lgpio stand-in on
    emulated pins).
    """
    offered = getattr(factory, "lgpio_fast_path", None)
    if offered is not None:
        return offered
    module = sys.modules.get("gpiozero.pins.lgpio")
    if module is not None and isinstance(factory, module.LGPIOFactory):
        return module.lgpio, factory.chip  # Pi 5 kernels renumbered the chip: ask the factory
    return None


class HX711Array(Device):
    """Four HX711 amplifiers read together, one conversion per chip per frame.

    :param dout: the four DOUT GPIOs, corner order front-left, front-right, back-left, back-right.
    :param sck: four PD_SCK GPIOs (one per chip, recommended) or a single shared one.
    :param pin_factory: any gpiozero pin factory; None uses gpiozero's default.
    :param rate_sps: the rate the chips are wired for (80 with RATE high).
    :param clock: the clock to time pulses and wait with; by default the factory's
        ``virtual_clock`` when it has one (the emulator), else the monotonic clock.

    Waking up: each wake-up (a sleep, then a look at the four DOUT lines) costs the reader more
    than reading a chip, so the driver looks only when something is due. It keeps a timing model
    per chip: the data-ready time of its last conversion and its measured period, hence the
    predicted time of the next. A chip whose timing holds is not looked for at its edge: it is
    read a little after its predicted edge (``LATE_S``), in one pass with the other chips due by
    then, as long as no waiting conversion comes near being replaced by the next (``GUARD_S``);
    its data-ready time is then the predicted one, kept between the last time it was seen busy
    and the time it was seen ready. Every so often (each conversion at first, then every 2nd,
    4th ... up to ``PROBE_EVERY_MAX``-th while the timing holds) a probe looks for the edge
    itself: a first look ``EDGE_EARLY_S`` before the predicted edge, then every ``POLL_S``; a
    conversion seen ready within ``BRACKET_S`` of being seen busy has its edge seen, which
    corrects the period (measured over all the conversions since the last seen edge) and the
    phase. An edge off its prediction by more than ``EDGE_TOLERANCE_S``, a reset or a miss sends
    the chip back to probing each conversion, which is how the driver behaved before it had the
    model. This takes about two wake-ups a frame instead of about ten (``BENCHMARKS.md``).
    """

    def __init__(
        self,
        dout: Sequence[int] = DEFAULT_PINS.dout,
        sck: Sequence[int] | int = DEFAULT_PINS.sck,
        pin_factory=None,
        *,
        rate_sps: int = 80,
        clock: Clock | None = None,
    ) -> None:
        self._pins = None
        super().__init__(pin_factory=pin_factory)
        dout = tuple(dout)
        sck = (sck,) if isinstance(sck, int) else tuple(sck)
        if len(dout) != 4:
            raise ValueError("HX711Array needs exactly four DOUT pins (FL, FR, BL, BR)")
        if len(sck) not in (1, 4):
            raise ValueError("HX711Array needs four PD_SCK pins, or one shared by all chips")
        if rate_sps not in SETTLING_S:
            raise ValueError("rate_sps must be 80 (RATE high) or 10 (RATE low)")
        self._dout_names = dout
        self._sck_names = sck
        self.pin_factory.reserve_pins(self, *dout, *sck)
        try:
            fast = _lgpio_fast_path(self.pin_factory)
            if fast is not None:
                self._pins = _LgpioPins(fast[0], fast[1], dout, sck)
            else:
                self._pins = _GpiozeroPins(self.pin_factory, dout, sck)
        except Exception:
            self.pin_factory.release_pins(self, *dout, *sck)
            raise
        self.fast_path = fast is not None
        clock = clock or getattr(self.pin_factory, "virtual_clock", None) or MonotonicClock()
        self._clock = clock
        self._now = clock.now
        if type(clock).now is MonotonicClock.now:
            self._now = time.monotonic  # the same reading, without a Python call around it
        self.rate_sps = rate_sps
        self.period_s = 1.0 / rate_sps
        self._settling_s = SETTLING_S[rate_sps] * SETTLING_MARGIN
        # chips sharing a clock line form a group that is always clocked together
        self._groups = [(0, 1, 2, 3)] if len(sck) == 1 else [(0,), (1,), (2,), (3,)]
        self._set_clock = [self._pins.clock_setter(g) for g in range(len(self._groups))]
        self._bit = [self._pins.bit_reader(c) for c in range(4)]
        self.counters = tuple(ChipCounters() for _ in range(4))
        # per-chip state
        self._fresh: list[int | None] = [None] * 4  # newest valid reading not yet in a frame
        self._fresh_t = [0.0] * 4
        self._fresh_fault: list[str | None] = [None] * 4  # a bad conversion stands in the slot
        self._fault: list[str | None] = [None] * 4  # standing fault, cleared by a valid reading
        self._expected = [True] * 4  # frames wait for this chip
        self._last_ready = [0.0] * 4
        self._period_est = [self.period_s] * 4
        self._due = [0.0] * 4  # a conversion not seen by then is a miss
        self._misses = [0] * 4
        self._settle_until = [0.0] * 4
        # A conversion read after the settling time may still have completed inside it (the chip
        # holds it until read), so a chip counts as settled only once it has been seen busy, or
        # has been read, after that time: its next conversion is then certainly a settled one.
        self._settled = [False] * 4
        self._last_value: list[int | None] = [None] * 4
        self._repeats = [0] * 4
        self._ready_times = [deque(maxlen=33) for _ in range(4)]
        self._slow_streak = [0] * 4  # returns after a miss in a row without long silences
        # the timing model (see "Waking up" above)
        self._seen_busy = [0.0] * 4  # the last time DOUT was seen high (conversion in progress)
        self._seen_ready: list[float | None] = [None] * 4  # first seen low since (None: busy)
        self._count = [0] * 4  # conversions since the chip started, replaced ones included
        self._anchor: list[tuple[float, int] | None] = [None] * 4  # last seen edge: (t, count)
        self._probe_every = [1] * 4  # look for the edge itself every this many conversions
        self._since_edge = [0] * 4  # conversions timed by the model since the last seen edge
        self._resume_at = 0.0  # the first look for the next frame, planned when one is sent
        self._reset_all()

    # --- gpiozero Device plumbing -------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._pins is None

    def close(self) -> None:
        """Drive the clocks low and release the pins. Safe to call twice."""
        pins = getattr(self, "_pins", None)
        if pins is not None:
            self._pins = None
            try:
                pins.close()
            finally:
                self.pin_factory.release_pins(self, *self._dout_names, *self._sck_names)
        super().close()

    def __repr__(self) -> str:
        if self.closed:
            return "<HX711Array closed>"
        return f"<HX711Array dout={self._dout_names} sck={self._sck_names} {self.rate_sps} SPS>"

    # --- public interface ---------------------------------------------------------------------
    def read(self, timeout: float = 0.2) -> Frame:
        """Wait for a fresh conversion from every healthy chip (or ``timeout`` s) → Frame.

        A chip that has not delivered by the timeout, or that is known faulty, stands in the
        frame as None with its fault's name; it never holds back the others.
        """
        self._check_open()
        now, sleep = self._now, self._clock.sleep
        t = now()
        deadline = t + timeout
        expected, fresh, fresh_fault = self._expected, self._fresh, self._fresh_fault
        # The look planned when the last frame was sent: nothing of this frame can be ready
        # before it, so a look now would be a wake-up for nothing.
        if self._resume_at > t:
            sleep(min(self._resume_at, deadline) - t)
        while True:
            t_look = now()
            self._service(t_look)
            t = now()
            delivered = [fresh[c] is not None or fresh_fault[c] is not None for c in range(4)]
            waiting = [c for c in range(4) if expected[c] and not delivered[c]]
            if (not waiting and True in delivered) or t >= deadline:
                frame = self._emit(t)
                self._resume_at = self._next_look(t_look, t, [c for c in range(4) if expected[c]])
                return frame
            sleep(min(self._next_look(t_look, t, waiting), deadline) - t)

    @property
    def probing(self) -> tuple[bool, ...]:
        """Per chip: True while its next conversion is looked for at its edge (a probe)."""
        return tuple(self._since_edge[c] + 1 >= self._probe_every[c] for c in range(4))

    @property
    def measured_rates_sps(self) -> tuple[float | None, ...]:
        """Conversions per second each chip delivered recently (None until known)."""
        rates = []
        for times in self._ready_times:
            if len(times) < 5 or times[-1] <= times[0]:
                rates.append(None)
            else:
                rates.append((len(times) - 1) / (times[-1] - times[0]))
        return tuple(rates)

    def rate_advice(self) -> list[str]:
        """Messages for chips whose measured rate says their RATE pin is still low."""
        advice = []
        for corner, rate in enumerate(self.measured_rates_sps):
            if rate is not None and self.rate_sps == 80 and rate < 20:
                advice.append(
                    f"The {CORNER_NAMES[corner]} amplifier gives {rate:.0f} readings a second "
                    "instead of 80: its RATE pin is low. Tie RATE to 3.3 V (hardware/wiring.md)."
                )
        return advice

    # --- internals ----------------------------------------------------------------------------
    def _next_look(self, t_look: float, t: float, waiting: list[int]) -> float:
        """When to look at the DOUT lines next, having looked at ``t_look`` and it being ``t``
        now (see "Waking up" in the class notes). A look planned for before ``t_look`` has been
        made: a chip seen ready then and still waiting waits for a chip on its shared clock."""
        wake = t + min(self.period_s, POLL_S * 4)  # all faulty: look now and then for a recovery
        if waiting:
            wake = t + SILENCE_PERIODS * self.period_s
            read_at = 0.0  # the one pass that reads every chip whose timing holds
            # a chip back from a reset is looked for too: its first settled conversion, read at
            # once, brings it back into the frames
            back = [c for c in range(4) if self._fault[c] == RESETTING and self._settled[c]]
            for c in (*waiting, *back):
                if self._seen_ready[c] is not None:
                    continue  # ready, waiting for a pass or for a chip on its clock line
                edge = self._last_ready[c] + self._period_est[c]
                if self._expected[c]:
                    wake = min(wake, self._due[c] + 1e-6)  # a miss is named on time
                if self._seen_busy[c] >= edge:  # later than predicted: look for it
                    wake = min(wake, t + POLL_S)
                elif self._since_edge[c] + 1 < self._probe_every[c]:
                    if edge + LATE_S > t_look:
                        read_at = max(read_at, edge + LATE_S)
                elif self._seen_busy[c] >= edge - EDGE_EARLY_S:
                    wake = min(wake, t + POLL_S)  # a probe: seen busy near the edge, poll
                elif edge - EDGE_EARLY_S > t_look:
                    wake = min(wake, edge - EDGE_EARLY_S)  # a probe: first look before the edge
            if read_at:
                wake = min(wake, read_at)
        for c in range(4):
            # never let a waiting conversion be replaced unread: a chip whose timing holds is
            # looked at between each two of its edges (a fast chip's extra conversion included)
            if self._anchor[c] is not None and self._settled[c]:
                latest = self._last_ready[c] + 2 * self._period_est[c] - GUARD_S
                if latest > t:
                    wake = min(wake, latest)
            # look at a restarting chip right after its settling time, so that its first settled
            # conversion is not mistaken for one that completed while it settled (at once if the
            # time passed during the last look: a long read, a stall)
            if not self._settled[c] and self._settle_until[c] > t_look:
                wake = min(wake, self._settle_until[c] + 1e-6)
        return max(wake, t + MIN_WAIT_S)

    def _data_ready_time(self, c: int, t_seen: float, t_start: float) -> float:
        """When chip ``c``'s conversion, seen ready at ``t_seen`` and shifted out from
        ``t_start``, became ready; keeps the chip's timing model."""
        period = self._period_est[c]
        edge = self._last_ready[c] + period
        skipped = 0  # conversions replaced before they were read
        while edge + period <= t_start and skipped < SILENCE_PERIODS:
            edge += period
            skipped += 1
        self._count[c] += 1 + skipped
        busy = self._seen_busy[c]
        if skipped or t_seen - busy > BRACKET_S:
            self._since_edge[c] += 1
            return min(max(edge, busy), t_seen)
        # seen busy just before it was seen ready: the edge itself was seen, between the two
        t_edge = 0.5 * (busy + t_seen)
        anchor = self._anchor[c]
        if anchor is not None:
            n = self._count[c] - anchor[1]
            sample = (t_edge - anchor[0]) / n
            if 0.5 * self.period_s < sample < 1.5 * self.period_s:
                period += min(0.5, 0.1 * n) * (sample - period)
                low, high = (1 - PERIOD_SPREAD) * self.period_s, (1 + PERIOD_SPREAD) * self.period_s
                self._period_est[c] = min(max(period, low), high)
            if abs(t_edge - edge) <= EDGE_TOLERANCE_S:
                self._probe_every[c] = min(2 * self._probe_every[c], PROBE_EVERY_MAX)
            else:
                self._probe_every[c] = 1
        self._anchor[c] = (t_edge, self._count[c])
        self._since_edge[c] = 0
        return t_edge

    def _delivered(self, c: int) -> bool:
        return self._fresh[c] is not None or self._fresh_fault[c] is not None

    def _power_cycle(self, *groups: int) -> None:
        """Hold the ``groups``' clocks high past the power-down time, then low: a sure reset."""
        for g in groups:
            self._set_clock[g](1)
        self._clock.sleep(2 * POWER_DOWN_S)
        for g in groups:
            self._set_clock[g](0)

    def _reset_all(self) -> None:
        """Power every chip down and up so they all start from a known state."""
        self._power_cycle(*range(len(self._groups)))
        t = self._now()
        for c in range(4):
            self._begin_settling(c, t)
            self._misses[c] = 0
        self._expected = [True] * 4  # the first frame waits for everyone to settle

    def _begin_settling(self, c: int, t: float) -> None:
        self._settle_until[c] = t + self._settling_s
        self._settled[c] = False
        self._last_ready[c] = t
        self._anchor[c] = None  # its phase is new: probe each conversion until it is known
        self._probe_every[c] = 1
        self._since_edge[c] = 0
        self._due[c] = t + self._settling_s + DEADLINE_PERIODS * self.period_s
        self._fault[c] = RESETTING
        self._expected[c] = False

    def _service(self, t: float) -> None:
        """Read every chip whose conversion is ready; note the ones that are late."""
        levels = self._pins.ready_levels()
        for c in range(4):
            if levels[c]:
                self._seen_busy[c] = t
                self._seen_ready[c] = None
                if not self._settled[c] and t >= self._settle_until[c]:
                    self._settled[c] = True
            elif self._seen_ready[c] is None:
                self._seen_ready[c] = t
        # restarting chips first: their first settled conversion must be taken before the next
        # one replaces it, which a long read of another chip could otherwise cause
        order = range(len(self._groups))
        if not all(self._settled):
            order = sorted(order, key=lambda g: self._settled[self._groups[g][0]])
        passes = []  # (group, its ready chips)
        for g in order:
            chips = self._groups[g]
            ready = [c for c in chips if not levels[c]]
            if not ready:
                continue
            # a shared clock: clocking a busy chip corrupts it, so wait for every chip that is
            # still expected to deliver; chips already given up on are clocked anyway
            if len(chips) > 1 and any(
                levels[c] and self._expected[c] and t <= self._due[c] for c in chips
            ):
                continue
            passes.append((g, ready))
        if self.fast_path and passes:
            passes = self._keep_for_the_pass(passes, levels, t)
        if self.fast_path and sum(len(ready) for _, ready in passes) > 1:
            # lgpio: every ready chip in one pass, their clock lines driven by one call
            self._shift_together(tuple(g for g, _ in passes), [c for _, r in passes for c in r], t)
            passes = []
        for g, ready in passes:
            self._shift_in(g, ready, t)
        for c in range(4):
            # a conversion seen waiting is no miss, though it waits for a pass or a clock line
            if t > self._due[c] and not self._delivered(c) and self._seen_ready[c] is None:
                self._miss(c)

    def _shift_in(self, g: int, ready: list[int], t_ready: float) -> None:
        """Clock 25 pulses into group ``g`` and take the readings of its ``ready`` chips."""
        set_clock, now = self._set_clock[g], self._now
        t_start = now()
        worst_high = 0.0
        if len(ready) == 1 and len(self._groups[g]) == 1:
            bit = self._bit[ready[0]]
            word = 0
            for _ in range(BITS):
                t0 = now()
                set_clock(1)
                word = (word << 1) | bit()
                set_clock(0)
                high = now() - t0
                if high > worst_high:
                    worst_high = high
                    if high > POWER_DOWN_S:
                        break  # the chip has reset: clocking it further would clock a busy chip
            words = [word]
        else:
            bits = [self._bit[c] for c in ready]
            words = [0] * len(ready)
            for _ in range(BITS):
                t0 = now()
                set_clock(1)
                levels = [b() for b in bits]
                set_clock(0)
                high = now() - t0
                words = [(w << 1) | lv for w, lv in zip(words, levels, strict=True)]
                if high > worst_high:
                    worst_high = high
                    if high > POWER_DOWN_S:
                        break
        if worst_high <= POWER_DOWN_S:
            t0 = now()
            set_clock(1)  # 25th pulse: channel A, gain 128 for the next conversion
            set_clock(0)
            high = now() - t0
            if high > worst_high:
                worst_high = high
        else:
            # We only know the high phase lasted *at most* what we measured, so the chip may or may
            # not have reset, and may be left mid-word. Reset it for certain rather than guess.
            self._power_cycle(g)
        after = [self._bit[c]() for c in ready]
        t_done = now()
        for c, word, dout_after in zip(ready, words, after, strict=True):
            self._take(c, decode(word), dout_after, worst_high, t_ready, t_start, t_done)
            if dout_after:
                self._seen_busy[c] = t_done  # busy again until its next conversion

    def _keep_for_the_pass(
        self, passes: list[tuple[int, list[int]]], levels: list[int], t: float
    ) -> list[tuple[int, list[int]]]:
        """The fast path clocks chips together: a ready chip on a clock line of its own is left
        for the pass that will read the chips still converting for this frame, when its
        conversion can wait that long (``GUARD_S`` before the next would replace it)."""
        pending = [
            c for c in range(4) if levels[c] and self._expected[c] and not self._delivered(c)
        ]
        if not pending:
            return passes
        read_at = max(self._last_ready[c] + self._period_est[c] for c in pending) + LATE_S
        if read_at <= t:  # a chip still converting is late: no pass is due, read now
            return passes
        now = []
        for g, ready in passes:
            c = ready[0]
            seen = self._seen_ready[c]
            edge = self._last_ready[c] + self._period_est[c]
            if seen is not None and edge > seen:
                edge = seen
            if len(self._groups[g]) > 1 or edge + self._period_est[c] - GUARD_S <= read_at:
                now.append((g, ready))
        return now

    def _shift_together(self, groups: tuple[int, ...], ready: list[int], t_ready: float) -> None:
        """The lgpio fast path's pass: clock ``groups`` together (one ``group_write`` per edge)
        and read their ``ready`` chips' bits with one ``group_read`` per pulse. A stall holds all
        these clock lines high, so the longest high phase counts for every chip in the pass."""
        set_clocks = self._pins.clocks_setter(groups)
        read, now = self._pins.levels_reader(), self._now
        write, read_group, handle, sck, dout, mask, size = self._pins.pass_calls(groups)
        t_start = now()
        worst_high = 0.0
        samples = []
        failed = 0  # not 0 once a call returned a failure (see _LgpioPins.pass_calls)
        for _ in range(BITS):  # the lgpio calls made directly: this loop is the hot one
            t0 = now()
            failed |= write(handle, sck, mask, mask)
            status, bits = read_group(handle, dout)
            failed |= write(handle, sck, 0, mask)
            high = now() - t0
            samples.append(bits)
            failed |= status ^ size
            if high > worst_high:
                worst_high = high
                if high > POWER_DOWN_S:
                    break  # the chips have reset: clocking them further would clock busy chips
        if failed:
            raise OSError("the GPIO lines stopped answering during a read (lgpio call failed)")
        if worst_high <= POWER_DOWN_S:
            t0 = now()
            set_clocks(1)  # 25th pulse: channel A, gain 128 for the next conversion
            set_clocks(0)
            worst_high = max(worst_high, now() - t0)
        else:
            self._power_cycle(*groups)  # as in _shift_in: reset them for certain
        after = read()
        t_done = now()
        levels = bytes(samples)  # one byte per pulse, a chip's DOUT level in each bit
        for c in ready:
            # the chip's bit of each byte as "0"/"1", read as a binary number: the transpose
            # in two C calls instead of 24 Python steps a chip
            word = int(levels.translate(BIT_AS_DIGIT[c]), 2)
            dout_after = (after >> c) & 1
            self._take(c, decode(word), dout_after, worst_high, t_ready, t_start, t_done)
            if dout_after:
                self._seen_busy[c] = t_done

    def _take(
        self,
        c: int,
        value: int,
        dout_after: int,
        high_s: float,
        t: float,
        t_start: float,
        t_done: float,
    ) -> None:
        """One conversion shifted out of chip ``c``: seen ready at ``t``, clocked from
        ``t_start`` to ``t_done``; decide whether it is a valid reading."""
        counters = self.counters[c]
        counters.conversions += 1
        seen, self._seen_ready[c] = self._seen_ready[c], None
        t = self._data_ready_time(c, t if seen is None else seen, t_start)
        if t - self._last_ready[c] > SILENCE_PERIODS * self.period_s:
            self._ready_times[c].clear()  # a long silence is not a rate
            self._slow_streak[c] = 0
        self._ready_times[c].append(t)
        if high_s > POWER_DOWN_S:
            counters.resets += 1
            self._begin_settling(c, t_done)
            self._fresh_fault[c] = self._fresh_fault[c] or RESETTING
            return
        self._last_ready[c] = t
        # If the read was held up (another chip's stalled pulse, or a late read waiting for the
        # other chips), a newer conversion may have replaced the one seen at t: count the next
        # deadline from when the read began.
        self._due[c] = t_start + DEADLINE_PERIODS * self.period_s
        if self._misses[c]:
            # Back after missing conversions: it was unplugged, browned out, or converts far
            # slower than wired for (RATE low). Either way its next conversions may be settling
            # garbage (400 ms of it at 10 SPS), so it starts again like after a reset.
            self._misses[c] = 0
            self._slow_streak[c] += 1
            self._begin_settling(c, t_done)
            counters.settling_discarded += 1
            if self._slow_streak[c] >= 3:  # late again and again, but not silent: RATE is low
                self._fault[c] = SLOW
                self._fresh_fault[c] = self._fresh_fault[c] or SLOW
            return
        self._slow_streak[c] = 0
        if not self._settled[c]:
            counters.settling_discarded += 1
            if t_done >= self._settle_until[c]:
                self._settled[c] = True
            return
        if high_s > HIGH_TIME_MAX_S:
            counters.glitches += 1
            fault = GLITCH
        elif not dout_after:
            counters.stuck_low += 1
            fault = STUCK_LOW
        elif is_saturated(value):
            counters.saturated += 1
            fault = SATURATED
        else:
            fault = None
            self._repeats[c] = self._repeats[c] + 1 if value == self._last_value[c] else 0
            self._last_value[c] = value
            if self._repeats[c] >= STUCK_VALUE_REPEATS:
                fault = STUCK_VALUE
        if fault is not None:
            if self._fresh[c] is None:
                self._fresh_fault[c] = fault
            if fault in (STUCK_LOW, STUCK_VALUE, SATURATED):
                self._fault[c] = fault
            return
        counters.valid += 1
        if self._fresh[c] is not None:
            # A fast chip can convert twice while a slow one converts once. The first reading
            # is kept: it lies closest in time to the other corners' readings in this frame.
            counters.extra += 1
            return
        self._fresh[c] = value
        self._fresh_t[c] = t
        self._fresh_fault[c] = None
        self._fault[c] = None
        self._expected[c] = True

    def _miss(self, c: int) -> None:
        self.counters[c].missed += 1
        self._misses[c] += 1
        self._expected[c] = False
        self._due[c] += self.period_s
        if self._fault[c] in (None, NOT_READY, STUCK_LOW, SATURATED, GLITCH):
            self._fault[c] = NOT_READY
        if self._misses[c] >= MISSES_BEFORE_NOT_RESPONDING and self._fault[c] != SLOW:
            self._fault[c] = NOT_RESPONDING

    def _emit(self, t_now: float) -> Frame:
        raw: list[int | None] = []
        faults: list[str | None] = []
        chip_t: list[float | None] = []
        for c in range(4):
            if self._fresh[c] is not None:
                raw.append(self._fresh[c])
                faults.append(None)
                chip_t.append(self._fresh_t[c])
            else:
                raw.append(None)
                faults.append(self._fresh_fault[c] or self._fault[c] or NOT_READY)
                chip_t.append(None)
        self._fresh = [None] * 4
        self._fresh_fault = [None] * 4
        times = [v for v in chip_t if v is not None]
        t = sum(times) / len(times) if times else t_now
        return Frame(t, tuple(raw), tuple(faults), tuple(chip_t))
