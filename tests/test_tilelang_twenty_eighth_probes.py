"""The twenty-eighth session's probes (mid_probes): TileLangPreTriggerFirst (decode_pre_cluster launching its PDL
dependents right after its wait), TileLangPostPipelined / TileLangPostPipelined3 (the hc_post op one CTA per token with
a cp.async pipeline), TileLangPostEarly (the hc_post op's wide kernel triggering early) and the gate probe
TileLangTwentyEighth. On the CPU: which calls take them (launches recorded, nothing computed), that the precompile has
every launch, and where the generated CUDA puts the trigger and the pipeline. The bits are GPU checks
(scripts/debug/probe_bitwise_check.py in the lease call)."""

import pytest
import torch

from mhc_kernels.tilelang import _build, post, precompile
from mhc_kernels.tilelang.decode_backend import TileLangDecode
from mhc_kernels.tilelang.mid_probes import (TileLangPostEarly, TileLangPostPipelined, TileLangPostPipelined3,
                                             TileLangPreTriggerFirst, TileLangTwentyEighth)
from test_tilelang_decode import _pre_args
from test_tilelang_decode import N, rec  # noqa: F401  (rec is a fixture)


@pytest.fixture
def rec_post(rec):
    """The recorder (its getters include post.hc_post_pipelined_kernel)."""
    return rec


class _DefaultBefore(TileLangDecode):
    """The default before the twenty-eighth session's adoption, which TileLangPostEarly pins."""

    hc_post_pipelined_tokens = {}


def _launches(rec, backend, call) -> list:
    rec.launches.clear(), rec.keywords.clear()
    call(backend)
    return list(zip(rec.launches, rec.keywords))


def _post_call(tokens: int, hidden: int):
    x = torch.zeros(tokens, hidden, dtype=torch.bfloat16)
    residual = torch.zeros(tokens, N, hidden, dtype=torch.bfloat16)
    return lambda b: b.hc_post(x, residual, torch.zeros(tokens, N, 1), torch.zeros(tokens, N, N))


def _pre_call(op: str, tokens: int, hidden: int):
    args = _pre_args(tokens, hidden)
    if op == "mhc_pre":
        return lambda b: b.mhc_pre(*args)
    if op == "pre_big_fuse":
        mixes, sqrsum = torch.zeros(16, tokens, 24), torch.zeros(16, tokens)
        return lambda b: b.pre_big_fuse(mixes, sqrsum, *args[2:4], args[0], *args[4:11])
    x = torch.zeros(tokens, hidden, dtype=torch.bfloat16)
    return lambda b: b.fused_post_pre(x, args[0], torch.zeros(tokens, N, 1), torch.zeros(tokens, N, N), *args[1:])


def _set(kwargs: dict) -> tuple:
    """A getter's keywords, those at None (the getter's default) left out."""
    return tuple(sorted((k, v) for k, v in kwargs.items() if v is not None))


def _jobs(hidden: int) -> set:
    return {(j[1].rpartition(".")[2].removesuffix("_kernel"), j[2], _set(j[3]))
            for j in precompile.probe_jobs(hidden) + precompile.jobs(hidden)}


def _job_key(launch) -> tuple:
    (name, config, _), kw = launch
    return name, tuple(c for c in config if not isinstance(c, _build.Target)), _set(kw)


@pytest.mark.parametrize("probe", [TileLangPostPipelined, TileLangPostPipelined3, TileLangTwentyEighth])
@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("tokens", [1, 32, 63, 64, 256, 512, 4096, 4097])
def test_the_pipelined_probe_takes_the_hc_post_op_inside_its_window(rec_post, probe, hidden, tokens):
    """64-4096 tokens: one launch of the pipelined kernel at the probe's depth (a precompile job), ahead of the
    per-token window at 449-704 x 4096; elsewhere the default's launches."""
    call = _post_call(tokens, hidden)
    got, default = _launches(rec_post, probe(), call), _launches(rec_post, TileLangDecode(), call)
    if not 64 <= tokens <= 4096:
        assert got == default
        return
    (launch,) = got
    assert launch[0][0] == "hc_post_pipelined" and launch[0][1] == (N, hidden)
    assert launch[1] == {"stages": probe.hc_post_pipeline_stages}
    assert _job_key(launch) in _jobs(hidden)


@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("tokens", [64, 512])
def test_fused_post_pre_keeps_the_defaults_hc_post(rec_post, hidden, tokens):
    call = _pre_call("fused_post_pre", tokens, hidden)
    assert _launches(rec_post, TileLangPostPipelined(), call) == _launches(rec_post, TileLangDecode(), call)


@pytest.mark.parametrize("probe", [TileLangPreTriggerFirst, TileLangTwentyEighth])
@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("op, tokens", [("mhc_pre", 1), ("mhc_pre", 16), ("mhc_pre", 32), ("mhc_pre", 64),
                                        ("fused_post_pre", 32), ("pre_big_fuse", 16)])
def test_the_trigger_first_probe_changes_the_cluster_pre_alone(rec_post, probe, hidden, op, tokens):
    """The default's launches, the cluster pre's with trigger_first (a precompile job); no cluster pre (64 tokens):
    the default's launches unchanged."""
    call = _pre_call(op, tokens, hidden)
    got, default = _launches(rec_post, probe(), call), _launches(rec_post, TileLangDecode(), call)
    assert [launch[0][:2] for launch in got] == [launch[0][:2] for launch in default]
    clustered = [i for i, launch in enumerate(default) if launch[0][0] == "decode_pre_cluster"]
    assert bool(clustered) == (tokens <= 32)
    for i, (launch, want) in enumerate(zip(got, default)):
        if i in clustered:
            assert launch[1] == {**want[1], "trigger_first": True}
            assert _job_key(launch) in _jobs(hidden)
        else:
            assert launch[1] == want[1]


@pytest.mark.parametrize("hidden", [7168, 4096])
@pytest.mark.parametrize("tokens", [8, 256, 4096])
def test_the_early_probe_triggers_the_hc_post_ops_wide_kernel_early(rec_post, hidden, tokens):
    call = _post_call(tokens, hidden)
    got, default = _launches(rec_post, TileLangPostEarly(), call), _launches(rec_post, _DefaultBefore(), call)
    if default[0][0][0] != "hc_post_wide":  # the per-token window at 449-704 x 4096 is not the wide kernel's
        assert got == default
        return
    assert got[0][1] == {**default[0][1], "early_trigger": True} and got[0][0] == default[0][0]
    assert _job_key(got[0]) in _jobs(hidden)


def test_the_rejected_probes_are_not_the_default():
    assert not TileLangDecode.decode_pre_cluster_trigger_first and "hc_post" not in TileLangDecode.pdl_early_max_tokens


@pytest.mark.parametrize("hidden, window", [(7168, (225, 320)), (4096, (225, 448))])
@pytest.mark.parametrize("tokens", [224, 225, 256, 320, 321, 448, 449])
def test_the_default_runs_the_hc_post_op_through_the_pipeline_inside_its_window(rec_post, hidden, window, tokens):
    """The adopted window (hc_post_pipelined_tokens): the pipelined kernel at two stages (a default precompile job)
    inside it; outside it the rule before (hc_post_wide, or post.py's kernel at 449-704 x 4096)."""
    ((name, config, _), kw), = _launches(rec_post, TileLangDecode(), _post_call(tokens, hidden))
    inside = window[0] <= tokens <= window[1]
    assert name == ("hc_post_pipelined" if inside else "hc_post" if hidden == 4096 and tokens >= 449 else "hc_post_wide")
    if inside:
        assert kw == {"stages": 2}
        assert (name, (N, hidden), (("stages", 2),)) in {(j[1].rpartition(".")[2].removesuffix("_kernel"), j[2],
                                                          _set(j[3])) for j in precompile.jobs(hidden)}


def _source(build) -> str:
    import tilelang

    return tilelang.compile(build, target={"kind": "cuda", "arch": "sm_90a"},
                            pass_configs=_build.pass_configs(False)).get_kernel_source()


def test_the_cluster_pre_triggers_right_after_its_wait_with_trigger_first():
    from mhc_kernels.tilelang.decode import build_decode_pre_cluster, decode_parts

    variants = dict(prefetch_residual=True, sinkhorn_layout="gather_rcp", early_constants=True, split_arrive=True)
    for first in (False, True):
        src = _source(build_decode_pre_cluster(N, 7168, decode_parts(N, 7168), True, **variants, trigger_first=first))
        sync, trigger = src.index("cudaGridDependencySynchronize();"), src.index("cudaTriggerProgrammaticLaunchCompletion();")
        assert src.count("cudaTriggerProgrammaticLaunchCompletion();") == 1
        between = src[sync + len("cudaGridDependencySynchronize();"):trigger]
        assert (between.strip() == "") == first, "trigger_first: nothing between the wait and the trigger"


@pytest.mark.parametrize("stages", [2, 3])
def test_the_pipelined_hc_post_keeps_blocks_in_flight(stages):
    """The generated CUDA: cp.async loads of the residual and x, the loop's waits leaving the next blocks' groups in
    flight (a wait on fewer than all), one trigger after the loop (none before the last store)."""
    src = _source(post.build_hc_post(N, 7168, True, stages))
    assert "cp_async_gs<16>" in src and "cp_async_commit" in src
    waits = [int(w.split(">")[0]) for w in src.split("cp_async_wait<")[1:]]
    assert max(waits) >= 2 * (stages - 1) - 1 > 0, waits
    assert src.count("cudaTriggerProgrammaticLaunchCompletion();") == 1
    assert src.index("cudaTriggerProgrammaticLaunchCompletion();") > src.rindex("(out + ")
    with pytest.raises(ValueError, match="stages"):
        post.build_hc_post(N, 7168, True, 0)


def test_the_kernel_without_stages_is_the_loop_it_was():
    """build_hc_post without stages: no shared memory and no cp.async (each block straight into registers), under its
    own name; with stages, the pipelined kernel under mhc_hc_post_pipelined (a profile tells the two apart)."""
    base, piped = _source(post.build_hc_post(N, 7168, True)), _source(post.build_hc_post(N, 7168, True, 2))
    assert "cp_async" not in base and "__shared__" not in base and "buf_dyn_shmem" not in base
    assert "void __launch_bounds__(128, 1) mhc_hc_post_kernel(" in base
    assert "mhc_hc_post_pipelined_kernel(" in piped and "mhc_hc_post_kernel(" not in piped
