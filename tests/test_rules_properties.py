"""Properties of the default rules over generated recipients."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bouncekit import Action, Bounce, BounceKind, BounceType, Reason, Recipient, StatusCode
from bouncekit.rules import RuleSet

RULES = RuleSet.default()

# Reasons about the sender, its IP address or the message, and a full mailbox: never hard.
NEVER_HARD = {
    Reason.AUTH_FAILURE,
    Reason.BAD_REPUTATION,
    Reason.BLOCKED,
    Reason.REJECTED,
    Reason.REQUIRE_PTR,
    Reason.SPAM_DETECTED,
    Reason.POLICY_VIOLATION,
    Reason.SECURITY_ERROR,
    Reason.MAILBOX_FULL,
}
FIELDS = {"status", "reply_code", "action", "command", "diagnostic", "domain", "format", "kind"}
PHRASES = [
    "User unknown",
    "Mailbox full",
    "over quota",
    "rejected per DMARC policy",
    "SPF check failed",
    "Client host rejected: blocked using zen.example.org",
    "Access denied",
    "Relay access denied",
    "Host not found",
    "Connection timed out",
    "Message content rejected, UBE",
    "after end of data:",
    "after initial connection:",
    "does not exist",
    "The email account that you tried to reach is disabled.",
    "Recipient address rejected:",
    "ユーザーは存在しません",
    "#5.1.1",
    "Unknown user:",
    "550 <pat@example.net>: User unknown",
    "Host unknown (Authoritative answer from name server)",
]

statuses = st.one_of(
    st.none(),
    st.builds(
        StatusCode,
        st.sampled_from([2, 4, 5]),
        st.integers(min_value=0, max_value=7),
        st.integers(min_value=0, max_value=30),
    ),
)
replies = st.sampled_from([None, "250", "421", "450", "452", "501", "550", "551", "553", "554"])
diagnostics = st.one_of(
    st.none(),
    st.lists(st.sampled_from(PHRASES), max_size=3).map(" ".join),
    st.text(max_size=60),
)
recipients = st.builds(
    Recipient,
    address=st.sampled_from(["pat@example.net", "pat", "kim@mail.example.org"]),
    action=st.one_of(st.none(), st.sampled_from(list(Action))),
    status=statuses,
    reply_code=replies,
    diagnostic=diagnostics,
    command=st.sampled_from([None, "CONNECT", "EHLO", "MAIL", "RCPT", "DATA"]),
)
bounces = st.builds(
    Bounce,
    kind=st.sampled_from(list(BounceKind)),
    format=st.sampled_from(["", "rfc3464", "exim", "postfix", "googlegroups", "imailserver"]),
    recipients=st.lists(recipients, max_size=3).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(bounces)
def test_every_recipient_gets_rule(bounce: Bounce) -> None:
    verdicts = RULES.classify(bounce)

    assert len(verdicts) == len(bounce.recipients)
    assert all(verdict.rule for verdict in verdicts)


@settings(max_examples=300, deadline=None)
@given(bounces)
def test_soft_reasons_never_hard(bounce: Bounce) -> None:
    for verdict in RULES.classify(bounce):
        if verdict.reason in NEVER_HARD:
            assert verdict.bounce_type is not BounceType.HARD, verdict


@settings(max_examples=300, deadline=None)
@given(bounces)
def test_temporary_failure_never_hard(bounce: Bounce) -> None:
    for recipient, verdict in zip(bounce.recipients, RULES.classify(bounce), strict=True):
        temporary = recipient.action is Action.DELAYED or (
            recipient.status is not None and recipient.status.class_ == 4
        )
        if temporary:
            assert verdict.bounce_type is not BounceType.HARD, verdict


@settings(max_examples=300, deadline=None)
@given(bounces)
def test_evidence_names_known_fields(bounce: Bounce) -> None:
    for verdict in RULES.classify(bounce):
        assert {evidence.field for evidence in verdict.evidence} <= FIELDS
        if verdict.rule != "fallback":
            assert verdict.evidence, verdict


@settings(max_examples=200, deadline=None)
@given(bounces)
def test_message_verdict_never_hard(bounce: Bounce) -> None:
    verdict = RULES.classify_message(bounce)

    assert verdict.address is None
    assert verdict.bounce_type is not BounceType.HARD
