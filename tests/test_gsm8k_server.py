"""Server management by the gate (start, health, timeout, shutdown, refusal) and command templating,
with stand-in commands: fast, no model."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from gsm8k_fixtures import config_dict
from mhc_verify.gsm8k.config import ConfigError, parse_config, substitute
from mhc_verify.gsm8k.gate import GateOptions, run_gate
from mhc_verify.gsm8k.server import ManagedServer, ServerError, free_port

# A stand-in server: answers GET /health with 200 after a moment; exits on SIGTERM.
HEALTHY = ("import http.server, sys, time\n"
           "class H(http.server.BaseHTTPRequestHandler):\n"
           "    def do_GET(self):\n"
           "        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')\n"
           "    def log_message(self, *a): pass\n"
           "time.sleep(0.3)\n"
           "print('up', flush=True)\n"
           "http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()\n")


def fake_data(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    for split in ("test", "train"):
        (d / f"{split}.jsonl").write_text('{"question": "q", "answer": "#### 1"}\n')
    return d


def test_managed_server_starts_checks_health_and_stops(tmp_path):
    port = free_port()
    srv = ManagedServer([sys.executable, "-c", HEALTHY, str(port)], {"MHC_X": "1"},
                        f"http://127.0.0.1:{port}/health", tmp_path / "server.log", host="127.0.0.1", port=port,
                        startup_timeout_s=30, shutdown_timeout_s=10, poll_s=0.1)
    with srv:
        assert srv.proc is not None and srv.proc.poll() is None and srv.startup_s is not None
    assert srv.clean_shutdown is True and srv.proc.poll() is not None
    assert "up" in (tmp_path / "server.log").read_text()


def test_managed_server_refuses_a_busy_port(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        srv = ManagedServer([sys.executable, "-c", "pass"], {}, f"http://127.0.0.1:{port}/health",
                            tmp_path / "log", host="127.0.0.1", port=port, startup_timeout_s=5, shutdown_timeout_s=5)
        with pytest.raises(ServerError, match="already in use"):
            srv.start()


def run_with_server(tmp_path: Path, command: list[str], startup_timeout_s: float = 30):
    d = config_dict()
    d["server"] = {"command": command, "port": 0, "startup_timeout_s": startup_timeout_s, "shutdown_timeout_s": 5}
    d["endpoint"] = "http://{host}:{port}/v1/completions"
    return run_gate(parse_config(d), GateOptions(data_dir=fake_data(tmp_path), out_dir=tmp_path / "out",
                                                 server_poll_s=0.1))


def test_server_that_exits_fails_the_gate(tmp_path):
    out = run_with_server(tmp_path, ["{python}", "-c", "import sys; print('boom'); sys.exit(3)"])
    assert not out.passed
    text = "\n".join(out.report["reasons"])
    assert "run:candidate: ServerError: server exited with code 3 during startup" in text and "boom" in text


def test_server_that_never_gets_healthy_is_stopped(tmp_path):
    out = run_with_server(tmp_path, ["{python}", "-c", "import time; time.sleep(120)"], startup_timeout_s=1)
    assert not out.passed
    assert "not healthy" in out.report["reasons"][0]
    prov = out.report["runs"]["candidate"]["provenance"]
    assert prov["server_clean_shutdown"] is True  # SIGTERM was enough
    assert prov["server_env"] == {}


def test_backend_env_reaches_the_server(tmp_path):
    probe = ("import os, sys; open(sys.argv[1], 'a').write(os.environ.get('X', '-') + ' ' + "
             "os.environ.get('COMMON', '-') + '\\n'); sys.exit(1)")
    d = config_dict(candidate="b", baseline={"backend": "a"})
    d["server"] = {"command": ["{python}", "-c", probe, str(tmp_path / "seen")], "port": 0,
                   "env": {"COMMON": "c"}, "startup_timeout_s": 10}
    d["endpoint"] = "http://{host}:{port}/v1/completions"
    out = run_gate(parse_config(d), GateOptions(data_dir=fake_data(tmp_path), out_dir=tmp_path / "o",
                                                server_poll_s=0.1))
    # Backend b's X=1 on top of the server's common environment.
    assert (tmp_path / "seen").read_text() == "1 c\n"
    # The candidate's server failed, so the baseline was not started at all.
    assert "baseline: not run: the candidate run failed" in "\n".join(out.report["reasons"])


def test_placeholders_leave_json_alone():
    values = {"host": "127.0.0.1", "port": "8000", "model": "m"}
    assert substitute('{"mode": 3, "cudagraph_mode": "FULL"}', values) == '{"mode": 3, "cudagraph_mode": "FULL"}'
    assert substitute("http://{host}:{port}/v1", values) == "http://127.0.0.1:8000/v1"
    with pytest.raises(ConfigError, match="no value"):
        substitute("{data_dir}", values)


def test_data_dir_is_required_to_run_the_offline_task(tmp_path):
    d = config_dict()
    with pytest.raises(ConfigError, match=r"--data-dir"):
        run_gate(parse_config(d), GateOptions(out_dir=tmp_path))
    with pytest.raises(ConfigError, match=r"lacks test\.jsonl"):
        run_gate(parse_config(d), GateOptions(out_dir=tmp_path, data_dir=tmp_path))
