"""
VERP: the recipient's address carried in the envelope sender of each message.

With variable envelope return paths, mail to ``alice@example.org`` is sent
with the envelope sender ``bounces+alice=example.org@bounces.example.com``.
A bounce goes back to that address. The mail server that receives it
writes the address into ``Delivered-To`` or ``X-Original-To``, or it stays in
``To``. So the failed recipient is known even when the notice quotes nothing
of the original message.
"""

from __future__ import annotations

import re

import attrs

from bouncekit._model import Headers
from bouncekit.exceptions import CorrelationError

__all__ = ["VerpCodec"]

# The bounce's header fields that can hold the address it was delivered to,
# most reliable first: Delivered-To and X-Original-To are written by the
# receiving server, To by the server that wrote the notice.
ENVELOPE_FIELDS = ("Delivered-To", "X-Original-To", "To")

# An addr-spec inside a header value such as "Name <a@b>" or "a@b, c@d".
_ADDRESS = re.compile(r"[^\s<>,;:\"()\[\]]+@[^\s<>,;:\"()\[\]]+")
# RFC 5322 section 3.2.3: the characters of a dot-atom local part.
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
# BATV (Bounce Address Tag Validation) wraps the local part as "prvs=TAG=local".
_BATV = re.compile(r"^(?:prvs|msprvs1|btv1)=[^=@]+=", re.IGNORECASE)


def _check_local_part(instance: VerpCodec, attribute: attrs.Attribute[str], value: str) -> None:
    if not _LOCAL_PART.fullmatch(value):
        msg = f"invalid VERP {attribute.name} {value!r}: use letters, digits and '.', '-' or '_'"
        raise CorrelationError(msg)


# A domain name, or an address literal such as [192.0.2.1].
_DOMAIN = re.compile(r"(?:[\w-]+\.)*[\w-]+|\[[\w.:]+\]")


def _check_domain(instance: VerpCodec, attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not _DOMAIN.fullmatch(value):
        msg = f"invalid VERP domain {value!r}: write a domain name such as 'bounces.example.com'"
        raise CorrelationError(msg)


def _check_char(instance: VerpCodec, attribute: attrs.Attribute[str], value: str) -> None:
    if len(value) != 1 or not _LOCAL_PART.fullmatch(value) or value == ".":
        msg = f"invalid VERP {attribute.name} {value!r}: use one character such as '+', '-' or '='"
        raise CorrelationError(msg)


@attrs.frozen
class VerpCodec:
    """
    Make and read VERP envelope senders such as ``bounces+alice=example.org@bounces.example.com``.

    Attributes:
        local_part: The fixed start of the address, ``"bounces"`` above.
        domain: The domain that receives the bounces, ``"bounces.example.com"`` above.
        separator: The character between *local_part* and the encoded recipient.
        equals: The character that replaces the recipient's ``@``.
    """

    local_part: str = attrs.field(validator=_check_local_part)
    domain: str = attrs.field(validator=_check_domain)
    separator: str = attrs.field(default="+", validator=_check_char)
    equals: str = attrs.field(default="=", validator=_check_char)

    def encode(self, recipient: str) -> str:
        """
        Return the envelope sender to use for mail to *recipient*.

        Raises:
            CorrelationError: *recipient* is not an address with a dot-atom
                local part (a quoted local part cannot be carried).
        """
        local, at, domain = recipient.rpartition("@")
        if not at or not domain or not _LOCAL_PART.fullmatch(local):
            msg = (
                f"cannot encode recipient {recipient!r} with VERP: "
                "it needs a plain (unquoted) local part and a domain"
            )
            raise CorrelationError(msg)
        return f"{self.local_part}{self.separator}{local}{self.equals}{domain}@{self.domain}"

    def decode(self, address: str) -> str | None:
        """
        Return the recipient encoded in a VERP *address*, or ``None`` when it is not one of ours.

        The local part and domain are compared without regard to case, and a
        BATV tag (``prvs=TAG=``) in front of the local part is ignored.
        """
        local, at, domain = address.strip().strip("<>").rpartition("@")
        if not at or domain.lower() != self.domain.lower():
            return None
        local = _BATV.sub("", local)
        start = f"{self.local_part}{self.separator}".lower()
        if not local.lower().startswith(start):
            return None
        encoded = local[len(start) :]
        # The recipient's domain cannot contain the equals character, so the
        # last one is the encoded "@" even when the local part has one too.
        recipient_local, equals, recipient_domain = encoded.rpartition(self.equals)
        if not equals or not recipient_local or not recipient_domain:
            return None
        return f"{recipient_local}@{recipient_domain}"

    def find_recipient(self, headers: Headers) -> tuple[str, str, str] | None:
        """
        Find a VERP address in a bounce's envelope header fields.

        The fields ``Delivered-To``, ``X-Original-To`` and ``To`` are read in
        that order.

        Returns:
            ``(field, address, recipient)`` for the first address that
            decodes, or ``None``.
        """
        for name in ENVELOPE_FIELDS:
            for value in headers.get_all(name):
                for address in _ADDRESS.findall(value):
                    recipient = self.decode(address)
                    if recipient is not None:
                        return name, address, recipient
        return None
