"""precompile.jobs() holds every kernel configuration the default backend (TileLangDecode, `tilelang`)
launches over the benchmark's grid: both H, T from 1 to 4096 on both sides of every path threshold, each
op at the benchmark's split count (and pre_big_fuse at every caller split), with and without the RMSNorm
weight. Launches are recorded as in test_tilelang_decode.py (nothing computed), with PDL early as the
backend has it. A kernel missing here compiles at its first call inside a timed or capped GPU run."""

import pytest
import torch

from mhc_kernels.tilelang import precompile
from mhc_kernels.tilelang._build import Target
from mhc_kernels.tilelang.decode_backend import PDL_EARLY_MAX_TOKENS, TileLangDecode
from mhc_reference.contract import get_op
from mhc_verify.bench import direct_call, make_inputs, op_splits
from test_tilelang_decode import rec  # noqa: F401  (a fixture)

TOKENS = (1, 2, 8, 16, 32, 33, 64, 128, 129, 256, 257, 320, 321, 512, 704, 705, 768, 769, 1024, 1025, 1535, 1536,
          4096)
OPS = ("mhc_pre", "fused_post_pre", "pre_big_fuse", "hc_head", "hc_post", "prenorm_gemm")


def _job_keys(hidden: int) -> set:
    return {(getter.rsplit(".", 1)[1].removesuffix("_kernel"), tuple(args), tuple(sorted(kw.items())))
            for _, getter, args, kw in precompile.jobs(hidden)}


@pytest.mark.parametrize("hidden", [4096, 7168])
def test_every_default_launch_is_precompiled(monkeypatch, rec, hidden):  # noqa: F811
    monkeypatch.setattr(TileLangDecode, "pdl_early_max_tokens", PDL_EARLY_MAX_TOKENS)  # rec's module pins it off
    keys = _job_keys(hidden)
    backend = TileLangDecode()
    missing = set()
    for op in OPS:
        for t in TOKENS:
            splits = {op_splits(op, t, hidden, 132)} | (set(precompile.CALLER_SPLITS) if op == "pre_big_fuse" else set())
            for s in sorted(splits):
                for norm in ((False, True) if op in ("mhc_pre", "fused_post_pre", "pre_big_fuse") else (False,)):
                    rec.launches.clear(), rec.keywords.clear()
                    inputs, params = make_inputs(op, t, hidden, s, torch.device("cpu"), norm=norm)
                    direct_call(backend, get_op(op), inputs, params)()
                    for (name, config, _), kw in zip(rec.launches, rec.keywords):
                        args = tuple(a for a in config if not isinstance(a, Target))  # the getters take it last
                        key = (name, args, tuple(sorted(kw.items())))
                        if key not in keys:
                            missing.add((op, t, s, norm) + key)
    kernels = sorted({m[4:] for m in missing}, key=str)  # each missing configuration once, then where
    assert not missing, "\n".join(map(str, kernels)) + "\n" + "\n".join(map(str, sorted(missing, key=str)[:6]))
