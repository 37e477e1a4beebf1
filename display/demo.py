"""``balance-board demo --out DIR``: a scripted session through the screens, without a display.

Runs the real app on the simulated board under SDL's dummy video driver, with the simulated
patient following the screen, and saves a PNG of each screen and state in DIR, with the
session's records (``balance-board.sqlite3``). For looking at every screen, and for the docs.

Time is a ``ManualClock`` moved one frame (1/60 s) a step, and the simulated board is read in
this process on that clock (``device.sim.link``): the demo takes the CPU time it needs, not the
minutes a patient would, and shows the same screens every run.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pygame

from clinic.program import Program, ProgramItem
from clinic.sim.synthetic import fill_history
from clinic.store import Store, StoreError
from device.board import open_board
from device.clock import ManualClock, SystemClock
from device.config import BoardConfig
from device.paths import records_path
from display import theme
from display.app import App
from display.kiosk import Panel
from display.pin import set_pin
from display.session import PatientSession, plan_from_program
from display.settings import Settings
from display.sim.patient import AutoPatient
from display.sound import Sound

DEMO_PATIENT = "P-DEMO"
DEMO_PIN = "2580"  # the demo sets this PIN in its own data folder and types it
DEMO_PROGRAM = Program(
    exercises=(
        ProgramItem("quiet-stance", {"eyes": "open", "duration_s": 8.0}),
        ProgramItem("heel-raises", {"target_reps": 3}),
        ProgramItem("flamingo", {"leg": "left", "hold_s": 6.0, "ceiling_s": 10.0}),
        ProgramItem("weight-shift", {"cycles": 1}),
        ProgramItem("sit-to-stand", {"target_reps": 3}),
        ProgramItem("tandem-stance", {"front": "right", "hold_s": 5.0}),
    )
)
DEMO_PLAN = plan_from_program(DEMO_PROGRAM)
STEP_S = 1 / 60  # one frame of the app
READ_S = 0.9  # a screen is photographed once it has been up this long


def run_demo(
    out: Path, data_dir: Path, config: BoardConfig | None = None, *, timeout_s: float = 240
) -> list[Path]:
    """Play the demo session; returns the PNG files written."""
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ["SDL_AUDIODRIVER"] = "dummy"
    out.mkdir(parents=True, exist_ok=True)
    clock = ManualClock(SystemClock().now_iso())
    board = open_board(
        "sim", data_dir, config=config, now_iso=clock.now_iso(), clock=clock, sway=0.8
    )
    pygame.init()
    surface = pygame.display.set_mode(theme.SCREEN_SIZE)
    written: list[Path] = []
    store = Store(records_path(data_dir))
    try:
        try:
            store.add_patient(
                DEMO_PATIENT,
                affected_side="left",
                birth_year=1954,
                sex="female",
                created_at=clock.now_iso(),
            )
            # twelve weeks of synthetic history (marked so in every record) before today's real
            # session, so that progress and the report have weeks to show
            today = datetime.fromisoformat(clock.now_iso()).date()
            fill_history(store, DEMO_PATIENT, today - timedelta(days=84), 84, seed=5)
        except StoreError:
            pass  # a second demo in the same folder
        session = PatientSession(
            store,
            DEMO_PATIENT,
            clock=clock,
            geometry=board.geometry,
            board_kind=board.kind,
            plan=DEMO_PLAN,
            data_folder=data_dir,
        )
        app = App(
            surface,
            board,
            clock=clock,
            session=session,
            settings=Settings(),
            pin=set_pin(data_dir, DEMO_PIN),
            sound=Sound(data_dir / "speech-cache"),
            data_folder=data_dir,
            auto_patient=AutoPatient(board.link, seed=2),
        )

        def shot(name: str) -> None:
            path = out / f"{len(written) + 1:02d}-{name}.png"
            pygame.image.save(surface, str(path))
            written.append(path)

        def run(seconds: float) -> None:
            end = clock.monotonic() + seconds
            while clock.monotonic() < end:
                app.step([])
                clock.advance(STEP_S)

        seen = set()
        end = clock.monotonic() + timeout_s * 2  # the longer plan
        while app.current.name != "done" and clock.monotonic() < end:
            app.step([])
            key = (app.current.name, session.index)
            if key not in seen and clock.monotonic() - app.current.entered_at > READ_S:
                seen.add(key)
                shot(f"{app.current.name}-{session.planned.exercise}")
            clock.advance(STEP_S)
        run(0.5)
        shot("done")
        # the states a good session does not show
        app.go("board")
        session.session_id = None  # the plain board view, not the board check
        board.link.command("unplug", corner=0)
        run(1.5)
        shot("board-corner-unplugged")
        board.link.command("plug_in", corner=0)
        run(1.5)
        shot("board-check")
        # a safety stop as the exercise screen makes one (the records and the report count it),
        # then "I need help", which ends the session it was called from
        session.start()
        session.safety_stop("stepped off the board during the exercise")
        app.go("safety")
        run(0.3)
        shot("safety-stop")
        app.go("help")
        run(0.3)
        shot("help")
        app.go("failsafe")
        run(0.3)
        shot("failsafe")
        app.go("progress")
        run(0.3)
        shot("progress")
        # therapist mode: the PIN (typed, as a finger would), the menu and its screens
        app.auto_patient = None
        app.go("pin")
        pin = app.screens["pin"]
        for key in DEMO_PIN[:3]:
            pin.press(key)
        run(0.2)
        shot("pin")
        pin.press(DEMO_PIN[3])
        app.machine.run(pin.press, "OK")
        run(0.3)
        shot("therapist")
        for name in ("program", "settings", "export"):
            app.go(name)
            run(0.3)
            shot(name)
        usb = out / "usb-stick"
        usb.mkdir(exist_ok=True)
        os.environ["BALANCE_BOARD_USB"] = str(usb)
        app.machine.run(app.screens["export"].primary.action)
        run(0.3)
        shot("export-done")
        app.go("calibration")
        run(0.3)
        shot("calibration")
        app.screens["calibration"].start()
        app.screens["calibration"].simulate()
        run(0.5)
        shot("calibration-clear")
        # large text, and the same screen on a portrait panel (drawn landscape, turned)
        app.save_settings(replace(app.settings, large_text=True))
        app.go("welcome")
        run(0.3)
        shot("welcome-large-text")
        portrait = Panel((720, 1280), 90)
        window = pygame.Surface(portrait.window_size)
        portrait.present(surface, window)
        path = out / f"{len(written) + 1:02d}-welcome-portrait-720x1280.png"
        pygame.image.save(window, str(path))
        written.append(path)
    finally:
        board.close()
        store.close()
        pygame.quit()
    return written
