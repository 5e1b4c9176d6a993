"""The planted-bug catalogue (mutants): each a backend through the public contract, with one bug.

Equivalent mutants (ones that compute the same function) are not listed; see EQUIVALENT.
"""

from __future__ import annotations

from mhc_kernels.mutants import any_op, collapse, gemm, mixes, post, sinkhorn
from mhc_kernels.mutants._base import Mutant

CATALOGUE: list[type[Mutant]] = [
    cls for mod in (gemm, mixes, sinkhorn, collapse, post, any_op) for cls in vars(mod).values()
    if isinstance(cls, type) and issubclass(cls, Mutant) and cls.name.startswith("mut-")
]

# Written, found to compute the same function as the healthy backend, and so not counted:
EQUIVALENT = {
    "split-K order reversed": "summing the S partials in reverse order: exact in float64 terms, "
                              "within fp32 rounding otherwise; the bound admits it, as it should",
}
