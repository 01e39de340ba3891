"""
A status-code-only verdict, used until a rule set classifies the recipient.
"""

from __future__ import annotations

from bouncekit._model import Action, Bounce, BounceKind, BounceType, Reason, Recipient

__all__ = ["status_verdict"]

# (class, subject, detail) or (class, subject) prefixes to reasons, most specific first.
_BY_STATUS: dict[tuple[int, ...], Reason] = {
    (5, 1, 1): Reason.USER_UNKNOWN,
    (5, 1, 10): Reason.USER_UNKNOWN,
    (5, 1, 2): Reason.HOST_UNKNOWN,
    (5, 1, 6): Reason.HAS_MOVED,
    (5, 2, 1): Reason.SUSPENDED,
    (5, 2, 2): Reason.MAILBOX_FULL,
    (4, 2, 2): Reason.MAILBOX_FULL,
    (5, 2, 3): Reason.MESSAGE_TOO_LARGE,
    (5, 3, 4): Reason.MESSAGE_TOO_LARGE,
    (5, 3, 1): Reason.SYSTEM_FULL,
    (4, 3, 1): Reason.SYSTEM_FULL,
    (5, 4, 7): Reason.EXPIRED,
    (4, 4, 7): Reason.EXPIRED,
    (5, 7, 1): Reason.REJECTED,
    (5, 1): Reason.USER_UNKNOWN,
    (5, 4): Reason.NETWORK_ERROR,
    (4, 4): Reason.NETWORK_ERROR,
    (5, 3): Reason.SYSTEM_ERROR,
    (4, 3): Reason.SYSTEM_ERROR,
    (5, 5): Reason.SYNTAX_ERROR,
    (5, 6): Reason.CONTENT_ERROR,
    (5, 7): Reason.SECURITY_ERROR,
}

_HARD = frozenset({Reason.USER_UNKNOWN, Reason.HOST_UNKNOWN, Reason.HAS_MOVED})


def status_verdict(bounce: Bounce, recipient: Recipient) -> tuple[BounceType, Reason]:
    """Return a bounce type and reason from the kind, action and status code alone."""
    if bounce.kind is BounceKind.COMPLAINT:
        return BounceType.COMPLAINT, Reason.COMPLAINT
    if bounce.kind is BounceKind.AUTO_REPLY:
        return BounceType.IGNORED, Reason.AUTO_REPLY
    if recipient.action in (Action.DELIVERED, Action.RELAYED, Action.EXPANDED):
        return BounceType.IGNORED, Reason.DELIVERED
    status = recipient.status
    if status is None:
        return BounceType.SOFT, Reason.UNDEFINED
    for key in ((status.class_, status.subject, status.detail), (status.class_, status.subject)):
        reason = _BY_STATUS.get(key)
        if reason is not None:
            hard = reason in _HARD and status.is_permanent
            return (BounceType.HARD if hard else BounceType.SOFT), reason
    return BounceType.SOFT, Reason.UNDEFINED
