"""Metrics and replay against the published references of the public data sets."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from balance_board.cli import main
from device.recording import read_recording, write_recording
from exercises import metrics as m
from exercises.conditioning import is_uniform, lowpass, resample_uniform
from exercises.public_data import bds_recording, bds_references, bds_trial, pds_recording
from exercises.replay import replay
from tests.conftest import REPO

SAMPLE = REPO / "tests" / "data"


def bds_trials(shared_data):
    refs = bds_references(shared_data / "bds" / "reference.tsv")
    assert len(refs) == 48
    return [(shared_data / "bds" / f"{name}.txt", ref) for name, ref in sorted(refs.items())]


def check_metrics(path, ref, tol=1e-6):
    trial = bds_trial(path)
    x, y = trial["ml_mm"], trial["ap_mm"]
    got = {
        "ellipse_area_95_mm2": m.ellipse_area_95(x, y),
        "mean_velocity_mm_s": m.mean_velocity(x, y, 100.0),
        "mean_power_frequency_hz": m.mean_power_frequency(x, y, 100.0),
    }
    for name, value in got.items():
        assert value == pytest.approx(ref[name], rel=tol), (path.name, name)


def test_metrics_reproduce_the_bds_sample_always():
    refs = bds_references(SAMPLE / "bds_reference_sample.tsv")
    check_metrics(SAMPLE / "BDS00001.txt.gz", refs["BDS00001"])


def test_metrics_reproduce_all_48_bds_references(shared_data):
    for path, ref in bds_trials(shared_data):
        check_metrics(path, ref)


def test_replay_of_bds_recordings_matches_the_references(shared_data, tmp_path):
    worst_raw = {
        "ellipse_area_95_mm2": 0.0,
        "mean_velocity_mm_s": 0.0,
        "mean_power_frequency_hz": 0.0,
    }
    worst_filtered = dict(worst_raw)
    for path, ref in bds_trials(shared_data):
        file = tmp_path / f"{path.stem}.csv"
        write_recording(file, bds_recording(path))  # through the file format, like a tool would

        recording = read_recording(file)
        raw = replay(recording, "quiet-stance", lowpass_hz=0).metrics
        filtered = replay(recording, "quiet-stance").metrics
        for name in worst_raw:
            worst_raw[name] = max(worst_raw[name], abs(raw[name] / ref[name] - 1))
            worst_filtered[name] = max(worst_filtered[name], abs(filtered[name] / ref[name] - 1))
    assert max(worst_raw.values()) <= 0.001, worst_raw
    assert worst_filtered["ellipse_area_95_mm2"] <= 0.01, worst_filtered
    # these data were filtered at 10 Hz already: a second pass lowers velocity by up to ~4 %
    assert worst_filtered["mean_velocity_mm_s"] <= 0.05, worst_filtered


def test_replay_command_prints_the_json_contract(tmp_path, capsys):
    file = tmp_path / "bds1.csv"
    write_recording(file, bds_recording(SAMPLE / "BDS00001.txt.gz"))
    assert (
        main(["replay", str(file), "--exercise", "quiet-stance", "--lowpass-hz", "0", "--json"])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"exercise", "score", "metrics", "events", "quality"}
    assert data["exercise"] == "quiet-stance" and 0 <= data["score"] <= 100
    for name in (
        "duration_s",
        "path_length_mm",
        "mean_velocity_mm_s",
        "ellipse_area_95_mm2",
        "mean_distance_mm",
        "rms_ml_mm",
        "rms_ap_mm",
        "range_ml_mm",
        "range_ap_mm",
        "mean_power_frequency_hz",
        "weight_left_pct",
        "weight_right_pct",
    ):
        assert isinstance(data["metrics"][name], float), name
    ref = bds_references(SAMPLE / "bds_reference_sample.tsv")["BDS00001"]
    assert data["metrics"]["mean_velocity_mm_s"] == pytest.approx(
        ref["mean_velocity_mm_s"], rel=1e-3
    )
    assert "stance width not in the recording" in " ".join(data["quality"]["warnings"])


def test_replay_command_errors(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("not a recording\n")
    assert main(["replay", str(bad), "--exercise", "flamingo", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "bad.csv" in err
    good = tmp_path / "good.csv"
    write_recording(good, bds_recording(SAMPLE / "BDS00001.txt.gz"))
    assert (
        main(["replay", str(good), "--exercise", "quiet-stance", "--lowpass-hz", "80", "--json"])
        == 2
    )
    assert "Nyquist" in capsys.readouterr().err
    assert main(["replay", str(good), "--exercise", "quiet-stance", "--lowpass-hz", "-1"]) == 2
    with pytest.raises(SystemExit):
        main(["replay", str(good), "--exercise", "cartwheels"])


def test_pds_weight_bearing_from_one_board_sample():
    recording, truth = pds_recording(SAMPLE / "PDS13OR1grf.txt.gz")
    got = replay(recording, "quiet-stance").metrics["weight_right_pct"]
    assert got == pytest.approx(truth, abs=1.5)


def test_pds_weight_bearing_all_trials(shared_data):
    errors = []
    for path in sorted((shared_data / "pds").glob("PDS*grf.txt")):
        recording, truth = pds_recording(path)
        errors.append(replay(recording, "quiet-stance").metrics["weight_right_pct"] - truth)
    assert len(errors) == 4
    assert abs(np.mean(errors)) <= 1.5 and max(map(abs, errors)) <= 1.5


# --- the formulas on signals with known answers -----------------------------------------------
def test_metrics_on_a_circle():
    fs, n = 100.0, 10_000
    phase = np.linspace(0, 20 * math.pi, n, endpoint=False)  # 10 turns in 100 s
    x, y = 10 * np.cos(phase), 10 * np.sin(phase)
    assert m.path_length(x, y) == pytest.approx(10 * 2 * math.pi * 10, rel=1e-3)
    assert m.mean_distance(x, y) == pytest.approx(10, rel=1e-6)
    assert m.rms(x) == pytest.approx(10 / math.sqrt(2), rel=1e-3)
    assert m.range_(y) == pytest.approx(20, rel=1e-3)
    assert m.prieto_mean_frequency(x, y, fs) == pytest.approx(0.1, rel=1e-3)
    # a circle's points: covariance r²/2 on each axis; large N → π · 5.991 · r²/2
    assert m.ellipse_area_95(x, y) == pytest.approx(math.pi * 5.9915 * 50, rel=2e-3)
    assert m.mean_power_frequency(x, y, fs) == pytest.approx(0.1, abs=0.01)


def test_weight_bearing_romberg_asymmetry():
    assert m.weight_right_pct(np.array([0.0, 100.0, -100.0]), 200).tolist() == [50, 100, 0]
    assert m.romberg_quotient(12.0, 10.0) == pytest.approx(1.2)
    assert m.asymmetry_pct(60, 40) == pytest.approx(20)
    with pytest.raises(ValueError):
        m.romberg_quotient(1.0, 0.0)
    with pytest.raises(ValueError):
        m.weight_right_pct([0.0], 0)
    with pytest.raises(ValueError):
        m.path_length([1.0, 2.0], [1.0])


def test_lowpass_is_zero_phase_and_can_be_turned_off():
    fs = 80.0
    t = np.arange(0, 20, 1 / fs)
    slow = np.sin(2 * math.pi * 0.5 * t)
    noisy = slow + np.random.default_rng(0).normal(0, 0.2, len(t))
    out = lowpass(noisy, fs, 10.0)
    assert np.corrcoef(out, slow)[0, 1] > 0.97
    lag = np.argmax(np.correlate(out, slow, "full")) - (len(t) - 1)
    assert lag == 0
    assert lowpass(noisy, fs, 0) is not None and np.array_equal(lowpass(noisy, fs, 0), noisy)
    with pytest.raises(ValueError, match="Nyquist"):
        lowpass(noisy, fs, 45.0)


def test_swarii_resampling_keeps_velocity_where_hold_interpolation_does_not():
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.008, 0.025, 4000))  # irregular, about 60/s like the Wii board
    signal = np.sin(2 * math.pi * 0.3 * t) * 10
    grid, out = resample_uniform(t, signal, 50.0)
    assert is_uniform(grid) and not is_uniform(t)
    truth = np.sin(2 * math.pi * 0.3 * grid) * 10
    assert np.max(np.abs(out - truth)[5:-5]) < 0.3
    true_velocity = np.sum(np.abs(np.diff(truth)))
    assert np.sum(np.abs(np.diff(out))) == pytest.approx(true_velocity, rel=0.02)
    with pytest.raises(ValueError):
        resample_uniform(t[::-1], signal, 50.0)


def test_the_default_standing_mdc_is_what_the_bds_repeated_trials_show(shared_data):
    """The "better than last time" threshold for standing still, before a patient has trials
    of her own, is measured: the score's spread between the three repeated trials of each BDS
    person and condition, each cut to its first 10, 30 or 60 s."""
    import csv
    import dataclasses
    from collections import defaultdict

    from exercises.registry import QUIET_STANCE_MDC_POINTS, QUIET_STANCE_MDC_S

    folder = shared_data / "bds"
    with open(folder / "reference.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    groups = defaultdict(list)
    for row in rows:
        groups[(row["Subject"], row["Vision"], row["Surface"])].append(row["Trial"])
    recordings = {r["Trial"]: bds_recording(folder / f"{r['Trial']}.txt") for r in rows}
    for seconds, documented in zip(QUIET_STANCE_MDC_S, QUIET_STANCE_MDC_POINTS, strict=True):
        variances = []
        for trials in groups.values():
            scores = []
            for name in trials:
                rec = recordings[name]
                n = int(np.searchsorted(rec.t_s, rec.t_s[0] + seconds))
                cut = dataclasses.replace(rec, t_s=rec.t_s[:n], loads_kg=rec.loads_kg[:n])
                result = replay(cut, "quiet-stance", params={"duration_s": seconds})
                scores.append(result.score)
            variances.append(np.var(scores, ddof=1))
        mdc = 1.96 * math.sqrt(2) * math.sqrt(float(np.mean(variances)))
        assert mdc == pytest.approx(documented, abs=1.0), (seconds, mdc)
