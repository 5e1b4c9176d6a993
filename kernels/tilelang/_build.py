"""Compilation plumbing shared by our TileLang kernels: target, PDL flag, pass configs, compile cache.

Nothing here touches CUDA at import time. The target and the PDL flag are decided on the first
kernel build (or passed explicitly, as the CPU compile test does for ``sm_90a``):

* PDL (programmatic dependent launch: ``griddepcontrol.wait`` / ``launch_dependents``) only on
  CUDA devices of compute capability >= 9.0; never on ROCm, never below Hopper.
  ``MHC_TILELANG_PDL=0|1`` overrides the automatic choice.
* Pass configs are ROCm-safe: no warp specialisation and no TMA lowering (ROCm has neither), no
  fast math (``--use_fast_math`` would turn divisions and exp into approximations the declared
  precision does not cover).

Every compilation goes through ``compile_cached``: one compile per distinct kernel configuration
per process, counted, so a run can report its compile count (a hypothesis example never compiles
unless it reaches a configuration not seen before).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

TILELANG_VERSION_VALIDATED = "0.1.15"


@dataclass(frozen=True)
class Target:
    """Where kernels are compiled for: ``kind`` is ``cuda`` or ``hip``; ``arch`` e.g. ``sm_90a``."""

    kind: str
    arch: str
    pdl: bool

    def tilelang_target(self) -> dict[str, str] | str:
        if self.kind == "cuda":
            return {"kind": "cuda", "arch": self.arch}
        return "hip"


def pdl_supported(kind: str, arch: str) -> bool:
    """PDL needs CUDA and compute capability 9.0 or newer (sm_90, sm_90a, sm_100, ...)."""
    if kind != "cuda" or not arch.startswith("sm_"):
        return False
    digits = "".join(ch for ch in arch[3:] if ch.isdigit())
    return bool(digits) and int(digits) >= 90


def _pdl_override() -> bool | None:
    value = os.environ.get("MHC_TILELANG_PDL")
    if value is None or value == "":
        return None
    if value not in ("0", "1"):
        raise ValueError(f"MHC_TILELANG_PDL must be 0 or 1, got {value!r}")
    return value == "1"


_device_target: Target | None = None


def device_target() -> Target:
    """The target of the current torch device, decided once (this is where CUDA is first touched)."""
    global _device_target
    if _device_target is None:
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("no CUDA/ROCm device: our TileLang kernels need one to run "
                               "(they still compile for an explicit target without one)")
        if torch.version.hip is not None:
            arch = torch.cuda.get_device_properties(0).gcnArchName.split(":")[0]
            _device_target = Target("hip", arch, False)
        else:
            major, minor = torch.cuda.get_device_capability()
            arch = f"sm_{major}{minor}" + ("a" if major == 9 else "")
            pdl = pdl_supported("cuda", arch)
            override = _pdl_override()
            _device_target = Target("cuda", arch, pdl if override is None else (override and pdl))
    return _device_target


def explicit_target(kind: str = "cuda", arch: str = "sm_90a", pdl: bool | None = None) -> Target:
    """A target for compiling without a device (CI): PDL follows the architecture unless given."""
    return Target(kind, arch, pdl_supported(kind, arch) if pdl is None else pdl)


def pass_configs(tma: bool = False, own_pipeline: bool = False) -> dict[str, Any]:
    """The pass configs of every kernel; ``tma`` (CUDA sm_90+ only: a probe of the prenorm GEMM,
    gemm.prenorm_gemm_kernel) turns TMA lowering and TileLang's warp-specialised pipeline on: a
    producer warpgroup issues the tile loads as TMA copies onto mbarriers, the consumers wait on them,
    instead of every thread's cp.async. The same arithmetic in the same order. ``own_pipeline`` (with
    ``tma``): TMA lowering without TileLang's warp specialisation, for a kernel that writes its own producer,
    consumers and barriers (gemm_multicast.py)."""
    import tilelang

    key = tilelang.PassConfigKey
    return {key.TL_DISABLE_WARP_SPECIALIZED: not tma or own_pipeline, key.TL_DISABLE_TMA_LOWER: not tma}


class CompileStats:
    """How many kernels this process compiled, and how long it took (reported in provenance)."""

    def __init__(self) -> None:
        self.count = 0
        self.seconds = 0.0
        self.configs: list[str] = []

    def as_dict(self) -> dict[str, Any]:
        return {"compiles": self.count, "compile_seconds": round(self.seconds, 2),
                "configs": list(self.configs)}


STATS = CompileStats()
_cache: dict[tuple, Any] = {}
_lock = threading.Lock()


def compile_cached(name: str, key: tuple, build: Callable[[], Any], target: Target, tma: bool = False,
                   own_pipeline: bool = False) -> Any:
    """Compile ``build()`` (a TileLang PrimFunc) for ``target`` once per (name, key, target), with
    pass_configs(tma, own_pipeline) (``tma`` needs a CUDA target; the caller's key must tell them apart)."""
    if tma and target.kind != "cuda":
        raise ValueError(f"TMA lowering needs a CUDA target, got {target.kind} {target.arch}")
    full_key = (name, key, target)
    with _lock:
        kernel = _cache.get(full_key)
    if kernel is not None:
        return kernel
    import tilelang

    start = time.perf_counter()
    kernel = tilelang.compile(build(), target=target.tilelang_target(), pass_configs=pass_configs(tma, own_pipeline))
    elapsed = time.perf_counter() - start
    with _lock:
        if full_key not in _cache:
            _cache[full_key] = kernel
            STATS.count += 1
            STATS.seconds += elapsed
            STATS.configs.append(f"{name}{key}")
        return _cache[full_key]


def changed(**options: tuple[Any, Any]) -> dict[str, Any]:
    """The keyword arguments whose value is not their default, given as ``name=(value, default)``: a
    variant passes only what it changes, so a default's call (and the cache key it builds) is the
    plain one."""
    return {name: value for name, (value, default) in options.items() if value != default}


def ceil_to(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


def hidden_block(hidden: int, cap: int = 1024) -> int:
    """The largest power of two <= cap that divides H (H is a multiple of 64 for our kernels)."""
    block = cap
    while hidden % block:
        block //= 2
    return block


def threads_for(block: int, per_thread: int = 8, cap: int = 128) -> int:
    """Threads for a block of ``block`` bf16 elements, 8 per thread (one 16-byte vector), >= a warp."""
    return max(32, min(cap, block // per_thread))
