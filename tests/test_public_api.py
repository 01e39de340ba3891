"""The public names of ``bouncekit`` and the API reference page document the same set."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import bouncekit
import bouncekit.exceptions

API_PAGE = Path(__file__).resolve().parents[1] / "docs" / "api.md"

# An autodoc directive (".. autoclass:: bouncekit.Bounce") or a hand-written
# Python domain directive ("```{py:data} bouncekit.__version__") naming an
# object, with its dotted path. Module directives are not objects of a module.
_DOCUMENTED = re.compile(
    r"^(?:\.\. (?!(?:auto)?module::)\w+::|```\{py:(?!module\})\w+\})\s+([\w.]+)\s*$",
    re.MULTILINE,
)


def documented_paths() -> set[str]:
    if not API_PAGE.is_file():
        pytest.skip(f"the API page is not in this checkout: {API_PAGE}")
    return set(_DOCUMENTED.findall(API_PAGE.read_text(encoding="utf-8")))


def documented_names() -> set[str]:
    """Return the top-level names of ``bouncekit`` that the API page documents."""
    prefix = "bouncekit."
    return {
        path.removeprefix(prefix)
        for path in documented_paths()
        if path.startswith(prefix) and "." not in path.removeprefix(prefix)
    }


def test_all_documented() -> None:
    missing = set(bouncekit.__all__) - documented_names()
    assert not missing, f"in bouncekit.__all__ but not in docs/api.md: {sorted(missing)}"


def test_documented_in_all() -> None:
    extra = documented_names() - set(bouncekit.__all__)
    assert not extra, f"in docs/api.md but not in bouncekit.__all__: {sorted(extra)}"


def test_all_names_exist() -> None:
    absent = [name for name in bouncekit.__all__ if not hasattr(bouncekit, name)]
    assert absent == []


def test_all_sorted() -> None:
    assert list(bouncekit.__all__) == sorted(bouncekit.__all__)


def test_exceptions_documented() -> None:
    text = API_PAGE.read_text(encoding="utf-8")
    # The module directive with :members: lists every exception that the
    # module's __all__ names, and any new one with it.
    assert re.search(r"^\.\. automodule:: bouncekit\.exceptions\n\s+:members:", text, re.M)


def test_dir_shows_public_names() -> None:
    names = dir(bouncekit)
    assert "parse" in names
    assert "rules" in names
    assert "annotations" not in names
    assert not [name for name in names if name.startswith("_") and name != "__version__"]


def test_submodule_on_first_use() -> None:
    assert bouncekit.rules.RuleSet.default().rules  # type: ignore[attr-defined]


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        bouncekit.nothing  # type: ignore[attr-defined]  # noqa: B018
