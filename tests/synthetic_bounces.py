"""
Synthetic bounces for the POP3 tests and the benchmark.

Each message is an RFC 3464 delivery status notification for one recipient,
``user{n}@example.net``, returning the header block of the original message
whose Message-ID is ``<bk.{n}@mailer.example.com>``. A text part of filler
brings it to about *size* octets. Only RFC 2606 example domains appear.
"""

from __future__ import annotations

_STATUSES = (
    ("5.1.1", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown"),
    ("4.2.2", "452 4.2.2 <{rcpt}>: Mailbox full, try again later"),
    ("5.1.2", "550 5.1.2 Host or domain name not found for <{rcpt}>"),
    ("4.4.7", "421 4.4.7 Delivery time expired for <{rcpt}>"),
)
_FILLER = "The message could not be delivered to every recipient; details follow below.\r\n"


def recipient(n: int) -> str:
    """Return the recipient address that bounce *n* reports."""
    return f"user{n}@example.net"


def original_message_id(n: int) -> str:
    """Return the Message-ID of the message that bounce *n* returns."""
    return f"<bk.{n}@mailer.example.com>"


def status(n: int) -> str:
    """Return the RFC 3463 status code that bounce *n* reports."""
    return _STATUSES[n % len(_STATUSES)][0]


def make_bounce(n: int, size: int = 3000) -> bytes:
    """Return bounce *n* with CRLF line ends, padded to about *size* octets."""
    rcpt = recipient(n)
    code, diagnostic = _STATUSES[n % len(_STATUSES)]
    diagnostic = diagnostic.format(rcpt=rcpt)
    boundary = f"=_bounce_{n:06d}"
    head = (
        "Return-Path: <>\r\n"
        f"Message-ID: <dsn.{n}@mta.example.org>\r\n"
        "Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n"
        "From: Mail Delivery System <MAILER-DAEMON@mta.example.org>\r\n"
        "To: <bounces@mailer.example.com>\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        f"<{rcpt}>: {diagnostic}\r\n"
        "\r\n"
    )
    tail = (
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mta.example.org\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {rcpt}\r\n"
        f"Action: {'failed' if code.startswith('5') else 'delayed'}\r\n"
        f"Status: {code}\r\n"
        "Remote-MTA: dns; mx.example.net\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n"
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n"
        "\r\n"
        f"Message-ID: {original_message_id(n)}\r\n"
        "From: Example News <news@mailer.example.com>\r\n"
        f"To: <{rcpt}>\r\n"
        "Subject: Our December offers\r\n"
        "Date: Fri, 04 Dec 2026 09:58:00 +0000\r\n"
        "\r\n"
        f"--{boundary}--\r\n"
    )
    padding = max(size - len(head) - len(tail), 0) // len(_FILLER) + 1
    return (head + _FILLER * padding + "\r\n" + tail).encode("ascii")
