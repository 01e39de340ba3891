"""
Failure notices in mail servers' own layouts, ARF complaints and auto-replies.

Each sample is a minimal notice in the layout of one server, written for
these tests: the marker lines the server writes, one or two failed addresses,
and a quoted copy of the original message.
"""

from __future__ import annotations

import json

import pytest

import bouncekit
from bouncekit import Action, BounceKind, BounceType, Reason
from bouncekit._format_table import DSN_WRITERS
from bouncekit.rules import RuleSet


def notice(
    body: str,
    *,
    sender: str = "MAILER-DAEMON@mx.example.org",
    subject: str = "failure notice",
    extra: str = "",
    content_type: str = "text/plain; charset=us-ascii",
) -> bytes:
    """Return a one-part message from *sender* with *body*, LF line endings."""
    return (
        f"From: {sender}\n"
        "To: news@example.com\n"
        f"Subject: {subject}\n"
        "Message-ID: <the-notice-itself@mx.example.org>\n"
        f"{extra}"
        "MIME-Version: 1.0\n"
        f"Content-Type: {content_type}\n"
        "\n"
        f"{body}"
    ).encode()


ORIGINAL = """\
Received: from app.example.com (app.example.com [192.0.2.10])
\tby mx.example.org with ESMTP id 1A2B3C
Message-ID: <spring-42.kai@example.com>
From: News <news@example.com>
To: kai@example.net
Subject: Spring news
X-Campaign-Id: spring-42
"""

QMAIL = f"""\
Hi. This is the qmail-send program at mx.example.org.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<kai@example.net>:
192.0.2.20 does not like recipient.
Remote host said: 550 5.1.1 <kai@example.net>: no mailbox by that name
Giving up on 192.0.2.20.

--- Below this line is a copy of the message.

{ORIGINAL}
Hello.
"""

POSTFIX = f"""\
This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

                   The mail system

<kai@example.net>: host mx.example.net[192.0.2.20] said: 550
    5.1.1 <kai@example.net>: Recipient address rejected: User unknown (in reply
    to RCPT TO command)

------ Undelivered message headers follow ------

{ORIGINAL}"""

EXIM = f"""\
This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  kai@example.net
    host mx.example.net [192.0.2.20]
    SMTP error from remote mail server after RCPT TO:<kai@example.net>:
    550 5.2.1 The mailbox is disabled
  zoe@example.net
    Unrouteable address

------ This is a copy of the message, including all the headers. ------

{ORIGINAL}
Hello.
"""

SENDMAIL = f"""\
The original message was received at Tue, 5 Mar 2024 10:00:00 +0000
from app.example.com [192.0.2.10]

   ----- The following addresses had permanent fatal errors -----
<kai@example.net>
    (reason: 552 5.2.2 Mailbox full)

   ----- Transcript of session follows -----
... while talking to mx.example.net.:
>>> RCPT To:<kai@example.net>
<<< 552 5.2.2 Mailbox full

   ----- Original message follows -----

{ORIGINAL}"""

GMAIL = f"""\
Delivery to the following recipient failed permanently:

     kai@example.net

Technical details of permanent failure:
The server for example.net returned this error:
550 5.1.1 The email account that you tried to reach does not exist.

----- Original message -----

{ORIGINAL}"""

EXCHANGE2003 = """\
Your message

  To:      kai@example.net
  Subject: Spring news

did not reach the following recipient(s):

kai@example.net on Tue, 5 Mar 2024 10:00:00 +0000
    The e-mail account does not exist at the organization this message was sent to.
    <mx.example.net #5.1.1>
"""

OFFICE365 = f"""\
Delivery has failed to these recipients or groups:

kai@example.net<mailto:kai@example.net>
The email address you entered couldn't be found.

Diagnostic information for administrators:

Generating server: mx.example.net

kai@example.net
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found'

Original message headers:

{ORIGINAL}"""

DOMINO = """\
Your message

  Subject: Spring news

was not delivered to:

  kai@example.net

because:

  User kai (kai@example.net) not listed in Domino Directory
"""

DRAGONFLY = f"""\
This is the DragonFly Mail Agent v0.13 at mx.example.org.

There was an error delivering your mail to <kai@example.net>.

mx.example.net [192.0.2.20] did not like our RCPT TO:
550 5.1.1 <kai@example.net>: Recipient address rejected

Message headers follow.

{ORIGINAL}"""

OPENSMTPD = f"""\
    Hi!

    This is the MAILER-DAEMON, please DO NOT REPLY to this email.

    An error has occurred while attempting to deliver a message for
    the following list of recipients:

kai@example.net: 550 5.7.1 Message rejected as spam

    Below is a copy of the original message:

{ORIGINAL}"""

KDDI = """\
Your mail sent on: Tue, 5 Mar 2024 10:00:00 +0900
     Could not be delivered to: <kai@ezweb.example.ne.jp>
     As their mailbox is full.
"""

VERIZON = """\
Error: Invalid user address

Error message below:
550 - Requested action not taken: no such user here

Message details:
  Subject: Spring news
  MAIL FROM: news@example.com
  RCPT TO: 5550100@vtext.com
  From: news@example.com
"""

OLD_SENDMAIL = f"""\
   ----- Transcript of session follows -----
550 mx.example.net (smtp)... 550 Host unknown
554 <kai@example.net>... 550 Host unknown (Authoritative answer from name server)
While talking to mx.example.org:
>>> RCPT To:<zoe@example.org>
<<< 550 No such user here
550 <zoe@example.org>... User unknown

   ----- Unsent message follows -----
{ORIGINAL}"""

TEXT_SAMPLES = [
    # (name, body, sender, subject, expected format, [(address, status, reply code)])
    (
        "qmail",
        QMAIL,
        "MAILER-DAEMON@mx.example.org",
        "failure notice",
        "qmail",
        [("kai@example.net", "5.1.1", "550")],
    ),
    (
        "postfix",
        POSTFIX,
        "MAILER-DAEMON@mx.example.org",
        "Undelivered Mail Returned to Sender",
        "postfix",
        [("kai@example.net", "5.1.1", "550")],
    ),
    (
        "exim",
        EXIM,
        "Mail Delivery System <Mailer-Daemon@mx.example.org>",
        "Mail delivery failed",
        "exim",
        [("kai@example.net", "5.2.1", "550"), ("zoe@example.net", "5.0.0", None)],
    ),
    (
        "sendmail",
        SENDMAIL,
        "Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>",
        "Returned mail",
        "sendmail",
        [("kai@example.net", "5.2.2", "552")],
    ),
    (
        "old-sendmail",
        OLD_SENDMAIL,
        "Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>",
        "Returned mail: Host unknown",
        "sendmail",
        [("kai@example.net", "5.0.0", "554"), ("zoe@example.org", "5.0.0", "550")],
    ),
    (
        "gmail",
        GMAIL,
        "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "Delivery Status Notification (Failure)",
        "gmail",
        [("kai@example.net", "5.1.1", "550")],
    ),
    (
        "exchange2003",
        EXCHANGE2003,
        "System Administrator <postmaster@example.net>",
        "Undeliverable: Spring news",
        "exchange2003",
        [("kai@example.net", "5.1.1", None)],
    ),
    (
        "office365",
        OFFICE365,
        "postmaster@example.net",
        "Undeliverable: Spring news",
        "office365",
        [("kai@example.net", "5.1.10", "550")],
    ),
    (
        "domino",
        DOMINO,
        "Postmaster@example.net",
        "DELIVERY FAILURE: User kai not listed",
        "domino",
        [("kai@example.net", "5.0.0", None)],
    ),
    (
        "dragonfly",
        DRAGONFLY,
        "MAILER-DAEMON <>",
        "Mail delivery failed",
        "dragonfly",
        [("kai@example.net", "5.1.1", "550")],
    ),
    (
        "opensmtpd",
        OPENSMTPD,
        "Mailer Daemon <MAILER-DAEMON@mx.example.org>",
        "Delivery status notification: error",
        "opensmtpd",
        [("kai@example.net", "5.7.1", "550")],
    ),
    (
        "kddi",
        KDDI,
        "no-reply@ezweb.ne.jp",
        "=?ISO-2022-JP?B?GyRCJUEbKEI=?=",
        "kddi",
        [("kai@ezweb.example.ne.jp", "5.0.0", None)],
    ),
    (
        "verizon",
        VERIZON,
        "post_master@vtext.com",
        "Re:Spring news",
        "verizon",
        [("5550100@vtext.com", "5.0.0", "550")],
    ),
]


# Layouts recognised by a sentence or a sender: (name, body, sender, subject,
# expected format, [(address, status, reply code)]).
MORE_SAMPLES = [
    (
        "yahoo",
        "Sorry, we were unable to deliver your message to the following address.\n\n"
        "<kai@example.net>:\nRemote host said: 550 5.1.1 <kai@example.net>: unknown [RCPT_TO]\n",
        "MAILER-DAEMON@yahoo.example.com",
        "Failure Notice",
        "yahoo",
        [("kai@example.net", "5.1.1", "550")],
    ),
    (
        "googlegroups",
        "The group you tried to contact (news) may not exist, or you may not have permission"
        " to post messages to the group.\n\nGoogle Groups\n",
        "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "Delivery Status Notification (Failure)",
        "googlegroups",
        [("news@googlegroups.com", "5.0.0", None)],
    ),
    (
        "amazonworkmail",
        "An error occurred while trying to deliver the mail to the following recipients:\n"
        "kai@example.net\n\nTechnical report:\n\nAction: failed\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <kai@example.net>... User Unknown\nStatus: 5.1.1\n",
        "MAILER-DAEMON@us-west-2.amazonses.com",
        "Delivery Status Notification (Failure)",
        "amazonworkmail",
        [("kai@example.net", "5.1.1", "550")],
    ),
    (
        "mfilter",
        "kai@example.net\n\n-------server message\n550 unknown user <kai@example.net>\n\n"
        "-------SMTP command\nRCPT TO\n",
        "POSTMASTER <postmaster@example.net>",
        "failure notice",
        "mfilter",
        [("kai@example.net", "5.0.0", "550")],
    ),
    (
        "notes",
        "------- Failure Reasons  --------\n\nUser not listed\nkai@example.net\n\n"
        "------- Returned Message --------\n" + ORIGINAL,
        "postmaster@example.net",
        "Undeliverable message",
        "notes",
        [("kai@example.net", "5.0.0", None)],
    ),
    (
        "mailfoundry",
        "Unable to deliver message to: <kai@example.net>\n"
        "Delivery failed for the following reason:\n"
        "Server mx.example.net[192.0.2.20] failed with: 550 <kai@example.net> No such user here\n",
        "MAILER-DAEMON@example.org",
        "Message delivery has failed",
        "mailfoundry",
        [("kai@example.net", "5.0.0", "550")],
    ),
    (
        "mailmarshal",
        "Your message:\n   Subject: Spring news\n\nCould not be delivered because of\n\n"
        "550 5.1.1 User unknown\n\nThe following recipients were affected:\n    kai@example.net\n",
        "postmaster@example.net",
        'Undeliverable Mail: "Spring news"',
        "mailmarshal",
        [("kai@example.net", "5.1.1", "550")],
    ),
    (
        "interscanmss",
        "Sent <<< RCPT TO:<kai@example.net>\nReceived >>> 550 5.1.1 <kai@example.net>... user unknown\n",
        '"InterScan MSS" <postmaster@example.org>',
        "Undeliverable",
        "interscanmss",
        [("kai@example.net", "5.1.1", "550")],
    ),
    (
        "mimecast",
        "An email that you attempted to send to the following address could not be delivered:\n"
        "-- kai@example.net\n\nThe problem appears to be :\n-- Recipient email address is"
        " possibly incorrect\n\nAdditional information follows :\n-- 5.4.1 Recipient address"
        " rejected: Access denied.\n",
        '"postmaster" <postmaster@example.org>',
        "[Postmaster] Email Delivery Failure",
        "mimecast",
        [("kai@example.net", "5.4.1", None)],
    ),
    (
        "biglobe",
        "   ----- The following addresses had delivery problems -----\nkai@example.net\n\n"
        "   ----- Non-delivered information -----\nThe mailbox is full.\n",
        "postmaster@biglobe.ne.jp",
        "Returned mail: Service unavailable",
        "biglobe",
        [("kai@example.net", "5.0.0", None)],
    ),
    (
        "ezweb",
        "<kai@ezweb.ne.jp>\nEach of the following recipients was rejected by a remote mail server.\n",
        "<Postmaster@ezweb.ne.jp>",
        "Mail System Error - Returned Mail",
        "ezweb",
        [("kai@ezweb.ne.jp", "5.0.0", None)],
    ),
    ("gmx", EXIM, "MAILER-DAEMON@mail.gmx.net", "Mail delivery failed", "gmx", None),
    ("mailru", EXIM, "mailer-daemon@corp.mail.ru", "Mail failure", "mailru", None),
    ("zoho", EXIM, "mailer-daemon@mail.zoho.com", "Undelivered Mail", "zoho", None),
    (
        "mxlogic",
        EXIM,
        "MAILER-DAEMON@relay0.mxl8.example.net",
        "Mail delivery failed",
        "mxlogic",
        None,
    ),
    (
        "einsundeins",
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of\nits recipients."
        " This is a permanent error.\n\nThe following address failed:\n\nkai@example.net\n\n"
        "For the following reason:\n\nMail size limit exceeded.\n",
        '"Mail Delivery System" <mailer-daemon@kundenserver.example.de>',
        "Mail delivery failed: returning message to sender",
        "einsundeins",
        [("kai@example.net", "5.0.0", None)],
    ),
    (
        "fml",
        "You are not a member of this mailing list <news-list@example.org>.\n",
        "news-list-admin@example.org",
        "You kai@example.net are not member (news ML)",
        "fml",
        [("news-list@example.org", "5.0.0", None)],
    ),
    (
        "apachejames",
        "Error: Invalid user address\n\nError message below:\n550 - no such user here\n\n"
        "Message details:\n  Subject: Spring news\n  MAIL FROM: news@example.com\n"
        "  RCPT TO: kai@example.net\n",
        "post_master@example.net",
        "Re:Spring news",
        "apachejames",
        [("kai@example.net", "5.0.0", "550")],
    ),
]


@pytest.mark.parametrize(
    ("body", "sender", "subject", "name", "expected"),
    [sample[1:] for sample in MORE_SAMPLES],
    ids=[sample[0] for sample in MORE_SAMPLES],
)
def test_more_layouts(
    body: str,
    sender: str,
    subject: str,
    name: str,
    expected: list[tuple[str, str, str | None]] | None,
) -> None:
    extra = "X-Failed-Recipients: news@googlegroups.com\n" if name == "googlegroups" else ""
    bounce = bouncekit.parse(notice(body, sender=sender, subject=subject, extra=extra))
    got = [(r.address, str(r.status), r.reply_code) for r in bounce.recipients]
    assert bounce.format == name
    if expected is not None:
        assert got == expected


def test_activehunter_by_field() -> None:
    raw = notice(SENDMAIL, extra="X-AHMAILID: 20240305T100000+0900-0000\n")
    assert bouncekit.parse(raw).format == "activehunter"


def test_hotmail_complaint() -> None:
    raw = (
        "From: staff@hotmail.com\nTo: abuse@example.com\n"
        "Subject: complaint about message from 192.0.2.10\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="H"\n\n'
        "--H\nContent-Type: message/rfc822\n\nX-HmXmrOriginalRecipient: kai@example.net\n"
        f"{ORIGINAL}\nHello.\n--H--\n"
    ).encode()
    bounce = bouncekit.parse(raw)
    assert (bounce.kind, [r.address for r in bounce.recipients], bounce.feedback_type) == (
        BounceKind.COMPLAINT,
        ["kai@example.net"],
        "abuse",
    )


def test_apple_unsubscribe_is_opt_out() -> None:
    raw = notice(
        "Apple Mail sent this email to unsubscribe.\n",
        sender="kai@example.net",
        subject="unsubscribe",
        extra="X-Apple-Unsubscribe: true\n",
    )
    bounce = bouncekit.parse(raw)
    assert (bounce.kind, [r.address for r in bounce.recipients], bounce.feedback_type) == (
        BounceKind.COMPLAINT,
        ["kai@example.net"],
        "opt-out",
    )


@pytest.mark.parametrize(
    ("body", "sender", "subject", "name", "expected"),
    [sample[1:] for sample in TEXT_SAMPLES],
    ids=[sample[0] for sample in TEXT_SAMPLES],
)
def test_text_notice_recipients(
    body: str, sender: str, subject: str, name: str, expected: list[tuple[str, str, str | None]]
) -> None:
    bounce = bouncekit.parse(notice(body, sender=sender, subject=subject))
    got = [(r.address, str(r.status), r.reply_code) for r in bounce.recipients]
    assert got == expected


@pytest.mark.parametrize(
    ("body", "sender", "subject", "name"),
    [sample[1:5] for sample in TEXT_SAMPLES],
    ids=[sample[0] for sample in TEXT_SAMPLES],
)
def test_text_notice_format(body: str, sender: str, subject: str, name: str) -> None:
    bounce = bouncekit.parse(notice(body, sender=sender, subject=subject))
    assert (bounce.kind, bounce.format) == (BounceKind.NON_STANDARD, name)


@pytest.mark.parametrize(
    "body",
    [QMAIL, POSTFIX, EXIM, SENDMAIL, GMAIL, OFFICE365, DRAGONFLY, OPENSMTPD],
    ids=lambda b: b[:12],
)
def test_text_notice_original_headers(body: str) -> None:
    bounce = bouncekit.parse(notice(body))
    assert bounce.original_message_id == "<spring-42.kai@example.com>"
    assert bounce.original_headers.get("X-Campaign-Id") == "spring-42"


def test_text_notice_diagnostic_is_joined() -> None:
    (recipient,) = bouncekit.parse(notice(POSTFIX)).recipients
    assert recipient.diagnostic == (
        "host mx.example.net[192.0.2.20] said: 550 5.1.1 <kai@example.net>: Recipient address"
        " rejected: User unknown (in reply to RCPT TO command)"
    )


def test_text_notice_action_failed() -> None:
    (recipient,) = bouncekit.parse(notice(QMAIL)).recipients
    assert recipient.action is Action.FAILED


def test_text_notice_own_message_id_not_used() -> None:
    bounce = bouncekit.parse(
        notice(EXCHANGE2003, sender="postmaster@example.net", subject="Undeliverable")
    )
    assert bounce.original_message_id is None


def test_text_notice_temporary_is_delayed() -> None:
    body = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent has not yet been delivered to one or more of its\n"
        "recipients after more than 24 hours on the queue. The following address(es) failed:\n\n"
        "  kai@example.net\n    retry timeout exceeded\n"
    )
    (recipient,) = bouncekit.parse(notice(body, subject="Warning: message delayed")).recipients
    assert (str(recipient.status), recipient.action) == ("4.0.0", Action.DELAYED)


def test_unknown_layout_from_mailer_daemon() -> None:
    body = "Sorry, we could not deliver your mail.\n\nkai@example.net: 550 no such user\n"
    bounce = bouncekit.parse(notice(body, subject="Returned mail"))
    assert (bounce.format, [r.address for r in bounce.recipients]) == (
        "unknown",
        ["kai@example.net"],
    )


def test_unknown_layout_falls_back_to_returned_to() -> None:
    body = f"Your mail was refused.\n\n--- Original message follows.\n\n{ORIGINAL}"
    bounce = bouncekit.parse(notice(body, subject="Undeliverable mail"))
    assert [r.address for r in bounce.recipients] == ["kai@example.net"]


def test_x_failed_recipients_used_without_text_address() -> None:
    body = "This message was created automatically by mail delivery software.\n\nIt failed.\n"
    raw = notice(body, extra="X-Failed-Recipients: kai@example.net\n")
    assert [r.address for r in bouncekit.parse(raw).recipients] == ["kai@example.net"]


def test_postmaster_notice_without_failure_is_not_bounce() -> None:
    body = "Hello,\n\nYour mailbox settings were updated today.\n\nRegards, the mail team\n"
    raw = notice(body, sender="postmaster@example.net", subject="Settings updated")
    assert bouncekit.parse(raw).kind is BounceKind.NOT_BOUNCE


def test_ordinary_mail_is_not_bounce() -> None:
    raw = notice("Lunch at noon?\n", sender="Kai <kai@example.net>", subject="Lunch")
    bounce = bouncekit.parse(raw)
    assert (bounce.kind, bounce.recipients) == (BounceKind.NOT_BOUNCE, ())


def test_html_only_notice() -> None:
    body = "<html><body><p>Delivery has failed to these recipients or groups:</p><p>kai@example.net</p></body></html>\n"
    raw = notice(
        body, sender="postmaster@example.net", subject="Undeliverable", content_type="text/html"
    )
    assert [r.address for r in bouncekit.parse(raw).recipients] == ["kai@example.net"]


def test_attached_original_message() -> None:
    raw = (
        "From: MAILER-DAEMON@mx.example.org\nTo: news@example.com\nSubject: Returned mail\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nkai@example.net: 550 5.1.1 unknown user\n\n"
        f"--B\nContent-Type: message/rfc822\n\n{ORIGINAL}\nHello.\n--B--\n"
    ).encode()
    bounce = bouncekit.parse(raw)
    assert bounce.original_headers.get("X-Campaign-Id") == "spring-42"


def test_dsn_format_named_after_writer() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\nTo: news@example.com\nSubject: Undelivered\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        b"--B\nContent-Type: text/plain\n\nNot delivered.\n\n"
        b"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n"
        b"X-Postfix-Queue-ID: 1A2B3C\n\nFinal-Recipient: rfc822; kai@example.net\nAction: failed\nStatus: 5.1.1\n\n"
        b"--B--\n"
    )
    assert bouncekit.parse(raw).format == "postfix"


def test_plain_dsn_format_is_rfc3464() -> None:
    raw = (
        b"From: bounces@mx.example.org\nTo: news@example.com\nSubject: Report\n"
        b'MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        b"--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
        b"Final-Recipient: rfc822; kai@example.net\nAction: failed\nStatus: 5.1.1\n\n--B--\n"
    )
    assert bouncekit.parse(raw).format == "rfc3464"


def test_dsn_with_empty_recipient_block() -> None:
    raw = (
        "From: MAILER-DAEMON@mx.example.org\nTo: news@example.com\nSubject: Undelivered\n"
        'MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\n<kai@example.net>: 550 5.1.1 unknown user\n\n"
        "--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
        f"--B\nContent-Type: text/rfc822-headers\n\n{ORIGINAL}\n--B--\n"
    ).encode()
    bounce = bouncekit.parse(raw)
    assert [(r.address, str(r.status)) for r in bounce.recipients] == [("kai@example.net", "5.1.1")]


# ARF feedback reports (RFC 5965).

ARF = f"""\
From: Feedback Loop <fbl@isp.example.net>
To: abuse@example.com
Subject: Abuse report
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report; boundary="F"

--F
Content-Type: text/plain

This is an email abuse report.

--F
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: ExampleFBL/1.0
Version: 1
Original-Rcpt-To: <kai@example.net>

--F
Content-Type: message/rfc822

{ORIGINAL}
Hello.
--F--
"""


def test_arf_is_complaint() -> None:
    bounce = bouncekit.parse(ARF.encode())
    assert (bounce.kind, bounce.format, bounce.feedback_type) == (
        BounceKind.COMPLAINT,
        "arf",
        "abuse",
    )


def test_arf_recipient_from_original_rcpt_to() -> None:
    assert [r.address for r in bouncekit.parse(ARF.encode()).recipients] == ["kai@example.net"]


def test_arf_original_message_id() -> None:
    assert bouncekit.parse(ARF.encode()).original_message_id == "<spring-42.kai@example.com>"


def test_arf_recipient_from_returned_to() -> None:
    raw = ARF.replace("Original-Rcpt-To: <kai@example.net>\n", "").encode()
    assert [r.address for r in bouncekit.parse(raw).recipients] == ["kai@example.net"]


def test_arf_is_not_bounce() -> None:
    assert not bouncekit.parse(ARF.encode()).is_bounce


# Amazon SES notifications in JSON.


def ses(message: dict[str, object]) -> bytes:
    body = json.dumps({"Type": "Notification", "Message": json.dumps(message)}, indent=2)
    return notice(
        body + "\n", sender="SES <no-reply@sns.amazonaws.com>", subject="AWS Notification Message"
    )


SES_MAIL = {"messageId": "0100018e-ses-id-000000", "destination": ["kai@example.net"]}


def test_ses_bounce() -> None:
    raw = ses(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bouncedRecipients": [
                    {
                        "emailAddress": "kai@example.net",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 unknown",
                    }
                ]
            },
            "mail": SES_MAIL,
        }
    )
    bounce = bouncekit.parse(raw)
    assert [(r.address, str(r.status), r.reply_code) for r in bounce.recipients] == [
        ("kai@example.net", "5.1.1", "550")
    ]


def test_ses_message_id() -> None:
    raw = ses({"notificationType": "Bounce", "bounce": {"bouncedRecipients": []}, "mail": SES_MAIL})
    assert bouncekit.parse(raw).original_message_id == "<0100018e-ses-id-000000>"


def test_ses_complaint() -> None:
    raw = ses(
        {
            "notificationType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": "kai@example.net"}],
                "complaintFeedbackType": "abuse",
            },
            "mail": SES_MAIL,
        }
    )
    bounce = bouncekit.parse(raw)
    assert (bounce.kind, bounce.feedback_type) == (BounceKind.COMPLAINT, "abuse")


def test_ses_delivery() -> None:
    raw = ses(
        {
            "notificationType": "Delivery",
            "delivery": {
                "recipients": ["kai@example.net"],
                "smtpResponse": "250 2.6.0 Message received",
            },
            "mail": SES_MAIL,
        }
    )
    (recipient,) = bouncekit.parse(raw).recipients
    assert (recipient.action, str(recipient.status)) == (Action.DELIVERED, "2.6.0")


# Auto-replies (RFC 3834).

VACATION = """\
I am out of the office until Monday and will read your message then.
"""


@pytest.mark.parametrize(
    ("extra", "subject"),
    [
        ("Auto-Submitted: auto-replied\n", "Re: Spring news"),
        ("X-Autoreply: yes\n", "Re: Spring news"),
        ("X-Autorespond: Spring news\n", "Re: Spring news"),
        ("Precedence: auto_reply\n", "Re: Spring news"),
        ("", "Out of Office: Spring news"),
        ("", "Automatic reply: Spring news"),
        ("", "Abwesenheitsnotiz: Spring news"),
        ("", "=?utf-8?q?R=C3=A9ponse_automatique?= : Spring news"),
        ("", "=?utf-8?b?UmVzcHVlc3RhIGF1dG9tw6F0aWNh?=: Spring news"),
    ],
    ids=[
        "auto-submitted",
        "x-autoreply",
        "x-autorespond",
        "precedence",
        "en",
        "en-2",
        "de",
        "fr",
        "es",
    ],
)
def test_auto_reply_kind(extra: str, subject: str) -> None:
    raw = notice(VACATION, sender="Kai <kai@example.net>", subject=subject, extra=extra)
    assert bouncekit.parse(raw).kind is BounceKind.AUTO_REPLY


def test_auto_reply_lists_responder() -> None:
    raw = notice(VACATION, sender="Kai <kai@example.net>", subject="Out of Office", extra="")
    bounce = bouncekit.parse(raw)
    assert [recipient.address for recipient in bounce.recipients] == ["kai@example.net"]
    assert bounce.recipients[0].action is None
    assert bounce.recipients[0].status is None
    assert bounce.recipients[0].diagnostic == "Out of Office"
    assert not bounce.is_bounce


def test_auto_reply_raw_utf8_subject() -> None:
    raw = notice(VACATION, sender="Kai <kai@example.net>", subject="Réponse automatique", extra="")
    bounce = bouncekit.parse(raw)
    assert bounce.kind is BounceKind.AUTO_REPLY
    assert bounce.headers.get("Subject") == "Réponse automatique"


def test_auto_reply_verdict_ignored() -> None:
    raw = notice(VACATION, sender="Kai <kai@example.net>", subject="Out of Office", extra="")
    (verdict,) = RuleSet.default().classify(bouncekit.parse(raw))
    assert verdict.bounce_type is BounceType.IGNORED
    assert verdict.reason is Reason.AUTO_REPLY


@pytest.mark.parametrize(
    "text",
    [
        "This email inbox kai@example.net is no longer in use. Please write to sales.",
        "Thank you for your message. This mailbox has been closed.",
        "Kai no longer works here; please contact our front desk.",
    ],
)
def test_closed_mailbox_reply_is_bounce(text: str) -> None:
    raw = notice(text + "\n", sender="Kai <kai@example.net>", subject="Automatic reply", extra="")
    bounce = bouncekit.parse(raw)
    assert bounce.kind is BounceKind.NON_STANDARD
    assert [recipient.address for recipient in bounce.recipients] == ["kai@example.net"]
    assert bounce.recipients[0].action is Action.FAILED
    assert str(bounce.recipients[0].status) == "5.0.0"
    (verdict,) = RuleSet.default().classify(bounce)
    assert verdict.bounce_type is not BounceType.HARD


def test_auto_reply_message_id_from_in_reply_to() -> None:
    extra = "Auto-Submitted: auto-replied\nIn-Reply-To: <spring-42.kai@example.com>\n"
    raw = notice(VACATION, sender="Kai <kai@example.net>", subject="Away", extra=extra)
    assert bouncekit.parse(raw).original_message_id == "<spring-42.kai@example.com>"


def test_auto_submitted_bounce_stays_bounce() -> None:
    raw = notice(
        EXIM,
        sender="Mail Delivery System <Mailer-Daemon@mx.example.org>",
        extra="Auto-Submitted: auto-replied\n",
    )
    bounce = bouncekit.parse(raw)
    assert (bounce.kind, len(bounce.recipients)) == (BounceKind.NON_STANDARD, 2)


def test_auto_submitted_no_is_not_auto_reply() -> None:
    raw = notice(
        "Hello\n", sender="Kai <kai@example.net>", subject="Hello", extra="Auto-Submitted: no\n"
    )
    assert bouncekit.parse(raw).kind is BounceKind.NOT_BOUNCE


def test_arf_forwarded_as_attachment() -> None:
    raw = (
        "From: postmaster@isp.example.net\nTo: abuse@example.com\nSubject: Fwd: Abuse report\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="W"\n\n'
        "--W\nContent-Type: text/plain\n\nForwarded report.\n\n"
        f"--W\nContent-Type: message/rfc822\n\n{ARF}\n--W--\n"
    ).encode()
    bounce = bouncekit.parse(raw)
    assert (bounce.kind, [r.address for r in bounce.recipients], bounce.original_message_id) == (
        BounceKind.COMPLAINT,
        ["kai@example.net"],
        "<spring-42.kai@example.com>",
    )


def test_reason_after_block_marker() -> None:
    raw = notice(DOMINO, sender="Postmaster@example.net", subject="DELIVERY FAILURE")
    (recipient,) = bouncekit.parse(raw).recipients
    assert "not listed in Domino Directory" in (recipient.diagnostic or "")


def test_reason_on_address_line_elsewhere() -> None:
    body = "Unknown user: kai@example.net\n\nOriginal message follows.\n\n" + ORIGINAL
    raw = notice(body, sender="Postmaster <postmaster@example.net>", subject="Undeliverable Mail")
    (recipient,) = bouncekit.parse(raw).recipients
    assert (recipient.address, recipient.diagnostic) == ("kai@example.net", "Unknown user:")


def test_text_notice_expired_is_failed() -> None:
    body = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. The following address(es) failed:\n\n"
        "  kai@example.net\n    retry timeout exceeded\n"
    )
    (recipient,) = bouncekit.parse(notice(body, subject="Mail delivery failed")).recipients
    assert (str(recipient.status), recipient.action) == ("4.0.0", Action.FAILED)


def test_html_notice_ignores_scripts() -> None:
    body = (
        "<html><head><style>p { color: red }</style>"
        "<script>var x = 'tracker@example.org';</script></head><body>"
        "<p>Delivery has failed to these recipients or groups:</p><p>kai@example.net</p>"
        "<script>unclosed"
    )
    raw = notice(
        body, sender="postmaster@example.net", subject="Undeliverable", content_type="text/html"
    )
    assert [r.address for r in bouncekit.parse(raw).recipients] == ["kai@example.net"]


def test_ses_unexpected_shapes_skipped() -> None:
    raw = ses(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bouncedRecipients": ["kai@example.net", 5, {"emailAddress": "zoe@example.net"}]
            },
            "mail": ["not", "an", "object"],
        }
    )
    bounce = bouncekit.parse(raw)
    assert ([r.address for r in bounce.recipients], bounce.defects) == (["zoe@example.net"], ())


def test_reply_above_address_kept() -> None:
    body = (
        "Error: Invalid user address\n"
        "\n"
        "Error message below:\n"
        "550 - Requested action not taken: no such user here\n"
        "\n"
        "Message details:\n"
        "  Subject: Offers\n"
        "  MAIL FROM: news@example.com\n"
        "  RCPT TO: pat@example.net\n"
        "  Size (in bytes): 39\n"
    )
    (recipient,) = bouncekit.parse(notice(body)).recipients

    assert recipient.address == "pat@example.net"
    assert recipient.diagnostic is not None
    assert recipient.diagnostic.startswith("550 - Requested action not taken: no such user here")


@pytest.mark.parametrize("sender", ["post_master@vtext.com", "post_master@example.net"])
def test_message_details_not_diagnostic(sender: str) -> None:
    body = VERIZON + "  Size (in bytes): 222\n  Number of lines: 2\n"
    bounce = bouncekit.parse(notice(body, sender=sender, subject="Re:Spring news"))
    recipient = bounce.recipients[0]
    assert recipient.reply_code == "550"
    assert recipient.diagnostic is not None
    assert "no such user here" in recipient.diagnostic
    assert "Size" not in recipient.diagnostic
    assert "RCPT TO" not in recipient.diagnostic


def test_mfilter_reason_and_original() -> None:
    body = (
        "kai@example.net\n\n-------server message\n550 kai@example.net... No such user\n\n"
        "-------SMTP command\nDATA\n\n-------original mail info\n"
        "From: news@example.com\nSubject: Spring news\n"
        "Message-ID: <spring-42.kai@example.com>\nBODY:\n------------\nHello.\n"
    )
    bounce = bouncekit.parse(notice(body, sender="postmaster@example.net"))
    assert bounce.format == "mfilter"
    assert bounce.recipients[0].diagnostic == "550 kai@example.net... No such user"
    assert bounce.original_message_id == "<spring-42.kai@example.com>"


def test_quoted_filter_header_not_mfilter() -> None:
    body = QMAIL.replace(
        "Message-ID:", "DKIM-Filter: OpenDKIM Filter v2.11.0 mx.example.com\nMessage-ID:"
    )
    bounce = bouncekit.parse(notice(body))
    assert bounce.format == "qmail"


def test_amazonworkmail_diagnostic_from_report() -> None:
    body = (
        "An error occurred while trying to deliver the mail to the following recipients:\n"
        "kai@example.net\n\nTechnical report:\n\nReporting-MTA: dsn; a1.example.com\n"
        "Action: failed\nFinal-Recipient: rfc822; kai@example.net\n"
        "Diagnostic-Code: smtp; 550 5.2.2 <kai@example.net>... Mailbox Full\nStatus: 5.2.2\n"
    )
    bounce = bouncekit.parse(notice(body, sender="MAILER-DAEMON@us-west-2.amazonses.com"))
    assert bounce.format == "amazonworkmail"
    assert bounce.recipients[0].diagnostic == "550 5.2.2 <kai@example.net>... Mailbox Full"


def test_mislabelled_japanese_text_decoded() -> None:
    text = "次のあて先へのメッセージはエラーのため送信できませんでした。"
    raw = (
        b"From: MAILER-DAEMON@mx.example.org\nTo: news@example.com\nSubject: failure notice\n"
        b'MIME-Version: 1.0\nContent-Type: text/plain; charset="ISO-2022-JP"\n'
        b"Content-Transfer-Encoding: 7bit\n\n"
        b"Hi. This is the qmail-send program at mx.example.org.\n"
        b"I'm afraid I wasn't able to deliver your message to the following addresses.\n"
        b"This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
        b"<kai@example.net>:\n" + text.encode("euc-jp") + b"\n"
    )
    bounce = bouncekit.parse(raw)
    assert bounce.recipients[0].address == "kai@example.net"
    assert bounce.recipients[0].diagnostic == text


def test_gmail_reply_of_other_server() -> None:
    body = GMAIL.replace(
        "The server for example.net returned this error:\n"
        "550 5.1.1 The email account that you tried to reach does not exist.\n",
        "Google tried to deliver your message, but it was rejected by the recipient domain.\n"
        "The error that the other server returned was:\n"
        "550 550 5.1.1 user unknown (state 14).\n",
    )
    bounce = bouncekit.parse(
        notice(body, sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>")
    )
    assert bounce.format == "gmail"
    assert bounce.recipients[0].diagnostic == "550 550 5.1.1 user unknown (state 14)."


def test_dragonfly_diagnostic_without_preamble() -> None:
    bounce = bouncekit.parse(notice(DRAGONFLY, sender="MAILER-DAEMON <>"))
    assert bounce.recipients[0].diagnostic == (
        "mx.example.net [192.0.2.20] did not like our RCPT TO: "
        "550 5.1.1 <kai@example.net>: Recipient address rejected"
    )


def test_transcript_entry_stops_at_next_session() -> None:
    bounce = bouncekit.parse(
        notice(OLD_SENDMAIL, sender="Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>")
    )
    kai, zoe = bounce.recipients
    assert (
        kai.diagnostic
        == "554 <kai@example.net>... 550 Host unknown (Authoritative answer from name server)"
    )
    assert zoe.diagnostic == "550 <zoe@example.org>... User unknown"
    assert zoe.command == "RCPT"


def test_reply_lines_when_entry_empty() -> None:
    body = (
        "The original message was received at Mon, 4 Mar 2024 10:00:00 +0000\n"
        "from app.example.com\n\n"
        "   ----- The following addresses had permanent fatal errors -----\n"
        ">>> kai@example.net <kai@example.net>\n\n"
        "   ----- Transcript of session follows -----\n"
        "550-Mailbox closed\n"
        "550 no mailbox here by that name\n"
    )
    bounce = bouncekit.parse(notice(body, sender="MAILER-DAEMON <mailer-daemon@mx.example.org>"))
    (recipient,) = bounce.recipients
    assert recipient.diagnostic == "550-Mailbox closed 550 no mailbox here by that name"


def test_exim_introduction_not_diagnostic() -> None:
    body = (
        "This message was created automatically by mail delivery software.\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        "  save to /var/mail/box\n"
        "    mailbox is full\n"
    )
    raw = notice(
        body, subject="Mail delivery failed", extra="X-Failed-Recipients: kai@example.net\n"
    )
    (recipient,) = bouncekit.parse(raw).recipients
    assert recipient.diagnostic == "save to /var/mail/box mailbox is full"


def test_quoted_fields_without_reason() -> None:
    body = (
        "-----------------------------------------\n"
        "Your message\n\n"
        "To:      <kai@example.net>\n"
        "Subject: Spring news\n"
        "Date:    Mon, 4 Mar 2024 10:00:00 +0000\n\n"
        "Did not reach the following recipient: kai@example.net\n"
    )
    raw = notice(body, sender="postmaster@example.net", subject="Undeliverable: Spring news")
    (recipient,) = bouncekit.parse(raw).recipients
    assert recipient.address == "kai@example.net"
    assert recipient.diagnostic is None


def test_qmail_envelope_labels_dropped() -> None:
    body = QMAIL.replace(
        "192.0.2.20 does not like recipient.",
        "From: <news@example.com> RCPT: <kai@example.net> 192.0.2.20 does not like recipient.",
    ).replace(
        "--- Below this line is a copy of the message.", "--- Enclosed is a copy of the message."
    )
    (recipient,) = bouncekit.parse(notice(body)).recipients
    assert recipient.diagnostic == (
        "192.0.2.20 does not like recipient. Remote host said: 550 5.1.1 <kai@example.net>: "
        "no mailbox by that name Giving up on 192.0.2.20."
    )


def test_mailmarshal_reply_and_remote_mta() -> None:
    body = (
        "Your message:\n"
        "   From:    news@example.com\n"
        "   Subject: Spring news\n\n"
        "Could not be delivered because of\n\n"
        "550 5.1.1 No such mailbox\n\n"
        "The following recipients were affected: \n"
        "    kai@example.net\n\n\n"
        "Additional Information\n"
        "======================\n"
        "Original Sender:    <news@example.com>\n"
        "Remote-MTA:         <192.0.2.20>\n"
        "Reporting-MTA:      <relay.example.org>\n"
    )
    (recipient,) = bouncekit.parse(notice(body, subject="Undeliverable Mail")).recipients
    assert recipient.diagnostic == "550 5.1.1 No such mailbox"
    assert recipient.remote_mta == "192.0.2.20"


def test_dsn_writer_prefixes_start_with_x() -> None:
    # dsn_format_name lower-cases only the field names that start with "x" or "X".
    prefixes = [prefix for writer in DSN_WRITERS for prefix in writer.field_prefixes]
    assert all(prefix.startswith("x-") for prefix in prefixes)
