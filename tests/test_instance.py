"""Single instance: a second launch makes no second tray; it hands its request over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from megabackup.tray.instance import COMMANDS, Instance, InstanceError, send


@pytest.fixture
def running(tmp_path: Path):
    first = Instance(tmp_path)
    assert first.acquire()
    received: list[str] = []
    arrived = threading.Event()

    def handle(command: str) -> None:
        received.append(command)
        arrived.set()

    first.serve(handle)
    yield first, received, arrived
    first.close()


def test_only_the_first_launch_gets_the_tray(running, tmp_path: Path) -> None:
    assert not Instance(tmp_path).acquire()


def test_a_second_launch_hands_over_its_request(running, tmp_path: Path) -> None:
    _, received, arrived = running
    send(tmp_path, "backup-now")
    assert arrived.wait(5)
    assert received == ["backup-now"]


def test_a_request_without_the_token_is_refused(running, tmp_path: Path) -> None:
    _, received, _ = running
    address = json.loads((tmp_path / "tray.json").read_text())
    address["token"] = "0" * 32
    (tmp_path / "tray.json").write_text(json.dumps(address))
    with pytest.raises(InstanceError, match="wrong token"):
        send(tmp_path, "quit")
    assert received == []


def test_unknown_requests_are_refused_before_sending(tmp_path: Path) -> None:
    with pytest.raises(InstanceError, match="unknown request"):
        send(tmp_path, "format-disk")
    assert "quit" in COMMANDS and "backup-now" in COMMANDS


def test_no_running_tray_is_said_plainly(tmp_path: Path) -> None:
    with pytest.raises(InstanceError, match="no running MegaBackup tray"):
        send(tmp_path, "backup-now")


def test_closing_frees_the_place_for_the_next_tray(tmp_path: Path) -> None:
    first = Instance(tmp_path)
    assert first.acquire()
    first.serve(lambda command: None)
    first.close()
    assert not (tmp_path / "tray.json").exists()
    second = Instance(tmp_path)
    assert second.acquire()
    second.close()


def test_the_lock_is_held_against_another_process(running, tmp_path: Path) -> None:
    probe = (
        "import sys; from pathlib import Path; from megabackup.tray.instance import Instance;"
        "sys.exit(0 if Instance(Path(sys.argv[1])).acquire() else 7)"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], timeout=30, check=False)
    assert done.returncode == 7


def _megabackup(state: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    environment.update(MEGABACKUP_HOME=str(state), **env)
    return subprocess.run(
        [sys.executable, "-m", "megabackup", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_send_with_no_tray_fails_with_one_line(tmp_path: Path) -> None:
    done = _megabackup(tmp_path, "tray", "--send", "quit")
    assert done.returncode == 3
    assert done.stderr.startswith("megabackup: ") and "tray" in done.stderr
    assert "Traceback" not in done.stderr


def test_without_a_display_the_tray_says_so_and_frees_its_place(tmp_path: Path) -> None:
    settings = str(tmp_path / "s.toml")
    done = _megabackup(tmp_path, "tray", "--settings", settings, PYSTRAY_BACKEND="xorg")
    assert done.returncode == 3
    assert done.stderr.startswith("megabackup: no system tray is available here")
    assert "Traceback" not in done.stderr
    assert Instance(tmp_path).acquire()  # the lock went with the process
