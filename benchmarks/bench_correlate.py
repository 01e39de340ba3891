"""
Measure what correlation adds to the bounce path, against an SQLite store of one million ids.

Run ``python benchmarks/bench_correlate.py --corpus PATH`` with any folder of
bounce messages. Without ``--corpus`` it reads the project's development
corpus, which is not part of the repository. It prints:

1. how fast ``SQLiteCorrelator.record_many`` loads the ids, and how long
   one ``resolve`` takes for a stored and for an unknown id;
2. the time per message of ``parse`` plus classification over the corpus
   repeated, the same plus ``correlate`` against the store, and the
   difference in percent. The goal is at most 10%.

The difference is measured two ways, each as the median over the rounds.
Whole passes with and without correlation take turns on small chunks of the
corpus, which counts what correlation costs the parser through the caches.
Passes that time each message's parse and its correlate in turn give the
second figure, which a busy machine disturbs least.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bouncekit
from bouncekit._scan import iter_messages
from bouncekit.correlate import SQLiteCorrelator, correlate
from bouncekit.rules import RuleSet

_CHUNK = 50
# Lookups of stored ids, and of unknown ids, that the resolve times are measured over.
_RESOLVE_SAMPLES = 100_000
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "emails"


def _classifier() -> tuple[str, Callable[[bouncekit.Bounce], object]]:
    """Return the name and function of the classification step."""
    return "bouncekit.rules.RuleSet.default().classify", RuleSet.default().classify


def _read_corpus(path: Path) -> list[bytes]:
    messages = [item.data for item in iter_messages(path) if item.data is not None]
    if not messages:
        sys.exit(f"no message found under {path}: pass --corpus PATH")
    return messages


def _generated_ids(count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    for number in range(count):
        message_id = f"<{number:09d}.{number * 7919 % 1000003:x}@mail.example.com>"
        yield message_id, {"delivery": number // 1000, "recipient": number}


def _load(store: SQLiteCorrelator, total: int, corpus_ids: list[str]) -> list[str]:
    """Store *total* ids, the corpus ids among them, and print the load rate."""
    pairs = [(message_id, {"corpus": True}) for message_id in corpus_ids]
    started = time.perf_counter()
    stored = store.record_many(pairs)
    stored += store.record_many(_generated_ids(total - len(pairs)))
    elapsed = time.perf_counter() - started
    print(f"load: {stored:,} ids in {elapsed:.1f} s, {stored / elapsed:,.0f} ids/s")
    return corpus_ids


def _resolve_times(store: SQLiteCorrelator, generated: int, samples: int) -> None:
    """Time the lookup of *samples* unknown ids, and of as many stored ids as *generated* allows."""
    rng = random.Random(5)
    known = [
        f"<{n:09d}.{n * 7919 % 1000003:x}@mail.example.com>"
        for n in rng.sample(range(generated), min(samples, generated))
    ]
    unknown = [f"<missing-{n}@mail.example.com>" for n in range(samples)]
    for label, ids in (("stored", known), ("unknown", unknown)):
        if not ids:
            print(f"resolve ({label} id): skipped, because --ids left no room for generated ids")
            continue
        started = time.perf_counter()
        found = sum(store.resolve(message_id) is not None for message_id in ids)
        elapsed = time.perf_counter() - started
        each = elapsed / len(ids) * 1e6
        print(f"resolve ({label} id): {each:.1f} us each, {found:,} of {len(ids):,} found")


def _run(
    messages: list[bytes],
    classify: Callable[[bouncekit.Bounce], object],
    store: SQLiteCorrelator | None,
) -> float:
    started = time.perf_counter()
    for raw in messages:
        bounce = bouncekit.parse(raw)
        classify(bounce)
        if store is not None:
            correlate(bounce, store)
    return time.perf_counter() - started


def _run_split(
    messages: list[bytes], classify: Callable[[bouncekit.Bounce], object], store: SQLiteCorrelator
) -> tuple[float, float]:
    """Return the time spent in parse + classify and in correlate, timed message by message."""
    parsing = correlating = 0.0
    for raw in messages:
        started = time.perf_counter()
        bounce = bouncekit.parse(raw)
        classify(bounce)
        parsed = time.perf_counter()
        correlate(bounce, store)
        correlating += time.perf_counter() - parsed
        parsing += parsed - started
    return parsing, correlating


def _run_alternating(
    messages: list[bytes], classify: Callable[[bouncekit.Bounce], object], store: SQLiteCorrelator
) -> tuple[float, float]:
    """
    Return the time of a pass without and of a pass with correlation.

    The two kinds take turns on chunks of 50 messages (some 15 ms of work),
    and the kind that goes first alternates, so a change in the machine's load
    falls on both. Each kind runs whole, so the effect of correlation on the
    caches that the parser uses counts too.
    """
    plain = correlated = 0.0
    for number, start in enumerate(range(0, len(messages), _CHUNK)):
        chunk = messages[start : start + _CHUNK]
        if number % 2:
            correlated += _run(chunk, classify, store)
            plain += _run(chunk, classify, None)
        else:
            plain += _run(chunk, classify, None)
            correlated += _run(chunk, classify, store)
    return plain, correlated


def _report_passes(passes: list[tuple[float, float]], count: int) -> None:
    ratios = sorted(correlated / plain for plain, correlated in passes)
    median = ratios[len(ratios) // 2]
    plain = min(times[0] for times in passes) / count
    correlated = min(times[1] for times in passes) / count
    print(f"whole passes, taking turns on chunks of {_CHUNK} messages, {len(passes)} rounds:")
    print(f"  parse + classify:             {plain * 1e6:8.1f} us/message (best round)")
    print(f"  parse + classify + correlate: {correlated * 1e6:8.1f} us/message (best round)")
    print(f"  correlation adds {(median - 1) * 100:.1f}% (median of rounds; goal: at most 10%)")


def _report_split(splits: list[tuple[float, float]], count: int) -> None:
    ratios = sorted(correlating / parsing for parsing, correlating in splits)
    median = ratios[len(ratios) // 2]
    parsing = min(split[0] for split in splits) / count
    correlating = min(split[1] for split in splits) / count
    print(f"each message timed in turn, {len(splits)} passes:")
    print(f"  parse + classify: {parsing * 1e6:8.1f} us/message (best pass)")
    print(f"  correlate:        {correlating * 1e6:8.1f} us/message (best pass)")
    print(f"  correlation adds {median * 100:.1f}% (median of rounds; goal: at most 10%)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"invalid value {text!r}: expected a whole number of at least 1"
        raise argparse.ArgumentTypeError(msg)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="a folder of bounce messages")
    parser.add_argument(
        "--ids",
        type=_positive,
        default=1_000_000,
        help=(
            "ids to store, the corpus's original Message-IDs among them; up to 100,000 of the "
            "others are resolved (default: 1,000,000)"
        ),
    )
    parser.add_argument(
        "--min-messages",
        type=_positive,
        default=3000,
        help="repeat the corpus until a pass has at least this many messages (default: 3000)",
    )
    parser.add_argument(
        "--rounds", type=_positive, default=5, help="rounds of each measurement (default: 5)"
    )
    args = parser.parse_args()

    corpus = _read_corpus(args.corpus)
    copies = -(-args.min_messages // len(corpus))
    messages = corpus * copies
    classifier_name, classify = _classifier()
    corpus_ids = sorted(
        {b.original_message_id for b in map(bouncekit.parse, messages) if b.original_message_id}
    )
    if args.ids < len(corpus_ids):
        parser.error(
            f"--ids {args.ids:,} is fewer than the {len(corpus_ids):,} original Message-IDs of "
            f"the corpus, which are all stored; pass --ids {len(corpus_ids):,} or more"
        )
    print(f"corpus: {len(corpus):,} messages, repeated {copies} times to {len(messages):,}")
    print(f"distinct original Message-IDs in the corpus: {len(corpus_ids)}")
    print(f"classification: {classifier_name}")

    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteCorrelator(Path(folder) / "bench.db")
        _load(store, args.ids, corpus_ids)
        _resolve_times(store, args.ids - len(corpus_ids), _RESOLVE_SAMPLES)

        _run(messages, classify, store)  # Warm up the page cache and the parser's lazy imports.
        passes: list[tuple[float, float]] = []
        splits: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            passes.append(_run_alternating(messages, classify, store))
            splits.append(_run_split(messages, classify, store))
        store.close()

    _report_passes(passes, len(messages))
    _report_split(splits, len(messages))


if __name__ == "__main__":
    main()
