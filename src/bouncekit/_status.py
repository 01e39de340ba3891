"""RFC 3463 enhanced mail system status codes."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Final

import attrs

__all__ = ["StatusCode", "find_status_codes", "status_code"]

# RFC 3463 section 2: class "." subject "." detail, where class is 2, 4 or 5 and
# subject and detail are each one to three digits without leading zeros. Real
# servers write leading zeros now and then ("5.01.001"), so the pattern accepts
# them and the parsed numbers drop them.
_STATUS = re.compile(r"\s*([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")

# The same code inside free text: not part of a longer dotted number such as an
# IP address ("192.5.1.1") or a version ("v2.4.1.7"). A leading "#" (Postfix's
# "550 #5.1.0") and brackets are allowed.
_STATUS_IN_TEXT = re.compile(r"(?<![\w.])#?([245])\.(\d{1,3})\.(\d{1,3})(?![\w-]|\.\d)")
# The class digit and dot that start a code in text. _STATUS_IN_TEXT begins with a
# lookbehind, which makes the engine try every position, and this pattern is
# scanned for quickly.
_STATUS_START = re.compile(r"[245]\.\d")

_SUBJECTS: Final = {
    0: "Other or undefined status",
    1: "Addressing status",
    2: "Mailbox status",
    3: "Mail system status",
    4: "Network and routing status",
    5: "Mail delivery protocol status",
    6: "Message content or media status",
    7: "Security or policy status",
}

# Subject and detail pairs. RFC 3463 section 3 defines those with no RFC in
# parentheses. The others come from the IANA "SMTP Enhanced Status Codes"
# registry, with the RFC that added them.
_DETAILS: Final = {
    (0, 0): "Other undefined status",
    (1, 0): "Other address status",
    (1, 1): "Bad destination mailbox address",
    (1, 2): "Bad destination system address",
    (1, 3): "Bad destination mailbox address syntax",
    (1, 4): "Destination mailbox address ambiguous",
    (1, 5): "Destination address valid",
    (1, 6): "Destination mailbox has moved, no forwarding address",
    (1, 7): "Bad sender's mailbox address syntax",
    (1, 8): "Bad sender's system address",
    (1, 10): "Recipient address has null MX (RFC 7505)",
    (2, 0): "Other or undefined mailbox status",
    (2, 1): "Mailbox disabled, not accepting messages",
    (2, 2): "Mailbox full",
    (2, 3): "Message length exceeds administrative limit",
    (2, 4): "Mailing list expansion problem",
    (3, 0): "Other or undefined mail system status",
    (3, 1): "Mail system full",
    (3, 2): "System not accepting network messages",
    (3, 3): "System not capable of selected features",
    (3, 4): "Message too big for system",
    (3, 5): "System incorrectly configured",
    (4, 0): "Other or undefined network or routing status",
    (4, 1): "No answer from host",
    (4, 2): "Bad connection",
    (4, 3): "Directory server failure",
    (4, 4): "Unable to route",
    (4, 5): "Mail system congestion",
    (4, 6): "Routing loop detected",
    (4, 7): "Delivery time expired",
    (5, 0): "Other or undefined protocol status",
    (5, 1): "Invalid command",
    (5, 2): "Syntax error",
    (5, 3): "Too many recipients",
    (5, 4): "Invalid command arguments",
    (5, 5): "Wrong protocol version",
    (5, 6): "Authentication exchange line is too long (RFC 4954)",
    (6, 0): "Other or undefined media error",
    (6, 1): "Media not supported",
    (6, 2): "Conversion required and prohibited",
    (6, 3): "Conversion required but not supported",
    (6, 4): "Conversion with loss performed",
    (6, 5): "Conversion failed",
    (6, 7): "Non-ASCII addresses not permitted for that sender or recipient (RFC 6531)",
    (7, 0): "Other or undefined security status",
    (7, 1): "Delivery not authorized, message refused",
    (7, 2): "Mailing list expansion prohibited",
    (7, 3): "Security conversion required but not possible",
    (7, 4): "Security features not supported",
    (7, 5): "Cryptographic failure",
    (7, 6): "Cryptographic algorithm not supported",
    (7, 7): "Message integrity failure",
    (7, 8): "Authentication credentials invalid (RFC 4954)",
    (7, 9): "Authentication mechanism is too weak (RFC 4954)",
    (7, 11): "Encryption required for requested authentication mechanism (RFC 4954)",
    (7, 20): "No passing DKIM signature found (RFC 7372)",
    (7, 23): "SPF validation failed (RFC 7372)",
    (7, 25): "Reverse DNS validation failed (RFC 7372)",
    (7, 26): "Multiple authentication checks failed (RFC 7372)",
    (7, 27): "Sender address has null MX (RFC 7505)",
}

_CLASSES: Final = {
    2: "Success",
    4: "Persistent transient failure",
    5: "Permanent failure",
}


@attrs.frozen(order=True)
class StatusCode:
    """
    An RFC 3463 enhanced status code such as ``5.1.1``.

    A code is equal to its text (``StatusCode(5, 1, 1) == "5.1.1"``) and hashes
    like it. Codes sort by class, subject and detail.

    Attributes:
        class_: 2 (success), 4 (persistent transient failure) or 5 (permanent failure).
        subject: The subject digit group, 0 to 999.
        detail: The detail digit group, 0 to 999.
    """

    class_: int = attrs.field(validator=attrs.validators.in_((2, 4, 5)))
    subject: int = attrs.field(validator=[attrs.validators.ge(0), attrs.validators.le(999)])
    detail: int = attrs.field(validator=[attrs.validators.ge(0), attrs.validators.le(999)])

    @classmethod
    def parse(cls, text: str) -> StatusCode:
        """
        Parse a code written as ``class.subject.detail``.

        Leading whitespace and text after the code, such as a comment, are ignored.

        Raises:
            ValueError: *text* does not start with a valid status code.
        """
        found = _STATUS.match(text)
        if found is None:
            msg = f"invalid RFC 3463 status code: {text!r}"
            raise ValueError(msg)
        return cls(int(found[1]), int(found[2]), int(found[3]))

    @classmethod
    def try_parse(cls, text: str) -> StatusCode | None:
        """Parse *text* like :meth:`parse`, or return ``None`` when it starts with no code."""
        found = _STATUS.match(text)
        if found is None:
            return None
        if cls is StatusCode:
            return status_code(int(found[1]), int(found[2]), int(found[3]))
        return cls(int(found[1]), int(found[2]), int(found[3]))

    def __str__(self) -> str:
        return f"{self.class_}.{self.subject}.{self.detail}"

    def __eq__(self, other: object) -> bool:
        # Equal to its text too, as the enums are, so `status == "5.1.1"` works.
        if isinstance(other, StatusCode):
            return (self.class_, self.subject, self.detail) == (
                other.class_,
                other.subject,
                other.detail,
            )
        if isinstance(other, str):
            return str(self) == other.strip()
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    @property
    def is_success(self) -> bool:
        """Whether the class is 2."""
        return self.class_ == 2

    @property
    def is_transient(self) -> bool:
        """Whether the class is 4: the same message may be delivered later."""
        return self.class_ == 4

    @property
    def is_permanent(self) -> bool:
        """Whether the class is 5: sending the same message again will fail."""
        return self.class_ == 5

    @property
    def is_generic(self) -> bool:
        """Whether subject and detail are both 0, so only the class carries meaning."""
        return self.subject == 0 and self.detail == 0

    @property
    def class_description(self) -> str:
        """The RFC 3463 name of the class."""
        return _CLASSES[self.class_]

    @property
    def subject_description(self) -> str:
        """The RFC 3463 name of the subject, or ``"Unknown subject"``."""
        return _SUBJECTS.get(self.subject, "Unknown subject")

    @property
    def description(self) -> str:
        """
        The registered meaning of subject and detail together.

        Codes that no RFC defines fall back to the subject's name.
        """
        return _DETAILS.get((self.subject, self.detail), self.subject_description)


@functools.lru_cache(maxsize=1024)
def status_code(class_: int, subject: int, detail: int) -> StatusCode:
    """
    Return ``StatusCode(class_, subject, detail)``, shared between the calls that ask for it.

    Codes are frozen, so one instance serves every message that writes the same
    code, and the validators run once per code. Mail servers write a few hundred
    distinct codes, which the cache holds.
    """
    return StatusCode(class_, subject, detail)


# A reply code right before the enhanced code: "550 5.1.1", "550-5.1.1", "550 #5.1.0".
_AFTER_REPLY_CODE = re.compile(r"[245]\d\d[ -]['\"(]?#?$")


def _iter_status_codes(text: str) -> Iterator[re.Match[str]]:
    """
    Yield what ``_STATUS_IN_TEXT.finditer(text)`` yields, trying only where a code can start.

    A code starts at a class digit that _STATUS_START finds, or at a "#"
    right before it. Matches cannot overlap, so the next try is after the
    last match.
    """
    position = 0
    while (candidate := _STATUS_START.search(text, position)) is not None:
        digit = candidate.start()
        match = None
        if digit > position and text[digit - 1] == "#":
            match = _STATUS_IN_TEXT.match(text, digit - 1)
        if match is None:
            match = _STATUS_IN_TEXT.match(text, digit)
        if match is None:
            position = digit + 1
        else:
            yield match
            position = match.end()


def find_status_codes(text: str, *, prefer_replies: bool = False) -> list[StatusCode]:
    """
    Return every enhanced status code written in free *text*.

    The codes are in text order. With *prefer_replies*, the codes written right
    after an SMTP reply code (``550 5.1.1``) come first: those are the remote
    server's own, where a code elsewhere in the text may be a relay's summary.
    """
    found = []
    after_reply = []
    for match in _iter_status_codes(text):
        code = status_code(int(match[1]), int(match[2]), int(match[3]))
        before = text[max(0, match.start() - 6) : match.start()]
        if prefer_replies and _AFTER_REPLY_CODE.search(before):
            after_reply.append(code)
        else:
            found.append(code)
    return after_reply + found
