"""Calibration: the guided known-weight procedure on the simulated board, the file, re-zero."""

from __future__ import annotations

import json

import numpy as np
import pytest

from device.calibration import (
    Calibration,
    CalibrationProcedure,
    load_calibration,
    rezero,
    save_calibration,
    solve_gains,
    zero_check,
)
from device.cop import centre_of_pressure, corner_loads
from device.geometry import BoardGeometry
from device.samples import Frame
from device.sim.board import SimulatedBoard, calibrate_simulated_board

GRID = [(x, y) for x in (-150.0, 0.0, 150.0) for y in (-100.0, 0.0, 100.0)]


def measure(board, cells, calibration, kg, x, y, seconds=1.0):
    """Mean CoP and total of a point load, read through the whole stack."""
    item = board.place(kg, x, y)
    for _ in range(20):  # let the readings catch up with the new load
        cells.read()
    rows = []
    t0 = board.clock.now()
    while board.clock.now() - t0 < seconds:
        rows.append(calibration.loads(cells.read()).loads_kg)
    board.remove(item)
    cx, cy, total = centre_of_pressure(np.mean(rows, axis=0), *board_size(board))
    return float(cx), float(cy), float(total)


def board_size(board):
    return board.geometry.width_mm, board.geometry.depth_mm


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_documented_calibration_gives_1mm_cop_and_half_percent_load_over_the_grid(seed):
    board = SimulatedBoard(seed=seed, gain_error=0.05, offset_counts_spread=300_000)
    true_gains = [c.counts_per_kg for c in board.cells]
    assert max(abs(g / np.mean(true_gains) - 1) for g in true_gains) > 0.01  # really off
    cells = board.open_cells()
    state = calibrate_simulated_board(board, cells, known_weight_kg=5.0)
    assert state.done and state.calibration is not None
    calibration = state.calibration
    errors, load_errors = [], []
    for i, (x, y) in enumerate(GRID):
        kg = 20.0 + 100.0 * i / (len(GRID) - 1)
        cx, cy, total = measure(board, cells, calibration, kg, x, y)
        errors.append(np.hypot(cx - x, cy - y))
        load_errors.append(abs(total - kg) / kg)
    rms = float(np.sqrt(np.mean(np.square(errors))))
    assert rms <= 1.0, errors
    assert max(load_errors) <= 0.005, load_errors
    cells.close()
    board.close()


def test_without_calibration_the_grid_is_far_off():
    """The test above can fail: raw nominal gains are not good enough."""
    board = SimulatedBoard(seed=1, gain_error=0.05)
    cells = board.open_cells()
    state = calibrate_simulated_board(board, cells)
    nominal = Calibration(
        state.calibration.offsets_counts,
        tuple(1 / c for c in [42_950.0] * 4),
        "2026-01-01T00:00:00+00:00",
        5.0,
    )
    errors = [np.hypot(measure(board, cells, nominal, 70, x, y)[0] - x, 0) for x, y in GRID]
    assert max(errors) > 2.0


def test_totals_alone_cannot_find_the_twist_and_the_positions_do():
    """A stiff board shares loads without twist: the shear mode needs the mark positions."""
    g = BoardGeometry()
    marks = np.array(g.weight_marks_mm)

    loads = corner_loads(np.full(4, 5.0), marks[:, 0], marks[:, 1], g.width_mm, g.depth_mm)
    assert np.linalg.matrix_rank(loads) == 3
    true_gain = np.array([1 / 40_000, 1 / 42_000, 1 / 44_000, 1 / 41_000])
    deltas = loads / true_gain
    gains, off = solve_gains(deltas, marks, g.cell_positions_mm, 5.0)
    assert np.allclose(gains, true_gain, rtol=1e-9)
    assert max(off) < 1e-6


def frames_for(procedure, raw, seconds, t0, rate=80):
    state = None
    for k in range(int(seconds * rate)):
        state = procedure.feed(Frame(t0 + k / rate, tuple(raw), (None,) * 4))
    return state, t0 + seconds


def test_procedure_steps_prompts_and_mistakes():
    proc = CalibrationProcedure(5.0, "2026-11-23T10:00:00+01:00")
    assert "Take everything off" in proc.state().prompt
    tare = np.array([1000.0, -2000.0, 3000.0, 500.0])
    state, t = frames_for(proc, tare, 2.5, 0.0)
    assert state.step == "place" and "front-left" in state.prompt
    # weight put on the wrong corner: told where it seems to be
    wrong = tare + np.array([0, 0, 150_000, 0])
    state, t = frames_for(proc, wrong, 2.5, t)
    assert state.step == "place" and state.corner == 0
    assert "back-left" in state.problem and "swapped" in state.problem
    # a cell wired backwards
    backwards = tare + np.array([-150_000, 10_000, 10_000, 0])
    state, t = frames_for(proc, backwards, 2.5, t)
    assert "backwards" in state.problem
    # a faulty corner stops the step, naming it
    state = proc.feed(Frame(t, (None, 1, 2, 3), ("not-responding", None, None, None)))
    assert "front-left" in state.problem


def test_procedure_restarts_when_the_board_does_not_return_to_zero():
    proc = CalibrationProcedure(5.0, "2026-11-23T10:00:00+01:00")
    tare = np.zeros(4)
    t = frames_for(proc, tare, 2.5, 0.0)[1]
    shares = [[0.64, 0.24, 0.26, -0.14], [0.24, 0.64, -0.14, 0.26]]
    shares += [[0.26, -0.14, 0.64, 0.24], [-0.14, 0.26, 0.24, 0.64]]
    for share in shares:
        state, t = frames_for(proc, tare + np.array(share) * 200_000, 2.5, t)
    assert state.step == "remove"
    state, t = frames_for(proc, tare + np.array([20_000, 0, 0, 0]), 2.5, t)  # 0.5 kg left behind
    assert state.step == "clear" and "did not return to zero" in state.problem


def test_procedure_refuses_a_silly_weight():
    with pytest.raises(ValueError, match="between"):
        CalibrationProcedure(0.0, "2026-11-23T10:00:00+01:00")
    with pytest.raises(ValueError):
        CalibrationProcedure(float("nan"), "2026-11-23T10:00:00+01:00")


def make_calibration():
    return Calibration(
        (1.0, 2.0, 3.0, 4.0), (1e-5, 2e-5, 3e-5, 4e-5), "2026-11-20T09:30:00+01:00", 5.0
    )


def test_calibration_file_round_trip_and_atomic_save(tmp_path):
    path = tmp_path / "sub" / "calibration.json"
    cal = make_calibration()
    save_calibration(path, cal)
    status = load_calibration(path)
    assert status.calibration == cal and not status.needs_calibration
    assert not list(path.parent.glob(".calibration.json.*"))  # no temp files left behind


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{not json",
        json.dumps({"format": "something-else"}),
        json.dumps({"format": "balance-board-calibration/1", "offsets_counts": [1, 2]}),
        b"\xff\xfe\x00garbage",
    ],
)
def test_corrupt_calibration_means_needs_calibration(tmp_path, content):
    path = tmp_path / "calibration.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    status = load_calibration(path)
    assert status.needs_calibration and "calibration" in status.problem


def test_missing_calibration_means_needs_calibration(tmp_path):
    status = load_calibration(tmp_path / "none.json")
    assert status.needs_calibration and "not been calibrated" in status.problem


def test_zero_check_warns_when_offsets_moved():
    cal = make_calibration()
    ok = zero_check(cal, [1.0 + 100, 2.0, 3.0, 4.0])  # 1 g
    assert not ok.moved and ok.message is None
    moved = zero_check(cal, [1.0, 2.0 + 100_000, 3.0, 4.0])  # 2 kg on front-right
    assert moved.moved and "front-right +2.0 kg" in moved.message
    rezeroed = cal.rezeroed([1.0, 2.0 + 100_000, 3.0, 4.0], "2026-11-23T10:00:00+01:00")
    assert not zero_check(rezeroed, [1.0, 2.0 + 100_000, 3.0, 4.0]).moved
    assert rezeroed.kg_per_count == cal.kg_per_count


def test_loads_keep_faulty_corners_out():
    cal = make_calibration()
    sample = cal.loads(Frame(1.0, (101, None, 3, 4), (None, "saturated", None, None)))
    assert sample.loads_kg[1] is None and sample.total_kg is None
    assert sample.loads_kg[0] == pytest.approx(100 * 1e-5)


def test_rezero_at_start_follows_small_drift_and_refuses_big_moves():

    cal = Calibration((0.0, 0.0, 0.0, 0.0), (2.5e-5,) * 4, "2026-11-20T09:30:00+01:00", 5.0)
    rng = np.random.default_rng(0)
    drifted = rng.normal(0, 40, (80, 4)) + [4000, 0, 0, 0]  # 0.1 kg of creep on front-left
    new, check = rezero(cal, drifted, "2026-11-23T08:00:00+01:00")
    assert new is not None and not check.moved
    assert new.offsets_counts[0] == pytest.approx(4000, abs=30)
    assert new.zeroed_at == "2026-11-23T08:00:00+01:00"
    assert new.calibrated_at == cal.calibrated_at
    moved = rng.normal(0, 40, (80, 4)) + [0, 0, 60_000, 0]  # 1.5 kg on back-left
    new, check = rezero(cal, moved, "2026-11-23T08:00:00+01:00")
    assert new is None and check.moved and "back-left +1.5 kg" in check.message
    someone = rng.normal(0, 40, (80, 4)) + 700_000  # 70 kg: a person, no re-zero, no warning
    assert rezero(cal, someone, "2026-11-23T08:00:00+01:00") == (None, None)
    moving = np.cumsum(rng.normal(0, 2000, (80, 4)), axis=0)
    assert rezero(cal, moving, "2026-11-23T08:00:00+01:00") == (None, None)
