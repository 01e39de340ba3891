"""The required-literal gate that lets the engine skip searches that cannot match."""

from __future__ import annotations

from pathlib import Path

import pytest
import regex
from hypothesis import given
from hypothesis import strategies as st

import bouncekit
from bouncekit._literals import required_literals
from bouncekit.rules import RuleSet


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("user unknown", {"user unknown"}),
        ("user (?:is )?unknown", {"unknown"}),
        (r"\bover ?quota\b", {"quota"}),
        ("mailbox full|over quota", {"mailbox full", "over quota"}),
        ("(?:mailbox|account) disabled", {" disabled"}),
        ("recip(?:ient)?notfound", {"notfound"}),
        ("User Unknown", {"user unknown"}),
        ("ディレクトリには見つかりません", {"ディレクトリには見つかりません"}),
        ("宛先(?:が|の)不明", {"宛先"}),
        (r"^\d{3} [\d.]* ?access denied\.?$", {"access denied"}),
    ],
)
def test_required_literals(pattern: str, expected: set[str]) -> None:
    assert required_literals(pattern) == expected


@pytest.mark.parametrize(
    "pattern",
    [
        "(a|aa)+$",  # No literal of three characters.
        "(?i)user",  # Inline flags change how the rest reads.
        r"(\w+) \1 said",  # Backreference.
        "user|",  # An empty branch matches anywhere.
        "xa{2}y",  # "xaay" does not contain "xay".
        "ab{0,3}cd",
        r"\p{Lu}ser",
    ],
)
def test_no_required_literals(pattern: str) -> None:
    assert required_literals(pattern) is None


def admits(pattern: str, text: str) -> bool:
    literals = required_literals(pattern)
    return literals is None or any(literal in text.casefold() for literal in literals)


DEFAULT_PATTERNS = sorted({p for rule in RuleSet.default() for p in rule.conditions.diagnostic})


@pytest.mark.parametrize("pattern", DEFAULT_PATTERNS)
def test_gate_admits_every_match_of_default_pattern(pattern: str) -> None:
    compiled = regex.compile(pattern, regex.IGNORECASE)
    texts = [
        "550 5.1.1 User Unknown",
        "552 Mailbox is FULL, over quota",
        "554 5.7.1 Client host rejected: Blocked using zen.example.org",
        "ユーザー Neko は Domino ディレクトリには見つかりません。",
        "550 Access denied",
        "The email account that you tried to reach does not exist.",
        "This user doesn't have a example.com account",
    ]

    for text in texts:
        if compiled.search(text):
            assert admits(pattern, text), text


@given(st.text(alphabet="abcAB .|?*+()[]{}0123456789\\^$", max_size=12), st.text(max_size=20))
def test_gate_never_rejects_a_match(pattern: str, text: str) -> None:
    try:
        compiled = regex.compile(pattern, regex.IGNORECASE | regex.VERSION0)
    except regex.error:
        return
    if compiled.search(text, timeout=0.05):
        assert admits(pattern, text)


def test_gate_admits_corpus_matches(shared_dir: Path) -> None:
    emails = shared_dir / "corpus" / "emails" / "maildir" / "bsd"
    texts = []
    for path in sorted(emails.glob("*.eml"))[:200]:
        texts.extend(r.diagnostic for r in bouncekit.parse(path.read_bytes()).recipients)
    compiled = {p: regex.compile(p, regex.IGNORECASE) for p in DEFAULT_PATTERNS}

    missed = [
        (pattern, text)
        for text in texts
        if text
        for pattern, rx in compiled.items()
        if rx.search(text) and not admits(pattern, text)
    ]

    assert missed == []
