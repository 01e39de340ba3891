"""
The exceptions bouncekit raises.

Every exception derives from :class:`BounceKitError`. Parsing never raises on
malformed input: what is wrong becomes a :class:`~bouncekit.Defect` on the result.
"""

from __future__ import annotations

__all__ = [
    "AlteredIdError",
    "BounceKitError",
    "CorrelationError",
    "ForgedIdError",
    "SignedIdError",
    "StoreError",
    "UnsignedIdError",
]


class BounceKitError(Exception):
    """The root of every exception bouncekit raises."""


class CorrelationError(BounceKitError, ValueError):
    """A key, domain, identifier or record that correlation cannot use."""


class SignedIdError(CorrelationError):
    """
    A Message-ID that did not decode as a valid signed id.

    Attributes:
        message_id: The id as given to the decoder.
    """

    def __init__(self, message: str, message_id: str) -> None:
        super().__init__(message)
        self.message_id = message_id


class UnsignedIdError(SignedIdError):
    """The Message-ID does not have the form of a signed id: another sender made it."""


class ForgedIdError(SignedIdError):
    """The Message-ID is well-formed but its signature matches none of the keys."""


class AlteredIdError(SignedIdError):
    """The Message-ID has the signed form but was damaged, for example truncated."""


class StoreError(BounceKitError):
    """A correlation store could not read or write its database."""
