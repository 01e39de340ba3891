"""The faster searches of the parsers find exactly what the plain searches find."""

from __future__ import annotations

import email.message
import email.utils
import re
import string
import sys

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bouncekit import Bounce, BounceKind, Headers, Recipient
from bouncekit._command import _PHRASE_STARTS, _PHRASES, command_in_notice, find_command
from bouncekit._dsn import _parse_date
from bouncekit._formats import (
    _DELAYED,
    _HEADER_LINE,
    _HEADER_START_FIELDS,
    _MAYBE_REPLY_CODE,
    _ORIGINAL_FLOATING_STARTS,
    _ORIGINAL_MARKERS,
    _ORIGINAL_PATTERNS,
    _TEMPORARY,
    _header_block_start,
    _join_wrapped,
    _line_pattern,
    _Phrases,
    _quoted_headers,
    _search_original_line,
)
from bouncekit._status import _STATUS_IN_TEXT, _iter_status_codes, find_status_codes
from bouncekit._text import (
    _REPLY_CODE_STRONG,
    ParsedMessage,
    _find_strong_reply_code,
    ascii_folded,
    find_reply_code,
    search_at_words,
    unfold,
)
from bouncekit.rules import RuleSet

# Letters that re.IGNORECASE matches to ASCII ones, though str.lower() maps
# some of them elsewhere.
LONG_S = "\u017f"
KELVIN = "\u212a"
DOTLESS_I = "\u0131"
DOTTED_I = "\u0130"

# Texts where a pattern's opening word occurs before the match, inside another
# word, in upper case, not at all, or next to such letters.
SAMPLES = [
    "",
    "550 5.1.1 user unknown",
    "  451 try again later",
    "The reply: none. Remote host said: 550 No such user",
    "REMOTE HOST SAID: 554 DENIED",
    "errors: none; error: 552 mailbox full",
    "barcode 550 is not a code: 421 busy",
    "(see below) (421 too many connections)",
    f"{LONG_S}aid: 550 unknown",
    f"Remote host {LONG_S}aid: 550 unknown, said: 551 moved",
    "héllo said: 553 rejected",
    "afterwards, after RCPT TO:<a@example.net>: 550 unknown",
    "Sent <<< RCPT TO:<a@example.net> <<< 550 unknown",
    "smtp: DATA host example.net said 554 spam",
    f"{LONG_S}mtp:RCPT host example.net said 554 spam",
    f"did not li{KELVIN}e our RCPT TO: 550 unknown",
    f"fa{DOTLESS_I}led after I sent the message",
    f"{DOTTED_I}n reply to end of DATA command",
    "in reply to nothing; (in reply to end of DATA command)",
    "did not like our MAIL FROM: 553 sender rejected",
    "The header line. Headers of the original message follow.",
    "Xheaders of the original message are below",
    "Below this line is a copy of the message.",
    "below is a copy of the original message",
    "HEADER of the returned message",
    "copy of the message's headers",
    "copy of the original message header",
    "héader of the original message",
]


def _span_and_groups(found: re.Match[str] | None) -> tuple[object, ...] | None:
    return (found.span(), found.groups()) if found else None


@pytest.mark.parametrize("text", SAMPLES)
@pytest.mark.parametrize(
    ("pattern", "words"),
    [(_PHRASES, _PHRASE_STARTS), (_ORIGINAL_MARKERS[1], _ORIGINAL_FLOATING_STARTS)],
    ids=["command-phrase", "original-marker"],
)
def test_search_at_words_same_match(
    pattern: re.Pattern[str], words: tuple[str, ...], text: str
) -> None:
    found = search_at_words(pattern, text, text.lower(), words)
    assert _span_and_groups(found) == _span_and_groups(pattern.search(text))


@pytest.mark.parametrize("text", SAMPLES)
def test_strong_reply_code_same_match(text: str) -> None:
    # The pattern's "^" alternative is tried at the start before the words.
    found = _find_strong_reply_code(text)
    assert _span_and_groups(found) == _span_and_groups(_REPLY_CODE_STRONG.search(text))


@pytest.mark.parametrize(
    "pattern", [p for p in _ORIGINAL_PATTERNS if not p.startswith("^")], ids=str
)
def test_floating_marker_has_start_word(pattern: str) -> None:
    opening = pattern.removeprefix(r"\b").lower()
    assert any(opening.startswith(word) for word in _ORIGINAL_FLOATING_STARTS)


@pytest.mark.parametrize("text", SAMPLES)
def test_find_reply_code_same_as_full_search(text: str) -> None:
    found = _REPLY_CODE_STRONG.search(text) or re.search(
        r"(?<![\w.#-])([245][0-5]\d)(?=[ \t-]|$)", text
    )
    assert find_reply_code(text) == (found[1] if found else None)


@pytest.mark.parametrize(
    "text",
    [
        "Temporary failure",
        "the server is temporarily unavailable",
        "TEMPORARILY",
        "contemporary art",
        "will be retried until tomorrow",
        "Delivery has been DELAYED",
        "undelayed",
        f"{LONG_S}till trying",
        "Warning: message still queued",
        "",
    ],
)
@pytest.mark.parametrize("phrases", [_TEMPORARY, _DELAYED], ids=["temporary", "delayed"])
def test_phrases_same_as_pattern(phrases: _Phrases, text: str) -> None:
    assert phrases.found_in(text, text.lower()) == bool(phrases.pattern.search(text))


def test_phrases_reject_upper_case() -> None:
    with pytest.raises(ValueError, match="lower-case ASCII"):
        _Phrases(("Will Retry",))


@pytest.mark.parametrize(
    "text",
    [
        "550 #5.1.0 Address rejected",
        "#5.1.1 at the start",
        "x#5.1.1 after a letter",
        "a.5.1.1 after a dot",
        "192.5.1.1 is an address, 4.2.2 is a code",
        "5.1 and 5.1.1x then 4.4.7",
        "no code here",
    ],
)
def test_find_status_codes_same_as_full_search(text: str) -> None:
    expected = [f"{int(m[1])}.{int(m[2])}.{int(m[3])}" for m in _STATUS_IN_TEXT.finditer(text)]
    assert [str(code) for code in find_status_codes(text)] == expected


@pytest.mark.parametrize(
    ("text", "found"),
    [("550 unknown", True), ("a550 x", True), ("1550 x", False), ("5501", False), ("", False)],
)
def test_maybe_reply_code(text: str, found: bool) -> None:
    assert bool(_MAYBE_REPLY_CODE.search(text)) is found


@pytest.mark.parametrize(
    "lines",
    [
        ["  a\u00a0b  ", "c\u2003\u2003d"],
        ["x\x1cy", "", "  "],
        ["one", "two\tthree\nfour"],
    ],
)
def test_join_wrapped_splits_at_regex_white_space(lines: list[str]) -> None:
    expected = re.sub(r"\s+", " ", " ".join(line.strip() for line in lines)).strip()
    assert _join_wrapped(lines) == expected


def test_line_pattern_finds_marker_after_blank_lines() -> None:
    text = "\n".join([" " * 40] * 50 + ["   ---- Original message ----   ", "Subject: hi"])
    found = _line_pattern(_ORIGINAL_PATTERNS)[0].search(text)
    assert found is not None
    assert text[found.start() : found.end()].strip() == "---- Original message ----"


def test_unfold_keeps_crlf_folding() -> None:
    assert unfold("a\r\n\tb\n c") == "a b c"


def test_command_in_notice_lines_after_expanding_letter() -> None:
    # "İ" lower-cases to two characters, and the line numbers must still match.
    notice = "İİİ\n>>> RCPT To:<pat@example.net>\n<<< 550 pat@example.net unknown"
    assert command_in_notice("pat@example.net", notice) == "RCPT"


def test_ignorecase_ascii_lookalikes() -> None:
    # ascii_folded relies on re.IGNORECASE matching these letters, and no
    # other non-ASCII ones, to ASCII letters.
    every_character = "".join(map(chr, range(sys.maxunicode + 1)))
    lookalikes = {
        character
        for letter in string.ascii_lowercase
        for character in re.findall(letter, every_character, re.IGNORECASE)
        if not character.isascii()
    }
    assert lookalikes == {DOTTED_I, DOTLESS_I, LONG_S, KELVIN}


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Said: 550", "said: 550"),
        (f"{LONG_S}aid: 550", "said: 550"),
        (f"fa{DOTLESS_I}led", "failed"),
        (f"li{KELVIN}e", "like"),
        (f"{DOTTED_I}n reply", None),
        ("r\u00e9ponse", "r\u00e9ponse"),
    ],
)
def test_ascii_folded(text: str, folded: str | None) -> None:
    assert ascii_folded(text, text.lower()) == folded


@pytest.mark.parametrize(
    "text",
    [
        "",
        "----- Original message -----",
        "Sorry.\n\n   ---- Original message ----   \nSubject: hi",
        "Original message follows\nnot at a line start: original message follows",
        "text\n\tReturned mail follows:\n",
        "The text of your message follows\nX",
        "original message headers\noriginal message headers:",
        "no marker\nat all\n",
    ],
)
def test_search_original_line_same_match(text: str) -> None:
    expected = _ORIGINAL_MARKERS[0].search(text)
    assert _span_and_groups(_search_original_line(text)) == _span_and_groups(expected)


# Text made of the characters and words the searches look at, in any case.
_PIECES = st.sampled_from(
    [
        *("2", "4", "5", "0", "1", ".", "#", " ", "x", "\n", "-", "(", ":", LONG_S, DOTTED_I),
        *("said:", "SMTP;", "Reply:", "code", "after ", "In reply to", "header", "Copy of the"),
        *("this is a copy", "below this line", "original message", "sent <<<", "smtp:"),
    ]
)
_TEXTS = st.lists(_PIECES, max_size=12).map("".join)


@given(_TEXTS)
def test_iter_status_codes_same_as_finditer(text: str) -> None:
    expected = [_span_and_groups(match) for match in _STATUS_IN_TEXT.finditer(text)]
    assert [_span_and_groups(match) for match in _iter_status_codes(text)] == expected


@given(_TEXTS)
def test_word_searches_same_as_search(text: str) -> None:
    lowered = text.lower()
    strong = _find_strong_reply_code(text)
    assert _span_and_groups(strong) == _span_and_groups(_REPLY_CODE_STRONG.search(text))
    phrase = search_at_words(_PHRASES, text, lowered, _PHRASE_STARTS)
    assert _span_and_groups(phrase) == _span_and_groups(_PHRASES.search(text))
    marker = search_at_words(_ORIGINAL_MARKERS[1], text, lowered, _ORIGINAL_FLOATING_STARTS)
    assert _span_and_groups(marker) == _span_and_groups(_ORIGINAL_MARKERS[1].search(text))


# Text made of quoted and indented header lines, white space that str.lstrip()
# strips, and line breaks.
_HEADER_PIECES = st.sampled_from(
    [
        *("\n", "\n", ">", "> ", " ", "\t", "\r", "\x1c", "\x85", "\u2028", "\xa0", "text "),
        *("Received:", "FROM:", "to:", "X-Foo:", "x-:", "from :", f"{LONG_S}ubject:", "\n" * 58),
    ]
)


@given(st.lists(_HEADER_PIECES, max_size=12).map("".join))
@example(">>Received: x")
@example("> \t Received: x")
@example("lead-in\n" * 59 + "Received: x")
@example("lead-in\n" * 60 + "Received: x")
def test_header_block_start_same_as_line_search(text: str) -> None:
    field = re.compile(_HEADER_START_FIELDS, re.IGNORECASE)
    lines = text.split("\n")[:60]
    expected = next(
        (index for index, line in enumerate(lines) if field.match(line.removeprefix(">").lstrip())),
        None,
    )
    start = _header_block_start(text)
    assert (None if start is None else start[0]) == expected
    if start is not None:
        index, position = start
        assert text[position:].split("\n", maxsplit=1)[0] == text.split("\n")[index]


# Dates in the usual form and next to it: days, times and offsets out of range,
# other spellings, and comments.
_DATES = st.builds(
    "{}{} {} {} {}:{}:{} {}{}".format,
    st.sampled_from(["", "Fri, ", "Fri,", "fri, ", "Xyz, "]),
    st.sampled_from(["1", "04", "31", "0", "32", "4,"]),
    st.sampled_from(["Dec", "Feb", "dec", "DEC", "December"]),
    st.sampled_from(["2026", "0099", "1999", "26", "99999"]),
    st.sampled_from(["22", "00", "24", "7"]),
    st.sampled_from(["08", "60"]),
    st.sampled_from(["45", "60", "61"]),
    st.sampled_from(["+0000", "-0000", "+0530", "-0800", "+2400", "+0099", "GMT", "+0000(UTC)"]),
    st.sampled_from(["", " (UTC)", " (Pacific Standard Time)", " extra", "  "]),
)


def _date_or_error(parse: object, text: str) -> object:
    assert callable(parse)
    try:
        value = parse(text)
    except ValueError as exc:
        return type(exc)
    return (value, value.tzinfo)


@given(_DATES)
def test_parse_date_same_as_email_utils(text: str) -> None:
    expected = _date_or_error(email.utils.parsedate_to_datetime, text)
    assert _date_or_error(_parse_date, text) == expected


_NAME_PIECES = st.sampled_from(
    ["x", "X", "-", "i", "I", DOTTED_I, DOTLESS_I, KELVIN, "k", "\u03a3"]
)
_NAMES = st.lists(_NAME_PIECES, min_size=1, max_size=4).map("".join)


@given(st.lists(_NAMES, max_size=6), _NAMES)
def test_headers_get_same_as_plain_loop(names: list[str], wanted: str) -> None:
    headers = Headers(tuple((name, str(index)) for index, name in enumerate(names)))
    expected = next(
        (value for name, value in headers.fields if name.lower() == wanted.lower()), None
    )
    assert headers.get(wanted) == expected


# Content-Type values with one charset parameter and their near misses: other
# parameters, RFC 2231 names, quotes, white space and non-ASCII letters.
_CONTENT_TYPE_PIECES = st.sampled_from(
    [
        *("text/plain", "TEXT/HTML", "text", " ", "\t", "\n ", "\x1c", ";", "=", '"', "\\"),
        *("charset", "Charset", "charset*", "charset*0", "format=flowed", "'en'"),
        *("utf-8", "US-ASCII", "iso-2022-jp", "x.y:z", "ü", "%41"),
    ]
)


@given(st.lists(_CONTENT_TYPE_PIECES, max_size=10).map("".join))
@example('text/plain; charset="UTF-8"')
@example("text/plain;\n\tcharset=us-ascii ")
@example('text/plain; charset="utf-8')
def test_content_charset_same_as_email_message(value: str) -> None:
    plain = email.message.Message()
    ours = ParsedMessage()
    for message in (plain, ours):
        message.set_raw("Content-Type", value)
    assert ours.get_content_charset() == plain.get_content_charset()


# Content-Type values of multipart parts and their near misses: RFC 2231 names,
# quotes, backslashes, angle brackets, white space and a type named "boundary".
_BOUNDARY_PIECES = st.sampled_from(
    [
        *("multipart/report", "boundary", "Boundary", "boundary*", "boundary*0", "report-type"),
        *(";", "=", '"', "\\", "<", ">", " ", "\t", "\n ", "\x1c", "'", "*"),
        *("abc", "----=_Part_0", "delivery-status", "%41", "\u00fc"),
    ]
)


@given(st.lists(_BOUNDARY_PIECES, max_size=12).map("".join))
@example('multipart/report; report-type=delivery-status;\n\tboundary="----=_Part_0"')
@example('multipart/mixed; boundary="<abc>"')
@example("multipart/mixed; boundary=abc; boundary=def")
@example("boundary; boundary=abc")
def test_boundary_same_as_email_message(value: str) -> None:
    plain = email.message.Message()
    ours = ParsedMessage()
    for message in (plain, ours):
        message.set_raw("Content-Type", value)
    assert ours.get_boundary() == plain.get_boundary()


@given(st.lists(_NAMES, max_size=6), _NAMES)
def test_parsed_message_get_same_as_message(names: list[str], wanted: str) -> None:
    plain = email.message.Message()
    ours = ParsedMessage()
    for message in (plain, ours):
        for index, name in enumerate(names):
            message.set_raw(name, str(index))
    assert ours.get(wanted) == plain.get(wanted)
    assert (wanted in ours) == (wanted in plain)


def _plain_quoted_headers(text: str) -> Headers:
    # _quoted_headers as a plain line by line reading of the first 500 lines.
    field = re.compile(_HEADER_START_FIELDS, re.IGNORECASE)
    lines = text.split("\n", 500)[:500]
    starts = [
        i for i, line in enumerate(lines[:60]) if field.match(line.removeprefix(">").lstrip())
    ]
    if not starts:
        return Headers()
    fields: list[list[str]] = []
    for quoted in lines[starts[0] :]:
        line = quoted[1:].removeprefix(" ") if quoted.startswith(">") else quoted
        if not line.strip():
            break
        if _HEADER_LINE.match(line) and line[:1] not in (" ", "\t"):
            name, _, value = line.partition(":")
            fields.append([name.strip(), value.strip()])
        elif fields:
            fields[-1][1] = f"{fields[-1][1]} {line.strip()}".strip()
    headers = Headers(tuple((name, value) for name, value in fields))
    if "Message-ID" not in headers:
        found = re.search(
            r"^[> \t]*Message-ID:[ \t]*(<[^<>\s]+>)", text, re.IGNORECASE | re.MULTILINE
        )
        if found:
            headers = Headers((*headers.fields, ("Message-ID", found[1])))
    return headers


_QUOTED_PIECES = st.sampled_from(
    [
        *("\n", "\n", "\n", ">", "> ", " ", "\t", "\r", "text", "Received: x", "From: a"),
        *("Subject:", "message-id: <a@b>", "Message-ID:<c@d>", "<e@f>", "X-A: 1", "\n" * 499),
    ]
)


@given(st.lists(_QUOTED_PIECES, max_size=14).map("".join))
@example("Received: x\n" * 510 + "\nMessage-ID: <a@b>")
@example("lead-in\n> From: a\n>  folded\n>\nbody\n Message-ID: <a@b>")
def test_quoted_headers_same_as_line_reading(text: str) -> None:
    assert _quoted_headers(text).fields == _plain_quoted_headers(text).fields


@pytest.mark.parametrize(
    "text", ["host said: 550 (\u0131n reply to RCPT TO command)", "\u017fmtp:rcpt 550 user unknown"]
)
def test_command_keys_fold_lookalikes(text: str) -> None:
    assert find_command(text) == "RCPT"


def test_rule_literals_match_dotted_capital_i() -> None:
    rules = RuleSet.from_toml_text(
        '[[rule]]\nid = "full"\npriority = 999\nreason = "mailbox_full"\n'
        'diagnostic = ["mailbox full"]\n'
    )
    recipient = Recipient("a@example.net", diagnostic="550 MA\u0130LBOX FULL")
    bounce = Bounce(kind=BounceKind.DSN, recipients=(recipient,))
    assert rules.classify(bounce)[0].rule == "full"
