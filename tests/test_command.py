"""The SMTP command a remote server replied to, read from diagnostics and notices."""

from __future__ import annotations

import pytest

import bouncekit
from bouncekit._command import command_in_notice, find_command
from bouncekit.rules import classify


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("550 5.1.1 <pat@example.net>: User unknown (in reply to RCPT TO command)", "RCPT"),
        ("550 Unknown user pat@example.net (in reply to end of DATA command)", "DATA"),
        ("554 Sender rejected (in reply to MAIL FROM command)", "MAIL"),
        ("SMTP error from remote mail server after RCPT TO:<pat@example.net>: 550 No", "RCPT"),
        ("SMTP error from remote mail server after end of data: 550 User unknown", "DATA"),
        ("SMTP error from remote mail server after initial connection: 554 Go away", "CONNECT"),
        ("SMTP error from remote server after RCPT command: host: mx 550 No", "RCPT"),
        ("192.0.2.1 does not like recipient. Remote host said: 550 No such user", "RCPT"),
        ("Connected to 192.0.2.1 but sender was rejected. Remote host said: 553 No", "MAIL"),
        ("192.0.2.1 failed after I sent the message. Remote host said: 554 Spam", "DATA"),
        ("mx.example.net did not like our RCPT TO: 550 5.1.1 Unknown", "RCPT"),
        ("550 5.1.1 <pat@example.net>... User Unknown [RCPT_TO]", "RCPT"),
        (">>> DATA <<< 550 5.0.0 <pat@example.net>... User unknown", "DATA"),
        (">>> MAIL From:<a@example.com> >>> RCPT To:<pat@example.net> <<< 550 No", "RCPT"),
    ],
)
def test_find_command(text: str, command: str) -> None:
    assert find_command(text) == command


@pytest.mark.parametrize(
    "text",
    [
        "550 5.1.1 User unknown",
        "",
        # A summary of the returned message, not a command sent to a server.
        "RCPT TO: pat@example.net From: news@example.com Size (in bytes): 39",
        ">>> DATA without any failure reply",
    ],
)
def test_find_command_none(text: str) -> None:
    assert find_command(text) is None


SENDMAIL_TRANSCRIPT = """\
   ----- Transcript of session follows -----
While talking to mx.example.org:
>>> DATA
<<< 550 Message rejected
554 <one@example.org>... Service unavailable
550 example.net (smtp)... 550 Host unknown
554 <two@example.net>... 550 Host unknown (Authoritative answer from name server)
While talking to mx.example.com:
>>> RCPT To:<three@example.com>
<<< 550 Requested mailbox not found
550 <three@example.com>... User unknown
"""


@pytest.mark.parametrize(
    ("address", "command"),
    [
        ("three@example.com", "RCPT"),
        # A summary line about another host does not take the DATA sent before it.
        ("two@example.net", None),
        ("nobody@example.com", None),
    ],
)
def test_command_in_transcript(address: str, command: str | None) -> None:
    assert command_in_notice(address, SENDMAIL_TRANSCRIPT) == command


def test_command_in_notice_wording_near_address() -> None:
    notice = (
        "<pat@example.net>: host mx.example.net[192.0.2.7] said: 550 User unknown\n"
        "    (in reply to RCPT TO command)\n"
        "\n"
        "<kim@example.org>: host mx.example.org[192.0.2.8] said: 550 Spam\n"
        "    (in reply to end of DATA command)\n"
    )

    assert command_in_notice("pat@example.net", notice) == "RCPT"
    assert command_in_notice("kim@example.org", notice) == "DATA"


POSTFIX_DATA_DSN = b"""\
From: MAILER-DAEMON@mail.example.com (Mail Delivery System)
To: news@example.com
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

<pat@example.net>: host mx.example.net[192.0.2.7] said: 550 Unknown user
    pat@example.net (in reply to end of DATA command)

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.com

Final-Recipient: rfc822; pat@example.net
Action: failed
Status: 5.0.0
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 Unknown user pat@example.net

--b1
Content-Type: text/rfc822-headers

From: News <news@example.com>
To: pat@example.net
Message-ID: <issue-7@example.com>

--b1--
"""


def test_dsn_command_from_notice_text() -> None:
    (recipient,) = bouncekit.parse(POSTFIX_DATA_DSN).recipients

    assert recipient.command == "DATA"


def test_dsn_user_unknown_after_data_not_hard() -> None:
    (verdict,) = classify(bouncekit.parse(POSTFIX_DATA_DSN))

    assert verdict.reason is bouncekit.Reason.FILTERED
    assert verdict.bounce_type is bouncekit.BounceType.SOFT
    assert verdict.rule == "command-data-user-unknown"


def test_dsn_user_unknown_after_rcpt_hard() -> None:
    message = POSTFIX_DATA_DSN.replace(b"end of DATA command", b"RCPT TO command")
    (verdict,) = classify(bouncekit.parse(message))

    assert verdict.reason is bouncekit.Reason.USER_UNKNOWN
    assert verdict.bounce_type is bouncekit.BounceType.HARD


EXIM_NOTICE = b"""\
From: Mail Delivery System <Mailer-Daemon@mx.example.com>
To: news@example.com
Subject: Mail delivery failed: returning message to sender
X-Failed-Recipients: pat@example.net
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  pat@example.net
    SMTP error from remote mail server after RCPT TO:<pat@example.net>:
    host mx.example.net [192.0.2.7]: 550 No such user here

------ This is a copy of the message, including all the headers. ------

From: News <news@example.com>
To: pat@example.net
Message-ID: <issue-8@example.com>
Subject: Offers
"""


def test_non_standard_command() -> None:
    (recipient,) = bouncekit.parse(EXIM_NOTICE).recipients

    assert recipient.command == "RCPT"


def test_non_standard_without_stage_not_hard() -> None:
    message = EXIM_NOTICE.replace(
        b"SMTP error from remote mail server after RCPT TO:<pat@example.net>:\n", b""
    )
    (verdict,) = classify(bouncekit.parse(message))

    assert verdict.reason is bouncekit.Reason.FILTERED
    assert verdict.bounce_type is bouncekit.BounceType.SOFT
