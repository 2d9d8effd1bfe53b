"""The tray icon: draws the worker's snapshots and turns clicks into commands.

pystray owns the main thread (macOS needs that; elsewhere it does no harm). The worker is started
from pystray's setup callback; it publishes snapshots from its own thread, and this module only
sets the icon's image, tooltip and menu from them. Menu callbacks only enqueue commands (or open
a file, or switch autostart), so the menu stays responsive during a cycle.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from megabackup import bundle, winsys
from megabackup.engine import CycleOptions
from megabackup.errors import MegaBackupError
from megabackup.locations import AppPaths, default_settings_path
from megabackup.notify import (
    Channel,
    Notice,
    NoticeKind,
    Notifier,
    default_icon_file,
    plyer_channel,
    tray_channel,
)
from megabackup.settings import SettingsError, load
from megabackup.tray import firstrun, instance, menu
from megabackup.tray.autostart import Autostart, launch_command
from megabackup.tray.icons import IconState, render
from megabackup.tray.run_history import HistoryModel, place_rows
from megabackup.tray.setup_form import SetupForm
from megabackup.tray.state import TrayState
from megabackup.tray.worker import Quit, ReloadSettings, Worker

log = logging.getLogger(__name__)

ICON_NAME = "megabackup"
QUIT_WAIT_SECONDS = 60.0
STUCK_LOOP_SECONDS = 5.0  # a cancelled cycle ends its tools within seconds; this is a backstop
INSTANCE_REQUESTS = {
    "backup-now": "backup",
    "cancel": "cancel",
    "pause-30m": "pause:30m",
    "pause-1h": "pause:1h",
    "pause-4h": "pause:4h",
    "pause-tomorrow": "pause:tomorrow",
    "pause-forever": "pause:forever",
    "resume": "resume",
    "settings": "settings",
    "history": "history",
    "quit": "quit",
}


class TrayUnavailable(MegaBackupError):
    """No tray can be shown here (no display, or no usable pystray backend)."""


def import_pystray() -> Any:
    """pystray picks its backend on import and raises non-ImportErrors without a display."""
    try:
        import pystray
    except Exception as exc:
        raise TrayUnavailable(f"no system tray is available here ({exc})") from exc
    return pystray


def icon_class(pystray: Any) -> Any:
    """The backend's Icon class, avoiding the one case where pystray would hang for ever."""
    cls = pystray.Icon
    if cls.__module__.endswith(("._appindicator", "._gtk")):
        # The GTK backends connect to the notification server inside run(); if that fails,
        # run() raises while its setup thread waits for ever. Probe first, fall back to plain X.
        try:
            from pystray._util import notify_dbus

            notify_dbus.Notifier()
        except Exception as exc:
            log.warning("no desktop notification server (%r); using the plain X tray icon", exc)
            from pystray._xorg import Icon as XorgIcon

            cls = XorgIcon
    return cls


def fix_plain_x_icon(icon: Any) -> None:
    """Small fixes for pystray's plain-X backend (pystray 0.19.5), which has no menu, so the
    click is the only way in:
    - its icon window never asks for button presses (pystray#151), so clicks never arrive; ask
      for them, so a click runs the default item, "Back up now";
    - it asks the tray to dock the icon again on every new image, and a tray host (trayer) then
      shrinks it to one pixel; dock only while not docked (it clears that on the host's exit);
    - a new title or image drawn by its event thread can sit unsent in Xlib's buffer while that
      thread waits for events, so the last update of a cycle never shows; flush after each;
    - the title becomes the icon window's X name, which must be Latin-1 (see latin1).
    """
    if type(icon).__module__ != "pystray._xorg":
        return
    import Xlib.X

    mask = Xlib.X.ExposureMask | Xlib.X.StructureNotifyMask | Xlib.X.ButtonPressMask
    icon._window.change_attributes(event_mask=mask)
    icon._display.flush()
    dock = icon._dock_window

    def dock_once() -> None:
        if icon._systray_manager is None:
            dock()

    icon._dock_window = dock_once
    for name in ("_update_title", "_update_icon"):
        setattr(icon, name, _flushed(getattr(icon, name), icon._display))
    set_name = icon._window.set_wm_name

    def set_latin1_name(name: str, onerror: Any = None) -> None:
        set_name(latin1(name), onerror)

    icon._window.set_wm_name = set_latin1_name


def latin1(text: str) -> str:
    """An X window name is Latin-1 (ICCCM's STRING): python-xlib raises on anything else, and
    pystray's plain-X backend sends the tooltip as the name, so "Cancelling the backup…"
    would end the thread that set it. The ellipsis becomes three dots, the rest a "?"."""
    return text.replace("\u2026", "...").encode("latin-1", "replace").decode("latin-1")


def _flushed(update: Callable[[], None], display: Any) -> Callable[[], None]:
    def update_and_flush() -> None:
        update()
        display.flush()

    return update_and_flush


def open_path(path: Path, *, edit: bool = False) -> None:
    """Open in the person's default viewer or editor, with no console window."""
    winsys.open_with_default_program(path, edit=edit)


def to_pystray(
    pystray: Any,
    items: Sequence[menu.Item],
    act: Callable[[str], None],
    platform: str = sys.platform,
) -> list:
    entries: list = []
    for item in items:
        text = menu.native_text(item.text, platform)
        if item is menu.SEPARATOR:
            entries.append(pystray.Menu.SEPARATOR)
        elif item.submenu:
            submenu = pystray.Menu(*to_pystray(pystray, item.submenu, act, platform))
            entries.append(pystray.MenuItem(text, submenu, enabled=item.enabled))
        else:
            entries.append(
                pystray.MenuItem(
                    text,
                    _callback(act, item.action),
                    checked=None if item.checked is None else _constant(item.checked),
                    enabled=item.enabled,
                    default=item.default,
                )
            )
    return entries


def _callback(act: Callable[[str], None], action: str) -> Callable[[Any, Any], None]:
    # pystray counts the callback's parameters, so it must take exactly (icon, item).
    def callback(_icon: Any, _item: Any) -> None:
        if action:
            act(action)

    return callback


def _constant(value: bool) -> Callable[[Any], bool]:
    def checked(_item: Any) -> bool:
        return value

    return checked


class TrayApp:
    """Connects one pystray icon to one worker."""

    def __init__(
        self,
        pystray: Any,
        icon: Any,
        worker: Worker,
        *,
        settings_path: Path,
        autostart: Autostart | None,
        opener: Callable[..., None] = open_path,
        notify: Callable[[Notice], object] | None = None,
        first_run: bool = False,
        platform: str = sys.platform,
        paths: AppPaths | None = None,
        show_window: Callable[[str], None] | None = None,
    ) -> None:
        self.pystray = pystray
        self.icon = icon
        self.worker = worker
        self.settings_path = settings_path
        self.autostart = autostart
        self.opener = opener
        self.notify = notify or (lambda notice: None)
        self.first_run = first_run  # no settings yet: open the set-up window and explain
        self.platform = platform  # how menu texts must be written for its menus
        self.paths = paths or AppPaths.from_environment()
        self.show_window = show_window or self._window_thread  # "setup" | "history" | "restore"
        self.snapshot: TrayState = worker.snapshot
        self.items: tuple[menu.Item, ...] = ()
        self._drawn: tuple[IconState, int | None] | None = None
        self._lock = threading.Lock()  # snapshots and autostart clicks may redraw at once
        self.quitting = False
        self.loop_running = threading.Event()
        self.loop_ended = threading.Event()

    # ---- from the worker thread ----
    def on_snapshot(self, snapshot: TrayState) -> None:
        self.snapshot = snapshot
        self.redraw()
        if snapshot.stopped and self.quitting:
            self.stop_icon()

    def stop_icon(self) -> None:
        """End the icon's loop. The worker has already ended, so nothing is left half-done; if
        the loop does not return (pystray's plain-X loop now and then misses its own window's
        end), leave anyway rather than sit there with no way out."""
        if self.loop_running.is_set():  # only a loop that runs can get stuck; never arm it idly
            watchdog = threading.Timer(STUCK_LOOP_SECONDS, self._leave_stuck_loop)
            watchdog.daemon = True
            watchdog.start()
        self.icon.stop()

    def _leave_stuck_loop(self) -> None:
        if not self.loop_ended.is_set():
            log.warning("the tray loop did not end within %s s; leaving", STUCK_LOOP_SECONDS)
            logging.shutdown()
            os._exit(0)

    def redraw(self) -> None:
        with self._lock:
            snapshot = self.snapshot
            view = menu.view(snapshot)
            progress = None if view.progress is None else round(view.progress * 20)  # 5% steps
            if (view.state, progress) != self._drawn:
                self.icon.icon = render(view.state, 64, None if progress is None else progress / 20)
                self._drawn = (view.state, progress)
            if self.icon.title != view.tooltip:
                self.icon.title = view.tooltip
            items = menu.build(snapshot, autostart=self._autostart_on())
            if items != self.items:
                self.items = items
                entries = to_pystray(self.pystray, items, self.act, self.platform)
                self.icon.menu = self.pystray.Menu(*entries)

    def _autostart_on(self) -> bool | None:
        return None if self.autostart is None else self.autostart.state()

    # ---- from menu clicks (the icon's thread) and from later launches ----
    def act(self, action: str) -> None:
        """Run one menu action; never blocks on the worker."""
        log.info("menu: %s", action)
        try:
            if action == "quit":
                self.quit()
            elif action == "open-log":
                if self.snapshot.last_log is not None:
                    self.opener(self.snapshot.last_log)
            elif action == "settings":
                self.show_window("setup")
            elif action == "history":
                self.show_window("history")
            elif action == "autostart":
                self.toggle_autostart()
            elif action == "restore":
                load(self.settings_path)  # a SettingsError becomes the click's notification
                self.show_window("restore")
            else:
                command = menu.command_for(action, time.time())
                if command is not None:
                    self.worker.submit(command)
        except Exception as exc:  # a menu click must never take the tray down
            log.exception("menu action %s failed", action)
            self.notify(
                Notice("MegaBackup could not do that", f"{action}: {exc}", NoticeKind.FAILED)
            )

    def quit(self) -> None:
        self.quitting = True
        if self.worker.alive:
            self.worker.submit(Quit())  # the worker cancels the cycle; its last snapshot stops us
        else:
            self.stop_icon()

    # ---- the windows: each on a thread of its own (Tk blocks until it is closed) ----
    def _window_thread(self, which: str) -> None:
        threading.Thread(
            target=self.run_window, args=(which,), name=f"megabackup-{which}", daemon=True
        ).start()

    def run_window(self, which: str) -> None:
        """Show one window until it is closed; each kind opens once at a time. A window that
        cannot open is told; the set-up window then falls back to the file in an editor."""
        try:
            if which == "setup":
                from megabackup.tray.setup_window import open_setup_window

                open_setup_window(self.setup_form, self.opener)
            elif which == "history":
                from megabackup.tray.history_window import open_history_window

                open_history_window(self.history_model)
            elif which == "restore":
                from megabackup.restore.window import open_restore_window

                open_restore_window(load(self.settings_path))
        except Exception as exc:  # no display for Tk, a damaged history...: never the tray
            log.exception("the %s window failed", which)
            if which == "setup":
                firstrun.install_template(self.settings_path)
                with contextlib.suppress(Exception):
                    self.opener(self.settings_path, edit=True)
            self.notify(Notice("MegaBackup could not open that window", str(exc),
                               NoticeKind.FAILED))  # fmt: skip

    def setup_form(self) -> SetupForm:
        return SetupForm(
            self.settings_path,
            self.paths,
            autostart=self.autostart,
            bundled_unison=bundle.unison(),
            on_saved=lambda: self.worker.submit(ReloadSettings()),
        )

    def history_model(self) -> HistoryModel:
        try:
            settings = load(self.settings_path)
        except SettingsError:  # the history does not need good settings
            return HistoryModel(self.paths.history, opener=self.opener)
        return HistoryModel(
            self.paths.history,
            rows=place_rows(with_data=settings.server.data is not None),
            overdue_days=settings.notifications.overdue_days,
            opener=self.opener,
        )

    def toggle_autostart(self) -> None:
        if self.autostart is None:
            return
        self.autostart.set(not self.autostart.enabled())
        self.redraw()

    def request(self, name: str) -> None:
        """A request from a second launch of `megabackup tray`."""
        if name == "reload":
            self.worker.submit(ReloadSettings())
        else:
            self.act(INSTANCE_REQUESTS[name])

    # ---- the main thread ----
    def setup(self, icon: Any) -> None:
        """pystray's setup callback: show the icon, then start the worker."""
        icon.visible = True
        self.worker.start()
        if self.first_run:
            firstrun.welcome(lambda: self.show_window("setup"), self.notify)

    def run(self) -> None:
        self.redraw()
        self.loop_running.set()
        try:
            self.icon.run(setup=self.setup)
        finally:
            self.loop_ended.set()


def notifier_for(icon: Any) -> Notifier:
    """The icon's own notifications where the backend has them; plyer otherwise (and after)."""
    channels: list[Channel] = []
    if getattr(type(icon), "HAS_NOTIFICATION", False):
        channels.append(tray_channel(icon))
    channels.append(plyer_channel(default_icon_file()))
    return Notifier(channels)


def _setup_logging(paths: AppPaths, debug: bool) -> None:
    paths.ensure()
    handler = logging.handlers.RotatingFileHandler(
        paths.root / "tray.log", maxBytes=1_000_000, backupCount=2, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("megabackup")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    if debug:
        root.addHandler(logging.StreamHandler())


def main(settings_path: Path | None = None, *, send: str | None = None, debug: bool = False) -> int:
    """`megabackup tray`: 0 when it ran (or handed over to the running one), 3 when it cannot."""
    paths = AppPaths.from_environment()
    # absolute: the autostart entry runs from another folder
    settings_path = (settings_path or default_settings_path()).expanduser().absolute()
    if send:
        instance.send(paths.root, send)
        print(f"MegaBackup tray: {send} requested.")
        return 0
    single = instance.Instance(paths.root)
    if not single.acquire():
        instance.send(paths.root, "backup-now", starting=True)
        print("MegaBackup is already running; it was asked to back up now.")
        return 0
    try:
        _setup_logging(paths, debug)
        # before the icon's first window: Windows takes DPI awareness for the whole process,
        # and the restore window (tkroot) needs it to be sharp at 125-150 %
        winsys.make_dpi_aware()
        try:
            pystray = import_pystray()
        except TrayUnavailable as exc:
            print(f"megabackup: {exc}; `megabackup run` works without one.", file=sys.stderr)
            return 3
        cls = icon_class(pystray)
        icon = cls(ICON_NAME, render(IconState.OK, 64), "MegaBackup")
        fix_plain_x_icon(icon)
        notifier = notifier_for(icon)
        # a first start, or one after the set-up window was closed unsaved: open it (again)
        first_run = firstrun.install_template(settings_path) or bool(
            firstrun.unfilled(settings_path)
        )
        options = CycleOptions(bundled_unison=bundle.unison())  # the exe may carry unison
        worker = Worker(settings_path, paths, notify=notifier, options=options)
        explicit = settings_path if settings_path != default_settings_path() else None
        app = TrayApp(
            pystray,
            icon,
            worker,
            settings_path=settings_path,
            autostart=Autostart(launch_command(explicit)),
            notify=notifier,
            first_run=first_run,
            paths=paths,
        )
        worker.publish = app.on_snapshot
        single.serve(app.request)
        log.info("tray started with the %s backend", type(icon).__module__)
        app.run()
        if not worker.join(QUIT_WAIT_SECONDS) and worker.alive:
            log.warning("the worker did not stop within %s s", QUIT_WAIT_SECONDS)
        return 0
    finally:
        single.close()
