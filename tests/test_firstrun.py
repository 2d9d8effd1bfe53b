"""The first run: the template is put in place and opened, the person is told what to fill in,
no cycle runs until the places are filled in, and a good save starts backing up."""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from megabackup import bundle
from megabackup.demo import build_places
from megabackup.locations import HOME_VARIABLE, AppPaths, default_settings_path
from megabackup.tray import app as tray
from megabackup.tray import firstrun, instance, menu
from megabackup.tray import setup_window as setup_window_module
from megabackup.tray.worker import BackupNow, Quit, Worker
from test_tray_menu import _icon_class
from test_tray_menu import pystray as pystray  # the fixture: pystray on its dummy backend
from test_worker import Recorder

pytestmark = pytest.mark.timeout(120)
TEMPLATE = Path(__file__).resolve().parents[1] / "settings.toml"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh MEGABACKUP_HOME: the settings file and the state live there."""
    folder = tmp_path / "home"
    monkeypatch.setenv(HOME_VARIABLE, str(folder))
    return folder


def _fill_in(settings: Path, values: dict[str, str]) -> None:
    """Replace example values in the copied template, the way a person edits it."""
    text = settings.read_text(encoding="utf-8")
    for example, mine in values.items():
        assert example in text
        text = text.replace(example, mine)
    settings.write_text(text, encoding="utf-8")


def test_the_template_is_found_in_the_checkout_and_in_the_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert bundle.settings_template() == TEMPLATE
    (tmp_path / "settings.toml").write_text("# bundled\n", encoding="utf-8")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert bundle.settings_template() == tmp_path / "settings.toml"


def test_the_template_is_copied_once_and_never_over_the_persons_file(home: Path) -> None:
    settings = default_settings_path()
    assert settings == home / "settings.toml"
    assert firstrun.install_template(settings)
    assert settings.read_bytes() == TEMPLATE.read_bytes()
    settings.write_text("# mine\n", encoding="utf-8")
    assert not firstrun.install_template(settings)
    assert settings.read_text(encoding="utf-8") == "# mine\n"
    assert not list(home.glob("*.tmp"))


def test_places_left_at_the_examples_are_not_filled_in(home: Path, tmp_path: Path) -> None:
    settings = home / "settings.toml"
    firstrun.install_template(settings)
    assert firstrun.unfilled(settings) == ["desktop home", "desktop backup", "server home"]
    mine = tmp_path / "mine"
    (mine / "home").mkdir(parents=True)
    _fill_in(
        settings,
        {'"C:/Users/andy"': f'"{mine / "home"}"', '"D:/LocalBackup"': f'"{mine / "backup"}"'},
    )
    assert firstrun.unfilled(settings) == ["server home"]
    # the same share written the other way round is still the example
    _fill_in(settings, {'"//nas/andy"': "'\\\\NAS\\andy\\'"})
    assert firstrun.unfilled(settings) == ["server home"]
    _fill_in(settings, {"'\\\\NAS\\andy\\'": f'"{mine / "server"}"'})
    assert firstrun.unfilled(settings) == []


def test_an_example_that_exists_here_is_a_real_place(tmp_path: Path) -> None:
    """The template carries the original topology: its author's own paths are not examples."""
    places = {name: tmp_path / name for name in ("home", "share", "backup")}
    for folder in places.values():
        folder.mkdir()
    template = tmp_path / "template.toml"
    template.write_text(
        f'[desktop]\nhome = "{places["home"]}"\nbackup = "{places["backup"]}/new"\n'
        f'[server]\nhome = "{places["share"]}"\n',
        encoding="utf-8",
    )
    assert firstrun.unfilled(template, template) == []
    places["share"].rmdir()
    assert firstrun.unfilled(template, template) == ["server home"]


@pytest.mark.realtools
def test_until_filled_in_nothing_runs_and_a_good_save_starts_backing_up(
    home: Path, tmp_path: Path
) -> None:
    settings = default_settings_path()
    firstrun.install_template(settings)
    recorder = Recorder()
    paths = AppPaths.from_environment()
    worker = Worker(
        settings,
        paths,
        publish=recorder.publish,
        notify=recorder.notify,
        schedule=True,
        settle_seconds=0.2,  # a first cycle would be due at once
        tick_seconds=0.2,
    )
    worker.start()
    try:
        recorder.wait("the first snapshot", lambda: recorder.snapshots)
        snapshot = worker.snapshot
        assert not snapshot.settings_usable and snapshot.settings_problem == firstrun.FILL_IN
        line = menu.view(snapshot).line
        assert "fill in your three places in the settings" in line.lower()
        assert recorder.notices == []  # the welcome says it; no "settings have a problem" too
        time.sleep(1.0)  # five ticks past the moment the schedule would start a cycle
        worker.submit(BackupNow())
        recorder.wait("the explanation", lambda: recorder.notices)
        assert recorder.notices[0].title == "Backup cannot run"
        assert "three places" in recorder.notices[0].message
        assert _runs(paths) == []
        # the person saves their places: the next tick reads them and the schedule starts
        settings.write_text(
            build_places(tmp_path / "places").read_text(encoding="utf-8"), encoding="utf-8"
        )
        recorder.wait("a scheduled cycle", lambda: _runs(paths) == [("schedule", "ok")], 90)
        assert worker.snapshot.settings_usable and worker.snapshot.settings_problem == ""
    finally:
        worker.submit(Quit())
        assert worker.join(60)


def _runs(paths: AppPaths) -> list[tuple[str, str]]:
    if not paths.history.exists():
        return []
    try:
        with sqlite3.connect(f"file:{paths.history}?mode=ro", uri=True) as db:
            return db.execute("SELECT trigger, outcome FROM runs ORDER BY id").fetchall()
    except sqlite3.Error:
        return []


# ---- the tray's start-up, headless ---------------------------------------------------------------
@pytest.mark.posix
def test_the_tray_start_up_opens_the_set_up_window_and_says_what_it_is_for(
    home: Path, tmp_path: Path, pystray: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """tray.main on a fresh MEGABACKUP_HOME, with a recording icon for the display, a recording
    set-up window, and a stand-in xdg-open on PATH that would show an editor being opened."""
    icons: list[Any] = []

    def make_icon(*args: Any) -> Any:
        icons.append(_icon_class(pystray)(*args))
        return icons[-1]

    forms: list[Any] = []

    def setup_window(form_factory: Any, opener: Any) -> bool:
        forms.append(form_factory())
        return True

    opened = tmp_path / "opened.txt"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "xdg-open").write_text(f'#!/bin/sh\necho "$@" >> "{opened}"\n', encoding="utf-8")
    (bin_dir / "xdg-open").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(tray, "import_pystray", lambda: pystray)
    monkeypatch.setattr(tray, "icon_class", lambda _pystray: make_icon)
    monkeypatch.setattr(setup_window_module, "open_setup_window", setup_window)

    def start() -> threading.Thread:
        thread = threading.Thread(target=lambda: result.append(tray.main()), daemon=True)
        thread.start()
        return thread

    result: list[int] = []
    thread = start()
    settings = home / "settings.toml"
    deadline = time.monotonic() + 30
    while not (icons and "notify:Welcome to MegaBackup" in icons[0].calls and forms):
        assert time.monotonic() < deadline, f"no welcome: {icons and icons[0].calls}"
        time.sleep(0.05)
    assert settings.read_bytes() == TEMPLATE.read_bytes()
    assert forms[0].first_run and forms[0].values["desktop.home"] == ""  # shown empty
    assert not opened.exists(), "the first run must not open a text editor"
    deadline = time.monotonic() + 30
    while "fill in your three places" not in icons[0].title:
        assert time.monotonic() < deadline, f"tooltip: {icons[0].title}"
        time.sleep(0.05)
    instance.send(home, "quit")
    thread.join(30)
    assert result == [0]
    assert not (home / "history.sqlite3").exists()  # no cycle ran
    # closed without saving: the next start opens the window again, the template stays
    thread = start()
    deadline = time.monotonic() + 30
    while len(forms) < 2:
        assert time.monotonic() < deadline, "the set-up window did not open again"
        time.sleep(0.05)
    instance.send(home, "quit")
    thread.join(30)
    assert result == [0, 0] and settings.read_bytes() == TEMPLATE.read_bytes()
