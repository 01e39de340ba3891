"""The rules engine: conditions, precedence, overrides and evidence."""

from __future__ import annotations

import pytest

from bouncekit import Action, Bounce, BounceKind, BounceType, Reason, Recipient, StatusCode
from bouncekit.rules import (
    NO_RULE,
    Conditions,
    Evidence,
    Outcome,
    Rule,
    RuleError,
    RuleSet,
    bounce_type_for,
    classify,
)


def bounce_with(
    status: str | None = "5.0.0",
    reply_code: str | None = "550",
    diagnostic: str | None = "550 rejected",
    *,
    address: str = "pat@Mail.Example.NET",
    action: Action | None = Action.FAILED,
    kind: BounceKind = BounceKind.DSN,
    format: str = "postfix",
    command: str | None = None,
) -> Bounce:
    recipient = Recipient(
        address=address,
        action=action,
        status=StatusCode.parse(status) if status else None,
        reply_code=reply_code,
        diagnostic=diagnostic,
        command=command,
    )
    return Bounce(kind=kind, format=format, recipients=(recipient,))


def rule(rule_id: str, reason: str = "blocked", priority: int = 0, **conditions: object) -> Rule:
    return Rule(
        id=rule_id,
        outcome=Outcome(Reason(reason)),
        conditions=Conditions(**conditions),  # type: ignore[arg-type]
        priority=priority,
    )


def winner(rules: list[Rule], bounce: Bounce) -> str:
    (verdict,) = RuleSet(rules).classify(bounce)
    return verdict.rule


@pytest.mark.parametrize(
    ("pattern", "status", "matches"),
    [
        ("5.1.1", "5.1.1", True),
        ("5.1.1", "5.1.10", False),
        ("5.7.*", "5.7.26", True),
        ("5.7.*", "4.7.26", False),
        ("5.*", "5.3.0", True),
        ("*.2.2", "4.2.2", True),
        ("*.2.2", "5.2.1", False),
    ],
)
def test_status_condition(pattern: str, status: str, matches: bool) -> None:
    rules = [rule("r", status=pattern)]

    assert (winner(rules, bounce_with(status)) == "r") is matches


def test_status_condition_missing_status() -> None:
    assert winner([rule("r", status="5.*")], bounce_with(None)) == NO_RULE


@pytest.mark.parametrize(
    ("pattern", "reply", "matches"),
    [
        ("550", "550", True),
        ("550", "551", False),
        ("55*", "554", True),
        ("5xx", "421", False),
        ("5*", "550", True),
        ("5x", "550", True),
    ],
)
def test_reply_code_condition(pattern: str, reply: str, matches: bool) -> None:
    rules = [rule("r", reply_code=pattern)]

    assert (winner(rules, bounce_with(reply_code=reply)) == "r") is matches


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [("mail.example.net", True), ("*.example.net", True), ("example.net", False), ("mail.*", True)],
)
def test_domain_condition(pattern: str, matches: bool) -> None:
    assert (winner([rule("r", domain=pattern)], bounce_with()) == "r") is matches


def test_action_condition() -> None:
    rules = [rule("r", action=["delayed"])]

    assert winner(rules, bounce_with(action=Action.DELAYED)) == "r"
    assert winner(rules, bounce_with(action=Action.FAILED)) == NO_RULE


def test_command_condition() -> None:
    rules = [rule("r", command=["rcpt"])]

    assert winner(rules, bounce_with(command="RCPT")) == "r"
    assert winner(rules, bounce_with(command="DATA")) == NO_RULE
    assert winner(rules, bounce_with(command=None)) == NO_RULE


def test_command_condition_evidence() -> None:
    (verdict,) = RuleSet([rule("r", command="DATA")]).classify(bounce_with(command="DATA"))

    assert verdict.evidence == (Evidence("command", "DATA"),)


def test_unknown_command_condition() -> None:
    with pytest.raises(RuleError, match="unknown command condition 'RCPT TO'"):
        RuleSet([rule("r", command="RCPT TO")])


def test_format_condition_ignores_case() -> None:
    rules = [rule("r", format=["Postfix"])]

    assert winner(rules, bounce_with(format="postfix")) == "r"
    assert winner(rules, bounce_with(format="exim")) == NO_RULE


def test_kind_condition() -> None:
    rules = [rule("r", kind="non_standard")]

    assert winner(rules, bounce_with(kind=BounceKind.NON_STANDARD)) == "r"
    assert winner(rules, bounce_with(kind=BounceKind.DSN)) == NO_RULE


def test_diagnostic_condition_ignores_case() -> None:
    rules = [rule("r", diagnostic=["user unknown"])]

    assert winner(rules, bounce_with(diagnostic="550 User Unknown")) == "r"


def test_diagnostic_alternatives() -> None:
    rules = [rule("r", diagnostic=["no such user", "unknown (user|recipient)"])]

    assert winner(rules, bounce_with(diagnostic="550 Unknown recipient")) == "r"
    assert winner(rules, bounce_with(diagnostic="550 No such user")) == "r"
    assert winner(rules, bounce_with(diagnostic="550 Mailbox full")) == NO_RULE


def test_diagnostic_condition_missing_text() -> None:
    assert winner([rule("r", diagnostic=[".*"])], bounce_with(diagnostic=None)) == NO_RULE


def test_conditions_all_required() -> None:
    rules = [rule("r", status="5.7.*", diagnostic="dmarc")]

    assert winner(rules, bounce_with("5.7.1", diagnostic="550 5.7.1 DMARC")) == "r"
    assert winner(rules, bounce_with("5.1.1", diagnostic="550 5.1.1 DMARC")) == NO_RULE
    assert winner(rules, bounce_with("5.7.1", diagnostic="550 5.7.1 spam")) == NO_RULE


def test_higher_priority_wins() -> None:
    rules = [rule("low", priority=1, status="5.*"), rule("high", priority=5, status="5.0.0")]

    assert winner(rules, bounce_with("5.0.0")) == "high"


def test_priority_tie_first_listed_wins() -> None:
    rules = [rule("first", status="5.*"), rule("second", status="5.0.0")]

    assert winner(rules, bounce_with("5.0.0")) == "first"


def test_evidence_names_fields_and_text() -> None:
    rules = [rule("r", status="5.7.*", reply_code="55*", diagnostic=r"dmarc \w+")]
    bounce = bounce_with("5.7.1", "554", "554 5.7.1 Rejected by DMARC policy here")

    (verdict,) = RuleSet(rules).classify(bounce)

    assert verdict.evidence == (
        Evidence("status", "5.7.1"),
        Evidence("reply_code", "554"),
        Evidence("diagnostic", "DMARC policy"),
    )


def test_no_rule_matched() -> None:
    (verdict,) = RuleSet([]).classify(bounce_with())

    assert verdict.rule == NO_RULE
    assert verdict.reason is Reason.UNDEFINED
    assert verdict.bounce_type is BounceType.SOFT


def test_outcome_bounce_type_override() -> None:
    hard_full = Rule("r", Outcome(Reason.MAILBOX_FULL, BounceType.HARD), Conditions(match_all=True))

    (verdict,) = RuleSet([hard_full]).classify(bounce_with())

    assert verdict.bounce_type is BounceType.HARD


def test_classify_message_ignores_recipient_conditions() -> None:
    rules = RuleSet([rule("by-status", status="5.*"), rule("by-kind", kind="dsn")])

    verdict = rules.classify_message(bounce_with("5.0.0"))

    assert verdict.rule == "by-kind"
    assert verdict.address is None


def test_classification_adobe_equivalents() -> None:
    rules = RuleSet([rule("r", reason="user_unknown", match_all=True)])

    (verdict,) = rules.classify(bounce_with("5.1.1"))

    assert verdict.adobe_failure_type.value == "Hard"
    assert verdict.adobe_failure_reason.label == "User unknown"
    assert int(verdict.adobe_failure_reason) == 1


def test_duplicate_ids_rejected() -> None:
    with pytest.raises(RuleError, match="duplicate rule id"):
        RuleSet([rule("same", status="5.*"), rule("same", status="4.*")])


def test_extended_replaces_by_id() -> None:
    base = RuleSet(
        [rule("a", reason="blocked", status="5.*"), rule("b", reason="rejected", status="4.*")]
    )

    extended = base.extended([rule("a", reason="spam_detected", status="5.*")])

    assert [r.id for r in extended] == ["a", "b"]
    assert extended["a"].outcome.reason is Reason.SPAM_DETECTED


def test_extended_new_rule_wins_tie() -> None:
    base = RuleSet([rule("default", reason="blocked", status="5.*")])

    extended = base.extended([rule("mine", reason="rejected", status="5.*")])

    assert winner(list(extended), bounce_with()) == "mine"


@pytest.mark.parametrize(
    ("reason", "status", "reply", "action", "expected"),
    [
        (Reason.USER_UNKNOWN, "5.1.1", "550", Action.FAILED, BounceType.HARD),
        (Reason.USER_UNKNOWN, "4.1.1", "450", Action.FAILED, BounceType.SOFT),
        (Reason.USER_UNKNOWN, "5.1.1", "550", Action.DELAYED, BounceType.SOFT),
        (Reason.USER_UNKNOWN, None, None, Action.FAILED, BounceType.HARD),
        (Reason.NOT_ACCEPT, "5.1.10", None, Action.FAILED, BounceType.HARD),
        (Reason.NOT_ACCEPT, None, "556", Action.FAILED, BounceType.HARD),
        (Reason.NOT_ACCEPT, None, None, Action.FAILED, BounceType.SOFT),
        (Reason.MAILBOX_FULL, "5.2.2", "552", Action.FAILED, BounceType.SOFT),
        (Reason.AUTH_FAILURE, "5.7.26", "550", Action.FAILED, BounceType.SOFT),
        (Reason.AUTO_REPLY, None, None, None, BounceType.IGNORED),
        (Reason.COMPLAINT, None, None, None, BounceType.COMPLAINT),
    ],
)
def test_bounce_type_for(
    reason: Reason,
    status: str | None,
    reply: str | None,
    action: Action | None,
    expected: BounceType,
) -> None:
    (recipient,) = bounce_with(status, reply, action=action).recipients

    assert bounce_type_for(reason, recipient) is expected


def test_classify_function_uses_defaults() -> None:
    (verdict,) = classify(bounce_with("5.1.1"))

    assert verdict.rule == "status-user-unknown"


def test_classify_function_empty_rule_set() -> None:
    (verdict,) = classify(bounce_with("5.1.1"), RuleSet([]))

    assert verdict.rule == NO_RULE


@pytest.mark.parametrize("value", [b"raw message", None])
def test_classify_not_a_bounce(value: object) -> None:
    with pytest.raises(TypeError, match="classify a Bounce"):
        RuleSet.default().classify(value)  # type: ignore[arg-type]
