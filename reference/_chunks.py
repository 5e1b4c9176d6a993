"""Token chunking: the reference's memory stays bounded at any token count."""

from __future__ import annotations

from typing import Iterator

# About 256 MiB of float64 working set per chunk.
DEFAULT_BUDGET_ELEMENTS = 32 * 1024 * 1024


def token_chunks(num_tokens: int, elements_per_token: int,
                 budget: int = DEFAULT_BUDGET_ELEMENTS) -> Iterator[slice]:
    step = max(1, budget // max(1, elements_per_token))
    for start in range(0, num_tokens, step):
        yield slice(start, min(num_tokens, start + step))


def no_perturb(tag: str, value, fp_ops: int = 0, transcendentals: int = 0):
    """The identity rounding hook: the reference is exact. The error model passes its own."""
    return value
