"""correlate(): from a parsed bounce back to the sender's record."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import bouncekit
from bouncekit import Bounce, BounceKind, Headers
from bouncekit.correlate import (
    AlteredIdError,
    Correlation,
    CorrelationError,
    CorrelationMethod,
    ForgedIdError,
    MappingCorrelator,
    NoCorrelation,
    SignedIdCodec,
    SQLiteCorrelator,
    VerpCodec,
    correlate,
    message_id_candidates,
)

CODEC = SignedIdCodec([b"the sender's secret signing key"], domain="mail.example.com")

RETURNED = """\
Message-ID: <spring-42.7@mail.example.com>
From: Example Shop <news@example.com>
To: alice@example.org
Subject: Spring sale
X-Campaign-Id: spring-2026
"""


def dsn(
    returned: str | None = RETURNED,
    *,
    part_type: str = "message/rfc822",
    envelope_id: str | None = None,
    to: str = "bounces@example.com",
) -> Bounce:
    """Parse a minimal RFC 3464 report about alice@example.org."""
    envid = f"Original-Envelope-Id: {envelope_id}\n" if envelope_id else ""
    third = f"--b1\nContent-Type: {part_type}\n\n{returned}\n" if returned is not None else ""
    raw = f"""\
From: MAILER-DAEMON@mx.example.org
To: {to}
Message-ID: <notice-1@mx.example.org>
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

The message could not be delivered.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
{envid}
Final-Recipient: rfc822; alice@example.org
Action: failed
Status: 5.1.1

{third}--b1--
"""
    return bouncekit.parse(raw.encode())


def records(*pairs: tuple[str, str]) -> MappingCorrelator[str]:
    return MappingCorrelator(dict(pairs))


def test_correlate_message_id() -> None:
    result = correlate(dsn(), records(("<spring-42.7@mail.example.com>", "delivery 7")))
    assert isinstance(result, Correlation)
    assert result.record == "delivery 7"
    assert result.method is CorrelationMethod.MESSAGE_ID
    assert result.field == "Message-ID"
    assert result.identifier == "<spring-42.7@mail.example.com>"


def test_correlate_text_rfc822_headers() -> None:
    bounce = dsn(part_type="text/rfc822-headers")
    result = correlate(bounce, records(("<spring-42.7@mail.example.com>", "delivery 7")))
    assert result.matched
    assert isinstance(result, Correlation)
    assert result.record == "delivery 7"


def test_correlate_nothing_matched() -> None:
    result = correlate(dsn(), records(("<other@mail.example.com>", "delivery 8")))
    assert isinstance(result, NoCorrelation)
    assert not result.matched
    assert result.tried == (("Message-ID", "<spring-42.7@mail.example.com>"),)


def test_correlate_never_uses_notice_message_id() -> None:
    result = correlate(dsn(returned=None), records(("<notice-1@mx.example.org>", "wrong")))
    assert isinstance(result, NoCorrelation)
    assert result.tried == ()


def test_correlate_rewritten_message_id() -> None:
    # The id a relay wrote in place of the sender's Message-ID.
    returned = RETURNED.replace(
        "<spring-42.7@mail.example.com>", "<OF12AB34CD.56EF@notes.example.org>"
    )
    result = correlate(dsn(returned), records(("<spring-42.7@mail.example.com>", "delivery 7")))
    assert isinstance(result, NoCorrelation)


def test_correlate_truncated_message_id() -> None:
    returned = RETURNED.replace("<spring-42.7@mail.example.com>", "<spring-42.7@mail.exam")
    result = correlate(dsn(returned), records(("<spring-42.7@mail.example.com>", "delivery 7")))
    assert isinstance(result, NoCorrelation)


def test_correlate_folded_message_id() -> None:
    returned = RETURNED.replace(
        "Message-ID: <spring-42.7@mail.example.com>",
        "Message-ID:\n  <spring-42.7@mail.example.com> (kept by the relay)",
    )
    result = correlate(dsn(returned), records(("<spring-42.7@mail.example.com>", "delivery 7")))
    assert isinstance(result, Correlation)
    assert result.record == "delivery 7"


def test_correlate_in_reply_to_ignored_with_message_id() -> None:
    returned = RETURNED + "In-Reply-To: <earlier-1@mail.example.com>\n"
    result = correlate(dsn(returned), records(("<earlier-1@mail.example.com>", "earlier")))
    assert isinstance(result, NoCorrelation)


def test_correlate_in_reply_to_without_message_id() -> None:
    returned = (
        "From: news@example.com\n"
        "In-Reply-To: <spring-42.6@mail.example.com>\n"
        "References: <spring-1@mail.example.com> <spring-42.5@mail.example.com>\n"
    )
    found = records(
        ("<spring-42.6@mail.example.com>", "six"), ("<spring-1@mail.example.com>", "one")
    )
    result = correlate(dsn(returned), found)
    assert isinstance(result, Correlation)
    assert result.field == "In-Reply-To"
    assert result.record == "six"


def test_candidates_order_without_message_id() -> None:
    returned = (
        "From: news@example.com\n"
        "In-Reply-To: <b@mail.example.com>\n"
        "References: <a@mail.example.com>\n <b@mail.example.com> <c@mail.example.com>\n"
    )
    assert list(message_id_candidates(dsn(returned))) == [
        ("In-Reply-To", "<b@mail.example.com>"),
        ("References", "<c@mail.example.com>"),
        ("References", "<a@mail.example.com>"),
    ]


def test_candidates_auto_reply() -> None:
    reply = Bounce(
        kind=BounceKind.AUTO_REPLY,
        headers=Headers(
            (
                ("Message-ID", "<vacation-9@example.org>"),
                ("In-Reply-To", "<spring-42.7@mail.example.com>"),
            )
        ),
    )
    assert list(message_id_candidates(reply)) == [("In-Reply-To", "<spring-42.7@mail.example.com>")]


def test_candidates_dsn_ignores_notice_in_reply_to() -> None:
    bounce = Bounce(
        kind=BounceKind.DSN,
        headers=Headers((("In-Reply-To", "<spring-42.7@mail.example.com>"),)),
    )
    assert list(message_id_candidates(bounce)) == []


def test_correlate_header() -> None:
    result = correlate(dsn(), records(("spring-2026", "campaign")), headers=["X-Campaign-Id"])
    assert isinstance(result, Correlation)
    assert result.method is CorrelationMethod.HEADER
    assert result.field == "X-Campaign-Id"
    assert result.record == "campaign"


def test_correlate_message_id_before_header() -> None:
    found = records(("spring-2026", "campaign"), ("<spring-42.7@mail.example.com>", "delivery"))
    result = correlate(dsn(), found, headers=["X-Campaign-Id"])
    assert isinstance(result, Correlation)
    assert result.method is CorrelationMethod.MESSAGE_ID


def test_correlate_envelope_id() -> None:
    bounce = dsn(returned=None, envelope_id="QQ314159")
    result = correlate(bounce, records(("QQ314159", "delivery 9")))
    assert isinstance(result, Correlation)
    assert result.method is CorrelationMethod.ENVELOPE_ID
    assert result.field == "Original-Envelope-Id"
    assert result.record == "delivery 9"


def test_correlate_envelope_id_xtext() -> None:
    bounce = dsn(returned=None, envelope_id="c42+2B7")
    result = correlate(bounce, records(("c42+7", "delivery 7")))
    assert isinstance(result, Correlation)
    assert result.identifier == "c42+7"


def test_correlate_envelope_id_off() -> None:
    bounce = dsn(returned=None, envelope_id="QQ314159")
    result = correlate(bounce, records(("QQ314159", "delivery 9")), envelope_id=False)
    assert isinstance(result, NoCorrelation)


def test_correlate_signed_id() -> None:
    message_id = CODEC.encode("spring-2026", "alice-17")
    bounce = dsn(RETURNED.replace("<spring-42.7@mail.example.com>", message_id))
    result = correlate(bounce, signed_ids=CODEC)
    assert isinstance(result, Correlation)
    assert result.method is CorrelationMethod.SIGNED_ID
    assert result.record is None
    assert result.signed_id is not None
    assert result.signed_id.delivery_id == "spring-2026"
    assert result.signed_id.recipient_id == "alice-17"


def test_correlate_forged_signed_id() -> None:
    forger = SignedIdCodec([b"not the sender's signing key"], domain="mail.example.com")
    message_id = forger.encode("spring-2026", "bob-18")
    bounce = dsn(RETURNED.replace("<spring-42.7@mail.example.com>", message_id))
    result = correlate(bounce, signed_ids=CODEC)
    assert isinstance(result, NoCorrelation)
    assert len(result.rejected) == 1
    assert result.rejected[0].message_id == message_id
    assert isinstance(result.rejected[0].error, ForgedIdError)


def test_correlate_forged_signed_id_then_envelope_id() -> None:
    forger = SignedIdCodec([b"not the sender's signing key"], domain="mail.example.com")
    returned = RETURNED.replace("<spring-42.7@mail.example.com>", forger.encode("x", "y"))
    result = correlate(dsn(returned, envelope_id="QQ1"), records(("QQ1", "d")), signed_ids=CODEC)
    assert isinstance(result, Correlation)
    assert result.method is CorrelationMethod.ENVELOPE_ID
    assert len(result.rejected) == 1


def test_correlate_truncated_signed_id() -> None:
    message_id = CODEC.encode("spring-2026", "alice-17")
    cut = message_id[: message_id.index("@") - 5]
    bounce = dsn(RETURNED.replace("<spring-42.7@mail.example.com>", cut))
    result = correlate(bounce, signed_ids=CODEC)
    assert isinstance(result, NoCorrelation)
    assert len(result.rejected) == 1
    assert isinstance(result.rejected[0].error, AlteredIdError)


def test_correlate_signed_id_cut_in_domain() -> None:
    message_id = CODEC.encode("spring-2026", "alice-17")
    bounce = dsn(RETURNED.replace("<spring-42.7@mail.example.com>", message_id[:-8]))
    result = correlate(bounce, signed_ids=CODEC)
    assert isinstance(result, Correlation)
    assert result.signed_id is not None
    assert result.signed_id.recipient_id == "alice-17"


def test_correlate_verp() -> None:
    verp = VerpCodec("bounces", "bounces.example.com")
    bounce = dsn(returned=None, to=verp.encode("alice@example.org"))
    result = correlate(bounce, verp=verp)
    assert isinstance(result, Correlation)
    assert result.method is CorrelationMethod.VERP
    assert result.field == "To"
    assert result.recipient == "alice@example.org"


def test_mapping_correlator_brackets() -> None:
    bare = MappingCorrelator({"a@example.com": 1})
    bracketed = MappingCorrelator({"<b@example.com>": 2})
    assert bare.resolve("<a@example.com>") == 1
    assert bracketed.resolve("b@example.com") == 2


class Deliveries:
    """A user-written correlator: any object with resolve() fits the protocol."""

    def __init__(self) -> None:
        self.rows = {"<spring-42.7@mail.example.com>": (7, "alice@example.org")}

    def resolve(self, message_id: str) -> tuple[int, str] | None:
        return self.rows.get(message_id)


def test_correlate_custom_correlator() -> None:
    result = correlate(dsn(), Deliveries())
    assert isinstance(result, Correlation)
    assert result.record == (7, "alice@example.org")


def test_correlate_sqlite_store(tmp_path: Path) -> None:
    with SQLiteCorrelator(tmp_path / "sent.db") as store:
        store.record("spring-42.7@mail.example.com", {"delivery": 7, "recipient": "alice"})
        result = correlate(dsn(), store)
    assert isinstance(result, Correlation)
    assert result.record == {"delivery": 7, "recipient": "alice"}


# Reported failures, rebuilt as minimal inputs: an Exchange report without
# X-Failed-Recipients, and a Sendmail report whose ids are only in its
# text/rfc822-headers part, sent to a BATV-tagged address.


def test_correlate_exchange_report() -> None:
    returned = (
        "Message-ID: <upd-2018-03-c42@example.com>\n"
        "From: Example Product Team <news@example.com>\n"
        "To: Noor Haddad <noor.haddad@example.net>\n"
    )
    bounce = dsn(returned, to="bounces+c42@example.com")
    result = correlate(bounce, records(("<upd-2018-03-c42@example.com>", "update c42")))
    assert isinstance(result, Correlation)
    assert result.record == "update c42"


def test_correlate_sendmail_headers_part() -> None:
    returned = (
        "Return-Path: <prvs=0123abcd45=bounces@example.com>\n"
        "Message-ID: <c7f1e2d3.autumn-sale.2021@example.com>\n"
        "X-Campaign-ID: 6f2a1c9e\n"
        "X-Subscriber-ID: 91d0c3b2\n"
    )
    bounce = dsn(
        returned, part_type="text/rfc822-headers", to="prvs=0123abcd45=bounces@example.com"
    )
    by_header = correlate(bounce, records(("91d0c3b2", "subscriber")), headers=["X-Subscriber-ID"])
    assert isinstance(by_header, Correlation)
    assert by_header.record == "subscriber"
    assert by_header.field == "X-Subscriber-ID"


def _shared_case(shared_dir: Path, name: str) -> tuple[Bounce, dict[str, object]]:
    folder = shared_dir / "cases" / name
    if not folder.is_dir():
        pytest.skip(f"case folder {folder} is not present")
    expected = json.loads((folder / "expected.json").read_text())
    return bouncekit.parse((folder / "input.eml").read_bytes()), expected


def test_shared_case_exchange_without_failed_recipients(shared_dir: Path) -> None:
    bounce, expected = _shared_case(shared_dir, "05-dsn-without-x-failed-recipients")
    message_id = str(expected["original_message_id"])
    result = correlate(bounce, records((message_id, "delivery")))
    assert isinstance(result, Correlation)
    assert result.identifier == message_id


def test_shared_case_ids_in_headers_part(shared_dir: Path) -> None:
    bounce, expected = _shared_case(shared_dir, "06-ids-only-in-text-rfc822-headers-part")
    message_id = str(expected["original_message_id"])
    by_id = correlate(bounce, records((message_id, "delivery")))
    assert isinstance(by_id, Correlation)
    assert by_id.identifier == message_id
    headers = expected["original_headers"]
    assert isinstance(headers, dict)
    for name, value in headers.items():
        by_header = correlate(bounce, records((value, name)), headers=[name])
        assert isinstance(by_header, Correlation)
        assert by_header.record == name


def test_correlate_plain_dict() -> None:
    result = correlate(dsn(), {"spring-42.7@mail.example.com": "delivery 7"})
    assert isinstance(result, Correlation)
    assert result.record == "delivery 7"


def test_correlate_header_as_string() -> None:
    result = correlate(dsn(), records(("spring-2026", "campaign")), headers="X-Campaign-Id")
    assert isinstance(result, Correlation)
    assert result.field == "X-Campaign-Id"


def test_correlate_verp_as_string() -> None:
    to = VerpCodec("bounces", "bounces.example.com").encode("alice@example.org")
    result = correlate(dsn(returned=None, to=to), verp="bounces@bounces.example.com")
    assert isinstance(result, Correlation)
    assert result.recipient == "alice@example.org"


@pytest.mark.parametrize(
    ("arguments", "error", "words"),
    [
        ({"correlator": ["<a@b>"]}, TypeError, "resolve(message_id)"),
        ({"signed_ids": "a secret key"}, TypeError, "SignedIdCodec([key])"),
        ({"headers": [1]}, TypeError, "field names"),
        ({"verp": 42}, TypeError, "VerpCodec"),
        ({"verp": "bounces"}, ValueError, "LOCAL@DOMAIN"),
    ],
)
def test_correlate_wrong_argument(arguments: dict[str, object], error: type, words: str) -> None:
    with pytest.raises(error, match=re.escape(words)):
        correlate(dsn(), **arguments)  # type: ignore[arg-type]


def test_correlate_not_a_bounce() -> None:
    with pytest.raises(TypeError, match="takes a Bounce"):
        correlate(b"raw bytes", {})  # type: ignore[arg-type]


def test_mapping_correlator_not_a_mapping() -> None:
    with pytest.raises(TypeError, match="mapping of ids to records"):
        MappingCorrelator(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("domain", ["", "bounces example.com"])
def test_verp_invalid_domain(domain: str) -> None:
    with pytest.raises(CorrelationError, match="invalid VERP domain"):
        VerpCodec("bounces", domain)
