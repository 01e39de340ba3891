"""The correlation options of ``bouncekit scan`` and the ``correlation`` object they add."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from bouncekit._correlate import Correlation, NoCorrelation, RejectedId, correlate
from bouncekit._model import Bounce
from bouncekit._signed_id import SignedIdCodec
from bouncekit._sqlite_store import SQLiteCorrelator
from bouncekit._verp import VerpCodec
from bouncekit.exceptions import CorrelationError, ForgedIdError, StoreError

__all__ = ["add_correlation_arguments", "correlation_from_args", "correlation_record"]

Correlate = Callable[[Bounce], dict[str, Any]]


def add_correlation_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``--correlate`` option and the options that go with it to *parser*."""
    group = parser.add_argument_group(
        "correlation",
        "Find the sender's record of each bounced message. With --correlate, --secret, "
        "--secret-env or --verp, each JSON Lines record gets a 'correlation' object.",
    )
    group.add_argument(
        "--correlate",
        metavar="sqlite:PATH",
        help="the SQLite correlation database that the sender filled with SQLiteCorrelator",
    )
    group.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="KEY",
        help=(
            "a key of signed Message-IDs; repeat for old keys. Other users can see a command "
            "line, so prefer --secret-env"
        ),
    )
    group.add_argument(
        "--secret-env",
        action="append",
        default=[],
        metavar="NAME",
        help="an environment variable that contains a key of signed Message-IDs; repeatable",
    )
    group.add_argument(
        "--correlate-header",
        action="append",
        default=[],
        metavar="NAME",
        help="a header field of the returned message to look up, such as X-Campaign-Id; repeatable",
    )
    group.add_argument(
        "--verp",
        metavar="LOCAL@DOMAIN",
        help="the VERP return address without the recipient, such as bounces@bounces.example.com",
    )
    group.add_argument(
        "--verp-separator",
        default="+",
        metavar="CHAR",
        help="the character between the VERP local part and the recipient (default: +)",
    )


def _open_store(spec: str) -> SQLiteCorrelator:
    scheme, colon, path = spec.partition(":")
    if scheme != "sqlite" or not colon or not path:
        msg = f"invalid --correlate value {spec!r}: write sqlite:PATH, such as sqlite:bounces.db"
        raise CorrelationError(msg)
    try:
        return SQLiteCorrelator(path, read_only=True)
    except StoreError as exc:
        msg = f"--correlate: {exc}"
        raise StoreError(msg) from exc


def _secrets(args: argparse.Namespace) -> list[str]:
    keys = list(args.secret)
    for name in args.secret_env:
        value = os.environ.get(name)
        if not value:
            msg = f"the environment variable {name!r} given with --secret-env is not set or empty"
            raise CorrelationError(msg)
        keys.append(value)
    return keys


def _verp(args: argparse.Namespace) -> VerpCodec | None:
    if args.verp is None:
        return None
    local, at, domain = args.verp.rpartition("@")
    if not at or not local or not domain:
        msg = f"invalid --verp value {args.verp!r}: write LOCAL@DOMAIN, such as bounces@example.com"
        raise CorrelationError(msg)
    return VerpCodec(local, domain, separator=args.verp_separator)


def correlation_from_args(args: argparse.Namespace) -> Correlate | None:
    """
    Return the function that correlates one bounce as the options set, or ``None``.

    Raises:
        CorrelationError: An option value is invalid.
        StoreError: The database cannot be opened.
    """
    keys = _secrets(args)
    verp = _verp(args)
    headers = tuple(args.correlate_header)
    if args.correlate is None and not keys and verp is None:
        if headers:
            msg = "--correlate-header needs --correlate sqlite:PATH to look the values up in"
            raise CorrelationError(msg)
        return None
    store = _open_store(args.correlate) if args.correlate is not None else None
    codec = SignedIdCodec(keys) if keys else None

    def run(bounce: Bounce) -> dict[str, Any]:
        result = correlate(bounce, store, signed_ids=codec, headers=headers, verp=verp)
        return correlation_record(result)

    return run


def _rejected_record(rejected: RejectedId) -> dict[str, Any]:
    problem = "forged" if isinstance(rejected.error, ForgedIdError) else "altered"
    return {"message_id": rejected.message_id, "field": rejected.field, "problem": problem}


def correlation_record(result: Correlation[Any] | NoCorrelation) -> dict[str, Any]:
    """Return the ``correlation`` object of a JSON Lines record."""
    rejected = [_rejected_record(item) for item in result.rejected]
    if isinstance(result, NoCorrelation):
        return {
            "matched": False,
            "method": None,
            "field": None,
            "identifier": None,
            "record": None,
            "signed_id": None,
            "recipient": None,
            "rejected": rejected,
        }
    signed = result.signed_id
    return {
        "matched": True,
        "method": result.method.value,
        "field": result.field,
        "identifier": result.identifier,
        "record": result.record,
        "signed_id": None
        if signed is None
        else {
            "delivery_id": signed.delivery_id,
            "recipient_id": signed.recipient_id,
            "issued_at": signed.issued_at.isoformat(),
            "key_index": signed.key_index,
        },
        "recipient": result.recipient,
        "rejected": rejected,
    }
