"""The benchmark: MegaBackup's cycle against the naive sequence and the copy and scan limits.

For each run, each contender gets its own fresh copy of the same generated places and goes
through four cases in a row: the first full cycle, a cycle with no change, a typical day (20
documents re-saved and 5 new photos in desktop home, nothing else), and a cycle after 1% of the
files changed and 50 were added (in desktop home and in server data). Contenders:

- naive: the original script's sequence, every step always run, in series: rdiff-backup server
  home -> drive, desktop home -> desktop backup, server data -> drive, unison desktop <-> server
  (-batch -times, fastcheck left at its default), then the two home backups again;
- MegaBackup: `megabackup run --settings ...` with its own MEGABACKUP_HOME;
- limit: `cp -a` of everything a first cycle must write, then `rsync -a` passes over the same
  trees (no change: nothing to copy; a typical day and 1% changed: the changes carried to every
  copy).

Every command is timed as a child process: wall clock, CPU (user+sys of the child and all the
children it waited for, from wait4) and peak memory (the larger of the biggest single process and
the sampled sum of the process tree). This is a developer tool: it starts processes itself and
nothing in the app imports it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.gui.xvfb import start_xvfb  # the GUI tests' private X server

from bench import trees
from megabackup.engine import manifest
from megabackup.settings import to_toml

CASES = ("first", "no change", "typical day", "1% changed")
CASE_TITLES = {
    "first": "first cycle",
    "no change": "no change",
    "typical day": "typical day",
    "1% changed": "1% changed +50",
}
NAIVE, MEGABACKUP, LIMIT = "naive", "MegaBackup", "limit"
DRIVE_NAME = "MegaBackup"
_PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024
_TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------
# Measuring one child process


@dataclass
class Sample:
    """One measured command, or the sum of a series of them."""

    wall: float = 0.0
    cpu: float = 0.0
    peak_kib: int = 0
    failures: list[str] = field(default_factory=list)
    steps: list[tuple[str, float]] = field(default_factory=list)  # (label, wall) in order

    def add(self, other: Sample, label: str) -> None:
        """In series: times add up, the peak is the largest."""
        self.wall += other.wall
        self.cpu += other.cpu
        self.peak_kib = max(self.peak_kib, other.peak_kib)
        self.failures += other.failures
        self.steps.append((label, other.wall))


def _tree_stats(root_pid: int) -> tuple[int, int]:
    """Resident memory (KiB) and CPU ticks so far of a process and all its live descendants."""
    parents: dict[int, int] = {}
    usage: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        name = entry.name
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        parents[int(name)] = int(fields[1])
        usage[int(name)] = (int(fields[21]) * _PAGE_KIB, int(fields[11]) + int(fields[12]))
    family = {root_pid}
    while True:
        grown = {pid for pid, parent in parents.items() if parent in family} - family
        if not grown:
            break
        family |= grown
    rss = sum(usage.get(pid, (0, 0))[0] for pid in family)
    ticks = sum(usage.get(pid, (0, 0))[1] for pid in family)
    return rss, ticks


class _TreeSampler(threading.Thread):
    """Samples the tree's summed RSS: catches snapshots that run side by side."""

    def __init__(self, pid: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak_kib = pid, every, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.every):
            with contextlib.suppress(Exception):
                self.peak_kib = max(self.peak_kib, _tree_stats(self.pid)[0])

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def measure(argv: Sequence[str], log: Path, env: dict[str, str] | None = None) -> Sample:
    """Run argv to completion; its output goes to log."""
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        started = time.perf_counter()
        process = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env
        )
        sampler = _TreeSampler(process.pid)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
    failures = [f"{Path(argv[0]).name} exit code {process.returncode}"] * (process.returncode != 0)
    return Sample(
        wall,
        usage.ru_utime + usage.ru_stime,
        max(usage.ru_maxrss, sampler.peak_kib),
        failures,
    )


# ---------------------------------------------------------------------------
# The places


@dataclass(frozen=True)
class Config:
    files: int
    data_files: int
    max_size: int
    seed: int
    runs: int
    work: Path
    idle_seconds: float


@dataclass(frozen=True)
class Places:
    """One contender's places; its state, settings and naive unison archive live in root."""

    root: Path
    desktop_home: Path
    desktop_backup: Path
    server_home: Path
    server_data: Path
    drive: Path

    @classmethod
    def under(cls, root: Path) -> Places:
        """All five places in folders under root, on one local disk."""
        desktop, server = root / "desktop", root / "server"
        return cls(root, desktop / "home", desktop / "backup", server / "home", server / "data",
                   root / "usb" / DRIVE_NAME)  # fmt: skip

    state = property(lambda self: self.root / "state")
    settings = property(lambda self: self.root / "settings.toml")


def write_settings(places: Places) -> None:
    tables = {
        "desktop": {"home": places.desktop_home, "backup": places.desktop_backup},
        "server": {"home": places.server_home, "data": places.server_data},
        "external": {"name": DRIVE_NAME, "path": places.drive},
        "folders": {"home": trees.HOME_FOLDERS, "data": [], "ignore": trees.IGNORE},
        "safety": {"conflicts": "keep-both"},
    }
    comment = "Written by the MegaBackup benchmark for its generated places."
    places.settings.write_text(to_toml(tables, comment), encoding="utf-8")


def build_base(config: Config) -> tuple[Path, trees.TreeInfo, trees.TreeInfo]:
    base = config.work / "base"
    home = trees.build_tree(base / "home", config.files, config.seed, "home", config.max_size)
    data = trees.build_tree(base / "data", config.data_files, config.seed, "data", config.max_size)
    return base, home, data


def make_places(base: Path, root: Path) -> Places:
    """Fresh copies of the generated trees: the same home on desktop and server, data on server."""
    from megabackup import places as app_places  # the drive marker, written as the app expects

    places = Places.under(root)
    for folder in (places.desktop_home.parent, places.server_home.parent):
        folder.mkdir(parents=True)
    for source, target in (
        (base / "home", places.desktop_home),
        (base / "home", places.server_home),
        (base / "data", places.server_data),
    ):
        subprocess.run(["cp", "-a", str(source), str(target)], check=True)
    places.desktop_backup.mkdir()
    places.state.mkdir()
    app_places.write_drive_marker(places.drive, DRIVE_NAME)
    write_settings(places)
    return places


def typical_day(places: Places, seed: int) -> None:
    trees.typical_day(places.desktop_home, seed)


def mutate(places: Places, seed: int, max_size: int) -> None:
    trees.mutate(places.desktop_home, seed, folders=trees.HOME_FOLDERS, max_size=max_size)
    trees.mutate(places.server_data, seed + 7, max_size=max_size)


# ---------------------------------------------------------------------------
# The contenders


def _tool(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"benchmark: {name} was not found (make setup installs it)")
    return found


def _environment(places: Places) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled once, not at every start
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["MEGABACKUP_HOME"] = str(places.state)
    env["UNISON"] = str(places.root / "naive-unison")
    env["UNISONLOCALHOSTNAME"] = "megabackup-bench"
    return env


def _selection(source: Path, folders: Sequence[str]) -> list[str]:
    """rdiff-backup selection, as the app builds it (same folder list and ignore list)."""
    from megabackup.tools.rdiff import selection_args

    return selection_args(source, folders, trees.IGNORE)


class Naive:
    """The original script's sequence; each rdiff-backup waits out rdiff-backup's one-second rule
    outside the timing (a real tree takes longer than a second per step anyway)."""

    name = NAIVE

    def __init__(self, places: Places, log: Path) -> None:
        self.places, self.log, self.env = places, log, _environment(places)
        self.rdiff, self.unison = _tool("rdiff-backup"), _tool("unison")
        self.last: dict[Path, float] = {}

    def backup(self, source: Path, repository: Path, folders: Sequence[str]) -> Sample:
        _wait_next_second(self.last.get(repository))
        selection = _selection(source, folders)
        argv = [
            self.rdiff,
            "--api-version",
            "201",
            "backup",
            *selection,
            str(source),
            str(repository),
        ]
        sample = measure(argv, self.log, self.env)
        self.last[repository] = time.time()
        return sample

    def sync(self) -> Sample:
        p = self.places
        argv = [self.unison, str(p.desktop_home), str(p.server_home), "-batch", "-ui", "text"]
        argv.append("-times")
        for pattern in trees.IGNORE:
            argv += ["-ignore", f"Name {pattern}"]
        for folder in trees.HOME_FOLDERS:
            argv += ["-path", folder]
        return measure(argv, self.log, self.env)

    def cycle(self, case: str) -> Sample:
        p, home = self.places, trees.HOME_FOLDERS
        total = Sample()
        total.add(self.backup(p.server_home, p.drive / "home", home), "server home -> drive")
        total.add(self.backup(p.desktop_home, p.desktop_backup / "home", home), "desktop home")
        total.add(self.backup(p.server_data, p.drive / "data", ()), "server data -> drive")
        total.add(self.sync(), "unison")
        total.add(self.backup(p.server_home, p.drive / "home", home), "server home again")
        total.add(self.backup(p.desktop_home, p.desktop_backup / "home", home), "desktop again")
        return total


class MegaBackup:
    """`megabackup run` as the person's scheduler would start it."""

    name = MEGABACKUP

    def __init__(self, places: Places, log: Path) -> None:
        self.places, self.log, self.env = places, log, _environment(places)
        self.program = _tool("megabackup")

    def cycle(self, case: str) -> Sample:
        argv = [self.program, "run", "--settings", str(self.places.settings)]
        sample = measure(argv, self.log, self.env)
        sample.steps = _steps_from_history(self.places.state / "history.sqlite3")
        return sample


def _steps_from_history(path: Path) -> list[tuple[str, float]]:
    """How long each step of the newest run took, from MegaBackup's own history (best effort)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            rows = db.execute(
                "SELECT step, status, started, finished FROM steps "
                "WHERE run_id = (SELECT MAX(id) FROM runs) ORDER BY position"
            ).fetchall()
    except sqlite3.Error:
        return []
    return [(f"{step} ({status})", (end or 0) - (start or 0)) for step, status, start, end in rows]


class Limit:
    """cp -a of what a first cycle writes; rsync -a over the same trees afterwards."""

    name = LIMIT
    copy: tuple[str, ...] = ("cp", "-a")

    def __init__(self, places: Places, log: Path) -> None:
        self.places, self.log, self.env = places, log, _environment(places)
        self.scan_seconds: float | None = None
        self.dry_run_seconds: float | None = None

    def _pairs(self) -> list[tuple[Path, Path, Sequence[str]]]:
        p = self.places
        return [
            (p.server_home, p.drive / "home", trees.HOME_FOLDERS),
            (p.desktop_home, p.desktop_backup / "home", trees.HOME_FOLDERS),
            (p.server_data, p.drive / "data", ()),
        ]

    def _sources(self, source: Path, folders: Sequence[str], contents: str) -> list[str]:
        """The listed folders, or the whole tree's contents (`/` for rsync, `/.` for cp)."""
        if not folders:
            return [f"{source}{contents}"]
        return [str(source / f) for f in folders if (source / f).exists()]

    def _rsync(self, source: Path, target: Path, folders: Sequence[str], *extra: str) -> Sample:
        excludes = [f"--exclude={pattern}" for pattern in trees.IGNORE]
        argv = [
            "rsync",
            "-a",
            *extra,
            *excludes,
            *self._sources(source, folders, "/"),
            f"{target}/",
        ]
        return measure(argv, self.log, self.env)

    def cycle(self, case: str) -> Sample:
        total = Sample()
        if case == "first":
            for source, target, folders in self._pairs():
                target.mkdir(parents=True, exist_ok=True)
                argv = [*self.copy, *self._sources(source, folders, "/."), f"{target}/"]
                total.add(measure(argv, self.log, self.env), f"{self.copy[0]} {source.name}")
            return total
        if case == "no change":
            for source, target, folders in self._pairs():
                total.add(self._rsync(source, target, folders), f"rsync -a {source.name}")
            self._scan_versus_dry_run()
            return total
        p = self.places
        carry = [
            (p.desktop_home, p.desktop_backup / "home", trees.HOME_FOLDERS),
            (p.desktop_home, p.server_home, trees.HOME_FOLDERS),
            (p.server_home, p.drive / "home", trees.HOME_FOLDERS),
            (p.server_data, p.drive / "data", ()),
        ]
        for source, target, folders in carry:
            total.add(self._rsync(source, target, folders), f"rsync -a {source.name}")
        return total

    def _scan_versus_dry_run(self) -> None:
        """The skip-unchanged proof's cost on desktop home, against rsync's no-change dry run."""
        p = self.places
        started = time.perf_counter()
        manifest.scan(p.desktop_home, trees.HOME_FOLDERS, trees.IGNORE)
        self.scan_seconds = time.perf_counter() - started
        dry = self._rsync(p.desktop_home, p.desktop_backup / "home", trees.HOME_FOLDERS, "-n")
        self.dry_run_seconds = dry.wall


def _wait_next_second(last: float | None) -> None:
    if last is not None:
        wait = int(last) + 1.05 - time.time()
        if wait > 0:
            time.sleep(wait)


# ---------------------------------------------------------------------------
# Running it all


@dataclass
class Results:
    home: trees.TreeInfo
    data: trees.TreeInfo
    samples: dict[tuple[str, str], list[Sample]] = field(default_factory=dict)
    scan: list[float] = field(default_factory=list)
    dry_run: list[float] = field(default_factory=list)

    def add(self, case: str, contender: str, sample: Sample) -> None:
        self.samples.setdefault((case, contender), []).append(sample)

    def trees(self) -> str:
        return (
            f"home: {self.home.files} files, {self.home.bytes / 1e6:.0f} MB "
            f"(twice: desktop and server); data: {self.data.files} files, "
            f"{self.data.bytes / 1e6:.0f} MB"
        )


def run_chain(
    kind: type[Naive | MegaBackup | Limit],
    base: Path,
    root: Path,
    config: Config,
    run: int,
    results: Results,
    say: Callable[[str], None],
) -> None:
    places = make_places(base, root)
    try:
        contender = kind(places, root.parent / f"run{run}-{kind.name}.log")
        run_cases(contender, places, config, run, results, say)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_cases(
    contender: Naive | MegaBackup | Limit,
    places: Places,
    config: Config,
    run: int,
    results: Results,
    say: Callable[[str], None],
    name: str = "",
    edited: Places | None = None,
) -> None:
    """The three cases in a row on one contender's places; `name` files its samples under
    another name than the contender's own (the same contender elsewhere); `edited` is where
    the changes of "1% changed" are made, when not through the places themselves."""
    name = name or contender.name
    finished: float | None = None
    for case in CASES:
        if case == "typical day":
            typical_day(places, config.seed + 1000 * run)  # desktop home: the same everywhere
        if case == "1% changed":
            mutate(edited or places, config.seed + 1000 * run, config.max_size)
            # the cycle starts in a later second than the edits, as in life: MegaBackup would
            # otherwise wait that second out (engine/snapshot.py, _walk_settled)
            _wait_next_second(time.time())
        _wait_next_second(finished)  # no cycle starts in rdiff-backup's one-second window
        sample = contender.cycle(case)
        finished = time.time()
        results.add(case, name, sample)
        failed = f"  FAILED: {'; '.join(sample.failures)}" if sample.failures else ""
        say(f"  run {run + 1} {name:<18} {case:<11} {sample.wall:8.2f} s{failed}")
    if isinstance(contender, Limit) and contender.scan_seconds is not None:
        results.scan.append(contender.scan_seconds)
        results.dry_run.append(contender.dry_run_seconds or 0.0)


def compile_app() -> None:
    """The app's bytecode, as an installed wheel or the exe carries it: no contender's first
    start pays for compiling (a test environment may forbid writing it)."""
    import megabackup

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(megabackup.__file__).parent)],
        env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
        check=True,
    )


def run_benchmark(config: Config, say: Callable[[str], None] = print) -> Results:
    compile_app()
    say(f"Generating trees in {config.work} ...")
    base, home, data = build_base(config)
    results = Results(home=home, data=data)
    say(results.trees())
    for run in range(config.runs):
        order = [Naive, MegaBackup] if run % 2 == 0 else [MegaBackup, Naive]
        for kind in [*order, Limit]:
            run_chain(kind, base, config.work / f"run{run}-{kind.name}", config, run, results, say)
    return results


# ---------------------------------------------------------------------------
# The table


def _median(samples: list[Sample], attribute: str) -> float:
    return statistics.median(getattr(s, attribute) for s in samples)


def table(results: Results, config: Config) -> str:
    lines = [
        f"Medians of {config.runs} run(s); wall and CPU in seconds, peak memory in MB.",
        "Ratios: MegaBackup's median divided by the naive sequence's or the limit's.",
        "",
        f"{'case':<16} {'contender':<14} {'wall':>8} {'CPU':>8} {'peak':>7}  "
        f"{'/naive wall':>11} {'/naive CPU':>10} {'/limit wall':>11}  status",
    ]
    labels = {NAIVE: "naive", MEGABACKUP: "MegaBackup", LIMIT: ""}
    for case in CASES:
        labels[LIMIT] = "limit: cp -a" if case == "first" else "limit: rsync"
        medians: dict[str, tuple[float, float, float]] = {}
        for contender in (NAIVE, MEGABACKUP, LIMIT):
            samples = results.samples.get((case, contender), [])
            if samples:
                peak = _median(samples, "peak_kib") / 1024
                medians[contender] = (_median(samples, "wall"), _median(samples, "cpu"), peak)
        for contender in (NAIVE, MEGABACKUP, LIMIT):
            if contender not in medians:
                continue
            wall, cpu, peak = medians[contender]
            ratios = ["", "", ""]
            if contender == MEGABACKUP:
                naive, limit = medians.get(NAIVE), medians.get(LIMIT)
                ratios = [
                    ratio(wall, naive[0] if naive else None),
                    ratio(cpu, naive[1] if naive else None),
                    ratio(wall, limit[0] if limit else None),
                ]
            failed = sum(bool(s.failures) for s in results.samples[(case, contender)])
            status = "ok" if not failed else f"{failed} run(s) failed"
            lines.append(
                f"{CASE_TITLES[case]:<16} {labels[contender]:<14} {wall:8.2f} {cpu:8.2f} "
                f"{peak:7.1f}  {ratios[0]:>11} {ratios[1]:>10} {ratios[2]:>11}  {status}"
            )
    if results.scan:
        scan, dry = statistics.median(results.scan), statistics.median(results.dry_run)
        lines += [
            "",
            f"Skip-unchanged proof on desktop home: manifest.scan {scan:.3f} s (in-process), "
            f"rsync -a --dry-run no-change {dry:.3f} s; ratio {ratio(scan, dry)}.",
        ]
    return "\n".join(lines)


def growth(results: Results) -> str:
    """MegaBackup's cost per 10,000 home files and its peak memory, per case: what to compare
    across variants, so that growth with the size of a home is visible."""
    per = 10_000 / max(1, results.home.files)
    lines = ["", f"MegaBackup at {results.home.files:,} home files, per 10,000 home files:"]
    for case in CASES:
        samples = results.samples.get((case, MEGABACKUP), [])
        if samples:
            wall, cpu = _median(samples, "wall") * per, _median(samples, "cpu") * per
            peak = max(s.peak_kib for s in samples) / 1024
            lines.append(
                f"  {CASE_TITLES[case]:<16} wall {wall:7.3f} s, CPU {cpu:7.3f} s; "
                f"peak memory of the whole process tree {peak:6.1f} MB (largest run)"
            )
    return "\n".join(lines)


def ratio(value: float, reference: float | None) -> str:
    if not reference:
        return "-"
    return f"{value / reference:.2f}x"


def breakdown(results: Results, contenders: Sequence[str] = (NAIVE, MEGABACKUP)) -> str:
    """Where the time goes: median seconds per step, per contender and case."""
    lines = ["", "Median seconds per step:"]
    width = max(len(c) for c in contenders)
    for case in CASES:
        for contender in contenders:
            samples = results.samples.get((case, contender), [])
            per_step: dict[str, list[float]] = {}
            for sample in samples:
                for label, seconds in sample.steps:
                    per_step.setdefault(label, []).append(seconds)
            if per_step:
                parts = ", ".join(
                    f"{label} {statistics.median(v):.2f}" for label, v in per_step.items()
                )
                lines.append(f"  {CASE_TITLES[case]:<16} {contender:<{width}} {parts}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The tray at idle


@dataclass
class TrayIdle:
    note: str  # "" when measured, else why not
    seconds: float = 0.0
    cpu_percent: float = 0.0
    rss_mb: float = 0.0
    peak_rss_mb: float = 0.0

    def line(self) -> str:
        if self.note:
            return f"Tray at idle: {self.note}"
        return (
            f"Tray at idle ({self.seconds:.0f} s, xorg backend under Xvfb): "
            f"{self.cpu_percent:.2f}% of one core, resident {self.rss_mb:.1f} MB "
            f"(largest seen {self.peak_rss_mb:.1f} MB)"
        )


def tray_idle(config: Config, say: Callable[[str], None] = print) -> TrayIdle:
    """Start `megabackup tray` under a private Xvfb, let it settle, then watch it for a while."""
    program = _tool("megabackup")
    check = subprocess.run([program, "tray", "--help"], capture_output=True, text=True, timeout=60)
    if check.returncode != 0:
        return TrayIdle("not available (this MegaBackup has no `megabackup tray` command yet)")
    if not shutil.which("Xvfb"):
        return TrayIdle("not available (Xvfb is not installed; make system-packages)")
    root = config.work / "tray"
    base = root / "base"
    trees.build_tree(base / "home", 40, config.seed, "home", 64 * 1024)
    trees.build_tree(base / "data", 10, config.seed, "data", 64 * 1024)
    places = make_places(base, root / "places")
    env = _environment(places)
    log = root / "tray.log"
    # One cycle first, so the tray starts with a recent good backup and nothing due.
    subprocess.run(
        [program, "run", "--settings", str(places.settings)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    started: list[subprocess.Popen[bytes]] = []
    try:
        xvfb, display = start_xvfb("640x200")
        started.append(xvfb)
        if not display:
            return TrayIdle("not available (Xvfb did not start)")
        env.update(DISPLAY=display, PYSTRAY_BACKEND="xorg")
        if shutil.which("trayer"):  # a tray host to dock into, as on a desktop
            started.append(
                subprocess.Popen(
                    ["trayer", "--edge", "top", "--widthtype", "pixel", "--width", "200"],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        argv = [program, "tray"]
        if "--settings" in check.stdout:
            argv += ["--settings", str(places.settings)]
        with open(log, "wb") as out:
            tray = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        started.append(tray)
        time.sleep(5)  # start-up is not idling
        if tray.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or [""]
            return TrayIdle(f"not available (the tray exited with {tray.returncode}: {tail[0]})")
        say(f"Watching the idle tray for {config.idle_seconds:.0f} s ...")
        rss_first, ticks_first = _tree_stats(tray.pid)
        began = time.monotonic()
        peak = rss_first
        rss = rss_first
        while time.monotonic() - began < config.idle_seconds:
            time.sleep(min(1.0, max(0.0, config.idle_seconds - (time.monotonic() - began))))
            rss, ticks = _tree_stats(tray.pid)
            peak = max(peak, rss)
        elapsed = time.monotonic() - began
        if tray.poll() is not None:
            return TrayIdle(f"not available (the tray exited with {tray.returncode} while idle)")
        return TrayIdle(
            "",
            elapsed,
            100.0 * (ticks - ticks_first) / _TICKS / elapsed,
            rss / 1024,
            peak / 1024,
        )
    finally:
        for process in reversed(started):
            _stop(process)
        shutil.rmtree(root, ignore_errors=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# ---------------------------------------------------------------------------
# Command line


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Time MegaBackup's cycle against the naive sequence and the cp/rsync limits.",
    )
    parser.add_argument("--small", action="store_true", help="2,000 home files, not 10,000")
    parser.add_argument("--files", type=int, help="home files (overrides --small)")
    parser.add_argument("--data-files", type=int, help="data files (default: home files / 4)")
    parser.add_argument(
        "--max-size", type=float, default=20.0, help="largest file in MB (default 20)"
    )
    parser.add_argument("--seed", type=int, default=1, help="tree seed (default 1)")
    parser.add_argument("--runs", type=int, default=3, help="runs per contender (default 3)")
    parser.add_argument("--dir", type=Path, help="where to work (default: the temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the generated trees and logs")
    parser.add_argument(
        "--idle-seconds", type=float, default=60.0, help="watch the idle tray this long; 0: skip"
    )
    parser.add_argument("--json", type=Path, help="also write the raw samples here")
    parser.add_argument("--tray-only", action="store_true", help="measure only the idle tray")
    parser.add_argument(
        "--realfs",
        action="store_true",
        help="MegaBackup and the cp/rsync limit on ext4 and on a Samba share and NTFS disks "
        "(bench/realfs.py; needs root and FUSE)",
    )
    return parser


def make_config(args: argparse.Namespace, work: Path) -> Config:
    files = args.files or (2000 if args.small else 10000)
    if files < 10 or args.runs < 1:
        raise SystemExit("benchmark: --files must be at least 10 and --runs at least 1")
    return Config(
        files=files,
        data_files=args.data_files or max(10, files // 4),
        max_size=max(1024, int(args.max_size * 1024 * 1024)),
        seed=args.seed,
        runs=args.runs,
        work=work,
        idle_seconds=args.idle_seconds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    make_config(args, Path())  # refuse bad options before creating anything
    if args.realfs:
        from bench import realfs

        reason = realfs.unavailable()
        if reason:
            raise SystemExit(f"benchmark: --realfs: {reason}")
    if args.dir:
        args.dir.mkdir(parents=True, exist_ok=True)
    # A plain kill must still clean up the gigabytes below (finally runs on SystemExit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="megabackup-bench-", dir=args.dir)).absolute()
    config = make_config(args, work)
    try:
        print(_machine())
        if args.tray_only:
            print(tray_idle(config).line())
            return 0
        if args.realfs:
            return _report_realfs(config, args, work)
        results = run_benchmark(config)
        skipped = TrayIdle("skipped (--idle-seconds 0)")
        idle = tray_idle(config) if config.idle_seconds > 0 else skipped
        print()
        print(results.trees())
        print(table(results, config))
        print(growth(results))
        print(breakdown(results))
        print()
        print(idle.line())
        if args.json:
            args.json.write_text(json.dumps(_raw(results, idle), indent=1), encoding="utf-8")
        return _failures(results, args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"Kept: {work}")


def _report_realfs(config: Config, args: argparse.Namespace, work: Path) -> int:
    from bench import realfs

    results = realfs.run_realfs(config)
    print()
    print(results.trees())
    print(realfs.realfs_table(results, config))
    print(breakdown(results, (MEGABACKUP, MEGABACKUP + realfs.WORLD)))
    if args.json:
        idle = TrayIdle("not measured with --realfs")
        args.json.write_text(json.dumps(_raw(results, idle), indent=1), encoding="utf-8")
    return _failures(results, args, work)


def _failures(results: Results, args: argparse.Namespace, work: Path) -> int:
    failed = any(s.failures for samples in results.samples.values() for s in samples)
    if failed:
        where = f"see the logs in {work}" if args.keep else "run again with --keep for the logs"
        print(f"Some commands failed: {where}")
    return 1 if failed else 0


def _raw(results: Results, idle: TrayIdle) -> dict[str, object]:
    return {
        "home": asdict(results.home),
        "data": asdict(results.data),
        "samples": [
            {"case": case, "contender": contender, **asdict(sample)}
            for (case, contender), samples in results.samples.items()
            for sample in samples
        ],
        "scan_seconds": results.scan,
        "rsync_dry_run_seconds": results.dry_run,
        "tray_idle": asdict(idle),
    }


def _machine() -> str:
    def version(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        except OSError:
            return "missing"
        return (
            (out.stdout or out.stderr).strip().splitlines()[0] if out.stdout or out.stderr else "?"
        )

    import megabackup

    return (
        f"MegaBackup {megabackup.__version__} ({Path(megabackup.__file__).parent}) "
        f"benchmark on {os.cpu_count()} CPU(s), Python {sys.version.split()[0]}; "
        f"{version([_tool('rdiff-backup'), '--version'])}; {version(['unison', '-version'])}; "
        f"{version(['rsync', '--version'])}"
    )
