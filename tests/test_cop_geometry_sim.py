"""CoP formulas, on-board detection, the geometry file, and the simulated person."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from device.cop import CentreOfPressureTracker, centre_of_pressure, corner_loads
from device.geometry import BoardGeometry, GeometryError, load_geometry
from device.samples import LoadSample
from device.sim.board import SimulatedBoard
from device.sim.person import SimulatedPerson
from tests.conftest import REPO


def test_cop_formula_and_its_inverse():
    w, d = 433.0, 238.0  # Wii Balance Board spacing
    x, y, total = centre_of_pressure(np.array([10.0, 20.0, 30.0, 40.0]), w, d)
    assert total == 100.0
    assert x == pytest.approx(w / 2 * ((20 + 40) - (10 + 30)) / 100)
    assert y == pytest.approx(d / 2 * ((10 + 20) - (30 + 40)) / 100)
    rng = np.random.default_rng(1)
    xs, ys = rng.uniform(-150, 150, 50), rng.uniform(-100, 100, 50)
    loads = corner_loads(np.full(50, 70.0), xs, ys, w, d)
    bx, by, bt = centre_of_pressure(loads, w, d)
    assert np.allclose(bx, xs) and np.allclose(by, ys) and np.allclose(bt, 70)


def test_cop_of_nothing_is_nan_not_an_error():
    x, y, total = centre_of_pressure(np.zeros((3, 4)), 440, 330)
    assert np.isnan(x).all() and np.isnan(y).all() and (total == 0).all()


def sample(t, loads, faults=(None,) * 4):
    return LoadSample(t, tuple(loads), tuple(faults))


def test_on_board_detection_has_hysteresis_and_faults_stop_the_cop():
    tracker = CentreOfPressureTracker(BoardGeometry(), on_kg=10, off_kg=5)
    assert not tracker.update(sample(0, [2, 2, 2, 2])).on_board  # 8 kg: not yet
    on = tracker.update(sample(1, [3, 3, 3, 3]))  # 12 kg
    assert on.on_board and on.x_mm == pytest.approx(0) and on.display_x_mm == pytest.approx(0)
    assert tracker.update(sample(2, [2, 2, 2, 2])).on_board  # 8 kg: stays on
    assert not tracker.update(sample(3, [1, 1, 1, 1])).on_board  # 4 kg: off
    faulty = tracker.update(sample(4, [None, 3, 3, 3], ["not-responding", None, None, None]))
    assert faulty.x_mm is None and faulty.faults[0] == "not-responding"


def test_display_lowpass_is_causal_and_settles():
    tracker = CentreOfPressureTracker(BoardGeometry(), display_lowpass_hz=4.0)
    g = BoardGeometry()
    out = []
    for k in range(160):
        x = 0.0 if k < 40 else 50.0  # a step to the right at k = 40
        loads = corner_loads(70.0, x, 0.0, g.width_mm, g.depth_mm)
        out.append(tracker.update(sample(k / 80, loads)).display_x_mm)
    assert out[39] == pytest.approx(0, abs=1e-9)  # nothing before the step (causal)
    assert 0 < out[41] < 25  # it moves gradually
    assert out[-1] == pytest.approx(50, abs=0.5)


def test_geometry_file_in_hardware_matches_the_defaults():
    assert load_geometry(REPO / "hardware" / "board.toml") == BoardGeometry()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not toml [", "not a readable TOML"),
        ('format = "other"', "format must be"),
        ('format = "balance-board-geometry/1"\n[cells]\nwidth_mm = "wide"', "must be a number"),
        ('format = "balance-board-geometry/1"\n[cells]\nwidth_mm = -4', "must be positive"),
        ('format = "balance-board-geometry/1"\n[feet]\nstance_width_mm = 900', "do not fit"),
    ],
)
def test_bad_geometry_files_are_named(tmp_path, text, message):
    path = tmp_path / "board.toml"
    path.write_text(text)
    with pytest.raises(GeometryError, match=message) as info:
        load_geometry(path)
    assert str(path) in str(info.value)


def test_missing_geometry_file(tmp_path):
    with pytest.raises(GeometryError, match="no such geometry file"):
        load_geometry(tmp_path / "nope.toml")


def test_geometry_copy_with_changes(tmp_path):
    path = tmp_path / "board.toml"
    shutil.copy(REPO / "hardware" / "board.toml", path)
    path.write_text(path.read_text().replace("stance_width_mm = 200.0", "stance_width_mm = 180.0"))
    assert load_geometry(path).stance_width_mm == 180.0


# --- the simulated person ------------------------------------------------------------------------
def cop_series(person, seconds, rate=100.0, t0=0.0):
    g = BoardGeometry()
    rows = []
    for k in range(int(seconds * rate)):
        t = t0 + k / rate
        loads = person.point_loads(t)
        kg = np.array([p[0] for p in loads])
        xs = np.array([p[1] for p in loads])
        ys = np.array([p[2] for p in loads])
        corners = corner_loads(kg, xs, ys, g.width_mm, g.depth_mm).sum(axis=0)
        rows.append((t, *centre_of_pressure(corners, g.width_mm, g.depth_mm)))
    return np.array(rows)


def test_quiet_standing_sway_looks_like_an_older_adult():
    person = SimulatedPerson(mass_kg=70, seed=4)
    data = cop_series(person, 60.0)
    x, y = data[:, 1], data[:, 2]
    velocity = np.sum(np.hypot(np.diff(x), np.diff(y))) / 60.0
    assert 5 < velocity < 25  # BDS older adults, firm, eyes open: 6.9 / 10 / 20.7 mm/s
    # the body's vertical accelerations: the load wobbles by about 1 % of body weight
    assert np.mean(data[:, 3]) == pytest.approx(70.0, abs=0.5)
    assert 0.1 < np.std(data[:, 3]) < 1.4
    assert 1 < np.std(x) < 10 and 1 < np.std(y) < 12


def test_movements_move_the_cop_where_expected():
    person = SimulatedPerson(mass_kg=80, stance_width_mm=200, seed=2, sway=0.2)
    person.schedule(1.0, "lean", x_mm=60.0)
    person.schedule(3.0, "centre")
    person.schedule(5.0, "heel_raise")
    person.schedule(7.0, "lower")
    person.schedule(9.0, "lift_foot", side="left")
    person.schedule(11.0, "foot_down", side="left", on="floor")
    person.schedule(13.0, "hand_on_chair", kg=15.0)
    person.schedule(15.0, "step_off")
    data = cop_series(person, 17.0)

    def at(t):
        return data[int(t * 100)]

    assert at(2.5)[1] == pytest.approx(60, abs=8)
    assert at(6.5)[2] == pytest.approx(60, abs=8)  # forefoot
    assert at(10.5)[1] == pytest.approx(100, abs=10)  # over the right foot
    assert at(12.5)[3] < 0.9 * 80  # the left foot carries weight on the floor
    assert at(14.5)[3] < at(12.5)[3]  # the chair takes some more
    assert at(16.8)[3] == pytest.approx(0, abs=1e-6)


def test_unknown_movement_is_refused():
    with pytest.raises(ValueError, match="unknown movement"):
        SimulatedPerson().schedule(1.0, "cartwheel")


def test_simulated_board_reads_the_person_through_the_real_driver():
    board = SimulatedBoard(person=SimulatedPerson(mass_kg=75, seed=1), seed=9)
    cells = board.open_cells()
    frame = None
    for _ in range(40):
        frame = cells.read()
    assert frame.ok
    expected = [
        c.offset_counts + c.counts_per_kg * kg
        for c, kg in zip(board.cells, board.corner_loads_kg(frame.t), strict=True)
    ]
    # within a few kg-equivalents: the person sways between the chips' conversions
    assert np.allclose(frame.raw, expected, atol=42_950 * 3)
    board.inject_fault(1, "saturated")
    faults = [cells.read().faults[1] for _ in range(5)]
    assert faults[-1] == "saturated"
    board.inject_fault(1, "none")
    assert math.isfinite(np.mean([cells.read().raw[1] for _ in range(5)][-1]))
    with pytest.raises(ValueError):
        board.inject_fault(1, "gremlins")
    cells.close()
    board.close()
