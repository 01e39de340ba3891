"""
bouncekit: parse, classify and correlate email bounces.

``bouncekit.parse(raw)`` turns one message from a bounce mailbox into a
:class:`Bounce`: its kind, the recipients it reports on with their RFC 3464
fields, the original Message-ID and the defects found on the way.
"""

from __future__ import annotations

import importlib as _importlib
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

# The public submodules, imported on first use so that `import bouncekit` stays light.
_SUBMODULES = ("correlate", "exceptions", "mailbox", "pop3", "rules")


def __getattr__(name: str) -> object:
    if name in _SUBMODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    # Tab completion shows the public names and submodules only.
    return sorted({*__all__, *_SUBMODULES})
