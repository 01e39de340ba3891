"""
bouncekit: parse, classify and correlate email bounces.

``bouncekit.parse(raw)`` turns one message from a bounce mailbox into a
:class:`Bounce`: its kind, the recipients it reports on with their RFC 3464
fields, the original Message-ID and the defects found on the way.
"""

from __future__ import annotations

import logging as _logging

from bouncekit._model import (
    Action,
    Bounce,
    BounceKind,
    BounceType,
    Defect,
    DeliveryStatus,
    Headers,
    MessageFields,
    Reason,
    Recipient,
    RecipientFields,
    TypedValue,
)
from bouncekit._parse import parse
from bouncekit._status import StatusCode
from bouncekit.exceptions import BounceKitError

__version__ = "0.1.0.dev0"

__all__ = [
    "Action",
    "Bounce",
    "BounceKind",
    "BounceKitError",
    "BounceType",
    "Defect",
    "DeliveryStatus",
    "Headers",
    "MessageFields",
    "Reason",
    "Recipient",
    "RecipientFields",
    "StatusCode",
    "TypedValue",
    "__version__",
    "parse",
]

_logging.getLogger(__name__).addHandler(_logging.NullHandler())
