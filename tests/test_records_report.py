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


def _trained(store, when: str) -> None:
    """A session that did the whole default program."""
    from clinic.program import DEFAULT_PROGRAM

    session = store.start_session("P-1", when, board="hx711")
    for item in DEFAULT_PROGRAM.exercises:
        for _ in range(item.repetitions):
            trial = store.begin_trial(session, item.exercise, dict(item.params), when)
            store.finish_trial(trial, {"score": 60.0}, None, when)


def test_adherence_counts_from_the_day_she_began_not_the_weeks_before(tmp_path):
    """A patient who began yesterday and trained both days has trained on every day she had
    the board: not on 2 of the report's 84 (2 %)."""
    from clinic.program import DEFAULT_PROGRAM

    daily = sum(item.repetitions for item in DEFAULT_PROGRAM.exercises)
    last = date(2026, 11, 23)
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", affected_side="left", created_at="2026-11-22T09:00:00+01:00")
        _trained(store, "2026-11-22T10:00:00+01:00")
        _trained(store, "2026-11-23T10:00:00+01:00")
        data = gather(store, "P-1", last - timedelta(days=83), last, with_recordings=False)
    assert data.days == 84  # the report's period is unchanged
    assert (data.adherence_from, data.adherence_days) == (date(2026, 11, 22), 2)
    counts = (data.session_days, data.done_trials, data.prescribed_trials)
    assert counts == (2, 2 * daily, 2 * daily)
    write_report(data, tmp_path / "r.pdf")
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: the PDF's text was not read")
    text = subprocess.run(
        ["pdftotext", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True
    ).stdout
    assert "trained on 2 of 2 days since she began on 22 Nov 2026 (100 %)" in text, text[:400]


def test_adherence_of_a_patient_added_but_not_yet_trained_counts_from_the_day_she_was_added(
    tmp_path,
):
    from clinic.program import DEFAULT_PROGRAM

    daily = sum(item.repetitions for item in DEFAULT_PROGRAM.exercises)
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", created_at="2026-11-20T09:00:00+01:00")
        data = gather(store, "P-1", date(2026, 9, 1), date(2026, 11, 23), with_recordings=False)
    assert (data.adherence_from, data.adherence_days) == (date(2026, 11, 20), 4)
    assert (data.session_days, data.prescribed_trials) == (0, 4 * daily)  # four days missed


def test_adherence_of_a_patient_who_began_before_the_period_counts_every_day_of_it(tmp_path):
    with Store(tmp_path / "r.sqlite3") as store:
        store.add_patient("P-1", created_at="2026-11-01T09:00:00+01:00")
        _trained(store, "2026-05-01T10:00:00+01:00")  # her first session, long before
        _trained(store, "2026-11-10T10:00:00+01:00")
        data = gather(store, "P-1", date(2026, 11, 1), date(2026, 11, 30), with_recordings=False)
    assert (data.adherence_from, data.adherence_days, data.session_days) == (
        date(2026, 11, 1),
        30,
        1,
    )
