"""
Finding the sender's own record for a bounce.

:func:`correlate` tries the identifiers a bounce carries (the returned
message's Message-ID, a signed Message-ID, header fields of the caller's
choice, the DSN's envelope id, a VERP address) against a :class:`Correlator`.
"""

from __future__ import annotations

from bouncekit._correlate import (
    Correlation,
    CorrelationMethod,
    Correlator,
    MappingCorrelator,
    NoCorrelation,
    RejectedId,
    correlate,
    message_id_candidates,
)
from bouncekit._message import find_message_ids, normalize_message_id
from bouncekit._signed_id import SignedId, SignedIdCodec
from bouncekit._sqlite_store import SQLiteCorrelator
from bouncekit._verp import VerpCodec
from bouncekit.exceptions import (
    AlteredIdError,
    CorrelationError,
    ForgedIdError,
    SignedIdError,
    StoreError,
    UnsignedIdError,
)

__all__ = [
    "AlteredIdError",
    "Correlation",
    "CorrelationError",
    "CorrelationMethod",
    "Correlator",
    "ForgedIdError",
    "MappingCorrelator",
    "NoCorrelation",
    "RejectedId",
    "SQLiteCorrelator",
    "SignedId",
    "SignedIdCodec",
    "SignedIdError",
    "StoreError",
    "UnsignedIdError",
    "VerpCodec",
    "correlate",
    "find_message_ids",
    "message_id_candidates",
    "normalize_message_id",
]


def __dir__() -> list[str]:
    # Tab completion shows the public names only.
    return sorted(__all__)
