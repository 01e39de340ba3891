"""
Blocking and asyncio POP3 clients over :class:`~bouncekit._pop3.Pop3Connection`.

Each exchange is written once, as a generator in :class:`_Session` that yields
requests (bytes to write, "read the next event", "start TLS now", "hand this
value to the caller"); :class:`Pop3Client` and :class:`AsyncPop3Client` only
run those generators over a socket or an asyncio stream.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections import deque
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator, Mapping
from typing import Any, Literal, TypeVar, get_args

import attrs

from bouncekit._pop3 import (
    DEFAULT_MAX_MESSAGE_SIZE,
    MAX_COMMAND_LENGTH,
    NEED_DATA,
    AuthResponse,
    Challenge,
    Command,
    ConnectionClosed,
    ErrorResponse,
    Event,
    Greeting,
    MessageData,
    MessageTooLarge,
    Pop3Connection,
    ScanListing,
    SessionState,
    Status,
    UniqueIdListing,
    apop_digest,
    xoauth2_response,
)
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

__all__ = ["AsyncPop3Client", "Pop3Client", "Security"]

logger = logging.getLogger(__name__)

Security = Literal["tls", "starttls", "plain"]
"""``"tls"``: implicit TLS (RFC 8314, port 995), ``"starttls"``: STLS (RFC 2595), or ``"plain"``."""

_DEFAULT_PORTS: Mapping[str, int] = {"tls": 995, "starttls": 110, "plain": 110}
_READ_SIZE = 256 * 1024
# Commands in flight at once when the server announced PIPELINING.
DEFAULT_WINDOW = 100

T = TypeVar("T")


class _Read:
    """Request: return the next event."""


class _StartTls:
    """Request: run the TLS handshake on the open connection."""


@attrs.frozen
class _Output:
    """Request: hand *value* to the caller of an iterating method."""

    value: Any


_READ = _Read()
_START_TLS = _StartTls()
_Request = bytes | _Read | _StartTls | _Output
_Op = Generator[_Request, Event | None, T]

FetchResult = tuple[int, bytes | Pop3Error]


def _server_error(event: ErrorResponse) -> ServerError:
    command = str(event.command) if event.command else "the greeting"
    code = (event.code or "").upper()
    shown = f"-ERR [{event.code}] {event.text}" if event.code else f"-ERR {event.text}"
    message = f"POP3 server rejected {command}: {shown.rstrip()}"
    kind: type[ServerError] = ServerError
    if code == "IN-USE":
        kind, message = (
            MailboxLockedError,
            f"{message} (another session holds the mailbox; retry later)",
        )
    elif code == "LOGIN-DELAY":
        kind, message = LoginDelayError, f"{message} (logged in too recently; retry later)"
    elif code == "AUTH" or (
        # A login refused with no code is taken as bad credentials; with
        # [SYS/TEMP] or [SYS/PERM] the server itself failed (RFC 3206).
        not code and event.command is not None and event.command.name in ("PASS", "APOP", "AUTH")
    ):
        kind = AuthenticationError
    return kind(message, command=command, text=event.text, code=event.code)


def check_choice(name: str, value: object, allowed: tuple[str, ...]) -> None:
    """Raise :class:`ValueError` naming *value* unless it is one of *allowed*."""
    if not isinstance(value, str) or value not in allowed:
        choices = ", ".join(repr(choice) for choice in allowed)
        msg = f"invalid {name} {value!r}: use one of {choices}"
        raise ValueError(msg)


def check_host(host: object) -> None:
    """Raise :class:`ValueError` for a host that is empty or carries a port."""
    if not isinstance(host, str) or not host.strip():
        msg = f"invalid host {host!r}: give a host name or an IP address"
        raise ValueError(msg)
    name, colon, port = host.rpartition(":")
    if colon and port.isascii() and port.isdigit() and ":" not in name:
        msg = f"invalid host {host!r}: pass the port separately, as host={name!r}, port={port}"
        raise ValueError(msg)


def check_security(security: object) -> None:
    """Raise :class:`ValueError` unless *security* is one of the :data:`Security` values."""
    check_choice("security", security, get_args(Security))


def _lost(what: str) -> Pop3ConnectionError:
    return Pop3ConnectionError(f"the POP3 server closed the connection {what}")


class _Session:
    """The exchanges of a POP3 session, shared by the blocking and the asyncio client."""

    def __init__(
        self,
        host: str,
        port: int,
        security: Security,
        allow_plaintext_auth: bool,
        max_message_size: int,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.allow_plaintext_auth = allow_plaintext_auth
        self.greeting: Greeting | None = None
        self._conn = Pop3Connection(max_message_size=max_message_size)
        self._secure = security == "tls"

    @property
    def capabilities(self) -> Mapping[str, tuple[str, ...]]:
        """The server's last CAPA response; empty when it does not support CAPA."""
        return self._conn.capabilities.entries if self._conn.capabilities else {}

    @property
    def is_secure(self) -> bool:
        """``True`` once the connection is encrypted (implicit TLS, or after STLS)."""
        return self._secure

    # -- building blocks -----------------------------------------------------------------------

    def _response(self, what: str) -> _Op[Event]:
        event = yield _READ
        assert event is not None
        if isinstance(event, ConnectionClosed):
            raise _lost(f"while waiting for the response to {what}")
        return event

    def _drain(self) -> _Op[None]:
        # A caller that stopped iterating fetch_many() leaves responses in
        # flight. Read and drop them, so the next response matches its command.
        while self._conn.pending:
            yield from self._response("a command whose response is no longer needed")

    def _command(self, command: Command) -> _Op[Event]:
        yield from self._drain()
        yield self._conn.send(command)
        event = yield from self._response(str(command))
        if isinstance(event, ErrorResponse):
            raise _server_error(event)
        return event

    def _capa(self) -> _Op[None]:
        yield from self._drain()
        yield self._conn.send(Command("CAPA"))
        event = yield from self._response("CAPA")
        if isinstance(event, ErrorResponse):
            # CAPA is optional (RFC 2449): -ERR means no capabilities, not a failure.
            logger.debug("%s:%d does not support CAPA: %s", self.host, self.port, event.text)

    def _open(self) -> _Op[None]:
        event = yield from self._response("the greeting")
        if isinstance(event, ErrorResponse):
            raise _server_error(event)
        assert isinstance(event, Greeting)
        self.greeting = event
        yield from self._capa()
        if self.security != "starttls":
            return
        if self._conn.capabilities is not None and "STLS" not in self._conn.capabilities:
            msg = (
                f"{self.host}:{self.port} does not offer STLS; connect with security='tls' instead"
            )
            raise RemoteProtocolError(msg)
        yield from self._command(Command("STLS"))
        yield _START_TLS
        self._conn.tls_established()
        self._secure = True
        yield from self._capa()

    def _check_secure(self, user: str) -> None:
        if self._secure or self.allow_plaintext_auth:
            return
        msg = (
            f"refusing to send the credentials of {user!r} over an unencrypted connection to "
            f"{self.host}; connect with security='tls' or 'starttls', "
            "or pass allow_plaintext_auth=True"
        )
        raise LocalProtocolError(msg)

    def _login(self, user: str, password: str) -> _Op[None]:
        self._check_secure(user)
        yield from self._command(Command("USER", (user,)))
        yield from self._command(Command("PASS", (password,)))
        logger.debug("logged in to %s:%d as %r with USER/PASS", self.host, self.port, user)
        # RFC 2449 section 5: capabilities may change after login (PIPELINING among them).
        yield from self._capa()

    def _apop(self, user: str, secret: str) -> _Op[None]:
        # APOP sends an MD5 digest, never the secret, so it is allowed without TLS.
        timestamp = self.greeting.apop_timestamp if self.greeting else None
        if timestamp is None:
            msg = f"{self.host}:{self.port} sent no APOP timestamp in its greeting; use login()"
            raise LocalProtocolError(msg)
        yield from self._command(Command("APOP", (user, apop_digest(timestamp, secret))))
        logger.debug("logged in to %s:%d as %r with APOP", self.host, self.port, user)
        yield from self._capa()

    def _auth(self, mechanism: str, initial: bytes, user: str) -> _Op[None]:
        self._check_secure(user)
        encoded = AuthResponse(initial).to_bytes()[:-2].decode("ascii") or "="
        command = Command("AUTH", (mechanism, encoded))
        pending_initial = None
        if len(command.to_bytes()) > MAX_COMMAND_LENGTH:
            # RFC 5034 section 4: an AUTH line over 255 octets is not allowed, so
            # the initial response waits for the server's empty challenge.
            command, pending_initial = Command("AUTH", (mechanism,)), initial
        yield from self._drain()
        yield self._conn.send(command)
        while True:
            event = yield from self._response(str(command))
            if not isinstance(event, Challenge):
                break
            if pending_initial is not None:
                yield self._conn.send(AuthResponse(pending_initial))
                pending_initial = None
            else:
                # A challenge after the response is an error report (XOAUTH2
                # sends JSON), and an empty line in reply makes the server send -ERR.
                logger.debug(
                    "AUTH %s challenge from %s: %r", mechanism, self.host, event.data[:200]
                )
                yield self._conn.send(AuthResponse(b""))
        if isinstance(event, ErrorResponse):
            raise _server_error(event)
        logger.debug("logged in to %s:%d as %r with AUTH %s", self.host, self.port, user, mechanism)
        yield from self._capa()

    def _pipeline(
        self, commands: Iterable[Command], window: int, convert: Callable[[Command, Event], Any]
    ) -> _Op[None]:
        """Send *commands*, *window* at most in flight; output ``convert(command, event)``."""
        yield from self._drain()
        if not self._conn.pipelining:
            window = 1
        todo = iter(commands)
        in_flight: deque[Command] = deque()
        while True:
            if len(in_flight) <= window // 2:
                batch = []
                for command in todo:
                    batch.append(self._conn.send(command))
                    in_flight.append(command)
                    if len(in_flight) >= window:
                        break
                if batch:
                    yield b"".join(batch)
            if not in_flight:
                return
            command = in_flight.popleft()
            event = yield from self._response(str(command))
            yield _Output(convert(command, event))

    def _fetch_many(self, numbers: Iterable[int], headers_only: bool, window: int) -> _Op[None]:
        commands = (
            Command("TOP", (str(number), "0")) if headers_only else Command("RETR", (str(number),))
            for number in numbers
        )
        yield from self._pipeline(commands, window, _fetch_result)

    def _delete_many(self, numbers: Iterable[int], window: int) -> _Op[None]:
        commands = (Command("DELE", (str(number),)) for number in numbers)
        yield from self._pipeline(commands, window, _delete_result)

    def _quit(self) -> _Op[None]:
        event = yield from self._command(Command("QUIT"))
        logger.debug("QUIT to %s:%d: +OK %s", self.host, self.port, getattr(event, "text", ""))


def _number_of(command: Command) -> int:
    return int(command.args[0])


def _fetch_result(command: Command, event: Event) -> FetchResult:
    number = _number_of(command)
    if isinstance(event, MessageData):
        return number, event.data
    if isinstance(event, ErrorResponse):
        error: Pop3Error = _server_error(event)
    elif isinstance(event, MessageTooLarge):
        error = MessageTooLargeError(
            f"message {number} is larger than max_message_size ({event.limit} octets), "
            "so it was skipped"
        )
    else:
        error = RemoteProtocolError(f"unexpected response to {command}: {event!r}")
    logger.warning("cannot fetch message %d: %s", number, error)
    return number, error


def _delete_result(command: Command, event: Event) -> tuple[int, ServerError | None]:
    number = _number_of(command)
    if isinstance(event, ErrorResponse):
        error = _server_error(event)
        logger.warning("cannot mark message %d for deletion: %s", number, error)
        return number, error
    return number, None


def _listing(event: Event, kind: type[T]) -> T:
    if not isinstance(event, kind):
        msg = f"expected a {kind.__name__} response, got {event!r}"
        raise RemoteProtocolError(msg)
    return event


def _client_context(ssl_context: ssl.SSLContext | None) -> ssl.SSLContext:
    # Certificates and host names are verified unless the caller passes a
    # context that turns this off.
    return ssl_context if ssl_context is not None else ssl.create_default_context()


def _tls_error(
    exc: ssl.SSLError | ssl.CertificateError, host: str, port: int, *, implicit: bool
) -> TlsError:
    message = f"TLS handshake with {host}:{port} failed: {exc}"
    if isinstance(exc, ssl.SSLCertVerificationError):
        # A private or self-signed certificate is the usual cause on a bounce server.
        message += "; to trust a private CA, pass its certificate as ssl_context (CLI: --ca-file)"
    elif implicit and getattr(exc, "reason", None) == "WRONG_VERSION_NUMBER":
        # OpenSSL read the server's plain-text greeting ("+OK ...") as a TLS record.
        # NOTE: checked with OpenSSL 3.0 only; other versions may name another reason.
        message += (
            f"; port {port} may be a plain POP3 port: for STLS on it, pass "
            'security="starttls" (CLI: a pop3:// URL with --starttls), or connect to the '
            "implicit TLS port, usually 995"
        )
    return TlsError(message)


def _silence_message(conn: Pop3Connection, host: str, port: int, timeout: float | None) -> str:
    if conn.state is SessionState.GREETING:
        return f"the server at {host}:{port} sent no greeting within {timeout} s"
    return f"no data from {host}:{port} for {timeout} s, and its response is incomplete"


def _wrap(
    context: ssl.SSLContext, sock: socket.socket, host: str, port: int, *, implicit: bool
) -> ssl.SSLSocket:
    try:
        return context.wrap_socket(sock, server_hostname=host)
    except (ssl.SSLError, ssl.CertificateError) as exc:
        sock.close()
        raise _tls_error(exc, host, port, implicit=implicit) from exc
    except TimeoutError as exc:
        sock.close()
        timeout = sock.gettimeout()
        msg = f"the TLS handshake with {host}:{port} timed out after {timeout} s"
        raise Pop3TimeoutError(msg) from exc


class Pop3Client(_Session):
    """
    A blocking POP3 client.

    Open it with :meth:`connect`. Leaving a ``with`` block closes the
    connection without QUIT, so messages marked with DELE are kept; call
    :meth:`quit` to have the server delete them.
    """

    def __init__(
        self,
        sock: socket.socket,
        host: str,
        port: int,
        security: Security,
        *,
        ssl_context: ssl.SSLContext,
        timeout: float | None,
        allow_plaintext_auth: bool,
        max_message_size: int,
    ) -> None:
        super().__init__(host, port, security, allow_plaintext_auth, max_message_size)
        self._sock = sock
        self._ssl_context = ssl_context
        self.timeout = timeout

    @classmethod
    def connect(
        cls,
        host: str,
        port: int | None = None,
        *,
        security: Security = "tls",
        ssl_context: ssl.SSLContext | None = None,
        timeout: float | None = 30.0,
        allow_plaintext_auth: bool = False,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> Pop3Client:
        """
        Connect, read the greeting and the capabilities, and start TLS as *security* requests.

        Args:
            host: The server's name or address.
            port: Defaults to 995 for ``"tls"`` and 110 otherwise.
            security: ``"tls"`` (implicit TLS), ``"starttls"`` (STLS) or ``"plain"``.
            ssl_context: Defaults to :func:`ssl.create_default_context`, which
                verifies the certificate and the host name.
            timeout: Seconds to wait for each read or write before
                :class:`~bouncekit.exceptions.Pop3TimeoutError`; ``None`` waits forever.
            allow_plaintext_auth: Allow USER/PASS and AUTH over an unencrypted connection.
            max_message_size: Octets; a larger message is skipped with
                :class:`~bouncekit.exceptions.MessageTooLargeError`.

        Raises:
            ValueError: *security* is not one of the values above, or *host*
                is empty or carries a port; nothing was sent.
        """
        check_host(host)
        check_security(security)
        port = port or _DEFAULT_PORTS[security]
        context = _client_context(ssl_context)
        logger.debug("connecting to %s:%d (%s)", host, port, security)
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except TimeoutError as exc:
            msg = f"connecting to {host}:{port} timed out after {timeout} s"
            raise Pop3TimeoutError(msg) from exc
        except OSError as exc:
            raise Pop3ConnectionError(f"cannot connect to {host}:{port}: {exc}") from exc
        if security == "tls":
            sock = _wrap(context, sock, host, port, implicit=True)
            logger.debug("TLS: %s with %s:%d", sock.version(), host, port)
        client = cls(
            sock,
            host,
            port,
            security,
            ssl_context=context,
            timeout=timeout,
            allow_plaintext_auth=allow_plaintext_auth,
            max_message_size=max_message_size,
        )
        try:
            client._run(client._open())
        except BaseException:
            client.close()
            raise
        return client

    def __enter__(self) -> Pop3Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection without QUIT: the server deletes nothing."""
        self._sock.close()

    # -- the I/O: a few dozen lines ------------------------------------------------------------

    def _run(self, op: _Op[T]) -> T:
        reply: Event | None = None
        while True:
            try:
                request = op.send(reply)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            reply = self._serve(request)

    def _drive(self, op: _Op[None]) -> Iterator[Any]:
        reply: Event | None = None
        while True:
            try:
                request = op.send(reply)
            except StopIteration:
                return
            if isinstance(request, _Output):
                reply = None
                yield request.value
            else:
                reply = self._serve(request)

    def _serve(self, request: _Request) -> Event | None:
        if isinstance(request, bytes):
            self._write(request)
        elif isinstance(request, _Read):
            return self._read_event()
        elif isinstance(request, _StartTls):
            tls = _wrap(self._ssl_context, self._sock, self.host, self.port, implicit=False)
            self._sock = tls
            logger.debug("STLS: %s with %s", tls.version(), self.host)
        return None

    def _write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except TimeoutError as exc:
            raise Pop3TimeoutError(f"sending to {self.host}:{self.port} timed out") from exc
        except OSError as exc:
            raise _lost(f"while sending: {exc}") from exc

    def _read_event(self) -> Event:
        while True:
            event = self._conn.next_event()
            if event is not NEED_DATA:
                return event  # type: ignore[return-value]
            try:
                data = self._sock.recv(_READ_SIZE)
            except TimeoutError as exc:
                msg = _silence_message(self._conn, self.host, self.port, self.timeout)
                raise Pop3TimeoutError(msg) from exc
            except OSError as exc:
                logger.warning("reading from %s:%d failed: %s", self.host, self.port, exc)
                data = b""
            self._conn.receive_data(data)

    # -- commands ------------------------------------------------------------------------------

    def login(self, user: str, password: str) -> None:
        """Log in with USER and PASS."""
        self._run(self._login(user, password))

    def apop(self, user: str, secret: str) -> None:
        """Log in with APOP (RFC 1939 section 7), using the greeting's timestamp."""
        self._run(self._apop(user, secret))

    def auth_plain(self, user: str, password: str, authzid: str = "") -> None:
        """Log in with AUTH PLAIN (RFC 4616)."""
        self._run(self._auth("PLAIN", f"{authzid}\0{user}\0{password}".encode(), user))

    def auth_xoauth2(self, user: str, token: str) -> None:
        """Log in with AUTH XOAUTH2 and an OAuth 2.0 access token (Microsoft 365, Gmail)."""
        self._run(self._auth("XOAUTH2", xoauth2_response(user, token), user))

    def stat(self) -> tuple[int, int]:
        """Return the number of messages and their total size in octets."""
        status = _listing(self._run(self._command(Command("STAT"))), Status)
        return status.count, status.size

    def list(self) -> dict[int, int]:
        """Return each message number with its size in octets."""
        return dict(_listing(self._run(self._command(Command("LIST"))), ScanListing).sizes)

    def uidl(self) -> dict[int, str]:
        """Return each message number with its unique-id."""
        return dict(_listing(self._run(self._command(Command("UIDL"))), UniqueIdListing).unique_ids)

    def retr(self, number: int) -> bytes:
        """Return message *number*, dot-unstuffed, with CRLF line ends."""
        return self._one(number, headers_only=False)

    def top(self, number: int) -> bytes:
        """Return the header block of message *number* and the blank line after it (``TOP n 0``)."""
        return self._one(number, headers_only=True)

    def _one(self, number: int, *, headers_only: bool) -> bytes:
        for _, result in self.fetch_many([number], headers_only=headers_only):
            if isinstance(result, Pop3Error):
                raise result
            return result
        raise AssertionError  # pragma: no cover - one command gives one result

    def fetch_many(
        self, numbers: Iterable[int], *, headers_only: bool = False, window: int = DEFAULT_WINDOW
    ) -> Iterator[FetchResult]:
        """
        Fetch messages with RETR (or ``TOP n 0``), pipelined when the server allows it.

        Yields ``(number, data)``, or ``(number, error)`` for a message the
        server refused or that exceeds ``max_message_size``; fetching goes on.

        Raises:
            Pop3ConnectionError: The connection closed; the messages not yet yielded were not read.
        """
        yield from self._drive(self._fetch_many(numbers, headers_only, window))

    def dele(self, number: int) -> None:
        """Mark message *number* for deletion; the server deletes it only at :meth:`quit`."""
        self._run(self._command(Command("DELE", (str(number),))))

    def delete_many(
        self, numbers: Iterable[int], *, window: int = DEFAULT_WINDOW
    ) -> dict[int, ServerError | None]:
        """Send DELE for each of *numbers*, pipelined; return each number's error or ``None``."""
        return dict(self._drive(self._delete_many(numbers, window)))

    def rset(self) -> None:
        """Unmark every message marked for deletion in this session."""
        self._run(self._command(Command("RSET")))

    def noop(self) -> None:
        """Send NOOP, e.g. to keep an idle session open."""
        self._run(self._command(Command("NOOP")))

    def quit(self) -> None:
        """End the session with QUIT, so the server deletes the marked messages, and close."""
        try:
            self._run(self._quit())
        finally:
            self.close()


class AsyncPop3Client(_Session):
    """The asyncio twin of :class:`Pop3Client`, with the same methods as coroutines."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        host: str,
        port: int,
        security: Security,
        *,
        ssl_context: ssl.SSLContext,
        timeout: float | None,
        allow_plaintext_auth: bool,
        max_message_size: int,
    ) -> None:
        super().__init__(host, port, security, allow_plaintext_auth, max_message_size)
        self._reader = reader
        self._writer = writer
        self._ssl_context = ssl_context
        self.timeout = timeout

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int | None = None,
        *,
        security: Security = "tls",
        ssl_context: ssl.SSLContext | None = None,
        timeout: float | None = 30.0,
        allow_plaintext_auth: bool = False,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> AsyncPop3Client:
        """Connect as :meth:`Pop3Client.connect` does."""
        check_host(host)
        check_security(security)
        port = port or _DEFAULT_PORTS[security]
        context = _client_context(ssl_context)
        logger.debug("connecting to %s:%d (%s)", host, port, security)
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    host,
                    port,
                    ssl=context if security == "tls" else None,
                    server_hostname=host if security == "tls" else None,
                    limit=_READ_SIZE,
                ),
                timeout,
            )
        except TimeoutError as exc:
            msg = f"connecting to {host}:{port} timed out after {timeout} s"
            raise Pop3TimeoutError(msg) from exc
        except (ssl.SSLError, ssl.CertificateError) as exc:
            raise _tls_error(exc, host, port, implicit=True) from exc
        except OSError as exc:
            raise Pop3ConnectionError(f"cannot connect to {host}:{port}: {exc}") from exc
        client = cls(
            reader,
            writer,
            host,
            port,
            security,
            ssl_context=context,
            timeout=timeout,
            allow_plaintext_auth=allow_plaintext_auth,
            max_message_size=max_message_size,
        )
        try:
            await client._run(client._open())
        except BaseException:
            client.close()
            raise
        return client

    async def __aenter__(self) -> AsyncPop3Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection without QUIT: the server deletes nothing."""
        self._writer.close()

    # -- the I/O -------------------------------------------------------------------------------

    async def _run(self, op: _Op[T]) -> T:
        reply: Event | None = None
        while True:
            try:
                request = op.send(reply)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            reply = await self._serve(request)

    async def _drive(self, op: _Op[None]) -> AsyncIterator[Any]:
        reply: Event | None = None
        while True:
            try:
                request = op.send(reply)
            except StopIteration:
                return
            if isinstance(request, _Output):
                reply = None
                yield request.value
            else:
                reply = await self._serve(request)

    async def _serve(self, request: _Request) -> Event | None:
        if isinstance(request, bytes):
            await self._write(request)
        elif isinstance(request, _Read):
            return await self._read_event()
        elif isinstance(request, _StartTls):
            try:
                await asyncio.wait_for(
                    self._writer.start_tls(self._ssl_context, server_hostname=self.host),
                    self.timeout,
                )
            except (ssl.SSLError, ssl.CertificateError) as exc:
                raise _tls_error(exc, self.host, self.port, implicit=False) from exc
            logger.debug("STLS with %s done", self.host)
        return None

    async def _write(self, data: bytes) -> None:
        self._writer.write(data)
        try:
            await asyncio.wait_for(self._writer.drain(), self.timeout)
        except TimeoutError as exc:
            raise Pop3TimeoutError(f"sending to {self.host}:{self.port} timed out") from exc
        except OSError as exc:
            raise _lost(f"while sending: {exc}") from exc

    async def _read_event(self) -> Event:
        while True:
            event = self._conn.next_event()
            if event is not NEED_DATA:
                return event  # type: ignore[return-value]
            try:
                data = await asyncio.wait_for(self._reader.read(_READ_SIZE), self.timeout)
            except TimeoutError as exc:
                msg = _silence_message(self._conn, self.host, self.port, self.timeout)
                raise Pop3TimeoutError(msg) from exc
            except OSError as exc:
                logger.warning("reading from %s:%d failed: %s", self.host, self.port, exc)
                data = b""
            self._conn.receive_data(data)

    # -- commands ------------------------------------------------------------------------------

    async def login(self, user: str, password: str) -> None:
        """Log in with USER and PASS."""
        await self._run(self._login(user, password))

    async def apop(self, user: str, secret: str) -> None:
        """Log in with APOP, using the greeting's timestamp."""
        await self._run(self._apop(user, secret))

    async def auth_plain(self, user: str, password: str, authzid: str = "") -> None:
        """Log in with AUTH PLAIN (RFC 4616)."""
        await self._run(self._auth("PLAIN", f"{authzid}\0{user}\0{password}".encode(), user))

    async def auth_xoauth2(self, user: str, token: str) -> None:
        """Log in with AUTH XOAUTH2 and an OAuth 2.0 access token."""
        await self._run(self._auth("XOAUTH2", xoauth2_response(user, token), user))

    async def stat(self) -> tuple[int, int]:
        """Return the number of messages and their total size in octets."""
        status = _listing(await self._run(self._command(Command("STAT"))), Status)
        return status.count, status.size

    async def list(self) -> dict[int, int]:
        """Return each message number with its size in octets."""
        return dict(_listing(await self._run(self._command(Command("LIST"))), ScanListing).sizes)

    async def uidl(self) -> dict[int, str]:
        """Return each message number with its unique-id."""
        return dict(
            _listing(await self._run(self._command(Command("UIDL"))), UniqueIdListing).unique_ids
        )

    async def retr(self, number: int) -> bytes:
        """Return message *number*, dot-unstuffed, with CRLF line ends."""
        return await self._one(number, headers_only=False)

    async def top(self, number: int) -> bytes:
        """Return the header block of message *number* (``TOP n 0``)."""
        return await self._one(number, headers_only=True)

    async def _one(self, number: int, *, headers_only: bool) -> bytes:
        async for _, result in self.fetch_many([number], headers_only=headers_only):
            if isinstance(result, Pop3Error):
                raise result
            return result
        raise AssertionError  # pragma: no cover - one command gives one result

    def fetch_many(
        self, numbers: Iterable[int], *, headers_only: bool = False, window: int = DEFAULT_WINDOW
    ) -> AsyncIterator[FetchResult]:
        """Fetch messages as :meth:`Pop3Client.fetch_many` does."""
        return self._drive(self._fetch_many(numbers, headers_only, window))

    async def dele(self, number: int) -> None:
        """Mark message *number* for deletion; the server deletes it only at :meth:`quit`."""
        await self._run(self._command(Command("DELE", (str(number),))))

    async def delete_many(
        self, numbers: Iterable[int], *, window: int = DEFAULT_WINDOW
    ) -> dict[int, ServerError | None]:
        """Send DELE for each of *numbers*, pipelined; return each number's error or ``None``."""
        return {
            number: error async for number, error in self._drive(self._delete_many(numbers, window))
        }

    async def rset(self) -> None:
        """Unmark every message marked for deletion in this session."""
        await self._run(self._command(Command("RSET")))

    async def noop(self) -> None:
        """Send NOOP."""
        await self._run(self._command(Command("NOOP")))

    async def quit(self) -> None:
        """End the session with QUIT, so the server deletes the marked messages, and close."""
        try:
            await self._run(self._quit())
        finally:
            self.close()
