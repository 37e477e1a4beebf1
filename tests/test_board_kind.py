"""Which board (issue 12): ``auto`` is the real board on a Pi and the simulated one elsewhere,
never a simulation standing in for a real board, and why the real board cannot be read is said
on the screen in words. The real app under SDL's dummy driver, on a /dev folder made for it."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from pathlib import Path

import pytest

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
pygame = pytest.importorskip("pygame")

from balance_board.cli import main  # noqa: E402
from device.board import choose_kind, open_board, real_board_problem  # noqa: E402
from device.clock import ManualClock  # noqa: E402
from device.paths import calibration_path  # noqa: E402
from display.app import App  # noqa: E402
from display.screens import BoardScreen  # noqa: E402
from tests.conftest import T0  # noqa: E402


def a_computer(tmp_path: Path, *, pi: bool) -> Path:
    """A /dev folder: a Raspberry Pi's has a GPIO chip (a Pi 5's is gpiochip4), a PC's not."""
    dev = tmp_path / ("dev-pi" if pi else "dev-pc")
    dev.mkdir()
    (dev / "null").touch()
    if pi:
        (dev / "gpiochip4").touch()
    return dev


class FailingImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """lgpio as it fails under systemd with a read-only working folder: its import raises
    FileNotFoundError making its notification pipe (issue 12), not ImportError."""

    def find_spec(self, name, path=None, target=None):
        return importlib.machinery.ModuleSpec(name, self) if name == "lgpio" else None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise FileNotFoundError(2, "No such file or directory", ".lgd-nfy-1")


# --- auto: the real board on a Pi, the simulated one elsewhere -----------------------------------
def test_auto_is_the_real_board_on_a_pi_whatever_its_state_and_the_simulated_one_on_a_pc(
    tmp_path, monkeypatch
):
    monkeypatch.delenv("BALANCE_BOARD", raising=False)
    monkeypatch.setitem(sys.modules, "lgpio", None)  # lgpio missing: import lgpio fails
    pi, pc = a_computer(tmp_path, pi=True), a_computer(tmp_path, pi=False)
    # never calibrated, lgpio missing, nothing answering: still the real board, never simulated
    assert not calibration_path(tmp_path, "hx711").exists()
    assert choose_kind("auto", device_folder=pi) == "hx711"
    assert choose_kind("auto", device_folder=pc) == "sim"
    assert choose_kind("hx711", device_folder=pc) == "hx711"  # asked for: as asked
    monkeypatch.setenv("BALANCE_BOARD", "sim")  # the variable still overrides, on a Pi too
    assert choose_kind("auto", device_folder=pi) == "sim"


def test_why_the_real_board_cannot_be_read_is_said_in_words(tmp_path, monkeypatch):
    pi, pc = a_computer(tmp_path, pi=True), a_computer(tmp_path, pi=False)
    assert "not the board's Raspberry Pi" in real_board_problem(pc)
    monkeypatch.setitem(sys.modules, "lgpio", None)
    assert "lgpio library is missing" in real_board_problem(pi)
    monkeypatch.delitem(sys.modules, "lgpio")
    monkeypatch.setattr(sys, "meta_path", [FailingImport(), *sys.meta_path])
    problem = real_board_problem(pi)
    assert "lgpio library could not start (FileNotFoundError)" in problem
    assert ".lgd-nfy" not in problem  # the details go to the log, not to her screen


def test_on_a_pi_without_lgpio_the_app_says_the_board_is_not_connected_and_why(
    tmp_path, monkeypatch, calibration, surface
):
    monkeypatch.delenv("BALANCE_BOARD", raising=False)
    monkeypatch.setitem(sys.modules, "lgpio", None)
    pi = a_computer(tmp_path, pi=True)
    calibration_path(tmp_path, "hx711").write_text(calibration.to_json())
    kind = choose_kind("auto", device_folder=pi)
    # the real board, opened as the app opens it: its reader process finds no pins here
    board = open_board(kind, tmp_path, now_iso=T0, device_folder=pi)
    try:
        assert board.kind == "hx711" and "lgpio library is missing" in board.problem
        clock = ManualClock(T0)
        app = App(surface, board, clock=clock)
        said: list[str] = []
        draw = app.text
        monkeypatch.setattr(
            app, "text", lambda s, text, *a, **k: (said.append(text), draw(s, text, *a, **k))
        )
        app.step([])
        clock.advance(BoardScreen.NO_FRAMES_S + 0.5)  # no readings come
        app.step([])
        assert app.current.name == "board" and app.error is None  # no failsafe, no crash
        assert "The board is not connected" in said
        assert board.problem in said  # the reason, in words, on her screen
        assert not any("Traceback" in text or "Error:" in text for text in said)
    finally:
        board.close()


def test_the_kiosk_command_on_a_pi_without_lgpio_stays_up_on_the_real_board(
    tmp_path, monkeypatch, calibration, capsys
):
    """``balance-board run --board auto`` as the kiosk starts it, on a Pi without lgpio: the
    real board (not the simulator), the app up until it is told to stop, the reason logged."""
    monkeypatch.delenv("BALANCE_BOARD", raising=False)
    monkeypatch.setitem(sys.modules, "lgpio", None)
    monkeypatch.setattr("device.board.DEVICE_FOLDER", a_computer(tmp_path, pi=True))
    data = tmp_path / "data"
    data.mkdir()
    # never calibrated: once the simulator (which calibrates itself); now the real board, which
    # says how to calibrate it (exit status 3) and simulates nothing
    status = main(["run", "--board", "auto", "--data-dir", str(data), "--exit-after", "1.5"])
    assert status == 3 and "calibrate --board hx711" in capsys.readouterr().err
    assert not calibration_path(data, "sim").exists()
    calibration_path(data, "hx711").write_text(calibration.to_json())
    status = main(["run", "--board", "auto", "--data-dir", str(data), "--exit-after", "1.5"])
    assert status == 0 and "Traceback" not in capsys.readouterr().err
    log = (data / "balance-board.log").read_text()
    assert "the real board cannot be read: The lgpio library is missing" in log
    assert not calibration_path(data, "sim").exists()  # the simulated board was never opened
