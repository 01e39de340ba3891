"""
Fetch 10,000 bounces from a local Dovecot with bouncekit's client and with poplib.

    python benchmarks/bench_pop3.py [--messages 10000] [--rounds 3] [--tls]

Starts a private Dovecot on 127.0.0.1, the test suite's fixture, so Debian's
dovecot-pop3d must be installed. Fills one Maildir with synthetic ~3 KB
bounces. Then, in alternating rounds, reads every message once with
``Pop3Client.fetch_many`` (pipelined RETR) and once with a
``poplib.POP3.retr`` loop. Each timing covers the fetching only, after login.
Prints the median rate of each client, and the ratio of the two times in each
round.
"""

from __future__ import annotations

import argparse
import poplib
import ssl
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from bouncekit.pop3 import Pop3Client
from dovecot_server import HOST, PASSWORD, DovecotServer, find_dovecot
from synthetic_bounces import make_bounce


def fetch_bouncekit(server: DovecotServer, user: str, count: int, tls: bool) -> tuple[float, int]:
    """Return the seconds taken to fetch *count* messages, and the octets received."""
    if tls:
        context = ssl.create_default_context(cafile=str(server.ca_file))
        client = Pop3Client.connect(HOST, server.pop3s_port, ssl_context=context)
    else:
        client = Pop3Client.connect(
            HOST, server.pop3_port, security="plain", allow_plaintext_auth=True
        )
    client.login(user, PASSWORD)
    started = time.perf_counter()
    total = 0
    for _, data in client.fetch_many(range(1, count + 1)):
        assert isinstance(data, bytes), data
        total += len(data)
    elapsed = time.perf_counter() - started
    client.quit()
    return elapsed, total


def fetch_poplib(server: DovecotServer, user: str, count: int, tls: bool) -> tuple[float, int]:
    """Return the seconds taken to fetch *count* messages, and the octets received."""
    if tls:
        context = ssl.create_default_context(cafile=str(server.ca_file))
        client: poplib.POP3 = poplib.POP3_SSL(HOST, server.pop3s_port, context=context)
    else:
        client = poplib.POP3(HOST, server.pop3_port)
    client.user(user)
    client.pass_(PASSWORD)
    started = time.perf_counter()
    total = 0
    for number in range(1, count + 1):
        _, lines, _ = client.retr(number)
        total += sum(len(line) + 2 for line in lines)
    elapsed = time.perf_counter() - started
    client.quit()
    return elapsed, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000, help="bounces in the mailbox")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds for each client")
    parser.add_argument("--tls", action="store_true", help="fetch over implicit TLS")
    args = parser.parse_args()

    binary = find_dovecot()
    if binary is None:
        print("dovecot is not installed; install Debian's dovecot-pop3d", file=sys.stderr)
        return 2
    server = DovecotServer(binary)
    server.start()
    try:
        user = server.add_user()
        started = time.perf_counter()
        server.deliver(user, (make_bounce(n) for n in range(1, args.messages + 1)))
        print(f"wrote {args.messages} bounces in {time.perf_counter() - started:.1f} s")
        # The first session builds Dovecot's index; keep it out of the timings.
        fetch_bouncekit(server, user, 1, args.tls)

        clients: dict[str, Callable[[DovecotServer, str, int, bool], tuple[float, int]]] = {
            "poplib RETR loop": fetch_poplib,
            "bouncekit pipelined": fetch_bouncekit,
        }
        timings: dict[str, list[float]] = {name: [] for name in clients}
        octets: dict[str, int] = {}
        for _ in range(args.rounds):
            for name, fetch in clients.items():
                elapsed, octets[name] = fetch(server, user, args.messages, args.tls)
                timings[name].append(elapsed)
    finally:
        server.stop()

    transport = "implicit TLS" if args.tls else "plain TCP"
    print(f"{args.messages} messages over {transport} on {HOST}, {args.rounds} rounds:")
    for name, seconds in timings.items():
        median = statistics.median(seconds)
        rate = args.messages / median
        megabytes = octets[name] / median / 1e6
        print(f"  {name:22} median {median:6.3f} s  {rate:9,.0f} msg/s  {megabytes:6.1f} MB/s")
    # Each round ran both clients one after the other, so a round's ratio
    # compares them under the same machine load.
    ratios = [
        slow / fast
        for slow, fast in zip(
            timings["poplib RETR loop"], timings["bouncekit pipelined"], strict=True
        )
    ]
    print(
        f"bouncekit / poplib: {statistics.median(ratios):.2f}x median "
        f"(rounds: {', '.join(f'{ratio:.2f}' for ratio in ratios)})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
