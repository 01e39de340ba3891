"""
Compare bouncekit with flufl.bounce on the labelled corpus: correct results and speed.

flufl.bounce is the bounce detector of GNU Mailman and the most used pure
Python library for this job. For each labelled message file the script runs
both tools, reads which recipients failed and whether each failure is permanent,
and scores the results against the corpus manifest:

- failures found: files labelled as failure notices for which the tool names
  at least one address;
- addresses right: files whose reported addresses equal the reference
  addresses (ignoring case and order);
- hard/not-hard right: labelled recipients whose permanence the tool reports
  as the label says (a recipient the tool does not name counts as wrong);
- non-bounces left empty: files labelled as no bounce for which the tool names
  no address.

Both tools then parse the same bytes, taking turns, and the script prints the
rate of each and their ratio. flufl.bounce gets a parsed message and bouncekit
gets bytes, so the standard library's parse is timed as part of flufl.bounce's
work too. Complaints and auto-replies are left out, because flufl.bounce does
not read them.

Run it with ``nox -s bench_compare`` or
``python benchmarks/bench_compare.py --corpus DIR`` where DIR holds
``manifest.jsonl`` and ``emails/``.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import gc
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import attrs
from bench_parse import time_pass

import bouncekit
from bouncekit import BounceType
from bouncekit.rules import RuleSet

try:
    from flufl.bounce import all_failures
except ImportError:  # main() prints what to install
    all_failures = None

import importlib.metadata

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

# Labelled reasons that are not delivery failures, which flufl.bounce does not read.
_NOT_FAILURES = {"feedback", "vacation", "delivered"}

# A tool's result for one message: address (lower case) to "is the failure permanent".
Result = dict[str, bool]


@attrs.frozen
class Sample:
    """One labelled message file of the corpus."""

    path: Path
    data: bytes
    expected: list[dict[str, object]]
    reference: list[str] | None


@attrs.define
class Tally:
    """The counts of correct results of one tool."""

    found: int = 0
    failures: int = 0
    addresses_right: int = 0
    addresses_total: int = 0
    hard_right: int = 0
    hard_total: int = 0
    empty_right: int = 0
    empty_total: int = 0


def load_samples(corpus: Path) -> list[Sample]:
    """Return the labelled one-message files of the manifest, failures and non-bounces only."""
    samples = []
    with (corpus / "manifest.jsonl").open(encoding="utf-8") as manifest:
        for line in manifest:
            entry = json.loads(line)
            expected = entry.get("expected")
            path = corpus / "emails" / entry["file"]
            if expected is None or not entry["file"].startswith("maildir/"):
                continue
            if any(item.get("reason") in _NOT_FAILURES for item in expected):
                continue
            if not path.is_file():
                continue
            reference = (entry.get("reference") or {}).get("addresses")
            samples.append(Sample(path, path.read_bytes(), expected, reference))
    return samples


def flufl_result(data: bytes) -> Result:
    """Return flufl.bounce's failed addresses, permanent ones as ``True``."""
    assert all_failures is not None
    message = email.message_from_bytes(data, policy=email.policy.compat32)
    permanent, temporary = all_failures(message)
    result = {_text(address).lower(): False for address in temporary}
    result.update({_text(address).lower(): True for address in permanent})
    return result


def _text(address: bytes | str) -> str:
    return address.decode("utf-8", "replace") if isinstance(address, bytes) else address


def bouncekit_result(rules: RuleSet, data: bytes) -> Result:
    """Return bouncekit's reported addresses, hard failures as ``True``."""
    bounce = bouncekit.parse(data)
    result = {}
    for recipient, verdict in zip(bounce.recipients, rules.classify(bounce), strict=True):
        result[recipient.address.lower()] = verdict.bounce_type is BounceType.HARD
    return result


def score(samples: Sequence[Sample], run_tool: Callable[[bytes], Result]) -> Tally:
    """Score one tool's results for *samples* against their labels."""
    tally = Tally()
    for sample in samples:
        result = run_tool(sample.data)
        if not sample.expected:
            tally.empty_total += 1
            tally.empty_right += not result
            continue
        tally.failures += 1
        tally.found += bool(result)
        if sample.reference is None:
            continue
        expected = [address.lower() for address in sample.reference]
        tally.addresses_total += 1
        tally.addresses_right += set(result) == set(expected)
        if len(expected) != len(sample.expected):
            continue
        for address, label in zip(expected, sample.expected, strict=True):
            if label.get("hard") is None:
                continue
            tally.hard_total += 1
            tally.hard_right += address in result and result[address] == label["hard"]
    return tally


def _percent(right: int, total: int) -> str:
    return f"{right}/{total} ({100 * right / total:.1f}%)" if total else "0/0"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help=f"folder with manifest.jsonl and emails/ (default: {DEFAULT_CORPUS})",
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="timed rounds; the medians are reported (default: 5)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    corpus: Path = args.corpus
    if all_failures is None:
        print(
            "bench_compare: flufl.bounce is not installed. Install it with "
            "'pip install flufl.bounce', or run 'nox -s bench_compare'.",
            file=sys.stderr,
        )
        return 2
    if not (corpus / "manifest.jsonl").is_file():
        print(
            f"bench_compare: no manifest.jsonl in {str(corpus)!r}. Pass --corpus with the "
            "labelled corpus folder (manifest.jsonl and emails/).",
            file=sys.stderr,
        )
        return 2
    samples = load_samples(corpus)
    rules = RuleSet.default()

    def ours(data: bytes) -> Result:
        return bouncekit_result(rules, data)

    flufl_version = importlib.metadata.version("flufl.bounce")
    print(f"corpus: {corpus} ({len(samples)} labelled files)")
    print(f"python {sys.version.split()[0]}, bouncekit {bouncekit.__version__}, ", end="")
    print(f"flufl.bounce {flufl_version}")
    print()

    tallies = {"bouncekit": score(samples, ours), "flufl.bounce": score(samples, flufl_result)}
    print(f"{'':24}{'bouncekit':>22}{'flufl.bounce':>22}")
    rows = [
        ("failures found", "found", "failures"),
        ("addresses right", "addresses_right", "addresses_total"),
        ("hard/not-hard right", "hard_right", "hard_total"),
        ("non-bounces left empty", "empty_right", "empty_total"),
    ]
    for label, right, total in rows:
        cells = [
            _percent(getattr(tally, right), getattr(tally, total)) for tally in tallies.values()
        ]
        print(f"{label:24}{cells[0]:>22}{cells[1]:>22}")

    messages = [sample.data for sample in samples]
    ours_rates: list[float] = []
    flufl_rates: list[float] = []
    for repeat in range(2 * args.rounds):
        gc.collect()
        # The tool that goes first alternates, so a change in load falls on both.
        if repeat % 2:
            ours_rates.append(len(messages) / time_pass(ours, messages))
            flufl_rates.append(len(messages) / time_pass(flufl_result, messages))
        else:
            flufl_rates.append(len(messages) / time_pass(flufl_result, messages))
            ours_rates.append(len(messages) / time_pass(ours, messages))
    ratios = [mine / theirs for mine, theirs in zip(ours_rates, flufl_rates, strict=True)]
    print()
    print("speed, messages/s (median of the rounds; bouncekit parses and classifies,")
    print("flufl.bounce parses with the standard library and scans):")
    print(f"  bouncekit     {statistics.median(ours_rates):>8,.0f}")
    print(f"  flufl.bounce  {statistics.median(flufl_rates):>8,.0f}")
    print(f"  ratio (bouncekit rate / flufl.bounce rate): {statistics.median(ratios):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
