"""The run store: one SQLite file (WAL mode) with runs, metrics, samples and events.

WAL lets pages read while a worker writes. Each worker is the only writer of its run's rows
and batches its inserts (see worker.StoreReporter); everything else mostly reads. A store that stays
locked longer than the connection's busy timeout raises StoreBusy (a GandashError), never a bare
sqlite3 error: pages open the store with a short timeout and say it is busy instead of hanging.
"""

from __future__ import annotations

import contextlib
import errno
import json
import sqlite3
import threading
import time
from pathlib import Path

from gandash.core import paths
from gandash.core.errors import GandashError

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', variant TEXT NOT NULL, dataset TEXT NOT NULL,
    config TEXT NOT NULL, status TEXT NOT NULL, device TEXT NOT NULL DEFAULT 'cpu', run_dir TEXT NOT NULL,
    pid INTEGER, heartbeat REAL, created REAL NOT NULL, started REAL, ended REAL,
    step INTEGER NOT NULL DEFAULT 0, total_steps INTEGER, message TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL, step INTEGER NOT NULL, name TEXT NOT NULL, value REAL, time REAL NOT NULL);
CREATE INDEX IF NOT EXISTS metrics_by_run_step ON metrics (run_id, step);
CREATE TABLE IF NOT EXISTS samples (
    run_id TEXT NOT NULL, step INTEGER NOT NULL, path TEXT NOT NULL, PRIMARY KEY (run_id, step));
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, time REAL NOT NULL,
    level TEXT NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_run ON events (run_id, id);
CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, time REAL NOT NULL, command TEXT NOT NULL,
    taken REAL);
"""
COLUMNS_ADDED_LATER = {
    "phase": "TEXT NOT NULL DEFAULT ''",  # step-by-step state, JSON
    # times the run's metrics were truncated (a resume or rollback): readers holding a
    # cursor start over when it changes, as the rows after the cursor were rewritten
    "rewinds": "INTEGER NOT NULL DEFAULT 0",
}

TABLES = ("runs", "metrics", "samples", "events", "commands")
ACTIVE = ("starting", "running")  # a worker process exists (or is about to)
RESUMABLE = ("stopped", "crashed", "failed", "diverged", "completed")
RUN_FIELDS = (
    "name",
    "status",
    "device",
    "pid",
    "heartbeat",
    "started",
    "ended",
    "step",
    "total_steps",
    "message",
    "tags",
    "config",
    "phase",
)


class StoreBusy(GandashError):
    """Another process held the store's write lock for longer than this connection waits."""


class Store:
    def __init__(self, path: Path | None = None, timeout: float = 30.0):
        """`timeout`: seconds to wait for a lock. Workers wait long (a lost metric batch is worse than
        a slow one); pages wait briefly so a locked store shows a warning, not a frozen page."""
        self.path = Path(path or paths.db_path())
        self.timeout = timeout
        self._local = threading.local()
        with _busy_as_error(self):
            if _outdated(self._db()):
                # the schema takes the write lock: only for a new store or one made by an older gandash, so
                # opening the store while a worker writes never waits; and in one IMMEDIATE transaction that
                # checks again, so processes opening a new store at once take turns instead of colliding
                with self._write() as db:
                    if _outdated(db):
                        for statement in filter(str.strip, SCHEMA.split(";")):
                            db.execute(statement)
                        have = _columns(db)
                        for column, kind in COLUMNS_ADDED_LATER.items():
                            if column not in have:
                                db.execute(f"ALTER TABLE runs ADD COLUMN {column} {kind}")

    def _write(self) -> _Transaction:
        return _Transaction(self)

    def _read(self, query: str, args: tuple = ()) -> list[sqlite3.Row]:
        with _busy_as_error(self):
            return self._db().execute(query, args).fetchall()

    def _db(self) -> sqlite3.Connection:
        """One connection per thread (Streamlit reruns scripts in threads)."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            connection.row_factory = sqlite3.Row
            _use_wal(connection, self.timeout)
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(f"PRAGMA busy_timeout={int(self.timeout * 1000)}")
            self._local.connection = connection
        return connection

    def close(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # --- runs ------------------------------------------------------------------------------
    def create_run(
        self, run_id: str, config: dict, run_dir: Path, status: str, device: str, total_steps: int | None
    ) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO runs (id, name, variant, dataset, config, status, device, run_dir, created, "
                "total_steps) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    config.get("name", ""),
                    config["variant"],
                    config["dataset"],
                    json.dumps(config),
                    status,
                    device,
                    str(run_dir),
                    time.time(),
                    total_steps,
                ),
            )

    def run(self, run_id: str) -> dict | None:
        rows = self._read("SELECT * FROM runs WHERE id = ?", (run_id,))
        return _run_dict(rows[0]) if rows else None

    def runs(self, statuses: tuple[str, ...] | None = None) -> list[dict]:
        query, args = "SELECT * FROM runs", ()
        if statuses:
            query += f" WHERE status IN ({','.join('?' * len(statuses))})"
            args = tuple(statuses)
        rows = self._read(query + " ORDER BY created DESC", args)
        return [_run_dict(row) for row in rows]

    def update_run(self, run_id: str, **values) -> None:
        bad = set(values) - set(RUN_FIELDS)
        if bad:
            raise ValueError(f"not run fields: {bad}")
        columns = ", ".join(f"{key} = ?" for key in values)
        with self._write() as db:
            db.execute(f"UPDATE runs SET {columns} WHERE id = ?", (*values.values(), run_id))

    def transition(self, run_id: str, from_statuses: tuple[str, ...], **values) -> bool:
        """Atomically update the run only if its status is one of `from_statuses` (claims a queued job
        for exactly one launcher, even with two app processes)."""
        columns = ", ".join(f"{key} = ?" for key in values)
        marks = ",".join("?" * len(from_statuses))
        with self._write() as db:
            cursor = db.execute(
                f"UPDATE runs SET {columns} WHERE id = ? AND status IN ({marks})",
                (*values.values(), run_id, *from_statuses),
            )
        return cursor.rowcount == 1

    def claim_queued(self, limit: int) -> list[dict]:
        """Queued runs, oldest first, marked 'starting' while their device has fewer than `limit` active runs;
        counted and claimed in one write transaction, so concurrent schedulers never overfill a device.
        The launch time goes in `heartbeat`; `started` keeps a run's first start."""
        now = time.time()
        claimed = []
        with self._write() as db:
            busy: dict[str, int] = {}
            marks = ",".join("?" * len(ACTIVE))
            for device, count in db.execute(
                f"SELECT device, COUNT(*) FROM runs WHERE status IN ({marks}) GROUP BY device", ACTIVE
            ):
                busy[device] = count
            for row in db.execute("SELECT * FROM runs WHERE status = 'queued' ORDER BY created").fetchall():
                if busy.get(row["device"], 0) >= limit:
                    continue
                db.execute(
                    "UPDATE runs SET status = 'starting', heartbeat = ?, started = COALESCE(started, ?), "
                    "pid = NULL, message = '' WHERE id = ?",
                    (now, now, row["id"]),
                )
                busy[row["device"]] = busy.get(row["device"], 0) + 1
                claimed.append(_run_dict(row))
        return claimed

    def delete_run(self, run_id: str) -> None:
        with self._write() as db:
            for table, key in (
                ("metrics", "run_id"),
                ("samples", "run_id"),
                ("events", "run_id"),
                ("commands", "run_id"),
                ("runs", "id"),
            ):
                db.execute(f"DELETE FROM {table} WHERE {key} = ?", (run_id,))

    # --- what a worker writes ----------------------------------------------------------------
    def write_batch(
        self, run_id: str, metrics: list[tuple], samples: list[tuple], events: list[tuple], run_values: dict
    ) -> None:
        """One transaction per flush: metrics (step, name, value, time), samples (step, path),
        events (time, level, text), and the run's own row (step, heartbeat ...)."""
        with self._write() as db:
            db.executemany(
                "INSERT INTO metrics (run_id, step, name, value, time) VALUES (?, ?, ?, ?, ?)",
                [(run_id, *row) for row in metrics],
            )
            db.executemany(
                "INSERT OR REPLACE INTO samples (run_id, step, path) VALUES (?, ?, ?)",
                [(run_id, *row) for row in samples],
            )
            db.executemany(
                "INSERT INTO events (run_id, time, level, text) VALUES (?, ?, ?, ?)", [(run_id, *row) for row in events]
            )
            if run_values:
                columns = ", ".join(f"{key} = ?" for key in run_values)
                db.execute(f"UPDATE runs SET {columns} WHERE id = ?", (*run_values.values(), run_id))

    def truncate_after(self, run_id: str, step: int) -> None:
        """Forget metrics and samples logged after `step` (a resume from that step's checkpoint)."""
        with self._write() as db:
            db.execute("DELETE FROM metrics WHERE run_id = ? AND step > ?", (run_id, step))
            db.execute("DELETE FROM samples WHERE run_id = ? AND step > ?", (run_id, step))
            db.execute("UPDATE runs SET rewinds = rewinds + 1 WHERE id = ?", (run_id,))

    def add_event(self, run_id: str, level: str, text: str) -> None:
        self.write_batch(run_id, [], [], [(time.time(), level, text)], {})

    # --- commands to a running worker (pause, step, continue) ------------------------------------
    def add_command(self, run_id: str, command: str) -> None:
        with self._write() as db:
            db.execute("INSERT INTO commands (run_id, time, command) VALUES (?, ?, ?)", (run_id, time.time(), command))

    def take_commands(self, run_id: str) -> list[str]:
        """The worker's side: pending commands in order, marked as taken."""
        pending = self._read(
            "SELECT id, command FROM commands WHERE run_id = ? AND taken IS NULL ORDER BY id", (run_id,)
        )
        if not pending:
            return []
        with self._write() as db:
            db.executemany("UPDATE commands SET taken = ? WHERE id = ?", [(time.time(), row[0]) for row in pending])
        return [row[1] for row in pending]

    # --- what pages and the CLI read ---------------------------------------------------------
    def metrics(self, run_id: str, after_step: int = -1, names: tuple[str, ...] | None = None) -> list[tuple]:
        """(step, name, value, time) rows after `after_step`, in step order: pages keep a cursor and
        read only what is new."""
        query = "SELECT step, name, value, time FROM metrics WHERE run_id = ? AND step > ?"
        args: tuple = (run_id, after_step)
        if names:
            query += f" AND name IN ({','.join('?' * len(names))})"
            args += tuple(names)
        return [tuple(row) for row in self._read(query + " ORDER BY step, rowid", args)]

    def metrics_since(self, run_id: str, cursor: tuple[int, int] = (-1, 0)) -> list[tuple]:
        """(step, rowid, name, value, time) rows after `cursor` = (step, rowid) of the last row read.
        Several rows share a step (a metric batch; step-by-step D steps, which do not advance the
        step), so a step cursor alone misses rows; rowids grow with every insert, and the step part
        lets the (run_id, step) index skip everything older."""
        step, rowid = cursor
        return [
            tuple(row)
            for row in self._read(
                "SELECT step, rowid, name, value, time FROM metrics WHERE run_id = ? AND step >= ? "
                "AND (step > ? OR rowid > ?) ORDER BY step, rowid",
                (run_id, step, step, rowid),
            )
        ]

    def samples(self, run_id: str) -> list[tuple[int, str]]:
        return [
            tuple(row) for row in self._read("SELECT step, path FROM samples WHERE run_id = ? ORDER BY step", (run_id,))
        ]

    def events(self, run_id: str, after_id: int = 0, limit: int = 1000) -> list[dict]:
        rows = self._read(
            "SELECT id, time, level, text FROM events WHERE run_id = ? AND id > ? ORDER BY id DESC LIMIT ?",
            (run_id, after_id, limit),
        )
        return [dict(row) for row in reversed(rows)]


def _use_wal(connection: sqlite3.Connection, timeout: float) -> None:
    """Switch to WAL (it stays so in the file). While another process switches a new file, SQLite answers
    'locked' at once instead of calling the busy handler, so wait here as the handler would."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _columns(db: sqlite3.Connection) -> set[str]:
    return {row[1] for row in db.execute("PRAGMA table_info(runs)")}


def _outdated(db: sqlite3.Connection) -> bool:
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    return bool(set(TABLES) - tables or set(COLUMNS_ADDED_LATER) - _columns(db))


@contextlib.contextmanager
def _busy_as_error(store: Store):
    """SQLite's 'database is locked' (raised once the busy timeout has passed) as StoreBusy."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "full" in str(exc) or "disk I/O" in str(exc):  # a full disk or a file-size limit
            raise paths.storage_error(store.path, OSError(errno.ENOSPC, str(exc))) from None
        if "locked" not in str(exc):
            raise
        raise StoreBusy(
            f"the run store ({store.path.name}) is locked by another program and stayed locked "
            f"for {store.timeout:g} s; try again in a moment."
        ) from None


class _Transaction:
    """`with` block = one transaction (BEGIN IMMEDIATE so writers queue instead of deadlocking)."""

    def __init__(self, store: Store):
        self.store = store
        self.connection = store._db()

    def __enter__(self) -> sqlite3.Connection:
        with _busy_as_error(self.store):
            self.connection.execute("BEGIN IMMEDIATE")
        return self.connection

    def __exit__(self, kind, value, traceback) -> None:
        with _busy_as_error(self.store):
            self.connection.execute("COMMIT" if kind is None else "ROLLBACK")


def _run_dict(row: sqlite3.Row) -> dict:
    run = dict(row)
    run["config"] = json.loads(run["config"])
    run["phase"] = json.loads(run["phase"]) if run.get("phase") else {}
    return run
