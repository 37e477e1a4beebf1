"""The app's live board screen under SDL's dummy video driver: real pygame, real pixels."""

from __future__ import annotations

import os
import time

import pytest

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
pygame = pytest.importorskip("pygame")

from balance_board.cli import main  # noqa: E402
from clinic.store import Store  # noqa: E402
from device.board import Board  # noqa: E402
from device.calibration import load_calibration  # noqa: E402
from display import theme  # noqa: E402
from display.app import App  # noqa: E402
from tests.conftest import FRAME_S, REPO, simulated_board  # noqa: E402
from tests.conftest import run_for as run_app_for  # noqa: E402


@pytest.fixture
def app(calibration, clock, tmp_path):
    pygame.init()
    surface = pygame.display.set_mode(theme.SCREEN_SIZE)
    board = simulated_board(clock, calibration, tmp_path, sway=0.3)
    application = App(surface, board, clock=clock)
    yield application
    board.close()
    pygame.quit()


def run_for(app, seconds, events=()):
    app.step(list(events))
    app.clock.advance(FRAME_S)
    run_app_for(app, seconds)


def dot_position(surface):
    """Centre of the CoP dot's pixels, found by colour."""
    mask = pygame.mask.from_threshold(surface, theme.DOT, (4, 4, 4, 255))
    if mask.count() < 50:
        return None
    return mask.centroid()


def test_the_dot_follows_a_lean_and_faults_are_named_in_words(app, tmp_path):
    run_for(app, 2.0)
    pygame.image.save(app.surface, str(tmp_path / "start.png"))
    centre = dot_position(app.surface)
    assert centre is not None, tmp_path
    key = pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT)
    run_for(app, 0.1, [key, key, key])  # lean 75 mm to the right
    run_for(app, 1.5)
    right = dot_position(app.surface)
    assert right[0] - centre[0] > 40
    pygame.image.save(app.surface, str(tmp_path / "board.png"))
    app.link.command("unplug", corner=0)
    run_for(app, 1.0)
    assert dot_position(app.surface) is None  # no CoP is drawn from three corners
    screen = app.screens["board"]
    assert screen.latest.faults[0] is not None
    pixel = app.surface.get_at(screen.to_screen(app.surface, *app.geometry.cell_positions_mm[0]))
    assert tuple(pixel)[:3] == theme.DANGER  # the cross sits on the faulty corner
    app.link.command("plug_in", corner=0)
    run_for(app, 1.5)
    assert dot_position(app.surface) is not None  # back when the cell is back


def test_mouse_drag_steers_the_simulated_person(app):
    run_for(app, 1.5)
    board = app.screens["board"]
    target = board.to_screen(app.surface, -80.0, 0.0)
    run_for(app, 0.05, [pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=target, button=1)])
    run_for(app, 1.5)
    x, _ = board.to_board(app.surface, *dot_position(app.surface))
    assert x == pytest.approx(-80, abs=20)


def test_a_failing_screen_falls_back_to_the_failsafe_screen(app):
    def broken(surface):
        raise RuntimeError("boom")

    app.screens["board"].draw = broken
    app.step([])
    assert app.current.name == "failsafe" and "boom" in app.error
    app.step([pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE)])
    assert app.current.name in ("board", "failsafe")


def test_theme_contrast_is_at_least_7_to_1():
    for name, (fg, bg) in theme.TEXT_PAIRS.items():
        assert theme.contrast_ratio(fg, bg) >= 7.0, name


def test_contrast_formula_matches_known_values():
    assert theme.contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert theme.contrast_ratio((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)


def test_run_command_exits_after_the_given_time(tmp_path):
    start = time.monotonic()
    assert main(["run", "--board", "sim", "--exit-after", "2", "--data-dir", str(tmp_path)]) == 0
    assert time.monotonic() - start < 30


@pytest.mark.slow
def test_the_scores_libraries_load_in_the_background_before_the_first_trial_ends(tmp_path):
    """scipy (1 s here, several on a Pi 4) loads while the first screen is up, so the end of
    the first trial never freezes the screen: the log says it loaded before a trial was kept."""
    import subprocess
    import sys
    from datetime import datetime

    (tmp_path / "program.toml").write_text('[[exercise]]\nname = "quiet-stance"\nduration_s = 5\n')
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYTHONPATH=str(REPO))
    subprocess.run(
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
            "16",
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=120,
        check=True,
    )
    log = (tmp_path / "balance-board.log").read_text().splitlines()
    [line] = [x for x in log if "loaded in the background" in x]
    loaded = datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S")
    with Store(tmp_path / "balance-board.sqlite3", read_only=True) as store:
        [trial] = store.trials(store.patients()[0].code)
    ended = datetime.fromisoformat(trial.ended_at).replace(tzinfo=None)
    assert loaded <= ended


def test_start_of_session_rezero_warns_when_a_corner_moved(calibration, clock, tmp_path):
    from dataclasses import replace

    pygame.init()
    surface = pygame.display.set_mode(theme.SCREEN_SIZE)
    offsets = list(calibration.offsets_counts)
    offsets[3] -= 2.0 / calibration.kg_per_count[3]  # as if 2 kg had appeared on back-right
    shifted = replace(calibration, offsets_counts=tuple(offsets))
    board = simulated_board(clock, shifted, tmp_path, on_board=False)
    link = board.link
    path = tmp_path / "calibration-sim.json"
    try:
        app = App(surface, board, clock=clock)
        run_for(app, 3.0)
        assert app.notice and "back-right +2.0 kg" in app.notice
        assert app.calibration is shifted  # not silently zeroed away
        assert not path.exists()
        pygame.image.save(surface, str(tmp_path / "notice.png"))
        # a board that only crept a little is re-zeroed and saved
        app2 = App(surface, Board("sim", link, calibration, path), clock=clock)
        run_for(app2, 2.0)
        assert app2.notice is None
        saved = load_calibration(path).calibration
        assert saved.offsets_counts != calibration.offsets_counts  # the new empty reading
        assert saved.kg_per_count == calibration.kg_per_count
    finally:
        link.close()
        pygame.quit()
