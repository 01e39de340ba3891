"""
Running the command line as another user, for the tests of file permissions.

Root can read and write any file, so a permission test run as root drops to
``nobody`` in a child process.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys

import pytest

# The child drops to the user id given as its first argument (when not empty)
# after the imports, because the interpreter may sit in a folder that only
# root can read.
_AS_USER = """
import os, sys
from bouncekit import parse
from bouncekit._cli import main
from bouncekit._ruleset import RuleSet
# Load what is read lazily while root can still read the interpreter's files.
RuleSet.default().classify(parse(b"From: a@example.com\\\\n\\\\nHi.\\\\n"))
if sys.argv[1]:
    os.setgroups([])
    os.setgid(int(sys.argv[2]))
    os.setuid(int(sys.argv[1]))
sys.exit(main(sys.argv[3:]))
"""


def run_cli(
    *args: str, user: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the command line in a subprocess, as *user* when given."""
    ids = ["", ""]
    if user is not None:
        entry = pwd.getpwnam(user)
        ids = [str(entry.pw_uid), str(entry.pw_gid)]
    return subprocess.run(
        [sys.executable, "-c", _AS_USER, *ids, *args],
        capture_output=True,
        text=True,
        check=False,
        env=None if env is None else {**os.environ, **env},
    )


def unprivileged_user() -> str | None:
    """Return the user to run a permission test as: ``nobody`` for root, else ``None`` (this user)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("running as root, and there is no user 'nobody' to drop to")
    return "nobody"
