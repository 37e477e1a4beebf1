"""The names of the faults a corner can have, and the words shown to people for each.

The driver (``device.hx711``) puts these names in ``Frame.faults``, the load watch
(``device.watch``) adds a cell that stopped sensing load; calibration, the exercises'
quality flags, the self-test and the screens turn them into words with ``describe_fault``. No
hardware here, so the pure core can name a fault without loading the driver.
"""

from __future__ import annotations

from device import CORNER_NAMES

NOT_READY = "not-ready"
NOT_RESPONDING = "not-responding"
STUCK_LOW = "dout-stuck-low"
SATURATED = "saturated"
GLITCH = "glitch"
RESETTING = "resetting"
STUCK_VALUE = "stuck-value"
SLOW = "slow"
NOT_SENSING = "not-sensing"  # found in the loads, not by the driver (``device.watch``)

FAULT_TEXT = {
    NOT_READY: "missed a reading",
    NOT_RESPONDING: "not responding (check the cable and the amplifier's power)",
    STUCK_LOW: "data line stuck low (check the DOUT wire)",
    SATURATED: "reading out of range (load cell wire loose or cell overloaded)",
    GLITCH: "a reading was disturbed and dropped",
    RESETTING: "amplifier restarting",
    STUCK_VALUE: "reading frozen at one value (amplifier or cell wiring fault)",
    SLOW: "running at 10 readings a second: tie its RATE pin to 3.3 V",
    NOT_SENSING: "not responding to load (check the load cell's wires)",
}


def fault_text(fault: str) -> str:
    """What a fault means, in words (an unknown name is shown as it is)."""
    return FAULT_TEXT.get(fault, fault)


def describe_fault(corner: int, fault: str) -> str:
    """A fault in the words shown to people, e.g. 'front-left corner: not responding (...)'."""
    return f"{CORNER_NAMES[corner]} corner: {fault_text(fault)}"
