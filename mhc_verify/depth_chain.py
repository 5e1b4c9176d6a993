"""L layers of mHC in a chain, per backend, against the same chain in float64.

A kernel can pass every per-op bound and still shift a model: DeepSeek-V4 applies the post and pre
mixes once per layer, and an error that is harmless once compounds through the residual streams.
The chain here is the model's seam, repeated:

    layer 0:   post_mix, comb_mix, layer_input = mhc_pre(residual_0)
    layer l:   x_l = block_l(layer_input_l)                                  (the stand-in, below)
               residual_{l+1}, post_mix, comb_mix, layer_input_{l+1}
                   = fused_post_pre(x_l, residual_l, post_mix, comb_mix, fn_{l+1}, ...)

with the backend's ``fused_post_pre`` (or its ``hc_post`` then ``mhc_pre``). Each layer has its own
seeded fn / hc_scale / hc_base, drawn as ``cases.build_inputs`` draws them for the model's n = 4.

The transformer block between the seams is a fixed, seeded stand-in computed by the harness in
float64, identical for every backend, so only the mHC kernels differ: a random Gaussian map H -> H
(near-orthogonal: it keeps a vector's norm to O(1/sqrt(H))), RMS-normalised and scaled to
``BLOCK_SCALE`` times the layer input's per-token RMS, so the streams keep the per-token magnitudes
they started with (the model's range) instead of growing or vanishing over 61 layers. A backend's
block output is rounded to bf16, as a real block's is; the float64 chain is exact throughout (the
reference ops fed unrounded float64 values).
"""

from __future__ import annotations

import math
from typing import Callable
from dataclasses import dataclass, field

import torch

from mhc_kernels.base import Backend
from mhc_reference import fused_post_pre as fused_reference
from mhc_reference import mhc_pre as pre_reference
from mhc_reference._rounding import round_to_bf16
from mhc_reference.contract import get_op
from mhc_verify.cases import Case, build_inputs
from mhc_verify.compare import _binomial_two_sided_p
from mhc_verify.error_model import ulp
from mhc_verify.runner import _device_for

HC_MULT = 4  # DeepSeek-V4's n
BLOCK_SCALE = 0.5  # a block's output RMS relative to its input's, per token
_LAYER_SEED_STRIDE = 7919  # layer l's parameters come from seed + stride * (l + 1)
_BLOCK_SEED_OFFSET = 1 << 40  # the blocks' maps are drawn from another stream than the mixes
CHAIN_OUTPUTS = ("residual", "layer_input")
CORRECTLY_ROUNDED = "correctly-rounded"  # the baseline chain's name in the results (see run_chains)


@dataclass(frozen=True)
class ChainShape:
    layers: int
    tokens: int
    hidden: int
    seed: int = 0


@dataclass
class LayerError:
    """One output of one layer of a backend's chain, against the float64 chain."""

    layer: int
    max_abs: float
    max_ulps: float  # |out - exact| in bf16 ulps at the row's RMS (a token's stream or layer input)
    rms_ulps: float
    toward_zero: int  # elements with |out| < |exact| among those that differ
    away_from_zero: int
    sign_test_p: float  # two-sided binomial test of toward vs away (the rounding-bias statistic)
    drift_ulps: float  # mean per-token drift (token_drift) in excess of the correctly rounded chain's, in
    #                    ulps per element: < 0 the chain shrinks toward zero faster than rounding alone does
    drift_p: float  # two-sided t-test of that per-token excess across tokens (see drift_test)

    @property
    def toward_zero_fraction(self) -> float:
        n = self.toward_zero + self.away_from_zero
        return self.toward_zero / n if n else 0.5


@dataclass
class ChainResult:
    backend: str
    errors: dict[str, list[LayerError]] = field(default_factory=dict)  # output name -> per layer
    error: str | None = None  # the backend raised
    # where layer 0's mixes came from: "backend" (its own mhc_pre), or, for a backend without an
    # mhc_pre (aiter's Triton kernels: only post+pre and post), "reference": the float64 chain's
    # layer-0 pre rounded to the contract's output dtypes; its errors still start at layer 1, but
    # they then carry no error of a first pre
    first_pre: str = "backend"

    def growth_per_layer(self, output: str) -> float:
        """exp(slope) of a least-squares fit of log(RMS ulps) against depth: the factor by which the
        error grows per layer (layers where the chain is still exact are left out)."""
        points = [(e.layer, math.log(e.rms_ulps)) for e in self.errors.get(output, []) if e.rms_ulps > 0]
        if len(points) < 2:
            return float("nan")
        mx = sum(p[0] for p in points) / len(points)
        my = sum(p[1] for p in points) / len(points)
        sxx = sum((p[0] - mx) ** 2 for p in points)
        return math.exp(sum((p[0] - mx) * (p[1] - my) for p in points) / sxx) if sxx else float("nan")

    def at_depth(self, output: str) -> LayerError:
        return self.errors[output][-1]


def layer_params(shape: ChainShape, layer: int, device: torch.device | str) -> dict[str, torch.Tensor]:
    """fn, hc_scale, hc_base of ``layer`` (0 is the first pre), drawn like a normal-family case; layer
    0's draw also gives the initial residual streams."""
    case = Case("mhc_pre", shape.tokens, HC_MULT, shape.hidden, seed=shape.seed + _LAYER_SEED_STRIDE * (layer + 1))
    return build_inputs(case, device)


def block_map(shape: ChainShape, layer: int, device: torch.device | str) -> torch.Tensor:
    """The stand-in block's H x H map of ``layer`` (float64, seeded, entries N(0, 1/H))."""
    # drawn where it is used: on a GPU, 61 CPU draws of 7168 x 7168 normals took longer than the
    # chains themselves (the map is the same for every backend of a run, which is all it must be)
    g = torch.Generator(device=device)
    g.manual_seed(shape.seed + _BLOCK_SEED_OFFSET + layer)
    return torch.randn(shape.hidden, shape.hidden, generator=g, dtype=torch.float64, device=device) / math.sqrt(
        shape.hidden)


def block(layer_input: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The stand-in block's exact output (float64): BLOCK_SCALE * rms(input) * RMSNorm(input @ w)."""
    v = layer_input.to(w.device).double()
    y = v @ w
    rms_in = v.square().mean(-1, keepdim=True).sqrt()
    rms_y = y.square().mean(-1, keepdim=True).sqrt().clamp_min(torch.finfo(torch.float64).tiny)
    return BLOCK_SCALE * rms_in * y / rms_y


def _model_params(op: str) -> dict:
    return {p.name: p.default for p in get_op(op).params}


def _chain_state(fused_out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """fused_post_pre's outputs under the names the chain carries to the next layer."""
    return {"residual": fused_out["residual_out"], "post_mix": fused_out["post_mix_out"],
            "comb_mix": fused_out["comb_mix_out"], "layer_input": fused_out["layer_input"]}


def _run_fused(backend: Backend, inputs: dict) -> dict[str, torch.Tensor]:
    if "fused_post_pre" in backend.implements():
        out = backend.run("fused_post_pre", inputs, _model_params("fused_post_pre"))
        return _chain_state(out)
    residual = backend.run("hc_post", {k: inputs[k] for k in ("x", "residual", "post_mix", "comb_mix")}, {})["out"]
    return {"residual": residual, **_run_pre(backend, residual, inputs)}


def _run_pre(backend: Backend, residual: torch.Tensor, params: dict) -> dict[str, torch.Tensor]:
    inputs = {"residual": residual, "fn": params["fn"], "hc_scale": params["hc_scale"], "hc_base": params["hc_base"]}
    return backend.run("mhc_pre", inputs, _model_params("mhc_pre"))


def _exact_pre(residual: torch.Tensor, params: dict) -> dict[str, torch.Tensor]:
    inputs = {"residual": residual, "fn": params["fn"], "hc_scale": params["hc_scale"], "hc_base": params["hc_base"]}
    return pre_reference.reference(inputs, _model_params("mhc_pre"))


def _exact_fused(inputs: dict) -> dict[str, torch.Tensor]:
    from mhc_reference.hc_post import hc_post

    exact_residual = hc_post(inputs["x"], inputs["residual"], inputs["post_mix"], inputs["comb_mix"])
    out = fused_reference.reference(inputs, _model_params("fused_post_pre"), pre_input=exact_residual)
    return _chain_state(out)


def _ideal_fused(inputs: dict, device: str) -> dict[str, torch.Tensor]:
    """The correctly rounded fused post+pre: the float64 reference on these (rounded) inputs, each
    output rounded once to its contract dtype."""
    out = _rounded_outputs("fused_post_pre", fused_reference.reference(inputs, _model_params("fused_post_pre")), device)
    return _chain_state(out)


def _rounded_outputs(op: str, exact: dict[str, torch.Tensor], device: str) -> dict[str, torch.Tensor]:
    """The float64 outputs of ``op`` rounded once (to nearest) to the dtypes its contract gives them."""
    out = {}
    for ts in get_op(op).outputs:
        v = exact[ts.name]
        v = round_to_bf16(v).to(torch.bfloat16) if ts.dtype == torch.bfloat16 else v.to(ts.dtype)
        out[ts.name] = v.to(device)
    return out


def token_drift(out: torch.Tensor, exact: torch.Tensor) -> torch.Tensor:
    """Per token: how far the output is scaled along the exact one, <o - r, r> / <r, r>, in bf16 ulps
    per element at the token's RMS (< 0: the token's streams shrink toward zero).

    A projection, not mean(|o| - |r|): zero-mean rounding noise leaves it unbiased, while |r + e|
    exceeds |r| on average wherever r is near zero, so the latter calls any noisier kernel a drift
    away from zero."""
    o, r = out.to(exact.device).double(), exact.double()
    rows = r.reshape(r.shape[0], -1)
    energy = rows.square().sum(-1)
    scale = ((o.reshape(rows.shape) - rows) * rows).sum(-1) / energy.clamp_min(torch.finfo(torch.float64).tiny)
    rms = (energy / rows.shape[1]).sqrt()
    return scale * rms / ulp(rms, torch.bfloat16)


def layer_error(layer: int, out: torch.Tensor, exact: torch.Tensor,
                baseline: torch.Tensor | None = None) -> tuple[LayerError, torch.Tensor]:
    """The layer's error statistics, and the per-token drift (``token_drift``) they were built from.

    ``baseline``: the per-token drift of the correctly rounded chain at this layer. The drift then
    tested is the excess over it, token by token: rounding to bf16 between float64-exact steps has a
    drift of its own (the stand-in block renormalises a noisy vector, the pre normalises by the RMS
    of a rounded residual), which every correct kernel shares; at T = 4096 it is significant
    (p ~ 1e-26 at layer 1 on an H200) and would call every backend biased."""
    # on the float64 chain's device: at T = 4096 x 4 x 7168 a copy to the host per backend and layer
    # would cost more than the layer
    o, r = out.to(exact.device).double(), exact.double()
    diff = o - r
    # in ulps at each row's RMS (a token's stream, or its layer input): at the element's own
    # magnitude, the elements a weighted sum cancels to near zero would swamp every statistic
    row_rms = r.square().mean(-1, keepdim=True).sqrt()
    ulps = diff.abs() / ulp(row_rms, torch.bfloat16)
    differs = (diff != 0) & (r != 0)
    toward = int((differs & (o.abs() < r.abs())).sum())
    away = int(differs.sum()) - toward
    per_token = token_drift(o, r)
    drift, drift_p = drift_test(per_token if baseline is None else per_token - baseline)
    return LayerError(layer, float(diff.abs().max()), float(ulps.max()), float(ulps.square().mean().sqrt()),
                      toward, away, _binomial_two_sided_p(toward, toward + away), drift, drift_p), per_token


def drift_test(per_token: torch.Tensor) -> tuple[float, float]:
    """(mean, two-sided p) of a normal-approximation t-test that the per-token mean drift is 0.

    Tokens, not elements, are the samples: each token's chain is independent of the others' (the
    mixes and the stand-in block act per token), while within a token one misrounded mix weight
    moves whole streams together, so an element-level test (like the sign test) calls a healthy
    chain biased."""
    t = per_token.numel()
    mean = float(per_token.mean()) if t else 0.0
    if t < 2:
        return mean, 1.0
    sd = float(per_token.std())
    if sd == 0:
        return mean, 1.0 if mean == 0 else 0.0
    return mean, math.erfc(abs(mean) / (sd / math.sqrt(t)) / math.sqrt(2))


def run_chains(backends: list[Backend], shape: ChainShape, harness_device: str | None = None,
               results: list[ChainResult] | None = None,
               on_layer: Callable[[int], None] | None = None) -> list[ChainResult]:
    """Every backend's chain and the float64 chain, advanced layer by layer in lockstep (each layer's
    parameters and block map drawn once), with every backend's error per layer, and last the
    correctly rounded chain (``CORRECTLY_ROUNDED``: the baseline of the drift test). ``results``, if
    given (empty), is filled in place, so a caller that is stopped keeps the layers done;
    ``on_layer(layer)`` is called after each layer."""
    dev = torch.device(harness_device or ("cuda" if any(_device_for(b) == "cuda" for b in backends) else "cpu"))
    if results is None:
        results = []
    # the correctly rounded chain: the float64 reference ops on its own bf16 / fp32 state, every output
    # rounded once to its contract dtype, i.e. what an ideal kernel does. Its drift is the baseline
    # each backend's drift is tested against, and its error the floor of the table.
    baseline = ChainResult(CORRECTLY_ROUNDED, {name: [] for name in CHAIN_OUTPUTS}, first_pre="reference")
    results[:] = [ChainResult(b.name, {name: [] for name in CHAIN_OUTPUTS}) for b in backends] + [baseline]
    params = layer_params(shape, 0, dev)
    exact = _exact_pre(params["residual"], params)
    exact["residual"] = params["residual"].double()
    ideal = {**_rounded_outputs("mhc_pre", exact, str(dev)), "residual": params["residual"]}
    states: list[dict | None] = []
    for backend, result in zip(backends, results):
        if "mhc_pre" not in backend.implements():
            result.first_pre = "reference"
            states.append({**_rounded_outputs("mhc_pre", exact, _device_for(backend)),
                           "residual": params["residual"].to(_device_for(backend))})
            continue
        try:
            state = _run_pre(backend, params["residual"].to(_device_for(backend)),
                             {k: v.to(_device_for(backend)) for k, v in params.items()})
            states.append({**state, "residual": params["residual"].to(_device_for(backend))})
        except Exception as e:  # noqa: BLE001 - reported per backend, the others go on
            result.error = f"layer 0 mhc_pre raised {type(e).__name__}: {str(e)[:300]}"
            states.append(None)
    for layer in range(1, shape.layers + 1):
        w = block_map(shape, layer, dev)
        params = layer_params(shape, layer, dev)
        mix_params = {k: params[k] for k in ("fn", "hc_scale", "hc_base")}
        exact_x = block(exact["layer_input"], w)
        exact = _exact_fused({"x": exact_x, "residual": exact["residual"], "post_mix": exact["post_mix"],
                              "comb_mix": exact["comb_mix"], **mix_params})
        ideal = _ideal_fused({"x": round_to_bf16(block(ideal["layer_input"], w)).to(torch.bfloat16),
                              "residual": ideal["residual"], "post_mix": ideal["post_mix"],
                              "comb_mix": ideal["comb_mix"], **mix_params}, str(dev))
        drift_floor = {}
        for name in CHAIN_OUTPUTS:
            # its drift is reported as it is, against the float64 chain: the floor rounding alone sets
            err, drift_floor[name] = layer_error(layer, ideal[name], exact[name])
            baseline.errors[name].append(err)
        for i, (backend, result) in enumerate(zip(backends, results)):
            state = states[i]
            if state is None:
                continue
            where = _device_for(backend)
            x = round_to_bf16(block(state["layer_input"], w)).to(torch.bfloat16).to(where)
            inputs = {"x": x, "residual": state["residual"], "post_mix": state["post_mix"],
                      "comb_mix": state["comb_mix"], **{k: v.to(where) for k, v in mix_params.items()}}
            try:
                state = states[i] = _run_fused(backend, inputs)
            except Exception as e:  # noqa: BLE001
                result.error = f"layer {layer} raised {type(e).__name__}: {str(e)[:300]}"
                states[i] = None
                continue
            for name in CHAIN_OUTPUTS:
                result.errors[name].append(layer_error(layer, state[name], exact[name], drift_floor[name])[0])
        if on_layer:
            on_layer(layer)
    return results
