"""
Required literals of a regular expression, used to skip a search that cannot match.

A rule's pattern runs once per recipient, and most patterns fail on most diagnostic
texts. Before a search, the engine checks that the case-folded text contains at least
one of the pattern's required literals, which costs far less than the search itself.
The extraction is conservative: when it cannot prove that every match contains one of
the literals (a leading wildcard, an inline flag, a construct it does not know), it
returns ``None`` and the pattern is always searched.
"""

from __future__ import annotations

from typing import Final

__all__ = ["required_literals"]

_MIN_LENGTH: Final = 3
# Escapes that stand for one literal character.
_LITERAL_ESCAPES: Final = frozenset(".-/\\()[]{}*+?|^$ #&~'\":;,@=!<>%`")
_QUANTIFIERS: Final = frozenset("*?{")


class _Unsupported(Exception):
    """The pattern uses a construct the extraction does not handle."""


def required_literals(pattern: str) -> frozenset[str] | None:
    """
    Return case-folded strings of which every match of *pattern* contains one, or ``None``.

    Each string is at least three characters long, or two outside ASCII.
    """
    try:
        found, end = _alternation(pattern, 0)
    except (_Unsupported, IndexError, ValueError):
        return None
    if end != len(pattern) or found is None:
        return None
    return frozenset(found)


def _alternation(pattern: str, start: int) -> tuple[set[str] | None, int]:
    """Read branches separated by ``|`` up to ``)`` or the end, and return their union."""
    union: set[str] = set()
    position = start
    complete = True
    while True:
        branch, position = _branch(pattern, position)
        if branch is None:
            complete = False
        else:
            union |= branch
        if position < len(pattern) and pattern[position] == "|":
            position += 1
            continue
        return (union if complete else None), position


def _branch(pattern: str, position: int) -> tuple[set[str] | None, int]:
    """Read one branch, and return its best requirement and where it ended."""
    options: list[set[str]] = []
    run: list[str] = []

    def close_run() -> None:
        text = "".join(run).casefold()
        # Two characters of a script without spaces, such as Japanese, are selective enough.
        if len(text) >= _MIN_LENGTH or (len(text) == _MIN_LENGTH - 1 and not text.isascii()):
            options.append({text})
        run.clear()

    while position < len(pattern) and pattern[position] not in "|)":
        char = pattern[position]
        if char == "(":
            close_run()
            inner, position = _group(pattern, position)
            if _optional(pattern, position):
                position = _skip_quantifier(pattern, position)
            elif inner is not None:
                options.append(inner)
                position = _skip_quantifier(pattern, position)
            continue
        if char == "[":
            close_run()
            position = _skip_class(pattern, position)
            position = _skip_quantifier(pattern, position)
            continue
        if char in ".^$":
            close_run()
            position = _skip_quantifier(pattern, position + 1)
            continue
        if char in "*+?{":
            raise _Unsupported  # A quantifier with nothing before it.
        literal, position = _atom(pattern, position)
        if literal is None or _optional(pattern, position):
            close_run()
        else:
            run.append(literal)
            if _skip_quantifier(pattern, position) != position:
                close_run()  # "xa{2}y" matches "xaay", which does not contain "xay".
        position = _skip_quantifier(pattern, position)
    close_run()
    if not options:
        return None, position
    best = max(options, key=lambda option: min(len(text) for text in option))
    return best, position


def _atom(pattern: str, position: int) -> tuple[str | None, int]:
    """Read one character or escape, and return the literal it stands for, if any."""
    char = pattern[position]
    if char != "\\":
        return char, position + 1
    following = pattern[position + 1]
    if following in _LITERAL_ESCAPES:
        return following, position + 2
    if following in "pPNxuUo":
        raise _Unsupported  # Property, name or code escapes: too many forms to read here.
    if following.isdigit() or following in "gk":
        raise _Unsupported  # Backreferences.
    return None, position + 2  # \b, \s, \d, \w and the like.


def _group(pattern: str, position: int) -> tuple[set[str] | None, int]:
    """Read the group at ``(``, and return its requirement and the position after ``)``."""
    position += 1
    lookaround = False
    if pattern.startswith("?", position):
        if pattern.startswith("?:", position):
            position += 2
        elif pattern.startswith(("?=", "?!"), position):
            lookaround, position = True, position + 2
        elif pattern.startswith(("?<=", "?<!"), position):
            lookaround, position = True, position + 3
        elif pattern.startswith(("?P<", "?<"), position):
            position = pattern.index(">", position) + 1
        else:
            raise _Unsupported  # Inline flags, atomic groups, conditionals, comments.
    inner, position = _alternation(pattern, position)
    if pattern[position] != ")":
        raise _Unsupported
    return (None if lookaround else inner), position + 1


def _skip_class(pattern: str, position: int) -> int:
    position += 1
    if pattern.startswith("^", position):
        position += 1
    if pattern.startswith("]", position):
        position += 1
    while pattern[position] != "]":
        if pattern[position] == "[":
            raise _Unsupported  # Nested sets of the regex package's version 1.
        position += 2 if pattern[position] == "\\" else 1
    return position + 1


def _optional(pattern: str, position: int) -> bool:
    """Return whether the quantifier at *position*, if any, allows zero repetitions."""
    if position >= len(pattern):
        return False
    char = pattern[position]
    if char in "*?":
        return True
    if char == "{":
        low = _braces(pattern, position)[0]
        return low in ("", "0")
    return False


def _braces(pattern: str, position: int) -> tuple[str, int]:
    """Return the lower bound of the ``{m,n}`` quantifier at *position* and its end."""
    end = pattern.index("}", position)
    bounds = pattern[position + 1 : end].split(",")
    if len(bounds) > 2 or not all(bound.strip().isdigit() or not bound.strip() for bound in bounds):
        raise _Unsupported  # A brace that is not a quantifier.
    return bounds[0].strip(), end + 1


def _skip_quantifier(pattern: str, position: int) -> int:
    if position < len(pattern) and pattern[position] == "{":
        position = _braces(pattern, position)[1]
    elif position < len(pattern) and pattern[position] in "*+?":
        position += 1
    else:
        return position
    if position < len(pattern) and pattern[position] in "?+":
        position += 1  # Lazy or possessive.
    return position
