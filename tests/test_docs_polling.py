"""
Each Python block of docs/polling.md runs on its own, in a fresh namespace, and
polls the private Dovecot on 127.0.0.1 in place of ``pop.example.com``.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bouncekit.mailbox import AsyncPop3Mailbox, Pop3Mailbox
from dovecot_server import HOST, PASSWORD, DovecotServer
from synthetic_bounces import make_bounce

pytestmark = pytest.mark.dovecot

PAGE = Path(__file__).resolve().parents[1] / "docs" / "polling.md"
_PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
DOCUMENTED_HOST = "pop.example.com"


def python_blocks() -> list[str]:
    return _PYTHON_BLOCK.findall(PAGE.read_text(encoding="utf-8"))


class Redirected:
    """A mailbox class whose ``open`` goes to the private Dovecot instead of the documented host."""

    def __init__(self, mailbox: Any, dovecot: DovecotServer, user: str, context: ssl.SSLContext):
        self.mailbox = mailbox
        self.port = dovecot.pop3s_port
        self.user = user
        self.context = context
        self.hosts: list[str] = []

    def open(self, host: str, user: str, password: str, **options: Any) -> Any:
        self.hosts.append(host)
        options.update(port=self.port, ssl_context=self.context, timeout=20)
        return self.mailbox.open(HOST, self.user, password, **options)


class Store:
    """The caller's database of the blocking loop, which stores the unique-ids it saved."""

    def __init__(self) -> None:
        self.saved: list[str] = []

    def save(self, uid: str, bounce: object, verdicts: object, delivery: object) -> None:
        self.saved.append(uid)


class AsyncStore:
    """The caller's asynchronous database of the asyncio loop."""

    def __init__(self) -> None:
        self.saved: list[str] = []

    async def save(self, uid: str, bounce: object, verdicts: object, delivery: object) -> None:
        self.saved.append(uid)


def run_alone(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run one block in a namespace of its own, in an empty folder, as a copied script runs."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {"__name__": "copied_block"}
    exec(compile(code, str(PAGE), "exec"), namespace)
    return namespace


@pytest.fixture
def user(dovecot: DovecotServer) -> str:
    name = dovecot.add_user()
    dovecot.deliver(name, (make_bounce(n) for n in range(1, 4)))
    return name


def remaining(dovecot: DovecotServer, user: str, context: ssl.SSLContext) -> int:
    box = Pop3Mailbox.open(
        HOST, user, PASSWORD, port=dovecot.pop3s_port, ssl_context=context, timeout=20
    )
    with box:
        count = len(box.list_messages())
        box.commit()
    return count


def test_polling_page_blocks() -> None:
    blocks = python_blocks()
    assert len(blocks) == 3
    assert "async def poll(" in blocks[1]
    assert "def poll_keeping_mail(" in blocks[2]


def test_blocking_loop_alone(
    dovecot: DovecotServer,
    user: str,
    tls_context: ssl.SSLContext,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    namespace = run_alone(python_blocks()[0], tmp_path, monkeypatch)
    redirected = Redirected(Pop3Mailbox, dovecot, user, tls_context)
    namespace["Pop3Mailbox"] = redirected
    store = Store()
    namespace["poll"](store, PASSWORD)
    assert redirected.hosts == [DOCUMENTED_HOST]
    assert len(store.saved) == 3
    assert remaining(dovecot, user, tls_context) == 0


def test_asyncio_loop_alone(
    dovecot: DovecotServer,
    user: str,
    tls_context: ssl.SSLContext,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    namespace = run_alone(python_blocks()[1], tmp_path, monkeypatch)
    redirected = Redirected(AsyncPop3Mailbox, dovecot, user, tls_context)
    namespace["AsyncPop3Mailbox"] = redirected
    store = AsyncStore()
    poll: Callable[[AsyncStore, str], Awaitable[None]] = namespace["poll"]
    asyncio.run(poll(store, PASSWORD))
    assert redirected.hosts == [DOCUMENTED_HOST]
    assert len(store.saved) == 3
    assert remaining(dovecot, user, tls_context) == 0


def test_keeping_mail_alone(
    dovecot: DovecotServer,
    user: str,
    tls_context: ssl.SSLContext,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    namespace = run_alone(python_blocks()[2], tmp_path, monkeypatch)
    namespace["Pop3Mailbox"] = Redirected(Pop3Mailbox, dovecot, user, tls_context)
    handled: set[str] = set()
    namespace["poll_keeping_mail"](PASSWORD, handled)
    first = set(handled)
    namespace["poll_keeping_mail"](PASSWORD, handled)
    assert len(first) == 3
    assert handled == first
    assert remaining(dovecot, user, tls_context) == 3
