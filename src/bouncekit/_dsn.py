"""
The RFC 3464 delivery status notification parser.

A DSN is a ``multipart/report`` (RFC 6522) whose second part,
``message/delivery-status`` or RFC 6533's ``message/global-delivery-status``,
holds one group of per-message fields and one group per recipient, each group
a block of header-like fields separated by blank lines.

The standard library splits a ``message/delivery-status`` part into one
``Message`` per group, but not a ``message/global-delivery-status`` part, which
it parses like ``message/rfc822``: headers, then the other groups as one body
string. Both shapes are turned into lists of ``(name, value)`` pairs here, and
any text the standard library left unsplit goes through :func:`split_groups`.
"""

from __future__ import annotations

import datetime
import email.utils
import re
from collections.abc import Callable, Iterable
from email.message import Message

import attrs

from bouncekit._address import normalize_address
from bouncekit._command import command_in_notice, find_command
from bouncekit._model import (
    Action,
    Defect,
    DeliveryStatus,
    Headers,
    MessageFields,
    Recipient,
    RecipientFields,
    TypedValue,
)
from bouncekit._status import StatusCode, find_status_codes, status_code
from bouncekit._text import find_reply_code, part_text, repair_text, strip_comments, unfold

__all__ = [
    "DSN_TYPES",
    "is_complete_address",
    "most_specific_status",
    "parse_delivery_status",
    "parse_delivery_status_text",
    "recipient_from_fields",
    "split_groups",
    "with_notice_text",
    "with_status_comment",
]

DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})

Group = list[tuple[str, str]]

_FIELD = re.compile(r"([!-9;-~]+)[ \t]*:(.*)")
# RFC 6533 section 3: a utf-8 address type may carry "\x{HHHH}" escapes.
_UTF8_ESCAPE = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")


def split_groups(text: str) -> tuple[list[Group], list[Defect]]:
    """
    Split the text of a delivery-status part into groups of fields.

    Any run of blank lines separates two groups, so doubled blank lines and a
    missing blank line at the end are accepted. A line starting with white
    space continues the field before it. Any other line that is not a field
    is recorded as a defect and skipped.
    """
    groups: list[Group] = []
    defects: list[Defect] = []
    current: Group = []
    for line in text.splitlines():
        if not line.strip():
            if current:
                groups.append(current)
                current = []
            continue
        if line[0] in " \t" and current:
            name, value = current[-1]
            current[-1] = (name, f"{value}\n{line}")
            continue
        found = _FIELD.match(line)
        if found is None:
            defects.append(Defect("invalid-dsn-line", f"not a DSN field: {line[:80]!r}"))
            continue
        current.append((found[1], found[2]))
    if current:
        groups.append(current)
    return groups, defects


def _groups_of_part(part: Message) -> tuple[list[Group], list[Defect]]:
    """Return the field groups of a delivery-status *part*, whatever shape it was parsed into."""
    payload = part.get_payload()
    if isinstance(payload, str):
        # A transfer-encoded part, or one the standard library did not split.
        return split_groups(part_text(part))
    groups: list[Group] = []
    defects: list[Defect] = []
    blocks = payload if isinstance(payload, list) else [payload]
    for block in blocks:
        if not isinstance(block, Message):
            continue
        fields = [(name, _field_value(block, name, value)) for name, value in block.raw_items()]
        if fields:
            groups.append(fields)
        body = block.get_payload()
        # An empty body decodes to nothing, whatever its encoding and charset.
        rest = part_text(block) if isinstance(body, str) and body else ""
        if rest.strip():
            more, more_defects = split_groups(rest)
            groups.extend(more)
            defects.extend(more_defects)
    return groups, defects


def _field_value(block: Message, name: str, raw: object) -> str:
    """Return ``str()`` of what ``block.items()`` gives for the field *name* with value *raw*."""
    # The policy leaves an ASCII string as it is, so only other values need it.
    # A message built in code may hold Header objects, which it handles too.
    if isinstance(raw, str) and raw.isascii():
        return raw
    return str(block.policy.header_fetch_parse(name, raw))  # type: ignore[arg-type]


def _type_and_value(raw: str) -> tuple[str, str]:
    """Return the lower-cased type and the value of a ``type; value`` field."""
    value = unfold(raw)
    kind, sep, rest = value.partition(";")
    if not sep:
        return "", value
    return kind.strip().lower(), rest.strip()


def _typed_value(raw: str) -> TypedValue:
    return TypedValue(*_type_and_value(raw))


def _address_value(raw: str) -> TypedValue:
    kind, value = _type_and_value(raw)
    value = strip_comments(value)
    if kind == "utf-8":
        value = _UTF8_ESCAPE.sub(lambda m: chr(int(m[1], 16)), value)
    return TypedValue(kind, normalize_address(value))


def _host_value(raw: str) -> TypedValue:
    kind, value = _type_and_value(raw)
    return TypedValue(kind, strip_comments(value))


# The usual form of an RFC 5322 date-time, with an optional comment after it, as in
# "Fri, 4 Dec 2026 22:08:45 +0000 (UTC)". A test checks that _parse_date reads it
# as email.utils.parsedate_to_datetime() does, which is several times slower.
_PLAIN_DATE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([1-9]\d{3}) "
    r"(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)(?: \([^()]*\))?",
    re.ASCII,
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}


def _parse_date(text: str) -> datetime.datetime:
    """
    Parse an RFC 5322 date-time as ``email.utils.parsedate_to_datetime`` does.

    Raises:
        ValueError: *text* is not a date, or names a day or offset out of range.
    """
    found = _PLAIN_DATE.fullmatch(text)
    if found is None:
        return email.utils.parsedate_to_datetime(text)
    day, month, year, hour, minute, second, sign, offset_hours, offset_minutes = found.groups()
    moment = (int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second))
    offset = int(offset_hours) * 3600 + int(offset_minutes) * 60
    if offset == 0 and sign == "-":
        # RFC 5322 section 3.3: -0000 means that the local time zone is unknown.
        return datetime.datetime(*moment)
    seconds = -offset if sign == "-" else offset
    return datetime.datetime(*moment, tzinfo=datetime.timezone(datetime.timedelta(seconds=seconds)))


def _date_value(raw: str, name: str, defects: list[Defect]) -> datetime.datetime | None:
    text = unfold(raw)
    try:
        return _parse_date(text)
    except (TypeError, ValueError, IndexError):
        defects.append(Defect("invalid-date", f"{name} is not an RFC 5322 date: {text[:60]!r}"))
        return None


def _action_value(raw: str, defects: list[Defect]) -> Action | None:
    text = strip_comments(unfold(raw)).lower()
    try:
        return Action(text)
    except ValueError:
        defects.append(Defect("invalid-action", f"unknown Action {text[:40]!r}"))
        return None


def _status_value(raw: str, defects: list[Defect]) -> StatusCode | None:
    text = unfold(raw)
    status = StatusCode.try_parse(text)
    if status is None:
        defects.append(Defect("invalid-status", f"Status is not an RFC 3463 code: {text[:40]!r}"))
    return status


def _parse_message_fields(group: Group, defects: list[Defect]) -> MessageFields:
    values: dict[str, object] = {}
    extensions: list[tuple[str, str]] = []
    for name, raw in group:
        key = name.lower()
        if key == "reporting-mta":
            values["reporting_mta"] = _host_value(raw)
        elif key == "dsn-gateway":
            values["dsn_gateway"] = _host_value(raw)
        elif key == "received-from-mta":
            values["received_from_mta"] = _host_value(raw)
        elif key == "arrival-date":
            values["arrival_date"] = _date_value(raw, name, defects)
        elif key == "original-envelope-id":
            values["original_envelope_id"] = unfold(raw)
        else:
            extensions.append((name, unfold(raw)))
    return MessageFields(**values, extensions=Headers(tuple(extensions)))  # type: ignore[arg-type]


# The reader of each per-recipient field (RFC 3464 section 2.3): the RecipientFields
# attribute it fills, and a function of the raw value and the defects list.
_RECIPIENT_READERS: dict[str, tuple[str, Callable[[str, list[Defect]], object]]] = {
    "original-recipient": ("original_recipient", lambda raw, _: _address_value(raw)),
    "final-recipient": ("final_recipient", lambda raw, _: _address_value(raw)),
    "action": ("action", _action_value),
    "status": ("status", _status_value),
    "remote-mta": ("remote_mta", lambda raw, _: _host_value(raw)),
    "diagnostic-code": ("diagnostic_code", lambda raw, _: _typed_value(raw)),
    "last-attempt-date": (
        "last_attempt_date",
        lambda raw, defects: _date_value(raw, "Last-Attempt-Date", defects),
    ),
    "final-log-id": ("final_log_id", lambda raw, _: unfold(raw)),
    "will-retry-until": (
        "will_retry_until",
        lambda raw, defects: _date_value(raw, "Will-Retry-Until", defects),
    ),
}


def _parse_recipient_fields(group: Group, defects: list[Defect]) -> RecipientFields:
    values: dict[str, object] = {}
    extensions: list[tuple[str, str]] = []
    for name, raw in group:
        reader = _RECIPIENT_READERS.get(name.lower())
        if reader is None:
            extensions.append((name, unfold(raw)))
        elif reader[0] not in values:
            values[reader[0]] = reader[1](raw, defects)
            if reader[0] == "status":
                values["status_comment"] = _comment_of(raw)
    return RecipientFields(**values, extensions=Headers(tuple(extensions)))  # type: ignore[arg-type]


_COMMENT = re.compile(r"\(([^()]*)\)")


def _comment_of(raw: str) -> str | None:
    """Return the text of the first RFC 5322 comment in a field value, if it has one."""
    found = _COMMENT.search(unfold(raw))
    if found is None:
        return None
    return found[1].strip() or None


_RECIPIENT_FIELD_NAMES = frozenset({"final-recipient", "original-recipient", "action", "status"})
_PER_RECIPIENT_NAMES = frozenset(
    {
        "final-recipient",
        "original-recipient",
        "action",
        "status",
        "remote-mta",
        "diagnostic-code",
        "last-attempt-date",
        "final-log-id",
        "will-retry-until",
    }
)
_MESSAGE_FIELD_NAMES = frozenset(
    {"reporting-mta", "dsn-gateway", "received-from-mta", "arrival-date", "original-envelope-id"}
)


def _resplit(groups: list[Group]) -> list[Group]:
    """
    Split groups that a missing blank line joined.

    Some servers write the per-message group and the recipient groups with no
    blank line between them. A recipient group starts at ``Original-Recipient``
    or ``Final-Recipient`` when the current group already has that field, and
    at any per-recipient field when the current group has per-message fields only.
    """
    result: list[Group] = []
    for group in groups:
        current: Group = []
        seen: set[str] = set()
        # Whether the current group has a per-message and a per-recipient field.
        has_message = has_recipient = False
        for name, value in group:
            key = name.lower()
            starts_recipient = key in ("final-recipient", "original-recipient")
            # A per-recipient field after per-message fields only, such as an Action
            # written before Final-Recipient, also starts the recipient group.
            after_message = has_message and not has_recipient
            if current and (
                (starts_recipient and (key in seen or after_message))
                or (key in _PER_RECIPIENT_NAMES and after_message)
            ):
                result.append(current)
                current, seen = [], set()
                has_message = has_recipient = False
            current.append((name, value))
            seen.add(key)
            has_message = has_message or key in _MESSAGE_FIELD_NAMES
            has_recipient = has_recipient or key in _PER_RECIPIENT_NAMES
        if current:
            result.append(current)
    return result


def _is_recipient_group(group: Group) -> bool:
    return any(name.lower() in _RECIPIENT_FIELD_NAMES for name, _ in group)


def _is_message_group(group: Group) -> bool:
    names = {name.lower() for name, _ in group}
    return bool(names & _MESSAGE_FIELD_NAMES) and not names & {"final-recipient", "action"}


def parse_delivery_status(part: Message) -> tuple[DeliveryStatus, list[Defect]]:
    """
    Parse a ``message/delivery-status`` or ``message/global-delivery-status`` *part*.

    Groups with no field are skipped. When the first group already reads
    like a recipient group (it has ``Final-Recipient`` or ``Action``), the
    per-message group is taken as missing rather than the recipient lost.
    """
    groups, defects = _groups_of_part(part)
    is_global = part.get_content_type() == "message/global-delivery-status"
    return _delivery_status_of_groups(groups, defects, is_global=is_global)


def parse_delivery_status_text(
    text: str, *, is_global: bool = False
) -> tuple[DeliveryStatus, list[Defect]]:
    """Parse the text of a delivery-status part, such as one cut out of a broken MIME message."""
    groups, defects = split_groups(text)
    return _delivery_status_of_groups(groups, defects, is_global=is_global)


def _delivery_status_of_groups(
    groups: list[Group], defects: list[Defect], *, is_global: bool
) -> tuple[DeliveryStatus, list[Defect]]:
    groups = _resplit([[(name, repair_text(value)) for name, value in group] for group in groups])
    message = MessageFields()
    if groups and (_is_message_group(groups[0]) or not _is_recipient_group(groups[0])):
        message = _parse_message_fields(groups.pop(0), defects)
    elif groups:
        defects.append(Defect("missing-per-message-fields", "the DSN has no per-message group"))
    recipients = []
    for group in groups:
        if not _is_recipient_group(group):
            defects.append(
                Defect(
                    "invalid-recipient-group",
                    f"a DSN group has no recipient field: {group[0][0]!r}",
                )
            )
            continue
        recipients.append(_parse_recipient_fields(group, defects))
    return DeliveryStatus(message, tuple(recipients), global_=is_global), defects


def most_specific_status(written: StatusCode | None, texts: Iterable[str]) -> StatusCode | None:
    """
    Return the code of the remote server's reply in *texts*, or else *written*.

    The reply is the receiving server's own account of the failure, while the
    ``Status`` field is the reporting MTA's summary of it: Sendmail writes
    ``5.1.1`` over a ``550 5.7.1 IP address blacklisted`` reply, and a generic
    ``X.0.0`` gives only the class. So a non-generic code of the same class in
    the text wins. With no *written* code, the first code in the text of any
    class is used.
    """
    for text in texts:
        for code in find_status_codes(text, prefer_replies=True):
            if written is None:
                return code
            if code.class_ == written.class_ and not code.is_generic:
                return code
    return written


def is_complete_address(value: str) -> bool:
    """Say whether *value* has a local part and a domain, with no source route."""
    local, at, domain = value.rpartition("@")
    return bool(at and local and domain) and not value.startswith("@")


def recipient_from_fields(fields: RecipientFields, defects: list[Defect]) -> Recipient | None:
    """Build the :class:`Recipient` of one DSN group, or ``None`` when it names no address."""
    candidates = [
        typed.value
        for typed in (fields.final_recipient, fields.original_recipient)
        if typed is not None and typed.value
    ]
    # A Final-Recipient with a source route ("@relay:user@host") or no local
    # part is a relay's rewrite; the Original-Recipient is then the address.
    complete = [value for value in candidates if is_complete_address(value)]
    address = (complete or candidates or [""])[0]
    if not address:
        defects.append(Defect("missing-final-recipient", "a DSN group names no recipient address"))
        return None
    if fields.final_recipient is None:
        defects.append(Defect("missing-final-recipient", f"no Final-Recipient for {address!r}"))
    code = fields.diagnostic_code
    diagnostic = code.value if code else None
    status = most_specific_status(fields.status, [diagnostic] if diagnostic else [])
    reply_code = None
    # An X-Unix diagnostic is the exit status of a delivery program, not an SMTP reply.
    if code and diagnostic and code.type.lower() != "x-unix":
        reply_code = find_reply_code(diagnostic)
    if status is None and reply_code is not None:
        # RFC 3463 section 3: X.0.0 is the code for a failure of which only the class is known.
        status = status_code(int(reply_code[0]), 0, 0)
    return Recipient(
        address=address,
        action=fields.action,
        status=status,
        reply_code=reply_code,
        diagnostic=diagnostic or None,
        remote_mta=fields.remote_mta.value if fields.remote_mta else None,
        dsn=fields,
        command=find_command(diagnostic) if diagnostic else None,
    )


def _notice_lines_about(address: str, notice: str) -> str | None:
    """Return the notice's line about *address*, with its indented continuation, if it has codes."""
    wanted = address.lower()
    lowered_notice = notice.lower()
    # A line contains the address only if the notice does, so one substring test
    # rules most notices out before they are split into lines.
    if wanted not in lowered_notice:
        return None
    lines = notice.splitlines()
    # Lower-casing adds and removes no line break, so the lines stay aligned.
    for index, lowered in enumerate(lowered_notice.splitlines()):
        if wanted not in lowered:
            continue
        line = lines[index]
        block = [line.strip()]
        for following in lines[index + 1 : index + 4]:
            if not following.strip() or following[0] not in " \t":
                break
            block.append(following.strip())
        joined = " ".join(block)
        if find_status_codes(joined) or find_reply_code(joined):
            return joined
    return None


# The minimum length of the text beside the address for a line to count as a reason.
_MIN_REASON_LENGTH = 8
# A header field of the original message that the notice quotes, such as
# "To: a@b" in a list of the fields of the message that failed.
_QUOTED_FIELD = re.compile(r"\s*(?:to|cc|bcc|from|reply-to|sender|subject)\s*:")
# A label before the address that names it but gives no reason for the failure,
# as in Oracle Communications Messaging Server's "Recipient address: a@b".
_ADDRESS_LABEL = re.compile(r"^\s*(?:recipient|original|final)?\s*(?:address|recipient)\s*:")
# The label of the line that follows such an address line: "Reason: ...".
_REASON_LABEL = re.compile(r"^reason:\s*", re.IGNORECASE)


def _notice_reason_about(address: str, notice: str) -> str | None:
    """
    Return the notice's words about *address* when no line about it has codes.

    That is the line that names the address, when it contains more than the address,
    or else the paragraph after a line that contains the address alone, as in a list
    of failed addresses each followed by its reason.
    """
    wanted = address.lower()
    lines = notice.splitlines()
    for index, line in enumerate(lines):
        lowered = line.lower()
        if wanted not in lowered or _QUOTED_FIELD.match(lowered):
            continue
        rest = _ADDRESS_LABEL.sub("", lowered.replace(wanted, "")).strip(" \t<>:;,.\"'()[]-")
        if len(rest) >= _MIN_REASON_LENGTH:
            return line.strip()
        paragraph = _next_paragraph(lines, index + 1)
        if paragraph:
            return _REASON_LABEL.sub("", paragraph)
    return None


def _next_paragraph(lines: list[str], start: int) -> str:
    """Return the lines from *start*, after any blank ones, up to the next blank line, joined."""
    while start < len(lines) and not lines[start].strip():
        start += 1
    block = []
    for line in lines[start:]:
        if not line.strip():
            break
        block.append(line.strip())
    return " ".join(block)


def with_status_comment(recipient: Recipient) -> Recipient:
    """
    Take the comment of the ``Status`` field as the diagnostic when nothing else gave one.

    Sendmail writes the reason of a delay there, as in ``Status: 4.0.0
    (example.net: host name lookup failure)``, with no ``Diagnostic-Code``.
    """
    comment = recipient.dsn.status_comment if recipient.dsn is not None else None
    if recipient.diagnostic is not None or comment is None:
        return recipient
    return attrs.evolve(recipient, diagnostic=comment)


def with_notice_text(recipient: Recipient, notice: str) -> Recipient:
    """
    Fill what a DSN group left out from the human-readable part of the notice.

    Some servers write only ``Status: 5.0.0`` in the DSN group and give the
    remote server's reply in the text part, on the line that names the
    recipient. A missing or generic status, a missing reply code and a missing
    diagnostic are taken from that line. A recipient with no diagnostic at all
    takes the notice's words about it even without codes. The SMTP command, when the diagnostic
    does not name it, is taken from the notice's transcript or wording about
    the recipient.
    """
    if not notice:
        return recipient
    if recipient.command is None:
        command = command_in_notice(recipient.address, notice)
        if command is not None:
            recipient = attrs.evolve(recipient, command=command)
    complete = (
        recipient.status is not None
        and not recipient.status.is_generic
        and recipient.reply_code is not None
        and recipient.diagnostic is not None
    )
    if complete:
        return recipient
    line = _notice_lines_about(recipient.address, notice)
    if line is None and recipient.diagnostic is None:
        line = _notice_reason_about(recipient.address, notice)
    if line is None:
        return recipient
    return attrs.evolve(
        recipient,
        status=most_specific_status(recipient.status, [line]),
        reply_code=recipient.reply_code or find_reply_code(line),
        diagnostic=recipient.diagnostic or line,
        command=recipient.command or find_command(line),
    )
