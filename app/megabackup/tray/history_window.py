"""The history window: a thin tkinter view of tray/run_history.py's HistoryModel.

At the top the freshness picture, drawn on a Tk canvas (no plotting library in the exe): the
last 30 days, one row per place, a mark per run shaped and coloured by how it went, and the age
of each place's newest good snapshot at the row's end. Below it the runs, newest first; a
double-click opens a run's log. It follows new runs while it is open.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

from megabackup import tkbase
from megabackup.tkroot import scaled
from megabackup.tray.run_history import AWAY, DAY, FAILED, MARK_KINDS, OK, WARNING, HistoryModel

TITLE = "MegaBackup - History"
FOLLOW_MS = 5000  # look for a new run this often
ROW_HEIGHT, TOP, AXIS = 34, 26, 26
LEFT, RIGHT = 140, 150  # the labels and the ages beside the picture
MARK_RADIUS = 5  # (all sizes in pixels at 100 % display scaling)
COLOURS = {OK: "#2e7d32", WARNING: "#ef8f00", FAILED: "#c62828", AWAY: "#8d8d8d"}
# the list's text in darker shades of the marks' colours: orange text on white is hard to read
TEXT_COLOURS = {OK: "#000000", WARNING: tkbase.AMBER, FAILED: tkbase.RED, AWAY: tkbase.GREY}
LEGEND = (
    (OK, "a good snapshot"),
    (WARNING, "done with warnings"),
    (FAILED, "failed"),
    (AWAY, "away (not connected)"),
)
_one_window = threading.Lock()


class HistoryWindow:
    """The tkinter view. Build it, then call run(); tests drive it with update() instead."""

    def __init__(self, model: HistoryModel, screen: str | None = None) -> None:
        import tkinter as tk
        from tkinter import ttk

        self.tk, self.ttk = tk, ttk
        self.model = model
        self.root = tkbase.new_root(TITLE, screen, size=(1000, 660), minimum=(760, 460))
        self.px = lambda pixels: scaled(self.root, pixels)  # sizes at 100 %, for this screen
        px = self.px
        self.row_height, self.top, self.axis = px(ROW_HEIGHT), px(TOP), px(AXIS)
        self.left, self.right, self.radius = px(LEFT), px(RIGHT), px(MARK_RADIUS)
        self._build()
        self.redraw()
        self.root.after(FOLLOW_MS, self._follow)

    def _build(self) -> None:
        tk, ttk = self.tk, self.ttk
        px = self.px
        outer = ttk.Frame(self.root, padding=(px(16), px(12), px(16), px(12)))
        outer.pack(fill="both", expand=True)
        outer.columnconfigure(0, weight=1)
        outer.rowconfigure(3, weight=1)
        top = ttk.Frame(outer)
        top.grid(row=0, column=0, sticky="ew")
        ttk.Label(top, text="The last 30 days", style="Heading.TLabel").pack(side="left")
        legend = tk.Canvas(top, height=px(20), width=px(520), highlightthickness=0)
        legend.pack(side="right")
        self.legend = legend
        picture_height = self.top + self.row_height * len(self.model.rows) + self.axis
        background = ttk.Style(self.root).lookup("TFrame", "background")
        legend.configure(background=background)
        self.picture = tk.Canvas(outer, height=picture_height, highlightthickness=1,
                                 highlightbackground="#c8c8c8", background="white")  # fmt: skip
        self.picture.grid(row=1, column=0, sticky="ew", pady=(6, 10))
        self.picture.bind("<Configure>", lambda e: self._draw_picture())
        self.picture.bind("<Button-1>", self._on_picture_click)

        ttk.Label(outer, text="Runs, newest first", style="Heading.TLabel").grid(
            row=2, column=0, sticky="w"
        )
        labels = [row.label for row in self.model.rows if row.own_changes]
        columns = ("when", "ended", "took", *[f"place{i}" for i in range(len(labels))], "conf")
        headings = ("When", "How it ended", "Took", *labels, "Conflicts")
        widths = (135, 90, 100, *[150] * len(labels), 80)
        table = ttk.Treeview(outer, columns=columns, show="headings", selectmode="browse")
        for column, text, width in zip(columns, headings, widths, strict=True):
            table.heading(column, text=text, anchor="w")
            table.column(column, width=px(width), stretch=column == "ended")
        for kind in MARK_KINDS:
            table.tag_configure(kind, foreground=TEXT_COLOURS[kind])
        scroll = ttk.Scrollbar(outer, orient="vertical", command=table.yview)
        table.configure(yscrollcommand=scroll.set)
        table.grid(row=3, column=0, sticky="nsew", pady=(4, 0))
        scroll.grid(row=3, column=1, sticky="ns", pady=(4, 0))
        table.bind("<<TreeviewSelect>>", self._on_select)
        table.bind("<Double-1>", self._on_double)
        table.bind("<Return>", self._on_double)
        self.table = table
        ttk.Label(outer, text="Files per place: + new, ~ changed, \u2212 deleted",
                  style="Hint.TLabel").grid(row=4, column=0, sticky="w")  # fmt: skip
        self.details = ttk.Label(outer, text="", wraplength=px(900))
        self.details.grid(row=5, column=0, sticky="w", pady=(6, 0))
        bottom = ttk.Frame(outer)
        bottom.grid(row=6, column=0, columnspan=2, sticky="ew", pady=(8, 0))
        bottom.columnconfigure(0, weight=1)
        self.status = ttk.Label(bottom, text="", style="Hint.TLabel", wraplength=px(700))
        self.status.grid(row=0, column=0, sticky="w")
        self.log_button = ttk.Button(bottom, text="Open log", command=self._on_open_log)
        self.log_button.grid(row=0, column=1)
        self.close_button = ttk.Button(bottom, text="Close", command=self.root.quit)
        self.close_button.grid(row=0, column=2, padx=6)

    # --- drawing -----------------------------------------------------------------------------

    def redraw(self) -> None:
        self._draw_legend()
        self._draw_picture()
        chosen = self.table.selection()
        self.table.delete(*self.table.get_children())
        for line in self.model.runs:
            values = (line.when, line.ended, line.took, *line.changes, line.conflicts)
            self.table.insert("", "end", iid=str(line.run_id), values=values, tags=(line.kind,))
        keep = [i for i in chosen if self.table.exists(i)]
        if keep:
            self.table.selection_set(keep)
        self.status.configure(text=self.model.status)
        self._redraw_buttons()

    def _redraw_buttons(self) -> None:
        self.log_button.state(["!disabled"] if self.table.selection() else ["disabled"])

    def _draw_legend(self) -> None:
        canvas = self.legend
        canvas.delete("all")
        px, middle = self.px, self.px(10)
        x = px(4)
        for kind, text in LEGEND:
            _mark(canvas, kind, x + px(6), middle, self.radius)
            item = canvas.create_text(x + px(16), middle, text=text, anchor="w")
            x = canvas.bbox(item)[2] + px(18)
        canvas.configure(width=x)

    def _draw_picture(self) -> None:
        canvas, model = self.picture, self.model
        canvas.delete("all")
        width = max(canvas.winfo_width(), self.px(400))
        x0, x1 = self.left, width - self.right
        bottom = self.top + self.row_height * len(model.chart)
        gap, half = self.px(14), self.row_height / 2
        self._days(canvas, x0, x1, bottom)
        canvas.create_text(x1 + gap, self.top / 2, text="Last good", anchor="w",
                           fill="#555555")  # fmt: skip
        for index, row in enumerate(model.chart):
            y = self.row_middle(index)
            if index % 2:
                canvas.create_rectangle(0, y - half, width, y + half,
                                        fill="#f4f6f8", outline="", tags=("stripe",))  # fmt: skip
            canvas.create_text(self.px(10), y, text=row.label, anchor="w")
            canvas.tag_lower("stripe")
            for kind in MARK_KINDS:  # trouble drawn last, so it stays visible among good marks
                for mark in (m for m in row.marks if m.kind == kind):
                    x = x0 + model.fraction(mark.when) * (x1 - x0)
                    _mark(canvas, kind, x, y, self.radius, tags=(f"run:{mark.run_id}",))
            colour = COLOURS[FAILED] if row.stale else COLOURS[OK]
            canvas.create_text(x1 + gap, y, text=row.age, anchor="w", fill=colour,
                               tags=(f"age:{index}",))  # fmt: skip
        if not any(row.marks for row in model.chart):
            canvas.create_text((x0 + x1) / 2, bottom / 2, fill="#777777",
                               text="No backup in the last 30 days.")  # fmt: skip

    def row_middle(self, index: int) -> float:
        return self.top + self.row_height * index + self.row_height / 2

    def _days(self, canvas: Any, x0: float, x1: float, bottom: float) -> None:
        """A light line at each midnight, a date every week, and "today" at the right."""
        model = self.model
        top, below = self.top - self.px(4), bottom + self.px(12)
        day = dt.datetime.fromtimestamp(model.start).replace(hour=0, minute=0, second=0)
        day += dt.timedelta(days=1)
        while day.timestamp() <= model.end:
            x = x0 + model.fraction(day.timestamp()) * (x1 - x0)
            weekly = (model.end - day.timestamp()) // DAY % 7 == 0
            canvas.create_line(x, top, x, bottom, fill="#d5d9de" if weekly else "#eceff1")
            if weekly and x1 - x > self.px(40):  # not on top of "now"
                canvas.create_text(x, below, text=day.strftime("%b %d").replace(" 0", " "),
                                   fill="#555555")  # fmt: skip
            day += dt.timedelta(days=1)
        canvas.create_line(x1, top, x1, bottom, fill="#9aa0a6", dash=(3, 2))
        canvas.create_text(x1, below, text="now", fill="#555555")

    # --- events ------------------------------------------------------------------------------

    def _on_select(self, _event: object = None) -> None:
        chosen = self.table.selection()
        self.details.configure(text=self.model.describe(int(chosen[0])) if chosen else "")
        self._redraw_buttons()

    def _on_double(self, _event: object = None) -> None:
        self._on_open_log()

    def _on_open_log(self) -> None:
        chosen = self.table.selection()
        if chosen:
            self.model.open_log(int(chosen[0]))
            self.status.configure(text=self.model.status)

    def _on_picture_click(self, event: Any) -> None:
        """A click on a mark selects its run in the list (the nearest, where marks crowd)."""
        canvas = self.picture
        r = self.radius
        near = canvas.find_overlapping(event.x - r, event.y - r, event.x + r, event.y + r)
        runs = []
        for item in near:
            tags = [t for t in canvas.gettags(item) if t.startswith("run:")]
            if tags:
                left, _top, right, _bottom = canvas.bbox(item)
                runs.append((abs((left + right) / 2 - event.x), tags[0].split(":", 1)[1]))
        if runs:
            iid = min(runs)[1]
            if self.table.exists(iid):
                self.table.selection_set(iid)
                self.table.see(iid)

    def _follow(self) -> None:
        try:
            if self.model.changed():
                self.model.refresh()
                self.redraw()
        except Exception as exc:  # the history is being written, or damaged: say so, go on
            self.status.configure(text=f"Cannot read the history now: {exc}")
        self.root.after(FOLLOW_MS, self._follow)

    def run(self) -> None:
        self.root.mainloop()

    def close(self) -> None:
        tkbase.free(self)


def _mark(canvas: Any, kind: str, x: float, y: float, r: float, tags: tuple = ()) -> None:
    """ok: a tick; warning: a triangle; failed: a cross; away: a hollow ring (r: its radius)."""
    colour = COLOURS[kind]
    line = max(1, round(r / 2.5))
    if kind == OK:  # a thin tick: six a day still stand apart
        canvas.create_rectangle(x - line / 2, y - r - 2, x + line / 2, y + r + 2, fill=colour,
                                outline="",
                                tags=tags)  # fmt: skip
    elif kind == WARNING:
        canvas.create_polygon(x, y - r - 1, x + r + 1, y + r, x - r - 1, y + r, fill=colour,
                              outline=colour, tags=tags)  # fmt: skip
    elif kind == FAILED:
        for dx in (r, -r):
            canvas.create_line(x - dx, y - r, x + dx, y + r, fill=colour, width=line + 1, tags=tags)
    else:
        canvas.create_oval(x - r, y - r, x + r, y + r, outline=colour, width=line, fill="white",
                           tags=tags)  # fmt: skip


def open_history_window(model_factory: Callable[[], HistoryModel]) -> bool:
    """Show the window until it is closed (call from a thread of its own); False if one is
    already open."""
    return tkbase.show_alone(_one_window, lambda: HistoryWindow(model_factory()))
