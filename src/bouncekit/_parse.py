"""``bouncekit.parse``: one message in, one :class:`~bouncekit.Bounce` out."""

from __future__ import annotations

import os
import re
from email.message import Message

import attrs

from bouncekit._address import find_addresses
from bouncekit._dsn import (
    DSN_TYPES,
    is_complete_address,
    parse_delivery_status,
    parse_delivery_status_text,
    recipient_from_fields,
    with_notice_text,
    with_status_comment,
)
from bouncekit._formats import complete_bounce, dsn_format_name
from bouncekit._message import (
    RETURNED_TYPES,
    headers_of,
    iter_parts,
    normalize_message_id,
    parse_header_text,
    read_message,
    returned_headers,
)
from bouncekit._model import Bounce, BounceKind, Defect, DeliveryStatus, Headers, Recipient
from bouncekit._text import ascii_folded, part_text

__all__ = ["parse"]

# The maximum depth of attached messages searched for a forwarded DSN.
_MAX_NESTING = 3

# Salvaging a report from a message whose MIME structure is broken: a part
# header naming the type, then the part's body up to the next boundary line.
_SALVAGE_DSN = re.compile(
    r"^[ \t]*content-type:[ \t]*message/(global-)?delivery-status\b[^\n]*\n", re.I | re.M
)
_SALVAGE_RETURNED = re.compile(
    r"^[ \t]*content-type:[ \t]*"
    r"(?:message/rfc822|message/global|text/rfc822-headers|message/global-headers)\b[^\n]*\n",
    re.I | re.M,
)
# Text that is a file name rather than a message: one line, no spaces, with a
# folder separator or a usual message file suffix.
_FILE_NAME = re.compile(r"[^\s]*(?:[/\\][^\s]*|\.(?:eml|msg|txt|mbox))", re.IGNORECASE)
_PART_HEADER_END = re.compile(r"\n[ \t]*\n")
_BOUNDARY_LINE = re.compile(r"^[ \t]*--\S+[ \t]*$", re.M)


def parse(message: bytes | str | Message) -> Bounce:
    """
    Parse one message from a bounce mailbox.

    Args:
        message: The raw message as bytes (LF, CRLF or CR line endings), as
            text, or already parsed by the standard library's ``email`` package
            with the ``compat32`` policy.

    Returns:
        The :class:`~bouncekit.Bounce`. Malformed input never raises, and what is
        wrong is listed in :attr:`~bouncekit.Bounce.defects`.

    Raises:
        TypeError: *message* is not of an accepted type, or is a path.
    """
    if isinstance(message, bytearray | memoryview):
        message = bytes(message)
    if isinstance(message, os.PathLike):
        msg = (
            f"parse() takes the message itself, not a path: read the file first, "
            f"as in parse(Path({os.fspath(message)!r}).read_bytes())"
        )
        raise TypeError(msg)
    if not isinstance(message, bytes | str | Message):
        msg = f"parse() takes bytes, str or email.message.Message, not {type(message).__name__}"
        raise TypeError(msg)
    try:
        return _parse(read_message(message))
    except Exception as exc:
        defect = Defect(
            "parser-error", f"the message could not be parsed: {type(exc).__name__}: {exc}"
        )
        return Bounce(kind=BounceKind.NOT_BOUNCE, defects=(defect,))


# Sentences for the defects the standard library's parser records, by class name.
_MIME_DEFECTS = {
    "MissingHeaderBodySeparatorDefect": "a header line has no colon, so the header ends early",
    "FirstHeaderLineIsContinuationDefect": "the first header line starts with white space",
    "MisplacedEnvelopeHeaderDefect": "a 'From ' envelope line is inside the header",
    "NoBoundaryInMultipartDefect": "a multipart part has no boundary parameter",
    "StartBoundaryNotFoundDefect": "the multipart boundary never occurs in the body",
    "CloseBoundaryNotFoundDefect": "a multipart body ends without its closing boundary",
    "MultipartInvariantViolationDefect": "a multipart part holds no parts",
    "InvalidMultipartContentTransferEncodingDefect": "a multipart part has a transfer encoding",
    "InvalidBase64PaddingDefect": "base64 content has invalid padding",
    "InvalidBase64CharactersDefect": "base64 content has characters outside the alphabet",
    "InvalidBase64LengthDefect": "base64 content has an invalid length",
}
_CAMEL_WORD = re.compile(r"(?<!^)(?=[A-Z])")


def _mime_defects(parts: list[Message]) -> list[Defect]:
    """Return the standard library's MIME defects as bouncekit defects, named in kebab case."""
    defects = []
    for part in parts:
        for found in getattr(part, "defects", []):
            name = type(found).__name__
            code = _CAMEL_WORD.sub("-", name.removesuffix("Defect")).lower()
            message = _MIME_DEFECTS.get(name) or str(found) or name
            defects.append(Defect(f"mime-{code}", message))
    return defects


def _find_dsn_part(parts: list[Message], depth: int = 0) -> tuple[Message | None, list[Message]]:
    """
    Return the delivery-status part and the list of parts it belongs to.

    A DSN that was forwarded as an attachment is found inside the attached
    message, so its own returned content is used, not the outer message's.
    """
    for part in parts:
        if part.get_content_type() in DSN_TYPES:
            return part, parts
    if depth >= _MAX_NESTING:
        return None, parts
    for part in parts:
        if part.get_content_type() not in ("message/rfc822", "message/global"):
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            found, inner = _find_dsn_part(list(iter_parts(payload[0])), depth + 1)
            if found is not None:
                return found, inner
    return None, parts


def _returned_part(parts: list[Message], after: Message | None) -> Message | None:
    """Return the returned-content part, preferring one after the DSN part."""
    candidates = [part for part in parts if part.get_content_type() in RETURNED_TYPES]
    if after is not None and after in parts:
        start = parts.index(after)
        later = [part for part in candidates if parts.index(part) > start]
        if later:
            return later[0]
    return candidates[0] if candidates else None


def _notice_text(parts: list[Message], before: Message | None) -> str:
    """Return the human-readable text parts that come before the DSN part."""
    texts = []
    for part in parts:
        if part is before:
            break
        if part.get_content_type() == "text/plain":
            texts.append(part_text(part))
    return "\n".join(texts)


def _part_body(text: str, header: re.Match[str]) -> str:
    """Return the body of the part whose Content-Type line *header* matched, up to a boundary."""
    rest = text[header.end() :]
    end_of_header = _PART_HEADER_END.search("\n" + rest)
    body = rest[max(end_of_header.end() - 1, 0) :] if end_of_header else rest
    boundary = _BOUNDARY_LINE.search(body)
    return body[: boundary.start()] if boundary else body


def _salvage(message: Message) -> tuple[DeliveryStatus, Headers, str, list[Defect]] | None:
    """
    Cut a delivery-status part out of a message whose MIME structure is broken.

    A boundary that does not match the header's, an indented boundary, or a
    report with no MIME header at all hide the parts from the standard
    library, but the part headers are still there in the text.
    """
    text = _raw_text(message)
    # A match contains this word in the folded text, and a substring test is
    # several times faster than the search.
    folded = ascii_folded(text, text.lower())
    if folded is not None and "delivery-status" not in folded:
        return None
    found = _SALVAGE_DSN.search(text)
    if found is None:
        return None
    body = _part_body(text, found)
    delivery_status, defects = parse_delivery_status_text(body, is_global=bool(found[1]))
    defects.insert(
        0, Defect("salvaged-dsn", "the delivery-status part was found outside the MIME structure")
    )
    returned = _SALVAGE_RETURNED.search(text, found.end())
    headers = Headers()
    if returned is not None:
        headers = parse_header_text(_part_body(text, returned).lstrip("\n"))
    return delivery_status, headers, text[: found.start()], defects


def _stray_parts(dsn_part: Message) -> tuple[DeliveryStatus, list[Defect], Headers] | None:
    """
    Split a delivery-status part that runs into the next part, when a boundary is wrong.

    A boundary line that the multipart header does not declare leaves the
    returned part inside the report. The report is then read up to that line,
    and the returned headers are taken from after it.
    """
    text = dsn_part.as_string()
    header_end = _PART_HEADER_END.search(text)
    body = text[header_end.end() :] if header_end else text
    boundary = _BOUNDARY_LINE.search(body)
    if boundary is None:
        return None
    is_global = dsn_part.get_content_type() == "message/global-delivery-status"
    delivery_status, defects = parse_delivery_status_text(
        body[: boundary.start()], is_global=is_global
    )
    defects.insert(
        0,
        Defect(
            "stray-boundary",
            f"the delivery-status part runs into an undeclared boundary {boundary[0].strip()!r}",
        ),
    )
    returned = _SALVAGE_RETURNED.search(body, boundary.end())
    headers = Headers()
    if returned is not None:
        headers = parse_header_text(_part_body(body, returned).lstrip("\n"))
        if not headers:
            # The part header and the returned fields were one block of the report,
            # so no blank line is left between them.
            headers = parse_header_text(body[returned.end() :])
    return delivery_status, defects, headers


def _raw_text(message: Message) -> str:
    payload = message.get_payload()
    if isinstance(payload, list):
        return "\n".join(_raw_text(part) for part in payload if isinstance(part, Message))
    if isinstance(payload, str):
        return part_text(message) if message.get("Content-Transfer-Encoding") else payload
    return ""


def _parse(message: Message) -> Bounce:
    if not message.keys():
        text = "the data has no header fields, so it is not an email message"
        payload = message.get_payload()
        if isinstance(payload, str) and _FILE_NAME.fullmatch(payload.strip()):
            text += (
                f". It looks like a file name: pass the file's content, as in "
                f"parse(Path({payload.strip()!r}).read_bytes())"
            )
        return Bounce(kind=BounceKind.NOT_BOUNCE, defects=(Defect("not-a-message", text),))
    parts = list(iter_parts(message))
    # Everything that is not a complete RFC 3464 report (other layouts, ARF
    # complaints, auto-replies, a DSN with no recipient) is read by the formats.
    return complete_bounce(message, parts, _parse_dsn(message, parts))


def _complete_address(
    recipient: Recipient, notice: str, found: list[Recipient], defects: list[Defect]
) -> Recipient:
    """
    Replace an incomplete DSN address, such as ``@relay.example``, with one from the notice text.

    Some relays write a Final-Recipient with no local part. When the notice
    text names one address in the same domain (or a parent or child of it) that
    no other group reports, that address is the recipient.
    """
    written = recipient.address
    if is_complete_address(written):
        return recipient
    domain = written.rpartition("@")[2].lower().strip(".")
    reported = {other.address.lower() for other in found}
    matches = []
    for candidate in find_addresses(notice):
        if candidate.lower() in reported:
            continue
        other = candidate.rpartition("@")[2].lower()
        if domain and (
            other == domain or other.endswith("." + domain) or domain.endswith("." + other)
        ):
            matches.append(candidate)
    if len(matches) != 1:
        return recipient
    defects.append(
        Defect(
            "incomplete-recipient",
            f"the DSN names {written!r}; the notice text gives {matches[0]!r}",
        )
    )
    return attrs.evolve(recipient, address=matches[0])


def _parse_dsn(message: Message, parts: list[Message]) -> Bounce:
    defects = _mime_defects(parts)
    dsn_part, container = _find_dsn_part(parts)
    if dsn_part is not None:
        returned = _returned_part(container, dsn_part)
        original_headers = returned_headers(returned) if returned is not None else Headers()
        delivery_status, dsn_defects = parse_delivery_status(dsn_part)
        if returned is None and any(d.code == "invalid-dsn-line" for d in dsn_defects):
            stray = _stray_parts(dsn_part)
            if stray is not None:
                delivery_status, dsn_defects, original_headers = stray
        notice = _notice_text(container, dsn_part)
    else:
        salvaged = _salvage(message)
        if salvaged is None:
            returned = _returned_part(parts, None)
            original_headers = returned_headers(returned) if returned is not None else Headers()
            return Bounce(
                kind=BounceKind.NOT_BOUNCE,
                original_message_id=normalize_message_id(original_headers.get("Message-ID")),
                original_headers=original_headers,
                headers=headers_of(message),
                defects=tuple(defects),
            )
        delivery_status, original_headers, notice, dsn_defects = salvaged
    defects.extend(dsn_defects)
    recipients: list[Recipient] = []
    for fields in delivery_status.recipients:
        recipient = recipient_from_fields(fields, defects)
        if recipient is not None:
            recipient = _complete_address(recipient, notice, recipients, defects)
            recipients.append(with_status_comment(with_notice_text(recipient, notice)))
    if not recipients:
        defects.append(Defect("no-recipients", "the DSN reports on no recipient"))
    headers = headers_of(message)
    return Bounce(
        kind=BounceKind.DSN,
        format=dsn_format_name(headers, delivery_status),
        recipients=tuple(recipients),
        original_message_id=normalize_message_id(original_headers.get("Message-ID")),
        original_headers=original_headers,
        delivery_status=delivery_status,
        headers=headers,
        defects=tuple(defects),
    )
