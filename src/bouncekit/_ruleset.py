"""
A rule set: rule files read and checked, precedence, and classification.
"""

from __future__ import annotations

import difflib
import functools
import math
import os
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Final

import attrs

from bouncekit._format_table import FORMAT_NAMES
from bouncekit._matching import CompiledRule, Facts, FactsKey
from bouncekit._model import Action, Bounce, BounceKind, BounceType, Reason, Recipient
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

__all__ = [
    "RuleSet",
    "check_rules",
    "check_rules_text",
    "classify",
    "classify_message",
    "load_rules",
    "load_rules_text",
]

_DEFAULT_FILE: Final = "default_rules.toml"
# The maximum number of (kind, format, action, status, reply code, command) combinations
# whose candidate rules a rule set keeps. Past it the cache starts over, so memory stays bounded.
_CACHE_SIZE: Final = 4096
_RULE_KEYS: Final = frozenset(
    {"id", "priority", "reason", "bounce_type", "rationale", "enabled", "match_all"}
)
_CONDITION_KEYS: Final = frozenset(
    {"status", "reply_code", "action", "command", "diagnostic", "domain", "format", "kind"}
)
_ENUM_CONDITIONS: Final[Mapping[str, type[Action] | type[BounceKind]]] = {
    "action": Action,
    "kind": BounceKind,
}


class RuleSet:
    """
    An ordered set of rules that classifies bounces.

    The rule with the highest priority whose conditions all hold decides, and among
    rules of equal priority the one listed first decides. A recipient that no rule
    matches gets reason ``undefined``, type ``soft`` and rule id ``""``. The default
    rules end with a catch-all, so with them every recipient gets a rule id.

    Args:
        rules: The rules, in file order. Ids must be unique.
        pattern_timeout: Seconds one diagnostic pattern may run on one text, a
            positive ``int`` or ``float``. A pattern that runs longer counts as not
            matching, so a pattern written with catastrophic backtracking cannot hang
            the caller, and its rule's id is listed in
            :attr:`Classification.timed_out`.

    Raises:
        TypeError: *pattern_timeout* is not an ``int`` or ``float`` (``bool`` included).
        ValueError: *pattern_timeout* is not a positive finite number.
        RuleError: Two rules share an id, a condition value is invalid, or an enabled
            rule has no condition and no ``match_all``.
    """

    def __init__(self, rules: Iterable[Rule], *, pattern_timeout: float = DEFAULT_PATTERN_TIMEOUT):
        self._timeout = _checked_timeout(pattern_timeout)
        self._rules = tuple(rules)
        seen: dict[str, Rule] = {}
        for rule in self._rules:
            if rule.id in seen:
                first = seen[rule.id].source
                msg = f"duplicate rule id (also in {first}). Give each rule its own id."
                raise RuleError(msg, source=rule.source, rule_id=rule.id)
            seen[rule.id] = rule
            coverage = _coverage_problem(
                enabled=rule.enabled,
                match_all=rule.conditions.match_all,
                conditions=_written_conditions(rule.conditions),
            )
            if coverage is not None:
                raise RuleError(coverage, source=rule.source, rule_id=rule.id)
        compiled = [_compile(rule) for rule in self._rules]
        order = sorted(range(len(compiled)), key=lambda index: -self._rules[index].priority)
        self._ordered = tuple(compiled[i] for i in order if self._rules[i].enabled)
        self._candidates: dict[FactsKey, tuple[tuple[CompiledRule, tuple[Evidence, ...]], ...]] = {}

    @classmethod
    def default(cls) -> RuleSet:
        """Return the rule set that ships with bouncekit."""
        return _default_rule_set()

    @classmethod
    def from_toml(
        cls,
        path: str | os.PathLike[str],
        *,
        defaults: bool = True,
        pattern_timeout: float = DEFAULT_PATTERN_TIMEOUT,
    ) -> RuleSet:
        """
        Read the rule file at *path* and combine it with the default rules.

        Args:
            path: The path of a TOML rule file, as a ``str`` or a path-like object.
                A ``str`` is always a path: for TOML text, use :meth:`from_toml_text`.
            defaults: Whether to add the default rules. A rule of the file with the
                id of a default rule replaces it. The other rules of the file come
                before the defaults, so they win ties of priority.
            pattern_timeout: As for :class:`RuleSet`.

        Raises:
            RuleError: *path* is empty, the file is not found or cannot be read, is
                not valid TOML, or contains an invalid rule. The message names the
                file, the rule id and the problem.
            TypeError: *path* is not a ``str`` or path-like object, or
                *pattern_timeout* is not a number, as for :class:`RuleSet`.
            ValueError: *pattern_timeout* is not positive, as for :class:`RuleSet`.
        """
        _checked_timeout(pattern_timeout)
        return cls._combined(load_rules(path), defaults, pattern_timeout)

    @classmethod
    def from_toml_text(
        cls,
        text: str,
        *,
        source: str = "<string>",
        defaults: bool = True,
        pattern_timeout: float = DEFAULT_PATTERN_TIMEOUT,
    ) -> RuleSet:
        """
        Read rules from TOML *text* and combine them with the default rules.

        Args:
            text: The content of a rule file.
            source: The name that error messages and :attr:`Rule.source` give the text.
            defaults: As for :meth:`from_toml`.
            pattern_timeout: As for :class:`RuleSet`.

        Raises:
            RuleError: As for :meth:`from_toml`.
            TypeError: *text* is not a ``str``, or *pattern_timeout* is not a number.
            ValueError: *pattern_timeout* is not positive, as for :class:`RuleSet`.
        """
        _checked_timeout(pattern_timeout)
        return cls._combined(load_rules_text(text, source=source), defaults, pattern_timeout)

    @classmethod
    def _combined(cls, rules: tuple[Rule, ...], defaults: bool, pattern_timeout: float) -> RuleSet:
        if defaults:
            return cls.default().extended(rules, pattern_timeout=pattern_timeout)
        problems = _disable_problems(rules, None)
        if problems:
            raise problems[0]
        return cls(rules, pattern_timeout=pattern_timeout)

    def extended(self, rules: Iterable[Rule], *, pattern_timeout: float | None = None) -> RuleSet:
        """
        Return a new rule set with *rules* added, replacing rules of the same id.

        The added rules come first in file order, so they win ties of priority.

        Raises:
            RuleError: A disabled rule of *rules* without conditions, which disables
                the rule of its id, names an id that this rule set lacks. Or a rule
                is invalid, as for :class:`RuleSet`.
        """
        added = tuple(rules)
        problems = _disable_problems(added, self)
        if problems:
            raise problems[0]
        replaced = {rule.id for rule in added}
        remaining = [rule for rule in self._rules if rule.id not in replaced]
        timeout = self._timeout if pattern_timeout is None else _checked_timeout(pattern_timeout)
        return RuleSet((*added, *remaining), pattern_timeout=timeout)

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rules in file order."""
        return self._rules

    def __iter__(self) -> Iterator[Rule]:
        return iter(self._rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __repr__(self) -> str:
        return f"<RuleSet of {len(self._rules)} rules>"

    def __getitem__(self, rule_id: str) -> Rule:
        for rule in self._rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def classify(self, bounce: Bounce) -> tuple[Classification, ...]:
        """
        Return one classification per recipient of *bounce*, in recipient order.

        Raises:
            TypeError: *bounce* is not a :class:`~bouncekit.Bounce`.
        """
        _check_bounce(bounce)
        return tuple(self.classify_recipient(bounce, recipient) for recipient in bounce.recipients)

    def classify_recipient(self, bounce: Bounce, recipient: Recipient) -> Classification:
        """Return the classification of one *recipient* of *bounce*."""
        return self._decide(bounce, recipient)

    def classify_message(self, bounce: Bounce) -> Classification:
        """
        Return a verdict on the message as a whole, with ``address`` ``None``.

        Only the message's kind and format are tested: conditions on recipient fields
        (status, reply code, action, command, diagnostic, domain) never hold. This gives a
        message that reports on no recipient, such as an out-of-office reply or a
        message that is not a bounce, a verdict of its own.
        """
        return self._decide(bounce, None)

    def _decide(self, bounce: Bounce, recipient: Recipient | None) -> Classification:
        _check_bounce(bounce)
        facts = Facts(bounce, recipient)
        address = None if recipient is None else recipient.address
        candidates = self._candidates.get(facts.key)
        if candidates is None:
            candidates = self._find_candidates(facts)
        timed_out: list[str] = []
        folded = facts.folded
        for compiled, key_evidence in candidates:
            evidence = key_evidence
            if compiled.needs_text:
                # Most candidate rules fail on their literals, and testing them here
                # saves a method call for each of those.
                literals = compiled.literals
                if literals is not None:
                    for literal in literals:
                        if literal in folded:
                            break
                    else:
                        continue
                text_evidence = compiled.match_text(facts, self._timeout, timed_out)
                if text_evidence is None:
                    continue
                evidence = (*key_evidence, *text_evidence)
            outcome = compiled.rule.outcome
            bounce_type = outcome.bounce_type or bounce_type_for(outcome.reason, recipient)
            return Classification(
                address,
                bounce_type,
                outcome.reason,
                compiled.rule.id,
                evidence,
                tuple(timed_out),
            )
        return Classification(
            address, BounceType.SOFT, Reason.UNDEFINED, NO_RULE, timed_out=tuple(timed_out)
        )

    def _find_candidates(
        self, facts: Facts
    ) -> tuple[tuple[CompiledRule, tuple[Evidence, ...]], ...]:
        """Return, in precedence order, the rules whose conditions on the key hold."""
        found = []
        for compiled in self._ordered:
            evidence = compiled.match_key(facts.key, facts.status_text)
            if evidence is None:
                continue
            found.append((compiled, evidence))
            if not compiled.needs_text:
                break  # This rule always matches here, so no later rule can win.
        if len(self._candidates) >= _CACHE_SIZE:
            self._candidates.clear()
        candidates = tuple(found)
        self._candidates[facts.key] = candidates
        return candidates


def classify(bounce: Bounce, rules: RuleSet | None = None) -> tuple[Classification, ...]:
    """Classify each recipient of *bounce* with *rules*, by default :meth:`RuleSet.default`."""
    return (RuleSet.default() if rules is None else rules).classify(bounce)


def classify_message(bounce: Bounce, rules: RuleSet | None = None) -> Classification:
    """Return the verdict on *bounce* as a whole, as :meth:`RuleSet.classify_message` does."""
    return (RuleSet.default() if rules is None else rules).classify_message(bounce)


def _check_bounce(bounce: object) -> None:
    if not isinstance(bounce, Bounce):
        msg = f"rules classify a Bounce from bouncekit.parse(), not {type(bounce).__name__}"
        raise TypeError(msg)


def _checked_timeout(value: object) -> float:
    """
    Return *value* as a number of seconds for ``pattern_timeout``.

    Raises:
        TypeError: *value* is not an ``int`` or a ``float``, or is a ``bool``.
        ValueError: *value* is zero, negative, infinite or NaN.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = f"pattern_timeout must be a number of seconds (int or float), not {value!r}"
        raise TypeError(msg)
    if not (math.isfinite(value) and value > 0):
        msg = (
            f"invalid pattern_timeout {value!r}: it must be a positive number of seconds, "
            f"such as the default {DEFAULT_PATTERN_TIMEOUT}"
        )
        raise ValueError(msg)
    return float(value)


@functools.cache
def _default_rule_set() -> RuleSet:
    text = resources.files("bouncekit").joinpath(_DEFAULT_FILE).read_text(encoding="utf-8")
    errors: list[RuleError] = []
    rules = _parse_rules(text, f"bouncekit/{_DEFAULT_FILE}", errors)
    if errors:
        raise errors[0]
    return RuleSet(rules)


def _compile(rule: Rule) -> CompiledRule:
    try:
        return CompiledRule(rule)
    except ValueError as exc:
        raise RuleError(str(exc), source=rule.source, rule_id=rule.id) from None


def load_rules(path: str | os.PathLike[str]) -> tuple[Rule, ...]:
    """
    Read the rules of the TOML rule file at *path*, checking each.

    A ``str`` is always a path: for TOML text, use :func:`load_rules_text`.

    Raises:
        RuleError: As for :meth:`RuleSet.from_toml`, for the first problem found.
        TypeError: *path* is not a ``str`` or path-like object.
    """
    errors: list[RuleError] = []
    rules = _load_file(path, errors)
    return _first_error_raised(rules, errors)


def load_rules_text(text: str, *, source: str = "<string>") -> tuple[Rule, ...]:
    """
    Read the rules of TOML *text*, checking each, and name them *source* in messages.

    Raises:
        RuleError: As for :meth:`RuleSet.from_toml`, for the first problem found.
        TypeError: *text* is not a ``str``.
    """
    errors: list[RuleError] = []
    rules = _parse_rules(_checked_text(text), source, errors)
    return _first_error_raised(rules, errors)


def check_rules(path: str | os.PathLike[str], *, defaults: bool = True) -> list[RuleError]:
    """
    Return every problem of the rule file at *path*, or an empty list.

    Unlike :func:`load_rules`, this goes on after a bad rule, so one run lists the
    problems of every rule. With *defaults*, as :meth:`RuleSet.from_toml` uses the
    file by default, a rule that disables a default rule must name one. A ``str`` is
    always a path: for TOML text, use :func:`check_rules_text`.

    Raises:
        TypeError: *path* is not a ``str`` or path-like object.
    """
    errors: list[RuleError] = []
    rules = _load_file(path, errors)
    errors.extend(_disable_problems(rules, RuleSet.default() if defaults else None))
    return errors


def check_rules_text(
    text: str, *, source: str = "<string>", defaults: bool = True
) -> list[RuleError]:
    """
    Return every problem of the TOML rules in *text*, as :func:`check_rules` does.

    Raises:
        TypeError: *text* is not a ``str``.
    """
    errors: list[RuleError] = []
    rules = _parse_rules(_checked_text(text), source, errors)
    errors.extend(_disable_problems(rules, RuleSet.default() if defaults else None))
    return errors


def _first_error_raised(rules: tuple[Rule, ...], errors: list[RuleError]) -> tuple[Rule, ...]:
    if errors:
        raise errors[0]
    return rules


def _checked_text(text: object) -> str:
    if not isinstance(text, str):
        kind = type(text).__name__
        msg = (
            f"TOML text must be a str, not {kind}. Decode bytes first, "
            "or pass a path to RuleSet.from_toml()."
        )
        raise TypeError(msg)
    return text


def _disables(rule: Rule) -> bool:
    """Return whether *rule* only disables the rule of its id: disabled, with no condition."""
    return not rule.enabled and rule.conditions.is_empty() and not rule.conditions.match_all


def _disable_problems(rules: Iterable[Rule], base: RuleSet | None) -> list[RuleError]:
    """
    Return an error for each rule of *rules* that disables a rule that *base* lacks.

    *base* is the rule set that *rules* extend, or ``None`` when they are used alone.
    """
    known = [] if base is None else [rule.id for rule in base]
    is_default = base is not None and base is _default_rule_set()
    errors = []
    for rule in rules:
        if not _disables(rule) or rule.id in known:
            continue
        if base is None:
            problem = (
                "enabled = false without conditions disables the default rule of this id, "
                "but the default rules are not used here. Remove the rule."
            )
        else:
            label = "default rule" if is_default else "rule"
            problem = f"no {label} {rule.id!r} to disable."
            close = difflib.get_close_matches(rule.id, known, n=1)
            if close:
                problem += f" Did you mean {close[0]!r}?"
            if is_default:
                problem += f" The ids of the default rules are in bouncekit/{_DEFAULT_FILE}."
        errors.append(RuleError(problem, source=rule.source, rule_id=rule.id))
    return errors


def _load_file(path: str | os.PathLike[str], errors: list[RuleError]) -> tuple[Rule, ...]:
    """Read and parse the rule file at *path*, adding a read failure to *errors*."""
    name = os.fspath(path) if isinstance(path, str | os.PathLike) else None
    if not isinstance(name, str):
        msg = (
            f"the path of a rule file must be a str or os.PathLike, not {type(path).__name__}. "
            "For TOML text, use RuleSet.from_toml_text()."
        )
        raise TypeError(msg)
    if not name:
        msg = "invalid rule file path '': the path is empty. Give the path of a TOML rule file."
        errors.append(RuleError(msg, source="<empty path>"))
        return ()
    try:
        text = Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        errors.append(_read_error(name, exc))
        return ()
    return _parse_rules(text, name, errors)


def _read_error(name: str, exc: OSError | UnicodeDecodeError) -> RuleError:
    """Return the error for a rule file *name* that could not be read."""
    if isinstance(exc, FileNotFoundError) and "\n" in name:
        # Such a path is almost always TOML text, and naming it would print all of it.
        msg = (
            "rule file not found. The path has a line break, so it is probably TOML "
            "text: pass TOML text to RuleSet.from_toml_text() or check_rules_text()."
        )
        return RuleError(msg, source="<path with a line break>")
    if isinstance(exc, FileNotFoundError):
        problem = "rule file not found"
    elif isinstance(exc, IsADirectoryError):
        problem = "cannot read the rule file: it is a folder"
    elif isinstance(exc, UnicodeDecodeError):
        problem = f"cannot read the rule file: it is not UTF-8 ({exc.reason} at byte {exc.start})"
    else:
        problem = f"cannot read the rule file: {exc.strerror or exc}"
    return RuleError(problem, source=name)


def _parse_rules(text: str, source: str, errors: list[RuleError]) -> tuple[Rule, ...]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        errors.append(RuleError(f"invalid TOML: {exc}", source=source))
        return ()
    unknown = sorted(set(document) - {"rule"})
    if unknown:
        msg = f"unknown top-level key(s) {', '.join(unknown)}. Write each rule as a [[rule]] table."
        errors.append(RuleError(msg, source=source))
    tables = document.get("rule", [])
    if not isinstance(tables, list):
        errors.append(RuleError("'rule' must be an array of tables: write [[rule]]", source=source))
        return ()
    rules: list[Rule] = []
    seen: set[str] = set()
    for index, table in enumerate(tables):
        rule = _parse_rule(table, index, source, errors)
        table_id = table.get("id") if isinstance(table, dict) else None
        if isinstance(table_id, str) and table_id in seen:
            msg = "duplicate rule id. Give each rule its own id."
            errors.append(RuleError(msg, source=source, rule_id=table_id))
            continue
        if isinstance(table_id, str):
            seen.add(table_id)
        if rule is not None:
            rules.append(rule)
    return tuple(rules)


def _parse_rule(table: Any, index: int, source: str, errors: list[RuleError]) -> Rule | None:
    """
    Return the rule of one ``[[rule]]`` table, or ``None`` after adding its problems to *errors*.

    Every field is checked, so one run of ``bouncekit rules check`` lists all the
    problems of a rule, not only the first.
    """
    if not isinstance(table, dict):
        errors.append(RuleError(f"rule number {index + 1} is not a table", source=source))
        return None
    rule_id = table.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        msg = f'rule number {index + 1} has no id. Add id = "a-unique-name".'
        errors.append(RuleError(msg, source=source))
        return None
    problems: list[str] = []
    unknown = sorted(set(table) - _RULE_KEYS - _CONDITION_KEYS)
    if unknown:
        known = ", ".join(sorted(_CONDITION_KEYS | {"match_all"}))
        problems.append(
            f"unknown condition or key {', '.join(unknown)}. The conditions are {known}."
        )
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.append(f"enabled must be true or false, not {enabled!r}")
        enabled = True
    # A rule that only switches a default off needs no outcome.
    reason = _enum_value(table, "reason", Reason, problems, required=enabled) or Reason.UNDEFINED
    bounce_type = _enum_value(table, "bounce_type", BounceType, problems, required=False)
    priority = table.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        problems.append(f"priority must be an integer, not {priority!r}")
        priority = 0
    rationale = table.get("rationale", "")
    if not isinstance(rationale, str):
        problems.append(f"rationale must be a string, not {rationale!r}")
        rationale = ""
    match_all = table.get("match_all", False)
    match_all_valid = isinstance(match_all, bool)
    if not match_all_valid:
        problems.append(f"match_all must be true or false, not {match_all!r}")
        match_all = False
    conditions: dict[str, tuple[Any, ...]] = {}
    for key in sorted(_CONDITION_KEYS & set(table)):
        values = _condition_values(table, key, problems)
        if values is not None:
            conditions[key] = values
    rule = Rule(
        id=rule_id,
        outcome=Outcome(reason, bounce_type),
        conditions=Conditions(**conditions, match_all=match_all),
        priority=priority,
        rationale=rationale,
        source=source,
        enabled=enabled,
    )
    problems.extend(_condition_problems(rule))
    # The table's keys, not rule.conditions, tell whether conditions were written:
    # a condition whose values are all invalid is left out of *rule*.
    written = sorted(_CONDITION_KEYS & set(table))
    coverage = _coverage_problem(enabled=enabled, match_all=match_all, conditions=written)
    if coverage is not None and match_all_valid:
        problems.append(coverage)
    errors.extend(RuleError(problem, source=source, rule_id=rule_id) for problem in problems)
    return None if problems else rule


def _coverage_problem(*, enabled: bool, match_all: bool, conditions: list[str]) -> str | None:
    """
    Return why a rule with these *conditions* (names) and *match_all* is invalid, or ``None``.

    An enabled rule without conditions would match every recipient and every message,
    which a forgotten condition can do by mistake, so it must set ``match_all = true``.
    """
    if not enabled:
        return None
    if match_all and conditions:
        return (
            f"match_all = true cannot be combined with conditions ({', '.join(conditions)}). "
            "Remove match_all, or the conditions."
        )
    if not match_all and not conditions:
        return (
            "the rule has no condition, so it would match every recipient and every message. "
            "Add a condition, or write match_all = true if it should match everything."
        )
    return None


def _written_conditions(conditions: Conditions) -> list[str]:
    """Return the names of the non-empty conditions."""
    names = []
    for key, values in attrs.asdict(conditions, recurse=False).items():
        if key != "match_all" and values:
            names.append(key)
    return names


def _condition_problems(rule: Rule) -> list[str]:
    """Return what keeps each value of each condition of *rule* from compiling."""
    problems = []
    for key, values in attrs.asdict(rule.conditions, recurse=False).items():
        if key == "match_all" or not values:
            continue
        if key == "format":
            unknown = sorted(set(values) - FORMAT_NAMES)
            if unknown:
                known = ", ".join(sorted(FORMAT_NAMES))
                names = ", ".join(repr(name) for name in unknown)
                problems.append(f"unknown format {names}. Use one of: {known}.")
            continue
        # One value at a time, so that every bad value of a list is reported.
        for value in values:
            one_value: dict[str, Any] = {key: (value,)}
            single = attrs.evolve(rule, conditions=Conditions(**one_value))
            try:
                CompiledRule(single)
            except ValueError as exc:
                problems.append(str(exc))
    return problems


def _enum_value(
    table: dict[str, Any], key: str, enum: Any, problems: list[str], *, required: bool
) -> Any:
    value = table.get(key)
    if value is None:
        if required:
            problems.append(f"missing {key}")
        return None
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(member.value for member in enum)
        problems.append(f"unknown {key} {value!r}. Use one of: {known}.")
        return None


def _condition_values(
    table: dict[str, Any], key: str, problems: list[str]
) -> tuple[Any, ...] | None:
    value = table[key]
    values = [value] if isinstance(value, str | int) and not isinstance(value, bool) else value
    if not isinstance(values, list) or not values:
        problems.append(f"{key} must be a string or a non-empty list of strings, not {value!r}")
        return None
    texts = []
    wrong_types = []
    for item in values:
        if isinstance(item, int) and not isinstance(item, bool) and key == "reply_code":
            item = str(item)
        if isinstance(item, str):
            texts.append(item)
        else:
            wrong_types.append(item)
    if wrong_types:
        items = ", ".join(repr(item) for item in wrong_types)
        problems.append(f"{key} must contain strings, not {items}")
        return None
    enum = _ENUM_CONDITIONS.get(key)
    if enum is None:
        return tuple(texts)
    members = []
    unknown = []
    for text in texts:
        try:
            members.append(enum(text))
        except ValueError:
            unknown.append(text)
    if unknown:
        known = ", ".join(member.value for member in enum)
        names = ", ".join(repr(text) for text in unknown)
        problems.append(f"unknown {key} {names}. Use one of: {known}.")
        return None
    return tuple(members)
