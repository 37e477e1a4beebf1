"""Recordings: calibrated corner loads over time, in the file format other tools read.

Format ``balance-board-recording/1`` (keep it exactly; tools outside the project read it)::

    # format: balance-board-recording/1
    # board_width_mm: 440
    # board_depth_mm: 330
    # stance_width_mm: 200            (optional; so is every key below)
    # exercise: flamingo
    # parameters: {"hold_s": 10.0, "leg": "left"}
    # leg: left
    # affected_side: left              (left | right | none)
    # subject_mass_kg: 70.2
    # subject_mass_source: weighed     (weighed on the board that session | record)
    # started_at: 2026-11-23T10:00:00+01:00
    # board: hx711                     (hx711 | sim | unknown)
    # calibrated_at: 2026-10-01T09:00:00+02:00
    # clock_synchronised: yes
    # rate_hz: 80.0
    # feet_centre_x_mm: -4.5          (the feet's midpoint, side to side)
    # feet_measured: yes               (by the session's stance check)
    # live: yes                        (made in the app: it ended at its target or time)
    t_s,front_left_kg,front_right_kg,back_left_kg,back_right_kg
    0.0,12.5,13.1,11.9,12.2
    ...

UTF-8; metadata lines ``# key: value`` first (unknown keys are kept and ignored); then the header;
then one row per sample, time in seconds from the start: the first sample at 0. Numbers are
written with Python's shortest round-trip repr, so write → read is exact. A recording with the
keys above holds everything its score was made with (``exercises.replay`` uses them): replayed,
it gives the score the app gave.

Readers raise ``RecordingError`` naming the file and line for a missing header, wrong columns,
non-numbers, NaN or infinities, time going backwards or standing still, loads no board carries,
metadata out of range, an empty file, and for a file beyond the limits (one hour, 400 000
samples, 64 MB: refused before it is read into memory).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

FORMAT = "balance-board-recording/1"
HEADER = ("t_s", "front_left_kg", "front_right_kg", "back_left_kg", "back_right_kg")
REQUIRED = ("format", "board_width_mm", "board_depth_mm")
NUMERIC_KEYS = (
    "board_width_mm",
    "board_depth_mm",
    "stance_width_mm",
    "subject_mass_kg",
    "rate_hz",
    "feet_centre_x_mm",
)
YES_NO_KEYS = ("clock_synchronised", "feet_measured", "live")
TIME_KEYS = ("started_at", "calibrated_at")
# the header's keys in the order they are written (``Recording.metadata``; the exports' too)
METADATA_ORDER = (
    "format",
    "board",
    "board_width_mm",
    "board_depth_mm",
    "stance_width_mm",
    "exercise",
    "parameters",
    "leg",
    "affected_side",
    "subject_mass_kg",
    "subject_mass_source",
    "started_at",
    "calibrated_at",
    "clock_synchronised",
    "rate_hz",
    "feet_centre_x_mm",
    "feet_measured",
    "live",
)
MASS_SOURCES = ("weighed", "record")  # weighed on the board that session; the patient's record
MAX_PARAMETERS_CHARS = 2000  # an exercise has a handful of settings
# the people the board is for, lightest to heaviest (kg): a recording's subject_mass_kg, and the
# body mass an exercise estimates from the load when none is given (``exercises.base``)
SUBJECT_MASS_KG = (20.0, 300.0)
# what a recording may hold: a board, a person, an hour (larger files are refused unread)
METADATA_RANGES = {
    "board_width_mm": (100.0, 2000.0, "mm"),
    "board_depth_mm": (100.0, 2000.0, "mm"),
    "stance_width_mm": (50.0, 1000.0, "mm"),
    "subject_mass_kg": (*SUBJECT_MASS_KG, "kg"),
    "rate_hz": (1.0, 1000.0, "readings a second"),
    "feet_centre_x_mm": (-1000.0, 1000.0, "mm"),
}
MAX_DURATION_S = 3600.0
MAX_SAMPLES = 400_000  # an hour at 100 samples a second, with room
MAX_FILE_BYTES = 64_000_000  # about 400 000 rows of five numbers
MAX_LINE_CHARS = 4096
MAX_METADATA = 100
MAX_LOAD_KG = 1000.0  # a corner reading beyond this is not a load a board can carry


class RecordingError(ValueError):
    """A recording file that cannot be read; ``str()`` names the file and line."""

    def __init__(self, path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        where = f"{path}, line {line}" if line else f"{path}"
        super().__init__(f"{where}: {message}")


@dataclass
class Recording:
    """Corner loads over time: ``t_s`` (N,), ``loads_kg`` (N, 4) in corner order FL, FR, BL, BR."""

    t_s: np.ndarray
    loads_kg: np.ndarray
    board_width_mm: float
    board_depth_mm: float
    stance_width_mm: float | None = None
    exercise: str | None = None
    leg: str | None = None
    subject_mass_kg: float | None = None
    started_at: str | None = None
    affected_side: str | None = None  # "left" or "right"; None: not known
    # what the trial was made with, so that a replay gives the score the app gave
    parameters: dict | None = None  # the exercise's settings, as prescribed
    subject_mass_source: str | None = None  # MASS_SOURCES: how subject_mass_kg was known
    calibrated_at: str | None = None  # the board's calibration (ISO 8601)
    clock_synchronised: bool | None = None  # the device's clock set from the network
    rate_hz: float | None = None  # the board's readings a second the trial was scored with
    feet_centre_x_mm: float | None = None  # the feet's midpoint side to side (mm)
    feet_measured: bool | None = None  # the feet's positions measured by the stance check
    live: bool = False  # made in the app: it ended at its target, ceiling or time limit
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.t_s = np.asarray(self.t_s, dtype=float)
        self.loads_kg = np.asarray(self.loads_kg, dtype=float).reshape(-1, 4)
        if len(self.t_s) != len(self.loads_kg):
            raise ValueError("t_s and loads_kg must have the same number of samples")

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0]) if len(self.t_s) > 1 else 0.0

    def metadata(self) -> dict[str, str]:
        meta = {
            "format": FORMAT,
            "board_width_mm": repr(float(self.board_width_mm)),
            "board_depth_mm": repr(float(self.board_depth_mm)),
        }
        optional = {
            "stance_width_mm": self.stance_width_mm,
            "exercise": self.exercise,
            "parameters": self.parameters,
            "leg": self.leg,
            "affected_side": self.affected_side,
            "subject_mass_kg": self.subject_mass_kg,
            "subject_mass_source": self.subject_mass_source,
            "started_at": self.started_at,
            "calibrated_at": self.calibrated_at,
            "clock_synchronised": self.clock_synchronised,
            "rate_hz": self.rate_hz,
            "feet_centre_x_mm": self.feet_centre_x_mm,
            "feet_measured": self.feet_measured,
            "live": self.live or None,
        }
        for key, value in optional.items():
            if value is not None:
                meta[key] = metadata_value(value)
        for key, value in self.extra.items():
            meta.setdefault(key, value)
        return meta


def metadata_value(value) -> str:
    """A header value as format v1 writes it: numbers in shortest round-trip repr, yes/no,
    settings as one line of JSON."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return repr(float(value))
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, allow_nan=False)
    return str(value)


def _clean_meta(value: str) -> str:
    return " ".join(str(value).split())  # one line, no stray whitespace


def recording_text(recording: Recording) -> str:
    """The recording as format v1 text (what ``write_recording`` puts in a file)."""
    lines = [f"# {key}: {_clean_meta(value)}" for key, value in recording.metadata().items()]
    lines.append(",".join(HEADER))
    for t, row in zip(recording.t_s.tolist(), recording.loads_kg.tolist(), strict=True):
        lines.append(",".join(repr(float(v)) for v in (t, *row)))
    return "\n".join(lines) + "\n"


def write_recording(path: str | Path, recording: Recording) -> None:
    """Write ``recording`` to ``path`` (UTF-8, format v1)."""
    Path(path).write_text(recording_text(recording), encoding="utf-8")


def read_recording(path: str | Path) -> Recording:
    """Read a format v1 file; raises RecordingError with the file and line of any problem.

    The file is read line by line, and refused before it fills the memory when it is larger
    than ``MAX_FILE_BYTES`` or longer than ``MAX_SAMPLES`` samples."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise RecordingError(path, None, "is a folder, not a recording")
        if size > MAX_FILE_BYTES:
            raise RecordingError(
                path,
                None,
                f"is {size / 1e6:.0f} MB: a recording is at most {MAX_FILE_BYTES / 1e6:.0f} MB "
                f"({MAX_DURATION_S / 3600:g} hour at 100 samples a second)",
            )
        with path.open(encoding="utf-8", newline="") as f:
            return _parse_lines(f, path)
    except FileNotFoundError:
        raise RecordingError(path, None, "no such file") from None
    except UnicodeDecodeError:
        raise RecordingError(path, None, "not a UTF-8 text file") from None
    except OSError as exc:
        raise RecordingError(path, None, f"cannot be read ({exc.strerror})") from None


def parse_recording(text: str, path: str | Path = "<recording>") -> Recording:
    """Parse format v1 text; ``path`` names the source in errors."""
    return _parse_lines(iter(text.splitlines()), path)


def _range(path, line, what: str, value: float, low: float, high: float, unit: str) -> None:
    if not (math.isfinite(value) and low <= value <= high):
        raise RecordingError(path, line, f"{what} must be between {low:g} and {high:g} {unit}")


def _parse_lines(lines, path) -> Recording:
    meta: dict[str, str] = {}
    number = 0
    header = None
    for number, raw in enumerate(lines, start=1):
        if len(raw) > MAX_LINE_CHARS:
            raise RecordingError(path, number, "a line is far too long for a recording")
        stripped = raw.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            key, sep, value = stripped[1:].partition(":")
            if not sep:
                raise RecordingError(path, number, "a metadata line must read '# key: value'")
            if len(meta) >= MAX_METADATA:
                raise RecordingError(path, number, f"more than {MAX_METADATA} metadata lines")
            meta[key.strip()] = value.strip()
            continue
        header = (number, stripped)
        break
    if not meta and header is None:
        raise RecordingError(path, None, "the file is empty")
    if meta.get("format") != FORMAT:
        found = meta.get("format")
        what = f"format {found!r}" if found else "no '# format:' line"
        raise RecordingError(path, 1, f"not a {FORMAT} file ({what})")
    for key in REQUIRED:
        if key not in meta:
            raise RecordingError(path, None, f"the metadata line '# {key}: ...' is missing")
    numbers = {}
    for key in NUMERIC_KEYS:
        if key in meta:
            try:
                value = float(meta[key])
            except ValueError:
                value = math.nan
            low, high, unit = METADATA_RANGES[key]
            _range(path, None, key, value, low, high, unit)
            numbers[key] = value
    if meta.get("affected_side", "none") not in ("left", "right", "none", ""):
        raise RecordingError(path, None, "affected_side must be left, right or none")
    for key in TIME_KEYS:
        if key in meta:
            try:
                datetime.fromisoformat(meta[key])
            except ValueError:
                raise RecordingError(path, None, f"{key} must be an ISO 8601 date-time") from None
    yes_no = {}
    for key in YES_NO_KEYS:
        if key in meta:
            if meta[key] not in ("yes", "no"):
                raise RecordingError(path, None, f"{key} must be yes or no")
            yes_no[key] = meta[key] == "yes"
    if meta.get("subject_mass_source", MASS_SOURCES[0]) not in MASS_SOURCES:
        raise RecordingError(path, None, f"subject_mass_source must be {' or '.join(MASS_SOURCES)}")
    parameters = _parameters(path, meta.get("parameters"))
    if header is None:
        raise RecordingError(path, number + 1, f"the column header {','.join(HEADER)} is missing")
    header_line, header_text = header
    columns = tuple(c.strip() for c in header_text.split(","))
    if columns != HEADER:
        raise RecordingError(
            path, header_line, f"the columns must be {','.join(HEADER)}, not {','.join(columns)}"
        )
    rows = []
    previous_t = -math.inf
    for number, raw in enumerate(lines, start=header_line + 1):
        if len(raw) > MAX_LINE_CHARS:
            raise RecordingError(path, number, "a line is far too long for a recording")
        line = raw.strip()
        if not line:
            continue
        cells = line.split(",")
        if len(cells) != 5:
            raise RecordingError(path, number, f"expected 5 values, found {len(cells)}")
        try:
            values = [float(c) for c in cells]
        except ValueError:
            raise RecordingError(path, number, "a value is not a number") from None
        if not all(math.isfinite(v) for v in values):
            raise RecordingError(path, number, "NaN or infinite value")
        if values[0] < previous_t:
            raise RecordingError(path, number, "time goes backwards")
        if values[0] == previous_t:
            raise RecordingError(path, number, "two samples at the same time")
        if not all(-MAX_LOAD_KG <= v <= MAX_LOAD_KG for v in values[1:]):
            raise RecordingError(
                path, number, f"a corner load beyond ±{MAX_LOAD_KG:g} kg (not a reading)"
            )
        if rows and values[0] - rows[0][0] > MAX_DURATION_S:
            raise RecordingError(
                path, number, f"longer than {MAX_DURATION_S / 3600:g} hour, the longest recording"
            )
        if len(rows) >= MAX_SAMPLES:
            raise RecordingError(path, number, f"more than {MAX_SAMPLES} samples")
        previous_t = values[0]
        rows.append(values)
    if not rows:
        raise RecordingError(path, header_line, "no samples after the header")
    data = np.array(rows)
    known = {
        "format",
        "exercise",
        "parameters",
        "leg",
        "affected_side",
        "subject_mass_source",
        *NUMERIC_KEYS,
        *YES_NO_KEYS,
        *TIME_KEYS,
    }
    side = meta.get("affected_side")
    return Recording(
        t_s=data[:, 0],
        loads_kg=data[:, 1:],
        board_width_mm=numbers["board_width_mm"],
        board_depth_mm=numbers["board_depth_mm"],
        stance_width_mm=numbers.get("stance_width_mm"),
        exercise=meta.get("exercise"),
        leg=meta.get("leg"),
        subject_mass_kg=numbers.get("subject_mass_kg"),
        started_at=meta.get("started_at"),
        affected_side=side if side in ("left", "right") else None,
        parameters=parameters,
        subject_mass_source=meta.get("subject_mass_source"),
        calibrated_at=meta.get("calibrated_at"),
        clock_synchronised=yes_no.get("clock_synchronised"),
        rate_hz=numbers.get("rate_hz"),
        feet_centre_x_mm=numbers.get("feet_centre_x_mm"),
        feet_measured=yes_no.get("feet_measured"),
        live=yes_no.get("live", False),
        extra={k: v for k, v in meta.items() if k not in known},
    )


def _parameters(path, text: str | None) -> dict | None:
    """The ``parameters`` line: one JSON object of settings (names to numbers, words, yes/no or
    null); what each setting may be is the exercise's to check (``exercises.replay``)."""
    if text is None:
        return None
    if len(text) > MAX_PARAMETERS_CHARS:
        raise RecordingError(path, None, "parameters: far too long for an exercise's settings")
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except ValueError:
        raise RecordingError(path, None, "parameters must be one JSON object") from None
    simple = (str, int, float, bool, type(None))
    if not isinstance(value, dict) or not all(isinstance(v, simple) for v in value.values()):
        raise RecordingError(
            path, None, "parameters must be one JSON object of names and plain values"
        )
    return value


def _no_constant(name: str):
    raise ValueError(f"{name} is not a setting")
