"""The ``bouncekit`` command line."""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import logging
import os
import sys
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from typing import Any

from bouncekit import __version__
from bouncekit._cli_output import Output, OutputError
from bouncekit._cli_rules import add_rule_commands, add_rules_option, load_rule_set
from bouncekit._pop3_scan import (
    Pop3Options,
    Pop3Target,
    Pop3UsageError,
    add_pop3_arguments,
    ask_passwords,
    check_ca_file,
    is_pop3_url,
    pop3_options,
    pop3_records,
    pop3_usage_error,
)
from bouncekit._rules import RuleError
from bouncekit._scan import display_path, iter_messages, scan_item
from bouncekit._scan_correlate import add_correlation_arguments, correlation_from_args
from bouncekit._seen_ids import SeenIds, SeenIdsError
from bouncekit.exceptions import CorrelationError, StoreError

__all__ = ["main"]

_CSV_COLUMNS = (
    "source",
    "kind",
    "format",
    "original_message_id",
    "address",
    "action",
    "status",
    "reply_code",
    "bounce_type",
    "reason",
    "rule",
    "diagnostic",
    "error",
    # Added later, at the end, so that the earlier columns keep their positions.
    "command",
    "remote_mta",
    "feedback_type",
    "defects",
)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bouncekit",
        description="Parse and classify email bounces.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    scan = commands.add_parser(
        "scan",
        help="parse every message in files, folders, mbox files and Maildirs",
        description=(
            "Parse every message under each PATH (a message file, an mbox file, a Maildir, "
            "or a folder read recursively) and print one record per message."
        ),
    )
    scan.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help=(
            "a file, folder, mbox file or Maildir; PATH#N for message N (from 0) of an mbox "
            "file; a pop3s:// or pop3:// URL; - reads one message or an mbox from stdin"
        ),
    )
    scan.add_argument(
        "--format",
        choices=("jsonl", "csv", "table"),
        default=None,
        help="output format (default: table on a terminal, jsonl otherwise)",
    )
    add_rules_option(scan)
    add_pop3_arguments(scan)
    add_rule_commands(commands)
    add_correlation_arguments(scan)
    # The default None shows that --verp-separator was not given, for the usage check.
    scan.set_defaults(verp_separator=None)
    return parser


def _records(
    paths: Iterable[str],
    pop3: Mapping[str, tuple[Pop3Target, str]],
    options: Pop3Options,
    flush: Callable[[], None],
) -> Generator[dict[str, Any], None, None]:
    """Yield the records of every path; *pop3* maps each POP3 URL to its mailbox and password."""
    correlate = options.correlate
    for path in paths:
        if path in pop3:
            target, password = pop3[path]
            with contextlib.closing(pop3_records(target, password, options, flush)) as records:
                for record in records:
                    if correlate is not None:
                        # A mailbox that cannot be opened still gets the key on its error record.
                        record.setdefault("correlation", None)
                    yield record
            continue
        count = 0
        for item in iter_messages(path):
            count += 1
            yield scan_item(item, correlate, options.rules)
        if count == 0 and os.path.isdir(path):
            print(f"bouncekit: {display_path(path)!r} contains no message", file=sys.stderr)


def _write_jsonl(records: Iterable[dict[str, Any]], out: Output) -> int:
    errors = 0
    for record in records:
        errors += record["error"] is not None
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return errors


def _csv_rows(record: dict[str, Any]) -> Iterable[dict[str, Any]]:
    base = {
        key: record.get(key)
        for key in ("source", "kind", "format", "original_message_id", "feedback_type", "error")
    }
    base["defects"] = "; ".join(record.get("defects") or ())
    if not record["recipients"]:
        yield {**base, **(record.get("verdict") or {})}
    for recipient in record["recipients"]:
        yield {**base, **{key: recipient.get(key) for key in _CSV_COLUMNS if key in recipient}}


def _write_csv(records: Iterable[dict[str, Any]], out: Output) -> int:
    errors = 0
    writer = csv.DictWriter(out, fieldnames=_CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for record in records:
        errors += record["error"] is not None
        writer.writerows(_csv_rows(record))
    return errors


def _shorten(text: object, width: int) -> str:
    value = "" if text is None else str(text)
    return value if len(value) <= width else value[: width - 1] + "…"


def _shorten_left(text: object, width: int) -> str:
    """Shorten *text* from the left, because the end of a path names the message."""
    value = "" if text is None else str(text)
    return value if len(value) <= width else "…" + value[-(width - 1) :]


def _write_table(records: Iterable[dict[str, Any]], out: Output) -> int:
    errors = 0
    layout = (
        ("source", 36),
        ("kind", 12),
        ("format", 12),
        ("address", 32),
        ("status", 8),
        ("type", 9),
        ("reason", 16),
    )
    out.write("  ".join(name.ljust(width) for name, width in layout).rstrip() + "\n")
    for record in records:
        errors += record["error"] is not None
        rows = record["recipients"] or [record.get("verdict") or {}]
        for recipient in rows:
            cells = (
                _shorten_left(record["source"], layout[0][1]),
                record["kind"] or "error",
                record["format"] or "",
                recipient.get("address"),
                recipient.get("status"),
                recipient.get("bounce_type"),
                recipient.get("reason"),
            )
            line = "  ".join(
                _shorten(cell, width).ljust(width)
                for cell, (_, width) in zip(cells, layout, strict=True)
            )
            out.write(line.rstrip() + "\n")
        if record["error"] is not None:
            # The error text is the one thing to read on such a row, so it is not cut.
            out.write(f"    error: {record['error']}\n")
    return errors


def _scan(args: argparse.Namespace) -> int:
    output_format = args.format or ("table" if sys.stdout.isatty() else "jsonl")
    writer = {"jsonl": _write_jsonl, "csv": _write_csv, "table": _write_table}[output_format]
    usage_error = pop3_usage_error(args) or _correlate_usage_error(args)
    if usage_error is not None:
        print(f"bouncekit: {usage_error}", file=sys.stderr)
        return 2
    try:
        rules = load_rule_set(args.rules)
        correlate = correlation_from_args(args)
        pop3 = _pop3_mailboxes(args)
        seen = SeenIds.load(args.keep_seen) if args.keep_seen is not None else None
    except (RuleError, CorrelationError, StoreError, Pop3UsageError, SeenIdsError) as exc:
        print(f"bouncekit: {exc}", file=sys.stderr)
        return 2
    if correlate is not None and output_format != "jsonl":
        print(
            "bouncekit: --correlate adds a correlation object to JSON Lines records only; "
            "add --format jsonl",
            file=sys.stderr,
        )
        return 2
    options = pop3_options(args, seen, correlate, rules)
    out = Output(sys.stdout)
    records = _records(args.paths, pop3, options, out.flush)
    saved = True
    try:
        errors = writer(records, out)
        out.flush()
    finally:
        # The ids of a mailbox are recorded when its records end, so close them first.
        records.close()
        if seen is not None:
            saved = _save_seen(seen)
    if errors:
        noun = "record has" if errors == 1 else "records have"
        print(
            f"bouncekit: {errors} {noun} an error (a message or mailbox that could not be read); "
            "see the error field",
            file=sys.stderr,
        )
        return 1
    return 0 if saved else 1


def _pop3_mailboxes(args: argparse.Namespace) -> dict[str, tuple[Pop3Target, str]]:
    """
    Return each POP3 URL of *args* with its mailbox and password.

    Every password is asked for here, before the first record is written.
    """
    targets = {
        path: Pop3Target.parse(path, args.starttls) for path in args.paths if is_pop3_url(path)
    }
    if targets:
        check_ca_file(args.ca_file)
    passwords = ask_passwords(targets.values(), args.auth or "user")
    return {url: (target, passwords[target]) for url, target in targets.items()}


def _save_seen(seen: SeenIds) -> bool:
    try:
        seen.save()
    except SeenIdsError as exc:
        print(f"bouncekit: {exc}", file=sys.stderr)
        return False
    return True


def _correlate_usage_error(args: argparse.Namespace) -> str | None:
    if args.verp_separator is not None and args.verp is None:
        return "--verp-separator applies only with --verp LOCAL@DOMAIN; add --verp or remove it"
    if args.verp_separator is None:
        args.verp_separator = "+"
    scheme, colon, path = (args.correlate or "").partition(":")
    if scheme == "sqlite" and colon and os.path.isdir(path):
        return (
            f"--correlate {path!r} is a folder; give the SQLite database file "
            "that SQLiteCorrelator filled"
        )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with *argv* and return the exit status."""
    # The library's warnings, such as a POP3 message left out of a listing, go to stderr.
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("bouncekit: warning: %(message)s"))
    package_logger = logging.getLogger("bouncekit")
    package_logger.addHandler(handler)
    try:
        return _main(argv)
    finally:
        package_logger.removeHandler(handler)


def _main(argv: Sequence[str] | None) -> int:
    args = _build_parser().parse_args(argv)
    if sys.stdout is None:
        print("bouncekit: standard output is closed; nothing was read", file=sys.stderr)
        return 2
    try:
        if args.command == "scan":
            return _scan(args)
        return int(args.handler(args))
    except BrokenPipeError:
        # The reader stopped early, as `| head` does. Python would report the
        # unflushed rest at exit, so the rest goes to the null device instead.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if getattr(args, "delete", False):
            # A mailbox read before this one may have been committed, and its own
            # "deleted" line above reports that, so this line covers the rest only.
            print(
                "bouncekit: the output was closed before the scan ended; no message was "
                "deleted from the mailbox being read or any after it",
                file=sys.stderr,
            )
            return 1
        return 0
    except OutputError as exc:
        print(f"bouncekit: cannot write the output: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        # Reading errors become error records; this is a last resort that names the failure.
        print(f"bouncekit: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
