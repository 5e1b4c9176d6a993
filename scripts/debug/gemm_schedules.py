"""Which prenorm GEMM *op* schedule to ship? One GPU run (< 2 minutes) times the op as the benchmark
does (``backend.prenorm_gemm``, fn's split cached, back to back) under several schedules, and checks each.

    source scripts/device_env.sh && python scripts/debug/gemm_schedules.py [--quick] [--tokens 4096,65536]
        [--variant NAME:block_k=128,num_stages=3,threads=256 ...] [--only default,NAME] [--pre-gemm]

``--variant`` adds the default schedule with other kernel tunables for block_m 128 (>= 1024 tokens),
for the op and the fused pre's GEMM alike;
``--tokens`` narrows the timed token counts, ``--only a,b`` the schedules (variants are kept); ``--pre-gemm`` also times
the GEMM as the fused pre calls it (reduce=False: its chunks are not summed).

The op returns S split-K partials. Our backend may cut each split's K range into ``chunks`` CTAs to
fill the SMs; the op then sums the chunks back (the fused pre takes them unsummed). Schedules
(TileLangBackend configurations, ``schedules()``):

  old-default      until 2026-11-26: chunks until >= 4 CTAs per SM, two torch sums
  waves-kernel     the same chunks, summed by our chunk_sum kernel (one launch, PDL-chained)
  default          chunks only up to one CTA per SM, chunk_sum kernel, 3-stage pipeline (TileLangBackend)
  op-two-stages    the same with the fused pre's 2-stage pipeline (the default until 2026-11-26)
  no-chunks        never chunks when the op must reduce
  narrow           TileLangNarrowTiles (64-wide K tiles, fn split per call, old chunks, torch sums)

Shapes: T in {1024, 2048, 4096, 8192, 16384, 65536, 80000} x H in {4096, 7168} with S by the
benchmark's rule (mhc_verify.bench.op_splits), and S = 1 at 1024 and 4096 tokens (H = 7168),
where the default still chunks. GB/s over the op's bytes (mhc_verify.bench.op_bytes), next to the
copy bandwidth measured in the same run. Where a schedule chunks: the GEMM launch alone on the same
schedule, and what the sum of the chunks adds to the op (a sum timed alone measures the host's
launch cost, ~15 us, not the GPU's). Run it with nothing else on the host: 14 calibration processes
beside it made kernels that run the same schedule differ by up to 12 % (2026-11-25, H200).

Checks per schedule (failures printed, the run goes on) at (T, H, S) = (4093, 7168, 4),
(4096, 4096, 4), (1023, 7168, 16), (65 537, 4096, 1), (1024, 7168, 1), x with per-token magnitudes:
the error of the S-summed mixes relative to sum |x||fn|, over the suite's own fp32 accumulation
factor for one split (mhc_verify.error_model: LAMBDA * u * sqrt(3 K / S), bf16x3: three products
per term), must be <= 1; the sum of squares likewise relative to sum x^2; three calls bitwise equal.
Printed as information: whether two schedules with the same chunks give the same bits (chunk_sum
and torch's sum both add in chunk order for 2 chunks; 2 and 3 stages run the same K tiles in the
same order).

Last lines: ``RANK`` per schedule, min over H of % of copy at T = 4096, and at T = 65 536.
"""

import sys
import time
import traceback

import torch

from mhc_verify.bench import copy_bandwidth, make_inputs, op_bytes, op_splits, time_call
from mhc_verify.error_model import ACCUMULATE_U, LAMBDA
from mhc_kernels.tilelang.gemm import prenorm_gemm as launch_gemm
from gemm_variants import Reference  # the float64 reference by row blocks (this script's folder is on sys.path)

N = 4
TOKENS = (1024, 2048, 4096, 8192, 16384, 65536, 80000)
HIDDEN = (4096, 7168)
CHECKS = ((4093, 7168, 4), (4096, 4096, 4), (1023, 7168, 16), (65537, 4096, 1), (1024, 7168, 1))
EXTRA_SHAPES = ((1024, 7168, 1), (4096, 7168, 1))  # (T, H, S) where the default chunks


def log(*a):
    print(*a, flush=True)


def schedules():
    from mhc_kernels.tilelang import backend as be

    class OldDefault(be.TileLangBackend):
        reduce_chunks_with = "torch"
        one_wave_when_reducing = False

    class WavesKernel(be.TileLangBackend):
        one_wave_when_reducing = False

    class NoChunks(be.TileLangBackend):
        def gemm_schedule(self, tokens, n, hidden, n_splits, reduce, device):
            plan = super().gemm_schedule(tokens, n, hidden, n_splits, reduce, device)
            return be.GemmSchedule(plan.block_m, plan.tunables, 1) if reduce else plan

    class OpTwoStages(be.TileLangBackend):
        op_gemm_tunables = be.WIDE_K_TILES

    return {"old-default": OldDefault(), "waves-kernel": WavesKernel(), "default": be.TileLangBackend(),
            "op-two-stages": OpTwoStages(), "no-chunks": NoChunks(), "narrow": be.TileLangNarrowTiles()}


def variants(argv):
    """``--variant NAME:k=v,k=v`` -> {NAME: TileLangBackend with those block_m 128 tunables}."""
    from mhc_kernels.tilelang import backend as be
    from mhc_kernels.tilelang.gemm import LARGE_T_BLOCK_M

    out = {}
    for i, arg in enumerate(argv):
        if arg == "--variant":
            name, spec = argv[i + 1].split(":", 1)
            tunables = {k: int(v) for k, v in (kv.split("=") for kv in spec.split(","))}
            variant = be.TileLangBackend()
            variant.gemm_tunables = {**be.TileLangBackend.gemm_tunables, LARGE_T_BLOCK_M: tunables}
            variant.op_gemm_tunables = {**be.TileLangBackend.op_gemm_tunables, LARGE_T_BLOCK_M: tunables}
            out[name] = variant
    return out


def main() -> None:
    global TOKENS
    quick = "--quick" in sys.argv
    if "--tokens" in sys.argv:
        TOKENS = tuple(int(t) for t in sys.argv[sys.argv.index("--tokens") + 1].split(","))
    t0 = time.perf_counter()
    device = torch.device("cuda")
    log(f"device {torch.cuda.get_device_name()}  torch {torch.__version__}")
    copy_gbs = copy_bandwidth(device)
    log(f"copy bandwidth (mhc_verify.bench.copy_bandwidth, read + write): {copy_gbs:.0f} GB/s")
    n_sms = torch.cuda.get_device_properties(device).multi_processor_count
    backends = schedules()
    if "--only" in sys.argv:
        keep = sys.argv[sys.argv.index("--only") + 1].split(",")
        backends = {name: b for name, b in backends.items() if name in keep}
    backends.update(variants(sys.argv))
    if quick:
        backends = dict(list(backends.items())[:3])
    ok = {name: True for name in backends}

    # -- checks ------------------------------------------------------------------------------------
    g = torch.Generator(device="cuda").manual_seed(0)
    for t, h, s in CHECKS:
        k = N * h
        # per-token magnitudes (a row that got a neighbour's sum of squares must show)
        x = (torch.randn(t, k, device="cuda", generator=g)
             * torch.exp(2 * torch.randn(t, 1, device="cuda", generator=g))).to(torch.bfloat16)
        fn = torch.randn(N * N + 2 * N, k, device="cuda", generator=g) * 1e-2
        ref = Reference(x, fn)
        ref_mix, ref_scale, ref_sq = ref.mix, ref.scale, ref.sq
        outs = {}
        for name, be in backends.items():
            try:
                first = [o.clone() for o in be.prenorm_gemm(x, fn, s)]
                same = all(all(torch.equal(a, b) for a, b in zip(first, be.prenorm_gemm(x, fn, s))) for _ in range(2))
                torch.cuda.synchronize()
                mixes, sq = first[0].double().sum(0), first[1].double().sum(0)
                factor = LAMBDA * ACCUMULATE_U["fp32"] * (3 * k / s) ** 0.5
                e_mix = ((mixes - ref_mix).abs() / ref_scale.clamp_min(1e-300)).max().item() / factor
                e_sq = ((sq - ref_sq).abs() / ref_sq.clamp_min(1e-300)).max().item() / factor
                good = e_mix <= 1 and e_sq <= 1 and same and tuple(first[0].shape) == (s, t, fn.shape[0])
                ok[name] &= good
                outs[name] = first
                plan = be.gemm_schedule(t, N, h, s, True, device)
                log(f"check T={t:6d} H={h} S={s:2d} {name:16s} block_m={plan.block_m:3d} chunks={plan.chunks:2d} "
                    f"mixes err/factor {e_mix:.2e} sqrsum err/factor {e_sq:.2e} deterministic {same}  {'ok' if good else 'FAIL'}")
            except Exception as e:  # noqa: BLE001
                ok[name] = False
                log(f"FAILED {name} check T={t} H={h} S={s}: {type(e).__name__}: {e}")
                traceback.print_exc(limit=3)
        if "waves-kernel" in outs and "old-default" in outs:
            eq = all(torch.equal(a, b) for a, b in zip(outs["waves-kernel"], outs["old-default"]))
            log(f"info: T={t} H={h} S={s} chunk_sum bitwise == torch sums (same chunks): {eq}")
        if "default" in outs and "op-two-stages" in outs:
            eq = all(torch.equal(a, b) for a, b in zip(outs["default"], outs["op-two-stages"]))
            log(f"info: T={t} H={h} S={s} 3 stages bitwise == 2 stages: {eq}")
        del x, fn, ref, ref_mix, ref_scale, ref_sq, outs
        torch.cuda.empty_cache()

    # -- timing ------------------------------------------------------------------------------------
    gbs = {}  # (name, T, H, S) -> GB/s
    shapes = [(t, h, op_splits("prenorm_gemm", t, h, n_sms)) for h in HIDDEN for t in TOKENS]
    for t, h, s in shapes + [shape for shape in EXTRA_SHAPES if shape[0] in TOKENS]:
        inputs, _ = make_inputs("prenorm_gemm", t, h, s, device)
        nbytes = op_bytes("prenorm_gemm", inputs, t, h, s)
        x, fn = inputs["x"], inputs["fn"]
        for name, be in backends.items():
            try:
                plan = be.gemm_schedule(t, N, h, s, True, device)
                # best of two timings (each a median of CUDA-event batches): configurations that run
                # the same kernels differed by up to 3 % in one reading on the H200
                us = min(time_call(lambda: be.prenorm_gemm(x, fn, s)) for _ in range(2)) * 1e6
                gbs[(name, t, h, s)] = nbytes / us / 1e3
                extra = ""
                if plan.chunks > 1:  # the op's GEMM launch alone, on the same schedule (fn split cached)
                    parts = s * plan.chunks
                    mp = torch.empty(parts, t, fn.shape[0], device="cuda")
                    sp = torch.empty(parts, t, device="cuda")
                    fn3 = be._split_fn(fn)
                    gemm_us = min(time_call(lambda: launch_gemm(x, fn, mp, sp, N, h, plan.block_m, be._target(),
                                                                fn3=fn3, **plan.tunables)) for _ in range(2)) * 1e6
                    extra = f"  [GEMM launch alone {gemm_us:6.1f} us: the sum adds {us - gemm_us:5.1f} us]"
                    del mp, sp
                if "--pre-gemm" in sys.argv:  # the GEMM as the fused pre calls it (sub-partials unsummed)
                    pre_plan = be.gemm_schedule(t, N, h, s, False, device)
                    pre_us = min(time_call(lambda: be._gemm(x, fn, N, h, s, reduce=False)) for _ in range(2)) * 1e6
                    extra += f"  [unsummed (fused pre's) GEMM, chunks={pre_plan.chunks}: {pre_us:6.1f} us]"
                log(f"T={t:6d} H={h} S={s:2d} {name:16s} block_m={plan.block_m:3d} "
                    f"block_k={plan.block_k:3d} chunks={plan.chunks:2d}: {us:8.1f} us "
                    f"{gbs[(name, t, h, s)]:6.0f} GB/s ({100 * gbs[(name, t, h, s)] / copy_gbs:5.1f} % of copy){extra}")
            except Exception as e:  # noqa: BLE001
                ok[name] = False
                log(f"FAILED {name} T={t} H={h}: {type(e).__name__}: {e}")
                traceback.print_exc(limit=3)
        del inputs, x, fn
        torch.cuda.empty_cache()

    # -- verdict -----------------------------------------------------------------------------------
    log(f"\nsummary (% of copy {copy_gbs:.0f} GB/s; {time.perf_counter() - t0:.0f} s total)")
    head = "".join(f"{t:>8d}" for t in TOKENS)
    for h in HIDDEN:
        log(f"H={h}  schedule          {head}")
        for name in backends:
            row = "".join(f"{100 * gbs[(name, t, h, s)] / copy_gbs:7.1f}%" if (name, t, h, s) in gbs else "     n/a"
                          for t, hh, s in shapes if hh == h)
            log(f"        {name:16s}  {row}  {'ok' if ok[name] else 'NOT OK'}")
    for t, h, s in EXTRA_SHAPES:
        if t not in TOKENS:
            continue
        row = "  ".join(f"{name} {100 * gbs[(name, t, h, s)] / copy_gbs:.1f}%" for name in backends
                        if (name, t, h, s) in gbs)
        log(f"T={t} H={h} S={s}: {row}")
    for name in backends:
        def at(t):
            return min((gbs.get((name, tt, h, s), 0.0) for tt, h, s in shapes if tt == t), default=0.0)
        log(f"RANK {name} T=4096 {100 * at(4096) / copy_gbs:.1f} % T=65536 {100 * at(65536) / copy_gbs:.1f} % "
            f"{'ok' if ok[name] else 'NOT OK'}")


if __name__ == "__main__":
    main()
