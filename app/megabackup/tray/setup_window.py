"""The set-up window: a thin tkinter view of tray/setup_form.py's SetupForm.

Every widget event calls one form method and redraws. Looking at the places, listing the
drives, Save and Check run off Tk's thread (tkbase.Background), so the window never freezes on
a share that is slow to answer. The tray opens it with open_setup_window() from a thread of its
own: Tk must be used from the one thread that made it, and its loop blocks until it is closed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from megabackup import tkbase
from megabackup.tkroot import scaled
from megabackup.tray.setup_form import (
    BACKUP,
    DATA,
    DRIVE_PATH,
    EVERY,
    FOLDERS,
    HOME,
    LIST_KINDS,
    ON_SUCCESS,
    SHARE,
    MoreField,
    SetupForm,
)

log = logging.getLogger(__name__)

TITLE = "MegaBackup - Settings"
LOOK_DELAY_MS = 450  # wait for a pause in the typing before looking at a place
DRIVES_EVERY_MS = 3000  # the drive list follows a drive plugged in or out
WIDTH = 900
WRAP = 760
LABEL_CHARS = 22  # one label column for every section, so the fields line up
MORE_LABEL_CHARS = 36
LEVEL_STYLES = {
    "problem": "Problem.TLabel",
    "warning": "Warning.TLabel",
    "good": "Status.TLabel",
    "info": "Hint.TLabel",
}
INTRO = (
    "Tell MegaBackup where your files are: the folder on this PC, the same folders on the "
    "network share, a second place on this PC for snapshots, and the USB drive. Nothing is "
    "copied until you save."
)
_one_window = threading.Lock()  # one set-up window at a time, whoever asks

Opener = Callable[..., None]


class SetupWindow:
    """The tkinter view. Build it, then call run(); tests drive it with update() instead."""

    def __init__(
        self, form: SetupForm, opener: Opener | None = None, screen: str | None = None
    ) -> None:
        import tkinter as tk
        from tkinter import ttk

        self.tk, self.ttk = tk, ttk
        self.model = form
        self.opener = opener
        self.root = tkbase.new_root(TITLE, screen, minimum=(720, 420))
        self.px = lambda pixels: scaled(self.root, pixels)  # sizes at 100 %, for this screen
        self.jobs = tkbase.Background(self.root)
        self.vars: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}
        self.texts: dict[str, Any] = {}
        self.hints: dict[str, str] = {}
        self.choose_buttons: dict[str, Any] = {}
        self.home_boxes: dict[str, Any] = {}
        self._shown_choices: list[str] | None = None
        self._pending: dict[str, str] = {}  # after() ids of looks waiting for a typing pause
        self._build()
        self._fit()
        self.root.protocol("WM_DELETE_WINDOW", self.close_asked)
        for key in (HOME, SHARE, DATA, BACKUP):
            if form.values[key]:
                self._look(key)
        self._look_rules()
        self._list_drives()
        self.redraw()

    # --- building ----------------------------------------------------------------------------

    def _build(self) -> None:
        tk, ttk = self.tk, self.ttk
        outer = ttk.Frame(self.root)
        outer.pack(fill="both", expand=True)
        outer.rowconfigure(0, weight=1)
        outer.columnconfigure(0, weight=1)
        canvas = tk.Canvas(outer, highlightthickness=0, borderwidth=0)
        scroll = ttk.Scrollbar(outer, orient="vertical", command=canvas.yview)
        canvas.configure(yscrollcommand=scroll.set)
        canvas.grid(row=0, column=0, sticky="nsew")
        scroll.grid(row=0, column=1, sticky="ns")
        body = ttk.Frame(canvas, padding=self.pad(16, 12, 16, 8))
        window = canvas.create_window(0, 0, window=body, anchor="nw")

        def fitted(_event: object = None) -> None:
            canvas.configure(scrollregion=canvas.bbox("all"))
            if body.winfo_reqheight() <= canvas.winfo_height():  # all of it shows: no scrollbar
                scroll.grid_remove()
                canvas.yview_moveto(0)
            else:
                scroll.grid()

        body.bind("<Configure>", fitted)
        canvas.bind(
            "<Configure>", lambda e: (canvas.itemconfigure(window, width=e.width), fitted())
        )
        self.canvas, self.body = canvas, body
        self._wheel(canvas)
        body.columnconfigure(0, weight=1)
        self.canvas.configure(background=ttk.Style(self.root).lookup("TFrame", "background"))

        heading = "Welcome to MegaBackup" if self.model.first_run else "MegaBackup settings"
        ttk.Label(body, text=heading, font=("TkDefaultFont", 14, "bold")).grid(sticky="w")
        self.intro = ttk.Label(body, text=INTRO, wraplength=self.px(WRAP), style="Hint.TLabel")
        self.intro.grid(sticky="w", pady=(2, 4))
        self.file_note = ttk.Label(body, text="", wraplength=self.px(WRAP), style="Warning.TLabel")
        self.file_note.grid(sticky="w")

        pc = self._section("This PC's folder")
        self._path_row(pc, 0, HOME, "The folder you work in:", "Pick this PC's folder")
        ttk.Label(pc, text="Folders to keep safe:", width=LABEL_CHARS).grid(
            row=2, column=0, sticky="nw", pady=(6, 0)
        )
        self.home_frame = ttk.Frame(pc)
        self.home_frame.grid(row=2, column=1, columnspan=2, sticky="w", pady=(6, 0))
        self.home_empty = ttk.Label(
            self.home_frame,
            style="Hint.TLabel",
            text="Pick the folder first; its folders appear here.",
        )
        self.home_empty.grid(row=0, column=0, sticky="w")  # fmt: skip
        self.home_hint = ttk.Label(pc, text="", style="Hint.TLabel", wraplength=self.px(WRAP - 200))
        self.home_hint.grid(row=3, column=1, columnspan=2, sticky="w")

        share = self._section("The network share")
        self._path_row(share, 0, SHARE, "Home on the share:", "Pick the home on the share",
                       hint="the same folders on the NAS: \\\\nas\\andy, //nas/andy or a "
                       "mapped drive such as Z:\\")  # fmt: skip
        self._path_row(share, 2, DATA, "Data on the share:", "Pick the data folder on the share",
                       hint="optional: large folders that live only on the share, backed up to "
                       "the USB drive")  # fmt: skip

        backup = self._section("Snapshots on this PC")
        self._path_row(backup, 0, BACKUP, "Keep snapshots in:", "Pick a folder for snapshots",
                       hint="every version of this PC's folders is kept there; best on a second "
                       "disk")  # fmt: skip

        drive = self._section("The USB drive")
        columns = ("drive", "label", "size", "free", "what")
        self.drive_list = ttk.Treeview(drive, columns=columns, show="headings", height=3,
                                       selectmode="browse")  # fmt: skip
        for column, text, width in zip(columns, ("Drive", "Label", "Size", "Free", "What it is"),
                                       (210, 140, 80, 80, 280), strict=True):  # fmt: skip
            self.drive_list.heading(column, text=text, anchor="w")
            self.drive_list.column(column, width=self.px(width), stretch=column == "what")
        self.drive_list.grid(row=0, column=0, columnspan=3, sticky="ew")
        self.drive_list.tag_configure("ours", foreground=tkbase.GREEN)
        self.drive_list.bind("<<TreeviewSelect>>", lambda e: self._redraw_drive_button())
        self.use_button = ttk.Button(drive, text="Use this drive", command=self._on_use_drive)
        self.use_button.grid(row=1, column=0, sticky="w", pady=(6, 0))
        self.drive_message = ttk.Label(drive, text="", wraplength=self.px(WRAP - 140))
        self.drive_message.grid(row=1, column=1, columnspan=2, sticky="w", padx=8, pady=(6, 0))
        drive.columnconfigure(2, weight=1)

        when = self._section("When")
        when.columnconfigure(1, weight=0)
        when.columnconfigure(3, weight=1)
        ttk.Label(when, text="Back up every").grid(row=0, column=0, sticky="w")
        every = self._var(EVERY)
        spin = ttk.Spinbox(when, from_=1, to=744, increment=1, width=6, textvariable=every)
        spin.grid(row=0, column=1, sticky="w", padx=6)
        ttk.Label(when, text="hours").grid(row=0, column=2, sticky="w")
        self.messages[EVERY] = ttk.Label(when, text="", style="Problem.TLabel")
        self.messages[EVERY].grid(row=0, column=3, sticky="w", padx=8)
        row = 1
        if self.model.autostart_on is not None:
            self.autostart_var = tk.BooleanVar(value=bool(self.model.autostart_on))
            label = "Start with Windows" if self.model.windows else "Start at login"
            ttk.Checkbutton(when, text=label, variable=self.autostart_var,
                            command=self._on_autostart).grid(row=row, column=0, columnspan=4,
                                                             sticky="w", pady=(6, 0))  # fmt: skip
            row += 1
        ttk.Checkbutton(
            when, text="Tell me when a backup went well", variable=self._var(ON_SUCCESS)
        ).grid(row=row, column=0, columnspan=4, sticky="w", pady=(4, 0))

        self.more_button = ttk.Button(body, text="\u25b8 More settings", command=self._on_more)
        self.more_button.grid(sticky="w", pady=(10, 0))
        self.more = ttk.Frame(body, padding=self.pad(4, 6, 0, 0))
        self.more.grid(sticky="ew")
        self.more.columnconfigure(1, weight=1)
        for index, field in enumerate(self.model.more_fields()):
            self._more_row(index, field)
        self.more.grid_remove()

        bottom = self.bottom = ttk.Frame(self.root, padding=self.pad(16, 8, 16, 12))
        bottom.pack(fill="x", side="bottom", before=outer)
        bottom.columnconfigure(0, weight=1)
        self.status = ttk.Label(bottom, text="", wraplength=self.px(WIDTH - 40))
        self.status.grid(row=0, column=0, columnspan=5, sticky="w")
        self.check_text = ttk.Label(bottom, text="", wraplength=self.px(WIDTH - 40), justify="left")
        self.check_text.grid(row=1, column=0, columnspan=5, sticky="w")
        buttons = ttk.Frame(bottom)
        buttons.grid(row=2, column=0, columnspan=5, sticky="ew", pady=(8, 0))
        buttons.columnconfigure(2, weight=1)
        self.check_button = ttk.Button(buttons, text="Check", command=self._on_check)
        self.check_button.grid(row=0, column=0)
        self.text_button = ttk.Button(buttons, text="Open as text", command=self._on_text)
        self.text_button.grid(row=0, column=1, padx=(6, 0))
        self.save_button = ttk.Button(buttons, text="Save", command=self._on_save)
        self.save_button.grid(row=0, column=3)
        self.close_button = ttk.Button(buttons, text="Close", command=self.close_asked)
        self.close_button.grid(row=0, column=4, padx=(6, 0))

    def pad(self, *sides: int) -> tuple[int, ...]:
        return tuple(self.px(side) for side in sides)

    def _fit(self) -> None:
        """As tall as the content, but never taller than the screen (the body scrolls)."""
        self.root.update_idletasks()
        needed = self.body.winfo_reqheight() + self.bottom.winfo_reqheight() + 4
        width, height = tkbase.on_screen(self.root, self.px(WIDTH), needed)
        self.root.geometry(f"{width}x{height}")

    def _section(self, title: str) -> Any:
        frame = self.ttk.LabelFrame(
            self.body, text=title, padding=self.pad(10, 4, 10, 6), style="Section.TLabelframe"
        )
        frame.grid(sticky="ew", pady=(6, 0))
        frame.columnconfigure(1, weight=1)
        return frame

    def _path_row(
        self, parent: Any, row: int, key: str, label: str, title: str, hint: str = ""
    ) -> None:
        """label | entry | Choose..., and below the entry its line: the problem, the look at
        the place, or else the hint."""
        ttk = self.ttk
        ttk.Label(parent, text=label, width=LABEL_CHARS).grid(row=row, column=0, sticky="w")
        entry = ttk.Entry(parent, textvariable=self._var(key))
        entry.grid(row=row, column=1, sticky="ew")
        self.texts[key] = entry
        choose = ttk.Button(
            parent, text="Choose\u2026", command=lambda: self._on_choose(key, title)
        )
        choose.grid(row=row, column=2, padx=(6, 0))
        self.choose_buttons[key] = choose
        self.hints[key] = hint
        self.messages[key] = ttk.Label(parent, text=hint, wraplength=self.px(WRAP - 200))
        self.messages[key].grid(row=row + 1, column=1, columnspan=2, sticky="w", pady=(1, 2))

    def _more_row(self, index: int, field: MoreField) -> None:
        """label | widget, and below the widget its line: the problem, or else what the
        template's comment says the setting does."""
        tk, ttk = self.tk, self.ttk
        row = 2 * index
        ttk.Label(
            self.more, text=field.label, width=MORE_LABEL_CHARS, wraplength=self.px(300)
        ).grid(row=row, column=0, sticky="nw", pady=(4, 0))
        if field.kind == "flag":
            widget = ttk.Checkbutton(self.more, variable=self._var(field.key))
        elif field.kind == "choice":
            widget = ttk.Combobox(self.more, values=list(field.choices), state="readonly",
                                  width=14, textvariable=self._var(field.key))  # fmt: skip
        elif field.kind in LIST_KINDS:
            widget = tk.Text(self.more, height=3, width=40, wrap="none", undo=True,
                             font="TkDefaultFont", relief="solid", borderwidth=1,
                             highlightthickness=0)  # fmt: skip
            widget.insert("1.0", self.model.values[field.key])
            widget.bind("<KeyRelease>", lambda e, k=field.key: self._on_text_field(k))
            self.texts[field.key] = widget
        else:
            wide = field.kind in ("path", "optional_path", "text")
            widget = ttk.Entry(self.more, width=50 if wide else 10,
                               textvariable=self._var(field.key))  # fmt: skip
        widget.grid(row=row, column=1, sticky="w", pady=(4, 0))
        self.hints[field.key] = field.note + (" (one per line)" if field.kind in LIST_KINDS else "")
        self.messages[field.key] = ttk.Label(self.more, text="", wraplength=self.px(WRAP - 300))
        self.messages[field.key].grid(row=row + 1, column=1, sticky="w")

    def _var(self, key: str) -> Any:
        value = self.model.values[key]
        if isinstance(value, bool):
            var = self.tk.BooleanVar(master=self.root, value=value)
        else:
            var = self.tk.StringVar(master=self.root, value=value)
        var.trace_add("write", lambda *_: self._on_field(key))
        self.vars[key] = var
        return var

    def _wheel(self, canvas: Any) -> None:
        def scroll(event: Any) -> None:
            if event.num == 4 or event.delta > 0:
                canvas.yview_scroll(-2, "units")
            elif event.num == 5 or event.delta < 0:
                canvas.yview_scroll(2, "units")

        for sequence in ("<MouseWheel>", "<Button-4>", "<Button-5>"):
            self.root.bind_all(sequence, scroll, add="+")

    # --- drawing -----------------------------------------------------------------------------

    def redraw(self) -> None:
        model = self.model
        problems, cautions = model.problems(), model.cautions()
        for key, label in self.messages.items():
            text, level = self._message(key, problems, cautions)
            label.configure(text=text, style=LEVEL_STYLES[level])
        _show_if(self.file_note, model.file_note)
        self._redraw_home()
        self._redraw_drives()
        general = problems.get("", [])
        status = model.status or ("In the file: " + "; ".join(general) if general else "")
        level = model.status_level if model.status else "warning"
        _show_if(self.status, status, LEVEL_STYLES[level])
        _show_if(self.check_text, "\n".join(model.check_lines))
        saving = self.jobs.busy("save")
        self.save_button.state(["disabled"] if saving else ["!disabled"])
        checking = self.jobs.busy("check")
        self.check_button.state(["disabled"] if checking else ["!disabled"])

    def _message(self, key: str, problems: dict, cautions: dict) -> tuple[str, str]:
        if problems.get(key):
            return "\n".join(problems[key]), "problem"
        if cautions.get(key):
            return "\n".join(cautions[key]), "warning"
        if key in self._pending or self.jobs.busy(key):
            return "Looking\u2026", "info"
        look = self.model.looks.get(key)
        if look is not None and look.text == self.model.values.get(key):
            return look.line, look.level
        return self.hints.get(key, ""), "info"

    def _redraw_home(self) -> None:
        model, ttk = self.model, self.ttk
        choices = list(model.home_choices)
        if choices != self._shown_choices:
            for box in self.home_frame.winfo_children():
                if box is not self.home_empty:
                    box.destroy()
            self.home_empty.grid_remove()
            self.home_boxes.clear()
            for index, name in enumerate(choices):
                var = self.tk.BooleanVar(master=self.root, value=name in model.values[FOLDERS])
                tick = lambda n=name, v=var: self._on_tick(n, v)  # noqa: E731
                box = ttk.Checkbutton(self.home_frame, text=name, variable=var, command=tick)
                box.grid(row=index // 4, column=index % 4, sticky="w", padx=(0, 18), pady=1)
                box.var = var  # type: ignore[attr-defined]  # kept with its box
                self.home_boxes[name] = box
            self._shown_choices = choices
        for name, box in self.home_boxes.items():
            ticked = name in model.values[FOLDERS]
            if box.var.get() != ticked:
                box.var.set(ticked)
            note = model.folder_note(name)
            box.configure(text=f"{name} ({note})" if note else name)
        if not choices:
            self.home_empty.grid()
            hint = ""
        elif not model.values[FOLDERS]:
            hint = "Nothing ticked: the whole folder is synced and backed up."
        else:
            hint = ""
        _show_if(self.home_hint, hint)

    def _redraw_drives(self) -> None:
        rows = self.model.drive_rows()
        chosen = self.drive_list.selection()
        current = [self.drive_list.item(i, "values") for i in self.drive_list.get_children()]
        if [tuple(str(v) for v in row) for row in current] != [tuple(r) for r in rows]:
            self.drive_list.delete(*self.drive_list.get_children())
            name = self.model.values["external.name"] or "MegaBackup"
            for index, row in enumerate(rows):
                ours = self.model.drives[index].is_ours(name)
                self.drive_list.insert("", "end", iid=str(index), values=row,
                                       tags=("ours",) if ours else ())  # fmt: skip
            keep = [i for i in chosen if self.drive_list.exists(i)]
            if keep:
                self.drive_list.selection_set(keep)
        self.drive_message.configure(
            text=self.model.drive_line, style=LEVEL_STYLES[self.model.drive_level]
        )
        self._redraw_drive_button()

    def _redraw_drive_button(self) -> None:
        busy = self.jobs.busy("use-drive")
        self.use_button.state(["!disabled"] if self.drive_list.selection() and not busy
                              else ["disabled"])  # fmt: skip

    # --- events ------------------------------------------------------------------------------

    def _on_field(self, key: str) -> None:
        self.model.set(key, self.vars[key].get())
        self.model.status = ""
        if key in (HOME, SHARE, DATA, BACKUP):
            self._look_soon(key)
        else:
            self._look_soon("rules")
        self.redraw()

    def _on_text_field(self, key: str) -> None:
        self.model.set(key, self.texts[key].get("1.0", "end-1c"))
        self._look_soon("rules")
        self.redraw()

    def _on_tick(self, name: str, var: Any) -> None:
        self.model.tick(name, bool(var.get()))
        self._look_soon(SHARE)  # the same folders on the share?
        self.redraw()

    def _on_autostart(self) -> None:
        self.model.set_autostart(bool(self.autostart_var.get()))

    def _on_choose(self, key: str, title: str) -> None:
        from tkinter import filedialog

        current = self.model.values[key]
        start = current if current and Path(current).is_dir() else str(Path.home())
        folder = filedialog.askdirectory(parent=self.root, title=title, initialdir=start,
                                         mustexist=False)  # fmt: skip
        if folder:
            self.vars[key].set(str(Path(folder)) if self.model.windows else folder)

    def _on_use_drive(self) -> None:
        chosen = self.drive_list.selection()
        if not chosen or self.jobs.busy("use-drive"):
            return
        index = int(chosen[0])
        self.model.drive_line, self.model.drive_level = "Marking the drive\u2026", "info"
        self.jobs.run("use-drive", lambda: self.model.use_drive(index), self._after_drive)
        self.redraw()

    def _after_drive(self, _result: object) -> None:
        if DRIVE_PATH in self.vars:
            self.vars[DRIVE_PATH].set(self.model.values[DRIVE_PATH])
        self.redraw()

    def _on_more(self) -> None:
        if self.more.winfo_ismapped():
            self.more.grid_remove()
            self.more_button.configure(text="\u25b8 More settings")
        else:
            self.more.grid()
            self.more_button.configure(text="\u25be More settings")
            self.root.update_idletasks()  # show what unfolded: scroll its start to the top
            self.canvas.yview_moveto(self.more_button.winfo_y() / self.body.winfo_height())

    def _on_save(self) -> None:
        if self.jobs.busy("save"):
            return
        self.model.status, self.model.status_level = "Saving\u2026", "info"
        self.jobs.run("save", self.model.save, lambda _saved: self.redraw())
        self.redraw()

    def _on_check(self) -> None:
        if self.jobs.busy("check"):
            return
        self.model.check_lines = ["Checking the places and tools\u2026"]
        self.jobs.run("check", self.model.check, self._after_check)
        self.redraw()

    def _after_check(self, lines: Any) -> None:
        self.model.take_check(lines if isinstance(lines, list) else [f"Check failed: {lines!r}"])
        self.redraw()

    def _on_text(self) -> None:
        path = self.model.text_file()
        if self.opener is not None:
            try:
                self.opener(path, edit=True)
            except Exception as exc:  # no editor: say where the file is
                self.model.status, self.model.status_level = f"Cannot open {path}: {exc}", "problem"
                self.redraw()

    # --- looking at places off Tk's thread ---------------------------------------------------

    def _look_soon(self, key: str) -> None:
        if key in self._pending:
            self.root.after_cancel(self._pending[key])
        self._pending[key] = self.root.after(LOOK_DELAY_MS, lambda: self._look(key))

    def _look(self, key: str) -> None:
        self._pending.pop(key, None)
        model = self.model
        if key == "rules":
            return self._look_rules()
        text = model.values[key]
        if key == HOME:
            self.jobs.run(HOME, lambda: model.look_at_home(text), self._took_home)
        elif key in (SHARE, DATA):
            folders = list(model.values[FOLDERS])
            self.jobs.run(key, lambda: model.look_at_share(key, text, folders),
                          lambda look: self._took(lambda: model.take_share(key, look)))  # fmt: skip
        elif key == BACKUP:
            self.jobs.run(BACKUP, lambda: model.look_at_backup(text),
                          lambda look: self._took(lambda: model.take_backup(look)))  # fmt: skip
        self._look_rules()
        self.redraw()

    def _took_home(self, look: Any) -> None:
        self._took(lambda: self.model.take_home(look))
        if self.model.values[SHARE]:
            self._look(SHARE)  # "the same folders as this PC" depends on this PC's folders

    def _took(self, take: Callable[[], None]) -> None:
        try:
            take()
        except Exception:  # the look failed (a bug): the field just shows no line
            log.exception("taking a look failed")
        self.redraw()

    def _look_rules(self) -> None:
        document = self.model.document_now()
        self.jobs.run("rules", lambda: self.model.look_at_rules(document),
                      lambda look: self._took(lambda: self.model.take_rules(look)))  # fmt: skip

    def _list_drives(self) -> None:
        def took(found: Any) -> None:
            if isinstance(found, list) and self.model.take_drives(found):
                self.redraw()
            with contextlib.suppress(self.tk.TclError):  # closed meanwhile
                self.root.after(DRIVES_EVERY_MS, self._list_drives)

        if not self.jobs.busy("use-drive"):
            self.jobs.run("drives", self.model.look_at_drives, took)
        else:
            self.root.after(DRIVES_EVERY_MS, self._list_drives)

    # --- the window's life -------------------------------------------------------------------

    def close_asked(self) -> None:
        """The close box or Close: offer to save what was changed and not saved."""
        from tkinter import messagebox

        if self.model.touched and not self.jobs.busy("save"):
            answer = messagebox.askyesnocancel(
                TITLE, "Save the changes before closing?", parent=self.root
            )
            if answer is None:
                return
            if answer and not self.model.save():
                self.redraw()
                return
        self.root.quit()

    def run(self) -> None:
        self.root.mainloop()

    def close(self) -> None:
        tkbase.free(self)


def _show_if(label: Any, text: str, style: str | None = None) -> None:
    """A line that takes no room while it has nothing to say."""
    label.configure(text=text, **({"style": style} if style else {}))
    if text:
        label.grid()
    else:
        label.grid_remove()


def open_setup_window(form_factory: Callable[[], SetupForm], opener: Opener | None = None) -> bool:
    """Show the window until it is closed (call from a thread of its own); False if one is
    already open."""
    return tkbase.show_alone(_one_window, lambda: SetupWindow(form_factory(), opener))
