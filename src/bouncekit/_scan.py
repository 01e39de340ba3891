"""Reading messages from files, folders, mbox files and Maildirs for ``bouncekit scan``."""

from __future__ import annotations

import mailbox
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from bouncekit._model import Bounce
from bouncekit._parse import parse
from bouncekit._ruleset import RuleSet

__all__ = ["ScanItem", "bounce_record", "error_record", "iter_messages"]

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
    return all((path / name).is_dir() for name in ("cur", "new", "tmp"))


def _read_file(path: Path) -> Iterator[ScanItem]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield ScanItem(str(path), error=f"cannot read {str(path)!r}: {exc.strerror or exc}")
        return
    if not data.strip():
        return  # An empty file is an empty mailbox: no message, so no line.
    if data.startswith(_MBOX_START):
        yield from _read_mbox(path)
        return
    yield ScanItem(str(path), data)


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
    try:
        box = mailbox.mbox(path, create=False)
        keys = box.keys()
    except (OSError, mailbox.Error) as exc:
        yield ScanItem(str(path), error=f"cannot read mbox {str(path)!r}: {exc}")
        return
    for index, key in enumerate(keys):
        source = f"{path}#{index}"
        try:
            yield ScanItem(source, box.get_bytes(key))
        except (OSError, mailbox.Error, KeyError) as exc:
            yield ScanItem(source, error=f"cannot read message {index} of {str(path)!r}: {exc}")
    box.close()


def _read_maildir(path: Path) -> Iterator[ScanItem]:
    for sub in ("new", "cur"):
        for entry in sorted((path / sub).iterdir()):
            if entry.is_file() and not entry.name.startswith("."):
                yield from _read_file(entry)


def iter_messages(path: str | os.PathLike[str]) -> Iterator[ScanItem]:
    """
    Yield every message under *path*: a file, an mbox file, a Maildir or a folder.

    Folders are read recursively in name order; a Maildir inside one is read
    from its ``new`` and ``cur`` folders. A path that cannot be read gives
    one item with ``error`` set, and reading goes on with the next path.
    """
    if str(path) == "-":
        yield from _read_stdin()
        return
    root = Path(path)
    if root.is_file():
        yield from _read_file(root)
        return
    if not root.is_dir():
        yield ScanItem(str(root), error=f"no such file or folder: {str(root)!r}")
        return
    if _is_maildir(root):
        yield from _read_maildir(root)
        return
    for current, folders, files in os.walk(root, onerror=None):
        folders.sort()
        here = Path(current)
        for folder in list(folders):
            if _is_maildir(here / folder):
                folders.remove(folder)
                yield from _read_maildir(here / folder)
        for name in sorted(files):
            if not name.startswith("."):
                yield from _read_file(here / name)


def bounce_record(source: str, bounce: Bounce, rules: RuleSet | None = None) -> dict[str, Any]:
    """
    Return the JSON Lines record of ``bouncekit scan`` for one parsed message.

    Each recipient is classified with *rules* (by default :meth:`RuleSet.default`).
    A message without recipients, such as one that is not a bounce, gets a ``verdict`` on the
    message as a whole instead. A message with recipients has ``verdict`` set to ``None``.
    """
    if rules is None:
        rules = RuleSet.default()
    recipients = []
    for recipient in bounce.recipients:
        classification = rules.classify_recipient(bounce, recipient)
        recipients.append(
            {
                "address": recipient.address,
                "action": recipient.action.value if recipient.action else None,
                "status": str(recipient.status) if recipient.status else None,
                "reply_code": recipient.reply_code,
                "diagnostic": recipient.diagnostic,
                "remote_mta": recipient.remote_mta,
                "command": recipient.command,
                "bounce_type": classification.bounce_type.value,
                "reason": classification.reason.value,
                "rule": classification.rule,
            }
        )
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
        "kind": bounce.kind.value,
        "format": bounce.format,
        "original_message_id": bounce.original_message_id,
        "feedback_type": bounce.feedback_type,
        "recipients": recipients,
        "verdict": verdict,
        "defects": [str(defect) for defect in bounce.defects],
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
