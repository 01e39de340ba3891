"""
The exceptions bouncekit raises, and the warning it issues.

Every exception derives from :class:`BounceKitError`. Parsing never raises on
malformed input: what is wrong becomes a :class:`~bouncekit.Defect` on the result.
"""

from __future__ import annotations

__all__ = [
    "AlteredIdError",
    "AuthenticationError",
    "BounceKitError",
    "CommitUncertainError",
    "CorrelationError",
    "ForgedIdError",
    "LocalProtocolError",
    "LoginDelayError",
    "MailboxError",
    "MailboxLockedError",
    "MarksLostError",
    "MarksLostWarning",
    "MessageTooLargeError",
    "Pop3ConnectionError",
    "Pop3Error",
    "Pop3TimeoutError",
    "RemoteProtocolError",
    "RuleError",
    "ServerError",
    "SignedIdError",
    "StoreError",
    "TlsError",
    "UnsignedIdError",
]


class BounceKitError(Exception):
    """The root of every exception bouncekit raises."""


class Pop3Error(BounceKitError):
    """A POP3 session failed: the caller misused it, or the server failed or misbehaved."""


class LocalProtocolError(Pop3Error):
    """
    The caller asked for something the POP3 session cannot do in its current state.

    Examples: a command sent before the greeting was read, a second command
    sent while one is pending on a server without PIPELINING, or a password
    about to be sent over an unencrypted connection. Nothing was sent.
    """


class RemoteProtocolError(Pop3Error):
    """The server sent something that is not POP3 (RFC 1939), so the session cannot go on."""


class ServerError(Pop3Error):
    """
    The server responded to a command with ``-ERR``.

    Attributes:
        command: The command that failed, with any password or token hidden.
        text: The server's text after ``-ERR`` and after the response code.
        code: The RFC 2449 response code in brackets (``IN-USE``,
            ``LOGIN-DELAY``, ``SYS/TEMP``, ``AUTH`` ...), or ``None``.
    """

    def __init__(
        self, message: str, *, command: str = "", text: str = "", code: str | None = None
    ) -> None:
        super().__init__(message)
        self.command = command
        self.text = text
        self.code = code

    @property
    def is_temporary(self) -> bool:
        """``True`` when RFC 2449 or RFC 3206 say the same command may succeed later."""
        return self.code is not None and self.code.upper() in {"IN-USE", "LOGIN-DELAY", "SYS/TEMP"}


class AuthenticationError(ServerError):
    """The server rejected the user name, the password or the SASL exchange."""


class MailboxLockedError(ServerError):
    """The server sent ``-ERR [IN-USE]``: another session has the mailbox locked; retry later."""


class LoginDelayError(ServerError):
    """The server sent ``-ERR [LOGIN-DELAY]``: this user logged in too recently; retry later."""


class Pop3ConnectionError(Pop3Error, ConnectionError):
    """The connection could not be opened, or closed before the server's response was complete."""


class TlsError(Pop3Error):
    """The TLS handshake failed, for example because the server's certificate is not trusted."""


class Pop3TimeoutError(Pop3Error, TimeoutError):
    """The server sent no data for longer than the client's timeout while a response was due."""


class MessageTooLargeError(Pop3Error):
    """A message or listing is larger than the client's ``max_message_size``; it was skipped."""


class MailboxError(BounceKitError):
    """A mailbox cannot be opened, read or changed."""


class MarksLostError(MailboxError):
    """
    The mailbox session ended before its deletions were committed, so nothing was deleted.

    Attributes:
        lost_marks: The unique-ids that were marked for deletion and are still
            in the mailbox. The next poll lists them again under the same ids.
    """

    def __init__(self, message: str, lost_marks: frozenset[str] = frozenset()) -> None:
        super().__init__(message)
        self.lost_marks = lost_marks


class MarksLostWarning(UserWarning):
    """
    A mailbox's ``with`` block ended without an exception and without a commit.

    Nothing was deleted, and the marks were discarded, so the next poll reads
    those messages again. It is a :class:`UserWarning`, which Python shows by
    default, because a forgotten :meth:`~bouncekit.mailbox.Mailbox.commit`
    otherwise goes unnoticed while the mailbox fills up. Python hides a
    :class:`ResourceWarning` unless warnings are turned on. Silence this one with
    ``warnings.filterwarnings("ignore", category=MarksLostWarning)``.
    """


class CommitUncertainError(MailboxError):
    """
    QUIT reached the server, but its response did not arrive, or was an error.

    RFC 1939 section 6 has the server delete the marked messages when it
    receives QUIT, so they may be deleted, or only some of them when the
    server responded with ``-ERR``. The next poll shows which remain.

    Attributes:
        uncertain_marks: The unique-ids marked for deletion whose fate is unknown.
    """

    def __init__(self, message: str, uncertain_marks: frozenset[str] = frozenset()) -> None:
        super().__init__(message)
        self.uncertain_marks = uncertain_marks


class RuleError(BounceKitError, ValueError):
    """
    A rule or rule file is invalid.

    Attributes:
        source: The file (or ``"<string>"``) the rule came from.
        rule_id: The id of the rule at fault, or ``None`` when the problem is not in one rule.
        problem: What is wrong, and what to do.
    """

    def __init__(self, problem: str, *, source: str = "<rules>", rule_id: str | None = None):
        self.source = source
        self.rule_id = rule_id
        self.problem = problem
        where = source if rule_id is None else f"{source}: rule {rule_id!r}"
        super().__init__(f"{where}: {problem}")


class CorrelationError(BounceKitError, ValueError):
    """A key, domain, identifier or record that correlation cannot use."""


class SignedIdError(CorrelationError):
    """
    A Message-ID that did not decode as a valid signed id.

    Attributes:
        message_id: The id as given to the decoder.
    """

    def __init__(self, message: str, message_id: str) -> None:
        super().__init__(message)
        self.message_id = message_id


class UnsignedIdError(SignedIdError):
    """The Message-ID does not have the form of a signed id: another sender made it."""


class ForgedIdError(SignedIdError):
    """The Message-ID is well-formed but its signature matches none of the keys."""


class AlteredIdError(SignedIdError):
    """The Message-ID has the signed form but was damaged, for example truncated."""


class StoreError(BounceKitError):
    """A correlation store could not read or write its database."""


def __dir__() -> list[str]:
    # Tab completion shows the public names only.
    return sorted(__all__)
