"""SGLang's own mHC kernels (backend.py; README.md lists every call site)."""
