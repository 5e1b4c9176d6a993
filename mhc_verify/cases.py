"""Case descriptors and the input builder.

A ``Case`` says what to test (op, shape, layout, parameters, an input-distribution family and a
seed); it never holds tensor contents. ``build_inputs`` makes the tensors from the seed on the
target device, so a case is reproduced bit-exactly from its JSON on the same kind of device.

Magnitudes are drawn per token, not only per stream: a kernel that mixes up rows (aiter 0.1.14's
sum-of-squares race) is invisible when every row has the same sum of squares, and obvious when
rows differ by orders of magnitude.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from mhc_reference.contract import dim_sizes, get_op, shape_of

FAMILIES = (
    "normal",  # per-stream and per-token scales, never identical streams
    "heavy_tail",  # Student-t with 2 degrees of freedom
    "cancellation",  # stream pairs that nearly cancel in the weighted sums
    "huge",  # magnitudes near 2^40 (sum of squares stays finite in fp32)
    "tiny",  # magnitudes near 2^-40 (squares stay normal in fp32)
    "saturating",  # sigmoid arguments far in the tails
    "peaked_softmax",  # comb logits with a large spread
    "flat_softmax",  # comb logits nearly equal
    "exact_int",  # sparse small integers and dyadic weights: fp32 sums are exact
    "zeros",  # some tokens all zero
    "nonfinite",  # NaN and Inf at a few positions
)


@dataclass(frozen=True)
class Case:
    op: str
    T: int
    n: int
    H: int
    family: str = "normal"
    seed: int = 0
    n_splits: int = 1
    layout: str = "contiguous"  # or "strided": inputs the contract allows as views are views
    norm_weight: bool = False
    params: tuple[tuple[str, Any], ...] = field(default_factory=tuple)

    def param_dict(self) -> dict[str, Any]:
        spec = get_op(self.op)
        values = {p.name: p.default for p in spec.params}
        values.update(dict(self.params))
        if "n_splits" in values:
            values["n_splits"] = self.n_splits
        if "rms_numel" in values:
            values["rms_numel"] = self.n * self.H
        return values

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | dict) -> "Case":
        d = json.loads(text) if isinstance(text, str) else dict(text)
        d["params"] = tuple(tuple(p) for p in d.get("params", ()))
        return cls(**d)

    def short(self) -> str:
        extra = f" S={self.n_splits}" if self.n_splits != 1 else ""
        extra += " norm" if self.norm_weight else ""
        extra += " strided" if self.layout == "strided" else ""
        return f"{self.op} T={self.T} n={self.n} H={self.H}{extra} {self.family} seed={self.seed}"


def _gen(case: Case, device: torch.device) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(case.seed)
    return g


def _randn(g, shape, device, dtype=torch.float32):
    return torch.randn(shape, generator=g, device=device, dtype=dtype)


def _rand(g, shape, device):
    return torch.rand(shape, generator=g, device=device)


def _magnitudes(case: Case, g, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(per-token [T,1,1], per-stream [1,n,1]) scales, by family."""
    t, n = case.T, case.n
    token_octaves, base = 4.0, 0.0
    if case.family == "huge":
        base, token_octaves = 38.0, 2.0
    elif case.family == "tiny":
        base, token_octaves = -38.0, 2.0
    token = torch.exp2(base + (2 * _rand(g, (t, 1, 1), device) - 1) * token_octaves)
    stream = torch.exp2((2 * _rand(g, (1, n, 1), device) - 1) * 1.5)
    # Distinct streams: spread the per-stream scales so no two are equal.
    stream = stream * (1 + 0.125 * torch.arange(n, device=device).view(1, n, 1))
    return token, stream


def _residual(case: Case, g, device) -> torch.Tensor:
    t, n, h = case.T, case.n, case.H
    token, stream = _magnitudes(case, g, device)
    if case.family == "heavy_tail":
        z = _randn(g, (t, n, h), device)
        chi2 = _randn(g, (t, n, h), device).square() + _randn(g, (t, n, h), device).square()
        base = z / torch.sqrt(chi2 / 2).clamp_min(1e-3)
    elif case.family == "exact_int":
        values = torch.randint(-4, 5, (t, n, h), generator=g, device=device).float()
        keep = _rand(g, (t, n, h), device) < 1 / 32
        return (values * keep).to(torch.bfloat16)
    else:
        base = _randn(g, (t, n, h), device)
    # in place: the same products as base * token * stream, without two more T x n x H fp32
    # temporaries (27 GB at 80 000 x 4 x 7168; the nightly profile's inputs must fit a 24 GB host)
    r = base.mul_(token).mul_(stream)
    if case.family == "cancellation" and n >= 2:
        r[:, 1] = -r[:, 0] * (1 + 2.0 ** -6 * _randn(g, (t, h), device))
    if case.family == "zeros" and t:
        r[_rand(g, (t,), device) < 0.3] = 0
    if case.family == "nonfinite" and t:
        flat = r.view(-1)
        idx = torch.randint(0, flat.numel(), (max(1, flat.numel() // 5000),), generator=g, device=device)
        specials = torch.tensor([float("nan"), float("inf"), -float("inf")], device=device)
        flat[idx] = specials[torch.arange(idx.numel(), device=device) % 3]
    return r.to(torch.bfloat16)


def _fn(case: Case, rows: int, g, device) -> torch.Tensor:
    k = case.n * case.H
    if case.family == "exact_int":
        # 13 significant bits: more than TF32 or bf16 keep, so a lower-precision GEMM is visible.
        return torch.randint(-(2 ** 13) + 1, 2 ** 13, (rows, k), generator=g, device=device).float() * 2.0 ** -18
    return _randn(g, (rows, k), device) * (1.0 / math.sqrt(k))


def _scale_base(case: Case, m: int, count: int, g, device) -> tuple[torch.Tensor, torch.Tensor]:
    scale = 0.5 + _rand(g, (count,), device)
    base = 0.5 * _randn(g, (m,), device)
    if case.family == "saturating":
        scale, base = scale * 40, base * 20
    elif case.family == "peaked_softmax" and count == 3:
        scale[2] = scale[2] * 60
    elif case.family == "flat_softmax" and count == 3:
        scale[2], base[2 * case.n:] = 1e-4, 0
    elif case.family == "exact_int":
        scale = torch.tensor([0.5, 0.25, 1.0][:count], device=device)
        base = torch.round(base * 8) / 8
    return scale, base


def _mix_weights(case: Case, g, device, shape) -> torch.Tensor:
    w = _rand(g, shape, device) * 2
    if case.family == "cancellation":
        w = 1 + 2.0 ** -10 * _randn(g, shape, device)
    return w


def _pre_partials(case: Case, g, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Realistic partials: those of a real residual and fn (rounded to fp32, as a GEMM writes them)."""
    from mhc_kernels.torch_native import prenorm_gemm_fp32  # a producer of inputs, not the op under test

    m = case.n * case.n + 2 * case.n
    # the residual goes to the GEMM already in fp32 (exact from bf16: the same products), so its
    # bf16 copy is freed before the GEMM's own temporaries exist
    residual = _residual(case, g, device).reshape(case.T, case.n * case.H).float()
    fn = _fn(case, m, g, device)
    return prenorm_gemm_fp32(residual, fn, case.n_splits)


def build_inputs(case: Case, device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """The op's inputs for this case, made from its seed on ``device``."""
    device = torch.device(device)
    spec = get_op(case.op)
    g = _gen(case, device)
    sizes = dim_sizes(case.T, case.n, case.H, case.n_splits)
    n, m = case.n, sizes["M"]
    out: dict[str, torch.Tensor] = {}
    names = set(spec.input_names)
    if "residual" in names:
        out["residual"] = _residual(case, g, device)
    if "x" in names:
        if case.op == "prenorm_gemm":
            out["x"] = _residual(case, g, device).reshape(case.T, n * case.H)
        else:
            x = _residual(case, g, device)[:, 0] * 1.0
            if case.family == "cancellation":
                x = -out["residual"][:, 0].float() * (1 + 2.0 ** -7 * _randn(g, (case.T, case.H), device))
            out["x"] = x.to(torch.bfloat16)
    if "fn" in names:
        out["fn"] = _fn(case, n if case.op == "hc_head" else m, g, device)
    if "hc_scale" in names:
        count = shape_of(spec.input("hc_scale"), sizes)[0]
        out["hc_scale"], out["hc_base"] = _scale_base(case, n if case.op == "hc_head" else m, count, g, device)
    if "mixes_partial" in names:
        out["mixes_partial"], out["sqrsum_partial"] = _pre_partials(case, g, device)
    if "comb_logits" in names:
        spread = {"peaked_softmax": 40.0, "flat_softmax": 1e-4, "saturating": 200.0}.get(case.family, 2.0)
        out["comb_logits"] = _randn(g, (case.T, n, n), device) * spread
    if "pre" in names:
        out["pre"] = _mix_weights(case, g, device, (case.T, n))
    if "post_mix" in names:
        out["post_mix"] = _mix_weights(case, g, device, (case.T, n, 1))
    if "comb_mix" in names:
        c = _rand(g, (case.T, n, n), device)
        out["comb_mix"] = c / c.sum(-1, keepdim=True)
        if case.family == "cancellation":
            out["comb_mix"] = torch.full((case.T, n, n), 1.0 / n, device=device)
    if "norm_weight" in names and case.norm_weight:
        out["norm_weight"] = (0.5 + _rand(g, (case.H,), device)).to(torch.bfloat16)
    if case.layout == "strided":
        out = {k: (_as_strided_view(v) if spec.input(k).may_be_strided else v) for k, v in out.items()}
    return out


def _as_strided_view(t: torch.Tensor) -> torch.Tensor:
    """The same values as a non-contiguous view (every other element of a buffer twice as wide)."""
    wide = torch.empty(*t.shape[:-1], 2 * t.shape[-1], dtype=t.dtype, device=t.device)
    wide.fill_(float("nan"))
    view = wide[..., ::2]
    view.copy_(t)
    return view
