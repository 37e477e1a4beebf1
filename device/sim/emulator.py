"""A pin-level HX711 emulator on gpiozero's MockFactory, with a virtual clock.

This is what lets the real driver (``device.hx711``) run on a PC: the simulated board
(``device.sim.board``) supplies each cell's analog input, the emulated chips turn it into
conversions on their own oscillators, and the driver reads them bit by bit through gpiozero mock
pins — the same code path as on the Pi.

The model follows the Avia HX711 datasheet (V2.0, ../shared/notes/hx711.md):

* DOUT falls when a conversion is ready; each rising PD_SCK edge shifts out one bit, MSB first;
  the 25th pulse ends the word and DOUT goes high until the next conversion.
* A conversion that completes while a word is being shifted out is lost; one that completes
  before the previous was read replaces it.
* PD_SCK high for more than 60 µs powers the chip down (DOUT high); taking it low resets it, and
  conversions during the settling time (50 ms at 80 SPS, 400 ms at 10 SPS) are garbage.
* Input noise 90 nV rms at 80 SPS, 50 nV at 10 SPS; 1 LSB = AVDD / (128 · 2^24).
* Outputs saturate at exactly 0x7FFFFF / 0x800000.

Time is virtual: it moves when the driver sleeps and by a small cost per pin operation, so tests are
deterministic and an hour of board time runs in seconds. With ``realtime=True`` the clock is paced
to the wall clock (the app on a PC). Faults can be injected per chip: oscillator spread, stalls
while the clock is high, power-down, unplugging (dead chip), DOUT stuck low or high, saturation, a
slowly drifting offset, RATE low.

Example::

    from device.sim.emulator import EmulatorFactory
    from device.hx711 import HX711Array

    factory = EmulatorFactory(seed=1)
    chips = factory.add_hx711_array(inputs=[lambda t: 1000.0] * 4)
    cells = HX711Array(pin_factory=factory)
    print(cells.read().raw)
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time
from collections import deque
from collections.abc import Callable, Sequence

from gpiozero.exc import PinSetInput
from gpiozero.pins.mock import MockFactory, MockPin

from device.hx711 import CODE_MAX, CODE_MIN, POWER_DOWN_S, SETTLING_S

NOISE_V_RMS = {80: 90e-9, 10: 50e-9}  # datasheet, gain 128
# A paced clock runs up to this far ahead of the wall clock before it sleeps back to it: a few
# sleeps a frame cost more CPU than the whole emulation (a woken process starts with cold caches),
# and a frame arriving 40 ms early is display latency less, not a fault.
PACE_AHEAD_S = 0.04


def lsb_volts(avdd_v: float) -> float:
    """Input voltage of one count at gain 128: AVDD / (128 · 2^24)."""
    return avdd_v / (128 * 2**24)


class VirtualClock:
    """A clock that moves only when told to, firing scheduled callbacks on the way.

    Implements the driver's Clock interface (``now``, ``sleep``). With ``realtime=True`` each
    advance also waits until the wall clock has caught up, so emulated chips run at their real rate.
    """

    def __init__(self, start: float = 0.0, *, realtime: bool = False) -> None:
        self._t = start
        self._events: list[list] = []
        self._seq = itertools.count()
        self.realtime = realtime
        self._wall0 = time.monotonic()
        self._start = start
        # Watches are one-shot deadlines that are set and cleared far more often than they fire
        # (a clock line's power-down time, at every pulse): a dict is much cheaper than the heap.
        self._watches: dict[object, tuple[float, Callable[[], None]]] = {}
        self._watch_min = math.inf

    def now(self) -> float:
        return self._t

    def call_at(self, t: float, callback: Callable[[], None]) -> list:
        """Run ``callback`` when the clock passes ``t``; returns a handle for ``cancel``."""
        event = [t, next(self._seq), callback, True]
        heapq.heappush(self._events, event)
        return event

    @staticmethod
    def cancel(event: list | None) -> None:
        if event is not None:
            event[3] = False

    def watch(self, key: object, t: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the clock passes ``t``, unless ``unwatch(key)`` comes first."""
        self._watches[key] = (t, callback)
        if t < self._watch_min:
            self._watch_min = t

    def unwatch(self, key: object) -> None:
        entry = self._watches.pop(key, None)
        if entry is not None and entry[0] <= self._watch_min:
            watches = self._watches
            self._watch_min = min(w[0] for w in watches.values()) if watches else math.inf

    def advance(self, seconds: float) -> None:
        target = self._t + seconds if seconds > 0.0 else self._t
        events = self._events
        if target >= self._watch_min:
            self._advance_watched(target)
        while events and events[0][0] <= target:
            event = heapq.heappop(events)
            if event[3]:
                if event[0] > self._t:
                    self._t = event[0]
                event[2]()
        self._t = target
        if self.realtime and seconds >= 1e-4:  # pace on waits, not on each microsecond pin call
            lag = self._wall0 + (target - self._start) - time.monotonic()
            if lag > PACE_AHEAD_S:
                time.sleep(lag)

    sleep = advance

    def tick(self, seconds: float) -> None:
        """Advance by a pin operation's cost (well under the pacing step): when nothing falls
        due, just move the time — this runs several hundred times a frame."""
        target = self._t + seconds
        events = self._events
        if target < self._watch_min and (not events or events[0][0] > target):
            self._t = target
        else:
            self.advance(seconds)

    def _advance_watched(self, target: float) -> None:
        """Fire events and watches in time order up to ``target``, while any watch is due."""
        events = self._events
        while self._watch_min <= target:
            if events and events[0][0] < self._watch_min:
                event = heapq.heappop(events)
                if event[3]:
                    self._t = max(self._t, event[0])
                    event[2]()
                continue
            key = min(self._watches, key=lambda k: self._watches[k][0])
            t, callback = self._watches[key]
            self.unwatch(key)
            self._t = max(self._t, t)
            callback()


class HX711DataPin(MockPin):
    """DOUT: driven by the chip model; reading it costs a little virtual time."""

    def __init__(self, factory, info):
        super().__init__(factory, info)
        self.chip: HX711Chip | None = None
        # looked up once: gpiozero's ``factory`` is a property, and this runs on every bit
        self._advance = factory.virtual_clock.tick
        self._read_cost_s = factory.read_cost_s

    def _change_state(self, value):
        # MockPin records every change in self.states, which grows without bound in long runs
        if self._state != value:
            self._state = value
            return True
        return False

    def _get_state(self):
        self._advance(self._read_cost_s)
        return self._state

    def _set_pull(self, value):
        super()._set_pull(value)
        if self.chip is not None:
            self.chip.refresh_dout()


class HX711ClockPin(MockPin):
    """PD_SCK: every edge is passed to the chips on this line; a stall can hold it high."""

    def __init__(self, factory, info):
        super().__init__(factory, info)
        self._clock = factory.virtual_clock
        self._write_cost_s = factory.write_cost_s
        self.chips: list[HX711Chip] = []
        self.stall: Callable[[float], float] | None = None
        """Called at each rising edge with the time; returns extra seconds the line stays high
        (the reading process preempted mid-pulse)."""

    def _change_state(self, value):
        if self._state != value:
            self._state = value
            return True
        return False

    def _set_state(self, value):
        if self._function == "input":
            raise PinSetInput(f"cannot set state of pin {self!r}")
        stall = self.edge(value)
        if stall:
            self._clock.advance(self._write_cost_s + stall)
        else:
            self._clock.tick(self._write_cost_s)

    def edge(self, value) -> float:
        """Drive the line to ``value`` and pass a change to the chips, costing no time; returns
        how long the line then stays high, stalled (0.0 for none). Several lines driven in one
        call (``EmulatedLgpio.group_write``) change together, then stall together."""
        value = bool(value)
        if self._state == value:
            return 0.0
        self._state = value
        t = self._clock._t
        if value:
            for chip in self.chips:
                chip.clock_rise(t)
            if self.stall is not None:
                return self.stall(t)
        else:
            for chip in self.chips:
                chip.clock_fall(t)
        return 0.0


class HX711Chip:
    """One emulated HX711 (channel A, gain 128) behind a DOUT pin.

    :param input_counts: the ideal reading at time t, in counts (the bridge output divided by
        one LSB); noise, drift, quantisation and saturation are added here.
    :param oscillator: the chip's clock relative to nominal (1.01 = 1 % fast).
    """

    def __init__(
        self,
        clock: VirtualClock,
        dout: HX711DataPin,
        *,
        input_counts: Callable[[float], float],
        rate_sps: int = 80,
        oscillator: float = 1.0,
        avdd_v: float = 5.0,
        noise_counts_rms: float | None = None,
        rng: random.Random | None = None,
        history: int = 256,
    ) -> None:
        self.clock = clock
        self.dout = dout
        dout.chip = self
        self.input_counts = input_counts
        self.rate_sps = rate_sps
        self.oscillator = oscillator
        self.avdd_v = avdd_v
        self._noise = noise_counts_rms
        self.rng = rng or random.Random()
        # injectable faults
        self.offset_drift_counts_per_s = 0.0
        self.saturate: str | None = None  # "high" / "low": input driven out of range
        self.dout_stuck: str | None = None  # "low" / "high": the DOUT line shorted
        self.plugged_in = True
        # state
        self.powered = True
        self.data = 0
        self.ready = False
        self.pulses = 0  # rising edges in the word being shifted out
        self.high_since = 0.0
        self.settle_until = 0.0
        self._busy_edge = False
        self._next_conversion = None
        self._level = 1
        # what happened, for tests
        self.history: deque[tuple[float, int, bool]] = deque(maxlen=history)
        """(time, value, settled) of recent conversions; settled False = garbage after reset."""
        self.on_conversion: Callable[[float, int, bool], None] | None = None
        self.conversions = 0
        self.lost_mid_read = 0
        self.overwritten = 0
        self.resets = 0
        self.protocol_errors = 0  # clocked while busy, or more than 25 pulses
        self._schedule_next(clock.now() + self.period_s * self.rng.random())
        self.refresh_dout()

    @property
    def period_s(self) -> float:
        return 1.0 / (self.rate_sps * self.oscillator)

    @property
    def noise_counts_rms(self) -> float:
        if self._noise is not None:
            return self._noise
        return NOISE_V_RMS[self.rate_sps] / lsb_volts(self.avdd_v)

    # --- faults -------------------------------------------------------------------------------
    def unplug(self) -> None:
        """The chip loses power or its cable: no conversions; the pull-up holds DOUT high."""
        self.plugged_in = False
        self.powered = False
        VirtualClock.cancel(self._next_conversion)
        self.refresh_dout()

    def plug_in(self) -> None:
        """Power returns: the chip starts like after a reset."""
        if not self.plugged_in:
            self.plugged_in = True
            self._restart(self.clock.now())

    # --- clock edges --------------------------------------------------------------------------
    def clock_rise(self, t: float) -> None:
        self.high_since = t
        if not self.powered:
            return
        self.clock.watch(self, t + POWER_DOWN_S, self._power_down)
        if 0 < self.pulses < 25 or (self.pulses == 0 and self.ready):
            self.pulses += 1
            if self.pulses <= 24:
                self._drive((self.data >> (24 - self.pulses)) & 1)
            else:  # 25th: word done, channel A gain 128 again; DOUT high until next conversion
                self.ready = False
                self._drive(1)
        else:
            self._busy_edge = True  # decided at the falling edge: a power-down request is fine

    def clock_fall(self, t: float) -> None:
        self.clock.unwatch(self)
        if not self.plugged_in:
            return
        if not self.powered:
            self._restart(t)
            return
        if self._busy_edge:
            self.protocol_errors += 1
            self._busy_edge = False
        if self.pulses == 25:
            self.pulses = 0

    # --- internals ----------------------------------------------------------------------------
    def _power_down(self) -> None:
        self.powered = False
        self.ready = False
        self.pulses = 0
        self._busy_edge = False
        VirtualClock.cancel(self._next_conversion)
        self.refresh_dout()

    def _restart(self, t: float) -> None:
        self.resets += 1
        self.powered = True
        self.ready = False
        self.pulses = 0
        self.settle_until = t + SETTLING_S[self.rate_sps]
        VirtualClock.cancel(self._next_conversion)
        self._schedule_next(t + self.period_s)
        self.refresh_dout()

    def _schedule_next(self, t: float) -> None:
        self._next_conversion = self.clock.call_at(t, self._convert)

    def _convert(self) -> None:
        t = self.clock.now()
        self._schedule_next(t + self.period_s)
        settled = t >= self.settle_until
        if not settled:
            value = self.rng.getrandbits(24)
            value -= (value & 0x800000) << 1
        elif self.saturate == "high":
            value = CODE_MAX
        elif self.saturate == "low":
            value = CODE_MIN
        else:
            ideal = self.input_counts(t) + self.offset_drift_counts_per_s * t
            value = round(ideal + self.rng.gauss(0.0, self.noise_counts_rms))
            value = min(CODE_MAX, max(CODE_MIN, value))
        self.conversions += 1
        self.history.append((t, value, settled))
        if self.on_conversion is not None:
            self.on_conversion(t, value, settled)
        if 0 < self.pulses < 25:
            self.lost_mid_read += 1
            return
        if self.ready:
            self.overwritten += 1
        self.data = value & 0xFFFFFF
        self.ready = True
        self.pulses = 0
        self._drive(0)

    def _drive(self, level: int) -> None:
        self._level = level
        self.refresh_dout()

    def refresh_dout(self) -> None:
        """Put the line's level on the DOUT pin: stuck wires and the pull-up win over the chip."""
        if self.dout_stuck is not None:
            level = self.dout_stuck == "high"
        elif not self.powered:
            level = self.dout.pull != "down"
        else:
            level = bool(self._level) if self.ready or self.pulses else True
        dout = self.dout
        if level == dout._state:
            return
        if dout._when_changed is None:  # nobody listens for edges: skip MockPin's bookkeeping
            dout._state = level
        elif level:
            dout.drive_high()
        else:
            dout.drive_low()


class EmulatorFactory(MockFactory):
    """A gpiozero MockFactory whose pins can carry emulated HX711 chips on a virtual clock.

    The driver finds the clock as ``factory.virtual_clock``; ``ticks()`` reads it too. With
    ``lgpio=True`` the driver uses its lgpio fast path, through ``EmulatedLgpio``.
    """

    def __init__(
        self,
        *,
        clock: VirtualClock | None = None,
        realtime: bool = False,
        seed: int | None = None,
        write_cost_s: float = 1e-6,
        read_cost_s: float = 0.5e-6,
        revision: str | None = None,
        lgpio: bool = False,
    ) -> None:
        super().__init__(revision=revision)
        self.virtual_clock = clock or VirtualClock(realtime=realtime)
        self.write_cost_s = write_cost_s
        self.read_cost_s = read_cost_s
        self.rng = random.Random(seed)
        # With lgpio=True the driver takes its Pi fast path through an lgpio stand-in
        self.lgpio_fast_path = (EmulatedLgpio(self), 0) if lgpio else None

    def ticks(self):
        return self.virtual_clock.now()

    def add_hx711(self, dout: int, sck: int, **chip_kwargs) -> HX711Chip:
        """Put an emulated chip on pins ``dout`` and ``sck`` (a clock line may carry several)."""
        dout_pin = self.pin(dout, pin_class=HX711DataPin)
        sck_pin = self.pin(sck, pin_class=HX711ClockPin)
        chip_kwargs.setdefault("rng", random.Random(self.rng.getrandbits(64)))
        chip = HX711Chip(self.virtual_clock, dout_pin, **chip_kwargs)
        sck_pin.chips.append(chip)
        return chip

    def add_hx711_array(
        self,
        inputs: Sequence[Callable[[float], float]],
        dout: Sequence[int] = (5, 6, 13, 19),
        sck: Sequence[int] | int = (17, 27, 22, 23),
        *,
        oscillator_spread: float = 0.01,
        **chip_kwargs,
    ) -> list[HX711Chip]:
        """Four chips in corner order, each oscillator within ±``oscillator_spread``."""
        scks = [sck] * 4 if isinstance(sck, int) else list(sck)
        if len(scks) == 1:
            scks *= 4
        chips = []
        for d, s, source in zip(dout, scks, inputs, strict=True):
            osc = 1.0 + self.rng.uniform(-oscillator_spread, oscillator_spread)
            chips.append(self.add_hx711(d, s, input_counts=source, oscillator=osc, **chip_kwargs))
        return chips

    def clock_pin(self, sck: int) -> HX711ClockPin:
        """The emulated clock line on ``sck`` (to inject stalls)."""
        pin = self.pin(sck, pin_class=HX711ClockPin)
        return pin


class EmulatedLgpio:
    """An lgpio stand-in on the emulator's pins, for the driver's Pi fast path on a PC.

    Implements the calls the driver makes (gpiochip_open, group_claim_input, gpio_claim_output,
    group_claim_output, group_read, group_write, gpio_read, gpio_write, gpio_free, group_free,
    gpiochip_close) with lgpio's return conventions, so the fast path's own code is tested and
    benchmarked here. Use it with ``EmulatorFactory(lgpio=True)``. A ``group_write`` changes its
    clock lines at one instant, as the kernel's single register write does, and a stall on any
    of them holds them all high (the reader preempted after the call).
    """

    SET_PULL_UP = 32
    GROUP_ALL = 0xFFFFFFFFFFFFFFFF

    def __init__(self, factory: EmulatorFactory) -> None:
        self._factory = factory
        self._groups: dict[int, list[int]] = {}
        self._pins: dict[int, MockPin] = {}
        self._writers: dict[int, Callable[[int], None]] = {}
        self.claimed: set[int] = set()

    def _pin(self, gpio: int):
        pin = self._pins.get(gpio)
        if pin is None:  # gpiozero's pin lookup is slow; lgpio's is an array index
            pin = self._pins[gpio] = self._factory.pin(gpio)
        return pin

    def gpiochip_open(self, chip: int) -> int:
        return 1

    def gpiochip_close(self, handle: int) -> int:
        return 0

    def _claim(self, gpio: int) -> None:
        if gpio in self.claimed:
            raise RuntimeError(f"GPIO busy: {gpio}")  # lgpio raises 'GPIO busy' likewise
        self.claimed.add(gpio)

    def group_claim_input(self, handle: int, gpios, flags: int = 0) -> int:
        for gpio in gpios:
            self._claim(gpio)
            pin = self._pin(gpio)
            pin.function = "input"
            if flags & self.SET_PULL_UP:
                pin.pull = "up"
        self._groups[gpios[0]] = list(gpios)
        return 0

    def gpio_claim_output(self, handle: int, gpio: int, level: int = 0, flags: int = 0) -> int:
        self._claim(gpio)
        pin = self._pin(gpio)
        pin.function = "output"
        pin.state = level
        return 0

    def group_claim_output(self, handle: int, gpios, levels=(0,), flags: int = 0) -> int:
        for i, gpio in enumerate(gpios):
            self.gpio_claim_output(handle, gpio, levels[i] if i < len(levels) else 0)
        self._groups[gpios[0]] = list(gpios)
        return 0

    def group_write(self, handle: int, leader: int, bits: int, mask: int = GROUP_ALL) -> int:
        stall = 0.0
        for i, gpio in enumerate(self._groups[leader]):
            if mask >> i & 1:
                stall = max(stall, self._pin(gpio).edge(bits >> i & 1))
        clock = self._factory.virtual_clock
        if stall:
            clock.advance(self._factory.write_cost_s + stall)
        else:
            clock.tick(self._factory.write_cost_s)
        return 0

    # The pins' own _get_state/_set_state, as lgpio's C calls skip gpiozero's layers too.
    def group_read(self, handle: int, leader: int) -> tuple[int, int]:
        bits = 0
        for i, gpio in enumerate(self._groups[leader]):
            bits |= int(self._pin(gpio)._get_state()) << i
        return len(self._groups[leader]), bits

    def gpio_read(self, handle: int, gpio: int) -> int:
        return int(self._pin(gpio)._get_state())

    def gpio_write(self, handle: int, gpio: int, level: int) -> int:
        writer = self._writers.get(gpio)
        if writer is None:
            writer = self._writers[gpio] = self._pin(gpio)._set_state
        writer(level)
        return 0

    def gpio_free(self, handle: int, gpio: int) -> int:
        self.claimed.discard(gpio)
        self._pin(gpio).function = "input"
        return 0

    def group_free(self, handle: int, leader: int) -> int:
        for gpio in self._groups.pop(leader, []):
            self.claimed.discard(gpio)
        return 0
