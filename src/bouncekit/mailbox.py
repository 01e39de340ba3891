"""
Mailboxes to read bounces from, all with one contract.

Messages are known by their unique-ids; :meth:`~Mailbox.mark_deleted` records
the caller's decision, and only :meth:`~Mailbox.commit` deletes, only the
messages marked. Every other way a session ends deletes nothing: a dropped
connection raises :class:`~bouncekit.exceptions.MarksLostError`, an exception
in the caller's ``with`` block gets a note listing the marks lost, and a
``with`` block that ends normally without a commit issues
:class:`~bouncekit.exceptions.MarksLostWarning`. A message that cannot be read
is yielded with ``error`` set, and iteration goes on.
"""

from __future__ import annotations

from bouncekit._mailbox import (
    AsyncPop3Mailbox,
    CommitResult,
    Mailbox,
    MailboxMessage,
    MaildirMailbox,
    MboxMailbox,
    MemoryMailbox,
    MessageInfo,
    Pop3Mailbox,
)
from bouncekit.exceptions import (
    CommitUncertainError,
    MailboxError,
    MarksLostError,
    MarksLostWarning,
)

__all__ = [
    "AsyncPop3Mailbox",
    "CommitResult",
    "CommitUncertainError",
    "Mailbox",
    "MailboxError",
    "MailboxMessage",
    "MaildirMailbox",
    "MarksLostError",
    "MarksLostWarning",
    "MboxMailbox",
    "MemoryMailbox",
    "MessageInfo",
    "Pop3Mailbox",
]


def __dir__() -> list[str]:
    # Tab completion shows the public names only.
    return sorted(__all__)
