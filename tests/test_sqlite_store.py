"""The SQLite correlator, on real database files."""

from __future__ import annotations

import datetime
import json
import multiprocessing
import os
import shutil
import site
import sqlite3
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

import bouncekit
from bouncekit.correlate import CorrelationError, SQLiteCorrelator, StoreError

WRITES_PER_PROCESS = 1500


def test_record_resolve(tmp_path: Path) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        store.record("<a1@mail.example.com>", {"delivery": 1, "recipient": "alice"})
        assert store.resolve("<a1@mail.example.com>") == {"delivery": 1, "recipient": "alice"}


def test_resolve_unknown(tmp_path: Path) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        assert store.resolve("<nobody@mail.example.com>") is None


def test_record_normalises_id(tmp_path: Path) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        store.record("a1@mail.example.com", 1)
        assert store.resolve("<a1@mail.example.com>") == 1
        assert store.resolve(" < a1@mail.example.com > ") == 1


def test_record_keeps_case(tmp_path: Path) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        store.record("<Ab1@mail.example.com>", 1)
        assert store.resolve("<ab1@mail.example.com>") is None


def test_record_other_identifier(tmp_path: Path) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        store.record("6f2a1c9e-0b7d", "campaign")
        assert store.resolve("6f2a1c9e-0b7d") == "campaign"


def test_record_replaces(tmp_path: Path) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        store.record("<a1@mail.example.com>", 1)
        store.record("<a1@mail.example.com>", 2)
        assert store.resolve("<a1@mail.example.com>") == 2
        assert store.count() == 1


def test_record_none(tmp_path: Path) -> None:
    with (
        SQLiteCorrelator(tmp_path / "sent.db") as store,
        pytest.raises(CorrelationError, match="None"),
    ):
        store.record("<a1@mail.example.com>", None)


def test_record_not_json(tmp_path: Path) -> None:
    with (
        SQLiteCorrelator(tmp_path / "sent.db") as store,
        pytest.raises(CorrelationError, match="JSON"),
    ):
        store.record("<a1@mail.example.com>", {"when": datetime.date(2026, 1, 1)})


def test_record_empty_id(tmp_path: Path) -> None:
    with (
        SQLiteCorrelator(tmp_path / "sent.db") as store,
        pytest.raises(CorrelationError, match="empty"),
    ):
        store.record("  ", 1)


def test_records_stored_as_json(tmp_path: Path) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        store.record("<a1@mail.example.com>", {"delivery": 1, "name": "Zoë"})
    with sqlite3.connect(tmp_path / "sent.db") as connection:
        (text,) = connection.execute("SELECT record FROM bouncekit_records").fetchone()
    assert json.loads(text) == {"delivery": 1, "name": "Zoë"}


def test_wal_mode(tmp_path: Path) -> None:
    SQLiteCorrelator(tmp_path / "sent.db").close()
    with sqlite3.connect(tmp_path / "sent.db") as connection:
        (mode,) = connection.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


def test_record_many(tmp_path: Path) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        stored = store.record_many((f"<m{i}@mail.example.com>", {"i": i}) for i in range(45_000))
        assert stored == 45_000
        assert store.count() == 45_000
        assert store.resolve("<m44999@mail.example.com>") == {"i": 44999}


def test_record_many_bad_record_keeps_earlier_batches(tmp_path: Path) -> None:
    pairs = [(f"<m{i}@mail.example.com>", i) for i in range(25_000)] + [("<bad@x>", None)]
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        with pytest.raises(CorrelationError):
            store.record_many(pairs)
        assert store.count() == 20_000


def test_reopen_keeps_records(tmp_path: Path) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        store.record("<a1@mail.example.com>", 1)
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        assert store.resolve("<a1@mail.example.com>") == 1


def test_prune(tmp_path: Path) -> None:
    path = tmp_path / "sent.db"
    with SQLiteCorrelator(path) as store:
        store.record("<old@mail.example.com>", 1)
        store.record("<new@mail.example.com>", 2)
        ten_days_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=10)
        with sqlite3.connect(path) as connection:
            connection.execute(
                "UPDATE bouncekit_records SET recorded_at = ? WHERE message_id = ?",
                (ten_days_ago.timestamp(), "<old@mail.example.com>"),
            )
        assert store.prune(datetime.timedelta(days=7)) == 1
        assert store.resolve("<old@mail.example.com>") is None
        assert store.resolve("<new@mail.example.com>") == 2


def test_prune_with_now(tmp_path: Path) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        store.record("<a1@mail.example.com>", 1)
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=8)
        assert store.prune(datetime.timedelta(days=7), now=later) == 1
        assert store.count() == 0


def test_open_bad_path(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open the correlation database"):
        SQLiteCorrelator(tmp_path / "missing-folder" / "sent.db")


def test_open_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "sent.db"
    path.write_bytes(b"this is not an SQLite database file, only text" * 100)
    with pytest.raises(StoreError, match=r"sent\.db"):
        SQLiteCorrelator(path)


def test_threads(tmp_path: Path) -> None:
    store = SQLiteCorrelator(tmp_path / "sent.db")
    failures: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            for i in range(300):
                message_id = f"<t{thread}-{i}@mail.example.com>"
                store.record(message_id, [thread, i])
                if store.resolve(message_id) != [thread, i]:
                    failures.append(AssertionError(message_id))
        except BaseException as exc:  # reported by the assert below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert store.count() == 6 * 300
    store.close()


def _write_records(store: SQLiteCorrelator, writer: int, start: threading.Barrier | None) -> None:
    """Write records one by one, then in bulk, as a sender process would."""
    if start is not None:
        start.wait(timeout=60)
    half = WRITES_PER_PROCESS // 2
    for i in range(half):
        store.record(f"<p{writer}-{i}@mail.example.com>", {"writer": writer, "i": i})
    store.record_many(
        (f"<p{writer}-{i}@mail.example.com>", {"writer": writer, "i": i})
        for i in range(half, WRITES_PER_PROCESS)
    )


def _open_and_write(path: str, writer: int, start: threading.Barrier) -> None:
    store = SQLiteCorrelator(path, timeout=60)
    _write_records(store, writer, start)
    store.close()


def _check_all_records(store: SQLiteCorrelator) -> None:
    assert store.count() == 1 + 2 * WRITES_PER_PROCESS
    for writer in (1, 2):
        for i in range(WRITES_PER_PROCESS):
            assert store.resolve(f"<p{writer}-{i}@mail.example.com>") == {"writer": writer, "i": i}
    assert store.resolve("<parent@mail.example.com>") == "parent"


def test_two_processes_lose_no_record(tmp_path: Path) -> None:
    path = tmp_path / "sent.db"
    parent = SQLiteCorrelator(path)
    parent.record("<parent@mail.example.com>", "parent")
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    workers = [context.Process(target=_open_and_write, args=(str(path), n, start)) for n in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    _check_all_records(parent)
    parent.close()


def test_forked_processes_share_one_store(tmp_path: Path) -> None:
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("this platform cannot fork")
    parent = SQLiteCorrelator(tmp_path / "sent.db")
    # Used before the fork, so each child inherits an open connection it must not use.
    parent.record("<parent@mail.example.com>", "parent")
    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    workers = [context.Process(target=_write_records, args=(parent, n, start)) for n in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    _check_all_records(parent)
    parent.close()


def _filled(path: Path) -> Path:
    with SQLiteCorrelator(path) as store:
        store.record("<a1@mail.example.com>", {"delivery": 1})
    return path


def test_read_only_resolves(tmp_path: Path) -> None:
    with SQLiteCorrelator(_filled(tmp_path / "sent.db"), read_only=True) as store:
        assert store.resolve("<a1@mail.example.com>") == {"delivery": 1}
        assert store.count() == 1


def test_read_only_rejects_writes(tmp_path: Path) -> None:
    with SQLiteCorrelator(_filled(tmp_path / "sent.db"), read_only=True) as store:
        with pytest.raises(StoreError, match="read-only"):
            store.record("<a2@mail.example.com>", 2)
        with pytest.raises(StoreError, match="read-only"):
            store.prune(datetime.timedelta(days=1))
        assert store.resolve("<a2@mail.example.com>") is None


def test_read_only_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    with pytest.raises(StoreError, match="no correlation database"):
        SQLiteCorrelator(path, read_only=True)
    assert not path.exists()


def test_read_only_other_database_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (x)")
    with pytest.raises(StoreError, match="not a bouncekit correlation database"):
        SQLiteCorrelator(path, read_only=True)
    connection = sqlite3.connect(path)
    tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master")]
    mode = connection.execute("PRAGMA journal_mode").fetchone()[0]
    connection.close()
    assert tables == ["t"]
    assert mode == "delete"


def test_read_only_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder"):
        SQLiteCorrelator(tmp_path, read_only=True)


_READ_IN_CHILD = """
import sys
from bouncekit.correlate import SQLiteCorrelator
store = SQLiteCorrelator(sys.argv[1], read_only=True)
print(store.resolve("<a1@mail.example.com>"))
"""


def test_read_only_in_unwritable_folder() -> None:
    # The folder must be reachable by the unprivileged user, so not under tmp_path.
    top = Path(tempfile.mkdtemp(prefix="bouncekit-ro-"))
    folder = top / "shared"
    folder.mkdir()
    path = _filled(folder / "sent.db")
    path.chmod(0o444)
    folder.chmod(0o555)
    top.chmod(0o755)

    command = [sys.executable, "-c", _READ_IN_CHILD, str(path)]
    extra: dict[str, Any] = {}
    if os.geteuid() == 0:
        # Root writes anywhere, so the reader runs as an unprivileged user, with the
        # system's Python (the virtual environment's may sit under /root).
        source = Path(bouncekit.__file__).resolve().parents[1]
        paths = [str(source), *site.getsitepackages()]
        command[0] = "/usr/bin/python3"
        extra = {
            "user": 65534,
            "group": 65534,
            "extra_groups": [],
            "env": {"PYTHONPATH": os.pathsep.join(paths)},
        }
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, check=False, cwd="/", **extra
        )
    except OSError as exc:
        pytest.skip(f"cannot start a Python as an unprivileged user: {exc}")
    finally:
        folder.chmod(0o755)
        shutil.rmtree(top)

    if "Error" in result.stderr and "StoreError" not in result.stderr:
        pytest.skip(f"the unprivileged Python cannot import bouncekit: {result.stderr[-200:]}")
    assert result.stderr == ""
    assert result.stdout.strip() == "{'delivery': 1}"


@pytest.mark.parametrize("message_id", [None, 5])
def test_record_id_not_text(tmp_path: Path, message_id: object) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store, pytest.raises(TypeError, match="str"):
        store.record(message_id, {})  # type: ignore[arg-type]


def test_record_many_not_pairs(tmp_path: Path) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        with pytest.raises(TypeError, match="pairs"):
            store.record_many([("<a@x>",)])  # type: ignore[list-item]
        assert store.count() == 0


def test_path_not_text() -> None:
    with pytest.raises(TypeError, match="database path"):
        SQLiteCorrelator(None)  # type: ignore[arg-type]
