"""Whether one backend beat another at one point of a bench run: the lease scripts' rule for spending device time on a
nightly check only where a probe won.

    python3 scripts/bench_verdict.py BENCH_DIR WINNER RIVAL [--op prenorm_gemm] [--tokens 256] [--hidden 4096]

prints one line, "gate: T x H {backend: us, ...}" where WINNER's per-call time in BENCH_DIR/bench.json is below
RIVAL's at (op, T, H), else "skip: ..." (a missing time counts as a loss, and a bench that wrote nothing is a skip
with its reason). Always exits 0: the caller reads the line."""

import argparse
import json
import pathlib


def verdict(bench_dir: str, winner: str, rival: str, op: str, tokens: int, hidden: int) -> str:
    try:
        rows = json.loads((pathlib.Path(bench_dir) / "bench.json").read_text())["rows"]
    except Exception as e:  # noqa: BLE001 - the bench wrote nothing: no gate, and why
        return f"skip: {e!r}"
    times = {r["backend"]: r["us"] for r in rows if r["op"] == op and r["T"] == tokens and r["H"] == hidden}
    won = (times.get(winner) or float("inf")) < (times.get(rival) or 0)
    return f"{'gate' if won else 'skip'}: {tokens} x {hidden} {times}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("bench_dir")
    p.add_argument("winner")
    p.add_argument("rival")
    p.add_argument("--op", default="prenorm_gemm")
    p.add_argument("--tokens", type=int, default=256)
    p.add_argument("--hidden", type=int, default=4096)
    a = p.parse_args()
    print(verdict(a.bench_dir, a.winner, a.rival, a.op, a.tokens, a.hidden))


if __name__ == "__main__":
    main()
