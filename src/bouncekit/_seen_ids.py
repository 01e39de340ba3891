"""
The ``--keep-seen`` file of ``bouncekit scan``: the POP3 unique-ids already reported.

One file can serve several mailboxes, because each id is stored with the
mailbox it came from::

    # bouncekit seen-ids 1: USER@HOST:PORT, a tab, and a POP3 unique-id per line
    bounces@pop.example.com:995	000000016b133024

A scan replaces the ids of the mailbox it read and keeps every other line.
Scans that share the file may overlap: each one saves under a lock
(``FILE.lock``, beside the file) and reads the file again first, so the lines
of mailboxes that another scan saved meanwhile are kept.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: overlapping scans are not coordinated there.
    fcntl = None  # type: ignore[assignment]

from bouncekit.exceptions import BounceKitError

__all__ = ["HEADER", "SeenIds", "SeenIdsError"]

HEADER = "# bouncekit seen-ids 1: USER@HOST:PORT, a tab, and a POP3 unique-id per line"
_HEADER_PREFIX = "# bouncekit seen-ids 1:"


class SeenIdsError(BounceKitError):
    """The ``--keep-seen`` file cannot be read, is not a seen-ids file, or cannot be written."""


class SeenIds:
    """
    The unique-ids of the ``--keep-seen`` file, by mailbox (``USER@HOST:PORT``).

    *name* is the path as the user gave it, for messages.
    """

    def __init__(self, name: str, ids: dict[str, set[str]] | None = None) -> None:
        self.name = name
        self.path = Path(name)
        self._ids: dict[str, set[str]] = ids or {}
        self._updated: set[str] = set()

    @classmethod
    def load(cls, name: str) -> SeenIds:
        """
        Read the file *name*, or start an empty list when it does not exist or is empty.

        Raises:
            SeenIdsError: The path is a folder, cannot be read, is not a seen-ids
                file, or its folder is missing or not writable.
        """
        path = Path(name)
        if path.is_dir():
            msg = f"cannot use --keep-seen {name!r}: it is a folder; give the path of a file"
            raise SeenIdsError(msg)
        try:
            data = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            data = b""  # A new file; the folder check below reports a missing folder.
        except OSError as exc:
            msg = f"cannot read --keep-seen file {name!r}: {exc.strerror or exc}"
            raise SeenIdsError(msg) from exc
        ids = _parse(name, data)
        _check_folder(name, path)
        return cls(name, ids)

    def ids(self, mailbox: str) -> frozenset[str]:
        """Return the unique-ids recorded for *mailbox*."""
        return frozenset(self._ids.get(mailbox, ()))

    def update(self, mailbox: str, listed: set[str] | None, reported: set[str]) -> None:
        """
        Record the ids *reported* now for *mailbox*.

        The ids of *mailbox* that are not in *listed* any more (deleted from the
        server) are dropped, so the file does not grow forever. When *listed* is
        ``None``, because listing failed, no id is dropped.
        """
        known = self._ids.get(mailbox, set())
        if listed is not None:
            known = known & listed
        self._ids[mailbox] = known | reported
        self._updated.add(mailbox)

    def save(self) -> None:
        """
        Write every mailbox's ids to the file, through a temporary file beside it.

        Raises:
            SeenIdsError: Writing failed; the message names the path the user gave.
        """
        temporary: str | None = None
        try:
            with self._locked():
                ids = self._merged()
                lines = [HEADER]
                for mailbox in sorted(ids):
                    lines.extend(f"{mailbox}\t{uid}" for uid in sorted(ids[mailbox]))
                handle, temporary = tempfile.mkstemp(
                    prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent
                )
                with os.fdopen(handle, "w", encoding="utf-8") as out:
                    out.write("\n".join(lines) + "\n")
                os.replace(temporary, self.path)
                temporary = None
        except OSError as exc:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
            msg = (
                f"cannot write --keep-seen file {self.name!r}: {exc.strerror or exc}; "
                "the messages of this run will be reported again"
            )
            raise SeenIdsError(msg) from exc

    def _merged(self) -> dict[str, set[str]]:
        """Return the file's current lines, with this run's mailboxes replaced."""
        try:
            current = _parse(self.name, self.path.read_bytes())
        except (OSError, SeenIdsError):
            current = {}
        for mailbox in self._updated:
            current[mailbox] = self._ids[mailbox]
        return current

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        lock = self.path.with_name(self.path.name + ".lock")
        with lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _check_folder(name: str, path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        msg = f"cannot write --keep-seen file {name!r}: the folder {str(folder)!r} does not exist"
        raise SeenIdsError(msg)
    if not os.access(folder, os.W_OK | os.X_OK):
        msg = (
            f"cannot write --keep-seen file {name!r}: "
            f"no permission to create files in {str(folder)!r}"
        )
        raise SeenIdsError(msg)


def _parse(name: str, data: bytes) -> dict[str, set[str]]:
    not_seen_ids = f"{name!r} is not a bouncekit seen-ids file; pass a new path to --keep-seen"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SeenIdsError(f"{not_seen_ids} (it is not UTF-8 text)") from None
    lines = text.splitlines()
    if not text.strip():
        return {}
    if not lines[0].startswith(_HEADER_PREFIX):
        raise SeenIdsError(f"{not_seen_ids} (its first line is not {HEADER!r})")
    ids: dict[str, set[str]] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        mailbox, tab, uid = line.partition("\t")
        if not tab or "@" not in mailbox or not uid.strip():
            msg = f"{not_seen_ids} (line {number} is not USER@HOST:PORT, a tab and a unique-id)"
            raise SeenIdsError(msg)
        ids.setdefault(mailbox, set()).add(uid.strip())
    return ids
