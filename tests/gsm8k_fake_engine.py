"""A fast stand-in for ``vllm serve`` that knows the answers: for the gate's full-size runs in CI.

It answers each gsm8k prompt with the gold solution of its last question (looked up in the test
split), so a full 1319-question 20-shot run costs lm-eval's own time and little else. It serves
through :mod:`mhc_verify.gsm8k.tiny_server` (loopback only, bounded lifetime), and at startup logs
which mHC implementation it "selected", as an engine does, so the gate's kernel-path evidence has
something to find:

- ``VLLM_ROCM_USE_TILELANG_MHC=1`` (exactly that name) selects TileLang, anything else aiter;
- ``MHC_FAKE_KERNEL_LOG=none`` logs no selection at all (an engine that never shows its path).

``MHC_FAKE_WRONG_EVERY=N`` (environment, so one backend of a config can have it) answers the
test questions whose index is a multiple of N wrong (N = 50: 27 of 1319, 2.05 points worse).

    python tests/gsm8k_fake_engine.py --data-dir DIR --port 0 --served-model-name M
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from mhc_verify.gsm8k.tiny_server import LOOPBACK, serve_until_stopped, start

QUESTION, ANSWER = "Question: ", "\nAnswer:"


class AnswerKeyEngine:
    """The engine interface of :class:`mhc_verify.gsm8k.tiny_server.TinyEngine`, answered from the key."""

    def __init__(self, data_dir: Path, wrong_every: int = 0) -> None:
        self.answers: dict[str, str] = {}
        with (data_dir / "test.jsonl").open(encoding="utf-8") as f:
            # "\n" only: the questions may hold U+2028.
            rows = [json.loads(line) for line in f.read().split("\n") if line.strip()]
        for i, row in enumerate(rows):
            answer = row["answer"]
            if wrong_every and i % wrong_every == 0:
                work, final = answer.rsplit("#### ", 1)
                answer = f"{work}#### {int(final) + 1}"
            self.answers[row["question"]] = answer

    def complete(self, prompt: str, max_tokens: int, stop: list[str]) -> tuple[str, str, int, int]:
        start_at = prompt.rfind(QUESTION)
        end_at = prompt.rfind(ANSWER)
        question = prompt[start_at + len(QUESTION):end_at] if 0 <= start_at < end_at else ""
        text = " " + self.answers.get(question, "I do not know this question.") + "\n\n"
        cuts = [i for i in (text.find(s) for s in stop) if i >= 0]
        if cuts:
            text = text[: min(cuts)]
        # Whitespace-separated words stand in for tokens.
        return text, "stop", len(prompt.split()), len(text.split())


def kernel_selection_line() -> str | None:
    if os.environ.get("MHC_FAKE_KERNEL_LOG") == "none":
        return None
    chosen = "TileLang" if os.environ.get("VLLM_ROCM_USE_TILELANG_MHC") == "1" else "aiter"
    return f"INFO [deepseek_v4.py] mHC: using {chosen} kernels for hc_pre/hc_post"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--served-model-name", required=True)
    parser.add_argument("--max-lifetime-s", type=float, default=600)
    parser.add_argument("--idle-timeout-s", type=float, default=120)
    args = parser.parse_args(argv)
    if args.host != LOOPBACK:
        parser.error(f"--host must be {LOOPBACK}")
    line = kernel_selection_line()
    if line:
        print(line, flush=True)
    server = start(AnswerKeyEngine(args.data_dir, int(os.environ.get("MHC_FAKE_WRONG_EVERY", "0"))), args.port,  # type: ignore[arg-type]
                   model_name=args.served_model_name, max_lifetime_s=args.max_lifetime_s,
                   idle_timeout_s=args.idle_timeout_s)
    serve_until_stopped(server)
    return 0


if __name__ == "__main__":
    sys.exit(main())
