"""Shared fixtures: the location of the labelled corpus and reported cases, when present."""

from __future__ import annotations

from pathlib import Path

import pytest

# A checkout lives at /work/<name>, next to the shared folder with the corpus.
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Return the shared folder, or skip the test when this machine has none."""
    if not (SHARED / "corpus" / "manifest.jsonl").is_file():
        pytest.skip(f"the labelled corpus is not present at {SHARED}")
    return SHARED
