"""``bouncekit.parse``: one message in, one :class:`~bouncekit.Bounce` out."""

from __future__ import annotations

from email.message import Message

from bouncekit._dsn import DSN_TYPES, parse_delivery_status, recipient_from_fields
from bouncekit._message import (
    RETURNED_TYPES,
    headers_of,
    iter_parts,
    normalize_message_id,
    read_message,
    returned_headers,
)
from bouncekit._model import Bounce, BounceKind, Defect, Headers

__all__ = ["parse"]


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
        TypeError: *message* is none of the accepted types.
    """
    if not isinstance(message, bytes | str | Message):
        msg = f"parse() takes bytes, str or email.message.Message, not {type(message).__name__}"
        raise TypeError(msg)
    try:
        return _parse(read_message(message))
    except Exception as exc:  # noqa: BLE001 - the contract is a result with a defect, never a raise
        defect = Defect("parser-error", f"the message could not be parsed: {type(exc).__name__}: {exc}")
        return Bounce(kind=BounceKind.NOT_BOUNCE, defects=(defect,))


def _mime_defects(parts: list[Message]) -> list[Defect]:
    defects = []
    for part in parts:
        for found in getattr(part, "defects", []):
            name = type(found).__name__
            defects.append(Defect("mime", f"{name}: {found}" if str(found) else name))
    return defects


def _returned_part(parts: list[Message], after: Message | None) -> Message | None:
    """Return the returned-content part, preferring one after the DSN part."""
    candidates = [part for part in parts if part.get_content_type() in RETURNED_TYPES]
    if after is not None and after in parts:
        start = parts.index(after)
        later = [part for part in candidates if parts.index(part) > start]
        if later:
            return later[0]
    return candidates[0] if candidates else None


def _parse(message: Message) -> Bounce:
    parts = list(iter_parts(message))
    defects = _mime_defects(parts)
    dsn_part = next((part for part in parts if part.get_content_type() in DSN_TYPES), None)
    returned = _returned_part(parts, dsn_part)
    original_headers = returned_headers(returned) if returned is not None else Headers()
    original_message_id = normalize_message_id(original_headers.get("Message-ID"))
    if dsn_part is None:
        return Bounce(
            kind=BounceKind.NOT_BOUNCE,
            original_message_id=original_message_id,
            original_headers=original_headers,
            headers=headers_of(message),
            defects=tuple(defects),
        )
    delivery_status, dsn_defects = parse_delivery_status(dsn_part)
    defects.extend(dsn_defects)
    recipients = []
    for fields in delivery_status.recipients:
        recipient = recipient_from_fields(fields, defects)
        if recipient is not None:
            recipients.append(recipient)
    if not recipients:
        defects.append(Defect("no-recipients", "the DSN reports on no recipient"))
    return Bounce(
        kind=BounceKind.DSN,
        format="rfc3464",
        recipients=tuple(recipients),
        original_message_id=original_message_id,
        original_headers=original_headers,
        delivery_status=delivery_status,
        headers=headers_of(message),
        defects=tuple(defects),
    )
