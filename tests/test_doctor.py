"""``balance-board doctor``: what it finds on this PC with the simulated board and a real data
folder, on a made-up Raspberry Pi's files, with damaged records, without a calibration, as
another user and on a read-only disk; its JSON parses; it never prints a traceback and never
writes a byte."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from balance_board import doctor
from balance_board.cli import main
from balance_board.doctor import OK, PROBLEM, WARNING, Finding, Options, System, examine
from clinic.store import Store
from device.calibration import save_calibration
from device.paths import calibration_path, records_path

REPO = Path(__file__).resolve().parents[1]


def now_iso(days_ago: float = 0) -> str:
    return (datetime.now().astimezone() - timedelta(days=days_ago)).isoformat(timespec="seconds")


def make_records(folder: Path, events: int = 3) -> Path:
    """A records file with a patient, a session, device events of this week (a reader restart
    among them) and a trial whose corner failed."""
    with Store(records_path(folder)) as store:
        store.add_patient("P-0001", affected_side="left")
        session = store.start_session("P-0001", now_iso(1), board="hx711", clock_synchronised=True)
        trial = store.begin_trial(session, "quiet-stance", {}, now_iso(1))
        result = {"score": None, "quality": {"sensor_faults": ["front-left corner: saturated"]}}
        store.finish_trial(trial, result, None, now_iso(1))
        store.log_event("reader_restarted", "reader restarted after exit code 1", now_iso(2))
        for i in range(events):
            store.log_event("therapist_mode", f"PIN accepted ({i})", now_iso(3))
    return records_path(folder)


@pytest.fixture
def pc(tmp_path_factory) -> System:
    """This PC's programs and libraries, but a file system with no Pi and no systemd in it:
    what the doctor finds does not depend on the machine the tests run on."""
    return System(root=tmp_path_factory.mktemp("pc-root"), run=lambda argv: None, environ={})


def by_topic(findings: list[Finding]) -> dict[str, Finding]:
    return {f.topic: f for f in findings}


def digest(folder: Path) -> dict[str, str]:
    """Every file under the folder (the log and SQLite's side files too) and its hash."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_well_formed(findings: list[Finding]) -> None:
    """What every report keeps: a known status per line, and what to do on every line that is
    not OK."""
    assert findings
    for f in findings:
        assert f.status in (OK, WARNING, PROBLEM), f
        assert f.found, f
        if f.status != OK:
            assert f.advice, f"no advice on {f}"
        json.dumps(f.to_dict())  # plain values only


# --- this PC, the simulated board, a real data folder ---------------------------------------------
def test_the_simulated_board_is_heard_through_the_real_driver_on_a_real_data_folder(
    tmp_path, calibration, pc
):
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    make_records(folder)
    recent = dataclasses.replace(calibration, calibrated_at=now_iso(days_ago=3))
    save_calibration(calibration_path(folder, "sim"), recent)
    (folder / "balance-board.log").write_text(
        f"{datetime.now():%Y-%m-%d %H:%M:%S},123 ERROR balance_board: unexpected error in run\n"
        "Traceback (most recent call last):\n"
        "2020-01-01 10:00:00,000 ERROR balance_board: an old one, not this week\n"
    )
    before = digest(folder)
    options = Options(board="sim", data_dir=str(folder), seconds=1.0)
    findings = examine(options, pc)
    assert_well_formed(findings)
    found = by_topic(findings)
    for corner in ("front-left", "front-right", "back-left", "back-right"):
        line = found[f"corner {corner}"]
        assert line.status == OK, line
        assert line.data["probed"] and 70 < line.data["rate_sps"] < 90
        assert "simulated board" in line.found and " g)" in line.found  # calibrated: grams
    assert found["corner front-left"].data["dout"] == 5
    assert found["corner front-left"].data["sck"] == 17
    assert found["calibration"].status == OK and "(3 days ago)" in found["calibration"].found
    records = found["records file"]
    assert records.status == OK
    assert records.data["schema"] >= 5 and records.data["integrity"] == "ok"
    assert records.data["patients"] == 1 and records.data["sessions"] == 1
    events = found["recent events"]
    assert events.status == WARNING  # a reader restart and a faulty corner this week
    assert events.data["events"] == {"reader_restarted": 1, "therapist_mode": 3}
    assert events.data["sensor_faults"] == {"front-left corner: saturated": 1}
    assert "reader restarted after exit code 1" in events.found
    log = found["app log"]
    assert log.status == WARNING and log.data["errors"] == 1  # this week's only
    assert found["data folder"].status == OK
    assert found["pin map"].data == {
        "dout": [5, 6, 13, 19],
        "sck": [17, 27, 22, 23],
        "rate_sps": 80,
        "source": "built-in defaults",
    }
    assert found["screen rotation"].data == {"degrees": 0, "source": "default"}
    for library in ("numpy", "scipy", "pygame-ce", "gpiozero"):
        assert found[library].status == OK and found[library].found[0].isdigit()
    assert found["lgpio"].status == OK  # a PC needs none
    assert found["kiosk service"].status == OK and not found["kiosk service"].data["systemd"]
    assert "KMSDRM" in found["display driver"].data["sdl_video_drivers"]
    assert doctor.exit_status(findings) == 0
    assert digest(folder) == before  # not a byte written: no SQLite side file, no log line


def test_a_faulty_simulated_corner_is_a_problem_naming_its_wires(tmp_path, pc):
    options = Options(
        board="sim", data_dir=str(tmp_path), seconds=1.0, sim_faults=((3, "unplugged"),)
    )
    findings = examine(options, pc)
    assert_well_formed(findings)
    found = by_topic(findings)
    assert found["corner back-right"].status == PROBLEM
    assert "not responding" in found["corner back-right"].found
    assert "GPIO19 (pin 35)" in found["corner back-right"].advice
    assert found["corner front-left"].status == OK  # the others keep their rate
    assert doctor.exit_status(findings) == 1


# --- the command line: text, JSON, exit status, never a traceback ---------------------------------
def test_the_command_prints_a_report_and_json_that_parses_with_the_exit_status(
    tmp_path, capsys, calibration
):
    make_records(tmp_path)
    status = main(["doctor", "--board", "sim", "--seconds", "0.5", "--data-dir", str(tmp_path)])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    lines = out.splitlines()
    assert lines[0].startswith("balance-board doctor, ")
    for topic in ("app", "pin map", "corner back-left", "records file", "clock", "kiosk service"):
        assert any(line[9:].startswith(topic) for line in lines), topic
    assert lines[-1].endswith(f"exit status {status}")
    assert status == (1 if any(line.startswith(PROBLEM) for line in lines) else 0)

    status = main(
        ["doctor", "--board", "sim", "--seconds", "0.5", "--data-dir", str(tmp_path), "--json"]
    )
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    report = json.loads(out)
    assert report["format"] == "balance-board-doctor/1"
    assert report["exit_status"] == status
    assert report["status"] in (OK, WARNING, PROBLEM)
    topics = [f["topic"] for f in report["findings"]]
    assert "records file" in topics and "corner front-right" in topics
    assert all(set(f) == {"topic", "status", "found", "advice", "data"} for f in report["findings"])
    assert not (tmp_path / "balance-board.log").exists()  # the doctor writes no log either


def test_a_bad_rotation_in_the_environment_is_reported_and_run_refuses_it(
    tmp_path, capsys, monkeypatch, pc
):
    monkeypatch.setenv("BALANCE_BOARD_ROTATE", "sideways")
    system = dataclasses.replace(pc, environ={"BALANCE_BOARD_ROTATE": "sideways"})
    found = by_topic(examine(Options(data_dir=str(tmp_path)), system))
    assert found["screen rotation"].status == PROBLEM
    assert "'sideways'" in found["screen rotation"].found
    # every command still parses its arguments; run says what is wrong in one line
    assert main(["doctor", "--data-dir", str(tmp_path), "--json"]) in (0, 1)
    status = main(["run", "--board", "sim", "--data-dir", str(tmp_path), "--exit-after", "1"])
    _, err = capsys.readouterr()
    assert status == 2
    assert "BALANCE_BOARD_ROTATE='sideways': use 0, 90 or 270" in err
    assert "Traceback" not in err


# --- broken pieces ------------------------------------------------------------------------------
def test_a_records_file_that_is_not_a_database_is_a_problem_and_the_rest_goes_on(tmp_path, pc):
    path = records_path(tmp_path)
    path.write_bytes(b"this is not a database, a failing SD card's sector " * 200)
    before = digest(tmp_path)
    findings = examine(Options(board="sim", data_dir=str(tmp_path), seconds=0.5), pc)
    assert_well_formed(findings)
    found = by_topic(findings)
    assert found["records file"].status == PROBLEM
    assert found["records file"].data["trouble"] == "damaged"
    assert "keep a copy" in found["records file"].advice
    assert found["recent events"].status == WARNING  # not read, and says why
    assert found["clock"].status in (OK, WARNING)  # the other checks ran
    assert found["corner back-right"].status == OK
    assert doctor.exit_status(findings) == 1
    assert digest(tmp_path) == before


def test_damaged_pages_inside_a_records_file_are_found_by_the_integrity_check(tmp_path, pc):
    path = make_records(tmp_path, events=2000)  # the events fill the file's last pages
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 30 * page
    for offset in range(len(data) - 8 * page, len(data), 3):  # what opening reads stays
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))
    findings = examine(Options(data_dir=str(tmp_path)), pc)
    assert_well_formed(findings)
    records = by_topic(findings)["records file"]
    assert records.status == PROBLEM and "is damaged" in records.found
    assert records.data["schema"] >= 5  # it opened; SQLite's check found the damage
    assert records.data["integrity"] != "ok"
    assert doctor.exit_status(findings) == 1


def test_without_a_calibration_the_real_board_is_a_problem_and_the_simulated_one_is_not(
    tmp_path, pc
):
    findings = examine(Options(board="hx711", data_dir=str(tmp_path)), pc)
    assert_well_formed(findings)
    found = by_topic(findings)
    assert found["calibration"].status == PROBLEM
    assert "has not been calibrated yet" in found["calibration"].found
    assert "Therapist → Calibrate" in found["calibration"].advice
    assert found["board pins"].status == PROBLEM  # asked for the real board on a PC
    assert "no GPIO here" in found["board pins"].found
    assert doctor.exit_status(findings) == 1

    found = by_topic(examine(Options(board="sim", data_dir=str(tmp_path), seconds=0.5), pc))
    assert found["calibration"].status == OK
    assert "calibrates itself" in found["calibration"].found
    assert not calibration_path(tmp_path, "sim").exists()  # listening did not calibrate it
    assert "(" not in found["corner front-left"].found.split("counts")[1]  # no grams


def test_an_old_or_damaged_calibration_is_said(tmp_path, calibration, pc):
    old = dataclasses.replace(calibration, calibrated_at=now_iso(days_ago=200))
    save_calibration(calibration_path(tmp_path, "hx711"), old)
    found = by_topic(examine(Options(board="hx711", data_dir=str(tmp_path)), pc))
    assert found["calibration"].status == WARNING
    assert "200 days ago" in found["calibration"].found
    assert "every six months" in found["calibration"].advice
    calibration_path(tmp_path, "hx711").write_text("{ not json")
    found = by_topic(examine(Options(board="hx711", data_dir=str(tmp_path)), pc))
    assert found["calibration"].status == PROBLEM and "damaged" in found["calibration"].found


def test_a_check_that_breaks_is_a_problem_and_the_others_go_on(tmp_path, monkeypatch, pc):
    def check_sound(self):  # named as the check it replaces: the report names it so
        raise PermissionError(13, "Permission denied", "/proc/asound/cards")

    monkeypatch.setattr(doctor.Doctor, "check_sound", check_sound)
    findings = examine(Options(data_dir=str(tmp_path)), pc)
    assert_well_formed(findings)
    found = by_topic(findings)
    assert found["sound"].status == PROBLEM
    assert "could not be checked: PermissionError" in found["sound"].found
    assert {"clock", "records file", "kiosk service"} <= set(found)


def test_a_missing_data_folder_is_not_made_and_a_bad_configuration_is_a_problem(tmp_path, pc):
    config = tmp_path / "board.toml"
    text = (REPO / "hardware" / "board.toml").read_text()
    config.write_text(text.replace("dout = [5, 6, 13, 19]", "dout = [5, 6, 13, 13]"))
    missing = tmp_path / "nowhere"
    options = Options(board="sim", data_dir=str(missing), geometry=str(config), seconds=0.5)
    findings = examine(options, pc)
    assert_well_formed(findings)
    found = by_topic(findings)
    assert (
        found["data folder"].status == WARNING
        and "does not exist yet" in found["data folder"].found
    )
    assert not missing.exists()
    assert found["board configuration"].status == PROBLEM
    assert "uses a GPIO twice" in found["board configuration"].found
    assert found["board pins"].status == PROBLEM  # not listened to: no pin map


# --- a made-up Raspberry Pi -----------------------------------------------------------------------
def make_pi(root: Path, *, active: str = "failed", throttled: str = "0x50005") -> System:
    """The files a Raspberry Pi 4 running the kiosk shows the doctor, and its commands'
    answers: systemd's view of the unit, the firmware's power flags."""
    files = {
        "proc/device-tree/model": "Raspberry Pi 4 Model B Rev 1.5\0",
        "etc/os-release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n',
        "dev/gpiochip0": "",
        "dev/dri/card1": "",
        "sys/class/drm/card1-DSI-1/status": "connected\n",
        "sys/class/drm/card1-HDMI-A-1/status": "disconnected\n",
        "sys/bus/platform/drivers/vc4-drm/.keep": "",
        "proc/asound/cards": (
            " 0 [Headphones     ]: bcm2835_headpho - bcm2835 Headphones\n"
            "                      bcm2835 Headphones\n"
            " 2 [UACDemoV10     ]: USB-Audio - UACDemoV1.0\n"
            "                      Jieli Technology UACDemoV1.0 at usb-0000:01:00.0-1.4\n"
        ),
        "etc/asound.conf": "defaults.pcm.card 1\ndefaults.ctl.card 1\n",
        "etc/balance-board/environment": "BALANCE_BOARD_ROTATE=90\n",
        "usr/bin/espeak-ng": "",
        "usr/lib/aarch64-linux-gnu/dri/v3d_dri.so": "",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "sys/class/drm/card1/device").mkdir(parents=True)
    (root / "sys/class/drm/card1/device/driver").symlink_to(
        root / "sys/bus/platform/drivers/vc4-drm"
    )
    (root / "run/systemd/system").mkdir(parents=True)
    (root / "var/lib/balance-board").mkdir(parents=True, mode=0o700)
    sub_state = "running" if active == "active" else "failed"
    unit = (
        f"LoadState=loaded\nActiveState={active}\nSubState={sub_state}\n"
        "NRestarts=5\nResult=exit-code\nUnitFileState=enabled\nUser=balance-board\n"
        "StateDirectory=balance-board\nEnvironment=SDL_VIDEODRIVER=kmsdrm\n"
        "EnvironmentFiles=/etc/balance-board/environment (ignore_errors=yes)\n"
    )
    answers = {"systemctl": unit, "vcgencmd": f"throttled={throttled}\n"}
    return System(
        root=root,
        run=lambda argv: answers.get(argv[0]),
        environ={},
        find_library=lambda name: None if name == "gbm" else f"lib{name}.so.1",
    )


def test_on_a_raspberry_pi_the_unit_power_display_and_sound_are_read_from_the_system(tmp_path):
    system = make_pi(tmp_path)
    findings = examine(Options(seconds=0.5), system)
    assert_well_formed(findings)
    found = by_topic(findings)
    assert "Raspberry Pi 4 Model B Rev 1.5" in found["app"].found
    # the service's data folder, found through the unit
    assert found["data folder"].data["path"] == str(tmp_path / "var/lib/balance-board")
    assert "StateDirectory" in found["data folder"].data["source"]
    assert found["screen rotation"].data == {
        "degrees": 90,
        "source": "/etc/balance-board/environment",
    }
    service = found["kiosk service"]
    assert service.status == PROBLEM and "failed" in service.found
    assert "journalctl -u balance-board" in service.advice
    assert found["power supply"].status == PROBLEM  # 0x50005: under-voltage now
    display = found["display"]
    assert display.status == OK
    assert "card1 (vc4-drm): DSI-1 connected, HDMI-A-1 disconnected" in display.found
    assert (
        found["graphics libraries"].status == PROBLEM
        and "libgbm" in found["graphics libraries"].found
    )
    sound = found["sound"]
    assert sound.status == WARNING  # asound.conf chooses card 1, which is not there
    assert [c["id"] for c in sound.data["cards"]] == ["Headphones", "UACDemoV10"]
    assert found["speech"].status == OK
    assert found["calibration"].status == PROBLEM  # a Pi's board not calibrated
    # the app is not running, so the pins were listened to: this PC has no Pi pins to give
    pins = found["board pins"]
    assert pins.status == PROBLEM and pins.data["probed"]
    assert "could not start" in pins.found
    assert doctor.exit_status(findings) == 1


def test_while_the_app_runs_its_pins_are_left_to_it(tmp_path):
    system = make_pi(tmp_path, active="active", throttled="0x0")
    found = by_topic(examine(Options(), system))
    assert found["board pins"].status == OK and found["board pins"].data == {"probed": False}
    assert "sudo systemctl stop balance-board" in found["board pins"].found
    assert found["kiosk service"].status == WARNING  # running, after 5 restarts
    assert found["power supply"].status == OK


# --- as another user, on a read-only disk ---------------------------------------------------------
def as_nobody() -> list[str]:
    """The command prefix that runs a program as the user nobody, or a skip saying why not."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as another user")
    prefix = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    done = subprocess.run(
        [*prefix, sys.executable, "-c", "import numpy, pygame, gpiozero"],
        capture_output=True,
        cwd="/",
    )
    if done.returncode != 0:
        pytest.skip(
            f"this Python and its libraries cannot be run by nobody: {done.stderr[-200:]!r}"
        )
    return prefix


def test_as_a_user_who_may_not_read_the_data_it_says_so_and_writes_nothing(calibration):
    prefix = as_nobody()
    top = Path(tempfile.mkdtemp(prefix="doctor-user-"))
    try:
        top.chmod(0o755)
        folder = top / "data"
        folder.mkdir(mode=0o700)
        make_records(folder)
        save_calibration(calibration_path(folder, "hx711"), calibration)
        before = digest(folder)
        done = subprocess.run(
            [
                *prefix,
                sys.executable,
                "-m",
                "balance_board",
                "doctor",
                "--json",
                "--data-dir",
                str(folder),
            ],
            capture_output=True,
            text=True,
            cwd="/",
            timeout=120,
            env={"PATH": os.environ["PATH"], "HOME": "/nonexistent", "PYTHONPATH": str(REPO)},
        )
        assert "Traceback" not in done.stdout + done.stderr, done.stderr
        report = json.loads(done.stdout)
        found = {f["topic"]: f for f in report["findings"]}
        assert report["user"] == "nobody"
        assert found["data folder"]["status"] == PROBLEM
        assert "cannot read it" in found["data folder"]["found"]
        assert "sudo -u balance-board" in found["data folder"]["advice"]
        for topic in ("records file", "calibration", "app log"):  # said once, not thrice
            assert found[topic]["status"] == WARNING
            assert "cannot look into the data folder" in found[topic]["found"]
        assert done.returncode == 1
        assert digest(folder) == before
    finally:
        shutil.rmtree(top)


@pytest.fixture
def read_only_disk(tmp_path):
    """A small file system of its own holding a data folder, remounted read-only (a failing
    SD card as the kernel leaves it), or a skip saying why there is none here."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small file system here (needs root): {done.stderr!r}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def test_on_a_read_only_disk_the_records_still_read_and_the_folder_is_a_problem(
    read_only_disk, calibration, pc
):
    folder = read_only_disk / "data"
    folder.mkdir(mode=0o700)
    make_records(folder)
    save_calibration(calibration_path(folder, "sim"), calibration)
    done = subprocess.run(["mount", "-o", "remount,ro", str(read_only_disk)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot remount read-only here: {done.stderr!r}")
    findings = examine(Options(board="sim", data_dir=str(folder), seconds=0.5), pc)
    assert_well_formed(findings)
    found = by_topic(findings)
    assert found["data folder"].status == PROBLEM and "read-only" in found["data folder"].found
    assert found["records file"].status == OK and found["records file"].data["sessions"] == 1
    assert found["calibration"].status == OK
    assert found["corner front-right"].status == OK
