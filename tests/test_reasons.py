"""The reason table: default bounce types, Adobe Campaign equivalents, and the docs page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bouncekit import BounceType, Reason
from bouncekit.rules import REASONS, AdobeFailureReason, AdobeFailureType, adobe_failure_type

DOCS_PAGE = Path(__file__).resolve().parents[1] / "docs" / "rules.md"
_ROW = re.compile(r"^\| `(\w+)` \| (\w+) \| (\w+) \| ([\w ]+) \((\d+)\) \| (.+) \|$", re.MULTILINE)


def test_every_reason_mapped() -> None:
    assert set(REASONS) == set(Reason)


@pytest.mark.parametrize(
    ("reason", "bounce_type"),
    [
        (Reason.USER_UNKNOWN, BounceType.HARD),
        (Reason.HOST_UNKNOWN, BounceType.HARD),
        (Reason.HAS_MOVED, BounceType.HARD),
        (Reason.NOT_ACCEPT, BounceType.HARD),
        (Reason.MAILBOX_FULL, BounceType.SOFT),
        (Reason.AUTH_FAILURE, BounceType.SOFT),
        (Reason.BAD_REPUTATION, BounceType.SOFT),
        (Reason.COMPLAINT, BounceType.COMPLAINT),
        (Reason.AUTO_REPLY, BounceType.IGNORED),
        (Reason.DELIVERED, BounceType.IGNORED),
    ],
)
def test_default_bounce_type(reason: Reason, bounce_type: BounceType) -> None:
    assert REASONS[reason].bounce_type is bounce_type


def test_only_address_reasons_hard() -> None:
    hard = {reason for reason, info in REASONS.items() if info.bounce_type is BounceType.HARD}

    assert hard == {
        Reason.USER_UNKNOWN,
        Reason.HOST_UNKNOWN,
        Reason.HAS_MOVED,
        Reason.NOT_ACCEPT,
    }


@pytest.mark.parametrize(
    ("reason", "adobe"),
    [
        (Reason.USER_UNKNOWN, AdobeFailureReason.USER_UNKNOWN),
        (Reason.HOST_UNKNOWN, AdobeFailureReason.INVALID_DOMAIN),
        (Reason.MAILBOX_FULL, AdobeFailureReason.MAILBOX_FULL),
        (Reason.SUSPENDED, AdobeFailureReason.ACCOUNT_DISABLED),
        (Reason.NETWORK_ERROR, AdobeFailureReason.UNREACHABLE),
        (Reason.SPAM_DETECTED, AdobeFailureReason.REFUSED),
        (Reason.UNDEFINED, AdobeFailureReason.NOT_DEFINED),
    ],
)
def test_adobe_failure_reason(reason: Reason, adobe: AdobeFailureReason) -> None:
    assert REASONS[reason].adobe_failure_reason is adobe


def test_adobe_codes() -> None:
    codes = {member.label: int(member) for member in AdobeFailureReason}

    assert codes == {
        "Not defined": 0,
        "User unknown": 1,
        "Invalid domain": 2,
        "Unreachable": 3,
        "Account disabled": 4,
        "Mailbox full": 5,
        "Refused": 20,
    }


def test_adobe_failure_types() -> None:
    assert adobe_failure_type(BounceType.HARD) is AdobeFailureType.HARD
    assert adobe_failure_type(BounceType.SOFT) is AdobeFailureType.SOFT
    assert adobe_failure_type(BounceType.IGNORED) is AdobeFailureType.IGNORED


def test_docs_table_matches_data() -> None:
    rows = {
        match[1]: (match[2], match[3], match[4], int(match[5]), match[6])
        for match in _ROW.finditer(DOCS_PAGE.read_text(encoding="utf-8"))
    }
    expected = {
        reason.value: (
            info.bounce_type.value,
            info.adobe_failure_type.value,
            info.adobe_failure_reason.label,
            int(info.adobe_failure_reason),
            info.description,
        )
        for reason, info in REASONS.items()
    }

    assert rows == expected
