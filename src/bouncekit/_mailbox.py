"""
Mailboxes a bounce processor reads from: POP3, Maildir, mbox and memory.

Every mailbox follows one contract, :class:`Mailbox`:

- A message is known by its unique-id (the POP3 UIDL value, the Maildir file
  name, a hash of an mbox message), never by a POP3 message number.
- :meth:`Mailbox.mark_deleted` only records the caller's decision. Messages
  are deleted at :meth:`Mailbox.commit` and at no other time, and only the
  ones marked. For POP3 the marks are sent as DELE commands just before QUIT,
  and RFC 1939 section 6 has the server delete them only after QUIT.
- Ending a session any other way deletes nothing, and the marks are
  discarded, so the next poll reads those messages again. How the lost
  marks are reported depends on how the session ended:

  - The mailbox failed (a dropped connection, a time-out): the call raises
    :class:`~bouncekit.exceptions.MarksLostError`, with the marks in ``lost_marks``.
  - The caller's code raised inside the ``with`` block: that exception goes
    on unchanged, with a note that lists the marks lost.
  - The ``with`` block ended normally without :meth:`Mailbox.commit`: a
    :class:`~bouncekit.exceptions.MarksLostWarning` is issued, and no exception.
  - :meth:`Mailbox.close`: it returns the marks discarded.

  In each case a warning is also logged by the ``bouncekit._mailbox`` logger.
- A message that cannot be read is yielded with ``error`` set, and iteration
  goes on with the next one.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import logging
import mailbox as stdlib_mailbox
import os
import ssl
import stat
import warnings
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Literal, Protocol, get_args, runtime_checkable

import attrs

from bouncekit._pop3 import DEFAULT_MAX_MESSAGE_SIZE
from bouncekit._pop3_client import (
    AsyncPop3Client,
    Pop3Client,
    Security,
    check_choice,
    check_security,
)
from bouncekit.exceptions import (
    CommitUncertainError,
    MailboxError,
    MarksLostError,
    MarksLostWarning,
    Pop3ConnectionError,
    Pop3Error,
    Pop3TimeoutError,
    RemoteProtocolError,
    ServerError,
)

__all__ = [
    "AsyncPop3Mailbox",
    "CommitResult",
    "Mailbox",
    "MailboxMessage",
    "MaildirMailbox",
    "MboxMailbox",
    "MemoryMailbox",
    "MessageInfo",
    "Pop3Mailbox",
]

logger = logging.getLogger(__name__)

# The duplicated POP3 unique-ids named in the warning; the rest are only counted.
_MAX_DUPLICATES_SHOWN = 10

AuthMethod = Literal["user", "plain", "xoauth2", "apop"]
# stat() errors that mean "no file here", as pathlib's is_file() treats them.
_NOT_A_FILE = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP})
# Octets read to check that a file is an mbox: a file of only white space up
# to this size counts as an empty mailbox.
_MBOX_PROBE_SIZE = 64 * 1024
# Errors after which a POP3 session cannot go on.
_FATAL = (Pop3ConnectionError, Pop3TimeoutError, RemoteProtocolError)


@attrs.frozen
class MessageInfo:
    """One message in a mailbox listing: its unique-id and its size in octets."""

    uid: str
    size: int


@attrs.frozen
class MailboxMessage:
    """
    One message read from a mailbox, or the reason it could not be read.

    Attributes:
        uid: The message's unique-id.
        size: Its size in octets as the mailbox lists it.
        data: The raw message (only the header block for ``headers_only``),
            or ``None`` when it could not be read.
        error: Why it could not be read, or ``None``.
    """

    uid: str
    size: int
    data: bytes | None = attrs.field(
        default=None, repr=lambda d: "None" if d is None else f"<{len(d)} octets>"
    )
    error: str | None = None


@attrs.frozen
class CommitResult:
    """
    The outcome of a commit.

    Attributes:
        deleted: The unique-ids deleted.
        failed: Unique-ids the mailbox did not delete, with the reason: the
            server responded to their DELE with an error, or the file was gone.
    """

    deleted: frozenset[str] = frozenset()
    failed: Mapping[str, str] = attrs.field(factory=dict)


@runtime_checkable
class Mailbox(Protocol):
    """The operations every bouncekit mailbox offers."""

    def list_messages(self) -> list[MessageInfo]:
        """Return the messages in the mailbox, in the mailbox's order."""
        ...

    def fetch(self, uid: str, *, headers_only: bool = False) -> bytes:
        """Return one message, or only its header block and the blank line after it."""
        ...

    def iter_messages(
        self, *, headers_only: bool = False, uids: Iterable[str] | None = None
    ) -> Iterator[MailboxMessage]:
        """
        Yield every unmarked message, or those of *uids*, in listing order.

        A message that cannot be read comes with ``error`` set, and iteration goes on.
        """
        ...

    def mark_deleted(self, uid: str) -> None:
        """Mark one message for deletion at :meth:`commit`."""
        ...

    @property
    def marked(self) -> frozenset[str]:
        """The unique-ids marked and not yet committed."""
        ...

    def commit(self) -> CommitResult:
        """
        Delete the marked messages.

        A POP3 mailbox ends its session here, and a local one stays open. With
        nothing marked, a commit deletes nothing and needs no listing first.
        """
        ...

    def close(self) -> frozenset[str]:
        """
        End the session without deleting anything, and return the marks discarded.

        Every later call except :meth:`close` raises
        :class:`~bouncekit.exceptions.MailboxError`.
        """
        ...


def _reason(exc: BaseException) -> str:
    """Return why a file operation failed, in the operating system's words and without the path."""
    if isinstance(exc, stdlib_mailbox.NoSuchMailboxError):
        return "the file no longer exists"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)


def _header_block(data: bytes) -> bytes:
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = data.find(separator)
        if end >= 0:
            return data[: end + len(separator)]
    return data


def _report_lost(where: str, lost: frozenset[str], exc: BaseException | None) -> None:
    if not lost:
        return
    listed = ", ".join(sorted(lost)[:20]) + (" ..." if len(lost) > 20 else "")
    logger.warning(
        "%s closed without commit; %d mark(s) lost, nothing deleted: %s", where, len(lost), listed
    )
    if exc is not None:
        exc.add_note(
            f"bouncekit: {where} was not committed; {len(lost)} mark(s) lost, "
            f"nothing deleted: {listed}"
        )


def _warn_lost(where: str, lost: frozenset[str]) -> None:
    """Issue :class:`MarksLostWarning` for a ``with`` block that ended normally with marks."""
    if not lost:
        return
    message = (
        f"{where} left its with block without commit(): {len(lost)} mark(s) lost, nothing "
        "deleted; call commit() inside the block to delete the marked messages"
    )
    # Level 3 is the caller's with statement: this function, then __exit__.
    warnings.warn(message, MarksLostWarning, stacklevel=3)


class _Marks:
    """Marks for deletion and the context manager behaviour shared by every mailbox."""

    _where = "mailbox"

    def __init__(self) -> None:
        self._marked: set[str] = set()
        self._open = True

    def __repr__(self) -> str:
        state = [self._repr_target()]
        if not self._open:
            state.append("closed")
        elif self._marked:
            state.append(f"{len(self._marked)} marked")
        return f"{type(self).__name__}({', '.join(state)})"

    def _repr_target(self) -> str:
        """Return what the mailbox reads, for the repr: a path, a server, a count."""
        raise NotImplementedError

    def _reopen_hint(self) -> str:
        return f"create a new {type(self).__name__} to read it again"

    def _check_open(self) -> None:
        if not self._open:
            msg = f"{self._where} is closed; {self._reopen_hint()}"
            raise MailboxError(msg)

    @property
    def marked(self) -> frozenset[str]:
        """The unique-ids marked and not yet committed."""
        return frozenset(self._marked)

    def _discard_marks(self, exc: BaseException | None = None) -> frozenset[str]:
        lost = frozenset(self._marked)
        self._marked.clear()
        _report_lost(self._where, lost, exc)
        return lost

    def _missing(self, uid: str) -> MailboxError:
        return MailboxError(
            f"no message with unique-id {uid!r} in {self._where}: it was deleted, "
            "or the id did not come from list_messages()"
        )

    def _check_known(self, uid: str, known: Iterable[str]) -> None:
        if uid not in known:
            raise self._missing(uid)


class _FileMailbox(_Marks):
    """A mailbox whose messages are read and deleted locally."""

    def __enter__(self) -> _FileMailbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        lost = self._close(exc)
        if exc is None:
            _warn_lost(self._where, lost)

    def list_messages(self) -> list[MessageInfo]:
        """Return the messages in the mailbox, in the mailbox's order."""
        raise NotImplementedError

    def _read(self, uid: str) -> bytes:
        raise NotImplementedError

    def _delete(self, uids: frozenset[str]) -> CommitResult:
        raise NotImplementedError

    def _release(self) -> None:
        """Close the files this mailbox has open."""

    def fetch(self, uid: str, *, headers_only: bool = False) -> bytes:
        """Return one message, or only its header block and the blank line after it."""
        self._check_open()
        data = self._read(uid)
        return _header_block(data) if headers_only else data

    def iter_messages(
        self, *, headers_only: bool = False, uids: Iterable[str] | None = None
    ) -> Iterator[MailboxMessage]:
        """Yield every unmarked message, or those of *uids*; see :meth:`Mailbox.iter_messages`."""
        wanted = None if uids is None else set(uids)
        for info in self.list_messages():
            if info.uid in self._marked or (wanted is not None and info.uid not in wanted):
                continue
            # Checked here, so that a close() inside the loop ends it with an error.
            self._check_open()
            try:
                data = self.fetch(info.uid, headers_only=headers_only)
            except MailboxError as exc:
                # The error names the message and the reason.
                logger.warning("%s", exc)
                yield MailboxMessage(info.uid, info.size, error=str(exc))
                continue
            yield MailboxMessage(info.uid, info.size, data)

    def mark_deleted(self, uid: str) -> None:
        """Mark one message for deletion at :meth:`commit`."""
        self._check_known(uid, (info.uid for info in self.list_messages()))
        self._marked.add(uid)

    def commit(self) -> CommitResult:
        """
        Delete the marked messages; the mailbox stays open for more reading.

        With nothing marked, nothing is read or written.
        """
        self._check_open()
        if not self._marked:
            return CommitResult()
        result = self._delete(frozenset(self._marked))
        self._marked.clear()
        return result

    def close(self) -> frozenset[str]:
        """
        Discard the marks without deleting anything, close the mailbox, and return the marks.

        Leaving a ``with`` block closes the mailbox too. Every later call
        except :meth:`close` raises :class:`~bouncekit.exceptions.MailboxError`.
        """
        return self._close(None)

    def _close(self, exc: BaseException | None) -> frozenset[str]:
        if not self._open:
            return frozenset()
        self._open = False
        self._release()
        return self._discard_marks(exc)


class MemoryMailbox(_FileMailbox):
    """
    A mailbox held in memory, for tests and for messages that came another way.

    Args:
        messages: Unique-id to raw message, or raw messages that get the
            unique-ids ``"0"``, ``"1"`` ... in order.

    Raises:
        TypeError: *messages* is one ``str`` or ``bytes`` rather than a list or
            mapping of messages, a message is not ``bytes``, or a unique-id is
            not ``str``.
    """

    _where = "memory mailbox"

    def __init__(self, messages: Mapping[str, bytes] | Iterable[bytes] = ()) -> None:
        super().__init__()
        # A str or bytes is iterable too, and would become one message per character.
        if isinstance(messages, str | bytes | bytearray | memoryview):
            msg = (
                "MemoryMailbox takes a list or mapping of messages, not a single "
                f"{type(messages).__name__}; pass [message] for one message"
            )
            raise TypeError(msg)
        if isinstance(messages, Mapping):
            self.messages: dict[str, bytes] = dict(messages)
        else:
            self.messages = {str(index): data for index, data in enumerate(messages)}
        for uid, data in self.messages.items():
            _check_memory_message(uid, data)

    def _repr_target(self) -> str:
        count = len(self.messages)
        return f"{count} message" if count == 1 else f"{count} messages"

    def list_messages(self) -> list[MessageInfo]:
        """Return the messages in insertion order."""
        self._check_open()
        return [MessageInfo(uid, len(data)) for uid, data in self.messages.items()]

    def _read(self, uid: str) -> bytes:
        self._check_known(uid, self.messages)
        return self.messages[uid]

    def _delete(self, uids: frozenset[str]) -> CommitResult:
        for uid in uids:
            del self.messages[uid]
        return CommitResult(deleted=uids)


def _check_memory_message(uid: object, data: object) -> None:
    if not isinstance(uid, str):
        msg = f"MemoryMailbox unique-id {uid!r} is of type {type(uid).__name__}, not str"
        raise TypeError(msg)
    if not isinstance(data, bytes):
        msg = (
            f"MemoryMailbox message {uid!r} is of type {type(data).__name__}, not bytes; "
            "pass the raw message, for example text.encode()"
        )
        raise TypeError(msg)


class MaildirMailbox(_FileMailbox):
    """
    A Maildir: messages in ``new`` and then ``cur``, each in name order.

    The unique-id is the file name up to the ``:`` that starts the Maildir
    flags, so it stays the same when another program marks a message seen.

    Raises:
        MailboxError: *path* is not a Maildir, or one of its folders cannot be
            read (the message names the folder and the operating system's
            reason). Listing raises it too when ``new`` or ``cur`` cannot be
            read, and :meth:`fetch` when the message file cannot be read.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self._where = f"Maildir {str(self.path)!r}"
        for sub in ("cur", "new", "tmp"):
            folder = self.path / sub
            try:
                is_folder = stat.S_ISDIR(folder.stat().st_mode)
            except (FileNotFoundError, NotADirectoryError):
                is_folder = False
            except OSError as exc:
                msg = f"cannot open {self._where}: cannot read {str(folder)!r}: {_reason(exc)}"
                raise MailboxError(msg) from exc
            if not is_folder:
                msg = f"{str(self.path)!r} is not a Maildir: it needs cur, new and tmp folders"
                raise MailboxError(msg)

    def _repr_target(self) -> str:
        return repr(str(self.path))

    def _entries(self) -> Iterator[tuple[str, Path]]:
        """Yield the unique-id and path of each entry of ``new`` and then ``cur``, in name order."""
        for sub in ("new", "cur"):
            folder = self.path / sub
            try:
                names = sorted(os.listdir(folder))
            except OSError as exc:
                msg = f"cannot read folder {str(folder)!r} of {self._where}: {_reason(exc)}"
                raise MailboxError(msg) from exc
            for name in names:
                if not name.startswith("."):
                    yield name.split(":", 1)[0], folder / name

    def _files(self) -> dict[str, tuple[Path, int]]:
        """Return the unique-id of each message file, with its path and size in octets."""
        files: dict[str, tuple[Path, int]] = {}
        for uid, path in self._entries():
            if uid in files:
                continue
            try:
                status = path.stat()
            except OSError as exc:
                if exc.errno in _NOT_A_FILE:
                    # Removed by another program meanwhile, or a broken symbolic link.
                    continue
                msg = f"cannot read {str(path)!r} of {self._where}: {_reason(exc)}"
                raise MailboxError(msg) from exc
            if stat.S_ISREG(status.st_mode):
                files[uid] = (path, status.st_size)
        return files

    def list_messages(self) -> list[MessageInfo]:
        """Return the messages, ``new`` first, each folder in name order."""
        self._check_open()
        return [MessageInfo(uid, size) for uid, (_, size) in self._files().items()]

    def _read(self, uid: str) -> bytes:
        # Take the first entry with this unique-id, as the listing does. A folder
        # put in place of the file after the listing then fails with its reason.
        path = next((path for entry_uid, path in self._entries() if entry_uid == uid), None)
        if path is None:
            raise self._missing(uid)
        try:
            return path.read_bytes()
        except OSError as exc:
            msg = f"cannot read message {uid!r} from {str(path)!r}: {_reason(exc)}"
            raise MailboxError(msg) from exc

    def _delete(self, uids: frozenset[str]) -> CommitResult:
        files = self._files()
        deleted, failed = set(), {}
        for uid in uids:
            if uid not in files:
                failed[uid] = f"no message {uid!r} in {self._where} any more"
                logger.warning("%s: %s", self._where, failed[uid])
                continue
            try:
                files[uid][0].unlink()
            except OSError as exc:
                failed[uid] = f"cannot delete {uid!r}: {exc.strerror or exc}"
                logger.warning("%s: %s", self._where, failed[uid])
                continue
            deleted.add(uid)
        return CommitResult(frozenset(deleted), failed)


class MboxMailbox(_FileMailbox):
    """
    An mbox file.

    The unique-id of a message is made from a hash of its content, so it stays
    the same when other messages are deleted or added: a message's position
    (the ``path#N`` of ``bouncekit scan``) changes then, and would name another
    message. Identical copies of one message get ``.2``, ``.3`` ... in file order.

    Raises:
        MailboxError: *path* is not a regular file or cannot be opened, with the
            operating system's reason. Listing and :meth:`fetch` raise it when
            the file cannot be read, and :meth:`commit` when the file cannot be
            rewritten. A failed commit deletes nothing and keeps the marks.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        self._where = f"mbox {str(self.path)!r}"
        try:
            mode = self.path.stat().st_mode
        except (FileNotFoundError, NotADirectoryError) as exc:
            msg = f"no mbox file at {str(self.path)!r}"
            raise MailboxError(msg) from exc
        except OSError as exc:
            msg = f"cannot open {self._where}: {_reason(exc)}"
            raise MailboxError(msg) from exc
        if stat.S_ISDIR(mode):
            msg = (
                f"{str(self.path)!r} is a folder, not an mbox file; "
                "open a Maildir with MaildirMailbox"
            )
            raise MailboxError(msg)
        if not stat.S_ISREG(mode):
            msg = f"{str(self.path)!r} is not an mbox file: it is not a regular file"
            raise MailboxError(msg)
        self._check_start()
        # None after a commit: the file is opened again at the next read.
        self._box: stdlib_mailbox.mbox | None = self._open_file()

    def _repr_target(self) -> str:
        return repr(str(self.path))

    def _check_start(self) -> None:
        """Raise :class:`MailboxError` unless the file is empty or starts with a ``From`` line."""
        try:
            with self.path.open("rb") as file:
                head = file.read(_MBOX_PROBE_SIZE)
        except OSError as exc:
            msg = f"cannot open {self._where}: {_reason(exc)}"
            raise MailboxError(msg) from exc
        if head.startswith(b"From "):
            return
        if len(head) < _MBOX_PROBE_SIZE and not head.strip():
            return  # empty, or only white space: a mailbox with no message
        msg = (
            f"{str(self.path)!r} is not an mbox file: it does not start with a 'From ' line; "
            "read a single message with bouncekit.parse"
        )
        raise MailboxError(msg)

    def _open_file(self) -> stdlib_mailbox.mbox:
        try:
            return stdlib_mailbox.mbox(self.path, create=False)
        except (OSError, stdlib_mailbox.Error) as exc:
            msg = f"cannot open {self._where}: {_reason(exc)}"
            raise MailboxError(msg) from exc

    def _reader(self) -> stdlib_mailbox.mbox:
        if self._box is None:
            self._box = self._open_file()
        return self._box

    def _keys(self, box: stdlib_mailbox.mbox | None = None) -> dict[str, tuple[str, int]]:
        """
        Return the unique-id of each message of *box* (by default this mailbox's).

        Each unique-id maps to the message's key in *box* and its size in octets.
        """
        box = self._reader() if box is None else box
        keys: dict[str, tuple[str, int]] = {}
        try:
            for key in box.iterkeys():
                data = box.get_bytes(key)
                digest = hashlib.sha256(data).hexdigest()[:20]
                uid = digest
                copy = 1
                while uid in keys:
                    copy += 1
                    uid = f"{digest}.{copy}"
                keys[uid] = (key, len(data))
        except OSError as exc:
            msg = f"cannot read {self._where}: {_reason(exc)}"
            raise MailboxError(msg) from exc
        return keys

    def list_messages(self) -> list[MessageInfo]:
        """Return the messages in file order."""
        self._check_open()
        return [MessageInfo(uid, size) for uid, (_, size) in self._keys().items()]

    def _read(self, uid: str) -> bytes:
        keys = self._keys()
        self._check_known(uid, keys)
        try:
            return self._reader().get_bytes(keys[uid][0])
        except OSError as exc:
            msg = f"cannot read message {uid!r} from {self._where}: {_reason(exc)}"
            raise MailboxError(msg) from exc

    def _delete_failed(self, uids: frozenset[str], exc: BaseException) -> MailboxError:
        return MailboxError(
            f"{self._where}: deleting {len(uids)} message(s) failed, nothing was deleted: "
            f"{_reason(exc)}"
        )

    def _delete(self, uids: frozenset[str]) -> CommitResult:
        # A separate object does the deletion, so a failure leaves no removal
        # pending in the one used for reading, which close() would otherwise write.
        try:
            box = stdlib_mailbox.mbox(self.path, create=False)
        except (OSError, stdlib_mailbox.Error) as exc:
            raise self._delete_failed(uids, exc) from exc
        try:
            box.lock()
            keys = self._keys(box)
            failed = {
                uid: f"no message {uid!r} in {self._where} any more" for uid in uids - keys.keys()
            }
            for uid in uids - failed.keys():
                box.remove(keys[uid][0])
            # flush() writes the kept messages to a new file and renames it over
            # the old one, so a failure before the rename changes nothing on disk.
            box.flush()
        except (OSError, stdlib_mailbox.Error, MailboxError) as exc:
            _remove_partial_copies(self.path)
            # Drop the pending removals, so closing this object writes nothing.
            # The standard library has no public way to discard them.
            setattr(box, "_pending", False)  # noqa: B010
            raise self._delete_failed(uids, exc) from exc
        finally:
            _release(box, self.path)
        # The messages are deleted now. The reading object still shows the old
        # file, and the next read opens the new one, so that a failure to open
        # it is reported then and does not hide this result.
        self._close_reader()
        return CommitResult(uids - failed.keys(), failed)

    def _close_reader(self) -> None:
        box, self._box = self._box, None
        if box is not None:
            # Nothing is pending in the reading object, so closing it writes nothing.
            with contextlib.suppress(OSError):
                box.close()

    def _release(self) -> None:
        self._close_reader()


def _remove_partial_copies(path: Path) -> None:
    """
    Remove the new copy of *path* that a failed ``flush()`` of this process left.

    The standard library writes it beside the file, named
    ``<name>.<seconds>.<host>.<pid>``; a copy left behind would block the next
    commit in the same second.
    """
    # A copy that cannot be removed stays, because the caller reports the first failure.
    with contextlib.suppress(OSError):
        for copy in path.parent.glob(f"{glob.escape(path.name)}.*.{os.getpid()}"):
            copy.unlink(missing_ok=True)


def _release(box: stdlib_mailbox.mbox, path: Path) -> None:
    """Unlock and close *box*, also after a failed flush closed its file."""
    try:
        box.unlock()
        box.close()
    except (OSError, ValueError):
        # flush() closes the file before it renames the new one into place, so
        # after a failure there the lock file has to be removed by hand.
        Path(f"{path}.lock").unlink(missing_ok=True)


def _pop3_listing(
    sizes: Mapping[int, int], uids: Mapping[int, str], where: str
) -> dict[str, tuple[int, int]]:
    if not uids and sizes:
        msg = (
            f"{where} lists messages but no unique-ids (UIDL), so bouncekit cannot tell them apart"
        )
        raise MailboxError(msg)
    numbers_by_uid: dict[str, list[int]] = {}
    for number, uid in uids.items():
        numbers_by_uid.setdefault(uid, []).append(number)
    duplicated = {uid: numbers for uid, numbers in numbers_by_uid.items() if len(numbers) > 1}
    if duplicated:
        _warn_duplicated_uids(where, duplicated)
    return {
        uid: (numbers[0], sizes.get(numbers[0], 0))
        for uid, numbers in numbers_by_uid.items()
        if uid not in duplicated
    }


def _warn_duplicated_uids(where: str, duplicated: Mapping[str, list[int]]) -> None:
    """
    Log one warning about the unique-ids that UIDL gave to more than one message.

    A mark on such an id could not identify the message to delete, so those
    messages are left out of the listing: they are never fetched or deleted.
    """
    named = sorted(duplicated.items(), key=lambda item: item[1][0])[:_MAX_DUPLICATES_SHOWN]
    parts = [
        f"{uid!r} for messages {', '.join(str(number) for number in sorted(numbers))}"
        for uid, numbers in named
    ]
    if len(duplicated) > len(named):
        parts.append(f"and {len(duplicated) - len(named)} more unique-ids")
    count = sum(len(numbers) for numbers in duplicated.values())
    logger.warning(
        "%s gives one unique-id (UIDL) to several messages, which RFC 1939 forbids: %s. "
        "Those %d messages are left out of the listing, so they are never fetched or deleted",
        where,
        "; ".join(parts),
        count,
    )


def _check_login_choices(auth: object, security: object) -> None:
    check_choice("auth", auth, get_args(AuthMethod))
    check_security(security)


class _Pop3Base(_Marks):
    def __init__(self, client: Pop3Client | AsyncPop3Client, user: str) -> None:
        super().__init__()
        self._where = f"POP3 mailbox {user + '@' if user else ''}{client.host}"
        self._user = user
        self._client = client
        self._listing: dict[str, tuple[int, int]] | None = None  # uid: (number, size)
        # Once QUIT is on its way the server may delete, so a later failure
        # can no longer promise that nothing was deleted.
        self._quit_sent = False

    def _known(self) -> dict[str, tuple[int, int]]:
        if self._listing is None:
            msg = f"call list_messages() on {self._where} first"
            raise MailboxError(msg)
        return self._listing

    def _infos(self) -> list[MessageInfo]:
        return [MessageInfo(uid, size) for uid, (_, size) in self._known().items()]

    def _reopen_hint(self) -> str:
        return f"open a new session with {type(self).__name__}.open()"

    def _repr_target(self) -> str:
        # The password is not stored here, so it cannot get into the repr.
        host = f"[{self._client.host}]" if ":" in self._client.host else self._client.host
        user = f"{self._user}@" if self._user else ""
        return f"{user}{host}:{self._client.port}, {self._client.security}"

    def _unmarked(self, uids: Iterable[str] | None) -> list[str]:
        wanted = None if uids is None else set(uids)
        return [
            uid
            for uid in self._known()
            if uid not in self._marked and (wanted is None or uid in wanted)
        ]

    def _numbers(self, uids: Iterable[str]) -> dict[int, str]:
        known = self._known()
        return {known[uid][0]: uid for uid in uids}

    def mark_deleted(self, uid: str) -> None:
        """Mark one message for deletion; DELE is sent at :meth:`commit`, right before QUIT."""
        self._check_open()
        self._check_known(uid, self._known())
        self._marked.add(uid)

    def _discard_marks(self, exc: BaseException | None = None) -> frozenset[str]:
        if not self._quit_sent:
            return super()._discard_marks(exc)
        marks = frozenset(self._marked)
        self._marked.clear()
        if marks:
            message = (
                f"{self._where} ended after QUIT was sent and before its response; the server "
                f"may have deleted the {len(marks)} marked message(s)"
            )
            logger.warning("%s", message)
            if exc is not None:
                exc.add_note(f"bouncekit: {message}")
        return marks

    def _uncertain(self, exc: BaseException) -> CommitUncertainError:
        self._client.close()
        self._open = False
        marks = frozenset(self._marked)
        self._marked.clear()
        message = (
            f"{self._where}: QUIT was sent but the session did not end cleanly ({exc}); "
            f"the server may have deleted the {len(marks)} marked message(s), or some of them. "
            "The next poll lists those that remain"
        )
        logger.warning("%s", message)
        return CommitUncertainError(message, marks)

    def _lost(self, exc: BaseException, doing: str) -> MarksLostError:
        self._client.close()
        self._open = False
        lost = frozenset(self._marked)
        self._marked.clear()
        message = f"{self._where}: {doing} failed ({exc}); nothing was deleted"
        if lost:
            message += (
                f", and {len(lost)} marks were lost; the next poll returns those messages again"
            )
        logger.warning("%s", message)
        return MarksLostError(message, lost)

    def _message(
        self, number: int, result: bytes | Pop3Error, numbers: Mapping[int, str]
    ) -> MailboxMessage:
        uid = numbers[number]
        size = self._known()[uid][1]
        if isinstance(result, Pop3Error):
            return MailboxMessage(uid, size, error=f"cannot fetch message {uid!r}: {result}")
        return MailboxMessage(uid, size, result)

    def _commit_result(self, errors: Mapping[int, ServerError | None]) -> CommitResult:
        failed: dict[str, str] = {}
        if errors:
            # Only marked messages were sent DELE, and marking needed a listing.
            numbers = self._numbers(self._marked)
            failed = {
                numbers[number]: str(error) for number, error in errors.items() if error is not None
            }
        deleted = frozenset(self._marked) - failed.keys()
        self._marked.clear()
        self._open = False
        logger.debug(
            "%s: deleted %d messages, %d rejected by the server",
            self._where,
            len(deleted),
            len(failed),
        )
        return CommitResult(deleted, failed)


class Pop3Mailbox(_Pop3Base):
    """
    A POP3 mailbox over a logged-in :class:`~bouncekit.pop3.Pop3Client`.

    :meth:`commit` ends the session with QUIT; after it, or after a
    connection failure, open a new mailbox for the next poll. Leaving a
    ``with`` block closes the connection without QUIT unless :meth:`commit`
    was called, so nothing is deleted. A closed mailbox raises
    :class:`~bouncekit.exceptions.MailboxError` on every call except :meth:`close`.
    """

    def __init__(self, client: Pop3Client, *, user: str = "") -> None:
        super().__init__(client, user)
        self.client = client

    @classmethod
    def open(
        cls,
        host: str,
        user: str,
        secret: str,
        *,
        port: int | None = None,
        security: Security = "tls",
        auth: AuthMethod = "user",
        ssl_context: ssl.SSLContext | None = None,
        timeout: float | None = 30.0,
        allow_plaintext_auth: bool = False,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> Pop3Mailbox:
        """
        Connect, log in and return the mailbox.

        Args:
            secret: The password, or the OAuth 2.0 access token for ``auth="xoauth2"``.
            auth: ``"user"`` (USER/PASS), ``"plain"`` (AUTH PLAIN),
                ``"xoauth2"`` (AUTH XOAUTH2) or ``"apop"``.

        The other arguments are those of :meth:`Pop3Client.connect`.

        Raises:
            ValueError: *auth* or *security* is not one of the values named
                here and in :meth:`Pop3Client.connect`; no connection was made.
        """
        _check_login_choices(auth, security)
        client = Pop3Client.connect(
            host,
            port,
            security=security,
            ssl_context=ssl_context,
            timeout=timeout,
            allow_plaintext_auth=allow_plaintext_auth,
            max_message_size=max_message_size,
        )
        try:
            _login = {
                "user": client.login,
                "plain": client.auth_plain,
                "xoauth2": client.auth_xoauth2,
                "apop": client.apop,
            }[auth]
            _login(user, secret)
        except BaseException:
            client.close()
            raise
        return cls(client, user=user)

    def __enter__(self) -> Pop3Mailbox:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._open:
            self.client.close()
            self._open = False
            lost = self._discard_marks(exc)
            if exc is None:
                _warn_lost(self._where, lost)

    def list_messages(self) -> list[MessageInfo]:
        """
        Return the messages with their unique-ids (UIDL) and sizes (LIST).

        Messages that share a unique-id are left out, with a warning logged,
        because a mark on that id could not say which one to delete.
        """
        self._check_open()
        try:
            uids = self.client.uidl()
            sizes = self.client.list() if uids else {}
        except ServerError as exc:
            raise MailboxError(f"{self._where} cannot list its messages: {exc}") from exc
        except _FATAL as exc:
            raise self._lost(exc, "listing the messages") from exc
        self._listing = _pop3_listing(sizes, uids, self._where)
        return self._infos()

    def fetch(self, uid: str, *, headers_only: bool = False) -> bytes:
        """Return one message, or only its header block (``TOP n 0``)."""
        self._check_open()
        if self._listing is None:
            self.list_messages()
        self._check_known(uid, self._known())
        number = self._known()[uid][0]
        try:
            return self.client.top(number) if headers_only else self.client.retr(number)
        except _FATAL as exc:
            raise self._lost(exc, f"fetching {uid!r}") from exc

    def iter_messages(
        self, *, headers_only: bool = False, uids: Iterable[str] | None = None
    ) -> Iterator[MailboxMessage]:
        """
        Yield every message not marked, fetched with pipelined RETR (or ``TOP n 0``).

        Raises:
            MarksLostError: The connection failed; nothing was deleted.
        """
        self._check_open()
        if self._listing is None:
            self.list_messages()
        numbers = self._numbers(self._unmarked(uids))
        failed = 0
        try:
            for number, result in self.client.fetch_many(numbers, headers_only=headers_only):
                message = self._message(number, result, numbers)
                failed += message.error is not None
                yield message
        except _FATAL as exc:
            raise self._lost(exc, "fetching the messages") from exc
        logger.debug("%s: fetched %d messages, %d failed", self._where, len(numbers), failed)

    def commit(self) -> CommitResult:
        """
        Send DELE for each marked message, then QUIT, so the server deletes them.

        With nothing marked, only QUIT is sent, and no listing is needed first.

        Raises:
            MarksLostError: The connection failed before QUIT was sent; the
                server deletes nothing then (RFC 1939 section 6).
            CommitUncertainError: QUIT was sent but its response did not arrive,
                or was ``-ERR``: the server may have deleted the marked messages,
                or some of them.
        """
        self._check_open()
        try:
            errors = (
                self.client.delete_many(sorted(self._numbers(self._marked))) if self._marked else {}
            )
        except (*_FATAL, ServerError) as exc:
            raise self._lost(exc, "sending the deletions") from exc
        self._quit_sent = True
        try:
            self.client.quit()
        except (*_FATAL, ServerError) as exc:
            raise self._uncertain(exc) from exc
        return self._commit_result(errors)

    def close(self) -> frozenset[str]:
        """Close the connection without QUIT, so nothing is deleted; return the marks discarded."""
        if self._open:
            self.client.close()
            self._open = False
        return self._discard_marks()


class AsyncPop3Mailbox(_Pop3Base):
    """The asyncio twin of :class:`Pop3Mailbox`, over an asyncio POP3 client."""

    def __init__(self, client: AsyncPop3Client, *, user: str = "") -> None:
        super().__init__(client, user)
        self.client = client

    @classmethod
    async def open(
        cls,
        host: str,
        user: str,
        secret: str,
        *,
        port: int | None = None,
        security: Security = "tls",
        auth: AuthMethod = "user",
        ssl_context: ssl.SSLContext | None = None,
        timeout: float | None = 30.0,
        allow_plaintext_auth: bool = False,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> AsyncPop3Mailbox:
        """Connect, log in and return the mailbox, as :meth:`Pop3Mailbox.open` does."""
        _check_login_choices(auth, security)
        client = await AsyncPop3Client.connect(
            host,
            port,
            security=security,
            ssl_context=ssl_context,
            timeout=timeout,
            allow_plaintext_auth=allow_plaintext_auth,
            max_message_size=max_message_size,
        )
        try:
            _login = {
                "user": client.login,
                "plain": client.auth_plain,
                "xoauth2": client.auth_xoauth2,
                "apop": client.apop,
            }[auth]
            await _login(user, secret)
        except BaseException:
            client.close()
            raise
        return cls(client, user=user)

    async def __aenter__(self) -> AsyncPop3Mailbox:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._open:
            self.client.close()
            self._open = False
            lost = self._discard_marks(exc)
            if exc is None:
                _warn_lost(self._where, lost)

    async def list_messages(self) -> list[MessageInfo]:
        """
        Return the messages with their unique-ids (UIDL) and sizes (LIST).

        Messages that share a unique-id are left out, with a warning logged,
        because a mark on that id could not say which one to delete.
        """
        self._check_open()
        try:
            uids = await self.client.uidl()
            sizes = await self.client.list() if uids else {}
        except ServerError as exc:
            raise MailboxError(f"{self._where} cannot list its messages: {exc}") from exc
        except _FATAL as exc:
            raise self._lost(exc, "listing the messages") from exc
        self._listing = _pop3_listing(sizes, uids, self._where)
        return self._infos()

    async def fetch(self, uid: str, *, headers_only: bool = False) -> bytes:
        """Return one message, or only its header block (``TOP n 0``)."""
        self._check_open()
        if self._listing is None:
            await self.list_messages()
        self._check_known(uid, self._known())
        number = self._known()[uid][0]
        try:
            return await (self.client.top(number) if headers_only else self.client.retr(number))
        except _FATAL as exc:
            raise self._lost(exc, f"fetching {uid!r}") from exc

    async def iter_messages(
        self, *, headers_only: bool = False, uids: Iterable[str] | None = None
    ) -> AsyncIterator[MailboxMessage]:
        """Yield every message not marked, as :meth:`Pop3Mailbox.iter_messages` does."""
        self._check_open()
        if self._listing is None:
            await self.list_messages()
        numbers = self._numbers(self._unmarked(uids))
        failed = 0
        try:
            async for number, result in self.client.fetch_many(numbers, headers_only=headers_only):
                message = self._message(number, result, numbers)
                failed += message.error is not None
                yield message
        except _FATAL as exc:
            raise self._lost(exc, "fetching the messages") from exc
        logger.debug("%s: fetched %d messages, %d failed", self._where, len(numbers), failed)

    async def commit(self) -> CommitResult:
        """Send DELE for each marked message, then QUIT, as :meth:`Pop3Mailbox.commit` does."""
        self._check_open()
        try:
            errors = (
                await self.client.delete_many(sorted(self._numbers(self._marked)))
                if self._marked
                else {}
            )
        except (*_FATAL, ServerError) as exc:
            raise self._lost(exc, "sending the deletions") from exc
        self._quit_sent = True
        try:
            await self.client.quit()
        except (*_FATAL, ServerError) as exc:
            raise self._uncertain(exc) from exc
        return self._commit_result(errors)

    def close(self) -> frozenset[str]:
        """Close the connection without QUIT, so nothing is deleted; return the marks discarded."""
        if self._open:
            self.client.close()
            self._open = False
        return self._discard_marks()
