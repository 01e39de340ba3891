"""
Server faults that Dovecot does not produce, played by a scripted server.

Each fault must end in a typed error or in one reported, skipped message:
never a hang, and never a deleted message that was not reported.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Mapping

import pytest

from bouncekit.exceptions import (
    AuthenticationError,
    CommitUncertainError,
    LocalProtocolError,
    LoginDelayError,
    MailboxError,
    MailboxLockedError,
    MarksLostError,
    Pop3ConnectionError,
    Pop3TimeoutError,
    ServerError,
)
from bouncekit.mailbox import AsyncPop3Mailbox, Pop3Mailbox
from bouncekit.pop3 import AsyncPop3Client, Pop3Client
from fake_pop3 import DROP, HANG, Answer, FakePop3Server, err, multi_line, ok

CAPA = multi_line("", b"TOP\r\nUIDL\r\nUSER\r\nPIPELINING\r\nRESP-CODES\r\n")


def message(n: int) -> bytes:
    return f"Subject: bounce {n}\r\nMessage-ID: <m{n}@example.org>\r\n\r\nbody {n}\r\n".encode()


def mailbox_script(**overrides: Answer | bytes) -> Mapping[str, Answer | bytes]:
    """Return the responses of a three-message mailbox; *overrides* replace single commands."""
    answers: dict[str, Answer | bytes] = {
        "CAPA": CAPA,
        "USER": ok(),
        "PASS": ok(),
        "UIDL": multi_line("", b"1 uid-a\r\n2 uid-b\r\n3 uid-c\r\n"),
        "LIST": multi_line("", b"1 60\r\n2 60\r\n3 60\r\n"),
        "RETR 1": multi_line("", message(1)),
        "RETR 2": multi_line("", message(2)),
        "RETR 3": multi_line("", message(3)),
        "DELE": ok(),
        "QUIT": ok("bye"),
    }
    answers.update({key.replace("_", " "): value for key, value in overrides.items()})
    return answers


def open_box(server: FakePop3Server, timeout: float = 5.0) -> Pop3Mailbox:
    return Pop3Mailbox.open(
        "127.0.0.1",
        "bounces",
        "secret",
        port=server.port,
        security="plain",
        timeout=timeout,
        allow_plaintext_auth=True,
    )


def mark_each(box: Pop3Mailbox, fetched: list[str] | None = None, *, fail: bool = False) -> None:
    """Mark each message the mailbox yields; with *fail*, raise after the first as a store might."""
    with box:
        for item in box.iter_messages():
            if fetched is not None:
                fetched.append(item.uid)
            box.mark_deleted(item.uid)
            if fail:
                raise KeyError(item.uid)
        box.commit()


def test_bare_status_lines_accepted() -> None:
    answers = mailbox_script(CAPA=err(), QUIT=ok())
    with FakePop3Server(answers, greeting=b"+OK\r\n") as server:
        box = open_box(server)
        uids = [info.uid for info in box.list_messages()]
        box.commit()
    assert uids == ["uid-a", "uid-b", "uid-c"]


def test_dropped_mid_retr_deletes_nothing() -> None:
    cut = multi_line("", message(2))[:25]
    answers = mailbox_script(RETR_2=[cut, DROP])
    with FakePop3Server(answers) as server:
        box = open_box(server)
        fetched = []
        with pytest.raises(MarksLostError) as caught:
            mark_each(box, fetched)
    assert fetched == ["uid-a"]
    assert caught.value.lost_marks == frozenset({"uid-a"})
    assert not [command for command in server.commands if command.startswith(("DELE", "QUIT"))]


def test_dropped_after_quit_is_uncertain() -> None:
    """A server that drops the connection after QUIT may have deleted, and the error must state it."""
    answers = mailbox_script(QUIT=[DROP])
    with FakePop3Server(answers) as server:
        box = open_box(server)
        for item in box.iter_messages():
            box.mark_deleted(item.uid)
        with pytest.raises(CommitUncertainError) as caught:
            box.commit()
    assert caught.value.uncertain_marks == frozenset({"uid-a", "uid-b", "uid-c"})
    assert "may have deleted the 3 marked message(s)" in str(caught.value)
    assert box.marked == frozenset()


def test_quit_error_is_uncertain() -> None:
    answers = mailbox_script(QUIT=err("some deleted messages not removed"))
    with FakePop3Server(answers) as server:
        box = open_box(server)
        box.list_messages()
        box.mark_deleted("uid-a")
        with pytest.raises(CommitUncertainError) as caught:
            box.commit()
    assert caught.value.uncertain_marks == frozenset({"uid-a"})


def test_dropped_during_dele_deletes_nothing() -> None:
    answers = mailbox_script(DELE_1=[DROP])
    with FakePop3Server(answers) as server:
        box = open_box(server)
        box.list_messages()
        box.mark_deleted("uid-a")
        with pytest.raises(MarksLostError) as caught:
            box.commit()
    assert caught.value.lost_marks == frozenset({"uid-a"})
    assert "nothing was deleted" in str(caught.value)
    assert not [command for command in server.commands if command.startswith("QUIT")]


def test_refused_message_reported_and_skipped() -> None:
    answers = mailbox_script(RETR_2=err("[SYS/TEMP] message is being delivered"))
    with FakePop3Server(answers) as server:
        box = open_box(server)
        items = list(box.iter_messages())
        box.commit()
    assert [item.uid for item in items] == ["uid-a", "uid-b", "uid-c"]
    assert items[1].data is None
    assert "SYS/TEMP" in (items[1].error or "")
    assert items[2].data == message(3)


def test_oversized_message_skipped() -> None:
    huge = multi_line("", b"Subject: big\r\n\r\n" + b"x" * 5000 + b"\r\n")
    answers = mailbox_script(RETR_1=huge)
    with FakePop3Server(answers) as server:
        client = Pop3Client.connect(
            "127.0.0.1",
            server.port,
            security="plain",
            allow_plaintext_auth=True,
            max_message_size=1000,
            timeout=5,
        )
        client.login("bounces", "secret")
        box = Pop3Mailbox(client)
        items = list(box.iter_messages())
        box.commit()
    assert items[0].data is None
    assert "max_message_size" in (items[0].error or "")
    assert items[1].data == message(2)


def test_long_lines_and_stuffed_dots() -> None:
    body = (
        b"Subject: wide\r\n\r\n"
        + b"<td>cell</td>" * 700
        + b"\r\n"
        + b".hidden line that starts with a dot\r\n"
        + b".\r\n"
        + b"end\r\n"
    )
    answers = mailbox_script(RETR_1=multi_line("9180 octets", body))
    with FakePop3Server(answers) as server:
        box = open_box(server)
        data = box.fetch("uid-a")
        box.commit()
    assert data == body


def test_in_use_is_typed() -> None:
    answers = mailbox_script(PASS=err("[IN-USE] Mailbox is locked by another session"))
    with FakePop3Server(answers) as server, pytest.raises(MailboxLockedError) as caught:
        open_box(server)
    assert caught.value.code == "IN-USE"
    assert caught.value.is_temporary


def test_login_delay_is_typed() -> None:
    answers = mailbox_script(PASS=err("[LOGIN-DELAY] wait 15 minutes between logins"))
    with FakePop3Server(answers) as server, pytest.raises(LoginDelayError) as caught:
        open_box(server)
    assert caught.value.text == "wait 15 minutes between logins"


def test_silent_server_times_out() -> None:
    answers = mailbox_script(RETR_2=[HANG])
    with FakePop3Server(answers) as server:
        box = open_box(server, timeout=0.5)
        started = time.monotonic()
        with pytest.raises(MarksLostError) as caught:
            mark_each(box)
        elapsed = time.monotonic() - started
    assert isinstance(caught.value.__cause__, Pop3TimeoutError)
    assert caught.value.lost_marks == frozenset({"uid-a"})
    assert elapsed < 5


def test_silent_greeting_times_out() -> None:
    with (
        FakePop3Server({}, greeting=b"", greeting_steps=[HANG]) as server,
        pytest.raises(Pop3TimeoutError, match=r"sent no greeting within 0\.5 s"),
    ):
        Pop3Client.connect("127.0.0.1", server.port, security="plain", timeout=0.5)


def test_plaintext_password_refused() -> None:
    with FakePop3Server(mailbox_script()) as server:
        client = Pop3Client.connect("127.0.0.1", server.port, security="plain", timeout=5)
        with client, pytest.raises(LocalProtocolError, match="allow_plaintext_auth"):
            client.login("bounces", "secret")
    assert not [command for command in server.commands if command.startswith(("USER", "PASS"))]


def test_connection_refused_typed() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        with pytest.raises(Pop3ConnectionError, match="cannot connect"):
            Pop3Client.connect("127.0.0.1", port, security="plain", timeout=2)


def test_exception_in_loop_keeps_mail() -> None:
    with FakePop3Server(mailbox_script()) as server:
        box = open_box(server)
        with pytest.raises(KeyError) as caught:
            mark_each(box, fail=True)
    assert "1 mark(s) lost" in "".join(caught.value.__notes__)
    assert not [command for command in server.commands if command.startswith(("DELE", "QUIT"))]


def test_async_drop_mid_retr() -> None:
    answers = mailbox_script(RETR_3=[b"+OK\r\nSubject: cut", DROP])

    async def poll(port: int) -> tuple[list[str], frozenset[str]]:
        client = await AsyncPop3Client.connect(
            "127.0.0.1", port, security="plain", allow_plaintext_auth=True, timeout=5
        )
        await client.login("bounces", "secret")
        box = AsyncPop3Mailbox(client)
        seen = []
        try:
            async for item in box.iter_messages():
                seen.append(item.uid)
                box.mark_deleted(item.uid)
        except MarksLostError as exc:
            return seen, exc.lost_marks
        return seen, frozenset()

    with FakePop3Server(answers) as server:
        seen, lost = asyncio.run(poll(server.port))
    assert seen == ["uid-a", "uid-b"]
    assert lost == frozenset({"uid-a", "uid-b"})


def test_abandoned_fetch_drained() -> None:
    answers = mailbox_script(STAT=ok("3 180"))
    with FakePop3Server(answers) as server:
        client = Pop3Client.connect(
            "127.0.0.1", server.port, security="plain", allow_plaintext_auth=True, timeout=5
        )
        client.login("bounces", "secret")
        for _, data in client.fetch_many([1, 2, 3]):
            first = data
            break
        status = client.stat()
        client.quit()
    assert first == message(1)
    assert status == (3, 180)


def test_sys_temp_login_not_auth_error() -> None:
    answers = mailbox_script(PASS=err("[SYS/TEMP] authentication backend unavailable"))
    with FakePop3Server(answers) as server, pytest.raises(ServerError) as caught:
        open_box(server)
    assert not isinstance(caught.value, AuthenticationError)
    assert caught.value.is_temporary


def _lf(answers: Mapping[str, Answer | bytes]) -> dict[str, Answer | bytes]:
    return {
        key: value.replace(b"\r\n", b"\n") if isinstance(value, bytes) else value
        for key, value in answers.items()
    }


def test_bare_lf_server_read_and_deleted() -> None:
    answers = _lf(mailbox_script())
    with FakePop3Server(answers, greeting=b"+OK fake POP3 server ready\n") as server:
        box = open_box(server)
        infos = box.list_messages()
        data = box.fetch(infos[1].uid)
        box.mark_deleted(infos[1].uid)
        box.commit()
    assert [info.uid for info in infos] == ["uid-a", "uid-b", "uid-c"]
    assert data == message(2).replace(b"\r\n", b"\n")
    assert "DELE 2" in server.commands


# Messages 1 and 3 share the unique-id "same", which RFC 1939 forbids.
DUPLICATED_UIDL = multi_line("", b"1 same\r\n2 uid-b\r\n3 same\r\n")
DUPLICATE_WARNING = (
    "POP3 mailbox bounces@127.0.0.1 gives one unique-id (UIDL) to several messages, which "
    "RFC 1939 forbids: 'same' for messages 1, 3. Those 2 messages are left out of the "
    "listing, so they are never fetched or deleted"
)


def sent_deletions(server: FakePop3Server) -> list[str]:
    return [command for command in server.commands if command.startswith("DELE")]


def test_duplicate_uidl_left_out(caplog: pytest.LogCaptureFixture) -> None:
    answers = mailbox_script(UIDL=DUPLICATED_UIDL)
    with FakePop3Server(answers) as server:
        box = open_box(server)
        with caplog.at_level("WARNING", logger="bouncekit._mailbox"), box:
            listed = [info.uid for info in box.list_messages()]
            fetched = [item.uid for item in box.iter_messages()]
            for uid in fetched:
                box.mark_deleted(uid)
            with pytest.raises(MailboxError, match="'same'"):
                box.mark_deleted("same")
            result = box.commit()
    assert listed == ["uid-b"]
    assert fetched == ["uid-b"]
    assert result.deleted == frozenset({"uid-b"})
    assert sent_deletions(server) == ["DELE 2"]
    assert not [command for command in server.commands if command in ("RETR 1", "RETR 3")]
    assert [record.getMessage() for record in caplog.records] == [DUPLICATE_WARNING]


def test_async_duplicate_uidl_left_out(caplog: pytest.LogCaptureFixture) -> None:
    answers = mailbox_script(UIDL=DUPLICATED_UIDL)

    async def poll(port: int) -> tuple[list[str], list[str]]:
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
            listed = [info.uid for info in await box.list_messages()]
            fetched = [item.uid async for item in box.iter_messages()]
            for uid in fetched:
                box.mark_deleted(uid)
            await box.commit()
        return listed, fetched

    with FakePop3Server(answers) as server, caplog.at_level("WARNING", logger="bouncekit._mailbox"):
        listed, fetched = asyncio.run(poll(server.port))
    assert listed == ["uid-b"]
    assert fetched == ["uid-b"]
    assert sent_deletions(server) == ["DELE 2"]
    assert [record.getMessage() for record in caplog.records] == [DUPLICATE_WARNING]


def test_all_uids_duplicated_lists_nothing(caplog: pytest.LogCaptureFixture) -> None:
    answers = mailbox_script(UIDL=multi_line("", b"1 same\r\n2 same\r\n3 same\r\n"))
    with FakePop3Server(answers) as server:
        box = open_box(server)
        with caplog.at_level("WARNING", logger="bouncekit._mailbox"):
            listed = box.list_messages()
            fetched = list(box.iter_messages())
        box.commit()
    assert listed == []
    assert fetched == []
    assert sent_deletions(server) == []
    assert len(caplog.records) == 1
    assert "'same' for messages 1, 2, 3" in caplog.records[0].getMessage()
