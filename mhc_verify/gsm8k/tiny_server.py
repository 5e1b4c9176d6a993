"""A loopback OpenAI-compatible completions server for a tiny local model (tests and demos only).

It stands in for ``vllm serve`` so that the gate can run lm-eval end to end on a CPU with no
network: ``POST /v1/completions`` (greedy decoding, ``stop`` sequences, ``max_tokens``),
``GET /v1/models`` and ``GET /health``. It binds 127.0.0.1 only and bounds itself: it exits after
``--max-lifetime-s`` in all, or ``--idle-timeout-s`` without a request, so a test that dies cannot
leave it behind.

Fault injection (for the gate's fail-closed tests): ``--null-text-every N`` answers every N-th
completion with ``"text": null`` (what an engine returns when generation failed);
``--http-error-every N`` answers every N-th with HTTP 500.

    python -m mhc_verify.gsm8k.tiny_server --model-dir DIR --port 0
    python -m mhc_verify.gsm8k.tiny_server --build-from DIR --model-dir DIR --port 8123
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"


class TinyEngine:
    """Greedy generation with a transformers causal LM; one request at a time (CPU, determinism)."""

    def __init__(self, model_dir: Path, threads: int | None = 1) -> None:
        from mhc_verify.gsm8k.tiny_model import prefer_installed_kernels_package

        prefer_installed_kernels_package()
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        if threads is not None:  # None: leave the process's setting alone (in-process use by tests)
            torch.set_num_threads(threads)
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir)  # saved in float32
        self.model.eval()
        self._lock = threading.Lock()

    def complete(self, prompt: str, max_tokens: int, stop: list[str]) -> tuple[str, str, int, int]:
        """(text, finish_reason, prompt tokens, completion tokens); text is cut before the first stop."""
        ids = self.tokenizer(prompt, return_tensors="pt").input_ids
        with self._lock, self._torch.no_grad():
            out = self.model.generate(
                ids, attention_mask=self._torch.ones_like(ids), max_new_tokens=max(1, max_tokens),
                do_sample=False, pad_token_id=self.tokenizer.eos_token_id,
                # stop_strings only ends generation early; the cut below is what the API promises.
                stop_strings=stop or None, tokenizer=self.tokenizer if stop else None,
            )
        new_ids = out[0, ids.shape[1]:]
        text = self.tokenizer.decode(new_ids, skip_special_tokens=True)
        finish = "length"
        cuts = [i for i in (text.find(s) for s in stop) if i >= 0]
        if cuts:
            text, finish = text[: min(cuts)], "stop"
        elif len(new_ids) and int(new_ids[-1]) == self.tokenizer.eos_token_id:
            finish = "stop"
        return text, finish, int(ids.shape[1]), len(new_ids)


class _State:
    def __init__(self, engine: TinyEngine, model_name: str, null_every: int, error_every: int) -> None:
        self.engine = engine
        self.model_name = model_name
        self.null_every = null_every
        self.error_every = error_every
        self.requests = 0
        self.last_request = time.monotonic()
        self.count_lock = threading.Lock()


def _stop_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(s) for s in value]


class _Handler(BaseHTTPRequestHandler):
    server_version = "mhc-verify-tiny/1"
    state: _State  # set on the subclass made in serve()

    def log_message(self, fmt: str, *args: Any) -> None:  # one line per request, to stderr
        sys.stderr.write(f"[tiny-server] {self.address_string()} {fmt % args}\n")

    def _send_json(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # http.server's naming
        self.state.last_request = time.monotonic()
        if self.path == "/health":
            self._send_json(200, {"status": "ok"})
        elif self.path == "/v1/models":
            self._send_json(200, {"object": "list", "data": [
                {"id": self.state.model_name, "object": "model", "owned_by": "mhc-verify"}]})
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        st = self.state
        st.last_request = time.monotonic()
        if self.path != "/v1/completions":
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        except json.JSONDecodeError as e:
            self._send_json(400, {"error": {"message": f"bad JSON: {e}"}})
            return
        if body.get("echo") or body.get("logprobs"):
            self._send_json(400, {"error": {"message": "echo/logprobs are not supported by the tiny server"}})
            return
        prompts = body.get("prompt")
        prompts = [prompts] if isinstance(prompts, str) else prompts
        if not isinstance(prompts, list) or not all(isinstance(p, str) for p in prompts):
            self._send_json(400, {"error": {"message": "prompt must be a string or a list of strings"}})
            return
        with st.count_lock:
            st.requests += 1
            n = st.requests
        if st.error_every and n % st.error_every == 0:
            self._send_json(500, {"error": {"message": f"injected failure on request {n}"}})
            return
        choices, usage_in, usage_out = [], 0, 0
        for i, prompt in enumerate(prompts):
            text, finish, n_in, n_out = st.engine.complete(
                prompt, int(body.get("max_tokens") or 16), _stop_list(body.get("stop")))
            usage_in, usage_out = usage_in + n_in, usage_out + n_out
            if st.null_every and n % st.null_every == 0:
                text, finish = None, "error"  # what a failed generation looks like to the client
            choices.append({"index": i, "text": text, "finish_reason": finish, "logprobs": None})
        self._send_json(200, {
            "id": f"cmpl-{uuid.uuid4().hex[:16]}", "object": "text_completion", "created": int(time.time()),
            "model": st.model_name, "choices": choices,
            "usage": {"prompt_tokens": usage_in, "completion_tokens": usage_out,
                      "total_tokens": usage_in + usage_out},
        })


class RunningServer:
    """A started server: its port, its fault switches, and a way to stop it (also used in-process by tests)."""

    def __init__(self, httpd: ThreadingHTTPServer, state: _State, max_lifetime_s: float,
                 idle_timeout_s: float) -> None:
        self._httpd = httpd
        self.state = state
        self.port = int(httpd.server_address[1])
        self.url = f"http://{LOOPBACK}:{self.port}"
        self._stopped = threading.Event()
        self._max_lifetime_s = max_lifetime_s
        self._idle_timeout_s = idle_timeout_s
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        threading.Thread(target=self._watchdog, daemon=True).start()

    def set_faults(self, null_text_every: int = 0, http_error_every: int = 0) -> None:
        with self.state.count_lock:
            self.state.null_every, self.state.error_every, self.state.requests = null_text_every, http_error_every, 0

    def _watchdog(self) -> None:
        started = time.monotonic()
        while not self._stopped.wait(0.5):
            now = time.monotonic()
            if now - started > self._max_lifetime_s:
                print(f"tiny server: lifetime {self._max_lifetime_s}s reached, exiting", file=sys.stderr, flush=True)
                break
            if now - self.state.last_request > self._idle_timeout_s:
                print(f"tiny server: idle {self._idle_timeout_s}s, exiting", file=sys.stderr, flush=True)
                break
        self.stop()

    def stop(self) -> None:
        if not self._stopped.is_set():
            self._stopped.set()
        if self._httpd is not None:
            httpd, self._httpd = self._httpd, None  # type: ignore[assignment]
            httpd.shutdown()
            httpd.server_close()

    def wait(self) -> None:
        """Block until the server stops (bounds reached, or stop())."""
        while not self._stopped.wait(0.5):
            pass


def start(engine: TinyEngine, port: int = 0, *, model_name: str = "tiny-gsm8k", max_lifetime_s: float = 900,
          idle_timeout_s: float = 300, null_every: int = 0, error_every: int = 0) -> RunningServer:
    """Serve on 127.0.0.1:``port`` (0 = any free port) in background threads; bounded in time."""
    state = _State(engine, model_name, null_every, error_every)
    handler = type("Handler", (_Handler,), {"state": state})
    httpd = ThreadingHTTPServer((LOOPBACK, port), handler)
    httpd.daemon_threads = True
    return RunningServer(httpd, state, max_lifetime_s, idle_timeout_s)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, type=Path)
    parser.add_argument("--build-from", type=Path, default=None,
                        help="gsm8k data folder: build the tiny model into --model-dir first if it is not there")
    parser.add_argument("--host", default=LOOPBACK, help="must be 127.0.0.1 (the server is loopback only)")
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port (printed as LISTENING)")
    parser.add_argument("--served-model-name", default="tiny-gsm8k")
    parser.add_argument("--max-lifetime-s", type=float, default=900)
    parser.add_argument("--idle-timeout-s", type=float, default=300)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--null-text-every", type=int, default=0)
    parser.add_argument("--http-error-every", type=int, default=0)
    args = parser.parse_args(argv)
    if args.host != LOOPBACK:
        parser.error(f"--host must be {LOOPBACK}: this server is for loopback tests only")
    if args.build_from is not None:
        from mhc_verify.gsm8k.tiny_model import build_tiny_model, is_built

        if not is_built(args.model_dir):
            build_tiny_model(args.build_from, args.model_dir)
    engine = TinyEngine(args.model_dir, threads=args.threads)
    server = start(engine, args.port, model_name=args.served_model_name, max_lifetime_s=args.max_lifetime_s,
                   idle_timeout_s=args.idle_timeout_s, null_every=args.null_text_every,
                   error_every=args.http_error_every)
    # What ran, for the gate's kernel_evidence (this server has no mHC kernels; it names itself).
    print(f"tiny server: serving {args.model_dir} (random tiny Llama, no mHC kernels)", flush=True)
    serve_until_stopped(server)
    return 0


def serve_until_stopped(server: RunningServer) -> None:
    """Announce ``server``'s port (a line a parent can wait for when it asked for port 0) and block
    until it stops (its bounds reached, or Ctrl-C)."""
    print(f"LISTENING {LOOPBACK}:{server.port}", flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    raise SystemExit(main())
