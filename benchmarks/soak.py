"""Soak: hours of simulated use of the real app, to see that memory, open files and threads stay
flat. Run: ``.venv/bin/python -m benchmarks.soak [--hours 8]`` (writes BENCHMARKS.md); a test
runs a shorter soak in CI (``tests/test_soak.py``).

What runs is the app itself (``display.app.App``) with the simulated patient following the
screen, session after session, on the simulated board read in-process through the real driver
and the pin-level emulator, writing to a real records file: everything but the display and the
reader process. The clock is a ``ManualClock`` moved one frame at a time, so an hour of use takes
a few minutes here. Every ``sample_every_s`` of simulated time the process's resident memory,
open file descriptors and threads are read from /proc.

The one-hour soak in real time (the app as systemd runs it, with its reader process) is
``balance-board run --board sim --exit-after 3600`` watched from outside: ``--real``.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SoakPoint:
    """One reading: simulated hours so far, resident memory (MB), open files, threads, trials
    kept so far."""

    hours: float
    rss_mb: float
    open_files: int
    threads: int
    trials: int


def rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process (MB), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc status")


def open_files(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def thread_count(pid: int | str = "self") -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def soak(
    folder: Path,
    *,
    hours: float,
    sample_every_s: float = 600.0,
    frame_s: float = 1 / 30,
    seed: int = 5,
) -> list[SoakPoint]:
    """Run the app for ``hours`` of simulated time; one ``SoakPoint`` every
    ``sample_every_s``."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    import pygame

    from clinic.store import Store
    from device.board import open_board
    from device.clock import ManualClock
    from device.paths import records_path
    from display import theme
    from display.app import App
    from display.session import DEFAULT_PLAN, PatientSession
    from display.sim.patient import AutoPatient

    clock = ManualClock("2026-11-23T08:00:00+01:00")
    board = open_board("sim", folder, now_iso=clock.now_iso(), clock=clock, sway=0.8, seed=seed)
    pygame.init()
    surface = pygame.display.set_mode(theme.SCREEN_SIZE)
    store = Store(records_path(folder))
    points: list[SoakPoint] = []
    try:
        store.add_patient("P-SOAK", affected_side="left", created_at=clock.now_iso())
        session = PatientSession(
            store,
            "P-SOAK",
            clock=clock,
            geometry=board.geometry,
            board_kind=board.kind,
            plan=DEFAULT_PLAN,
        )
        app = App(
            surface,
            board,
            clock=clock,
            session=session,
            data_folder=folder,
            auto_patient=AutoPatient(board.link, seed=seed),
        )
        end = hours * 3600.0
        next_sample = 0.0
        elapsed = 0.0
        while elapsed <= end:
            if elapsed >= next_sample:
                gc.collect()
                trials = len(store.trials("P-SOAK", status=None))
                points.append(
                    SoakPoint(elapsed / 3600, rss_mb(), open_files(), thread_count(), trials)
                )
                next_sample += sample_every_s
            app.step([])
            clock.advance(frame_s)
            elapsed += frame_s
    finally:
        store.close()
        board.close()
        pygame.quit()
    return points


def growth_mb_per_hour(points: list[SoakPoint], warm_up_h: float = 1.0) -> float:
    """The slope of resident memory after the warm-up (MB per simulated hour), least squares."""
    after = [p for p in points if p.hours >= warm_up_h]
    if len(after) < 2:
        raise ValueError("too short a soak to measure growth after the warm-up")
    import numpy as np

    hours = np.array([p.hours for p in after])
    rss = np.array([p.rss_mb for p in after])
    return float(np.polyfit(hours, rss, 1)[0])


def real_time(seconds: float, folder: Path, every_s: float = 60.0) -> list[tuple]:
    """The app as systemd runs it (its reader process included), in real time, watched from
    outside: (seconds, app MB, reader MB, app files, app threads) every ``every_s``."""
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")
    app = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "balance_board",
            "run",
            "--board",
            "sim",
            "--data-dir",
            str(folder),
            "--exit-after",
            str(seconds),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows = []
    start = time.monotonic()
    try:
        while app.poll() is None:
            time.sleep(every_s)
            t = time.monotonic() - start
            try:
                children = [
                    int(c)
                    for task in os.listdir(f"/proc/{app.pid}/task")
                    for c in Path(f"/proc/{app.pid}/task/{task}/children").read_text().split()
                ]
                reader = sum(rss_mb(c) for c in children)
                rows.append(
                    (t, rss_mb(app.pid), reader, open_files(app.pid), thread_count(app.pid))
                )
            except (FileNotFoundError, ProcessLookupError, RuntimeError):
                break  # the app is ending (its /proc entry going or a zombie's, without memory)
    finally:
        if app.poll() is None:
            app.kill()
        app.wait()
    return rows


def main(argv: list[str] | None = None) -> None:
    from benchmarks.report import machine_line, write_section

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--real", type=float, default=0.0, help="also a real-time soak, seconds")
    args = parser.parse_args(argv)
    lines = [machine_line(), ""]
    if args.hours > 0:
        lines += simulated_lines(args.hours)
        print("\n".join(lines), flush=True)  # kept should the real-time part fail
    if args.real:
        lines += real_time_lines(args.real)
    write_section("Soak", "\n".join(lines))
    print("\n".join(lines))


def simulated_lines(hours: float) -> list[str]:
    with tempfile.TemporaryDirectory() as folder:
        began = time.monotonic()
        points = soak(Path(folder), hours=hours)
        took = time.monotonic() - began
    slope = growth_mb_per_hour(points)
    lines = [
        f"Simulated use, {hours:g} hours of sessions back to back (the app, the simulated "
        f"patient, the simulated board through the driver and emulator, a records file), "
        f"{took / 60:.1f} min of wall time: memory after the first hour grows "
        f"**{slope:.2f} MB per simulated hour** (target under 5).",
        "",
        "| simulated hours | resident memory (MB) | open files | threads | trials kept |",
        "|---|---|---|---|---|",
    ]
    every = max(1, len(points) // 16)
    for p in points[::every]:
        lines.append(
            f"| {p.hours:.1f} | {p.rss_mb:.1f} | {p.open_files} | {p.threads} | {p.trials} |"
        )
    return lines


def real_time_lines(seconds: float) -> list[str]:
    import numpy as np

    with tempfile.TemporaryDirectory() as folder:
        rows = real_time(seconds, Path(folder))
    lines = [
        "",
        f"Real time: `balance-board run --board sim --exit-after {seconds:g}` with its "
        "reader process, watched from outside",
    ]
    after = [r for r in rows if r[0] >= 600]  # after ten minutes of warm-up
    if len(after) >= 2:
        hours = np.array([r[0] / 3600 for r in after])
        app_slope = float(np.polyfit(hours, [r[1] for r in after], 1)[0])
        reader_slope = float(np.polyfit(hours, [r[2] for r in after], 1)[0])
        lines[-1] += (
            f": after ten minutes the app's memory grows **{app_slope:.2f} MB an hour**, the "
            f"reader's {reader_slope:.2f} MB an hour"
        )
    lines[-1] += ":"
    lines += [
        "",
        "| minutes | app (MB) | reader (MB) | app open files | app threads |",
        "|---|---|---|---|---|",
    ]
    every = max(1, len(rows) // 12)
    for t, app_mb, reader_mb, files, threads in rows[::every]:
        lines.append(f"| {t / 60:.0f} | {app_mb:.1f} | {reader_mb:.1f} | {files} | {threads} |")
    return lines


if __name__ == "__main__":
    main()
