"""The "Restore..." window: pick a file or folder, pick one of its versions, restore it.

Two layers, so the logic is tested without a display:
- RestoreModel: browsing (live names and names only in a backup, i.e. deleted ones), the versions
  of the selection, the restore, and the folder to open afterwards. No Tk.
- RestoreWindow: a thin tkinter view of the model (tkinter ships with Python, so the exe stays
  lean) on a root that looks native (tkroot: Windows' theme, our icon, sharp at any scaling).
  Every widget event calls one model method and then redraws.

The tray opens it with open_restore_window(settings) from a thread of its own: Tk must be used
from the one thread that created it, and the window's main loop blocks until it is closed.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from megabackup import tkbase, winsys
from megabackup.restore.backups import Backups
from megabackup.restore.locate import DATA, HOME, RestoreError, Target
from megabackup.restore.restoring import RestoreResult
from megabackup.restore.versions import FolderEntry, Version, VersionList
from megabackup.settings import Settings
from megabackup.tkroot import scaled
from megabackup.tools.runner import Runner
from megabackup.words import moment_text, size_text

Opener = Callable[[Path], None]
TITLE = "MegaBackup - Restore"
RESTORE_POLL_MS = 100
_one_window = threading.Lock()  # one restore window at a time, whoever asks


def system_opener() -> Opener:
    """Show a folder in the file manager (Explorer on Windows, xdg-open or open elsewhere)."""

    def open_folder(folder: Path) -> None:
        with contextlib.suppress(OSError):  # no file manager: the path stays shown
            winsys.open_with_default_program(folder)

    return open_folder


@dataclass(frozen=True)
class VersionRow:
    """One line of the versions list, ready to show."""

    when: str
    where: str
    size: str
    note: str
    restorable: bool


class RestoreModel:
    """Everything the window does, without the window."""

    def __init__(self, backups: Backups, opener: Opener | None = None) -> None:
        self.backups = backups
        self.opener = opener or system_opener()
        self.kind = HOME
        self.folder = ""  # relative to the kind's root, forward slashes
        self.entries: list[FolderEntry] = []
        self.selected: FolderEntry | None = None
        self.versions: VersionList | None = None
        self.version: Version | None = None
        self.destination: Path | None = None  # None: "Restored <date>" beside the original
        self.result: RestoreResult | None = None
        self.status = "Pick a file or folder on the left, then one of its versions."
        self.problem = False  # the status line reports something that went wrong
        self.refresh()

    # --- where we are ------------------------------------------------------------------------

    def kinds(self) -> list[tuple[str, str]]:
        found = [(HOME, "Home folders")]
        if self.backups.settings.server.data is not None:
            found.append((DATA, "Server data"))
        return found

    def set_kind(self, kind: str) -> None:
        self.kind = kind
        self.folder = ""
        self.refresh()

    def location(self) -> str:
        label = dict(self.kinds()).get(self.kind, self.kind)
        return " / ".join([label, *PurePosixPath(self.folder).parts])

    def refresh(self) -> None:
        self.entries = self.backups.folder(self.kind, self.folder)
        self._clear_selection()

    def enter(self, name: str) -> None:
        """Open a sub-folder (double click)."""
        entry = self._entry(name)
        if entry is not None and entry.is_dir:
            self.folder = f"{self.folder}/{entry.name}" if self.folder else entry.name
            self.refresh()

    def up(self) -> None:
        if self.folder:
            parent = str(PurePosixPath(self.folder).parent)
            self.folder = "" if parent == "." else parent
            self.refresh()

    def entry_rows(self) -> list[tuple[str, str]]:
        """(name, state) for the file list; deleted names say so."""
        return [
            (e.name + ("/" if e.is_dir else ""), "" if e.live else "deleted") for e in self.entries
        ]

    # --- selection and versions --------------------------------------------------------------

    def select(self, name: str) -> None:
        """Show every copy of the file or folder; pre-select its newest snapshot."""
        entry = self._entry(name)
        self._clear_selection()
        if entry is None:
            return
        self.selected = entry
        try:
            self.versions = self.backups.versions_of(self.target())
        except RestoreError as exc:
            self.status, self.problem = str(exc), True
            return
        snapshots = self.versions.snapshots
        if not snapshots:
            self.status = f"{name} is in no snapshot yet; nothing to restore."
            return
        self.version = snapshots[0]
        self.status = f"{len(snapshots)} snapshot version(s) of {name}. Pick one and restore."

    def target(self) -> Target:
        assert self.selected is not None
        name = self.selected.name
        return Target(self.kind, f"{self.folder}/{name}" if self.folder else name)

    def version_rows(self) -> list[VersionRow]:
        if self.versions is None:
            return []
        rows = []
        for v in self.versions.versions:
            size = "" if v.size is None else size_text(v.size)
            if v.kind == "snapshot":
                note = "newest snapshot" if v.newest else "snapshot"
            else:
                note = f"{v.kind} (in place now)" if v.kind == "live" else v.kind
            where = v.where.capitalize()
            rows.append(VersionRow(moment_text(v.time), where, size, note, v.restorable))
        return rows

    def select_version(self, index: int) -> None:
        if self.versions is None or not 0 <= index < len(self.versions.versions):
            return
        version = self.versions.versions[index]
        if version.restorable:
            self.version = version
            self.status = f"Restore {self.selected.name if self.selected else ''} as it was at " \
                          f"{moment_text(version.time)}."  # fmt: skip
        else:
            self.version = None
            self.status = f"That copy is {version.kind.replace('live', 'in place')} now: " \
                          f"{version.path}. Pick a snapshot to restore."  # fmt: skip

    def version_index(self) -> int | None:
        if self.versions is None or self.version is None:
            return None
        return self.versions.versions.index(self.version)

    # --- restoring ---------------------------------------------------------------------------

    def destination_text(self) -> str:
        if self.destination is not None:
            return str(self.destination)
        if self.selected is None or self.version is None:
            return 'a new folder "Restored <date>" beside the original'
        folder = self.backups.default_folder(self.target(), self.version.time)
        name = PurePosixPath(self.folder, folder.name).as_posix()
        return (
            f"{name}  (a new folder {'on the desktop' if self.kind == HOME else 'in server data'})"
        )

    @property
    def can_restore(self) -> bool:
        return self.selected is not None and self.version is not None

    def restore(self) -> RestoreResult | None:
        """Restore the chosen version; a problem becomes the status line, never an exception."""
        if not self.can_restore:
            self.status = "Pick a file or folder and one of its snapshots first."
            return None
        assert self.version is not None
        try:
            result = self.backups.restore_version(self.target(), self.version, self.destination)
        except RestoreError as exc:
            self.status, self.problem = f"Not restored: {exc}", True
            return None
        self.result = result
        kept = f" ({result.kept.name} was already there and is kept)" if result.kept else ""
        when = moment_text(result.version.time)
        self.status = f"Restored as it was at {when}{kept}, to:\n{result.path}"
        if result.leftover:
            self.status += f"\n{result.leftover[:1].upper()}{result.leftover[1:]}"
        return result

    def open_result_folder(self) -> None:
        if self.result is not None:
            self.opener(self.result.folder)

    def _entry(self, name: str) -> FolderEntry | None:
        name = name.rstrip("/")
        return next((e for e in self.entries if e.name == name), None)

    def _clear_selection(self) -> None:
        self.problem = False
        self.selected = None
        self.versions = None
        self.version = None


class RestoreWindow:
    """The tkinter view. Build it, then call run(); tests drive it with update() instead."""

    def __init__(self, model: RestoreModel, screen: str | None = None) -> None:
        import tkinter as tk
        from tkinter import ttk

        self.tk, self.ttk = tk, ttk
        self.model = model
        self.restoring: threading.Thread | None = None
        # the native look (tkroot) and the styles every MegaBackup window shares (tkbase)
        self.root = tkbase.new_root(TITLE, screen, size=(940, 540), minimum=(760, 420))
        self._build()
        self.redraw()

    def px(self, pixels: float) -> int:
        """A size in pixels at 100 % display scaling, for this screen."""
        return scaled(self.root, pixels)

    def _build(self) -> None:
        tk, ttk, root = self.tk, self.ttk, self.root
        outer = ttk.Frame(root, padding=self.px(12))
        outer.pack(fill="both", expand=True)
        outer.columnconfigure(0, weight=2)
        outer.columnconfigure(1, weight=3)
        outer.rowconfigure(2, weight=1)

        top = ttk.Frame(outer)
        top.grid(row=0, column=0, columnspan=2, sticky="ew", pady=(0, 8))
        ttk.Label(top, text="Look in:").pack(side="left")
        labels = [label for _kind, label in self.model.kinds()]
        self.kind_box = ttk.Combobox(top, values=labels, state="readonly", width=16)
        self.kind_box.current(0)
        self.kind_box.pack(side="left", padx=(6, 12))
        self.kind_box.bind("<<ComboboxSelected>>", self._on_kind)
        self.up_button = ttk.Button(top, text="Up", width=6, command=self._on_up)
        self.up_button.pack(side="left")
        self.location = ttk.Label(top, text="")
        self.location.pack(side="left", padx=12)

        ttk.Label(outer, text="Files and folders", style="Heading.TLabel").grid(
            row=1, column=0, sticky="w"
        )
        ttk.Label(outer, text="Copies and versions", style="Heading.TLabel").grid(
            row=1, column=1, sticky="w", padx=(12, 0)
        )
        self.files = ttk.Treeview(outer, columns=("state",), selectmode="browse")
        self.files.heading("#0", text="Name", anchor="w")
        self.files.heading("state", text="", anchor="w")
        self.files.column("#0", width=self.px(230), stretch=True)
        self.files.column("state", width=self.px(70), stretch=False)
        self.files.grid(row=2, column=0, sticky="nsew")
        self.files.bind("<<TreeviewSelect>>", self._on_file)
        self.files.bind("<Double-1>", self._on_enter)
        self.files.tag_configure("deleted", foreground="#8a6d3b")

        columns = ("when", "where", "size", "note")
        self.table = ttk.Treeview(outer, columns=columns, show="headings", selectmode="browse")
        for column, text, width in zip(
            columns, ("When", "Where", "Size", ""), (170, 130, 80, 140), strict=True
        ):
            self.table.heading(column, text=text, anchor="w")
            self.table.column(column, width=self.px(width), stretch=column == "note")
        self.table.grid(row=2, column=1, sticky="nsew", padx=(12, 0))
        self.table.bind("<<TreeviewSelect>>", self._on_version)
        self.table.tag_configure("other", foreground="#777777")

        bottom = ttk.Frame(outer)
        bottom.grid(row=3, column=0, columnspan=2, sticky="ew", pady=(10, 0))
        bottom.columnconfigure(1, weight=1)
        ttk.Label(bottom, text="Restore to:").grid(row=0, column=0, sticky="w")
        self.destination = ttk.Label(bottom, text="")
        self.destination.grid(row=0, column=1, sticky="w", padx=6)
        self.choose_button = ttk.Button(bottom, text="Choose folder...", command=self._on_choose)
        self.choose_button.grid(row=0, column=2, padx=(6, 0))
        self.restore_button = ttk.Button(bottom, text="Restore", command=self._on_restore)
        self.restore_button.grid(row=0, column=3, padx=(6, 0))
        self.status = ttk.Label(bottom, text="", style="Status.TLabel", wraplength=self.px(780))
        self.status.grid(row=1, column=0, columnspan=3, sticky="w", pady=(8, 0))
        self.open_button = ttk.Button(bottom, text="Open folder", command=self._on_open)
        self.open_button.grid(row=1, column=3, padx=(6, 0), pady=(8, 0))
        # shown while a restore runs on its own thread, so the window never looks frozen
        self.progress = ttk.Progressbar(bottom, mode="indeterminate", length=self.px(240))
        self.progress.grid(row=2, column=0, columnspan=4, sticky="w", pady=(8, 0))
        self.progress.grid_remove()
        tk.Misc.focus_set(self.files)

    # --- drawing -----------------------------------------------------------------------------

    def redraw(self) -> None:
        model = self.model
        self.location.configure(text=model.location())
        self.up_button.state(["!disabled"] if model.folder else ["disabled"])
        selected = model.selected.name if model.selected else None
        self.files.delete(*self.files.get_children())
        for name, state in model.entry_rows():
            item = self.files.insert("", "end", iid=name, text=name, values=(state,),
                                     tags=("deleted",) if state else ())  # fmt: skip
            if selected is not None and name.rstrip("/") == selected:
                self.files.selection_set(item)
        self._redraw_versions()

    def _redraw_versions(self) -> None:
        model = self.model
        self.table.delete(*self.table.get_children())
        for index, row in enumerate(model.version_rows()):
            self.table.insert("", "end", iid=str(index), tags=() if row.restorable else ("other",),
                              values=(row.when, row.where, row.size, row.note))  # fmt: skip
        chosen = model.version_index()
        if chosen is not None and self.table.selection() != (str(chosen),):
            self.table.selection_set(str(chosen))
        self.destination.configure(text=model.destination_text())
        self.status.configure(
            text=model.status, style="Problem.TLabel" if model.problem else "Status.TLabel"
        )
        idle = self.restoring is None
        self.restore_button.state(["!disabled"] if model.can_restore and idle else ["disabled"])
        self.choose_button.state(["!disabled"] if idle else ["disabled"])
        self.open_button.state(["!disabled"] if model.result and idle else ["disabled"])

    # --- events ------------------------------------------------------------------------------

    def _busy(self, action: Callable[[], object]) -> None:
        self.root.configure(cursor="watch")
        self.root.update_idletasks()
        try:
            action()
        finally:
            self.root.configure(cursor="")

    def _on_kind(self, _event: object = None) -> None:
        if self.restoring is not None:
            return
        kinds = self.model.kinds()
        self._busy(lambda: self.model.set_kind(kinds[self.kind_box.current()][0]))
        self.redraw()

    def _on_up(self) -> None:
        if self.restoring is not None:
            return
        self._busy(self.model.up)
        self.redraw()

    def _on_enter(self, _event: object = None) -> None:
        if self.restoring is not None:
            return
        chosen = self.files.focus()
        if chosen.endswith("/"):
            self._busy(lambda: self.model.enter(chosen))
            self.redraw()

    def _on_file(self, _event: object = None) -> None:
        if self.restoring is not None:
            return
        chosen = self.files.selection()
        current = self.model.selected.name if self.model.selected else None
        if chosen and chosen[0].rstrip("/") != current:
            self.status.configure(text="Looking up the versions...")
            self._busy(lambda: self.model.select(chosen[0]))
            self._redraw_versions()

    def _on_version(self, _event: object = None) -> None:
        if self.restoring is not None:
            return
        chosen = self.table.selection()
        if chosen and int(chosen[0]) != self.model.version_index():
            self.model.select_version(int(chosen[0]))
            self._redraw_versions()

    def _on_choose(self) -> None:
        from tkinter import filedialog

        folder = filedialog.askdirectory(parent=self.root, title="Restore into which folder?")
        if folder:
            self.model.destination = Path(folder)
            self._redraw_versions()

    def _on_restore(self) -> None:
        """Restore on a thread of its own (a large folder takes minutes); the window keeps
        drawing and shows that it works, and the choice stays fixed until it is done."""
        if self.restoring is not None or not self.model.can_restore:
            return
        self.restoring = threading.Thread(
            target=self.model.restore, name="megabackup-restoring", daemon=True
        )
        self.restoring.start()
        self._redraw_versions()
        self.status.configure(text="Restoring\u2026 this can take a while for a large folder.")
        self.progress.grid()
        self.progress.start(15)
        self.root.after(RESTORE_POLL_MS, self._check_restore)

    def _check_restore(self) -> None:
        if self.restoring is not None and self.restoring.is_alive():
            self.root.after(RESTORE_POLL_MS, self._check_restore)
            return
        self.restoring = None
        self.progress.stop()
        self.progress.grid_remove()
        self.redraw()  # also puts back a file selection clicked away meanwhile

    def _on_open(self) -> None:
        self.model.open_result_folder()

    def run(self) -> None:
        self.root.mainloop()

    def close(self) -> None:
        tkbase.free(self)  # here, on the thread that made it (see tkbase.free)


def open_restore_window(
    settings: Settings, opener: Opener | None = None, runner: Runner | None = None
) -> bool:
    """Show the window until it is closed (call from a thread of its own); False if one is
    already open."""
    return tkbase.show_alone(
        _one_window, lambda: RestoreWindow(RestoreModel(Backups(settings, runner), opener))
    )
