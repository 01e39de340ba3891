"""
Failure notices in mail servers' own layouts, and the last step of ``parse``.

Each mail server lays out its own failure notice: a sentence, a list of
failed addresses with the remote server's reply under each, and a copy of the
original message after a marker line. The layouts differ in their wording,
not in their shape. So each one is a :class:`NoticeFormat` declaration (in
``_format_table``), and this module contains the machinery they share:

1. The notice text is the first text part (HTML reduced to text when there is
   no plain part) up to the marker line before the quoted original message.
2. The first declaration whose markers all hit names the format. Sender and
   subject are checked before the body, so most declarations cost two
   substring tests.
3. Recipients are the addresses that start a line inside the failure block;
   the lines under an address, up to the next one, are its diagnostic. Failing
   that, the ``X-Failed-Recipients`` field, then the addresses written anywhere
   in the block, then the returned message's ``To``.
4. Status and reply codes come from the diagnostic with its wrapped lines
   joined, then from the whole notice when it names one recipient.

Amazon SES's JSON notifications have a reader of their own here. ARF reports
(RFC 5965) and auto-replies (RFC 3834) reach the same mailbox and must not be
counted as failures, so :func:`complete_bounce` checks for them first with
``_feedback``.
"""

from __future__ import annotations

import functools
import html
import json
import re
from collections.abc import Iterable, Sequence
from email.message import Message
from typing import Any

import attrs

from bouncekit._address import find_addresses, normalize_address
from bouncekit._command import command_in_notice, find_command
from bouncekit._feedback import (
    ARF_TYPE,
    auto_reply,
    complaint,
    decoded_subject,
    is_auto_reply,
    returned_to,
)
from bouncekit._format_table import DSN_WRITERS, FORMATS, GENERIC, NoticeFormat
from bouncekit._message import RETURNED_TYPES, headers_of, normalize_message_id, returned_headers
from bouncekit._model import (
    Action,
    Bounce,
    BounceKind,
    Defect,
    DeliveryStatus,
    Headers,
    Recipient,
    RecipientFields,
)
from bouncekit._status import StatusCode, find_status_codes, status_code
from bouncekit._text import (
    ascii_folded,
    find_reply_code,
    part_text,
    repair_text,
    search_at_words,
)

__all__ = ["complete_bounce", "dsn_format_name"]


def _matches(fmt: NoticeFormat, notice: _Notice) -> bool:
    """Return whether every marker group *fmt* gives hits *notice*."""
    if fmt.senders and not _contains_any(notice.sender, fmt.senders):
        return False
    if fmt.subjects and not _contains_any(notice.subject, fmt.subjects):
        return False
    if fmt.fields and not any(name in notice.headers for name in fmt.fields):
        return False
    # NOTE: body markers are searched in the whole text, quoted original included, so a
    # marker that a quoted header can contain ("m-filter" in "DKIM-Filter") misleads.
    return not fmt.body or _contains_any(notice.text_lower, fmt.body)


def _contains_any(text: str, markers: tuple[str, ...]) -> bool:
    # A plain loop, because every message is tested against every format and
    # the generator behind any() cost more than the substring tests.
    for marker in markers:  # noqa: SIM110
        if marker in text:
            return True
    return False


@attrs.define
class _Notice:
    """The parts of a message the declarations look at, computed once."""

    message: Message
    headers: Headers
    sender: str
    subject: str
    text: str
    text_lower: str
    later_texts: list[str]


# Lines that come right before a quoted copy of the original message. They are
# searched case-insensitively in each line with its ends stripped.
_ORIGINAL_PATTERNS = (
    r"^[-=_* ]*(?:the )?original message(?: header[s]?)?(?: follows)?[-=_*.: ]*$",
    r"^[-=_* ]*original message (?:follows|headers?)\b",
    r"\bthis is a copy of the message\b",
    r"\bbelow this line is a copy of the message\b",
    r"\bheaders? of the (?:original|returned) message\b",
    r"\bcopy of the (?:original )?message(?:'s)? headers?\b",
    r"\bbelow is a copy of the original message\b",
    r"^message headers follow\b",
    r"^[-=_* ]*(?:unsent|returned|undelivered|original|rejected|bounced|failed)"
    r" (?:message|mail|e-?mail)(?:'s)?(?: headers?)?(?: (?:follows?|below|is following))?"
    r"[-=_*:. ]*$",
    r"^[-= ]*(?:the )?(?:text|headers?) of (?:the|your) (?:original |returned )?message"
    r"(?: follows)?\b",
    r"^original message headers:?$",
    r"^[-= ]*message text follows\b",
)
# The words that every pattern above without "^" starts with.
_ORIGINAL_FLOATING_STARTS = (
    "this is a copy",
    "below this line",
    "header",
    "copy of the",
    "below is a copy",
)


@functools.lru_cache(maxsize=64)
def _line_pattern(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """
    Compile line *patterns* into at most two patterns, so a text is scanned twice at most.

    A pattern anchored with ``^`` or ``$`` is anchored to a line with its
    surrounding blanks. Any other pattern may match anywhere in a line. Those
    are searched separately, because a line-start prefix would make the
    engine rescan every line once per pattern.

    The added blanks are matched possessively (``*+``). A pattern that starts
    with its own ``[-= ]*`` would otherwise try every split of a line's
    leading spaces between the two, so a notice with many lines of spaces
    took milliseconds. An anchored pattern therefore cannot require a blank
    at its start.
    """
    anchored = []
    floating = []
    for pattern in patterns:
        if pattern.startswith("^"):
            anchored.append(rf"(?:^[ \t]*+{_line_body(pattern)})")
        else:
            floating.append(f"(?:{pattern})")
    flags = re.IGNORECASE | re.MULTILINE
    return tuple(re.compile("|".join(group), flags) for group in (anchored, floating) if group)


def _line_body(pattern: str) -> str:
    """Return anchored *pattern* without its ``^``, with blanks allowed before its ``$``."""
    body = pattern[1:]
    return body[:-1] + r"[ \t]*+$" if body.endswith("$") else body


def _newline_led(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """
    Compile the anchored *patterns* as ``_line_pattern`` does, with a newline for ``^``.

    A pattern that starts with a fixed character is scanned for much faster
    than one that starts with ``^``, which the engine tries at every
    position. Searched in ``"\\n" + text``, this pattern matches at index *i*
    exactly where the ``_line_pattern`` one matches *text* at index *i*.
    """
    bodies = "|".join(f"(?:{_line_body(pattern)})" for pattern in patterns if pattern[:1] == "^")
    return re.compile(rf"\n[ \t]*+(?:{bodies})", re.IGNORECASE | re.MULTILINE)


def _first_match(text: str, patterns: Sequence[re.Pattern[str]]) -> re.Match[str] | None:
    found = [match for match in (pattern.search(text) for pattern in patterns) if match]
    return min(found, key=lambda match: match.start()) if found else None


_ORIGINAL_MARKERS = _line_pattern(_ORIGINAL_PATTERNS)
_ORIGINAL_LINE_MARKERS = _newline_led(_ORIGINAL_PATTERNS)


def _search_original_line(text: str) -> re.Match[str] | None:
    """Return what ``_ORIGINAL_MARKERS[0].search(text)`` returns, found faster."""
    line = _ORIGINAL_LINE_MARKERS.search("\n" + text)
    return None if line is None else _ORIGINAL_MARKERS[0].match(text, line.start())


# A header field line of a quoted message.
_HEADER_LINE = re.compile(r"^[!-9;-~]+:")
# A quoted Message-ID field at the start of the text, and at the start of a later
# line. A pattern that starts with a fixed character is scanned for much faster
# than one with "^", which the engine tries at every position of the text.
_QUOTED_MESSAGE_ID = re.compile(r"[> \t]*Message-ID:[ \t]*(<[^<>\s]+>)", re.IGNORECASE)
_QUOTED_MESSAGE_ID_LATER = re.compile(r"\n[> \t]*Message-ID:[ \t]*(<[^<>\s]+>)", re.IGNORECASE)
# Lines that start a quoted header block even after text, after one ">" and any
# white space other than a line break, which str.lstrip() strips from a line too.
_HEADER_START_FIELDS = (
    r"(?:received|return-path|message-id|from|to|subject|date|x-[\w-]+|mime-version|"
    r"delivered-to|dkim-signature|authentication-results|reply-to):"
)
_HEADER_START = re.compile(rf">?[^\S\n]*{_HEADER_START_FIELDS}", re.IGNORECASE)
# The same at the start of any later line. A pattern that starts with a fixed
# character is scanned for much faster than one tried at every line.
_HEADER_START_LATER = re.compile(rf"\n>?[^\S\n]*{_HEADER_START_FIELDS}", re.IGNORECASE)
# The number of lines at the start of a quoted text searched for a header block.
_MAX_LEAD_IN_LINES = 60
# The fields a copy of a message starts with when it is quoted whole. A
# forwarded notice starts with From/Date/To instead, so those do not count.
_TRACE_START = re.compile(
    r"^(?:received|return-path|delivered-to|dkim-signature|x-[\w-]+):", re.IGNORECASE
)
# A line that names a failed address first: "<a@b>:", "a@b", '"a@b":', "-- a@b",
# "* a@b", ">>> a@b <a@b>", "a@b<mailto:a@b>", "a@b: 550 ...".
_ADDRESS_FIRST = re.compile(
    r"""^[\s>*\-•·]*(?:RCPT\s+TO:\s*|recipient(?:\s+address)?:\s*)?["'<(\[]?\s*"""
    r"""(?P<address>[\w.!#$%&'*+/=?^`{|}~-]+@(?:[\w-]+\.)+[\w-]+|[\w.!#$%&'*+/=?^`{|}~-]+@\[[\d.:a-fA-F]+\])"""
    r"""\s*["'>)\]]?(?=[\s:;,.<(\[]|$)""",
    re.IGNORECASE,
)
# "[^<>]" rather than "[^>]": a run of "<" with no ">" would take quadratic time.
_TAGS = re.compile(r"<[^<>]*>")
_BLOCK_TAGS = re.compile(r"<(?:br|/p|/div|/tr|/li|/h\d|p|div|tr|li)\b[^<>]*>", re.IGNORECASE)

_SYSTEM_LOCAL_PARTS = frozenset(
    {"mailer-daemon", "postmaster", "root", "abuse", "noreply", "no-reply", "mail-daemon", "daemon"}
)


@attrs.frozen
class _Phrases:
    """
    Phrases that each start at a word boundary, searched case-insensitively.

    A pattern that starts with ``\\b`` and an alternation of words gives the
    regular expression engine nothing to skip ahead to, so it was among the
    slowest searches over a notice. ``re.IGNORECASE`` matches a lower-case
    ASCII phrase only where the :func:`ascii_folded` text contains it. So the
    phrases are first looked for as substrings of that text, and the pattern
    runs only when one is there or the text has no folded form.
    """

    phrases: tuple[str, ...] = attrs.field()
    pattern: re.Pattern[str] = attrs.field(init=False)

    @phrases.validator
    def _check(self, _: attrs.Attribute[tuple[str, ...]], phrases: tuple[str, ...]) -> None:
        for phrase in phrases:
            if not phrase.isascii() or phrase != phrase.lower():
                msg = f"invalid phrase {phrase!r}: phrases must be lower-case ASCII"
                raise ValueError(msg)

    @pattern.default
    def _compile(self) -> re.Pattern[str]:
        words = "|".join(re.escape(phrase) for phrase in self.phrases)
        return re.compile(rf"\b(?:{words})", re.IGNORECASE)

    def found_in(self, text: str, lowered: str) -> bool:
        """Return whether *text*, lower-cased as *lowered*, contains a phrase."""
        folded = ascii_folded(text, lowered)
        if folded is not None and not any(phrase in folded for phrase in self.phrases):
            return False
        return self.pattern.search(text) is not None


# Wording of a notice that reports a temporary failure: the class is 4 when no
# code is written. Only the words of _DELAYED mean delivery is still being tried.
_TEMPORARY = _Phrases(
    (
        "temporary",
        "temporarily",
        "retry timeout exceeded",
        "retry time not reached",
        "host not reachable",
    )
)
_DELAYED = _Phrases(
    (
        "will retry",
        "will retried",
        "will be retry",
        "will be retried",
        "still trying",
        "delayed",
        "not yet been delivered",
        "will continue",
        "warning: message",
    )
)

_FAILURE_WORDS = re.compile(
    r"deliver|fail|reject|refuse|return|bounce|unknown|not found|no such|unable|could not|"
    r"couldn't|cannot|error|invalid|denied|full|exceed|\b[45][0-5]\d\b|\b[45]\.\d{1,3}\.\d{1,3}\b"
)

_PUNCTUATION = ":;,.-_=*<>()[] \t"
_MAX_HEADER_LINES = 500
# Three digits that are not part of a longer number. The test for a digit before
# them follows the first digit, because a pattern that starts with a character
# set is scanned for much faster than one that starts with a lookbehind.
_MAYBE_REPLY_CODE = re.compile(r"[245](?<!\d[245])[0-5]\d(?!\d)")
# A line that is a server's failure reply: "550 - Requested action not taken: ...".
_REPLY_LINE = re.compile(r"^[ \t]*[45][0-5]\d[ \t-].*$", re.MULTILINE)
# The lines of a multi-line failure reply ("550-First line", "550 Last line").
_REPLY_LINES = re.compile(
    r"^[ \t]*[45][0-5]\d[ \t-].*(?:\n[ \t]*[45][0-5]\d[ \t-].*)*", re.MULTILINE
)
# Notice lines that are never the reason: the header fields of the original
# that the notice quotes, lines of punctuation only, and a "Your message" heading.
_NOT_REASON_LINE = re.compile(
    r"^[ \t]*(?:(?:to|cc|bcc|from|subject|date|sent|reply-to)[ \t]*:.*|[-=_*#~ \t]*|your message)$",
    re.IGNORECASE,
)
# The sentences that open a notice of Exim and of Exchange 2003.
_INTRODUCTION = re.compile(
    r"this message was created automatically by .*?\.(?=\s|$)\s*"
    r"|a message that you sent could not be delivered to .*?\.(?=\s|$)\s*"
    r"|this is a permanent error\.\s*"
    r"|the following address\(es\) failed:\s*"
    r"|did not reach the following recipient(?:s|\(s\))?:\s*",
    re.IGNORECASE,
)
# Envelope labels at the start of an entry, as in indimail's
# "From: <sender> RCPT: <recipient> 192.0.2.25 does not like recipient."
_ENVELOPE_LABELS = re.compile(
    r"^(?:(?:from|to|rcpt(?: to)?|mail from)[ \t]*:[ \t]*<[^<>]*>\s*)+", re.IGNORECASE
)


def _without_scripts(markup: str) -> str:
    """
    Remove ``<script>`` and ``<style>`` elements with their content.

    This scans with ``str.find``, because a pattern with a lazy ``.*?`` takes
    quadratic time on many unclosed elements. An unclosed one runs to the end.
    """
    lowered = markup.lower()
    pieces = []
    position = 0
    while True:
        starts = [
            index
            for index in (lowered.find(f"<{tag}", position) for tag in ("script", "style"))
            if index >= 0
        ]
        if not starts:
            pieces.append(markup[position:])
            return "".join(pieces)
        start = min(starts)
        tag = "script" if lowered.startswith("<script", start) else "style"
        pieces.append(markup[position:start])
        end = lowered.find(f"</{tag}", start)
        if end < 0:
            return "".join(pieces)
        close = lowered.find(">", end)
        position = len(markup) if close < 0 else close + 1


def _html_to_text(markup: str) -> str:
    text = _BLOCK_TAGS.sub("\n", _without_scripts(markup))
    return html.unescape(_TAGS.sub("", text))


def _text_parts(message: Message) -> list[Message]:
    """Return the text parts of *message*, not those inside a returned message."""
    found: list[Message] = []
    stack = [message]
    while stack:
        part = stack.pop(0)
        content_type = part.get_content_type()
        if content_type in RETURNED_TYPES or content_type == ARF_TYPE:
            continue
        # is_multipart() returns whether the payload is a list without reading it,
        # and reading a leaf part's payload checks the whole body.
        if part.is_multipart():
            stack[0:0] = [sub for sub in part.get_payload() if isinstance(sub, Message)]
        elif part.get_content_maintype() == "text" and not _is_attachment(part):
            found.append(part)
        elif part.is_multipart() or part.get_content_maintype() == "multipart":
            # A multipart part whose boundary was lost (a folded header line
            # without indentation, or a boundary that does not match): its raw
            # body is the only text there is.
            found.append(part)
    return found


def _is_attachment(part: Message) -> bool:
    disposition = str(part.get("Content-Disposition", "")).lower()
    return disposition.startswith("attachment") and part.get_content_subtype() not in (
        "plain",
        "html",
    )


def _notice_texts(message: Message) -> list[str]:
    parts = _text_parts(message)
    plain = [part for part in parts if part.get_content_subtype() != "html"]
    chosen = plain or parts[:1]
    texts = []
    for part in chosen:
        text = part_text(part).replace("\r\n", "\n").replace("\r", "\n")
        if part.get_content_subtype() == "html":
            text = _html_to_text(text)
        texts.append(text)
    if plain and not "".join(texts).strip():
        html_parts = [part for part in parts if part.get_content_subtype() == "html"]
        if html_parts:
            texts = [_html_to_text(part_text(html_parts[0]))]
    return texts


def _read_notice(message: Message, headers: Headers) -> _Notice:
    texts = _notice_texts(message) or [""]
    first = texts[0]
    return _Notice(
        message=message,
        headers=headers,
        sender=(headers.get("From") or "").lower(),
        subject=decoded_subject(headers),
        text=first,
        text_lower=first.lower(),
        later_texts=texts[1:],
    )


def _unquote(text: str) -> str:
    """Remove one level of ``>`` quoting when most lines carry it."""
    # Most notices are not quoted, and counting the quoted lines needs no split.
    if text.startswith(">") + text.count("\n>") < 3:
        return text
    lines = text.split("\n")
    quoted = [line for line in lines if line.startswith(">")]
    if len(quoted) < max(3, len([line for line in lines if line.strip()]) // 2):
        return text
    return "\n".join(line[1:].removeprefix(" ") if line.startswith(">") else line for line in lines)


def _split_original(text: str, extra: Sequence[re.Pattern[str]]) -> tuple[str, str | None]:
    """
    Split *text* at the marker line before the quoted original message.

    With no marker line, a run of four header lines that starts with a trace
    field such as ``Received:`` starts the quoted original.
    """
    found = _first_match(text, extra)
    if found is None:
        found = _search_original_line(text)
        lowered = text.lower()
        # The markers that may sit anywhere in a line all contain one of these
        # words, and a plain substring test is much cheaper than the patterns.
        if "copy" in lowered or "header" in lowered:
            floating = search_at_words(
                _ORIGINAL_MARKERS[1], text, lowered, _ORIGINAL_FLOATING_STARTS
            )
            if floating is not None and (found is None or floating.start() < found.start()):
                found = floating
    if found is not None:
        start = text.rfind("\n", 0, found.start()) + 1
        end = text.find("\n", found.end())
        return text[:start].removesuffix("\n"), "" if end < 0 else text[end + 1 :]
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if _TRACE_START.match(line) and _is_header_run(lines[index + 1 : index + 4]):
            return "\n".join(lines[:index]), "\n".join(lines[index:])
    return text, None


def _is_header_run(lines: Sequence[str]) -> bool:
    return len(lines) == 3 and all(
        _HEADER_LINE.match(line) or line[:1] in (" ", "\t") for line in lines
    )


def _quoted_headers(text: str) -> Headers:
    """
    Parse the header block at the start of quoted *text*, skipping lead-in lines.

    Quoted copies are often damaged: folded lines lose their indentation and
    the space after the colon goes missing. A line that is not a field is
    taken as the continuation of the field before it; a blank line ends the
    block. The ``Message-ID`` is looked for in the whole quoted text when the
    block has none, since it is what a sender needs most.
    """
    start = _header_block_start(text)
    if start is None:
        return Headers()
    index, position = start
    fields: list[list[str]] = []
    # A header block is rarely longer than a few hundred lines, so only the first
    # _MAX_HEADER_LINES lines of the text are read. Each line is cut out and
    # unquoted as it is read, up to the blank line that ends the block, because
    # a quoted text can run to tens of kilobytes after it.
    for _ in range(index, _MAX_HEADER_LINES):
        end = text.find("\n", position)
        line = _unquote_line(text[position:] if end < 0 else text[position:end])
        if not line.strip():
            break
        if _HEADER_LINE.match(line) and line[:1] not in (" ", "\t"):
            name, _, value = line.partition(":")
            fields.append([name.strip(), value.strip()])
        elif fields:
            fields[-1][1] = f"{fields[-1][1]} {line.strip()}".strip()
        if end < 0:
            break
        position = end + 1
    headers = Headers(tuple((name, repair_text(value)) for name, value in fields))
    if "Message-ID" not in headers:
        found = _QUOTED_MESSAGE_ID.match(text) or _QUOTED_MESSAGE_ID_LATER.search(text)
        if found:
            headers = Headers((*headers.fields, ("Message-ID", found[1])))
    return headers


def _header_block_start(text: str) -> tuple[int, int] | None:
    """
    Find the first of the lead-in lines of *text* that starts a header field.

    Returns:
        The line's index and the index of its first character, or ``None``.
    """
    if _HEADER_START.match(text):
        return 0, 0
    found = _HEADER_START_LATER.search(text)
    if found is None:
        return None
    index = text.count("\n", 0, found.start()) + 1
    return (index, found.start() + 1) if index < _MAX_LEAD_IN_LINES else None


def _unquote_line(line: str) -> str:
    return line[1:].removeprefix(" ") if line.startswith(">") else line


def _join_wrapped(lines: Iterable[str]) -> str:
    """Join the lines of one diagnostic into one line of text."""
    # str.split() and the pattern \s split at the same characters, and split()
    # is several times faster than substituting runs of white space.
    return " ".join(" ".join(lines).split())


@functools.lru_cache(maxsize=64)
def _block_patterns(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(pattern, re.IGNORECASE) for pattern in patterns)


def _search_any(patterns: Sequence[re.Pattern[str]], line: str) -> re.Match[str] | None:
    """Return the match of the first of *patterns* that *line* contains."""
    for pattern in patterns:
        found = pattern.search(line)
        if found is not None:
            return found
    return None


def _find_block(text: str, fmt: NoticeFormat) -> str:
    return _span(text, fmt.block_start, fmt.block_end)


def _span(
    text: str,
    start_patterns: Sequence[str],
    end_patterns: Sequence[str],
    *,
    start_required: bool = False,
) -> str:
    """
    Return the lines of *text* after the first match of *start_patterns*, up to *end_patterns*.

    The text after the start marker on its own line is kept, as in
    "did not reach: a@b". When no start pattern is given or none matches, the span
    starts at the top, unless *start_required* makes it empty.
    """
    lines = text.split("\n")
    start = 0
    first_end = 0
    if start_patterns:
        starts = _block_patterns(tuple(start_patterns))
        for index, line in enumerate(lines):
            found = _search_any(starts, line)
            if found is not None:
                lines[index] = line[found.end() :]
                start, first_end = index, index + 1
                break
        else:
            if start_required:
                return ""
    end = len(lines)
    if end_patterns:
        ends = _block_patterns(tuple(end_patterns))
        for index in range(first_end, len(lines)):
            if _search_any(ends, lines[index]) is not None:
                end = index
                break
    return "\n".join(lines[start:end])


@attrs.frozen
class _Entry:
    address: str
    lines: tuple[str, ...]


def _address_entries(block: str, fmt: NoticeFormat) -> list[_Entry]:
    """Split *block* into one entry per line that names an address first."""
    pattern = re.compile(fmt.address_line, re.IGNORECASE) if fmt.address_line else _ADDRESS_FIRST
    ends = _block_patterns(fmt.entry_end) if fmt.entry_end else ()
    entries: list[tuple[str, list[str]]] = []
    open_entry = False
    for line in block.split("\n"):
        found = pattern.match(line) if fmt.address_line is None else pattern.search(line)
        if found is not None and "@" in found["address"]:
            address = found["address"].strip("<>\"' ")
            # A declared pattern may match mid-line, after the reply code:
            # then the whole line is the diagnostic.
            rest = line[found.end() :] if fmt.address_line is None else line
            entries.append((address, [rest.lstrip(":;,.- \t")]))
            open_entry = True
        elif ends and _search_any(ends, line.strip()) is not None:
            open_entry = False
        elif entries and open_entry:
            entries[-1][1].append(line)
    merged: dict[str, list[str]] = {}
    for address, lines in entries:
        key = address.lower()
        if key in merged:
            merged[key].extend(lines)
        else:
            merged[key] = [address, *lines]
    return [_Entry(lines[0], tuple(lines[1:])) for lines in merged.values()]


# The fields that name the notice's own reader or the original's sender, lower-cased.
_NOTICE_OWN_FIELDS = frozenset({"from", "to", "reply-to", "sender", "return-path", "delivered-to"})
_ORIGINAL_OWN_FIELDS = frozenset({"from", "sender", "return-path", "reply-to"})


def _own_addresses(notice: _Notice, original: Headers) -> set[str]:
    own: set[str] = set()
    # One pass over each header, not one lookup per field name.
    for headers, names in ((notice.headers, _NOTICE_OWN_FIELDS), (original, _ORIGINAL_OWN_FIELDS)):
        for name, value in headers:
            if name.lower() in names:
                own.update(address.lower() for address in find_addresses(value))
    return own


def _is_system_address(address: str) -> bool:
    return address.partition("@")[0].lower() in _SYSTEM_LOCAL_PARTS


def _text_addresses(block: str, own: set[str]) -> list[str]:
    found = []
    for address in find_addresses(block):
        if address.lower() in own or _is_system_address(address):
            continue
        found.append(address)
    return found


def _pick_status(texts: Iterable[str]) -> StatusCode | None:
    """Return the first failure code in *texts*, or a success code when there is no other."""
    fallback = None
    for text in texts:
        for code in find_status_codes(text):
            if not code.is_success:
                return code
            fallback = fallback or code
    return fallback


def _pick_reply_code(texts: Iterable[str]) -> str | None:
    fallback = None
    for text in texts:
        # A text with no three-digit number that could be a reply code skips
        # the slower search.
        code = find_reply_code(text) if _MAYBE_REPLY_CODE.search(text) else None
        if code and code[0] in "45":
            return code
        fallback = fallback or code
    return fallback


def _recipient(
    address: str,
    diagnostic: str,
    notice_text: str,
    temporary: bool,
    delayed: bool,
    *,
    command: str | None,
    remote_mta: str | None = None,
) -> Recipient:
    texts = [diagnostic, notice_text] if diagnostic else [notice_text]
    status = _pick_status(texts)
    reply_code = _pick_reply_code([diagnostic]) if diagnostic else None
    if reply_code is None and notice_text:
        reply_code = _pick_reply_code([notice_text])
    if status is None:
        # NOTE: with no written code the class comes from the reply code, then
        # from the notice's wording; subject and detail stay 0.
        if reply_code and reply_code[0] in "45":
            status = status_code(int(reply_code[0]), 0, 0)
        else:
            status = status_code(4 if temporary or delayed else 5, 0, 0)
    action = Action.DELAYED if status.is_transient and delayed else Action.FAILED
    if status.is_success:
        action = Action.DELIVERED
    return Recipient(
        address=normalize_address(address),
        action=action,
        status=status,
        reply_code=reply_code,
        diagnostic=diagnostic or None,
        remote_mta=remote_mta,
        command=command,
    )


def _reason_elsewhere(notice_text: str, address: str) -> str:
    """
    Return the reason in *notice_text* for its only recipient when no entry gives one.

    That is the server's reply when a line starts with a failure code, or else
    the notice without its standard sentences, lines of punctuation and quoted
    header fields. The result is empty when nothing else is left.
    """
    reply = _REPLY_LINES.search(notice_text)
    if reply is not None:
        return _join_wrapped([reply[0]])
    lines = [
        line
        for line in notice_text.replace(address, "").split("\n")
        if not _NOT_REASON_LINE.match(line.strip())
    ]
    reason = _INTRODUCTION.sub("", _join_wrapped(lines)).strip()
    return reason if reason.strip(_PUNCTUATION) else ""


def _failed_recipients(
    notice: _Notice, fmt: NoticeFormat, notice_text: str, original: Headers
) -> list[Recipient]:
    block = _find_block(notice_text, fmt)
    lowered = notice_text.lower()
    temporary = _TEMPORARY.found_in(notice_text, lowered)
    delayed = _DELAYED.found_in(notice_text, lowered)

    entries = _address_entries(block, fmt)
    listed = [
        address
        for value in notice.headers.get_all("X-Failed-Recipients")
        for address in find_addresses(value)
    ]
    own = _own_addresses(notice, original)
    others = [entry for entry in entries if entry.address.lower() not in own]
    if others or listed:
        # The notice greets its reader, who is the original sender, by address.
        entries = others
    if listed and not entries:
        entries = [_Entry(address, ()) for address in listed]
    if not entries:
        entries = [_Entry(address, ()) for address in _text_addresses(block, own)]
    if not entries:
        entries = [_Entry(address, ()) for address in returned_to(original)]

    remote_mta = None
    if fmt.remote_mta is not None:
        found = re.search(fmt.remote_mta, notice_text, re.IGNORECASE | re.MULTILINE)
        remote_mta = found["host"] if found else None

    # The notice's own text speaks for its only recipient, not for each of several.
    single = len(entries) == 1
    whole = _join_wrapped([notice_text]) if single else ""
    recipients = []
    for entry in entries:
        diagnostic = _ENVELOPE_LABELS.sub("", _join_wrapped(entry.lines))
        if not diagnostic.replace(entry.address, "").strip(_PUNCTUATION):
            diagnostic = ""
        if single and fmt.reason_start:
            reason = _span(notice_text, fmt.reason_start, fmt.reason_end, start_required=True)
            diagnostic = _join_wrapped([reason]) or diagnostic
        if single and not diagnostic:
            # The reason is elsewhere in the notice, maybe on the address's line.
            diagnostic = _reason_elsewhere(notice_text, entry.address)
        elif single and not _MAYBE_REPLY_CODE.search(diagnostic):
            # Some layouts quote the server's reply above the address, not under it.
            reply = _REPLY_LINE.search(notice_text)
            if reply is not None:
                diagnostic = f"{reply[0].strip()} {diagnostic}"
        command = find_command(diagnostic) or command_in_notice(entry.address, notice_text)
        recipients.append(
            _recipient(
                entry.address,
                diagnostic,
                whole,
                temporary,
                delayed,
                command=command,
                remote_mta=remote_mta,
            )
        )
    return recipients


def _original_of(
    notice: _Notice, fmt: NoticeFormat, parts: Sequence[Message]
) -> tuple[str, Headers]:
    """Return the notice text without the quoted original, and the original's headers."""
    extra = _line_pattern(fmt.original) if fmt.original else ()
    text = _unquote(notice.text)
    notice_text, quoted = _split_original(text, extra)
    returned = next((part for part in parts if part.get_content_type() in RETURNED_TYPES), None)
    candidates: list[Headers] = []
    if returned is not None:
        candidates.append(returned_headers(returned))
        inner = returned.get_payload()
        inner = inner[0] if isinstance(inner, list) and inner else inner
        if (
            isinstance(inner, Message)
            and not inner.is_multipart()
            and "Message-ID" not in candidates[0]
        ):
            candidates.append(_quoted_headers(part_text(inner)))
    if quoted is not None:
        candidates.append(_quoted_headers(quoted))
    candidates.extend(_quoted_headers(later) for later in notice.later_texts)
    candidates.extend(_disguised_originals(notice.message, parts))
    for headers in candidates:
        if "Message-ID" in headers:
            return notice_text, headers
    return notice_text, next((headers for headers in candidates if headers), Headers())


def _disguised_originals(message: Message, parts: Sequence[Message]) -> list[Headers]:
    """
    Return the headers of returned messages that are not labelled as such.

    A ``message/partial`` part, or a MIME part whose header block is the
    original message's own header (its boundary line is followed straight by
    ``Received:`` and ``Message-ID:`` fields), both carry the original header.
    """
    found = []
    for part in parts:
        if part is message:
            continue
        # Only a message/partial part's payload is read: reading a leaf part's
        # payload checks the whole body for undecodable bytes.
        payload = part.get_payload() if part.get_content_type() == "message/partial" else None
        if isinstance(payload, list) and payload:
            inner = payload[0]
            if isinstance(inner, Message):
                found.append(headers_of(inner))
        elif "Message-ID" in part and ("Received" in part or "From" in part):
            found.append(headers_of(part))
    return found


# Evidence that a message is a failure notice whatever its layout: the sender
# is a mail system, or the subject reports a delivery failure.
_BOUNCE_SENDERS = (
    "mailer-daemon",
    "postmaster",
    "mail delivery",
    "mail.delivery",
    "mdaemon",
    "mail-daemon",
)
_BOUNCE_SUBJECTS = (
    "undeliver",
    "undelivered",
    "delivery fail",
    "delivery status notification",
    "delivery notification",
    "returned mail",
    "mail delivery failed",
    "failure notice",
    "delivery failure",
    "could not be delivered",
    "non-delivery",
    "non remis",
    "nicht zustellbar",
    "unzustellbar",
    "message not delivered",
    "mail system error",
    "returning message to sender",
    "delivery problem",
    "mail failure",
    "undeliverable",
)


def _has_bounce_evidence(notice: _Notice) -> bool:
    if "X-Failed-Recipients" in notice.headers:
        return True
    if any(marker in notice.sender for marker in _BOUNCE_SENDERS):
        return True
    return any(marker in notice.subject for marker in _BOUNCE_SUBJECTS)


def _recognise(notice: _Notice) -> NoticeFormat | None:
    for fmt in FORMATS:
        if _matches(fmt, notice):
            return fmt
    if not _has_bounce_evidence(notice):
        return None
    # A mail system also sends notices that are not failures (quota warnings,
    # list confirmations): without a failure word or a reply code, it is not one.
    if "X-Failed-Recipients" in notice.headers or _FAILURE_WORDS.search(notice.text_lower):
        return GENERIC
    return None


def _unread_notice(base: Bounce) -> Bounce:
    """Return *base* with a defect saying it looks like a failure notice but names no recipient."""
    defect = Defect(
        "unrecognised-notice",
        "the sender or subject is a mail system's, but no failed recipient was found",
    )
    return attrs.evolve(base, defects=(*base.defects, defect))


def _non_standard(message: Message, parts: Sequence[Message], base: Bounce) -> Bounce:
    notice = _read_notice(message, base.headers)
    fmt = _recognise(notice)
    if fmt is None:
        if _has_bounce_evidence(notice):
            # A mail system's notice that names no failure is not a reply from a person.
            return _unread_notice(base)
        if is_auto_reply(base.headers):
            return auto_reply(base, notice.text)
        return base
    if fmt.layout == "ses-json":
        return _amazon_ses(notice, base) or base
    notice_text, original = _original_of(notice, fmt, parts)
    if not original:
        original = base.original_headers
    recipients = _failed_recipients(notice, fmt, notice_text, original)
    if not recipients:
        if is_auto_reply(base.headers) and not _has_bounce_evidence(notice):
            return auto_reply(base, notice.text)
        return _unread_notice(
            attrs.evolve(
                base,
                original_headers=original,
                original_message_id=normalize_message_id(original.get("Message-ID")),
            )
        )
    return attrs.evolve(
        base,
        kind=BounceKind.NON_STANDARD,
        format=fmt.name,
        recipients=tuple(recipients),
        original_headers=original,
        original_message_id=normalize_message_id(original.get("Message-ID")),
    )


_SNS_WRAP = re.compile(r"!\n ")


def _json_object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _json_objects(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _ses_recipients(kind: str, data: dict[str, Any]) -> list[Recipient] | None:
    """Return the recipients of an SES notification of *kind*, or ``None`` for another kind."""
    if kind == "bounce":
        recipients = []
        for item in _json_objects(_json_object(data.get("bounce")).get("bouncedRecipients")):
            diagnostic = str(item.get("diagnosticCode") or "") or None
            written = StatusCode.try_parse(str(item.get("status") or ""))
            recipient = Recipient(
                address=str(item.get("emailAddress") or ""),
                action=Action.FAILED,
                status=written or (_pick_status([diagnostic]) if diagnostic else None),
                reply_code=find_reply_code(diagnostic) if diagnostic else None,
                diagnostic=diagnostic,
            )
            recipients.append(_with_class(recipient))
        return recipients
    if kind == "complaint":
        report = _json_object(data.get("complaint"))
        return [
            Recipient(address=str(item.get("emailAddress") or ""))
            for item in _json_objects(report.get("complainedRecipients"))
        ]
    if kind == "delivery":
        delivery = _json_object(data.get("delivery"))
        response = str(delivery.get("smtpResponse") or "") or None
        addresses = delivery.get("recipients")
        return [
            Recipient(
                address=str(address),
                action=Action.DELIVERED,
                status=_pick_status([response]) if response else None,
                reply_code=find_reply_code(response) if response else None,
                diagnostic=response,
            )
            for address in (addresses if isinstance(addresses, list) else [])
        ]
    return None


def _amazon_ses(notice: _Notice, base: Bounce) -> Bounce | None:
    """
    Read an Amazon SES notification sent as JSON, directly or inside an SNS message.

    SNS wraps long lines with ``!`` and a newline plus space; those are undone
    before decoding. JSON that is not an SES notification gives ``None``.
    """
    text = _SNS_WRAP.sub("", notice.text)
    try:
        outer, _ = json.JSONDecoder(strict=False).raw_decode(text[text.find("{") :])
        message = _json_object(outer).get("Message")
        data = _json_object(
            json.loads(message, strict=False) if isinstance(message, str) else outer
        )
    except (ValueError, RecursionError):
        return None
    kind = str(data.get("notificationType") or data.get("eventType") or "").lower()
    recipients = _ses_recipients(kind, data)
    if recipients is None:
        return None
    mail = _json_object(data.get("mail"))
    headers = _json_objects(mail.get("headers"))
    complained = kind == "complaint"
    feedback_type = str(_json_object(data.get("complaint")).get("complaintFeedbackType") or "abuse")
    return attrs.evolve(
        base,
        kind=BounceKind.COMPLAINT if complained else BounceKind.NON_STANDARD,
        format="amazonses",
        recipients=tuple(r for r in recipients if r.address),
        original_message_id=normalize_message_id(str(mail.get("messageId") or "")),
        original_headers=Headers(tuple((str(h.get("name")), str(h.get("value"))) for h in headers)),
        feedback_type=feedback_type if complained else None,
    )


def _dsn_without_recipients(message: Message, parts: Sequence[Message], base: Bounce) -> Bounce:
    """Take the recipients of a DSN with an empty recipient block from its text or original."""
    notice = _read_notice(message, base.headers)
    fmt = next((f for f in FORMATS if _matches(f, notice)), GENERIC)
    notice_text, original = _original_of(notice, fmt, parts)
    if not original:
        original = base.original_headers
    recipients = _failed_recipients(notice, fmt, notice_text, original)
    if not recipients:
        return base
    groups = base.delivery_status.recipients if base.delivery_status else ()
    if len(groups) == len(recipients):
        # The groups lost only their address, so their other fields still count.
        recipients = [
            _from_group(recipient, group)
            for recipient, group in zip(recipients, groups, strict=True)
        ]
    defects = tuple(d for d in base.defects if d.code != "no-recipients")
    defects += (
        Defect(
            "recipients-from-text", "the DSN names no recipient; it was read from the notice text"
        ),
    )
    return attrs.evolve(base, recipients=tuple(recipients), defects=defects)


def _from_group(recipient: Recipient, group: RecipientFields) -> Recipient:
    diagnostic = group.diagnostic_code.value if group.diagnostic_code else recipient.diagnostic
    return attrs.evolve(
        recipient,
        action=group.action or recipient.action,
        status=group.status or recipient.status,
        reply_code=(find_reply_code(diagnostic) if diagnostic else None) or recipient.reply_code,
        diagnostic=diagnostic,
        remote_mta=group.remote_mta.value if group.remote_mta else None,
        dsn=group,
        command=(find_command(diagnostic) if diagnostic else None) or recipient.command,
    )


def _with_class(recipient: Recipient) -> Recipient:
    """Give a recipient with no status code the class of its reply code, as ``X.0.0``."""
    code = recipient.reply_code
    if recipient.status is not None or not code or code[0] not in "45":
        return recipient
    return attrs.evolve(recipient, status=status_code(int(code[0]), 0, 0))


_WRITER_PREFIXES = tuple(prefix for writer in DSN_WRITERS for prefix in writer.field_prefixes)


def dsn_format_name(headers: Headers, status: DeliveryStatus | None) -> str:
    """Name the MTA that wrote a DSN when its fields show it, else ``"rfc3464"``."""
    fields = [headers]
    if status is not None:
        fields.append(status.message.extensions)
        fields.extend(group.extensions for group in status.recipients)
        reporting = (
            status.message.reporting_mta.value.lower() if status.message.reporting_mta else ""
        )
    else:
        reporting = ""
    # Only the few names with some writer's prefix are kept for the loop below.
    # Every prefix starts with "x-" (a test checks this), so other names are not
    # lower-cased: only "x" and "X" become "x" in lower case.
    names = []
    for group in fields:
        for name, _ in group:
            if name[:1] not in ("x", "X"):
                continue
            lowered = name.lower()
            if lowered.startswith(_WRITER_PREFIXES):
                names.append(lowered)
    sender = (headers.get("From") or "").lower()
    for writer in DSN_WRITERS:
        if any(name.startswith(writer.field_prefixes) for name in names):
            return writer.name
        if any(marker in sender or marker in reporting for marker in writer.markers):
            return writer.name
    return "rfc3464"


def complete_bounce(message: Message, parts: Sequence[Message], base: Bounce) -> Bounce:
    """
    Finish what the RFC 3464 parser returned.

    A message with an ARF part becomes a complaint. One with no DSN part is
    read as a mail server's own notice or an auto-reply. A DSN that names no
    recipient gets them from its text or returned message. The RFC 3464
    parser has already named each DSN after the MTA that wrote it, with
    :func:`dsn_format_name`.
    """
    feedback = complaint(message, parts, base)
    if feedback is not None:
        return feedback
    if base.delivery_status is None:
        return _non_standard(message, parts, base)
    if not base.recipients:
        base = _dsn_without_recipients(message, parts, base)
    if any(recipient.status is None for recipient in base.recipients):
        base = attrs.evolve(
            base, recipients=tuple(_with_class(recipient) for recipient in base.recipients)
        )
    if "Message-ID" not in base.original_headers:
        notice = _read_notice(message, base.headers)
        _, original = _original_of(notice, GENERIC, parts)
        if "Message-ID" in original:
            base = attrs.evolve(
                base,
                original_headers=original,
                original_message_id=normalize_message_id(original.get("Message-ID")),
            )
    return base
