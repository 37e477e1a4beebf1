"""The clinic side: records over weeks, progression, the PDF report, CSV and FHIR exports, the
command line, and the records surviving a kill at any moment."""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from balance_board.cli import main
from clinic.fhir import SINGLE_LEG_LOINC, patient_bundle, unit_of
from clinic.program import DEFAULT_PROGRAM, parse_program, program_text, progression_decisions
from clinic.report import gather
from clinic.sim.synthetic import fill_history
from clinic.store import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Store,
)

REPO = Path(__file__).resolve().parents[1]
T0 = "2026-08-01T10:00:00+01:00"
FIRST = date(2026, 9, 1)


@pytest.fixture(scope="module")
def weeks(tmp_path_factory):
    """Twelve weeks of daily sessions for one patient, in a real records file."""
    folder = tmp_path_factory.mktemp("weeks")
    with Store(folder / "balance-board.sqlite3") as store:
        store.add_patient("P-7", affected_side="left", birth_year=1952, sex="female", created_at=T0)
        fill_history(store, "P-7", FIRST, 84, seed=1)
    return folder


def test_schema_migrates_from_version_1_keeping_every_record(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)

    db.executescript(MIGRATIONS[1] + "; PRAGMA user_version=1;")
    db.execute("INSERT INTO patient (code, created_at) VALUES ('P-1', ?)", (T0,))
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert [p.code for p in store.patients()] == ["P-1"]
        store.save_program("P-1", program_text(DEFAULT_PROGRAM), T0, "default")
        assert store.programs("P-1")[0]["source"] == "default"


def test_report_has_the_numbers_a_therapist_asks_for(weeks):
    with Store(weeks / "balance-board.sqlite3") as store:
        data = gather(store, "P-7", FIRST, FIRST + timedelta(days=83), calibrated_at=T0)
    assert data.days == 84 and 60 <= data.session_days <= 80  # 85 % adherence, by chance
    done, prescribed = data.per_exercise["flamingo"]
    assert prescribed == 84 and done == data.session_days
    assert data.age == 74
    changes = {c.exercise: c for c in data.changes}
    # the synthetic patient improves on everything; each change is judged against its MDC
    assert changes["quiet-stance"].beyond_mdc and changes["quiet-stance"].better
    assert changes["quiet-stance"].recent < changes["quiet-stance"].baseline  # less sway
    assert all(c.mdc is not None and c.mdc > 0 for c in data.changes)
    assert {"left", "right"} <= set(data.single_leg)
    left = [v for _, v, _ in data.single_leg["left"]]
    right = [v for _, v, _ in data.single_leg["right"]]
    assert sum(left) / len(left) < sum(right) / len(right)  # the affected leg holds less
    assert any("calibrated" in w for w in data.warnings)  # 100+ days old
    assert len(data.latest_standing) == 2


def test_report_pdf_renders_and_its_pages_are_pictures(weeks, tmp_path):
    out = tmp_path / "report.pdf"
    code = main(["report", "--data-dir", str(weeks), "--out", str(out)])
    assert code == 0 and out.read_bytes()[:5] == b"%PDF-"
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: the PDF was not rendered")
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(out), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3  # summary, stabilograms, the trial table
    import numpy as np

    pygame = pytest.importorskip("pygame")
    for page in pages:
        image = pygame.surfarray.array3d(pygame.image.load(str(page)))
        assert image.std() > 10  # drawn, not blank
        # (a last table page of 32 lines in the PDF's thin built-in Courier inks ~0.4 %)
        assert np.mean(image < 128) > 0.002


def test_report_arguments_are_checked_in_plain_words(weeks, tmp_path, capsys):
    assert main(["report", "--data-dir", str(weeks), "--out", str(tmp_path / "r.txt")]) == 2
    assert "ending in .pdf" in capsys.readouterr().err
    assert main(["report", "--data-dir", str(weeks), "--patient", "X", "--out", "r.pdf"]) == 2
    assert "no patient X" in capsys.readouterr().err
    args = ["report", "--data-dir", str(weeks), "--from", "2026-12-01", "--to", "2026-11-01"]
    assert main([*args, "--out", str(tmp_path / "r.pdf")]) == 2
    assert "--to is before --from" in capsys.readouterr().err
    assert main(["report", "--data-dir", str(tmp_path / "none"), "--out", "r.pdf"]) == 2
    assert "no records" in capsys.readouterr().err


def test_csv_export_one_row_per_trial_with_units_and_offsets(weeks, tmp_path):
    assert (
        main(["export", "--data-dir", str(weeks), "--format", "csv", "--out", str(tmp_path)]) == 0
    )
    path = tmp_path / "P-7-trials.csv"
    with open(path, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    with Store(weeks / "balance-board.sqlite3") as store:
        assert len(rows) == len(store.trials("P-7", status=None))
    header = rows[0].keys()
    assert "mean_velocity_mm_s" in header and "score_0_100" in header and "duration_s" in header
    assert rows[0]["started_at"].endswith("+01:00")
    velocity = [float(r["mean_velocity_mm_s"]) for r in rows if r["mean_velocity_mm_s"]]
    assert 5 < sum(velocity) / len(velocity) < 20
    pandas = pytest.importorskip("pandas", reason="pandas is not installed")
    frame = pandas.read_csv(path, encoding="utf-8-sig")
    assert len(frame) == len(rows) and frame["score_0_100"].notna().all()


def test_fhir_bundle_validates_with_the_r4b_models(weeks):
    bundle_model = pytest.importorskip("fhir.resources.R4B.bundle", reason="fhir.resources missing")
    with Store(weeks / "balance-board.sqlite3") as store:
        bundle = patient_bundle(store, "P-7", device_id="bb-1", device_version="0.1.0", now_iso=T0)
        scored = [t for t in store.trials("P-7") if t.score is not None]
    parsed = bundle_model.Bundle.model_validate(json.loads(json.dumps(bundle)))
    assert parsed.type == "collection"
    kinds = [e.resource.__resource_type__ for e in parsed.entry]
    assert kinds[:2] == ["Patient", "Device"] and kinds.count("Observation") == len(scored)
    patient = parsed.entry[0].resource
    assert patient.birthDate == "1952" and patient.gender == "female"
    single_leg = [
        e.resource
        for e in parsed.entry
        if e.resource.__resource_type__ == "Observation"
        and e.resource.code.coding[0].code == SINGLE_LEG_LOINC
    ]
    assert single_leg and single_leg[0].valueQuantity.unit == "s"
    assert unit_of("path_length_mm") == ("mm", "mm")
    assert unit_of("mean_velocity_mm_s") == ("mm/s", "mm/s")
    assert unit_of("ellipse_area_95_mm2") == ("mm2", "mm²")


def test_recordings_export_writes_format_v1_files(weeks, tmp_path):
    args = ["export", "--data-dir", str(weeks), "--format", "recordings", "--out", str(tmp_path)]
    assert main(args) == 0
    files = sorted((tmp_path / "P-7-recordings").glob("*.txt"))
    assert len(files) == 2
    assert main(["info", str(files[0])]) == 0


def test_progression_counts_sessions_since_the_last_change():
    program = parse_program(
        '[[exercise]]\nname = "flamingo"\nhold_s = 10\n[[progression]]\nexercise = "flamingo"\n'
        'field = "hold_s"\nafter_sessions = 3\nstep = 5\nlimit = 30\n'
    )

    class T:
        def __init__(self, session, score, day):
            self.session_id, self.score, self.status = session, score, "complete"
            self.exercise, self.started_at = "flamingo", f"2026-11-{day:02d}T10:00:00+01:00"
            self.parameters, self.result = {"leg": "left"}, {"score": score}  # no flags: score

    trials = [T(1, 90, 1), T(2, 50, 2), T(3, 85, 3), T(3, 60, 3), T(4, 95, 4), T(5, 81, 5)]
    [decision] = progression_decisions(program, trials, None)
    assert (decision.action, decision.reason) == (
        "advance",
        "target reached in 3 sessions in a row",
    )
    since = "2026-11-03T12:00:00+01:00"  # the program changed after session 3
    [decision] = progression_decisions(program, trials, since)
    assert decision.action == "hold" and "2 of 3" in decision.reason


def test_cli_patient_and_program_commands(tmp_path, capsys):
    folder = str(tmp_path)
    args = ["patient", "--data-dir", folder, "--code", "P-3", "--affected-side", "right"]
    assert main([*args, "--birth-year", "1950"]) == 0
    assert main(["patient", "--data-dir", folder, "--sex", "other", "--mass-kg", "81"]) == 0
    out = capsys.readouterr().out
    assert "P-3: affected side right, born 1950, sex other" in out and "81.0 kg" in out
    bad = tmp_path / "bad.toml"
    bad.write_text('[[exercise]]\nname = "flamingo"\nhold_s = "long"\n')
    assert main(["program", str(bad), "--data-dir", folder]) == 2
    assert "line 3" in capsys.readouterr().err
    good = tmp_path / "good.toml"
    good.write_text('affected_side = "right"\n[[exercise]]\nname = "flamingo"\nhold_s = 12\n')
    assert main(["program", str(good), "--data-dir", folder]) == 0
    with Store(tmp_path / "balance-board.sqlite3") as store:
        assert store.programs("P-3")[-1]["source"] == "import"
    assert main(["program", "--data-dir", folder]) == 0
    assert "hold_s = 12" in capsys.readouterr().out
    assert main(["program", str(tmp_path / "missing.toml"), "--data-dir", folder]) == 2
    assert "no such file" in capsys.readouterr().err


WRITER = """
import sys, time, random
import numpy as np
from clinic.store import Store
from device.recording import Recording
path, log = sys.argv[1], sys.argv[2]
rng = random.Random(int(sys.argv[3]))
# a trial's commit as big as the app's: 30 s of four corner loads at 80 Hz
recording = Recording(np.arange(2400) / 80.0, np.full((2400, 4), 17.5), 500.0, 300.0)
with Store(path) as store:
    if not store.patients():
        store.add_patient("P-K", created_at="2026-11-23T10:00:00+01:00")
    while True:
        session = store.start_session("P-K", "2026-11-23T10:00:00+01:00", board="hx711")
        for _ in range(4):
            trial = store.begin_trial(
                session, "flamingo", {"leg": "left"}, "2026-11-23T10:01:00+01:00"
            )
            time.sleep(rng.uniform(0, 0.01))  # the exercise runs
            store.finish_trial(trial, {"score": 50.0, "metrics": {"x": 1.0}}, recording,
                               "2026-11-23T10:02:00+01:00")
            with open(log, "a") as f:  # only after the commit returned
                f.write(f"{trial}\\n")
                f.flush()
        store.end_session(session, "2026-11-23T10:10:00+01:00")
        store.log_event("safety_stop", "test", "2026-11-23T10:10:00+01:00", session)
"""


def _kill_rounds(tmp_path, rounds: int) -> int:
    path, log = tmp_path / "k.sqlite3", tmp_path / "done.log"
    env = dict(os.environ, PYTHONPATH=str(REPO))
    rng = random.Random(7)
    checked = 0
    for i in range(rounds):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(log), str(i)], env=env, cwd=REPO
        )
        time.sleep(rng.uniform(0.05, 0.4) if i else 1.0)
        child.send_signal(signal.SIGKILL)
        child.wait()
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
        with Store(path) as store:  # opens; marks the trial in progress incomplete
            complete = {t.id for t in store.trials("P-K")}
            assert not store.trials("P-K", status="in_progress")
        done = {int(x) for x in log.read_text().split()} if log.exists() else set()
        assert done <= complete, f"round {i}: completed trials lost: {sorted(done - complete)}"
        checked += 1
    return checked


def test_a_kill_at_random_moments_never_loses_a_completed_trial(tmp_path):
    assert _kill_rounds(tmp_path, 8) == 8


@pytest.mark.slow
def test_a_kill_at_100_random_moments_never_loses_a_completed_trial(tmp_path):
    assert _kill_rounds(tmp_path, 100) == 100


@pytest.mark.slow
def test_killing_the_running_app_keeps_every_trial_it_completed(tmp_path):
    """The real app on the simulated board, killed at random moments after it kept a trial."""
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYTHONPATH=str(REPO))
    path = tmp_path / "balance-board.sqlite3"
    # short trials, so that each round reaches one more kept trial within seconds
    (tmp_path / "program.toml").write_text(
        '[[exercise]]\nname = "quiet-stance"\nduration_s = 5\n'
        '[[exercise]]\nname = "heel-raises"\ntarget_reps = 3\n'
        '[[exercise]]\nname = "quiet-stance"\nduration_s = 5\n'
    )
    rng = random.Random(3)
    for round_ in range(3):
        app = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "balance_board",
                "run",
                "--board",
                "sim",
                "--data-dir",
                str(tmp_path),
                "--exit-after",
                "120",
            ],
            env=env,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            seen, deadline = 0, time.monotonic() + 90
            while seen <= round_ and time.monotonic() < deadline:  # one more trial each round
                time.sleep(0.5)
                if path.exists():
                    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                        seen = db.execute(
                            "SELECT count(*) FROM trial WHERE status = 'complete'"
                        ).fetchone()[0]
            time.sleep(rng.uniform(0, 3))
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                seen = db.execute(
                    "SELECT count(*) FROM trial WHERE status = 'complete'"
                ).fetchone()[0]
            app.send_signal(signal.SIGKILL)
            app.wait()
        finally:
            if app.poll() is None:
                app.kill()
        # (the reader process ends by itself: its next frame finds the pipe broken)
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
        with Store(path) as store:
            assert len(store.trials(store.patients()[0].code)) >= seen >= round_ + 1


def test_a_new_patient_without_trials_gets_a_report_and_empty_exports(tmp_path, capsys):
    folder = str(tmp_path)
    assert main(["patient", "--data-dir", folder, "--code", "P-NEW"]) == 0
    assert main(["report", "--data-dir", folder, "--out", str(tmp_path / "r.pdf")]) == 0
    captured = capsys.readouterr()
    assert "1 pages, 0 trials" in captured.out and captured.err == ""
    for kind in ("csv", "fhir", "recordings"):
        assert main(["export", "--data-dir", folder, "--format", kind, "--out", folder]) == 0
    assert (tmp_path / "P-NEW-trials.csv").read_text(encoding="utf-8-sig").count("\n") == 1


def test_bad_patient_details_and_a_damaged_records_file_are_refused_in_words(tmp_path, capsys):
    folder = str(tmp_path)
    assert main(["patient", "--data-dir", folder, "--code", "P-1", "--birth-year", "1800"]) == 2
    assert "year of birth out of range" in capsys.readouterr().err
    assert main(["patient", "--data-dir", folder, "--code", "P-1", "--height-cm", "900"]) == 2
    assert "height_cm must be between" in capsys.readouterr().err
    assert main(["patient", "--data-dir", folder, "--code", "P-1"]) == 0
    assert main(["patient", "--data-dir", folder, "--mass-kg", "5"]) == 2  # nothing half-changed
    assert "body_mass_kg" in capsys.readouterr().err
    with Store(tmp_path / "balance-board.sqlite3") as store:
        assert store.patient("P-1").body_mass_kg is None
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "balance-board.sqlite3").write_bytes(b"this is not a database" * 100)
    # a damaged records file has its own exit status (README, "Exit statuses")
    assert main(["report", "--data-dir", str(damaged), "--out", str(tmp_path / "r.pdf")]) == 5
    assert "cannot be used as the records file" in capsys.readouterr().err
    assert main(["export", "--data-dir", str(damaged), "--format", "csv", "--out", folder]) == 5
    assert (damaged / "balance-board.sqlite3").read_bytes().startswith(b"this is not")  # kept
