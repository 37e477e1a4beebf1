"""An ``RPi.GPIO`` stand-in that routes the PyPI HX711 libraries' pin calls to the emulator
(benchmarks only).

The PyPI packages ``hx711`` (1.1.2.3) and ``hx711-multi`` (1.4.1) do ``import RPi.GPIO as GPIO``
and call ``GPIO.setmode``, ``GPIO.setup``, ``GPIO.input`` and ``GPIO.output``. ``install`` puts
this module in ``sys.modules`` as ``RPi.GPIO`` before they are imported, and ``route`` points it
at an ``EmulatorFactory``: ``output`` drives the emulated clock pin (a stall hook on it holds the
line high, as a preempted process would), ``input`` reads the emulated DOUT pin, each costing the
emulator's virtual time per pin operation, exactly like our driver's calls. Their ``time.sleep``
and ``time.perf_counter`` are routed to the same virtual clock by ``virtual_time`` (their 10 ms
polls and 60 µs checks then run in the chips' time, deterministic and faster than real time).

Example::

    from benchmarks.standins import rpi_gpio
    from device.sim.emulator import EmulatorFactory

    GPIO = rpi_gpio.install()
    factory = EmulatorFactory(seed=1)
    factory.add_hx711(dout=5, sck=17, input_counts=lambda t: 1000.0)
    rpi_gpio.route(factory)
    GPIO.setmode(GPIO.BCM)
    GPIO.setup(17, GPIO.OUT)
    GPIO.setup(5, GPIO.IN)
    print(GPIO.input(5))               # 0 once a conversion is ready
"""

from __future__ import annotations

import sys
import types

BCM = 11
BOARD = 10
IN = 1
OUT = 0
HIGH = 1
LOW = 0
PUD_OFF = 20
PUD_DOWN = 21
PUD_UP = 22

_factory = None
_pins: dict[int, object] = {}
_mode: int | None = None
calls = 0  # input and output calls since the last route(), for calls per sample


def route(factory) -> None:
    """Send every following GPIO call to ``factory``'s pins (an ``EmulatorFactory``)."""
    global _factory, calls, _mode
    _factory = factory
    _pins.clear()
    calls = 0
    _mode = None


def _pin(channel: int):
    pin = _pins.get(channel)
    if pin is None:
        if _factory is None:
            raise RuntimeError("RPi.GPIO stand-in: route(factory) first")
        pin = _pins[channel] = _factory.pin(channel)
    return pin


def setwarnings(flag: bool) -> None:
    pass


def setmode(mode: int) -> None:
    global _mode
    _mode = mode


def getmode() -> int | None:
    return _mode


def setup(channel, direction: int, pull_up_down: int = PUD_OFF, initial: int = -1) -> None:
    if _mode != BCM:
        # RPi.GPIO refuses a channel before a numbering mode is set; only BCM is emulated
        raise RuntimeError("Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or BCM")
    for ch in channel if isinstance(channel, list | tuple) else (channel,):
        pin = _pin(ch)
        pin.function = "input" if direction == IN else "output"
        if direction == IN and pull_up_down == PUD_UP:
            pin.pull = "up"
        if direction == OUT and initial in (0, 1):
            pin.state = initial


def input(channel: int) -> int:  # RPi.GPIO's name
    global calls
    calls += 1
    return int(_pin(channel)._get_state())  # the pin's own read: its cost in virtual time


def output(channel, value) -> None:
    global calls
    calls += 1
    for ch in channel if isinstance(channel, list | tuple) else (channel,):
        _pin(ch)._set_state(1 if value else 0)


def cleanup(channel=None) -> None:
    _pins.clear()


def install() -> types.ModuleType:
    """Make ``import RPi.GPIO`` give this module; returns it."""
    module = sys.modules[__name__]
    package = sys.modules.get("RPi")
    if package is None or getattr(package, "GPIO", None) is not module:
        package = types.ModuleType("RPi")
        package.__path__ = []  # a package, so that "import RPi.GPIO" works
        package.GPIO = module
        sys.modules["RPi"] = package
        sys.modules["RPi.GPIO"] = module
    return module


class _VirtualTime:
    """What the libraries use of the ``time`` module, on the emulator's virtual clock."""

    def __init__(self, clock) -> None:
        self._clock = clock

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._clock.advance(seconds)

    def perf_counter(self) -> float:
        return self._clock.now()

    monotonic = time = perf_counter


def virtual_time(clock) -> _VirtualTime:
    """A stand-in for the ``time`` module on ``clock`` (the emulator's ``VirtualClock``)."""
    return _VirtualTime(clock)
