"""
Messages in a bounce mailbox that are not failures: complaints and auto-replies.

An ARF feedback report (RFC 5965) reports that a recipient marked a message as
spam or asked to leave a list. An automatic reply (RFC 3834) shows that the
mailbox works, unless its text states that the mailbox is closed. Neither may be
counted as a failed delivery.
"""

from __future__ import annotations

import contextlib
import email.header
import email.parser
import email.policy
import re
from collections.abc import Sequence
from email.message import Message

import attrs

from bouncekit._address import find_addresses
from bouncekit._message import RETURNED_TYPES, headers_of, normalize_message_id, returned_headers
from bouncekit._model import Action, Bounce, BounceKind, Headers, Recipient
from bouncekit._status import status_code
from bouncekit._text import part_text, repair_text

__all__ = [
    "ARF_TYPE",
    "auto_reply",
    "complaint",
    "decoded_subject",
    "is_auto_reply",
    "returned_to",
]

ARF_TYPE = "message/feedback-report"


def decoded_subject(headers: Headers, *, lower: bool = True) -> str:
    """Return the ``Subject``, lower-cased unless *lower* is false, with RFC 2047 words decoded."""
    value = repair_text(headers.get("Subject") or "")
    if "=?" in value:
        with contextlib.suppress(ValueError, LookupError, UnicodeDecodeError):
            value = str(email.header.make_header(email.header.decode_header(value)))
    return value.lower() if lower else value


def first_addresses(headers: Headers, names: Sequence[str]) -> list[str]:
    """Return the addresses of the first field of *names*, in that order, that has any."""
    for name in names:
        for value in headers.get_all(name):
            found = find_addresses(value)
            if found:
                return found
    return []


def returned_to(original: Headers) -> list[str]:
    """Return the recipients of a returned message, from ``To`` or the envelope fields."""
    return first_addresses(original, ("To", "Envelope-To", "X-Original-To", "Delivered-To", "Cc"))


def _feedback_report(parts: Sequence[Message]) -> tuple[Message, Sequence[Message]] | None:
    """
    Return the ARF report's fields and the parts it sits among.

    A report forwarded inside a ``message/rfc822`` part is found one level down.
    """
    for part in parts:
        if part.get_content_type() == ARF_TYPE:
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0], parts
            text = part_text(part)
            parser = email.parser.HeaderParser(policy=email.policy.compat32)
            return parser.parsestr(text.lstrip()), parts
    for part in parts:
        if part.get_content_type() != "message/rfc822":
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload:
            inner = payload[0]
            # Only a report is looked into, not every returned message.
            if isinstance(inner, Message) and inner.get_content_type() == "multipart/report":
                inner_parts = list(inner.walk())
                if any(sub.get_content_type() == ARF_TYPE for sub in inner_parts):
                    return _feedback_report(inner_parts[1:])
    return None


def complaint(message: Message, parts: Sequence[Message], base: Bounce) -> Bounce | None:
    """Read an RFC 5965 feedback report, or a provider's complaint in the same spirit."""
    headers = base.headers
    report = _feedback_report(parts)
    original = base.original_headers
    if report is None:
        if "X-Apple-Unsubscribe" in headers:
            addresses = find_addresses(headers.get("From") or "")
            feedback_type = "opt-out"
        elif "complaint about message" in (headers.get("Subject") or "").lower() and original:
            addresses = find_addresses(
                original.get("X-HmXmrOriginalRecipient") or ""
            ) or returned_to(original)
            feedback_type = "abuse"
        else:
            return None
    else:
        report_fields, report_parts = report
        if report_parts is not parts:
            returned = [p for p in report_parts if p.get_content_type() in RETURNED_TYPES]
            original = returned_headers(returned[0]) if returned else Headers()
        fields = headers_of(report_fields)
        feedback_type = (fields.get("Feedback-Type") or "other").strip().lower()
        addresses = [
            a for value in fields.get_all("Original-Rcpt-To") for a in find_addresses(value)
        ]
        addresses = addresses or [
            a for value in fields.get_all("Removal-Recipient") for a in find_addresses(value)
        ]
        addresses = addresses or returned_to(original)
    recipients = tuple(Recipient(address=address) for address in dict.fromkeys(addresses))
    return attrs.evolve(
        base,
        kind=BounceKind.COMPLAINT,
        format="arf",
        original_headers=original,
        original_message_id=normalize_message_id(original.get("Message-ID")),
        recipients=recipients,
        feedback_type=feedback_type,
    )


# RFC 3834 section 5 and the fields vacation programs set instead.
_AUTO_REPLY_FIELDS = (
    "X-Autoreply",
    "X-Autorespond",
    "X-Autoresponder",
    "X-Vacation",
    "X-AutoReply-From",
)
_AUTO_REPLY_SUBJECTS = (
    "auto:",
    "automatic reply",
    "autoreply",
    "auto-reply",
    "auto reply",
    "out of office",
    "out of the office",
    "vacation",
    "abwesenheitsnotiz",
    "automatische antwort",
    "réponse automatique",
    "reponse automatique",
    "absence",
    "respuesta automática",
    "respuesta automatica",
    "fuera de la oficina",
    "risposta automatica",
    "fuori sede",
    "automatisch antwoord",
    "afwezig",
    "autosvar",
    "automaattinen vastaus",
    "resposta automática",
    "automatyczna odpowiedź",
    "自動応答",
    "自動返信",
    "不在",
    "自动回复",
)


def is_auto_reply(headers: Headers) -> bool:
    auto = (headers.get("Auto-Submitted") or "").strip().lower()
    if auto.startswith("auto-replied"):
        return True
    if any(name in headers for name in _AUTO_REPLY_FIELDS):
        return True
    precedence = (headers.get("Precedence") or "").strip().lower()
    if precedence == "auto_reply":
        return True
    subject = decoded_subject(headers)
    return any(marker in subject for marker in _AUTO_REPLY_SUBJECTS)


# Wordings of an automatic reply stating that the mailbox itself is gone, which is
# a failure notice in effect even though the mail server sent it as a reply.
_MAILBOX_CLOSED = re.compile(
    r"\b(?:is|has been|will be) no longer "
    r"(?:in use|active|monitored|valid|available|checked|read)\b"
    r"|\b(?:mailbox|inbox|account|address) (?:has been|was|is) "
    r"(?:closed|deactivated|disabled|discontinued)\b"
    r"|\bno longer (?:exists|works (?:here|for)|with (?:the company|us))\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def _closed_mailbox_sentence(text: str) -> str | None:
    """Return the sentence of an auto-reply's *text* that states the mailbox is closed."""
    found = _MAILBOX_CLOSED.search(text)
    if found is None:
        return None
    starts = [match.end() for match in _SENTENCE_END.finditer(text, 0, found.start())]
    start = starts[-1] if starts else 0
    end = _SENTENCE_END.search(text, found.end())
    return " ".join(text[start : end.start() if end else len(text)].split())


def auto_reply(base: Bounce, text: str = "") -> Bounce:
    """
    Mark *base* as an auto-reply, reporting on the address that replied.

    The responder is the reply's ``From`` address, listed with no action and
    no status: the reply shows its mailbox works, and the rules classify it as
    ignored. A reply whose *text* states that the mailbox is no longer in use is a
    failure notice in effect: it becomes a non-standard bounce for the address
    that sentence names (or the responder), with the sentence as diagnostic.

    The original Message-ID falls back to ``In-Reply-To`` when no copy of the
    original message came back.
    """
    original_id = base.original_message_id
    if original_id is None:
        original_id = normalize_message_id(base.headers.get("In-Reply-To"))
    responder = next(iter(first_addresses(base.headers, ("From", "Reply-To", "Sender"))), None)
    closed = _closed_mailbox_sentence(text)
    if closed is not None:
        named = find_addresses(closed)
        address = named[0] if named else responder
        if address:
            # RFC 3463 section 3: X.0.0 when only the class is known, here permanent.
            status = status_code(5, 0, 0)
            recipient = Recipient(address, action=Action.FAILED, status=status, diagnostic=closed)
            return attrs.evolve(
                base,
                kind=BounceKind.NON_STANDARD,
                format="rfc3834",
                recipients=(recipient,),
                original_message_id=original_id,
            )
    recipients = (
        ()
        if responder is None
        else (Recipient(responder, diagnostic=decoded_subject(base.headers, lower=False)),)
    )
    return attrs.evolve(
        base,
        kind=BounceKind.AUTO_REPLY,
        format="rfc3834",
        recipients=recipients,
        original_message_id=original_id,
    )
