"""The benchmark's logic on a CPU (issue 16): tables, the winner and "ours fastest?", plots, rows on
disk as they are measured, a stop (SIGTERM, or its echo from a kernel library) writing what was
measured marked INTERRUPTED, and compiled TileLang kernels reused by the next process.

CUDA graphs need a GPU, so the timer is injected: ``FakeTimer`` calls the op (the torch backend on
the CPU, really computing) and returns times from a table, so every expected cell is known.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from mhc_kernels.torch_native import TorchNativeBackend
from mhc_verify import bench
from mhc_verify.bench_report import BenchRow, ours_verdict, read_rows, render_markdown, winners
from mhc_verify.timing import EagerTiming, GraphTiming

ROOT = Path(__file__).resolve().parents[1]


class FakeOurs(TorchNativeBackend):
    """Stands in for our backend (the report's "ours" is the backend named tilelang)."""

    name = "tilelang"


class Uncapturable(TorchNativeBackend):
    """An engine backend whose op cannot be captured (the fake timer refuses it, as a host sync would)."""

    name = "syncs"


class EchoesTheStop(TorchNativeBackend):
    """Turns a stop request arriving mid-call into RuntimeError(''), as TVM FFI does mid-compile."""

    name = "echo"

    def hc_post(self, *args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGTERM)  # the handler raises KeyboardInterrupt right here
            time.sleep(5)
        except KeyboardInterrupt:
            raise RuntimeError("")  # noqa: B904 - the library's echo hides the interrupt
        return super().hc_post(*args, **kwargs)


class RaisesPlainly(TorchNativeBackend):
    """A RuntimeError('') without any stop request: a failing kernel, one row, the run goes on."""

    name = "plainfail"

    def hc_post(self, *args, **kwargs):
        raise RuntimeError("")


SPEC = {cls.name: f"{__name__}:{cls.__name__}" for cls in (FakeOurs, Uncapturable, EchoesTheStop, RaisesPlainly)}

# us per call: ours is faster at T=1, twice as slow as torch at T=4.
GRAPH_US = {("tilelang", 1): 2.0, ("tilelang", 4): 8.0, ("torch", 1): 3.0, ("torch", 4): 4.0}


class FakeTimer:
    """Calls the op once (so a raising op raises) and reports the table's times; eager = graph + 10."""

    def __init__(self, on_call=None) -> None:
        self.calls: list[tuple[str, int]] = []
        self.on_call = on_call
        self.backend = ""

    def graph(self, fn, tokens):
        fn()
        if self.on_call:
            self.on_call(self, "graph", tokens)
        if self.backend == "syncs":
            return GraphTiming(None, 20, 0, "not capturable: RuntimeError: operation not permitted when stream is capturing")
        us = GRAPH_US.get((self.backend, tokens), 5.0)
        return GraphTiming(us, 20, 10, lo_us=us * 0.98, hi_us=us * 1.02)

    def eager(self, fn, tokens):
        fn()
        if self.on_call:
            self.on_call(self, "eager", tokens)
        return EagerTiming(GRAPH_US.get((self.backend, tokens), 5.0) + 10.0, 30.0, 7)


@pytest.fixture
def fake_timer(monkeypatch):
    """A FakeTimer that knows which backend it is timing (bench._measure gets the name)."""
    timer = FakeTimer()
    real = bench._measure

    def measure(backend, name, *args, **kwargs):
        timer.backend = name
        timer.calls.append((name, args[4]))  # args: spec, op, inputs, params, t, ...
        return real(backend, name, *args, **kwargs)

    monkeypatch.setattr(bench, "_measure", measure)
    return timer


def _run(out: Path, backends, timer, ops=("hc_post",), tokens=(1, 4), mode="both", progress=None):
    config = bench.BenchConfig(timer=timer, device=torch.device("cpu"), mode=mode, n_sms=8)
    lines: list[str] = []
    code = bench.run_and_write(out, backends, ops, tokens, (64,), config, {"command": "test", "gpu": "fake"},
                               copy_gbps=100.0, progress=progress or lines.append)
    return code, (out / "bench.md").read_text(), lines


def test_table_marks_the_fastest_and_where_ours_is_not(tmp_path, fake_timer):
    code, md, _ = _run(tmp_path, [SPEC["tilelang"], "torch"], fake_timer)
    assert code == 0
    rows = {(r["backend"], r["T"]): r for r in json.loads((tmp_path / "bench.json").read_text())["rows"]}
    assert rows[("tilelang", 1)]["graph_us"] == 2.0 and rows[("tilelang", 1)]["eager_us"] == 12.0
    assert rows[("tilelang", 1)]["host_us"] == 30.0 and rows[("torch", 4)]["us"] == 4.0  # graph time is the per-call time
    table = [line for line in md.splitlines() if line.startswith("| 1 |") or line.startswith("| 4 |")]
    assert len(table) == 2, md
    t1, t4 = table
    assert "**2.0**" in t1 and t1.rstrip().endswith("| yes |"), t1
    assert "**4.0**" in t4 and "**8.0**" not in t4, t4
    assert t4.rstrip().endswith("| no: torch 2.00x faster |"), t4
    assert "- hc_post T=4 H=64: no: torch 2.00x faster" in md
    assert "hc_post T=1 H=64" not in md.split("## Where ours")[1]
    png = tmp_path / "bench-H64.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "![bench-H64.png](bench-H64.png)" in md


def test_an_uncapturable_op_is_a_row_with_the_reason_and_its_eager_time(tmp_path, fake_timer):
    _, md, lines = _run(tmp_path, ["torch", SPEC["tilelang"].replace("FakeOurs", "Uncapturable")], fake_timer)
    rows = [r for r in read_rows(tmp_path / "bench.jsonl") if r.backend == "syncs"]
    assert len(rows) == 2 and all(r.graph_us is None for r in rows)
    assert [r.us for r in rows] == [15.0, 15.0]  # the eager GPU time stands in for the graph's
    assert all(r.note.startswith("not capturable: RuntimeError: operation not permitted") for r in rows)
    row_t1 = next(line for line in md.splitlines() if line.startswith("| 1 |"))
    assert "15.0 e (- / 15.0 / 30.0" in row_t1 and "not capturable" in row_t1, row_t1
    assert any("not capturable" in line for line in lines)


def test_eager_only_mode_never_captures(tmp_path):
    timer = FakeTimer()
    timer.graph = lambda fn, tokens: pytest.fail("graph timing in --mode eager")  # type: ignore[method-assign]
    _, md, _ = _run(tmp_path, ["torch"], timer, mode="eager")
    assert "**15.0 e** (- / 15.0 / 30.0" in md  # 5.0 + 10 (unknown backend name: timer.backend is ""), alone: fastest


def test_graph_max_tokens_measures_larger_t_eagerly_and_says_so(tmp_path, fake_timer):
    config = bench.BenchConfig(timer=fake_timer, device=torch.device("cpu"), graph_max_tokens=2, n_sms=8)
    bench.run_and_write(tmp_path, ["torch"], ("hc_post",), (1, 4), (64,), config, {}, copy_gbps=1.0,
                        progress=lambda s: None)
    rows = {r.T: r for r in read_rows(tmp_path / "bench.jsonl")}
    assert rows[1].graph_us == 3.0 and rows[4].graph_us is None and rows[4].us == 14.0
    assert rows[4].note == "graph not measured above T=2"


def test_rows_reach_the_jsonl_as_they_are_measured(tmp_path, fake_timer):
    seen = []

    def on_call(timer, kind, tokens):
        if kind == "graph":
            seen.append(len(read_rows(tmp_path / "bench.jsonl")))

    fake_timer.on_call = on_call
    _run(tmp_path, [SPEC["tilelang"], "torch"], fake_timer, ops=("hc_post", "layer_input"))
    assert seen == list(range(8)), seen  # every earlier row is on disk while the next is timed
    header = json.loads((tmp_path / "bench.jsonl").read_text().splitlines()[0])["header"]
    assert header["grid"]["tokens"] == [1, 4] and header["command"] == "test"


def test_a_stop_echoed_as_runtime_error_ends_the_run_with_a_partial_report(tmp_path, fake_timer):
    previous = signal.getsignal(signal.SIGTERM)
    code, md, lines = _run(tmp_path, ["torch", SPEC["echo"]], fake_timer, tokens=(1, 4, 8))
    assert code == 0
    assert signal.getsignal(signal.SIGTERM) == previous  # handlers put back
    assert md.startswith("# mHC kernel benchmark (INTERRUPTED)") and "**INTERRUPTED**: stopped" in md
    rows = read_rows(tmp_path / "bench.jsonl")
    assert [(r.backend, r.T) for r in rows] == [("torch", 1)], rows  # echo's T=1 call was the stop, not a row
    assert not any(r.note.startswith("FAILED") for r in rows)
    assert json.loads((tmp_path / "bench.json").read_text())["environment"]["interrupted"]
    assert any(line.startswith("INTERRUPTED after 1 rows") for line in lines)


def test_the_same_error_without_a_stop_is_a_failed_row_and_the_run_goes_on(tmp_path, fake_timer):
    _, md, _ = _run(tmp_path, ["torch", SPEC["plainfail"]], fake_timer, tokens=(1, 4))
    rows = read_rows(tmp_path / "bench.jsonl")
    assert [(r.backend, r.T, r.note) for r in rows] == [("torch", 1, ""), ("plainfail", 1, "FAILED: RuntimeError: "),
                                                        ("torch", 4, ""), ("plainfail", 4, "FAILED: RuntimeError: ")]
    assert "INTERRUPTED" not in md


def test_a_fault_that_loses_the_context_stops_the_run_with_a_partial_report(tmp_path, fake_timer, monkeypatch):
    """Seen on an H200: vllm-triton's hc_head faulted at 80 000 tokens; every later row failed (blaming
    the backends measured after it) and the run died with a traceback, without bench.md."""
    lost = {"now": False}
    real = bench._measure

    def measure(backend, name, *args, **kwargs):
        row = real(backend, name, *args, **kwargs)
        lost["now"] = lost["now"] or row.note.startswith("FAILED")
        return row

    monkeypatch.setattr(bench, "_measure", measure)
    monkeypatch.setattr(bench, "device_lost", lambda backend: "AcceleratorError: illegal address" if lost["now"] else None)
    code, md, _ = _run(tmp_path, ["torch", SPEC["plainfail"]], fake_timer, tokens=(1, 4))
    rows = read_rows(tmp_path / "bench.jsonl")
    assert code == 1
    assert [(r.backend, r.T) for r in rows] == [("torch", 1), ("plainfail", 1)]  # nothing after the fault
    assert "**INTERRUPTED**" in md and "the CUDA context was lost by plainfail at hc_post T=1" in md


def test_read_rows_drops_a_line_cut_by_a_kill(tmp_path):
    row = BenchRow("hc_post", "torch", 1, 64, 1, 1.0, 10, 1.0, 0.5)
    path = tmp_path / "bench.jsonl"
    from dataclasses import asdict

    path.write_text(json.dumps({"header": {}}) + "\n" + json.dumps({"row": asdict(row)}) + "\n" + '{"row": {"op": "hc')
    assert read_rows(path) == [row]


def test_verdict_compares_per_call_times_and_skips_missing(tmp_path):
    rows = [BenchRow("hc_post", "tilelang", 8, 64, 1, 3.0, 0, None, None, graph_us=3.0),
            BenchRow("hc_post", "vllm-tilelang", 8, 64, 1, 2.0, 0, None, None, graph_us=2.0),
            BenchRow("hc_post", "aiter-triton", 8, 64, 1, None, 0, None, None, "FAILED: x"),
            BenchRow("hc_head", "vllm-tilelang", 8, 64, 1, 2.0, 0, None, None)]
    assert winners(rows)[("hc_post", 8, 64)] == ("vllm-tilelang", 2.0)
    assert ours_verdict(rows, "hc_post", 8, 64) == "no: vllm-tilelang 1.50x faster"
    assert ours_verdict(rows, "hc_head", 8, 64) == "-"  # ours has no time there: no claim either way
    md = render_markdown(rows, {"interrupted": ""}, 100.0, {}, [])
    assert "FAILED: x" in md and "INTERRUPTED" not in md


def test_verdict_says_where_the_replays_ranges_overlap():
    """A loss inside this run's replay-to-replay spread is still "no", with both ranges beside it;
    apart ranges, and eager times (no replays), get no such note."""
    def row(backend, us, lo, hi, graph=True):
        return BenchRow("mhc_pre", backend, 16, 4096, 16, us, 0, None, None, graph_us=us if graph else None,
                        eager_us=None if graph else us, graph_lo_us=lo, graph_hi_us=hi)

    close = [row("tilelang", 8.2, 8.1, 8.4), row("vllm-tilelang", 8.1, 8.0, 8.3)]
    assert ours_verdict(close, "mhc_pre", 16, 4096) == \
        "no: vllm-tilelang 1.01x faster (within the replays' ranges: ours 8.1-8.4, theirs 8.0-8.3 us)"
    apart = [row("tilelang", 9.6, 9.5, 9.8), row("vllm-tilelang", 8.1, 8.0, 8.3)]
    assert ours_verdict(apart, "mhc_pre", 16, 4096) == "no: vllm-tilelang 1.19x faster"
    eager = [row("tilelang", 8.2, 8.1, 8.4, graph=False), row("vllm-tilelang", 8.1, 8.0, 8.3)]
    assert ours_verdict(eager, "mhc_pre", 16, 4096) == "no: vllm-tilelang 1.01x faster"
    assert "within the replays' ranges" in render_markdown(close, {"interrupted": ""}, 100.0, {}, [])


def test_verdict_says_where_the_eager_batches_ranges_overlap():
    """At prefill sizes both sides are eager: a loss inside the batches' spread says so (the 1.00 x points at
    65 536 tokens), one outside it does not; an eager time against a graph replay gets no note."""
    def row(backend, us, lo, hi):
        return BenchRow("hc_post", backend, 65_536, 7168, 1, us, 0, None, None, eager_us=us, eager_lo_us=lo,
                        eager_hi_us=hi)

    close = [row("tilelang", 2889.0, 2884.0, 2901.0), row("sglang-tilelang", 2877.0, 2871.0, 2890.0)]
    assert ours_verdict(close, "hc_post", 65_536, 7168) == ("no: sglang-tilelang 1.00x faster (within the eager "
                                                            "batches' ranges: ours 2,884-2,901, theirs 2,871-2,890 us)")
    apart = [row("tilelang", 2950.0, 2940.0, 2960.0), close[1]]
    assert ours_verdict(apart, "hc_post", 65_536, 7168) == "no: sglang-tilelang 1.03x faster"
    graphed = BenchRow("hc_post", "sglang-tilelang", 65_536, 7168, 1, 2877.0, 0, None, None, graph_us=2877.0,
                       graph_lo_us=2871.0, graph_hi_us=2890.0)
    assert ours_verdict([close[0], graphed], "hc_post", 65_536, 7168) == "no: sglang-tilelang 1.00x faster"


def test_eager_timing_keeps_the_batches_range():
    timing = EagerTiming(5.0, 20.0, 100, lo_us=4.9, hi_us=5.3)
    r = bench._row_for("hc_post", "tilelang", 65_536, 64, 1, 1000, None, timing, 3000.0)
    assert (r.eager_us, r.eager_lo_us, r.eager_hi_us) == (5.0, 4.9, 5.3)


def test_graph_timing_keeps_the_replays_range(monkeypatch):
    """_row_for carries the timer's fastest and slowest replay into the row (and so bench.json)."""
    timing = GraphTiming(5.0, 20, 10, lo_us=4.5, hi_us=6.0)
    r = bench._row_for("hc_post", "tilelang", 8, 64, 1, 1000, timing, None, 3000.0)
    assert (r.graph_us, r.graph_lo_us, r.graph_hi_us) == (5.0, 4.5, 6.0)


def test_cli_token_lists_flatten():
    assert bench._flat([[1, 2], [4]], (9,)) == (1, 2, 4) and bench._flat(None, (9,)) == (9,)
    assert bench.TOKENS[:8] == (1, 2, 4, 8, 16, 32, 64, 128) and 65_536 in bench.TOKENS


def test_precompile_jobs_name_real_kernel_getters():
    from mhc_kernels.tilelang import precompile

    jobs = precompile.jobs(7168)
    assert len({j[0] for j in jobs}) == len(jobs) >= 15
    for _label, getter, _args, _kwargs in jobs:
        assert callable(precompile._getter(getter)), getter
    decode = precompile.decode_jobs(7168)
    assert len({j[0] for j in decode}) == len(decode)
    for _label, getter, _args, _kwargs in decode:
        assert callable(precompile._getter(getter)), getter
    # every FMA configuration the decode GEMM plan runs is compiled ahead
    from mhc_kernels.tilelang.decode_backend import DECODE_GEMM_PLAN

    compiled = {(args[2], tuple(sorted(kw.items()))) for _l, g, args, kw in decode if g.endswith("decode_gemm_kernel")}
    for m, _t, kernel, tunables in DECODE_GEMM_PLAN:
        if kernel == "fma":
            assert (m, tuple(sorted(tunables.items()))) in compiled


_COMPILE_ONE = textwrap.dedent("""
    import sys, time
    from mhc_kernels.tilelang._build import explicit_target
    from mhc_kernels.tilelang.post import hc_post_kernel
    import tilelang.cache, tilelang.jit  # imported lazily by the first compile: not part of the time
    start = time.perf_counter()
    hc_post_kernel(4, 64, explicit_target("cuda", "sm_90a"))
    print(f"SECONDS {time.perf_counter() - start:.3f}")
""")


def test_a_second_process_reuses_the_compiled_kernel(tmp_path):
    """Our kernels go through tilelang.compile's disk cache: the next process loads, not compiles."""
    pytest.importorskip("tilelang")
    env = {**os.environ, "TILELANG_CACHE_DIR": str(tmp_path / "cache")}
    seconds = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", _COMPILE_ONE], env=env, capture_output=True, text=True,
                              timeout=600, cwd=ROOT)
        assert proc.returncode == 0, proc.stderr[-3000:]
        seconds.append(float(proc.stdout.split("SECONDS")[-1]))
    assert any((tmp_path / "cache").rglob("*.so")) or any((tmp_path / "cache").rglob("*.cubin"))
    assert seconds[1] < 1.0 and seconds[1] < seconds[0] / 4, seconds


def test_ours_can_be_several_backends_and_the_report_says_which_won():
    rows = [BenchRow("hc_post", "tilelang", 8, 64, 1, 3.0, 1, None, None),
            BenchRow("hc_post", "tilelang-decode", 8, 64, 1, 1.0, 1, None, None),
            BenchRow("hc_post", "sglang-tilelang", 8, 64, 1, 1.5, 1, None, None),
            BenchRow("hc_post", "tilelang", 64, 64, 1, 3.0, 1, None, None),
            BenchRow("hc_post", "tilelang-decode", 64, 64, 1, 2.5, 1, None, None),
            BenchRow("hc_post", "sglang-tilelang", 64, 64, 1, 2.0, 1, None, None)]
    ours = ("tilelang", "tilelang-decode")
    assert ours_verdict(rows, "hc_post", 8, 64, ours) == "yes: tilelang-decode"
    assert ours_verdict(rows, "hc_post", 64, 64, ours) == "no: sglang-tilelang 1.25x faster"  # 2.5 / 2.0
    assert ours_verdict(rows, "hc_post", 8, 64) == "no: tilelang-decode 3.00x faster"  # default: tilelang alone
    md = render_markdown(rows, {"ours": list(ours)}, 1000.0, {}, [])
    assert "## Where ours (tilelang, tilelang-decode) is not fastest" in md and "hc_post T=64" in md
    md = render_markdown(rows, {"ours": ["tilelang-decod"]}, 1000.0, {}, [])
    assert "no rows of tilelang-decod" in md


def test_a_benchmark_renders_again_from_its_bench_json(tmp_path):
    from mhc_verify.bench_report import main, write_report

    rows = [BenchRow("hc_post", "tilelang", 8, 64, 1, 3.0, 1, None, None),
            BenchRow("hc_post", "tilelang-decode", 8, 64, 1, 1.0, 1, None, None)]
    write_report(tmp_path, rows, {"command": "bench ..."}, 1000.0, {})
    assert "no: tilelang-decode 3.00x faster" in (tmp_path / "bench.md").read_text()
    assert main([str(tmp_path), "--ours", "tilelang", "--ours", "tilelang-decode"]) == 0
    md = (tmp_path / "bench.md").read_text()
    assert "yes: tilelang-decode" in md and "rendered again: python -m mhc_verify.bench_report" in md
    assert "- command: bench ..." in md  # the run's own provenance is kept
    assert main([str(tmp_path / "nothing")]) == 2


def test_the_headline_summary_marks_where_ours_loses_and_names_the_rival(tmp_path, capsys):
    """bench_report --headline: one row per op and H, ours against the fastest other backend, the faster in bold,
    "(!)" where ours loses, "-" where a side has no time; nothing written."""
    from mhc_verify.bench_report import headline_markdown, main, write_report

    rows = [BenchRow("hc_post", "tilelang", 8, 64, 1, 3.0, 0, None, None),
            BenchRow("hc_post", "vllm-tilelang", 8, 64, 1, 2.0, 0, None, None),
            BenchRow("hc_post", "sglang-tilelang", 8, 64, 1, 2.5, 0, None, None),
            BenchRow("hc_post", "tilelang", 1, 64, 1, 1.0, 0, None, None),
            BenchRow("hc_post", "sglang-tilelang", 1, 64, 1, 1.5, 0, None, None),
            BenchRow("hc_head", "tilelang", 1, 64, 1, 1.0, 0, None, None)]
    md = headline_markdown(rows, [1, 8])
    assert "| hc_post | **1.0** / 1.5a | 3.0 / **2.0b** (!) |" in md
    assert "| hc_head | - | - |" in md
    assert "a: sglang-tilelang; b: vllm-tilelang" in md
    write_report(tmp_path, rows, {}, 1000.0, {})
    before = (tmp_path / "bench.md").read_text()
    assert main([str(tmp_path), "--headline", "1,8"]) == 0
    assert "3.0 / **2.0b** (!)" in capsys.readouterr().out
    assert (tmp_path / "bench.md").read_text() == before
    assert main([str(tmp_path), "--headline", "1,x"]) == 2


def test_a_compressed_bench_json_renders_again(tmp_path):
    """The results folders keep bench.json as bench.json.xz (what travels to the GPU must stay small):
    the renderer reads it, and a broken one is an error, not a silent empty table."""
    import lzma

    from mhc_verify.bench_report import main, write_report

    rows = [BenchRow("hc_post", "tilelang", 8, 64, 1, 3.0, 1, None, None),
            BenchRow("hc_post", "tilelang-decode", 8, 64, 1, 1.0, 1, None, None)]
    write_report(tmp_path, rows, {"command": "bench ..."}, 1000.0, {})
    packed = tmp_path / "bench.json.xz"
    packed.write_bytes(lzma.compress((tmp_path / "bench.json").read_bytes()))
    (tmp_path / "bench.json").unlink()
    assert main([str(tmp_path), "--ours", "tilelang", "--ours", "tilelang-decode"]) == 0
    assert "yes: tilelang-decode" in (tmp_path / "bench.md").read_text()
    (tmp_path / "bench.json").unlink()
    packed.write_bytes(b"not xz")
    assert main([str(tmp_path)]) == 2


@pytest.mark.parametrize("graph_max_tokens, copy_us, torch_us", [(None, 5.0, 4.0), (2, 15.0, 14.0)])
def test_large_points_get_a_copy_of_the_same_bytes_timed_beside_them(tmp_path, fake_timer, monkeypatch,
                                                                     graph_max_tokens, copy_us, torch_us):
    """Above copy_beside_min_bytes each point times a copy of its bytes before its backends, as its
    rows are timed: graph-replayed (FakeTimer: 5 us) or, above graph_max_tokens, eagerly (15 us); every
    row of the point keeps that GB/s and the table shows the ratio beside the run's. Below the
    threshold: none, and no copy."""
    copies = []
    fake_timer.on_call = lambda timer, kind, tokens: copies.append((kind, tokens)) if timer.backend == "copy" else None
    real = bench._copy_beside

    def copy_beside(*args):
        before, fake_timer.backend = fake_timer.backend, "copy"
        try:
            return real(*args)
        finally:
            fake_timer.backend = before

    monkeypatch.setattr(bench, "_copy_beside", copy_beside)
    big = bench.op_bytes("hc_post", bench.make_inputs("hc_post", 4, 64, 1, torch.device("cpu"))[0], 4, 64, 1)
    config = bench.BenchConfig(timer=fake_timer, device=torch.device("cpu"), n_sms=8, copy_beside_min_bytes=big,
                               graph_max_tokens=graph_max_tokens)
    bench.run_and_write(tmp_path, [SPEC["tilelang"], "torch"], ("hc_post",), (1, 4), (64,), config, {},
                        copy_gbps=1.0, progress=lambda s: None)
    rows = {(r.backend, r.T): r for r in read_rows(tmp_path / "bench.jsonl")}
    assert copies == [("graph" if graph_max_tokens is None else "eager", 4)], "one copy, above the threshold only"
    want = 2 * (big // 2) / (copy_us * 1e-6) / 1e9
    assert rows[("torch", 4)].copy_beside_gbps == pytest.approx(want)
    assert rows[("tilelang", 4)].copy_beside_gbps == pytest.approx(want)
    assert rows[("torch", 1)].copy_beside_gbps is None and rows[("torch", 1)].of_copy_beside is None
    assert rows[("torch", 4)].us == torch_us
    ratio = copy_us / torch_us * big / (2 * (big // 2))
    assert rows[("torch", 4)].of_copy_beside == pytest.approx(ratio)
    md = (tmp_path / "bench.md").read_text()
    assert f"{ratio:.1%} of the copy beside" in md
    assert md.count("of the copy beside)") == 2


def test_rows_written_before_the_copy_beside_existed_still_read(tmp_path):
    from dataclasses import asdict

    old = asdict(BenchRow("hc_post", "tilelang", 8, 64, 1, 3.0, 1, None, None))
    del old["copy_beside_gbps"]
    (tmp_path / "bench.jsonl").write_text(json.dumps({"header": {}}) + "\n" + json.dumps({"row": old}) + "\n")
    (row,) = read_rows(tmp_path / "bench.jsonl")
    assert row.copy_beside_gbps is None and row.of_copy_beside is None


def test_probes_are_tabled_against_the_first_of_ours():
    """With several of ours, bench.md tables each probe's time over the first's (the default), marked
    where the replays' ranges are apart, beside the fastest backend that is not ours."""
    def row(backend, t, us, lo, hi):
        return BenchRow("mhc_pre", backend, t, 4096, 1, us, 1, None, None, graph_us=us, graph_lo_us=lo, graph_hi_us=hi)

    rows = [row("tilelang", 64, 10.0, 9.9, 10.1), row("probe-a", 64, 9.0, 8.9, 9.1), row("probe-b", 64, 10.05, 9.95, 10.2),
            row("vllm", 64, 9.5, 9.4, 9.6), row("tilelang", 128, 12.0, 11.9, 12.1), row("vllm", 128, 11.0, 10.9, 11.1)]
    md = render_markdown(rows, {"ours": ["tilelang", "probe-a", "probe-b"]}, 1000.0, {}, [])
    assert "## Our probes against tilelang" in md
    assert "| mhc_pre | 4096 | 64 | 10.0 | 0.900* | 1.005 | 9.5 (vllm) |" in md
    assert "| mhc_pre | 4096 | 128 | 12.0 | - | - | 11.0 (vllm) |" in md
    assert "## Our probes" not in render_markdown(rows, {"ours": ["tilelang"]}, 1000.0, {}, [])


def test_source_digest_names_the_code_not_the_git_metadata(tmp_path):
    """bench.source_digest: the same for the same sources wherever they lie, different for one changed byte
    or one added file, blind to caches and other files."""
    from mhc_verify.bench import SOURCE_DIRS, source_digest

    for d in SOURCE_DIRS:
        (tmp_path / d / "sub").mkdir(parents=True)
        (tmp_path / d / "sub" / "a.py").write_text(f"x = '{d}'\n")
    first = source_digest(tmp_path)
    assert len(first) == 12 and first == source_digest(tmp_path)
    (tmp_path / "kernels" / "sub" / "__pycache__").mkdir()
    (tmp_path / "kernels" / "sub" / "__pycache__" / "a.cpython-312.py").write_text("cache")
    (tmp_path / "kernels" / "notes.txt").write_text("not code")
    assert source_digest(tmp_path) == first
    (tmp_path / "kernels" / "sub" / "a.py").write_text("x = 'kernelS'\n")
    changed = source_digest(tmp_path)
    assert changed != first
    (tmp_path / "reference" / "b.py").write_text("")
    assert source_digest(tmp_path) not in (first, changed)
    assert source_digest(tmp_path / "empty") == "no sources found"
    assert len(source_digest()) == 12  # this checkout


def test_a_killed_benchmark_renders_from_its_rows_file(tmp_path):
    """A run killed with SIGKILL (a lease's timeout -k) leaves only bench.jsonl, its header and the rows as measured:
    the renderer builds bench.md, bench.json and the plots from it, says the run was partial, and takes the run's
    copy bandwidth from the rows' GB/s over their fraction of it. A truncated last line is dropped."""
    from mhc_verify.bench_report import RowSink, main

    sink = RowSink(tmp_path / "bench.jsonl", {"command": "bench ...", "gpu": "a GPU"})
    sink.add(BenchRow("hc_post", "tilelang", 8, 64, 1, 3.0, 1, 1500.0, 0.5))
    sink.add(BenchRow("hc_post", "vllm-tilelang", 8, 64, 1, 1.0, 1, 1500.0, 0.5))
    sink.close()
    with open(tmp_path / "bench.jsonl", "a") as f:
        f.write('{"row": {"op": "hc_po')  # the kill mid-write
    assert main([str(tmp_path)]) == 0
    md = (tmp_path / "bench.md").read_text()
    assert "rendered from bench.jsonl alone" in md and "(2 rows; no provenance line in it)" in md
    assert "no: vllm-tilelang 3.00x faster" in md and "- gpu: a GPU" in md
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["copy_gbps"] == 3000.0 and len(data["rows"]) == 2


def test_a_killed_benchmark_keeps_its_last_provenance_and_each_rows_time(tmp_path):
    """bench.jsonl carries the backends' provenance as the run goes (the last line of it wins) and each row's
    seconds since the run began, so a run killed before bench.json still names what it ran and where its time
    went."""
    from mhc_verify.bench_report import RowSink, main

    sink = RowSink(tmp_path / "bench.jsonl", {"command": "bench ...", "gpu": "a GPU"})
    sink.add(BenchRow("hc_post", "tilelang", 8, 64, 1, 3.0, 1, 1500.0, 0.5))
    sink.provenance({"tilelang": {"compiled": 1}})
    sink.add(BenchRow("hc_post", "tilelang", 16, 64, 1, 3.0, 1, 1500.0, 0.5))
    sink.provenance({"tilelang": {"compiled": 2}})
    sink.close()
    lines = [json.loads(line) for line in (tmp_path / "bench.jsonl").read_text().splitlines()]
    times = [line["at_s"] for line in lines if "row" in line]
    assert len(times) == 2 and 0 <= times[0] <= times[1]
    assert main([str(tmp_path)]) == 0
    data = json.loads((tmp_path / "bench.json").read_text())
    assert data["provenance"] == {"tilelang": {"compiled": 2}}
    assert "no provenance line" not in data["environment"]["partial"]


def test_the_benchmark_writes_provenance_lines_as_it_goes(fake_timer):
    """run_bench's sink gets the backends' provenance after every (H, op) block, not only at the end."""
    from mhc_verify import bench

    written = []

    class Sink:
        def add(self, row):
            pass

        def provenance(self, prov):
            written.append(prov)

    rows: list = []
    bench.run_bench(["torch"], ("hc_post", "hc_head"), (1, 2), (64,), rows, lambda _: None,
                    config=bench.BenchConfig(timer=fake_timer, device=torch.device("cpu"), n_sms=4, mode="eager"), copy_gbps=1.0,
                    sink=Sink())
    assert len(written) == 2 and all("torch" in p for p in written)


def _bench_dir(path, gpu, sources, rows, prov=None, copy=3000.0):
    from mhc_verify.bench_report import write_report

    write_report(path, rows, {"gpu": gpu, "sources": sources, "date": "d", "command": f"bench {path.name}"}, copy,
                 prov or {})
    return path


def test_merged_runs_take_each_point_from_the_first_run_that_has_it(tmp_path):
    """bench_report --merge: a stopped run's folder, then the rest of its grid from another process, rendered as
    one report: a repeated point keeps the first run's row, the backends' provenance comes from the first run that
    has it, the environment lists both runs with what each gave."""
    from mhc_verify.bench_report import main

    first = _bench_dir(tmp_path / "a", "H100", "abc", [BenchRow("hc_post", "tilelang", 8, 64, 1, 3.0, 1, 1500.0, 0.5),
                                                        BenchRow("hc_post", "vllm-tilelang", 8, 64, 1, 1.0, 1, 1500.0, 0.5)])
    rest = _bench_dir(tmp_path / "b", "H100", "abc", [BenchRow("hc_post", "tilelang", 8, 64, 1, 9.0, 1, 500.0, 0.2),
                                                       BenchRow("hc_post", "tilelang", 16, 64, 1, 2.0, 1, 1500.0, 0.5)],
                      prov={"tilelang": {"compiled": 3}}, copy=2900.0)
    out = tmp_path / "merged"
    assert main([str(out), "--merge", str(first), str(rest)]) == 0
    data = json.loads((out / "bench.json").read_text())
    assert sorted((r["T"], r["backend"], r["us"]) for r in data["rows"]) == [
        (8, "tilelang", 3.0), (8, "vllm-tilelang", 1.0), (16, "tilelang", 2.0)]
    assert data["provenance"] == {"tilelang": {"compiled": 3}} and data["copy_gbps"] == 3000.0
    merged = data["environment"]["merged"]
    assert [(m["rows kept"], m["rows already measured"]) for m in merged] == [(2, 0), (1, 1)]
    md = (out / "bench.md").read_text()
    assert "merged from 2 runs" in md and "bench b" in md and "--merge" in md
    assert "hc_post" in md and "no: vllm-tilelang 3.00x faster" in md


@pytest.mark.parametrize("field", ["gpu", "sources"])
def test_runs_of_other_sources_or_gpus_are_not_merged(tmp_path, capsys, field):
    """Two runs of different trees, or on different GPUs, are not one measurement: refused, nothing written."""
    from mhc_verify.bench_report import main

    row = [BenchRow("hc_post", "tilelang", 8, 64, 1, 3.0, 1, 1500.0, 0.5)]
    first = _bench_dir(tmp_path / "a", "H100", "abc", row)
    other = _bench_dir(tmp_path / "b", "H200" if field == "gpu" else "H100", "abc" if field == "gpu" else "def", row)
    assert main([str(tmp_path / "m"), "--merge", str(first), str(other)]) == 2
    assert f"the runs' {field} differ" in capsys.readouterr().err and not (tmp_path / "m").exists()


class _ReaderGone:
    """A stdout whose pipe reader has gone: what a run's ``| grep`` or ``| tee`` becomes when the process group
    around it is killed. -26/lease/call2.sh on an H100: the call's timeout killed the script and its ``quiet``
    filter mid-bench, and no bench.md came back (its logs cannot tell whether the bench died on its next print or
    was still writing when the call's tar ran; the first is what this reproduces: before the fix the print's
    BrokenPipeError escaped run_and_write's handlers and bench.md was never written)."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_run_whose_output_pipe_closes_still_writes_its_report(tmp_path, fake_timer, monkeypatch):
    from mhc_verify.front_door import guarded

    monkeypatch.setattr(sys, "stdout", _ReaderGone())

    def run(argv: list[str]) -> int:
        config = bench.BenchConfig(timer=fake_timer, device=torch.device("cpu"), mode="both", n_sms=8)
        return bench.run_and_write(tmp_path, [SPEC["tilelang"], "torch"], ("hc_post",), (1, 4), (64,), config,
                                   {"command": "test", "gpu": "fake"}, copy_gbps=100.0, progress=print)

    assert guarded(run, [], "python -m mhc_verify.bench") == 0
    md = (tmp_path / "bench.md").read_text()
    assert "INTERRUPTED" not in md and "| 4 |" in md  # the whole grid, nothing lost to the closed pipe
    assert len(read_rows(tmp_path / "bench.jsonl")) == 4
