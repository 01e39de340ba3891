"""
Development sessions: ``nox -s tests``, ``typing``, ``lint``, ``docs``, ``bench``, ``bench_pop3``.
"""

from __future__ import annotations

import os
from pathlib import Path

import nox

nox.options.sessions = ["tests", "typing", "lint", "docs"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.11", "3.13"]

# pyenv installs each Python version in a folder of its own and puts only the
# selected one on PATH, so the others are added for nox to find.
_PYENV_VERSIONS = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
if _PYENV_VERSIONS.is_dir():
    _extra = [str(version / "bin") for version in sorted(_PYENV_VERSIONS.iterdir())]
    os.environ["PATH"] = os.pathsep.join([os.environ.get("PATH", ""), *_extra])
LINTED = ["src", "tests", "benchmarks", "docs/conf.py", "noxfile.py"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python="3.11")
def typing(session: nox.Session) -> None:
    """Check the package with mypy --strict."""
    session.install("-e", ".[typing]")
    session.run("mypy", "--strict", "src/bouncekit")


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """Check the code with ruff."""
    session.install("ruff")
    session.run("ruff", "check", *LINTED)
    session.run("ruff", "format", "--check", *LINTED)


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Build the documentation, with every warning an error."""
    session.install("-e", ".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """Run the benchmarks and print their ratios."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/bench_parse.py", *session.posargs)
    session.run("python", "benchmarks/bench_classify.py", *session.posargs)
    session.run("python", "benchmarks/bench_correlate.py", *session.posargs)


@nox.session(name="bench_compare", python="3.11")
def bench_compare(session: nox.Session) -> None:
    """Score bouncekit and flufl.bounce on the labelled corpus, and time both."""
    session.install("-e", ".", "flufl.bounce")
    session.run("python", "benchmarks/bench_compare.py", *session.posargs)


@nox.session(name="bench_pop3", python="3.11")
def bench_pop3(session: nox.Session) -> None:
    """Fetch 10,000 bounces from a local Dovecot with bouncekit and with poplib; print the ratio."""
    session.install("-e", ".[test]")
    session.run("python", "benchmarks/bench_pop3.py", *session.posargs)
