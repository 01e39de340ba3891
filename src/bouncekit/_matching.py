"""
Rules prepared for matching, and the per-recipient facts they test.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Final

import regex

from bouncekit._command import COMMANDS
from bouncekit._literals import required_literals
from bouncekit._model import Action, Bounce, BounceKind, Recipient
from bouncekit._rules import Evidence, Rule

__all__ = ["CompiledRule", "Facts", "FactsKey", "compile_pattern"]

# Patterns are matched case-insensitively.
_PATTERN_FLAGS: Final = regex.IGNORECASE | regex.VERSION0
_MAX_PATTERN_LENGTH: Final = 4000
_EVIDENCE_LENGTH: Final = 200

_STATUS_PATTERN: Final = re.compile(r"([245]|\*)(?:\.(\d{1,3}|\*)(?:\.(\d{1,3}|\*))?)?")
# A three-digit code, a prefix of one or two digits ending in "*", or three
# characters where a trailing "x" stands for one digit ("5xx", "55x").
_REPLY_PATTERN: Final = re.compile(r"[2-5](?:\d\d|\dx|xx|\d?\*)", re.IGNORECASE)

FactsKey = tuple[BounceKind, str, Action | None, tuple[int, int, int] | None, str, str, bool, bool]
"""
The facts that decide the cheap conditions: kind, format, action, status, reply code,
SMTP command, and whether there is a diagnostic text and a domain at all.
"""


# Characters that the patterns' case-insensitive matching takes for ASCII letters,
# while casefold() keeps them apart: the dotless i, the long s, and the combining
# dot that casefold() writes after an i for the dotted capital I.
_LOOKALIKES = str.maketrans({"\u0131": "i", "\u017f": "s", "\u0307": None})


def _literal_text(diagnostic: str) -> str:
    """Return *diagnostic* folded so that a rule's literals occur in it when its patterns match."""
    folded = diagnostic.casefold()
    return folded if folded.isascii() else folded.translate(_LOOKALIKES)


class Facts:
    """The fields of one recipient (or of a message alone) that conditions test."""

    __slots__ = ("diagnostic", "domain", "folded", "key", "status_text")

    def __init__(self, bounce: Bounce, recipient: Recipient | None) -> None:
        if recipient is None:
            self.key: FactsKey = (
                bounce.kind,
                bounce.format.lower(),
                None,
                None,
                "",
                "",
                False,
                False,
            )
            self.status_text = ""
            self.diagnostic = ""
            self.folded = ""
            self.domain = ""
            return
        status = recipient.status
        numbers = None if status is None else (status.class_, status.subject, status.detail)
        self.status_text = "" if status is None else str(status)
        self.diagnostic = recipient.diagnostic or ""
        self.folded = _literal_text(self.diagnostic)
        self.domain = recipient.domain if "@" in recipient.address else ""
        self.key = (
            bounce.kind,
            bounce.format.lower(),
            recipient.action,
            numbers,
            recipient.reply_code or "",
            (recipient.command or "").upper(),
            bool(self.diagnostic),
            bool(self.domain),
        )


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
        msg = f"invalid status condition {text!r}: a code has three parts. End a prefix with .*"
        raise ValueError(msg)
    return tuple(-1 if part in (None, "*") else int(part) for part in parts)  # type: ignore[return-value]


def _parse_reply(text: str) -> str:
    """Return the exact code, or the digits before ``*`` or ``x`` followed by ``*``."""
    value = text.strip()
    if _REPLY_PATTERN.fullmatch(value) is None:
        msg = (
            f"invalid reply_code condition {text!r}: write a three-digit code such as 550, "
            "a prefix ending in * such as 5* or 55*, or x for each unknown digit, as in 5xx"
        )
        raise ValueError(msg)
    if value.isdigit():
        return value
    return value.lower().rstrip("*x") + "*"


def _parse_domain(text: str) -> str:
    """Return a domain condition in lower case, without surrounding spaces."""
    value = text.strip().lower()
    if not value:
        msg = f"invalid domain condition {text!r}: write a domain such as example.com"
        raise ValueError(msg)
    if "@" in value:
        domain = value.rpartition("@")[2] or "example.com"
        msg = (
            f"invalid domain condition {text!r}: the condition tests the part of the address "
            f"after the '@', so write {domain!r}"
        )
        raise ValueError(msg)
    return value


def compile_pattern(text: str) -> regex.Pattern[str]:
    """
    Compile one diagnostic pattern as rules use it.

    Raises:
        ValueError: The pattern is empty or blank, does not compile, or is too long.
    """
    if not text.strip():
        msg = (
            f"invalid diagnostic pattern {text!r}: an empty pattern matches every "
            "diagnostic text. Write the words to look for."
        )
        raise ValueError(msg)
    if len(text) > _MAX_PATTERN_LENGTH:
        msg = f"pattern of {len(text)} characters is longer than the maximum {_MAX_PATTERN_LENGTH}"
        raise ValueError(msg)
    try:
        return regex.compile(text, _PATTERN_FLAGS)
    except regex.error as exc:
        msg = f"invalid pattern {text!r}: {exc}"
        raise ValueError(msg) from None


Alternative = tuple[tuple[str, ...] | None, regex.Pattern[str]]
"""One pattern of a rule, with the literals one of which its every match contains."""


def _alternative(text: str) -> Alternative:
    # A tuple is iterated faster than a set, and the order of the tests does not matter.
    literals = required_literals(text)
    return (None if literals is None else tuple(sorted(literals))), compile_pattern(text)


def _rule_literals(alternatives: tuple[Alternative, ...]) -> tuple[str, ...] | None:
    """
    Return literals one of which any text that one of the *alternatives* matches contains.

    ``None`` means that some pattern has no required literals. A literal that
    contains a shorter one of the others is left out, because a text that
    contains it contains the shorter one too.
    """
    found: set[str] = set()
    for literals, _ in alternatives:
        if literals is None:
            return None
        found.update(literals)
    if not found:
        return None
    shortest = {
        literal
        for literal in found
        if not any(other != literal and other in literal for other in found)
    }
    return tuple(sorted(shortest))


class CompiledRule:
    """
    A rule prepared for matching: values parsed, patterns compiled, literals found.

    Each pattern is searched only when the case-folded text contains one of its
    required literals, so a rule with twenty wordings usually runs one search.

    Matching runs in two steps. :meth:`match_key` tests the conditions on kind, format,
    action, status and reply code, whose result the rule set caches per
    :data:`FactsKey`. :meth:`match_text` tests the domain and the patterns.
    """

    __slots__ = (
        "actions",
        "alternatives",
        "commands",
        "domain_exact",
        "domain_globs",
        "formats",
        "has_domains",
        "kinds",
        "literals",
        "needs_text",
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
        self.commands = frozenset(conditions.command)
        unknown = sorted(self.commands - COMMANDS)
        if unknown:
            known = ", ".join(sorted(COMMANDS))
            names = ", ".join(repr(name) for name in unknown)
            msg = f"unknown command condition {names}. Use one of: {known}."
            raise ValueError(msg)
        statuses = [_parse_status(text) for text in conditions.status]
        self.status_exact = frozenset(s for s in statuses if -1 not in s)
        self.status_wild = tuple(s for s in statuses if -1 in s)
        replies = [_parse_reply(text) for text in conditions.reply_code]
        self.reply_exact = frozenset(r for r in replies if not r.endswith("*"))
        self.reply_prefixes = tuple(r[:-1] for r in replies if r.endswith("*"))
        domains = [_parse_domain(name) for name in conditions.domain]
        self.domain_exact = frozenset(d for d in domains if not _has_glob(d))
        self.domain_globs = tuple(re.compile(fnmatch.translate(d)) for d in domains if _has_glob(d))
        self.has_domains = bool(domains)
        self.alternatives = tuple(_alternative(text) for text in conditions.diagnostic)
        self.literals = _rule_literals(self.alternatives)
        self.needs_text = bool(domains or self.alternatives)

    def match_key(self, key: FactsKey, status_text: str) -> tuple[Evidence, ...] | None:
        """Return the evidence when the conditions on *key* hold, else ``None``."""
        kind, format_name, action, status, reply, command, has_text, has_domain = key
        if (self.alternatives and not has_text) or (self.has_domains and not has_domain):
            return None
        evidence: list[Evidence] = []
        if self.kinds:
            if kind not in self.kinds:
                return None
            evidence.append(Evidence("kind", kind.value))
        if self.formats:
            if format_name not in self.formats:
                return None
            evidence.append(Evidence("format", format_name))
        if self.actions:
            if action not in self.actions:
                return None
            evidence.append(Evidence("action", str(action)))
        if self.commands:
            if command not in self.commands:
                return None
            evidence.append(Evidence("command", command))
        if self.status_exact or self.status_wild:
            if not self._status_matches(status):
                return None
            evidence.append(Evidence("status", status_text))
        if self.reply_exact or self.reply_prefixes:
            if not (reply in self.reply_exact or (reply and reply.startswith(self.reply_prefixes))):
                return None
            evidence.append(Evidence("reply_code", reply))
        return tuple(evidence)

    def match_text(
        self, facts: Facts, timeout: float, timed_out: list[str]
    ) -> tuple[Evidence, ...] | None:
        """
        Return the evidence when the domain and pattern conditions hold, else ``None``.

        The first pattern that matches gives the diagnostic evidence. When a pattern
        runs out of time, it counts as not matching, and the rule's id is added to
        *timed_out* once, so the classification can report it.
        """
        evidence: tuple[Evidence, ...] = ()
        if self.has_domains:
            if not self._domain_matches(facts.domain):
                return None
            evidence = (Evidence("domain", facts.domain),)
        if not self.alternatives:
            return evidence
        # This runs for every candidate rule of every recipient, so the search is
        # written out here, with plain loops: a call or a generator expression
        # per pattern cost more than the substring tests themselves.
        diagnostic = facts.diagnostic
        if not diagnostic:
            return None
        folded = facts.folded
        for literals, pattern in self.alternatives:
            if literals is not None:
                for literal in literals:
                    if literal in folded:
                        break
                else:
                    continue
            try:
                found = pattern.search(diagnostic, timeout=timeout)
            except TimeoutError:
                if self.rule.id not in timed_out:
                    timed_out.append(self.rule.id)
                continue
            if found is not None:
                return (*evidence, Evidence("diagnostic", str(found.group())[:_EVIDENCE_LENGTH]))
        return None

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
