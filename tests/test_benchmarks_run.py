"""The pytest-benchmark suite (benchmarks/) still runs: every op once through the torch backend on
the CPU, with benchmarking disabled. Nothing is timed here (no performance claim lives in a test);
this only keeps the benchmark from rotting where CI cannot see it (it is outside testpaths)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_suite_runs_every_op_on_the_cpu():
    proc = subprocess.run([sys.executable, "-m", "pytest", "benchmarks/test_op_bandwidth.py", "-q", "-p", "no:cacheprovider",
                           "-k", "torch-", "--benchmark-disable", "-rs"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    assert "7 passed" in proc.stdout, tail  # 7 ops on the torch backend at 128 tokens
