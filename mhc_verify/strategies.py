"""Hypothesis strategies over case descriptors (never tensor contents) and the test profiles.

Profiles (``HYPOTHESIS_PROFILE`` or ``--profile``):
  dev      quick local runs
  ci       CPU, bounded sizes, enough examples per op for a verdict
  nightly  GPU, large token counts (past 2^31 elements) and many examples
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from hypothesis import strategies as st

from mhc_kernels.base import Backend
from mhc_reference.contract import get_op
from mhc_verify.cases import FAMILIES, Case

TILES = (16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)
PRIMES = (2, 3, 5, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 13313, 16381, 19997, 65521)


@dataclass(frozen=True)
class Profile:
    name: str
    max_examples: int
    max_tokens: int
    hidden_sizes: tuple[int, ...]
    max_elements: int  # cap on T * n * H
    large_tokens: tuple[int, ...] = ()
    # (T, H) shapes every (backend, op) runs first, whatever Hypothesis draws: the int32 edge.
    anchors: tuple[tuple[int, int], ...] = ()
    # Hidden sizes at which every token count of the backend's path_boundaries(op) up to path_anchor_max_tokens
    # is an anchor too (the T where its kernel choice changes; above that cap the large anchors sit beside them).
    path_anchor_hidden: tuple[int, ...] = ()
    path_anchor_max_tokens: int = 4097
    # Pin every scalar parameter (epsilons, post multiplier, Sinkhorn repeat) to the model's value,
    # the contract's default: shapes, splits, layouts and data are still drawn. For backends that
    # compile those scalars into their kernels (TileKernels' @tilelang.jit parameters), where every
    # other value is a fresh compile of seconds; engines run the model's values.
    model_params: bool = False


def with_model_params(profile: Profile) -> Profile:
    return replace(profile, name=f"{profile.name}+model-params", model_params=True)


PROFILES: dict[str, Profile] = {
    # Every profile runs decode (T = 1, the engines' most frequent call) first: Hypothesis alone drew
    # it as late as the 58th layer_input example of the ci profile (the mutant catalogue showed it).
    "dev": Profile("dev", 25, 130, (1, 7, 64, 128, 256), 1 << 18, anchors=((1, 256),)),
    "ci": Profile("ci", 300, 300, (1, 7, 64, 65, 128, 256, 257, 512), 1 << 20, anchors=((1, 256),)),
    "nightly": Profile("nightly", 400, 80_000, (64, 256, 512, 4096, 5120, 5137, 7168), 1 << 32,
                       large_tokens=(65_536, 74_899, 80_000, 13_313, 19_997),
                       anchors=((1, 7168), (80_000, 7168), (74_899, 7168), (65_537, 4096)),
                       path_anchor_hidden=(7168,)),
}


def profile_from_env(default: str = "ci") -> Profile:
    name = os.environ.get("HYPOTHESIS_PROFILE", default)
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; profiles: {', '.join(PROFILES)}")
    return PROFILES[name]


def token_counts(max_tokens: int, large: tuple[int, ...] = ()) -> st.SearchStrategy[int]:
    """0, 1, primes, tile boundaries +-1 and +-2, and large counts, each weighted."""
    edges = sorted({t + d for t in TILES for d in (-2, -1, 0, 1, 2) if 0 <= t + d <= max_tokens})
    primes = [p for p in PRIMES if p <= max_tokens]
    big = [t for t in large if t <= max_tokens] or [max_tokens]
    return st.one_of(
        st.sampled_from([0, 1]),
        st.sampled_from(primes) if primes else st.just(1),
        st.sampled_from(edges) if edges else st.just(1),
        st.sampled_from(big),
        st.integers(0, max_tokens),
    )


# Values drawn per scalar parameter, in the contract's parameter order; repeats weight a value.
SCALAR_CHOICES: tuple[tuple[str, tuple], ...] = (
    ("rms_eps", (1e-6, 1e-20, 1e-5)),
    ("hc_pre_eps", (1e-6, 0.0, 1e-3)),
    ("hc_sinkhorn_eps", (1e-6, 1e-4)),
    ("hc_post_mult_value", (2.0, 1.0)),
    ("sinkhorn_repeat", (20, 20, 1, 2, 7)),
    ("norm_eps", (1e-6, 1e-20)),
    ("hc_eps", (1e-6, 0.0)),
)


def _divisors(k: int, candidates=(1, 2, 4, 8, 16)) -> list[int]:
    return [s for s in candidates if k % s == 0]


def _smallest_hidden(c, n: int) -> int:
    """The smallest H the constraints allow at this n (a multiple of hidden_multiple_of, n*H >= min_k)."""
    h = c.hidden_multiple_of
    while n * h < c.min_k:
        h += c.hidden_multiple_of
    return h


@st.composite
def cases(draw, op: str, backend: Backend, profile: Profile) -> Case:
    spec = get_op(op)
    c = backend.constraints_for(op)
    n_choices = list(c.hc_mult) if c.hc_mult else [4, 4, 4, 1, 2, 3, 5, 6, 8]
    n = draw(st.sampled_from(n_choices))
    hs = [h for h in profile.hidden_sizes if h % c.hidden_multiple_of == 0 and n * h >= c.min_k] \
        or [_smallest_hidden(c, n)]
    h = draw(st.sampled_from(hs))
    t_max = max(0, min(profile.max_tokens, profile.max_elements // (n * h), c.max_tokens or 1 << 40))
    t = draw(token_counts(t_max, profile.large_tokens).filter(lambda v: v <= t_max))
    t = max(t, c.min_tokens)
    splits = 1
    if "n_splits" in spec.param_names or "mixes_partial" in spec.input_names:
        allowed = [s for s in _divisors(n * h) if (c.n_splits is None or s in c.n_splits)
                   and (n * h // s) % c.split_multiple_of == 0] or [1]
        splits = draw(st.sampled_from(allowed))
    params = []
    names = set(spec.param_names)
    for name, choices in SCALAR_CHOICES:  # the first choice of each is the model's value
        if name in names:
            value = spec.param(name).default if profile.model_params else draw(st.sampled_from(choices))
            params.append((name, value))
    norm = False
    if "norm_weight" in spec.input_names and c.norm_weight is not False:
        norm = True if c.norm_weight else draw(st.booleans())
    layout = "contiguous"
    if any(s.may_be_strided for s in spec.inputs) and c.strided_inputs:
        layout = draw(st.sampled_from(["contiguous", "strided"]))
    return Case(op=op, T=t, n=n, H=h, family=draw(st.sampled_from(FAMILIES)),
                seed=draw(st.integers(0, 2 ** 31 - 1)), n_splits=splits, layout=layout, norm_weight=norm,
                params=tuple(params))


def anchor_cases(op: str, backend: Backend, profile: Profile) -> list[Case]:
    """The profile's fixed shapes for this op, then (path_anchor_hidden) the backend's path boundaries up to
    path_anchor_max_tokens, where the backend supports them (n = 4, family normal, seed T)."""
    spec = get_op(op)
    c = backend.constraints_for(op)
    out = []
    paths = sorted({t for t in backend.path_boundaries(op) if 0 < t <= profile.path_anchor_max_tokens})
    shapes = list(profile.anchors) + [(t, h) for h in profile.path_anchor_hidden for t in paths
                                      if (t, h) not in profile.anchors]
    for t, h in shapes:
        n = 4 if not c.hc_mult or 4 in c.hc_mult else c.hc_mult[0]
        if h % c.hidden_multiple_of or n * h < c.min_k or (c.max_tokens is not None and t > c.max_tokens):
            continue
        out.append(Case(op=op, T=t, n=n, H=h, family="normal", seed=t,
                        norm_weight=bool(c.norm_weight) if "norm_weight" in spec.input_names else False))
    return out
