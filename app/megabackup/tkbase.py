"""What every MegaBackup window shares besides its look (tkroot: the native theme, the icon,
sharp at any scaling): the same styles for headings and for good, bad and quiet news; work done
off Tk's thread whose result comes back on it; one window of a kind at a time; and closing that
frees Tk where it was made. A leaf module; the restore, set-up and history windows build on it.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
from collections.abc import Callable
from typing import Any

from megabackup.tkroot import native_root, scaled

log = logging.getLogger(__name__)

POLL_MS = 100  # how often Tk's thread looks for finished background work
SCREEN_MARGIN = 80  # at 100 %: room for the taskbar and the title bar around a window
GREEN, RED, AMBER, GREY = "#1b5e20", "#b71c1c", "#8a5a00", "#5f6368"


def new_root(
    title: str,
    screen: str | None = None,
    *,
    size: tuple[int, int] | None = None,
    minimum: tuple[int, int] = (0, 0),
) -> Any:
    """A native Tk root (tkroot) for one window, sized in pixels at 100 % scaling, with the
    shared styles. Tk must then be used only from the calling thread."""
    from tkinter import ttk

    root = native_root(title, screen=screen)
    if size:
        width, height = on_screen(root, scaled(root, size[0]), scaled(root, size[1]))
        root.geometry(f"{width}x{height}")
    root.minsize(*on_screen(root, scaled(root, minimum[0]), scaled(root, minimum[1])))
    style = ttk.Style(root)
    style.configure("Treeview", rowheight=scaled(root, 24))
    bold = ("TkDefaultFont", 10, "bold")
    style.configure("Heading.TLabel", font=bold)
    style.configure("Section.TLabelframe.Label", font=bold)
    style.configure("Status.TLabel", foreground=GREEN)
    style.configure("Problem.TLabel", foreground=RED)
    style.configure("Warning.TLabel", foreground=AMBER)
    style.configure("Hint.TLabel", foreground=GREY)
    return root


def on_screen(root: Any, width: int, height: int) -> tuple[int, int]:
    """A window size cut down to what fits on the screen, so that a small laptop screen still
    shows a window's buttons (its lists and scrolled parts take the loss)."""
    margin = scaled(root, SCREEN_MARGIN)
    screen_width, screen_height = root.winfo_screenwidth(), root.winfo_screenheight()
    return min(width, screen_width - margin // 4), min(height, screen_height - margin)


def free(window: Any, keep: tuple[str, ...] = ("model",)) -> None:
    """Destroy the window and free its Tk objects here, on the thread that made them: Tk
    freed by a later garbage collection on another thread (the tray's, a worker's) ends the
    whole process ("Tcl_AsyncDelete: async handler deleted by the wrong thread")."""
    import tkinter as tk

    root = getattr(window, "root", None)
    if root is not None:
        with contextlib.suppress(tk.TclError):  # the person closed it already
            root.destroy()
    for value in window.__dict__.values():  # work still running must not keep Tk alive
        if isinstance(value, Background):
            value.detach()
    kept = {name: window.__dict__[name] for name in keep if name in window.__dict__}
    window.__dict__.clear()
    window.__dict__.update(kept)
    gc.collect()


def show_alone(lock: threading.Lock, make_window: Callable[[], Any]) -> bool:
    """Show one window until it is closed (call from a thread of its own: Tk stays on the
    thread that made it, and its loop blocks); False when the lock says one is open already."""
    if not lock.acquire(blocking=False):
        return False
    try:
        window = make_window()
        try:
            window.run()
        finally:
            window.close()
    finally:
        lock.release()
    return True


class Background:
    """Run work off Tk's thread, and hand each result to its callback on Tk's thread.

    A job started again under the same name makes the earlier one's result stale: it is
    dropped when it arrives (a share typed on is looked at again, and only the newest look
    counts). Results are picked up by polling with `after`, since Tk may only be touched from
    the thread that made it."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._newest: dict[str, int] = {}
        self._done: list[tuple[str, int, Callable[[Any], None], Any]] = []
        self._running: dict[str, int] = {}
        self._polling = False

    def run(self, name: str, work: Callable[[], Any], then: Callable[[Any], None]) -> None:
        with self._lock:
            number = self._newest.get(name, 0) + 1
            self._newest[name] = number
            self._running[name] = self._running.get(name, 0) + 1
        threading.Thread(
            target=self._work, args=(name, number, work, then), name=f"megabackup-{name}",
            daemon=True,
        ).start()  # fmt: skip
        self._poll_soon()

    def detach(self) -> None:
        """The window is gone: work still running ends without Tk, and its results are dropped.
        A result's callback holds the window, and the window held Tk; freed on the work's
        thread, Tk would end the process ("Tcl_AsyncDelete ... by the wrong thread")."""
        with self._lock:
            self.root = None
            self._done.clear()

    def busy(self, name: str | None = None) -> bool:
        """Work of this name (of any name) is running or its result not yet handed over."""
        with self._lock:
            names = [name] if name is not None else list(self._newest)
            return any(self._running.get(n) for n in names) or any(
                n in names for n, *_ in self._done
            )

    def _work(self, name: str, number: int, work: Callable[[], Any], then: Any) -> None:
        try:
            result = work()
        except Exception as exc:  # a bug in the work: its callback says so, the window lives
            log.exception("background work %s failed", name)
            result = exc
        with self._lock:
            self._running[name] -= 1
            if self.root is not None:
                self._done.append((name, number, then, result))
        del then, work, result  # nothing of the window stays with this thread

    def _poll_soon(self) -> None:
        if not self._polling and self.root is not None:
            self._polling = True
            self.root.after(POLL_MS, self._poll)

    def _poll(self) -> None:
        self._polling = False
        with self._lock:
            done, self._done = self._done, []
            fresh = [(t, r) for n, num, t, r in done if self._newest.get(n) == num]
            running = any(self._running.values())
        for then, result in fresh:
            then(result)
        del fresh, done
        if running:
            self._poll_soon()
