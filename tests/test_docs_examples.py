"""The examples in the README and the quick start print what the pages show."""

from __future__ import annotations

import contextlib
import io
import itertools
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "docs" / "quickstart.md"]

_FENCE = re.compile(r"^```(\w+)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
_SCAN_PROMPT = "$ .venv/bin/bouncekit "


def fences(page: Path) -> list[tuple[str, str]]:
    """Return the ``(language, text)`` of every fenced code block of *page*, in order."""
    return _FENCE.findall(page.read_text(encoding="utf-8"))


def python_examples(page: Path) -> Iterator[tuple[str, str]]:
    """Yield each ``python`` block of *page* with the ``text`` block right after it."""
    blocks = fences(page)
    for (language, code), (next_language, output) in itertools.pairwise(blocks):
        if language == "python" and next_language == "text":
            yield code, output


def scan_examples(page: Path) -> Iterator[tuple[list[str], str]]:
    """Yield the arguments and the shown output of each ``bouncekit`` command of *page*."""
    for language, text in fences(page):
        if language != "console" or not text.startswith(_SCAN_PROMPT):
            continue
        command, _, output = text.partition("\n")
        args = shlex.split(command.removeprefix(_SCAN_PROMPT))
        if "--format" not in args:
            args += ["--format", "table"]  # what a terminal shows
        yield args, output


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_python_output(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    examples = list(python_examples(page))
    assert examples, f"no python example with its output in {page.name}"
    namespace: dict[str, object] = {}
    for code, expected in examples:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(code, namespace)
        assert out.getvalue() == expected, code


def test_scan_output() -> None:
    examples = list(scan_examples(ROOT / "docs" / "quickstart.md"))
    assert len(examples) == 2
    for args, expected in examples:
        command = [sys.executable, "-m", "bouncekit", *args]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr
        assert result.stdout == expected, args
