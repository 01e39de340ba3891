"""
Shared fixtures: the location of the labelled corpus and reported cases when
present, and a private Dovecot POP3 server.
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dovecot_server import DovecotServer, find_dovecot

# The labelled corpus of real bounces and the reported-failure cases are kept
# outside the repository, in a folder named "shared" beside the checkout, or
# wherever BOUNCEKIT_SHARED_DIR points.
SHARED = Path(
    os.environ.get("BOUNCEKIT_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared"
)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Return the shared folder, or skip the test when this machine has none."""
    if not (SHARED / "corpus" / "manifest.jsonl").is_file():
        pytest.skip(
            f"the labelled bounce corpus is not at {SHARED}; set BOUNCEKIT_SHARED_DIR to its folder"
        )
    return SHARED


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """
    Start one Dovecot for the whole session on 127.0.0.1, and stop it at the end.

    Without Dovecot the tests that use it are skipped, unless the CI
    environment variable is set: there they fail, so a broken install shows.
    """
    binary = find_dovecot()
    if binary is None:
        reason = "dovecot is not installed; install Debian's dovecot-pop3d to run the POP3 tests"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    server = DovecotServer(binary)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def tls_context(dovecot: DovecotServer) -> ssl.SSLContext:
    """Return a client context that trusts the test server's certificate, and nothing else."""
    return ssl.create_default_context(cafile=str(dovecot.ca_file))


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """Return a new folder that every user can read, for a command run as another user."""
    folder = Path(tempfile.mkdtemp(prefix="bouncekit-test-"))
    folder.chmod(0o755)
    yield folder
    for path in folder.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            path.chmod(0o755)
    shutil.rmtree(folder)
