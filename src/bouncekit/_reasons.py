"""
Each reason's default bounce type, and its equivalent in Adobe Campaign's vocabulary.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from bouncekit._model import BounceType, Reason

__all__ = [
    "REASONS",
    "AdobeFailureReason",
    "AdobeFailureType",
    "ReasonInfo",
    "adobe_failure_type",
]


class AdobeFailureType(enum.StrEnum):
    """Adobe Campaign's failure types, which decide quarantine."""

    HARD = "Hard"
    """The address is invalid and goes to quarantine at once."""
    SOFT = "Soft"
    """A temporary failure: retried, and counted toward quarantine."""
    IGNORED = "Ignored"
    """A known harmless case, such as an out-of-office reply: never quarantines."""


class AdobeFailureReason(enum.IntEnum):
    """The Adobe Campaign failure reasons that a bounce can carry, by their numeric codes."""

    NOT_DEFINED = 0
    USER_UNKNOWN = 1
    INVALID_DOMAIN = 2
    UNREACHABLE = 3
    ACCOUNT_DISABLED = 4
    MAILBOX_FULL = 5
    REFUSED = 20

    @property
    def label(self) -> str:
        """The reason's name as Adobe Campaign shows it, such as ``"User unknown"``."""
        return self.name.replace("_", " ").capitalize()


@attrs.frozen
class ReasonInfo:
    """
    The meaning of a reason for a campaign backend.

    Attributes:
        reason: The reason.
        bounce_type: The bounce type a rule gives when it names no type of its own.
            The hard reasons are hard only for a permanent failure (see
            :func:`bouncekit.rules.bounce_type_for`).
        adobe_failure_reason: The closest Adobe Campaign failure reason.
        description: One line for people.
    """

    reason: Reason
    bounce_type: BounceType
    adobe_failure_reason: AdobeFailureReason
    description: str

    @property
    def adobe_failure_type(self) -> AdobeFailureType:
        """The Adobe Campaign failure type of :attr:`bounce_type`."""
        return adobe_failure_type(self.bounce_type)


def adobe_failure_type(bounce_type: BounceType) -> AdobeFailureType:
    """
    Return the Adobe Campaign failure type for *bounce_type*.

    A complaint is ``Hard`` because Adobe Campaign stops mailing the address at once
    (it puts a complainer on its denylist).
    """
    return _ADOBE_TYPES[bounce_type]


_ADOBE_TYPES: Mapping[BounceType, AdobeFailureType] = {
    BounceType.HARD: AdobeFailureType.HARD,
    BounceType.SOFT: AdobeFailureType.SOFT,
    BounceType.COMPLAINT: AdobeFailureType.HARD,
    BounceType.IGNORED: AdobeFailureType.IGNORED,
}

_HARD = BounceType.HARD
_SOFT = BounceType.SOFT
_A = AdobeFailureReason

# reason: (default bounce type, Adobe Campaign failure reason, description)
_TABLE: dict[Reason, tuple[BounceType, AdobeFailureReason, str]] = {
    Reason.USER_UNKNOWN: (_HARD, _A.USER_UNKNOWN, "The mailbox does not exist."),
    Reason.HOST_UNKNOWN: (
        _HARD,
        _A.INVALID_DOMAIN,
        "The domain does not exist or has no mail host.",
    ),
    Reason.HAS_MOVED: (
        _HARD,
        _A.USER_UNKNOWN,
        "The mailbox has moved and left no forwarding address.",
    ),
    Reason.NOT_ACCEPT: (_HARD, _A.INVALID_DOMAIN, "The domain accepts no mail at all (null MX)."),
    Reason.MAILBOX_FULL: (_SOFT, _A.MAILBOX_FULL, "The mailbox is over its quota."),
    Reason.SUSPENDED: (_SOFT, _A.ACCOUNT_DISABLED, "The mailbox is disabled or inactive."),
    Reason.FILTERED: (
        _SOFT,
        _A.REFUSED,
        "The recipient's own filter or settings rejected the message.",
    ),
    Reason.REJECTED: (
        _SOFT,
        _A.REFUSED,
        "The receiving server rejected the sender's address or domain.",
    ),
    Reason.BLOCKED: (_SOFT, _A.REFUSED, "The receiving server blocked the sending IP address."),
    Reason.SPAM_DETECTED: (_SOFT, _A.REFUSED, "The message was rejected as spam."),
    Reason.VIRUS_DETECTED: (_SOFT, _A.REFUSED, "The message was rejected for a virus."),
    Reason.POLICY_VIOLATION: (
        _SOFT,
        _A.REFUSED,
        "The message broke a policy of the receiving site.",
    ),
    Reason.SECURITY_ERROR: (_SOFT, _A.REFUSED, "A security check of the receiving server failed."),
    Reason.AUTH_FAILURE: (
        _SOFT,
        _A.REFUSED,
        "SPF, DKIM or DMARC authentication of the sender failed.",
    ),
    Reason.BAD_REPUTATION: (
        _SOFT,
        _A.REFUSED,
        "The sender's IP address or domain has a bad reputation.",
    ),
    Reason.REQUIRE_PTR: (
        _SOFT,
        _A.REFUSED,
        "The sending IP address has no valid reverse DNS (PTR).",
    ),
    Reason.FAILED_STARTTLS: (
        _SOFT,
        _A.UNREACHABLE,
        "The TLS session required for delivery failed.",
    ),
    Reason.NOT_COMPLIANT_RFC: (_SOFT, _A.REFUSED, "The message does not conform to the RFCs."),
    Reason.CONTENT_ERROR: (_SOFT, _A.REFUSED, "The message's content or encoding was rejected."),
    Reason.MESSAGE_TOO_LARGE: (_SOFT, _A.REFUSED, "The message is larger than the server accepts."),
    Reason.EXCEED_LIMIT: (_SOFT, _A.REFUSED, "The message exceeds a limit of the recipient."),
    Reason.RATE_LIMITED: (
        _SOFT,
        _A.UNREACHABLE,
        "Too many messages or connections from the sender.",
    ),
    Reason.SYSTEM_FULL: (_SOFT, _A.UNREACHABLE, "The receiving server is out of storage."),
    Reason.SYSTEM_ERROR: (
        _SOFT,
        _A.UNREACHABLE,
        "The receiving server failed or is misconfigured.",
    ),
    Reason.MAILER_ERROR: (_SOFT, _A.UNREACHABLE, "A local delivery program failed."),
    Reason.NETWORK_ERROR: (
        _SOFT,
        _A.UNREACHABLE,
        "DNS, routing or connection trouble, or a mail loop.",
    ),
    Reason.NO_RELAYING: (_SOFT, _A.REFUSED, "The server does not relay mail for that domain."),
    Reason.SYNTAX_ERROR: (_SOFT, _A.NOT_DEFINED, "An SMTP command or address had invalid syntax."),
    Reason.EXPIRED: (
        _SOFT,
        _A.UNREACHABLE,
        "Delivery is delayed, or was retried until the queue gave up.",
    ),
    Reason.ON_HOLD: (_SOFT, _A.NOT_DEFINED, "The notice says too little to tell the reason yet."),
    Reason.SUPPRESSED: (
        _SOFT,
        _A.REFUSED,
        "The sending service's suppression list held the address.",
    ),
    Reason.UNDEFINED: (_SOFT, _A.NOT_DEFINED, "No rule recognised the failure."),
    Reason.DELIVERED: (BounceType.IGNORED, _A.NOT_DEFINED, "The message was delivered or relayed."),
    Reason.COMPLAINT: (
        BounceType.COMPLAINT,
        _A.REFUSED,
        "The recipient reported the message as spam.",
    ),
    Reason.AUTO_REPLY: (
        BounceType.IGNORED,
        _A.NOT_DEFINED,
        "An automatic reply such as out-of-office.",
    ),
}

REASONS: Mapping[Reason, ReasonInfo] = MappingProxyType(
    {
        reason: ReasonInfo(reason, bounce_type, adobe, description)
        for reason, (bounce_type, adobe, description) in _TABLE.items()
    }
)
"""Every :class:`~bouncekit.Reason` with its default bounce type and Adobe Campaign equivalent."""
