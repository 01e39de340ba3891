"""
Classification rules: the values a rule file describes, and how a rule is checked.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from typing import Final

import attrs
import regex

from bouncekit._model import Action, Bounce, BounceKind, BounceType, Reason, Recipient
from bouncekit._reasons import REASONS, AdobeFailureReason, AdobeFailureType, adobe_failure_type
from bouncekit.exceptions import BounceKitError

__all__ = [
    "DEFAULT_PATTERN_TIMEOUT",
    "NO_RULE",
    "Classification",
    "CompiledRule",
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

# Patterns are matched case-insensitively. A rule's alternatives are joined into
# one pattern when that keeps their meaning (no groups, no inline flags), which
# saves one regex call per alternative.
_PATTERN_FLAGS: Final = regex.IGNORECASE | regex.VERSION0
_PLAIN_FLAGS: Final = regex.compile("", _PATTERN_FLAGS).flags
_MAX_PATTERN_LENGTH: Final = 4000
_EVIDENCE_LENGTH: Final = 200

_STATUS_PATTERN: Final = re.compile(r"([245]|\*)(?:\.(\d{1,3}|\*)(?:\.(\d{1,3}|\*))?)?")
_REPLY_PATTERN: Final = re.compile(r"[2-5](?:\d\d|\d?[*x]|[x*]{0,2})", re.IGNORECASE)


class RuleError(BounceKitError, ValueError):
    """
    A rule or rule file is invalid.

    Attributes:
        source: The file (or ``"<string>"``) the rule came from.
        rule_id: The id of the rule at fault, or ``None`` when the problem is not in one rule.
        problem: What is wrong, and what to do.
    """

    def __init__(self, problem: str, *, source: str = "<rules>", rule_id: str | None = None):
        self.source = source
        self.rule_id = rule_id
        self.problem = problem
        where = source if rule_id is None else f"{source}: rule {rule_id!r}"
        super().__init__(f"{where}: {problem}")


@attrs.frozen
class Evidence:
    """
    One condition of the winning rule, with the value that satisfied it.

    Attributes:
        field: The field that was tested: ``status``, ``reply_code``, ``action``,
            ``diagnostic``, ``domain``, ``format`` or ``kind``.
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


def _kinds(value: Iterable[BounceKind | str] | str) -> tuple[BounceKind, ...]:
    values = (value,) if isinstance(value, str) else tuple(value)
    return tuple(BounceKind(item) for item in values)


@attrs.frozen
class Conditions:
    """
    The tests a rule makes. Every non-empty field must hold; the values inside one
    field are alternatives.

    Attributes:
        status: Enhanced status codes, exact (``"5.1.1"``) or with ``*`` for the
            rest (``"5.7.*"``, ``"4.*"``, ``"*.2.2"``).
        reply_code: SMTP reply codes, exact (``"550"``) or a prefix ending in
            ``*`` (``"55*"``, ``"4*"``).
        action: RFC 3464 actions.
        diagnostic: Regular expressions (syntax of the ``regex`` package), searched
            case-insensitively in the diagnostic text.
        domain: Recipient domains, with shell wildcards (``"yahoo.*"``,
            ``"*.example.com"``), compared in lower case.
        format: Names of the notice layout, as in :attr:`bouncekit.Bounce.format`.
        kind: Kinds of message.
    """

    status: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    reply_code: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    action: tuple[Action, ...] = attrs.field(default=(), converter=_actions)
    diagnostic: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    domain: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    format: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    kind: tuple[BounceKind, ...] = attrs.field(default=(), converter=_kinds)


@attrs.frozen
class Rule:
    """
    One classification rule.

    Attributes:
        id: A unique name; a user's rule with a default rule's id replaces it.
        outcome: The reason and, optionally, the bounce type it gives.
        conditions: What must hold for the rule to match.
        priority: Higher wins; rules of equal priority are tried in file order.
        rationale: Why the rule decides as it does, for people.
        source: The file the rule was read from, for messages.
    """

    id: str
    outcome: Outcome
    conditions: Conditions = attrs.Factory(Conditions)
    priority: int = 0
    rationale: str = ""
    source: str = attrs.field(default="<rules>", eq=False)


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
    """

    address: str | None
    bounce_type: BounceType
    reason: Reason
    rule: str
    evidence: tuple[Evidence, ...] = ()

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
    :data:`bouncekit.rules.REASONS` lists.
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


class _Facts:
    """The fields of one recipient (or of a message alone) that conditions test."""

    __slots__ = (
        "action",
        "diagnostic",
        "domain",
        "format",
        "kind",
        "reply",
        "status",
        "status_text",
    )

    def __init__(self, bounce: Bounce, recipient: Recipient | None) -> None:
        self.kind = bounce.kind
        self.format = bounce.format.lower()
        if recipient is None:
            self.action: Action | None = None
            self.status: tuple[int, int, int] | None = None
            self.status_text = ""
            self.reply = ""
            self.diagnostic = ""
            self.domain = ""
            return
        self.action = recipient.action
        status = recipient.status
        self.status = None if status is None else (status.class_, status.subject, status.detail)
        self.status_text = "" if status is None else str(status)
        self.reply = recipient.reply_code or ""
        self.diagnostic = recipient.diagnostic or ""
        self.domain = recipient.domain if "@" in recipient.address else ""


def _parse_status(text: str) -> tuple[int, int, int]:
    """Parse a status condition into a triple where -1 stands for any value."""
    found = _STATUS_PATTERN.fullmatch(text.strip())
    if found is None:
        msg = (
            f"invalid status condition {text!r}: write a code such as 5.1.1, or 5.7.* for a prefix"
        )
        raise ValueError(msg)
    parts = [found[1], found[2], found[3]]
    # "5" alone means nothing, and "5.1" without a star is a typo for "5.1.*".
    if (parts[1] is None or parts[2] is None) and not text.strip().endswith("*"):
        msg = f"invalid status condition {text!r}: a code has three parts; end a prefix with .*"
        raise ValueError(msg)
    return tuple(-1 if part in (None, "*") else int(part) for part in parts)  # type: ignore[return-value]


def _parse_reply(text: str) -> str:
    """Return the exact code, or the prefix before ``*`` or ``x`` followed by ``*``."""
    value = text.strip()
    if _REPLY_PATTERN.fullmatch(value) is None:
        msg = (
            f"invalid reply_code condition {text!r}: write a code such as 550, or 55* for a prefix"
        )
        raise ValueError(msg)
    if value.isdigit():
        return value
    return value.lower().rstrip("*x") + "*"


def compile_pattern(text: str) -> regex.Pattern[str]:
    """
    Compile one diagnostic pattern as rules use it.

    Raises:
        ValueError: The pattern does not compile or is too long.
    """
    if len(text) > _MAX_PATTERN_LENGTH:
        msg = f"pattern of {len(text)} characters is longer than the maximum {_MAX_PATTERN_LENGTH}"
        raise ValueError(msg)
    try:
        return regex.compile(text, _PATTERN_FLAGS)
    except regex.error as exc:
        msg = f"invalid pattern {text!r}: {exc}"
        raise ValueError(msg) from None


def _join_patterns(patterns: tuple[regex.Pattern[str], ...]) -> tuple[regex.Pattern[str], ...]:
    if len(patterns) < 2:
        return patterns
    joinable = all(p.groups == 0 and p.flags == _PLAIN_FLAGS for p in patterns)
    if not joinable:
        return patterns
    return (regex.compile("|".join(f"(?:{p.pattern})" for p in patterns), _PATTERN_FLAGS),)


class CompiledRule:
    """A rule prepared for matching: values parsed, patterns compiled, lower-cased once."""

    __slots__ = (
        "actions",
        "domain_exact",
        "domain_globs",
        "formats",
        "kinds",
        "patterns",
        "reply_exact",
        "reply_prefixes",
        "rule",
        "status_exact",
        "status_wild",
    )

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        conditions = rule.conditions
        self.kinds = frozenset(conditions.kind)
        self.formats = frozenset(name.lower() for name in conditions.format)
        self.actions = frozenset(conditions.action)
        statuses = [_parse_status(text) for text in conditions.status]
        self.status_exact = frozenset(s for s in statuses if -1 not in s)
        self.status_wild = tuple(s for s in statuses if -1 in s)
        replies = [_parse_reply(text) for text in conditions.reply_code]
        self.reply_exact = frozenset(r for r in replies if not r.endswith("*"))
        self.reply_prefixes = tuple(r[:-1] for r in replies if r.endswith("*"))
        domains = [name.strip().lower() for name in conditions.domain]
        self.domain_exact = frozenset(d for d in domains if not _has_glob(d))
        self.domain_globs = tuple(re.compile(fnmatch.translate(d)) for d in domains if _has_glob(d))
        self.patterns = _join_patterns(tuple(compile_pattern(p) for p in conditions.diagnostic))

    def match(self, facts: _Facts, timeout: float) -> list[Evidence] | None:
        """Return the evidence when every condition holds, else ``None``."""
        evidence: list[Evidence] = []
        if self.kinds:
            if facts.kind not in self.kinds:
                return None
            evidence.append(Evidence("kind", facts.kind.value))
        if self.formats:
            if facts.format not in self.formats:
                return None
            evidence.append(Evidence("format", facts.format))
        if self.actions:
            if facts.action not in self.actions:
                return None
            evidence.append(Evidence("action", str(facts.action)))
        if self.status_exact or self.status_wild:
            if not self._status_matches(facts.status):
                return None
            evidence.append(Evidence("status", facts.status_text))
        if self.reply_exact or self.reply_prefixes:
            reply = facts.reply
            if not reply or not (
                reply in self.reply_exact or reply.startswith(self.reply_prefixes)
            ):
                return None
            evidence.append(Evidence("reply_code", reply))
        if self.domain_exact or self.domain_globs:
            if not self._domain_matches(facts.domain):
                return None
            evidence.append(Evidence("domain", facts.domain))
        if self.patterns:
            found = _search(self.patterns, facts.diagnostic, timeout)
            if found is None:
                return None
            evidence.append(Evidence("diagnostic", found))
        return evidence

    def _status_matches(self, status: tuple[int, int, int] | None) -> bool:
        if status is None:
            return False
        if status in self.status_exact:
            return True
        for wild in self.status_wild:
            if all(want in (-1, got) for want, got in zip(wild, status, strict=True)):
                return True
        return False

    def _domain_matches(self, domain: str) -> bool:
        if not domain:
            return False
        if domain in self.domain_exact:
            return True
        return any(glob.match(domain) for glob in self.domain_globs)


def _has_glob(text: str) -> bool:
    return any(char in text for char in "*?[")


def _search(patterns: tuple[regex.Pattern[str], ...], text: str, timeout: float) -> str | None:
    """Return the text the first matching pattern matched, or ``None``."""
    if not text:
        return None
    for pattern in patterns:
        try:
            found = pattern.search(text, timeout=timeout)
        except TimeoutError:
            # NOTE: a pattern that runs out of time counts as not matching, and the
            # classification does not record that it happened.
            continue
        if found is not None:
            return found.group()[:_EVIDENCE_LENGTH]
    return None
