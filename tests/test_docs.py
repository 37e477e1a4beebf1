"""The documents that promise behaviour name tests that exist: each row of
``docs/reliability.md`` names a test, and that test is in the suite."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def defined_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef))
    return {f.name for f in functions if f.name.startswith("test_")}


def reliability_rows() -> list[tuple[str, str, str]]:
    """(case number, test file, test name) for each row of the reliability table."""
    rows = []
    for line in (REPO / "docs" / "reliability.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0].isdigit():
            refs = TEST_REF.findall(line)
            assert refs, f"case {cells[0]} names no test"
            rows.extend((cells[0], file, name) for file, name in refs)
    return rows


def test_every_reliability_case_names_a_test_that_exists():
    rows = reliability_rows()
    numbers = [int(n) for n, _, _ in rows]
    assert len(set(numbers)) >= 40  # issue 11: at least 40 cases
    assert sorted(set(numbers)) == list(range(1, max(numbers) + 1))  # numbered without gaps
    known: dict[str, set[str]] = {}
    missing = []
    for number, file, name in rows:
        if file not in known:
            path = REPO / file
            known[file] = defined_tests(path) if path.exists() else set()
        if name not in known[file]:
            missing.append(f"case {number}: {file}::{name}")
    assert not missing, "tests named in docs/reliability.md that do not exist: " + ", ".join(
        missing
    )
