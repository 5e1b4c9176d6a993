"""mhc_reference: the float64 reference of every mHC op, and the op contract.

Each op's math lives in its own module with the formula in its docstring. Inputs are taken
exactly as the kernel saw them (bf16 and fp32 convert to float64 exactly), computed in float64 on
the inputs' device, chunked over tokens so memory stays bounded at any T.
This package imports nothing from mhc_kernels or mhc_verify (tests/test_import_rules.py).
"""
