"""The report over a period of years of records: complete (every trial of the period in the
table, no other), drawn in the PDF's built-in fonts, and no record outside the period read."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, timedelta

import pytest

from clinic.report import gather, table_lines, write_report
from clinic.sim.synthetic import fill_history
from clinic.store import Store

FIRST = date(2026, 6, 1)


def test_the_trial_table_lists_every_trial_of_the_period_and_no_other(tmp_path):
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient(
            "P-1", affected_side="left", birth_year=1950, created_at="2026-01-01T10:00:00+01:00"
        )
        fill_history(store, "P-1", FIRST, 60, seed=3, adherence=1.0)
        first, last = FIRST + timedelta(days=20), FIRST + timedelta(days=49)  # 30 days
        data = gather(store, "P-1", first, last, with_recordings=False)
        everything = store.trials("P-1", status=None)
    inside = [t for t in everything if first <= date.fromisoformat(t.started_at[:10]) <= last]
    assert [t.id for t in data.trials] == [t.id for t in inside] and len(inside) == 120
    lines = table_lines(data.trials)
    assert len(lines) == 120 and all(line.isascii() for line in lines)  # built-in fonts' text
    assert any(">=8.0 s" in line for line in lines)  # a lower bound still says so
    out = tmp_path / "r.pdf"
    pages = write_report(data, out)
    assert pages == 1 + 2  # the summary and two table pages of 76 lines (no recordings)
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF's text was not read")
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True
    ).stdout
    for t in everything:
        stamp = t.started_at[:16].replace("T", " ")
        assert (stamp in text) == (t in inside), stamp
    assert "Every trial (77–120 of 120)" in text
