"""
``bouncekit scan pop3s://USER@HOST[:PORT]``: read a bounce mailbox over POP3.

Records are produced one message at a time, and the generator resumes only
after the command line has written the previous record, so a message is
marked for deletion (``--delete``) or remembered (``--keep-seen``) only once
its record is out. Deletions happen at QUIT, after the output is flushed.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import logging
import os
import re
import ssl
import sys
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import attrs

from bouncekit._mailbox import AuthMethod, Pop3Mailbox
from bouncekit._model import Bounce
from bouncekit._pop3_client import Security
from bouncekit._ruleset import RuleSet
from bouncekit._scan import ScanItem, error_record, scan_item
from bouncekit._seen_ids import SeenIds
from bouncekit.exceptions import BounceKitError, TlsError

__all__ = [
    "DEFAULT_TIMEOUT",
    "PASSWORD_VARIABLE",
    "Pop3Options",
    "Pop3Target",
    "Pop3UsageError",
    "add_pop3_arguments",
    "ask_passwords",
    "check_ca_file",
    "is_pop3_url",
    "pop3_options",
    "pop3_records",
    "pop3_usage_error",
]

logger = logging.getLogger(__name__)

PASSWORD_VARIABLE = "BOUNCEKIT_POP3_PASSWORD"
DEFAULT_TIMEOUT = 60.0
_SCHEMES = ("pop3://", "pop3s://")
_DEFAULT_PORTS = {"tls": 995, "starttls": 110}


class Pop3UsageError(BounceKitError):
    """A POP3 URL or option of the command line is wrong, or no password was given."""


def is_pop3_url(text: str) -> bool:
    """Return ``True`` when *text* names a POP3 mailbox rather than a path."""
    return text.lower().startswith(_SCHEMES)


@attrs.frozen
class Pop3Options:
    """
    The command line's POP3 settings.

    Attributes:
        delete: Delete each message whose record was written without an error,
            except one that is not a bounce (kind ``not_bounce``), such as a
            person's reply to the bounce address.
        seen: The unique-ids already reported, by mailbox (``--keep-seen``), so
            messages left on the server are not reported twice.
        ca_file: A PEM file of certificates to trust instead of the system's.
        auth: The login method: ``"user"``, ``"plain"``, ``"xoauth2"`` or ``"apop"``.
        timeout: Seconds to wait for the server.
        correlate: Adds the ``correlation`` object to each record, when given.
        rules: The rules that classify each recipient, the defaults when ``None``.
    """

    delete: bool = False
    seen: SeenIds | None = None
    ca_file: Path | None = None
    auth: AuthMethod = "user"
    timeout: float = DEFAULT_TIMEOUT
    correlate: Callable[[Bounce], dict[str, Any]] | None = None
    rules: RuleSet | None = None


@attrs.frozen
class Pop3Target:
    """
    A POP3 mailbox named on the command line.

    Attributes:
        host: The server's host name or address.
        port: The port, the default of the scheme when the URL has none.
        user: The user name, percent-decoded.
        security: ``"tls"`` for ``pop3s://``, ``"starttls"`` for ``pop3://`` with ``--starttls``.
    """

    host: str
    port: int
    user: str
    security: Security

    @property
    def mailbox(self) -> str:
        """``USER@HOST:PORT``, the key of this mailbox in the ``--keep-seen`` file."""
        return f"{self.user}@{_url_host(self.host)}:{self.port}"

    @property
    def url(self) -> str:
        """The URL of this mailbox, with the port always written."""
        scheme = "pop3s" if self.security == "tls" else "pop3"
        user = quote(self.user, safe="!$&'()*+,;=")
        return f"{scheme}://{user}@{_url_host(self.host)}:{self.port}"

    @classmethod
    def parse(cls, url: str, starttls: bool) -> Pop3Target:
        """
        Return the mailbox that *url* names.

        Raises:
            Pop3UsageError: The URL contains a password, has no user or host,
                has an invalid host or port, has a path, query or fragment, or
                does not fit ``--starttls``.
        """
        scheme, _, rest = url.partition("://")
        scheme = scheme.lower()
        netloc, tail = _split_netloc(rest)
        userinfo, at_sign, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            username = userinfo.partition(":")[0]
            msg = (
                f"a password in the URL {scheme}://{username}:***@{hostport} is not accepted, "
                f"because command lines are visible to other users; set {PASSWORD_VARIABLE} "
                "or type it at the prompt"
            )
            raise Pop3UsageError(msg)
        if not at_sign or not userinfo or not hostport:
            msg = f"{url!r} needs a user and a host: pop3s://USER@HOST[:PORT]"
            raise Pop3UsageError(msg)
        if tail not in ("", "/"):
            msg = (
                f"{url!r} has a path, query or fragment ({tail!r}), which a POP3 URL does not "
                "take; remove it: pop3s://USER@HOST[:PORT]"
            )
            raise Pop3UsageError(msg)
        if ";auth=" in userinfo.lower():
            msg = f"{url!r} names the login method in the URL; remove ';AUTH=...' and use --auth"
            raise Pop3UsageError(msg)
        host, port_text = _split_host_port(url, hostport)
        if scheme == "pop3s" and starttls:
            msg = "--starttls applies to pop3:// URLs; pop3s:// already uses TLS from the start"
            raise Pop3UsageError(msg)
        if scheme == "pop3" and not starttls:
            msg = (
                f"{url!r} would send the password unencrypted; use pop3s://, "
                "or add --starttls if the server offers STLS"
            )
            raise Pop3UsageError(msg)
        security: Security = "tls" if scheme == "pop3s" else "starttls"
        if not port_text:
            port = _DEFAULT_PORTS[security]
        elif port_text.isascii() and port_text.isdigit() and 0 < int(port_text) <= 65535:
            port = int(port_text)
        else:
            msg = f"{url!r} has an invalid port; expected a number from 1 to 65535"
            raise Pop3UsageError(msg)
        return cls(host, port, unquote(userinfo), security)


def _split_netloc(rest: str) -> tuple[str, str]:
    """Split what follows ``scheme://`` into the authority and the path, query and fragment."""
    end = len(rest)
    for delimiter in "/?#":
        index = rest.find(delimiter)
        if index != -1:
            end = min(end, index)
    return rest[:end], rest[end:]


def _split_host_port(url: str, hostport: str) -> tuple[str, str]:
    """
    Return the host of *hostport* (lower-cased, without IPv6 brackets) and its port text.

    Raises:
        Pop3UsageError: The host is empty, contains a space or a bracket out of
            place, is a bracketed text that is not an IPv6 address, or is an
            IPv6 address without brackets.
    """
    if hostport.startswith("["):
        literal, bracket, after = hostport[1:].partition("]")
        if not bracket:
            problem = "'[' opens an IPv6 address but no ']' closes it"
        elif after and not after.startswith(":"):
            problem = f"{after!r} follows the ']' of the IPv6 address; expected ':PORT' or nothing"
        else:
            problem = _ipv6_problem(literal)
        if problem:
            msg = f"{url!r} has an invalid host: {problem}"
            raise Pop3UsageError(msg)
        return literal.lower(), after[1:]
    if hostport.count(":") > 1:
        msg = (
            f"{url!r} has an invalid host: it contains more than one ':', and an IPv6 "
            "address must be in brackets, as in pop3s://USER@[::1]:995"
        )
        raise Pop3UsageError(msg)
    host, _, port_text = hostport.partition(":")
    bad = [char for char in host if char in "[]" or char.isspace() or not char.isprintable()]
    if not host or bad:
        found = f"it contains {bad[0]!r}" if bad else "it is empty"
        msg = f"{url!r} has an invalid host: {found}"
        raise Pop3UsageError(msg)
    return host.lower(), port_text


def _ipv6_problem(literal: str) -> str:
    """Return why the bracketed *literal* is not an IPv6 address, or ``""`` when it is one."""
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        pass
    else:
        return ""
    try:
        ipaddress.IPv4Address(literal)
    except ValueError:
        return f"{literal!r} in brackets is not an IPv6 address"
    return f"brackets are only for IPv6 addresses; write {literal} without them"


def _url_host(host: str) -> str:
    """Return *host* as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def ask_passwords(targets: Iterable[Pop3Target], auth: AuthMethod) -> dict[Pop3Target, str]:
    """
    Return the password (the access token for ``xoauth2``) of each target.

    :data:`PASSWORD_VARIABLE` gives the password of every target. When it is
    unset or empty, each target's password is asked for at the terminal,
    before any record is written.

    Raises:
        Pop3UsageError: There is no password: the variable is unset or empty
            and standard input is not a terminal, or the user typed Ctrl-D or
            an empty password.
    """
    targets = list(dict.fromkeys(targets))
    password = os.environ.get(PASSWORD_VARIABLE)
    if password:
        return dict.fromkeys(targets, password)
    if targets and not sys.stdin.isatty():
        if password == "":
            msg = (
                f"{PASSWORD_VARIABLE} is empty; set it to the POP3 password, "
                "or run on a terminal to be prompted"
            )
        else:
            msg = f"no POP3 password: set {PASSWORD_VARIABLE}, or run on a terminal to be prompted"
        raise Pop3UsageError(msg)
    noun = "OAuth 2.0 access token" if auth == "xoauth2" else "POP3 password"
    passwords = {}
    for target in targets:
        try:
            typed = getpass.getpass(f"{noun} for {target.user}@{_url_host(target.host)}: ")
        except EOFError:
            # Ctrl-D leaves the cursor after the prompt: end that line first.
            print(file=sys.stderr)
            raise Pop3UsageError("no password given") from None
        if not typed:
            msg = f"empty {noun} for {target.user}@{_url_host(target.host)}; nothing was read"
            raise Pop3UsageError(msg)
        passwords[target] = typed
    return passwords


def check_ca_file(ca_file: Path | None) -> None:
    """
    Raise :class:`Pop3UsageError` when the ``--ca-file`` cannot be loaded.

    This runs before any password is asked for, so a wrong path is a usage
    error at once rather than an error record for each mailbox.
    """
    if ca_file is None:
        return
    try:
        ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        msg = f"cannot load --ca-file {str(ca_file)!r}: {reason}"
        raise Pop3UsageError(msg) from exc


def _context(options: Pop3Options) -> ssl.SSLContext:
    if options.ca_file is None:
        return ssl.create_default_context()
    try:
        return ssl.create_default_context(cafile=str(options.ca_file))
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        msg = f"cannot load --ca-file {str(options.ca_file)!r}: {reason}"
        raise TlsError(msg) from exc


def pop3_records(
    target: Pop3Target, password: str, options: Pop3Options, flush: Callable[[], None]
) -> Generator[dict[str, Any], None, None]:
    """
    Yield one ``bouncekit scan`` record per message of the mailbox *target*.

    *flush* is called after the last record, before QUIT deletes anything.
    A mailbox that cannot be opened, or a session that fails, gives one
    record with ``error`` set whose source is the mailbox URL.
    """
    try:
        box = Pop3Mailbox.open(
            target.host,
            target.user,
            password,
            port=target.port,
            security=target.security,
            auth=options.auth,
            ssl_context=_context(options),
            timeout=options.timeout,
        )
    except (BounceKitError, OSError) as exc:
        yield error_record(target.url, str(exc))
        return
    yield from _scan_mailbox(box, target, options, flush)


def _scan_mailbox(
    box: Pop3Mailbox, target: Pop3Target, options: Pop3Options, flush: Callable[[], None]
) -> Iterator[dict[str, Any]]:
    seen = options.seen.ids(target.mailbox) if options.seen is not None else frozenset()
    listed: set[str] | None = None
    written: set[str] = set()
    not_bounces_kept = 0
    try:
        with box:
            infos = box.list_messages()
            listed = {info.uid for info in infos}
            if not infos:
                print(f"bouncekit: {target.url!r} contains no message", file=sys.stderr)
            # Server order, so the records come in the order the server lists them.
            todo = [info.uid for info in infos if info.uid not in seen]
            for message in box.iter_messages(uids=todo):
                source = f"{target.url}/{message.uid}"
                if message.data is None:
                    error = message.error or "cannot fetch the message"
                    record = scan_item(ScanItem(source, error=error), options.correlate)
                else:
                    record = scan_item(
                        ScanItem(source, message.data), options.correlate, options.rules
                    )
                yield record
                # The generator resumes here only after the record was written.
                written.add(message.uid)
                if options.delete and message.data is not None:
                    # A message that is not a bounce may be a person's mail: it stays.
                    if record["kind"] == "not_bounce":
                        not_bounces_kept += 1
                    else:
                        box.mark_deleted(message.uid)
            flush()
            result = box.commit()
            logger.info(
                "%s: %d records, %d deleted", target.mailbox, len(written), len(result.deleted)
            )
            if options.delete:
                note = f"bouncekit: deleted {len(result.deleted)} message(s) from {target.mailbox}"
                if not_bounces_kept:
                    note += f"; kept {not_bounces_kept} that are not bounces"
                print(note, file=sys.stderr)
    except BounceKitError as exc:
        # MarksLostError among them: the session ended early and deleted nothing.
        yield error_record(target.url, str(exc))
    finally:
        if options.seen is not None:
            # The command line writes the file once the output is flushed.
            options.seen.update(target.mailbox, listed, written)


# The options that apply only to POP3 URLs, with the test of whether each was given.
_POP3_ONLY: tuple[tuple[str, str], ...] = (
    ("--delete", "delete"),
    ("--keep-seen", "keep_seen"),
    ("--starttls", "starttls"),
    ("--ca-file", "ca_file"),
    ("--auth", "auth"),
    ("--timeout", "timeout"),
)
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def add_pop3_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the POP3 options of ``bouncekit scan`` to *parser*."""
    pop3 = parser.add_argument_group(
        "POP3",
        "A PATH of the form pop3s://USER@HOST[:PORT] or pop3://USER@HOST[:PORT] reads a POP3 "
        "mailbox. The password comes from the BOUNCEKIT_POP3_PASSWORD environment variable, "
        "or from a prompt; it is never accepted on the command line. These options are an "
        "error when no PATH is a POP3 URL; with both POP3 URLs and local paths, they apply "
        "to the POP3 URLs only.",
    )
    pop3.add_argument("--starttls", action="store_true", help="use STLS on a pop3:// URL")
    pop3.add_argument(
        "--delete",
        action="store_true",
        help=(
            "delete each message from the server once its record is written without an error; "
            "each mailbox is committed after its last record, and messages that are not "
            "bounces (kind not_bounce) stay on the server"
        ),
    )
    pop3.add_argument(
        "--keep-seen",
        metavar="FILE",
        help=(
            "skip the unique-ids that FILE lists for the mailbox, and add those reported now; "
            "one FILE can serve several mailboxes, and ids no longer on the server are dropped"
        ),
    )
    pop3.add_argument(
        "--ca-file", type=Path, metavar="FILE", help="trust the certificates in this PEM file"
    )
    pop3.add_argument(
        "--auth",
        choices=("user", "plain", "xoauth2", "apop"),
        default=None,
        help=(
            "the login method: USER/PASS, AUTH PLAIN, AUTH XOAUTH2 (the password is the "
            "OAuth 2.0 access token) or APOP (default: user)"
        ),
    )
    pop3.add_argument(
        "--timeout",
        type=_seconds,
        default=None,
        metavar="SECONDS",
        help=(
            "how long to wait for the server to connect or respond, in seconds "
            f"(default: {DEFAULT_TIMEOUT:g})"
        ),
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        msg = f"invalid value {text!r}: expected a finite number of seconds greater than 0"
        raise argparse.ArgumentTypeError(msg)
    return value


def pop3_usage_error(args: argparse.Namespace) -> str | None:
    """Return the message for a URL of an unsupported scheme, or a POP3 option without a URL."""
    for path in args.paths:
        scheme = _URL_SCHEME.match(path)
        if scheme and not is_pop3_url(path) and not os.path.lexists(path):
            return (
                f"unsupported scheme {scheme.group(1)!r}; bouncekit reads pop3:// and pop3s:// "
                "URLs, files and folders"
            )
    if any(is_pop3_url(path) for path in args.paths):
        return None
    for option, name in _POP3_ONLY:
        if getattr(args, name) not in (None, False):
            return (
                f"{option} applies only to pop3:// and pop3s:// paths, and no PATH is one; "
                "remove the option"
            )
    return None


def pop3_options(
    args: argparse.Namespace,
    seen: SeenIds | None,
    correlate: Callable[[Bounce], dict[str, Any]] | None,
    rules: RuleSet | None,
) -> Pop3Options:
    """Return the POP3 settings of the parsed command line *args*."""
    return Pop3Options(
        delete=args.delete,
        seen=seen,
        ca_file=args.ca_file,
        auth=args.auth or "user",
        timeout=args.timeout or DEFAULT_TIMEOUT,
        correlate=correlate,
        rules=rules,
    )
