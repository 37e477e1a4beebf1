"""Writes benchmark results into BENCHMARKS.md, one section per benchmark script, with the
machine and the date, replacing that section's previous results."""

from __future__ import annotations

import os
import platform
import re
from datetime import date
from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
HEADER = (
    "# Benchmarks\n\n"
    "Speed and memory targets are measured here, never in timed unit tests. Each section is "
    "written by its script in `benchmarks/`; run them all with `.venv/bin/python -m benchmarks`.\n"
)


def cpu_model() -> str:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    for key in ("model name", "hardware", "model"):  # x86, then the Pi's names
        for line in lines:
            if line.lower().startswith(key):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine_line() -> str:
    """The machine, the date, and how busy it was when the benchmark began (other work on the
    machine slows CPU-bound measurements: a load above the cores' count says it was shared)."""
    load = os.getloadavg()[0]
    return (
        f"Machine: {cpu_model()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}, load average {load:.1f} "
        f"at the start. Date: {date.today()}."
    )


def write_section(title: str, body: str) -> None:
    text = BENCHMARKS_MD.read_text(encoding="utf-8") if BENCHMARKS_MD.exists() else HEADER
    section = f"## {title}\n\n{body.strip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    BENCHMARKS_MD.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
