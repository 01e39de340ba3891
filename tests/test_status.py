"""Tests for RFC 3463 status codes."""

from __future__ import annotations

import pytest

from bouncekit import StatusCode
from bouncekit._status import find_status_codes

# Every subject and detail pair RFC 3463 section 3 defines.
RFC3463_PAIRS = [
    (0, 0),
    *[(1, detail) for detail in range(9)],
    *[(2, detail) for detail in range(5)],
    *[(3, detail) for detail in range(6)],
    *[(4, detail) for detail in range(8)],
    *[(5, detail) for detail in range(6)],
    *[(6, detail) for detail in range(6)],
    *[(7, detail) for detail in range(8)],
]


def test_parse_simple() -> None:
    code = StatusCode.parse("5.1.1")
    assert code == StatusCode(5, 1, 1)
    assert str(code) == "5.1.1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5.4.317", "5.4.317"),
        ("5.1.10", "5.1.10"),
        ("  4.2.2", "4.2.2"),
        ("5.0.0 (permanent failure)", "5.0.0"),
        ("2.0.0", "2.0.0"),
        ("5.01.001", "5.1.1"),
    ],
)
def test_parse_variants(text: str, expected: str) -> None:
    assert str(StatusCode.parse(text)) == expected


@pytest.mark.parametrize("text", ["", "550", "3.1.1", "5.1", "5.1.1000", "x.1.1", "5.1.1.2"])
def test_parse_invalid_raises(text: str) -> None:
    with pytest.raises(ValueError, match="invalid RFC 3463 status code"):
        StatusCode.parse(text)


def test_try_parse_invalid_is_none() -> None:
    assert StatusCode.try_parse("nonsense") is None


def test_constructor_validates_class() -> None:
    with pytest.raises(ValueError, match="class_"):
        StatusCode(3, 1, 1)


def test_classes() -> None:
    assert StatusCode(5, 1, 1).is_permanent
    assert not StatusCode(5, 1, 1).is_transient
    assert StatusCode(4, 4, 7).is_transient
    assert StatusCode(2, 0, 0).is_success
    assert StatusCode(5, 0, 0).is_generic
    assert not StatusCode(5, 1, 0).is_generic


@pytest.mark.parametrize(("subject", "detail"), RFC3463_PAIRS)
def test_every_rfc3463_code_has_description(subject: int, detail: int) -> None:
    code = StatusCode(5, subject, detail)
    assert code.description != code.subject_description or (subject, detail) == (0, 0)


def test_description_values() -> None:
    assert StatusCode(5, 1, 1).description == "Bad destination mailbox address"
    assert StatusCode(4, 2, 2).description == "Mailbox full"
    assert StatusCode(5, 7, 1).description == "Delivery not authorized, message refused"
    assert StatusCode(5, 1, 10).description.startswith("Recipient address has null MX")
    assert StatusCode(5, 3, 99).description == "Mail system status"
    assert StatusCode(5, 9, 1).subject_description == "Unknown subject"
    assert StatusCode(4, 0, 0).class_description == "Persistent transient failure"


def test_find_codes_in_text() -> None:
    text = "host 192.0.2.1 said: 550 #5.1.0 Address rejected; see 5.7.1 and v2.4.1.7"
    assert find_status_codes(text) == [StatusCode(5, 1, 0), StatusCode(5, 7, 1)]


def test_find_codes_prefers_reply() -> None:
    text = "5.1.0 - Unknown address error 550-'5.7.1 <id@example.com>... Access denied'"
    assert find_status_codes(text)[0] == StatusCode(5, 1, 0)
    assert find_status_codes(text, prefer_replies=True)[0] == StatusCode(5, 7, 1)


def test_codes_order() -> None:
    assert sorted([StatusCode(5, 1, 1), StatusCode(4, 7, 1)])[0] == StatusCode(4, 7, 1)


def test_equal_to_text() -> None:
    code = StatusCode(5, 1, 1)
    assert code == "5.1.1"
    assert code != "5.1.2"
    assert code != "a code"
    assert {code: "user unknown"}.get("5.1.1") == "user unknown"


def test_equality_and_order_between_codes() -> None:
    assert StatusCode(5, 1, 1) == StatusCode.parse("5.1.1")
    assert StatusCode(4, 2, 2) < StatusCode(5, 1, 1)
    assert len({StatusCode(5, 1, 1), StatusCode.parse("5.1.1")}) == 1
