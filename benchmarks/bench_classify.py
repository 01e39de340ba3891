"""
Measure classification speed against parsing, over a folder of messages.

Usage: python benchmarks/bench_classify.py [--corpus DIR] [--repeat N]

DIR defaults to the labelled corpus next to the checkout, which a user's clone does not
have. Every file under it is read as one message. Options of bench_parse.py are accepted
and ignored, so ``nox -s bench -- --corpus DIR`` passes one set of options to both.

The script parses each message, then times what ``bouncekit scan`` does per message on
top of parsing: one classification per recipient and one verdict on the message. It
prints recipients per second of classification alone, and classification time as a
share of parse time per message (the goal is at most 20%). Each figure is the best of
N runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import bouncekit
from bouncekit.rules import RuleSet

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "emails" / "maildir"
GOAL = 0.20


def read_messages(folder: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()]


def best_time(work: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of messages")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (default 5)")
    args, _ = parser.parse_known_args()
    if not args.corpus.is_dir():
        print(f"bench_classify: no such folder: {args.corpus}; pass --corpus DIR", file=sys.stderr)
        return 2

    messages = read_messages(args.corpus)
    rules = RuleSet.default()
    bounces = [bouncekit.parse(data) for data in messages]  # Warms up the parser too.
    recipients = sum(len(bounce.recipients) for bounce in bounces)

    def parse_all() -> None:
        for data in messages:
            bouncekit.parse(data)

    def classify_all() -> None:
        for bounce in bounces:
            rules.classify(bounce)
            rules.classify_message(bounce)

    parse_seconds = best_time(parse_all, args.repeat)
    classify_seconds = best_time(classify_all, args.repeat)
    count = len(messages)
    ratio = classify_seconds / parse_seconds

    print(f"messages              {count} ({recipients} recipients) from {args.corpus}")
    print(f"rules                 {len(rules)}")
    print(f"parse                 {parse_seconds / count * 1e6:8.1f} us/message")
    print(f"classify              {classify_seconds / count * 1e6:8.1f} us/message")
    print(f"classify              {recipients / classify_seconds:8.0f} recipients/s")
    verdict = "within" if ratio <= GOAL else "over"
    print(f"classify / parse      {ratio:8.1%} ({verdict} the {GOAL:.0%} goal)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
