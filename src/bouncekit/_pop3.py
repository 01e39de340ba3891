"""
A POP3 client protocol engine with no I/O: bytes in, events out.

The engine never touches a socket. The caller turns commands into bytes with
:meth:`Pop3Connection.send`, writes them however it likes, feeds whatever it
reads to :meth:`Pop3Connection.receive_data` (empty bytes mean end of file),
and takes the parsed responses from :meth:`Pop3Connection.next_event`, which
returns :data:`NEED_DATA` until a whole response has arrived.

Responses come back in the order the commands were sent (RFC 2449 section 6.6,
PIPELINING), so the engine keeps a queue of pending commands. It reads each
response in the shape its command expects: one status line, or a status line
followed by lines up to a line that contains a single dot (RFC 1939 section 3).

Multi-line responses are found by searching for the CRLF "." CRLF terminator
(LF "." LF from a server whose greeting ends in a bare LF)
rather than by reading line by line, so a line of any length is accepted; the
only limit is ``max_message_size`` on a whole response. A response over that
limit is read to its end and dropped, and the engine returns
:class:`MessageTooLarge` so the session can go on with the next message.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import re
from collections import deque
from collections.abc import Mapping

import attrs

from bouncekit.exceptions import LocalProtocolError, RemoteProtocolError

__all__ = [
    "NEED_DATA",
    "AuthResponse",
    "Capabilities",
    "Challenge",
    "Command",
    "ConnectionClosed",
    "ErrorResponse",
    "Event",
    "Greeting",
    "MessageData",
    "MessageTooLarge",
    "OkResponse",
    "Pop3Connection",
    "ScanListing",
    "SessionState",
    "Status",
    "UniqueIdListing",
    "apop_digest",
    "xoauth2_response",
]

# RFC 2449 section 4: a command line, CRLF included, is at most 255 octets.
MAX_COMMAND_LENGTH = 255
# A whole multi-line response (a message, a listing) larger than this is skipped.
DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024
# RFC 2449 allows 512 octets for a status line. A peer that sends 128 times
# that without a line end is not speaking POP3, so the session ends there.
MAX_STATUS_LINE = 64 * 1024

# RFC 1939 requires CRLF line ends. Some servers end every line with a bare LF
# instead; the greeting shows which, and the session keeps that line end.
_CRLF = b"\r\n"
_TERMINATOR = b"\r\n.\r\n"
_LF = b"\n"
_RESPONSE_CODE = re.compile(r"\[([^\]]*)\]\s*")
_APOP_TIMESTAMP = re.compile(r"<[^<>\s]*>")


class SessionState(enum.Enum):
    """The state of a POP3 session (RFC 1939 section 3)."""

    GREETING = "greeting"
    AUTHORIZATION = "authorization"
    TRANSACTION = "transaction"
    CLOSED = "closed"


class _Shape(enum.Enum):
    SINGLE = 1  # one status line
    MULTI = 2  # status line, then lines up to "." on +OK
    AUTH = 3  # "+ challenge" lines until +OK or -ERR


# name: (shape, shape with an argument, states the command is valid in)
_AUTHORIZATION = frozenset({SessionState.AUTHORIZATION})
_TRANSACTION = frozenset({SessionState.TRANSACTION})
_BOTH = _AUTHORIZATION | _TRANSACTION
_COMMANDS: dict[str, tuple[_Shape, _Shape, frozenset[SessionState]]] = {
    "CAPA": (_Shape.MULTI, _Shape.MULTI, _BOTH),
    "USER": (_Shape.SINGLE, _Shape.SINGLE, _AUTHORIZATION),
    "PASS": (_Shape.SINGLE, _Shape.SINGLE, _AUTHORIZATION),
    "APOP": (_Shape.SINGLE, _Shape.SINGLE, _AUTHORIZATION),
    "AUTH": (_Shape.AUTH, _Shape.AUTH, _AUTHORIZATION),
    "STLS": (_Shape.SINGLE, _Shape.SINGLE, _AUTHORIZATION),
    "STAT": (_Shape.SINGLE, _Shape.SINGLE, _TRANSACTION),
    "LIST": (_Shape.MULTI, _Shape.SINGLE, _TRANSACTION),
    "UIDL": (_Shape.MULTI, _Shape.SINGLE, _TRANSACTION),
    "TOP": (_Shape.MULTI, _Shape.MULTI, _TRANSACTION),
    "RETR": (_Shape.MULTI, _Shape.MULTI, _TRANSACTION),
    "DELE": (_Shape.SINGLE, _Shape.SINGLE, _TRANSACTION),
    "RSET": (_Shape.SINGLE, _Shape.SINGLE, _TRANSACTION),
    "NOOP": (_Shape.SINGLE, _Shape.SINGLE, _TRANSACTION),
    "QUIT": (_Shape.SINGLE, _Shape.SINGLE, _BOTH),
}
# A successful response to these moves the session to TRANSACTION.
_LOGIN_COMMANDS = frozenset({"PASS", "APOP", "AUTH"})
# These change the session's state or the transport, so nothing may be pipelined behind them.
_BARRIER_COMMANDS = frozenset({"AUTH", "STLS", "QUIT"})
# Arguments that are secrets: hidden in repr() and in error messages.
_SECRET_ARGUMENTS = {"PASS": 0, "AUTH": 1, "APOP": 1}


def _upper(name: str) -> str:
    return name.upper()


@attrs.frozen
class Command:
    """
    A POP3 command and its arguments, for :meth:`Pop3Connection.send`.

    Passwords and SASL responses are hidden in ``repr()`` and ``str()``, so a
    command can be logged.

    Attributes:
        name: The keyword in upper case, e.g. ``"RETR"``.
        args: The arguments as text.
    """

    name: str = attrs.field(converter=_upper)
    args: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Command({self!s})"

    def __str__(self) -> str:
        hidden = _SECRET_ARGUMENTS.get(self.name)
        args = ["***" if index == hidden else arg for index, arg in enumerate(self.args)]
        return " ".join([self.name, *args])

    def to_bytes(self) -> bytes:
        """Encode the command line, CRLF included."""
        return " ".join([self.name, *self.args]).encode("utf-8") + _CRLF


@attrs.frozen
class AuthResponse:
    """
    The client's response to a SASL challenge during AUTH (RFC 5034 section 4).

    Attributes:
        data: The response before base64 encoding. Hidden in ``repr()``.
        cancel: Send ``*`` to cancel the exchange instead of *data*.
    """

    data: bytes = attrs.field(default=b"", repr=False)
    cancel: bool = False

    def to_bytes(self) -> bytes:
        """Encode the response line, CRLF included."""
        if self.cancel:
            return b"*" + _CRLF
        return base64.b64encode(self.data) + _CRLF


@attrs.frozen
class Greeting:
    """
    The server's first line.

    Attributes:
        text: The text after ``+OK``.
        apop_timestamp: The ``<...>`` timestamp for APOP (RFC 1939 section 7), or ``None``.
    """

    text: str
    apop_timestamp: str | None


@attrs.frozen
class OkResponse:
    """A ``+OK`` status line with no data of its own to parse (USER, PASS, DELE, QUIT ...)."""

    command: Command
    text: str


@attrs.frozen
class ErrorResponse:
    """
    A ``-ERR`` status line.

    Attributes:
        command: The command it responds to, or ``None`` for a rejected greeting.
        text: The text after ``-ERR`` and after the response code.
        code: The RFC 2449 response code inside the brackets, e.g. ``"IN-USE"``, or ``None``.
    """

    command: Command | None
    text: str
    code: str | None


@attrs.frozen
class Challenge:
    """A ``+`` continuation line during AUTH; *data* is the decoded challenge."""

    command: Command
    data: bytes


@attrs.frozen
class Capabilities:
    """The response to CAPA: each capability name in upper case, with its arguments."""

    command: Command
    entries: Mapping[str, tuple[str, ...]]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.upper() in self.entries


@attrs.frozen
class Status:
    """The response to STAT: the number of messages and their total size in octets."""

    command: Command
    count: int
    size: int


@attrs.frozen
class ScanListing:
    """The response to LIST (one entry for ``LIST n``): message number to size in octets."""

    command: Command
    sizes: Mapping[int, int]


@attrs.frozen
class UniqueIdListing:
    """The response to UIDL (one entry for ``UIDL n``): message number to unique-id."""

    command: Command
    unique_ids: Mapping[int, str]


@attrs.frozen
class MessageData:
    """
    The response to RETR or TOP.

    Attributes:
        command: The RETR or TOP command.
        number: The message number in this session.
        data: The message with the byte-stuffing removed, CRLF line ends, and
            the final CRLF kept; the terminating ``.`` line is not included.
    """

    command: Command
    number: int
    data: bytes = attrs.field(repr=lambda data: f"<{len(data)} octets>")


@attrs.frozen
class MessageTooLarge:
    """A RETR or TOP response (or a listing) over the size limit, read and dropped."""

    command: Command
    number: int | None
    limit: int


@attrs.frozen
class ConnectionClosed:
    """The server closed the connection; *clean* is ``True`` only after a successful QUIT."""

    clean: bool


class _NeedData:
    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA = _NeedData()
"""Returned by :meth:`Pop3Connection.next_event` until a whole response has arrived."""

Event = (
    Greeting
    | OkResponse
    | ErrorResponse
    | Challenge
    | Capabilities
    | Status
    | ScanListing
    | UniqueIdListing
    | MessageData
    | MessageTooLarge
    | ConnectionClosed
)


def apop_digest(timestamp: str, secret: str) -> str:
    """Return the APOP digest of RFC 1939 section 7: MD5 of the timestamp and the secret, in hex."""
    return hashlib.md5((timestamp + secret).encode("utf-8"), usedforsecurity=False).hexdigest()


def xoauth2_response(user: str, token: str) -> bytes:
    """Return the XOAUTH2 initial response (Google's and Microsoft's format), before base64."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def _number(field: bytes, what: str) -> int:
    if not field.isdigit():
        msg = f"expected a number for {what}, got {field[:40]!r}"
        raise RemoteProtocolError(msg)
    return int(field)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


class Pop3Connection:
    """
    The client side of one POP3 session, without I/O.

    Args:
        max_message_size: The largest multi-line response (a message, a
            listing) in octets, after which it is read to its end and dropped.

    The engine raises :class:`~bouncekit.exceptions.LocalProtocolError` for a
    command that is not valid now (nothing is sent), and
    :class:`~bouncekit.exceptions.RemoteProtocolError` when the server breaks
    the protocol; after that the session cannot be used.
    """

    def __init__(self, *, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        if max_message_size < 1:
            msg = f"max_message_size must be a positive number of octets, not {max_message_size!r}"
            raise ValueError(msg)
        self.max_message_size = max_message_size
        self.state = SessionState.GREETING
        self.capabilities: Capabilities | None = None
        self._buffer = bytearray()
        self._pos = 0  # start of the unread data in _buffer
        self._eof = False
        self._pending: deque[Command] = deque()
        self._awaiting_tls = False
        self._broken = False
        # Progress inside the multi-line response at the head of the queue.
        self._body_start = -1  # offset of the first data line, -1 while the status line is unread
        self._search_from = 0
        self._dropping = False
        # The server's line end, and the end of a multi-line response: "." on a line.
        self._eol = _CRLF
        self._terminator = _TERMINATOR

    # -- sending -------------------------------------------------------------------------------

    @property
    def pipelining(self) -> bool:
        """``True`` when the server announced PIPELINING in its last CAPA response."""
        return self.capabilities is not None and "PIPELINING" in self.capabilities

    @property
    def pending(self) -> int:
        """The number of commands sent whose response has not been returned yet."""
        return len(self._pending)

    def send(self, command: Command | AuthResponse) -> bytes:
        """
        Record *command* as sent and return the bytes to write.

        Raises:
            LocalProtocolError: The command is not valid in this state, would
                need PIPELINING, or contains a line break. Nothing is recorded.
        """
        if isinstance(command, AuthResponse):
            return self._send_auth_response(command)
        self._check_sendable(command)
        data = command.to_bytes()
        if len(data) > MAX_COMMAND_LENGTH:
            msg = (
                f"the command line {command.name} is {len(data)} octets, over the "
                f"{MAX_COMMAND_LENGTH} that RFC 2449 allows; for AUTH, send the initial "
                "response after the server's challenge instead"
            )
            raise LocalProtocolError(msg)
        self._pending.append(command)
        return data

    def _check_sendable(self, command: Command) -> None:
        known = _COMMANDS.get(command.name)
        if known is None:
            msg = f"unknown POP3 command {command.name!r}"
            raise LocalProtocolError(msg)
        if any(ch in arg for arg in command.args for ch in "\r\n\0"):
            msg = f"an argument of {command.name} contains CR, LF or NUL, which would end the line"
            raise LocalProtocolError(msg)
        if self._broken:
            msg = "the session is unusable after a protocol error; open a new connection"
            raise LocalProtocolError(msg)
        if self._awaiting_tls:
            msg = "STLS was accepted: finish the TLS handshake and call tls_established() first"
            raise LocalProtocolError(msg)
        state = self._state_after_pending()
        if state not in known[2]:
            msg = f"{command.name} cannot be sent in the {state.value} state"
            raise LocalProtocolError(msg)
        if self._pending:
            if not self.pipelining:
                msg = (
                    f"cannot send {command.name} while {self._pending[0].name} is pending: "
                    "the server did not announce PIPELINING"
                )
                raise LocalProtocolError(msg)
            if self._pending[-1].name in _BARRIER_COMMANDS or command.name == "AUTH":
                msg = f"{command.name} cannot be pipelined after {self._pending[-1].name}"
                raise LocalProtocolError(msg)

    def _state_after_pending(self) -> SessionState:
        # USER/PASS may be pipelined (RFC 2449 section 6.6): assume PASS succeeds.
        if self.state is SessionState.AUTHORIZATION and any(
            c.name in _LOGIN_COMMANDS for c in self._pending
        ):
            return SessionState.TRANSACTION
        return self.state

    def _send_auth_response(self, response: AuthResponse) -> bytes:
        if not self._pending or self._pending[0].name != "AUTH" or len(self._pending) > 1:
            msg = "a SASL response can only be sent while AUTH is pending"
            raise LocalProtocolError(msg)
        return response.to_bytes()

    def tls_established(self) -> None:
        """Record that the TLS handshake after STLS is done, so commands can be sent again."""
        if not self._awaiting_tls:
            msg = "tls_established() called without an accepted STLS"
            raise LocalProtocolError(msg)
        self._awaiting_tls = False

    # -- receiving -----------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        """Add bytes read from the server; empty bytes mean the server closed the connection."""
        if not data:
            self._eof = True
            return
        if self._pos:
            # Drop what was already parsed before growing the buffer, so the
            # buffer holds only unread data; the saved offsets shift with it.
            del self._buffer[: self._pos]
            if self._body_start >= 0:
                self._body_start -= self._pos
                self._search_from -= self._pos
            self._pos = 0
        self._buffer += data

    def next_event(self) -> Event | _NeedData:
        """
        Return the next response, or :data:`NEED_DATA` when more bytes must be read first.

        Raises:
            RemoteProtocolError: The server sent something that is not a POP3 response.
        """
        try:
            event = self._next_event()
        except RemoteProtocolError:
            self._broken = True
            raise
        if event is NEED_DATA and self._eof:
            return self._closed()
        return event

    def _closed(self) -> ConnectionClosed:
        clean = self.state is SessionState.CLOSED
        self.state = SessionState.CLOSED
        self._pending.clear()
        return ConnectionClosed(clean=clean)

    def _next_event(self) -> Event | _NeedData:
        if self.state is SessionState.GREETING:
            return self._read_greeting()
        if not self._pending:
            if self._pos < len(self._buffer) and not self._eof:
                msg = f"unexpected data from the server with no command pending: {self._peek()!r}"
                raise RemoteProtocolError(msg)
            return NEED_DATA
        command = self._pending[0]
        shape = _COMMANDS[command.name][0 if not command.args else 1]
        if shape is _Shape.MULTI:
            return self._read_multi_line(command)
        line = self._read_line()
        if line is None:
            return NEED_DATA
        if shape is _Shape.AUTH and (line == b"+" or line.startswith(b"+ ")):
            return self._challenge(command, line[2:])
        self._pending.popleft()
        ok, text = self._split_status(line)
        if not ok:
            return self._error(command, text)
        return self._single_line_ok(command, text)

    def _peek(self) -> bytes:
        return bytes(self._buffer[self._pos : self._pos + 60])

    def _read_line(self) -> bytes | None:
        end = self._buffer.find(self._eol, self._pos)
        if end < 0:
            if len(self._buffer) - self._pos > MAX_STATUS_LINE:
                msg = f"a status line is longer than {MAX_STATUS_LINE} octets: {self._peek()!r}"
                raise RemoteProtocolError(msg)
            return None
        line = bytes(self._buffer[self._pos : end])
        self._pos = end + len(self._eol)
        return line

    def _split_status(self, line: bytes) -> tuple[bool, bytes]:
        # RFC 1939 section 3: the text after the indicator is optional, so a
        # bare "+OK" or "-ERR" is valid.
        head, _, text = line.partition(b" ")
        indicator = head.upper()
        if indicator == b"+OK":
            return True, text
        if indicator == b"-ERR":
            return False, text
        msg = f"expected a +OK or -ERR status line, got {line[:80]!r}"
        raise RemoteProtocolError(msg)

    def _read_greeting(self) -> Event | _NeedData:
        end = self._buffer.find(_LF, self._pos)
        if end > self._pos and self._buffer[end - 1] != 0x0D:
            self._eol = _LF
            self._terminator = b"\n.\n"
        line = self._read_line()
        if line is None:
            return NEED_DATA
        ok, raw = self._split_status(line)
        text = _text(raw)
        if not ok:
            self.state = SessionState.CLOSED
            return self._error(None, raw)
        self.state = SessionState.AUTHORIZATION
        found = _APOP_TIMESTAMP.search(text)
        return Greeting(text=text, apop_timestamp=found.group() if found else None)

    def _error(self, command: Command | None, raw: bytes) -> ErrorResponse:
        text = _text(raw)
        code = None
        found = _RESPONSE_CODE.match(text)
        if found:
            code, text = found.group(1), text[found.end() :]
        if command is not None and command.name == "STLS":
            self._awaiting_tls = False
        return ErrorResponse(command=command, text=text, code=code)

    def _challenge(self, command: Command, raw: bytes) -> Challenge:
        try:
            data = base64.b64decode(raw.strip(), validate=True)
        except (binascii.Error, ValueError):
            msg = f"the AUTH challenge from the server is not base64: {raw[:80]!r}"
            raise RemoteProtocolError(msg) from None
        return Challenge(command=command, data=data)

    def _single_line_ok(self, command: Command, raw: bytes) -> Event:
        name = command.name
        if name in _LOGIN_COMMANDS:
            self.state = SessionState.TRANSACTION
            self.capabilities = None  # RFC 2449 section 5: they may change after login
        elif name == "QUIT":
            self.state = SessionState.CLOSED
        elif name == "STLS":
            self._start_tls()
        elif name == "STAT":
            fields = raw.split()
            if len(fields) < 2:
                msg = f"the STAT response has no count and size: {raw[:80]!r}"
                raise RemoteProtocolError(msg)
            return Status(
                command, _number(fields[0], "STAT count"), _number(fields[1], "STAT size")
            )
        elif name == "LIST":
            number, size = self._listing_entry(raw, "LIST")
            return ScanListing(command, {number: _number(size, "LIST size")})
        elif name == "UIDL":
            number, unique_id = self._listing_entry(raw, "UIDL")
            return UniqueIdListing(command, {number: _text(unique_id)})
        return OkResponse(command=command, text=_text(raw))

    def _start_tls(self) -> None:
        # RFC 2595 section 4: anything the server sent after its STLS response
        # would be read as if it came over TLS; an attacker in the middle can
        # inject it, so such data ends the session.
        if self._pos < len(self._buffer):
            msg = "the server sent data after accepting STLS, before the TLS handshake"
            raise RemoteProtocolError(msg)
        self._awaiting_tls = True
        self.capabilities = None

    @staticmethod
    def _listing_entry(raw: bytes, what: str) -> tuple[int, bytes]:
        fields = raw.split()
        if len(fields) < 2:
            msg = f"{what} entry needs a message number and a value, got {raw[:80]!r}"
            raise RemoteProtocolError(msg)
        return _number(fields[0], f"{what} message number"), fields[1]

    # -- multi-line responses -------------------------------------------------------------------

    def _read_multi_line(self, command: Command) -> Event | _NeedData:
        if self._body_start < 0:
            line_start = self._pos
            line = self._read_line()
            if line is None:
                return NEED_DATA
            ok, text = self._split_status(line)
            if not ok:
                self._pending.popleft()
                return self._error(command, text)
            # The status line stays in the buffer until the response is complete,
            # because the terminator's leading CRLF is the status line's own
            # when the response has no data lines.
            self._body_start = self._pos
            self._search_from = self._pos - len(self._eol)
            self._pos = line_start
            self._dropping = False
        eol = len(self._eol)
        end = self._buffer.find(self._terminator, self._search_from)
        if end < 0:
            keep = len(self._terminator) - 1
            self._search_from = max(len(self._buffer) - keep, self._body_start - eol)
            if len(self._buffer) - self._body_start > self.max_message_size:
                self._drop_body()
            return NEED_DATA
        if end + eol - self._body_start > self.max_message_size:
            self._dropping = True
        body = (
            b""
            if end < self._body_start or self._dropping
            else bytes(self._buffer[self._body_start : end + eol])
        )
        self._pos = end + len(self._terminator)
        self._body_start = -1
        self._pending.popleft()
        if self._dropping:
            return MessageTooLarge(command, self._message_number(command), self.max_message_size)
        return self._multi_line_ok(command, body)

    def _drop_body(self) -> None:
        # Keep the last octets that may be the start of the terminator.
        keep_from = len(self._buffer) - (len(self._terminator) - 1)
        del self._buffer[:keep_from]
        self._pos = 0
        self._body_start = 0
        self._search_from = 0
        self._dropping = True

    @staticmethod
    def _message_number(command: Command) -> int | None:
        return int(command.args[0]) if command.args and command.args[0].isdigit() else None

    def _multi_line_ok(self, command: Command, body: bytes) -> Event:
        # RFC 1939 section 3: when a data line starts with ".", its first
        # octet was added by the server and is removed here.
        if body.startswith(b"."):
            body = body[1:]
        if b"\n." in body:
            body = body.replace(self._eol + b".", self._eol)
        name = command.name
        if name in ("RETR", "TOP"):
            number = self._message_number(command)
            return MessageData(command, number if number is not None else 0, body)
        lines = body.split(self._eol)[:-1] if body else []
        if name == "CAPA":
            return self._capabilities(command, lines)
        entries = [self._listing_entry(line, name) for line in lines]
        if name == "LIST":
            return ScanListing(
                command, {number: _number(value, "LIST size") for number, value in entries}
            )
        return UniqueIdListing(command, {number: _text(value) for number, value in entries})

    def _capabilities(self, command: Command, lines: list[bytes]) -> Capabilities:
        entries: dict[str, tuple[str, ...]] = {}
        for line in lines:
            fields = _text(line).split()
            if fields:
                entries[fields[0].upper()] = tuple(fields[1:])
        self.capabilities = Capabilities(command, entries)
        return self.capabilities
