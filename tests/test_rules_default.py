"""The default rule set: one sample per rule, and the verdicts campaign backends rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

import bouncekit
from bouncekit import Action, Bounce, BounceKind, BounceType, Reason, Recipient, StatusCode
from bouncekit.rules import RuleSet


def bounce_with(
    status: str | None = None,
    reply_code: str | None = None,
    diagnostic: str | None = None,
    *,
    action: Action | None = Action.FAILED,
    kind: BounceKind = BounceKind.DSN,
    address: str = "pat@example.net",
    command: str | None = None,
) -> Bounce:
    """Return a bounce with one recipient that has the given fields."""
    recipient = Recipient(
        address=address,
        action=action,
        status=StatusCode.parse(status) if status else None,
        reply_code=reply_code,
        diagnostic=diagnostic,
        command=command,
    )
    return Bounce(kind=kind, format="rfc3464", recipients=(recipient,))


# One sample per default rule: a recipient that this rule, and no rule above it, decides.
SAMPLES: dict[str, Bounce] = {
    "kind-complaint": bounce_with(kind=BounceKind.COMPLAINT, action=None),
    "kind-auto-reply": bounce_with(kind=BounceKind.AUTO_REPLY, action=None),
    "kind-not-bounce": bounce_with(kind=BounceKind.NOT_BOUNCE, action=None),
    "action-delivered": bounce_with("2.0.0", "250", "250 OK", action=Action.RELAYED),
    "status-success": bounce_with("2.1.5", "250", "250 2.1.5 Ok", action=None),
    "text-mailbox-full-over-code": bounce_with("5.1.1", "552", "552 5.1.1 Mailbox is full"),
    "text-recipient-rate-over-code": bounce_with(
        "5.1.1", "550", "550 5.1.1 192.0.2.9 has sent to too many recipients this hour"
    ),
    "text-sender-domain-listed": bounce_with(
        "5.1.0", "550", "550 5.1.0 MailFrom domain is listed in a block list"
    ),
    "text-listed-content": bounce_with(
        "5.0.0", "550", "550-REJECTED - Blacklisted URL in message. (example.com)"
    ),
    "text-sender-ip-blocked-over-code": bounce_with(
        "5.1.1", "550", "550 5.7.1 IP address blacklisted by recipient"
    ),
    "text-system-full-over-code": bounce_with(
        "4.4.7", "452", "452 4.4.5 Insufficient disk space; try again later"
    ),
    "text-recipient-preferences": bounce_with(
        "5.1.1", "550", "550 5.1.1 Refused due to recipient preferences"
    ),
    "text-local-delivery-program": bounce_with(
        "5.1.1", None, "procmail: Couldn't create mailbox: No such user"
    ),
    "status-recipient-not-found": bounce_with(
        "5.1.10", "550", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found"
    ),
    "status-disabled-user-unknown": bounce_with(
        "5.2.1", "550", "550 5.2.1 <pat@x>... User Unknown", command="RCPT"
    ),
    "status-disabled-user-unknown-unconfirmed": bounce_with(
        "5.2.1", "550", "550 5.2.1 <pat@x>... User Unknown"
    ),
    "status-user-unknown": bounce_with("5.1.1", "550", "550 5.1.1 <pat@example.net>"),
    "status-null-mx": bounce_with("5.1.10", "556", "556 5.1.10 Domain has null MX"),
    "status-no-mail-host": bounce_with(
        "5.4.4", None, "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)"
    ),
    "status-host-unknown": bounce_with("5.1.2", "550", "550 5.1.2 Bad destination system"),
    "status-has-moved": bounce_with("5.1.6", "550", "550 5.1.6 Gone"),
    "status-sender-address": bounce_with("5.1.8", "501", "501 5.1.8 Bad sender"),
    "status-mailbox-disabled": bounce_with("5.2.1", "550", "550 5.2.1 Closed"),
    "status-mailbox-full": bounce_with("5.2.2", "552", "552 5.2.2 Storage"),
    "status-recipient-size-limit": bounce_with("5.2.3", "552", "552 5.2.3 Length"),
    "status-system-full": bounce_with("4.3.1", "452", "452 4.3.1 Storage"),
    "status-message-too-big": bounce_with("5.3.4", "552", "552 5.3.4 Length"),
    "status-expired": bounce_with("4.4.7", None, None),
    "status-expired-dns-failure": bounce_with(
        "4.4.7", None, "Deferred: Name server: example.net.: host name lookup failure"
    ),
    "status-routing-loop": bounce_with("5.4.6", "554", "554 5.4.6 Hop count exceeded"),
    "status-auth-failure": bounce_with("5.7.26", "550", "550 5.7.26 Authentication checks"),
    "status-reverse-dns": bounce_with("5.7.25", "550", "550 5.7.25 Check the sending host"),
    "status-banned-ip": bounce_with("5.7.606", "550", "550 5.7.606 Access denied"),
    "mailbox-status-user-unknown": bounce_with("5.2.0", "550", "550 : User unknown"),
    "text-edge-blocked-recipient": bounce_with(
        "5.4.1", "550", "550 5.4.1 Recipient address rejected: Access denied"
    ),
    "text-spam-verdict": bounce_with(
        "5.0.0", None, "Your email was rejected due to spam classification (DKIM aside)"
    ),
    "text-content-policy": bounce_with(
        "5.7.0",
        "552",
        "552 5.7.0 This message was blocked because its content presents a potential",
    ),
    "policy-status-user-unknown": bounce_with(
        "5.7.1", "550", "550 5.7.1 <pat@example.net>: Recipient address rejected: User unknown"
    ),
    "text-host-unknown-over-user": bounce_with(
        "5.0.0",
        "550",
        "550 <pat@example.net>... User unknown 550 Host unknown (Authoritative answer from name server)",
        command="RCPT",
    ),
    "command-rcpt-user-unknown": bounce_with("5.0.0", "550", "550 User unknown", command="RCPT"),
    "text-badrcptto": bounce_with(
        "5.7.1", "553", "553 sorry, your envelope recipient is in my badrcptto list (#5.7.1)"
    ),
    "text-user-unknown-address-echo": bounce_with(
        "5.0.0", "550", "550 <pat@example.net>: User unknown"
    ),
    "command-data-user-unknown": bounce_with(
        "5.0.0", "550", "550 Unknown user pat@example.net", command="DATA"
    ),
    "text-user-unknown-unconfirmed": bounce_with("5.0.0", "550", "550 No such user"),
    "format-google-groups": Bounce(
        kind=BounceKind.NON_STANDARD,
        format="googlegroups",
        recipients=(Recipient("group@example.net", Action.FAILED),),
    ),
    "gateway-user-unknown": Bounce(
        kind=BounceKind.NON_STANDARD,
        format="mailfoundry",
        recipients=(Recipient("pat@example.net", Action.FAILED, diagnostic="550 No such user"),),
    ),
    "ezweb-filter-rejection": Bounce(
        kind=BounceKind.NON_STANDARD,
        format="ezweb",
        recipients=(
            Recipient(
                "pat@ezweb.example",
                Action.FAILED,
                status=StatusCode(5, 0, 0),
                diagnostic="Each of the following recipients was rejected by a remote mail server.",
            ),
        ),
    ),
    "exim-local-user-unknown": Bounce(
        kind=BounceKind.NON_STANDARD,
        format="exim",
        recipients=(
            Recipient(
                "pat@example.net",
                Action.FAILED,
                status=StatusCode(5, 0, 0),
                diagnostic="No Such User Here",
            ),
        ),
    ),
    "imail-user-unknown": Bounce(
        kind=BounceKind.NON_STANDARD,
        format="imailserver",
        recipients=(
            Recipient(
                "pat@example.net",
                Action.FAILED,
                status=StatusCode(5, 0, 0),
                diagnostic="Unknown user:",
            ),
        ),
    ),
    "text-vendor-codes": bounce_with("5.0.0", "550", "550 SC-001 Mail rejected by Outlook.com"),
    "text-vendor-spam-codes": bounce_with("5.2.0", "550", "550 5.2.0 Mail rejete. OFR_506 [506]"),
    "phase-connection-refused": bounce_with("5.0.0", "550", "550 Access denied", command="CONNECT"),
    "phase-mail-from-refused": bounce_with(
        "5.1.0", "553", "553 5.1.0 b.example does not exist", command="MAIL"
    ),
    "phase-connection": bounce_with("5.0.0", "550", "550 No", command="CONNECT"),
    "phase-mail-from": bounce_with("5.0.0", "553", "553 No", command="MAIL"),
    "text-report-unavailable": bounce_with(
        "5.0.0", None, "The mail system --- Delivery report unavailable ---"
    ),
    "text-not-compliant": bounce_with("5.0.0", "554", "554 Duplicate header 'DKIM-Signature'"),
    "text-auth-failure": bounce_with("5.7.1", "550", "550 5.7.1 Rejected per DMARC policy"),
    "text-reverse-dns": bounce_with("5.7.1", "550", "550 5.7.1 Fix reverse DNS for 192.0.2.1"),
    "text-reputation": bounce_with("5.7.1", "550", "550 5.7.1 Poor IP reputation"),
    "text-sender-rejected": bounce_with("5.0.0", "550", "550 Sender address rejected"),
    "text-group-permission": bounce_with(
        None, None, "The group you tried to contact may not exist, or you may not post to it."
    ),
    "text-blocked-ip": bounce_with("5.0.0", "554", "554 Blocked - see the DNSBL lookup page"),
    "text-rate-limited": bounce_with("4.7.0", "421", "421 4.7.0 Rate limit reached"),
    "text-virus": bounce_with("5.0.0", "550", "550 Virus detected"),
    "text-spam": bounce_with("5.7.1", "550", "550 5.7.1 Message content rejected, UBE"),
    "text-content-error": bounce_with("5.0.0", "550", "550 Improper use of 8-bit data"),
    "text-policy": bounce_with("5.7.9", "554", "554 5.7.9 Not accepted for policy reasons"),
    "text-no-relaying": bounce_with("5.7.1", "554", "554 5.7.1 Relay access denied"),
    "text-security": bounce_with("5.0.0", "550", "550 Unauthenticated senders not allowed"),
    "text-suppressed": bounce_with("5.0.0", None, "Address is on the suppression list"),
    "text-message-too-large": bounce_with("5.0.0", "550", "550 Message too large"),
    "text-mailbox-full": bounce_with("5.0.0", "550", "550 Mailbox full"),
    "text-system-full": bounce_with("5.0.0", "550", "550 No space left on device"),
    "text-suspended": bounce_with("5.0.0", "550", "550 Mailbox is frozen"),
    "text-has-moved": bounce_with("5.0.0", "550", "550 Recipient no longer on server"),
    "text-not-accept": bounce_with(
        "5.0.0", None, "The domain example.net doesn't receive email according to its MX"
    ),
    "text-exit-status": bounce_with("5.3.0", None, "75"),
    "text-dns-error": bounce_with("4.0.0", None, "DNS Error: lookup responded with SERVFAIL"),
    "text-host-unknown": bounce_with("5.0.0", None, "Host or domain name not found"),
    "text-user-unknown": bounce_with("5.0.0", "550", "550 Invalid recipient"),
    "text-expired": bounce_with("4.0.0", None, "Connection timed out"),
    "text-system-error": bounce_with("4.0.0", "450", "450 Internal server error"),
    "text-queue-gave-up": bounce_with(
        "4.4.1",
        None,
        "Resources temporarily unavailable. I'm not going to try again;"
        " this message has been in the queue too long.",
    ),
    "text-try-later": bounce_with("4.0.0", "450", "450 Please try again later"),
    "text-syntax-error": bounce_with("5.0.0", "500", "500 Syntax error"),
    "text-starttls": bounce_with("5.0.0", None, "Must issue a STARTTLS command first"),
    "reply-not-local": bounce_with(None, "551", "551 not here"),
    "reply-storage": bounce_with(None, "552", "552 no"),
    "reply-mailbox-name": bounce_with(None, "553", "553 no"),
    "reply-syntax": bounce_with(None, "501", "501 no"),
    "reply-auth": bounce_with(None, "530", "530 no"),
    "reply-service-unavailable": bounce_with(None, "421", "421 closing"),
    "reply-transaction-failed": bounce_with(None, "554", "554 no"),
    "action-delayed": bounce_with("4.0.0", None, None, action=Action.DELAYED),
    "class-address": bounce_with("5.1.0", "550", "550 #5.1.0 Rejected"),
    "class-mailbox": bounce_with("5.2.0", "550", "550 5.2.0 Message Filtered"),
    "class-mail-system": bounce_with("5.3.0", "550", "550 5.3.0 Problem"),
    "class-network": bounce_with("4.4.1", None, "No answer"),
    "class-protocol": bounce_with("5.5.0", "550", "550 5.5.0 Whatever"),
    "class-content": bounce_with("5.6.1", "550", "550 5.6.1 Media"),
    "class-security": bounce_with("5.7.1", "550", "550 5.7.1 Go away"),
    "class-undetermined": bounce_with("5.0.0", "550", "550 Nope"),
    "fallback": bounce_with(None, None, None),
}

RULES = RuleSet.default()


@pytest.mark.parametrize("rule_id", list(SAMPLES))
def test_default_rule_decides_its_sample(rule_id: str) -> None:
    (verdict,) = RULES.classify(SAMPLES[rule_id])

    assert verdict.rule == rule_id
    assert verdict.reason is RULES[rule_id].outcome.reason


def test_every_default_rule_has_sample() -> None:
    missing = [rule.id for rule in RULES if rule.id not in SAMPLES]

    assert missing == []


def test_samples_name_only_default_rules() -> None:
    ids = {rule.id for rule in RULES}

    assert [rule_id for rule_id in SAMPLES if rule_id not in ids] == []


def test_default_rules_have_rationale() -> None:
    assert [rule.id for rule in RULES if not rule.rationale] == []


@pytest.mark.parametrize(
    ("status", "reply", "text"),
    [
        ("5.7.26", "550", "550 5.7.26 Unauthenticated email is not accepted due to DMARC policy"),
        ("5.7.1", "550", "550 5.7.1 Recipient address rejected: SPF check failed"),
        ("5.7.1", "550", "550 5.7.1 Email rejected per DMARC policy for example.com"),
        ("5.7.1", "554", "554 5.7.1 Client host rejected: blocked using zen.example.org"),
        ("5.7.1", "550", "550 5.7.1 Our system has detected a very low reputation"),
        ("5.7.25", "550", "550 5.7.25 The IP address sending this message has no PTR record"),
    ],
)
def test_sender_side_rejection_never_hard(status: str, reply: str, text: str) -> None:
    (verdict,) = RULES.classify(bounce_with(status, reply, text))

    assert verdict.bounce_type is BounceType.SOFT


def test_mailbox_full_soft_in_class_5() -> None:
    (verdict,) = RULES.classify(bounce_with("5.2.2", "552", "552 5.2.2 Over quota"))

    assert verdict.reason is Reason.MAILBOX_FULL
    assert verdict.bounce_type is BounceType.SOFT


def test_user_unknown_hard() -> None:
    (verdict,) = RULES.classify(bounce_with("5.1.1", "550", "550 5.1.1 User unknown"))

    assert verdict.bounce_type is BounceType.HARD


def test_temporary_user_unknown_soft() -> None:
    (verdict,) = RULES.classify(bounce_with("4.1.1", "450", "450 4.1.1 User unknown"))

    assert verdict.reason is Reason.USER_UNKNOWN
    assert verdict.bounce_type is BounceType.SOFT


def test_null_mx_hard_with_5xx() -> None:
    (verdict,) = RULES.classify(bounce_with("5.1.10", "556", "556 5.1.10 null MX"))

    assert verdict.reason is Reason.NOT_ACCEPT
    assert verdict.bounce_type is BounceType.HARD


def test_not_accept_soft_without_code() -> None:
    text = "The domain example.net doesn't receive email according to the administrator"
    (verdict,) = RULES.classify(bounce_with(None, None, text))

    assert verdict.reason is Reason.NOT_ACCEPT
    assert verdict.bounce_type is BounceType.SOFT


def test_japanese_user_unknown() -> None:
    text = "ユーザー Neko (neko@example.co.jp) は Domino ディレクトリには見つかりません。"
    (verdict,) = RULES.classify(bounce_with("5.0.0", None, text))

    assert verdict.reason is Reason.USER_UNKNOWN
    assert verdict.evidence[-1].text == "ディレクトリには見つかりません"


def test_french_user_unknown() -> None:
    text = "550 5.5.0 Adresse destinataire invalide. Invalid recipient. LPN007_416"
    (verdict,) = RULES.classify(bounce_with("5.5.0", "550", text))

    assert verdict.reason is Reason.USER_UNKNOWN


def test_mailbox_unavailable_after_rcpt_hard() -> None:
    text = "550 Requested action not taken: mailbox unavailable"
    (verdict,) = RULES.classify(bounce_with("5.0.0", "550", text, command="RCPT"))

    assert verdict.reason is Reason.USER_UNKNOWN
    assert verdict.bounce_type is BounceType.HARD


def test_mailbox_unavailable_without_stage_soft() -> None:
    text = "550 Requested action not taken: mailbox unavailable"
    (verdict,) = RULES.classify(bounce_with("5.0.0", "550", text))

    assert verdict.reason is Reason.FILTERED
    assert verdict.bounce_type is BounceType.SOFT


def test_user_unknown_after_data_soft() -> None:
    text = "550 5.1.0 <pat@example.net>... User unknown"
    (verdict,) = RULES.classify(bounce_with("5.1.0", "550", text, command="DATA"))

    assert verdict.reason is Reason.FILTERED
    assert verdict.bounce_type is BounceType.SOFT


def test_user_unknown_code_outranks_data() -> None:
    text = "550 5.1.1 <pat@example.net>... User unknown"
    (verdict,) = RULES.classify(bounce_with("5.1.1", "550", text, command="DATA"))

    assert verdict.reason is Reason.USER_UNKNOWN
    assert verdict.bounce_type is BounceType.HARD


OFFICE365_NDR = b"""\
From: Microsoft Outlook <postmaster@mail.example.org>
To: <news@example.com>
Subject: Undeliverable: Your weekly offers
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

Your message to kim.lee@example.org couldn't be delivered.
kim.lee wasn't found at example.org.

Remote server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.example.org

Final-Recipient: rfc822; kim.lee@example.org
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

--b1
Content-Type: text/rfc822-headers

From: News <news@example.com>
To: kim.lee@example.org
Message-ID: <weekly-42@example.com>
Subject: Your weekly offers

--b1--
"""


def test_office365_recipient_not_found_hard() -> None:
    (verdict,) = RULES.classify(bouncekit.parse(OFFICE365_NDR))

    assert verdict.address == "kim.lee@example.org"
    assert verdict.reason is Reason.USER_UNKNOWN
    assert verdict.bounce_type is BounceType.HARD


def test_auto_reply_message_ignored() -> None:
    verdict = RULES.classify_message(Bounce(kind=BounceKind.AUTO_REPLY))

    assert verdict.address is None
    assert verdict.reason is Reason.AUTO_REPLY
    assert verdict.bounce_type is BounceType.IGNORED
    assert verdict.rule == "kind-auto-reply"


def test_not_bounce_message_ignored() -> None:
    verdict = RULES.classify_message(Bounce(kind=BounceKind.NOT_BOUNCE))

    assert verdict.bounce_type is BounceType.IGNORED


def test_dsn_without_recipients_gets_verdict() -> None:
    verdict = RULES.classify_message(Bounce(kind=BounceKind.DSN, format="rfc3464"))

    assert verdict.rule == "fallback"
    assert verdict.bounce_type is BounceType.SOFT


OUT_OF_OFFICE = b"""\
From: Sam Reyes <sam.reyes@example.net>
To: news@example.com
Subject: Automatic reply: December newsletter
Auto-Submitted: auto-replied
In-Reply-To: <dec-nl-7@example.com>
Content-Type: text/plain; charset=utf-8

I am out of the office until January 4 and will answer when I am back.
"""


def test_out_of_office_reply_not_hard() -> None:
    bounce = bouncekit.parse(OUT_OF_OFFICE)
    verdicts = [*RULES.classify(bounce), RULES.classify_message(bounce)]

    assert [v.bounce_type for v in verdicts if v.bounce_type is BounceType.HARD] == []
    assert RULES.classify_message(bounce).bounce_type is BounceType.IGNORED


def test_reported_office365_case(shared_dir: Path) -> None:
    (case,) = shared_dir.joinpath("cases").glob("13-*")
    bounce = bouncekit.parse(case.joinpath("input.eml").read_bytes())

    (verdict,) = RULES.classify(bounce)

    assert verdict.reason is Reason.USER_UNKNOWN
    assert verdict.bounce_type is BounceType.HARD


def test_reported_out_of_office_case(shared_dir: Path) -> None:
    (case,) = shared_dir.joinpath("cases").glob("16-*")
    bounce = bouncekit.parse(case.joinpath("input.eml").read_bytes())

    verdicts = RULES.classify(bounce)
    assert [(v.bounce_type, v.reason) for v in verdicts] == [
        (BounceType.IGNORED, Reason.AUTO_REPLY)
    ]
    assert RULES.classify_message(bounce).bounce_type is BounceType.IGNORED


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("ユーザー Neko は Domino ディレクトリのリストにありません。", Reason.USER_UNKNOWN),
        ("您試圖聯絡的群組可能不存在, 或者您沒有在此群組張貼留言的權限.", Reason.REJECTED),
        (
            "Il se peut que le groupe que vous avez essayé de contacter n'existe pas",
            Reason.REJECTED,
        ),
        (
            "Le compte du destinataire est bloque. The recipient account is blocked.",
            Reason.SUSPENDED,
        ),
    ],
)
def test_non_english_wordings(text: str, reason: Reason) -> None:
    (verdict,) = RULES.classify(bounce_with("5.0.0", None, text))

    assert verdict.reason is reason


def test_bare_reply_code_not_exit_status() -> None:
    (verdict,) = RULES.classify(bounce_with("5.1.1", "550", "550"))

    assert verdict.reason is Reason.USER_UNKNOWN


def test_unreachable_host_expired() -> None:
    text = "Error, ERROR_CODE :421, Host not reachable."
    (verdict,) = RULES.classify(bounce_with("4.0.0", None, text))

    assert verdict.reason is Reason.EXPIRED
    assert verdict.bounce_type is BounceType.SOFT


@pytest.mark.parametrize(
    "wording",
    ["550 No such person at this address.", "550 No such mailbox", "550 User unknown"],
)
def test_rcpt_unknown_person_is_hard(wording: str) -> None:
    (verdict,) = RULES.classify(bounce_with("5.0.0", "550", wording, command="RCPT"))
    assert verdict.bounce_type is BounceType.HARD
    assert verdict.reason is Reason.USER_UNKNOWN
