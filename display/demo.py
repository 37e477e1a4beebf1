"""``balance-board demo --out DIR``: a scripted session through the screens, without a display.

Runs the real app on the simulated board under SDL's dummy video driver, with the simulated
patient following the screen, and saves a PNG of each screen and state in DIR, with the
session's records (``balance-board.sqlite3``). For looking at every screen, and for the docs.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from display.session import PlannedExercise

DEMO_PLAN = (
    PlannedExercise(
        "quiet-stance",
        "Standing still",
        "Stand with a foot on each mark. Look ahead and keep still.",
        {"eyes": "open", "duration_s": 8.0},
    ),
    PlannedExercise(
        "heel-raises",
        "Heel raises",
        "Hold the chair. Rise up on your toes, then come down slowly.",
        {"target_reps": 3},
    ),
    PlannedExercise(
        "flamingo",
        "Standing on one leg",
        "Hold the back of a chair. Lift one foot and stand on the other leg.",
        {"leg": "left", "hold_s": 6.0},
    ),
    PlannedExercise(
        "weight-shift",
        "Weight shifts",
        "Lean slowly to the side the screen shows, then back to the middle.",
        {"cycles": 1},
    ),
)


def run_demo(out: Path, data_dir: Path, calibration, geometry, *, timeout_s: float = 240) -> list:
    """Play the demo session; returns the PNG files written."""
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ["SDL_AUDIODRIVER"] = "dummy"
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from balance_board.cli import now_iso
    from clinic.store import Store, StoreError
    from clinic.synthetic import fill_history
    from device.acquisition import Acquisition, SimulatedSource
    from display import theme
    from display.app import App
    from display.kiosk import Panel
    from display.session import AutoPatient
    from display.settings import DEFAULT_PIN, Settings
    from display.sound import Sound

    out.mkdir(parents=True, exist_ok=True)
    pygame.init()
    surface = pygame.display.set_mode(theme.SCREEN_SIZE)
    link = Acquisition(SimulatedSource(geometry=geometry, realtime=True, sway=0.8))
    link.start()
    written: list[Path] = []
    store = Store(data_dir / "balance-board.sqlite3")
    try:
        try:
            store.add_patient(
                "P-DEMO", affected_side="left", birth_year=1954, sex="female", created_at=now_iso()
            )
            # twelve weeks of synthetic history (marked so in every record) before today's real
            # session, so that progress and the report have weeks to show
            today = datetime.fromisoformat(now_iso()).date()
            fill_history(store, "P-DEMO", today - timedelta(days=84), 84, seed=5)
        except StoreError:
            pass  # a second demo in the same folder
        app = App(
            surface,
            link,
            calibration,
            geometry,
            simulated=True,
            store=store,
            patient_code="P-DEMO",
            plan=DEMO_PLAN,
            auto_patient=AutoPatient(link, seed=2),
            settings=Settings().with_pin(DEFAULT_PIN, os.urandom(16)),
            data_folder=data_dir,
            sound=Sound(data_dir / "speech-cache"),
            calibration_path=data_dir / "calibration-sim.json",
        )

        def shot(name: str) -> None:
            path = out / f"{len(written) + 1:02d}-{name}.png"
            pygame.image.save(surface, str(path))
            written.append(path)

        def run(seconds: float, until=None) -> None:
            end = time.monotonic() + seconds
            while time.monotonic() < end and not (until and until()):
                app.step(pygame.event.get())
                time.sleep(0.01)

        seen = set()
        end = time.monotonic() + timeout_s
        while app.current.name != "done" and time.monotonic() < end:
            app.step(pygame.event.get())
            key = (app.current.name, app.index)
            if key not in seen and time.monotonic() - app.current.entered_at > 0.9:
                seen.add(key)
                shot(f"{app.current.name}-{app.planned.exercise if app.plan else ''}")
            time.sleep(0.01)
        run(0.5)
        shot("done")
        # the states a good session does not show
        app.go("board")
        app.screens["board"].enter()
        app.session_id = None
        link.command("unplug", corner=0)
        run(1.5)
        shot("board-corner-unplugged")
        link.command("plug_in", corner=0)
        run(1.5)
        shot("board-check")
        app.go("safety")
        run(0.3)
        shot("safety-stop")
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
        for key in DEFAULT_PIN[:3]:
            pin.press(key)
        run(0.2)
        shot("pin")
        pin.press(DEFAULT_PIN[3])
        pin.press("OK")
        run(0.3)
        shot("therapist")
        for name in ("program", "settings", "export"):
            app.go(name)
            run(0.3)
            shot(name)
        usb = out / "usb-stick"
        usb.mkdir(exist_ok=True)
        os.environ["BALANCE_BOARD_USB"] = str(usb)
        app.screens["export"].export()
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
        link.close()
        store.close()
        pygame.quit()
    return written
