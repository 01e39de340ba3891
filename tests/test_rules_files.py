"""Rule files: reading, combining with the defaults, and rejecting bad ones."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bouncekit import Action, Bounce, BounceKind, BounceKitError, Reason, Recipient, StatusCode
from bouncekit.rules import (
    Conditions,
    Outcome,
    Rule,
    RuleError,
    RuleSet,
    check_rules,
    check_rules_text,
    load_rules,
    load_rules_text,
)

FULL_MAILBOX = Bounce(
    kind=BounceKind.DSN,
    format="rfc3464",
    recipients=(
        Recipient(
            "pat@example.net",
            Action.FAILED,
            StatusCode.parse("5.2.2"),
            "552",
            "552 5.2.2 Mailbox full",
        ),
    ),
)

OVERRIDE = """
[[rule]]
id = "status-mailbox-full"
priority = 800
reason = "mailbox_full"
bounce_type = "hard"
status = "*.2.2"
rationale = "Our users never clean their mailboxes."
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_from_toml_text() -> None:
    rules = RuleSet.from_toml_text(OVERRIDE, defaults=False)

    assert [rule.id for rule in rules] == ["status-mailbox-full"]
    assert rules["status-mailbox-full"].source == "<string>"


def test_from_toml_path(tmp_path: Path) -> None:
    path = write(tmp_path, OVERRIDE)

    rules = RuleSet.from_toml(path, defaults=False)

    assert rules["status-mailbox-full"].source == str(path)


def test_from_toml_str_path(tmp_path: Path) -> None:
    path = write(tmp_path, OVERRIDE)

    assert len(RuleSet.from_toml(str(path), defaults=False)) == 1


def test_user_rule_replaces_default(tmp_path: Path) -> None:
    rules = RuleSet.from_toml(write(tmp_path, OVERRIDE))

    (verdict,) = rules.classify(FULL_MAILBOX)

    assert verdict.rule == "status-mailbox-full"
    assert verdict.bounce_type.value == "hard"
    assert len(rules) == len(RuleSet.default())


def test_user_rule_adds_to_defaults() -> None:
    text = """
[[rule]]
id = "site-quota-wording"
priority = 950
reason = "suspended"
diagnostic = 'mailbox full'
domain = "example.net"
"""
    rules = RuleSet.from_toml_text(text)

    (verdict,) = rules.classify(FULL_MAILBOX)

    assert verdict.rule == "site-quota-wording"
    assert verdict.reason is Reason.SUSPENDED
    assert len(rules) == len(RuleSet.default()) + 1


def test_disabled_rule_switches_default_off() -> None:
    text = '[[rule]]\nid = "status-mailbox-full"\nenabled = false\n'
    rules = RuleSet.from_toml_text(text)

    (verdict,) = rules.classify(FULL_MAILBOX)

    assert verdict.rule != "status-mailbox-full"
    assert rules["status-mailbox-full"].enabled is False


def test_enabled_must_be_boolean() -> None:
    with pytest.raises(RuleError, match="enabled must be true or false"):
        RuleSet.from_toml_text("[[rule]]\nid = 'x'\nreason = 'blocked'\nenabled = 'no'\n")


def test_defaults_unchanged_by_user_rules() -> None:
    RuleSet.from_toml_text(OVERRIDE)

    (verdict,) = RuleSet.default().classify(FULL_MAILBOX)

    assert verdict.bounce_type.value == "soft"


def test_default_rules_file_valid() -> None:
    assert len(RuleSet.default()) > 50


@pytest.mark.parametrize(
    ("text", "rule_id", "problem"),
    [
        ("[[rule]\nid = 'x'", None, "invalid TOML"),
        ("[[rule]]\nreason = 'user_unknown'", None, "rule number 1 has no id"),
        ("[[rule]]\nid = ''\nreason = 'user_unknown'", None, "has no id"),
        ("[[rule]]\nid = 'x'\nreason = 'nobody_home'", "x", "unknown reason 'nobody_home'"),
        ("[[rule]]\nid = 'x'", "x", "missing reason"),
        ("[[rule]]\nid = 'x'\nreason = 'blocked'\ncolour = 'red'", "x", "unknown condition"),
        ("[[rule]]\nid = 'x'\nreason = 'blocked'\naction = 'bounced'", "x", "unknown action"),
        ("[[rule]]\nid = 'x'\nreason = 'blocked'\nkind = 'letter'", "x", "unknown kind"),
        ("[[rule]]\nid = 'x'\nreason = 'blocked'\ncommand = 'RCPT TO'", "x", "unknown command"),
        ("[[rule]]\nid = 'x'\nreason = 'blocked'\nbounce_type = 'medium'", "x", "bounce_type"),
        ("[[rule]]\nid = 'x'\nreason = 'blocked'\ndiagnostic = '(unclosed'", "x", "pattern"),
        ("[[rule]]\nid = 'x'\nreason = 'blocked'\nstatus = '5.1'", "x", "status condition"),
        ("[[rule]]\nid = 'x'\nreason = 'blocked'\nstatus = '6.1.1'", "x", "status condition"),
        ("[[rule]]\nid = 'x'\nreason = 'blocked'\nreply_code = '5500'", "x", "reply_code"),
        ("[[rule]]\nid = 'x'\nreason = 'blocked'\npriority = 'high'", "x", "priority"),
        ("[[rule]]\nid = 'x'\nreason = 'blocked'\nstatus = []", "x", "non-empty list"),
        ("rules = 1", None, "unknown top-level key"),
    ],
)
def test_bad_rule_file(tmp_path: Path, text: str, rule_id: str | None, problem: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(RuleError) as raised:
        RuleSet.from_toml(path)

    assert raised.value.source == str(path)
    assert raised.value.rule_id == rule_id
    assert problem in raised.value.problem
    assert str(path) in str(raised.value)


def test_duplicate_id_in_file(tmp_path: Path) -> None:
    text = (
        "[[rule]]\nid = 'x'\nreason = 'blocked'\nstatus = '5.*'\n"
        "[[rule]]\nid = 'x'\nreason = 'rejected'\nstatus = '5.*'\n"
    )

    with pytest.raises(RuleError, match=r"rule 'x': duplicate rule id"):
        RuleSet.from_toml(write(tmp_path, text))


def test_missing_str_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    with pytest.raises(RuleError) as raised:
        RuleSet.from_toml("rules=v2.toml")

    assert str(raised.value) == "rules=v2.toml: rule file not found"
    assert raised.value.source == "rules=v2.toml"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"

    with pytest.raises(RuleError) as raised:
        RuleSet.from_toml(path)

    assert str(raised.value) == f"{path}: rule file not found"


def test_str_path_with_toml_characters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("[site]=rules.toml").write_text(OVERRIDE, encoding="utf-8")

    rules = RuleSet.from_toml("[site]=rules.toml", defaults=False)

    assert rules["status-mailbox-full"].source == "[site]=rules.toml"


def test_empty_path() -> None:
    with pytest.raises(RuleError) as raised:
        RuleSet.from_toml("")

    assert raised.value.problem == (
        "invalid rule file path '': the path is empty. Give the path of a TOML rule file."
    )


def test_folder_path(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as raised:
        RuleSet.from_toml(tmp_path)

    assert str(raised.value) == f"{tmp_path}: cannot read the rule file: it is a folder"


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"# caf\xe9\n")

    with pytest.raises(RuleError) as raised:
        RuleSet.from_toml(path)

    assert raised.value.problem.startswith("cannot read the rule file: it is not UTF-8 (")


def test_toml_text_given_as_path() -> None:
    with pytest.raises(RuleError) as raised:
        RuleSet.from_toml(OVERRIDE)

    assert raised.value.source == "<path with a line break>"
    assert "RuleSet.from_toml_text()" in raised.value.problem


def test_from_toml_text_source_name() -> None:
    rules = RuleSet.from_toml_text(OVERRIDE, source="site database", defaults=False)

    assert rules["status-mailbox-full"].source == "site database"


def test_from_toml_rejects_bytes() -> None:
    with pytest.raises(TypeError, match=r"must be a str or os\.PathLike, not bytes"):
        RuleSet.from_toml(OVERRIDE.encode())  # type: ignore[arg-type]


def test_from_toml_text_rejects_bytes() -> None:
    with pytest.raises(TypeError, match="TOML text must be a str, not bytes"):
        RuleSet.from_toml_text(OVERRIDE.encode())  # type: ignore[arg-type]


def test_check_rules_missing_path(tmp_path: Path) -> None:
    (error,) = check_rules(tmp_path / "absent.toml")

    assert error.problem == "rule file not found"


def test_check_rules_path(tmp_path: Path) -> None:
    assert check_rules(write(tmp_path, OVERRIDE)) == []


def test_load_rules_path(tmp_path: Path) -> None:
    (rule,) = load_rules(str(write(tmp_path, OVERRIDE)))

    assert rule.id == "status-mailbox-full"


def test_check_rules_text_not_a_path() -> None:
    (error,) = check_rules_text("rules=v2.toml")

    assert error.problem.startswith("invalid TOML:")


def test_rule_error_is_bouncekit_error() -> None:
    assert issubclass(RuleError, BounceKitError)


def test_check_rules_lists_every_problem() -> None:
    text = """
[[rule]]
id = "a"
reason = "nope"
status = "5.*"

[[rule]]
id = "b"
reason = "blocked"
diagnostic = "(a"

[[rule]]
id = "b"
reason = "blocked"
status = "5.*"
"""
    errors = check_rules_text(text)

    assert [(error.rule_id, error.problem.split(" ")[0]) for error in errors] == [
        ("a", "unknown"),
        ("b", "invalid"),
        ("b", "duplicate"),
    ]


def test_check_rules_valid_file() -> None:
    assert check_rules_text(OVERRIDE) == []


def test_load_rules_keeps_file_order() -> None:
    text = (
        "[[rule]]\nid = 'b'\nreason = 'blocked'\nstatus = '5.*'\n"
        "[[rule]]\nid = 'a'\nreason = 'blocked'\nstatus = '5.*'\n"
    )

    assert [rule.id for rule in load_rules_text(text)] == ["b", "a"]


def test_catastrophic_pattern_cannot_hang() -> None:
    # (a|aa)+$ backtracks exponentially on a run of "a" that does not end the text:
    # without a time limit this search would run for longer than the age of the universe.
    text = """
[[rule]]
id = "evil"
priority = 5000
reason = "blocked"
diagnostic = '(a|aa)+$'
"""
    rules = RuleSet.from_toml_text(text, pattern_timeout=0.05)
    victim = Recipient("pat@example.net", Action.FAILED, diagnostic="a" * 5000 + "!")
    bounce = Bounce(kind=BounceKind.DSN, recipients=(victim,))

    started = time.monotonic()
    (verdict,) = rules.classify(bounce)
    elapsed = time.monotonic() - started

    assert verdict.rule != "evil"
    assert verdict.timed_out == ("evil",)
    assert elapsed < 5


def test_nested_quantifier_pattern_cannot_hang() -> None:
    rules = RuleSet.from_toml_text(
        "[[rule]]\nid = 'evil'\nreason = 'blocked'\ndiagnostic = '(a+)+$'\n",
        defaults=False,
        pattern_timeout=0.05,
    )
    victim = Recipient("pat@example.net", Action.FAILED, diagnostic="a" * 5000 + "b")

    (verdict,) = rules.classify(Bounce(kind=BounceKind.DSN, recipients=(victim,)))

    assert verdict.rule == ""


def test_check_rules_every_field_of_a_rule() -> None:
    text = """
[[rule]]
id = "a"
reason = "user_unknown"
status = "5.71"
bounce_type = "hardd"
priority = "high"
reply_code = "5x0"
"""
    problems = [error.problem.split(" ")[0:2] for error in check_rules_text(text)]
    assert len(problems) == 4
    assert ["unknown", "bounce_type"] in problems
    assert ["priority", "must"] in problems


def test_check_rules_unknown_format() -> None:
    errors = check_rules_text('[[rule]]\nid = "a"\nreason = "filtered"\nformat = "postfx"\n')
    assert len(errors) == 1
    assert errors[0].problem.startswith("unknown format 'postfx'. Use one of:")
    assert "postfix" in errors[0].problem


def rule_text(*lines: str, rule_id: str = "x", reason: str = "blocked") -> str:
    return "\n".join(["[[rule]]", f"id = {rule_id!r}", f"reason = {reason!r}", *lines, ""])


def problems_of(text: str) -> list[str]:
    return [error.problem for error in check_rules_text(text)]


def test_rule_without_condition_rejected() -> None:
    text = rule_text('bounce_type = "hard"', rule_id="catch-everything", reason="user_unknown")

    with pytest.raises(RuleError) as raised:
        RuleSet.from_toml_text(text)

    assert raised.value.rule_id == "catch-everything"
    assert raised.value.problem.startswith("the rule has no condition")
    assert "match_all = true" in raised.value.problem


def test_rule_without_condition_rejected_in_code() -> None:
    bare = Rule("bare", Outcome(Reason.BLOCKED))

    with pytest.raises(RuleError, match="rule 'bare': the rule has no condition"):
        RuleSet([bare])


def test_match_all_rule_matches_everything() -> None:
    rules = RuleSet.from_toml_text(rule_text("match_all = true", "priority = 5000"))

    (verdict,) = rules.classify(FULL_MAILBOX)

    assert verdict.rule == "x"
    assert verdict.evidence == ()
    assert rules.classify_message(FULL_MAILBOX).rule == "x"


def test_match_all_with_condition_rejected() -> None:
    problems = problems_of(rule_text("match_all = true", 'status = "5.*"'))

    assert problems == [
        "match_all = true cannot be combined with conditions (status). "
        "Remove match_all, or the conditions."
    ]


def test_match_all_false_rejected() -> None:
    (problem,) = problems_of(rule_text("match_all = false"))

    assert problem.startswith("the rule has no condition")


def test_match_all_must_be_boolean() -> None:
    (problem,) = problems_of(rule_text('match_all = "yes"'))

    assert problem == "match_all must be true or false, not 'yes'"


def test_invalid_condition_not_called_missing() -> None:
    assert problems_of(rule_text('action = "bounced"')) == [
        "unknown action 'bounced'. Use one of: failed, delayed, delivered, relayed, expanded."
    ]


def test_default_fallback_is_match_all() -> None:
    fallback = RuleSet.default()["fallback"]

    assert fallback.conditions.match_all is True
    assert fallback.conditions.is_empty()


@pytest.mark.parametrize("code", ["5", "55", "5x", "5x*", "5**", "x50"])
def test_short_reply_code_rejected(code: str) -> None:
    (problem,) = problems_of(rule_text(f"reply_code = {code!r}"))

    assert problem == (
        f"invalid reply_code condition {code!r}: write a three-digit code such as 550, "
        "a prefix ending in * such as 5* or 55*, or x for each unknown digit, as in 5xx"
    )


def test_disable_unknown_default_rejected() -> None:
    text = '[[rule]]\nid = "no-such-default"\nenabled = false\n'

    with pytest.raises(RuleError) as raised:
        RuleSet.from_toml_text(text)

    assert raised.value.rule_id == "no-such-default"
    assert raised.value.problem == (
        "no default rule 'no-such-default' to disable. "
        "The ids of the default rules are in bouncekit/default_rules.toml."
    )


def test_disable_misspelt_default_suggests_id() -> None:
    (problem,) = problems_of('[[rule]]\nid = "status-mailbox-ful"\nenabled = false\n')

    assert "Did you mean 'status-mailbox-full'?" in problem


def test_disable_without_defaults_rejected() -> None:
    text = '[[rule]]\nid = "status-mailbox-full"\nenabled = false\n'

    with pytest.raises(RuleError, match="the default rules are not used here"):
        RuleSet.from_toml_text(text, defaults=False)


def test_check_rules_defaults_false() -> None:
    text = '[[rule]]\nid = "status-mailbox-full"\nenabled = false\n'

    assert check_rules_text(text) == []
    assert len(check_rules_text(text, defaults=False)) == 1


def test_parked_rule_needs_no_default() -> None:
    text = rule_text('status = "5.*"', "enabled = false", rule_id="my-parked-rule")

    rules = RuleSet.from_toml_text(text)

    assert rules["my-parked-rule"].enabled is False


def test_extended_disable_unknown_rule() -> None:
    base = RuleSet([Rule("a", Outcome(Reason.BLOCKED), Conditions(status=("5.*",)))])
    switch_off = Rule("b", Outcome(Reason.UNDEFINED), enabled=False)

    with pytest.raises(RuleError, match=r"rule 'b': no rule 'b' to disable\.$"):
        base.extended([switch_off])


@pytest.mark.parametrize(
    ("condition", "problem"),
    [
        (
            'domain = "@example.com"',
            "invalid domain condition '@example.com': the condition tests the part of the "
            "address after the '@', so write 'example.com'",
        ),
        (
            'domain = "pat@Example.com"',
            "invalid domain condition 'pat@Example.com': the condition tests the part of the "
            "address after the '@', so write 'example.com'",
        ),
        ('domain = " "', "invalid domain condition ' ': write a domain such as example.com"),
        (
            'diagnostic = ""',
            "invalid diagnostic pattern '': an empty pattern matches every diagnostic text. "
            "Write the words to look for.",
        ),
        (
            'diagnostic = ["user unknown", "  "]',
            "invalid diagnostic pattern '  ': an empty pattern matches every diagnostic text. "
            "Write the words to look for.",
        ),
    ],
)
def test_text_condition_rejected(condition: str, problem: str) -> None:
    assert problems_of(rule_text(condition)) == [problem]


@pytest.mark.parametrize("condition", ['command = ""', 'format = ""', 'status = ""'])
def test_empty_condition_value_rejected(condition: str) -> None:
    (problem,) = problems_of(rule_text(condition))

    assert "''" in problem


def test_check_rules_every_bad_value_of_a_list() -> None:
    text = rule_text('status = ["5.1", "banana", "5.1.1", "9.9.9", "5.1.1.1"]')

    problems = problems_of(text)

    assert [problem.split(":")[0] for problem in problems] == [
        "invalid status condition '5.1'",
        "invalid status condition 'banana'",
        "invalid status condition '9.9.9'",
        "invalid status condition '5.1.1.1'",
    ]


def test_check_rules_every_unknown_enum_value() -> None:
    (problem,) = problems_of(rule_text('kind = ["dsn", "letter", "card"]'))

    assert problem.startswith("unknown kind 'letter', 'card'. Use one of:")


def test_check_rules_every_non_string_value() -> None:
    (problem,) = problems_of(rule_text('diagnostic = ["full", 3, 4.5]'))

    assert problem == "diagnostic must contain strings, not 3, 4.5"


def long_diagnostic_bounce(diagnostic: str) -> Bounce:
    victim = Recipient("pat@example.net", Action.FAILED, diagnostic=diagnostic)
    return Bounce(kind=BounceKind.DSN, recipients=(victim,))


def test_timed_out_empty_without_timeout() -> None:
    (verdict,) = RuleSet.default().classify(FULL_MAILBOX)

    assert verdict.timed_out == ()


def test_timed_out_kept_when_rule_matches() -> None:
    text = rule_text("priority = 5000", "diagnostic = ['(a|aa)+$', 'a!']", rule_id="evil")
    rules = RuleSet.from_toml_text(text, pattern_timeout=0.05)

    (verdict,) = rules.classify(long_diagnostic_bounce("a" * 5000 + "!"))

    assert verdict.rule == "evil"
    assert verdict.evidence[-1].text == "a!"
    assert verdict.timed_out == ("evil",)


def test_timed_out_without_any_match() -> None:
    text = rule_text("diagnostic = '(x+x+)+y'", rule_id="evil")
    rules = RuleSet.from_toml_text(text, defaults=False, pattern_timeout=0.05)

    (verdict,) = rules.classify(long_diagnostic_bounce("x" * 3000))

    assert verdict.rule == ""
    assert verdict.timed_out == ("evil",)


@pytest.mark.parametrize("timeout", [0, 0.0, -1, float("inf"), float("nan")])
def test_pattern_timeout_not_positive(timeout: float) -> None:
    with pytest.raises(ValueError, match=f"invalid pattern_timeout {timeout!r}:"):
        RuleSet([], pattern_timeout=timeout)
    with pytest.raises(ValueError, match=f"invalid pattern_timeout {timeout!r}:"):
        RuleSet.from_toml_text(OVERRIDE, pattern_timeout=timeout)
    with pytest.raises(ValueError, match=f"invalid pattern_timeout {timeout!r}:"):
        RuleSet.default().extended([], pattern_timeout=timeout)


@pytest.mark.parametrize("timeout", ["1", True, None])
def test_pattern_timeout_not_a_number(timeout: object) -> None:
    expected = f"pattern_timeout must be a number of seconds \\(int or float\\), not {timeout!r}"

    with pytest.raises(TypeError, match=expected):
        RuleSet([], pattern_timeout=timeout)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=expected):
        RuleSet.from_toml_text(OVERRIDE, pattern_timeout=timeout)  # type: ignore[arg-type]


@pytest.mark.parametrize("timeout", [1, 0.5])
def test_pattern_timeout_int_or_float(timeout: float) -> None:
    text = rule_text("diagnostic = 'full'", "priority = 5000")

    (verdict,) = RuleSet.from_toml_text(text, pattern_timeout=timeout).classify(FULL_MAILBOX)

    assert verdict.rule == "x"
