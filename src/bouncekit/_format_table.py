"""
The failure-notice layouts bouncekit recognises, in the order they are tried.

Each entry is data for the shared machinery in ``_formats``. Put a layout
with narrow markers before one with broad markers: the first match wins.
"""

from __future__ import annotations

import attrs

__all__ = ["DSN_WRITERS", "FORMATS", "FORMAT_NAMES", "GENERIC", "DsnWriter", "NoticeFormat"]


@attrs.frozen
class NoticeFormat:
    """
    How to recognise one mail server's failure notice and where its parts are.

    Every marker group that is given must hit for the format to match; inside
    a group any one marker is enough. Markers are lower-case substrings, not
    regular expressions, so recognition stays cheap. A format with no marker
    never matches on its own.

    Attributes:
        name: The value of :attr:`Bounce.format` for this layout.
        senders: Substrings of the lower-cased ``From`` field.
        subjects: Substrings of the lower-cased ``Subject`` field.
        fields: Names of header fields, one of which must be present.
        body: Substrings of the lower-cased notice text.
        block_start: Regular expressions; the failure block starts after the
            first line that matches one of them.
        block_end: Regular expressions; the failure block ends before the
            first line after its start that matches one of them.
        original: Regular expressions for the line before the quoted original
            message, tried before the shared ones.
        reason_start: Regular expressions, for layouts that write the reason
            apart from the address. In a notice about one recipient, the
            diagnostic is the text after the first line that matches one of
            them (the rest of that line included), up to ``reason_end``. When
            none matches, the diagnostic is found as for other layouts.
        reason_end: Regular expressions; the reason ends before the first line
            after its start that matches one of them.
        entry_end: Regular expressions for lines that end the entry of a failed
            address, such as the start of the next host's session in a
            transcript. The lines from there up to the next address are not
            part of its diagnostic.
        address_line: A regular expression with an ``address`` group, searched
            in each line of the block, for layouts where the failed address is
            not the first thing on its line.
        remote_mta: A regular expression with a ``host`` group, searched in
            the notice text with ``re.MULTILINE``, for layouts that name the
            remote MTA once for all their recipients.
        layout: ``"text"`` for a notice written for people; ``"ses-json"`` for
            Amazon SES's JSON notifications, which have a reader of their own.
    """

    name: str
    senders: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    body: tuple[str, ...] = ()
    block_start: tuple[str, ...] = ()
    block_end: tuple[str, ...] = ()
    original: tuple[str, ...] = ()
    reason_start: tuple[str, ...] = ()
    reason_end: tuple[str, ...] = ()
    entry_end: tuple[str, ...] = ()
    address_line: str | None = None
    remote_mta: str | None = None
    layout: str = "text"


@attrs.frozen
class DsnWriter:
    """
    How to tell which MTA wrote an RFC 3464 report.

    Attributes:
        name: The value of :attr:`Bounce.format`.
        field_prefixes: Lower-case prefixes of field names only this MTA writes,
            in the header or the delivery-status part.
        markers: Lower-case substrings of the ``From`` field or ``Reporting-MTA``.
    """

    name: str
    field_prefixes: tuple[str, ...] = ()
    markers: tuple[str, ...] = ()


_SENDMAIL_BLOCK = (
    r"-{3,}\s*the following addresses? ha(?:d|ve) (?:permanent fatal errors|delivery problems)",
)
_SENDMAIL_END = (r"-{3,}\s*transcript of session follows", r"^\s*-{3,}\s*\S.*-{3,}\s*$")
_EXIM_START = (r"following address(?:\(es\))? failed:?", r"^\s*failed:?$")
_EXIM_END = (r"^-{3,}", r"^\s*-- ")

# Apache James and Verizon write the server's reply above a "Message details:"
# list of the envelope, whose lines are not the reason.
_DETAILS_REASON_START = (r"^\s*error message below:",)
_DETAILS_REASON_END = (r"^\s*message details:", r"^\s*original message:")

FORMATS: tuple[NoticeFormat, ...] = (
    NoticeFormat(
        name="amazonses",
        body=('"notificationtype"', '\\"notificationtype\\"'),
        layout="ses-json",
    ),
    NoticeFormat(
        name="yahoo",
        body=("sorry, we were unable to deliver your message to the following address",),
        block_start=(r"unable to deliver your message to the following address",),
    ),
    NoticeFormat(
        name="googlegroups",
        senders=("googlemail.com", "google.com"),
        body=("groups.google.com", "google groups", "google グループ"),
    ),
    NoticeFormat(
        name="amazonworkmail",
        body=("an error occurred while trying to deliver the mail to the following recipients",),
        block_start=(r"deliver the mail to the following recipients",),
        block_end=(r"^\s*technical report:",),
        reason_start=(r"^\s*diagnostic-code:\s*(?:smtp\s*;)?\s*",),
        reason_end=(r"^\s*[\w-]+:\s",),
    ),
    NoticeFormat(
        name="mfilter",
        body=("-------server message",),
        block_end=(r"^-{3,}server message",),
        original=(r"^-{3,}original mail info\s*$",),
        reason_start=(r"^-{3,}server message",),
        reason_end=(r"^-{3,}smtp command", r"^-{3,}original mail info"),
    ),
    NoticeFormat(
        name="notes",
        body=("------- failure reasons",),
        block_start=(r"-{3,}\s*failure reasons",),
        block_end=(r"-{3,}\s*returned message",),
        original=(r"^-{3,}\s*returned message\s*-{3,}$",),
    ),
    NoticeFormat(
        name="mailfoundry",
        body=("delivery failed for the following reason",),
        block_start=(r"unable to deliver message to:",),
    ),
    NoticeFormat(
        # The reply is above the recipients, and an "Additional Information"
        # list of fields follows them.
        name="mailmarshal",
        body=("the following recipients were affected",),
        block_start=(r"the following recipients were affected",),
        block_end=(r"^\s*additional information\s*$",),
        reason_start=(r"^\s*could not be delivered because of",),
        reason_end=(r"the following recipients were affected",),
        remote_mta=r"^\s*remote-mta:\s*<(?P<host>[^<>\s]+)>",
    ),
    NoticeFormat(
        name="interscanmss",
        body=("sent <<< rcpt to:",),
        address_line=r"rcpt to:\s*<(?P<address>[^<>\s]+@[^<>\s]+)>",
    ),
    NoticeFormat(
        name="mimecast",
        body=("the problem appears to be :",),
        block_start=(r"could not be delivered:|addressed to email address :",),
    ),
    NoticeFormat(
        name="biglobe",
        senders=("biglobe.ne.jp",),
        block_start=(r"-{3,}\s*the following addresses had delivery problems",),
    ),
    NoticeFormat(
        name="qmail",
        body=(
            "this is the qmail-send program",
            "qmail-send",
            "i'm afraid i wasn't able to deliver",
        ),
        block_start=(r"(?:deliver|send) your message to the following addresses",),
        original=(
            r"^--- below this line is a copy of the message",
            r"^--- enclosed are the original headers",
            r"^--- enclosed is a copy of the message",
        ),
    ),
    NoticeFormat(
        name="postfix",
        body=("this is the mail system at host", "this is the postfix program"),
        block_start=(r"^\s*the mail system\s*$",),
    ),
    NoticeFormat(
        name="dragonfly",
        body=("this is the dragonfly mail agent",),
        original=(r"^message headers follow",),
        reason_start=(r"there was an error delivering your mail to\b.*$",),
    ),
    NoticeFormat(
        name="opensmtpd",
        body=("this is the mailer-daemon, please do not reply", "the following list of recipients"),
        block_start=(r"following list of recipients",),
        block_end=(r"below is a copy of the original message",),
    ),
    NoticeFormat(name="gmx", senders=("gmx.",), block_start=_EXIM_START, block_end=_EXIM_END),
    NoticeFormat(name="mailru", senders=("mail.ru",), block_start=_EXIM_START, block_end=_EXIM_END),
    NoticeFormat(name="zoho", senders=("zoho",), block_start=_EXIM_START, block_end=_EXIM_END),
    NoticeFormat(
        name="einsundeins",
        senders=("kundenserver", "1und1", "1and1"),
        block_start=(r"following address failed:?",),
    ),
    NoticeFormat(
        name="mxlogic",
        senders=("mxl",),
        body=("this message was created automatically by mail delivery software",),
        block_start=_EXIM_START,
        block_end=_EXIM_END,
    ),
    NoticeFormat(
        name="activehunter",
        fields=("X-AHMAILID",),
        block_start=_SENDMAIL_BLOCK,
        block_end=_SENDMAIL_END,
    ),
    NoticeFormat(
        name="exim",
        body=("this message was created automatically by mail delivery software",),
        block_start=_EXIM_START,
        block_end=_EXIM_END,
    ),
    NoticeFormat(
        # Old sendmail (V5 and relatives) lists no addresses, only a transcript
        # whose "554 <address>... reason" lines name each failed recipient.
        name="sendmail",
        body=("----- unsent message follows -----",),
        address_line=r"^\s*[45]\d\d <(?P<address>[^<>\s]+@[^<>\s]+)>\.\.\.",
        block_start=(r"-{3,}\s*transcript of session follows",),
        block_end=(r"-{3,}\s*unsent message follows",),
        # The next host's session: "While talking to", its commands and replies,
        # or a "550 host (smtp)... reason" line about the host.
        entry_end=(r"^while talking to\b", r"^(?:>>>|<<<) ", r"^[45]\d\d \S+ \(\w+\)\.\.\."),
    ),
    NoticeFormat(
        name="sendmail",
        body=("----- the following addresses had", "----- transcript of session follows"),
        block_start=_SENDMAIL_BLOCK,
        block_end=_SENDMAIL_END,
    ),
    NoticeFormat(
        name="gmail",
        body=("delivery to the following recipient", "technical details of permanent failure"),
        block_start=(r"delivery to the following recipients?",),
        reason_start=(r"the error that the other server returned was:\s*",),
    ),
    NoticeFormat(
        name="exchange2003",
        body=("did not reach the following recipient",),
        block_start=(r"did not reach the following recipient",),
    ),
    NoticeFormat(
        name="office365",
        body=(
            "delivery has failed to these recipients",
            "your message to .* couldn't be delivered",
        ),
        block_start=(r"delivery has failed to these recipients",),
        block_end=(r"^diagnostic information for administrators",),
        original=(r"^original message headers:?",),
    ),
    NoticeFormat(
        name="kddi",
        senders=("dion.ne.jp", "ezweb.ne.jp", "au.com"),
        body=("could not be delivered to:",),
        block_start=(r"could not be delivered to:",),
    ),
    NoticeFormat(
        # After "kddi", whose notices come from the same domains.
        name="ezweb",
        senders=("ezweb.ne.jp",),
    ),
    NoticeFormat(
        name="verizon",
        senders=("vtext.com", "vzwpix.com"),
        body=("message details:", "message could not be delivered to mobile"),
        address_line=r"^\s*(?:rcpt to|to):\s*<?(?P<address>[^\s<>]+@[^\s<>]+)",
        block_start=(r"message details:", r"^original message:"),
        reason_start=_DETAILS_REASON_START,
        reason_end=_DETAILS_REASON_END,
    ),
    NoticeFormat(
        name="apachejames",
        body=("message details:",),
        address_line=r"^\s*rcpt to:\s*<?(?P<address>[^\s<>]+@[^\s<>]+)",
        block_start=(r"message details:",),
        reason_start=_DETAILS_REASON_START,
        reason_end=_DETAILS_REASON_END,
    ),
    NoticeFormat(
        name="fml",
        subjects=(" ml)",),
        address_line=r"<(?P<address>[^\s<>@]+@[^\s<>]+)>",
        block_end=(r"^\s*original mail as follows",),
    ),
    NoticeFormat(
        name="imailserver",
        senders=("postmaster",),
        subjects=("undeliverable mail",),
        body=("undeliverable to ", "unknown user:", "original message follows."),
        block_start=(r"undeliverable to |unknown user:|^\s*(?=\S+@\S+)",),
        block_end=(r"^\s*body of message generated response:", r"^original message follows"),
    ),
    NoticeFormat(
        name="domino",
        body=("was not delivered to:",),
        block_start=(r"was not delivered to:",),
    ),
)

GENERIC = NoticeFormat(name="unknown")
"""The fallback for a notice that has bounce evidence but no known layout."""

DSN_WRITERS: tuple[DsnWriter, ...] = (
    DsnWriter("postfix", field_prefixes=("x-postfix-",), markers=("(mail delivery system)",)),
    DsnWriter(
        "exchange",
        field_prefixes=("x-ms-exchange-", "x-msexch"),
        markers=("outlook.com", "exchange"),
    ),
    DsnWriter("exim", field_prefixes=("x-exim-",)),
    # Gmail signs its reports "Mail Delivery Subsystem" as Sendmail does.
    DsnWriter("gmail", markers=("googlemail.com", "@google.com")),
    DsnWriter("sendmail", field_prefixes=("x-sendmail-",), markers=("mail delivery subsystem",)),
    DsnWriter("amazonses", markers=("amazonses.com",)),
)

# Every value `Bounce.format` takes, which a rule's format condition may name.
FORMAT_NAMES: frozenset[str] = frozenset(
    {fmt.name for fmt in FORMATS}
    | {writer.name for writer in DSN_WRITERS}
    | {GENERIC.name, "rfc3464", "arf", "rfc3834", "amazonses"}
)
