"""The op contract: every mHC op's name, tensors, dtypes, shapes and parameters, declared once.

Every layer reads this module: the float64 reference (``mhc_reference``), the backends
(``mhc_kernels``) and the harness (``mhc_verify``). Nothing else restates a shape.

Shapes are written with symbolic dimensions:

====  =========================================================================
T     tokens (any leading dims of an engine call flatten to T)
n     hc_mult, the number of residual streams (4 in DeepSeek V4; 1..8 here)
H     hidden size
K     n * H, the flattened residual row (the prenorm GEMM's reduction length)
M     n * n + 2 * n, the number of mixes (pre n, post n, comb n*n)
S     n_splits, the split-K factor of the prenorm GEMM
====  =========================================================================

Engine semantics (vLLM ``model_executor/kernels/mhc``) decide where descriptions differ:
``norm_weight`` is the bf16 RMSNorm weight [H] applied to the bf16 ``layer_input`` (vLLM's
``mhc_pre_big_fuse_with_norm``), not TileKernels' training-side fp32 ``fn * norm_weight`` merge;
the fused post+pre feeds the pre the *bf16-rounded* residual it returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import torch

MAX_HC_MULT = 8


class ContractError(ValueError):
    """An input or parameter violates the op contract. The message says which and why."""


@dataclass(frozen=True)
class TensorSpec:
    name: str
    dims: tuple[str, ...]
    dtype: torch.dtype
    doc: str = ""
    optional: bool = False
    # Engines pass some inputs as strided views (vLLM's collapse accepts strided streams); the
    # contract says which inputs a backend must accept non-contiguous. Outputs are always dense.
    may_be_strided: bool = False


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: type
    default: Any
    doc: str = ""
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class OpSpec:
    name: str
    doc: str
    inputs: tuple[TensorSpec, ...]
    params: tuple[ParamSpec, ...]
    outputs: tuple[TensorSpec, ...]
    # Parameters that bind a symbolic dimension (e.g. n_splits binds S).
    param_dims: Mapping[str, str] = field(default_factory=dict)

    def input(self, name: str) -> TensorSpec:
        return next(s for s in self.inputs if s.name == name)

    def output(self, name: str) -> TensorSpec:
        return next(s for s in self.outputs if s.name == name)

    def param(self, name: str) -> ParamSpec:
        return next(p for p in self.params if p.name == name)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.outputs)

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)


BF16, F32 = torch.bfloat16, torch.float32

# Parameters shared by several ops, declared once.
_RMS_EPS = ParamSpec("rms_eps", float, 1e-6, "epsilon inside rsqrt(sqrsum/K + rms_eps)", 0.0)
_PRE_EPS = ParamSpec("hc_pre_eps", float, 1e-6, "added after the pre sigmoid", 0.0)
_SK_EPS = ParamSpec("hc_sinkhorn_eps", float, 1e-6, "Sinkhorn epsilon", 0.0)
_POST_MULT = ParamSpec("hc_post_mult_value", float, 2.0, "post sigmoid multiplier")
_SK_REPEAT = ParamSpec("sinkhorn_repeat", int, 20, "Sinkhorn repeats (DSV4: 20)", 1, 1000)
_N_SPLITS = ParamSpec("n_splits", int, 1, "split-K factor; must divide K", 1, 1 << 16)
_NORM_EPS = ParamSpec("norm_eps", float, 1e-6, "RMSNorm epsilon for layer_input (with norm_weight)", 0.0)
_RMS_NUMEL = ParamSpec("rms_numel", int, 0, "K = n*H, the RMS group size", 1)

_PRE_PARAMS = (_RMS_EPS, _PRE_EPS, _SK_EPS, _POST_MULT, _SK_REPEAT, _NORM_EPS)

_RESIDUAL = TensorSpec("residual", ("T", "n", "H"), BF16, "the n residual streams")
_FN = TensorSpec("fn", ("M", "K"), F32, "mix projection")
_SCALE3 = TensorSpec("hc_scale", ("3",), F32, "scales of the pre, post and comb logits")
_BASE = TensorSpec("hc_base", ("M",), F32, "biases of the M logits")
_NORM_W = TensorSpec("norm_weight", ("H",), BF16, "RMSNorm weight of layer_input", optional=True)
_MIX_P = TensorSpec("mixes_partial", ("S", "T", "M"), F32, "split-K partials of x @ fn.T")
_SQR_P = TensorSpec("sqrsum_partial", ("S", "T"), F32, "split-K partials of sum(x*x)")
_POST_MIX = TensorSpec("post_mix", ("T", "n", "1"), F32, "post weights")
_COMB_MIX = TensorSpec("comb_mix", ("T", "n", "n"), F32, "doubly-stochastic residual mix")
_LAYER_IN = TensorSpec("layer_input", ("T", "H"), BF16, "sum_k pre[:, k] * residual[:, k]")

OPS: dict[str, OpSpec] = {}


@dataclass(frozen=True)
class Semantics:
    """Where a fused kernel departs, by design, from the engines' unfused composition of its op.

    The engines' fused post+pre (vLLM's unfused path, ``fused_post_pre`` in this contract) feeds
    the next layer's pre the *bf16* residual that hc_post wrote. Some fused kernels keep the fp32
    residual in registers and feed that instead, to the GEMM, to the sum of squares, or to both
    (aiter's Triton ``mhc_post_pre`` squares the unrounded value and multiplies the rounded one).
    A backend declares such a departure per op; the harness judges it against the float64
    reference of what it declares and also reports how far it lands from the engines' semantics,
    so a declaration can never hide the difference a swap to it makes. (fn rounded to bf16 in the
    GEMM is a departure of precision: ``Precision.matmul``.)

    gemm_from_unrounded: the pre's GEMM reads the unrounded new residual (fused_post_pre only).
    sqrsum_from_unrounded: the pre's sum of squares reads the unrounded new residual.
    """

    gemm_from_unrounded: bool = False
    sqrsum_from_unrounded: bool = False

    @property
    def is_engine(self) -> bool:
        return self == ENGINE_SEMANTICS

    def describe(self) -> str:
        parts = [f"{what} from the unrounded fp32 residual" for what, on in
                 (("GEMM", self.gemm_from_unrounded), ("sum of squares", self.sqrsum_from_unrounded)) if on]
        return "; ".join(parts) or "the engines' unfused semantics"


ENGINE_SEMANTICS = Semantics()


def _register(spec: OpSpec) -> OpSpec:
    OPS[spec.name] = spec
    return spec


_register(OpSpec(
    "prenorm_gemm",
    "x @ fn.T and sum(x*x) per token, as S split-K partials over contiguous K ranges of K/S.",
    inputs=(TensorSpec("x", ("T", "K"), BF16, "the residual flattened to [T, n*H]"), _FN),
    params=(_N_SPLITS,),
    outputs=(_MIX_P, _SQR_P),
    param_dims={"n_splits": "S"},
))
_register(OpSpec(
    "mixes",
    "Sum the split-K partials, RMS-scale, and split into pre/post weights and comb logits.",
    inputs=(_MIX_P, _SQR_P, _SCALE3, _BASE),
    params=(_RMS_EPS, _PRE_EPS, _POST_MULT, _RMS_NUMEL),
    outputs=(
        TensorSpec("pre", ("T", "n"), F32, "sigmoid(m[:, :n]*s0 + b) + hc_pre_eps"),
        TensorSpec("post", ("T", "n"), F32, "sigmoid(m[:, n:2n]*s1 + b) * hc_post_mult_value"),
        TensorSpec("comb_logits", ("T", "n", "n"), F32, "m[:, 2n:]*s2 + b"),
    ),
    param_dims={"rms_numel": "K"},
))
_register(OpSpec(
    "pre_mix",
    "The pre gate alone from the split-K partials (vLLM's delayed pre carries it to the next seam).",
    inputs=(_MIX_P, _SQR_P, _SCALE3, _BASE),
    params=(_RMS_EPS, _PRE_EPS, _RMS_NUMEL),
    outputs=(TensorSpec("pre", ("T", "n"), F32, "sigmoid(m[:, :n]*s0 + b) + hc_pre_eps"),),
    param_dims={"rms_numel": "K"},
))
_register(OpSpec(
    "sinkhorn",
    "softmax over the last dim + eps, then alternating column/row normalisation.",
    inputs=(TensorSpec("comb_logits", ("T", "n", "n"), F32),),
    params=(_SK_REPEAT, _SK_EPS),
    outputs=(_COMB_MIX,),
))
_register(OpSpec(
    "layer_input",
    "sum_k pre[:, k] * residual[:, k, :] in fp32, one rounding to bf16.",
    inputs=(TensorSpec("residual", ("T", "n", "H"), BF16, "streams", may_be_strided=True),
            TensorSpec("pre", ("T", "n"), F32, "pre weights", may_be_strided=True)),
    params=(),
    outputs=(_LAYER_IN,),
))
_register(OpSpec(
    "pre_big_fuse",
    "mixes + sinkhorn + layer_input (+ optional RMSNorm) from the GEMM's split-K partials.",
    inputs=(_MIX_P, _SQR_P, _SCALE3, _BASE, _RESIDUAL, _NORM_W),
    params=_PRE_PARAMS,
    outputs=(_POST_MIX, _COMB_MIX, _LAYER_IN),
))
_register(OpSpec(
    "mhc_pre",
    "The fused pre the engines call: prenorm_gemm then pre_big_fuse.",
    inputs=(_RESIDUAL, _FN, _SCALE3, _BASE, _NORM_W),
    params=_PRE_PARAMS + (_N_SPLITS,),
    outputs=(_POST_MIX, _COMB_MIX, _LAYER_IN),
    param_dims={"n_splits": "S"},
))
_register(OpSpec(
    "hc_post",
    "out[:, j] = sum_i comb[:, i, j] * residual[:, i] + post[:, j] * x, fp32 math, bf16 out.",
    inputs=(TensorSpec("x", ("T", "H"), BF16, "the sublayer output"), _RESIDUAL, _POST_MIX, _COMB_MIX),
    params=(),
    outputs=(TensorSpec("out", ("T", "n", "H"), BF16, "the new residual streams"),),
))
_register(OpSpec(
    "hc_head",
    "Last layer: w = sigmoid((x @ fn.T) * rsqrt(mean(x*x) + rms_eps) * s + b) + hc_eps; "
    "out = sum_k w_k * residual_k.",
    inputs=(_RESIDUAL, TensorSpec("fn", ("n", "K"), F32, "head projection"),
            TensorSpec("hc_scale", ("1",), F32, "head scale"),
            TensorSpec("hc_base", ("n",), F32, "head bias")),
    params=(_RMS_EPS, ParamSpec("hc_eps", float, 1e-6, "added after the head sigmoid", 0.0)),
    outputs=(TensorSpec("out", ("T", "H"), BF16, "the collapsed hidden state"),),
))
_register(OpSpec(
    "fused_post_pre",
    "hc_post of layer L, then mhc_pre of layer L+1 on the bf16 residual it produced.",
    inputs=(TensorSpec("x", ("T", "H"), BF16, "the sublayer output"), _RESIDUAL, _POST_MIX, _COMB_MIX,
            _FN, _SCALE3, _BASE, _NORM_W),
    params=_PRE_PARAMS + (_N_SPLITS,),
    outputs=(
        TensorSpec("residual_out", ("T", "n", "H"), BF16, "hc_post's output"),
        TensorSpec("post_mix_out", ("T", "n", "1"), F32, "next layer's post weights"),
        TensorSpec("comb_mix_out", ("T", "n", "n"), F32, "next layer's comb mix"),
        TensorSpec("layer_input", ("T", "H"), BF16, "next layer's input"),
    ),
    param_dims={"n_splits": "S"},
))


def get_op(name: str) -> OpSpec:
    try:
        return OPS[name]
    except KeyError:
        raise ContractError(f"unknown op {name!r}; the ops are: {', '.join(OPS)}") from None


def mix_count(n: int) -> int:
    """M = n*n + 2n."""
    return n * n + 2 * n


def hc_mult_from_mix_count(m: int) -> int | None:
    n = int(round(math.sqrt(m + 1))) - 1
    return n if n >= 1 and mix_count(n) == m else None


def dim_sizes(T: int, n: int, H: int, n_splits: int = 1) -> dict[str, int]:
    """The size of every symbolic dimension for a case."""
    return {"T": T, "n": n, "H": H, "K": n * H, "M": mix_count(n), "S": n_splits, "1": 1, "3": 3}


def shape_of(spec: TensorSpec, sizes: Mapping[str, int]) -> tuple[int, ...]:
    return tuple(sizes[d] for d in spec.dims)


def _fmt(spec: TensorSpec) -> str:
    return f"[{', '.join(spec.dims)}] {str(spec.dtype).replace('torch.', '')}"


def validate(op: str | OpSpec, inputs: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, int]:
    """Check inputs and parameters against the contract; return the bound dimension sizes.

    Raises ContractError naming the op, the argument, what was expected and what was given.
    """
    spec = get_op(op) if isinstance(op, str) else op
    where = f"{spec.name}:"
    unknown = set(inputs) - set(spec.input_names)
    if unknown:
        raise ContractError(f"{where} unknown input(s) {sorted(unknown)}; expected {list(spec.input_names)}")
    unknown = set(params) - set(spec.param_names)
    if unknown:
        raise ContractError(f"{where} unknown parameter(s) {sorted(unknown)}; expected {list(spec.param_names)}")

    bound: dict[str, int] = {"1": 1, "3": 3}
    for p in spec.params:
        value = params.get(p.name, p.default)
        _check_param(where, p, value)
        if p.name in spec.param_dims:
            bound[spec.param_dims[p.name]] = int(value)

    device = None
    for t in spec.inputs:
        value = inputs.get(t.name)
        if value is None:
            if t.optional:
                continue
            raise ContractError(f"{where} missing input {t.name!r} ({_fmt(t)})")
        if not isinstance(value, torch.Tensor):
            raise ContractError(f"{where} input {t.name!r} must be a torch.Tensor, got {type(value).__name__}")
        if value.dtype != t.dtype:
            raise ContractError(f"{where} input {t.name!r} must be {_fmt(t)}, got dtype {value.dtype}")
        if value.dim() != len(t.dims):
            raise ContractError(
                f"{where} input {t.name!r} must be {_fmt(t)} ({len(t.dims)} dims), got shape {tuple(value.shape)}")
        if device is None:
            device = value.device
        elif value.device != device:
            raise ContractError(f"{where} input {t.name!r} is on {value.device}, other inputs on {device}")
        if not t.may_be_strided and not value.is_contiguous():
            raise ContractError(f"{where} input {t.name!r} must be contiguous (strides {value.stride()})")
        for d, size in zip(t.dims, value.shape):
            _bind(where, t.name, bound, d, int(size), spec)
    _derive(where, bound, spec)
    return bound


def _check_param(where: str, p: ParamSpec, value: Any) -> None:
    if p.kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ContractError(f"{where} parameter {p.name!r} must be an int, got {value!r}")
    else:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ContractError(f"{where} parameter {p.name!r} must be a float, got {value!r}")
        if not math.isfinite(float(value)):
            raise ContractError(f"{where} parameter {p.name!r} must be finite, got {value!r}")
    if p.minimum is not None and value < p.minimum:
        raise ContractError(f"{where} parameter {p.name!r} must be >= {p.minimum}, got {value!r}")
    if p.maximum is not None and value > p.maximum:
        raise ContractError(f"{where} parameter {p.name!r} must be <= {p.maximum}, got {value!r}")


def _bind(where: str, name: str, bound: dict[str, int], dim: str, size: int, spec: OpSpec) -> None:
    if dim == "M":
        n = hc_mult_from_mix_count(size)
        if n is None:
            raise ContractError(f"{where} {name!r}: mix dimension M={size} is not n*n+2n for any n")
        _bind(where, name, bound, "n", n, spec)
    if dim in bound and bound[dim] != size:
        owner = next((p for p, d in spec.param_dims.items() if d == dim), None)
        source = f" (set by {owner}={bound[dim]})" if owner else f" (bound to {bound[dim]} by another input)"
        raise ContractError(f"{where} {name!r}: dimension {dim} is {size}, expected {bound[dim]}{source}")
    bound[dim] = size


def _derive(where: str, bound: dict[str, int], spec: OpSpec) -> None:
    n = bound.get("n")
    if n is not None and not 1 <= n <= MAX_HC_MULT:
        raise ContractError(f"{where} hc_mult n={n} is outside 1..{MAX_HC_MULT}")
    if n is not None and "H" in bound:
        k = n * bound["H"]
        if bound.setdefault("K", k) != k:
            raise ContractError(f"{where} K={bound['K']} but n*H = {n}*{bound['H']} = {k}")
    if n is not None and "K" in bound and "H" not in bound:
        if bound["K"] % n:
            raise ContractError(f"{where} K={bound['K']} is not a multiple of n={n}")
        bound["H"] = bound["K"] // n
    if n is not None:
        bound.setdefault("M", mix_count(n))
    s = bound.get("S")
    if s is not None and "K" in bound and bound["K"] % s:
        raise ContractError(f"{where} n_splits={s} does not divide K=n*H={bound['K']}")
