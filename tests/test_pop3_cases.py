"""
Reported POP3 failures of other bounce processors, as sessions of a scripted server.

Two kinds: a server that responds with a bare ``+OK`` or ``-ERR`` (RFC 1939
section 3 makes the text optional, and CAPA is optional), and a bounce with a
line longer than 2048 octets plus lines that start with a dot. In both, the
poll must complete, every message must parse, and QUIT must delete exactly
the messages marked.
"""

from __future__ import annotations

import json

import pytest

from bouncekit import BounceType, Reason, parse
from bouncekit.mailbox import Pop3Mailbox
from bouncekit.pop3 import Pop3Client
from bouncekit.rules import RuleSet
from conftest import SHARED
from fake_pop3 import FakePop3Server, err, multi_line, ok, transcript_answers

SHARED_CASES = SHARED / "cases"


def dsn(recipient: str, message_id: str, returned_body: bytes = b"<p>Hello</p>\r\n") -> bytes:
    """Return a small RFC 3464 bounce for *recipient* that returns the message *message_id*."""
    return (
        b"Return-Path: <>\r\n"
        b"From: MAILER-DAEMON@mta.example.org (Mail Delivery System)\r\n"
        b"To: bounces@example.com\r\n"
        b"Subject: Undelivered Mail Returned to Sender\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n'
        b"\r\n"
        b"--b1\r\n"
        b"Content-Type: text/plain\r\n"
        b"\r\n"
        b"<" + recipient.encode() + b">: 550 5.1.1 user unknown\r\n"
        b"\r\n"
        b"--b1\r\n"
        b"Content-Type: message/delivery-status\r\n"
        b"\r\n"
        b"Reporting-MTA: dns; mta.example.org\r\n"
        b"\r\n"
        b"Final-Recipient: rfc822; " + recipient.encode() + b"\r\n"
        b"Action: failed\r\n"
        b"Status: 5.1.1\r\n"
        b"Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        b"\r\n"
        b"--b1\r\n"
        b"Content-Type: message/rfc822\r\n"
        b"\r\n"
        b"Message-ID: " + message_id.encode() + b"\r\n"
        b"From: Example News <news@example.com>\r\n"
        b"To: " + recipient.encode() + b"\r\n"
        b"Subject: News\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n"
        b"\r\n" + returned_body + b"\r\n"
        b"--b1--\r\n"
    )


def poll_and_delete(port: int) -> dict[str, bytes]:
    """Read every message, mark each one that parses as a bounce, and commit."""
    client = Pop3Client.connect(
        "127.0.0.1", port, security="plain", allow_plaintext_auth=True, timeout=5
    )
    client.login("bounces", "s3cret-not-real")
    box = Pop3Mailbox(client)
    messages = {}
    for item in box.iter_messages():
        assert item.data is not None, item.error
        messages[item.uid] = item.data
        if parse(item.data).is_bounce:
            box.mark_deleted(item.uid)
    box.commit()
    return messages


def check_hard_user_unknown(data: bytes, address: str, message_id: str) -> None:
    bounce = parse(data)
    [recipient] = bounce.recipients
    assert recipient.address == address
    assert str(recipient.status) == "5.1.1"
    assert bounce.original_message_id == message_id
    verdict = RuleSet.default().classify_recipient(bounce, recipient)
    assert (verdict.bounce_type, verdict.reason) == (BounceType.HARD, Reason.USER_UNKNOWN)


def test_bare_status_lines_poll() -> None:
    data = dsn("ruth.hale@example.net", "<n-2021-11-rh@example.com>")
    answers = {
        "CAPA": err(),
        "USER": ok(),
        "PASS": ok(),
        "UIDL": multi_line("", b"1 00000001.b7c2\r\n"),
        "LIST": multi_line("", f"1 {len(data)}\r\n".encode()),
        "RETR 1": multi_line(f"{len(data)} octets", data),
        "DELE 1": ok(),
        "QUIT": ok(),
    }
    with FakePop3Server(answers, greeting=b"+OK POP3 server ready\r\n") as server:
        messages = poll_and_delete(server.port)
    assert server.commands[-2:] == ["DELE 1", "QUIT"]
    check_hard_user_unknown(
        messages["00000001.b7c2"], "ruth.hale@example.net", "<n-2021-11-rh@example.com>"
    )


def test_long_line_and_dots_poll() -> None:
    wide = (
        b"<table><tr>" + b"".join(b"<td>item %04d</td>" % i for i in range(480)) + b"</tr></table>"
    )
    body = wide + b"\r\n.hidden line that starts with a dot\r\n.\r\n<p>end</p>"
    first = dsn("omar.qureshi@example.net", "<promo-wide-table@example.com>", body)
    second = dsn("bea.costa@example.net", "<promo-small@example.com>")
    answers = {
        "CAPA": multi_line("", b"UIDL\r\nTOP\r\nUSER\r\n"),
        "USER": ok("user ok"),
        "PASS": ok("logged in"),
        "UIDL": multi_line("", b"1 uid-0001\r\n2 uid-0002\r\n"),
        "LIST": multi_line("", f"1 {len(first)}\r\n2 {len(second)}\r\n".encode()),
        "RETR 1": multi_line("", first),
        "RETR 2": multi_line("", second),
        "DELE": ok("marked"),
        "QUIT": ok("bye"),
    }
    with FakePop3Server(answers) as server:
        messages = poll_and_delete(server.port)
    lines = messages["uid-0001"].split(b"\r\n")
    assert wide in lines
    assert len(wide) > 2048
    assert b".hidden line that starts with a dot" in lines
    assert b"." in lines
    assert server.commands[-3:] == ["DELE 1", "DELE 2", "QUIT"]
    check_hard_user_unknown(
        messages["uid-0001"], "omar.qureshi@example.net", "<promo-wide-table@example.com>"
    )
    check_hard_user_unknown(
        messages["uid-0002"], "bea.costa@example.net", "<promo-small@example.com>"
    )


@pytest.mark.corpus
@pytest.mark.parametrize(
    "case", ["17-pop3-bare-ok-and-err-status-lines", "18-pop3-message-line-longer-than-2048"]
)
def test_shared_transcript_replay(case: str) -> None:
    folder = SHARED_CASES / case
    if not folder.is_dir():
        pytest.skip(
            f"the reported-failure cases are not at {folder}; set BOUNCEKIT_SHARED_DIR to their folder"
        )
    greeting, answers = transcript_answers(folder / "pop3.txt")
    # The transcripts leave out LIST, which the mailbox sends for the sizes.
    retrieved = sorted(key for key in answers if key.startswith("RETR "))
    listing = "".join(f"{key[5:]} {len(answers[key])}\r\n" for key in retrieved)
    answers.setdefault("LIST", multi_line("", listing.encode()))
    expected = json.loads((folder / "expected.json").read_text())
    with FakePop3Server(answers, greeting=greeting) as server:
        client = Pop3Client.connect(
            "127.0.0.1", server.port, security="plain", allow_plaintext_auth=True, timeout=5
        )
        client.login("bounces", "s3cret-not-real")
        box = Pop3Mailbox(client)
        items = list(box.iter_messages())
        numbers = {uid: index for index, uid in enumerate(client.uidl().values(), start=1)}
        for item in items:
            box.mark_deleted(item.uid)
        box.commit()
    assert sorted(numbers[item.uid] for item in items) == expected["pop3"]["retrieved"]
    assert "QUIT" in server.commands
    for number, want in expected["messages"].items():
        [item] = [item for item in items if numbers[item.uid] == int(number)]
        assert item.data is not None
        bounce = parse(item.data)
        assert bounce.original_message_id == want["original_message_id"]
        got = [
            (r.address, str(r.status), RuleSet.default().classify_recipient(bounce, r).reason.value)
            for r in bounce.recipients
        ]
        assert got == [(r["address"], r["status"], r["reason"]) for r in want["recipients"]]
