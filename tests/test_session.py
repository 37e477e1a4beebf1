"""The patient's session under the dummy video driver: taps on both input paths, a whole program
run by the simulated patient, results in a real records file."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from contextlib import contextmanager

import pytest

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
pygame = pytest.importorskip("pygame")

from balance_board.cli import main  # noqa: E402
from clinic.store import Store  # noqa: E402
from device.clock import ManualClock  # noqa: E402
from display import theme  # noqa: E402
from display.app import App  # noqa: E402
from display.demo import DEMO_PLAN  # noqa: E402
from display.screens import goal_words, measured_words  # noqa: E402
from display.session import DEFAULT_PLAN, PatientSession, PlannedExercise, planned  # noqa: E402
from display.sim.patient import AutoPatient  # noqa: E402
from display.widgets import MIN_TARGET_PX, Tap, TapFilter  # noqa: E402
from exercises.base import TrialContext  # noqa: E402
from exercises.quiet_stance import QuietStance  # noqa: E402
from tests.conftest import FRAME_S, REPO, T0, run_for, simulated_board  # noqa: E402


class FakeButton:
    def __init__(self, rect):
        self.rect = pygame.Rect(rect)
        self.enabled = True

    def contains(self, pos):
        return self.rect.collidepoint(pos)


def test_tap_filter_acts_on_release_inside_and_ignores_tremor_repeats():
    button = FakeButton((100, 100, 200, 100))
    taps = TapFilter()
    assert taps.handle(Tap("down", (150, 150)), [button], 0.0) is None
    assert taps.handle(Tap("up", (160, 160)), [button], 0.05) is button
    taps.handle(Tap("down", (150, 150)), [button], 0.2)
    assert taps.handle(Tap("up", (150, 150)), [button], 0.25) is None  # within 400 ms
    taps.handle(Tap("down", (150, 150)), [button], 1.0)
    assert taps.handle(Tap("up", (10, 10)), [button], 1.1) is None  # slipped off: cancelled
    taps.handle(Tap("down", (10, 10)), [button], 2.0)
    assert taps.handle(Tap("up", (150, 150)), [button], 2.1) is None  # did not start on it


@contextmanager
def session_app(
    surface, calibration, path, code, plan, *, auto_seed=None, affected_side=None, sway=1.0
):
    """A real app on the simulated board with a records file, on a clock the test moves;
    everything closed afterwards."""
    clock = ManualClock(T0)
    board = simulated_board(clock, calibration, path.parent, sway=sway)
    try:
        with Store(path) as store:
            store.add_patient(code, affected_side=affected_side, created_at=T0)
            auto = None if auto_seed is None else AutoPatient(board.link, seed=auto_seed)
            session = PatientSession(
                store, code, clock=clock, geometry=board.geometry, board_kind=board.kind, plan=plan
            )
            yield App(surface, board, clock=clock, session=session, auto_patient=auto)
    finally:
        board.close()


def finger(kind, pos, size=theme.SCREEN_SIZE):
    return pygame.event.Event(
        kind,
        x=pos[0] / size[0],
        y=pos[1] / size[1],
        dx=0,
        dy=0,
        touch_id=1,
        finger_id=0,
        pressure=1.0,
    )


def mouse(kind, pos, touch=False):
    return pygame.event.Event(kind, pos=pos, button=1, touch=touch)


def test_start_by_finger_and_by_mouse_and_a_double_tap_presses_once(calibration, surface, tmp_path):
    with session_app(surface, calibration, tmp_path / "r.sqlite3", "P-1", DEFAULT_PLAN) as app:
        app.step([])
        assert app.current.name == "welcome"
        start = app.current.primary.rect
        assert start.width >= MIN_TARGET_PX and start.height >= MIN_TARGET_PX
        # the finger path
        app.step([finger(pygame.FINGERDOWN, start.center), finger(pygame.FINGERUP, start.center)])
        assert app.current.name == "board" and app.session.session_id is not None
        first_session = app.session.session_id
        app.go("welcome")
        # a tremor: the same tap again within 400 ms is ignored
        app.step([finger(pygame.FINGERDOWN, start.center), finger(pygame.FINGERUP, start.center)])
        assert app.current.name == "welcome"
        app.clock.advance(0.45)
        # the mouse copy of a touch (touch=True) is not used; a real mouse click is
        app.step(
            [
                mouse(pygame.MOUSEBUTTONDOWN, start.center, touch=True),
                mouse(pygame.MOUSEBUTTONUP, start.center, touch=True),
            ]
        )
        assert app.current.name == "welcome"
        app.step(
            [mouse(pygame.MOUSEBUTTONDOWN, start.center), mouse(pygame.MOUSEBUTTONUP, start.center)]
        )
        assert app.current.name == "board" and app.session.session_id != first_session
        run_for(app, 4.0)  # standing still on the board: the check passes
        assert app.current.name == "instructions"
        assert app.current.primary.rect.height >= MIN_TARGET_PX
        pygame.image.save(surface, str(tmp_path / "instructions.png"))


def test_a_short_program_runs_by_itself_and_its_results_are_kept(calibration, surface, tmp_path):
    plan = (
        PlannedExercise("quiet-stance", "Standing still", "Stand still.", {"duration_s": 5.0}),
        PlannedExercise("heel-raises", "Heel raises", "Up on your toes.", {"target_reps": 3}),
        PlannedExercise("flamingo", "On one leg", "Lift a foot.", {"leg": "left", "hold_s": 4.0}),
    )
    with session_app(
        surface,
        calibration,
        tmp_path / "r.sqlite3",
        "P-2",
        plan,
        auto_seed=3,
        affected_side="right",
        sway=0.7,
    ) as app:
        seen = []
        end = app.clock.monotonic() + 90
        while app.current.name != "done" and app.clock.monotonic() < end:
            app.step([])
            if not seen or seen[-1] != app.current.name:
                seen.append(app.current.name)
            app.clock.advance(FRAME_S)
        assert app.current.name == "done", seen
        assert app.error is None
        assert [r.exercise for r in app.session.completed] == [
            "quiet-stance",
            "heel-raises",
            "flamingo",
        ]
        assert all(r.score is not None for r in app.session.completed)
        kept = app.session.store.trials("P-2")
        assert [t.exercise for t in kept] == ["quiet-stance", "heel-raises", "flamingo"]
        assert kept[1].result["metrics"]["reps"] == 3
        assert kept[2].result["sides"] == {"stance": "unaffected"}


def test_stepping_off_mid_exercise_stops_calmly_and_is_recorded(calibration, surface, tmp_path):
    plan = (
        PlannedExercise("quiet-stance", "Standing still", "Stand still.", {"duration_s": 30.0}),
    )
    with session_app(surface, calibration, tmp_path / "r.sqlite3", "P-3", plan) as app:
        app.start_session()
        app.go("exercise")
        run_for(app, 2.0)
        app.link.command("step_off", duration=0.3)
        run_for(app, 2.5)
        assert app.current.name == "safety"
        pygame.image.save(surface, str(tmp_path / "safety.png"))
        # kept, scored on the part before, and flagged: the therapist sees both
        [trial] = app.session.store.trials("P-3")
        assert "stepped_off" in trial.result["flags"]
        assert "target_reached" not in trial.result["flags"]
        assert app.session.store.events("safety_stop")


def test_a_moment_off_the_board_is_a_safety_stop_too(calibration, surface, tmp_path):
    """Off and straight back on (a stumble caught on the floor) still stops: the trial cannot
    go on where it was cut, and she is asked whether she is all right."""
    plan = (
        PlannedExercise("quiet-stance", "Standing still", "Stand still.", {"duration_s": 30.0}),
    )
    with session_app(surface, calibration, tmp_path / "r.sqlite3", "P-3", plan) as app:
        app.start_session()
        app.go("exercise")
        run_for(app, 2.0)
        app.link.command("step_off", duration=0.2)
        run_for(app, 0.4)
        app.link.command("step_on", duration=0.2)
        run_for(app, 1.0)
        assert app.current.name == "safety"
        [trial] = app.session.store.trials("P-3")
        assert "stepped_off" in trial.result["flags"]


def test_a_corner_unplugged_mid_exercise_is_named_not_scored_and_recovers(
    calibration, surface, tmp_path
):
    plan = (
        PlannedExercise("quiet-stance", "Standing still", "Stand still.", {"duration_s": 4.0}),
        PlannedExercise("quiet-stance", "Standing still", "Stand still.", {"duration_s": 3.0}),
    )
    with session_app(surface, calibration, tmp_path / "r.sqlite3", "P-4", plan) as app:
        app.start_session()
        app.go("exercise")
        run_for(app, 1.5)
        app.link.command("unplug", corner=1)
        run_for(app, 1.0)
        assert app.current.name == "exercise"  # no safety stop for a sensor fault
        shot = tmp_path / "fault.png"
        pygame.image.save(surface, str(shot))
        red = pygame.mask.from_threshold(surface, theme.DANGER, (4, 4, 4, 255)).count()
        assert red > 500  # "Board problem" in the middle of the screen
        app.link.command("plug_in", corner=1)
        run_for(app, 3.5)
        assert app.current.name == "result"
        first = app.session.last_result
        assert first.score is None
        assert "front-right corner" in first.quality.sensor_faults[0]
        assert app.session.store.trials("P-4")[0].score is None
        app.next_exercise()
        app.go("exercise")  # the cell is back: the next trial is scored
        run_for(app, 5.0)
        assert app.current.name == "result" and app.session.last_result.score is not None


@pytest.mark.slow
def test_demo_writes_a_png_of_every_screen_and_the_records(tmp_path):

    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    pngs = sorted(out.glob("*.png"))
    names = {p.stem.split("-", 1)[1] for p in pngs}
    assert len(pngs) >= 12 and len(names) >= 12
    for expected in (
        "welcome-quiet-stance",
        "instructions-flamingo",
        "exercise-heel-raises",
        "result-weight-shift",
        "done",
        "board-corner-unplugged",
        "safety-stop",
        "failsafe",
        "rest-flamingo",
        "progress",
        "pin",
        "therapist",
        "program",
        "settings",
        "export-done",
        "calibration-clear",
        "welcome-large-text",
        "welcome-portrait-720x1280",
    ):
        assert expected in names
    with Store(out / "balance-board.sqlite3") as store:
        measured = [t for t in store.trials("P-DEMO") if t.note != "synthetic"]
        assert [t.exercise for t in measured] == [p.exercise for p in DEMO_PLAN]
        assert all(store.recording(t.id) is not None for t in measured)
        assert len(store.trials("P-DEMO")) > 250  # with twelve weeks of labelled history
    # the therapist's side: the report and every export
    assert (out / "report.pdf").read_bytes()[:5] == b"%PDF-"
    rows = list(csv.DictReader((out / "export" / "P-DEMO-trials.csv").open(encoding="utf-8-sig")))
    assert len(rows) > 250 and {row["board"] for row in rows} == {"sim"}  # all simulated, said so
    assert json.loads((out / "export" / "P-DEMO-bundle.json").read_text())["type"] == "collection"
    assert len(list((out / "export" / "P-DEMO-recordings").glob("*.txt"))) >= 4
    for png in pngs:  # real pictures, not blank
        image = pygame.image.load(str(png))
        portrait = "portrait" in png.stem
        assert image.get_size() == ((720, 1280) if portrait else theme.SCREEN_SIZE)
        colours = {
            tuple(image.get_at((x, y)))
            for x in range(0, image.get_width(), 40)
            for y in range(0, image.get_height(), 40)
        }
        assert len(colours) > 1


def test_every_button_on_every_screen_is_a_big_enough_target(calibration, surface, tmp_path):
    with session_app(surface, calibration, tmp_path / "r.sqlite3", "P-5", DEFAULT_PLAN) as app:
        checked = 0
        for name, screen in app.screens.items():
            if not hasattr(screen, "make_buttons"):
                continue
            app.machine.current = screen  # lay the screen out without running its flow
            if name in ("program", "calibration", "pin", "export", "rest"):
                screen.enter()  # these keep state the layout reads
            for button in screen.make_buttons():
                assert button.rect.width >= MIN_TARGET_PX, (name, button.label)
                assert button.rect.height >= MIN_TARGET_PX, (name, button.label)
                checked += 1
        assert checked >= 30


def test_no_two_buttons_on_a_screen_overlap(calibration, surface, tmp_path):
    with session_app(surface, calibration, tmp_path / "r.sqlite3", "P-6", DEFAULT_PLAN) as app:
        for name, screen in app.screens.items():
            if not hasattr(screen, "make_buttons"):
                continue
            app.machine.current = screen
            if name in ("program", "calibration", "pin", "export", "rest"):
                screen.enter()
            buttons = screen.make_buttons()
            for i, a in enumerate(buttons):
                for b in buttons[i + 1 :]:
                    assert not a.rect.colliderect(b.rect), (name, a.label, b.label)
                assert surface.get_rect().contains(a.rect), (name, a.label)


# --- a session that is safe for someone alone (docs/scoring.md) ----------------------------------
def test_the_board_check_weighs_her_and_the_stance_check_finds_the_feet(
    calibration, surface, tmp_path
):
    plan = (planned("quiet-stance", {"duration_s": 5.0}),)
    with session_app(
        surface, calibration, tmp_path / "r.sqlite3", "P-7", plan, auto_seed=4, affected_side="left"
    ) as app:
        app.start_session()
        seen = []
        end = app.clock.monotonic() + 60
        while app.current.name not in ("instructions", "exercise") and app.clock.monotonic() < end:
            app.step([])
            if not seen or seen[-1] != app.current.name:
                seen.append(app.current.name)
            app.clock.advance(FRAME_S)
        assert seen[:2] == ["board", "stance"], seen
        session = app.session
        assert session.weighed_kg == pytest.approx(70.0, abs=1.0)  # the simulated person's mass
        assert session.stance["measured"] and session.stance["left_outside_mm"] == 0
        [row] = session.store.sessions("P-7")
        assert row["body_mass_kg"] == pytest.approx(70.0, abs=1.0) and row["stance"]["measured"]
        context = session.context()
        assert context.body_mass_source == "weighed" and context.feet_measured


def test_before_one_leg_work_she_is_asked_who_is_nearby_and_not_today_leaves_it_out(
    calibration, surface, tmp_path
):
    plan = (planned("flamingo", {"leg": "left", "hold_s": 4.0}), planned("heel-raises", {}))
    with session_app(surface, calibration, tmp_path / "r.sqlite3", "P-8", plan) as app:
        app.start_session()
        app.go("instructions")
        app.step([])
        tap(app, app.current.primary.rect.center)
        assert app.current.name == "nearby"
        pygame.image.save(surface, str(tmp_path / "nearby.png"))
        not_today = next(b for b in app.current.buttons if b.label == "Skip this one")
        tap(app, not_today.rect.center)
        assert app.current.name == "rest" and app.session.planned.exercise == "heel-raises"
        [event] = app.session.store.events("skipped")
        assert "Standing on one leg" in event["message"]
        assert not app.session.store.trials("P-8", status=None)  # nothing was measured


def test_i_need_help_is_a_calm_instruction_in_the_middle_and_an_event(
    calibration, surface, tmp_path
):
    plan = (planned("quiet-stance", {"duration_s": 5.0}),)
    with session_app(surface, calibration, tmp_path / "r.sqlite3", "P-9", plan) as app:
        app.start_session()
        app.go("safety")
        app.step([])
        help_button = next(b for b in app.current.buttons if b.label == "I need help")
        tap(app, help_button.rect.center)
        assert app.current.name == "help"
        app.step([])
        pygame.image.save(surface, str(tmp_path / "help.png"))
        pixels = pygame.surfarray.array3d(surface)
        assert (pixels[266:533] > 200).any()  # the words in the middle third
        assert app.session.store.events("help_requested")
        tap(app, app.current.primary.rect.center)  # "Help has come": rest now, it is over
        assert app.current.name == "calm" and app.session.session_id is None
        tap(app, app.current.primary.rect.center)
        assert app.current.name == "welcome"
        [row] = app.session.store.sessions("P-9")
        assert row["ended_at"] is not None  # the session is closed, not left open


def test_the_result_leads_with_the_seconds_on_the_weak_leg_and_the_goal(
    calibration, surface, tmp_path
):
    plan = (planned("flamingo", {"leg": "left", "hold_s": 4.0}),)
    with session_app(
        surface,
        calibration,
        tmp_path / "r.sqlite3",
        "P-10",
        plan,
        auto_seed=1,
        affected_side="left",
        sway=0.6,
    ) as app:
        app.start_session()
        end = app.clock.monotonic() + 90
        while app.current.name != "result" and app.clock.monotonic() < end:
            app.step([])
            app.clock.advance(FRAME_S)
        assert app.current.name == "result"
        result = app.session.last_result
        head, _ = measured_words("flamingo", plan[0].params, result, "left")
        assert head.endswith(" s standing on your left leg")
        assert goal_words(plan[0]) == "Goal: 4 s"
        app.step([])
        pygame.image.save(surface, str(tmp_path / "result.png"))
        assert colour_count(surface, theme.GOOD) > 500  # the measured quantity, large


def test_better_than_last_time_only_beyond_the_noise(calibration, surface, tmp_path):
    plan = (planned("quiet-stance", {"duration_s": 30.0}),)
    with session_app(surface, calibration, tmp_path / "r.sqlite3", "P-11", plan) as app:
        store, session = app.session.store, app.session
        session.start()
        for score in (60.0, 62.0):
            trial = store.begin_trial(session.session_id, "quiet-stance", {"duration_s": 30.0}, T0)
            store.finish_trial(trial, {"score": score}, None, T0)
        for score, verdict in ((70.0, "same"), (90.0, "better"), (60.0, "worse")):
            session.begin_trial()
            result = QuietStance(TrialContext(), duration_s=30.0).finish()
            result.score = score
            session.finish_trial(result)
            change = session.last_change
            assert change.verdict == verdict and change.mdc == 15.0 and change.source == "default"
            # each result compared with the latest before it
            assert change.last_score == {70.0: 62.0, 90.0: 70.0, 60.0: 90.0}[score]


def tap(app, pos):
    app.step([finger(pygame.FINGERDOWN, pos), finger(pygame.FINGERUP, pos)])
    app.clock.advance(0.45)


def colour_count(surface, colour):
    return pygame.mask.from_threshold(surface, colour, (4, 4, 4, 255)).count()


def test_commands_run_while_the_app_is_mid_trial_change_nothing_of_it(
    calibration, surface, tmp_path
):
    plan = (planned("quiet-stance", {"duration_s": 5.0}),)
    with session_app(surface, calibration, tmp_path / "balance-board.sqlite3", "P-12", plan) as app:
        app.start_session()
        app.go("exercise")
        run_for(app, 2.0)
        assert app.session.trial_id is not None  # mid-trial
        for command in (["patient"], ["report", "--out", str(tmp_path / "r.pdf")]):
            done = subprocess.run(
                [sys.executable, "-m", "balance_board", *command, "--data-dir", str(tmp_path)],
                cwd=REPO,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
        run_for(app, 5.0)
        assert app.current.name == "result" and app.session.problem is None
        [trial] = app.session.store.trials("P-12")
        assert trial.status == "complete"
        assert trial.score == pytest.approx(app.session.last_result.score, abs=0.05)
