"""SQLite store of runs, steps and conflicts. A leaf module: plain rows in, plain rows out.

The schema version lives in `PRAGMA user_version`; MIGRATIONS[n] takes version n to n+1, so an
older history file is upgraded in place and a newer one is refused rather than damaged.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path

from megabackup.errors import MegaBackupError
from megabackup.outcome import Outcome, Resolution

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started REAL NOT NULL,
        finished REAL,
        outcome TEXT NOT NULL,  -- running|ok|away|warning|failed|cancelled|interrupted
        trigger TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        log_path TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE steps (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        position INTEGER NOT NULL,
        step TEXT NOT NULL,
        title TEXT NOT NULL,
        status TEXT NOT NULL,            -- ok|warning|failed|skipped|cancelled|held|away
        detail TEXT NOT NULL DEFAULT '',
        new_files INTEGER NOT NULL DEFAULT 0,
        changed_files INTEGER NOT NULL DEFAULT 0,
        deleted_files INTEGER NOT NULL DEFAULT 0,
        errors INTEGER NOT NULL DEFAULT 0,
        source_files INTEGER NOT NULL DEFAULT 0,
        started REAL,
        finished REAL,
        PRIMARY KEY (run_id, position)
    );
    CREATE TABLE conflicts (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        path TEXT NOT NULL,
        resolution TEXT NOT NULL,        -- kept-both | skipped
        detail TEXT NOT NULL DEFAULT '',
        copies TEXT NOT NULL DEFAULT ''  -- conflict copies kept, one path per line
    );
    CREATE INDEX steps_by_step ON steps(step, status, finished);
    """,
    """
    CREATE TABLE away (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        place TEXT NOT NULL,             -- the place's name: server home, external drive, ...
        reason TEXT NOT NULL DEFAULT '', -- why: not reachable, did not answer, not connected
        PRIMARY KEY (run_id, place)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
INTERRUPTED_SUMMARY = (
    "The cycle was interrupted (the program was stopped or the computer shut down); "
    "the next cycle repairs what it left."
)


class HistoryError(MegaBackupError):
    """The history file cannot be used (damaged, or written by a newer MegaBackup)."""


@dataclass(frozen=True)
class RunRow:
    id: int
    started: float
    finished: float | None
    outcome: Outcome
    trigger: str
    summary: str
    log_path: str


@dataclass
class StepRecord:
    """What the history keeps of one step; the engine's StepResult is one, with more fields."""

    id: str
    title: str
    status: Outcome
    detail: str = ""
    new_files: int = 0
    changed_files: int = 0
    deleted_files: int = 0
    errors: int = 0
    source_files: int = 0
    started: float | None = None
    finished: float | None = None


@dataclass
class StepRow(StepRecord):
    """A step read back from the history: its record, and where it stood in which run."""

    run_id: int = 0
    position: int = 0


@dataclass(frozen=True)
class ConflictRecord:
    path: str  # relative to the home roots, with /
    resolution: Resolution
    detail: str = ""
    copies: tuple[str, ...] = ()  # conflict copies kept


@dataclass(frozen=True)
class ConflictRow(ConflictRecord):
    run_id: int = 0


# The steps table's columns, in the order of StepRecord's fields.
_STEP_COLUMNS = ("step", *[f.name for f in fields(StepRecord)][1:])
_GOOD = tuple(o.value for o in Outcome if o.good)


class HistoryDamaged(HistoryError):
    """The file is not a sound SQLite database (overwritten, cut short, a disk error)."""


class History:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._migrate()
        except sqlite3.OperationalError as exc:  # locked, or a read error: not damage
            raise HistoryError(f"the history file {path} cannot be read ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise HistoryDamaged(f"the history file {path} is damaged ({exc})") from None

    @classmethod
    def open_or_start_afresh(cls, path: Path, now: float) -> tuple[History, str]:
        """For the cycle, which holds the lock: a damaged history is moved aside and a new one
        started, so backups go on; the second value says so ("" when the file was sound)."""
        try:
            history = cls(path)
            history.check_sound()
            return history, ""
        except HistoryDamaged as exc:
            reason = str(exc)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        kept = path.with_name(f"{path.stem}.damaged-{stamp}{path.suffix}")
        for suffix in ("", "-journal", "-wal", "-shm"):  # a journal belongs to its database
            old = path.with_name(path.name + suffix)
            if old.exists():
                os.replace(old, kept.with_name(kept.name + suffix))
        note = (
            f"{reason}; it was kept as {kept.name} and a new history started: earlier runs are "
            "not listed any more, the backups themselves are intact"
        )
        return cls(path), note

    def check_sound(self) -> None:
        """HistoryDamaged unless SQLite finds every page of the file in order."""
        try:
            with self._connect() as db:
                verdict = db.execute("PRAGMA quick_check").fetchone()
        except sqlite3.OperationalError as exc:
            raise HistoryError(f"the history file {self.path} cannot be read ({exc})") from None
        except sqlite3.DatabaseError as exc:
            raise HistoryDamaged(f"the history file {self.path} is damaged ({exc})") from None
        if not verdict or verdict[0] != "ok":
            found = verdict[0] if verdict else "no answer"
            raise HistoryDamaged(f"the history file {self.path} is damaged ({found})")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        try:
            with db:  # one transaction: committed on success, rolled back on error
                yield db
        finally:
            db.close()

    def _migrate(self) -> None:
        """Read the version and upgrade in one write transaction: the tray and a command-line
        run may open a new history at the same moment, and only one may create its tables."""
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version > SCHEMA_VERSION:
                    raise HistoryError(
                        f"the history file {self.path} was written by a newer MegaBackup "
                        f"(schema {version}, this one knows {SCHEMA_VERSION})"
                    )
                for number in range(version, SCHEMA_VERSION):
                    for statement in _statements(MIGRATIONS[number]):
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {number + 1}")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    # -- writing -------------------------------------------------------------

    def start_run(self, trigger: str, started: float, log_path: str) -> int:
        with self._connect() as db:
            cursor = db.execute(
                "INSERT INTO runs (started, outcome, trigger, log_path) VALUES (?, ?, ?, ?)",
                (started, Outcome.RUNNING, trigger, log_path),
            )
            return int(cursor.lastrowid or 0)

    def record_step(self, run_id: int, position: int, step: StepRecord) -> None:
        values = [getattr(step, f.name) for f in fields(StepRecord)]
        with self._connect() as db:
            db.execute(
                f"INSERT OR REPLACE INTO steps (run_id, position, {', '.join(_STEP_COLUMNS)}) "
                f"VALUES ({_marks(range(len(values) + 2))})",
                (run_id, position, *values),
            )

    def record_conflicts(self, run_id: int, conflicts: Sequence[ConflictRecord]) -> None:
        with self._connect() as db:
            db.executemany(
                "INSERT INTO conflicts (run_id, path, resolution, detail, copies) "
                "VALUES (?, ?, ?, ?, ?)",
                [(run_id, c.path, c.resolution, c.detail, "\n".join(c.copies)) for c in conflicts],
            )

    def record_away(self, run_id: int, away: Mapping[str, str]) -> None:
        """The places a run found away (place name -> why), which its steps waited for."""
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO away (run_id, place, reason) VALUES (?, ?, ?)",
                [(run_id, place, reason) for place, reason in away.items()],
            )

    def finish_run(self, run_id: int, outcome: Outcome, summary: str, finished: float) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET outcome = ?, summary = ?, finished = ? WHERE id = ?",
                (outcome, summary, finished, run_id),
            )

    def mark_interrupted(self) -> int:
        """Runs still marked running belong to a dead process; call only under the cycle lock."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE runs SET outcome = ?, summary = ? WHERE outcome = ?",
                (Outcome.INTERRUPTED, INTERRUPTED_SUMMARY, Outcome.RUNNING),
            )
            db.execute(
                "UPDATE steps SET status = ? WHERE status = ?", (Outcome.CANCELLED, Outcome.RUNNING)
            )
            return cursor.rowcount

    # -- reading -------------------------------------------------------------

    def runs(self, limit: int = 20) -> list[RunRow]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, started, finished, outcome, trigger, summary, log_path FROM runs "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [RunRow(r[0], r[1], r[2], Outcome.read(r[3]), *r[4:]) for r in rows]

    def last_run(self) -> RunRow | None:
        found = self.runs(limit=1)
        return found[0] if found else None

    def steps(self, run_id: int) -> list[StepRow]:
        with self._connect() as db:
            rows = db.execute(
                f"SELECT run_id, position, {', '.join(_STEP_COLUMNS)} FROM steps "
                "WHERE run_id = ? ORDER BY position",
                (run_id,),
            ).fetchall()
        return [_step_row(r) for r in rows]

    def steps_since(self, run_id: int) -> dict[int, list[StepRow]]:
        """The steps of every run from `run_id` on, by run, in one query (a history window
        shows thousands of runs)."""
        with self._connect() as db:
            rows = db.execute(
                f"SELECT run_id, position, {', '.join(_STEP_COLUMNS)} FROM steps "
                "WHERE run_id >= ? ORDER BY run_id, position",
                (run_id,),
            ).fetchall()
        found: dict[int, list[StepRow]] = {}
        for row in rows:
            found.setdefault(row[0], []).append(_step_row(row))
        return found

    def conflicts(self, run_id: int | None = None, *, since_run: int = 0) -> list[ConflictRow]:
        """The conflicts of one run, or of every run after `since_run`, in the order found."""
        where, argument = (
            ("run_id = ?", run_id) if run_id is not None else ("run_id > ?", since_run)
        )
        with self._connect() as db:
            rows = db.execute(
                "SELECT run_id, path, resolution, detail, copies FROM conflicts "
                f"WHERE {where} ORDER BY id",
                (argument,),
            ).fetchall()
        return [
            ConflictRow(path, Resolution.read(resolution), detail, _lines(copies), run_id=run)
            for run, path, resolution, detail, copies in rows
        ]

    def away(self, run_id: int) -> dict[str, str]:
        """The places one run found away, with why (empty: all were there)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT place, reason FROM away WHERE run_id = ? ORDER BY place", (run_id,)
            ).fetchall()
        return dict(rows)

    def away_since(self, place: str) -> float | None:
        """When the place went away: the start of the first of the newest runs in a row that
        found it away; None when the newest run found it there (or no run has looked)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT runs.started, away.place IS NOT NULL FROM runs "
                "LEFT JOIN away ON away.run_id = runs.id AND away.place = ? "
                "WHERE runs.outcome != ? ORDER BY runs.id DESC",
                (place, Outcome.RUNNING),
            )
            since = None
            for started, was_away in rows:
                if not was_away:
                    break
                since = started
        return since

    def last_complete(self) -> float | None:
        """When the newest cycle that found every place there and did its work ended."""
        with self._connect() as db:
            row = db.execute(
                "SELECT MAX(finished) FROM runs WHERE outcome IN (?, ?) "
                "AND id NOT IN (SELECT run_id FROM away)",
                (Outcome.OK, Outcome.WARNING),
            ).fetchone()
        return row[0] if row and row[0] is not None else None

    def last_source_files(self, steps: Sequence[str]) -> int:
        """How many files the newest good snapshot of these steps saw (0 if none)."""
        with self._connect() as db:
            row = db.execute(
                f"SELECT source_files FROM steps WHERE step IN ({_marks(steps)}) "
                f"AND status IN ({_marks(_GOOD)}) ORDER BY finished DESC LIMIT 1",
                (*steps, *_GOOD),
            ).fetchone()
        return int(row[0]) if row else 0

    def last_success(self, steps: Sequence[str], not_after: float | None = None) -> float | None:
        """When any of these steps last finished well (ok or warning), e.g. a place's snapshots;
        `not_after`: leave out steps dated later (a clock that ran ahead dated them)."""
        latest = float("inf") if not_after is None else not_after
        with self._connect() as db:
            row = db.execute(
                f"SELECT MAX(finished) FROM steps WHERE step IN ({_marks(steps)}) "
                f"AND status IN ({_marks(_GOOD)}) AND finished <= ?",
                (*steps, *_GOOD, latest),
            ).fetchone()
        return row[0] if row and row[0] is not None else None


def _step_row(r: Sequence) -> StepRow:
    return StepRow(r[2], r[3], Outcome.read(r[4]), *r[5:], run_id=r[0], position=r[1])


def _marks(values: Sequence[object] | range) -> str:
    return ",".join("?" for _ in values)


def _lines(text: str) -> tuple[str, ...]:
    return tuple(filter(None, text.split("\n")))


def _statements(script: str) -> list[str]:
    """Split a migration into whole statements (sqlite3 runs one at a time in a transaction)."""
    found, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            found.append(current.strip())
            current = ""
    if current.strip():
        found.append(current.strip())
    return found
