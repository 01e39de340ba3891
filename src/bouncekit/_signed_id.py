"""
Signed Message-IDs: the delivery and recipient ids, carried in the id itself.

A signed id looks like ``<bk1.PAYLOAD.MAC@mail.example.com>``. PAYLOAD is
the unpadded base32 of::

    version (1 byte, 1) | issued (4 bytes, Unix seconds, big-endian)
    | nonce (5 random bytes) | len + delivery id (UTF-8) | len + recipient id

and MAC is the first 15 bytes of HMAC-SHA256 over a fixed label and the
payload. Base32 keeps the local part a dot-atom (RFC 5322 section 3.2.3)
and lets decoding ignore case, so an id whose case a mail server changed
still verifies. The nonce makes every id unique, as RFC 5322 section 3.6.4
requires, even for two messages to the same recipient in the same second.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import re
import secrets
import struct
from collections.abc import Sequence

import attrs

from bouncekit.exceptions import (
    AlteredIdError,
    CorrelationError,
    ForgedIdError,
    UnsignedIdError,
)

__all__ = ["SignedId", "SignedIdCodec"]

_PREFIX = "bk1."
_VERSION = 1
_LABEL = b"bouncekit signed Message-ID v1\x00"
_MAC_BYTES = 15
_MAC_CHARS = _MAC_BYTES * 8 // 5
_HEADER = struct.Struct(">BI5s")
_MIN_KEY_BYTES = 16
# 64 bytes per id keep a signed id at 256 characters plus the domain at most.
_MAX_ID_BYTES = 64
_BASE32_CHARS = re.compile(r"[A-Z2-7]*")
# A domain as RFC 5322 dot-atom-text allows it, which also covers host names.
_DOMAIN = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@attrs.frozen
class SignedId:
    """
    The ids decoded from a signed Message-ID.

    Attributes:
        delivery_id: The delivery id given to :meth:`SignedIdCodec.encode`, as text.
        recipient_id: The recipient id given to :meth:`SignedIdCodec.encode`, as text.
        issued_at: When the id was made, in UTC, to the second.
        domain: The domain part of the Message-ID.
        key_index: The position in :attr:`SignedIdCodec.keys` of the key that
            verified the signature: ``0`` is the current key, higher numbers
            are older keys kept for rotation.
    """

    delivery_id: str
    recipient_id: str
    issued_at: datetime.datetime
    domain: str
    key_index: int = 0


def _to_keys(value: bytes | str | Sequence[bytes | str]) -> tuple[bytes, ...]:
    items = [value] if isinstance(value, bytes | str) else list(value)
    return tuple(item.encode("utf-8") if isinstance(item, str) else bytes(item) for item in items)


def _check_keys(
    instance: SignedIdCodec, attribute: attrs.Attribute[tuple[bytes, ...]], keys: tuple[bytes, ...]
) -> None:
    if not keys:
        msg = "no signing key given: pass at least one key of 16 bytes or more"
        raise CorrelationError(msg)
    for index, key in enumerate(keys):
        if len(key) < _MIN_KEY_BYTES:
            # The key itself is never shown: it is a secret.
            msg = (
                f"signing key {index} is {len(key)} bytes long, shorter than the minimum of "
                f"{_MIN_KEY_BYTES}: use secrets.token_bytes(32) or a long random string"
            )
            raise CorrelationError(msg)


def _check_domain(
    instance: SignedIdCodec, attribute: attrs.Attribute[str | None], domain: str | None
) -> None:
    if domain is not None and not _DOMAIN.fullmatch(domain):
        msg = f"invalid Message-ID domain {domain!r}: use a host name such as 'mail.example.com'"
        raise CorrelationError(msg)


def _b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=").lower()


def _b32decode(text: str) -> bytes | None:
    """Decode unpadded base32 in any case, or return ``None`` unless it is what encoding makes."""
    upper = text.upper()
    if not _BASE32_CHARS.fullmatch(upper) or len(upper) % 8 in (1, 3, 6):
        return None
    try:
        data = base64.b32decode(upper + "=" * (-len(upper) % 8))
    except binascii.Error:
        return None
    # The last character can carry unused bits, which decoding ignores. Only the
    # encoder's own spelling (unused bits zero) is accepted, so an edit there is seen.
    return data if _b32encode(data) == text.lower() else None


def _encode_id(name: str, value: str | int) -> bytes:
    # A bool is an int, and None or another object would be signed as its text.
    if isinstance(value, bool) or not isinstance(value, str | int):
        msg = f"the {name} must be a str or an int, not {type(value).__name__}"
        raise TypeError(msg)
    text = str(value)
    data = text.encode("utf-8")
    if not data or len(data) > _MAX_ID_BYTES:
        msg = f"invalid {name} {text!r}: it must be 1 to {_MAX_ID_BYTES} bytes in UTF-8"
        raise CorrelationError(msg)
    return bytes([len(data)]) + data


def _split_payload(payload: bytes) -> tuple[int, str, str] | None:
    """Return the issue time and the two ids of a well-formed *payload*, else ``None``."""
    if len(payload) < _HEADER.size:
        return None
    version, issued, _nonce = _HEADER.unpack_from(payload)
    if version != _VERSION:
        return None
    ids: list[str] = []
    offset = _HEADER.size
    for _ in range(2):
        if offset >= len(payload):
            return None
        length = payload[offset]
        end = offset + 1 + length
        if length == 0 or end > len(payload):
            return None
        try:
            ids.append(payload[offset + 1 : end].decode("utf-8"))
        except UnicodeDecodeError:
            return None
        offset = end
    if offset != len(payload):
        return None
    return issued, ids[0], ids[1]


@attrs.frozen
class SignedIdCodec:
    """
    Make and check Message-IDs that carry a delivery id and a recipient id.

    A sender that keeps no table of the ids it sent stamps each message with
    :meth:`encode`, and reads the ids back from a bounce with :meth:`decode`.
    An HMAC-SHA256 signature (truncated to 120 bits) proves that the id was
    made with one of the keys, so a forged or edited id is rejected instead
    of being matched to the wrong delivery.

    Attributes:
        keys: The secret keys, at least 16 bytes each (text is encoded as
            UTF-8). The first key signs. Every key is tried on decode, so to
            rotate keys, put the new key first and keep the old ones until
            bounces of mail signed with them have stopped arriving.
        domain: The domain part of the ids made, such as ``"mail.example.com"``:
            a domain the sender controls, so the ids stay unique worldwide.
            Only :meth:`encode` needs it: ids of any domain are decoded.
    """

    keys: tuple[bytes, ...] = attrs.field(converter=_to_keys, validator=_check_keys, repr=False)
    domain: str | None = attrs.field(default=None, validator=_check_domain)

    def encode(
        self,
        delivery_id: str | int,
        recipient_id: str | int,
        *,
        issued_at: datetime.datetime | None = None,
    ) -> str:
        """
        Make a signed Message-ID, with angle brackets, for one message.

        Args:
            delivery_id: The sender's id of the mailing or message, 1 to 64
                bytes in UTF-8. An int is converted with ``str()``.
            recipient_id: The sender's id of the recipient, 1 to 64 bytes.
            issued_at: The time to record, now when omitted.

        Raises:
            CorrelationError: An id is empty or longer than 64 bytes, or the
                codec has no :attr:`domain`.
            TypeError: An id is neither a ``str`` nor an ``int``.
        """
        if self.domain is None:
            msg = (
                "cannot encode a signed Message-ID without a domain: pass domain='mail.example.com'"
            )
            raise CorrelationError(msg)
        moment = issued_at or datetime.datetime.now(datetime.UTC)
        header = _HEADER.pack(_VERSION, int(moment.timestamp()), secrets.token_bytes(5))
        payload = (
            header
            + _encode_id("delivery id", delivery_id)
            + _encode_id("recipient id", recipient_id)
        )
        mac = self._mac(self.keys[0], payload)
        return f"<{_PREFIX}{_b32encode(payload)}.{_b32encode(mac)}@{self.domain}>"

    def looks_signed(self, message_id: str) -> bool:
        """Return whether *message_id* has the form of a signed id, without checking it."""
        return message_id.lstrip("<").lower().startswith(_PREFIX)

    def decode(self, message_id: str) -> SignedId:
        """
        Check a signed Message-ID and return the ids it carries.

        Args:
            message_id: The id with or without angle brackets, as
                :func:`bouncekit.correlate.correlate` passes it.

        Raises:
            UnsignedIdError: The id is not of the signed form: another
                sender or mail server made it.
            AlteredIdError: The id has the signed form but is damaged, for
                example truncated. Base32 case changes are not damage.
            ForgedIdError: The id is well-formed, but no key verifies its
                signature. An edit that keeps the id well-formed is reported
                as forged too, because without the key the two look the same.
        """
        if not isinstance(message_id, str):
            msg = f"decode() takes a Message-ID as str, not {type(message_id).__name__}"
            raise TypeError(msg)
        text = message_id.strip().strip("<>")
        if not text.lower().startswith(_PREFIX):
            msg = (
                f"Message-ID {message_id!r} is not a signed id: it does not start with {_PREFIX!r}"
            )
            raise UnsignedIdError(msg, message_id)
        local, at, domain = text.rpartition("@")
        if not at or not domain:
            msg = f"signed Message-ID {message_id!r} is damaged: its '@' and domain are missing"
            raise AlteredIdError(msg, message_id)
        payload_text, dot, mac_text = local[len(_PREFIX) :].partition(".")
        payload = _b32decode(payload_text)
        mac = _b32decode(mac_text)
        if not dot or payload is None or mac is None or len(mac_text) != _MAC_CHARS:
            msg = (
                f"signed Message-ID {message_id!r} is damaged: its payload or signature "
                "is not base32 of the expected length"
            )
            raise AlteredIdError(msg, message_id)
        fields = _split_payload(payload)
        if fields is None:
            msg = (
                f"signed Message-ID {message_id!r} is damaged: its payload does not contain two ids"
            )
            raise AlteredIdError(msg, message_id)
        key_index = self._verify(payload, mac)
        if key_index is None:
            msg = (
                f"signed Message-ID {message_id!r} is forged: its signature matches none "
                f"of the {len(self.keys)} key(s)"
            )
            raise ForgedIdError(msg, message_id)
        issued, delivery_id, recipient_id = fields
        issued_at = datetime.datetime.fromtimestamp(issued, datetime.UTC)
        return SignedId(delivery_id, recipient_id, issued_at, domain, key_index)

    def _verify(self, payload: bytes, mac: bytes) -> int | None:
        """Return the index of the key that made *mac*, comparing in constant time."""
        for index, key in enumerate(self.keys):
            if hmac.compare_digest(self._mac(key, payload), mac):
                return index
        return None

    @staticmethod
    def _mac(key: bytes, payload: bytes) -> bytes:
        return hmac.new(key, _LABEL + payload, hashlib.sha256).digest()[:_MAC_BYTES]
