"""SQLite store of runs, steps and conflicts. A leaf module: plain rows in, plain rows out.

The schema version lives in `PRAGMA user_version`; MIGRATIONS[n] takes version n to n+1, so an
older history file is upgraded in place and a newer one is refused rather than damaged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started REAL NOT NULL,
        finished REAL,
        outcome TEXT NOT NULL,  -- running|ok|warning|failed|cancelled|interrupted
        trigger TEXT NOT NULL,
        summary TEXT NOT NULL DEFAULT '',
        log_path TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE steps (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        position INTEGER NOT NULL,
        step TEXT NOT NULL,
        title TEXT NOT NULL,
        status TEXT NOT NULL,            -- ok | warning | failed | skipped | cancelled
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
)
SCHEMA_VERSION = len(MIGRATIONS)


class HistoryError(Exception):
    """The history file cannot be used (damaged, or written by a newer MegaBackup)."""


@dataclass(frozen=True)
class RunRow:
    id: int
    started: float
    finished: float | None
    outcome: str
    trigger: str
    summary: str
    log_path: str


@dataclass(frozen=True)
class StepRow:
    run_id: int
    position: int
    step: str
    title: str
    status: str
    detail: str = ""
    new_files: int = 0
    changed_files: int = 0
    deleted_files: int = 0
    errors: int = 0
    source_files: int = 0
    started: float | None = None
    finished: float | None = None


@dataclass(frozen=True)
class ConflictRow:
    run_id: int
    path: str
    resolution: str
    detail: str = ""
    copies: tuple[str, ...] = ()


class History:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise HistoryError(f"the history file {path} cannot be read ({exc})") from None

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
                "INSERT INTO runs (started, outcome, trigger, log_path) "
                "VALUES (?, 'running', ?, ?)",
                (started, trigger, log_path),
            )
            return int(cursor.lastrowid or 0)

    def record_step(self, row: StepRow) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row.run_id, row.position, row.step, row.title, row.status, row.detail,
                 row.new_files, row.changed_files, row.deleted_files, row.errors,
                 row.source_files, row.started, row.finished),
            )  # fmt: skip

    def record_conflicts(self, rows: Sequence[ConflictRow]) -> None:
        with self._connect() as db:
            db.executemany(
                "INSERT INTO conflicts (run_id, path, resolution, detail, copies) "
                "VALUES (?, ?, ?, ?, ?)",
                [(r.run_id, r.path, r.resolution, r.detail, "\n".join(r.copies)) for r in rows],
            )

    def finish_run(self, run_id: int, outcome: str, summary: str, finished: float) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET outcome = ?, summary = ?, finished = ? WHERE id = ?",
                (outcome, summary, finished, run_id),
            )

    def mark_interrupted(self) -> int:
        """Runs still marked running belong to a dead process; call only under the cycle lock."""
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE runs SET outcome = 'interrupted', "
                "summary = 'The cycle was interrupted (the program was stopped or the computer "
                "shut down); the next cycle repairs what it left.' WHERE outcome = 'running'"
            )
            db.execute("UPDATE steps SET status = 'cancelled' WHERE status = 'running'")
            return cursor.rowcount

    # -- reading -------------------------------------------------------------

    def runs(self, limit: int = 20) -> list[RunRow]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, started, finished, outcome, trigger, summary, log_path FROM runs "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [RunRow(*row) for row in rows]

    def last_run(self) -> RunRow | None:
        found = self.runs(limit=1)
        return found[0] if found else None

    def steps(self, run_id: int) -> list[StepRow]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM steps WHERE run_id = ? ORDER BY position", (run_id,)
            ).fetchall()
        return [StepRow(*row) for row in rows]

    def conflicts(self, run_id: int) -> list[ConflictRow]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT run_id, path, resolution, detail, copies FROM conflicts WHERE run_id = ? "
                "ORDER BY id",
                (run_id,),
            ).fetchall()
        return [
            ConflictRow(r[0], r[1], r[2], r[3], tuple(filter(None, r[4].split("\n")))) for r in rows
        ]

    def recent_conflicts(self, since_run: int = 0) -> list[ConflictRow]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT run_id, path, resolution, detail, copies FROM conflicts WHERE run_id > ? "
                "ORDER BY id",
                (since_run,),
            ).fetchall()
        return [
            ConflictRow(r[0], r[1], r[2], r[3], tuple(filter(None, r[4].split("\n")))) for r in rows
        ]

    def last_source_files(self, steps: Sequence[str]) -> int:
        """How many files the newest good snapshot of these steps saw (0 if none)."""
        marks = ",".join("?" for _ in steps)
        with self._connect() as db:
            row = db.execute(
                f"SELECT source_files FROM steps WHERE step IN ({marks}) "
                "AND status IN ('ok', 'warning') ORDER BY finished DESC LIMIT 1",
                tuple(steps),
            ).fetchone()
        return int(row[0]) if row else 0

    def last_success(self, steps: Sequence[str]) -> float | None:
        """When any of these steps last finished well (ok or warning), e.g. a place's snapshots."""
        marks = ",".join("?" for _ in steps)
        with self._connect() as db:
            row = db.execute(
                f"SELECT MAX(finished) FROM steps WHERE step IN ({marks}) "
                "AND status IN ('ok', 'warning')",
                tuple(steps),
            ).fetchone()
        return row[0] if row and row[0] is not None else None


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
