"""The error model: a backend's declared precision -> a per-element bound on |kernel - exact|.

Every bound is computed in float64 from the exact inputs, as the sum of:

* output rounding: half an ulp of the output dtype at the value's magnitude;
* long dot products and sums (the prenorm GEMM, K = n*H terms): input rounding of fn to the
  declared matmul format (exactly zero where fn is representable in it), plus accumulation error
  LAMBDA * u_acc * sqrt(depth) * sum|a_i b_i| (Higham & Mary's probabilistic bound, valid for any
  summation order; depth = the backend's declared longest add chain, K if it declares none).
  When every product and partial sum is exactly representable in fp32 (exact-integer inputs) the
  accumulation term is exactly zero, so a TF32 or bf16 kernel posing as fp32 cannot hide there;
* short sums (n <= 8 streams, S split-K partials): the deterministic bound gamma_n * sum|terms|;
* every elementwise step (rsqrt, sigmoid, softmax, each Sinkhorn normalisation): first-order
  propagation of a relative perturbation at each rounding point through the float64 Jacobian of
  the rest of the computation (torch.func), so cancellation and contraction are seen exactly
  instead of compounding worst cases. The rounding points are the ``perturb`` calls of the
  reference (mhc_reference.mixes / sinkhorn / hc_head).

No global "x % may mismatch" allowance exists: an element is inside its bound or the case fails.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch.func import jacrev, vmap
from torch.utils._pytree import tree_flatten

from mhc_kernels.base import Precision
from mhc_reference._chunks import token_chunks
from mhc_reference._rounding import round_to_bf16

LAMBDA = 8.0  # probabilistic bound multiplier: per-element failure probability < 2 exp(-LAMBDA^2/2) ~ 2.5e-14
U32 = 2.0 ** -24
# Absolute error floor of one fp32 rounding: results below the smallest normal may be flushed to
# zero (GPUs' FTZ) or lose bits as subnormals; sigmoid(-100) in fp32 is 0, exactly 3.7e-44 wrong.
FP32_UNDERFLOW = 2.0 ** -126
SIGNIFICANT_BITS = {torch.float32: 24, torch.bfloat16: 8, torch.float16: 11}
SUBNORMAL_STEP = {torch.float32: 2.0 ** -149, torch.bfloat16: 2.0 ** -133, torch.float16: 2.0 ** -24}
MATMUL_INPUT_BITS = {"fp32": 24, "tf32": 11, "bf16x3": 24, "bf16": 8}
ACCUMULATE_U = {"fp32": U32, "bf16": 2.0 ** -8}


def gamma(k: int, u: float = U32) -> float:
    """Higham's gamma_k = k u / (1 - k u): the deterministic bound of k roundings."""
    return k * u / (1 - k * u)


def ulp(magnitude: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The ulp of ``dtype`` at each |value| (float64), never below the subnormal step."""
    mag = magnitude.double().abs()
    mant, exp = torch.frexp(mag)
    step = torch.ldexp(torch.ones_like(mant), exp - SIGNIFICANT_BITS[dtype])
    # frexp(0) has exponent 0, which would make the ulp at zero 2^-8 (bf16): the spacing there is
    # the smallest subnormal. (An H100 run found it: a bf16 collapse that underflows to 0 was given
    # a rounding midpoint at 2^-9 instead of 2^-134, and zero outputs a 2^-9 tolerance.)
    step = torch.where(mag == 0, torch.zeros_like(step), step)
    return step.clamp_min(SUBNORMAL_STEP[dtype])


def output_rounding(ref: torch.Tensor, err: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Half an ulp of the output dtype at the largest magnitude the kernel's value can have."""
    return 0.5 * ulp(ref.abs() + err, dtype)


def lowest_set_bit(v: torch.Tensor) -> torch.Tensor:
    """The value of the lowest set bit of each float64 (0 for zero): v is an odd multiple of it."""
    v = v.double()
    mant, exp = torch.frexp(v.abs())
    m = torch.ldexp(mant, torch.full_like(exp, 53)).to(torch.int64)  # exact 53-bit integer mantissa
    low = (m & -m).double()
    return torch.where(v == 0, torch.zeros_like(v), torch.ldexp(low, exp - 53))


def representation_error(values: torch.Tensor, bits: int) -> torch.Tensor:
    """An upper bound of |round(v) - v| to ``bits`` significant bits, any rounding mode (0 if exact)."""
    v = values.double()
    if bits >= 24 and values.dtype == torch.float32:
        return torch.zeros_like(v)
    mant, exp = torch.frexp(v.abs())
    step = torch.ldexp(torch.ones_like(mant), exp - bits)
    exact = torch.remainder(v, step) == 0
    return torch.where(exact, torch.zeros_like(v), step)


def bf16_toward_zero(v: torch.Tensor) -> torch.Tensor:
    """Each float64 value truncated to bf16 (round toward zero), as float64."""
    v = v.double()
    bits = v.view(torch.int64) & ~((1 << 45) - 1)
    out = bits.view(torch.float64)
    step = SUBNORMAL_STEP[torch.bfloat16]
    return torch.where(v.abs() < 2.0 ** -126, torch.trunc(v / step) * step, out)


def gemm_bounds(x: torch.Tensor, fn: torch.Tensor, n_splits: int, precision: Precision,
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Absolute error bounds of each split-K partial of x @ fn.T and sum(x*x), before output rounding.

    x [T, K] bf16, fn [M, K] fp32 -> ([S, T, M], [S, T]) float64.
    """
    t, k = x.shape
    m = fn.shape[0]
    ks = k // n_splits
    depth = precision.accumulation_depth or ks
    if precision.matmul == "bf16x3":
        depth *= 3  # three products per term enter the accumulator
    u_acc = ACCUMULATE_U[precision.accumulate]
    acc_factor = LAMBDA * u_acc * math.sqrt(depth)
    f = fn.double().view(m, n_splits, ks).transpose(0, 1)  # [S, M, ks]
    f_abs = f.abs()
    f_err = representation_error(fn, MATMUL_INPUT_BITS[precision.matmul]).view(m, n_splits, ks).transpose(0, 1)
    f_low = lowest_set_bit(fn).view(m, n_splits, ks).transpose(0, 1)
    f_low = torch.where(f_low == 0, torch.full_like(f_low, math.inf), f_low).amin(-1)  # [S, M]
    inputs_exact = (f_err == 0).all(-1)  # [S, M]
    mix_err = torch.empty(n_splits, t, m, dtype=torch.float64, device=x.device)
    sq_err = torch.empty(n_splits, t, dtype=torch.float64, device=x.device)
    for rows in token_chunks(t, k * 2):
        xs = x[rows].double().view(-1, n_splits, ks).transpose(0, 1)  # [S, t, ks]
        xa = xs.abs()
        abs_sum = torch.bmm(xa, f_abs.transpose(1, 2))  # sum |x fn|      [S, t, M]
        in_err = torch.bmm(xa, f_err.transpose(1, 2))  # input rounding  [S, t, M]
        x_low = lowest_set_bit(xs)
        x_low = torch.where(x_low == 0, torch.full_like(x_low, math.inf), x_low).amin(-1)  # [S, t]
        # Every partial sum is a multiple of q = min lowbit(x)*min lowbit(fn); below 2^24 q they are exact.
        q = x_low.unsqueeze(-1) * f_low.unsqueeze(1)
        exact = (abs_sum < 2.0 ** 24 * q) & inputs_exact.unsqueeze(1) & (precision.accumulate == "fp32")
        acc = torch.where(exact | (abs_sum == 0), torch.zeros_like(abs_sum), acc_factor * abs_sum)
        mix_err[:, rows] = in_err + acc
        sq = xa.square().sum(-1)
        sq_exact = (sq < 2.0 ** 24 * x_low.square()) & (precision.accumulate == "fp32")
        sq_err[:, rows] = torch.where(sq_exact | (sq == 0), torch.zeros_like(sq), acc_factor * sq)
    return mix_err, sq_err


def partial_sum_bounds(partials: torch.Tensor, partial_err: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum of S fp32 partials: (float64 exact sum of the given partials, bound of the kernel's sum)."""
    p = partials.double()
    s = p.shape[0]
    err = gamma(max(s - 1, 0)) * p.abs().sum(0)
    if partial_err is not None:
        err = err + partial_err.sum(0)
    return p.sum(0), err


class _Hook:
    """A rounding hook that adds delta_tag * (relative units * |value|) at every rounding point."""

    def __init__(self, noise: dict | None, precision: Precision, record: dict | None = None):
        self.noise, self.precision, self.record = noise, precision, record

    def __call__(self, tag: str, value: torch.Tensor, fp_ops: int = 0, transcendentals: int = 0) -> torch.Tensor:
        if self.record is not None:
            self.record[tag] = tuple(value.shape)
            return value
        units = fp_ops + transcendentals * self.precision.elementwise_ulps
        return value + self.noise[tag] * (units * (U32 * value.abs() + FP32_UNDERFLOW))


def propagate(fn: Callable[..., tuple[torch.Tensor, ...]], args: Sequence[torch.Tensor],
              arg_errs: Sequence[torch.Tensor | None], shared: Sequence[torch.Tensor], precision: Precision,
              chunk: int = 1024) -> tuple[torch.Tensor, ...]:
    """First-order worst-case bounds of fn's outputs, per token.

    fn(*args_token, *shared, perturb=hook) -> tuple of outputs; args are batched over dim 0 (tokens),
    ``arg_errs`` are absolute bounds of the args (None: exact), ``shared`` are exact per-call tensors.
    The bound of an output is sum over every rounding point and input element of |d out / d delta|,
    where each perturbation is scaled to its own bound, i.e. the L1 norm of a Jacobian row.
    """
    t = args[0].shape[0]
    record: dict = {}
    outs0 = fn(*(a[:1] for a in args), *shared, perturb=_Hook(None, precision, record))
    tags = {tag: shape[1:] for tag, shape in record.items()}
    bounds = [torch.empty_like(o.new_empty((t, *o.shape[1:]))) for o in outs0]
    if t == 0:
        return tuple(bounds)
    errs = [e if e is not None else torch.zeros_like(a) for a, e in zip(args, arg_errs)]

    def one_token(noise, in_noise, *token_args):
        n_args = len(token_args) // 2
        vals, errs_tok = token_args[:n_args], token_args[n_args:]
        perturbed = [v + d * e for v, d, e in zip(vals, in_noise, errs_tok)]
        outs = fn(*(p.unsqueeze(0) for p in perturbed), *shared, perturb=_Hook(
            {k: v.unsqueeze(0) for k, v in noise.items()}, precision))
        return tuple(o.squeeze(0) for o in outs)

    jac_fn = vmap(jacrev(one_token, argnums=(0, 1)))
    for rows in token_chunks(t, 1, budget=chunk):
        n_tok = rows.stop - rows.start
        noise = {tag: args[0].new_zeros((n_tok, *shape)) for tag, shape in tags.items()}
        in_noise = tuple(torch.zeros_like(a[rows]) for a in args)
        jac = jac_fn(noise, in_noise, *(a[rows] for a in args), *(e[rows] for e in errs))
        for i, per_out in enumerate(jac):
            leaves, _ = tree_flatten(per_out)
            out_shape = bounds[i].shape[1:]
            total = 0
            for leaf in leaves:
                total = total + leaf.abs().reshape(n_tok, *out_shape, -1).sum(-1)
            bounds[i][rows] = total
    return tuple(bounds)


def collapse_bounds(residual: torch.Tensor, weights: torch.Tensor, weight_err: torch.Tensor) -> torch.Tensor:
    """Bound of the fp32 collapse sum_k w_k * residual_k (before output rounding), per [T, H] element."""
    t, n, h = residual.shape
    out = torch.empty(t, h, dtype=torch.float64, device=residual.device)
    g = gamma(n)
    for rows in token_chunks(t, n * h):
        ra = residual[rows].double().abs()
        out[rows] = (torch.einsum("tk,tkh->th", weight_err[rows], ra)
                     + g * torch.einsum("tk,tkh->th", weights[rows].abs(), ra))
    return out


def norm_bounds(collapse: torch.Tensor, collapse_err: torch.Tensor, weight: torch.Tensor, eps: float,
                precision: Precision) -> torch.Tensor:
    """Bound of RMSNorm(bf16(collapse)) * w when the collapse is known to within collapse_err."""
    li = round_to_bf16(collapse)
    step = ulp(li.abs() + collapse_err, torch.bfloat16)
    # The kernel's bf16 collapse equals ours unless its fp32 value can cross the rounding midpoint
    # between the two bf16 neighbours of the exact value (in the lower one's binade: at a power of
    # two the gap below is half the gap above).
    lower = bf16_toward_zero(collapse.abs())
    midpoint = lower + 0.5 * ulp(lower, torch.bfloat16)
    midpoint_dist = (collapse.abs() - midpoint).abs()
    li_err = torch.where(collapse_err < midpoint_dist, torch.zeros_like(collapse_err), collapse_err + step)
    h = li.shape[-1]
    mean_sq = li.square().mean(-1, keepdim=True)
    arg = mean_sq + eps
    arg_err = ((2 * li.abs() * li_err + li_err.square()).mean(-1, keepdim=True)
               + LAMBDA * U32 * math.sqrt(h) * mean_sq + 2 * U32 * arg)
    r = torch.rsqrt(arg)
    r_err = 0.5 * r * arg_err / arg + precision.elementwise_ulps * U32 * r
    # An infinite element makes the mean infinite and rsqrt exactly 0 in any IEEE arithmetic: the
    # finite elements of that row are exactly 0 (and the infinite ones NaN, judged by pattern).
    r_err = torch.where(torch.isinf(arg), torch.zeros_like(r_err), r_err)
    w = weight.double().abs()
    y = li.abs() * r * w
    return w * (li_err * r + li.abs() * r_err) + gamma(3) * y
