"""
Reported failures of other bounce tools, checked against their expected results.

Each case folder contains an input message and the values a correct parser
returns. The kinds behind them (DSN layouts, UTF-8 reports, recipients that
are only in the DSN) also have tests of their own in ``test_rfc3464.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bouncekit
from bouncekit import BounceType
from bouncekit.rules import RuleSet

DSN_CASES = [
    "01-dsn-last-group-no-trailing-blank-line",
    "02-dsn-extra-blank-lines-between-groups",
    "03-final-recipient-spacing-and-3digit-detail",
    "04-global-delivery-status-utf8",
    "05-dsn-without-x-failed-recipients",
]


def load_case(shared_dir: Path, name: str) -> tuple[bytes, dict[str, Any]]:
    folder = shared_dir / "cases" / name
    if not folder.is_dir():
        pytest.skip(f"case folder {folder} is not present")
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    return (folder / "input.eml").read_bytes(), expected


@pytest.mark.parametrize("name", DSN_CASES)
def test_dsn_case_recipients(shared_dir: Path, name: str) -> None:
    raw, expected = load_case(shared_dir, name)
    bounce = bouncekit.parse(raw)
    assert bounce.is_bounce == expected["is_bounce"]
    got = [
        (r.address, r.action.value if r.action else None, str(r.status)) for r in bounce.recipients
    ]
    wanted = [(r["address"], r["action"], r["status"]) for r in expected["recipients"]]
    assert got == wanted


@pytest.mark.parametrize("name", DSN_CASES)
def test_dsn_case_original_message_id(shared_dir: Path, name: str) -> None:
    raw, expected = load_case(shared_dir, name)
    assert bouncekit.parse(raw).original_message_id == expected["original_message_id"]


@pytest.mark.parametrize("name", DSN_CASES)
@pytest.mark.parametrize("newline", [b"\r\n", b"\r"])
def test_dsn_case_line_endings(shared_dir: Path, name: str, newline: bytes) -> None:
    raw, _ = load_case(shared_dir, name)
    assert bouncekit.parse(raw.replace(b"\n", newline)) == bouncekit.parse(raw)


def test_extension_field_with_encoded_word(shared_dir: Path) -> None:
    raw, _ = load_case(shared_dir, "05-dsn-without-x-failed-recipients")
    bounce = bouncekit.parse(raw)
    fields = bounce.recipients[0].dsn
    assert fields is not None
    assert fields.extensions.get("X-Display-Name") == "=?iso-8859-1?Q?Noor_Hadd=E1d?="
    assert bounce.headers.get("X-Failed-Recipients") is None


def case_inputs(shared_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Return every message input of the reported cases with its expected result."""
    found = []
    for folder in sorted((shared_dir / "cases").iterdir()):
        expected_file = folder / "expected.json"
        if not expected_file.is_file():
            continue
        expected = json.loads(expected_file.read_text(encoding="utf-8"))
        for message in sorted(folder.glob("input*.eml")):
            found.append((message, expected))
    return found


def test_case_verdicts(shared_dir: Path) -> None:
    """Each reported case's recipients get the expected hard/not-hard verdict and reason."""
    rules = RuleSet.default()
    wrong = []
    checked = 0
    for message, expected in case_inputs(shared_dir):
        verdicts = rules.classify(bouncekit.parse(message.read_bytes()))
        for verdict, wanted in zip(verdicts, expected.get("recipients", []), strict=False):
            checked += 1
            allowed = wanted.get("reason_any_of") or [wanted["reason"]]
            if verdict.reason.value not in allowed:
                wrong.append((message.parent.name, verdict.address, verdict.reason.value))
            if "hard" in wanted and (verdict.bounce_type is BounceType.HARD) != wanted["hard"]:
                wrong.append((message.parent.name, verdict.address, verdict.bounce_type.value))
    assert checked >= 15
    assert wrong == []


def test_out_of_office_case_ignored(shared_dir: Path) -> None:
    raw, _ = load_case(shared_dir, "16-out-of-office-reply-is-not-a-bounce")
    bounce = bouncekit.parse(raw)
    verdicts = RuleSet.default().classify(bounce)
    assert not bounce.is_bounce
    assert all(verdict.bounce_type is BounceType.IGNORED for verdict in verdicts)
