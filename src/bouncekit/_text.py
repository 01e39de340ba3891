"""Small text helpers shared by the parsers."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable
from email.message import Message
from typing import Any

__all__ = [
    "ParsedMessage",
    "ascii_folded",
    "find_reply_code",
    "normalize_newlines",
    "part_text",
    "repair_text",
    "search_at_words",
    "strip_comments",
    "unfold",
]

_FOLD = re.compile(r"\r?\n[ \t]+")
# The same for text without CR. A pattern that starts with a fixed character is
# searched much faster, and the messages bouncekit parses itself have LF line
# endings only.
_FOLD_LF = re.compile(r"\n[ \t]+")
_SURROGATE = re.compile(r"[\udc80-\udcff]")

# An SMTP reply code (RFC 5321 section 4.2): three digits, the first 2, 4 or 5,
# followed by a space, a hyphen (multi-line reply) or the end of the text.
_REPLY_CODE = re.compile(r"(?<![\w.#-])([245][0-5]\d)(?=[ \t-]|$)")
# "said: 550 ...", "550 5.1.1", "550-5.1.1": a reply code next to the words that
# usually precede it, preferred over any other three-digit number in the text.
_REPLY_CODE_STRONG = re.compile(
    r"(?:^|said:|smtp;|\bresponse:|\breply:|\berror:|\bcode:?|\()\s*([245][0-5]\d)(?=[ \t-]|$)",
    re.IGNORECASE,
)


def normalize_newlines(data: bytes) -> bytes:
    """Return *data* with CRLF and lone CR line endings turned into LF."""
    if b"\r" not in data:
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def repair_text(text: str) -> str:
    """
    Decode the undecodable bytes that the ``email`` package kept as surrogates.

    ``email.message_from_bytes`` keeps 8-bit header bytes as lone surrogates.
    They are read as UTF-8, and as Latin-1 where they are not valid UTF-8.
    """
    # Surrogates are not ASCII, so the common all-ASCII text needs no search.
    if text.isascii() or not _SURROGATE.search(text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def unfold(value: str) -> str:
    """Join folded header lines (RFC 5322 section 2.2.3) and strip the ends."""
    if "\n" in value:
        value = (_FOLD if "\r" in value else _FOLD_LF).sub(" ", value)
    # Most values are ASCII, which repair_text returns unchanged.
    return value.strip() if value.isascii() else repair_text(value).strip()


def strip_comments(value: str) -> str:
    """Remove RFC 5322 comments, ``(like this)``, outside quoted strings."""
    if "(" not in value:
        return value.strip()
    out: list[str] = []
    depth = 0
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            escaped = False
            if depth == 0:
                out.append(char)
            continue
        if char == "\\":
            escaped = True
            if depth == 0:
                out.append(char)
        elif char == '"' and depth == 0:
            quoted = not quoted
            out.append(char)
        elif char == "(" and not quoted:
            depth += 1
        elif char == ")" and depth > 0:
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out).strip()


# A match of _REPLY_CODE_STRONG that does not start at the start of the text
# starts with one of these, in any case.
_REPLY_CODE_STRONG_STARTS = ("said:", "smtp;", "response:", "reply:", "error:", "code", "(")


def find_reply_code(text: str) -> str | None:
    """Return the SMTP reply code in a server's reply *text*, or ``None``."""
    found = _find_strong_reply_code(text) or _REPLY_CODE.search(text)
    return found[1] if found else None


def _find_strong_reply_code(text: str) -> re.Match[str] | None:
    # The pattern starts with an alternation, so the engine tries it at every
    # position, and most texts have none of its words.
    found = _REPLY_CODE_STRONG.match(text)
    if found is not None:
        return found
    return search_at_words(_REPLY_CODE_STRONG, text, text.lower(), _REPLY_CODE_STRONG_STARTS)


# In Python 3.11 the letters other than A to Z that re.IGNORECASE matches to an
# ASCII letter are these two, the dotted capital I (U+0130) and the Kelvin sign
# (U+212A), which a test checks over every code point. str.lower() maps the
# Kelvin sign to "k" and the dotted capital I to two characters, and keeps these two.
_ASCII_LOOKALIKES = str.maketrans({"\u0131": "i", "\u017f": "s"})


def ascii_folded(text: str, lowered: str) -> str | None:
    """
    Return the text to look for lower-case ASCII words in, index for index with *text*.

    *lowered* is ``text.lower()``. A word that ``re.IGNORECASE`` matches at an
    index of *text* is at the same index of the result. ``None`` means no such
    text: lower-casing changed the length, as for the dotted capital I.
    """
    if text.isascii():
        return lowered
    if len(lowered) != len(text):
        return None
    # str.translate() looks up every character, so it runs only when needed.
    if "\u0131" in lowered or "\u017f" in lowered:
        return lowered.translate(_ASCII_LOOKALIKES)
    return lowered


def search_at_words(
    pattern: re.Pattern[str], text: str, lowered: str, words: Iterable[str]
) -> re.Match[str] | None:
    """
    Return what ``pattern.search(text)`` returns, trying only where a match can start.

    Every match of *pattern* starts with one of *words*, which are lower-case
    ASCII, and *lowered* is ``text.lower()``. A case-insensitive pattern that
    starts with an alternation or ``\\b`` gives the engine nothing to skip
    ahead to, so it tries every position. Such a match starts only where
    :func:`ascii_folded` text contains one of the words, so the pattern is
    matched at those positions alone, first to last. Text that has no folded
    form is searched whole.
    """
    folded = ascii_folded(text, lowered)
    if folded is None:
        return pattern.search(text)
    next_at = {word: folded.find(word) for word in words}
    while True:
        positions = [index for index in next_at.values() if index >= 0]
        if not positions:
            return None
        position = min(positions)
        found = pattern.match(text, position)
        if found is not None:
            return found
        for word, index in next_at.items():
            if index == position:
                next_at[word] = folded.find(word, position + 1)


_JAPANESE_CHARSETS = frozenset(
    {
        "iso-2022-jp",
        "iso-2022-jp-2",
        "euc-jp",
        "shift_jis",
        "shift-jis",
        "sjis",
        "cp932",
        "windows-31j",
        "x-sjis",
    }
)


# Content-Type parameters that the standard library splits at each semicolon
# and reads without RFC 2231 rules: names without "*", values that are a token
# or a quoted string without a backslash or semicolon. The white space is what
# str.strip() removes from ASCII text, less the four separator controls.
_BLANKS = r"[ \t\r\n\x0b\x0c]*"
_PARAMETER_PATTERN = (
    rf';{_BLANKS}([^\x00-\x20;"=*\\\x7f]+){_BLANKS}={_BLANKS}'
    rf'("[^\x00-\x1f;"\\\x7f]*"|[^\x00-\x20;"\\\x7f]+){_BLANKS}'
)
_PARAMETER = re.compile(_PARAMETER_PATTERN)
_PLAIN_PARAMETERS = re.compile(
    rf'{_BLANKS}([^\x00-\x20;"=\\\x7f]+){_BLANKS}(?:{_PARAMETER_PATTERN})*'
)


class ParsedMessage(Message):
    """
    A message or part that bouncekit parsed itself, which computes some values once.

    The parsers ask every part for its content type many times, and the
    standard library parses the Content-Type field again on each call. Several
    parsers read the same text part too. A message bouncekit parsed itself is
    never changed afterwards, so these values stay valid.
    """

    _content_type: str | None = None
    _text: str | None = None

    def get_content_type(self) -> str:
        if self._content_type is None:
            self._content_type = super().get_content_type()
        return self._content_type

    def get(self, name: str, failobj: Any = None) -> Any:
        # Message.get() lower-cases every field name on each call, and the parsers
        # look up several fields of each part. An ASCII name can only match a field
        # name of its own length, as Headers.get() explains, so most are skipped.
        expected = name.lower()
        if not expected.isascii():
            return super().get(name, failobj)
        length = len(expected)
        for field_name, value in self._headers:  # type: ignore[attr-defined]
            if len(field_name) == length and field_name.lower() == expected:
                return self.policy.header_fetch_parse(field_name, value)
        return failobj

    def __contains__(self, name: str) -> bool:
        expected = name.lower()
        if not expected.isascii():
            return super().__contains__(name)
        length = len(expected)
        for field_name, _ in self._headers:  # type: ignore[attr-defined]
            if len(field_name) == length and field_name.lower() == expected:
                return True
        return False

    # The standard library reads a parameter by parsing every parameter of the
    # field with the RFC 2231 rules, which costs several microseconds, and its
    # parser reads the boundary of every multipart part. A field with plain
    # parameters is split here instead, and the value goes through the
    # standard library's own unquoting steps, so the result is the same, which
    # a test checks. Any other field goes to the standard library.

    def get_content_charset(self, failobj: Any = None) -> Any:
        parameters = _plain_parameters(self.get("Content-Type"))
        if parameters is None:
            return super().get_content_charset(failobj)
        raw = parameters.get("charset")
        return failobj if raw is None else _unquoted(raw).lower()

    def get_boundary(self, failobj: Any = None) -> Any:
        parameters = _plain_parameters(self.get("Content-Type"))
        if parameters is None:
            return super().get_boundary(failobj)
        raw = parameters.get("boundary")
        if raw is None:
            return failobj
        return email.utils.collapse_rfc2231_value(_unquoted(raw)).rstrip()


def _plain_parameters(value: object) -> dict[str, str] | None:
    """
    Return the raw value of each parameter of a plain Content-Type *value*, by lower-cased name.

    The type itself is a parameter with an empty value, as the standard library
    reads it. A name that occurs twice keeps its first value. ``None`` means
    that the value is not plain.
    """
    if not isinstance(value, str) or not value.isascii():
        return None
    field = _PLAIN_PARAMETERS.fullmatch(value)
    if field is None:
        return None
    parameters = {field[1].lower(): ""}
    for parameter in _PARAMETER.finditer(value, field.end(1)):
        parameters.setdefault(parameter[1].lower(), parameter[2])
    return parameters


def _unquoted(raw: str) -> str:
    """Return what ``Message.get_param()`` returns for a parameter written as *raw*."""
    return email.utils.unquote('"' + email.utils.quote(email.utils.unquote(raw)) + '"')


def part_text(part: Message) -> str:
    """
    Return the decoded text of a non-multipart *part*.

    The transfer encoding is undone and the declared charset used, with UTF-8,
    the other Japanese encodings for a Japanese charset, and then Latin-1 as
    fallbacks, so this never raises on bad input. The text of a
    :class:`ParsedMessage` is decoded once.
    """
    if not isinstance(part, ParsedMessage):
        return _decoded_text(part)
    if part._text is None:
        part._text = _decoded_text(part)
    return part._text


def _decoded_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset)
    except (LookupError, ValueError):
        # ValueError covers UnicodeError, which codecs such as idna raise.
        pass
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if charset.lower() in _JAPANESE_CHARSETS:
        # Japanese mail systems often label EUC-JP or Shift_JIS text as ISO-2022-JP.
        for other in ("euc-jp", "cp932", "iso-2022-jp"):
            try:
                return payload.decode(other)
            except UnicodeDecodeError:
                continue
    return payload.decode("latin-1")
