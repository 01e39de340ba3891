"""
Finding the sender's own record for a bounce.

:func:`correlate` collects identifiers from the returned message and the
bounce's envelope, and tries them in a fixed order. Each lookup is an exact
comparison after Message-ID normalisation, so a rewritten id finds nothing
instead of finding the wrong record.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Generic, Protocol, TypeVar

import attrs

from bouncekit._message import find_message_ids, normalize_message_id
from bouncekit._model import Bounce, BounceKind
from bouncekit._signed_id import SignedId, SignedIdCodec
from bouncekit._verp import VerpCodec
from bouncekit.exceptions import SignedIdError

__all__ = [
    "Correlation",
    "CorrelationMethod",
    "Correlator",
    "MappingCorrelator",
    "NoCorrelation",
    "RejectedId",
    "correlate",
    "message_id_candidates",
]

RecordT = TypeVar("RecordT")
RecordT_co = TypeVar("RecordT_co", covariant=True)

# xtext (RFC 3461) encodes a character as "+" and two upper-case hex digits.
_XTEXT_HEX = re.compile(r"\+([0-9A-F]{2})")


class Correlator(Protocol[RecordT_co]):
    """
    A store that maps identifiers to the caller's own records.

    :func:`correlate` passes Message-IDs as ``<id>`` (normalised, with angle
    brackets), and other identifiers (header values, envelope ids, VERP
    addresses) as written, stripped of surrounding white space.
    """

    def resolve(self, message_id: str) -> RecordT_co | None:
        """Return the record stored for *message_id*, or ``None``."""
        ...


class CorrelationMethod(enum.StrEnum):
    """The method that matched a bounce to its record."""

    MESSAGE_ID = "message_id"
    """The returned message's Message-ID (or In-Reply-To, References) was found in the store."""
    SIGNED_ID = "signed_id"
    """A Message-ID signed by :class:`SignedIdCodec` decoded with a valid signature."""
    HEADER = "header"
    """A header field of the caller's choice in the returned message was found in the store."""
    ENVELOPE_ID = "envelope_id"
    """The DSN's ``Original-Envelope-Id`` (the RFC 3461 ENVID) was found in the store."""
    VERP = "verp"
    """The bounce was sent to a VERP address, which names the recipient."""


@attrs.frozen
class RejectedId:
    """
    A signed Message-ID that failed verification, so it was not used.

    Attributes:
        message_id: The id as found.
        field: The header field it came from.
        error: Why it was rejected: an :class:`~bouncekit.exceptions.ForgedIdError`
            or :class:`~bouncekit.exceptions.AlteredIdError`.
    """

    message_id: str
    field: str
    error: SignedIdError = attrs.field(eq=False)


@attrs.frozen
class Correlation(Generic[RecordT]):
    """
    The record a bounce belongs to, and how it was found.

    Attributes:
        method: How the record was found.
        identifier: The identifier that matched, as passed to the correlator
            (Message-IDs as ``<id>``), or the VERP address.
        field: The header field the identifier came from, such as
            ``"Message-ID"``, ``"References"``, ``"X-Campaign-Id"``,
            ``"Original-Envelope-Id"`` or ``"Delivered-To"``.
        record: The correlator's record, or ``None`` for a signed id or a VERP
            address, which carry their own data (:attr:`signed_id`,
            :attr:`recipient`) and are not looked up.
        signed_id: The ids decoded from a signed Message-ID.
        recipient: The recipient address decoded from a VERP address.
        rejected: Signed ids that failed verification on the way.
    """

    method: CorrelationMethod
    identifier: str
    field: str
    record: RecordT | None = None
    signed_id: SignedId | None = None
    recipient: str | None = None
    rejected: tuple[RejectedId, ...] = ()

    @property
    def matched(self) -> bool:
        """``True``: a record or identity was found."""
        return True


@attrs.frozen
class NoCorrelation:
    """
    The result of :func:`correlate` when nothing matched.

    Attributes:
        tried: ``(field, identifier)`` pairs that were looked up, in order.
        rejected: Signed ids that failed verification. A bounce with a
            rejected id is never matched on that id.
    """

    tried: tuple[tuple[str, str], ...] = ()
    rejected: tuple[RejectedId, ...] = ()

    @property
    def matched(self) -> bool:
        """``False``: nothing matched."""
        return False


def _check_mapping(value: object) -> None:
    if not isinstance(value, Mapping):
        kind = type(value).__name__
        msg = f"MappingCorrelator takes a mapping of ids to records, such as a dict, not {kind}"
        raise TypeError(msg)


@attrs.frozen
class MappingCorrelator(Generic[RecordT]):
    """
    A correlator over any :class:`~collections.abc.Mapping` of ids to records.

    Keys may be written with or without angle brackets: ``resolve("<a@b>")``
    tries ``"<a@b>"`` and then ``"a@b"``, and ``resolve("a@b")`` the reverse.

    Attributes:
        records: The mapping, used as given (not copied).
    """

    records: Mapping[str, RecordT] = attrs.field(
        validator=lambda _, __, value: _check_mapping(value)
    )

    def resolve(self, message_id: str) -> RecordT | None:
        """Return the record for *message_id*, trying it with and without brackets."""
        found = self.records.get(message_id)
        if found is not None:
            return found
        if message_id.startswith("<") and message_id.endswith(">"):
            return self.records.get(message_id[1:-1])
        return self.records.get(f"<{message_id}>")


def message_id_candidates(bounce: Bounce) -> Iterator[tuple[str, str]]:
    """
    Yield ``(field, message_id)`` pairs that may name the original message.

    The returned message's ``Message-ID`` is the only candidate when it has
    one. Its ``In-Reply-To`` and ``References`` name the messages it replies to,
    so they are tried only when the notice quotes no ``Message-ID``: the
    ``In-Reply-To`` ids first, then the ``References`` ids from the last (the
    closest ancestor) to the first. An automatic reply that returns no header
    fields is tried with its own ``In-Reply-To`` and ``References``, which name
    the message it replies to (RFC 5322 section 3.6.4). The bounce's own
    ``Message-ID`` is never yielded. Each id is normalised to ``<id>`` and
    yielded once.
    """
    first = bounce.original_message_id or normalize_message_id(
        bounce.original_headers.get("Message-ID")
    )
    if first:
        yield "Message-ID", first
        return
    headers = bounce.original_headers
    if not headers and bounce.kind is BounceKind.AUTO_REPLY:
        headers = bounce.headers
    seen: set[str] = set()
    for name in ("In-Reply-To", "References"):
        for value in _ids_in(headers.get_all(name), name):
            if value not in seen:
                seen.add(value)
                yield name, value


def _ids_in(values: Iterable[str], name: str) -> list[str]:
    ids = [found for value in values for found in find_message_ids(value)]
    if name == "References":
        ids.reverse()
    return ids


def _envelope_ids(bounce: Bounce) -> list[str]:
    """Return the DSN's ENVID as written, then xtext-decoded when that differs."""
    if bounce.delivery_status is None:
        return []
    written = (bounce.delivery_status.message.original_envelope_id or "").strip()
    if not written:
        return []
    decoded = _XTEXT_HEX.sub(lambda match: chr(int(match[1], 16)), written)
    return [written] if decoded == written else [written, decoded]


class _Search(Generic[RecordT]):
    """The state of one :func:`correlate` call: what was tried and rejected."""

    def __init__(self, correlator: Correlator[RecordT] | None) -> None:
        self.correlator = correlator
        self.tried: list[tuple[str, str]] = []
        self.rejected: list[RejectedId] = []

    def lookup(self, field: str, identifier: str) -> RecordT | None:
        if self.correlator is None:
            return None
        self.tried.append((field, identifier))
        return self.correlator.resolve(identifier)

    def found(
        self,
        method: CorrelationMethod,
        field: str,
        identifier: str,
        record: RecordT | None,
        *,
        signed_id: SignedId | None = None,
        recipient: str | None = None,
    ) -> Correlation[RecordT]:
        return Correlation(
            method,
            identifier,
            field,
            record,
            signed_id=signed_id,
            recipient=recipient,
            rejected=tuple(self.rejected),
        )

    def nothing(self) -> NoCorrelation:
        return NoCorrelation(tuple(self.tried), tuple(self.rejected))


def _as_correlator(
    correlator: Correlator[RecordT] | Mapping[str, RecordT] | None,
) -> Correlator[RecordT] | None:
    if correlator is None or callable(getattr(correlator, "resolve", None)):
        return correlator  # type: ignore[return-value]
    if isinstance(correlator, Mapping):
        return MappingCorrelator(correlator)
    msg = (
        f"the correlator must have a resolve(message_id) method or be a mapping, "
        f"not {type(correlator).__name__}: pass SQLiteCorrelator(path) or MappingCorrelator(dict)"
    )
    raise TypeError(msg)


def _header_names(headers: str | Iterable[str]) -> tuple[str, ...]:
    names = (headers,) if isinstance(headers, str) else tuple(headers)
    for name in names:
        if not isinstance(name, str):
            msg = f"headers must be field names (str), not {type(name).__name__}"
            raise TypeError(msg)
    return names


def _as_verp(verp: VerpCodec | str | None) -> VerpCodec | None:
    if verp is None or isinstance(verp, VerpCodec):
        return verp
    if isinstance(verp, str):
        local, at, domain = verp.rpartition("@")
        if not at or not local or not domain:
            msg = f"invalid verp {verp!r}: write LOCAL@DOMAIN, such as 'bounces@example.com'"
            raise ValueError(msg)
        return VerpCodec(local, domain)
    msg = f"verp must be a VerpCodec or 'LOCAL@DOMAIN', not {type(verp).__name__}"
    raise TypeError(msg)


def correlate(
    bounce: Bounce,
    correlator: Correlator[RecordT] | Mapping[str, RecordT] | None = None,
    *,
    signed_ids: SignedIdCodec | None = None,
    headers: str | Iterable[str] = (),
    envelope_id: bool = True,
    verp: VerpCodec | str | None = None,
) -> Correlation[RecordT] | NoCorrelation:
    """
    Find the record that *bounce* is about.

    The identifiers are tried in this order, and the first that matches wins:

    1. Each Message-ID from :func:`message_id_candidates` (the returned
       message's ``Message-ID``, or when it has none its ``In-Reply-To`` and
       ``References``), looked up in *correlator*.
    2. The same ids decoded by *signed_ids*, or a ``Message-ID`` cut off
       before its ``>``. A forged or altered signed id is listed in
       ``rejected`` and never matched.
    3. Each header field named in *headers* (such as ``X-Campaign-Id``) of the
       returned message, looked up in *correlator*.
    4. The DSN's ``Original-Envelope-Id``, unless *envelope_id* is false.
    5. The VERP address the bounce was delivered to, decoded by *verp* from
       the bounce's ``Delivered-To``, ``X-Original-To`` and ``To`` fields.

    The bounce's own ``Message-ID`` is never used, because it names the
    notice, not the message that bounced.

    Args:
        bounce: The parsed message.
        correlator: The store to look identifiers up in: a
            :class:`Correlator`, a plain mapping of ids to records (read as
            :class:`MappingCorrelator` reads it), or ``None`` when only
            *signed_ids* or *verp* are used.
        signed_ids: The codec that signed the Message-IDs at send time.
        headers: Names of header fields of the returned message whose
            values the caller stored, tried in the given order; one name may
            be given as a string.
        envelope_id: Whether to look up the DSN's ``Original-Envelope-Id``.
        verp: The codec of the VERP return addresses used at send time, or
            the return address without the recipient (``"bounces@example.com"``)
            for a codec with the default separator.

    Returns:
        A :class:`Correlation`, or :class:`NoCorrelation` when nothing matched.

    Raises:
        TypeError: An argument is not of a type listed above.
        ValueError: *verp* is a string that is not ``LOCAL@DOMAIN``.
    """
    if not isinstance(bounce, Bounce):
        msg = f"correlate() takes a Bounce from bouncekit.parse(), not {type(bounce).__name__}"
        raise TypeError(msg)
    store = _as_correlator(correlator)
    headers = _header_names(headers)
    verp = _as_verp(verp)
    if signed_ids is not None and not isinstance(signed_ids, SignedIdCodec):
        msg = (
            f"signed_ids must be a SignedIdCodec, not {type(signed_ids).__name__}: "
            "pass SignedIdCodec([key])"
        )
        raise TypeError(msg)
    search = _Search(store)
    candidates = list(message_id_candidates(bounce))
    for field, message_id in candidates:
        record = search.lookup(field, message_id)
        if record is not None:
            return search.found(CorrelationMethod.MESSAGE_ID, field, message_id, record)
    if signed_ids is not None:
        found = _decode_signed(search, signed_ids, candidates or _unterminated_id(bounce))
        if found is not None:
            return found
    for name in headers:
        for value in bounce.original_headers.get_all(name):
            record = search.lookup(name, value.strip())
            if record is not None:
                return search.found(CorrelationMethod.HEADER, name, value.strip(), record)
    if envelope_id:
        for value in _envelope_ids(bounce):
            record = search.lookup("Original-Envelope-Id", value)
            if record is not None:
                return search.found(
                    CorrelationMethod.ENVELOPE_ID, "Original-Envelope-Id", value, record
                )
    if verp is not None:
        return _decode_verp(search, verp, bounce)
    return search.nothing()


def _unterminated_id(bounce: Bounce) -> list[tuple[str, str]]:
    """
    Return the returned ``Message-ID`` as written when it has no closing bracket.

    A mail server that truncates a long header field can cut off the ``>``,
    and then normalisation finds no id. A signed id in it is still checked,
    so that the damage is reported and an intact signature still verifies.
    """
    value = bounce.original_headers.get("Message-ID")
    if value is None or ">" in value:
        return []
    return [("Message-ID", value.strip())]


def _decode_signed(
    search: _Search[RecordT], codec: SignedIdCodec, candidates: list[tuple[str, str]]
) -> Correlation[RecordT] | None:
    for field, message_id in candidates:
        if not codec.looks_signed(message_id):
            continue
        try:
            signed = codec.decode(message_id)
        except SignedIdError as exc:
            search.rejected.append(RejectedId(message_id, field, exc))
            continue
        return search.found(CorrelationMethod.SIGNED_ID, field, message_id, None, signed_id=signed)
    return None


def _decode_verp(
    search: _Search[RecordT], codec: VerpCodec, bounce: Bounce
) -> Correlation[RecordT] | NoCorrelation:
    found = codec.find_recipient(bounce.headers)
    if found is None:
        return search.nothing()
    field, address, recipient = found
    return search.found(CorrelationMethod.VERP, field, address, None, recipient=recipient)
