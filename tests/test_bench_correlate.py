"""
``benchmarks/bench_correlate.py`` with small sizes: the options work, and
nothing here is timed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_correlate.py"
EXAMPLES = ROOT / "examples"


def run_bench(*options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(SCRIPT), "--corpus", str(EXAMPLES), "--rounds", "1"]
    command += ["--min-messages", "10", *options]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def test_bench_few_ids() -> None:
    result = run_bench("--ids", "2000")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    stored = re.search(r"resolve \(stored id\): .* (\S+) of (\S+) found", result.stdout)
    assert stored is not None
    assert stored[1] == stored[2]
    assert 0 < int(stored[2].replace(",", "")) < 2000
    assert "resolve (unknown id): " in result.stdout
    assert "0 of 100,000 found" in result.stdout


def test_bench_ids_below_corpus() -> None:
    result = run_bench("--ids", "1")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "error: --ids 1 is fewer than the " in result.stderr
    assert "original Message-IDs of the corpus" in result.stderr


def test_bench_ids_zero_rejected() -> None:
    result = run_bench("--ids", "0")
    assert result.returncode == 2
    assert "argument --ids: invalid value '0': expected a whole number of at least 1" in (
        result.stderr
    )
