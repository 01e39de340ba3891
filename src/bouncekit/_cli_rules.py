"""The ``bouncekit explain`` and ``bouncekit rules check`` commands."""

from __future__ import annotations

import argparse
import sys

from bouncekit._cli_output import Output
from bouncekit._model import Bounce
from bouncekit._parse import parse
from bouncekit._pop3_scan import is_pop3_url
from bouncekit._rules import Classification, RuleError
from bouncekit._ruleset import RuleSet, check_rules, load_rules
from bouncekit._scan import iter_messages

__all__ = ["add_rule_commands", "load_rule_set"]


def add_rule_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``explain`` and ``rules check`` to the sub-commands of the ``bouncekit`` parser."""
    explain = commands.add_parser(
        "explain",
        help="show which rule classified each recipient of a message, and why",
        description=(
            "Parse MESSAGE and print, per recipient, the verdict, the rule that decided "
            "and the evidence it matched."
        ),
    )
    explain.add_argument(
        "message",
        metavar="MESSAGE",
        help=(
            "a message file, an mbox file (every message, or PATH#N for the N-th, "
            "counted from 0 as scan names them; PATH#0 for a message file), a Maildir or a folder"
        ),
    )
    add_rules_option(explain)
    explain.set_defaults(handler=_explain)

    rules = commands.add_parser("rules", help="work with rule files")
    rules_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")
    check = rules_commands.add_parser(
        "check",
        help="check a rule file and list its errors",
        description="Check FILE and print every error. The exit status is 1 when there is one.",
    )
    check.add_argument("file", metavar="FILE", help="a TOML rule file")
    check.set_defaults(handler=_check)


def add_rules_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--rules FILE`` to *parser*."""
    parser.add_argument(
        "--rules",
        metavar="FILE",
        default=None,
        help=(
            "a TOML rule file to use with the default rules; "
            "its rules replace default rules of the same id"
        ),
    )


def load_rule_set(path: str | None) -> RuleSet:
    """
    Return the default rules, plus the rules of *path* when given.

    Raises:
        RuleError: *path* cannot be read or contains an invalid rule.
    """
    if path is None:
        return RuleSet.default()
    return RuleSet.from_toml(path)


def _explain(args: argparse.Namespace) -> int:
    try:
        rules = load_rule_set(args.rules)
    except RuleError as exc:
        print(f"bouncekit: {exc}", file=sys.stderr)
        return 2
    if is_pop3_url(args.message):
        msg = (
            f"bouncekit: explain reads message files, mbox files and folders, not a POP3 "
            f"mailbox ({args.message!r}); run bouncekit scan on the URL, or save a message "
            "to a file and explain that"
        )
        print(msg, file=sys.stderr)
        return 2
    items = list(iter_messages(args.message))
    if not items:
        print(f"bouncekit: {args.message!r} contains no message", file=sys.stderr)
        return 2
    status = 0
    out = Output(sys.stdout)
    for item in items:
        if item.data is None:
            print(f"bouncekit: {item.error}", file=sys.stderr)
            status = 2
            continue
        write_explanation(item.source, parse(item.data), rules, out)
    out.flush()
    return status


def write_explanation(source: str, bounce: Bounce, rules: RuleSet, out: Output) -> None:
    """Write the verdict, rule and evidence for each recipient of *bounce* to *out*."""
    format_name = f" ({bounce.format})" if bounce.format else ""
    count = len(bounce.recipients)
    out.write(f"{source}: {bounce.kind.value}{format_name}, {count} recipient(s)\n")
    if not bounce.recipients:
        _write_verdict("message", rules.classify_message(bounce), rules, out)
    for classification in rules.classify(bounce):
        _write_verdict(classification.address or "", classification, rules, out)
        for rule_id in classification.timed_out:
            note = f"a pattern of rule {rule_id} ran out of time on this diagnostic"
            out.write(f"    note: {note} and counted as not matching\n")


def _write_verdict(label: str, verdict: Classification, rules: RuleSet, out: Output) -> None:
    out.write(f"  {label}: {verdict.bounce_type.value}, {verdict.reason.value}\n")
    if not verdict.rule:
        out.write("    rule: none matched\n")
        return
    rule = rules[verdict.rule]
    out.write(f"    rule: {rule.id} (priority {rule.priority}, from {rule.source})\n")
    if rule.rationale:
        out.write(f"    why: {rule.rationale}\n")
    for evidence in verdict.evidence:
        out.write(f"    matched {evidence.field}: {evidence.text!r}\n")


def _check(args: argparse.Namespace) -> int:
    errors = check_rules(args.file)
    if not errors:
        try:
            own = load_rules(args.file)
            RuleSet.default().extended(own)
        except RuleError as exc:
            errors = [exc]
        else:
            default_ids = {rule.id for rule in RuleSet.default()}
            replacing = sum(rule.id in default_ids for rule in own)
            print(f"{args.file}: valid, {len(own)} rule(s), {replacing} of them replacing defaults")
            return 0
    for error in errors:
        print(error, file=sys.stderr)
    print(f"bouncekit: {len(errors)} error(s) in {args.file}", file=sys.stderr)
    return 1
