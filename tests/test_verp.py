"""The VERP codec."""

from __future__ import annotations

import pytest

from bouncekit import Headers
from bouncekit.correlate import CorrelationError, VerpCodec

VERP = VerpCodec("bounces", "bounces.example.com")


def test_encode() -> None:
    assert VERP.encode("alice@example.org") == "bounces+alice=example.org@bounces.example.com"


def test_decode() -> None:
    assert VERP.decode("bounces+alice=example.org@bounces.example.com") == "alice@example.org"


@pytest.mark.parametrize(
    "recipient", ["alice@example.org", "a.b+tag@example.org", "x=y@example.org"]
)
def test_round_trip(recipient: str) -> None:
    assert VERP.decode(VERP.encode(recipient)) == recipient


def test_separator() -> None:
    dashed = VerpCodec("bounces", "bounces.example.com", separator="-")
    address = dashed.encode("alice@example.org")
    assert address == "bounces-alice=example.org@bounces.example.com"
    assert dashed.decode(address) == "alice@example.org"


def test_decode_ignores_case_of_fixed_parts() -> None:
    assert VERP.decode("<Bounces+alice=example.org@BOUNCES.example.com>") == "alice@example.org"


def test_decode_batv_tag() -> None:
    address = "prvs=0123abcd45=bounces+alice=example.org@bounces.example.com"
    assert VERP.decode(address) == "alice@example.org"


@pytest.mark.parametrize(
    "address",
    [
        "bounces@bounces.example.com",
        "bounces+alice=example.org@other.example.com",
        "news+alice=example.org@bounces.example.com",
        "bounces+alice@bounces.example.com",
        "bounces+=example.org@bounces.example.com",
        "not an address",
    ],
)
def test_decode_not_ours(address: str) -> None:
    assert VERP.decode(address) is None


def test_encode_quoted_local_part() -> None:
    with pytest.raises(CorrelationError, match="plain"):
        VERP.encode('"alice smith"@example.org')


def test_bad_separator() -> None:
    with pytest.raises(CorrelationError, match="separator"):
        VerpCodec("bounces", "bounces.example.com", separator="@")


def test_find_recipient_order() -> None:
    headers = Headers(
        (
            ("To", "Bounces <bounces+carol=example.org@bounces.example.com>"),
            ("X-Original-To", "bounces+bob=example.org@bounces.example.com"),
            ("Delivered-To", "postmaster@example.com"),
        )
    )
    found = VERP.find_recipient(headers)
    assert found == (
        "X-Original-To",
        "bounces+bob=example.org@bounces.example.com",
        "bob@example.org",
    )


def test_find_recipient_none() -> None:
    assert VERP.find_recipient(Headers((("To", "bounces@example.com"),))) is None
