"""Compile our TileLang kernels ahead of use, in parallel processes, into TileLang's disk cache.

``tilelang.compile`` keeps every kernel it builds in a disk cache (``TILELANG_CACHE_DIR``, default
``~/.tilelang/cache``), keyed on the PrimFunc's text, the target and the pass configs: a second
process that asks for the same kernel loads it (measured: 9.2 s to compile hc_post for sm_90a on
this project's CPU box, 0.08 s to load it in the next process). ``compile_cached`` goes through
``tilelang.compile``, so our kernels are reused across processes already; what a cold run still
pays is one nvcc compile after another (about 20 configurations per hidden size). This module
calls the same kernel getters the backend calls (so the cache keys are the ones it will ask for),
one configuration per worker process, so a cold run compiles them side by side.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from typing import Any

from mhc_kernels.tilelang._build import Target, changed

N = 4
MIXES = N * N + 2 * N
CALLER_SPLITS = (1, 2, 4, 8, 16)  # the pre_big_fuse op's caller partials (the benchmark's S: 16 at decode counts)
CHUNKS = (2, 4, 8, 16, 32)  # the prenorm_gemm op's chunk sums (powers of two up to 4 * 7168 / 64 / 8)

Job = tuple[str, str, tuple, dict]  # (label, getter in mhc_kernels.tilelang.<module>, args, kwargs)


def jobs(hidden: int) -> list[Job]:
    """Every kernel configuration TileLangBackend and TileLangDecode can pick at this hidden size
    (target excluded)."""
    return _plain_jobs(hidden) + default_op_tma_jobs(hidden) + default_cluster_jobs(hidden)


def default_cluster_jobs(hidden: int) -> list[Job]:
    """The nineteenth session's adoptions where TileLangDecode sets them: decode_pre_cluster (decode_pre_cluster,
    its split_arrive) at the decode parts (with the residual prefetch for mhc_pre, without for fused_post_pre's
    pre) and at the caller's splits (the pre_big_fuse op), and the prenorm_gemm op on the caller's splits via
    TMA (op_plain_tma_tokens, PDL early as the op's, at the token block of its window); the twenty-first's
    hc_post_wide on a flat grid (hc_post_flat_from_tokens); the twenty-eighth's hc_post through a cp.async pipeline
    (hc_post_pipelined_tokens, where it has H)."""
    from mhc_kernels.tilelang.decode_backend import TileLangDecode

    out = _cluster_pre_jobs(hidden, TileLangDecode) if TileLangDecode.decode_pre_cluster else []
    span = TileLangDecode.op_plain_tma_tokens
    if span is not None:
        from mhc_kernels.tilelang.gemm import block_m_for

        out += _op_plain_tma_jobs(hidden, sorted({block_m_for(span[0]), block_m_for(span[1])}),
                                  TileLangDecode.op_plain_tma_stages)
    if TileLangDecode.hc_post_flat_from_tokens is not None:  # the twenty-first session's: hc_post_wide on a flat grid
        out += hc_post_flat_jobs(hidden, TileLangDecode)
    if hidden in TileLangDecode.hc_post_pipelined_tokens:  # the twenty-eighth's: the hc_post op through a pipeline
        out.append(_hc_post_pipelined_job(hidden, TileLangDecode.hc_post_pipeline_stages))
    out += mid_prefetch_gather_rcp_jobs(hidden, TileLangDecode)  # the twenty-ninth's window of the layout before
    out += op_multicast_jobs(hidden, TileLangDecode)  # the thirty-third's: the op at 129-256 with fn3 first
    deep = TileLangDecode.mid_deep_tokens
    if deep is not None:  # the twentieth session's: the middle GEMM in DeepGEMM's shape, early where mhc_pre's is
        out += _mid_deep_jobs(hidden, sorted({TileLangDecode()._early(t, op) for t in deep
                                              for op in ("mhc_pre", "fused_post_pre")}))
    return out


def mid_prefetch_gather_rcp_jobs(hidden: int, backend_class) -> list[Job]:
    """The middle pre with the residual prefetch on "gather_rcp" where ``backend_class``'s mid_prefetch_gather_rcp_tokens
    keeps it (mhc_pre at 129-256 x 7168 since the twenty-ninth session): at every count mid_parts can take (which it
    takes there depends on the GPU's SMs), as pdl_early_jobs has the default's."""
    if hidden not in backend_class.mid_prefetch_gather_rcp_tokens:
        return []
    counts = _mid_part_counts(hidden)
    variant, tag = _tagged({**backend_class.overlap_pre_variant(), "sinkhorn_layout": "gather_rcp"})
    return _overlap_jobs(hidden, counts, variant, tag, prefetch=(True,))


def op_multicast_jobs(hidden: int, backend_class) -> list[Job]:
    """The prenorm_gemm op on gemm_multicast.py's kernel where ``backend_class``'s op_multicast_tokens has it: at each
    cluster and PDL trigger its window takes, with fn3 before the wait (a warm fn3 cache) and after it (the call that
    launched fn's split), and chunk_sum at its chunks with the trigger it asks for."""
    from mhc_kernels.tilelang.gemm_multicast import cluster_for

    span = backend_class.op_multicast_tokens
    if span is None:
        return []
    probe = backend_class()
    shapes = sorted({(cluster_for(t, largest=backend_class.op_multicast_cluster), probe._early(t, "prenorm_gemm"))
                     for t in range(span[0], span[1] + 1)})
    tags = "".join(f",{k}" for k in backend_class.multicast_variant())
    out: list[Job] = []
    for cluster, early in shapes:
        for fn3_first in sorted({False, backend_class.op_multicast_fn3_first and cluster == 1}):
            out.append((f"prenorm_gemm_multicast[H={hidden},cluster={cluster},"
                        f"stages={backend_class.op_multicast_stages},"
                        f"block_k={backend_class.op_multicast_block_k}{',early' if early else ''}"
                        f"{',fn3_first' if fn3_first else ''}{tags}]", "gemm_multicast.prenorm_gemm_multicast_kernel",
                        (N, hidden, MIXES),
                        {"cluster": cluster, "num_stages": backend_class.op_multicast_stages,
                         "block_k": backend_class.op_multicast_block_k,
                         **changed(early_trigger=(early, False), fn3_first=(fn3_first, False)),
                         **backend_class.multicast_variant()}))
    chunks = backend_class.op_multicast_chunks
    if chunks > 1:
        loads_first = backend_class.reduce_chunks_with == "kernel_loads_first"
        out.append((f"chunk_sum[{chunks},{'loads_first' if loads_first else 'serial'}"
                    f"{',early_trigger' if backend_class.op_multicast_early_sum else ''}]", "gemm.chunk_sum_kernel",
                    (MIXES, chunks), {"loads_first": loads_first,
                                      **changed(early_trigger=(backend_class.op_multicast_early_sum, False))}))
    return out


def _mid_deep_jobs(hidden: int, early: list[bool]) -> list[Job]:
    """mhc_pre's middle GEMM in DeepGEMM's shape (mid_deep_tokens): 64-token blocks, TMA, mid_deep_stages stages."""
    from mhc_kernels.tilelang.backend import WIDE_K_TILES
    from mhc_kernels.tilelang.decode_backend import TileLangDecode
    from mhc_kernels.tilelang.gemm import SMALL_T_BLOCK_M

    tun = {**WIDE_K_TILES[SMALL_T_BLOCK_M], "tma": True, "num_stages": TileLangDecode.mid_deep_stages}
    return [(f"prenorm_gemm[H={hidden},M={MIXES},block_m={SMALL_T_BLOCK_M},mid_deep{',early' if e else ''}]",
             "gemm.prenorm_gemm_kernel", (N, hidden, MIXES, SMALL_T_BLOCK_M),
             {**tun, **({"early_trigger": True} if e else {})}) for e in early]


def _cluster_pre_jobs(hidden: int, backend_class, splits: tuple[bool, ...] | None = None) -> list[Job]:
    """decode_pre_cluster with ``backend_class``'s variants (its decode_pre_variant less the narrow sums; its
    split_arrive, or each of ``splits``; its dsmem_pre) where it fits H: the decode parts with and without the
    prefetch, the caller's splits without."""
    from mhc_kernels.tilelang.decode import cluster_fits, decode_parts

    if not cluster_fits(hidden):
        return []
    variant, tag = _tagged({k: v for k, v in backend_class.decode_pre_variant().items() if k != "narrow_sums"})
    out: list[Job] = []
    dsmem = backend_class.decode_pre_cluster_dsmem
    first = backend_class.decode_pre_cluster_trigger_first
    for parts, prefetches in ((decode_parts(N, hidden), (False, True)),) + tuple((s, (False,)) for s in CALLER_SPLITS):
        out += [(f"decode_pre_cluster[H={hidden},parts={parts}{',prefetch' if pre else ''}{tag}"
                 f"{',split_arrive' if split else ''}{',dsmem_pre' if dsmem else ''}"
                 f"{',trigger_first' if first else ''}]", "decode.decode_pre_cluster_kernel",
                 (N, hidden, parts),
                 {**variant, **({"prefetch_residual": True} if pre else {}), **({"split_arrive": True} if split else {}),
                  **({"dsmem_pre": True} if dsmem else {}), **({"trigger_first": True} if first else {})})
                for pre in prefetches
                for split in (splits if splits is not None else (backend_class.decode_pre_cluster_split_arrive,))]
    return out


def _op_plain_tma_jobs(hidden: int, block_ms, stages: int, block_k: int | None = None) -> list[Job]:
    """The prenorm_gemm op's GEMM on the caller's splits via TMA (op_plain_tma_tokens), PDL early, per block
    (``block_k``: op_plain_tma_block_k, None: WIDE_K_TILES')."""
    from mhc_kernels.tilelang.backend import WIDE_K_TILES

    return [(f"prenorm_gemm[H={hidden},M={MIXES},block_m={b},op_plain_tma,early]", "gemm.prenorm_gemm_kernel",
             (N, hidden, MIXES, b), {**WIDE_K_TILES[b], "num_stages": stages, **changed(block_k=(block_k, None)),
                                     "tma": True, "early_trigger": True})
            for b in block_ms]


def _plain_jobs(hidden: int) -> list[Job]:
    """jobs() but the op's TMA GEMMs (default_op_tma_jobs, derived from these)."""
    from mhc_kernels.tilelang.backend import TileLangBackend
    from mhc_kernels.tilelang.gemm import LARGE_T_BLOCK_M, SMALL_T_BLOCK_M

    out: list[Job] = [(f"split_fn[M={m}]", "gemm.split_fn_kernel", (m, N * hidden), {}) for m in (MIXES, N)]
    for block_m in (SMALL_T_BLOCK_M, LARGE_T_BLOCK_M):
        tunables = [TileLangBackend.gemm_tunables.get(block_m, {}), TileLangBackend.op_gemm_tunables.get(block_m, {})]
        for tun in [t for i, t in enumerate(tunables) if t not in tunables[:i]]:
            for m in (MIXES, N):
                out.append((f"prenorm_gemm[H={hidden},M={m},block_m={block_m},{tun}]", "gemm.prenorm_gemm_kernel",
                            (N, hidden, m, block_m), dict(tun)))
    out += [(f"chunk_sum[{c},loads_first]", "gemm.chunk_sum_kernel", (MIXES, c), {"loads_first": True})
            for c in _chunk_counts(hidden)]
    out += [(f"pre_big_fuse[H={hidden},norm={b}]", "pre.pre_big_fuse_kernel", (N, hidden, b), {}) for b in (False, True)]
    out.append((f"hc_post[H={hidden}]", "post.hc_post_kernel", (N, hidden), {}))
    out += [(f"collapse[H={hidden},head={b}]", "collapse.collapse_kernel", (N, hidden, b), {}) for b in (False, True)]
    return out + decode_jobs(hidden) + mid_jobs(hidden) + pdl_early_jobs(hidden) + fn_before_wait_jobs(hidden, (MIXES,)) \
        + no_pdl_pre_jobs(hidden)


def _chunk_counts(hidden: int) -> list[int]:
    """Every chunk count chunk_sum can take for the prenorm_gemm op at this hidden size: the base path's
    (CHUNKS), and the decode / middle GEMM's K ranges per caller split (TileLangDecode._op_gemm_parts:
    decode_parts, or a multiple of the split count dividing the K tiles, e.g. 7 at H = 7168, S = 16)."""
    from mhc_kernels.tilelang.decode import DECODE_BLOCK_K, MIN_TILES_PER_PART, decode_parts
    from mhc_kernels.tilelang.decode_backend import allowed_ranges

    k_tiles = N * hidden // DECODE_BLOCK_K
    counts = set(CHUNKS)
    for splits in CALLER_SPLITS:
        ranges = allowed_ranges(k_tiles, MIN_TILES_PER_PART, splits) + [decode_parts(N, hidden)]
        counts |= {p // splits for p in ranges if p % splits == 0 and p // splits >= 2}
    return sorted(counts)


def _fma_configs() -> list[tuple[int, tuple]]:
    """(M, sorted tunables) of every FMA decode GEMM the plan runs, and the kernel defaults (which
    decode_gemm = "fma" runs)."""
    from mhc_kernels.tilelang.decode_backend import DECODE_GEMM_PLAN

    fma = {(m, tuple(sorted(tun.items()))) for m, _, kernel, tun in DECODE_GEMM_PLAN if kernel == "fma"}
    return sorted(fma | {(m, ()) for m in (MIXES, N)})


def _mid_part_counts(hidden: int) -> list[int]:
    """Every K-range count TileLangDecode.mid_parts can take at this hidden size: a divisor (>= 4) of
    the 128-wide K tiles, each range >= MIN_TILES_PER_PART tiles."""
    from mhc_kernels.tilelang.decode import DECODE_BLOCK_K, MIN_TILES_PER_PART
    from mhc_kernels.tilelang.decode_backend import allowed_ranges

    return [p for p in allowed_ranges(N * hidden // DECODE_BLOCK_K, MIN_TILES_PER_PART, 1) if p >= 4]


def decode_jobs(hidden: int) -> list[Job]:
    """The decode path's own kernels (TileLangDecode, kernels/tilelang/decode.py and decode_gemm.py)
    at this hidden size; its "wgmma" GEMM is TileLangBackend's block_m 64 configuration, already in
    jobs()."""
    from mhc_kernels.tilelang.decode import decode_parts
    from mhc_kernels.tilelang.decode_backend import TileLangDecode

    parts = decode_parts(N, hidden)
    fma = _fma_configs()
    out: list[Job] = [(f"decode_gemm[H={hidden},M={m},parts={parts}{''.join(f',{k}={v}' for k, v in tun)}]",
                       "decode_gemm.decode_gemm_kernel", (N, hidden, m, parts), dict(tun)) for m, tun in fma]
    out.append((f"hc_post_wide[H={hidden}]", "decode.hc_post_wide_kernel", (N, hidden), {}))
    # and at the wider blocks of TileLangDecode.hc_post_wide_block_from (where they divide H)
    out += [(f"hc_post_wide[H={hidden},h_blk={b}]", "decode.hc_post_wide_kernel", (N, hidden), {"h_blk": b})
            for b in sorted(set(TileLangDecode.hc_post_wide_block_from.values())) if hidden % b == 0]
    variant, tag = default_decode_pre_variant()
    out += _decode_pre_jobs(hidden, parts, variant, tag, prefetch=(False,))
    # the pre_big_fuse op's decode_pre on its caller's S partials (S = 1 .. 16)
    for splits in CALLER_SPLITS:
        out += _decode_pre_jobs(hidden, splits, variant, tag, prefetch=(False,))
    out.append((f"decode_norm[H={hidden}]", "decode.decode_norm_kernel", (hidden,), {}))
    out.append((f"decode_head[H={hidden},parts={parts}]", "decode.decode_head_kernel", (N, hidden, parts), {}))
    # hc_head's default since 2026-12-04: token-major partials (TileLangDecode.token_major_partials)
    out += [(f"decode_gemm[H={hidden},M={m},parts={parts}{''.join(f',{k}={v}' for k, v in tun)},token_major]",
             "decode_gemm.decode_gemm_kernel", (N, hidden, m, parts), {**dict(tun), "token_major": True})
            for m, tun in fma if m == N]
    out.append((f"decode_head[H={hidden},parts={parts},token_major]", "decode.decode_head_kernel",
                (N, hidden, parts), {"token_major": True}))
    return out


def _tagged(variant: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A variant's keyword arguments and its label tag (",gather", ",gather,narrow_sums")."""
    return variant, "".join(f",{v}" if k == "sinkhorn_layout" else f",{k}" for k, v in variant.items())


def default_pre_variant() -> tuple[dict[str, Any], str]:
    """The keyword arguments and label tag of the fused pres (decode_pre, the middle path's) that
    TileLangDecode runs by default (TileLangDecode.fused_pre_variant)."""
    from mhc_kernels.tilelang.decode_backend import TileLangDecode

    return _tagged(TileLangDecode.overlap_pre_variant())


def default_decode_pre_variant() -> tuple[dict[str, Any], str]:
    """decode_pre's (TileLangDecode.decode_pre_variant: the Sinkhorn layout and the narrow sums)."""
    from mhc_kernels.tilelang.decode_backend import TileLangDecode

    return _tagged(TileLangDecode.decode_pre_variant())


def default_op_tma_jobs(hidden: int) -> list[Job]:
    """The GEMMs on the TMA kernel where TileLangDecode.op_gemm_tma_from_tokens (the prenorm_gemm op's) or
    pre_gemm_tma_from_tokens (mhc_pre's and fused_post_pre's above the middle path) is set: tma_jobs'
    configurations of M = 24 (the base path's and middle path's tunables, with and without the early
    trigger)."""
    from mhc_kernels.tilelang.decode_backend import TileLangDecode

    if TileLangDecode.op_gemm_tma_from_tokens is None and TileLangDecode.pre_gemm_tma_from_tokens is None:
        return []
    return [job for job in tma_jobs(hidden) if job[2][2] == MIXES]


def _getter(path: str):
    import importlib

    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(f"mhc_kernels.tilelang.{module}"), name)


def compile_job(job: Job, target: Target) -> tuple[str, float]:
    """Build one configuration (in a worker process); returns its label and seconds."""
    label, getter, args, kwargs = job
    start = time.perf_counter()
    getter_fn = _getter(getter)
    if "pdl" in kwargs:  # a job for a kernel compiled without (or with) PDL whatever the target says
        kwargs = dict(kwargs)
        target = replace(target, pdl=kwargs.pop("pdl"))
    # the getters take the target after the shape arguments, tunables as keywords
    getter_fn(*args, target, **kwargs)
    return label, time.perf_counter() - start


def precompile(hidden: tuple[int, ...] | list[int], target: Target, workers: int | None = None,
               probes: bool = False, probes_matching: tuple[str, ...] = ()) -> dict[str, Any]:
    """Compile every configuration for these hidden sizes (with ``probes``, probe_jobs' too; with
    ``probes_matching``, only the probe jobs whose label contains one of these strings: a lease call
    that times a few probes does not wait for all of them), ``workers`` processes at a time (default:
    the CPU count, at most the number of jobs). Kernels already in the disk cache load in well under a
    second. Returns counts, seconds and failures (a failure is reported, never raised: the benchmark
    then meets the same error at the kernel's first call and reports it in its row)."""
    todo = []
    for h in hidden:
        todo += jobs(h)
        if probes or probes_matching:
            todo += [j for j in probe_jobs(h) if not probes_matching or any(m in j[0] for m in probes_matching)]
    return compile_in_parallel(todo, target, workers)


def compile_in_parallel(todo: list[Job], target: Target, workers: int | None = None) -> dict[str, Any]:
    """Compile these configurations (duplicate labels once) in ``workers`` spawned processes; the
    statistics precompile() returns. Also the GPU debug scripts' precompile step."""
    todo = list({j[0]: j for j in todo}.values())
    workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    start = time.perf_counter()
    done, failed = {}, {}
    # spawn: the parent may hold a CUDA context, which a forked child must not inherit
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(compile_job, job, target): job[0] for job in todo}
        for fut in as_completed(futures):
            try:
                label, seconds = fut.result()
                done[label] = round(seconds, 2)
            except Exception as e:  # noqa: BLE001 - reported; the kernel's first call raises it again
                failed[futures[fut]] = f"{type(e).__name__}: {str(e)[:200]}"
    return {"configs": len(todo), "compiled": len(done), "failed": failed, "workers": workers,
            # a disk-cache hit takes a fraction of a second, an nvcc compile several seconds
            "from_cache": sum(1 for s in done.values() if s < 1.5),
            "seconds": round(time.perf_counter() - start, 1),
            "slowest": sorted(done.items(), key=lambda kv: -kv[1])[:3]}


def mid_jobs(hidden: int) -> list[Job]:
    """The middle path's fused pre (pre_overlap.py, the partials' count compiled in) for every count
    it can take at this hidden size: TileLangDecode.mid_parts (a divisor of the 128-wide K tiles,
    each range >= 2 tiles, at least 4 on a GPU of >= 64 SMs at <= 4096 tokens) and pre_big_fuse's
    caller splits (1 .. 16); hc_head's head collapse at the same counts; its GEMM is TileLangBackend's
    tensor-core configuration, in jobs()."""
    parts = set(_mid_part_counts(hidden)) | set(CALLER_SPLITS)
    variant, tag = default_pre_variant()
    # and on one residual buffer (mid_pre_one_buffer_tokens: 769 .. 1535 tokens, above PDL early's range)
    return _overlap_jobs(hidden, sorted(parts), variant, tag, prefetch=(False,)) \
        + _overlap_jobs(hidden, sorted(parts), {**variant, "prefetch_next_block": False}, ",one_buffer" + tag,
                        prefetch=(False,)) \
        + [(f"collapse[H={hidden},head,parts={p}]", "collapse.collapse_kernel", (N, hidden, True), {"parts": p})
           for p in sorted(parts) if p >= 4]  # hc_head's middle path


def fn_before_wait_jobs(hidden: int, mixes: tuple[int, ...]) -> list[Job]:
    """The FMA decode GEMMs (every configuration the plan runs, for these M; token-major too for M = n)
    with fn staged before the PDL wait, with and without the early trigger: TileLangDecode's
    decode_gemm_fn_before_wait (mhc_pre's, M = 24, in jobs()) and the probes' (hc_head's, M = n)."""
    from mhc_kernels.tilelang.decode import decode_parts

    parts = decode_parts(N, hidden)
    out: list[Job] = []
    for m, tun in _fma_configs():
        if m not in mixes:
            continue
        for tm in (False, True) if m == N else (False,):
            out += [(f"decode_gemm[H={hidden},M={m},parts={parts}{''.join(f',{k}={v}' for k, v in tun)}"
                     f"{',token_major' if tm else ''}{',early' if e else ''},fn_before_wait]",
                     "decode_gemm.decode_gemm_kernel", (N, hidden, m, parts),
                     {**dict(tun), **({"token_major": True} if tm else {}), **({"early_trigger": True} if e else {}),
                      "fn_before_wait": True}) for e in (False, True)]
    return out


def wgmma_fn_before_wait_jobs(hidden: int) -> list[Job]:
    """The tensor-core decode GEMM (block_m 64, M = 24) with fn3's tiles staged before the PDL wait
    (TileLangDecode.wgmma_fn_before_wait: mid_probes.TileLangWgmmaFnBeforeWait's), with and without the
    early trigger (mhc_pre's and fused_post_pre's at 17-32 tokens)."""
    from mhc_kernels.tilelang.backend import WIDE_K_TILES
    from mhc_kernels.tilelang.decode import DECODE_BLOCK_K, decode_parts
    from mhc_kernels.tilelang.gemm import SMALL_T_BLOCK_M

    tun = dict(WIDE_K_TILES[SMALL_T_BLOCK_M])
    fn_tiles = N * hidden // DECODE_BLOCK_K // decode_parts(N, hidden)
    return [(f"prenorm_gemm[H={hidden},M={MIXES},block_m={SMALL_T_BLOCK_M},{tun}{',early' if e else ''},"
             f"fn3_before_wait={fn_tiles}]", "gemm.prenorm_gemm_kernel", (N, hidden, MIXES, SMALL_T_BLOCK_M),
             {**tun, **({"early_trigger": True} if e else {}), "fn_tiles": fn_tiles}) for e in (False, True)]


def no_pdl_pre_jobs(hidden: int, backend_class=None) -> list[Job]:
    """The pre_big_fuse op's middle pre on its caller's splits compiled without PDL, on two residual
    buffers and on one (TileLangDecode.no_pdl_megabytes: 489-697 tokens at H = 7168, 855-1220 at 4096;
    mid_probes.TileLangNoPdlWindow's no_pdl_tokens run the same kernels), with ``backend_class``'s middle pre
    variants (None: TileLangDecode's; the sixteenth session's probes run TileLangDecode18's)."""
    from mhc_kernels.tilelang.decode_backend import TileLangDecode

    backend_class = backend_class or TileLangDecode
    variant, tag = _tagged(backend_class.overlap_pre_variant())
    lean_variant, lean_tag = _tagged(backend_class.overlap_pre_variant(one_buffer=True))
    window = _overlap_jobs(hidden, CALLER_SPLITS, variant, tag, prefetch=(False,)) \
        + _overlap_jobs(hidden, CALLER_SPLITS, {**lean_variant, "prefetch_next_block": False}, ",one_buffer" + lean_tag,
                        prefetch=(False,))
    return [(label.removesuffix("]") + ",no_pdl]", getter, args, {**kwargs, "pdl": False})
            for label, getter, args, kwargs in window]


def pdl_early_jobs(hidden: int) -> list[Job]:
    """The kernels TileLangDecode runs where pdl_early_max_tokens applies (and the probe
    mid_probes.TileLangPdlEarly everywhere) at this hidden size: the GEMMs, decode_gemm and
    hc_post_wide with the early trigger, decode_pre, the middle path's fused pre and head collapse
    with the residual prefetch."""
    from mhc_kernels.tilelang.backend import WIDE_K_TILES
    from mhc_kernels.tilelang.decode import decode_parts
    from mhc_kernels.tilelang.gemm import LARGE_T_BLOCK_M, SMALL_T_BLOCK_M

    early = {"early_trigger": True}
    out: list[Job] = []
    for block_m in (SMALL_T_BLOCK_M, LARGE_T_BLOCK_M):
        tun = dict(WIDE_K_TILES[block_m])
        out += [(f"prenorm_gemm[H={hidden},M={m},block_m={block_m},{tun},early]", "gemm.prenorm_gemm_kernel",
                 (N, hidden, m, block_m), {**tun, **early}) for m in (MIXES, N)]
    parts = decode_parts(N, hidden)
    for m, tun in _fma_configs():
        out.append((f"decode_gemm[H={hidden},M={m},parts={parts}{dict(tun)},early]", "decode_gemm.decode_gemm_kernel",
                    (N, hidden, m, parts), {**dict(tun), **early}))
        if m == N:
            out.append((f"decode_gemm[H={hidden},M={m},parts={parts}{dict(tun)},token_major,early]",
                        "decode_gemm.decode_gemm_kernel", (N, hidden, m, parts),
                        {**dict(tun), **early, "token_major": True}))
    out += [(f"hc_post_wide[H={hidden},h_blk={b},early]", "decode.hc_post_wide_kernel", (N, hidden),
             {"h_blk": b, **early}) for b in (None, 1024) if b is None or hidden % b == 0]
    out += _decode_pre_jobs(hidden, parts, *default_decode_pre_variant(), prefetch=(True,))
    mids = _mid_part_counts(hidden)
    out += _overlap_jobs(hidden, mids, *default_pre_variant(), prefetch=(True,))
    out += [(f"collapse[H={hidden},head,parts={p},prefetch]", "collapse.collapse_kernel", (N, hidden, True),
             {"parts": p, "prefetch_residual": True}) for p in mids]
    return out


def _decode_pre_jobs(hidden: int, parts: int, variant: dict[str, Any], tag: str,
                     prefetch: tuple[bool, ...] = (False, True)) -> list[Job]:
    """decode_pre with ``variant`` (labelled ``tag``) at ``parts`` partials, with and without norm, and
    with the residual prefetch of PDL early where ``prefetch`` has True."""
    return [(f"decode_pre[H={hidden},parts={parts},norm={b}{',prefetch' if pre else ''}{tag}]",
             "decode.decode_pre_kernel", (N, hidden, parts, b),
             {**variant, **({"prefetch_residual": True} if pre else {})}) for b in (False, True) for pre in prefetch]


def _overlap_jobs(hidden: int, counts, variant: dict[str, Any], tag: str,
                  prefetch: tuple[bool, ...] = (False, True)) -> list[Job]:
    """The middle path's fused pre with ``variant`` (labelled ``tag``) at each partials count in
    ``counts``, with and without norm, and with the residual prefetch where ``prefetch`` has True."""
    return [(f"pre_big_fuse_overlap[H={hidden},parts={p},norm={b}{',prefetch' if pre else ''}{tag}]",
             "pre_overlap.pre_big_fuse_overlap_kernel", (N, hidden, b),
             {"kept_in_shared": True, "parts": p, **variant, **({"prefetch_residual": True} if pre else {})})
            for p in counts for b in (False, True) for pre in prefetch]


def probe_jobs(hidden: int) -> list[Job]:
    """The kernels only the seventh session's probes run (mid_probes): the decode floor's
    (TileLangSinkhornRows, TileLangGemmBlockT16, TileLangDecodeFloor: the rows Sinkhorn's decode_pre and
    middle-path fused pre, with and without the prefetch of PDL early, and the FMA decode GEMM at
    block_t 16, with and without the early trigger), TileLangPdlEarlyBaseGemm's (the prenorm_gemm
    op's large-T GEMM with the early trigger), TileLangMidOneTile's (the middle path's pre over
    one-tile K ranges), TileLangMidLean's (the middle path's pre on one residual buffer),
    TileLangDecodeFloorTokenMajor's (token-major decode partials into the rows Sinkhorn), and since the
    eleventh session the op's cluster-summed GEMMs (op_cluster_jobs), TileLangGemmTma's (tma_jobs: also
    TileLangOpTma's, a subset), and since the thirteenth TileLangPostWide2048's (hc_post_wide at 2048
    columns). TileLangSinkhornGather's and TileLangNarrowSums' kernels became the default's (jobs())."""
    from mhc_kernels.tilelang.backend import TileLangBackend
    from mhc_kernels.tilelang.decode import DECODE_BLOCK_K, decode_parts
    from mhc_kernels.tilelang.gemm import LARGE_T_BLOCK_M, SMALL_T_BLOCK_M

    rows = {"sinkhorn_layout": "rows"}
    parts = decode_parts(N, hidden)
    mids = _mid_part_counts(hidden)
    splits = CALLER_SPLITS
    out: list[Job] = []
    # the decode floor's: the FMA decode GEMM at block_t 16 (TileLangGemmBlockT16), and token-major
    # at block_t 8 and 16 (TileLangDecodeFloorTokenMajor), with and without the early trigger
    for bt, tm in ((16, False), (8, True), (16, True)):
        out += [(f"decode_gemm[H={hidden},M={MIXES},parts={parts},block_t={bt}{',token_major' if tm else ''}"
                 f"{',early' if e else ''}]", "decode_gemm.decode_gemm_kernel", (N, hidden, MIXES, parts),
                 {"block_t": bt, **({"token_major": True} if tm else {}), **({"early_trigger": True} if e else {})})
                for e in (False, True)]
    # the rows Sinkhorn's decode_pre (TileLangSinkhornRows, TileLangDecodeFloor; token-major:
    # TileLangDecodeFloorTokenMajor) and middle-path pre, and the pre_big_fuse op's on the caller's partials
    out += _decode_pre_jobs(hidden, parts, rows, ",rows")
    out += _decode_pre_jobs(hidden, parts, {"token_major": True, **rows}, ",token_major,rows")
    out += _decode_pre_jobs(hidden, 16, rows, ",rows", prefetch=(False,))
    out += _overlap_jobs(hidden, mids, rows, ",rows") + _overlap_jobs(hidden, splits, rows, ",rows", prefetch=(False,))
    # TileLangPdlEarlyBaseGemm: the prenorm_gemm op's large-T GEMM with the early trigger
    for block_m in (SMALL_T_BLOCK_M, LARGE_T_BLOCK_M):
        tun = dict(TileLangBackend.op_gemm_tunables.get(block_m, {}))
        out.append((f"prenorm_gemm[H={hidden},M={MIXES},block_m={block_m},{tun},early]", "gemm.prenorm_gemm_kernel",
                     (N, hidden, MIXES, block_m), {**tun, "early_trigger": True}))
    # TileLangMidOneTile: the middle path's pre over one-tile K ranges (as many parts as K tiles)
    # (these probes run the default's fused pre variant: its Sinkhorn layout)
    variant, tag = default_pre_variant()
    out += _overlap_jobs(hidden, (N * hidden // DECODE_BLOCK_K,), variant, tag)
    # TileLangMidLean: the middle path's pre on one residual buffer, at every count it takes and on
    # pre_big_fuse's caller splits
    lean = {**variant, "prefetch_next_block": False}
    out += _overlap_jobs(hidden, mids, lean, ",one_buffer" + tag) + _overlap_jobs(hidden, splits, lean,
                                                                                  ",one_buffer" + tag,
                                                                                  prefetch=(False,))
    out += op_cluster_jobs(hidden) + tma_jobs(hidden)
    # The fused pres, wherever the default's run, of TileLangSinkhornGather (and TileLangNarrowSums, ..):
    # the fourteenth session's default, "gather" with the constants late; and of TileLangEarlySinkhorn
    # (the middle pre's constants late); and of TileLangEarlySinkhornMid, the default's variants, at the
    # configurations fused_pre_jobs lists beyond jobs()'s (-11's next-gate.sh compiles them).
    from mhc_kernels.tilelang.mid_probes import TileLangEarlySinkhorn, TileLangEarlySinkhornMid, TileLangSinkhornGather

    out += fused_pre_jobs(hidden, TileLangSinkhornGather) + fused_pre_jobs(hidden, TileLangEarlySinkhorn)
    out += fused_pre_jobs(hidden, TileLangEarlySinkhornMid)
    # TileLangSinkhornVectors (fifteenth session): the fused pres on the scaling-vector Sinkhorn
    from mhc_kernels.tilelang.mid_probes import TileLangSinkhornVectors

    out += fused_pre_jobs(hidden, TileLangSinkhornVectors)
    # TileLangFnBeforeWait (sixteenth session): fn staged before the wait in hc_head's FMA decode GEMMs too
    # (mhc_pre's are the default's: jobs()); TileLangFnBeforeWaitFma32 runs mhc_pre's (block_t 16) to 32 tokens
    out += fn_before_wait_jobs(hidden, (N,))
    # TileLangNoPdlWindow (sixteenth session): hc_post_wide at the window's columns and mhc_pre's middle
    # GEMMs, compiled without PDL
    from mhc_kernels.tilelang.backend import WIDE_K_TILES
    from mhc_kernels.tilelang.decode_backend import TileLangDecode

    from mhc_kernels.tilelang.mid_probes import TileLangDecode18

    no_pdl = {"pdl": False}
    # its pre_big_fuse kernels (and TileLangPreBigFuseNoPdl's) are no_pdl_megabytes' on TileLangDecode18's variants
    out += no_pdl_pre_jobs(hidden, TileLangDecode18)
    out += wgmma_fn_before_wait_jobs(hidden)  # TileLangWgmmaFnBeforeWait (seventeenth session)
    out += [(f"prenorm_gemm[H={hidden},M={MIXES},block_m={block_m},{dict(WIDE_K_TILES[block_m])},no_pdl]",
             "gemm.prenorm_gemm_kernel", (N, hidden, MIXES, block_m), {**WIDE_K_TILES[block_m], **no_pdl})
            for block_m in (SMALL_T_BLOCK_M, LARGE_T_BLOCK_M)]  # mhc_pre's middle GEMM at 257-1024 tokens
    wide = TileLangDecode()._hc_post_wide_block(256, hidden)  # the window's columns per CTA (256-1024 tokens)
    out.append((f"hc_post_wide[H={hidden}{f',h_blk={wide}' if wide else ''},no_pdl]", "decode.hc_post_wide_kernel",
                (N, hidden), {**({"h_blk": wide} if wide else {}), **no_pdl}))
    # TileLangPostWide2048: hc_post_wide at 2048 columns, with and without the early trigger
    if hidden % 2048 == 0:
        out += [(f"hc_post_wide[H={hidden},h_blk=2048{',early' if e else ''}]", "decode.hc_post_wide_kernel",
                 (N, hidden), {"h_blk": 2048, **({"early_trigger": True} if e else {})}) for e in (False, True)]
    out += decode_cluster_jobs(hidden)  # the nineteenth session's probes
    out += split_in_kernel_jobs(hidden)  # the twentieth's
    out += twenty_first_jobs(hidden)
    out += twenty_fourth_jobs(hidden)  # the twenty-fourth's
    out += op_cluster_jobs(hidden, dsmem=True)  # the twenty-third's (mid_probes.TileLangOpChunksDsmem)
    for fence in ("none", "first_thread", "every_thread"):  # the twenty-fifth's (mid_probes.TileLangOpChunksOnCounter ...)
        out += op_cluster_jobs(hidden, counter=True, counter_fence=fence)
    out += [(f"chunk_sum[{c},serial]", "gemm.chunk_sum_kernel", (MIXES, c), {"loads_first": False})
            for c in _chunk_counts(hidden)]  # the twenty-sixth's mid_probes.TileLangChunkSumSerial (the default before)
    out += twenty_eighth_jobs(hidden) + twenty_ninth_jobs(hidden)
    return list({j[0]: j for j in out}.values())


def twenty_ninth_jobs(hidden: int) -> list[Job]:
    """The twenty-ninth session's probes' kernels: mid_probes.TileLangLaneVectors' fused pres and cluster pre on the
    "lane_vectors" Sinkhorn. TileLangPreOpSchedule's GEMM above the middle path is the prenorm_gemm op's kernel
    (jobs())."""
    from mhc_kernels.tilelang.mid_probes import TileLangLaneVectors

    return fused_pre_jobs(hidden, TileLangLaneVectors) + _cluster_pre_jobs(hidden, TileLangLaneVectors)


def twenty_eighth_jobs(hidden: int) -> list[Job]:
    """The twenty-eighth session's probes' kernels: mid_probes.TileLangPreTriggerFirst's decode_pre_cluster (the
    default's variants with trigger_first) and TileLangPostPipelined's (and TileLangPostPipelined3's) hc_post kernel
    with its cp.async pipeline. TileLangPostEarly's hc_post_wide with the early trigger is among pdl_early_jobs'."""
    from mhc_kernels.tilelang.mid_probes import TileLangPostPipelined, TileLangPostPipelined3, TileLangPreTriggerFirst

    out = _cluster_pre_jobs(hidden, TileLangPreTriggerFirst)
    return out + [_hc_post_pipelined_job(hidden, probe.hc_post_pipeline_stages)
                  for probe in (TileLangPostPipelined, TileLangPostPipelined3)]


def _hc_post_pipelined_job(hidden: int, stages: int) -> Job:
    """post.hc_post_pipelined_kernel at ``stages`` stages: the default's (hc_post_pipelined_tokens) and its probes'."""
    return (f"hc_post_pipelined[H={hidden},stages={stages}]", "post.hc_post_pipelined_kernel", (N, hidden),
            {"stages": stages})


def hc_post_flat_jobs(hidden: int, backend_class) -> list[Job]:
    """hc_post_wide on one grid dimension from ``backend_class``'s hc_post_flat_from_tokens, at the columns per CTA
    its _hc_post_wide_block gives there, with fused_post_pre's early trigger where its hc_post has it."""
    from mhc_kernels.tilelang.decode_backend import FUSED_HC_POST

    backend, start = backend_class(), backend_class.hc_post_flat_from_tokens
    h_blk = backend._hc_post_wide_block(start, hidden)
    early = sorted({backend._early(start, op) for op in ("hc_post", FUSED_HC_POST)})
    return [(f"hc_post_wide[H={hidden}{f',h_blk={h_blk}' if h_blk else ''}{',early' if e else ''},flat_grid]",
             "decode.hc_post_wide_kernel", (N, hidden),
             {**({"h_blk": h_blk} if h_blk else {}), **({"early_trigger": True} if e else {}), "flat_grid": True})
            for e in early]


def twenty_first_jobs(hidden: int) -> list[Job]:
    """The twenty-first session's probes (mid_probes.TileLangHcPostFlat, TileLangOpFourStages, TileLangOpPlainDeep,
    TileLangOpPlainDeep64, TileLangPreDsmem): hc_post_wide on one grid dimension, the prenorm_gemm op's large-T GEMM
    (block_m 128, TMA) with four stages, its plain TMA window's GEMM (64-token blocks, PDL early) with six (and on
    64-column K tiles with twelve), and the cluster pres with the pre weights through distributed shared memory."""
    from mhc_kernels.tilelang.gemm import LARGE_T_BLOCK_M, SMALL_T_BLOCK_M
    from mhc_kernels.tilelang.mid_probes import (TileLangHcPostFlat, TileLangOpFourStages, TileLangOpPlainDeep,
                                                 TileLangOpPlainDeep64, TileLangPreDsmem)

    def plain_window(probe) -> list[Job]:  # the probe's plain window GEMM, its K tile and stages in the label
        block_k, stages = probe.op_plain_tma_block_k, probe.op_plain_tma_stages
        tag = (f",block_k={block_k}" if block_k else "") + f",stages={stages}]"
        return [(label[:-1] + tag, getter, args, kwargs)
                for label, getter, args, kwargs in _op_plain_tma_jobs(hidden, (SMALL_T_BLOCK_M,), stages, block_k)]

    tun = {**TileLangOpFourStages.op_gemm_tunables[LARGE_T_BLOCK_M], "tma": True}
    four = (f"prenorm_gemm[H={hidden},M={MIXES},block_m={LARGE_T_BLOCK_M},op_four_stages,tma]",
            "gemm.prenorm_gemm_kernel", (N, hidden, MIXES, LARGE_T_BLOCK_M), tun)
    return (hc_post_flat_jobs(hidden, TileLangHcPostFlat) + plain_window(TileLangOpPlainDeep)
            + plain_window(TileLangOpPlainDeep64) + _cluster_pre_jobs(hidden, TileLangPreDsmem) + [four])


def fused_pre_jobs(hidden: int, backend_class) -> list[Job]:
    """The fused pres (decode_pre, the middle path's) with ``backend_class``'s variants
    (fused_pre_variant, decode_pre_variant) at every configuration the default's run (decode_jobs,
    mid_jobs, pdl_early_jobs): a probe that changes only those variants precompiles its own."""
    from mhc_kernels.tilelang.decode import decode_parts

    parts = decode_parts(N, hidden)
    decode_variant, decode_tag = _tagged(backend_class.decode_pre_variant())
    pre_variant, pre_tag = _tagged(backend_class.overlap_pre_variant())
    mids = _mid_part_counts(hidden)
    splits = sorted(set(mids) | set(CALLER_SPLITS))
    out = _decode_pre_jobs(hidden, parts, decode_variant, decode_tag)
    for caller_splits in CALLER_SPLITS:
        out += _decode_pre_jobs(hidden, caller_splits, decode_variant, decode_tag, prefetch=(False,))
    out += _overlap_jobs(hidden, mids, pre_variant, pre_tag) + _overlap_jobs(hidden, splits, pre_variant, pre_tag,
                                                                              prefetch=(False,))
    lean_variant, lean_tag = _tagged(backend_class.overlap_pre_variant(one_buffer=True))
    lean = {**lean_variant, "prefetch_next_block": False}
    return out + _overlap_jobs(hidden, splits, lean, ",one_buffer" + lean_tag, prefetch=(False,))


def decode_cluster_jobs(hidden: int) -> list[Job]:
    """The nineteenth session's decode probes: mid_probes.TileLangPreCluster's decode_pre_cluster (its own
    Sinkhorn and early constants, the eighteenth session's default's; with the residual prefetch for mhc_pre, without for
    fused_post_pre's pre and the pre_big_fuse op on the caller's splits) and TileLangDecodeGemmOneTile's
    tensor-core decode GEMM on one 256-column K tile and TileLangDecodeGemmTma's on TMA loads (also among
    tma_jobs', labelled here for a lease call's --probes-matching) and TileLangMidDeepShape's middle GEMM in
    DeepGEMM's shape, with and without the early trigger; and TileLangOpPlainTma's op GEMM on the caller's
    splits."""
    from mhc_kernels.tilelang.backend import WIDE_K_TILES
    from mhc_kernels.tilelang.decode import decode_parts
    from mhc_kernels.tilelang.gemm import SMALL_T_BLOCK_M
    from mhc_kernels.tilelang.mid_probes import TileLangPreCluster

    out = _cluster_pre_jobs(hidden, TileLangPreCluster, splits=(False, True))  # TileLangPreCluster, TileLangPreCluster2
    # TileLangFma512 / TileLangFma1024: mhc_pre's (early, fn before the wait), fused_post_pre's (neither) and the
    # prenorm_gemm op's (early) FMA decode GEMMs at 17-32 tokens
    parts = decode_parts(N, hidden)
    for threads in (512, 1024):
        for early, first in ((True, True), (False, False), (True, False)):
            out.append((f"decode_gemm[H={hidden},M={MIXES},parts={parts},fma{threads}{',early' if early else ''}"
                        f"{',fn_before_wait' if first else ''}]", "decode_gemm.decode_gemm_kernel",
                        (N, hidden, MIXES, parts), {"block_t": 32, "threads": threads,
                                                    **({"early_trigger": True} if early else {}),
                                                    **({"fn_before_wait": True} if first else {})}))
    for label, tun in (("one_tile", {**WIDE_K_TILES[SMALL_T_BLOCK_M], "block_k": 256}),
                       ("decode_tma", {**WIDE_K_TILES[SMALL_T_BLOCK_M], "tma": True})):
        out += [(f"prenorm_gemm[H={hidden},M={MIXES},block_m={SMALL_T_BLOCK_M},{label}{',early' if e else ''}]",
                 "gemm.prenorm_gemm_kernel", (N, hidden, MIXES, SMALL_T_BLOCK_M),
                 {**tun, **({"early_trigger": True} if e else {})}) for e in (False, True)]
    out += _mid_deep_jobs(hidden, [False, True])  # TileLangMidDeepShape's (the default's since the twentieth)
    # TileLangOpPlainTma: the op on the caller's splits, TMA, op_plain_tma_stages stages, PDL early (both blocks)
    from mhc_kernels.tilelang.gemm import LARGE_T_BLOCK_M
    from mhc_kernels.tilelang.mid_probes import TileLangOpPlainTma

    return out + _op_plain_tma_jobs(hidden, (SMALL_T_BLOCK_M, LARGE_T_BLOCK_M), TileLangOpPlainTma.op_plain_tma_stages)


def split_in_kernel_jobs(hidden: int) -> list[Job]:
    """The twentieth session's probes (mid_probes.TileLangSplitInKernel, TileLangTwentieth): each TMA GEMM they
    launch, with fn split in the kernel and labelled ``split_in_kernel``: the decode tensor-core GEMM on TMA
    (decode_cluster_jobs' decode_tma), the middle GEMM in DeepGEMM's shape, the op's plain window (both blocks,
    early) and the default's own TMA GEMMs (default_op_tma_jobs' M = 24 configurations)."""
    from mhc_kernels.tilelang.decode_backend import TileLangDecode
    from mhc_kernels.tilelang.gemm import LARGE_T_BLOCK_M, SMALL_T_BLOCK_M

    tma_gemms = ([j for j in decode_cluster_jobs(hidden) if ",decode_tma" in j[0]] + _mid_deep_jobs(hidden, [False, True])
                 + _op_plain_tma_jobs(hidden, (SMALL_T_BLOCK_M, LARGE_T_BLOCK_M), TileLangDecode.op_plain_tma_stages)
                 + default_op_tma_jobs(hidden))
    return [(label[:-1] + ",split_in_kernel]", getter, args, {**kwargs, "split_in_kernel": True})
            for label, getter, args, kwargs in tma_gemms]


def tma_jobs(hidden: int) -> list[Job]:
    """mid_probes.TileLangGemmTma's GEMMs: every prenorm GEMM configuration the default runs on cp.async
    (_plain_jobs: jobs and pdl_early_jobs), compiled with TMA lowering and warp specialisation."""
    gemms = [job for job in _plain_jobs(hidden) if job[1] == "gemm.prenorm_gemm_kernel"]
    return [(label[:-1] + ",tma]", getter, args, {**kwargs, "tma": True}) for label, getter, args, kwargs in gemms]


def twenty_fourth_jobs(hidden: int) -> list[Job]:
    """The twenty-fourth session's probes' GEMMs. mid_probes.TileLangSquaresUnderWgmma's (and
    TileLangSquaresPlainFrom129's): every TMA GEMM the default
    runs (jobs(hidden)'s with tma), with the tile's squares under its wgmma (squares_under_wgmma); and
    TileLangDecodeTmaSquares' decode tensor-core GEMM on TMA (17-32 tokens: its 2 K tiles a CTA, PDL early or not,
    and with fn3 staged before the wait for a probe that sets wgmma_fn_before_wait); each of those but the fn_tiles
    ones with fn3's live rows alone (TileLangFn3LiveRows, TileLangLiveFrom129); TileLangOpPlainWide's window GEMM
    (256-column tiles, three stages, both) and TileLangOpMidWide's middle GEMM (256-column tiles, two or three
    stages, both, PDL early or not)."""
    from mhc_kernels.tilelang.backend import WIDE_K_TILES
    from mhc_kernels.tilelang.decode import DECODE_BLOCK_K, decode_parts
    from mhc_kernels.tilelang.gemm import SMALL_T_BLOCK_M

    out = [(label[:-1] + ",squares_under_wgmma]", getter, args, {**kwargs, "squares_under_wgmma": True})
           for label, getter, args, kwargs in jobs(hidden)
           if getter == "gemm.prenorm_gemm_kernel" and kwargs.get("tma") and not kwargs.get("fn_tiles")]
    tiles = N * hidden // DECODE_BLOCK_K // decode_parts(N, hidden)
    for early in (False, True):
        for fn_tiles in (0, tiles):
            out.append((f"prenorm_gemm[H={hidden},M={MIXES},block_m={SMALL_T_BLOCK_M},decode_tma"
                        f"{',early' if early else ''}{f',fn_tiles={fn_tiles}' if fn_tiles else ''},squares_under_wgmma]",
                        "gemm.prenorm_gemm_kernel", (N, hidden, MIXES, SMALL_T_BLOCK_M),
                        {**WIDE_K_TILES[SMALL_T_BLOCK_M], "tma": True, "squares_under_wgmma": True,
                         **({"early_trigger": True} if early else {}), **({"fn_tiles": fn_tiles} if fn_tiles else {})}))
    live = [(label[:-1] + ",live_rows]", getter, args, {**kwargs, "live_rows": 3 * args[2]})
            for label, getter, args, kwargs in out if not kwargs.get("fn_tiles")]
    wide = [(label[:-1] + ",block_k=256,stages=3,squares_under_wgmma,live_rows]", getter, args,
             {**kwargs, "block_k": 256, "num_stages": 3, "squares_under_wgmma": True, "live_rows": 3 * args[2]})
            for label, getter, args, kwargs in _op_plain_tma_jobs(hidden, (SMALL_T_BLOCK_M,), 3)]
    mid_wide = [(f"prenorm_gemm[H={hidden},M={MIXES},block_m={SMALL_T_BLOCK_M},mid_wide,stages={stages}"
                 f"{',early' if early else ''},squares_under_wgmma,live_rows]", "gemm.prenorm_gemm_kernel",
                 (N, hidden, MIXES, SMALL_T_BLOCK_M),
                 {**WIDE_K_TILES[SMALL_T_BLOCK_M], "num_stages": stages, "block_k": 256, "tma": True,
                  "squares_under_wgmma": True, "live_rows": 3 * MIXES, **({"early_trigger": True} if early else {})})
                for stages in (2, 3) for early in (False, True)]
    return out + live + wide + mid_wide


def op_cluster_jobs(hidden: int, n_splits: int = 16, dsmem: bool = False, counter: bool = False,
                    counter_fence: str = "none") -> list[Job]:
    """The prenorm_gemm op's cluster-summed GEMMs (mid_probes.TileLangGemmOpCluster and
    TileLangGemmOpCluster128; with ``dsmem``, TileLangOpChunksDsmem's; with ``counter``, the chunks summed by the last
    one on a counter instead, TileLangOpChunksOnCounter's, ``counter_fence`` its fences) at the benchmark's S (16 up to 1024
    tokens): every cluster size a split can take, c = 2 .. MAX_CLUSTER_CHUNKS where S * c K ranges of >=
    MIN_TILES_PER_PART 128-wide tiles divide K (whichever the SM count makes wave_cost_parts pick), at both
    token blocks, with the early trigger (the op's PDL early covers its middle path)."""
    from mhc_kernels.tilelang.backend import WIDE_K_TILES
    from mhc_kernels.tilelang.decode import DECODE_BLOCK_K, MIN_TILES_PER_PART
    from mhc_kernels.tilelang.decode_backend import MAX_CLUSTER_CHUNKS, allowed_ranges
    from mhc_kernels.tilelang.gemm import LARGE_T_BLOCK_M, SMALL_T_BLOCK_M

    chunk_counts = [p // n_splits for p in allowed_ranges(N * hidden // DECODE_BLOCK_K, MIN_TILES_PER_PART, n_splits)
                    if 2 <= p // n_splits <= MAX_CLUSTER_CHUNKS]
    out: list[Job] = []
    for block_m in (SMALL_T_BLOCK_M, LARGE_T_BLOCK_M):
        tun = dict(WIDE_K_TILES[block_m])
        if counter:
            fence = {"counter_fence": counter_fence} if counter_fence != "none" else {}
            out += [(f"prenorm_gemm[H={hidden},M={MIXES},block_m={block_m},{tun},early,counter={c}"
                     + (f",fence={counter_fence}]" if fence else "]"), "gemm.prenorm_gemm_kernel",
                     (N, hidden, MIXES, block_m), {**tun, "early_trigger": True, "counter_chunks": c, **fence})
                    for c in chunk_counts]
            continue
        out += [(f"prenorm_gemm[H={hidden},M={MIXES},block_m={block_m},{tun},early,cluster={c}"
                 + (",dsmem]" if dsmem else "]"), "gemm.prenorm_gemm_kernel", (N, hidden, MIXES, block_m),
                 {**tun, "early_trigger": True, "cluster_chunks": c, **({"cluster_dsmem": True} if dsmem else {})})
                for c in chunk_counts]
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m mhc_kernels.tilelang.precompile --hidden 7168,4096``: fill the disk cache for this
    machine's GPU (or ``--arch sm_90a`` without one), printing the statistics."""
    import argparse
    import json

    from mhc_kernels.tilelang._build import device_target, explicit_target

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--hidden", default="7168,4096", help="comma-separated hidden sizes")
    p.add_argument("--arch", default=None, help="a CUDA arch (e.g. sm_90a) instead of this machine's GPU")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--probes", action="store_true", help="also the kernels only the probes run (probe_jobs)")
    p.add_argument("--probes-matching", action="append", default=[], metavar="TEXT",
                   help="only the probe jobs whose label contains TEXT (repeatable; implies --probes for those)")
    args = p.parse_args(argv)
    target = explicit_target("cuda", args.arch) if args.arch else device_target()
    result = precompile([int(h) for h in args.hidden.split(",")], target, args.workers, args.probes,
                        tuple(args.probes_matching))
    print(json.dumps(result, indent=1))
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
