"""The therapist's report: one summary page and detail pages, as a PDF.

Last stage of the flow (… → record → **report**). ``gather`` turns the records of a period into
numbers (pure: no clock, no files); ``write_report`` draws them with matplotlib (axes with units,
legends, reference bands) into a PDF. The summary page answers the therapist's questions in
order: did the patient train (adherence against the program in force each day), is she
improving (scores, with changes beyond the minimal detectable change marked), is the weak leg
taking more load, one-leg time left against right, sway against age norms, and can the numbers
be trusted (data-quality warnings, calibration date). Detail pages: the stabilogram and 95 %
ellipse of the latest standing trials, then every trial in a table.

Sessions on the simulated board are labelled: a period made on it alone (a demo) says so in the
title and under "Data quality"; a patient measured on the real board has her trends, adherence
and safety counts from her real sessions only, and a stray simulated session is listed in the
table, marked "simulated board", and counted under "Data quality" (``clinic.store``,
``counts_in_trends``).

Minimal detectable change (MDC95 = 1.96 · √2 · SD) is computed from the patient's own first two
weeks, so it reflects this board and this patient's day-to-day variability; a change needs at
least three values in each window to be judged. Reference bands: quiet-standing velocity from the
BDS percentiles (Santos & Duarte 2016, ../shared/notes/posturography.md); single-leg stance times
by age are approximate (secondary sources, same notes); weight bearing within ~7 % of equal in
healthy adults.

Example::

    with Store(path) as store:
        data = gather(store, "P-0001", date(2026, 9, 1), date(2026, 11, 23))
    write_report(data, Path("report.pdf"))
"""

from __future__ import annotations

import math
import textwrap
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from clinic.program import DEFAULT_PROGRAM, ProgramError, parse_program
from clinic.store import StoreError, UnreadableRow, counts_in_trends
from exercises.metrics import ellipse_area_95, ellipse_factor_95
from exercises.quiet_stance import AFFECTED_HEAVY_PCT, AFFECTED_HEAVY_WARNING
from exercises.registry import EXERCISES, title_of
from exercises.replay import cop_samples
from exercises.sit_to_stand import ARMS_ALLOWED_WARNING

BASELINE_DAYS = 14
BULLET_CHARS = 112  # characters of an 8.5 pt line across the summary page
MDC_MIN_VALUES = 3


def velocity_norm_mm_s(age: int | None) -> tuple[float, float, float]:
    """5th / 50th / 95th percentile of quiet-standing CoP velocity, eyes open, firm (BDS)."""
    if age is not None and age >= 60:
        return (6.9, 10.0, 20.7)
    return (5.2, 8.0, 15.1)


def single_leg_norm_s(age: int | None) -> float | None:
    """Mean one-leg stance time, eyes open, by age (s): Springer et al. 2007, J Geriatr Phys
    Ther 30:8 (../shared/notes/stroke-balance.md)."""
    if age is None:
        return None
    for upto, mean in ((40, 43.0), (50, 40.0), (60, 36.0), (70, 27.0), (80, 15.0)):
        if age < upto:
            return mean
    return 6.0


@dataclass
class Change:
    exercise: str
    label: str
    baseline: float
    recent: float
    mdc: float | None
    lower_is_better: bool
    capped_recent: int = 0  # values of the last two weeks left out: they reached the target

    @property
    def beyond_mdc(self) -> bool:
        return self.mdc is not None and abs(self.recent - self.baseline) > self.mdc

    @property
    def better(self) -> bool:
        return (self.recent < self.baseline) == self.lower_is_better

    def sentence(self) -> str:
        title = title_of(self.exercise)
        # "Heel raises (count)", not "Heel raises, heel raises (count)"
        label = self.label
        if label.lower().startswith(title.lower()):
            text = f"{title}{label[len(title) :]}"
        else:
            text = f"{title}, {label}"
        text += f": {self.baseline:.1f} → {self.recent:.1f}"
        if self.mdc is None:
            if self.capped_recent:
                return (
                    f"{text} (too few values to judge: {self.capped_recent} of the last two "
                    "weeks reached the target and are lower bounds, ≥)"
                )
            return text + " (too few values to judge)"
        verdict = (
            ("better" if self.better else "worse")
            if self.beyond_mdc
            else "within day-to-day variation"
        )
        return f"{text} (MDC {self.mdc:.1f}): {verdict}"


@dataclass
class ReportData:
    patient: object  # clinic.store.Patient
    date_from: date
    date_to: date
    age: int | None
    days: int
    session_days: int
    sessions: int
    prescribed_trials: int
    done_trials: int
    per_exercise: dict[str, tuple[int, int]]  # exercise: (done, prescribed)
    scores: dict[str, list[tuple[date, float]]]
    weight_affected: list[tuple[date, float]]
    # stance leg: (day, first hold s, capped: the trial stopped while she was still holding)
    single_leg: dict[str, list[tuple[date, float, bool]]]
    velocity: list[tuple[date, float]]
    changes: list[Change]
    warnings: list[str]
    trials: list
    latest_standing: list = field(default_factory=list)  # (trial, x_mm, y_mm, area_mm2)
    support: dict[str, list[tuple[date, float]]] = field(default_factory=dict)  # leg: % BW
    timed: dict[str, list[tuple[date, float, bool]]] = field(default_factory=dict)  # 5×STS, tandem
    safety: list[str] = field(default_factory=list)  # safety stops, losses of balance, help
    calibrated_at: str | None = None
    device: str = "balance board"
    simulated: bool = False  # the period's sessions were all on the simulated board (a demo)
    simulated_left_out: int = 0  # sessions on the simulated board left out of her trends
    # adherence counts the days from her beginning (her first session) or the period's start,
    # whichever is later: the days before she had the board prescribed her nothing
    adherence_from: date | None = None  # None: the period's start
    adherence_days: int | None = None  # None: every day of the period
    # rows of the records that could not be read (damaged), left out, named under "Data quality"
    unreadable: list[UnreadableRow] = field(default_factory=list)


SIMULATED_LABEL = "simulated board"  # what the report calls the simulated board's sessions
UNREADABLE_NAMED = 10  # damaged rows named one by one under "Data quality"; the rest counted


def _day(iso: str) -> date:
    return datetime.fromisoformat(iso).date()


def _program_on(versions: list[dict], day: date):
    """The program in force on ``day``: of the versions saved on or before it, the one saved
    last (``versions`` in the order they were saved, as ``Store.programs`` gives them: a
    version saved while the clock stood wrong still replaced the one before)."""
    chosen = None
    for version in versions:
        if _day(version["saved_at"]) <= day:
            chosen = version
    if chosen is None:
        return DEFAULT_PROGRAM
    return _parsed(chosen["text"])


_PARSED: dict[str, object] = {}  # program text → Program: each version parsed once


def _parsed(text: str):
    if text not in _PARSED:
        try:
            _PARSED[text] = parse_program(text, "saved program")
        except ProgramError:
            _PARSED[text] = DEFAULT_PROGRAM
        if len(_PARSED) > 256:
            _PARSED.pop(next(iter(_PARSED)))
    return _PARSED[text]


def _programs_by_day(versions: list[dict], first: date, days: int) -> list:
    """[(program, the number of the ``days`` from ``first`` on which it was in force)]: what
    ``_program_on`` says for each day, with each version's date read and its text parsed once
    (an all-time report spans years of days)."""
    counts: dict[str | None, int] = defaultdict(int)
    dated = [(_day(v["saved_at"]), v["text"]) for v in versions]
    for i in range(days):
        day = first + timedelta(days=i)
        chosen = None
        for saved, text in dated:
            if saved <= day:
                chosen = text
        counts[chosen] += 1
    return [(DEFAULT_PROGRAM if t is None else _parsed(t), n) for t, n in counts.items()]


def series_key(exercise: str, parameters: dict) -> str:
    """The trend a trial belongs to: its exercise, and for one-leg and heel-to-toe work the
    leg or front foot ("flamingo/left"), so that the good leg's day never hides the other's."""
    spec = EXERCISES.get(exercise)
    side = parameters.get(spec.leg_parameter) if spec and spec.leg_parameter else None
    return f"{exercise}/{side}" if side in ("left", "right") else exercise


def series_title(key: str, affected_side: str | None = None) -> str:
    """A trend's title in words: "Standing on one leg, left (affected)"."""
    exercise, _, side = key.partition("/")
    title = title_of(exercise)
    if not side:
        return title
    what = "in front" if EXERCISES[exercise].leg_parameter == "front" else "leg"
    affected = " (affected)" if side == affected_side else ""
    return f"{title}, {side} {what}{affected}"


def best_score_by_day(trials) -> dict[str, dict[date, float]]:
    """{series: {day: the day's best score}} of the complete, scored trials (the trend a
    patient sees on the progress screen and the therapist in the report); a series is an
    exercise, split by leg where it has one (``series_key``)."""
    best: dict[str, dict[date, float]] = defaultdict(dict)
    for t in trials:
        if t.status != "complete" or t.score is None:
            continue
        days = best[series_key(t.exercise, t.parameters)]
        day = _day(t.started_at)
        days[day] = max(days.get(day, t.score), t.score)
    return dict(best)


def _mdc(values: list[float]) -> float | None:
    if len(values) < MDC_MIN_VALUES:
        return None
    return 1.96 * math.sqrt(2) * float(np.std(values, ddof=1))


def gather(
    store,
    code: str,
    date_from: date,
    date_to: date,
    *,
    calibrated_at: str | None = None,
    device: str = "balance board",
    with_recordings: bool = True,
) -> ReportData:
    """Everything the report shows, for ``code`` between the two dates (inclusive)."""
    patient = store.patient(code)
    if date_to < date_from:
        raise ValueError("the report's end date is before its start date")
    age = date_to.year - patient.birth_year if patient.birth_year else None
    # the period's records only, by date range in SQL: a 12-week report costs the same after
    # five years as after one. Every trial is listed (the table); those that count judge her
    unreadable: list[UnreadableRow] = []  # a damaged row is left out and named, not fatal
    every_trial = store.trials(
        code,
        status=None,
        first_day=date_from,
        last_day=date_to,
        every_board=True,
        unreadable=unreadable,
    )
    every_session = store.sessions(
        code, first_day=date_from, last_day=date_to, every_board=True, unreadable=unreadable
    )
    real = store.measured_on_real_board(code)
    trials = [t for t in every_trial if counts_in_trends(t.board, real)]
    sessions = [s for s in every_session if counts_in_trends(s["board"], real)]
    left_out = [s for s in every_session if not counts_in_trends(s["board"], real)]
    simulated = bool(sessions) and all(s["board"] == "sim" for s in sessions)
    versions = store.programs(code)
    days = (date_to - date_from).days + 1
    # adherence: the program in force each day is what was prescribed that day (daily training),
    # from the day she began (a patient who started yesterday did not miss the weeks before)
    began = _began(store, code, patient)
    adherence_from = max(date_from, began) if began is not None else date_from
    adherence_days = max(0, (date_to - adherence_from).days + 1)
    prescribed: dict[str, int] = defaultdict(int)
    for program, count in _programs_by_day(versions, adherence_from, adherence_days):
        for item in program.exercises:
            prescribed[item.exercise] += item.repetitions * count
    done: dict[str, int] = defaultdict(int)
    for t in trials:
        if t.status == "complete":
            done[t.exercise] += 1
    per_exercise = {ex: (done.get(ex, 0), prescribed.get(ex, 0)) for ex in {*prescribed, *done}}
    # trends: the day's best score; and the metrics that matter clinically
    tracked: dict[str, list[tuple[date, float]]] = defaultdict(list)
    lower_bounds: dict[str, list[date]] = defaultdict(list)
    weight: list[tuple[date, float]] = []
    single_leg: dict[str, list[tuple[date, float, bool]]] = defaultdict(list)
    support: dict[str, list[tuple[date, float]]] = defaultdict(list)
    timed: dict[str, list[tuple[date, float, bool]]] = defaultdict(list)
    flagged_trials: dict[str, int] = defaultdict(int)
    eyes_closed = 0
    arms_allowed = affected_heavy = 0
    velocity: list[tuple[date, float]] = []
    warnings: list[str] = []
    faulty = aborted = unscorable = 0
    for t in trials:
        day = _day(t.started_at)
        if t.status == "aborted":
            aborted += 1
        if t.status != "complete" or not t.result:
            continue
        result, metrics = t.result, t.result.get("metrics", {})
        quality = result.get("quality", {})
        if quality.get("sensor_faults"):
            faulty += 1
        if t.score is None:
            unscorable += 1
            continue
        spec = EXERCISES.get(t.exercise)
        metric = spec.headline.metric if spec and spec.headline else None
        leg = t.parameters.get("leg")
        other_leg = t.exercise == "flamingo" and leg != (patient.affected_side or leg)
        capped = set(result.get("lower_bounds") or [])
        if metric and metrics.get(metric) is not None and not other_leg:
            # standing on one leg: the trend that matters is the affected leg's; a value cut at
            # its target is a lower bound, counted apart (comparing it would hide the change)
            if metric in capped:
                lower_bounds[t.exercise].append(day)
            else:
                tracked[t.exercise].append((day, float(metrics[metric])))
        if t.exercise == "quiet-stance" and t.parameters.get("eyes", "open") == "open":
            if metrics.get("weight_affected_pct") is not None:
                weight.append((day, float(metrics["weight_affected_pct"])))
                affected_heavy += metrics["weight_affected_pct"] > AFFECTED_HEAVY_PCT
            if metrics.get("mean_velocity_mm_s") is not None:
                velocity.append((day, float(metrics["mean_velocity_mm_s"])))
        for flag in result.get("flags") or []:
            flagged_trials[flag] += 1
        if t.exercise == "quiet-stance" and t.parameters.get("eyes") == "closed":
            eyes_closed += 1
        if t.exercise == "flamingo" and metrics.get("first_hold_s") is not None:
            leg = t.parameters.get("leg", "left")
            single_leg[leg].append((day, float(metrics["first_hold_s"]), "first_hold_s" in capped))
            if metrics.get("support_pct_bw_mean") is not None:
                support[leg].append((day, float(metrics["support_pct_bw_mean"])))
        if t.exercise == "sit-to-stand" and metrics.get("five_times_s") is not None:
            # arms allowed: a modified test, marked apart from the 12 s cut-off (arms folded)
            modified = t.parameters.get("arms") == "allowed"
            arms_allowed += modified
            timed["sit-to-stand"].append((day, float(metrics["five_times_s"]), modified))
        if t.exercise == "tandem-stance" and metrics.get("hold_s") is not None:
            timed["tandem-stance"].append((day, float(metrics["hold_s"]), "hold_s" in capped))
    scores = {ex: sorted(d.items()) for ex, d in best_score_by_day(trials).items()}
    # changes: first two weeks against the last two, judged against the MDC of the first two
    changes = []
    for exercise, points in sorted(tracked.items()):
        headline = EXERCISES[exercise].headline
        label, lower = headline.label, headline.lower_is_better
        start = [v for d, v in points if (d - date_from).days < BASELINE_DAYS]
        end = [v for d, v in points if (date_to - d).days < BASELINE_DAYS]
        if start and end and days > 2 * BASELINE_DAYS - 1:
            changes.append(
                Change(
                    exercise,
                    label,
                    float(np.mean(start)),
                    float(np.mean(end)),
                    _mdc(start) if len(end) >= MDC_MIN_VALUES else None,
                    lower,
                    sum(1 for d in lower_bounds[exercise] if (date_to - d).days < BASELINE_DAYS),
                )
            )
    if faulty:
        warnings.append(f"{faulty} trial(s) had a sensor fault and were not scored.")
    # the board first under "Data quality": what every number below is worth
    if simulated:
        warnings.insert(
            0,
            f"Every session of this period was on the {SIMULATED_LABEL}: these are not "
            "measurements of a person.",
        )
    if left_out:
        dates = ", ".join(f"{d:%d %b}" for d in sorted({_day(s["started_at"]) for s in left_out}))
        warnings.insert(
            0,
            f"{len(left_out)} session(s) on the {SIMULATED_LABEL} ({dates}): listed in the table, "
            "marked, and left out of the trends, adherence and safety counts.",
        )
    safety = []
    # the device's events of the period, less those of the sessions left out (a simulated
    # patient stepping off is no safety stop of hers)
    ignored = {s["id"] for s in left_out}
    in_period = [
        e
        for e in store.events(first_day=date_from, last_day=date_to)
        if e["session_id"] not in ignored
    ]
    stops = sum(1 for e in in_period if e["kind"] == "safety_stop")
    if stops:
        safety.append(
            f"{stops} safety stop(s): she stepped off the board mid-exercise and was asked "
            "whether she was all right."
        )
    if aborted > stops:
        safety.append(f"{aborted - stops} trial(s) stopped before the end and not scored.")
    if flagged_trials["loss_of_balance"]:
        safety.append(
            f"{flagged_trials['loss_of_balance']} trial(s) with a loss of balance (a foot or a "
            "hand suddenly took load)."
        )
    if flagged_trials["stepped_off"] > stops:  # replays and imports have no safety stop
        safety.append(f"{flagged_trials['stepped_off']} trial(s) interrupted by stepping off.")
    helped = sum(1 for e in in_period if e["kind"] == "help_requested")
    if helped:
        safety.append(f"She asked for help {helped} time(s) after a safety stop.")
    skipped = sum(1 for e in in_period if e["kind"] == "skipped")
    if skipped:
        safety.append(f"{skipped} exercise(s) left out: nobody nearby or no chair.")
    for flag, words in (
        ("weight_on_unaffected_side", "with the weight kept off the affected leg"),
        ("support", "with support on the chair (≥ 3 % of body weight; eyes closed ≥ 1.5 %)"),
    ):
        if flagged_trials[flag]:
            warnings.append(f"{flagged_trials[flag]} trial(s) {words}.")
    if affected_heavy:
        warnings.append(
            f"{affected_heavy} standing trial(s) with more than {AFFECTED_HEAVY_PCT:.0f} % of the "
            "weight on the affected leg: pushing toward it, or pain in the other leg?"
        )
    if arms_allowed:
        warnings.append(
            f"{arms_allowed} sit to stand trial(s) with the arms allowed: a modified test, drawn "
            "hollow and not compared with the 12 s cut-off."
        )
    if eyes_closed:
        warnings.append(
            "Eyes closed: a light touch on the chair (under about 1 N) steadies sway about as "
            "much as opening the eyes, and a board cannot see it (Jeka & Lackner 1994)."
        )
    incomplete = sum(1 for t in trials if t.status == "incomplete")
    if incomplete:
        warnings.append(f"{incomplete} trial(s) were interrupted (power or app stopped).")
    flagged = defaultdict(int)
    for t in trials:
        for warning in ((t.result or {}).get("quality", {}) or {}).get("warnings") or []:
            if warning in (AFFECTED_HEAVY_WARNING, ARMS_ALLOWED_WARNING):
                continue  # counted above in words of their own
            flagged[warning] += 1
    for warning, count in sorted(flagged.items(), key=lambda kv: -kv[1])[:5]:
        warnings.append(f"{warning} ({count}×)")
    if calibrated_at:
        age_days = (date_to - _day(calibrated_at)).days
        if age_days > 90:
            warnings.append(f"The board was last calibrated {age_days} days before the report.")
    elif calibrated_at is None:
        warnings.append("No calibration date known for this board.")
    latest = []
    if with_recordings:
        latest = _latest_standing(store, trials, warnings)
    if unreadable:
        # first under "Data quality": the therapist must know what this report does not show
        named = ", ".join(str(row) for row in unreadable[:UNREADABLE_NAMED])
        more = len(unreadable) - UNREADABLE_NAMED
        warnings.insert(
            0,
            f"Left out of this report, their records damaged and unreadable: {named}"
            + (f" and {more} more" if more > 0 else "")
            + ". The records file needs the technician.",
        )
    session_days = len({_day(s["started_at"]) for s in sessions})
    return ReportData(
        patient=patient,
        date_from=date_from,
        date_to=date_to,
        age=age,
        days=days,
        session_days=session_days,
        sessions=len(sessions),
        prescribed_trials=sum(p for _, p in per_exercise.values()),
        done_trials=sum(d for d, _ in per_exercise.values()),
        per_exercise=per_exercise,
        scores=scores,
        weight_affected=weight,
        single_leg=dict(single_leg),
        velocity=velocity,
        changes=changes,
        warnings=warnings,
        trials=every_trial,
        latest_standing=latest,
        calibrated_at=calibrated_at,
        device=device,
        support=dict(support),
        timed=dict(timed),
        safety=safety,
        simulated=simulated,
        simulated_left_out=len(left_out),
        adherence_from=adherence_from,
        adherence_days=adherence_days,
        unreadable=unreadable,
    )


def _began(store, code: str, patient) -> date | None:
    """The day the patient began: her earliest session; before her first, the day she was
    added (None when neither is known)."""
    first = store.first_session_day(code)
    if first is not None:
        return first
    created = getattr(patient, "created_at", None)
    return _day(created) if created else None


def _latest_standing(store, trials, warnings: list[str], count: int = 2) -> list:
    """The latest complete standing trials with a recording: (trial, x mm, y mm, area mm²). A
    recording that cannot be read (damaged) is passed over, and said in ``warnings``."""
    out = []
    for t in reversed(trials):
        if t.exercise != "quiet-stance" or t.status != "complete":
            continue
        if not getattr(t, "has_recording", True):
            continue  # known to have none: not looked for
        try:
            recording = store.recording(t.id)
        except StoreError as exc:
            if exc.kind != "damaged":
                raise
            warnings.append(
                f"The recording of trial {t.id} is damaged and cannot be read: its stabilogram "
                "is not drawn."
            )
            continue
        if recording is None:
            continue
        points = [(s.x_mm, s.y_mm) for s in cop_samples(recording) if s.x_mm is not None]
        if len(points) < 10:
            continue
        x, y = np.array(points).T
        out.append((t, x, y, ellipse_area_95(x, y)))
        if len(out) == count:
            break
    return out


# --- drawing ------------------------------------------------------------------------------------
def _ellipse_xy(x: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Outline of the 95 % prediction ellipse (same F-based size as ``ellipse_area_95``)."""
    values, vectors = np.linalg.eigh(np.cov(x, y, ddof=1))
    factor = ellipse_factor_95(n)
    angles = np.linspace(0, 2 * np.pi, 100)
    circle = np.stack([np.cos(angles), np.sin(angles)])
    outline = vectors @ (np.sqrt(np.maximum(values, 0) * factor)[:, None] * circle)
    return outline[0] + x.mean(), outline[1] + y.mean()


def write_report(data: ReportData, path: Path) -> int:
    """Draw the report into ``path`` (PDF, written whole or not at all); returns the pages."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_pdf import PdfPages

    path = Path(path)
    partial = path.with_name(f".{path.name}.part")
    pages = 0
    try:
        with PdfPages(partial, metadata={"Title": f"Balance report {data.patient.code}"}) as pdf:
            pages += _summary_page(pdf, data)
            pages += _standing_page(pdf, data)
            pages += _table_pages(pdf, data)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return pages


A4 = (8.27, 11.69)
SERIES = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
MARKERS = ("o", "s", "^", "D", "v", "P")


def _legend(ax, **kwargs) -> None:
    """A legend when the plot has labelled lines (an empty period has none)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def _date_axis(ax, data: ReportData) -> None:
    import matplotlib.dates as mdates

    ax.set_xlim(data.date_from - timedelta(days=1), data.date_to + timedelta(days=1))
    # a period of years is labelled by month and year; minticks and maxticks chosen so that
    # every length from a day to ten years finds a tick interval (else matplotlib warns)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b" if data.days <= 366 else "%b %Y"))
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=8))
    ax.grid(True, alpha=0.3)


def _summary_page(pdf, data: ReportData) -> int:
    import matplotlib.pyplot as plt

    p = data.patient
    fig = plt.figure(figsize=A4)
    side = p.affected_side or "not set"
    age = f"{data.age} y" if data.age is not None else "age not set"
    title = f"Balance report — patient {p.code}"
    if data.simulated:
        title += f" ({SIMULATED_LABEL})"
    fig.text(0.06, 0.965, title, fontsize=16, weight="bold")
    fig.text(
        0.06,
        0.945,
        f"{data.date_from:%d %b %Y} to {data.date_to:%d %b %Y} ({data.days} days) · affected "
        f"side: {side} · {age} · {data.device}"
        + (f", {SIMULATED_LABEL}" if data.simulated else "")
        + f" · calibrated: {data.calibrated_at[:10] if data.calibrated_at else 'unknown'}",
        fontsize=8.5,
    )
    counted = data.days if data.adherence_days is None else data.adherence_days
    since = ""
    if data.adherence_from is not None and data.adherence_from > data.date_from:
        since = f" since she began on {data.adherence_from:%d %b %Y}"
    adherence = (
        f"Adherence: trained on {data.session_days} of {counted} days{since}"
        + (f" ({100 * data.session_days / counted:.0f} %)" if counted else "")
        + f"; {data.done_trials} of {data.prescribed_trials} prescribed exercises done"
        + (
            f" ({100 * data.done_trials / data.prescribed_trials:.0f} %)"
            if data.prescribed_trials
            else ""
        )
        + "."
    )
    if not counted:  # she began after the period: it prescribed her nothing
        adherence = f"Adherence: none to count, she began on {data.adherence_from:%d %b %Y}."
    fig.text(0.06, 0.92, adherence, fontsize=10)
    per = "  ".join(
        f"{title_of(ex)} {done}/{presc}" for ex, (done, presc) in sorted(data.per_exercise.items())
    )
    fig.text(0.06, 0.903, per, fontsize=8)
    y = 0.882
    fig.text(0.06, y, "Changes, first two weeks → last two weeks:", fontsize=10, weight="bold")

    def bullet(y: float, marker: str, text: str, **style) -> float:
        """One item, wrapped to the page's width (a long line is never cut off at the edge);
        returns the height it reached."""
        for i, part in enumerate(textwrap.wrap(text, BULLET_CHARS) or [""]):
            y -= 0.016 if i == 0 else 0.013
            fig.text(0.07, y, (marker if i == 0 else "   ") + part, fontsize=8.5, **style)
        return y

    for change in data.changes or []:
        colour = "black"
        if change.beyond_mdc:
            colour = "darkgreen" if change.better else "darkred"
        marker = ("▲ " if change.better else "▼ ") if change.beyond_mdc else "· "
        weight = "bold" if change.beyond_mdc else "normal"
        y = bullet(y, marker, change.sentence(), color=colour, weight=weight)
    if not data.changes:
        y = bullet(y, "· ", "Not enough weeks of data yet.")
    y -= 0.022
    fig.text(0.06, y, "Safety:", fontsize=10, weight="bold")
    for line in data.safety or ["No safety stops, losses of balance or calls for help."]:
        y = bullet(y, "· ", line, color="darkred" if data.safety else "black")
    y -= 0.022
    fig.text(0.06, y, "Data quality:", fontsize=10, weight="bold")
    for warning in data.warnings or ["No problems found."]:
        y = bullet(y, "· ", warning, color="darkred" if data.warnings else "black")
    top = y - 0.03
    height = (top - 0.04) / 3 - 0.05
    rows = [top - height, top - 2 * height - 0.05, top - 3 * height - 0.1]
    axes = [fig.add_axes([x, row, 0.38, height]) for row in rows for x in (0.09, 0.58)]
    # 1. scores
    ax = axes[0]
    for i, (exercise, points) in enumerate(sorted(data.scores.items())):
        days, values = zip(*points, strict=True)
        ax.plot(
            days,
            values,
            marker=MARKERS[i % 6],
            ms=3,
            lw=1,
            color=SERIES[i % 6],
            label=series_title(exercise, data.patient.affected_side),
        )
    ax.set_ylim(0, 105)
    ax.set_ylabel("score (points, 0–100)")
    ax.set_title("Scores (day's best)", fontsize=10)
    _date_axis(ax, data)
    if data.scores:
        _legend(ax, fontsize=6.5, loc="lower right")
    # 2. weight on the affected leg
    ax = axes[1]
    ax.axhspan(43, 57, color="tab:green", alpha=0.12, label="healthy (within 7 % of equal)")
    ax.axhline(50, color="grey", lw=0.8, ls="--", label="equal")
    if data.weight_affected:
        days, values = zip(*data.weight_affected, strict=True)
        ax.plot(days, values, "o-", ms=3, lw=1, color="tab:blue", label="affected leg")
    ax.set_ylim(20, 80)
    ax.set_ylabel("weight on affected leg (% body weight)")
    ax.set_title("Weight bearing, standing still", fontsize=10)
    _date_axis(ax, data)
    _legend(ax, fontsize=6.5, loc="lower right")
    # 3. one-leg time left against right; a hold the trial cut short is a lower bound ("≥"),
    # never compared with the norm as if it were a measurement
    ax = axes[2]
    norm = single_leg_norm_s(data.age)
    if norm:
        ax.axhline(norm, color="tab:green", lw=1, ls="--", label=f"mean at {data.age} y")
    for leg, colour, marker in (("left", "tab:purple", "s"), ("right", "tab:orange", "^")):
        points = data.single_leg.get(leg, [])
        affected = " (affected)" if leg == data.patient.affected_side else ""
        measured = [(d, v) for d, v, capped in points if not capped]
        bounds = [(d, v) for d, v, capped in points if capped]
        if measured:
            days, values = zip(*measured, strict=True)
            ax.plot(
                days,
                values,
                marker=marker,
                ms=3,
                lw=1,
                color=colour,
                label=f"standing on {leg}{affected}",
            )
        if bounds:
            days, values = zip(*bounds, strict=True)
            ax.scatter(
                days, values, marker=6, s=30, color=colour, label=f"≥ (stopped at the time), {leg}"
            )
    ax.set_ylabel("first hold (s)")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{title_of('flamingo')}: left against right", fontsize=10)
    _date_axis(ax, data)
    _legend(ax, fontsize=6.5, loc="upper left")
    # 4. sway against age norms
    ax = axes[3]
    low, mid, high = velocity_norm_mm_s(data.age)
    group = "60 y and over" if data.age is not None and data.age >= 60 else "young adults"
    ax.axhspan(low, high, color="tab:green", alpha=0.12, label=f"5th–95th percentile, {group}")
    ax.axhline(mid, color="tab:green", lw=0.8, ls="--", label="median")
    if data.velocity:
        days, values = zip(*data.velocity, strict=True)
        ax.plot(days, values, "o-", ms=3, lw=1, color="tab:blue", label="patient, eyes open")
    ax.set_ylabel("CoP mean velocity (mm/s)")
    ax.set_ylim(bottom=0)
    ax.set_title("Sway standing still against norms", fontsize=10)
    _date_axis(ax, data)
    _legend(ax, fontsize=6.5, loc="upper right")
    # 5. support on the chair while on one leg: the support fading is progress
    ax = axes[4]
    for leg, colour, marker in (("left", "tab:purple", "s"), ("right", "tab:orange", "^")):
        points = data.support.get(leg, [])
        if points:
            days, values = zip(*points, strict=True)
            affected = " (affected)" if leg == data.patient.affected_side else ""
            ax.plot(days, values, marker=marker, ms=3, lw=1, color=colour, label=f"{leg}{affected}")
    ax.set_ylabel("support (% body weight)")
    ax.set_ylim(bottom=0)
    ax.set_title("Support on the chair, standing on one leg", fontsize=10)
    _date_axis(ax, data)
    if data.support:
        _legend(ax, fontsize=6.5, loc="upper right")
    # 6. five times sit to stand and tandem stance: the timed tests
    ax = axes[5]
    timed = (
        ("sit-to-stand", "tab:blue", "o", "5× sit to stand (s)"),
        ("tandem-stance", "tab:red", "D", "tandem stance (s)"),
    )
    marked_words = {
        "sit-to-stand": "5× STS, arms allowed (modified)",
        "tandem-stance": "tandem, reached its target (≥)",
    }
    for name, colour, marker, label in timed:
        points = data.timed.get(name, [])
        if points:
            days, values = zip(*[(d, v) for d, v, _ in points], strict=True)
            ax.plot(days, values, marker=marker, ms=3, lw=1, color=colour, label=label)
            marked = [(d, v) for d, v, m in points if m]
            if marked:  # hollow: a lower bound (tandem) or not the standard test (arms)
                mdays, mvalues = zip(*marked, strict=True)
                ax.plot(
                    mdays,
                    mvalues,
                    ls="none",
                    marker=marker,
                    ms=7,
                    mfc="white",
                    mec=colour,
                    label=marked_words[name],
                )
    ax.axhline(12, color="tab:blue", lw=0.8, ls=":", label="5×STS 12 s (after stroke)")
    ax.axhline(10, color="tab:red", lw=0.8, ls=":", label="tandem 10 s (SPPB)")
    ax.set_ylabel("seconds")
    ax.set_ylim(bottom=0)
    ax.set_title("Timed tests", fontsize=10)
    _date_axis(ax, data)
    _legend(ax, fontsize=6.5, loc="upper right")
    for ax in axes:
        ax.tick_params(labelsize=7)
        ax.set_xlabel("date", fontsize=8)
    pdf.savefig(fig)
    plt.close(fig)
    return 1


def _standing_page(pdf, data: ReportData) -> int:
    import matplotlib.pyplot as plt

    if not data.latest_standing:
        return 0
    fig, axes = plt.subplots(2, 2, figsize=A4, gridspec_kw={"width_ratios": [1, 1.3]})
    fig.suptitle("Latest standing trials: stabilogram and 95 % ellipse", fontsize=13)
    for row, (trial, x, y, area) in enumerate(data.latest_standing[:2]):
        ax = axes[row][0]
        ex, ey = _ellipse_xy(x, y, len(x))
        ax.plot(x, y, lw=0.5, color="tab:blue", label="CoP path")
        ax.plot(ex, ey, color="tab:red", lw=1.2, label=f"95 % ellipse, {area:.0f} mm²")
        ax.set_aspect("equal", adjustable="datalim")
        ax.set_xlabel("medio-lateral (mm, + right)")
        ax.set_ylabel("antero-posterior (mm, + toes)")
        ax.set_title(f"{trial.started_at[:16].replace('T', ' ')}", fontsize=9)
        _legend(ax, fontsize=7, loc="upper right")
        ax.grid(True, alpha=0.3)
        ax2 = axes[row][1]
        t = np.arange(len(x)) / 80.0
        ax2.plot(t, x - x.mean(), lw=0.7, color="tab:purple", label="medio-lateral")
        ax2.plot(t, y - y.mean(), lw=0.7, color="tab:orange", label="antero-posterior")
        ax2.set_xlabel("time (s, samples at 80 Hz)")
        ax2.set_ylabel("CoP about its mean (mm)")
        _legend(ax2, fontsize=7, loc="upper right")
        ax2.grid(True, alpha=0.3)
    if len(data.latest_standing) < 2:
        axes[1][0].set_visible(False)
        axes[1][1].set_visible(False)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    pdf.savefig(fig)
    plt.close(fig)
    return 1


TABLE_ROWS = 76
COLUMNS = (
    ("date, time", 16),
    ("exercise", 19),
    ("parameters", 26),
    ("status", 10),
    ("score", 5),
    ("key metric", 14),
    ("quality", 38),
)


def _cell(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def headline_text(trial) -> str:
    """A trial's headline number with its unit, "≥" when the trial's end cut it short
    ("≥8.0 s": a lower bound, not a measurement)."""
    result = trial.result or {}
    metrics = result.get("metrics", {})
    spec = EXERCISES.get(trial.exercise)
    headline = spec.headline if spec else None
    if not headline or metrics.get(headline.metric) is None:
        return ""
    unit = headline.label.split("(")[-1].rstrip(")")
    capped = "≥" if headline.metric in (result.get("lower_bounds") or []) else ""
    if unit == "count":  # "≥5", not "≥5.0 count"
        return f"{capped}{metrics[headline.metric]:.0f}"
    return f"{capped}{metrics[headline.metric]:.1f} {unit}"


# The table's text in the PDF's built-in Courier (no font embedded, no glyph laid out by
# FreeType): a five-year report's 6000 lines took 30 s in an embedded font and take about one
# here. The built-in fonts have the Windows-1252 characters; the few others are spelt out.
_CORE_SPELLING = str.maketrans({"≥": ">=", "≤": "<=", "─": "-", "→": "->", "·": "."})


def _core_text(text: str) -> str:
    """``text`` in the characters the PDF's built-in fonts have (Windows-1252)."""
    return text.translate(_CORE_SPELLING).encode("cp1252", "replace").decode("cp1252")


def table_lines(trials) -> list[str]:
    """One line per trial, in the table's columns (the header is ``COLUMNS``), in the built-in
    fonts' characters (``_core_text``, before the columns are padded: "≥" becomes ">=")."""
    lines = []
    for t in trials:
        key = headline_text(t)
        quality = (t.result or {}).get("quality", {}) or {}
        problems = (quality.get("sensor_faults") or []) + (quality.get("warnings") or [])
        quality_text = "; ".join(problems) or "ok"
        if t.note:
            quality_text = f"{quality_text} ({t.note})"
        if getattr(t, "simulated", False):  # first, so that a cut cell still shows it
            quality_text = f"{SIMULATED_LABEL}; {quality_text}"
        cells = (
            t.started_at[:16].replace("T", " "),
            title_of(t.exercise),
            ", ".join(f"{k}={v}" for k, v in sorted(t.parameters.items())),
            t.status,
            "" if t.score is None else f"{t.score:.0f}",
            key,
            quality_text,
        )
        cells = tuple(_core_text(c) for c in cells)
        lines.append(
            "  ".join(_cell(c, w).ljust(w) for c, (_, w) in zip(cells, COLUMNS, strict=True))
        )
    return lines


def _table_pages(pdf, data: ReportData) -> int:
    """Every trial of the period, one line each, in a monospaced table: one text block a page
    (a matplotlib table of hundreds of cells takes seconds a page) on one figure reused, in the
    PDF's built-in Courier (``_core_text``)."""
    import matplotlib
    import matplotlib.pyplot as plt

    header = "  ".join(name.ljust(width) for name, width in COLUMNS)
    lines = table_lines(data.trials)
    pages = 0
    fig = plt.figure(figsize=A4)
    title = fig.text(0.04, 0.965, "", fontsize=12, weight="bold", family="Helvetica")
    block = fig.text(
        0.04, 0.95, "", fontsize=6.4, family="Courier", weight="medium", va="top", linespacing=1.45
    )
    try:
        with matplotlib.rc_context({"pdf.use14corefonts": True}):
            for start in range(0, len(lines), TABLE_ROWS):
                last = min(start + TABLE_ROWS, len(lines))
                title.set_text(f"Every trial ({start + 1}–{last} of {len(lines)})")
                block.set_text("\n".join([header, "-" * len(header), *lines[start:last]]))
                pdf.savefig(fig)
                pages += 1
    finally:
        plt.close(fig)
    return pages
