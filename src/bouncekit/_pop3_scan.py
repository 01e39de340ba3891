"""
``bouncekit scan pop3s://USER@HOST[:PORT]``: read a bounce mailbox over POP3.

Records are produced one message at a time, and the generator resumes only
after the command line has written the previous record, so a message is
marked for deletion (``--delete``) or remembered (``--keep-seen``) only once
its record is out. Deletions happen at QUIT, after the output is flushed.
"""

from __future__ import annotations

import getpass
import logging
import os
import ssl
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import attrs

from bouncekit._mailbox import Pop3Mailbox
from bouncekit._model import Bounce
from bouncekit._pop3_client import Security
from bouncekit._ruleset import RuleSet
from bouncekit._scan import ScanItem, error_record, scan_item
from bouncekit.exceptions import BounceKitError, TlsError

__all__ = ["PASSWORD_VARIABLE", "Pop3Options", "is_pop3_url", "pop3_records"]

logger = logging.getLogger(__name__)

PASSWORD_VARIABLE = "BOUNCEKIT_POP3_PASSWORD"
_SCHEMES = ("pop3://", "pop3s://")


def is_pop3_url(text: str) -> bool:
    """Return ``True`` when *text* names a POP3 mailbox rather than a path."""
    return text.lower().startswith(_SCHEMES)


@attrs.frozen
class Pop3Options:
    """
    The command line's POP3 settings.

    Attributes:
        starttls: Use STLS on a ``pop3://`` URL.
        delete: Delete each message whose record was written without an error.
        keep_seen: A file of unique-ids already reported, read before and
            written after the scan, so messages left on the server are not
            reported twice.
        ca_file: A PEM file of certificates to trust instead of the system's.
        timeout: Seconds to wait for the server.
        correlate: Adds the ``correlation`` object to each record, when given.
        rules: The rules that classify each recipient, the defaults when ``None``.
    """

    starttls: bool = False
    delete: bool = False
    keep_seen: Path | None = None
    ca_file: Path | None = None
    timeout: float = 60.0
    correlate: Callable[[Bounce], dict[str, Any]] | None = None
    rules: RuleSet | None = None


@attrs.frozen
class _Target:
    host: str
    port: int | None
    user: str
    security: Security

    @classmethod
    def parse(cls, url: str, starttls: bool) -> _Target:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if parts.password is not None:
            msg = (
                f"a password in the URL {parts.scheme}://{parts.username}:***@{parts.hostname} is "
                f"not accepted, because command lines are visible to other users; set "
                f"{PASSWORD_VARIABLE} or type it at the prompt"
            )
            raise BounceKitError(msg)
        if not parts.username or not parts.hostname:
            msg = f"{url!r} needs a user and a host: pop3s://USER@HOST[:PORT]"
            raise BounceKitError(msg)
        if scheme == "pop3s" and starttls:
            msg = "--starttls applies to pop3:// URLs; pop3s:// already uses TLS from the start"
            raise BounceKitError(msg)
        if scheme == "pop3" and not starttls:
            msg = (
                f"{url!r} would send the password unencrypted; use pop3s://, "
                "or add --starttls if the server offers STLS"
            )
            raise BounceKitError(msg)
        security: Security = "tls" if scheme == "pop3s" else "starttls"
        try:
            port = parts.port
        except ValueError:
            msg = f"{url!r} has an invalid port; expected a number from 1 to 65535"
            raise BounceKitError(msg) from None
        return cls(parts.hostname, port, unquote(parts.username), security)


def _password(target: _Target) -> str:
    password = os.environ.get(PASSWORD_VARIABLE)
    if password:
        return password
    if not sys.stdin.isatty():
        msg = f"no POP3 password: set {PASSWORD_VARIABLE}, or run on a terminal to be prompted"
        raise BounceKitError(msg)
    return getpass.getpass(f"POP3 password for {target.user}@{target.host}: ")


def _load_seen(path: Path | None) -> set[str]:
    if path is None or not path.exists():
        return set()
    return {line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()}


def _save_seen(path: Path, uids: set[str]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text("".join(f"{uid}\n" for uid in sorted(uids)), "utf-8")
    temporary.replace(path)


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
    url: str, options: Pop3Options, flush: Callable[[], None]
) -> Iterator[dict[str, Any]]:
    """
    Yield one ``bouncekit scan`` record per message of the mailbox at *url*.

    *flush* is called after the last record, before QUIT deletes anything.
    A mailbox that cannot be opened, or a session that fails, gives one
    record with ``error`` set and source ``pop3://HOST``.
    """
    try:
        target = _Target.parse(url, options.starttls)
        box = Pop3Mailbox.open(
            target.host,
            target.user,
            _password(target),
            port=target.port,
            security=target.security,
            ssl_context=_context(options),
            timeout=options.timeout,
        )
    except (BounceKitError, OSError) as exc:
        yield error_record(f"pop3://{urlsplit(url).hostname or url}", str(exc))
        return
    yield from _scan_mailbox(box, target.host, options, flush)


def _scan_mailbox(
    box: Pop3Mailbox, host: str, options: Pop3Options, flush: Callable[[], None]
) -> Iterator[dict[str, Any]]:
    seen = _load_seen(options.keep_seen)
    listed: set[str] = set()
    written: set[str] = set()
    try:
        with box:
            infos = box.list_messages()
            listed = {info.uid for info in infos}
            # Server order, so the records come in the order the server lists them.
            todo = [info.uid for info in infos if info.uid not in seen]
            for message in box.iter_messages(uids=todo):
                source = f"pop3://{host}/{message.uid}"
                if message.data is None:
                    error = message.error or "cannot fetch the message"
                    yield scan_item(ScanItem(source, error=error), options.correlate)
                else:
                    yield scan_item(
                        ScanItem(source, message.data), options.correlate, options.rules
                    )
                # The generator resumes here only after the record was written.
                written.add(message.uid)
                if options.delete and message.data is not None:
                    box.mark_deleted(message.uid)
            flush()
            result = box.commit()
            logger.info("%s: %d records, %d deleted", host, len(written), len(result.deleted))
    except BounceKitError as exc:
        # MarksLostError among them: the session ended early and deleted nothing.
        yield error_record(f"pop3://{host}", str(exc))
    finally:
        if options.keep_seen is not None:
            # Ids no longer on the server are dropped, so the file does not grow forever.
            _save_seen(options.keep_seen, (seen & listed) | written)
