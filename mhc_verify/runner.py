"""Run one case on one backend and judge it: build inputs, call, reference, bounds, compare."""

from __future__ import annotations

import dataclasses
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import torch

from mhc_kernels.base import Backend, ConstraintError
from mhc_reference import reference_for
from mhc_reference.contract import ENGINE_SEMANTICS, ContractError, Semantics, dim_sizes, get_op
from mhc_verify.bounds import op_bounds
from mhc_verify.cases import Case, build_inputs
from mhc_verify.compare import OutputCheck, PreparedOutput, check_prepared, merge_checks, prepare_output
from mhc_verify.interrupt import reraise_if_stopping


@dataclass
class CaseResult:
    case: Case
    backend: str
    status: str  # "pass" | "fail" | "error" | "not_applicable"
    reason: str = ""
    checks: list[OutputCheck] = field(default_factory=list)
    seconds: float = 0.0
    torch_ratio: dict[str, float] = field(default_factory=dict)  # max err / torch fp32 max err
    # For a backend that declares a departure from the engines' semantics (Backend.departures):
    # per output, max err/bound against the engines' op at the engines' fp32 precision.
    engine_ratio: dict[str, float] = field(default_factory=dict)
    backend_spec: str = ""  # how `--backend` names it: a built-in name or module:attr

    @property
    def max_ratio(self) -> float:
        return max((c.max_ratio for c in self.checks), default=0.0)

    def failure_kinds(self) -> tuple[str, ...]:
        """The distinct kinds of failure this case shows, each of which gets its own minimal
        reproducer: ``error <ExceptionType>``, ``non-finite <output>``, ``bound <output>``."""
        if self.status == "error":
            return (f"error {self.reason.split(':', 1)[0].strip()[:80]}",)
        if self.status != "fail":
            return ()
        kinds = [f"non-finite {c.name}" for c in self.checks if c.nonfinite_mismatches]
        kinds += [f"bound {c.name}" for c in self.checks if c.violations or c.unbounded]
        return tuple(kinds) or ("bound",)

    def reproducer(self) -> str:
        return f"mhc-verify replay --backend {self.backend_spec or self.backend} --case '{self.case.to_json()}'"

    def summary(self) -> str:
        head = f"[{self.status.upper()}] {self.backend} {self.case.short()}"
        if self.status == "pass":
            return f"{head} max err/bound {self.max_ratio:.3g}"
        return f"{head}: {self.reason}\n  reproduce: {self.reproducer()}"


class DeviceLost(BaseException):
    """The GPU context is unusable after a kernel fault (an illegal address is sticky for the
    process): nothing more can run here. A BaseException, so Hypothesis does not take it for a
    failing example and go on shrinking on a dead device."""


def device_lost(backend: Backend) -> str | None:
    """Why the backend's CUDA context is unusable, or None while it works."""
    if backend.device_type != "cuda" or not torch.cuda.is_available():
        return None
    try:
        torch.cuda.synchronize()
    except Exception as e:  # noqa: BLE001 - any error here means the context is gone
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    return None


def _device_for(backend: Backend) -> str:
    return "cuda" if backend.device_type == "cuda" else "cpu"


def backend_spec(backend: Backend) -> str:
    from mhc_kernels import BUILTIN_BACKENDS

    if BUILTIN_BACKENDS.get(backend.name, "").endswith(":" + type(backend).__qualname__):
        return backend.name
    return f"{type(backend).__module__}:{type(backend).__qualname__}"


def run_case(backend: Backend, case: Case, diagnostics: bool = False,
             inputs: dict[str, torch.Tensor] | None = None) -> CaseResult:
    result = _run_case(backend, case, diagnostics, inputs)
    result.backend_spec = backend_spec(backend)
    return result


def _run_case(backend: Backend, case: Case, diagnostics: bool = False,
              inputs: dict[str, torch.Tensor] | None = None) -> CaseResult:
    start = time.perf_counter()
    params = case.param_dict()
    if inputs is None:
        inputs = build_inputs(case, _device_for(backend))
    sizes = dim_sizes(case.T, case.n, case.H, case.n_splits)
    unsupported = backend.supports(case.op, sizes, inputs, params)
    if unsupported:
        return CaseResult(case, backend.name, "not_applicable", unsupported)
    try:
        outputs = backend.run(case.op, inputs, params)
    except ConstraintError as e:
        return CaseResult(case, backend.name, "not_applicable", str(e))
    except (ContractError, NotImplementedError) as e:
        return CaseResult(case, backend.name, "error", f"{type(e).__name__}: {e}")
    except torch.OutOfMemoryError as e:  # an OOM is a failure, never a skip
        return CaseResult(case, backend.name, "error", f"out of memory: {e}")
    except Exception as e:  # noqa: BLE001 - a crashing kernel is a failure with its traceback
        reraise_if_stopping(e)  # unless the run is being stopped: then the error is the stop's echo
        return CaseResult(case, backend.name, "error", f"{type(e).__name__}: {e!r}\n{innermost_traceback(e)}")
    # The diagnostic runs where the judgement takes the case in one piece (<= JUDGE_CHUNK_ELEMENTS
    # per tensor), on the float64 reference built once for both. On a case judged in token chunks
    # it would build a whole-case reference: 18 GB of float64 x alone for prenorm_gemm at
    # 80 000 x 7168, which is what the chunking exists to avoid (and with one check process per
    # backend sharing a GPU, such peaks add up).
    one_piece = case.T <= _judge_step(case, inputs, outputs)
    diagnose = diagnostics and one_piece and backend.name != "torch"
    semantics = backend.semantics_for(case.op)
    ref = reference_outputs(case, inputs, params, outputs, semantics) if diagnose else None
    result = judge(backend, case, inputs, params, outputs, ref=ref)
    if diagnose:
        result.torch_ratio = _torch_ratio(case, inputs, params, outputs, ref if semantics.is_engine else None)
    if one_piece and backend.departures(case.op):
        # a departure of precision only keeps the engines' reference: the one built above serves
        result.engine_ratio = engine_semantics_ratio(backend, case, inputs, params, outputs,
                                                     ref if semantics.is_engine else None)
    result.seconds = time.perf_counter() - start
    return result


def innermost_traceback(e: BaseException, frames: int = 12) -> str:
    """The frames nearest the raise (where a kernel library failed), with chained causes; the outer
    frames (harness, Hypothesis) say nothing about why a kernel crashed."""
    parts = traceback.format_exception(e)
    return "".join(parts[:1] + (["  ...\n"] if len(parts) > frames + 1 else []) + parts[-frames:])


def reference_outputs(case: Case, inputs: dict, params: dict, outputs: dict,
                      semantics: Semantics = ENGINE_SEMANTICS) -> dict[str, torch.Tensor]:
    ref_fn = reference_for(case.op)
    if case.op == "fused_post_pre":
        # Dtype-faithful: the next layer's pre sees the bf16 residual this kernel wrote (or, where
        # the backend declares it, the unrounded one for its GEMM or sum of squares).
        return ref_fn(inputs, params, pre_input=outputs["residual_out"], semantics=semantics)
    if not semantics.is_engine:
        raise ContractError(f"{case.op}: a Semantics departure is defined for fused_post_pre only")
    return ref_fn(inputs, params)


def engine_semantics_ratio(backend: Backend, case: Case, inputs: dict, params: dict, outputs: dict,
                           ref: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
    """Per output, max err/bound of these outputs against the engines' unfused op at the engines'
    precision (fp32 products): the change a swap to this backend makes, which its own declaration
    (a looser matmul, another semantics) is not allowed to hide. ``ref``: the engines' reference of
    these outputs, if the caller has it."""
    precision = dataclasses.replace(backend.precision_for(case.op), matmul="fp32")
    engine_view = backend.with_overrides(semantics={}, precision={case.op: precision})
    checks = _judge_chunk(engine_view, case, inputs, params, outputs, ref)
    return {c.name: c.max_ratio for c in checks}


# Judge at most this many output elements at once: float64 reference, bounds and errors of a
# 80 000 x 4 x 7168 output would need ~70 GB at once. Every op is independent per token, so
# judging token chunks is exact.
JUDGE_CHUNK_ELEMENTS = 1 << 26


def _token_slice(spec, tensors: dict, rows: slice) -> dict:
    sliced = {}
    for name, value in tensors.items():
        t_spec = next((s for s in (*spec.inputs, *spec.outputs) if s.name == name), None)
        if value is None or t_spec is None or "T" not in t_spec.dims:
            sliced[name] = value
        else:
            dim = t_spec.dims.index("T")
            sliced[name] = value.narrow(dim, rows.start, rows.stop - rows.start)
    return sliced


def _judge_step(case: Case, inputs: dict, outputs: dict) -> int:
    """Tokens per judgement chunk: at most JUDGE_CHUNK_ELEMENTS elements of any tensor at once."""
    tensors = [v for v in (*inputs.values(), *outputs.values()) if isinstance(v, torch.Tensor)]
    per_token = max((v.numel() // max(1, case.T) for v in tensors), default=1)
    return max(1, JUDGE_CHUNK_ELEMENTS // max(1, per_token))


@dataclass
class JudgeChunk:
    """One token chunk of a judgement: ``rows`` of the case, or None for the case in one piece."""
    rows: slice | None

    def of(self, spec, tensors: dict | None) -> dict | None:
        return tensors if tensors is None or self.rows is None else _token_slice(spec, tensors, self.rows)


def judge_chunks(case: Case, inputs: dict, outputs: dict) -> list[JudgeChunk]:
    """How judge splits a case: one piece up to JUDGE_CHUNK_ELEMENTS per tensor, else token chunks."""
    step = _judge_step(case, inputs, outputs)
    if case.T <= step:
        return [JudgeChunk(None)]
    return [JudgeChunk(slice(start, min(case.T, start + step))) for start in range(0, case.T, step)]


def judge(backend: Backend, case: Case, inputs: dict, params: dict, outputs: dict,
          ref: dict[str, torch.Tensor] | None = None) -> CaseResult:
    """The case's verdict: every output against the float64 reference within its bound, judged in
    token chunks of at most JUDGE_CHUNK_ELEMENTS. ``ref``: the whole case's reference
    (reference_outputs), if the caller built it already."""
    spec = get_op(case.op)
    chunks = judge_chunks(case, inputs, outputs)
    # one chunk at a time: its float64 reference and bounds are freed before the next is built
    checks = [_judge_chunk(backend, case, chunk.of(spec, inputs), params, chunk.of(spec, outputs),
                           chunk.of(spec, ref)) for chunk in chunks]
    return verdict(backend, case, outputs, chunks, checks)


def verdict(backend: Backend, case: Case, outputs: dict, chunks: list[JudgeChunk],
            checks: list[list[OutputCheck]]) -> CaseResult:
    """The CaseResult of the per-chunk checks (one list per chunk, in output order)."""
    spec = get_op(case.op)
    if len(chunks) == 1 and chunks[0].rows is None:
        merged = checks[0]
    else:
        parts: dict[str, list] = {}
        for chunk, chunk_checks in zip(chunks, checks):
            for c in chunk_checks:
                parts.setdefault(c.name, []).append((chunk.rows.start, c))
        merged = [merge_checks(parts[name], spec.output(name).dims.index("T")) for name in outputs]
    failed = [c for c in merged if not c.passed]
    status = "fail" if failed else "pass"
    reason = "; ".join(c.problem() for c in failed)
    known = backend.known_issues.get(case.op)
    if failed and known:
        reason += f" [known issue: {known}]"
    return CaseResult(case, backend.name, status, reason, merged)


def prepare_chunk(backend: Backend, case: Case, inputs: dict, params: dict, outputs: dict,
                  ref: dict[str, torch.Tensor] | None = None) -> dict[str, PreparedOutput]:
    """The float64 reference and bounds of one chunk, ready for check_prepared: everything of a
    judgement that does not read the kernel's values (except, for fused_post_pre, the residual
    the pre reads: see mhc_verify.judge_cache.REFERENCE_READS)."""
    if ref is None:
        ref = reference_outputs(case, inputs, params, outputs, backend.semantics_for(case.op))
    bounds = op_bounds(case.op, inputs, params, ref, outputs, backend.precision_for(case.op))
    return {name: prepare_output(ref[name], bounds[name], value.dtype, value.device)
            for name, value in outputs.items()}


def compare_chunk(outputs: dict, prepared: dict[str, PreparedOutput]) -> list[OutputCheck]:
    return [check_prepared(name, value, prepared[name]) for name, value in outputs.items()]


def _judge_chunk(backend: Backend, case: Case, inputs: dict, params: dict, outputs: dict,
                 ref: dict[str, torch.Tensor] | None = None) -> list[OutputCheck]:
    return compare_chunk(outputs, prepare_chunk(backend, case, inputs, params, outputs, ref))


def _torch_ratio(case: Case, inputs: dict, params: dict, outputs: dict,
                 ref_mine: dict[str, torch.Tensor] | None = None) -> dict[str, float]:
    """FlashAttention-style diagnostic: this backend's max error over torch fp32's on the same inputs.
    ``ref_mine``: the reference for these outputs, if the caller has it (reference_outputs)."""
    from mhc_kernels.torch_native import TorchNativeBackend

    torch_out = TorchNativeBackend().run(case.op, inputs, params)
    if ref_mine is None:
        ref_mine = reference_outputs(case, inputs, params, outputs)
    # Each against the reference of its own intermediate: the fused post+pre's pre reads the bf16
    # residual that backend wrote, and one residual element an ulp apart moves the mixes downstream
    # (judged against torch's residual, our H100 kernels, every case within its bound, showed
    # ratios of 10^3 in the post and comb mixes). Every other op's reference reads only the inputs.
    ref_theirs = reference_outputs(case, inputs, params, torch_out) if case.op == "fused_post_pre" else ref_mine
    ratios: dict[str, float] = {}
    for name, out in outputs.items():
        r = ref_mine[name].to(out.device)
        r_theirs = ref_theirs[name].to(out.device)
        ok = torch.isfinite(r) & torch.isfinite(r_theirs)
        if not ok.any():
            continue
        mine = float((out.double() - r).abs()[ok].max())
        theirs = float((torch_out[name].double().to(out.device) - r_theirs).abs()[ok].max())
        ratios[name] = mine / theirs if theirs > 0 else (0.0 if mine == 0 else float("inf"))
    return ratios


def describe_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))
