"""Judge many reruns of one case against a float64 reference and bounds built once.

A stress case calls the kernel R times on the same inputs and judges every ``--judge-every``-th
rerun. Everything of a judgement except the comparison reads only the inputs (and, for
fused_post_pre, the bf16 residual the kernel wrote, which its pre reads): the float64 reference,
the per-element bounds (the Jacobian propagation through mixes and Sinkhorn is most of it), the
tolerance ``bound + half an ulp`` and the correctly rounded reference. ``CachedJudge`` builds those
once, keeps them per judgement chunk (runner.judge_chunks), and per judgement redoes only
runner.compare_chunk, so the verdict, statistics and failure rows are those of runner.judge.

The cache is keyed on the bits of what the reference reads: a kernel that writes into its inputs,
or a fused post+pre whose residual moved, gets a fresh reference of what it read, as runner.judge
would give it. Where the prepared tensors (about 18 bytes per output element) and a copy of the
inputs do not fit in half the free memory, every judgement builds its own (runner.judge's cost).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import torch

from mhc_kernels.base import Backend
from mhc_reference.contract import get_op
from mhc_verify.cases import Case
from mhc_verify.compare import PreparedOutput
from mhc_verify.runner import CaseResult, JudgeChunk, compare_chunk, judge_chunks, prepare_chunk, verdict

# The kernel outputs an op's reference reads: fused_post_pre's pre is judged on the residual it wrote.
REFERENCE_READS: dict[str, tuple[str, ...]] = {"fused_post_pre": ("residual_out",)}
# share of the free memory the cache may take: the rest is the build's and the kernel's working set
CACHE_MEMORY_SHARE = 0.5
_INT_OF_SIZE = {1: torch.int8, 2: torch.int16, 4: torch.int32, 8: torch.int64}


def bits_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bit-for-bit equality (NaN payloads and the sign of zero included), one pass on the device."""
    if a.dtype != b.dtype or a.shape != b.shape or a.device != b.device:
        return False
    if a.dtype == torch.bool:
        return torch.equal(a, b)
    as_int = _INT_OF_SIZE[a.element_size()]
    return torch.equal(a.view(as_int), b.view(as_int))


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def free_memory(device: torch.device) -> int:
    """Bytes free on the device now (the host's available memory for the CPU)."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX: judge without a cache
        return 0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":  # the phase timers measure the device's work, not the launches
        torch.cuda.synchronize(device)


@dataclass
class JudgeTimes:
    """Where the time of a case's judgements went (seconds; builds count reference+bounds builds)."""
    builds: int = 0
    build_seconds: float = 0.0  # float64 reference, bounds, tolerances
    compare_seconds: float = 0.0  # the comparisons of the kernel's outputs
    key_seconds: float = 0.0  # checking that the inputs (the cache's key) are unchanged
    cached_seconds: float = 0.0  # the build the cache holds: paid once, not per judgement


class CachedJudge:
    """runner.judge for repeated calls on one case's inputs, the reference and bounds built once.

    ``memory_limit``: bytes the cache may hold (default: CACHE_MEMORY_SHARE of the free memory at
    the first build); 0 turns the cache off."""

    def __init__(self, backend: Backend, case: Case, inputs: dict, params: dict,
                 memory_limit: int | None = None) -> None:
        self.backend, self.case, self.inputs, self.params = backend, case, inputs, params
        self.spec = get_op(case.op)
        self.memory_limit = memory_limit
        self.times = JudgeTimes()
        self.cached = False  # whether the last build was kept
        self._chunks: list[JudgeChunk] = []
        self._prepared: list[dict[str, PreparedOutput]] = []
        self._key: dict[str, torch.Tensor] = {}

    def _key_tensors(self, outputs: dict) -> dict[str, torch.Tensor]:
        key = {f"in:{k}": v for k, v in self.inputs.items() if isinstance(v, torch.Tensor)}
        key.update({f"out:{k}": outputs[k] for k in REFERENCE_READS.get(self.case.op, ())})
        return key

    def _hit(self, key: dict[str, torch.Tensor]) -> bool:
        t0 = time.perf_counter()
        hit = bool(self._prepared) and key.keys() == self._key.keys() and all(
            bits_equal(v, self._key[k]) for k, v in key.items())
        self.times.key_seconds += time.perf_counter() - t0
        return hit

    def _fits(self, outputs: dict, key: dict[str, torch.Tensor], device: torch.device) -> bool:
        need = sum(v.numel() * (16 + (2 if v.dtype == torch.bfloat16 else 0)) for v in outputs.values())
        need += sum(_nbytes(v) for v in key.values())
        limit = self.memory_limit if self.memory_limit is not None else int(CACHE_MEMORY_SHARE *
                                                                            free_memory(device))
        return need <= limit

    def __call__(self, outputs: dict[str, torch.Tensor]) -> CaseResult:
        key = self._key_tensors(outputs)
        device = next(iter(outputs.values())).device
        if not self._hit(key):
            self._drop()  # before building anew: never two caches at once
            if self._fits(outputs, key, device):
                self._build(outputs, key, device)
            else:
                return self._judge_uncached(outputs, device)
        t0 = time.perf_counter()
        checks = [compare_chunk(chunk.of(self.spec, outputs), prepared)
                  for chunk, prepared in zip(self._chunks, self._prepared)]
        result = verdict(self.backend, self.case, outputs, self._chunks, checks)
        self.times.compare_seconds += time.perf_counter() - t0
        return result

    def _drop(self) -> None:
        self._chunks, self._prepared, self._key, self.cached = [], [], {}, False
        self.times.cached_seconds = 0.0

    def _build(self, outputs: dict, key: dict[str, torch.Tensor], device: torch.device) -> None:
        t0 = time.perf_counter()
        self._chunks = judge_chunks(self.case, self.inputs, outputs)
        self._prepared = [prepare_chunk(self.backend, self.case, chunk.of(self.spec, self.inputs), self.params,
                                        chunk.of(self.spec, outputs)) for chunk in self._chunks]
        self._key = {k: v.clone() for k, v in key.items()}
        _sync(device)
        spent = time.perf_counter() - t0
        self.times.builds += 1
        self.times.build_seconds += spent
        self.times.cached_seconds = spent
        self.cached = True

    def _judge_uncached(self, outputs: dict, device: torch.device) -> CaseResult:
        """runner.judge, chunk by chunk (bounded memory), with the build and the comparison timed apart."""
        chunks = judge_chunks(self.case, self.inputs, outputs)
        checks = []
        for chunk in chunks:
            chunk_outputs = chunk.of(self.spec, outputs)
            t0 = time.perf_counter()
            prepared = prepare_chunk(self.backend, self.case, chunk.of(self.spec, self.inputs), self.params,
                                     chunk_outputs)
            _sync(device)
            t1 = time.perf_counter()
            checks.append(compare_chunk(chunk_outputs, prepared))
            del prepared
            self.times.build_seconds += t1 - t0
            self.times.compare_seconds += time.perf_counter() - t1
        self.times.builds += 1
        return verdict(self.backend, self.case, outputs, chunks, checks)
