"""
Every corpus message parses the same with LF, CRLF and CR-only line endings.

The messages are converted here, so each one is read three ways whatever its
own line endings are. The corpus lives outside the repository; the test skips
when it is absent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import bouncekit
from bouncekit._scan import bounce_record


def record(raw: bytes) -> dict[str, Any]:
    return bounce_record("message", bouncekit.parse(raw))


@pytest.mark.corpus
def test_corpus_same_with_any_line_ending(shared_dir: Path) -> None:
    files = sorted(path for path in (shared_dir / "corpus" / "emails").rglob("*") if path.is_file())
    differ = []
    for path in files:
        lf = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        first = record(lf)
        if record(lf.replace(b"\n", b"\r\n")) != first or record(lf.replace(b"\n", b"\r")) != first:
            differ.append(path.name)
    assert len(files) > 600
    assert differ == []
