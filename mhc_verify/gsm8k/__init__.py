"""gsm8k end-to-end accuracy gate for mHC kernel swaps (``mhc-verify gsm8k-gate``).

Modules: ``cli`` (the subcommand), ``gate`` (orchestration), ``config`` (the YAML), ``runner``
and ``lmeval_worker`` (lm-eval runs), ``server`` (starting/stopping the engine),
``lmeval_output`` (reading lm-eval's files), ``checks`` (decisions), ``stats`` (exact McNemar,
minimum detectable drop), ``report`` (Markdown + JSON), ``tiny_model`` / ``tiny_server`` (a CPU
stand-in for the engine, for tests and demos).
"""
