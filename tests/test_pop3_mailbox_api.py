"""How the POP3 mailbox and clients treat their caller: argument checks, closing, warnings, reprs."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from bouncekit.mailbox import (
    AsyncPop3Mailbox,
    CommitResult,
    MailboxError,
    MarksLostWarning,
    Pop3Mailbox,
)
from bouncekit.pop3 import AsyncPop3Client, Pop3Client
from fake_pop3 import Answer, FakePop3Server, multi_line, ok

CAPA = multi_line("", b"TOP\r\nUIDL\r\nUSER\r\nPIPELINING\r\n")
AUTH_CHOICES = "use one of 'user', 'plain', 'xoauth2', 'apop'"
SECURITY_CHOICES = "use one of 'tls', 'starttls', 'plain'"


def mailbox_script() -> Mapping[str, Answer | bytes]:
    """Return the responses of a two-message mailbox."""
    return {
        "CAPA": CAPA,
        "USER": ok(),
        "PASS": ok(),
        "UIDL": multi_line("", b"1 uid-a\r\n2 uid-b\r\n"),
        "LIST": multi_line("", b"1 60\r\n2 60\r\n"),
        "DELE": ok(),
        "QUIT": ok("bye"),
    }


BAD_CHOICES = [
    pytest.param({"auth": "oauth"}, f"invalid auth 'oauth': {AUTH_CHOICES}", id="auth=oauth"),
    pytest.param({"auth": "USER"}, f"invalid auth 'USER': {AUTH_CHOICES}", id="auth=USER"),
    pytest.param({"auth": None}, f"invalid auth None: {AUTH_CHOICES}", id="auth=None"),
    pytest.param(
        {"security": "ssl"}, f"invalid security 'ssl': {SECURITY_CHOICES}", id="security=ssl"
    ),
    pytest.param(
        {"security": "TLS"}, f"invalid security 'TLS': {SECURITY_CHOICES}", id="security=TLS"
    ),
    pytest.param({"security": ""}, f"invalid security '': {SECURITY_CHOICES}", id="security-empty"),
]


@pytest.mark.parametrize(("arguments", "message"), BAD_CHOICES)
def test_open_bad_choice(arguments: dict[str, Any], message: str) -> None:
    options: dict[str, Any] = {"security": "plain", "allow_plaintext_auth": True, "timeout": 5}
    options.update(arguments)
    with (
        FakePop3Server(mailbox_script()) as server,
        pytest.raises(ValueError, match=r"^invalid ") as caught,
    ):
        Pop3Mailbox.open("127.0.0.1", "bounces", "secret", port=server.port, **options)
    assert str(caught.value) == message
    # Nothing reached the server: a connected client would have sent CAPA.
    assert server.commands == []


@pytest.mark.parametrize(("arguments", "message"), BAD_CHOICES)
def test_async_open_bad_choice(arguments: dict[str, Any], message: str) -> None:
    options: dict[str, Any] = {"security": "plain", "allow_plaintext_auth": True, "timeout": 5}
    options.update(arguments)
    with FakePop3Server(mailbox_script()) as server:
        opening = AsyncPop3Mailbox.open(
            "127.0.0.1", "bounces", "secret", port=server.port, **options
        )
        with pytest.raises(ValueError, match=r"^invalid ") as caught:
            asyncio.run(opening)
    assert str(caught.value) == message
    assert server.commands == []


def test_client_bad_security() -> None:
    with (
        FakePop3Server(mailbox_script()) as server,
        pytest.raises(ValueError, match=r"^invalid ") as caught,
    ):
        Pop3Client.connect("127.0.0.1", server.port, security="ssl", timeout=5)  # type: ignore[arg-type]
    assert str(caught.value) == f"invalid security 'ssl': {SECURITY_CHOICES}"
    assert server.commands == []


def test_async_client_bad_security() -> None:
    with FakePop3Server(mailbox_script()) as server:
        connecting = AsyncPop3Client.connect(
            "127.0.0.1",
            server.port,
            security="starttls ",  # type: ignore[arg-type]
            timeout=5,
        )
        with pytest.raises(ValueError, match=r"^invalid ") as caught:
            asyncio.run(connecting)
    assert str(caught.value) == f"invalid security 'starttls ': {SECURITY_CHOICES}"
    assert server.commands == []


def open_box(server: FakePop3Server) -> Pop3Mailbox:
    return Pop3Mailbox.open(
        "127.0.0.1",
        "bounces",
        "secret",
        port=server.port,
        security="plain",
        timeout=5,
        allow_plaintext_auth=True,
    )


def test_commit_unlisted_sends_quit() -> None:
    with FakePop3Server(mailbox_script()) as server:
        box = open_box(server)
        result = box.commit()
    assert result == CommitResult()
    assert server.commands[-1] == "QUIT"
    assert [command for command in server.commands if command in ("UIDL", "LIST")] == []


def test_async_commit_unlisted_sends_quit() -> None:
    async def commit_at_once(port: int) -> CommitResult:
        box = await AsyncPop3Mailbox.open(
            "127.0.0.1",
            "bounces",
            "secret",
            port=port,
            security="plain",
            timeout=5,
            allow_plaintext_auth=True,
        )
        return await box.commit()

    with FakePop3Server(mailbox_script()) as server:
        result = asyncio.run(commit_at_once(server.port))
    assert result == CommitResult()
    assert server.commands[-1] == "QUIT"


CLOSED_CALLS: dict[str, Callable[[Pop3Mailbox], object]] = {
    "list_messages": lambda box: box.list_messages(),
    "fetch": lambda box: box.fetch("uid-a"),
    "iter_messages": lambda box: next(box.iter_messages()),
    "mark_deleted": lambda box: box.mark_deleted("uid-a"),
    "commit": lambda box: box.commit(),
}


@pytest.mark.parametrize("call", CLOSED_CALLS.values(), ids=CLOSED_CALLS.keys())
def test_closed_use(call: Callable[[Pop3Mailbox], object]) -> None:
    with FakePop3Server(mailbox_script()) as server:
        box = open_box(server)
        box.list_messages()
        box.close()
        with pytest.raises(MailboxError) as caught:
            call(box)
    assert str(caught.value) == (
        "POP3 mailbox bounces@127.0.0.1 is closed; open a new session with Pop3Mailbox.open()"
    )


def test_async_closed_use() -> None:
    async def list_after_close(port: int) -> None:
        client = await AsyncPop3Client.connect("127.0.0.1", port, security="plain", timeout=5)
        box = AsyncPop3Mailbox(client, user="bounces")
        box.close()
        await box.list_messages()

    with FakePop3Server(mailbox_script()) as server, pytest.raises(MailboxError) as caught:
        asyncio.run(list_after_close(server.port))
    assert str(caught.value) == (
        "POP3 mailbox bounces@127.0.0.1 is closed; open a new session with AsyncPop3Mailbox.open()"
    )


def test_closed_after_commit() -> None:
    with FakePop3Server(mailbox_script()) as server:
        box = open_box(server)
        box.commit()
        with pytest.raises(MailboxError) as caught:
            box.list_messages()
    assert str(caught.value) == (
        "POP3 mailbox bounces@127.0.0.1 is closed; open a new session with Pop3Mailbox.open()"
    )


LOST_WARNING = (
    "POP3 mailbox bounces@127.0.0.1 left its with block without commit(): 1 mark(s) lost, "
    "nothing deleted; call commit() inside the block to delete the marked messages"
)


def mark_and_leave(box: Pop3Mailbox) -> None:
    """Mark one message and leave the with block without commit(), as a forgetful caller."""
    with box:
        box.list_messages()
        box.mark_deleted("uid-a")


def test_normal_exit_warns_marks_lost() -> None:
    with FakePop3Server(mailbox_script()) as server, pytest.warns(MarksLostWarning) as caught:
        mark_and_leave(open_box(server))
    assert [str(warning.message) for warning in caught] == [LOST_WARNING]
    assert caught[0].filename == __file__
    assert [command for command in server.commands if command.startswith(("DELE", "QUIT"))] == []


def test_async_normal_exit_warns() -> None:
    async def mark_and_leave_async(port: int) -> None:
        box = await AsyncPop3Mailbox.open(
            "127.0.0.1",
            "bounces",
            "secret",
            port=port,
            security="plain",
            timeout=5,
            allow_plaintext_auth=True,
        )
        async with box:
            await box.list_messages()
            box.mark_deleted("uid-a")

    with FakePop3Server(mailbox_script()) as server, pytest.warns(MarksLostWarning) as caught:
        asyncio.run(mark_and_leave_async(server.port))
    assert [str(warning.message) for warning in caught] == [LOST_WARNING]
    assert caught[0].filename == __file__


def test_repr_shows_session() -> None:
    with FakePop3Server(mailbox_script()) as server:
        box = open_box(server)
        opened = repr(box)
        box.list_messages()
        box.mark_deleted("uid-b")
        marked = repr(box)
        box.close()
    assert opened == f"Pop3Mailbox(bounces@127.0.0.1:{server.port}, plain)"
    assert marked == f"Pop3Mailbox(bounces@127.0.0.1:{server.port}, plain, 1 marked)"
    assert repr(box) == f"Pop3Mailbox(bounces@127.0.0.1:{server.port}, plain, closed)"


def test_async_repr_without_user() -> None:
    async def show(port: int) -> str:
        client = await AsyncPop3Client.connect("127.0.0.1", port, security="plain", timeout=5)
        box = AsyncPop3Mailbox(client)
        shown = repr(box)
        box.close()
        return shown

    with FakePop3Server(mailbox_script()) as server:
        shown = asyncio.run(show(server.port))
    assert shown == f"AsyncPop3Mailbox(127.0.0.1:{server.port}, plain)"


def test_repr_brackets_ipv6_host() -> None:
    # A client over a socket that never connects: only the repr is looked at.
    with socket.socket() as unconnected:
        client = Pop3Client(
            unconnected,
            "2001:db8::1",
            995,
            "tls",
            ssl_context=ssl.create_default_context(),
            timeout=5,
            allow_plaintext_auth=False,
            max_message_size=1024,
        )
        shown = repr(Pop3Mailbox(client, user="bounces"))
    assert shown == "Pop3Mailbox(bounces@[2001:db8::1]:995, tls)"


def test_open_host_with_port() -> None:
    with FakePop3Server(mailbox_script()) as server:
        host = f"127.0.0.1:{server.port}"
        with pytest.raises(ValueError, match="pass the port separately") as caught:
            Pop3Mailbox.open(host, "bounces", "secret", security="plain", timeout=5)
    assert str(caught.value) == (
        f"invalid host {host!r}: pass the port separately, as host='127.0.0.1', port={server.port}"
    )
    assert server.commands == []


def test_async_open_empty_host() -> None:
    with pytest.raises(ValueError, match="invalid host ''"):
        asyncio.run(AsyncPop3Mailbox.open("", "bounces", "secret", timeout=5))
