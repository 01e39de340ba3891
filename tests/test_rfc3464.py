"""Tests for the RFC 3464 parser: every field and every layout it accepts."""

from __future__ import annotations

import datetime
import email
import email.policy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bouncekit
from bouncekit import Action, BounceKind, StatusCode, TypedValue

PER_MESSAGE = """\
Reporting-MTA: dns; mx.example.org
DSN-Gateway: dns; gw.example.org
Received-From-MTA: dns; relay.example.org (192.0.2.5)
Arrival-Date: Tue, 5 Mar 2024 10:00:00 +0000
Original-Envelope-Id: env-123.example.com
X-Postfix-Queue-ID: 4F1A2B3C
"""

FULL_GROUP = """\
Original-Recipient: rfc822; Alice@Example.net
Final-Recipient: rfc822; alice@example.net
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 5.1.1 <alice@example.net>: Recipient address rejected:
    User unknown in local recipient table
Last-Attempt-Date: Tue, 5 Mar 2024 10:00:02 +0000
Final-Log-ID: 4F1A2B3C
Will-Retry-Until: Wed, 6 Mar 2024 10:00:00 +0000
X-Display-Name: Alice
"""

RETURNED_RFC822 = """\
Content-Type: message/rfc822

Message-ID: <campaign-7.alice@example.com>
From: News <news@example.com>
To: alice@example.net
X-Campaign-Id: spring-7
Subject: Spring news

Hello.
"""

RETURNED_HEADERS = """\
Content-Type: text/rfc822-headers

Message-ID: <campaign-7.alice@example.com>
From: News <news@example.com>
X-Campaign-Id: spring-7
"""


def make_dsn(
    status_body: str,
    returned: str | None = RETURNED_RFC822,
    *,
    dsn_type: str = "message/delivery-status",
) -> bytes:
    """Return a multipart/report DSN around *status_body*, with LF line endings."""
    parts = [
        "From: MAILER-DAEMON@mx.example.org\n"
        "To: bounces@example.com\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "Message-ID: <the-bounce-itself@mx.example.org>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BB"\n'
        "\n"
        "--BB\n"
        "Content-Type: text/plain\n"
        "\n"
        "Your message could not be delivered.\n"
        "\n"
        "--BB\n"
        f"Content-Type: {dsn_type}\n"
        "\n"
        f"{status_body}"
    ]
    if returned is not None:
        parts.append(f"\n--BB\n{returned}")
    parts.append("\n--BB--\n")
    return "".join(parts).encode("utf-8")


def test_per_message_fields() -> None:
    bounce = bouncekit.parse(make_dsn(PER_MESSAGE + "\n" + FULL_GROUP))
    fields = bounce.delivery_status.message  # type: ignore[union-attr]
    assert fields.reporting_mta == TypedValue("dns", "mx.example.org")
    assert fields.dsn_gateway == TypedValue("dns", "gw.example.org")
    assert fields.received_from_mta == TypedValue("dns", "relay.example.org")
    assert fields.arrival_date == datetime.datetime(2024, 3, 5, 10, 0, tzinfo=datetime.UTC)
    assert fields.original_envelope_id == "env-123.example.com"
    assert fields.extensions.get("x-postfix-queue-id") == "4F1A2B3C"


def test_per_recipient_fields() -> None:
    bounce = bouncekit.parse(make_dsn(PER_MESSAGE + "\n" + FULL_GROUP))
    (fields,) = bounce.delivery_status.recipients  # type: ignore[union-attr]
    assert fields.original_recipient == TypedValue("rfc822", "Alice@Example.net")
    assert fields.final_recipient == TypedValue("rfc822", "alice@example.net")
    assert fields.action is Action.FAILED
    assert fields.status == StatusCode(5, 1, 1)
    assert fields.remote_mta == TypedValue("dns", "mx.example.net")
    assert fields.diagnostic_code == TypedValue(
        "smtp",
        "550 5.1.1 <alice@example.net>: Recipient address rejected: User unknown in local recipient table",
    )
    assert fields.last_attempt_date == datetime.datetime(2024, 3, 5, 10, 0, 2, tzinfo=datetime.UTC)
    assert fields.final_log_id == "4F1A2B3C"
    assert fields.will_retry_until == datetime.datetime(2024, 3, 6, 10, 0, tzinfo=datetime.UTC)
    assert fields.extensions.get_all("X-Display-Name") == ["Alice"]


def test_recipient_summary() -> None:
    bounce = bouncekit.parse(make_dsn(PER_MESSAGE + "\n" + FULL_GROUP))
    assert bounce.kind is BounceKind.DSN
    assert bounce.format == "postfix"  # named after its X-Postfix-Queue-ID field
    assert bounce.is_bounce
    (recipient,) = bounce.recipients
    assert recipient.address == "alice@example.net"
    assert recipient.domain == "example.net"
    assert recipient.action is Action.FAILED
    assert recipient.status == StatusCode(5, 1, 1)
    assert recipient.reply_code == "550"
    assert recipient.remote_mta == "mx.example.net"
    assert recipient.diagnostic is not None
    assert recipient.diagnostic.endswith("User unknown in local recipient table")
    assert bounce.defects == ()


def test_original_message_from_rfc822_part() -> None:
    bounce = bouncekit.parse(make_dsn(PER_MESSAGE + "\n" + FULL_GROUP))
    assert bounce.original_message_id == "<campaign-7.alice@example.com>"
    assert bounce.original_headers["x-campaign-id"] == "spring-7"


def test_original_message_from_headers_part() -> None:
    bounce = bouncekit.parse(make_dsn(PER_MESSAGE + "\n" + FULL_GROUP, RETURNED_HEADERS))
    assert bounce.original_message_id == "<campaign-7.alice@example.com>"
    assert bounce.original_headers.get("X-Campaign-Id") == "spring-7"


def test_original_message_from_global_headers() -> None:
    returned = RETURNED_HEADERS.replace("text/rfc822-headers", "message/global-headers")
    bounce = bouncekit.parse(make_dsn(PER_MESSAGE + "\n" + FULL_GROUP, returned))
    assert bounce.original_message_id == "<campaign-7.alice@example.com>"


def test_own_message_id_never_used() -> None:
    bounce = bouncekit.parse(make_dsn(PER_MESSAGE + "\n" + FULL_GROUP, returned=None))
    assert bounce.original_message_id is None
    assert bounce.headers.get("Message-ID") == "<the-bounce-itself@mx.example.org>"


@pytest.mark.parametrize("newline", ["\r\n", "\r", "\n"])
def test_line_endings_give_same_result(newline: str) -> None:
    lf = make_dsn(PER_MESSAGE + "\n" + FULL_GROUP)
    converted = lf.replace(b"\n", newline.encode())
    assert bouncekit.parse(converted) == bouncekit.parse(lf)


def test_parsed_message_input() -> None:
    raw = make_dsn(PER_MESSAGE + "\n" + FULL_GROUP)
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    assert bouncekit.parse(message) == bouncekit.parse(raw)


def test_text_input() -> None:
    raw = make_dsn(PER_MESSAGE + "\n" + FULL_GROUP)
    assert bouncekit.parse(raw.decode()) == bouncekit.parse(raw)


def test_wrong_input_type_raises() -> None:
    with pytest.raises(TypeError, match="not int"):
        bouncekit.parse(42)  # type: ignore[arg-type]


def test_last_group_ends_at_boundary() -> None:
    body = "Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1"
    bounce = bouncekit.parse(make_dsn(body))
    assert [r.address for r in bounce.recipients] == ["a@example.net"]
    assert bounce.recipients[0].status == StatusCode(5, 1, 1)


def test_doubled_blank_lines_between_groups() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\n\n\n"
        "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n\n\n"
        "Final-Recipient: rfc822; b@example.net\nAction: failed\nStatus: 5.2.2\n\n"
    )
    bounce = bouncekit.parse(make_dsn(body))
    assert [r.address for r in bounce.recipients] == ["a@example.net", "b@example.net"]
    assert [str(r.status) for r in bounce.recipients] == ["5.1.1", "5.2.2"]
    assert bounce.delivery_status.message.reporting_mta == TypedValue("dns", "mx.example.org")  # type: ignore[union-attr]


def test_missing_blank_lines_between_groups() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\n"
        "Arrival-Date: Fri, 21 Nov 2014 17:24:04 -0500\n"
        "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.2.2\n"
        "Final-Recipient: rfc822; b@example.net\nOriginal-Recipient: rfc822; b@example.net\n"
        "Action: failed\nStatus: 5.1.1\n"
    )
    bounce = bouncekit.parse(make_dsn(body))
    assert [r.address for r in bounce.recipients] == ["a@example.net", "b@example.net"]
    assert [str(r.status) for r in bounce.recipients] == ["5.2.2", "5.1.1"]


def test_field_spacing_case_and_brackets() -> None:
    body = (
        "Reporting-MTA:dns;mx.example.org\n\n"
        "Final-Recipient:rfc822;mia@example.net\nAction:failed\nStatus:5.4.317\n\n"
        "final-recipient:\tRFC822; <leo@example.net>\naction: Failed\nstatus: 5.1.1 (bad mailbox)\n"
    )
    bounce = bouncekit.parse(make_dsn(body))
    first, second = bounce.delivery_status.recipients  # type: ignore[union-attr]
    assert first.final_recipient == TypedValue("rfc822", "mia@example.net")
    assert first.status == StatusCode(5, 4, 317)
    assert second.final_recipient == TypedValue("rfc822", "leo@example.net")
    assert second.action is Action.FAILED
    assert second.status == StatusCode(5, 1, 1)


def test_comments_in_fields() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org (Postfix)\n\n"
        "Final-Recipient: rfc822; a@example.net (the list owner)\n"
        "Action: failed (bad address)\nStatus: 5.1.1\n"
    )
    bounce = bouncekit.parse(make_dsn(body))
    fields = bounce.delivery_status.recipients[0]  # type: ignore[union-attr]
    assert fields.final_recipient == TypedValue("rfc822", "a@example.net")
    assert fields.action is Action.FAILED
    assert bounce.delivery_status.message.reporting_mta == TypedValue("dns", "mx.example.org")  # type: ignore[union-attr]


def test_folded_diagnostic() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.0.0\n"
        "Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does\n"
        "    not exist. 550 5.1.1 https://support.example.com/NoSuchUser - gsmtp\n"
    )
    (recipient,) = bouncekit.parse(make_dsn(body)).recipients
    assert recipient.diagnostic is not None
    assert "does not exist." in recipient.diagnostic
    assert recipient.reply_code == "550"


def test_generic_status_refined_from_diagnostic() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.0.0\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <a@example.net>... User unknown\n"
    )
    bounce = bouncekit.parse(make_dsn(body))
    assert bounce.recipients[0].status == StatusCode(5, 1, 1)
    assert bounce.delivery_status.recipients[0].status == StatusCode(5, 0, 0)  # type: ignore[union-attr]


def test_generic_status_other_class_kept() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; a@example.net\nAction: delayed\nStatus: 4.0.0\n"
        "Diagnostic-Code: smtp; 550 5.1.1 User unknown\n"
    )
    assert bouncekit.parse(make_dsn(body)).recipients[0].status == StatusCode(4, 0, 0)


def test_reply_code_overrides_status_field() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 552 5.2.2 Over quota\n"
    )
    recipient = bouncekit.parse(make_dsn(body)).recipients[0]
    assert recipient.status == StatusCode(5, 2, 2)
    assert recipient.dsn is not None
    assert recipient.dsn.status == StatusCode(5, 1, 1)


def test_reply_code_other_class_kept_out() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 421 4.7.0 try again later\n"
    )
    assert bouncekit.parse(make_dsn(body)).recipients[0].status == StatusCode(5, 1, 1)


def test_status_from_notice_text() -> None:
    raw = make_dsn(
        "Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.0.0\n"
    ).replace(
        b"Your message could not be delivered.\n",
        b"Your message could not be delivered.\n\na@example.net: 550 5.1.1 <a@example.net>: User unknown\n",
    )
    (recipient,) = bouncekit.parse(raw).recipients
    assert recipient.status == StatusCode(5, 1, 1)
    assert recipient.reply_code == "550"
    assert recipient.diagnostic is not None
    assert "User unknown" in recipient.diagnostic


NO_DIAGNOSTIC_GROUP = (
    "Reporting-MTA: dns; mx.example.org\n\n"
    "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.0.0\n"
)


def test_diagnostic_from_notice_line() -> None:
    raw = make_dsn(NO_DIAGNOSTIC_GROUP).replace(
        b"Your message could not be delivered.\n",
        b"Your message wasn't delivered to a@example.net because the address couldn't be found.\n",
    )
    (recipient,) = bouncekit.parse(raw).recipients

    assert recipient.diagnostic is not None
    assert "address couldn't be found" in recipient.diagnostic


def test_diagnostic_from_paragraph_after_address() -> None:
    raw = make_dsn(NO_DIAGNOSTIC_GROUP).replace(
        b"Your message could not be delivered.\n",
        b"I was unable to deliver your message to the following addresses:\n\n"
        b"a@example.net\n\nReason: 550 Relaying denied\n\nPlease do not reply.\n",
    )
    (recipient,) = bouncekit.parse(raw).recipients

    assert recipient.diagnostic == "550 Relaying denied"


def test_recipient_fields_before_final_recipient() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\n"
        "Arrival-Date: Sat, 08 Feb 2025 11:22:21 GMT\n"
        "Action: failed\n"
        "Status: 5.0.0\n"
        "Diagnostic-Code: smtp; 550 5.7.54 Unable to relay recipient\n"
        "Final-Recipient: rfc822; a@example.net\n"
    )
    (recipient,) = bouncekit.parse(make_dsn(body)).recipients

    assert recipient.address == "a@example.net"
    assert recipient.action is Action.FAILED
    assert recipient.status == StatusCode(5, 7, 54)
    assert recipient.diagnostic == "550 5.7.54 Unable to relay recipient"


def test_diagnostic_from_status_comment() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; a@example.net\n"
        "Action: delayed\n"
        "Status: 4.0.0 (example.net: host name lookup failure)\n"
    )
    (recipient,) = bouncekit.parse(make_dsn(body)).recipients

    assert recipient.status == StatusCode(4, 0, 0)
    assert recipient.diagnostic == "example.net: host name lookup failure"
    assert recipient.dsn is not None
    assert recipient.dsn.status_comment == "example.net: host name lookup failure"


def test_diagnostic_code_outranks_status_comment() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; a@example.net\n"
        "Action: failed\n"
        "Status: 5.0.0 (permanent failure)\n"
        "Diagnostic-Code: smtp; 550 Mailbox disabled\n"
    )
    (recipient,) = bouncekit.parse(make_dsn(body)).recipients

    assert recipient.diagnostic == "550 Mailbox disabled"


def test_class_from_reply_code_without_status() -> None:
    body = "Original-Recipient: <a@example.net>\nAction: failed\nDiagnostic-Code: smtp; 550 Unknown user\n"
    bounce = bouncekit.parse(make_dsn(body))
    assert bounce.recipients[0].address == "a@example.net"
    assert bounce.recipients[0].status == StatusCode(5, 0, 0)
    assert any(defect.code == "missing-per-message-fields" for defect in bounce.defects)


def test_source_routed_final_recipient() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Original-recipient: rfc822;kim@example.net\nFinal-recipient: rfc822;@relay.example.net:kim@mailhost\n"
        "Action: failed\nStatus: 5.2.2\n"
    )
    assert bouncekit.parse(make_dsn(body)).recipients[0].address == "kim@example.net"


def test_global_delivery_status_utf8() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: utf-8; jürgen@example.net\nAction: failed\nStatus: 5.1.1\n"
        "Diagnostic-Code: smtp; 550 5.1.1 Empfänger unbekannt\n\n"
        "Final-Recipient: utf-8; j\\x{FC}rgen.wei\\x{DF}@example.net\nAction: failed\nStatus: 5.1.1\n"
    )
    bounce = bouncekit.parse(make_dsn(body, dsn_type="message/global-delivery-status"))
    assert bounce.delivery_status is not None
    assert bounce.delivery_status.global_
    assert [r.address for r in bounce.recipients] == [
        "jürgen@example.net",
        "jürgen.weiß@example.net",
    ]
    assert bounce.recipients[0].diagnostic == "550 5.1.1 Empfänger unbekannt"


def test_delayed_dsn() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; a@example.net\nAction: delayed\nStatus: 4.4.1\n"
        "Will-Retry-Until: Wed, 6 Mar 2024 10:00:00 +0000\n"
    )
    (recipient,) = bouncekit.parse(make_dsn(body)).recipients
    assert recipient.action is Action.DELAYED
    assert recipient.status is not None
    assert recipient.status.is_transient


def test_invalid_values_become_defects() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\nArrival-Date: yesterday\n\n"
        "Final-Recipient: rfc822; a@example.net\nAction: bounced\nStatus: 550\n"
        "this line is not a field\n"
    )
    bounce = bouncekit.parse(make_dsn(body))
    codes = {defect.code for defect in bounce.defects}
    assert {"invalid-date", "invalid-action", "invalid-status", "invalid-dsn-line"} <= codes
    assert bounce.recipients[0].address == "a@example.net"
    assert bounce.recipients[0].action is None


def test_group_without_recipient_is_defect() -> None:
    body = "Reporting-MTA: dns; mx.example.org\n\nAction: failed\nStatus: 5.1.1\n"
    bounce = bouncekit.parse(make_dsn(body))
    assert "missing-final-recipient" in {defect.code for defect in bounce.defects}


def test_group_without_recipient_takes_returned_to() -> None:
    body = "Reporting-MTA: dns; mx.example.org\n\nAction: failed\nStatus: 5.1.1\n"
    bounce = bouncekit.parse(make_dsn(body))
    assert [(r.address, str(r.status)) for r in bounce.recipients] == [
        ("alice@example.net", "5.1.1")
    ]


def test_broken_boundary_is_salvaged() -> None:
    raw = make_dsn(PER_MESSAGE + "\n" + FULL_GROUP).replace(b'boundary="BB"', b'boundary="XX"')
    bounce = bouncekit.parse(raw)
    assert [r.address for r in bounce.recipients] == ["alice@example.net"]
    assert bounce.original_message_id == "<campaign-7.alice@example.com>"
    assert "salvaged-dsn" in {defect.code for defect in bounce.defects}


def test_forwarded_dsn_is_found() -> None:
    inner = make_dsn(PER_MESSAGE + "\n" + FULL_GROUP).decode()
    outer = (
        "From: postmaster@example.org\nTo: bounces@example.com\nSubject: Fwd: bounce\n"
        "Message-ID: <forward@example.org>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="OUT"\n\n'
        "--OUT\nContent-Type: text/plain\n\nSee the attached bounce.\n\n"
        f"--OUT\nContent-Type: message/rfc822\n\n{inner}\n--OUT--\n"
    )
    bounce = bouncekit.parse(outer.encode())
    assert [r.address for r in bounce.recipients] == ["alice@example.net"]
    assert bounce.original_message_id == "<campaign-7.alice@example.com>"


def test_not_a_bounce() -> None:
    raw = b"From: a@example.com\nTo: b@example.net\nSubject: hello\nMessage-ID: <x@example.com>\n\nHi.\n"
    bounce = bouncekit.parse(raw)
    assert bounce.kind is BounceKind.NOT_BOUNCE
    assert bounce.recipients == ()
    assert bounce.original_message_id is None
    assert not bounce.is_bounce


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_parse_never_raises_on_bytes(data: bytes) -> None:
    bounce = bouncekit.parse(data)
    assert "parser-error" not in {defect.code for defect in bounce.defects}


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=2000), st.binary(max_size=40))
def test_parse_never_raises_on_damaged_dsn(cut: int, noise: bytes) -> None:
    raw = make_dsn(PER_MESSAGE + "\n" + FULL_GROUP)
    bounce = bouncekit.parse(raw[:cut] + noise + raw[cut:])
    assert "parser-error" not in {defect.code for defect in bounce.defects}


def test_binary_data_is_not_a_message() -> None:
    bounce = bouncekit.parse(b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)))
    assert bounce.kind is BounceKind.NOT_BOUNCE
    assert [defect.code for defect in bounce.defects] == ["not-a-message"]


def test_default_policy_message_input() -> None:
    raw = make_dsn(PER_MESSAGE + "\n" + FULL_GROUP)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert bouncekit.parse(message) == bouncekit.parse(raw)


def test_mime_defect_named_in_words() -> None:
    raw = make_dsn(PER_MESSAGE + "\n" + FULL_GROUP).replace(b"\n--BB--\n", b"\n")
    defects = {defect.code: defect.message for defect in bouncekit.parse(raw).defects}
    assert (
        defects["mime-close-boundary-not-found"]
        == "a multipart body ends without its closing boundary"
    )


def _dsn_with_notice(notice: str, status_body: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.org\n"
        "To: bounces@example.com\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="BB"\n'
        "\n--BB\nContent-Type: text/plain\n\n"
        f"{notice}\n"
        "\n--BB\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; mx.example.org\n\n{status_body}"
        "\n--BB--\n"
    ).encode()


def test_incomplete_address_from_notice() -> None:
    notice = "The following addresses had permanent fatal errors:\n<lena@example.net>\n"
    body = "Final-Recipient: rfc822; @mx.example.net\nAction: failed\nStatus: 5.1.2\n"
    bounce = bouncekit.parse(_dsn_with_notice(notice, body))
    assert [r.address for r in bounce.recipients] == ["lena@example.net"]
    assert "incomplete-recipient" in {defect.code for defect in bounce.defects}


def test_incomplete_address_ambiguous_notice() -> None:
    notice = "Failed: <lena@example.net>, <omar@example.net>\n"
    body = "Final-Recipient: rfc822; @example.net\nAction: failed\nStatus: 5.1.2\n"
    bounce = bouncekit.parse(_dsn_with_notice(notice, body))
    assert [r.address for r in bounce.recipients] == ["@example.net"]


def test_incomplete_address_other_domain() -> None:
    notice = "Failed: <lena@other.example>\n"
    body = "Final-Recipient: rfc822; @example.net\nAction: failed\nStatus: 5.1.2\n"
    bounce = bouncekit.parse(_dsn_with_notice(notice, body))
    assert [r.address for r in bounce.recipients] == ["@example.net"]


def test_path_rejected_with_hint() -> None:
    with pytest.raises(TypeError, match=r"read_bytes\(\)"):
        bouncekit.parse(Path("bounces/0001.eml"))  # type: ignore[arg-type]


def test_file_name_text_defect_hint() -> None:
    bounce = bouncekit.parse("bounces/0001.eml")
    assert bounce.kind is BounceKind.NOT_BOUNCE
    assert "looks like a file name" in bounce.defects[0].message


def test_plain_text_defect_no_hint() -> None:
    bounce = bouncekit.parse("just some words")
    assert "file name" not in bounce.defects[0].message


def test_bytearray_accepted() -> None:
    data = make_dsn(PER_MESSAGE + "\n" + FULL_GROUP)
    assert bouncekit.parse(bytearray(data)) == bouncekit.parse(data)


def test_repr_short() -> None:
    bounce = bouncekit.parse(make_dsn(PER_MESSAGE + "\n" + FULL_GROUP))
    text = repr(bounce)
    assert len(text) < 1000
    assert "alice@example.net" in text
    assert "<DeliveryStatus, 1 recipient group(s)>" in text
    assert "dsn=" not in text


def test_to_dict_is_json() -> None:
    bounce = bouncekit.parse(make_dsn(PER_MESSAGE + "\n" + FULL_GROUP))
    record = json.loads(json.dumps(bounce.to_dict()))
    assert record["kind"] == "dsn"
    assert record["original_message_id"] == "<campaign-7.alice@example.com>"
    assert record["recipients"][0]["status"] == "5.1.1"
    assert record["recipients"][0]["action"] == "failed"


def test_undeclared_boundary_splits_report() -> None:
    raw = (
        "From: MAILER-DAEMON@mx.example.org\n"
        "To: bounces@example.com\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="AA"\n'
        "\n--AA\nContent-Type: text/plain\n\nYour message could not be delivered.\n"
        "\n--AA\nContent-Type: message/delivery-status\n\n"
        f"{PER_MESSAGE}\n{FULL_GROUP}\n"
        "--ZZ\n"
        f"{RETURNED_HEADERS}\n"
        "--ZZ--\n"
    ).encode()
    bounce = bouncekit.parse(raw)
    codes = [defect.code for defect in bounce.defects]
    assert bounce.original_message_id == "<campaign-7.alice@example.com>"
    assert bounce.original_headers.get("X-Campaign-Id") == "spring-7"
    assert [r.address for r in bounce.recipients] == ["alice@example.net"]
    assert "stray-boundary" in codes
    assert "invalid-recipient-group" not in codes


def test_unix_exit_status_not_reply_code() -> None:
    body = (
        "Reporting-MTA: dns; mx.example.org\n\n"
        "Final-Recipient: rfc822; a@example.net\nAction: failed\nStatus: 5.0.0\n"
        "Diagnostic-Code: X-Unix; 255\n"
    )
    recipient = bouncekit.parse(make_dsn(body)).recipients[0]
    assert recipient.reply_code is None
    assert recipient.diagnostic == "255"


def test_recipient_block_reason_not_quoted_fields() -> None:
    raw = make_dsn(NO_DIAGNOSTIC_GROUP).replace(
        b"Your message could not be delivered.\n",
        b"This report relates to a message you sent with the following header fields:\n\n"
        b"  From: News <news@example.com>\n"
        b"  To: a@example.net\n"
        b"  Subject: Spring news\n\n"
        b"Your message cannot be delivered to the following recipients:\n\n"
        b"  Recipient address: a@example.net\n"
        b"  Reason: host/domain does not accept mail\n",
    )
    (recipient,) = bouncekit.parse(raw).recipients
    assert recipient.diagnostic == "host/domain does not accept mail"


_PARSE_UNREADABLE_ADDRESS = """
import bouncekit
bounce = bouncekit.parse(
    b"From: MAILER-DAEMON@mx.example.org\\nMIME-Version: 1.0\\n"
    b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\\n\\n"
    b"--B\\nContent-Type: message/delivery-status\\n\\nReporting-MTA: dns; mx.example.org\\n\\n"
    b"Final-Recipient: rfc822; \\x01a@example.net\\nAction: failed\\nStatus: 5.1.1\\n\\n--B--\\n"
)
print(len(bounce.recipients))
"""


def test_unreadable_address_prints_nothing() -> None:
    # Run alone: pytest's own log capture would hide what Python prints without handlers.
    result = subprocess.run(
        [sys.executable, "-c", _PARSE_UNREADABLE_ADDRESS],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.stdout == "1\n"
    assert result.stderr == ""


def test_odd_charset_text_part() -> None:
    raw = make_dsn(PER_MESSAGE + "\n" + FULL_GROUP).replace(
        b"Content-Type: text/plain\n", b"Content-Type: text/plain; charset=punycode\n", 1
    )
    bounce = bouncekit.parse(raw.replace(b"Your message could not be delivered.", b"a..b"))
    assert "parser-error" not in {defect.code for defect in bounce.defects}
    assert [r.address for r in bounce.recipients] == ["alice@example.net"]
