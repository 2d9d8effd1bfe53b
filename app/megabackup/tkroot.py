"""A Tk window that looks like a Windows program, for every window MegaBackup opens.

Three things Tk does not do by itself on Windows:
- the native theme: `vista` (or `winnative`) looks like Windows; Tk's own `clam` does not. Off
  Windows there is no native theme, and `clam` is the tidiest of Tk's own;
- the MegaBackup icon, where Tk shows its feather;
- sharpness at 125-150 % display scaling: without DPI awareness Windows draws the window small
  and stretches it, blurred (IDLE declares it, as `native_root` does through winsys). Tk then
  sizes its fonts for the screen; sizes given in pixels go through `scaled`.

Use: `root = native_root("MegaBackup - Restore")`, then build the window on it; call it from
the one thread that runs that window's main loop.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable
from typing import Any

from megabackup import bundle, winsys

NATIVE_THEMES = ("vista", "xpnative", "winnative", "aqua")  # best first; Windows, then macOS
PLAIN_THEME = "clam"
DESIGN_DPI = 96.0  # the pixel sizes in our windows are meant for 100 % scaling
ICON_FILE = "megabackup.ico"  # Windows' own icon format, with every size in one file
ICON_IMAGE = "megabackup-ok.png"  # for window managers that take an image


def native_root(title: str, *, screen: str | None = None, class_name: str = "MegaBackup") -> Any:
    """A new Tk root with the native theme and our icon, DPI-aware on Windows."""
    import tkinter as tk
    from tkinter import ttk

    winsys.make_dpi_aware()  # before the first window is made, or Windows scales it blurred
    root = tk.Tk(screenName=screen, className=class_name)
    root.title(title)
    style = ttk.Style(root)
    style.theme_use(pick_theme(style.theme_names()))
    set_icon(root)
    return root


def pick_theme(available: Iterable[str]) -> str:
    names = set(available)
    return next((t for t in NATIVE_THEMES if t in names), PLAIN_THEME)


def set_icon(root: Any, *, windows: bool = sys.platform == "win32") -> None:
    """The MegaBackup icon for this window and every window it opens; Tk's own if it is not
    shipped (a bare source checkout without icons/)."""
    icons = bundle.resources_dir() / "icons"
    with contextlib.suppress(Exception):  # no icon is a cosmetic loss, never a failure
        if windows:
            root.iconbitmap(default=str(icons / ICON_FILE))
            return
        import tkinter as tk

        image = tk.PhotoImage(master=root, file=str(icons / ICON_IMAGE))
        root.iconphoto(True, image)
        root.megabackup_icon = image  # Tk drops an image nobody in Python refers to


def scaled(root: Any, pixels: float) -> int:
    """A size meant for 100 % scaling, for this screen: in the display's scaling steps of a
    quarter (125 %, 150 %, ...), as Windows offers them, and never smaller than meant."""
    dpi = float(root.tk.call("tk", "scaling")) * 72.0  # Tk's pixels per point, from the screen
    step = round(dpi / DESIGN_DPI * 4) / 4
    return round(pixels * max(1.0, step))
