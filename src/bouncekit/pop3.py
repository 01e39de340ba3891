"""
POP3: a protocol engine with no I/O, and blocking and asyncio clients over it.

:class:`Pop3Connection` turns commands into bytes and received bytes into
events, as h11 does for HTTP. :class:`Pop3Client` and :class:`AsyncPop3Client`
run it over a socket or an asyncio stream, with implicit TLS or STLS and
certificate verification on by default. Most callers want the mailbox view in
:mod:`bouncekit.mailbox` instead.
"""

from __future__ import annotations

from bouncekit._pop3 import (
    DEFAULT_MAX_MESSAGE_SIZE,
    NEED_DATA,
    AuthResponse,
    Capabilities,
    Challenge,
    Command,
    ConnectionClosed,
    ErrorResponse,
    Event,
    Greeting,
    MessageData,
    MessageTooLarge,
    OkResponse,
    Pop3Connection,
    ScanListing,
    SessionState,
    Status,
    UniqueIdListing,
    apop_digest,
    xoauth2_response,
)
from bouncekit._pop3_client import AsyncPop3Client, Pop3Client, Security
from bouncekit.exceptions import (
    AuthenticationError,
    LocalProtocolError,
    LoginDelayError,
    MailboxLockedError,
    MessageTooLargeError,
    Pop3ConnectionError,
    Pop3Error,
    Pop3TimeoutError,
    RemoteProtocolError,
    ServerError,
    TlsError,
)

__all__ = [
    "DEFAULT_MAX_MESSAGE_SIZE",
    "NEED_DATA",
    "AsyncPop3Client",
    "AuthResponse",
    "AuthenticationError",
    "Capabilities",
    "Challenge",
    "Command",
    "ConnectionClosed",
    "ErrorResponse",
    "Event",
    "Greeting",
    "LocalProtocolError",
    "LoginDelayError",
    "MailboxLockedError",
    "MessageData",
    "MessageTooLarge",
    "MessageTooLargeError",
    "OkResponse",
    "Pop3Client",
    "Pop3Connection",
    "Pop3ConnectionError",
    "Pop3Error",
    "Pop3TimeoutError",
    "RemoteProtocolError",
    "ScanListing",
    "Security",
    "ServerError",
    "SessionState",
    "Status",
    "TlsError",
    "UniqueIdListing",
    "apop_digest",
    "xoauth2_response",
]


def __dir__() -> list[str]:
    # Tab completion shows the public names only.
    return sorted(__all__)
