"""Which prenorm GEMM to ship? One GPU run (< 2 minutes) times the old kernel and a handful of v2 configurations.

    source scripts/device_env.sh && python scripts/debug/gemm_variants.py [--quick] [--v1 FILE]

* v1 (only with --v1 FILE): the kernel before GEMM v2, taken from git history, e.g.
  ``git show 4dd0900:kernels/tilelang/gemm.py > /tmp/gemm_v1.py`` (three GEMMs, fn split per CTA and
  K tile, 2-stage pipeline); loaded by path. Its numbers are in results/gpu/2026-11-25-h100x2-gemm-v2.
* v2: kernels/tilelang/gemm.py (split_fn launch + one GEMM over the stacked bf16 pieces), swept over
  its keyword tunables (block_m, block_k, num_stages, threads). The time of a v2 call is both launches.

Shapes: n = 4, H = 7168 (K = 28 672), M = 24; T = 65 536 and 4096; S = 1 and 4, each cut into the
backend's sub-range chunks (kernels/tilelang/backend.py _chunks_per_split, with the configuration's
block_m and block_k). Prints us per call and GB/s over x's bytes, next to the copy bandwidth of this
GPU measured in the same run (mhc_verify.bench's copy_bandwidth and timer).

Correctness, per configuration (failures are printed, the run goes on):
* T = 4093 (a tail block), P = 4 K ranges, and T = 65 536 (the timed S = 1 chunking, parts summed in
  fp32 as the backend does): max |err| of the mixes relative to sum(|x| |fn|) against a float64
  x @ fn.T (must be < 1e-6), and of the sum of squares relative to the float64 sum(x^2) (must be
  < 1e-5: fp32 sums of 28 672 squares; ours has short fp32 chains, usually ~1e-7).
* bitwise: at T = 4093 and P = 4 every v2 configuration's mixes must equal each other's (same
  tensor-core accumulation order: ascending K in k16 steps), and the sums of squares of
  configurations with the same (block_k, threads / block_m, sq_flush). v1 vs v2 mixes equality is
  printed as information (true if the tensor core's per-element k16 sum does not depend on N).
* split_fn: bitwise (NaN as NaN) equal to gemm.split_fn_reference, on random and special values.

Last line: ``BEST <config> <GB/s at T=65536> <GB/s at T=4096>``: the correct v2 configuration with the
highest min(S=1, S=4) GB/s at T = 65 536; its GB/s are those min values.
"""

import importlib.util
import sys
import time
import traceback

import torch

from mhc_verify.bench import copy_bandwidth, time_call

N, H, M = 4, 7168, 24
SPLIT_COLS_SWEEP = (128, 64, 32)
K = N * H
T_BIG, T_SMALL, T_ODD = 65536, 4096, 4093

# name -> (block_m or None for the backend's choice, tunables of build_prenorm_gemm); "min_tiles" is
# not a kernel tunable: the backend's min_tiles_per_chunk (fewer, longer chunks: each CTA's
# pipeline fill and drain are serial in TileLang 0.1.15's dynamic-extent pipeline, see gemm.py)
V2_CONFIGS = {
    "v2_bk64_st4_th128": (None, dict(block_k=64, num_stages=4, threads=128)),  # the default
    "v2_bk64_st4_th128_min32": (None, dict(block_k=64, num_stages=4, threads=128, min_tiles=32)),
    "v2_bk64_st3_th128": (None, dict(block_k=64, num_stages=3, threads=128)),
    "v2_bk64_st2_th128": (None, dict(block_k=64, num_stages=2, threads=128)),
    "v2_bk64_st4_th256": (None, dict(block_k=64, num_stages=4, threads=256)),
    "v2_bk128_st2_th256": (None, dict(block_k=128, num_stages=2, threads=256)),
    "v2_bk128_st3_th128": (None, dict(block_k=128, num_stages=3, threads=128)),
    "v2_bk128_st2_th256_min4": (None, dict(block_k=128, num_stages=2, threads=256, min_tiles=4)),
    "v2_bk128_st2_th256_min16": (None, dict(block_k=128, num_stages=2, threads=256, min_tiles=16)),
    "v2_bm64_bk64_st4_th128": (64, dict(block_k=64, num_stages=4, threads=128)),
}


def log(*a):
    print(*a, flush=True)


def load_by_path(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def compile_prim(prim, target):
    import tilelang

    from mhc_kernels.tilelang._build import pass_configs

    start = time.perf_counter()
    kernel = tilelang.compile(prim, target=target.tilelang_target(), pass_configs=pass_configs())
    return kernel, time.perf_counter() - start


def time_us(fn):
    """us per call: the benchmark's own timer (median of CUDA-event batches)."""
    return time_call(fn) * 1e6


class Reference:
    """float64 x @ fn.T, sum(|x| |fn|) and sum(x^2), by row blocks (x in float64 is 15 GB at T = 65 536)."""

    def __init__(self, x, fn):
        fd, fa = fn.double(), fn.double().abs()
        mix, scale, sq = [], [], []
        for r in range(0, x.shape[0], 4096):
            xd = x[r:r + 4096].double()
            mix.append(xd @ fd.T)
            scale.append(xd.abs() @ fa.T)
            sq.append((xd * xd).sum(1))
            del xd
        self.mix, self.scale, self.sq = torch.cat(mix), torch.cat(scale), torch.cat(sq)

    def errors(self, mixes, sqrsum):
        """Max relative errors of (mixes [T, M], sqrsum [T]) (summed over K ranges already)."""
        e_mix = ((mixes.double() - self.mix).abs() / self.scale.clamp_min(1e-300)).max().item()
        e_sq = ((sqrsum.double() - self.sq).abs() / self.sq.clamp_min(1e-300)).max().item()
        return e_mix, e_sq


class Config:
    def __init__(self, name, kind, block_m, tunables):
        self.name, self.kind, self.block_m, self.tunables = name, kind, block_m, tunables
        self.min_tiles = tunables.pop("min_tiles", None)
        self.kernels = {}  # block_m -> compiled gemm
        self.block_k = tunables.get("block_k", 64)
        self.error = None
        self.gbs = {}  # (T, S) -> GB/s
        self.ok = True

    def bm(self, tokens):
        from mhc_kernels.tilelang.gemm import block_m_for

        return self.block_m or block_m_for(tokens)

    def sq_key(self, tokens):
        threads = self.tunables.get("threads", 128)
        return (self.kind, self.block_k, threads // self.bm(tokens), self.tunables.get("sq_flush", 16))


def main() -> None:
    quick = "--quick" in sys.argv
    from mhc_kernels.tilelang import backend as be
    from mhc_kernels.tilelang import gemm
    from mhc_kernels.tilelang._build import device_target

    t0 = time.perf_counter()
    target = device_target()
    log(f"device {torch.cuda.get_device_name()}  target {target}  torch {torch.__version__}")
    copy_gbs = copy_bandwidth(torch.device("cuda"))
    log(f"copy bandwidth (mhc_verify.bench.copy_bandwidth, read + write): {copy_gbs:.0f} GB/s")

    v1_path = sys.argv[sys.argv.index("--v1") + 1] if "--v1" in sys.argv else None
    v1 = load_by_path("gemm_v1_reference", v1_path) if v1_path else None
    configs = [Config("v1_head_of_main", "v1", None, {})] if v1 else []
    configs += [Config(name, "v2", bm, dict(tun)) for name, (bm, tun) in V2_CONFIGS.items()]
    if quick:
        configs = configs[:3]

    # -- compile (a configuration that fails is reported and skipped) ---------------------------
    split_kernel, secs = compile_prim(gemm.build_split_fn(M, K, target.pdl), target)
    log(f"compiled split_fn[M={M}] in {secs:.1f} s")
    compiled = {}
    for cfg in configs:
        for bm in sorted({cfg.bm(T_BIG), cfg.bm(T_SMALL), cfg.bm(T_ODD)}):
            key = (cfg.kind, bm, tuple(sorted(cfg.tunables.items())))
            if key in compiled:
                cfg.kernels[bm] = compiled[key]
                continue
            try:
                if cfg.kind == "v1":
                    prim = v1.build_prenorm_gemm(N, H, M, bm, target.pdl)
                else:
                    prim = gemm.build_prenorm_gemm(N, H, M, bm, target.pdl, **cfg.tunables)
                cfg.kernels[bm], secs = compile_prim(prim, target)
                compiled[key] = cfg.kernels[bm]
                log(f"compiled {cfg.name} block_m={bm} in {secs:.1f} s")
            except Exception as e:  # noqa: BLE001 - report and go on
                cfg.error = f"compile block_m={bm}: {type(e).__name__}: {str(e).splitlines()[-1][:300]}"
                cfg.ok = False
                log(f"FAILED {cfg.name}: {cfg.error}")
                break

    g = torch.Generator(device="cuda").manual_seed(0)
    fn = torch.randn(M, K, device="cuda", generator=g) * 1e-2

    # -- split_fn bitwise against the torch contract ---------------------------------------------
    special = fn.clone()
    special[0, :8] = torch.tensor([0.0, -0.0, 1e-40, -1e-45, float("inf"), float("-inf"), float("nan"), 3.4e38])
    special[1] = torch.randint(-2 ** 31, 2 ** 31 - 1, (K,), device="cuda", generator=g).to(torch.int32).view(torch.float32)
    fn3 = torch.empty(gemm.fn3_rows(M), K, dtype=torch.bfloat16, device="cuda")
    split_kernel(special, fn3)
    want = gemm.split_fn_reference(special)
    same = (fn3.view(torch.int16) == want.view(torch.int16)) | (torch.isnan(fn3) & torch.isnan(want))
    log(f"split_fn vs split_fn_reference (random bits, inf, nan, subnormals): "
        f"{'bitwise equal' if bool(same.all()) else f'{int((~same).sum())} DIFFERENT elements'}")
    split_us = time_us(lambda: split_kernel(fn, fn3))
    log(f"split_fn alone: {split_us:.1f} us (split_cols {gemm.SPLIT_COLS})")
    for cols in SPLIT_COLS_SWEEP:  # elementwise: any split_cols must give the same bits
        try:
            other, _ = compile_prim(gemm.build_split_fn(M, K, target.pdl, split_cols=cols), target)
            out3 = torch.empty_like(fn3)
            other(special, out3)
            equal = bool(((out3.view(torch.int16) == want.view(torch.int16)) | (torch.isnan(out3) & torch.isnan(want))).all())
            log(f"split_fn split_cols={cols:3d}: {time_us(lambda: other(fn, out3)):.1f} us, "
                f"{'bitwise equal' if equal else 'DIFFERENT'} to split_fn_reference")
        except Exception as e:  # noqa: BLE001
            log(f"FAILED split_fn split_cols={cols}: {type(e).__name__}: {e}")

    def call(cfg, x, parts, bm):
        """One prenorm GEMM call into fresh [parts, T, M], [parts, T] outputs; returns a launcher."""
        mixes = torch.empty(parts, x.shape[0], M, device="cuda")
        sq = torch.empty(parts, x.shape[0], device="cuda")
        kernel = cfg.kernels[bm]
        if cfg.kind == "v1":
            return (lambda: kernel(x, fn, mixes, sq)), mixes, sq
        f3 = torch.empty(gemm.fn3_rows(M), K, dtype=torch.bfloat16, device="cuda")

        def launch():
            split_kernel(fn, f3)
            kernel(x, f3, mixes, sq)
        return launch, mixes, sq

    def chunks_for(cfg, tokens, splits):
        return be._chunks_per_split(tokens, cfg.bm(tokens), K // cfg.block_k, splits, torch.device("cuda"),
                                    cfg.min_tiles or be.MIN_TILES_PER_CHUNK)

    # -- correctness at T = 4093, P = 4 ----------------------------------------------------------
    x = torch.randn(T_ODD, K, device="cuda", generator=g).to(torch.bfloat16)
    ref = Reference(x, fn)
    outs = {}
    for cfg in configs:
        if not cfg.ok:
            continue
        try:
            launch, mixes, sq = call(cfg, x, 4, cfg.bm(T_ODD))
            launch()
            torch.cuda.synchronize()
            e_mix, e_sq = ref.errors(mixes.sum(0), sq.sum(0))
            outs[cfg.name] = (mixes.clone(), sq.clone())
            good = e_mix < 1e-6 and e_sq < 1e-5
            cfg.ok &= good
            log(f"check T={T_ODD} P=4 {cfg.name:24s} mixes err {e_mix:.2e}  sqrsum err {e_sq:.2e}  {'ok' if good else 'FAIL'}")
        except Exception as e:  # noqa: BLE001
            cfg.ok = False
            log(f"FAILED {cfg.name} at T={T_ODD}: {type(e).__name__}: {e}")
    v2_names = [c.name for c in configs if c.kind == "v2" and c.name in outs]
    if v2_names:
        base = v2_names[0]
        for name in v2_names[1:]:
            same_mix = torch.equal(outs[name][0], outs[base][0])
            log(f"bitwise mixes {name} == {base}: {same_mix}")
            if not same_mix:
                next(c for c in configs if c.name == name).ok = False
        by_key = {}
        for cfg in configs:
            if cfg.name in v2_names:
                by_key.setdefault(cfg.sq_key(T_ODD), []).append(cfg.name)
        for key, names in by_key.items():
            for name in names[1:]:
                same_sq = torch.equal(outs[name][1], outs[names[0]][1])
                log(f"bitwise sqrsum {name} == {names[0]} (key {key}): {same_sq}")
                if not same_sq:
                    next(c for c in configs if c.name == name).ok = False
        if "v1_head_of_main" in outs:
            log(f"info: v1 mixes bitwise == {base}: {torch.equal(outs['v1_head_of_main'][0], outs[base][0])}")
    del x, ref, outs

    # -- timing (and one correctness run at T = 65 536) -------------------------------------------
    for tokens in (T_BIG, T_SMALL):
        x = torch.randn(tokens, K, device="cuda", generator=g, dtype=torch.bfloat16)
        ref = Reference(x, fn) if tokens == T_BIG else None
        gb = x.numel() * 2 / 1e9
        for cfg in configs:
            if not cfg.kernels or len(cfg.kernels) < len({cfg.bm(T_BIG), cfg.bm(T_SMALL), cfg.bm(T_ODD)}):
                continue
            for splits in (1, 4):
                try:
                    bm = cfg.bm(tokens)
                    chunks = chunks_for(cfg, tokens, splits)
                    launch, mixes, sq = call(cfg, x, splits * chunks, bm)
                    us = time_us(launch)
                    if cfg.kind == "v2" and splits == 1:  # the GEMM launch alone (fn3 split once)
                        f3 = gemm.split_fn_reference(fn)
                        gemm_us = time_us(lambda: cfg.kernels[bm](x, f3, mixes, sq))
                        log(f"T={tokens:6d} S=1 {cfg.name:24s} GEMM launch alone: {gemm_us:8.1f} us "
                            f"({100 * gb / gemm_us * 1e6 / copy_gbs:4.1f} % of copy)")
                    cfg.gbs[(tokens, splits)] = gb / us * 1e6
                    extra = ""
                    if ref is not None and splits == 1:
                        launch()
                        torch.cuda.synchronize()
                        e_mix, e_sq = ref.errors(mixes.sum(0), sq.sum(0))
                        good = e_mix < 1e-6 and e_sq < 1e-5
                        cfg.ok &= good
                        extra = f"  check: mixes err {e_mix:.2e} sqrsum err {e_sq:.2e} {'ok' if good else 'FAIL'}"
                    log(f"T={tokens:6d} S={splits} {cfg.name:24s} block_m={bm:3d} chunks={chunks:2d}: {us:8.1f} us "
                        f"{cfg.gbs[(tokens, splits)]:6.0f} GB/s ({100 * cfg.gbs[(tokens, splits)] / copy_gbs:4.1f} % of copy){extra}")
                except Exception as e:  # noqa: BLE001
                    cfg.ok = False
                    log(f"FAILED {cfg.name} T={tokens} S={splits}: {type(e).__name__}: {e}")
                    traceback.print_exc(limit=2)
        del x, ref
        torch.cuda.empty_cache()

    # -- verdict ---------------------------------------------------------------------------------
    def score(cfg, tokens):
        vals = [cfg.gbs.get((tokens, s)) for s in (1, 4)]
        return min(vals) if all(v is not None for v in vals) else None

    log(f"\nsummary (min over S = 1, 4; copy bandwidth {copy_gbs:.0f} GB/s; {time.perf_counter() - t0:.0f} s total)")
    for cfg in configs:
        big, small = score(cfg, T_BIG), score(cfg, T_SMALL)
        fmt = lambda v: f"{v:6.0f} GB/s ({100 * v / copy_gbs:4.1f} %)" if v else "   n/a"  # noqa: E731
        log(f"  {cfg.name:24s} T=65536 {fmt(big)}   T=4096 {fmt(small)}   {'ok' if cfg.ok else 'NOT OK'}"
            + (f"  [{cfg.error}]" if cfg.error else ""))
    ranked = [c for c in configs if c.kind == "v2" and c.ok and score(c, T_BIG) and score(c, T_SMALL)]
    if ranked:
        best = max(ranked, key=lambda c: score(c, T_BIG))
        log(f"BEST {best.name} {score(best, T_BIG):.0f} {score(best, T_SMALL):.0f}")
    else:
        log("BEST none (no v2 configuration compiled, ran and passed the checks)")


if __name__ == "__main__":
    main()
