"""Report benchmark: the therapist's PDF for 12 weeks of daily sessions, target under 10 s.

Run with the others: ``.venv/bin/python -m benchmarks``. The records are synthetic
(``clinic.sim.synthetic``: four exercises a day for 84 days, two standing recordings); the time is
the whole ``balance-board report`` command as its own process (start-up and imports included),
best and worst of three runs, beside the export commands on the same records.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.report import machine_line, write_section
from clinic.sim.synthetic import fill_history
from clinic.store import Store

REPO = Path(__file__).resolve().parents[1]


def _timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "balance_board", *args], check=True, cwd=REPO, capture_output=True
    )
    return time.perf_counter() - start


def main() -> None:

    with tempfile.TemporaryDirectory() as folder:
        with Store(Path(folder) / "balance-board.sqlite3") as store:
            store.add_patient(
                "P-B", affected_side="left", birth_year=1950, created_at="2026-08-01T10:00:00+01:00"
            )
            trials = fill_history(store, "P-B", date(2026, 8, 31), 84, seed=3, adherence=1.0)
        common = ["--data-dir", folder]
        rows = []
        report = [_timed(["report", *common, "--out", f"{folder}/r.pdf"]) for _ in range(3)]
        rows.append(("`report` (PDF, 84 days)", report))
        for kind in ("csv", "fhir", "recordings"):
            times = [
                _timed(["export", *common, "--format", kind, "--out", f"{folder}/x"])
                for _ in range(3)
            ]
            rows.append((f"`export --format {kind}`", times))
        pages = subprocess.run(
            ["pdfinfo", f"{folder}/r.pdf"], capture_output=True, text=True, check=False
        ).stdout
    lines = [
        machine_line(),
        "",
        f"84 days of daily sessions, {trials} trials (synthetic records, `clinic.sim.synthetic`); "
        "each command as its own process, start-up included, three runs:",
        "",
        "| command | best | worst | target |",
        "|---|---|---|---|",
        *[
            f"| {name} | {min(t):.2f} s | {max(t):.2f} s | {'< 10 s' if 'report' in name else ''} |"
            for name, t in rows
        ],
    ]
    count = next((x.split()[-1] for x in pages.splitlines() if x.startswith("Pages:")), None)
    if count:
        lines += ["", f"The report has {count} pages."]
    write_section("Report", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
