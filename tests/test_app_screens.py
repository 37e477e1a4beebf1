"""Therapist mode, progress, rest, sound, portrait panels and the kiosk's systemd side, driven
by injected touches under SDL's dummy video and audio drivers, with real records files."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
import wave
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
pygame = pytest.importorskip("pygame")

from clinic.program import load_program, parse_program  # noqa: E402
from clinic.store import Store  # noqa: E402
from device.board import Board  # noqa: E402
from device.clock import ManualClock  # noqa: E402
from display import theme  # noqa: E402
from display.app import THERAPIST_IDLE_S, App  # noqa: E402
from display.kiosk import Panel, SystemdNotifier  # noqa: E402
from display.pin import check_pin, load_pin, set_pin  # noqa: E402
from display.screens import REST_S  # noqa: E402
from display.session import DEFAULT_PLAN, PatientSession  # noqa: E402
from display.settings import Settings, load_settings  # noqa: E402
from display.sound import Sound, speech_file  # noqa: E402
from tests.conftest import REPO, T0, run_for, simulated_board  # noqa: E402

TAP_GAP_S = 0.41  # the next tap is not a tremor repeat
TEST_PIN = "2580"


@contextmanager
def therapist_app(
    surface, calibration, folder, *, now=T0, panel=None, sound=None, affected_side="left"
):
    """A real app on the simulated board with the therapist's settings and a records file, on
    a clock the test moves."""
    clock = ManualClock(now)
    board = simulated_board(clock, calibration, folder, sway=0.5)
    try:
        with Store(folder / "balance-board.sqlite3") as store:
            if not store.patients():
                store.add_patient("P-9", affected_side=affected_side, created_at=T0)
            session = PatientSession(
                store,
                "P-9",
                clock=clock,
                geometry=board.geometry,
                board_kind=board.kind,
                plan=DEFAULT_PLAN,
                data_folder=folder,
            )
            yield App(
                surface,
                board,
                clock=clock,
                session=session,
                settings=Settings(),
                # the technician set the PIN; a later app in the same folder reads it back
                pin=load_pin(folder)
                if (folder / "pin.json").exists()
                else set_pin(folder, TEST_PIN, b"s" * 16),
                data_folder=folder,
                panel=panel,
                sound=sound,
            )
    finally:
        board.close()


def finger_tap(app, pos, size=theme.SCREEN_SIZE):
    events = [
        pygame.event.Event(
            kind, x=pos[0] / size[0], y=pos[1] / size[1], dx=0, dy=0, touch_id=1, finger_id=0
        )
        for kind in (pygame.FINGERDOWN, pygame.FINGERUP)
    ]
    app.step(events)
    app.clock.advance(TAP_GAP_S)


def mouse_tap(app, pos):
    app.step(
        [
            pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pos, button=1, touch=False),
            pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pos, button=1, touch=False),
        ]
    )
    app.clock.advance(TAP_GAP_S)


def button(app, label):
    return next(b for b in app.current.buttons if b.label == label).rect.center


def colour_count(surface, colour):
    return pygame.mask.from_threshold(surface, colour, (4, 4, 4, 255)).count()


def test_pin_keypad_by_finger_and_mouse_wrong_pin_is_refused_and_logged(
    calibration, surface, tmp_path
):
    with therapist_app(surface, calibration, tmp_path) as app:
        app.step([])
        finger_tap(app, button(app, "Therapist"))
        assert app.current.name == "pin"
        for key in "1111":
            mouse_tap(app, button(app, key))
        app.step([])
        assert colour_count(surface, theme.TEXT) > 4 * 300  # four dots shown, not digits
        finger_tap(app, button(app, "OK"))
        assert app.current.name == "pin" and "Wrong PIN" in app.current.message
        assert colour_count(surface, theme.WARNING) > 300  # the message, in words and colour
        assert load_pin(tmp_path).failed_attempts == 1  # kept across a restart
        for key in TEST_PIN:
            finger_tap(app, button(app, key))
        mouse_tap(app, button(app, "OK"))
        assert app.current.name == "therapist"
        assert [e["kind"] for e in app.session.store.events()][-2:] == [
            "pin_refused",
            "therapist_mode",
        ]
        finger_tap(app, button(app, "Done"))
        assert app.current.name == "welcome"


def test_settings_volume_and_large_text_change_the_screen_and_are_saved(
    calibration, surface, tmp_path
):
    with therapist_app(surface, calibration, tmp_path) as app:
        app.go("welcome")
        app.step([])
        normal = pygame.Surface.copy(surface)
        app.go("settings")
        app.step([])
        finger_tap(app, button(app, "−"))
        assert app.settings.volume == pytest.approx(0.7)
        mouse_tap(app, button(app, "Normal"))
        assert app.settings.large_text
        saved = load_settings(tmp_path)
        assert saved.large_text and saved.volume == pytest.approx(0.7)
        app.go("welcome")
        app.step([])
        # the title is drawn larger: more white pixels than before
        large_white = colour_count(surface, theme.TEXT)
        assert large_white > 1.25 * colour_count(normal, theme.TEXT)


def test_program_edited_by_touch_is_saved_and_becomes_the_plan(calibration, surface, tmp_path):
    with therapist_app(surface, calibration, tmp_path, affected_side=None) as app:
        app.go("program")
        app.step([])
        assert "1 of 4" in "".join(str(app.current.page + 1) + " of 4")
        finger_tap(app, button(app, ">"))
        finger_tap(app, button(app, ">"))  # page 3: standing on one leg
        assert app.current.item.exercise == "flamingo"
        for _ in range(3):
            finger_tap(app, button(app, "+"))
        finger_tap(app, button(app, "Weak side: none"))  # → left
        times_plus = [b for b in app.current.buttons if b.label == "+"][1]
        finger_tap(app, times_plus.rect.center)  # twice a session
        pygame.image.save(surface, str(tmp_path / "program.png"))
        finger_tap(app, button(app, "Add"))  # toe raises, not in the program yet
        assert app.current.item.exercise == "toe-raises" and app.current.page == 4
        mouse_tap(app, button(app, "Remove"))  # changed my mind
        assert len(app.current.program.exercises) == 4 and app.current.page == 3
        finger_tap(app, button(app, "<"))
        mouse_tap(app, button(app, "Save"))
        program = load_program(tmp_path / "program.toml")
        assert program.exercises[2].params["hold_s"] == 14.0
        assert program.exercises[2].repetitions == 2
        assert program.affected_side == "left"
        assert [p.exercise for p in app.session.plan].count("flamingo") == 2
        flamingo = next(p for p in app.session.plan if p.exercise == "flamingo")
        assert flamingo.params == {"leg": "left", "hold_s": 14.0}
        assert "right foot" in flamingo.instruction and "chair" in flamingo.instruction
        assert app.session.store.patient("P-9").affected_side == "left"


def test_progress_chart_shows_every_exercise_with_its_own_marker(calibration, surface, tmp_path):
    with Store(tmp_path / "balance-board.sqlite3") as store:
        store.add_patient("P-9", affected_side="left", created_at=T0)
        for day in range(1, 22, 3):
            when = f"2026-11-{day:02d}T10:00:00+01:00"
            session = store.start_session("P-9", when, board="sim")
            for exercise, score in (("flamingo", 30 + 2 * day), ("heel-raises", 60.0)):
                trial = store.begin_trial(session, exercise, {}, when)
                store.finish_trial(trial, {"score": score}, None, when)
    with therapist_app(surface, calibration, tmp_path) as app:
        app.step([])
        finger_tap(app, button(app, "Progress"))
        assert app.current.name == "progress"
        app.step([])
        assert app.current.sentence == "Standing on one leg: up 36 points in 3 weeks."
        series = app.current.series
        assert len(series["flamingo"]) == 7 and len(series["heel-raises"]) == 7
        pygame.image.save(surface, str(tmp_path / "progress.png"))
        assert colour_count(surface, theme.GOOD) > 200  # one line and its markers
        assert colour_count(surface, theme.ACCENT) > 200  # the other
        mouse_tap(app, button(app, "Back"))
        assert app.current.name == "welcome"


def test_export_to_a_usb_stick_writes_a_csv_a_spreadsheet_reads(
    calibration, surface, tmp_path, monkeypatch
):
    stick = tmp_path / "stick"
    stick.mkdir()
    monkeypatch.setenv("BALANCE_BOARD_USB", str(stick))
    with therapist_app(surface, calibration, tmp_path) as app:
        session = app.session.store.start_session("P-9", T0, board="sim")
        trial = app.session.store.begin_trial(session, "flamingo", {"leg": "left"}, T0)
        app.session.store.finish_trial(
            trial,
            {"score": 55.0, "metrics": {"hold_s": 12.5}, "quality": {"scorable": True}},
            None,
            "2026-11-23T10:01:00+01:00",
        )
        app.go("export")
        app.step([])
        finger_tap(app, button(app, "Export to USB"))
        assert "Write the password down" in app.current.message
        [archive] = stick.iterdir()  # one encrypted archive, nothing in the clear
        pyzipper = pytest.importorskip("pyzipper")
        with pyzipper.AESZipFile(archive) as z:
            z.setpassword(app.current.password.encode())
            name = next(n for n in z.namelist() if n.endswith("trials.csv"))
            text = z.read(name).decode("utf-8-sig")
        rows = list(csv.DictReader(text.splitlines()))
        assert rows[0]["exercise"] == "flamingo" and rows[0]["hold_s"] == "12.5"
        assert rows[0]["started_at"] == T0 and rows[0]["duration_s"] == "60.0"
        # no program on the stick: said so, nothing changed
        mouse_tap(app, button(app, "Import program"))
        assert "No program.toml" in app.current.message
        (stick / "program.toml").write_text('[[exercise]]\nname = "flamingo"\nhold_s = -1\n')
        mouse_tap(app, button(app, "Import program"))
        assert "Not imported" in app.current.message and "line 3" in app.current.message
        assert not (tmp_path / "program.toml").exists()


def test_rest_between_exercises_counts_down_and_ready_skips_it(calibration, surface, tmp_path):
    with therapist_app(surface, calibration, tmp_path) as app:
        app.start_session()
        app.session.index = 0
        app.next_exercise()
        assert app.current.name == "rest"
        app.step([])
        pygame.image.save(surface, str(tmp_path / "rest.png"))
        assert colour_count(surface, theme.ACCENT) > 100  # "Next: Heel raises"
        app.clock.advance(REST_S + 0.1)  # the rest time is over
        app.step([])
        assert app.current.name == "instructions" and app.session.planned.exercise == "heel-raises"
        app.go("rest")
        app.step([])
        finger_tap(app, button(app, "I am ready"))
        assert app.current.name == "instructions"


def fake_espeak(folder: Path) -> str:
    """A stand-in for espeak-ng: writes a short WAV where ``-w`` says."""
    script = folder / "espeak-ng"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys, wave\n"
        "out = sys.argv[sys.argv.index('-w') + 1]\n"
        "with wave.open(out, 'wb') as w:\n"
        "    w.setnchannels(1); w.setsampwidth(2); w.setframerate(22050)\n"
        "    w.writeframes(b'\\x00\\x10' * 2205)\n"
    )
    script.chmod(0o755)
    return str(script)


def test_speech_is_rendered_once_into_the_cache_and_tones_play(tmp_path):
    pygame.init()
    try:
        cache = tmp_path / "speech"
        sound = Sound(cache, 0.8, espeak=fake_espeak(tmp_path))
        assert sound.available
        sound.prepare(["Stand on the board.", "Rest for a moment."], wait=True)
        path = speech_file(cache, "Stand on the board.")
        with wave.open(str(path)) as w:
            assert w.getnframes() == 2205
        assert sound.say("Stand on the board.")
        assert not sound.say("Never rendered.")  # no speech, no error
        sound.play("start")
        sound.play("tick")
        assert sound.played == ["say:Stand on the board.", "start", "tick"]
        sound.set_volume(0.0)
        sound.play("success")
        assert sound.played[-1] == "tick"  # silent at volume 0
        assert not list(cache.glob("*.part"))
    finally:
        pygame.quit()


def test_when_audio_fails_the_app_carries_on_silently(calibration, surface, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise pygame.error("No available audio device")

    monkeypatch.setattr(pygame.mixer, "get_init", lambda: None)
    monkeypatch.setattr(pygame.mixer, "init", broken)
    sound = Sound(tmp_path / "speech", espeak="")
    assert not sound.available and "No available audio device" in sound.problem
    with therapist_app(surface, calibration, tmp_path, sound=sound) as app:
        app.start_session()
        app.go("instructions")
        app.step([])
        app.go("settings")
        app.step([])
        assert colour_count(surface, theme.WARNING) > 100  # "No sound device"
        assert app.error is None


def test_instructions_for_one_leg_show_the_chair_and_are_spoken(calibration, surface, tmp_path):
    pygame.init()
    sound = Sound(tmp_path / "speech", espeak=fake_espeak(tmp_path))
    with therapist_app(surface, calibration, tmp_path, sound=sound) as app:
        sound.prepare(app.spoken_texts(), wait=True)
        app.session.index = 2  # standing on one leg
        app.go("instructions")
        app.step([])
        assert sound.played[-1] == f"say:{app.session.planned.instruction}"
        assert "chair" in app.session.planned.instruction
        # the chair drawn beside the board (the picture shrinks to leave the text its room)
        right_of_board = [
            tuple(surface.get_at((x, y)))[:3]
            for x in range(surface.get_width() // 2 + 60, surface.get_width() - 20, 2)
            for y in range(60, 260, 2)
        ]
        assert theme.TEXT_DIM in right_of_board
        # and on the live screen, beside the timer ring, for the whole exercise
        app.start_session()
        app.session.index = 2
        app.go("exercise")
        app.step([])
        chair_x = surface.get_width() // 2 + 120 + 110
        column = [
            tuple(surface.get_at((x, y)))[:3]
            for x in range(chair_x - 35, chair_x + 35)
            for y in range(140, 300)
        ]
        assert column.count(theme.TEXT_DIM) > 200


def test_portrait_panel_draws_turned_and_maps_touches_back(calibration, tmp_path):
    panel = Panel((720, 1280), 90)
    assert panel.logical_size == (800, 480) and panel.scale == 1.5
    for pos in ((0, 0), (799, 0), (400, 240), (10, 470)):
        assert panel.to_logical(panel.to_panel(pos)) == pos
    pygame.init()
    try:
        window = pygame.display.set_mode(panel.window_size)
        landscape = pygame.Surface(panel.logical_size)
        with therapist_app(landscape, calibration, tmp_path, panel=panel) as app:
            app.step([])
            panel.present(landscape, window)
            start = app.current.primary.rect
            # the Start button's pixels land where the panel says, turned
            at = panel.to_panel(start.center)
            assert tuple(window.get_at(at))[:3] == tuple(landscape.get_at(start.center))[:3]
            assert window.get_size() == (720, 1280)
            # a finger on the portrait panel over Start presses Start
            finger_tap(app, at, size=panel.window_size)
            assert app.current.name == "board"
    finally:
        pygame.quit()


def test_board_not_connected_is_said_in_words(calibration, surface, clock, tmp_path):
    class DeadLink:
        failed = True
        last_error = "no gpiochip"

        def frames(self, timeout=0.0):
            return []

        def command(self, *args, **kwargs):
            pass

    board = Board("hx711", DeadLink(), calibration, tmp_path / "calibration.json")
    app = App(surface, board, clock=clock)
    app.step([])
    assert app.current.name == "board" and app.screens["board"].disconnected
    assert colour_count(surface, theme.DANGER) > 300


def test_systemd_notify_says_ready_and_pings_the_watchdog(tmp_path):
    import socket

    address = str(tmp_path / "notify.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(address)
    server.settimeout(2)
    notifier = SystemdNotifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "10000000"})
    assert notifier.watchdog_interval_s == 5.0
    notifier.notify("READY=1")
    notifier.notify("WATCHDOG=1")
    assert server.recv(64) == b"READY=1" and server.recv(64) == b"WATCHDOG=1"
    notifier.close()
    server.close()
    assert not SystemdNotifier({}).active  # started by hand: nothing to tell


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_systemd_unit_passes_systemd_analyze(tmp_path):
    unit = REPO / "systemd" / "balance-board.service"
    text = unit.read_text()
    assert "Type=notify" in text and "WatchdogSec=" in text and "StateDirectory=" in text
    # verify wants the ExecStart program to exist: point it at a stand-in
    exe = tmp_path / "balance-board"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    copy = tmp_path / "balance-board.service"
    copy.write_text(text.replace("/opt/balance-board/.venv/bin/balance-board", str(exe)))
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True
    )
    problems = [
        line
        for line in result.stderr.splitlines()
        if "balance-board.service" in line and "Failed to" not in line
    ]
    assert result.returncode == 0 and not problems, result.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_the_systemd_unit_is_exposed_at_most_2_of_10(tmp_path):
    """`systemd-analyze security --offline=yes` (systemd 252+) rates the unit; the issue asks
    for 2.0 or less. (Running the hardened unit needs systemd as PID 1, which this machine,
    a container, has not: the rating is static.)"""
    copy = tmp_path / "balance-board.service"
    copy.write_text((REPO / "systemd" / "balance-board.service").read_text())
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(copy)],
        capture_output=True,
        text=True,
    )
    if "--offline" in result.stderr and "unrecognized" in result.stderr:
        pytest.skip("this systemd-analyze has no --offline (systemd older than 252)")
    match = re.search(r"Overall exposure level for [^:]+: ([0-9.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout


def test_the_therapist_changes_the_pin_typed_twice(calibration, surface, tmp_path):
    with therapist_app(surface, calibration, tmp_path) as app:
        app.go("settings")
        app.step([])
        finger_tap(app, button(app, "Change PIN"))
        assert app.current.name == "pin" and app.current.changing
        # the PIN in use first: therapist mode left open is no way to a new PIN
        assert app.current.message == "Your current PIN"
        for attempt in ("1111", TEST_PIN):
            for key in attempt:
                finger_tap(app, button(app, key))
            mouse_tap(app, button(app, "OK"))
            if attempt == "1111":
                assert "Wrong PIN" in app.current.message and not app.current.current_confirmed
        assert app.current.message == "New PIN (4 to 8 digits)"
        for attempt in ("12", "13572", "13579", "13572", "13572"):
            for key in attempt:
                finger_tap(app, button(app, key))
            mouse_tap(app, button(app, "OK"))
            if attempt == "12":
                assert "4 to 8 digits" in app.current.message
            if attempt == "13579":
                assert "differ" in app.current.message
        assert app.current.name == "settings" and app.current.message == "PIN changed."
        saved = load_pin(tmp_path)
        assert check_pin(saved, "13572", 0).accepted
        assert not check_pin(saved, TEST_PIN, 0).accepted
        assert app.session.store.events("pin_changed")


def test_therapist_mode_left_open_closes_itself_and_logs_it(calibration, surface, tmp_path):
    with therapist_app(surface, calibration, tmp_path) as app:
        app.go("pin")
        app.step([])
        for key in TEST_PIN:
            finger_tap(app, button(app, key))
        mouse_tap(app, button(app, "OK"))
        assert app.current.name == "therapist"
        finger_tap(app, button(app, "Settings"))
        assert app.current.name == "settings"

        def wait(seconds):  # a second at a time: nothing moves on these screens
            for _ in range(int(seconds)):
                app.clock.advance(1.0)
                app.step([])

        wait(THERAPIST_IDLE_S - 5)  # not yet: she may be reading the screen
        assert app.current.name == "settings"
        finger_tap(app, button(app, "Back"))  # a touch starts the wait again
        wait(THERAPIST_IDLE_S - 5)
        assert app.current.name == "therapist"
        wait(10)
        assert app.current.name == "welcome"
        assert [e["message"] for e in app.session.store.events("therapist_mode")][-1] == (
            "closed after 5 minutes without a touch"
        )


def test_a_pin_the_technician_sets_while_the_app_runs_is_the_one_checked(
    calibration, surface, tmp_path
):
    with therapist_app(surface, calibration, tmp_path) as app:
        set_pin(tmp_path, "4711", b"t" * 16)  # `balance-board pin set`, from a shell
        app.go("pin")
        app.step([])
        for key in "4711":
            finger_tap(app, button(app, key))
        mouse_tap(app, button(app, "OK"))
        assert app.current.name == "therapist"
        saved = load_pin(tmp_path)
        assert check_pin(saved, "4711", 0).accepted  # not written over by the old state
        assert not check_pin(saved, TEST_PIN, 0).accepted


@pytest.mark.slow
def test_calibration_wizard_on_the_simulated_board_saves_a_calibration(
    calibration, surface, tmp_path
):
    with therapist_app(surface, calibration, tmp_path) as app:
        app.go("calibration")
        app.step([])
        finger_tap(app, button(app, "Start"))
        steps = []
        end = app.clock.monotonic() + 90
        while app.current.procedure is not None and app.clock.monotonic() < end:
            shown = app.current.shown
            if not steps or steps[-1] != (shown.step, shown.corner):
                steps.append((shown.step, shown.corner))
                if shown.step == "place":
                    pygame.image.save(surface, str(tmp_path / f"place-{shown.corner}.png"))
                app.current.simulate()  # the therapist does what the screen says
            run_for(app, 0.05)
        assert app.current.message == "Calibrated and saved.", (steps, app.current.message)
        assert [s for s in steps if s[0] == "place"] == [("place", c) for c in range(4)]
        saved = (tmp_path / "calibration-sim.json").read_text()
        assert '"known_weight_kg": 5.0' in saved
        assert app.session.store.events("calibration")
        # the new calibration is in use: the simulated person weighs 70 kg on it
        app.link.command("step_on")
        app.go("board")
        run_for(app, 3.0)
        assert app.screens["board"].latest.total_kg == pytest.approx(70.0, abs=0.5)


def test_after_three_good_sessions_the_hold_time_goes_up_by_itself(calibration, surface, tmp_path):

    program = parse_program(
        'affected_side = "left"\n[[exercise]]\nname = "flamingo"\nleg = "affected"\nhold_s = 10\n'
        '[[progression]]\nexercise = "flamingo"\nfield = "hold_s"\nafter_sessions = 3\n'
        "step = 5\nlimit = 20\n"
    )
    with therapist_app(surface, calibration, tmp_path, now="2026-11-20T09:00:00+01:00") as app:
        app.session.set_program(program)
        app.session.keep_program_version("therapist")
        store = app.session.store
        for day, score in ((21, 90.0), (22, 85.0), (23, 95.0)):
            when = f"2026-11-{day:02d}T10:00:00+01:00"
            session = store.start_session("P-9", when, board="sim")
            trial = store.begin_trial(session, "flamingo", {"leg": "left"}, when)
            store.finish_trial(trial, {"score": score}, None, when)
        app.clock.set_time("2026-11-23T12:00:00+01:00")
        app.session.progress_program()
        assert app.session.program.exercises[0].params["hold_s"] == 15.0
        assert app.session.plan[0].params == {"leg": "left", "hold_s": 15.0}
        assert [v["source"] for v in store.programs("P-9")] == ["therapist", "progression"]
        assert "hold_s = 15" in (tmp_path / "program.toml").read_text()
        [event] = store.events("progression")
        assert event["message"] == "flamingo (left leg) hold_s: 10 → 15"  # each leg its own
        app.session.progress_program()  # the count starts again after a change
        assert app.session.program.exercises[0].params["hold_s"] == 15.0


def test_encrypted_export_shows_its_password_once_and_opens_with_it(
    calibration, surface, tmp_path, monkeypatch
):
    pyzipper = pytest.importorskip("pyzipper")
    stick = tmp_path / "stick"
    stick.mkdir()
    monkeypatch.setenv("BALANCE_BOARD_USB", str(stick))
    with therapist_app(surface, calibration, tmp_path) as app:
        session = app.session.store.start_session("P-9", T0, board="sim")
        trial = app.session.store.begin_trial(session, "flamingo", {"leg": "left"}, T0)
        app.session.store.finish_trial(
            trial, {"score": 55.0, "metrics": {"hold_s": 12.5}}, None, T0
        )
        app.go("export")
        app.step([])
        finger_tap(app, button(app, "Export to USB"))  # one tap: always encrypted
        password = app.current.password
        pygame.image.save(surface, str(tmp_path / "encrypted.png"))
        assert len(password) == 19 and colour_count(surface, theme.WARNING) > 300
        [archive] = stick.glob("*.zip")
        assert not [p for p in stick.iterdir() if p.is_dir()]  # nothing left unencrypted
        with pyzipper.AESZipFile(archive) as z:
            with pytest.raises(RuntimeError):
                z.read(z.namelist()[0])  # no password, no data
            z.setpassword(password.encode())
            name = next(n for n in z.namelist() if n.endswith("trials.csv"))
            assert "flamingo" in z.read(name).decode("utf-8-sig")
        finger_tap(app, (400, 300))  # the next touch anywhere hides the password
        assert app.current.password == ""


@pytest.mark.parametrize("path", ["finger", "mouse"])
def test_every_screen_draws_and_its_main_button_works_by_touch(
    calibration, surface, tmp_path, path
):
    """Each screen with buttons: drawn (not blank, text in the middle third), and its main
    button, pressed by the finger path or the mouse path, leaves the screen."""
    tap = finger_tap if path == "finger" else mouse_tap
    with therapist_app(surface, calibration, tmp_path) as app:
        app.start_session()
        for name in (
            "welcome",
            "instructions",
            "rest",
            "safety",
            "done",
            "progress",
            "pin",
            "therapist",
            "calibration",
        ):
            app.go(name)
            app.step([])
            pixels = pygame.surfarray.array3d(surface)
            assert pixels.std() > 5, name
            middle = pixels[266:533]  # key information sits in the middle (left-side neglect)
            assert (middle > 200).any(), name
            primary = app.current.primary
            assert primary is not None, name
            tap(app, primary.rect.center)
            if name == "welcome":
                assert app.current.name == "board", name
            elif name == "pin":  # the first key: a digit typed, shown as a dot
                assert app.current.name == "pin" and app.current.digits == "1"
            elif name == "calibration":  # Start: the wizard's first step
                assert app.current.procedure is not None
            else:
                assert app.current.name != name, name
        app.go("result")
        app.session.last_result = None
        app.step([])
        assert colour_count(surface, theme.WARNING) > 100  # "Not scored", in words
        tap(app, app.current.primary.rect.center)
        assert app.current.name in ("rest", "done")


def test_key_a_switches_the_simulated_patient_between_auto_and_by_hand(
    calibration, surface, tmp_path
):
    with therapist_app(surface, calibration, tmp_path) as app:
        assert app.auto_patient is None
        press = pygame.event.Event(pygame.KEYDOWN, key=pygame.K_a)
        app.step([press])
        assert app.auto_patient is not None  # the simulated patient follows the screen
        app.go("board")
        app.step([])
        pygame.image.save(surface, str(tmp_path / "board.png"))
        app.step([press])
        assert app.auto_patient is None  # steered by hand again


def test_a_damaged_speech_file_is_dropped_and_rendered_again(tmp_path):
    pygame.init()
    try:
        cache = tmp_path / "speech"
        espeak = fake_espeak(tmp_path)
        sound = Sound(cache, 0.8, espeak=espeak)
        path = speech_file(cache, "Rest for a moment.")
        cache.mkdir()
        path.write_bytes(b"RIFF garbage, not a wave file")
        assert not sound.say("Rest for a moment.")  # no crash, no sound
        assert not path.exists()  # dropped from the cache
        sound.prepare(["Rest for a moment."], wait=True)
        assert sound.say("Rest for a moment.")
    finally:
        pygame.quit()


def test_the_therapist_sets_the_number_i_need_help_tells_the_patient_to_call(
    calibration, surface, tmp_path
):
    pygame.init()
    sound = Sound(tmp_path / "speech", espeak=fake_espeak(tmp_path))
    with therapist_app(surface, calibration, tmp_path, sound=sound) as app:
        app.go("settings")
        app.step([])
        finger_tap(app, button(app, "Help no."))
        assert app.current.name == "help-number"
        for key in "+44 7700":
            if key != " ":
                finger_tap(app, button(app, key))
        mouse_tap(app, button(app, "Save"))
        assert app.current.name == "settings" and app.current.message == "Help number saved."
        assert load_settings(tmp_path).help_number == "+447700"
        app.session.start()
        app.go("help")
        app.step([])
        pygame.image.save(surface, str(tmp_path / "help.png"))
        assert any("Call + 4 4 7 7 0 0" in text for text in app.spoken_texts())
        sound.prepare(app.spoken_texts(), wait=True)
        app.go("help")  # spoken now that it is rendered
        assert (
            sound.played[-1].startswith("say:Stay where you are") and "4 4 7 7" in sound.played[-1]
        )


def test_without_a_pin_file_therapist_mode_stays_closed_and_says_whom_to_ask(
    calibration, surface, tmp_path
):
    clock = ManualClock(T0)
    board = simulated_board(clock, calibration, tmp_path, sway=0.5)
    try:
        # as run_app starts it on a folder with no pin.json: load_pin says "missing"
        app = App(
            surface,
            board,
            clock=clock,
            settings=Settings(),
            pin=load_pin(tmp_path),
            data_folder=tmp_path,
        )
        app.go("pin")
        app.step([])
        assert "Ask the technician" in app.current.message
        for key in "2580":
            finger_tap(app, button(app, key))
        finger_tap(app, button(app, "OK"))
        assert app.current.name == "pin" and "Ask the technician" in app.current.message
        assert not (tmp_path / "pin.json").exists()  # nothing invented
    finally:
        board.close()
