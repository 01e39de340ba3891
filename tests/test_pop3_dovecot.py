"""
The POP3 clients and mailbox against a real Dovecot on 127.0.0.1.

Each test logs in as a user of its own, because Dovecot holds a per-user
session lock and a second session would wait about 10 s for it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import ssl
import subprocess
import sys
from io import StringIO

import pytest

from bouncekit import _cli, parse
from bouncekit.exceptions import (
    AuthenticationError,
    LocalProtocolError,
    MarksLostError,
    TlsError,
)
from bouncekit.mailbox import AsyncPop3Mailbox, CommitResult, Pop3Mailbox
from bouncekit.pop3 import AsyncPop3Client, Pop3Client
from dovecot_server import HOST, OAUTH_TOKEN, OAUTH_USER, PASSWORD, DovecotServer
from synthetic_bounces import make_bounce, original_message_id, recipient

pytestmark = pytest.mark.dovecot


@pytest.fixture
def user(dovecot: DovecotServer) -> str:
    """Return a new user whose mailbox contains bounces 1 to 5."""
    name = dovecot.add_user()
    dovecot.deliver(name, (make_bounce(n) for n in range(1, 6)))
    return name


def open_box(dovecot: DovecotServer, user: str, context: ssl.SSLContext) -> Pop3Mailbox:
    return Pop3Mailbox.open(
        HOST, user, PASSWORD, port=dovecot.pop3s_port, ssl_context=context, timeout=20
    )


def listed_uids(dovecot: DovecotServer, user: str, context: ssl.SSLContext) -> list[str]:
    with open_box(dovecot, user, context) as box:
        uids = [info.uid for info in box.list_messages()]
        box.commit()
    return uids


def test_implicit_tls_login(dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext) -> None:
    with Pop3Client.connect(
        HOST, dovecot.pop3s_port, ssl_context=tls_context, timeout=20
    ) as client:
        client.login(user, PASSWORD)
        count, size = client.stat()
        client.quit()
    assert client.is_secure
    assert count == 5
    assert size > 5 * 3000


def test_starttls_login(dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext) -> None:
    client = Pop3Client.connect(
        HOST, dovecot.pop3_port, security="starttls", ssl_context=tls_context, timeout=20
    )
    with client:
        secure_before_login = client.is_secure
        client.auth_plain(user, PASSWORD)
        pipelining = "PIPELINING" in client.capabilities
        client.quit()
    assert secure_before_login
    assert pipelining


def test_untrusted_certificate_rejected(dovecot: DovecotServer) -> None:
    with pytest.raises(TlsError, match="certificate verify failed"):
        Pop3Client.connect(HOST, dovecot.pop3s_port, timeout=20)


def test_starttls_untrusted_certificate(dovecot: DovecotServer) -> None:
    with pytest.raises(TlsError, match="certificate verify failed"):
        Pop3Client.connect(HOST, dovecot.pop3_port, security="starttls", timeout=20)


PLAIN_PORT_HINT = (
    'may be a plain POP3 port: for STLS on it, pass security="starttls" (CLI: a pop3:// URL '
    "with --starttls), or connect to the implicit TLS port, usually 995"
)


def test_tls_to_plain_port(dovecot: DovecotServer, tls_context: ssl.SSLContext) -> None:
    with pytest.raises(TlsError) as caught:
        Pop3Client.connect(HOST, dovecot.pop3_port, ssl_context=tls_context, timeout=20)
    message = str(caught.value)
    assert f"TLS handshake with {HOST}:{dovecot.pop3_port} failed" in message
    assert "WRONG_VERSION_NUMBER" in message
    assert message.endswith(f"; port {dovecot.pop3_port} {PLAIN_PORT_HINT}")


def test_async_tls_to_plain_port(dovecot: DovecotServer, tls_context: ssl.SSLContext) -> None:
    async def connect() -> None:
        await AsyncPop3Client.connect(HOST, dovecot.pop3_port, ssl_context=tls_context, timeout=20)

    with pytest.raises(TlsError) as caught:
        asyncio.run(connect())
    assert str(caught.value).endswith(f"; port {dovecot.pop3_port} {PLAIN_PORT_HINT}")


def test_plaintext_needs_opt_in(dovecot: DovecotServer, user: str) -> None:
    with Pop3Client.connect(HOST, dovecot.pop3_port, security="plain", timeout=20) as client:
        with pytest.raises(LocalProtocolError, match="unencrypted"):
            client.login(user, PASSWORD)
        client.quit()
    client = Pop3Client.connect(
        HOST, dovecot.pop3_port, security="plain", allow_plaintext_auth=True, timeout=20
    )
    with client:
        client.login(user, PASSWORD)
        count, _ = client.stat()
        client.quit()
    assert count == 5


def test_apop_login(dovecot: DovecotServer, user: str) -> None:
    with Pop3Client.connect(HOST, dovecot.pop3_port, security="plain", timeout=20) as client:
        client.apop(user, PASSWORD)
        count, _ = client.stat()
        client.quit()
    assert count == 5


def test_xoauth2_long_token(dovecot: DovecotServer, tls_context: ssl.SSLContext) -> None:
    # Dovecot checks a bearer token against a passwd-file like a password.
    with Pop3Client.connect(
        HOST, dovecot.pop3s_port, ssl_context=tls_context, timeout=20
    ) as client:
        client.auth_xoauth2(OAUTH_USER, OAUTH_TOKEN)
        count, _ = client.stat()
        client.quit()
    assert len(OAUTH_TOKEN) > 1500
    assert count == 0


def test_xoauth2_bad_token(dovecot: DovecotServer, tls_context: ssl.SSLContext) -> None:
    # The server reports the failure in a "+" challenge first (JSON for XOAUTH2),
    # and sends -ERR once the client replies with an empty line.
    with Pop3Client.connect(
        HOST, dovecot.pop3s_port, ssl_context=tls_context, timeout=20
    ) as client:
        with pytest.raises(AuthenticationError) as caught:
            client.auth_xoauth2(OAUTH_USER, OAUTH_TOKEN + "-expired")
        client.quit()
    assert caught.value.code == "AUTH"


def test_wrong_password_typed(
    dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext
) -> None:
    with Pop3Client.connect(
        HOST, dovecot.pop3s_port, ssl_context=tls_context, timeout=20
    ) as client:
        with pytest.raises(AuthenticationError) as caught:
            client.login(user, "wrong")
        client.quit()
    assert caught.value.code == "AUTH"
    assert "wrong" not in str(caught.value)


def test_messages_parse(dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext) -> None:
    with open_box(dovecot, user, tls_context) as box:
        items = list(box.iter_messages())
        box.commit()
    bounces = [parse(item.data or b"") for item in items]
    assert [b.recipients[0].address for b in bounces] == [recipient(n) for n in range(1, 6)]
    assert [b.original_message_id for b in bounces] == [original_message_id(n) for n in range(1, 6)]


def test_headers_only(dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext) -> None:
    with open_box(dovecot, user, tls_context) as box:
        [first, *_] = box.list_messages()
        head = box.fetch(first.uid, headers_only=True)
        whole = box.fetch(first.uid)
        box.commit()
    assert head.endswith(b"\r\n\r\n")
    assert whole.startswith(head)
    assert len(whole) == first.size


def test_commit_deletes_only_marked(
    dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext
) -> None:
    with open_box(dovecot, user, tls_context) as box:
        uids = [info.uid for info in box.list_messages()]
        box.mark_deleted(uids[1])
        box.mark_deleted(uids[3])
        result = box.commit()
    assert result.deleted == {uids[1], uids[3]}
    assert listed_uids(dovecot, user, tls_context) == [uids[0], uids[2], uids[4]]


def test_repr_hides_password(
    dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext
) -> None:
    with open_box(dovecot, user, tls_context) as box:
        shown = repr(box)
        box.commit()
    assert shown == f"Pop3Mailbox({user}@{HOST}:{dovecot.pop3s_port}, tls)"
    assert PASSWORD not in shown


def test_commit_without_listing(
    dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext
) -> None:
    box = open_box(dovecot, user, tls_context)
    result = box.commit()
    assert result == CommitResult()
    assert len(listed_uids(dovecot, user, tls_context)) == 5


def test_drop_after_dele_deletes_nothing(
    dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext
) -> None:
    before = listed_uids(dovecot, user, tls_context)
    client = Pop3Client.connect(HOST, dovecot.pop3s_port, ssl_context=tls_context, timeout=20)
    client.login(user, PASSWORD)
    client.dele(1)
    client.dele(2)
    client.close()  # no QUIT: RFC 1939 section 6 has the server delete nothing
    assert listed_uids(dovecot, user, tls_context) == before


def test_drop_before_commit_reports_marks(
    dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext
) -> None:
    box = open_box(dovecot, user, tls_context)
    uids = [info.uid for info in box.list_messages()]
    for item in box.iter_messages():
        box.mark_deleted(item.uid)
        if len(box.marked) == 3:
            break
    # The connection fails under the mailbox, as a network fault would do it.
    box.client._sock.shutdown(socket.SHUT_RDWR)
    with pytest.raises(MarksLostError) as caught:
        box.commit()
    assert caught.value.lost_marks == set(uids[:3])
    assert listed_uids(dovecot, user, tls_context) == uids


def mark_all_then_fail(box: Pop3Mailbox) -> None:
    with box:
        for item in box.iter_messages():
            box.mark_deleted(item.uid)
        raise RuntimeError("the database is down")


def test_exception_in_loop_deletes_nothing(
    dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext
) -> None:
    before = listed_uids(dovecot, user, tls_context)
    with pytest.raises(RuntimeError):
        mark_all_then_fail(open_box(dovecot, user, tls_context))
    assert listed_uids(dovecot, user, tls_context) == before


def test_uidl_stable_with_new_mail(
    dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext
) -> None:
    before = listed_uids(dovecot, user, tls_context)
    dovecot.deliver(user, [make_bounce(6)])
    after = listed_uids(dovecot, user, tls_context)
    assert after[:5] == before
    assert len(after) == 6


def test_async_poll(dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext) -> None:
    async def poll() -> tuple[list[str], frozenset[str]]:
        box = await AsyncPop3Mailbox.open(
            HOST,
            user,
            PASSWORD,
            port=dovecot.pop3_port,
            security="starttls",
            ssl_context=tls_context,
            timeout=20,
        )
        ids = []
        async with box:
            async for item in box.iter_messages():
                ids.append(parse(item.data or b"").original_message_id or "")
                box.mark_deleted(item.uid)
            result = await box.commit()
        return ids, result.deleted

    ids, deleted = asyncio.run(poll())
    assert ids == [original_message_id(n) for n in range(1, 6)]
    assert len(deleted) == 5
    assert listed_uids(dovecot, user, tls_context) == []


def test_async_client_headers(
    dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext
) -> None:
    async def headers() -> list[bytes]:
        client = await AsyncPop3Client.connect(
            HOST, dovecot.pop3s_port, ssl_context=tls_context, timeout=20
        )
        await client.login(user, PASSWORD)
        found = [data async for _, data in client.fetch_many([1, 2], headers_only=True)]
        await client.quit()
        return [data for data in found if isinstance(data, bytes)]

    found = asyncio.run(headers())
    assert len(found) == 2
    assert all(data.endswith(b"\r\n\r\n") for data in found)


def scan(dovecot: DovecotServer, user: str, *options: str) -> list[dict[str, object]]:
    """Run ``bouncekit scan`` on the user's mailbox and return its JSON records."""
    url = f"pop3s://{user}@{HOST}:{dovecot.pop3s_port}"
    argv = ["scan", url, "--format", "jsonl", "--ca-file", str(dovecot.ca_file), *options]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOUNCEKIT_POP3_PASSWORD", PASSWORD)
        out = StringIO()
        patch.setattr("sys.stdout", out)
        _cli.main(argv)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_cli_scan_keep_seen(
    dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext, tmp_path: object
) -> None:
    seen = f"{tmp_path}/seen.txt"
    first = scan(dovecot, user, "--keep-seen", seen)
    dovecot.deliver(user, [make_bounce(6)])
    second = scan(dovecot, user, "--keep-seen", seen)
    uids = listed_uids(dovecot, user, tls_context)
    base = f"pop3s://{user}@{HOST}:{dovecot.pop3s_port}"
    assert [record["source"] for record in first] == [f"{base}/{uid}" for uid in uids[:5]]
    assert [record["original_message_id"] for record in second] == [original_message_id(6)]
    assert len(uids) == 6


def test_cli_scan_delete(
    dovecot: DovecotServer,
    user: str,
    tls_context: ssl.SSLContext,
    capsys: pytest.CaptureFixture[str],
) -> None:
    records = scan(dovecot, user, "--delete")
    assert len(records) == 5
    assert all(record["error"] is None for record in records)
    assert records[0]["recipients"][0]["address"] == recipient(1)  # type: ignore[index]
    assert listed_uids(dovecot, user, tls_context) == []
    assert f"deleted 5 message(s) from {user}@" in capsys.readouterr().err


PERSONAL_REPLY = (
    b"From: Lena <lena@example.net>\r\nTo: bounces@example.com\r\n"
    b"Subject: Re: Spring news\r\nMessage-ID: <reply-1@example.net>\r\n\r\n"
    b"Please call me about the order.\r\n"
)


def test_cli_delete_keeps_non_bounces(
    dovecot: DovecotServer, tls_context: ssl.SSLContext, capsys: pytest.CaptureFixture[str]
) -> None:
    name = dovecot.add_user()
    dovecot.deliver(name, [make_bounce(1), PERSONAL_REPLY, make_bounce(2)])
    records = scan(dovecot, name, "--delete")
    kinds = [record["kind"] for record in records]
    assert kinds == ["dsn", "not_bounce", "dsn"]
    with open_box(dovecot, name, tls_context) as box:
        left = [box.fetch(info.uid) for info in box.list_messages()]
        box.commit()
    assert len(left) == 1
    assert b"Please call me" in left[0]
    assert "kept 1 that are not bounces" in capsys.readouterr().err


def test_secrets_not_logged(
    dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bouncekit")
    with Pop3Client.connect(
        HOST, dovecot.pop3s_port, ssl_context=tls_context, timeout=20
    ) as client:
        client.login(user, PASSWORD)
        client.quit()
    with Pop3Client.connect(
        HOST, dovecot.pop3s_port, ssl_context=tls_context, timeout=20
    ) as client:
        client.auth_xoauth2(OAUTH_USER, OAUTH_TOKEN)
        client.quit()
    assert f"as {user!r} with USER/PASS" in caplog.text
    assert PASSWORD not in caplog.text
    assert OAUTH_TOKEN[:40] not in caplog.text


def test_cli_plain_url_needs_starttls(
    dovecot: DovecotServer, user: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"pop3://{user}@{HOST}:{dovecot.pop3_port}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOUNCEKIT_POP3_PASSWORD", PASSWORD)
        status = _cli.main(["scan", url, "--format", "jsonl"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert "add --starttls" in captured.err


def test_cli_starttls_scan(dovecot: DovecotServer, user: str) -> None:
    url = f"pop3://{user}@{HOST}:{dovecot.pop3_port}"
    argv = ["scan", url, "--starttls", "--format", "jsonl", "--ca-file", str(dovecot.ca_file)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOUNCEKIT_POP3_PASSWORD", PASSWORD)
        out = StringIO()
        patch.setattr("sys.stdout", out)
        status = _cli.main(argv)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert status == 0
    assert [r["original_message_id"] for r in records] == [
        original_message_id(n) for n in range(1, 6)
    ]


def test_cli_password_in_url_rejected(capsys: pytest.CaptureFixture[str]) -> None:
    status = _cli.main(["scan", f"pop3s://bounces:hunter2@{HOST}:1", "--format", "jsonl"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert "not accepted" in captured.err
    assert "hunter2" not in captured.err


@pytest.mark.parametrize("port", ["99999", "abc", "0"])
def test_cli_invalid_port_reported(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = _cli.main(["scan", f"pop3s://bounces@{HOST}:{port}", "--format", "jsonl"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    assert "invalid port" in captured.err


def test_cli_delete_output_closed_early(
    dovecot: DovecotServer, user: str, tls_context: ssl.SSLContext
) -> None:
    """A reader that stops after one record (``| head -1``) leaves every message on the server."""
    url = f"pop3s://{user}@{HOST}:{dovecot.pop3s_port}"
    command = [sys.executable, "-m", "bouncekit", "scan", url, "--format", "jsonl", "--delete"]
    command += ["--ca-file", str(dovecot.ca_file)]
    environment = {**os.environ, "BOUNCEKIT_POP3_PASSWORD": PASSWORD}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()
        errors = process.stderr.read().decode()
        status = process.wait(timeout=60)
    assert json.loads(first)["error"] is None
    assert status == 1
    assert "no message was deleted from the mailbox being read" in errors
    assert len(listed_uids(dovecot, user, tls_context)) == 5
