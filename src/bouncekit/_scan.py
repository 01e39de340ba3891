"""Reading messages from files, folders, mbox files and Maildirs for ``bouncekit scan``."""

from __future__ import annotations

import mailbox
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from bouncekit._model import Bounce
from bouncekit._parse import parse
from bouncekit._ruleset import RuleSet

__all__ = ["ScanItem", "bounce_record", "display_path", "error_record", "iter_messages"]

_MBOX_START = b"From "
# The source name of the message read from standard input, as the path "-" gives it.
STDIN_SOURCE = "<stdin>"


@attrs.frozen
class ScanItem:
    """
    One message read from a source, or the error that stopped reading it.

    Attributes:
        source: Where the message is: a path, ``path#N`` for the N-th message
            (0-based) of an mbox file.
        data: The raw message, or ``None`` when it could not be read.
        error: Why it could not be read.
    """

    source: str
    data: bytes | None = None
    error: str | None = None


def _is_maildir(path: Path) -> bool:
    # A folder that cannot be searched is no Maildir here, so the walk lists
    # it and reports why it cannot be read.
    try:
        return all(stat.S_ISDIR(os.stat(path / name).st_mode) for name in ("cur", "new", "tmp"))
    except OSError:
        return False


def _unreadable(path: Path, exc: OSError) -> ScanItem:
    name = display_path(path)
    return ScanItem(name, error=f"cannot read {name!r}: {exc.strerror or exc}")


def _read_file(path: Path) -> Iterator[ScanItem]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield _unreadable(path, exc)
        return
    if not data.strip():
        return  # An empty file is an empty mailbox: no message, so no line.
    if data.startswith(_MBOX_START):
        yield from _read_mbox(path)
        return
    yield ScanItem(display_path(path), data)


def _read_stdin() -> Iterator[ScanItem]:
    """Yield the message, or the messages of the mbox file, given on standard input."""
    data = sys.stdin.buffer.read()
    if not data.strip():
        return
    if not data.startswith(_MBOX_START):
        yield ScanItem(STDIN_SOURCE, data)
        return
    # The standard library reads mbox files from a path only.
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "stdin.mbox"
        copy.write_bytes(data)
        for item in _read_mbox(copy):
            yield attrs.evolve(item, source=item.source.replace(str(copy), STDIN_SOURCE, 1))


def _read_mbox(path: Path) -> Iterator[ScanItem]:
    name = display_path(path)
    try:
        box = mailbox.mbox(path, create=False)
        keys = box.keys()
    except (OSError, mailbox.Error) as exc:
        yield ScanItem(name, error=f"cannot read mbox {name!r}: {exc}")
        return
    for index, key in enumerate(keys):
        source = f"{name}#{index}"
        try:
            yield ScanItem(source, box.get_bytes(key))
        except (OSError, mailbox.Error, KeyError) as exc:
            yield ScanItem(source, error=f"cannot read message {index} of {name!r}: {exc}")
    box.close()


def _list_folder(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as entries:
        return sorted(entries, key=lambda entry: entry.name)


def _read_folder_files(folder: Path) -> Iterator[ScanItem]:
    """Yield the messages of the files directly in *folder*, which is a Maildir's new or cur."""
    try:
        entries = _list_folder(folder)
    except OSError as exc:
        yield _unreadable(folder, exc)
        return
    for entry in entries:
        if not entry.name.startswith(".") and _is_file_entry(entry):
            yield from _read_file(Path(entry.path))


def _is_file_entry(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return True  # Reading it reports the error.


def _read_maildir(path: Path) -> Iterator[ScanItem]:
    for sub in ("new", "cur"):
        yield from _read_folder_files(path / sub)


def _read_tree(root: Path) -> Iterator[ScanItem]:
    """
    Yield the messages under the folder *root*, recursively in name order.

    A Maildir inside it is read from its ``new`` and ``cur`` folders. A folder
    or file that cannot be read gives an item with ``error`` set, and reading
    goes on. Symbolic links to folders are not followed, except to a Maildir.
    """
    try:
        entries = _list_folder(root)
    except OSError as exc:
        yield _unreadable(root, exc)
        return
    subfolders: list[Path] = []
    files: list[Path] = []
    for entry in entries:
        path = Path(entry.path)
        try:
            is_folder = entry.is_dir()
        except OSError:
            is_folder = False
        if is_folder and _is_maildir(path):
            yield from _read_maildir(path)
        elif is_folder:
            if not entry.is_symlink():
                subfolders.append(path)
        elif not entry.name.startswith("."):
            files.append(path)
    for path in files:
        yield from _read_listed_file(path)
    for path in subfolders:
        yield from _read_tree(path)


def _read_listed_file(path: Path) -> Iterator[ScanItem]:
    """Read a file found in a folder, which must be a regular file: a FIFO would block."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        yield _unreadable(path, exc)
        return
    if not stat.S_ISREG(mode):
        name = display_path(path)
        yield ScanItem(name, error=f"cannot read {name!r}: not a regular file")
        return
    yield from _read_file(path)


def display_path(path: str | os.PathLike[str]) -> str:
    """
    Return *path* as text that encodes to UTF-8.

    A byte of the file name that is not UTF-8 is written as ``\\xHH``, such as
    ``caf\\xe9.eml`` for the Latin-1 name ``café.eml``.
    """
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _split_index(text: str) -> tuple[Path, int] | None:
    """Return the path and N of ``PATH#N``, or ``None`` when *text* is not of that form."""
    path, sep, index = text.rpartition("#")
    if not sep or not (index.isascii() and index.isdigit()) or os.path.lexists(text):
        return None
    if not os.path.isfile(path):
        return None
    return Path(path), int(index)


def _read_one(path: Path, index: int) -> Iterator[ScanItem]:
    """Yield message *index* of the file *path*: an mbox file, or a message file for index 0."""
    items = list(_read_file(path))
    if len(items) == 1 and items[0].error is not None:
        yield items[0]
        return
    name = display_path(path)
    if items and items[0].source == name:
        items = [attrs.evolve(items[0], source=f"{name}#0")]
    if index < len(items):
        yield items[index]
        return
    count = len(items)
    noun = "message" if count == 1 else "messages"
    msg = f"{name!r} has no message {index}: it contains {count} {noun}, numbered from 0"
    yield ScanItem(f"{name}#{index}", error=msg)


def iter_messages(path: str | os.PathLike[str]) -> Iterator[ScanItem]:
    """
    Yield every message under *path*: a file, an mbox file, a Maildir or a folder.

    ``PATH#N`` names message N (counted from 0) of an mbox file, or message 0 of a
    message file, when no file of that exact name exists. Folders are read
    recursively in name order; a Maildir inside one is read from its ``new`` and
    ``cur`` folders. A path that cannot be read gives one item with ``error`` set,
    and reading goes on with the next path.
    """
    if str(path) == "-":
        yield from _read_stdin()
        return
    indexed = _split_index(os.fspath(path))
    if indexed is not None:
        yield from _read_one(*indexed)
        return
    root = Path(path)
    try:
        mode = os.stat(root).st_mode
    except (FileNotFoundError, NotADirectoryError):
        name = display_path(root)
        yield ScanItem(name, error=f"no such file or folder: {name!r}")
        return
    except OSError as exc:
        yield _unreadable(root, exc)
        return
    if stat.S_ISDIR(mode):
        yield from _read_maildir(root) if _is_maildir(root) else _read_tree(root)
        return
    # Any other path is read as a file: a FIFO here is a pipe the user gave.
    yield from _read_file(root)


def bounce_record(source: str, bounce: Bounce, rules: RuleSet | None = None) -> dict[str, Any]:
    """
    Return the JSON Lines record of ``bouncekit scan`` for one parsed message.

    Each recipient is classified with *rules* (by default :meth:`RuleSet.default`).
    A message without recipients, such as one that is not a bounce, gets a ``verdict`` on the
    message as a whole instead. A message with recipients has ``verdict`` set to ``None``.
    """
    if rules is None:
        rules = RuleSet.default()
    parsed = bounce.to_dict()
    recipients = parsed["recipients"]
    for fields, classification in zip(recipients, rules.classify(bounce), strict=True):
        fields["bounce_type"] = classification.bounce_type.value
        fields["reason"] = classification.reason.value
        fields["rule"] = classification.rule
    verdict: dict[str, str] | None = None
    if not recipients:
        message = rules.classify_message(bounce)
        verdict = {
            "bounce_type": message.bounce_type.value,
            "reason": message.reason.value,
            "rule": message.rule,
        }
    return {
        "source": source,
        "kind": parsed["kind"],
        "format": parsed["format"],
        "original_message_id": parsed["original_message_id"],
        "feedback_type": parsed["feedback_type"],
        "recipients": recipients,
        "verdict": verdict,
        "defects": parsed["defects"],
        "error": None,
    }


def error_record(source: str, error: str) -> dict[str, Any]:
    """Return the record of a message that could not be read."""
    return {
        "source": source,
        "kind": None,
        "format": None,
        "original_message_id": None,
        "feedback_type": None,
        "recipients": [],
        "verdict": None,
        "defects": [],
        "error": error,
    }


def scan_item(
    item: ScanItem,
    correlate: Callable[[Bounce], dict[str, Any]] | None = None,
    rules: RuleSet | None = None,
) -> dict[str, Any]:
    """
    Parse one item, classify it with *rules*, and return its record.

    The record gets ``correlation`` when *correlate* is given.
    """
    if item.data is None:
        record = error_record(item.source, item.error or "unreadable")
        if correlate is not None:
            record["correlation"] = None
        return record
    bounce = parse(item.data)
    record = bounce_record(item.source, bounce, rules)
    if correlate is not None:
        record["correlation"] = correlate(bounce)
    return record
