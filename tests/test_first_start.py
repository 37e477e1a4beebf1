"""The first start and turning the board off, with the real app as ``balance-board run`` starts
it on a data folder (``display.app.open_records``), the simulated board, a ManualClock and taps
under SDL's dummy drivers; the operating system is a fake that counts what it is asked. A
screenshot of every new screen is saved in the test's folder."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["SDL_AUDIODRIVER"] = "dummy"
pygame = pytest.importorskip("pygame")

from clinic.program import device_program  # noqa: E402
from clinic.store import Store, StoreError  # noqa: E402
from device.clock import ManualClock  # noqa: E402
from device.system import SystemActionError, zone_words  # noqa: E402
from display import theme  # noqa: E402
from display.app import App, open_records  # noqa: E402
from display.first_start import (  # noqa: E402
    DONE,
    MARKER,
    NEW,
    RESUME,
    first_start_state,
    mark,
    read_marker,
)
from display.first_start_screens import SOUND_TEST_SPOKEN  # noqa: E402
from display.pin import ASK_TECHNICIAN, check_pin, load_pin, set_pin  # noqa: E402
from display.power import STILL_ON_S, TURNING_OFF, UNPLUG  # noqa: E402
from display.session import PatientSession  # noqa: E402
from display.settings import load_settings  # noqa: E402
from display.sound import Sound  # noqa: E402
from display.widgets import MIN_TARGET_PX  # noqa: E402
from tests.conftest import T0, run_for, simulated_board  # noqa: E402
from tests.test_app_screens import colour_count, fake_espeak, finger_tap, mouse_tap  # noqa: E402

RECORDS = "balance-board.sqlite3"
PIN = "4711"


class FakeSystem:
    """The operating system as the app sees it (``device.system.System``), counting what it is
    asked; ``power_problem`` / ``zone_problem`` make an action fail with those words."""

    def __init__(self, zone: str | None = "Europe/Paris", power_problem: str = "") -> None:
        self.zone = zone
        self.power_problem = power_problem
        self.zone_problem = ""
        self.power_offs = 0
        self.zones_set: list[str] = []

    def power_off(self) -> None:
        self.power_offs += 1
        if self.power_problem:
            raise SystemActionError(self.power_problem)

    def set_time_zone(self, zone: str) -> None:
        if self.zone_problem:
            raise SystemActionError(self.zone_problem)
        self.zones_set.append(zone)
        self.zone = zone

    def time_zone(self) -> str | None:
        return self.zone


@contextmanager
def device(surface, calibration, folder: Path, system=None, *, sound=None, clock=None):
    """The app as ``balance-board run`` starts it on ``folder``: its settings, PIN, program,
    records and the first start's rule (``open_records``), on the simulated board."""
    clock = clock or ManualClock(T0)
    board = simulated_board(clock, calibration, folder, sway=0.5)
    pin = load_pin(folder)
    program, _ = device_program(folder)
    store, session, first_start, trouble = open_records(folder, board, clock, pin, program)
    try:
        app = App(
            surface,
            board,
            clock=clock,
            session=session,
            settings=load_settings(folder),
            pin=pin,
            sound=sound,
            data_folder=folder,
            system=system or FakeSystem(),
            first_start=first_start if session is not None else DONE,
        )
        app.trouble = trouble
        app.step([])
        yield app
    finally:
        board.close()
        if store is not None:
            store.close()


def labelled(app, start: str):
    """The centre of the current screen's button whose label starts with ``start``."""
    exact = [b for b in app.current.buttons if b.label == start]
    found = exact or [b for b in app.current.buttons if b.label.startswith(start)]
    assert found, (app.current.name, [b.label for b in app.current.buttons])
    return found[0].rect.center


def tap(app, start: str, *, mouse: bool = False) -> None:
    (mouse_tap if mouse else finger_tap)(app, labelled(app, start))


def type_keys(app, keys: str) -> None:
    for key in keys:
        finger_tap(app, labelled(app, key))


def shot(app, folder: Path, name: str) -> Path:
    """Draw the current screen and keep it as a PNG for a person to look at."""
    app.step([])
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.png"
    pygame.image.save(app.surface, str(path))
    return path


def check_targets(app) -> None:
    """Every button of the current screen is a big enough target inside the screen."""
    for button in app.current.buttons:
        assert button.rect.width >= MIN_TARGET_PX and button.rect.height >= MIN_TARGET_PX
        assert app.surface.get_rect().contains(button.rect), button.label


def events(folder: Path, kind: str) -> list[dict]:
    with Store(folder / RECORDS) as store:
        return store.events(kind)


def calibrate_by_touch(app) -> None:
    """Start the calibration wizard and do what it says, on the simulated board."""
    tap(app, "Start")
    end, step = app.clock.monotonic() + 90, None
    while app.current.procedure is not None and app.clock.monotonic() < end:
        shown = (app.current.shown.step, app.current.shown.corner)
        if shown != step:
            step = shown
            app.current.simulate()  # the therapist does what the screen says, once a step
        run_for(app, 0.05)
    assert app.current.message == "Calibrated and saved."


def run_first_start(app, shots: Path | None = None, *, calibrate: bool = True) -> None:
    """Go through the whole first start as the therapist would, by touch."""

    def keep(name: str) -> None:
        if shots is not None:
            shot(app, shots, name)
            check_targets(app)

    assert app.current.name == "first-start"
    keep("01-first-start")
    tap(app, "Begin")
    assert app.current.name == "first-pin" and read_marker(app.data_folder) == "begun"
    keep("02-first-pin")
    type_keys(app, PIN)
    tap(app, "OK")
    assert "again" in app.current.message
    type_keys(app, PIN)
    tap(app, "OK", mouse=True)
    assert app.current.name == "first-clock"
    keep("03-first-clock")
    tap(app, "Change time zone")
    assert app.current.name == "time-zone"
    keep("04-time-zone")
    tap(app, "More places")
    tap(app, "Berlin")
    assert app.current.name == "first-clock" and app.current.message == "Time zone set: Berlin."
    keep("05-first-clock-zone-set")
    tap(app, "Right, go on")
    assert app.current.name == "first-patient" and app.current.code == "P-0001"
    for _ in "0001":
        tap(app, "Del")
    type_keys(app, "42")
    tap(app, "A-J")  # the letters
    type_keys(app, "B")
    keep("06-first-patient")
    tap(app, "Next")
    assert app.current.name == "first-side"
    keep("07-first-side")
    tap(app, "Left")
    assert app.current.name == "first-calibration"
    keep("08-first-calibration")
    if calibrate:
        tap(app, "Calibrate now")
        assert app.current.name == "calibration"
        calibrate_by_touch(app)
        keep("08b-calibration-saved")
        tap(app, "Back")
        assert app.current.name == "first-calibration" and app.current.calibrated
        keep("09-first-calibration-done")
        tap(app, "Next")
    else:
        tap(app, "Later")
    assert app.current.name == "first-sound"
    keep("10-first-sound")
    tap(app, "No")
    keep("11-first-sound-not-heard")
    tap(app, "Play again, louder")
    tap(app, "Yes")
    assert app.current.name == "welcome"


# --- the whole first start, by touch ------------------------------------------------------------
def test_a_new_device_runs_its_first_start_once_and_deleting_the_pin_does_not_bring_it_back(
    calibration, surface, tmp_path
):
    folder = tmp_path / "data"
    folder.mkdir()
    shots = tmp_path / "screens"
    pygame.init()
    sound = Sound(tmp_path / "speech", 0.6, espeak=fake_espeak(tmp_path))
    system = FakeSystem()
    with device(surface, calibration, folder, system, sound=sound) as app:
        sound.prepare(app.spoken_texts(), wait=True)
        assert app.first_start == NEW
        assert app.session.patient_code is None  # no patient made up before she says
        run_first_start(app, shots)
        assert sound.played.count(f"say:{SOUND_TEST_SPOKEN}") == 2  # once, and again louder
        assert load_settings(folder).volume == pytest.approx(1.0)  # louder, and kept
        assert system.zones_set == ["Europe/Berlin"]
        assert app.session.patient_code == "P-42B"
        assert app.session.store.patient("P-42B").affected_side == "left"
        flamingo = next(p for p in app.session.plan if p.exercise == "flamingo")
        assert flamingo.params["leg"] == "left"  # today's plan follows her weaker side
        shot(app, shots, "12-welcome")
        start = app.current.primary
        assert start.label == "Start"
    assert check_pin(load_pin(folder), PIN, 0).accepted
    marker = json.loads((folder / MARKER).read_text())
    assert marker["state"] == "done" and "P-42B" in marker["summary"]
    assert "calibrated" in marker["summary"] and "sound heard" in marker["summary"]
    assert (folder / "calibration-sim.json").exists()
    kinds = [e["kind"] for e in events(folder, None)]
    assert kinds.index("pin_set") < kinds.index("patient") < kinds.index("first_start")
    assert "time_zone" in kinds and "calibration" in kinds

    # a second start: straight to the patient's welcome
    with device(surface, calibration, folder, system) as app:
        assert app.first_start == DONE and app.current.name == "welcome"
        assert app.session.patient_code == "P-42B"

    # the PIN file lost (deleted): no first start, no way to choose a PIN; ask the technician
    (folder / "pin.json").unlink()
    with device(surface, calibration, folder, system) as app:
        assert app.first_start == DONE and app.current.name == "welcome"
        tap(app, "Therapist")
        assert app.current.name == "pin" and app.current.message == ASK_TECHNICIAN
        type_keys(app, PIN)
        tap(app, "OK")
        assert app.current.name == "pin" and not (folder / "pin.json").exists()


def test_first_start_with_the_calibration_left_for_later_and_no_sound_device(
    calibration, surface, tmp_path
):
    shots = tmp_path / "screens"
    with device(surface, calibration, tmp_path) as app:
        assert app.sound is None
        tap(app, "Begin")
        type_keys(app, PIN)
        tap(app, "OK")
        type_keys(app, PIN)
        tap(app, "OK")
        tap(app, "Right, go on")
        tap(app, "Next")  # P-0001, as offered
        tap(app, "Neither")
        tap(app, "Later")
        assert app.current.name == "first-sound"
        shot(app, shots, "first-sound-no-device")
        assert colour_count(app.surface, theme.WARNING) > 300  # "No sound device found"
        tap(app, "Go on without sound")
        assert app.current.name == "welcome"
        assert app.session.store.patient("P-0001").affected_side is None
    summary = json.loads((tmp_path / MARKER).read_text())["summary"]
    assert "calibration left for later" in summary and "sound not tested" in summary


def test_a_wrong_patient_code_is_refused_in_words(calibration, surface, tmp_path):
    with device(surface, calibration, tmp_path) as app:
        app.go("first-patient")
        for _ in "P-0001":
            tap(app, "Del")
        tap(app, "Next")
        assert app.current.name == "first-patient" and "1 to 32" in app.current.message
        tap(app, "A-J")
        tap(app, "K-T")
        tap(app, "U-Z")
        type_keys(app, "-")
        tap(app, "Next")  # a code may not start with "-"
        assert app.current.name == "first-patient" and "letter or a digit" in app.current.message
        shot(app, tmp_path / "screens", "first-patient-refused")


def test_the_time_zone_the_system_refuses_is_said_in_words(calibration, surface, tmp_path):
    system = FakeSystem(zone=None)
    system.zone_problem = (
        "The board is not allowed to change its time zone. Please tell the technician."
    )
    with device(surface, calibration, tmp_path, system) as app:
        app.go("first-clock")
        app.step([])
        assert zone_words(app.system.time_zone()) == "not set"
        tap(app, "Change time zone")
        tap(app, "London")
        # said in words on the clock screen, which has room for them; nothing changed
        assert app.current.name == "first-clock" and app.current.message == system.zone_problem
        assert app.error is None and system.zones_set == []
        shot(app, tmp_path / "screens", "time-zone-refused")
        assert colour_count(app.surface, theme.WARNING) > 300
        assert events(tmp_path, "time_zone_failed")


def test_an_unsynchronised_clock_is_said_on_the_clock_screen(calibration, surface, tmp_path):
    clock = ManualClock(T0, synchronised=False)
    with device(surface, calibration, tmp_path, clock=clock) as app:
        app.go("first-clock")
        shot(app, tmp_path / "screens", "first-clock-not-synchronised")
        assert app.current.synchronised is False
        assert colour_count(app.surface, theme.WARNING) > 300


# --- the rule: deleting or damaging a file never brings the first start back --------------------
def set_up(folder: Path) -> None:
    """A device whose first start is done: the PIN, the patient and its PIN event, the marker."""
    set_pin(folder, PIN, b"s" * 16)
    with Store(folder / RECORDS) as store:
        store.add_patient("P-1", affected_side="right", created_at=T0)
        store.log_event("pin_set", "the therapist chose the first PIN at the first start", T0)
    mark(folder, "done", T0)


def state_after(folder: Path) -> str:
    """What a start finds now (as ``open_records`` decides), or "trouble" when the records
    cannot be used."""
    with Store(folder / RECORDS) as store:
        return first_start_state(folder, store, load_pin(folder))


def delete(path: Path) -> None:
    path.unlink()


def damage(path: Path) -> None:
    path.write_bytes(b"\x00\xff power cut \x00" * 50)


FILES = ("pin.json", MARKER, RECORDS)


@pytest.mark.parametrize("harm", [delete, damage], ids=["deleted", "damaged"])
@pytest.mark.parametrize("name", FILES)
def test_losing_any_one_file_never_offers_to_choose_a_pin(tmp_path, name, harm):
    set_up(tmp_path)
    harm(tmp_path / name)
    if name == RECORDS and harm is damage:
        with pytest.raises(StoreError):  # the app shows "exercises are off" (test below)
            Store(tmp_path / RECORDS)
        return
    state = state_after(tmp_path)
    assert state == DONE, state


@pytest.mark.parametrize(
    "lost", [("pin.json", MARKER), ("pin.json", RECORDS), (MARKER, RECORDS)], ids="+".join
)
def test_losing_two_files_never_offers_to_choose_a_pin_either(tmp_path, lost):
    set_up(tmp_path)
    for name in lost:
        (tmp_path / name).unlink()
    state = state_after(tmp_path)
    # with the PIN still there, the first start may go on, but only behind that PIN
    assert state == (RESUME if "pin.json" not in lost else DONE), state


def test_only_a_device_wiped_by_the_technician_starts_anew(tmp_path):
    set_up(tmp_path)
    for name in FILES:
        (tmp_path / name).unlink()
    assert state_after(tmp_path) == NEW  # documented: a shell on the device did this


def test_a_damaged_records_file_shows_exercises_off_and_no_first_start(
    calibration, surface, tmp_path
):
    damage(tmp_path / RECORDS)
    with device(surface, calibration, tmp_path) as app:
        assert app.trouble and app.session is None
        assert app.first_start == DONE and app.current.name == "board"
    assert not (tmp_path / MARKER).exists() and not (tmp_path / "pin.json").exists()


@pytest.mark.parametrize(
    "text",
    [b"\x00\xff power cut", b'{"salt_hex": "00", "failed_attempts": -5}'],
    ids=["bytes", "json"],
)
def test_a_damaged_pin_file_on_a_device_that_never_finished_stays_closed(tmp_path, text):
    (tmp_path / "pin.json").write_bytes(text)
    with Store(tmp_path / RECORDS):
        pass
    assert state_after(tmp_path) == DONE
    # unreadable, it stays where it is; readable but wrong, it is kept aside: either way it
    # still closes the next start
    assert (tmp_path / "pin.json").exists() or (tmp_path / "pin.json.bad").exists()
    assert state_after(tmp_path) == DONE


def test_a_first_start_cut_short_resumes_behind_its_pin_or_from_the_start(
    calibration, surface, tmp_path
):
    # cut short before the PIN was chosen: from the start again
    mark(tmp_path, "begun", T0)
    with Store(tmp_path / RECORDS):
        pass
    assert state_after(tmp_path) == NEW
    # cut short after it: the PIN is asked for, then the steps that are left
    with device(surface, calibration, tmp_path) as app:
        tap(app, "Begin")
        for _ in range(2):  # typed twice
            type_keys(app, PIN)
            tap(app, "OK")
        assert app.current.name == "first-clock"
    with device(surface, calibration, tmp_path) as app:
        assert app.first_start == RESUME and app.current.name == "first-start"
        shot(app, tmp_path / "screens", "first-start-resume")
        tap(app, "Go on")
        assert app.current.name == "first-unlock"
        shot(app, tmp_path / "screens", "first-unlock")
        type_keys(app, "1234")
        tap(app, "OK")
        assert app.current.name == "first-unlock" and "Wrong PIN" in app.current.message
        type_keys(app, PIN)
        tap(app, "OK")
        assert app.current.name == "first-clock"
        app.go("first-pin")  # even if a screen led there: no new PIN without the one set
        assert app.current.name == "first-unlock"
    # and when that PIN file is lost before the end: closed (its event is in the records)
    (tmp_path / "pin.json").unlink()
    assert state_after(tmp_path) == DONE


def test_pin_set_by_the_technician_first_means_the_first_start_asks_for_it(tmp_path):
    set_pin(tmp_path, PIN, b"t" * 16)
    with Store(tmp_path / RECORDS):
        pass
    assert state_after(tmp_path) == RESUME


def test_a_device_set_up_before_the_marker_existed_gets_one(calibration, surface, tmp_path):
    set_pin(tmp_path, PIN, b"s" * 16)
    with Store(tmp_path / RECORDS) as store:
        store.add_patient("P-0001", created_at=T0)
    with device(surface, calibration, tmp_path) as app:
        assert app.first_start == DONE and app.current.name == "welcome"
    assert read_marker(tmp_path) == "done"
    (tmp_path / RECORDS).unlink()
    (tmp_path / "pin.json").unlink()
    assert state_after(tmp_path) == DONE  # the marker alone keeps it closed now


def test_a_marker_of_any_odd_shape_counts_as_done(tmp_path):
    with Store(tmp_path / RECORDS):
        pass
    for text in ("", "[]", "null", '{"state": "new"}', '{"state": 1}', "x" * 5000):
        (tmp_path / MARKER).write_text(text)
        assert read_marker(tmp_path) == "damaged", text
        assert state_after(tmp_path) == DONE, text
    (tmp_path / MARKER).unlink()
    (tmp_path / MARKER).mkdir()  # not even a file
    assert state_after(tmp_path) == DONE


def test_a_records_file_with_only_other_events_still_offers_the_first_start(tmp_path):
    with Store(tmp_path / RECORDS) as store:
        # the board's reader restarting while the board is still unplugged at installation
        store.log_event("reader_restarted", "no HX711 answered", T0)
    assert state_after(tmp_path) == NEW
    with Store(tmp_path / RECORDS) as store:
        store.log_event("pin_reset", "PIN set by the technician from a shell", T0)
    assert state_after(tmp_path) == DONE  # a PIN was here once: closed


# --- turning the board off ----------------------------------------------------------------------
def set_up_app(surface, calibration, folder: Path, system):
    set_up(folder)
    return device(surface, calibration, folder, system)


def test_turning_off_asks_first_and_no_leaves_it_on(calibration, surface, tmp_path):
    system = FakeSystem()
    with set_up_app(surface, calibration, tmp_path, system) as app:
        assert app.current.name == "welcome"
        shot(app, tmp_path / "screens", "welcome-with-turn-off")
        tap(app, "Turn off")
        assert app.current.name == "power-off"
        shot(app, tmp_path / "screens", "power-off")
        check_targets(app)
        # a tremor's second tap where "Turn off" was lands on "No", not on "Yes"
        turn_off = app.screens["welcome"].buttons[2].rect
        yes = app.current.buttons[0].rect
        assert not yes.colliderect(turn_off)
        tap(app, "No, go back")
        assert app.current.name == "welcome"
        run_for(app, 2.0)
    assert system.power_offs == 0


def test_turning_off_shows_the_words_then_asks_the_system_once(calibration, surface, tmp_path):
    system = FakeSystem()
    with set_up_app(surface, calibration, tmp_path, system) as app:
        tap(app, "Turn off")
        tap(app, "Yes, turn it off")
        assert app.current.name == "turning-off"
        # the words were drawn on the step that showed the screen; the system is asked only
        # on the next one
        assert system.power_offs == 0
        app.step([])
        assert system.power_offs == 1
        shot(app, tmp_path / "screens", "turning-off")
        assert app.current.buttons == [] and not app.current.problem
        run_for(app, 5.0)
        assert system.power_offs == 1
        assert [e["message"] for e in app.session.store.events("power_off")] == [
            "turned off from the screen"
        ]
        assert TURNING_OFF.startswith("The board is turning off") and "unplug" in UNPLUG
        # accepted, but still on a minute later: said, with a way back
        app.clock.advance(STILL_ON_S + 1)
        app.step([])
        shot(app, tmp_path / "screens", "turning-off-still-on")
        tap(app, "Back to the start")
        assert app.current.name == "welcome"
    assert system.power_offs == 1


def test_a_failing_power_off_says_so_in_words(calibration, surface, tmp_path):
    words = "The board is not allowed to turn itself off. Please tell the technician."
    system = FakeSystem(power_problem=words)
    with set_up_app(surface, calibration, tmp_path, system) as app:
        tap(app, "Turn off")
        tap(app, "Yes, turn it off")
        app.step([])
        assert system.power_offs == 1
        assert app.current.name == "turning-off" and app.current.problem == words
        assert app.error is None  # no failsafe screen, no traceback
        shot(app, tmp_path / "screens", "turning-off-failed")
        assert colour_count(app.surface, theme.WARNING) > 300
        check_targets(app)
        assert app.session.store.events("power_off_failed")[0]["message"] == words
        tap(app, "Back to the start")
        assert app.current.name == "welcome"
    assert system.power_offs == 1


def test_a_board_not_calibrated_yet_is_calibrated_in_the_first_start(
    calibration, surface, tmp_path
):
    """A real board arrives uncalibrated: the app starts all the same (the board screen says
    so), and the first start's calibration makes its loads appear."""
    clock = ManualClock(T0)
    board = simulated_board(clock, calibration, tmp_path, sway=0.5)
    board.calibration = None  # as a new hx711 board: no calibration file yet
    try:
        with Store(tmp_path / RECORDS) as store:
            pin = load_pin(tmp_path)
            first = first_start_state(tmp_path, store, pin)
            session = PatientSession(
                store, None, clock=clock, geometry=board.geometry, board_kind=board.kind
            )
            app = App(
                surface,
                board,
                clock=clock,
                session=session,
                pin=pin,
                data_folder=tmp_path,
                system=FakeSystem(),
                first_start=first,
            )
            run_for(app, 1.0)
            assert app.error is None and app.current.name == "first-start"
            app.go("board")
            shot(app, tmp_path / "screens", "board-not-calibrated")
            assert app.screens["board"].latest is None  # no loads without a calibration
            assert colour_count(app.surface, theme.WARNING) > 300  # "not calibrated yet"
            app.go("first-calibration")
            tap(app, "Calibrate now")
            calibrate_by_touch(app)
            assert board.calibration is not None
            app.link.command("step_on")
            app.go("board")
            run_for(app, 3.0)
            assert app.screens["board"].latest.total_kg == pytest.approx(70.0, abs=0.5)
    finally:
        board.close()


def test_a_first_start_left_alone_after_the_pin_closes_behind_it(calibration, surface, tmp_path):
    """The steps after the PIN are therapist mode: left 5 minutes without a touch (she went to
    fetch the weight), they close, back to the first start's beginning, which asks for the
    PIN; a visitor cannot set the patient or calibrate."""
    from display.app import THERAPIST_IDLE_S

    with device(surface, calibration, tmp_path) as app:
        tap(app, "Begin")
        for _ in range(2):
            type_keys(app, PIN)
            tap(app, "OK")
        tap(app, "Right, go on")
        assert app.current.name == "first-patient"
        app.clock.advance(THERAPIST_IDLE_S + 1)
        app.step([])
        assert app.current.name == "first-start" and app.current.resuming
        tap(app, "Go on")
        assert app.current.name == "first-unlock"
        assert app.session.patient_code is None
