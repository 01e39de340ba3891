"""
Kinds of failure other bounce tools were reported to get wrong, in text notices.

Each kind is tested on the reported input when the shared cases folder is
present, and always on variants written here: the same failure with the line
wrapped elsewhere, the reason on another line, another vendor code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bouncekit
from bouncekit import BounceKind


def load_case(shared_dir: Path, name: str, file: str = "input.eml") -> tuple[bytes, dict[str, Any]]:
    folder = shared_dir / "cases" / name
    if not folder.is_dir():
        pytest.skip(f"case folder {folder} is not present")
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    return (folder / file).read_bytes(), expected


def text_notice(body: str, *, subject: str = "Mail delivery failed", extra: str = "") -> bytes:
    return (
        "From: Mail Delivery System <Mailer-Daemon@mx.example.org>\n"
        "To: news@example.com\n"
        f"Subject: {subject}\n"
        f"{extra}"
        "Content-Type: text/plain\n\n"
        f"{body}"
    ).encode()


EXIM_HEAD = (
    "This message was created automatically by mail delivery software.\n\n"
    "A message that you sent could not be delivered to one or more of its\n"
    "recipients. This is a permanent error. The following address(es) failed:\n\n"
)
POSTFIX_HEAD = (
    "This is the mail system at host mx.example.org.\n\n                   The mail system\n\n"
)

# A reason on the line under the address.


@pytest.mark.parametrize("name", ["08-exim-reason-on-next-line"])
def test_reason_on_next_line_case(shared_dir: Path, name: str) -> None:
    raw, expected = load_case(shared_dir, name)
    bounce = bouncekit.parse(raw)
    expected_recipients = [(r["address"], r["action"]) for r in expected["recipients"]]
    assert [
        (r.address, r.action.value if r.action else None) for r in bounce.recipients
    ] == expected_recipients


def test_reason_on_next_line_case_message_id(shared_dir: Path) -> None:
    raw, expected = load_case(shared_dir, "08-exim-reason-on-next-line")
    assert bouncekit.parse(raw).original_message_id == expected["original_message_id"]


@pytest.mark.parametrize(
    "block",
    [
        "  kai@example.net\n    No Such User Here\n",
        "  kai@example.net\n    host mx.example.net [192.0.2.20]:\n    No Such User Here\n",
        "  kai@example.net\n\n    No Such User Here\n",
        "<kai@example.net>\n    (reason: No Such User Here)\n",
    ],
    ids=["indented", "after-host", "after-blank", "sendmail-style"],
)
def test_reason_on_next_line(block: str) -> None:
    (recipient,) = bouncekit.parse(text_notice(EXIM_HEAD + block)).recipients
    assert (recipient.address, "No Such User Here" in (recipient.diagnostic or "")) == (
        "kai@example.net",
        True,
    )


def test_reason_stays_with_its_address() -> None:
    block = "  kai@example.net\n    No Such User Here\n  zoe@example.net\n    Mailbox is full\n"
    bounce = bouncekit.parse(text_notice(EXIM_HEAD + block))
    assert [r.diagnostic for r in bounce.recipients] == ["No Such User Here", "Mailbox is full"]


# A reply and status code split by line wrapping.


@pytest.mark.parametrize("file", ["input.eml", "input-variant.eml"])
def test_wrapped_reply_case(shared_dir: Path, file: str) -> None:
    raw, expected = load_case(shared_dir, "09-postfix-text-reply-code-wrapped", file)
    bounce = bouncekit.parse(raw)
    expected_recipients = [(r["address"], r["status"]) for r in expected["recipients"]]
    assert [(r.address, str(r.status)) for r in bounce.recipients] == expected_recipients


@pytest.mark.parametrize("file", ["input.eml", "input-variant.eml"])
def test_wrapped_reply_case_message_id(shared_dir: Path, file: str) -> None:
    raw, expected = load_case(shared_dir, "09-postfix-text-reply-code-wrapped", file)
    assert bouncekit.parse(raw).original_message_id == expected["original_message_id_by_file"][file]


def test_wrapped_reply_case_files_agree(shared_dir: Path) -> None:
    first, _ = load_case(shared_dir, "09-postfix-text-reply-code-wrapped", "input.eml")
    second, _ = load_case(shared_dir, "09-postfix-text-reply-code-wrapped", "input-variant.eml")
    summary = [
        [(r.address, str(r.status), r.reply_code) for r in bouncekit.parse(raw).recipients]
        for raw in (first, second)
    ]
    assert summary[0] == summary[1]


@pytest.mark.parametrize(
    "reply",
    [
        "<kai@example.net>: host mx.example.net[192.0.2.20] said: 550 5.1.1\n    Address rejected (in reply to RCPT TO command)\n",
        "<kai@example.net>: host mx.example.net[192.0.2.20] said: 550\n    5.1.1 Address rejected (in reply to RCPT TO command)\n",
        "<kai@example.net>: host mx.example.net[192.0.2.20] said:\n    550 5.1.1 Address rejected (in reply to RCPT TO command)\n",
        "<kai@example.net>: host mx.example.net[192.0.2.20]\n    said: 550 5.1.1 Address rejected (in reply to RCPT TO command)\n",
    ],
    ids=["no-wrap", "after-550", "before-550", "before-said"],
)
def test_wrapped_reply(reply: str) -> None:
    (recipient,) = bouncekit.parse(text_notice(POSTFIX_HEAD + reply)).recipients
    assert (str(recipient.status), recipient.reply_code) == ("5.1.1", "550")


# Codes with a two- or three-digit detail, as Microsoft writes them.


def test_vendor_code_case(shared_dir: Path) -> None:
    raw, expected = load_case(shared_dir, "13-office365-5.1.10-recipient-not-found")
    assert [str(r.status) for r in bouncekit.parse(raw).recipients] == [
        expected["recipients"][0]["status"]
    ]


@pytest.mark.parametrize("code", ["5.1.10", "5.7.509", "4.4.316", "5.4.310"])
def test_vendor_code_in_text(code: str) -> None:
    body = (
        "Delivery has failed to these recipients or groups:\n\nkai@example.net\n\n"
        "Diagnostic information for administrators:\n\n"
        f"Remote Server returned '550 {code} RESOLVER.ADR.RecipientNotFound'\n"
    )
    (recipient,) = bouncekit.parse(text_notice(body, subject="Undeliverable: news")).recipients
    assert str(recipient.status) == code


# Auto-Submitted on bounces and on auto-replies.


def test_auto_submitted_bounce_case(shared_dir: Path) -> None:
    raw, expected = load_case(shared_dir, "15-exim-bounce-with-auto-submitted-is-still-a-bounce")
    bounce = bouncekit.parse(raw)
    assert [r.address for r in bounce.recipients] == [r["address"] for r in expected["recipients"]]


def test_auto_submitted_bounce_case_kind(shared_dir: Path) -> None:
    raw, _ = load_case(shared_dir, "15-exim-bounce-with-auto-submitted-is-still-a-bounce")
    assert bouncekit.parse(raw).kind is BounceKind.NON_STANDARD


def test_auto_submitted_bounce_case_message_id(shared_dir: Path) -> None:
    raw, expected = load_case(shared_dir, "15-exim-bounce-with-auto-submitted-is-still-a-bounce")
    assert bouncekit.parse(raw).original_message_id == expected["original_message_id"]


def test_out_of_office_case(shared_dir: Path) -> None:
    raw, _expected = load_case(shared_dir, "16-out-of-office-reply-is-not-a-bounce")
    bounce = bouncekit.parse(raw)
    assert bounce.kind is BounceKind.AUTO_REPLY
    assert not bounce.is_bounce
    # The responder is listed, with no action or status to count as a failure.
    assert [(r.action, r.status) for r in bounce.recipients] == [(None, None)]


def test_out_of_office_case_message_id(shared_dir: Path) -> None:
    raw, expected = load_case(shared_dir, "16-out-of-office-reply-is-not-a-bounce")
    assert bouncekit.parse(raw).original_message_id == expected["original_message_id"]


@pytest.mark.parametrize(
    "extra",
    [
        "Auto-Submitted: auto-replied\n",
        "Auto-Submitted: auto-replied\nReturn-Path: <>\n",
        "Auto-Submitted: auto-replied\nX-Failed-Recipients: kai@example.net\n",
        "Auto-Submitted: auto-generated\nPrecedence: bulk\n",
    ],
    ids=["auto-submitted", "null-sender", "failed-recipients", "auto-generated"],
)
def test_bounce_evidence_wins(extra: str) -> None:
    raw = text_notice(
        EXIM_HEAD + "  kai@example.net\n    550 No such person at this address\n", extra=extra
    )
    assert bouncekit.parse(raw).kind is BounceKind.NON_STANDARD


@pytest.mark.parametrize(
    "extra",
    [
        "Auto-Submitted: auto-replied\n",
        "Auto-Submitted: auto-replied\nReturn-Path: <>\n",
        "X-Autoreply: yes\n",
    ],
    ids=["auto-submitted", "null-sender", "x-autoreply"],
)
def test_vacation_is_auto_reply(extra: str) -> None:
    raw = (
        "From: Kai <kai@example.net>\nTo: news@example.com\nSubject: Automatic reply: news\n"
        f"{extra}In-Reply-To: <spring-42@example.com>\nContent-Type: text/plain\n\n"
        "I am away until Monday.\n"
    ).encode()
    assert bouncekit.parse(raw).kind is BounceKind.AUTO_REPLY
