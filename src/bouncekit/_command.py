"""
The SMTP command a remote server was replying to when it refused a message.

The same wording means different things at different stages of an SMTP session:
"User unknown" in reply to ``RCPT TO`` rejects the address, while in reply to the
end of ``DATA`` it comes from a filter that looked at the content. Mail servers
name the stage in their own ways, and this module reads the common ones:

- Postfix: ``(in reply to RCPT TO command)``, ``(in reply to end of DATA command)``;
- Exim: ``SMTP error from remote mail server after RCPT TO:<...>:``,
  ``after end of data:``, ``after initial connection:``;
- Sendmail and Courier session transcripts: ``>>> RCPT To:<...>`` followed by the
  reply ``<<< 550 ...``;
- qmail: ``does not like recipient``, ``but sender was rejected``, ``failed after
  I sent the message``, and DragonFly's ``did not like our RCPT TO``;
- Trend Micro's ``Sent <<< RCPT TO:<...>`` and ``SMTP:RCPT host ...: 553 ...``.
"""

from __future__ import annotations

import re
from typing import Final

from bouncekit._text import ascii_folded, search_at_words

__all__ = ["COMMANDS", "command_in_notice", "find_command"]

COMMANDS: Final = frozenset(
    {"CONNECT", "HELO", "EHLO", "LHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "BDAT", "QUIT"}
)
"""
The command names :attr:`bouncekit.Recipient.command` takes. ``CONNECT`` stands for
the server's greeting, which replies to the connection itself rather than to a command.
"""

# Wordings that name the command, each mapped through _normalize. Postfix and Exim
# write "end of data" for the reply to the final dot after the message content.
_PHRASES: Final = re.compile(
    r"in reply to (?:the |our )?(?P<postfix>end of data|data|rcpt to|mail from|helo|ehlo|lhlo"
    r"|starttls|auth|bdat|quit|initial greeting|greeting|banner)\b"
    r"|\bafter (?:pipelined )?(?P<exim>end of data|initial connection|rcpt to|rcpt command"
    r"|mail from|data|helo|ehlo|lhlo|starttls|auth|bdat|sending data block)\b"
    r"|did not like our (?P<dragonfly>rcpt to|mail from|data|helo|ehlo)\b"
    r"|(?P<rcpt>does not like recipient|\[rcpt_to\])"
    r"|(?P<mail>but sender was rejected)"
    r"|(?P<helo>but my name was rejected)"
    r"|(?P<connect>but greeting failed|during greeting wait|refused to talk to me)"
    r"|(?P<data>failed after i sent the message|failed on data command)"
    r"|\bsent <<< (?P<trend>rcpt to|mail from|data)\b"
    r"|\bsmtp:(?P<stage>rcpt|mail|data)\b",
    re.IGNORECASE,
)
_FIXED: Final = {
    "rcpt": "RCPT",
    "mail": "MAIL",
    "helo": "HELO",
    "connect": "CONNECT",
    "data": "DATA",
}
# A Sendmail or Courier transcript: the command sent, then the server's reply.
_SENT: Final = re.compile(
    r">>>\s*(RCPT|MAIL|DATA|EHLO|HELO|LHLO|STARTTLS|AUTH|BDAT|QUIT)\b", re.IGNORECASE
)
_FAILURE_REPLY: Final = re.compile(r"<<<\s*[45]\d\d\b")


def _normalize(words: str) -> str:
    first = words.split(maxsplit=1)[0].upper()
    if first in ("END", "SENDING"):
        return "DATA"
    if first in ("INITIAL", "GREETING", "BANNER"):
        return "CONNECT"
    return first


# Substrings of which every match of _PHRASES contains one. Testing them first is much
# cheaper than the search, which most diagnostic texts fail.
_PHRASE_KEYS: Final = (
    "in reply to",
    "after ",
    "like our",
    "like recipient",
    "rcpt_to",
    "was rejected",
    "greeting",
    "talk to me",
    "failed after",
    "failed on data",
    "sent <<<",
    "smtp:",
)


# The words every match of _PHRASES starts with.
_PHRASE_STARTS: Final = (
    "in reply to",
    "after ",
    "did not like our",
    "does not like recipient",
    "[rcpt_to]",
    "but sender was rejected",
    "but my name was rejected",
    "but greeting failed",
    "during greeting wait",
    "refused to talk to me",
    "failed after i sent",
    "failed on data",
    "sent <<<",
    "smtp:",
)


def _phrase_command(text: str) -> str | None:
    lowered = text.lower()
    folded = ascii_folded(text, lowered)
    # A plain loop, because the generator behind any() cost more than the tests.
    # With no folded text (the length changed), the keys cannot rule a match out.
    if folded is not None:
        for key in _PHRASE_KEYS:
            if key in folded:
                break
        else:
            return None
    found = search_at_words(_PHRASES, text, lowered, _PHRASE_STARTS)
    if found is None:
        return None
    name = found.lastgroup or ""
    fixed = _FIXED.get(name)
    return fixed if fixed is not None else _normalize(found[name])


def find_command(text: str) -> str | None:
    """
    Return the SMTP command that a server's reply or a diagnostic *text* replied to.

    A wording that names the command wins. In a session transcript, the command is
    the last one sent before the first failure reply. ``None`` means the text names
    no command.
    """
    if not text:
        return None
    command = _phrase_command(text)
    if command is not None:
        return command
    reply = _FAILURE_REPLY.search(text)
    if reply is None:
        return None
    sent = [found[1] for found in _SENT.finditer(text, 0, reply.start())]
    return sent[-1].upper() if sent else None


def command_in_notice(address: str, notice: str) -> str | None:
    """
    Return the SMTP command that the reply about *address* in a *notice* text replied to.

    In a session transcript, a line that names the address is matched with the
    command sent before it, across the server's ``<<<`` reply lines only, so a
    summary line about another host does not borrow a command. Failing that, a
    wording that names a command counts when it is on the line that names the
    address or on one of the three lines after it, before a blank line.
    """
    wanted = address.lower()
    lowered = notice.lower()
    if not wanted or wanted not in lowered:
        return None
    lines = notice.splitlines()
    # Lower-casing adds and removes no line break, so the lines stay aligned.
    found = [index for index, line in enumerate(lowered.splitlines()) if wanted in line]
    for index in found:
        command = _transcript_command(lines, index)
        if command is not None:
            return command
    for index in found:
        window = [lines[index]]
        for following in lines[index + 1 : index + 1 + _FOLLOWING_LINES]:
            if not following.strip():
                break
            window.append(following.strip())
        command = _phrase_command(" ".join(window))
        if command is not None:
            return command
    return None


_FOLLOWING_LINES: Final = 3


def _transcript_command(lines: list[str], index: int) -> str | None:
    """Return the command sent before line *index*, when only replies come between."""
    for position in range(index, -1, -1):
        stripped = lines[position].strip()
        sent = _SENT.match(stripped)
        if sent is not None:
            return sent[1].upper()
        if position != index and not stripped.startswith("<<<"):
            return None
    return None
