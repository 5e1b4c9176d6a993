"""mhc-verify: numerical correctness and accuracy validation of DeepSeek V4 mHC kernels.

Public entry points: ``mhc_verify.runner.run_case`` (judge one case), ``mhc_verify.session.check_pair``
(property-based search over one backend and op), the ``mhc-verify`` CLI and the pytest plugin.
"""

__version__ = "0.1.0"
