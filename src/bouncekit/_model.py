"""The result types that every parser returns."""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterator
from typing import Any

import attrs

from bouncekit._status import StatusCode

__all__ = [
    "Action",
    "Bounce",
    "BounceKind",
    "BounceType",
    "Defect",
    "DeliveryStatus",
    "Headers",
    "MessageFields",
    "Reason",
    "Recipient",
    "RecipientFields",
    "TypedValue",
]


class Action(enum.StrEnum):
    """The RFC 3464 section 2.3.3 ``Action`` of a per-recipient group."""

    FAILED = "failed"
    DELAYED = "delayed"
    DELIVERED = "delivered"
    RELAYED = "relayed"
    EXPANDED = "expanded"


class BounceKind(enum.StrEnum):
    """The kind of a parsed message."""

    DSN = "dsn"
    """A standard RFC 3464 delivery status notification."""
    NON_STANDARD = "non_standard"
    """A failure notice in a mail server's own plain-text layout."""
    COMPLAINT = "complaint"
    """An RFC 5965 (ARF) feedback report, usually a spam complaint."""
    AUTO_REPLY = "auto_reply"
    """An automatic reply such as an out-of-office message (RFC 3834)."""
    NOT_BOUNCE = "not_bounce"
    """Anything else."""


class BounceType(enum.StrEnum):
    """The severity of a result for the address it concerns."""

    HARD = "hard"
    """The address itself is bad: stop mailing it."""
    SOFT = "soft"
    """A temporary or sender-side failure: retry, and give up after several."""
    COMPLAINT = "complaint"
    """The recipient complained: unsubscribe at once."""
    IGNORED = "ignored"
    """Not a failure: an auto-reply, a success notice, or no bounce at all."""


class Reason(enum.StrEnum):
    """The cause of a failed delivery, in bouncekit's vocabulary."""

    USER_UNKNOWN = "user_unknown"
    HOST_UNKNOWN = "host_unknown"
    HAS_MOVED = "has_moved"
    NOT_ACCEPT = "not_accept"
    MAILBOX_FULL = "mailbox_full"
    SUSPENDED = "suspended"
    FILTERED = "filtered"
    REJECTED = "rejected"
    BLOCKED = "blocked"
    SPAM_DETECTED = "spam_detected"
    VIRUS_DETECTED = "virus_detected"
    POLICY_VIOLATION = "policy_violation"
    SECURITY_ERROR = "security_error"
    AUTH_FAILURE = "auth_failure"
    BAD_REPUTATION = "bad_reputation"
    REQUIRE_PTR = "require_ptr"
    FAILED_STARTTLS = "failed_starttls"
    NOT_COMPLIANT_RFC = "not_compliant_rfc"
    CONTENT_ERROR = "content_error"
    MESSAGE_TOO_LARGE = "message_too_large"
    EXCEED_LIMIT = "exceed_limit"
    RATE_LIMITED = "rate_limited"
    SYSTEM_FULL = "system_full"
    SYSTEM_ERROR = "system_error"
    MAILER_ERROR = "mailer_error"
    NETWORK_ERROR = "network_error"
    NO_RELAYING = "no_relaying"
    SYNTAX_ERROR = "syntax_error"
    EXPIRED = "expired"
    ON_HOLD = "on_hold"
    SUPPRESSED = "suppressed"
    UNDEFINED = "undefined"
    DELIVERED = "delivered"
    COMPLAINT = "complaint"
    AUTO_REPLY = "auto_reply"


@attrs.frozen
class Defect:
    """
    Something malformed in a parsed message, recorded instead of raised.

    Attributes:
        code: A stable identifier such as ``"missing-final-recipient"``.
        message: A sentence for people, naming the value involved.
    """

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@attrs.frozen
class TypedValue:
    """
    A DSN field value of the form ``type; value`` (RFC 3464 section 2.1.2).

    Attributes:
        type: The type, lower-cased: ``"rfc822"``, ``"utf-8"``, ``"dns"``, ``"smtp"``, or ``""``
            when the field had no type.
        value: The text after the semicolon, unfolded and stripped.
    """

    type: str
    value: str

    def __str__(self) -> str:
        return f"{self.type}; {self.value}" if self.type else self.value


# The number of field names a Headers repr shows.
_REPR_NAMES = 8


@attrs.frozen
class Headers:
    """
    A read-only list of header fields, looked up by name in any case.

    Attributes:
        fields: ``(name, value)`` pairs in message order, values unfolded.
    """

    fields: tuple[tuple[str, str], ...] = ()

    def get(self, name: str, default: str | None = None) -> str | None:
        """Return the first value of field *name*, or *default*."""
        wanted = name.lower()
        if wanted.isascii():
            # In Python 3.11 only the dotted capital I changes length in lower case,
            # and its lower case is not ASCII. So a field name that matches an ASCII
            # name has that name's length, and the test skips lower-casing most names.
            length = len(wanted)
            for field_name, value in self.fields:
                if len(field_name) == length and field_name.lower() == wanted:
                    return value
            return default
        for field_name, value in self.fields:
            if field_name.lower() == wanted:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Return every value of field *name*, in message order."""
        wanted = name.lower()
        return [value for field_name, value in self.fields if field_name.lower() == wanted]

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __bool__(self) -> bool:
        return bool(self.fields)

    def __repr__(self) -> str:
        # The values can run to kilobytes, so the repr names the fields only.
        names = [name for name, _ in self.fields[:_REPR_NAMES]]
        more = ", ..." if len(self.fields) > _REPR_NAMES else ""
        return f"<Headers, {len(self.fields)} field(s): {', '.join(names)}{more}>"


@attrs.frozen
class MessageFields:
    """
    The per-message fields of a DSN (RFC 3464 section 2.2).

    Attributes:
        reporting_mta: The MTA that wrote the report.
        dsn_gateway: The gateway that translated a foreign notice into a DSN.
        received_from_mta: The MTA the original message came from.
        arrival_date: When the original message arrived at the reporting MTA.
        original_envelope_id: The ENVID the sender gave with RFC 3461, as written.
        extensions: Every other field, ``X-`` fields included, in order.
    """

    reporting_mta: TypedValue | None = None
    dsn_gateway: TypedValue | None = None
    received_from_mta: TypedValue | None = None
    arrival_date: datetime.datetime | None = None
    original_envelope_id: str | None = None
    extensions: Headers = attrs.Factory(Headers)


@attrs.frozen
class RecipientFields:
    """
    One per-recipient group of a DSN (RFC 3464 section 2.3), as written.

    Attributes:
        original_recipient: The recipient the sender gave (``ORCPT``).
        final_recipient: The recipient the report is about.
        action: The ``Action`` field, or ``None`` when it is missing or unknown.
        status: The ``Status`` field as written, or ``None`` when missing or invalid.
        remote_mta: The MTA that gave the diagnostic.
        diagnostic_code: The remote MTA's reply, usually of type ``smtp``.
        last_attempt_date: When delivery was last tried.
        final_log_id: The reporting MTA's log id for the delivery.
        will_retry_until: Until when a delayed message is retried.
        extensions: Every other field, ``X-`` fields included, in order.
        status_comment: The comment after the code in the ``Status`` field, such
            as ``host name lookup failure`` in ``4.0.0 (host name lookup failure)``.
    """

    original_recipient: TypedValue | None = None
    final_recipient: TypedValue | None = None
    action: Action | None = None
    status: StatusCode | None = None
    remote_mta: TypedValue | None = None
    diagnostic_code: TypedValue | None = None
    last_attempt_date: datetime.datetime | None = None
    final_log_id: str | None = None
    will_retry_until: datetime.datetime | None = None
    extensions: Headers = attrs.Factory(Headers)
    status_comment: str | None = None


@attrs.frozen
class DeliveryStatus:
    """
    The parsed ``message/delivery-status`` part of a DSN.

    Attributes:
        message: The per-message fields.
        recipients: The per-recipient groups, empty groups left out.
        global_: Whether the part was ``message/global-delivery-status`` (RFC 6533).
    """

    message: MessageFields
    recipients: tuple[RecipientFields, ...]
    global_: bool = False


@attrs.frozen
class Recipient:
    """
    One recipient a bounce reports on, from whatever layout the notice had.

    Attributes:
        address: The recipient's address, without angle brackets, UTF-8 kept.
        action: What happened to the message for this recipient.
        status: The status code that best describes the failure: the enhanced
            code of the remote server's reply in the diagnostic text, when it
            has the class of the DSN ``Status`` field and is not a generic
            ``X.0.0``, or else the ``Status`` field (which stays in
            ``dsn.status`` as written).
        reply_code: The three-digit SMTP reply code from the diagnostic text.
        diagnostic: The remote server's reply or the notice's reason text, unfolded.
        remote_mta: The host that gave the diagnostic.
        dsn: The DSN group this recipient came from, when the notice had one.
        command: The SMTP command the remote server was replying to when it gave
            the diagnostic, upper-cased (``"RCPT"``, ``"DATA"``, ``"MAIL"``,
            ``"CONNECT"`` for its greeting, ...), or ``None`` when the notice does
            not say.
    """

    address: str
    action: Action | None = None
    status: StatusCode | None = None
    reply_code: str | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    # The group is in Bounce.delivery_status too, so the repr leaves it out.
    dsn: RecipientFields | None = attrs.field(default=None, repr=False)
    command: str | None = None

    @property
    def domain(self) -> str:
        """The part of the address after the last ``@``, lower-cased."""
        return self.address.rpartition("@")[2].lower()


def _short_status(status: DeliveryStatus | None) -> str:
    if status is None:
        return "None"
    return f"<DeliveryStatus, {len(status.recipients)} recipient group(s)>"


@attrs.frozen
class Bounce:
    """
    The result of :func:`bouncekit.parse` for one message.

    Attributes:
        kind: The kind of message.
        format: The name of the layout that was recognised, such as ``"rfc3464"``
            or ``"qmail"``; ``""`` for a message that is not a bounce.
        recipients: The recipients the message reports on, in message order.
        original_message_id: The ``Message-ID`` of the message that bounced,
            with angle brackets, taken from the returned content only.
        original_headers: The header fields of the returned message.
        delivery_status: The DSN part as written, when the message had one.
        feedback_type: The ARF ``Feedback-Type`` of a complaint.
        headers: The header fields of the bounce message itself. Its own
            ``Message-ID`` is not the original one; its ``To``, ``Delivered-To``
            and ``X-Original-To`` carry the envelope sender, which VERP uses.
        defects: What was malformed in the message.
    """

    kind: BounceKind
    format: str = ""
    recipients: tuple[Recipient, ...] = ()
    original_message_id: str | None = None
    original_headers: Headers = attrs.Factory(Headers)
    delivery_status: DeliveryStatus | None = attrs.field(default=None, repr=_short_status)
    feedback_type: str | None = None
    headers: Headers = attrs.Factory(Headers)
    defects: tuple[Defect, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """
        Return the result as a dict of JSON types, as ``bouncekit scan`` writes it.

        Recipients are dicts of ``address``, ``action``, ``status``,
        ``reply_code``, ``diagnostic``, ``remote_mta`` and ``command``, with
        enums and status codes as strings. Defects are ``"code: message"``
        strings. The header fields and the DSN fields are left out; the
        classification of ``bouncekit scan`` comes from
        :meth:`bouncekit.rules.RuleSet.classify`.
        """
        return {
            "kind": self.kind.value,
            "format": self.format,
            "original_message_id": self.original_message_id,
            "feedback_type": self.feedback_type,
            "recipients": [
                {
                    "address": recipient.address,
                    "action": recipient.action.value if recipient.action else None,
                    "status": str(recipient.status) if recipient.status else None,
                    "reply_code": recipient.reply_code,
                    "diagnostic": recipient.diagnostic,
                    "remote_mta": recipient.remote_mta,
                    "command": recipient.command,
                }
                for recipient in self.recipients
            ],
            "defects": [str(defect) for defect in self.defects],
        }

    @property
    def is_bounce(self) -> bool:
        """Whether the message reports a delivery failure or delay."""
        return self.kind in (BounceKind.DSN, BounceKind.NON_STANDARD)
