"""The backend contract: one class per backend, ops as methods named after the op contract.

A backend declares, as data: whether it is available (and why not), its provenance, the ops it
implements, the arithmetic precision of each op, and the shapes it supports. ``Backend.run``
checks the op contract and the declared constraints before calling the kernel, so a call outside
them raises a clear error instead of computing garbage.

Third parties subclass ``Backend`` in their own package and register it under the entry-point
group ``mhc_verify.backends`` (or pass ``--backend module:attr``); nothing here needs editing.
This module imports only torch and the op contract: never the harness.
"""

from __future__ import annotations

import dataclasses
import platform
from dataclasses import dataclass
from typing import Any, Mapping

import torch

from mhc_reference.contract import (ENGINE_SEMANTICS, OPS, ContractError, OpSpec, Semantics, get_op, shape_of,
                                    validate)

MATMUL_PRECISIONS = ("fp32", "tf32", "bf16x3", "bf16")


class ConstraintError(ContractError):
    """A valid call that falls outside what this backend declares it supports."""


@dataclass(frozen=True)
class Precision:
    """What a backend's arithmetic promises for one op; the error model turns it into bounds.

    matmul: how the fp32 operand of the prenorm GEMM (fn) enters the products: ``fp32`` exact,
        ``tf32`` rounded to 10 mantissa bits, ``bf16x3`` split into bf16 pieces, ``bf16`` rounded
        to bf16 (x is bf16, so it is exact in every format).
    accumulate: precision of every sum (``fp32`` or ``bf16``).
    accumulation_depth: the longest chain of sequential additions into one accumulator of the
        prenorm GEMM, as a function of K; None means K (a serial sum: always safe).
    elementwise_ulps: fp32 ulps of error per transcendental (exp, sigmoid, rsqrt); fast-math
        approximations on GPUs need 2 to 4.
    deterministic: bitwise-identical outputs on identical inputs (enables bitwise rerun checks).
    """

    matmul: str = "fp32"
    accumulate: str = "fp32"
    accumulation_depth: int | None = None
    elementwise_ulps: float = 4.0
    deterministic: bool = False

    def __post_init__(self) -> None:
        if self.matmul not in MATMUL_PRECISIONS:
            raise ValueError(f"matmul precision {self.matmul!r} not in {MATMUL_PRECISIONS}")
        if self.accumulate not in ("fp32", "bf16"):
            raise ValueError(f"accumulate precision {self.accumulate!r} not in ('fp32', 'bf16')")


@dataclass(frozen=True)
class Constraints:
    """Shapes and parameters a backend supports for one op (data, checked before every call)."""

    hc_mult: tuple[int, ...] | None = None  # allowed n; None = 1..8
    hidden_multiple_of: int = 1
    min_k: int = 0  # smallest K = n*H (the flattened residual's width) the backend supports
    n_splits: tuple[int, ...] | None = None  # allowed n_splits; None = any divisor of K
    split_multiple_of: int = 1  # K / n_splits (one split's K range) must be a multiple of this
    min_tokens: int = 0
    max_tokens: int | None = None
    devices: tuple[str, ...] = ("cpu", "cuda")
    norm_weight: bool | None = None  # True: required, False: unsupported, None: optional
    strided_inputs: bool = True  # accepts the contract's may_be_strided inputs as views

    def check(self, spec: OpSpec, sizes: Mapping[str, int], inputs: Mapping[str, Any],
              params: Mapping[str, Any], backend: str) -> None:
        where = f"{backend}/{spec.name}:"
        n, h, t = sizes.get("n"), sizes.get("H"), sizes.get("T")
        if self.hc_mult is not None and n is not None and n not in self.hc_mult:
            raise ConstraintError(f"{where} hc_mult n={n} not supported (supports {list(self.hc_mult)})")
        if h is not None and h % self.hidden_multiple_of:
            raise ConstraintError(f"{where} hidden size H={h} must be a multiple of {self.hidden_multiple_of}")
        if n is not None and h is not None and n * h < self.min_k:
            raise ConstraintError(f"{where} K = n*H = {n}*{h} = {n * h} is below the minimum {self.min_k}")
        s = params.get("n_splits")
        if self.n_splits is not None and s is not None and s not in self.n_splits:
            raise ConstraintError(f"{where} n_splits={s} not supported (supports {list(self.n_splits)})")
        k = sizes.get("K")
        if s is not None and k is not None and (k % s or (k // s) % self.split_multiple_of):
            raise ConstraintError(f"{where} n_splits={s}: K/n_splits = {k}/{s} must be a multiple of "
                                  f"{self.split_multiple_of}")
        if t is not None and t < self.min_tokens:
            raise ConstraintError(f"{where} T={t} tokens is below the minimum {self.min_tokens}")
        if t is not None and self.max_tokens is not None and t > self.max_tokens:
            raise ConstraintError(f"{where} T={t} tokens is above the maximum {self.max_tokens}")
        for name, value in inputs.items():
            if isinstance(value, torch.Tensor) and value.device.type not in self.devices:
                raise ConstraintError(f"{where} input {name!r} is on {value.device.type}; "
                                      f"this backend runs on {list(self.devices)}")
            if (isinstance(value, torch.Tensor) and not self.strided_inputs
                    and not value.is_contiguous()):
                raise ConstraintError(f"{where} input {name!r} must be contiguous for this backend")
        if "norm_weight" in spec.input_names:
            given = inputs.get("norm_weight") is not None
            if self.norm_weight is True and not given:
                raise ConstraintError(f"{where} requires norm_weight")
            if self.norm_weight is False and given:
                raise ConstraintError(f"{where} does not support norm_weight")


class Backend:
    """Base class of every backend. Subclasses implement ops as methods named after the op.

    A method receives the op's inputs and parameters as keyword arguments (absent optional
    inputs as None) and returns the outputs in the contract's order (a tensor or a tuple).
    """

    name: str = ""
    description: str = ""
    device_type: str = "cpu"  # where the harness builds this backend's inputs
    default_precision: Precision = Precision()
    precision: Mapping[str, Precision] = {}
    default_constraints: Constraints = Constraints()
    constraints: Mapping[str, Constraints] = {}
    # Per op, where the kernel departs by design from the engines' unfused semantics (see
    # contract.Semantics); the harness judges the declaration and reports the distance from the
    # engines' semantics beside it.
    semantics: Mapping[str, Semantics] = {}
    # A known-bad version (or similar) that should still be checked but flagged in reports.
    known_issues: Mapping[str, str] = {}
    # Why an op the backend does not implement is missing, for the report ("not implemented: why").
    not_implemented: Mapping[str, str] = {}

    def available(self) -> tuple[bool, str]:
        return True, "pure torch"

    def provenance(self) -> dict[str, Any]:
        prov = {"backend": self.name, "torch": torch.__version__, "python": platform.python_version(),
                "module": type(self).__module__, "class": type(self).__qualname__}
        calls = getattr(self, "_engine_calls", None)
        if calls:
            prov["calls"] = dict(calls)
        return prov

    def implements(self) -> tuple[str, ...]:
        return tuple(op for op in OPS if callable(getattr(self, op, None)))

    def precision_for(self, op: str) -> Precision:
        return self.precision.get(op, self.default_precision)

    def semantics_for(self, op: str) -> Semantics:
        return self.semantics.get(op, ENGINE_SEMANTICS)

    def departures(self, op: str) -> str | None:
        """What this backend declares it computes differently from the engines' unfused op (its
        semantics, or fn rounded to bf16 in the GEMM), or None when it declares the engines' op."""
        parts = [] if self.semantics_for(op).is_engine else [self.semantics_for(op).describe()]
        if self.precision_for(op).matmul == "bf16" and op in ("prenorm_gemm", "mhc_pre", "hc_head",
                                                                "fused_post_pre"):
            parts.append("fn rounded to bf16 in the GEMM")
        return "; ".join(parts) or None

    def path_boundaries(self, op: str) -> tuple[int, ...]:
        """Token counts where this backend's kernels for ``op`` change (each side of every threshold: the last T of
        one path and the first of the next), for the nightly check to run a case at each whatever Hypothesis
        draws (its profile's path anchors): a kernel taken only inside a window of a few hundred token counts is
        otherwise rarely drawn. None by default."""
        return ()

    def stress_variants(self, op: str) -> dict[str, "Backend"]:
        """Other configurations of this backend for ``op`` (split, block or chunk knobs) that compute
        the same function, perhaps with other roundings: the race-stress runner alternates between
        them (``mhc-verify stress --vary-config``), each with its own bitwise baseline. None by default."""
        return {}

    def constraints_for(self, op: str) -> Constraints:
        return self.constraints.get(op, self.default_constraints)

    def supports(self, op: str, sizes: Mapping[str, int], inputs: Mapping[str, Any],
                 params: Mapping[str, Any]) -> str | None:
        """None if the call is inside the declared constraints, else the reason it is not."""
        try:
            self.constraints_for(op).check(get_op(op), sizes, inputs, params, self.name)
        except ConstraintError as e:
            return str(e)
        return None

    def run(self, op: str, inputs: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        spec = get_op(op)
        fn = getattr(self, op, None)
        if not callable(fn):
            raise NotImplementedError(f"backend {self.name!r} does not implement op {op!r}")
        sizes = validate(spec, inputs, params)
        full_params = {p.name: params.get(p.name, p.default) for p in spec.params}
        self.constraints_for(op).check(spec, sizes, inputs, full_params, self.name)
        kwargs = {name: inputs.get(name) for name in spec.input_names}
        kwargs.update(full_params)
        result = fn(**kwargs)
        if isinstance(result, torch.Tensor):
            result = (result,)
        if isinstance(result, Mapping):
            result = tuple(result[name] for name in spec.output_names)
        if len(result) != len(spec.outputs):
            raise ContractError(f"{self.name}/{op}: returned {len(result)} outputs, "
                                f"the contract has {len(spec.outputs)} ({list(spec.output_names)})")
        outputs = {}
        for out_spec, value in zip(spec.outputs, result):
            want = shape_of(out_spec, sizes)
            if not isinstance(value, torch.Tensor) or value.dtype != out_spec.dtype or tuple(value.shape) != want:
                got = (f"{tuple(value.shape)} {value.dtype}" if isinstance(value, torch.Tensor)
                       else type(value).__name__)
                raise ContractError(f"{self.name}/{op}: output {out_spec.name!r} must be {want} "
                                    f"{out_spec.dtype}, got {got}")
            outputs[out_spec.name] = value
        return outputs

    def compose_post_then_pre(self, x, residual, post_mix, comb_mix, fn, hc_scale, hc_base, norm_weight, rms_eps,
                              hc_pre_eps, hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps, n_splits):
        """fused_post_pre as this backend's hc_post, then its mhc_pre on the bf16 residual written,
        for backends whose library offers no fused op (``fused_post_pre = Backend.compose_post_then_pre``)."""
        new_residual = self.hc_post(x, residual, post_mix, comb_mix)
        post, comb, layer_input = self.mhc_pre(new_residual, fn, hc_scale, hc_base, norm_weight, rms_eps, hc_pre_eps,
                                               hc_sinkhorn_eps, hc_post_mult_value, sinkhorn_repeat, norm_eps,
                                               n_splits)
        return new_residual, post, comb, layer_input

    def with_overrides(self, **changes: Any) -> "Backend":
        """A shallow copy with some class attributes replaced (used by tests and mutants)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        for k, v in changes.items():
            setattr(clone, k, v)
        return clone


def replace_precision(p: Precision, **changes: Any) -> Precision:
    return dataclasses.replace(p, **changes)


__all__ = ["Backend", "Constraints", "ConstraintError", "Precision", "MATMUL_PRECISIONS", "Semantics", "replace_precision"]
