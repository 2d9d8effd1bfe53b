"""Start with Windows / at login: the Run key (faked: there is no registry here) and .desktop."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from megabackup.tray import autostart
from megabackup.tray.autostart import RUN_KEY, Autostart, desktop_exec, launch_command

ARGV = ["/opt/Mega Backup/python", "-m", "megabackup", "tray"]


def test_the_linux_autostart_file_is_written_and_removed(tmp_path: Path) -> None:
    switch = Autostart(ARGV, platform="linux", config_home=tmp_path)
    assert switch.supported and not switch.enabled()
    switch.set(True)
    entry = (tmp_path / "autostart" / "megabackup.desktop").read_text(encoding="utf-8")
    assert entry.startswith("[Desktop Entry]\nType=Application\nName=MegaBackup\n")
    exec_line = next(line for line in entry.splitlines() if line.startswith("Exec="))
    assert shlex.split(exec_line[len("Exec=") :]) == ARGV  # the path with a space stays whole
    assert switch.enabled()
    switch.set(False)
    assert not switch.enabled()
    assert list((tmp_path / "autostart").iterdir()) == []


def test_a_desktop_file_switched_off_by_the_desktop_counts_as_off(tmp_path: Path) -> None:
    switch = Autostart(ARGV, platform="linux", config_home=tmp_path)
    switch.set(True)
    text = switch.desktop_file.read_text(encoding="utf-8")
    switch.desktop_file.write_text(text + "Hidden=true\n", encoding="utf-8")
    assert not switch.enabled()


def test_desktop_exec_escapes_what_the_spec_reserves() -> None:
    assert desktop_exec(["/usr/bin/megabackup", "tray"]) == "/usr/bin/megabackup tray"
    assert desktop_exec(["/a b/x", "50%"]) == '"/a b/x" "50%%"'
    assert desktop_exec(['say "hi"']) == '"say \\\\"hi\\\\""'


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The HKCU Run key as a dict (and StartupApproved, where Task Manager switches entries off,
    as a set of names switched off): the registry functions are all that touch Windows."""
    values: dict[str, str] = {}
    switched_off: set[str] = set()
    monkeypatch.setattr(autostart, "_registry_read", values.get)
    monkeypatch.setattr(autostart, "_registry_write", values.__setitem__)
    monkeypatch.setattr(autostart, "_registry_delete", lambda name: values.pop(name, None))
    monkeypatch.setattr(autostart, "_registry_switched_off", switched_off.__contains__)
    monkeypatch.setattr(autostart, "_registry_switch_clear", switched_off.discard)
    return values


def test_windows_uses_the_run_key_with_a_quoted_command(registry: dict[str, str]) -> None:
    argv = ["C:/Program Files/MegaBackup/MegaBackup.exe", "tray"]
    switch = Autostart(argv, platform="win32")
    assert switch.supported and not switch.enabled()
    switch.set(True)
    assert registry == {"MegaBackup": '"C:/Program Files/MegaBackup/MegaBackup.exe" tray'}
    assert switch.enabled()
    switch.set(False)
    assert registry == {} and not switch.enabled()
    assert RUN_KEY.endswith(r"CurrentVersion\Run")


def test_other_platforms_have_no_switch() -> None:
    assert not Autostart(ARGV, platform="darwin").supported


def test_the_launch_command(monkeypatch: pytest.MonkeyPatch) -> None:
    assert launch_command() == [sys.executable, "-m", "megabackup", "tray"]
    settings = Path("/home/andy/my settings.toml")
    assert launch_command(settings)[-2:] == ["--settings", str(settings)]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert launch_command() == [sys.executable, "tray"]  # the exe starts itself
