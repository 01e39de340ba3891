"""
Classification rules: the values a rule file describes, and the verdicts they give.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import attrs

from bouncekit._model import Action, BounceKind, BounceType, Reason, Recipient
from bouncekit._reasons import REASONS, AdobeFailureReason, AdobeFailureType, adobe_failure_type
from bouncekit.exceptions import RuleError

__all__ = [
    "DEFAULT_PATTERN_TIMEOUT",
    "NO_RULE",
    "Classification",
    "Conditions",
    "Evidence",
    "Outcome",
    "Rule",
    "RuleError",
    "bounce_type_for",
]

NO_RULE: Final = ""
"""The rule id of a classification that no rule matched."""

DEFAULT_PATTERN_TIMEOUT: Final = 0.05
"""Seconds one diagnostic pattern may run on one text before it counts as not matching."""


@attrs.frozen
class Evidence:
    """
    One condition of the winning rule, with the value that satisfied it.

    Attributes:
        field: The field that was tested: ``status``, ``reply_code``, ``action``,
            ``command``, ``diagnostic``, ``domain``, ``format`` or ``kind``.
        text: The value that matched: the status code, the reply code, or for
            ``diagnostic`` the part of the text that the pattern matched.
    """

    field: str
    text: str

    def __str__(self) -> str:
        return f"{self.field}: {self.text}"


@attrs.frozen
class Outcome:
    """
    What a matching rule decides.

    Attributes:
        reason: The reason it gives.
        bounce_type: The bounce type, or ``None`` for the reason's default (see
            :func:`bounce_type_for`).
    """

    reason: Reason = attrs.field(converter=Reason)
    bounce_type: BounceType | None = attrs.field(
        default=None, converter=attrs.converters.optional(BounceType)
    )


def _strings(value: Iterable[str] | str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _actions(value: Iterable[Action | str] | str) -> tuple[Action, ...]:
    values = (value,) if isinstance(value, str) else tuple(value)
    return tuple(Action(item) for item in values)


def _commands(value: Iterable[str] | str) -> tuple[str, ...]:
    values = (value,) if isinstance(value, str) else tuple(value)
    return tuple(item.strip().upper() for item in values)


def _kinds(value: Iterable[BounceKind | str] | str) -> tuple[BounceKind, ...]:
    values = (value,) if isinstance(value, str) else tuple(value)
    return tuple(BounceKind(item) for item in values)


@attrs.frozen
class Conditions:
    """
    The tests a rule makes. Every non-empty field must hold; the values inside one
    field are alternatives.

    A rule set rejects an enabled rule whose conditions are all empty unless
    *match_all* is true, so a rule that matches every recipient is always written
    on purpose.

    Attributes:
        status: Enhanced status codes, exact (``"5.1.1"``) or with ``*`` for the
            rest (``"5.7.*"``, ``"4.*"``, ``"*.2.2"``).
        reply_code: SMTP reply codes, exact (``"550"``), a prefix ending in
            ``*`` (``"55*"``, ``"4*"``), or with ``x`` for each unknown trailing
            digit (``"5xx"``, ``"55x"``).
        action: RFC 3464 actions.
        command: SMTP commands the remote server was replying to, as in
            :attr:`bouncekit.Recipient.command` (``"RCPT"``, ``"DATA"``, ``"MAIL"``,
            ``"CONNECT"``, ...), in any case.
        diagnostic: Regular expressions (syntax of the ``regex`` package), searched
            case-insensitively in the diagnostic text.
        domain: Recipient domains, with shell wildcards (``"yahoo.*"``,
            ``"*.example.com"``), compared in lower case.
        format: Names of the notice layout, as in :attr:`bouncekit.Bounce.format`.
        kind: Kinds of message.
        match_all: Whether the rule matches every recipient and every message. It
            cannot be combined with the other conditions.
    """

    status: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    reply_code: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    action: tuple[Action, ...] = attrs.field(default=(), converter=_actions)
    command: tuple[str, ...] = attrs.field(default=(), converter=_commands)
    diagnostic: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    domain: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    format: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    kind: tuple[BounceKind, ...] = attrs.field(default=(), converter=_kinds)
    match_all: bool = False

    def is_empty(self) -> bool:
        """Return whether no condition is set, ignoring :attr:`match_all`."""
        return not (
            self.status
            or self.reply_code
            or self.action
            or self.command
            or self.diagnostic
            or self.domain
            or self.format
            or self.kind
        )


@attrs.frozen
class Rule:
    """
    One classification rule.

    Attributes:
        id: A unique name. A user's rule with a default rule's id replaces it.
        outcome: The reason and, optionally, the bounce type it gives.
        conditions: What must hold for the rule to match.
        priority: Higher wins, and rules of equal priority are tried in file order.
        rationale: Why the rule decides as it does, for people.
        source: The file the rule was read from, for messages.
        enabled: Whether the rule takes part. A disabled rule without conditions
            disables the rule of the same id in the rule set it extends (see
            :meth:`RuleSet.extended`).
    """

    id: str
    outcome: Outcome
    conditions: Conditions = attrs.Factory(Conditions)
    priority: int = 0
    rationale: str = ""
    source: str = attrs.field(default="<rules>", eq=False)
    enabled: bool = True


@attrs.frozen
class Classification:
    """
    The verdict on one recipient, or on a message that reports on none.

    Attributes:
        address: The recipient's address, or ``None`` for a verdict on the message.
        bounce_type: What to do with the address: hard, soft, complaint or ignored.
        reason: Why, in bouncekit's vocabulary.
        rule: The id of the rule that decided, or ``""`` when none matched.
        evidence: The winning rule's conditions with the values that satisfied them.
        timed_out: Ids of the rules, in the order tried, with a diagnostic pattern
            that ran out of time (``pattern_timeout``) on this recipient's text. Such
            a pattern counted as not matching, so the verdict may differ from the one
            the pattern would have given.
    """

    address: str | None
    bounce_type: BounceType
    reason: Reason
    rule: str
    evidence: tuple[Evidence, ...] = ()
    timed_out: tuple[str, ...] = ()

    @property
    def adobe_failure_type(self) -> AdobeFailureType:
        """The Adobe Campaign failure type (Hard, Soft or Ignored) of :attr:`bounce_type`."""
        return adobe_failure_type(self.bounce_type)

    @property
    def adobe_failure_reason(self) -> AdobeFailureReason:
        """The Adobe Campaign failure reason closest to :attr:`reason`."""
        return REASONS[self.reason].adobe_failure_reason


def bounce_type_for(
    reason: Reason,
    recipient: Recipient | None = None,
) -> BounceType:
    """
    Return the bounce type that *reason* gives *recipient* when a rule names none.

    ``user_unknown``, ``host_unknown`` and ``has_moved`` are hard unless the failure
    is temporary (status class 4, a 4xx reply code or the ``delayed`` action).
    ``not_accept`` is hard only with a permanent code (status class 5 or a 5xx
    reply code). Every other reason has the fixed type that
    :data:`bouncekit.rules.REASONS` lists. Without a recipient, as for a verdict on a
    whole message, no reason is hard, because no address is named.
    """
    default = REASONS[reason].bounce_type
    if default is not BounceType.HARD:
        return default
    if recipient is None:
        return BounceType.SOFT
    status = recipient.status
    reply = recipient.reply_code or ""
    temporary = (
        recipient.action is Action.DELAYED
        or (status is not None and status.class_ == 4)
        or reply.startswith("4")
    )
    if temporary:
        return BounceType.SOFT
    if reason is Reason.NOT_ACCEPT:
        permanent = (status is not None and status.class_ == 5) or reply.startswith("5")
        return BounceType.HARD if permanent else BounceType.SOFT
    return BounceType.HARD
