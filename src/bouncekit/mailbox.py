"""
Mailboxes to read bounces from, all with one contract.

Messages are known by their unique-ids; :meth:`~Mailbox.mark_deleted` records
the caller's decision, and only :meth:`~Mailbox.commit` deletes, only the
messages marked. A dropped connection or an exception deletes nothing and
reports the marks lost (:class:`~bouncekit.exceptions.MarksLostError`). A
message that cannot be read is yielded with ``error`` set, and iteration goes on.
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
from bouncekit.exceptions import CommitUncertainError, MailboxError, MarksLostError

__all__ = [
    "AsyncPop3Mailbox",
    "CommitResult",
    "CommitUncertainError",
    "Mailbox",
    "MailboxError",
    "MailboxMessage",
    "MaildirMailbox",
    "MarksLostError",
    "MboxMailbox",
    "MemoryMailbox",
    "MessageInfo",
    "Pop3Mailbox",
]
