"""
A scripted POP3 server on 127.0.0.1, for faults that Dovecot does not produce.

The server chooses its response by command: the exact command line first
(``"RETR 1"``), then the keyword (``"RETR"``). A response is a list of steps:
bytes to send, :data:`DROP` to close the connection, or :data:`HANG` to stop
responding.
Every command received is recorded in :attr:`FakePop3Server.commands`.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

DROP: Final = "drop"
HANG: Final = "hang"

Step = bytes | str
Answer = Sequence[Step]


def ok(text: str = "") -> bytes:
    """Return a ``+OK`` status line, bare when *text* is empty."""
    return f"+OK {text}".rstrip().encode() + b"\r\n" if text else b"+OK\r\n"


def err(text: str = "") -> bytes:
    """Return a ``-ERR`` status line, bare when *text* is empty."""
    return f"-ERR {text}".encode() + b"\r\n" if text else b"-ERR\r\n"


def multi_line(status: str, body: bytes) -> bytes:
    """Return a multi-line response: the status line, *body* dot-stuffed, and the ``.`` line."""
    lines = body.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    stuffed = [b"." + line if line.startswith(b".") else line for line in lines]
    return (
        f"+OK {status}".encode() + b"\r\n" + b"".join(line + b"\r\n" for line in stuffed) + b".\r\n"
    )


def transcript_answers(path: Path) -> tuple[bytes, dict[str, bytes]]:
    """
    Read a POP3 transcript (``C:`` client lines, ``S:`` server lines, ``#`` comments).

    Returns the greeting and, for each command line, the server lines that respond to it.
    """
    greeting = b""
    answers: dict[str, bytes] = {}
    current: str | None = None
    for line in path.read_text("utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("C: "):
            current = line[3:]
            answers[current] = b""
        elif line.startswith("S:"):
            data = re.sub(r"^S: ?", "", line).encode("utf-8") + b"\r\n"
            if current is None:
                greeting += data
            else:
                answers[current] += data
    return greeting, answers


class FakePop3Server:
    """A threaded POP3 server that plays a script; use it as a context manager."""

    def __init__(
        self,
        answers: Mapping[str, Answer | bytes],
        *,
        greeting: bytes = b"+OK fake POP3 server ready\r\n",
        greeting_steps: Answer = (),
    ) -> None:
        self.answers = dict(answers)
        self.greeting = greeting
        self.greeting_steps = greeting_steps
        self.commands: list[str] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        # accept() wakes up now and then to see whether the server was stopped.
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []

    def __enter__(self) -> FakePop3Server:
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads[:1]:
            thread.join(timeout=5)
        self._listener.close()
        for connection in self._connections:
            _close(connection)
        for thread in self._threads[1:]:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection.settimeout(None)
            self._connections.append(connection)
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _answer(self, command: str) -> Answer:
        found = self.answers.get(command)
        if found is None:
            found = self.answers.get(command.split(" ", 1)[0].upper(), err("unknown command"))
        return [found] if isinstance(found, bytes) else found

    def _play(self, connection: socket.socket, steps: Iterable[Step]) -> bool:
        """Send *steps*; return ``False`` once the connection is closed or hung."""
        for step in steps:
            if step == DROP:
                _close(connection)
                return False
            if step == HANG:
                self._stop.wait()
                return False
            assert isinstance(step, bytes)
            connection.sendall(step)
        return True

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            if not self._play(connection, [self.greeting, *self.greeting_steps]):
                return
            buffer = b""
            while not self._stop.is_set():
                try:
                    data = connection.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buffer += data
                while b"\r\n" in buffer:
                    line, buffer = buffer.split(b"\r\n", 1)
                    command = line.decode("utf-8", errors="replace")
                    self.commands.append(command)
                    if not self._play(connection, self._answer(command)):
                        return
                    if command.upper() == "QUIT":
                        return


def _close(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()
