"""Where does the host time of one prenorm_gemm op call go? One GPU run (< 30 s).

    source scripts/device_env.sh && python scripts/debug/host_overhead.py

At 4096 x 4096 the op's GPU time (~40 us on an H200) is about the host's time per call, so the
benchmark there measures the host as much as the kernel. T = 1 (GPU time ~nothing), H = 7168, S = 16:
per piece, microseconds of host time per call over 2000 calls (perf_counter around the loop, one
synchronize at the end; the launch queue does not fill at this rate):

  empty x2          two torch.empty of the partials' shapes
  gemm_schedule     the backend's schedule decision
  split_fn cache    TileLangBackend._split_fn on a cached fn
  kernel lookup     gemm.prenorm_gemm_kernel(...) (the compile cache)
  kernel call       the compiled TileLang kernel called directly (TileLang's adapter + the launch)
  op                backend.prenorm_gemm (all of the above)
"""

import time

import torch

N, H, S, CALLS = 4, 7168, 16, 2000


def per_call_us(fn) -> float:
    for _ in range(50):
        fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(CALLS):
        fn()
    host = (time.perf_counter() - start) / CALLS * 1e6
    torch.cuda.synchronize()
    return host


def main() -> None:
    from mhc_kernels.tilelang.backend import TileLangBackend
    from mhc_kernels.tilelang.gemm import prenorm_gemm_kernel

    device = torch.device("cuda")
    backend = TileLangBackend()
    x = torch.randn(1, N * H, device=device).to(torch.bfloat16)
    fn = torch.randn(N * N + 2 * N, N * H, device=device) * 1e-2
    backend.prenorm_gemm(x, fn, S)  # compiles
    plan = backend.gemm_schedule(1, N, H, S, True, device)
    parts = S * plan.chunks
    mixes = torch.empty(parts, 1, fn.shape[0], device=device)
    sq = torch.empty(parts, 1, device=device)
    fn3 = backend._split_fn(fn)
    target = backend._target()
    kernel = prenorm_gemm_kernel(N, H, fn.shape[0], plan.block_m, target, **plan.tunables)
    rows = {
        "empty x2": lambda: (torch.empty(parts, 1, fn.shape[0], device=device), torch.empty(parts, 1, device=device)),
        "gemm_schedule": lambda: backend.gemm_schedule(1, N, H, S, True, device),
        "split_fn cache": lambda: backend._split_fn(fn),
        "kernel lookup": lambda: prenorm_gemm_kernel(N, H, fn.shape[0], plan.block_m, target, **plan.tunables),
        "kernel call": lambda: kernel(x, fn3, mixes, sq),
        "op": lambda: backend.prenorm_gemm(x, fn, S),
    }
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, T=1 H={H} S={S}, plan {plan}")
    for name, fn_ in rows.items():
        print(f"  {name:16s} {per_call_us(fn_):7.1f} us host time per call")


if __name__ == "__main__":
    main()
