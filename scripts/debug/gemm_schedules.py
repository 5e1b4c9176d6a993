"""Which prenorm GEMM *op* schedule to ship? One GPU run (< 4 minutes) times the op as the benchmark
does (``backend.prenorm_gemm``, fn's split cached, back to back) under several schedules, and checks each.

    source scripts/device_env.sh && python scripts/debug/gemm_schedules.py [--quick]

The op returns S split-K partials. Our backend cuts each split's K range into ``chunks`` CTAs to
fill the SMs; the op then sums the chunks back (the fused pre takes them unsummed). At 4096 x 7168
the GEMM launch alone reached 88.7 % of copy and the op 79.8 %: the two torch sums and their launch
gaps cost ~11 us. The schedules (TileLangBackend subclasses, ``SCHEDULES``):

  torch-sum        the default until 2026-11-26: chunks by the SM rule, two torch sums
  kernel-sum       the same chunks, summed by our chunk_sum kernel (one launch, PDL-chained)
  kernel-sum-min8  kernel-sum, >= 8 K tiles per CTA (more, shorter CTAs)
  no-chunks        one CTA per (token block, split) when the op must reduce: no reduction at all
  no-chunks-bm64   the same with 64-token blocks (twice the CTAs)
  bm64-kernel-sum  64-token blocks, chunks by the SM rule, chunk_sum kernel
  narrow           TileLangNarrowTiles (64-wide K tiles, fn split per call, torch sums)

Shapes: T in {1024, 2048, 4096, 8192, 16384, 65536, 80000} x H in {4096, 7168}, S by the benchmark's
rule (mhc_verify.bench.engine_splits). GB/s over the op's bytes (mhc_verify.bench.op_bytes), next to
the copy bandwidth measured in the same run. For kernel-sum also the GEMM launch alone (reduce=False)
and chunk_sum alone.

Checks per schedule (failures printed, the run goes on): at (T, H, S) = (4093, 7168, 4),
(4096, 4096, 4), (1023, 7168, 16), (65 537, 4096, 1): mixes relative error < 1e-6 against float64
(relative to sum |x||fn|), sqrsum < 1e-5; three calls bitwise equal (deterministic). Printed as
information: whether kernel-sum equals torch-sum bitwise (same chunks, fp32 sums in chunk order).

Last lines: ``RANK`` per schedule, min over H of GB/s at T = 4096, and at T = 65 536.
"""

import sys
import time
import traceback

import torch

from mhc_verify.bench import copy_bandwidth, engine_splits, make_inputs, op_bytes, time_call

N = 4
TOKENS = (1024, 2048, 4096, 8192, 16384, 65536, 80000)
HIDDEN = (4096, 7168)
CHECKS = ((4093, 7168, 4), (4096, 4096, 4), (1023, 7168, 16), (65537, 4096, 1))


def log(*a):
    print(*a, flush=True)


def schedules():
    from mhc_kernels.tilelang import backend as be
    from mhc_kernels.tilelang.gemm import SMALL_T_BLOCK_M

    class TorchSum(be.TileLangBackend):
        reduce_chunks_with = "torch"

    class KernelSum(be.TileLangBackend):
        reduce_chunks_with = "kernel"

    class KernelSumMin8(KernelSum):
        min_tiles_per_chunk = 8

    class NoChunks(KernelSum):
        block_m = None

        def gemm_schedule(self, tokens, n, hidden, n_splits, reduce, device):
            plan = super().gemm_schedule(tokens, n, hidden, n_splits, reduce, device)
            if not reduce:
                return plan
            bm = self.block_m or plan.block_m
            tun = self.gemm_tunables.get(bm, {})
            if (n * hidden // n_splits) % tun.get("block_k", 64):
                tun = {}
            return be.GemmSchedule(bm, dict(tun), 1)

    class NoChunksBm64(NoChunks):
        block_m = SMALL_T_BLOCK_M

    class Bm64KernelSum(KernelSum):
        def gemm_schedule(self, tokens, n, hidden, n_splits, reduce, device):
            plan = super().gemm_schedule(tokens, n, hidden, n_splits, reduce, device)
            if not reduce:
                return plan
            tun = self.gemm_tunables.get(SMALL_T_BLOCK_M, {})
            if (n * hidden // n_splits) % tun.get("block_k", 64):
                tun = {}
            k_tiles = n * hidden // tun.get("block_k", 64)
            min_tiles = self.min_tiles_per_chunk if tun else be.MIN_TILES_PER_CHUNK
            chunks = be._chunks_per_split(tokens, SMALL_T_BLOCK_M, k_tiles, n_splits, device, min_tiles)
            return be.GemmSchedule(SMALL_T_BLOCK_M, dict(tun), chunks)

    return {"torch-sum": TorchSum(), "kernel-sum": KernelSum(), "kernel-sum-min8": KernelSumMin8(),
            "no-chunks": NoChunks(), "no-chunks-bm64": NoChunksBm64(), "bm64-kernel-sum": Bm64KernelSum(),
            "narrow": be.TileLangNarrowTiles()}


def reference(x, fn):
    """float64 x @ fn.T, sum(|x| |fn|), sum(x^2), by row blocks."""
    fd, fa = fn.double(), fn.double().abs()
    mix, scale, sq = [], [], []
    for r in range(0, x.shape[0], 4096):
        xd = x[r:r + 4096].double()
        mix.append(xd @ fd.T)
        scale.append(xd.abs() @ fa.T)
        sq.append((xd * xd).sum(1))
        del xd
    return torch.cat(mix), torch.cat(scale), torch.cat(sq)


def main() -> None:
    quick = "--quick" in sys.argv
    t0 = time.perf_counter()
    device = torch.device("cuda")
    log(f"device {torch.cuda.get_device_name()}  torch {torch.__version__}")
    copy_gbs = copy_bandwidth(device)
    log(f"copy bandwidth (mhc_verify.bench.copy_bandwidth, read + write): {copy_gbs:.0f} GB/s")
    n_sms = torch.cuda.get_device_properties(device).multi_processor_count
    backends = schedules()
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
        ref_mix, ref_scale, ref_sq = reference(x, fn)
        outs = {}
        for name, be in backends.items():
            try:
                first = [o.clone() for o in be.prenorm_gemm(x, fn, s)]
                same = all(all(torch.equal(a, b) for a, b in zip(first, be.prenorm_gemm(x, fn, s))) for _ in range(2))
                torch.cuda.synchronize()
                mixes, sq = first[0].double().sum(0), first[1].double().sum(0)
                e_mix = ((mixes - ref_mix).abs() / ref_scale.clamp_min(1e-300)).max().item()
                e_sq = ((sq - ref_sq).abs() / ref_sq.clamp_min(1e-300)).max().item()
                good = e_mix < 1e-6 and e_sq < 1e-5 and same and tuple(first[0].shape) == (s, t, fn.shape[0])
                ok[name] &= good
                outs[name] = first
                plan = be.gemm_schedule(t, N, h, s, True, device)
                log(f"check T={t:6d} H={h} S={s:2d} {name:16s} block_m={plan.block_m:3d} chunks={plan.chunks:2d} "
                    f"mixes err {e_mix:.2e} sqrsum err {e_sq:.2e} deterministic {same}  {'ok' if good else 'FAIL'}")
            except Exception as e:  # noqa: BLE001
                ok[name] = False
                log(f"FAILED {name} check T={t} H={h} S={s}: {type(e).__name__}: {e}")
                traceback.print_exc(limit=3)
        if "kernel-sum" in outs and "torch-sum" in outs:
            eq = all(torch.equal(a, b) for a, b in zip(outs["kernel-sum"], outs["torch-sum"]))
            log(f"info: T={t} H={h} S={s} kernel-sum bitwise == torch-sum: {eq}")
        del x, fn, ref_mix, ref_scale, ref_sq, outs
        torch.cuda.empty_cache()

    # -- timing ------------------------------------------------------------------------------------
    gbs = {}  # (name, T, H) -> GB/s
    for h in HIDDEN:
        for t in TOKENS:
            s = engine_splits(t, N * h, 128 if t >= 1024 else 64, n_sms)
            inputs, params = make_inputs("prenorm_gemm", t, h, s, device)
            nbytes = op_bytes("prenorm_gemm", inputs, t, h, s)
            x, fn = inputs["x"], inputs["fn"]
            for name, be in backends.items():
                try:
                    plan = be.gemm_schedule(t, N, h, s, True, device)
                    us = time_call(lambda: be.prenorm_gemm(x, fn, s)) * 1e6
                    gbs[(name, t, h)] = nbytes / us / 1e3
                    extra = ""
                    if name == "kernel-sum" and plan.chunks > 1:
                        gemm_us = time_call(lambda: be._gemm(x, fn, N, h, s, reduce=False)) * 1e6
                        mp, sp = be._gemm(x, fn, N, h, s, reduce=False)
                        mp, sp = mp.view(s, plan.chunks, t, -1), sp.view(s, plan.chunks, t)
                        sum_us = time_call(lambda: be._reduce_chunks(mp, sp)) * 1e6
                        extra = f"  [GEMM alone {gemm_us:6.1f} us, chunk_sum alone {sum_us:5.1f} us]"
                        del mp, sp
                    log(f"T={t:6d} H={h} S={s:2d} {name:16s} block_m={plan.block_m:3d} "
                        f"block_k={plan.tunables.get('block_k', 64):3d} chunks={plan.chunks:2d}: {us:8.1f} us "
                        f"{gbs[(name, t, h)]:6.0f} GB/s ({100 * gbs[(name, t, h)] / copy_gbs:5.1f} % of copy){extra}")
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
            row = "".join(f"{100 * gbs[(name, t, h)] / copy_gbs:7.1f}%" if (name, t, h) in gbs else "     n/a"
                          for t in TOKENS)
            log(f"        {name:16s}  {row}  {'ok' if ok[name] else 'NOT OK'}")
    for name in backends:
        at = lambda t: min((gbs.get((name, t, h), 0.0) for h in HIDDEN))  # noqa: E731
        log(f"RANK {name} T=4096 {100 * at(4096) / copy_gbs:.1f} % T=65536 {100 * at(65536) / copy_gbs:.1f} % "
            f"{'ok' if ok[name] else 'NOT OK'}")


if __name__ == "__main__":
    main()
