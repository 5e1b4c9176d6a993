"""AMD aiter: its HIP mHC ops (hip.py) and its Triton mHC kernels (triton.py), side by side."""
