"""Reading raw messages and finding the parts a bounce is made of."""

from __future__ import annotations

import email
import email.parser
import email.policy
import re
from collections.abc import Iterator
from email.message import Message

from bouncekit._dsn import DSN_TYPES
from bouncekit._model import Headers
from bouncekit._text import ParsedMessage, normalize_newlines, part_text, strip_comments, unfold

__all__ = [
    "RETURNED_TYPES",
    "find_message_ids",
    "headers_of",
    "iter_parts",
    "normalize_message_id",
    "parse_header_text",
    "read_message",
    "returned_headers",
]

# The content types that carry the returned message or its header (RFC 6522
# section 3 and RFC 6533 sections 3.4 and 3.5).
RETURNED_TYPES = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers"}
)

_MSGID = re.compile(r"<([^<>]*)>")


def read_message(raw: bytes | str | Message) -> Message:
    """
    Parse *raw* with the ``compat32`` policy, accepting LF, CRLF and CR line endings.

    A message parsed with another policy, such as ``email.policy.default``, is
    serialised and parsed again, because the parsers read the raw header values
    and part layout that ``compat32`` keeps.
    """
    if isinstance(raw, Message):
        if raw.policy is email.policy.compat32:
            return raw
        raw = raw.as_bytes(policy=email.policy.compat32)
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    return email.message_from_bytes(
        normalize_newlines(raw), _class=ParsedMessage, policy=email.policy.compat32
    )


def iter_parts(message: Message) -> Iterator[Message]:
    """
    Yield *message* and its parts, depth first.

    The groups inside a delivery-status part and the message inside a
    returned ``message/rfc822`` part are not descended into.
    """
    yield message
    content_type = message.get_content_type()
    if content_type in DSN_TYPES or content_type in RETURNED_TYPES:
        return
    # is_multipart() returns whether the payload is a list without reading it,
    # and reading a leaf part's payload checks the whole body.
    if message.is_multipart():
        for part in message.get_payload():
            if isinstance(part, Message):
                yield from iter_parts(part)


def headers_of(message: Message) -> Headers:
    """
    Return the header fields of *message* with values unfolded.

    ``raw_items`` keeps 8-bit bytes as the surrogates ``unfold`` decodes, where
    ``items`` would turn them into replacement characters.
    """
    fields = []
    for name, value in message.raw_items():
        text = str(value)
        # Most values are one line of ASCII, which unfold() would only strip, and
        # a message has dozens of fields, so the call is left out for those.
        fields.append((name, text.strip() if text.isascii() and "\n" not in text else unfold(text)))
    return Headers(tuple(fields))


def returned_headers(part: Message) -> Headers:
    """
    Return the header of the message carried by a returned-content *part*.

    ``message/rfc822`` and ``message/global`` parts are already parsed by the
    standard library. ``text/rfc822-headers`` is text, and a transfer-encoded
    part of any of these types is text too, so those are parsed here.
    """
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return headers_of(payload[0])
    if isinstance(payload, Message):
        return headers_of(payload)
    return parse_header_text(part_text(part).lstrip("\n"))


def parse_header_text(text: str) -> Headers:
    """Return the header fields at the start of *text*, up to the first blank line."""
    parsed = email.parser.HeaderParser(policy=email.policy.compat32).parsestr(text)
    return headers_of(parsed)


def find_message_ids(value: str | None) -> list[str]:
    """
    Return every ``msg-id`` in a header *value* as ``<id>``, in order, without repeats.

    This reads ``Message-ID``, ``In-Reply-To`` and ``References`` alike
    (RFC 5322 section 3.6.4). Folding, comments and white space around or
    inside the angle brackets are removed, white space inside a quoted local
    part excepted. A value without angle brackets that is a single word is
    taken as one id, bracketed, because some mail servers drop the brackets.
    The id is otherwise kept as written: case is significant.
    """
    if not value:
        return []
    text = strip_comments(unfold(value))
    found: dict[str, None] = {}
    for match in _MSGID.finditer(text):
        # str.split() splits at the characters that \s matches.
        inner = match[1] if '"' in match[1] else "".join(match[1].split())
        if inner:
            found.setdefault(f"<{inner}>", None)
    if not found and "<" not in text and ">" not in text:
        words = text.split()
        if len(words) == 1:
            found[f"<{words[0]}>"] = None
    return list(found)


def normalize_message_id(value: str | None) -> str | None:
    """
    Return a ``Message-ID`` value as ``<id>``, or ``None`` when it contains no id.

    Folding, comments and white space around or inside the brackets go away,
    as :func:`find_message_ids` describes. A value without brackets is bracketed.
    """
    ids = find_message_ids(value)
    return ids[0] if ids else None
