"""What the app asks of the operating system (``device.system``): the exact D-Bus calls, words
for every failure, which system the app picks; and the polkit rules that allow exactly those
calls to the kiosk's user, checked by a real polkitd."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from device.system import (
    TIME_ZONES,
    LinuxSystem,
    NoSystem,
    SystemActionError,
    choose_system,
    read_time_zone,
    zone_words,
)
from tests.conftest import REPO

POLKIT_RULES = sorted((REPO / "systemd" / "polkit").glob("*.rules"))
SERVICE_USER = "balance-board"


def fake_busctl(folder: Path, *, answer: str = "", status: int = 0, hang_s: float = 0) -> Path:
    """A stand-in for busctl: keeps its arguments and whether its standard input was a
    terminal, then answers as told (busctl prints "Call failed: ..." and exits 1)."""
    script = folder / "busctl"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys, time\n"
        f"log = {str(folder / 'calls.jsonl')!r}\n"
        "with open(log, 'a') as f:\n"
        "    f.write(json.dumps({'argv': sys.argv[1:], 'tty': os.isatty(0)}) + '\\n')\n"
        f"time.sleep({hang_s})\n"
        f"sys.stderr.write({answer!r})\n"
        f"sys.exit({status})\n"
    )
    script.chmod(0o755)
    return script


def calls(folder: Path) -> list[dict]:
    path = folder / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_power_off_asks_logind_never_interactively(tmp_path):
    system = LinuxSystem(busctl=str(fake_busctl(tmp_path)))
    system.power_off()
    [call] = calls(tmp_path)
    assert call["argv"] == [
        "--system",
        "--timeout=10",
        "call",
        "org.freedesktop.login1",
        "/org/freedesktop/login1",
        "org.freedesktop.login1.Manager",
        "PowerOff",
        "b",
        "false",  # interactive: no password prompt can ever appear on the kiosk
    ]
    assert call["tty"] is False  # not the kiosk's tty1: nothing waits there for a password


def test_the_time_zone_is_set_by_timedated_never_interactively(tmp_path):
    system = LinuxSystem(busctl=str(fake_busctl(tmp_path)))
    system.set_time_zone("Europe/Berlin")
    [call] = calls(tmp_path)
    assert call["argv"][3:] == [
        "org.freedesktop.timedate1",
        "/org/freedesktop/timedate1",
        "org.freedesktop.timedate1",
        "SetTimezone",
        "sb",
        "Europe/Berlin",
        "false",
    ]


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ("Call failed: Interactive authentication required.", "not allowed to turn itself off"),
        ("Call failed: Access denied", "not allowed to turn itself off"),
        (
            "Call failed: There's already a shutdown or sleep operation in progress",
            "busy. Please try again",
        ),
        ("Call failed: Connection timed out", "did not answer in time"),
        ("Failed to connect to bus: No such file or directory", "could not turn itself off"),
    ],
)
def test_a_refused_power_off_is_said_in_words(tmp_path, answer, words):
    system = LinuxSystem(busctl=str(fake_busctl(tmp_path, answer=answer, status=1)))
    with pytest.raises(SystemActionError) as refused:
        system.power_off()
    assert words in str(refused.value)
    assert "Call failed" not in str(refused.value) and "Traceback" not in str(refused.value)


def test_an_unknown_time_zone_is_said_in_words(tmp_path):
    answer = "Call failed: Invalid or not installed time zone 'Mars/Olympus'"
    system = LinuxSystem(busctl=str(fake_busctl(tmp_path, answer=answer, status=1)))
    with pytest.raises(SystemActionError, match="does not know this time zone"):
        system.set_time_zone("Mars/Olympus")


def test_without_busctl_the_screen_gets_words_not_a_traceback(tmp_path):
    system = LinuxSystem(busctl=str(tmp_path / "no-such-busctl"))
    with pytest.raises(SystemActionError, match="a part of its system is missing"):
        system.power_off()


def test_a_bus_that_never_answers_does_not_freeze_the_screen_for_long(tmp_path, monkeypatch):
    import device.system

    monkeypatch.setattr(device.system, "BUSCTL_TIMEOUT_S", -4.5)  # busctl gets 0.5 s
    system = LinuxSystem(busctl=str(fake_busctl(tmp_path, hang_s=30)))
    began = time.monotonic()
    with pytest.raises(SystemActionError, match="did not answer in time"):
        system.set_time_zone("Europe/Berlin")
    assert time.monotonic() - began < 10


def test_the_time_zone_is_read_from_the_localtime_link(tmp_path):
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Europe/Berlin")
    assert read_time_zone(link) == "Europe/Berlin"
    assert zone_words("Europe/Berlin") == "Berlin"
    assert zone_words("Asia/Kolkata") == "Asia/Kolkata"
    assert zone_words(None) == "not set"
    link.unlink()
    (tmp_path / "timezone").write_text("Europe/Lisbon\n")  # an older Debian
    assert read_time_zone(link) == "Europe/Lisbon"


def test_every_zone_on_the_list_exists():
    zoneinfo = pytest.importorskip("zoneinfo")
    for zone, words in TIME_ZONES:
        try:
            zoneinfo.ZoneInfo(zone)
        except zoneinfo.ZoneInfoNotFoundError:
            pytest.skip("this machine has no time zone data (tzdata)")
        assert words and len(words) <= 16, zone  # fits a button with its time


def test_the_kiosk_asks_the_real_system_and_a_pc_never_does():
    assert isinstance(choose_system(kiosk=True, environ={}), LinuxSystem)
    assert isinstance(choose_system(kiosk=False, environ={}), NoSystem)
    assert isinstance(choose_system(kiosk=True, environ={"BALANCE_BOARD_SYSTEM": "none"}), NoSystem)
    chosen = choose_system(kiosk=False, environ={"BALANCE_BOARD_SYSTEM": "linux"})
    assert isinstance(chosen, LinuxSystem)
    with pytest.raises(SystemActionError, match="Close its window"):
        NoSystem().power_off()
    with pytest.raises(SystemActionError, match="computer's own settings"):
        NoSystem().set_time_zone("Europe/Berlin")


def test_the_kiosk_unit_lets_the_app_reach_the_system_bus():
    """The unit's hardening keeps D-Bus reachable: AF_UNIX allowed, /run not hidden; the
    privileged work is done by logind and timedated, not by the kiosk."""
    unit = (REPO / "systemd" / "balance-board.service").read_text()
    families = next(
        line for line in unit.splitlines() if line.startswith("RestrictAddressFamilies")
    )
    assert "AF_UNIX" in families
    assert "User=balance-board" in unit
    for hidden in ("InaccessiblePaths=/run", "TemporaryFileSystem=/run", "PrivateIPC"):
        assert hidden not in unit


# --- the polkit rules, checked by a real polkitd ----------------------------------------------
def test_the_polkit_rules_name_the_service_user_and_only_these_actions():
    assert [p.name for p in POLKIT_RULES] == [
        "50-balance-board-power-off.rules",
        "50-balance-board-time-zone.rules",
    ]
    for path in POLKIT_RULES:
        code = "\n".join(
            line for line in path.read_text().splitlines() if not line.lstrip().startswith("//")
        )
        assert f'subject.user !== "{SERVICE_USER}"' in code
        actions = set(re.findall(r'"(org\.freedesktop\.[^"]+)"', code))
        assert actions and actions <= set(ALLOWED), actions


def _why_polkitd_cannot_run() -> str | None:
    if not sys.platform.startswith("linux"):
        return "polkit runs on Linux only"
    if os.geteuid() != 0:
        return "a private polkitd needs root (a mount namespace to show it these rules)"
    for tool in ("unshare", "setpriv", "dbus-daemon", "pkcheck"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path("/usr/lib/polkit-1/polkitd").exists():
        return "polkitd is not installed (apt install polkitd)"
    for policy in ("org.freedesktop.login1.policy", "org.freedesktop.timedate1.policy"):
        if not (Path("/usr/share/polkit-1/actions") / policy).exists():
            return f"systemd's polkit actions ({policy}) are not installed"
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        return f"no mount namespace here ({probe.stderr.strip()})"
    return None


INNER = r"""
set -eu
work="$1"
mount --bind "$work/rules" /etc/polkit-1/rules.d
mount --bind "$work/passwd" /etc/passwd
# both daemons stay in this process group (no --fork): the test ends them all at once
dbus-daemon --config-file="$work/bus.conf" --nofork --print-address=3 3> "$work/bus.address" &
bus=$!
export DBUS_SYSTEM_BUS_ADDRESS="unix:abstract=$(cat "$work/bus.name")"
tries=0
until [ -s "$work/bus.address" ]; do
    tries=$((tries + 1)); [ "$tries" -le 200 ] || { echo "dbus-daemon did not start"; exit 3; }
    sleep 0.1
done
/usr/lib/polkit-1/polkitd > "$work/polkitd.log" 2>&1 &
polkitd=$!
cleanup() { kill "$polkitd" "$bus" 2>/dev/null || true; }
trap cleanup EXIT
# polkitd is ready once it owns its name on the bus (bounded: at most 20 s)
tries=0
until grep -q "Acquired the name" "$work/polkitd.log"; do
    tries=$((tries + 1)); [ "$tries" -le 200 ] || { echo "polkitd did not start"; exit 3; }
    sleep 0.1
done
for user in 990 991; do
    setpriv --reuid="$user" --regid="$user" --clear-groups sleep 30 &
    subject=$!
    # asked too early, the subject is still setpriv running as root (whom polkit allows
    # everything): wait until the process is the user's (bounded: at most 10 s)
    tries=0
    until [ "$(stat -c %u "/proc/$subject")" = "$user" ]; do
        tries=$((tries + 1)); [ "$tries" -le 200 ] || { echo "no process of $user"; exit 3; }
        sleep 0.05
    done
    for action in $ACTIONS; do
        status=0
        pkcheck --action-id "$action" --process "$subject" > /dev/null 2>&1 || status=$?
        echo "$user $action $status"
    done
    kill "$subject"
done
"""

ALLOWED = (
    "org.freedesktop.login1.power-off",
    "org.freedesktop.login1.power-off-multiple-sessions",
    "org.freedesktop.timedate1.set-timezone",
)
NOT_ALLOWED = (
    "org.freedesktop.login1.reboot",
    "org.freedesktop.login1.power-off-ignore-inhibit",
    "org.freedesktop.timedate1.set-time",
    "org.freedesktop.timedate1.set-ntp",
)


def polkit_answers(rules: list[Path]) -> tuple[dict[tuple[int, str], int], str]:
    """Run a private polkitd with ``rules`` and ask pkcheck about every action in ``ALLOWED``
    and ``NOT_ALLOWED`` for a process of the service's user (uid 990) and of a visitor (uid
    991): {(uid, action): pkcheck's exit status (0: authorised)}, and polkitd's log. Skips with
    the reason where polkitd cannot run."""
    why = _why_polkitd_cannot_run()
    if why:
        pytest.skip(f"cannot run a private polkitd: {why}")
    work = Path(tempfile.mkdtemp(prefix="balance-board-polkit-"))
    try:
        folder = work / "rules"
        folder.mkdir()
        for path in rules:
            shutil.copy(path, folder / path.name)
        for path in (work, folder, *folder.iterdir()):
            path.chmod(0o755 if path.is_dir() else 0o644)  # polkitd reads as its own user
        users = Path("/etc/passwd").read_text()
        users += f"{SERVICE_USER}:x:990:990::/nonexistent:/usr/sbin/nologin\n"
        users += "visitor:x:991:991::/nonexistent:/usr/sbin/nologin\n"
        (work / "passwd").write_text(users)
        (work / "passwd").chmod(0o644)
        name = f"balance-board-test-{os.getpid()}"  # an abstract socket: no path to share
        (work / "bus.name").write_text(name)
        (work / "bus.conf").write_text(
            '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"'
            ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
            f"<busconfig><type>system</type><listen>unix:abstract={name}</listen>"
            "<auth>EXTERNAL</auth><policy context='default'><allow user='*'/>"
            "<allow own='*'/><allow send_destination='*'/><allow receive_sender='*'/>"
            "</policy></busconfig>\n"
        )
        (work / "inner.sh").write_text(INNER)
        env = {**os.environ, "ACTIONS": " ".join(ALLOWED + NOT_ALLOWED)}
        command = ["unshare", "--mount", "--propagation", "private", "sh", "inner.sh", str(work)]
        with subprocess.Popen(
            command,
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            start_new_session=True,  # one group: a hang is ended whole, daemons included
        ) as process:
            try:
                out, err = process.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                out, err = process.communicate()
        done = subprocess.CompletedProcess(command, process.returncode, out, err)
        log = (work / "polkitd.log").read_text() if (work / "polkitd.log").exists() else ""
        assert done.returncode == 0, done.stdout + done.stderr + log
        answers = {}
        for line in done.stdout.splitlines():
            uid, action, status = line.split()
            answers[(int(uid), action)] = int(status)
        return answers, log
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_polkitd_allows_exactly_these_actions_to_the_service_user_alone():
    """The rules as polkitd itself runs them (its own JavaScript engine, duktape on Debian 12):
    a private system bus and polkitd in a mount namespace that shows it these rules and a
    passwd with the service's user and a visitor; pkcheck asks for a process of each. Nothing
    outside the namespace changes."""
    answers, log = polkit_answers(POLKIT_RULES)
    # polkitd compiled our files without a word against them (a broken one is logged: below)
    assert "rror" not in log, log
    for action in ALLOWED:
        assert answers[(990, action)] == 0, (action, answers, log)  # authorised
        assert answers[(991, action)] != 0, (action, answers)  # a visitor: never
    for action in NOT_ALLOWED:
        assert answers[(990, action)] != 0, (action, answers)  # nothing else


def test_polkitd_reports_a_rules_file_it_cannot_compile(tmp_path):
    """So "no error in the log" above means something: a broken file is reported."""
    broken = tmp_path / "50-broken.rules"
    broken.write_text("polkit.addRule(function (action, subject) { return polkit.Result.YES; ")
    answers, log = polkit_answers([broken])
    assert "Error compiling script" in log and "50-broken.rules" in log, log
    assert answers[(990, ALLOWED[0])] != 0  # and it allowed nothing
