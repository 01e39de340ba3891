"""Message-ID normalisation (RFC 5322 section 3.6.4)."""

from __future__ import annotations

import pytest

from bouncekit.correlate import find_message_ids, normalize_message_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<a1@example.com>", "<a1@example.com>"),
        ("  <a1@example.com>  ", "<a1@example.com>"),
        ("a1@example.com", "<a1@example.com>"),
        ("< a1@example.com >", "<a1@example.com>"),
        ("<a1 @ example.com>", "<a1@example.com>"),
        ("<a1@example.com> (sent by the list server)", "<a1@example.com>"),
        ("(comment) <a1(inner)@example.com>", "<a1@example.com>"),
        ("<a1@\r\n example.com>", "<a1@example.com>"),
        ("\r\n <a1@example.com>", "<a1@example.com>"),
    ],
)
def test_normalize_message_id_forms(value: str, expected: str) -> None:
    assert normalize_message_id(value) == expected


def test_normalize_message_id_keeps_case() -> None:
    assert normalize_message_id("<Ab.Cd@Example.COM>") == "<Ab.Cd@Example.COM>"


@pytest.mark.parametrize("value", [None, "", "   ", "<>", "two words", "(only a comment)"])
def test_normalize_message_id_empty(value: str | None) -> None:
    assert normalize_message_id(value) is None


def test_find_message_ids_references() -> None:
    value = "<a@x.example>\r\n <b@x.example> <a@x.example>\t<c@x.example>"
    assert find_message_ids(value) == ["<a@x.example>", "<b@x.example>", "<c@x.example>"]


def test_find_message_ids_quoted_local_part() -> None:
    assert find_message_ids('<"a b"@x.example>') == ['<"a b"@x.example>']
