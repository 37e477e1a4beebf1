"""The soak: eight hours of simulated use of the app, session after session (virtual time: about
twenty minutes here), with memory growing under 5 MB an hour after the first hour and open files
and threads flat. The full benchmark adds an hour in real time: ``python -m benchmarks.soak``."""

from __future__ import annotations

import os
import sys

import pytest

from benchmarks.soak import growth_mb_per_hour, soak

HOURS = float(os.environ.get("BALANCE_BOARD_SOAK_HOURS", "8"))


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for memory")
def test_eight_hours_of_use_keep_memory_files_and_threads_flat(tmp_path):
    points = soak(tmp_path, hours=HOURS, sample_every_s=1200)
    assert points[-1].trials > 100 * HOURS  # sessions really ran, back to back
    after = [p for p in points if p.hours >= 1.0]
    assert growth_mb_per_hour(points) < 5.0, [(round(p.hours, 1), round(p.rss_mb)) for p in points]
    assert len({p.open_files for p in after}) == 1, [p.open_files for p in after]
    assert len({p.threads for p in after}) == 1, [p.threads for p in after]
