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
# every entry after the first was written as a backend and passed 200 ci examples of its op, as it should.
EQUIVALENT = {
    "split-K order reversed": "summing the S partials in reverse order: exact in float64 terms, "
                              "within fp32 rounding otherwise; the bound admits it, as it should",
    "x rounded to TF32 in the GEMM": "x is bf16 (8 significant bits): TF32's 11 hold it exactly, so the "
                                     "products are bit-identical (only fn's rounding matters: mut-gemm-tf32)",
    "layer_input streams summed in reverse order": "another fp32 summation order of n <= 8 terms, inside "
                                                   "gamma_n; the contract fixes no order",
    "hc_post adds post * x before the comb terms": "another fp32 summation order of n + 1 terms, inside "
                                                   "gamma_(n+1)",
    "sigmoid as 1 / (1 + exp(-x))": "a few fp32 ulps from torch.sigmoid, inside the declared elementwise "
                                    "ulps (exp(-x) = inf for very negative x gives 0, where sigmoid underflows)",
    "Sinkhorn divides by multiplying with the reciprocal": "one extra fp32 rounding per normalisation, "
                                                           "inside the first-order bound",
    "RMSNorm as v * (rstd * w) instead of (v * rstd) * w": "another association of three fp32 factors, "
                                                            "inside gamma_3",
    "zeros written as -0.0": "-0.0 == +0.0: the same number (the contract does not fix the sign of a zero)",
}
