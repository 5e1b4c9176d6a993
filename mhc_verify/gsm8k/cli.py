"""``mhc-verify gsm8k-gate``: the end-to-end gsm8k accuracy gate for an mHC kernel swap.

Exit status: 0 the gate passed; 1 it failed (the report says why); 2 the configuration or the
command line is wrong (nothing was run); 3 inconclusive (nothing failed, but the paired test could
not see a drop as small as the configured margin).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

EXIT_STATUS = {"PASS": 0, "FAIL": 1, "INCONCLUSIVE": 3}
HELP = "gsm8k accuracy gate (lm-eval against an OpenAI-compatible endpoint): threshold + paired McNemar"


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``gsm8k-gate`` subcommand to ``subparsers`` (``func`` returns the exit status)."""
    p = subparsers.add_parser("gsm8k-gate", help=HELP, description=HELP + ". " + (__doc__ or "").split("\n\n")[1])
    from mhc_verify.front_door import yaml_mapping_file  # a missing or unparsable file: one line, exit 2

    p.add_argument("--config", required=True, type=yaml_mapping_file, help="eval_configs/gsm8k/<name>.yaml")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder with gsm8k test.jsonl/train.jsonl (the gsm8k_offline task); overrides task.data_dir")
    p.add_argument("--out", type=Path, default=None,
                   help="report folder (default reports/gsm8k/<config name>-<UTC time>)")
    p.add_argument("--endpoint", default=None, help="completions URL; overrides the config's endpoint")
    p.add_argument("--no-server", action="store_true",
                   help="do not start the server even if the config has server.command: use the running one")
    p.add_argument("--engine-log", type=Path, default=None,
                   help="with --no-server: the running engine's log, searched for the backend's kernel_evidence")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted gate run in --out: requests lm-eval already answered come from "
                        "its request cache")
    p.add_argument("--candidate-samples", type=Path, default=None,
                   help="use this lm-eval output as the candidate run instead of running it")
    p.add_argument("--candidate-backend", default=None,
                   help="run this configured backend as the candidate (default: the config's candidate)")
    p.add_argument("--baseline-samples", type=Path, default=None,
                   help="pair with this lm-eval output (a run folder, results_*.json or samples_*.jsonl)")
    p.add_argument("--baseline-backend", default=None, help="run this configured backend as the baseline")
    p.add_argument("--no-baseline", action="store_true", help="threshold only, even if the config names a baseline")
    p.add_argument("--aa", action="store_true",
                   help="A/A mode: run the candidate backend twice and measure its run-to-run discordance")
    p.add_argument("--limit", type=int, default=None,
                   help="only the first N questions (a smoke test; the gate then expects N samples)")
    p.add_argument("--checks", default=None,
                   help="comma list of threshold,paired (default: threshold, plus paired when there is a baseline)")
    p.set_defaults(func=run_command)


def run_command(args: argparse.Namespace) -> int:
    from mhc_verify.gsm8k.config import ConfigError, load_config
    from mhc_verify.gsm8k.gate import GateOptions, run_gate
    from mhc_verify.gsm8k.runner import LmEvalMissing

    try:
        cfg = load_config(args.config)
        if args.limit is not None:
            if args.limit <= 0:
                raise ConfigError("--limit must be a positive number of questions")
            cfg = dataclasses.replace(cfg, task=dataclasses.replace(cfg.task, limit=args.limit, expected_n=args.limit))
        opts = GateOptions(
            data_dir=args.data_dir, out_dir=args.out, endpoint=args.endpoint,
            candidate_samples=args.candidate_samples, candidate_backend=args.candidate_backend,
            baseline_samples=args.baseline_samples,
            baseline_backend=args.baseline_backend, no_baseline=args.no_baseline, aa=args.aa,
            checks=tuple(c.strip() for c in args.checks.split(",") if c.strip()) if args.checks else None,
            manage_server=not args.no_server, engine_log=args.engine_log, resume=args.resume)
        if args.resume and args.out is None:
            raise ConfigError("--resume needs --out: the folder of the run to continue")
        outcome = run_gate(cfg, opts)
    except (ConfigError, LmEvalMissing) as e:
        print(f"gsm8k-gate: error: {e}", file=sys.stderr)
        return 2
    rep = outcome.report
    print(f"gsm8k-gate {rep['config']['name']} ({rep['mode']}): {rep['verdict']}")
    for reason in rep["reasons"]:
        print(f"  - {reason.splitlines()[0]}")
    print(f"report: {outcome.markdown_path}\n        {outcome.json_path}")
    return EXIT_STATUS[outcome.verdict]
