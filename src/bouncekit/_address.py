"""
Address parsing, the only place that imports flanker.

flanker builds its parser tables on first import and writes warnings about
them to stderr, so the import runs with stderr captured and warnings off.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import warnings

# flanker imports modules the standard library deprecates (cgi, imghdr), and
# those warnings are about flanker, not about the caller's code.
# flanker logs a warning for every address its lexer cannot read. With no handler
# configured, Python would print each one to stderr. The parse result already
# shows what was read, so these warnings reach only the application's handlers.
logging.getLogger("flanker").addHandler(logging.NullHandler())

with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from flanker.addresslib import address as _flanker_address

__all__ = ["find_addresses", "normalize_address"]

# A plain addr-spec inside free text. The local part allows the characters real
# bounces use (UTF-8 included); the domain needs at least one dot or a literal.
_ADDRESS_IN_TEXT = re.compile(
    r"""(?<![\w.!#$%&'*+/=?^`{|}~-])"""
    r"""([\w.!#$%&'*+/=?^`{|}~-]+@(?:[\w-]+\.)+[\w-]{2,}|[\w.!#$%&'*+/=?^`{|}~-]+@\[[\d.:a-fA-F]+\])""",
)


def normalize_address(text: str) -> str:
    """
    Return the bare address in *text*, such as ``"<a@b>"`` or ``"Name <a@b>"``.

    Text that flanker cannot parse is returned stripped of whitespace, angle
    brackets and quotes, so a malformed address is still reported as written.
    """
    text = text.strip()
    if not text:
        return ""
    if _ADDRESS_IN_TEXT.fullmatch(text):
        return text
    parsed = _flanker_address.parse(text)
    if parsed is not None and getattr(parsed, "address", None):
        return str(parsed.address)
    return text.strip("<>\"' \t")


def find_addresses(text: str) -> list[str]:
    """Return every addr-spec found in free *text*, in order, without repeats."""
    if "@" not in text:
        return []
    seen: dict[str, None] = {}
    for found in _ADDRESS_IN_TEXT.finditer(text):
        seen.setdefault(found[1].rstrip("."), None)
    return list(seen)
