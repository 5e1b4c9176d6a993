"""The ``tilelang`` backend: our own TileLang mHC kernels (CUDA, and ROCm through TileLang's HIP target).

What runs, per op (also in ``provenance()``):
  prenorm_gemm    gemm.py     split_fn (fn -> stacked bf16 hi/mid/lo, one small launch) then the
                              split-K partials: one bf16 tensor-core GEMM over the stacked pieces
                              (bf16x3), block_m 64 (< 1024 tokens) or 128 (>= 1024 tokens), K tiles
                              of 128 (64 where a split's K range is not a multiple of 128); where
                              a split's K range is cut over several CTAs (few tokens and splits),
                              chunk_sum (gemm.py) adds them back: one more launch
  pre_big_fuse    pre.py      mixes + Sinkhorn + layer_input (+ RMSNorm with norm_weight), one kernel
  mhc_pre         gemm.py then pre.py (two launches, chained by PDL where supported)
  layer_input     collapse.py (given weights)
  hc_post         post.py
  hc_head         gemm.py (M = n, one split) then collapse.py (head weights computed in-kernel)
  fused_post_pre  post.py, gemm.py, pre.py: three launches; the pre reads the bf16 residual the post
                  wrote, as the engines' fused kernels do
mixes and sinkhorn alone are not separate kernels here (they only exist fused inside pre.py).
Zero tokens return empty outputs without a launch.
"""

from __future__ import annotations

import platform
import weakref
from dataclasses import dataclass
from typing import Any

import torch

from mhc_kernels.base import Backend, Constraints, Precision
from mhc_reference.contract import hc_mult_from_mix_count

_GPU = ("cuda",)
_HIDDEN_MULTIPLE = 64
_GEMM_SPLIT_MULTIPLE = 64  # gemm.BLOCK_K: one split's K range is whole K tiles
_FUSED = Constraints(hc_mult=(4,), hidden_multiple_of=_HIDDEN_MULTIPLE, devices=_GPU, strided_inputs=False)
_WITH_GEMM = Constraints(hc_mult=(4,), hidden_multiple_of=_HIDDEN_MULTIPLE, devices=_GPU,
                         split_multiple_of=_GEMM_SPLIT_MULTIPLE, strided_inputs=False)
_SM_COUNT: dict[str, int] = {}
MIN_TILES_PER_CHUNK = 8  # 64-wide K tiles: 512 columns of K per CTA at least
# 128-wide K tiles: >= 16 per CTA (2048 columns). On an H100 at 4096 x 7168 the GEMM launch alone
# reached 88.7 % of the copy bandwidth with 16 against 83.5 % with 8 (fewer CTAs, each a longer
# pipeline: fill and drain are serial per CTA); at 65 536 tokens the same (97.8 / 97.5 %).
WIDE_MIN_TILES_PER_CHUNK = 16
WAVES = 4  # aim for at least this many CTAs per SM

# The default GEMM tunables per block_m (TileLangBackend.gemm_tunables): 128-wide K tiles.
WIDE_K_TILES = {64: {"block_k": 128, "num_stages": 2, "threads": 128},
                128: {"block_k": 128, "num_stages": 2, "threads": 256}}
# The prenorm_gemm op's (TileLangBackend.op_gemm_tunables): at block_m 128 a 3-stage pipeline, whose
# x and fn3 tiles (156 KiB of shared memory, 104 with 2 stages) leave one CTA per SM. The op's
# schedule already aims at one CTA per SM up to 4096 tokens, so each CTA keeps one more K tile in
# flight; at 80 000 tokens its 625 CTAs become 4.7 waves of one instead of 2.4 of two, a smaller
# tail. On an H100 (results/gpu/2026-11-26-h100-session5): 93.4 -> 98.1 % of copy at 80 000 x 4096,
# 95.6 -> 98.4 % at 80 000 x 7168, 81.7 -> 88.5 % at 4096 x 7168 with S = 1, 89.9 -> 87.7 % at
# 4096 x 4096, the other grid points within 1 %. The same K tile, threads and k16 order: the same
# bits (tests/test_tilelang_gpu_bits.py).
OP_K_TILES = {64: WIDE_K_TILES[64], 128: {"block_k": 128, "num_stages": 3, "threads": 256}}

# fp32 elementwise: rsqrtf, expf and 1/(1+expf(-z)) compiled without fast math (<= 2 ulp each,
# sigmoid <= 4 with its division); the GEMM's products are exact (bf16x3 of an fp32 fn).
_PRECISION = Precision(matmul="bf16x3", accumulate="fp32", elementwise_ulps=4.0, deterministic=True)


@dataclass(frozen=True)
class GemmSchedule:
    """One prenorm GEMM call's configuration (TileLangBackend.gemm_schedule)."""

    block_m: int
    tunables: dict[str, int]  # build_prenorm_gemm keywords; empty: the kernel's defaults
    chunks: int  # CTAs per caller's K range (sub-partials)

    @property
    def block_k(self) -> int:
        """The K tile: the tunables', else the kernel's default."""
        from mhc_kernels.tilelang.gemm import BLOCK_K

        return self.tunables.get("block_k", BLOCK_K)


class TileLangBackend(Backend):
    name = "tilelang-base"
    description = "mhc-verify's own TileLang mHC kernels without the decode and middle paths (kernels/tilelang)"
    device_type = "cuda"
    default_precision = _PRECISION
    default_constraints = _FUSED
    constraints = {"prenorm_gemm": _WITH_GEMM, "mhc_pre": _WITH_GEMM, "fused_post_pre": _WITH_GEMM,
                   "hc_head": Constraints(hc_mult=(4,), hidden_multiple_of=_HIDDEN_MULTIPLE, devices=_GPU,
                                          strided_inputs=False),
                   # the contract lets engines pass strided streams here: we take a contiguous copy
                   "layer_input": Constraints(hc_mult=(4,), hidden_multiple_of=_HIDDEN_MULTIPLE, devices=_GPU)}

    # The prenorm GEMM's configuration: build_prenorm_gemm keyword tunables per block_m (empty: the
    # kernel's defaults, 64-wide K tiles), used where a split's K range is a whole number of their K
    # tiles (else the kernel's defaults), and the shortest K sub-range per CTA, in K tiles (see
    # _chunks_per_split). 128-wide K tiles: 95 % of the H100's copy bandwidth at 65 536 x 7168
    # against 90 % with 64 (results/gpu/2026-11-25-h100x2-gemm-v2), mixes bitwise the same.
    gemm_tunables: dict[int, dict[str, int]] = WIDE_K_TILES
    # ... and those of the prenorm_gemm op (``reduce``: its partials summed back), see OP_K_TILES;
    # the fused pre's GEMM keeps gemm_tunables (3 stages made it slower at 4096 tokens: 92.6 against
    # 88.2 us at 4096 x 7168, where it runs two CTAs per SM).
    op_gemm_tunables: dict[int, dict[str, int]] = OP_K_TILES
    min_tiles_per_chunk = WIDE_MIN_TILES_PER_CHUNK  # in the configuration's K tiles
    # mhc_pre's GEMM (and fused_post_pre's) on the prenorm_gemm op's schedule from this many tokens: op_gemm_tunables
    # and the op's chunks (up to one CTA per SM), its sub-partials still handed on unsummed; None: gemm_tunables and
    # >= WAVES CTAs per SM. A probe (mid_probes.TileLangPreOpSchedule): in -25's committed run mhc_pre took 13-45 us
    # more than the op plus pre_big_fuse at 65 536 and 80 000 tokens, its GEMM ~2.5 % slower than the op's.
    pre_gemm_op_schedule_from: int | None = None
    # fn is a weight: engines call the GEMM with the same fn tensor every step. Its bf16 split (fn3)
    # is kept per fn tensor while that tensor lives and is not modified (torch's version counter),
    # so the split launch (~10 us, 11 % of the call at 4096 tokens) is paid once per weight. A kernel
    # that wrote fn through a raw pointer would not bump the version: nothing in an engine does.
    cache_split_fn = True
    # The chunk sub-partials of the prenorm_gemm op are summed by our chunk_sum kernel with each thread's loads
    # ahead of its stores ("kernel_loads_first", gemm.build_chunk_sum's loads_first), by it with each output's loads
    # behind the previous output's store ("kernel", the default until the twenty-sixth session, 2026-12-07;
    # mid_probes.TileLangChunkSumSerial) or by two torch sums ("torch", the default until 2026-11-25, fourth
    # session). Loads first: the same adds in the same order (the same bits), 0.87-0.97 x the op's time at 1-256
    # tokens on an H100 (results/gpu/2026-12-07-h100-engines-23: gated there as mid_probes.TileLangChunkSumLoadsFirst).
    reduce_chunks_with = "kernel_loads_first"
    # The op's chunks (summed back) only up to one CTA per SM (_chunks_per_split); False: as many as
    # for the fused pre (>= WAVES CTAs per SM), the rule until 2026-11-25 (fourth session).
    one_wave_when_reducing = True
    # The prenorm GEMM compiled with TMA lowering and TileLang's warp-specialised pipeline (_build.
    # pass_configs(tma=True): a producer warpgroup issues each tile's loads as two TMA copies, the
    # consumer warpgroups wait on mbarriers) where the target is CUDA and x's address is 16-byte aligned
    # (TMA's rule; elsewhere the cp.async kernel). Off (a probe, mid_probes.TileLangGemmTma): the same
    # wgmma k16 order and the same sum of squares, so the same bits, but one CTA per SM: it launches
    # 256 threads at 240 registers each for 64 tokens (384 at 168 for 128; setmaxnreg then gives the
    # producer warpgroup 24), where the cp.async kernel's 128 threads at 114 (sm_90a, H = 7168) leave
    # three CTAs per SM by its 72 KiB of shared memory. For mhc_pre at 64-512 x 4096 (our GEMM ~1 us
    # behind DeepGEMM's TMA kernel at the same partition, tenth session's profile) and the op's copy
    # ratio at 4096 x 4096.
    gemm_tma = False
    # Every TMA GEMM call takes fn itself, fp32, and splits each K tile into its bf16 pieces in the kernel
    # (gemm.build_prenorm_gemm's split_in_kernel: split_fn's formulas, the same bits) instead of reading
    # fn's cached split: 12 KB of fn per 128-column tile instead of fn3's 20 (M = 24). Only on the TMA
    # kernel: on cp.async TileLang 0.1.15 pipelined the split behind a wait for every copy in flight.
    # Off: a probe (mid_probes.TileLangSplitInKernel), bitwise but 3-6 x slower on an H100
    # (results/gpu/2026-12-06-h100-engines-17): rejected.
    tma_split_in_kernel = False
    # Every TMA GEMM call (but split_in_kernel's) issues each K tile's wgmma batch before the
    # tile's sum of squares and waits for it after (gemm.build_prenorm_gemm's squares_under_wgmma), instead of
    # the squares, then the batch and its wait: the CUDA cores square the x tile while the tensor cores multiply
    # it. The same instructions on the same tiles in the same order: the same bits. A probe
    # (mid_probes.TileLangSquaresUnderWgmma): bitwise and gated on an H100, 0.93-1.01 x the default's time
    # (results/gpu/2026-12-06-h100-engines-21): off.
    tma_squares_under_wgmma = False
    # Every TMA GEMM call with fn's cached split (not fn_tiles', not split_in_kernel's) passes fn3's 3M live rows
    # alone and lets TMA zero-fill the wgmma's padding rows (gemm.build_prenorm_gemm's live_rows): 72 of fn3's 80
    # rows read for M = 24. The same zeros: the same bits. A probe (mid_probes.TileLangFn3LiveRows): bitwise on an
    # H100, 0.96-1.02 x the default's time (results/gpu/2026-12-06-h100-engines-21, call 2): off.
    tma_fn3_live_rows = False

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self._dummy_weight: dict[tuple, torch.Tensor] = {}
        self._fn3: dict[int, tuple] = {}  # id(fn) -> (weakref(fn), version, fn3), while fn lives
        self._counters: dict[tuple, torch.Tensor] = {}  # (device, stream) -> chunk counters (op_chunks_on_counter)
        self.known_issues = {}

    # -- availability and provenance ------------------------------------------------------------
    def available(self) -> tuple[bool, str]:
        try:
            import tilelang
        except Exception as e:  # noqa: BLE001 - the import error is the reason
            return False, f"cannot import tilelang: {type(e).__name__}: {e}"
        if not torch.cuda.is_available():
            return False, "no CUDA or ROCm device (our TileLang kernels compile without one, but run on one)"
        from mhc_kernels.tilelang._build import TILELANG_VERSION_VALIDATED, device_target

        version = getattr(tilelang, "__version__", "unknown")
        if version != TILELANG_VERSION_VALIDATED:
            self.known_issues = {"tilelang": f"tilelang {version} is not the validated "
                                             f"{TILELANG_VERSION_VALIDATED}"}
        target = device_target()
        return True, (f"tilelang {version} for {target.kind} {target.arch} on {torch.cuda.get_device_name()}"
                      f" (PDL {'on' if target.pdl else 'off'})")

    def provenance(self) -> dict[str, Any]:
        prov = {"backend": self.name, "torch": torch.__version__, "python": platform.python_version(),
                "module": type(self).__module__, "class": type(self).__qualname__, "calls": dict(self.calls),
                "gemm_tunables": self.gemm_tunables or "kernel defaults",
                "op_gemm_tunables": self.op_gemm_tunables or "kernel defaults",
                "min_tiles_per_chunk": self.min_tiles_per_chunk, "cache_split_fn": self.cache_split_fn,
                "reduce_chunks_with": self.reduce_chunks_with,
                "one_wave_when_reducing": self.one_wave_when_reducing,
                **({"gemm_tma": True} if self.gemm_tma else {}),
                **({"tma_split_in_kernel": True} if self.tma_split_in_kernel else {}),
                **({"tma_squares_under_wgmma": True} if self.tma_squares_under_wgmma else {}),
                **({"tma_fn3_live_rows": True} if self.tma_fn3_live_rows else {}),
                **({"pre_gemm_op_schedule_from": self.pre_gemm_op_schedule_from}
                   if self.pre_gemm_op_schedule_from is not None else {})}
        try:
            import tilelang

            from mhc_kernels.tilelang._build import STATS, TILELANG_VERSION_VALIDATED, device_target

            target = device_target()
            prov.update({"tilelang": getattr(tilelang, "__version__", "unknown"),
                         "tilelang_validated": TILELANG_VERSION_VALIDATED, "target": f"{target.kind} {target.arch}",
                         "pdl": target.pdl, "device": torch.cuda.get_device_name(), **STATS.as_dict()})
        except Exception as e:  # noqa: BLE001
            prov["error"] = f"{type(e).__name__}: {e}"
        return prov

    def stress_variants(self, op: str) -> dict[str, "Backend"]:
        """The GEMM ops again with few long K sub-ranges per CTA and with 64-wide K tiles: another
        grid, other CTA timings, the same function (other partial-sum roundings). The prenorm_gemm op
        also with the fused pre's 2-stage tunables: two CTAs per SM instead of one, the same bits."""
        if op not in ("prenorm_gemm", "mhc_pre", "fused_post_pre", "hc_head"):
            return {}
        long_chunks = type(self)()  # also splits fn on every call
        long_chunks.min_tiles_per_chunk = 64
        long_chunks.cache_split_fn = False
        variants: dict[str, Backend] = {"long-chunks": long_chunks, "bk64": TileLangNarrowTiles()}
        if op == "prenorm_gemm" and self.op_gemm_tunables != self.gemm_tunables:
            two_per_sm = type(self)()
            two_per_sm.op_gemm_tunables = self.gemm_tunables
            variants["two-ctas-per-sm"] = two_per_sm
        return variants

    # -- plumbing ---------------------------------------------------------------------------------
    def _count(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    @staticmethod
    def _target():
        from mhc_kernels.tilelang._build import device_target

        return device_target()

    def _no_norm_weight(self, hidden: int, device: torch.device) -> torch.Tensor:
        key = (hidden, str(device))
        if key not in self._dummy_weight:  # never read: the kernel without norm ignores it
            self._dummy_weight[key] = torch.ones(hidden, dtype=torch.bfloat16, device=device)
        return self._dummy_weight[key]

    def gemm_schedule(self, tokens: int, n: int, hidden: int, n_splits: int, reduce: bool,
                      device: torch.device) -> GemmSchedule:
        """How the prenorm GEMM runs: block_m, the kernel tunables, and ``chunks``: each of the caller's
        n_splits K ranges is cut into that many sub-ranges, one CTA each, so that every SM gets several
        CTAs whatever T is (at T = 65 536 one CTA per 128 tokens alone is 1.3 waves on 132 SMs).
        ``reduce``: the caller wants n_splits partials back (the prenorm_gemm op), so chunks > 1 cost
        a reduction launch and are cut only up to one CTA per SM, and the kernel runs on
        op_gemm_tunables; without it (the fused pre) the sub-partials are handed on as they are and
        the kernel runs on gemm_tunables."""
        from mhc_kernels.tilelang.gemm import block_m_for

        block_m = block_m_for(tokens)
        tunables = self.op_gemm_tunables if reduce else self.gemm_tunables
        plan = GemmSchedule(block_m, dict(tunables.get(block_m, {})), 1)
        if (n * hidden // n_splits) % plan.block_k:
            plan = GemmSchedule(block_m, {}, 1)  # the split's K range is not whole wide tiles: 64-wide ones
        min_tiles = self.min_tiles_per_chunk if plan.tunables else MIN_TILES_PER_CHUNK
        chunks = _chunks_per_split(tokens, block_m, n * hidden // plan.block_k, n_splits, device, min_tiles,
                                   reducing=reduce and self.one_wave_when_reducing)
        return GemmSchedule(block_m, plan.tunables, chunks)

    def _gemm(self, x: torch.Tensor, fn: torch.Tensor, n: int, hidden: int, n_splits: int, reduce: bool = True,
              early_trigger: bool = False, tma: bool | None = None):
        """The prenorm GEMM's partials, on ``gemm_schedule``. With ``reduce`` the chunk sub-partials
        are summed back to n_splits partials (``_reduce_chunks``, ascending chunk order: deterministic);
        without it the caller gets all n_splits * chunks partials (the fused pre sums them anyway).
        ``early_trigger``, ``tma``: _launch_gemm's."""
        t, m = x.shape[0], fn.shape[0]
        as_op = reduce or (self.pre_gemm_op_schedule_from is not None and t >= self.pre_gemm_op_schedule_from)
        plan = self.gemm_schedule(t, n, hidden, n_splits, as_op, x.device)
        parts = n_splits * plan.chunks
        mixes = self._gemm_output((parts, t, m), x.device)
        sqrsum = self._gemm_output((parts, t), x.device)
        if t:
            self._launch_gemm(x, fn, mixes, sqrsum, n, hidden, plan, early_trigger, tma)
        if reduce and plan.chunks > 1:
            mixes, sqrsum = self._reduce_chunks(mixes.view(n_splits, plan.chunks, t, m),
                                                sqrsum.view(n_splits, plan.chunks, t))
        return mixes, sqrsum

    def _gemm_output(self, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
        """A partials buffer: every element is written by the GEMM, so it starts uninitialised."""
        return torch.empty(shape, dtype=torch.float32, device=device)

    def _drops_pdl(self, target) -> bool:
        """Whether ``target`` (TileLangDecode._op_target's) leaves out the PDL the device's target has:
        the call's label says so."""
        return target is not None and not target.pdl and self._target().pdl

    def _launch_gemm(self, x, fn, mixes: torch.Tensor, sqrsum: torch.Tensor, n: int, hidden: int,
                     plan: GemmSchedule, early_trigger: bool = False, tma: bool | None = None,
                     target=None, fn_tiles: int = 0) -> None:
        """``early_trigger``: gemm.build_prenorm_gemm's (TileLangDecode.pdl_early_max_tokens). ``tma``:
        the TMA kernel wanted for this call (TileLangDecode.op_gemm_tma_from_tokens), None: gemm_tma's
        rule; either way only where _tma allows it. ``target``: the GEMM's (TileLangDecode.no_pdl_tokens
        gives one without PDL; None: the device's); fn's split, where it runs, keeps the device's.
        ``fn_tiles``: build_prenorm_gemm's (fn3 staged before the wait; TileLangDecode.wgmma_fn_before_wait),
        dropped where this call launched fn's split: fn3 is then the kernel just before's output."""
        from mhc_kernels.tilelang._build import changed
        from mhc_kernels.tilelang.gemm import prenorm_gemm

        tma = self._tma(x, tma)
        in_kernel = tma and self._splits_in_kernel(fn)
        if in_kernel:
            fn3, fn_tiles = None, 0
        else:
            fn3, split_here = self._split_fn_launched(fn)
            fn_tiles = 0 if split_here else fn_tiles
        under = tma and self.tma_squares_under_wgmma and not in_kernel
        live = 3 * fn.shape[0] if tma and self.tma_fn3_live_rows and not in_kernel and not fn_tiles else 0
        self._count(f"prenorm_gemm[block_m={plan.block_m},block_k={plan.block_k},chunks={plan.chunks}"
                    + (",early_trigger" if early_trigger else "") + (",tma" if tma else "")
                    + (",split_in_kernel" if in_kernel else "") + (",squares_under_wgmma" if under else "")
                    + (",live_rows" if live else "")
                    + (",fn_before_wait" if fn_tiles else "") + (",no_pdl]" if self._drops_pdl(target) else "]"))
        prenorm_gemm(x, fn, mixes, sqrsum, n, hidden, plan.block_m, target or self._target(), fn3=fn3,
                     **plan.tunables, **changed(early_trigger=(early_trigger, False), tma=(tma, False),
                                                fn_tiles=(fn_tiles, 0), split_in_kernel=(in_kernel, False),
                                                squares_under_wgmma=(under, False), live_rows=(live, 0)))

    def _splits_in_kernel(self, fn: torch.Tensor) -> bool:
        """Whether a TMA GEMM call splits fn in the kernel (tma_split_in_kernel): where _fn_tma_loadable, else fn's
        cached split as before."""
        return self.tma_split_in_kernel and self._fn_tma_loadable(fn)

    @staticmethod
    def _fn_tma_loadable(fn: torch.Tensor) -> bool:
        """Whether a kernel can load fp32 fn itself by TMA: contiguous fp32 at a 16-byte-aligned address (TMA's rule)."""
        return fn.dtype == torch.float32 and fn.is_contiguous() and fn.data_ptr() % 16 == 0

    def _pre_tma(self, tokens: int) -> bool | None:
        """Whether mhc_pre's GEMM at ``tokens`` wants the TMA kernel; None: gemm_tma's rule (a subclass
        sets its own: TileLangDecode.pre_gemm_tma_from_tokens)."""
        return None

    def _tma(self, x: torch.Tensor, wanted: bool | None = None) -> bool:
        """Whether this GEMM call runs the TMA kernel: ``wanted`` (gemm_tma where None), on CUDA and for
        a 16-byte-aligned x only (TMA's rule)."""
        wanted = self.gemm_tma if wanted is None else wanted
        return wanted and self._target().kind == "cuda" and x.data_ptr() % 16 == 0

    def _reduce_chunks(self, mixes_parts: torch.Tensor, sqrsum_parts: torch.Tensor, early_trigger: bool = False):
        """[S, chunks, T, M], [S, chunks, T] -> [S, T, M], [S, T]: our chunk_sum kernel (one launch for
        both, PDL-chained; ``early_trigger``: build_chunk_sum's) or, with ``reduce_chunks_with = "torch"``, two
        torch sums."""
        if self.reduce_chunks_with == "torch":
            return mixes_parts.sum(1), sqrsum_parts.sum(1)
        if self.reduce_chunks_with not in ("kernel", "kernel_loads_first"):
            raise ValueError(f"{type(self).__name__}.reduce_chunks_with must be 'kernel', 'kernel_loads_first' or "
                             f"'torch', got {self.reduce_chunks_with!r}")
        loads_first = self.reduce_chunks_with == "kernel_loads_first"
        from mhc_kernels.tilelang._build import changed
        from mhc_kernels.tilelang.gemm import chunk_sum_kernel

        s, chunks, t, m = mixes_parts.shape
        mixes = torch.empty(s, t, m, dtype=torch.float32, device=mixes_parts.device)
        sqrsum = torch.empty(s, t, dtype=torch.float32, device=mixes_parts.device)
        if t:
            self._count(f"chunk_sum[chunks={chunks}" + (",loads_first" if loads_first else "")
                        + (",early_trigger]" if early_trigger else "]"))
            chunk_sum_kernel(m, chunks, self._target(), **changed(loads_first=(loads_first, False),
                                                                  early_trigger=(early_trigger, False)))(
                mixes_parts, sqrsum_parts, mixes, sqrsum)
        return mixes, sqrsum

    def _split_fn(self, fn: torch.Tensor) -> torch.Tensor:
        """fn's bf16 hi/mid/lo split: from the cache while the same fn tensor is unmodified."""
        return self._split_fn_launched(fn)[0]

    def _split_fn_launched(self, fn: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """_split_fn's fn3, and whether this call launched the split (a kernel reading fn3 before its PDL
        wait must not run right behind it)."""
        from mhc_kernels.tilelang.gemm import split_fn

        version = _version_of(fn) if self.cache_split_fn else None
        if version is None:
            return split_fn(fn, self._target()), True
        key = id(fn)
        hit = self._fn3.get(key)
        if hit is not None and hit[0]() is fn and hit[1] == version:
            return hit[2], False
        fn3 = split_fn(fn, self._target())
        self._count("split_fn")
        if hit is None or hit[0]() is not fn:  # the entry goes when fn goes, never before: a CUDA
            weakref.finalize(fn, self._fn3.pop, key, None)  # graph may hold fn3's address
        self._fn3[key] = (weakref.ref(fn), version, fn3)
        return fn3, True

    # -- ops --------------------------------------------------------------------------------------
    def prenorm_gemm(self, x, fn, n_splits):
        n = hc_mult_from_mix_count(fn.shape[0])
        return self._gemm(x, fn, n, x.shape[1] // n, n_splits)

    def pre_big_fuse(self, mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, norm_weight, rms_eps,
                     hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps):
        t, n, h = residual.shape
        post = torch.empty(t, n, dtype=torch.float32, device=residual.device)
        comb = torch.empty(t, n, n, dtype=torch.float32, device=residual.device)
        layer_input = torch.empty(t, h, dtype=torch.bfloat16, device=residual.device)
        if t:
            with_norm = norm_weight is not None
            weight = norm_weight if with_norm else self._no_norm_weight(h, residual.device)
            self._pre_big_fuse_kernel(n, h, with_norm)(
                mixes_partial, sqrsum_partial, hc_scale, hc_base, residual, weight, post, comb, layer_input,
                float(rms_eps), float(hc_pre_eps), float(hc_sinkhorn_eps), float(hc_post_mult_value),
                int(sinkhorn_repeat), float(norm_eps))
        return post.unsqueeze(-1), comb, layer_input

    def _pre_big_fuse_kernel(self, n: int, hidden: int, with_norm: bool):
        """The compiled fused-pre kernel pre_big_fuse launches (counted): pre.py's; a variant
        backend (pre_overlap_backend) swaps the kernel, not the op around it."""
        from mhc_kernels.tilelang.pre import pre_big_fuse_kernel

        self._count(f"pre_big_fuse[norm={with_norm}]")
        return pre_big_fuse_kernel(n, hidden, with_norm, self._target())

    def mhc_pre(self, residual, fn, hc_scale, hc_base, norm_weight, rms_eps, hc_pre_eps, hc_sinkhorn_eps,
                hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        t, n, h = residual.shape
        mixes, sqrsum = self._gemm(residual.view(t, n * h), fn, n, h, n_splits, reduce=False, tma=self._pre_tma(t))
        return self.pre_big_fuse(mixes, sqrsum, hc_scale, hc_base, residual, norm_weight, rms_eps, hc_pre_eps,
                                 hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps)

    def layer_input(self, residual, pre):
        from mhc_kernels.tilelang.collapse import collapse_kernel

        t, n, h = residual.shape
        out = torch.empty(t, h, dtype=torch.bfloat16, device=residual.device)
        if t:
            self._count("collapse[given]")
            unused = torch.empty(1, t, dtype=torch.float32, device=residual.device)
            scale = torch.ones(1, dtype=torch.float32, device=residual.device)
            base = torch.zeros(n, dtype=torch.float32, device=residual.device)
            collapse_kernel(n, h, False, self._target())(pre.contiguous().unsqueeze(0), unused, scale, base,
                                                         residual.contiguous(), out, 0.0, 0.0)
        return out

    def hc_post(self, x, residual, post_mix, comb_mix):
        from mhc_kernels.tilelang.post import hc_post_kernel

        t, n, h = residual.shape
        out = torch.empty_like(residual)
        if t:
            self._count("hc_post")
            hc_post_kernel(n, h, self._target())(x, residual, post_mix.view(t, n), comb_mix, out)
        return out

    def hc_head(self, residual, fn, hc_scale, hc_base, rms_eps, hc_eps):
        from mhc_kernels.tilelang.collapse import collapse_kernel

        t, n, h = residual.shape
        out = torch.empty(t, h, dtype=torch.bfloat16, device=residual.device)
        if t:
            mixes, sqrsum = self._gemm(residual.view(t, n * h), fn, n, h, 1, reduce=False)
            self._count("collapse[head]")
            collapse_kernel(n, h, True, self._target())(mixes, sqrsum, hc_scale, hc_base, residual, out,
                                                        float(rms_eps), float(hc_eps))
        return out

    def fused_post_pre(self, x, residual, post_mix, comb_mix, fn, hc_scale, hc_base, norm_weight, rms_eps,
                       hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        new_residual = self.hc_post(x, residual, post_mix, comb_mix)
        post, comb, layer_input = self.mhc_pre(new_residual, fn, hc_scale, hc_base, norm_weight, rms_eps,
                                               hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat,
                                               norm_eps, n_splits)
        return new_residual, post, comb, layer_input


class TileLangNarrowTiles(TileLangBackend):
    """The same kernels with the prenorm GEMM's 64-wide K tiles everywhere (4 stages, 128 threads,
    >= 8 per CTA), fn split on every call, and the op's chunks cut as for the fused pre and summed by
    torch: the default until 2026-11-25 and a stress variant of the default (other grid, other
    timings, another reduction). Load it as
    ``--backend mhc_kernels.tilelang.backend:TileLangNarrowTiles``."""

    name = "tilelang-bk64"
    description = "our TileLang kernels, prenorm GEMM with 64-wide K tiles"
    gemm_tunables: dict[int, dict[str, int]] = {}
    op_gemm_tunables: dict[int, dict[str, int]] = {}
    min_tiles_per_chunk = MIN_TILES_PER_CHUNK
    cache_split_fn = False
    reduce_chunks_with = "torch"
    one_wave_when_reducing = False


def _version_of(fn: torch.Tensor) -> int | None:
    """torch's version counter of fn, None where it has none (inference-mode tensors): not cached."""
    try:
        return fn._version
    except RuntimeError:
        return None


def _sm_count(device: torch.device) -> int:
    """The device's SM count (asked once per device)."""
    key = str(device)
    if key not in _SM_COUNT:
        _SM_COUNT[key] = torch.cuda.get_device_properties(device).multi_processor_count
    return _SM_COUNT[key]


def _chunks_per_split(tokens: int, block_m: int, k_tiles: int, n_splits: int, device: torch.device,
                      min_tiles: int = MIN_TILES_PER_CHUNK, reducing: bool = False) -> int:
    """Sub-ranges per split: a power of two, each a whole number of >= min_tiles K tiles, enough for
    the SMs. Handed on unsummed (``reducing`` False: the fused pre), chunks double while there are
    fewer than WAVES CTAs per SM. Summed back (``reducing``: the prenorm_gemm op), they double only
    while the doubled grid still fits one CTA per SM: the sum is a launch of its own, and on an H200
    at 4096 tokens (S = 4, 128 CTAs of 56 K tiles) one wave of long CTAs beat two waves plus the sum
    (results/gpu/2026-11-25-h100-h200-session4: on an H100 the op went
    from 79.8 % to 92 % of copy at 4096 x 7168)."""
    sms = _sm_count(device)
    blocks = max(1, -(-tokens // block_m))
    tiles = k_tiles // n_splits

    def more(chunks: int) -> bool:
        ctas = blocks * n_splits * chunks
        return 2 * ctas <= sms if reducing else ctas < WAVES * sms

    chunks = 1
    while more(chunks) and tiles % (chunks * 2) == 0 and tiles // (chunks * 2) >= min_tiles:
        chunks *= 2
    return chunks
