"""
Measure the throughput of ``bouncekit.parse`` against the standard library's parser.

Every file under the corpus folder is read as one message, and the corpus is
repeated until a round contains at least ``--min-messages`` messages. Each round
parses every message once with ``email.message_from_bytes`` (``compat32``
policy, the parser that bouncekit itself runs first) and once with
``bouncekit.parse``. The two parsers take turns on each pass over the corpus,
and the one that goes first alternates, so that a change in a shared machine's
load falls on both. The script prints the rates of each round and the medians.

Run it with ``nox -s bench`` or ``python benchmarks/bench_parse.py --corpus DIR``.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import gc
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import bouncekit

# The labelled corpus sits next to the project's checkout in development; a
# user's clone does not have it and passes --corpus.
DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "emails" / "maildir"


def stdlib_parse(data: bytes) -> object:
    """Parse *data* with the standard library alone, as bouncekit does first."""
    return email.message_from_bytes(data, policy=email.policy.compat32)


def load_corpus(folder: Path) -> list[bytes]:
    """Return the bytes of every non-empty file under *folder*, in path order."""
    messages = []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.name.startswith("."):
            data = path.read_bytes()
            if data.strip():
                messages.append(data)
    return messages


def time_pass(parse: Callable[[bytes], object], messages: Sequence[bytes]) -> float:
    """Parse every message once and return the seconds it took."""
    start = time.perf_counter()
    for data in messages:
        parse(data)
    return time.perf_counter() - start


def time_round(messages: Sequence[bytes], repeats: int) -> tuple[float, float]:
    """
    Parse *messages* *repeats* times with each parser, taking turns on each pass.

    Returns:
        The rates of the standard library's parser and of ``bouncekit.parse``,
        in messages per second.
    """
    gc.collect()
    stdlib_seconds = 0.0
    bouncekit_seconds = 0.0
    for repeat in range(repeats):
        if repeat % 2:
            bouncekit_seconds += time_pass(bouncekit.parse, messages)
            stdlib_seconds += time_pass(stdlib_parse, messages)
        else:
            stdlib_seconds += time_pass(stdlib_parse, messages)
            bouncekit_seconds += time_pass(bouncekit.parse, messages)
    count = len(messages) * repeats
    return count / stdlib_seconds, count / bouncekit_seconds


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument(
        "--corpus",
        type=Path,
        default=DEFAULT_CORPUS,
        help=f"folder of message files, read recursively (default: {DEFAULT_CORPUS})",
    )
    parser.add_argument(
        "--min-messages",
        type=int,
        default=5000,
        help="repeat the corpus until one round parses at least this many messages (default: 5000)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="rounds per parser; the medians are reported (default: 5)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    corpus: Path = args.corpus
    if not corpus.is_dir():
        print(
            f"bench_parse: corpus folder not found: {str(corpus)!r}. "
            "Pass --corpus with a folder of message files (one message per file).",
            file=sys.stderr,
        )
        return 2
    messages = load_corpus(corpus)
    if not messages:
        print(f"bench_parse: no message files under {str(corpus)!r}.", file=sys.stderr)
        return 2

    repeats = math.ceil(args.min_messages / len(messages))
    size = sum(len(data) for data in messages)
    print(f"corpus: {corpus} ({len(messages)} files, {size / 1e6:.1f} MB)")
    print(
        f"workload: {len(messages) * repeats:,} messages per parser per round "
        f"(the corpus {repeats} times), {args.rounds} rounds"
    )
    print(f"python {sys.version.split()[0]}, bouncekit {bouncekit.__version__}")

    # One untimed pass each, so that imports, caches and the address parser's
    # tables are built before the clock runs.
    for data in messages:
        stdlib_parse(data)
        bouncekit.parse(data)

    stdlib_rates: list[float] = []
    bouncekit_rates: list[float] = []
    ratios: list[float] = []
    print()
    print("ratio: the standard library's rate divided by bouncekit's, so the time")
    print("bouncekit.parse takes per message as a multiple of the standard library's parse")
    print(f"{'round':>5}  {'stdlib msg/s':>12}  {'bouncekit msg/s':>15}  {'ratio':>5}")
    for round_number in range(1, args.rounds + 1):
        stdlib_rate, bouncekit_rate = time_round(messages, repeats)
        stdlib_rates.append(stdlib_rate)
        bouncekit_rates.append(bouncekit_rate)
        ratio = stdlib_rate / bouncekit_rate
        ratios.append(ratio)
        print(f"{round_number:>5}  {stdlib_rate:>12,.0f}  {bouncekit_rate:>15,.0f}  {ratio:>5.2f}")

    stdlib_median = statistics.median(stdlib_rates)
    bouncekit_median = statistics.median(bouncekit_rates)
    print()
    print(f"email.message_from_bytes (compat32): {stdlib_median:>7,.0f} messages/s")
    print(f"bouncekit.parse:                     {bouncekit_median:>7,.0f} messages/s")
    print(f"ratio:                               {statistics.median(ratios):>7.2f}")
    print("(medians over the rounds)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
