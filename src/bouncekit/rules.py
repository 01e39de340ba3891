"""
Classification rules: which verdict each recipient of a bounce gets, and why.

:meth:`RuleSet.default` returns the rules that ship with bouncekit, and
:meth:`RuleSet.from_toml` adds a user's rule file to them (and
:meth:`RuleSet.from_toml_text` the rules of a TOML string). :func:`classify`
returns one :class:`Classification` per recipient, naming the rule that decided
and the evidence it matched. :data:`REASONS` maps every reason to its default
bounce type and to Adobe Campaign's failure types and reasons.
"""

from __future__ import annotations

from bouncekit._reasons import (
    REASONS,
    AdobeFailureReason,
    AdobeFailureType,
    ReasonInfo,
    adobe_failure_type,
)
from bouncekit._rules import (
    DEFAULT_PATTERN_TIMEOUT,
    NO_RULE,
    Classification,
    Conditions,
    Evidence,
    Outcome,
    Rule,
    RuleError,
    bounce_type_for,
)
from bouncekit._ruleset import (
    RuleSet,
    check_rules,
    check_rules_text,
    classify,
    classify_message,
    load_rules,
    load_rules_text,
)

__all__ = [
    "DEFAULT_PATTERN_TIMEOUT",
    "NO_RULE",
    "REASONS",
    "AdobeFailureReason",
    "AdobeFailureType",
    "Classification",
    "Conditions",
    "Evidence",
    "Outcome",
    "ReasonInfo",
    "Rule",
    "RuleError",
    "RuleSet",
    "adobe_failure_type",
    "bounce_type_for",
    "check_rules",
    "check_rules_text",
    "classify",
    "classify_message",
    "load_rules",
    "load_rules_text",
]


def __dir__() -> list[str]:
    # Tab completion shows the public names only.
    return sorted(__all__)
