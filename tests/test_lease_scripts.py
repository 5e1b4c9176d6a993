"""The one-call GPU scripts (scripts/probe_losses.sh, scripts/gate_and_bench.sh, a results folder's
lease/call*.sh not yet run) run with a stub
``python3`` on PATH that logs its arguments: every stage runs the commands it should, into OUT, each
report passing --force; a stage that has spent its time skips what is left and says so. A slip here
would otherwise first show on a lent GPU, where each call is a third of the session's device time."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
STUB = """#!/bin/bash
echo "python3 $*" >> "$STUB_LOG"
case "$*" in -c*) echo "${STUB_NAME:-tilelang}";; esac
case "$1" in -|scripts/bench_verdict.py) echo "${STUB_SCRIPT_OUT:-}";; esac
sleep "${STUB_SLEEP:-0}"
"""

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")


def _run(tmp_path: Path, script: str, **env: str) -> tuple[list[str], str]:
    stub_dir = tmp_path / "stub"
    stub_dir.mkdir(exist_ok=True)
    stub = stub_dir / "python3"
    stub.write_text(STUB)
    stub.chmod(stub.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.log"
    log.unlink(missing_ok=True)
    out = tmp_path / "out"
    full_env = {**os.environ, "PATH": f"{stub_dir}:{os.environ['PATH']}", "STUB_LOG": str(log), **env}
    path = ROOT / script if "/" in script else ROOT / "scripts" / script  # a results folder's lease script
    subprocess.run(["bash", str(path), str(out)], env=full_env, check=True, timeout=120, capture_output=True)
    return log.read_text().splitlines(), (out / "timeline.txt").read_text()


def _gate(calls: list[str], name: str) -> tuple[list[str], list[str]]:
    """gate_and_bench's stress and check commands in a stub run: (the stress runs' --out folders, the
    checks' ops, sorted), every check requiring backend ``name``."""
    stress = [c.split("--out ")[1].split()[0] for c in calls if "mhc_verify stress" in c]
    checks = [c for c in calls if "mhc_verify check" in c]
    assert all(f"--require-backend {name}" in c for c in checks), checks
    return stress, sorted(c.split("--op ")[1].split()[0] for c in checks)


def _gated(calls: list[str], out: Path, name: str) -> tuple[str, list[str], list[str]]:
    """A lease call built on gate_and_bench's precompile and gate: (the precompile's --probes options,
    the stress runs' folders under OUT/stress, the checks' ops); every check requires ``name``."""
    (pre,) = [c for c in calls if "mhc_kernels.tilelang.precompile" in c]
    stress, check_ops = _gate(calls, name)
    folders = [s.removeprefix(f"{out}/stress/") for s in stress]
    return pre.split("--hidden 7168,4096", 1)[1].strip(), folders, check_ops


def _committed_run(calls: list[str]) -> str:
    """A committed run's calls: the default's kernels precompiled (no probe kernels), then the whole grid with the
    default alone as ours, no stress and no check; returns the bench's call."""
    (pre,) = [c for c in calls if "mhc_kernels.tilelang.precompile" in c]
    assert pre.rstrip().endswith("--hidden 7168,4096"), "no probe kernels"
    (bench,) = [c for c in calls if "-m mhc_verify.bench " in c]
    assert _ours(bench) == ["tilelang"] and "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in bench
    assert not [c for c in calls if "mhc_verify stress" in c or "mhc_verify check" in c]
    assert calls.index(pre) < calls.index(bench)
    return bench


def test_probe_losses_runs_every_stage_into_out(tmp_path):
    calls, timeline = _run(tmp_path, "probe_losses.sh", PROFILE_DELAY_S="0")
    out = tmp_path / "out"
    # the precompile and the profile run side by side: either may log first
    assert any(c.startswith("python3 -m mhc_kernels.tilelang.precompile --hidden 7168,4096 --probes") for c in calls[:2])
    assert any("scripts/debug/profile_ops.py" in c and f"{out}/profile-H4096.md" in c for c in calls[:2])
    checks = [c for c in calls if "sinkhorn_rows_check.py" in c or "probe_bitwise_check.py" in c]
    assert [c.split("--probe ")[1].split()[0] if "--probe" in c else "rows" for c in checks] == [
        "rows", "mhc_kernels.tilelang.mid_probes:TileLangMidLean", "mhc_kernels.tilelang.mid_probes:TileLangPostPerToken",
        "mhc_kernels.tilelang.mid_probes:TileLangDecodeFloorTokenMajor"]
    assert "--against mhc_kernels.tilelang.mid_probes:TileLangDecodeFloor " in checks[-1]
    benches = [c for c in calls if "-m mhc_verify.bench" in c]
    assert [c.split("--out ")[1].split()[0] for c in benches] == [f"{out}/bench-{n}" for n in
                                                                  ("decode", "middle", "gemm", "post")]
    assert all("--force" in c and "--mode graph" in c and "--precompile off" in c for c in benches)
    for probe in ("TileLangSinkhornRows", "TileLangDecodeFloor", "TileLangDecodeFloorTokenMajor", "TileLangMidLean", "TileLangMidOneTile",
                  "TileLangMidWaveCost", "TileLangGemmOpWaveCost", "TileLangPdlEarlyBaseGemm", "TileLangPostPerToken",
                  "TileLangPdlEarlyFusedPre", "TileLangPdlEarlyFusedPost"):
        assert any(f"mid_probes:{probe}" in c for c in benches), probe
    assert "skipped" not in timeline and timeline.rstrip().endswith("done")


def test_probe_losses_skips_what_its_bench_time_cannot_hold(tmp_path):
    # 29 s for the stage, 6 s a run: decode (cap 29), middle (cap about 23: 3 s of slack for a loaded
    # machine), then about 17 s left, under the 20 s a run needs
    calls, timeline = _run(tmp_path, "probe_losses.sh", STAGES="bench", BENCH_S="29", STUB_SLEEP="6")
    assert [c.split("--out ")[1].split()[0].rsplit("-", 1)[1] for c in calls] == ["decode", "middle"]
    assert "bench-decode (cap 29 s)" in timeline
    assert "skipped bench-gemm" in timeline and "skipped bench-post" in timeline


def test_gate_and_bench_gates_a_probe_and_benches_it_beside_ours(tmp_path):
    calls, timeline = _run(tmp_path, "gate_and_bench.sh", BACKEND="mhc_kernels.tilelang.mid_probes:TileLangMidLean",
                           STUB_NAME="tilelang-mid-lean", GATE_OPS="mhc_pre pre_big_fuse",
                           STRESS="mhc_pre:512,1024 pre_big_fuse:1024")
    out = tmp_path / "out"
    stress = [c for c in calls if "mhc_verify stress" in c]
    assert [c.split("--out ")[1].split()[0] for c in stress] == [f"{out}/stress/mhc_pre_512-1024",
                                                                 f"{out}/stress/pre_big_fuse_1024"]
    assert all("--reruns 1000" in c and "--cuda-graph" in c for c in stress)
    checks = sorted(c for c in calls if "mhc_verify check" in c)
    assert len(checks) == 2 and all("--require-backend tilelang-mid-lean" in c and "--force" in c for c in checks)
    assert any("mhc_verify merge" in c and "--force" in c for c in calls)
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert "--backend mhc_kernels.tilelang.mid_probes:TileLangMidLean" in bench
    assert _ours(bench) == ["tilelang", "tilelang-mid-lean"]
    assert "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in bench
    assert "gate ops: mhc_pre pre_big_fuse" in timeline
    assert not [c for c in calls if "-m pytest" in c], "no GPU bit tests without GPU_BITS"


@pytest.mark.parametrize("gpu_bits", ["plain_windows", "dsmem or flat_hc_post"])
def test_gate_and_bench_runs_the_gpu_bit_tests_gpu_bits_selects_beside_the_precompile(tmp_path, gpu_bits):
    calls, _ = _run(tmp_path, "gate_and_bench.sh", STAGES="precompile", GPU_BITS=gpu_bits, BITS_DELAY_S="0")
    (bits,) = [c for c in calls if "-m pytest" in c]
    assert f"-k {gpu_bits} " in bits and "tests/test_tilelang_gpu_bits.py" in bits
    assert "-p mhc_verify.pytest_plugin" in bits and "--require-backend tilelang" in bits
    assert (tmp_path / "out" / "gpu-bits.log").is_file()


def _ours(bench: str) -> list[str]:
    return [part.split()[0] for part in bench.split("--ours ")[1:]]


def test_gate_and_bench_can_bench_the_candidate_alone(tmp_path):
    calls, _ = _run(tmp_path, "gate_and_bench.sh", STAGES="bench", BENCH_DEFAULT="0",
                    BACKEND="mhc_kernels.tilelang.mid_probes:TileLangNarrowBt16", STUB_NAME="tilelang-narrow-bt16")
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang-narrow-bt16"] and "--backend tilelang " not in bench
    assert "--backend mhc_kernels.tilelang.mid_probes:TileLangNarrowBt16 " in bench and "--backend tile_kernels " in bench


def test_gate_and_bench_of_the_default_names_it_once(tmp_path):
    calls, _ = _run(tmp_path, "gate_and_bench.sh", STAGES="bench")
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert bench.count("--backend tilelang ") == 1 and bench.count("--ours") == 1


@pytest.mark.parametrize("deadline_in", [None, 60, 5])
def test_gate_and_bench_cuts_each_stage_to_end_before_the_deadline(tmp_path, deadline_in):
    """DEADLINE (epoch seconds): every stage's timeout ends 20 s before it (at least 1 s), said in the timeline, so
    that a stage stops under its own timeout and writes its partial report before the call's outer timeout hits."""
    import time

    stub_dir = tmp_path / "stub"
    stub_dir.mkdir()
    (stub_dir / "timeout").write_text('#!/bin/bash\necho "timeout $*" >> "$STUB_LOG"\nexec "${@:4}"\n')
    (stub_dir / "timeout").chmod(0o755)
    env = {} if deadline_in is None else {"DEADLINE": str(int(time.time()) + deadline_in)}
    calls, timeline = _run(tmp_path, "gate_and_bench.sh", STAGES="precompile gate bench", GATE_OPS="hc_post", **env)
    caps = {name: int(next(c for c in calls if c.startswith("timeout") and marker in c).split()[3])
            for name, marker in (("precompile", "tilelang.precompile"), ("gate", "mhc_verify check"),
                                 ("bench", "mhc_verify.bench"))}
    if deadline_in is None:
        assert caps == {"precompile": 80, "gate": 170, "bench": 335} and "capped" not in timeline
    else:
        expected = max(1, deadline_in - 20)
        assert all(expected - 10 <= cap <= expected for cap in caps.values()), caps  # 10 s: a loaded CI machine
        assert all(f"{name} capped at {cap} s by DEADLINE" in timeline for name, cap in caps.items()), timeline
    assert timeline.rstrip().endswith("done")


def test_the_eleventh_sessions_lease_call_gates_and_times_its_probes(tmp_path):
    """results/gpu/2026-12-05-h200-engines-8/lease/call4.sh: each probe's bitwise check against what it
    claims to equal, stress where its new code runs (the op at the benchmark's S = 16: at stress's
    default S = 1 the cluster probes would run chunk_sum), benches beside the engines' kernels."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h200-engines-8/lease/call4.sh")
    out = tmp_path / "out"
    probes = "mhc_kernels.tilelang.mid_probes:"
    checks = {c.split("--probe ")[1].split()[0].split(":")[1]: c.split("--against ")[1].split()[0]
              for c in calls if "probe_bitwise_check.py" in c}
    assert checks == {"TileLangGemmOpCluster": "tilelang",
                      "TileLangGemmOpCluster128": probes + "TileLangGemmOpBlock128",
                      "TileLangGemmTma": "tilelang", "TileLangSinkhornGather": "tilelang"}
    stress = [c for c in calls if "mhc_verify stress" in c]
    assert len(stress) == 6 and all("--n-splits 16" in c and "--reruns 1000" in c and "--cuda-graph" in c
                                    for c in stress)
    for probe in ("TileLangGemmOpCluster", "TileLangGemmOpCluster128", "TileLangGemmTma", "TileLangSinkhornGather"):
        assert any(f"--backend {probes}{probe} " in c for c in stress), probe
    benches = [c for c in calls if "-m mhc_verify.bench" in c]
    assert [c.split("--out ")[1].split()[0] for c in benches] == [f"{out}/bench-op", f"{out}/bench-pre"]
    assert all("--force" in c and "--mode graph" in c and "--precompile off" in c for c in benches)
    assert "vllm-deepgemm" in benches[0] and "vllm-tilelang" in benches[1]
    assert any("pytest" in c and "tests/test_tilelang_gpu_bits.py" in c for c in calls)
    assert timeline.rstrip().endswith("done")


def test_the_twelfth_sessions_lease_call_gates_its_candidate(tmp_path):
    """results/gpu/2026-12-05-h100-engines-9/lease/call1.sh: gate_and_bench of TileLangGatherOpTma, its
    precompile limited to the TMA and gather kernels, stress where the candidate's new code runs."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-9/lease/call1.sh",
                           STUB_NAME="tilelang-gather-op-tma")
    probes, stress, check_ops = _gated(calls, tmp_path / "out", "tilelang-gather-op-tma")
    assert probes == "--probes-matching ,tma] --probes-matching ,gather]"
    assert stress == ["mhc_pre_16-32", "pre_big_fuse_32-1024", "fused_post_pre_32", "prenorm_gemm_1024-1025-4096"]
    assert check_ops == ["fused_post_pre", "mhc_pre", "pre_big_fuse", "prenorm_gemm"]
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert "--backend mhc_kernels.tilelang.mid_probes:TileLangGatherOpTma" in bench
    assert "--ours tilelang-gather-op-tma" in bench
    assert "--tokens 1,2,4,8,16,32,64,128,256,512,768,1024,1536,4096,65536,80000" in bench
    assert timeline.rstrip().endswith("done")


def test_precompile_can_take_only_some_probes(monkeypatch):
    """--probes-matching: the default's jobs and only the probe jobs whose label matches."""
    from mhc_kernels.tilelang import precompile

    seen = []
    monkeypatch.setattr(precompile, "compile_in_parallel", lambda todo, target, workers=None: seen.append(todo) or {})
    precompile.precompile([4096], None)
    precompile.precompile([4096], None, probes_matching=(",gather]",))
    precompile.precompile([4096], None, probes=True)
    default, gather, every = ({j[0] for j in todo} for todo in seen)
    assert default < gather < every
    assert gather - default and all(",gather]" in label for label in gather - default)


def test_the_thirteenth_sessions_lease_call_gates_the_narrow_candidate(tmp_path):
    """results/gpu/2026-12-05-h200-engines-10/lease/call1.sh: gate_and_bench of TileLangNarrowSums (precompile
    limited to the TMA, gather and narrow kernels, stress where its new code runs, four nightly checks, the
    full bench beside the default) and the narrow sums' bitwise check against TileLangGatherOpTma."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h200-engines-10/lease/call1.sh",
                           STUB_NAME="tilelang-narrow-sums", BITWISE_DELAY="0")
    probes, stress, check_ops = _gated(calls, tmp_path / "out", "tilelang-narrow-sums")
    assert probes == "--probes-matching ,tma] --probes-matching ,gather] --probes-matching ,narrow_sums]"
    assert stress == ["mhc_pre_16-32", "pre_big_fuse_32-1024", "fused_post_pre_32", "prenorm_gemm_1024-1025-4096"]
    assert all("TileLangNarrowSums" in c for c in calls if "mhc_verify stress" in c)
    assert check_ops == ["fused_post_pre", "mhc_pre", "pre_big_fuse", "prenorm_gemm"]
    (bitwise,) = [c for c in calls if "probe_bitwise_check.py" in c]
    assert "--probe mhc_kernels.tilelang.mid_probes:TileLangNarrowSums" in bitwise
    assert "--against mhc_kernels.tilelang.mid_probes:TileLangGatherOpTma" in bitwise
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert "--backend mhc_kernels.tilelang.mid_probes:TileLangNarrowSums" in bench
    assert "--ours tilelang " in bench and "--ours tilelang-narrow-sums" in bench
    assert "--tokens 1,2,4,8,16,32,64,128,256,512,768,1024,1536,4096,65536,80000" in bench
    assert timeline.rstrip().endswith("done")


def test_the_thirteenth_sessions_second_call_profiles_and_times_the_probes(tmp_path):
    """results/gpu/2026-12-05-h200-engines-10/lease/call2.sh: the probes' kernels precompiled, the graph-mode
    profile at both H, TileLangNarrowBt16 and TileLangPostWide2048 each beside the default."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h200-engines-10/lease/call2.sh")
    out = tmp_path / "out"
    (pre,) = [c for c in calls if "mhc_kernels.tilelang.precompile" in c]
    assert pre.endswith("--probes-matching h_blk=2048 --probes-matching block_t=16")
    profiles = [c for c in calls if "profile_ops.py" in c]
    assert [c.split("--out ")[1].split()[0] for c in profiles] == [f"{out}/profile-graph-H{h}.md" for h in (7168, 4096)]
    assert all("--mode graph" in c and "--backend vllm-deepgemm" in c for c in profiles)
    bench, post = [c for c in calls if "-m mhc_verify.bench" in c]
    assert "--backend mhc_kernels.tilelang.mid_probes:TileLangNarrowBt16" in bench
    assert "--ours tilelang --ours tilelang-narrow-bt16" in bench and f"--out {out}/bench " in bench
    assert "--backend mhc_kernels.tilelang.mid_probes:TileLangPostWide2048" in post and "--op hc_post " in post
    assert f"--out {out}/bench-post" in post
    assert timeline.rstrip().endswith("done")


def test_the_thirteenth_sessions_third_call_gates_the_block_t16_probe(tmp_path):
    """results/gpu/2026-12-05-h200-engines-10/lease/call3.sh: precompile with the block_t 16 GEMMs, stress
    at 9-16 tokens and the nightly checks of mhc_pre, fused_post_pre and prenorm_gemm for TileLangNarrowBt16,
    then the op timed at 8-17 tokens beside the default."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h200-engines-10/lease/call3.sh",
                           STUB_NAME="tilelang-narrow-bt16")
    (pre,) = [c for c in calls if "mhc_kernels.tilelang.precompile" in c]
    assert pre.endswith("--probes-matching block_t=16")
    _, check_ops = _gate(calls, "tilelang-narrow-bt16")
    assert check_ops == ["fused_post_pre", "mhc_pre", "prenorm_gemm"]
    stress = [c for c in calls if "mhc_verify stress" in c]
    assert [c.split("--tokens ")[1].split()[0] for c in stress] == ["9,16", "12,16", "16"]
    assert all("TileLangNarrowBt16" in c for c in calls if "mhc_verify stress" in c or "mhc_verify check" in c)
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert "--op prenorm_gemm --tokens 8,9,12,16,17" in bench and "--ours tilelang-narrow-bt16" in bench
    assert timeline.rstrip().endswith("done")


def test_the_fourteenth_sessions_first_call_gates_bt16_and_benches_it_alone(tmp_path):
    """results/gpu/2026-12-05-h100-engines-11/lease/call1.sh: gate_and_bench's precompile and gate of
    TileLangNarrowBt16 (the block_t 16 GEMMs precompiled, stress at 9-16 tokens, three nightly checks), its
    bench beside the default at 8-17 tokens, then the full bench with it alone among ours."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-11/lease/call1.sh",
                           STUB_NAME="tilelang-narrow-bt16")
    probes, stress, check_ops = _gated(calls, tmp_path / "out", "tilelang-narrow-bt16")
    assert probes == "--probes-matching block_t=16"
    assert stress == ["mhc_pre_9-16", "fused_post_pre_12-16", "prenorm_gemm_16"]
    assert check_ops == ["fused_post_pre", "mhc_pre", "prenorm_gemm"]
    small, full = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(small) == ["tilelang", "tilelang-narrow-bt16"] and "--tokens 8,9,12,16,17" in small
    assert _ours(full) == ["tilelang-narrow-bt16"] and "--backend vllm-deepgemm" in full
    assert "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in full
    assert timeline.count("done") == 2 and "bench-bt16" in timeline


def test_the_fourteenth_sessions_fourth_call_finishes_the_gate_and_times_the_l2_window(tmp_path):
    """results/gpu/2026-12-05-h100-engines-11/lease/call4.sh: precompile (no stress), the two nightly checks
    call 1's cap stopped, then the bench around the two L2-sized losing points."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-11/lease/call4.sh",
                           STUB_NAME="tilelang-narrow-bt16")
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, "tilelang-narrow-bt16")
    assert probes == "--probes-matching block_t=16"
    assert stress == [] and check_ops == ["fused_post_pre", "mhc_pre"]
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert f"--out {out}/bench-l2 " in bench and "--tokens 256,384,448,512,576,640,768" in bench
    assert _ours(bench) == ["tilelang-narrow-bt16"] and "--backend tile_kernels" in bench
    assert timeline.rstrip().endswith("done")


def test_the_fourteenth_sessions_warm_calls_bench_and_profile_the_candidate(tmp_path):
    """results/gpu/2026-12-05-h100-engines-11/lease/call2.sh (the full bench, the candidate alone among
    ours) and call3.sh (the graph-mode profile beside vLLM and TileKernels, both H)."""
    calls, _ = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-11/lease/call2.sh", STUB_NAME="tilelang-narrow-bt16")
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang-narrow-bt16"] and "--hidden 7168,4096" in bench
    assert not [c for c in calls if "mhc_verify check" in c or "mhc_verify stress" in c]
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-11/lease/call3.sh")
    out = tmp_path / "out"
    profiles = [c for c in calls if "profile_ops.py" in c]
    assert [c.split("--out ")[1].split()[0] for c in profiles] == [f"{out}/profile-graph-H{h}.md" for h in (7168, 4096)]
    assert all("--mode graph" in c and "--backend vllm-deepgemm" in c for c in profiles)
    assert timeline.count("rc=0") == 2


def test_the_fourteenth_sessions_fifth_call_checks_and_times_the_early_sinkhorn_probe(tmp_path):
    """results/gpu/2026-12-05-h100-engines-11/lease/call5.sh: the probe's fused pres precompiled, its bitwise
    check against the default, its bench beside it."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-11/lease/call5.sh")
    (pre,) = [c for c in calls if "mhc_kernels.tilelang.precompile" in c]
    assert pre.endswith('--probes-matching norm=False,gather_rcp --probes-matching norm=False,prefetch,gather_rcp')
    (bitwise,) = [c for c in calls if "probe_bitwise_check.py" in c]
    assert "--probe mhc_kernels.tilelang.mid_probes:TileLangEarlySinkhorn --against tilelang" in bitwise
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang", "tilelang-early-sinkhorn"] and "--mode graph" in bench
    assert timeline.rstrip().endswith("done")


def test_the_early_sinkhorn_probes_precompile_jobs_are_the_ones_call5_selects():
    """call5.sh's two --probes-matching strings select the probe's decode_pre and middle pre without norm,
    with and without the prefetch, at every count, and nothing else (one_buffer, norm=True left out)."""
    from mhc_kernels.tilelang import precompile

    labels = [j[0] for j in precompile.probe_jobs(7168)]
    picked = [lab for lab in labels if "norm=False,gather_rcp" in lab or "norm=False,prefetch,gather_rcp" in lab]
    assert picked and all("norm=False" in lab and "one_buffer" not in lab for lab in picked)
    assert any(lab.startswith("decode_pre[") and ",prefetch," in lab for lab in picked)
    assert any(lab.startswith("pre_big_fuse_overlap[") and ",prefetch," in lab for lab in picked)
    assert any(lab.startswith("decode_pre[H=7168,parts=16,") for lab in picked)  # the pre_big_fuse op's S = 16


def test_the_next_sessions_gate_of_the_early_sinkhorn_probe(tmp_path):
    """results/gpu/2026-12-05-h100-engines-11/lease/next-gate.sh: precompile with every early-constants
    kernel, stress where the probe's code runs, three nightly checks, then the bitwise check; and
    next-bench.sh: the two probes beside the default, then the full bench with the gated one alone."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-11/lease/next-gate.sh",
                           STUB_NAME="tilelang-early-sinkhorn-mid")
    probes, stress, check_ops = _gated(calls, tmp_path / "out", "tilelang-early-sinkhorn-mid")
    assert probes == "--probes-matching early_constants"
    assert stress == ["mhc_pre_1-16-32-64-256", "fused_post_pre_16-128", "pre_big_fuse_16-64-512"]
    assert check_ops == ["fused_post_pre", "mhc_pre", "pre_big_fuse"]
    (bitwise,) = [c for c in calls if "probe_bitwise_check.py" in c]
    assert "--op pre_big_fuse,mhc_pre" in bitwise and "TileLangEarlySinkhornMid " in bitwise
    assert not [c for c in calls if "-m mhc_verify.bench" in c]
    assert timeline.rstrip().endswith("done")
    calls, _ = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-11/lease/next-bench.sh",
                    STUB_NAME="tilelang-early-sinkhorn-mid")
    early, full = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(early) == ["tilelang", "tilelang-early-sinkhorn", "tilelang-early-sinkhorn-mid"]
    assert _ours(full) == ["tilelang-early-sinkhorn-mid"] and "--backend vllm-deepgemm" in full


def test_the_early_constants_precompile_jobs_are_the_early_probes_kernels():
    """-11's next-gate.sh (--probes-matching early_constants): every kernel of the Mid probe (its decode_pre
    and middle pres at every count, norm, one buffer; the default's variants since the fifteenth session,
    so the other probes' fused pres on the default's variants match too), and none of the "gather" ones."""
    from mhc_kernels.tilelang import precompile
    from mhc_kernels.tilelang.mid_probes import TileLangEarlySinkhornMid

    labels = {j[0] for j in precompile.probe_jobs(7168)}
    picked = {lab for lab in labels if "early_constants" in lab}
    assert {j[0] for j in precompile.fused_pre_jobs(7168, TileLangEarlySinkhornMid)} <= picked
    assert not any(",gather," in lab or lab.endswith(",gather]") for lab in picked), sorted(picked)[:3]


def test_the_fifteenth_sessions_calls_bench_the_new_default_and_the_l2_window(tmp_path):
    """results/gpu/2026-12-05-h100-engines-12/lease/call3.sh (the default's kernels precompiled, no probe
    and no stress, then the full bench with the default alone among ours) and call4.sh (the L2 window's
    two probes beside the default and the rivals, graph-replayed then eager)."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-12/lease/call3.sh")
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, "tilelang")
    assert probes == "" and stress == [] and check_ops == []
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang"] and "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in bench
    assert "--backend vllm-deepgemm" in bench and "--hidden 7168,4096" in bench
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-12/lease/call4.sh")
    benches = [c for c in calls if "-m mhc_verify.bench" in c]
    assert [c.split("--mode ")[1].split()[0] for c in benches] == ["graph", "eager"]
    assert all(_ours(c) == ["tilelang", "tilelang-pre-big-fuse-decode", "tilelang-post-per-token"]
               and "--backend tile_kernels" in c and f"--out {out}/bench-l2-" in c for c in benches)
    assert timeline.rstrip().endswith("done")


def test_the_fifteenth_sessions_fifth_call_times_the_one_buffer_constants_and_profiles(tmp_path):
    """results/gpu/2026-12-05-h100-engines-12/lease/call5.sh: the default's kernels and the late-constant
    middle pres precompiled, the two-buffer probe's bitwise check, the side-by-side bench, the profile."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-12/lease/call5.sh")
    (pre,) = [c for c in calls if "mhc_kernels.tilelang.precompile" in c]
    assert pre.count("--probes-matching") == 3 and "--probes " not in pre
    (bitwise,) = [c for c in calls if "probe_bitwise_check.py" in c]
    assert "TileLangMidConstantsTwoBuffers --against tilelang" in bitwise and "--tokens 1024" in bitwise
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang", "tilelang-early-sinkhorn", "tilelang-mid-constants-two-buffers"]
    (profile,) = [c for c in calls if "profile_ops.py" in c]
    assert "--mode graph" in profile and "--backend vllm-deepgemm" in profile
    assert [line.split()[-1] for line in timeline.splitlines()] == ["precompile", "bitwise", "bench-mid", "profile",
                                                                    "done"]


def test_the_fifteenth_sessions_sixth_call_times_the_sinkhorn_share(tmp_path):
    """results/gpu/2026-12-05-h100-engines-12/lease/call6.sh: the default's kernels and the gather probe's
    decode_pre precompiled, then sinkhorn_share.py for both backends at the decode counts."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-12/lease/call6.sh")
    (pre,) = [c for c in calls if "mhc_kernels.tilelang.precompile" in c]
    assert pre.endswith("--probes-matching ,gather,narrow_sums]")
    (share,) = [c for c in calls if "sinkhorn_share.py" in c]
    assert "--backend tilelang --backend mhc_kernels.tilelang.mid_probes:TileLangSinkhornGather" in share
    assert f"--out {tmp_path / 'out'}/sinkhorn-share.md" in share and "--tokens 1,16,32" in share
    assert "share rc=0" in timeline and timeline.rstrip().endswith("done")


def test_the_next_sessions_call_gates_and_times_the_vectors_probe(tmp_path):
    """results/gpu/2026-12-05-h100-engines-12/lease/next-vectors.sh: the probe's kernels precompiled beside
    its stress runs, its nightly checks, then the Sinkhorn share and the bench beside the default."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-12/lease/next-vectors.sh",
                           STUB_NAME="tilelang-sinkhorn-vectors")
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, "tilelang-sinkhorn-vectors")
    assert probes == "--probes-matching ,vectors"
    assert stress == ["mhc_pre_1-16-32-64-256", "fused_post_pre_16-128", "pre_big_fuse_16-512"]
    assert check_ops == ["fused_post_pre", "mhc_pre", "pre_big_fuse"]
    (share,) = [c for c in calls if "sinkhorn_share.py" in c]
    assert "--backend tilelang --backend mhc_kernels.tilelang.mid_probes:TileLangSinkhornVectors" in share
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang", "tilelang-sinkhorn-vectors"] and "--mode graph" in bench
    assert timeline.rstrip().endswith("done")


def test_the_sixteenth_sessions_first_call_gates_the_decode_floor_candidate(tmp_path):
    """results/gpu/2026-12-05-h100-engines-13/lease/call1.sh: TileLangDecodeFloorNext's kernels precompiled beside
    its stress runs, its nightly checks, then the Sinkhorn share and the bench beside the default and the
    vectors probe alone."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-13/lease/call1.sh",
                           STUB_NAME="tilelang-decode-floor-next")
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, "tilelang-decode-floor-next")
    assert probes == "--probes-matching ,vectors --probes-matching fn_before_wait"
    assert stress == ["mhc_pre_1-16-32-64-256", "fused_post_pre_16-128", "pre_big_fuse_16-512"]
    assert check_ops == ["fused_post_pre", "mhc_pre", "pre_big_fuse"]
    (share,) = [c for c in calls if "sinkhorn_share.py" in c]
    assert "--backend tilelang --backend mhc_kernels.tilelang.mid_probes:TileLangDecodeFloorNext" in share
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang", "tilelang-sinkhorn-vectors", "tilelang-decode-floor-next"]
    assert timeline.rstrip().endswith("done")


def test_the_sixteenth_sessions_second_call_gates_fn_before_wait_bitwise_and_times_it(tmp_path):
    """results/gpu/2026-12-05-h100-engines-13/lease/call2.sh: the probes' decode GEMMs precompiled beside the
    bitwise probe's stress runs, the bitwise check against the default, then the bench of both probes."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-13/lease/call2.sh",
                           STUB_NAME="tilelang-fn-before-wait")
    out = tmp_path / "out"
    (pre,) = [c for c in calls if "mhc_kernels.tilelang.precompile" in c]
    assert pre.split("--hidden 7168,4096", 1)[1].strip() == "--probes-matching fn_before_wait --probes-matching no_pdl"
    stress = [c for c in calls if "mhc_verify stress" in c]
    assert all("--backend mhc_kernels.tilelang.mid_probes:TileLangFnBeforeWait " in c for c in stress)
    assert [s.split("--out ")[1].split()[0].removeprefix(f"{out}/stress/") for s in stress] == \
        ["mhc_pre_1-16", "fused_post_pre_1-16", "hc_head_8-64"]
    assert not [c for c in calls if "mhc_verify check" in c]  # bitwise, not the nightly gate
    bitwise = [c for c in calls if "probe_bitwise_check.py" in c]
    assert [c.split("--probe ")[1].split()[0].split(":")[1] for c in bitwise] == ["TileLangFnBeforeWait",
                                                                                 "TileLangNoPdlWindow"]
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang", "tilelang-fn-before-wait", "tilelang-fn-before-wait-fma32"]
    l2 = [c for c in calls if "l2_window.py" in c]
    assert [c.split(" --op ")[1].split()[0] for c in l2] == ["pre_big_fuse", "hc_post", "mhc_pre"]
    assert "--backend tilelang --backend tile_kernels" in l2[0] and "--backend tilelang --backend vllm-tilelang" in l2[1]
    assert all("mid_probes:TileLangNoPdlWindow" in c for c in l2)
    assert all(f"--out {out}/l2-" in c for c in l2)
    assert timeline.rstrip().endswith("done") and "bitwise" in timeline and "l2-window" in timeline


def test_the_sixteenth_sessions_third_call_gates_the_no_pdl_window_and_benches_it_alone(tmp_path):
    """results/gpu/2026-12-05-h100-engines-13/lease/call3.sh: the default's kernels and the probe's ("no_pdl"),
    stress of mhc_pre at decode counts and pre_big_fuse in its no-PDL window, the nightly checks of both, then
    the full benchmark (every backend, the issue's grid) with the probe alone as ours."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-13/lease/call3.sh",
                           STUB_NAME="tilelang-pre-big-fuse-no-pdl")
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, "tilelang-pre-big-fuse-no-pdl")
    assert probes == "--probes-matching no_pdl" and stress == ["mhc_pre_1-8-16", "pre_big_fuse_512-576-640"]
    assert check_ops == ["mhc_pre", "pre_big_fuse"]
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang-pre-big-fuse-no-pdl"]
    assert "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in bench
    assert "--backend tile_kernels" in bench and "--backend vllm-deepgemm" in bench
    assert timeline.rstrip().endswith("done")


SEVENTEENTH_PROBE = "tilelang-pre-big-fuse-no-pdl-fn3-first"


def _seventeenth_gate(tmp_path: Path, script: str) -> tuple[list[str], str, list[str]]:
    """A -14 lease script's gate (call1.sh's, gate.sh's): the probe's kernels precompiled, stress where each
    change runs, the nightly checks, the bitwise checks beside them. (calls, timeline, the bitwise commands)."""
    calls, timeline = _run(tmp_path, f"results/gpu/2026-12-05-h100-engines-14/lease/{script}",
                           STUB_NAME=SEVENTEENTH_PROBE)
    probes, stress, check_ops = _gated(calls, tmp_path / "out", SEVENTEENTH_PROBE)
    assert probes == "--probes-matching no_pdl --probes-matching fn3_before_wait"
    assert stress == ["mhc_pre_24-32", "fused_post_pre_32", "pre_big_fuse_512-576-640"]
    assert check_ops == ["fused_post_pre", "mhc_pre", "pre_big_fuse"]
    bitwise = [c for c in calls if "probe_bitwise_check.py" in c]
    assert [c.split("--op ")[1].split()[0] for c in bitwise] == ["mhc_pre,fused_post_pre", "pre_big_fuse"]
    assert all("--probe mhc_kernels.tilelang.mid_probes:TileLangPreBigFuseNoPdlFn3First" in c for c in bitwise)
    assert "--tokens 17,24,32 " in bitwise[0] and "--tokens 512,576,640,1024 " in bitwise[1]
    return calls, timeline, bitwise


def test_the_seventeenth_sessions_first_call_gates_both_changes_bitwise_and_benches_them_alone(tmp_path):
    """results/gpu/2026-12-05-h100-engines-14/lease/call1.sh: the default's kernels and the probe's ("no_pdl",
    "fn3_before_wait"), stress where each change runs, the nightly checks, the bitwise checks beside them (the
    decode GEMM's counts and the no-PDL window), then the full benchmark with the probe alone as ours."""
    calls, timeline, bitwise = _seventeenth_gate(tmp_path, "call1.sh")
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert calls.index(bench) > max(calls.index(c) for c in calls if "mhc_verify check" in c or c in bitwise)
    assert _ours(bench) == [SEVENTEENTH_PROBE]
    assert "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in bench
    assert "--backend tile_kernels" in bench and "--backend vllm-deepgemm" in bench
    assert timeline.rstrip().endswith("done") and timeline.count("== ") >= 4


def test_the_seventeenth_sessions_gate_alone_times_the_probe_beside_the_default(tmp_path):
    """-14/lease/gate.sh: call1.sh's gate (the same stress points, checks and bitwise checks), then the probe
    beside the default, no rival: mhc_pre / fused_post_pre at 1-64 tokens and pre_big_fuse at 448-1024."""
    calls, timeline, _ = _seventeenth_gate(tmp_path, "gate.sh")
    benches = [c for c in calls if "-m mhc_verify.bench" in c]
    assert [_ours(b) for b in benches] == [["tilelang", SEVENTEENTH_PROBE]] * 2
    assert "--tokens 1,8,16,17,24,32,64 " in benches[0] and "--tokens 448,512,576,640,1024 " in benches[1]
    assert not any("tile_kernels" in b for b in benches)
    assert timeline.rstrip().endswith("done")


def test_the_seventeenth_sessions_bench_is_the_defaults_committed_run(tmp_path):
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-05-h100-engines-14/lease/bench.sh")
    (pre,) = [c for c in calls if "mhc_kernels.tilelang.precompile" in c]
    assert pre.rstrip().endswith("--hidden 7168,4096")  # the default's kernels, no probe's
    assert not [c for c in calls if "mhc_verify stress" in c or "mhc_verify check" in c]
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang"] and "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in bench
    assert "--backend vllm-deepgemm" in bench and "--backend aiter-triton" in bench


@pytest.mark.parametrize("script, tokens, ops", [("call2.sh", "17,32", "mhc_pre,fused_post_pre"),
                                                 ("call3.sh", "24,32", "mhc_pre")])
def test_the_seventeenth_sessions_fn3_calls_check_stress_and_time_the_second_version(tmp_path, script, tokens, ops):
    """-14/lease/call2.sh and call3.sh (not run: no device time was left): the second fn3 staging, bitwise
    against the default, stressed at 32 x 7168, timed beside the default at 16 / 24 / 32 tokens."""
    calls, timeline = _run(tmp_path, f"results/gpu/2026-12-05-h100-engines-14/lease/{script}")
    probe = "mhc_kernels.tilelang.mid_probes:TileLangWgmmaFnBeforeWait"
    (bitwise,) = [c for c in calls if "probe_bitwise_check.py" in c]
    assert f"--probe {probe} --op {ops} --tokens {tokens} " in bitwise
    (stress,) = [c for c in calls if "mhc_verify stress" in c]
    assert f"--backend {probe} --op mhc_pre --tokens 32 --hidden 7168 --reruns 1000" in stress and "--cuda-graph" in stress
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang", "tilelang-wgmma-fn-before-wait"] and "--tokens 16,24,32 " in bench
    assert any("mhc_kernels.tilelang.precompile" in c for c in calls) is (script == "call2.sh")
    assert timeline.rstrip().endswith("done")


EIGHTEENTH_PROBE = "mhc_kernels.tilelang.mid_probes:TileLangPostWindowFn3Tma"


@pytest.mark.parametrize("backend, probes", [("tilelang", ""),
                                             ("mhc_kernels.tilelang.mid_probes:TileLangPostPerTokenWindow", ""),
                                             (EIGHTEENTH_PROBE, " --probes-matching fn3_before_wait")])
def test_the_eighteenth_sessions_bench_times_the_adopted_candidate_alone(tmp_path, backend, probes):
    calls, _ = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-15/lease/bench.sh", BACKEND=backend,
                    STUB_NAME=backend.rsplit(":", 1)[-1])
    (pre,) = [c for c in calls if "mhc_kernels.tilelang.precompile" in c]
    assert pre.rstrip().endswith("--hidden 7168,4096" + probes)
    assert not [c for c in calls if "mhc_verify stress" in c or "mhc_verify check" in c]
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == [backend.rsplit(":", 1)[-1]]
    assert "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in bench


def test_the_eighteenth_sessions_one_call_gates_times_side_by_side_then_benches_the_candidate(tmp_path):
    """-15/lease/call1.sh: the three changes' gate (stress where each runs, the hc_post window at H = 4096;
    the nightly checks; the bitwise checks), each change beside the default at its own points, then the full
    benchmark with the probe alone as ours."""
    name = "tilelang-post-window-fn3-tma"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-15/lease/call1.sh", STUB_NAME=name)
    probes, stress, check_ops = _gated(calls, tmp_path / "out", name)
    assert probes == "--probes-matching fn3_before_wait"
    assert sorted(stress) == sorted(["mhc_pre_24-32-8192", "fused_post_pre_32", "hc_post_512-640_h4096"])
    assert check_ops == ["fused_post_pre", "hc_post", "mhc_pre"]
    bitwise = [c for c in calls if "probe_bitwise_check.py" in c]
    assert sorted(c.split("--op ")[1].split()[0] for c in bitwise) == ["hc_post", "mhc_pre,fused_post_pre"]
    benches = [c for c in calls if "-m mhc_verify.bench" in c]
    assert [_ours(b) for b in benches] == [["tilelang", name]] * 3 + [[name]]
    assert "--tokens 65536,80000 --hidden 7168,4096 --mode eager" in benches[2]
    assert "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in benches[3]
    assert calls.index(benches[0]) > max(calls.index(c) for c in calls if "mhc_verify check" in c or c in bitwise)
    assert timeline.rstrip().endswith("done") and (tmp_path / "out" / "summary.txt").is_file()


def test_the_eighteenth_sessions_second_call_times_the_window_and_profiles_vllms_lead(tmp_path):
    """-15/lease/call2.sh: the hc_post window's neighbours beside the default before, mhc_pre's profile at 512
    / 1024 x 4096 beside vLLM's, the TMA pre's bits."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-15/lease/call2.sh")
    benches = [c for c in calls if "-m mhc_verify.bench" in c]
    assert [_ours(b) for b in benches] == [["tilelang", "tilelang-post-wide-cp-async-pre"]]
    assert "--op hc_post --tokens 384,448,512,576,640,704,768 --hidden 4096" in benches[0]
    assert "--backend sglang-tilelang" in benches[0] and "--backend vllm-tilelang" in benches[0]
    (prof,) = [c for c in calls if "profile_ops.py" in c]
    assert "--tokens 512,1024 --hidden 4096 --mode graph" in prof
    (bits,) = [c for c in calls if "-m pytest" in c]
    assert "tests/test_tilelang_gpu_bits.py -k tma_gemm_gives --require-backend tilelang" in bits
    assert not any("mhc_kernels.tilelang.precompile" in c for c in calls)
    assert timeline.rstrip().endswith("done") and (tmp_path / "out" / "summary.txt").is_file()


def test_the_nineteenth_sessions_call_gates_the_bitwise_decode_probes_then_times_every_candidate(tmp_path):
    """-16/lease/call1.sh: the gate of TileLangPreClusterGemmTma (stress at the decode points it changes, the
    nightly checks of the three ops on its kernels), the bitwise checks of its two halves and the GPU bit tests
    beside the gate, then the side-by-side benches and the profiles, the benches after every check."""
    name = "tilelang-pre-cluster-gemm-tma"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-16/lease/call1.sh", STUB_NAME=name)
    probes, stress, check_ops = _gated(calls, tmp_path / "out", name)
    assert probes.split() == ["--probes-matching", "decode_pre_cluster", "--probes-matching", "one_tile",
                              "--probes-matching", "decode_tma", "--probes-matching", "op_plain_tma"]
    assert sorted(stress) == sorted(["mhc_pre_1-32", "fused_post_pre_32", "pre_big_fuse_16"])
    assert check_ops == ["fused_post_pre", "mhc_pre", "pre_big_fuse"]
    bitwise = [c for c in calls if "probe_bitwise_check.py" in c]
    assert sorted(c.split("--probe ")[1].split()[0].rsplit(":", 1)[1] for c in bitwise) == [
        "TileLangDecodeGemmTma", "TileLangPreCluster"]
    (bits,) = [c for c in calls if "-m pytest" in c]
    assert "tests/test_tilelang_gpu_bits.py -k tma_gemm_gives or cluster_pre_gives --require-backend tilelang" in bits
    benches = [c for c in calls if "-m mhc_verify.bench" in c]
    assert [_ours(b) for b in benches] == [
        ["tilelang", "tilelang-pre-cluster", "tilelang-decode-gemm-tma", "tilelang-decode-gemm-one-tile", name],
        ["tilelang", "tilelang-op-plain-tma"], ["tilelang", "tilelang-post-wide-cp-async-pre"]]
    assert "--backend vllm-deepgemm --op prenorm_gemm" in benches[1]
    profiles = [c for c in calls if "profile_ops.py" in c]
    assert [p.split("--out ")[1].split()[0].rsplit("/", 1)[1] for p in profiles] == [
        "prof-decode.md", "prof-mid.md", "prof-op.md"]
    first_bench = calls.index(benches[0])
    assert first_bench > max(calls.index(c) for c in calls if "mhc_verify check" in c or c in bitwise or c == bits)
    assert timeline.rstrip().endswith("done") and (tmp_path / "out" / "summary.txt").is_file()


def test_the_nineteenth_sessions_second_call_gates_every_candidate_then_times_each(tmp_path):
    """-16/lease/call2.sh: the gate of TileLangNineteenth (stress at the points each candidate changes, H = 4096
    too for the half wave; nightly checks of the five ops it touches), the split-barrier pre's bitwise check and
    the GPU bit tests, then the decode, middle and op benches and the decode profile, after every check."""
    name = "tilelang-nineteenth"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-16/lease/call2.sh", STUB_NAME=name)
    probes, stress, check_ops = _gated(calls, tmp_path / "out", name)
    assert probes.split()[1::2] == ["decode_pre_cluster", "fma512", "fma1024", "op_plain_tma"]
    assert sorted(stress) == sorted(["mhc_pre_24-32-1024", "fused_post_pre_32", "prenorm_gemm_512",
                                     "mhc_pre_1024_h4096"])
    assert check_ops == ["fused_post_pre", "hc_head", "mhc_pre", "pre_big_fuse", "prenorm_gemm"]
    (bitwise,) = [c for c in calls if "probe_bitwise_check.py" in c]
    assert "--probe mhc_kernels.tilelang.mid_probes:TileLangPreCluster2 " in bitwise
    (bits,) = [c for c in calls if "-m pytest" in c]
    assert "-p mhc_verify.pytest_plugin tests/test_tilelang_gpu_bits.py -k tma_gemm_gives or cluster_pre_gives" in bits
    benches = [c for c in calls if "-m mhc_verify.bench" in c]
    assert [_ours(b) for b in benches] == [
        ["tilelang", "tilelang-pre-cluster", "tilelang-pre-cluster2", "tilelang-fma512", "tilelang-fma1024",
         "tilelang-pre-cluster2-fma512"], ["tilelang", "tilelang-mid-half-wave"], ["tilelang", "tilelang-op-plain-tma"]]
    assert "--op hc_head --tokens 64,128,256,512,768,1024,2048,4096" in benches[1]
    (prof,) = [c for c in calls if "profile_ops.py" in c]
    assert "--tokens 1,32 --hidden 7168 --mode graph" in prof
    assert calls.index(benches[0]) > max(calls.index(c) for c in calls
                                         if "mhc_verify check" in c or c in (bitwise, bits))
    assert timeline.rstrip().endswith("done") and (tmp_path / "out" / "summary.txt").is_file()


def test_the_nineteenth_sessions_third_call_gates_and_benches_the_new_default(tmp_path):
    """-16/lease/call3.sh: the default's precompile with stress where the adoptions run, the GPU bit tests beside
    it, the nightly checks of the three ops whose decode_pre became the cluster pre, then the full benchmark."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-16/lease/call3.sh")
    probes, stress, check_ops = _gated(calls, tmp_path / "out", "tilelang")
    assert probes == ""
    assert sorted(stress) == sorted(["mhc_pre_1-16-32", "fused_post_pre_32", "pre_big_fuse_16", "prenorm_gemm_384-640"])
    assert check_ops == ["fused_post_pre", "mhc_pre", "pre_big_fuse"]
    (bits,) = [c for c in calls if "-m pytest" in c]
    assert "-p mhc_verify.pytest_plugin tests/test_tilelang_gpu_bits.py -k tma_gemm_gives or cluster_pre_gives" in bits
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang"]
    assert "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in bench
    assert timeline.rstrip().endswith("done") and (tmp_path / "out" / "summary.txt").is_file()


def test_the_nineteenth_sessions_next_call_gates_and_times_the_deep_shape(tmp_path):
    """-16/lease/next.sh: TileLangMidDeepShape's gate (stress at 512 / 1024 tokens, both H; the nightly checks of
    the two ops it changes), then beside the default and vLLM, then the profile; no full benchmark."""
    name = "tilelang-mid-deep-shape"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-16/lease/next.sh", STUB_NAME=name)
    probes, stress, check_ops = _gated(calls, tmp_path / "out", name)
    assert probes == "--probes-matching mid_deep"
    assert sorted(stress) == sorted(["mhc_pre_512-1024", "fused_post_pre_512", "mhc_pre_512-1024_h4096"])
    assert check_ops == ["fused_post_pre", "mhc_pre"]
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang", name] and "--tokens 384,448,512,640,768,1024" in bench
    (prof,) = [c for c in calls if "profile_ops.py" in c]
    assert "--tokens 512,1024 --hidden 4096 --mode graph" in prof
    assert calls.index(bench) > max(calls.index(c) for c in calls if "mhc_verify check" in c)
    assert timeline.rstrip().endswith("done") and (tmp_path / "out" / "summary.txt").is_file()


def test_the_twentieth_sessions_third_call_gates_the_deep_shape_and_benches_it_alone(tmp_path):
    """-17/lease/call3.sh (its rerun line is in that folder's README): TileLangMidDeepShape's gate (stress at mhc_pre
    512 / 1024, both H, and fused_post_pre 512; the nightly checks of the two ops it changes), the split check beside
    the gate, then the full benchmark with the candidate alone as ours (BENCH_DEFAULT=0)."""
    name = "tilelang-mid-deep-shape"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-17/lease/call3.sh", STUB_NAME=name)
    probes, stress, check_ops = _gated(calls, tmp_path / "out", name)
    assert probes == "--probes-matching mid_deep"
    assert sorted(stress) == sorted(["mhc_pre_512-1024", "fused_post_pre_512", "mhc_pre_512-1024_h4096"])
    assert check_ops == ["fused_post_pre", "mhc_pre"]
    (split,) = [c for c in calls if "split_in_kernel_check.py" in c]
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == [name] and "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in bench
    assert calls.index(bench) > max(calls.index(c) for c in calls if "mhc_verify check" in c)
    assert timeline.rstrip().endswith("done") and (tmp_path / "out" / "summary.txt").is_file()


def test_the_twenty_first_sessions_first_call_gates_both_large_t_probes_and_times_them(tmp_path):
    """-18/lease/call1.sh: TileLangTwentyFirst's gate (stress at hc_post 4097 / 80 000, fused_post_pre 4097, the op at
    65 536; the nightly checks of the three ops it changes), the GPU bit tests beside the gate, then the default and
    both probes side by side at 4096-80 000 tokens."""
    name = "tilelang-twenty-first"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-18/lease/call1.sh", STUB_NAME=name)
    probes, stress, check_ops = _gated(calls, tmp_path / "out", name)
    assert probes == "--probes-matching flat_grid --probes-matching op_four_stages"
    assert sorted(stress) == sorted(["hc_post_4097-80000", "fused_post_pre_4097", "prenorm_gemm_65536"])
    assert check_ops == ["fused_post_pre", "hc_post", "prenorm_gemm"]
    (bits,) = [c for c in calls if "test_tilelang_gpu_bits.py" in c]
    assert "-k flat_hc_post or four_stages" in bits and "-p mhc_verify.pytest_plugin" in bits
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang", "tilelang-hc-post-flat", "tilelang-op-four-stages"]
    assert "--tokens 4096,65536,80000" in bench and "--force" in bench
    assert calls.index(bench) > max(calls.index(c) for c in calls if "mhc_verify check" in c)
    assert timeline.rstrip().endswith("done") and (tmp_path / "out" / "summary.txt").is_file()


def test_the_twenty_first_sessions_second_call_benches_the_default_on_the_whole_grid(tmp_path):
    """-18/lease/call2.sh: the default's precompile (no probes), then the full benchmark with the default alone as ours."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-18/lease/call2.sh")
    (pre,) = [c for c in calls if "mhc_kernels.tilelang.precompile" in c]
    assert pre.rstrip().endswith("--hidden 7168,4096"), "the default's kernels only"
    assert not [c for c in calls if "mhc_verify stress" in c or "mhc_verify check" in c]
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang"] and "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in bench
    assert timeline.rstrip().endswith("done") and (tmp_path / "out" / "summary.txt").is_file()


def test_the_twenty_first_sessions_third_call_times_two_probes_and_checks_the_default(tmp_path):
    """-18/lease/call3.sh: both probes' kernels in the precompile, the dsmem probe's GPU bit tests beside it, the
    decode bench (the dsmem probe) and the op bench (the deep plain probe), then the default's nightly checks of
    mhc_pre, pre_big_fuse and prenorm_gemm side by side."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-18/lease/call3.sh", BITS_DELAY_S="0")
    out = tmp_path / "out"
    (pre,) = [c for c in calls if "mhc_kernels.tilelang.precompile" in c]
    assert pre.split("--hidden 7168,4096", 1)[1].strip() == "--probes-matching dsmem_pre --probes-matching stages=6"
    (bits,) = [c for c in calls if "test_tilelang_gpu_bits.py" in c]
    assert "-k dsmem" in bits and "-p mhc_verify.pytest_plugin" in bits
    benches = [c for c in calls if "-m mhc_verify.bench" in c]
    assert [_ours(b) for b in benches] == [["tilelang", "tilelang-pre-dsmem"], ["tilelang", "tilelang-op-plain-deep"]]
    assert "--tokens 1,16,17,32" in benches[0] and "--tokens 192,256,320" in benches[1]
    checks = [c for c in calls if "mhc_verify check" in c]
    assert all("--backend tilelang " in c and "--profile nightly" in c for c in checks)
    assert sorted(c.split("--op ")[1].split()[0] for c in checks) == ["mhc_pre", "pre_big_fuse", "prenorm_gemm"]
    assert calls.index(benches[-1]) < min(calls.index(c) for c in checks)
    assert timeline.rstrip().endswith("done") and (out / "summary.txt").is_file()


def test_the_twenty_second_sessions_first_call_times_both_probes_and_gates_them(tmp_path):
    """-19/lease/call1.sh: TileLangTwentySecond's stress beside the precompile (the decode points it changes and the
    op's plain window), the dsmem probe's GPU bit tests, the decode and op benches and profiles (both deep probes
    beside DeepGEMM), then its nightly checks of the four ops it changes, the 64-column probe's stress beside the
    last."""
    name = "tilelang-twenty-second"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-19/lease/call1.sh", STUB_NAME=name,
                           BITS_DELAY_S="0")
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, name)
    assert probes == "--probes-matching dsmem_pre --probes-matching stages="
    assert sorted(stress) == sorted(["mhc_pre_1-17-32", "fused_post_pre_32", "pre_big_fuse_16",
                                     "prenorm_gemm_129-256-320-704", "deep64"])
    (deep64,) = [c for c in calls if "mhc_verify stress" in c and "TileLangOpPlainDeep64" in c]
    assert "--reruns 1000" in deep64 and "--tokens 129,256,320,704" in deep64
    assert check_ops == ["fused_post_pre", "mhc_pre", "pre_big_fuse", "prenorm_gemm"]
    (bits,) = [c for c in calls if "test_tilelang_gpu_bits.py" in c]
    assert "-k dsmem" in bits and "-p mhc_verify.pytest_plugin" in bits
    benches = [c for c in calls if "-m mhc_verify.bench" in c]
    assert [_ours(b) for b in benches] == [["tilelang", "tilelang-pre-dsmem"],
                                           ["tilelang", "tilelang-op-plain-deep", "tilelang-op-plain-deep64"]]
    assert "--tokens 1,16,17,32" in benches[0] and "--tokens 192,256,320,512,704" in benches[1]
    profiles = [c for c in calls if "profile_ops.py" in c]
    assert len(profiles) == 2 and all("--mode graph" in p for p in profiles)
    assert calls.index(benches[-1]) < min(calls.index(c) for c in calls if "mhc_verify check" in c)
    assert timeline.rstrip().endswith("done") and (out / "summary.txt").is_file()


def test_the_twenty_second_sessions_warm_call_times_the_plain_windows_edge(tmp_path):
    """-19/lease/call2.sh: the default, the six- and four-stage plain windows from 129 tokens and DeepGEMM at the
    window's edges, graph-replayed."""
    calls, _ = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-19/lease/call2.sh")
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang", "tilelang-op-plain-deep", "tilelang-op-plain-tma"]
    assert "--tokens 257,288,320,384,640,704" in bench and "--mode graph" in bench and "--force" in bench


def test_the_next_sessions_call_gates_the_window_from_257_then_benches_it_alone(tmp_path):
    """-19/lease/next.sh: TileLangOpPlainFrom257's stress at 257 / 288 / 320 beside the precompile (the six-stage
    kernel among its probes, for the GPU bit test of four against six stages), its nightly check of prenorm_gemm,
    then the whole grid with it alone as ours."""
    name = "tilelang-op-plain-from257"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-19/lease/next.sh", STUB_NAME=name,
                           BITS_DELAY_S="0")
    probes, stress, check_ops = _gated(calls, tmp_path / "out", name)
    assert probes == "--probes-matching stages=6"
    assert stress == ["prenorm_gemm_257-288-320"] and check_ops == ["prenorm_gemm"]
    (bits,) = [c for c in calls if "test_tilelang_gpu_bits.py" in c]
    assert "-k plain_windows" in bits and "-p mhc_verify.pytest_plugin" in bits
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == [name] and "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in bench
    assert calls.index(bench) > max(calls.index(c) for c in calls if "mhc_verify check" in c)
    assert timeline.rstrip().endswith("done") and (tmp_path / "out" / "summary.txt").is_file()


@pytest.mark.parametrize("verdict, benched", [("bench: 256 x 4096 {...}", True), ("skip: 256 x 4096 {...}", False),
                                              ("", False)])
def test_the_twenty_third_sessions_second_call_gates_the_dsmem_chunks_and_benches_only_a_winner(tmp_path, verdict,
                                                                                                   benched):
    """-20/lease/call2.sh: TileLangOpChunksDsmem's stress at the op's 128 / 193 / 256 tokens and both cluster probes'
    GPU bit test beside the precompile (both probes' cluster kernels), the op bench and profile beside the default
    and DeepGEMM, the probe's nightly check of prenorm_gemm; the whole grid with the probe alone as ours only where
    the verdict (a python script reading the op bench, the bits and the stress) says bench."""
    name = "tilelang-op-chunks-dsmem"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-20/lease/call2.sh", STUB_NAME=name,
                           BITS_DELAY_S="0", STUB_SCRIPT_OUT=verdict)
    probes, stress, check_ops = _gated(calls, tmp_path / "out", name)
    assert probes == "--probes-matching ,cluster="
    assert stress == ["prenorm_gemm_128-193-256"] and check_ops == ["prenorm_gemm"]
    (bits,) = [c for c in calls if "test_tilelang_gpu_bits.py" in c]
    assert "-k cluster_sum" in bits and "-p mhc_verify.pytest_plugin" in bits
    benches = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(benches[0]) == ["tilelang", name, "tilelang-gemm-op-cluster"]
    assert "--tokens 64,128,192,256" in benches[0] and "--op prenorm_gemm" in benches[0]
    (profile,) = [c for c in calls if "profile_ops.py" in c]
    assert "--tokens 256 --hidden 4096" in profile and "--mode graph" in profile
    check = max(calls.index(c) for c in calls if "mhc_verify check" in c)
    assert calls.index(benches[0]) < check
    if benched:
        assert len(benches) == 2 and _ours(benches[1]) == [name] and calls.index(benches[1]) > check
        assert "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in benches[1]
    else:
        assert len(benches) == 1
    assert verdict in timeline and (tmp_path / "out" / "summary.txt").is_file()


def test_the_twenty_third_sessions_third_call_benches_the_committed_default(tmp_path):
    """-20/lease/call3.sh: the default's kernels precompiled (no probes), then the whole grid with the default alone
    as ours."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-20/lease/call3.sh")
    _committed_run(calls)
    assert timeline.rstrip().endswith("done")


def test_the_twenty_fourth_sessions_first_call_gates_the_squares_probes_and_times_them(tmp_path):
    """-21/lease/call1.sh: TileLangTwentyFourth's stress beside the precompile (the op's window from 129 and the decode
    and deep mhc_pre points), the squares probes' GPU bit tests, the op and pre benches beside DeepGEMM, the profile,
    then the gate probe's nightly checks of the op and mhc_pre."""
    name = "tilelang-twenty-fourth"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-21/lease/call1.sh", STUB_NAME=name,
                           BITS_DELAY_S="0")
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, name)
    assert probes == "--probes-matching squares_under_wgmma"
    assert sorted(stress) == ["mhc_pre_32-1024", "prenorm_gemm_129-193-256"]
    assert check_ops == ["mhc_pre", "prenorm_gemm"]
    (bits,) = [c for c in calls if "test_tilelang_gpu_bits.py" in c]
    assert "-k squares" in bits
    benches = [c for c in calls if "-m mhc_verify.bench" in c]
    assert [_ours(b) for b in benches] == [["tilelang", "tilelang-squares-under-wgmma", "tilelang-squares-plain-from129"],
                                           ["tilelang", "tilelang-squares-under-wgmma", "tilelang-decode-tma-squares"]]
    assert "--backend vllm-deepgemm" in benches[0] and all("--mode graph" in b for b in benches)
    assert len([c for c in calls if "profile_ops.py" in c]) == 1
    assert timeline.rstrip().endswith("done") and (out / "summary.txt").is_file()


def test_the_twenty_fourth_sessions_second_call_gates_the_wide_window_and_times_the_live_rows(tmp_path):
    """-21/lease/call2.sh: TileLangOpPlainWide's stress beside the precompile, the live rows' GPU bit tests, the op
    bench of the three probes beside DeepGEMM, the profile, then the wide probe's nightly check of the op."""
    name = "tilelang-op-plain-wide"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-21/lease/call2.sh", STUB_NAME=name,
                           BITS_DELAY_S="0")
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, name)
    assert probes == "--probes-matching live_rows"
    assert sorted(stress) == ["mhc_pre_512", "prenorm_gemm_129-256"] and check_ops == ["prenorm_gemm"]
    (bits,) = [c for c in calls if "test_tilelang_gpu_bits.py" in c]
    assert "-k live_rows" in bits
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang", "tilelang-fn3-live-rows", "tilelang-live-from129", "tilelang-op-plain-wide"]
    assert timeline.rstrip().endswith("done") and (out / "summary.txt").is_file()


def test_the_twenty_fourth_sessions_third_call_stresses_the_mid_wide_probe_at_4096(tmp_path):
    """-21/lease/call3.sh: TileLangOpMidWide's 1000 stress reruns at 129 / 192 / 256 x 4096 (where it differs from the
    default; gate_and_bench's stress is at 7168) beside the precompile, its mixes' GPU bit test, the op bench and
    profile beside DeepGEMM, then (the verdict says "gate") its nightly check of the op; "skip": none."""
    name = "tilelang-op-mid-wide"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-21/lease/call3.sh", STUB_NAME=name,
                           BITS_DELAY_S="0", STUB_SCRIPT_OUT="gate: 256 x 4096 {}")
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, name)
    assert probes == "--probes-matching mid_wide" and stress == ["prenorm_gemm_4096"] and check_ops == ["prenorm_gemm"]
    (run,) = [c for c in calls if "mhc_verify stress" in c]
    assert "--hidden 4096" in run and "--tokens 129,192,256" in run and "--reruns 1000" in run and "TileLangOpMidWide" in run
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang", "tilelang-op-mid-wide", "tilelang-op-plain-wide"]
    assert timeline.rstrip().endswith("done") and (out / "summary.txt").is_file()
    _, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-21/lease/call3.sh", STUB_NAME=name,
                       BITS_DELAY_S="0", STUB_SCRIPT_OUT="skip: 256 x 4096 {}")
    assert "skip: 256 x 4096" in timeline and "gate" not in timeline.split("skip: 256")[1]


def test_the_twenty_fifth_sessions_first_call_gates_the_counter_probe(tmp_path):
    """-22/lease/call1.sh: TileLangOpChunksOnCounter's stress at the op's 97 / 193 / 256 x 4096 beside the precompile
    (and gate_and_bench's at 128 / 256 x 7168), its GPU bit tests, the op bench and profile beside DeepGEMM, then its
    nightly check of the op."""
    name = "tilelang-op-chunks-on-counter"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-22/lease/call1.sh", STUB_NAME=name,
                           BITS_DELAY_S="0")
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, name)
    assert probes == "--probes-matching counter="
    assert sorted(stress) == ["prenorm_gemm_128-256", "prenorm_gemm_4096"] and check_ops == ["prenorm_gemm"]
    (bits,) = [c for c in calls if "test_tilelang_gpu_bits.py" in c]
    assert "-k counted" in bits
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang", "tilelang-op-chunks-on-counter"] and "--backend vllm-deepgemm" in bench
    assert len([c for c in calls if "profile_ops.py" in c]) == 1
    assert timeline.rstrip().endswith("done") and (out / "summary.txt").is_file()


def test_the_twenty_fifth_sessions_second_call_times_the_counter_without_and_with_one_fence(tmp_path):
    """-22/lease/call2.sh: the atomic alone's stress (both H) and the fenced probe's at 256 x 4096 beside the
    precompile of both probes' kernels, both GPU bit tests, the op bench of both beside DeepGEMM, the profile, then
    (the verdict says "gate") the atomic alone's nightly check of the op; "skip": none."""
    name = "tilelang-op-chunks-on-counter"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-22/lease/call2.sh", STUB_NAME=name,
                           BITS_DELAY_S="0", STUB_SCRIPT_OUT="gate: 256 x 4096 {}")
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, name)
    assert probes == ("--probes-matching counter=2] --probes-matching counter=4] --probes-matching counter=7] "
                      "--probes-matching fence=first_thread")
    assert sorted(stress) == ["fenced_4096", "prenorm_gemm_128-256", "prenorm_gemm_4096"]
    assert check_ops == ["prenorm_gemm"]
    (fenced,) = [c for c in calls if "stress" in c and "TileLangOpCounterFirstThreadFence" in c]
    assert "--tokens 256 --hidden 4096" in fenced and "--reruns 1000" in fenced
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang", "tilelang-op-chunks-on-counter", "tilelang-op-counter-first-thread-fence"]
    assert timeline.rstrip().endswith("done") and (out / "summary.txt").is_file()
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-22/lease/call2.sh", STUB_NAME=name,
                           BITS_DELAY_S="0", STUB_SCRIPT_OUT="skip: 256 x 4096 {}")
    assert "skip: 256 x 4096" in timeline and not [c for c in calls if "mhc_verify check" in c]


def test_the_twenty_fifth_sessions_next_call_gates_and_times_both_loads_first_builds(tmp_path):
    """-22/lease/next.sh: both loads-first probes' stress at 256 x 4096 (and the chunk_sum probe's at 17 / 128 / 256 x
    7168) beside the precompile of their kernels, their GPU bit tests, the op bench of both beside DeepGEMM at 1-1024
    tokens, the profile, then (the verdict says "gate") the chunk_sum probe's nightly check of the op."""
    name = "tilelang-chunk-sum-loads-first"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-06-h100-engines-22/lease/next.sh", STUB_NAME=name,
                           BITS_DELAY_S="0", STUB_SCRIPT_OUT="gate: 256 x 4096 {}")
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, name)
    assert probes == ("--probes-matching loads_first --probes-matching counter=2] --probes-matching counter=4] "
                      "--probes-matching counter=7]")
    assert sorted(stress) == ["TileLangChunkSumLoadsFirst_4096", "TileLangOpChunksOnCounter_4096",
                              "prenorm_gemm_17-128-256"]
    assert check_ops == ["prenorm_gemm"]
    (bits,) = [c for c in calls if "test_tilelang_gpu_bits.py" in c]
    assert "-k loads_first or counted" in bits
    (bench,) = [c for c in calls if "-m mhc_verify.bench" in c]
    assert _ours(bench) == ["tilelang", "tilelang-chunk-sum-loads-first", "tilelang-op-chunks-on-counter"]
    assert "--tokens 1,8,17,32,64,128,192,256,512,768,1024" in bench and "--backend vllm-deepgemm" in bench
    assert timeline.rstrip().endswith("done") and (out / "summary.txt").is_file()


def test_bench_verdict_gates_only_where_the_winner_is_faster(tmp_path):
    """scripts/bench_verdict.py: "gate" where the first backend's time is below the second's at the point, "skip"
    where it is not, where either time is missing, and where the bench wrote nothing."""
    import json
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from bench_verdict import verdict

    rows = [{"op": "prenorm_gemm", "T": 256, "H": 4096, "backend": b, "us": us}
            for b, us in (("probe", 5.5), ("tilelang", 6.8), ("slow", 7.0), ("none", None))]
    rows.append({"op": "prenorm_gemm", "T": 256, "H": 7168, "backend": "slow", "us": 1.0})
    (tmp_path / "bench.json").write_text(json.dumps({"rows": rows}))
    assert verdict(str(tmp_path), "probe", "tilelang", "prenorm_gemm", 256, 4096).startswith("gate: 256 x 4096")
    assert verdict(str(tmp_path), "slow", "tilelang", "prenorm_gemm", 256, 4096).startswith("skip:")
    assert verdict(str(tmp_path), "none", "tilelang", "prenorm_gemm", 256, 4096).startswith("skip:")
    assert verdict(str(tmp_path), "probe", "none", "prenorm_gemm", 256, 4096).startswith("skip:")
    assert verdict(str(tmp_path / "missing"), "probe", "tilelang", "prenorm_gemm", 256, 4096).startswith("skip:")


def test_the_twenty_sixth_sessions_second_call_benches_the_committed_default(tmp_path):
    """-23/lease/call2.sh: the default's kernels precompiled (no probes), then the whole grid with the default alone
    as ours, and the headline summary of it."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-07-h100-engines-23/lease/call2.sh")
    bench = _committed_run(calls)
    (headline,) = [c for c in calls if "mhc_verify.bench_report" in c]
    assert "--headline 1,8,32,256,1024,4096,65536,80000" in headline
    assert calls.index(bench) < calls.index(headline) and "done" in timeline


def test_the_twenty_sixth_sessions_third_call_gates_and_times_the_co_resident_op(tmp_path):
    """-23/lease/call3.sh: TileLangOpCoResident's stress at 192 / 256 / 768 x 7168 and 256 x 4096 beside the default's
    precompile (no probe kernels: it has none of its own), the op bench beside the default and DeepGEMM, then (the
    verdict says "gate") its nightly check of the op."""
    name = "tilelang-op-co-resident"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-07-h100-engines-23/lease/call3.sh", STUB_NAME=name,
                           STUB_SCRIPT_OUT="gate: 256 x 4096 {}")
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, name)
    assert probes == "" and sorted(stress) == ["TileLangOpCoResident_4096", "prenorm_gemm_192-256-768"]
    assert check_ops == ["prenorm_gemm"]
    (bench,) = [c for c in calls if "-m mhc_verify.bench " in c]
    assert _ours(bench) == ["tilelang", "tilelang-op-co-resident"] and "--backend vllm-deepgemm" in bench
    assert "--tokens 192,256,768,1024" in bench and "--hidden 4096,7168" in bench
    assert timeline.rstrip().endswith("done") and (out / "summary.txt").is_file()


def test_the_twenty_seventh_sessions_first_call_runs_both_unrun_calls_of_the_twenty_sixth(tmp_path):
    """-24/lease/call1.sh: -23's call3.sh into c3/ (the co-resident probe's stress, op bench and, on a "gate" verdict,
    its check), then the committed run of the default into c2/ on the kernels c3's precompile built: the whole grid,
    the default alone as ours, no precompile, stress or check of its own."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-07-h100-engines-24/lease/call1.sh",
                           STUB_SCRIPT_OUT="gate: 256 x 4096 {}")
    out = tmp_path / "out"
    benches = [c for c in calls if "-m mhc_verify.bench " in c]
    assert [b.split("--out ")[1].split()[0] for b in benches] == [f"{out}/c3/bench-op", f"{out}/c2/bench"]
    probe_bench, committed = benches
    assert "TileLangOpCoResident" in probe_bench and "--backend vllm-deepgemm" in probe_bench
    (pre,) = [c for c in calls if "mhc_kernels.tilelang.precompile" in c]
    assert pre.rstrip().endswith("--hidden 7168,4096") and calls.index(pre) < calls.index(probe_bench)
    checks = [c for c in calls if "mhc_verify check" in c]
    assert checks and all(f"{out}/c3/check/" in c for c in checks)
    assert all(calls.index(c) < calls.index(committed) for c in checks + [pre, probe_bench])
    assert _ours(committed) == ["tilelang"] and "--tokens 1,2,4,8,16,32,64,128,256,512,1024,4096,65536,80000" in committed
    (headline,) = [c for c in calls if "mhc_verify.bench_report" in c]
    assert f"{out}/c2/bench" in headline and calls.index(committed) < calls.index(headline)
    assert timeline.rstrip().endswith("done") and (out / "summary.txt").is_file()
    assert (out / "c3" / "timeline.txt").is_file() and (out / "c2" / "timeline.txt").is_file()


def test_the_next_sessions_call_is_one_committed_run_with_the_time_its_grid_needs(tmp_path):
    """-24/lease/next.sh: the default's precompile, the profile of hc_post / mhc_pre at 32 / 256 x 7168 beside vLLM,
    then the whole grid in one process with 440 s (-23's call2.sh gave 290 and needed a second process)."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-07-h100-engines-24/lease/next.sh")
    bench = _committed_run(calls)
    (prof,) = [c for c in calls if "scripts/debug/profile_ops.py" in c]
    assert "--backend vllm-tilelang" in prof and "--tokens 32,256 --hidden 7168 --mode graph" in prof
    assert calls.index(prof) < calls.index(bench)
    script = (ROOT / "results/gpu/2026-12-07-h100-engines-24/lease/next.sh").read_text()
    assert "BENCH_S=440 STAGES=bench" in script
    (headline,) = [c for c in calls if "mhc_verify.bench_report" in c]
    assert calls.index(bench) < calls.index(headline) and timeline.rstrip().endswith("done")


def test_the_twenty_eighth_sessions_first_call_checks_times_and_gates_its_probes(tmp_path):
    """-25/lease/call1.sh: TileLangTwentyEighth's stress at hc_post 256 and mhc_pre 32 beside the precompile of the
    probes' kernels, the bitwise checks of each probe, the hc_post and pre benches beside vLLM (and SGLang for
    hc_post), the profile, three repeats, then the gate probe's nightly checks of hc_post and mhc_pre."""
    name = "tilelang-twenty-eighth"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-07-h100-engines-25/lease/call1.sh", STUB_NAME=name)
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, name)
    assert probes == "--probes-matching trigger_first --probes-matching hc_post_pipelined"
    assert stress == ["hc_post_256", "mhc_pre_32"] and check_ops == ["hc_post", "mhc_pre"]
    bits = [c for c in calls if "probe_bitwise_check.py" in c]
    assert [b.split("--probe ")[1].split()[0].rsplit(":", 1)[1] for b in bits] == [
        "TileLangTwentyEighth", "TileLangTwentyEighth", "TileLangPostPipelined3", "TileLangPostEarly"]
    benches = [c for c in calls if "-m mhc_verify.bench " in c]
    assert [b.split("--out ")[1].split()[0] for b in benches] == [
        f"{out}/bench-post", f"{out}/bench-pre", f"{out}/repeat1", f"{out}/repeat2", f"{out}/repeat3"]
    post_bench, pre_bench = benches[:2]
    assert _ours(post_bench) == ["tilelang", "tilelang-post-pipelined", "tilelang-post-pipelined3", "tilelang-post-early"]
    assert "--backend vllm-tilelang" in post_bench and "--backend sglang-tilelang" in post_bench
    assert _ours(pre_bench) == ["tilelang", "tilelang-pre-trigger-first"] and "--backend vllm-tilelang" in pre_bench
    assert all("--mode graph" in b and "--force" in b and "--hidden 7168,4096" in b for b in benches)
    (prof,) = [c for c in calls if "scripts/debug/profile_ops.py" in c]
    checks = [c for c in calls if "mhc_verify check" in c]
    assert calls.index(bits[-1]) < calls.index(post_bench) < calls.index(prof) < calls.index(benches[2])
    assert all(calls.index(benches[-1]) < calls.index(c) for c in checks)
    assert timeline.rstrip().endswith("done") and (out / "summary.txt").is_file()


def test_the_twenty_eighth_sessions_second_call_is_the_committed_run(tmp_path):
    """-25/lease/call2.sh: the default's precompile, then the whole grid in one process with 450 s, and its headline."""
    _check_committed_call(tmp_path, "results/gpu/2026-12-07-h100-engines-25/lease/call2.sh", "BENCH_S=450 STAGES=bench")


def _check_committed_call(tmp_path, script: str, bench_cap: str) -> None:
    """A committed-run call (-25's and -26's call2.sh): _committed_run's calls with ``bench_cap`` in the script, then
    the headline."""
    calls, timeline = _run(tmp_path, script)
    bench = _committed_run(calls)
    assert bench_cap in (ROOT / script).read_text()
    (headline,) = [c for c in calls if "mhc_verify.bench_report" in c]
    assert calls.index(bench) < calls.index(headline) and timeline.rstrip().endswith("done")


def test_the_twenty_eighth_sessions_third_call_repeats_the_points_in_doubt(tmp_path):
    """-25/lease/call3.sh: the default's precompile, then three rounds of two bench processes (the decode points
    graph-replayed, the 65 536-token points), ours beside vLLM's TileLang and DeepGEMM and SGLang's TileLang."""
    _check_repeats_call(tmp_path, "results/gpu/2026-12-07-h100-engines-25/lease/call3.sh", rounds=3)


def _check_repeats_call(tmp_path, script: str, rounds: int) -> None:
    """A repeats call (-25's and -26's call3.sh): the default's precompile, then ``rounds`` rounds of two bench
    processes (decode, large), ours alone beside vLLM's TileLang and DeepGEMM and SGLang's TileLang."""
    calls, timeline = _run(tmp_path, script)
    (pre,) = [c for c in calls if "mhc_kernels.tilelang.precompile" in c]
    assert pre.rstrip().endswith("--hidden 7168,4096")
    benches = [c for c in calls if "-m mhc_verify.bench " in c]
    out = tmp_path / "out"
    assert [b.split("--out ")[1].split()[0] for b in benches] == [f"{out}/{k}{r}" for r in range(1, rounds + 1)
                                                                  for k in ("decode", "large")]
    assert all(_ours(b) == ["tilelang"] and "--backend vllm-deepgemm" in b and "--backend sglang-tilelang" in b
               for b in benches)
    assert all(calls.index(pre) < calls.index(b) for b in benches) and timeline.rstrip().endswith("done")


def test_the_twenty_ninth_sessions_first_call_checks_times_and_gates_its_probes(tmp_path):
    """-26/lease/call1.sh: TileLangTwentyNinth's stress at the lane-vectors Sinkhorn's decode and middle points and the
    op schedule's 8192 tokens beside the precompile of the probe's kernels, the lane-vectors probe bitwise against
    "vectors", the benches (graph-replayed to 4096 tokens, eager above) beside vLLM, the profile, the gate probe's
    nightly checks of the three pres, then three repeats."""
    name = "tilelang-twenty-ninth"
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-07-h100-engines-26/lease/call1.sh", STUB_NAME=name)
    out = tmp_path / "out"
    probes, stress, check_ops = _gated(calls, out, name)
    assert probes == "--probes-matching lane_vectors"
    assert stress == ["mhc_pre_32", "mhc_pre_256", "fused_post_pre_16", "mhc_pre_8192"]
    assert check_ops == ["fused_post_pre", "mhc_pre", "pre_big_fuse"]
    (bits,) = [c for c in calls if "probe_bitwise_check.py" in c]
    assert "--probe mhc_kernels.tilelang.mid_probes:TileLangLaneVectors " in bits
    assert "--against mhc_kernels.tilelang.mid_probes:TileLangSinkhornVectors " in bits
    benches = [c for c in calls if "-m mhc_verify.bench " in c]
    assert [b.split("--out ")[1].split()[0] for b in benches] == [
        f"{out}/bench-pre", f"{out}/bench-big", f"{out}/repeat1", f"{out}/repeat2", f"{out}/repeat3"]
    assert _ours(benches[0]) == ["tilelang", "tilelang-lane-vectors"]
    assert _ours(benches[1]) == ["tilelang", "tilelang-pre-op-schedule"]
    assert all(_ours(b) == ["tilelang", "tilelang-twenty-ninth"] for b in benches[2:])
    assert all("--backend vllm-tilelang" in b and "--mode graph" in b and "--force" in b for b in benches)
    assert "--graph-max-tokens 4096" in benches[1] and "--tokens 8192,65536,80000" in benches[1]
    (prof,) = [c for c in calls if "scripts/debug/profile_ops.py" in c]
    checks = [c for c in calls if "mhc_verify check" in c]
    assert calls.index(bits) < calls.index(benches[0]) < calls.index(prof) < calls.index(checks[0])
    assert all(calls.index(c) < calls.index(benches[2]) for c in checks)
    assert timeline.rstrip().endswith("done") and (out / "summary.txt").is_file()


def test_the_twenty_ninth_sessions_second_call_is_the_committed_run(tmp_path):
    """-26/lease/call2.sh: the default's precompile, then the whole grid in one process with 450 s (BENCH_S may lower
    it), and its headline."""
    _check_committed_call(tmp_path, "results/gpu/2026-12-07-h100-engines-26/lease/call2.sh",
                          "BENCH_S=${BENCH_S:-450} STAGES=bench")


def test_the_twenty_ninth_sessions_third_call_repeats_the_points_in_doubt(tmp_path):
    """-26/lease/call3.sh: the default's precompile, then two rounds of two bench processes (the decode points
    graph-replayed, the 65 536-token points), ours beside vLLM's TileLang and DeepGEMM and SGLang's TileLang."""
    _check_repeats_call(tmp_path, "results/gpu/2026-12-07-h100-engines-26/lease/call3.sh", rounds=2)


def test_the_multicast_probes_call_checks_bits_before_it_benches(tmp_path):
    """results/gpu/2026-12-07-h100-engines-28/lease/call1.sh: the multicast probe and its control bitwise the plain
    window (and each other at 65-128), each check under its own timeout, then one graph-replayed bench of the op with
    every probe, the plain window and DeepGEMM beside the default."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-07-h100-engines-28/lease/call1.sh")
    out = tmp_path / "out"
    checks = [c for c in calls if "probe_bitwise_check.py" in c]
    pairs = [(c.split("--probe ")[1].split()[0].split(":")[1], c.split("--against ")[1].split()[0].split(":")[1],
              c.split("--tokens ")[1].split()[0]) for c in checks]
    assert pairs == [("TileLangOpMulticast", "TileLangOpPlainTma", "256"),
                     ("TileLangOpMulticast", "TileLangOpPlainTma", "129,192,193,257,320,512,704"),
                     ("TileLangOpMulticastAlone", "TileLangOpPlainTma", "129,256,512"),
                     ("TileLangOpMulticast", "TileLangOpMulticastAlone", "65,100,128")]
    assert all("--op prenorm_gemm" in c and "--hidden 4096,7168" in c for c in checks)
    (bench,) = [c for c in calls if "-m mhc_verify.bench " in c]
    assert calls.index(bench) > calls.index(checks[-1])
    assert "--mode graph" in bench and "--force" in bench and f"--out {out}/bench" in bench
    for probe in ("TileLangOpMulticast", "TileLangOpMulticastAlone", "TileLangOpMulticast5", "TileLangOpMulticast64",
                  "TileLangOpMulticastChunks", "TileLangOpPlainTma"):
        assert f"mid_probes:{probe} " in bench, probe
    assert "--backend vllm-deepgemm" in bench and _ours(bench)[0] == "tilelang" and len(_ours(bench)) == 7
    (profile,) = [c for c in calls if "profile_ops.py" in c]
    assert calls.index(profile) > calls.index(bench) and "mid_probes:TileLangOpMulticast " in profile
    assert timeline.count("rc=0") == 6 and timeline.rstrip().endswith("done")


def test_the_fn_split_probes_call_checks_bits_before_it_benches(tmp_path):
    """results/gpu/2026-12-07-h100-engines-28/lease/call2.sh: the fn-split probe bitwise the plain window (129-704),
    call 1's control (65-128) and its four-stage twin, then the bench and the profile."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-07-h100-engines-28/lease/call2.sh")
    checks = [c for c in calls if "probe_bitwise_check.py" in c]
    pairs = [(c.split("--probe ")[1].split()[0].split(":")[1], c.split("--against ")[1].split()[0].split(":")[1])
             for c in checks]
    assert pairs == [("TileLangOpFnSplit", "TileLangOpPlainTma"), ("TileLangOpFnSplit", "TileLangOpMulticastAlone"),
                     ("TileLangOpFnSplit4", "TileLangOpFnSplit")]
    (bench,) = [c for c in calls if "-m mhc_verify.bench " in c]
    (profile,) = [c for c in calls if "profile_ops.py" in c]
    assert calls.index(checks[-1]) < calls.index(bench) < calls.index(profile)
    for probe in ("TileLangOpFnSplit", "TileLangOpFnSplit4", "TileLangOpMulticastAlone", "TileLangOpPlainTma"):
        assert f"mid_probes:{probe} " in bench, probe
    assert "--backend vllm-deepgemm" in bench and len(_ours(bench)) == 5 and "--mode graph" in bench
    assert timeline.count("rc=0") == 5 and timeline.rstrip().endswith("done")


def test_the_own_pipeline_chunks_call_checks_bits_then_benches(tmp_path):
    """results/gpu/2026-12-07-h100-engines-28/lease/call3.sh: the probe bitwise the default at 256 x 4096, then the
    bench beside the default and DeepGEMM, then the profile."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-07-h100-engines-28/lease/call3.sh")
    (check,) = [c for c in calls if "probe_bitwise_check.py" in c]
    (bench,) = [c for c in calls if "-m mhc_verify.bench " in c]
    (profile,) = [c for c in calls if "profile_ops.py" in c]
    assert calls.index(check) < calls.index(bench) < calls.index(profile)
    assert "mid_probes:TileLangOpOwnPipelineChunks --against tilelang " in check and "--tokens 256 " in check
    assert "mid_probes:TileLangOpOwnPipelineChunks " in bench and "--backend vllm-deepgemm" in bench
    assert _ours(bench) == ["tilelang", "tilelang-op-own-pipeline-chunks"] and "--mode graph" in bench
    assert timeline.count("rc=0") == 3 and timeline.rstrip().endswith("done")


def test_the_fn3_first_call_checks_bits_then_benches_then_gates(tmp_path):
    """results/gpu/2026-12-07-h100-engines-29/lease/call1.sh: every probe's bits first (the middle-shape probe against
    the default and its control, the late-sum probe against it, the plain probe against its pipeline's control), then
    the bench of all of them beside DeepGEMM, the profile, the middle-shape probe's stress at both H and its check."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-07-h100-engines-29/lease/call1.sh")
    checks = [c for c in calls if "probe_bitwise_check.py" in c]
    (bench,) = [c for c in calls if "-m mhc_verify.bench " in c]
    (profile,) = [c for c in calls if "profile_ops.py" in c]
    stress = [c for c in calls if "mhc_verify stress" in c]
    (check,) = [c for c in calls if "mhc_verify check" in c]
    pairs = [(c.split("--probe ")[1].split()[0].split(":")[1], c.split("--against ")[1].split()[0].split(":")[-1])
             for c in checks]
    assert pairs == [("TileLangOpFn3First", "tilelang"), ("TileLangOpFn3First", "TileLangOpOwnPipelineChunks"),
                     ("TileLangOpFn3FirstLateSum", "TileLangOpFn3First"),
                     ("TileLangOpPlainFn3First", "TileLangOpMulticastAlone")]
    assert calls.index(checks[-1]) < calls.index(bench) < calls.index(profile) < calls.index(stress[0])
    assert calls.index(stress[-1]) < calls.index(check)
    assert len(_ours(bench)) == 6 and "--backend vllm-deepgemm" in bench and "--mode graph" in bench
    assert [("--hidden 4096" in s, "--hidden 7168" in s) for s in stress] == [(True, False), (False, True)]
    assert all("mid_probes:TileLangOpFn3First " in s and "--cuda-graph" in s and "--reruns 1000" in s for s in stress)
    assert "--require-backend tilelang-op-fn3-first" in check and "--profile nightly" in check
    assert timeline.count("rc=0") == 9 and timeline.rstrip().endswith("done")


def test_the_fn3_first_second_call_checks_bits_then_benches_then_stresses(tmp_path):
    """results/gpu/2026-12-07-h100-engines-29/lease/call2.sh: the probe's bits at 256 x 7168, three benches beside the
    default and DeepGEMM (the window, then 256 x 4096 twice), the stress at 192 tokens, both H."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-07-h100-engines-29/lease/call2.sh")
    (check,) = [c for c in calls if "probe_bitwise_check.py" in c]
    benches = [c for c in calls if "-m mhc_verify.bench " in c]
    stress = [c for c in calls if "mhc_verify stress" in c]
    assert "mid_probes:TileLangOpFn3First --against tilelang " in check and "--hidden 7168 " in check
    assert calls.index(check) < calls.index(benches[0]) and calls.index(benches[-1]) < calls.index(stress[0])
    assert [b.split("--tokens ")[1].split()[0] for b in benches] == ["128,192,256", "256", "256"]
    assert all(_ours(b) == ["tilelang", "tilelang-op-fn3-first"] and "--backend vllm-deepgemm" in b for b in benches)
    assert all("--tokens 192 " in s and "--cuda-graph" in s for s in stress) and len(stress) == 2
    assert timeline.count("rc=0") == 6 and timeline.rstrip().endswith("done")


def test_the_fn3_first_window_gate_checks_bits_then_gates_then_benches(tmp_path):
    """results/gpu/2026-12-07-h100-engines-29/lease/call3.sh: the window probe's bits (against its kernels' control
    across the window, against the default at 256), gate_and_bench's precompile of the default's kernels beside the
    probe's stress at 129 / 192 / 256 and the op's nightly check, then the bench across the window's edges, then the
    GEMM's stamped timeline with fn3 before the wait and after it."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-07-h100-engines-29/lease/call3.sh",
                           STUB_NAME="tilelang-op-fn3-first-window")
    checks = [c for c in calls if "probe_bitwise_check.py" in c]
    (bench,) = [c for c in calls if "-m mhc_verify.bench " in c]
    assert [c.split("--against ")[1].split()[0].split(":")[-1] for c in checks] == [
        "TileLangOpOwnPipelineChunks", "tilelang"]
    assert all("mid_probes:TileLangOpFn3FirstWindow " in c for c in checks)
    out = tmp_path / "out" / "gate"
    pre, stress, check_ops = _gated(calls, out, "tilelang-op-fn3-first-window")
    assert pre == "" and check_ops == ["prenorm_gemm"]
    assert stress == ["prenorm_gemm_129", "prenorm_gemm_192", "prenorm_gemm_256"]
    assert calls.index(checks[-1]) < calls.index(bench) and "--tokens 128,129,160,192,224,256,257 " in bench
    assert _ours(bench) == ["tilelang", "tilelang-op-fn3-first-window"] and "--backend vllm-deepgemm" in bench
    stamps = [c for c in calls if "gemm_timeline.py" in c]
    assert len(stamps) == 2 and calls.index(bench) < calls.index(stamps[0])
    assert "--no-fn3-first" not in stamps[0] and "--no-fn3-first" in stamps[1]
    assert timeline.rstrip().endswith("done") and timeline.count("rc=0") == 6


def test_the_adoptions_gate_precompiles_and_stresses_then_checks_bits_gate_bench_and_stamps(tmp_path):
    """results/gpu/2026-12-07-h100-engines-30/lease/call1.sh: gate_and_bench's precompile of the default's kernels
    beside the default's stress at 129 / 192 / 256, then the default's bits against its kernels' control across the
    window, the op's nightly check of the default, the bench across the window's edges beside the default before and
    DeepGEMM, and the GEMM's stamped timeline with fn3 before the wait and after it; every stage inside the deadline."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-07-h100-engines-30/lease/call1.sh")
    out = tmp_path / "out" / "gate"
    pre, stress, check_ops = _gated(calls, out, "tilelang")
    assert pre == "" and check_ops == ["prenorm_gemm"]
    assert stress == ["prenorm_gemm_129", "prenorm_gemm_192", "prenorm_gemm_256"]
    assert all("--backend tilelang " in c for c in calls if "mhc_verify stress" in c)
    (bits,) = [c for c in calls if "probe_bitwise_check.py" in c]
    assert "--probe mhc_kernels.tilelang.decode_backend:TileLangDecode " in bits
    assert "--against mhc_kernels.tilelang.mid_probes:TileLangOpOwnPipelineChunks " in bits
    assert "--tokens 129,160,192,193,255,256 " in bits and "--hidden 4096,7168 " in bits
    (check,) = [c for c in calls if "mhc_verify check" in c]
    (bench,) = [c for c in calls if "-m mhc_verify.bench " in c]
    stamps = [c for c in calls if "gemm_timeline.py" in c]
    precompile = next(c for c in calls if "mhc_kernels.tilelang.precompile" in c)
    assert calls.index(precompile) < calls.index(bits) < calls.index(check) < calls.index(bench) < calls.index(stamps[0])
    assert _ours(bench) == ["tilelang", "tilelang-op-middle-before"] and "--backend vllm-deepgemm" in bench
    assert "--tokens 128,129,160,192,224,256,257 " in bench and "--mode graph" in bench
    assert len(stamps) == 2 and "--no-fn3-first" not in stamps[0] and "--no-fn3-first" in stamps[1]
    assert timeline.rstrip().endswith("done") and timeline.count("rc=0") == 5


def test_the_epilogue_gate_precompiles_and_stresses_then_checks_bits_gate_bench_and_stamps(tmp_path):
    """results/gpu/2026-12-07-h100-engines-30/lease/call2.sh: gate_and_bench's precompile of the default's kernels
    beside the default's stress at 129 / 192 / 256 x 7168, the stress at 256 x 4096, then the default's bits against
    the kernel before (TileLangOpEpilogueBefore) across the window, the op's nightly check, the bench beside the
    kernel before and DeepGEMM, and the stamped timeline of both kernels."""
    calls, timeline = _run(tmp_path, "results/gpu/2026-12-07-h100-engines-30/lease/call2.sh")
    out = tmp_path / "out" / "gate"
    pre, stress, check_ops = _gated(calls, out, "tilelang")
    assert pre == "" and check_ops == ["prenorm_gemm"]
    assert stress == ["prenorm_gemm_129", "prenorm_gemm_192", "prenorm_gemm_256", "prenorm_gemm_256x4096"]
    assert "--hidden 4096 " in [c for c in calls if "mhc_verify stress" in c][-1]
    (bits,) = [c for c in calls if "probe_bitwise_check.py" in c]
    assert "--probe mhc_kernels.tilelang.decode_backend:TileLangDecode " in bits
    assert "--against mhc_kernels.tilelang.mid_probes:TileLangOpEpilogueBefore " in bits
    (check,) = [c for c in calls if "mhc_verify check" in c]
    (bench,) = [c for c in calls if "-m mhc_verify.bench " in c]
    stamps = [c for c in calls if "gemm_timeline.py" in c]
    assert calls.index(bits) < calls.index(check) < calls.index(bench) < calls.index(stamps[0])
    assert _ours(bench) == ["tilelang", "tilelang-op-epilogue-before"] and "--backend vllm-deepgemm" in bench
    assert len(stamps) == 2 and "--epilogue-before" not in stamps[0] and "--epilogue-before" in stamps[1]
    assert timeline.rstrip().endswith("done") and timeline.count("rc=0") == 6
