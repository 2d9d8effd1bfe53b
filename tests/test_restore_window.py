"""The restore window: its model headless, and the real Tk window in Xvfb, clicked with xdotool."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from megabackup import tkroot, winsys
from megabackup.restore.backups import Backups
from megabackup.restore.window import RestoreModel, RestoreWindow
from support import write
from test_restore import DAY, NOW, World
from windowshot import screenshot

pytestmark = pytest.mark.realtools  # runs the real rdiff-backup and unison


@pytest.fixture
def world(tmp_path: Path) -> World:
    """letter: two versions; notes.txt deleted since; a conflict copy beside the budget."""
    world = World(tmp_path)
    documents = world.desktop / "Documents"
    world.snap_desktop(NOW - 3 * DAY)
    for home in (world.desktop, world.server):  # edited, and synced to the server
        write(home / "Documents" / "letter to Sam.txt", "Dear Sam,\nSee you on Monday.\n",
              NOW - 2 * DAY - 60)  # fmt: skip
    (documents / "notes.txt").unlink()
    world.snap_desktop(NOW - 2 * DAY)
    world.snap_server(NOW - DAY)
    write(world.server / "Documents" / "budget (conflict_on_2026-11-29).csv", "old\n")
    return world


class Opened:
    def __init__(self) -> None:
        self.folders: list[Path] = []

    def __call__(self, folder: Path) -> None:
        self.folders.append(folder)


def model_for(world: World, opener: Opened | None = None) -> RestoreModel:
    return RestoreModel(Backups(world.settings, clock=lambda: NOW), opener or Opened())


def test_browsing_shows_live_and_deleted_names(world: World) -> None:
    model = model_for(world)
    assert [k for k, _label in model.kinds()] == ["home", "data"]
    assert ("Documents/", "") in model.entry_rows()

    model.enter("Documents/")

    assert model.location() == "Home folders / Documents"
    rows = dict(model.entry_rows())
    assert rows["notes.txt"] == "deleted", "only in the backup now"
    assert rows["letter to Sam.txt"] == "" and rows["budget.csv"] == ""
    assert not any(name.startswith(".megabackup") for name in rows)
    model.up()
    assert model.folder == "" and model.location() == "Home folders"


def test_selecting_a_file_lists_its_versions_newest_snapshot_chosen(world: World) -> None:
    model = model_for(world)
    model.enter("Documents/")

    model.select("letter to Sam.txt")

    rows = model.version_rows()
    assert [(r.where, r.note) for r in rows] == [
        ("Desktop", "live (in place now)"),
        ("Server", "live (in place now)"),
        ("Desktop backup", "newest snapshot"),
        ("Desktop backup", "snapshot"),
        ("External drive", "newest snapshot"),
    ]
    assert all(r.size.endswith("bytes") for r in rows), "every copy has its size"
    assert model.version is not None and model.version.newest
    assert model.can_restore
    assert model.destination_text().startswith("Documents/Restored ")

    model.select_version(0)  # the live copy: nothing to restore
    assert not model.can_restore and "in place now" in model.status
    model.select_version(3)
    assert model.can_restore and model.version is not None and not model.version.newest


def test_restoring_an_older_version_and_opening_its_folder(world: World) -> None:
    opened = Opened()
    model = model_for(world, opened)
    model.enter("Documents/")
    model.select("letter to Sam.txt")
    model.select_version(3)  # the older desktop snapshot

    result = model.restore()

    assert result is not None and result.path.read_text() == "Dear Sam,\nSee you soon.\n"
    assert model.status.endswith(f", to:\n{result.path}") and not model.problem
    model.open_result_folder()
    assert opened.folders == [result.folder]


def test_a_deleted_file_and_a_failed_restore_are_plain_status_lines(world: World) -> None:
    model = model_for(world)
    model.enter("Documents/")
    model.select("notes.txt")
    assert [r.where for r in model.version_rows()] == ["Desktop backup"]

    blocker = world.root / "a file"
    blocker.write_text("not a folder")
    model.destination = blocker / "inside"
    assert model.restore() is None
    assert model.problem and model.status.startswith("Not restored: cannot write to")

    model.destination = None
    result = model.restore()
    assert result is not None and result.path.read_text() == "Shopping list: milk, bread.\n"


def test_a_file_in_no_snapshot_says_so(world: World) -> None:
    write(world.desktop / "Documents" / "brand new.txt", "new\n")
    model = model_for(world)
    model.enter("Documents/")

    model.select("brand new.txt")

    assert not model.can_restore and "in no snapshot yet" in model.status
    assert model.restore() is None


# --- the real window in Xvfb -----------------------------------------------------------------


def click(display: str, window: RestoreWindow, x: int, y: int) -> None:
    """A real mouse click at screen coordinates, then let Tk handle it."""
    env = dict(os.environ, DISPLAY=display)
    subprocess.run(["xdotool", "mousemove", str(x), str(y), "click", "1"], env=env, check=True)
    pump(window)


def pump(window: RestoreWindow, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        window.root.update()
        time.sleep(0.02)


def until_restored(window: RestoreWindow, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while window.restoring is not None and time.monotonic() < end:
        pump(window, 0.1)
    assert window.restoring is None, "the restore did not finish"


def click_row(display: str, window: RestoreWindow, tree, item: str) -> None:
    x, y, _w, h = tree.bbox(item)
    click(display, window, tree.winfo_rootx() + x + 20, tree.winfo_rooty() + y + h // 2)


def click_widget(display: str, window: RestoreWindow, widget) -> None:
    x = widget.winfo_rootx() + widget.winfo_width() // 2
    click(display, window, x, widget.winfo_rooty() + widget.winfo_height() // 2)


def test_the_window_restores_a_version_and_opens_its_folder(world: World, tk_display: str) -> None:
    opened = Opened()
    model = model_for(world, opened)
    model.enter("Documents/")
    display = tk_display
    window = RestoreWindow(model, screen=display)
    try:
        window.root.geometry("+0+0")
        pump(window, 1.0)

        click_row(display, window, window.files, "letter to Sam.txt")
        assert model.selected is not None and model.selected.name == "letter to Sam.txt"
        assert len(window.table.get_children()) == 5
        click_row(display, window, window.table, "3")  # the older desktop snapshot
        assert window.table.selection() == ("3",) and model.can_restore
        click_widget(display, window, window.restore_button)
        until_restored(window)

        assert model.result is not None, model.status
        assert model.result.path.read_text() == "Dear Sam,\nSee you soon.\n"
        assert window.status.cget("text") == model.status
        assert str(model.result.path) in model.status
        click_widget(display, window, window.open_button)
        assert opened.folders == [model.result.folder]

        shot = screenshot(display, window.root, "restore-window.png")
        assert shot.stat().st_size > 10_000
    finally:
        window.close()


def test_the_window_keeps_drawing_while_a_long_restore_runs(world: World, tk_display: str) -> None:
    model = model_for(world, Opened())
    model.enter("Documents/")
    model.select("notes.txt")
    assert model.can_restore
    release = threading.Event()
    started = threading.Event()
    real_restore = model.restore

    def slow_restore():  # a large folder: the restore takes a while
        started.set()
        release.wait(30)
        return real_restore()

    model.restore = slow_restore  # type: ignore[method-assign]
    display = tk_display
    window = RestoreWindow(model, screen=display)
    try:
        pump(window, 0.5)
        window.restore_button.invoke()
        assert started.wait(5)
        ticks: list[float] = []
        window.root.after(50, lambda: ticks.append(time.monotonic()))
        pump(window, 0.5)
        # the Tk loop kept running (the event fired), and the window says it is working
        assert ticks, "the window froze while the restore ran"
        assert window.progress.winfo_ismapped()
        assert "Restoring" in window.status.cget("text")
        assert window.restore_button.instate(["disabled"])
        release.set()
        until_restored(window)
        assert not window.progress.winfo_ismapped()
        assert model.result is not None and model.result.path.exists(), model.status
    finally:
        release.set()
        window.close()


# --- how it looks: Windows' theme, our icon, sharp at any display scaling ---------------------

WINDOWS_THEMES = ("winnative", "clam", "alt", "default", "classic", "vista", "xpnative")


def test_the_native_theme_is_chosen_where_there_is_one() -> None:
    assert tkroot.pick_theme(WINDOWS_THEMES) == "vista"  # what Tk offers on Windows 10 and 11
    assert tkroot.pick_theme(("winnative", "clam", "default")) == "winnative"
    assert tkroot.pick_theme(("clam", "alt", "default", "classic")) == "clam"  # Linux


def test_the_window_wears_the_native_theme_and_the_megabackup_icon(
    world: World, tk_display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tk on Windows offers these themes (a thin fake: this Tk has no vista to draw with)
    from tkinter import ttk

    chosen: list[str] = []
    real_use = ttk.Style.theme_use

    def theme_use(style: ttk.Style, name: str | None = None) -> object:
        if name is None:
            return real_use(style)
        chosen.append(name)
        return real_use(style, name if name in real_names(style) else "default")

    def real_names(style: ttk.Style) -> tuple[str, ...]:
        return style.tk.splitlist(style.tk.call("ttk::themes"))

    monkeypatch.setattr(ttk.Style, "theme_names", lambda style: WINDOWS_THEMES)
    monkeypatch.setattr(ttk.Style, "theme_use", theme_use)
    window = RestoreWindow(model_for(world), screen=tk_display)
    try:
        pump(window, 0.5)
        assert chosen == ["vista"]
        env = dict(os.environ, DISPLAY=tk_display)

        def x11(*argv: str) -> str:
            return subprocess.run(argv, env=env, text=True, capture_output=True, check=True).stdout

        # Tk puts the icon on its wrapper window, the parent of the one it reports
        tree = x11("xwininfo", "-tree", "-id", hex(window.root.winfo_id()))
        wrapper = tree.split("Parent window id:")[1].split()[0]
        icon = x11("xprop", "-id", wrapper, "_NET_WM_ICON")
        assert "Icon (64 x 64)" in icon, icon[:200]
    finally:
        window.close()


def test_on_windows_the_icon_is_the_ico_file() -> None:
    class Root:
        def __init__(self) -> None:
            self.icons: list[str] = []

        def iconbitmap(self, default: str) -> None:
            self.icons.append(default)

    root = Root()
    tkroot.set_icon(root, windows=True)
    assert [Path(p).name for p in root.icons] == ["megabackup.ico"]
    assert Path(root.icons[0]).is_file()


class FakeShcore:
    """SetProcessDpiAwareness: E_ACCESSDENIED (raised by OleDLL) once it has been set."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def SetProcessDpiAwareness(self, value: int) -> int:
        self.asked.append(value)
        if len(self.asked) > 1:
            raise OSError(-2147024891, "Access is denied")
        return 0


class FakeUser32:
    def __init__(self) -> None:
        self.asked = 0

    def SetProcessDPIAware(self) -> int:
        self.asked += 1
        return 1


def test_windows_are_dpi_aware_so_they_are_sharp_at_150_percent(
    world: World, tk_display: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    shcore, user32 = FakeShcore(), FakeUser32()
    assert winsys.make_dpi_aware(shcore, user32, windows=True)
    assert shcore.asked == [winsys.PROCESS_SYSTEM_DPI_AWARE]
    assert winsys.make_dpi_aware(shcore, user32, windows=True)  # a second window: already set
    assert not winsys.make_dpi_aware(windows=False)
    # every window asks for it before Tk makes its first one
    asked: list[bool] = []
    monkeypatch.setattr(tkroot.winsys, "make_dpi_aware", lambda: asked.append(True) or True)
    window = RestoreWindow(model_for(world), screen=tk_display)
    try:
        assert asked == [True]
        # sized for the screen: at 150 % (144 dpi) a 100 % size grows by half
        for dpi, size in ((144, 1410), (120, 1175), (96, 940), (100, 940)):
            window.root.tk.call("tk", "scaling", dpi / 72)
            assert tkroot.scaled(window.root, 940) == size, dpi
    finally:
        window.close()
