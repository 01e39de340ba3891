"""
The SQLite correlator: one database file shared by senders and bounce readers.

Each thread of each process opens its own connection. A transaction belongs
to a connection, so threads that shared one would mix their transactions, and
SQLite's documentation warns against using a connection across a ``fork``.
The database runs in WAL mode, so readers do not block a writer. Writers take
turns: each waits up to ``timeout`` seconds for the others instead of failing
at once.
"""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bouncekit._message import normalize_message_id
from bouncekit.exceptions import CorrelationError, StoreError

__all__ = ["SQLiteCorrelator"]

_SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS bouncekit_records ("
    " message_id TEXT PRIMARY KEY, record TEXT NOT NULL, recorded_at REAL NOT NULL"
    ") WITHOUT ROWID",
    "CREATE INDEX IF NOT EXISTS bouncekit_records_recorded_at ON bouncekit_records (recorded_at)",
)
_UPSERT = (
    "INSERT INTO bouncekit_records (message_id, record, recorded_at) VALUES (?, ?, ?) "
    "ON CONFLICT (message_id) DO UPDATE SET "
    "record = excluded.record, recorded_at = excluded.recorded_at"
)
_SELECT = "SELECT record FROM bouncekit_records WHERE message_id = ?"
# Rows written per transaction by record_many(): large enough that the commit
# cost is spread out, small enough that other writers do not wait long (a batch
# took about 0.13 s in benchmarks/bench_correlate.py on a 2-core test machine).
_BATCH = 20_000


def store_key(identifier: str) -> str:
    """
    Return the key an identifier is stored under.

    A Message-ID, with or without angle brackets, becomes ``<id>`` as
    :func:`bouncekit._message.normalize_message_id` makes it. Any other value
    (one with white space inside) is only stripped.
    """
    if identifier.startswith("<") and identifier.endswith(">") and " " not in identifier:
        return identifier
    return normalize_message_id(identifier) or identifier.strip()


class SQLiteCorrelator:
    """
    A correlator that keeps records in one SQLite database file.

    Records are stored as JSON, so a record is anything :func:`json.dumps`
    accepts (usually a dict of the sender's ids), and :meth:`resolve` returns
    what :func:`json.loads` makes of it. A Message-ID is stored in angle
    brackets, as :func:`~bouncekit.correlate.normalize_message_id` writes it,
    so ``"a@b"`` and ``"<a@b>"`` are one key.

    The object can be used from several threads, and several processes can
    open the same file: a ``fork`` after the first use is detected and the
    child opens its own connection.

    Args:
        path: The database file, created with its table when missing.
        timeout: How long, in seconds, a write waits for another writer
            before :class:`~bouncekit.exceptions.StoreError` is raised.
        read_only: Open an existing database for lookups only. The file is
            never created or changed, so a process that only resolves bounces
            can use a file it may not write. :meth:`record`,
            :meth:`record_many` and :meth:`prune` then raise
            :class:`~bouncekit.exceptions.StoreError`.

    Raises:
        StoreError: The database cannot be opened; with *read_only*, also when
            the file is missing or has no bouncekit records table.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, timeout: float = 30.0, read_only: bool = False
    ) -> None:
        if not isinstance(path, str | os.PathLike):
            msg = f"the database path must be a str or a path, not {type(path).__name__}"
            raise TypeError(msg)
        self.path = Path(path)
        self.timeout = timeout
        self.read_only = read_only
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._connect()  # Create the file and table now, so a bad path fails here.

    def __repr__(self) -> str:
        if self.read_only:
            return f"SQLiteCorrelator({str(self.path)!r}, read_only=True)"
        return f"SQLiteCorrelator({str(self.path)!r})"

    def __enter__(self) -> SQLiteCorrelator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def record(self, message_id: str, record: Any) -> None:
        """
        Store *record* for *message_id*, replacing any record stored for it before.

        Raises:
            CorrelationError: *record* is ``None`` or not serialisable as JSON.
            StoreError: The database could not be written.
            TypeError: *message_id* is not a ``str``.
        """
        row = self._row(message_id, record, time.time())
        with self._write() as connection:
            connection.execute(_UPSERT, row)

    def record_many(self, records: Iterable[tuple[str, Any]]) -> int:
        """
        Store many ``(message_id, record)`` pairs, as when a mailing is sent.

        The pairs are written in transactions of 20,000, so a very large
        iterable is never held in memory, and other writers are not blocked
        for long. When an error is raised, the batches before it are stored.

        Returns:
            The number of pairs stored.

        Raises:
            CorrelationError: A record is ``None`` or not serialisable as JSON.
            StoreError: The database could not be written.
            TypeError: An item is not a ``(message_id, record)`` pair, or an id
                is not a ``str``.
        """
        now = time.time()
        total = 0
        batch: list[tuple[str, str, float]] = []
        for pair in records:
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                msg = f"record_many() takes (message_id, record) pairs, not {pair!r}"
                raise TypeError(msg)
            message_id, record = pair
            batch.append(self._row(message_id, record, now))
            if len(batch) >= _BATCH:
                total += self._write_batch(batch)
                batch = []
        if batch:
            total += self._write_batch(batch)
        return total

    def resolve(self, message_id: str) -> Any:
        """
        Return the record stored for *message_id*, or ``None`` when there is none.

        Raises:
            StoreError: The database could not be read.
        """
        try:
            row = self._connection().execute(_SELECT, (store_key(message_id),)).fetchone()
        except sqlite3.Error as exc:
            raise self._error("read from", exc) from exc
        return None if row is None else json.loads(row[0])

    def prune(self, max_age: datetime.timedelta, *, now: datetime.datetime | None = None) -> int:
        """
        Delete the records stored more than *max_age* ago, and return how many were deleted.

        Bounces can arrive days after sending, so keep records longer than
        mail servers retry before they give up: Postfix retries for five days
        by default (``maximal_queue_lifetime``).
        """
        if not isinstance(max_age, datetime.timedelta):
            msg = f"max_age must be a datetime.timedelta, not {type(max_age).__name__}"
            raise TypeError(msg)
        moment = (now or datetime.datetime.now(datetime.UTC)).timestamp()
        cutoff = moment - max_age.total_seconds()
        with self._write() as connection:
            cursor = connection.execute(
                "DELETE FROM bouncekit_records WHERE recorded_at < ?", (cutoff,)
            )
            return cursor.rowcount

    def count(self) -> int:
        """Return the number of records stored."""
        try:
            row = self._connection().execute("SELECT count(*) FROM bouncekit_records").fetchone()
        except sqlite3.Error as exc:
            raise self._error("read from", exc) from exc
        return int(row[0])

    def close(self) -> None:
        """Close every connection this object opened in this process."""
        with self._lock:
            connections, self._connections = self._connections, []
        if self._pid != os.getpid():
            return  # The connections belong to the parent process.
        for connection in connections:
            connection.close()
        self._local = threading.local()

    # Connections and writes.

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None or self._pid != os.getpid():
            connection = self._connect()
        return connection

    def _connect(self) -> sqlite3.Connection:
        if self._pid != os.getpid():
            # After a fork: the parent's connections are not used or closed here.
            with self._lock:
                self._pid = os.getpid()
                self._connections = []
            self._local = threading.local()
        if self.read_only:
            connection = self._connect_read_only()
        else:
            try:
                # isolation_level=None: transactions are begun explicitly in _write().
                connection = sqlite3.connect(
                    self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
                )
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                self._create_schema(connection)
            except sqlite3.Error as exc:
                raise self._error("open", exc) from exc
        self._local.connection = connection
        with self._lock:
            self._connections.append(connection)
        return connection

    def _connect_read_only(self) -> sqlite3.Connection:
        if not self.path.is_file():
            msg = f"no correlation database at {str(self.path)!r}: check the path"
            if self.path.is_dir():
                msg = f"{str(self.path)!r} is a folder, not a correlation database file"
            raise StoreError(msg)
        uri = self.path.resolve().as_uri() + "?mode=ro"
        try:
            connection = self._open_uri(uri)
        except sqlite3.OperationalError as exc:
            # Reading a WAL database needs its -shm file. In a folder this process
            # may not write, and with no writer at work (no -wal file), the file
            # can only be read as immutable.
            if Path(f"{self.path}-wal").exists():
                raise self._error("open", exc) from exc
            try:
                connection = self._open_uri(uri + "&immutable=1")
            except sqlite3.Error as exc:
                raise self._error("open", exc) from exc
        except sqlite3.Error as exc:
            raise self._error("open", exc) from exc
        try:
            found = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bouncekit_records'"
            ).fetchone()
        except sqlite3.Error as exc:
            connection.close()
            raise self._error("open", exc) from exc
        if found is None:
            connection.close()
            msg = (
                f"{str(self.path)!r} is not a bouncekit correlation database: it has no "
                "bouncekit_records table. Pass the file the sender fills with SQLiteCorrelator."
            )
            raise StoreError(msg)
        return connection

    def _open_uri(self, uri: str) -> sqlite3.Connection:
        connection = sqlite3.connect(
            uri, uri=True, timeout=self.timeout, isolation_level=None, check_same_thread=False
        )
        try:
            # SQLite opens a file lazily, so this read makes a file that is not a
            # database fail here rather than at the first lookup.
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error:
            connection.close()
            raise
        return connection

    @staticmethod
    def _create_schema(connection: sqlite3.Connection) -> None:
        if connection.execute("PRAGMA user_version").fetchone()[0] == _SCHEMA_VERSION:
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            # Checked again under the write lock: another process may have just created it.
            if connection.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA_VERSION:
                for statement in _SCHEMA:
                    connection.execute(statement)
                connection.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _write(self) -> _Transaction:
        if self.read_only:
            msg = (
                f"the correlation database {str(self.path)!r} was opened read-only: "
                "open it without read_only=True to store or prune records"
            )
            raise StoreError(msg)
        return _Transaction(self)

    def _write_batch(self, batch: list[tuple[str, str, float]]) -> int:
        with self._write() as connection:
            connection.executemany(_UPSERT, batch)
        return len(batch)

    @staticmethod
    def _row(message_id: str, record: Any, now: float) -> tuple[str, str, float]:
        if not isinstance(message_id, str):
            msg = f"the Message-ID to store must be a str, not {type(message_id).__name__}"
            raise TypeError(msg)
        key = store_key(message_id)
        if not key:
            msg = (
                f"cannot store a record under the empty id {message_id!r}: pass the Message-ID sent"
            )
            raise CorrelationError(msg)
        if record is None:
            msg = f"cannot store None for {message_id!r}: resolve() returns None for an unknown id"
            raise CorrelationError(msg)
        try:
            text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            msg = f"cannot store the record for {message_id!r} as JSON: {exc}"
            raise CorrelationError(msg) from exc
        return key, text, now

    def _error(self, action: str, exc: sqlite3.Error) -> StoreError:
        return StoreError(f"cannot {action} the correlation database {str(self.path)!r}: {exc}")


class _Transaction:
    """A write transaction. ``BEGIN IMMEDIATE`` makes it wait for other writers before it starts."""

    def __init__(self, store: SQLiteCorrelator) -> None:
        self.store = store
        self.connection: sqlite3.Connection | None = None

    def __enter__(self) -> sqlite3.Connection:
        connection = self.store._connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self.store._error("write to", exc) from exc
        self.connection = connection
        return connection

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        assert self.connection is not None
        if exc_type is not None:
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise self.store._error("write to", exc) from exc
            return
        try:
            self.connection.execute("COMMIT")
        except sqlite3.Error as error:
            self._rollback()
            raise self.store._error("write to", error) from error

    def _rollback(self) -> None:
        # SQLite has already rolled back after some errors, such as a full disk.
        if self.connection is not None and self.connection.in_transaction:
            self.connection.execute("ROLLBACK")
