"""Starting and stopping the inference server (``vllm serve ...``) for one backend's run.

The server runs in its own process group so that shutdown reaches the engine's worker processes
too: SIGTERM to the group, a grace period, then SIGKILL. Its output goes to a log file kept with
the run. Startup waits for the health URL to answer 200, and fails early when the process exits.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from types import TracebackType


class ServerError(RuntimeError):
    """The server could not be started, or did not become healthy."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port that nothing listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        return s.connect_ex((host, port)) == 0


def http_ok(url: str, timeout: float = 5.0) -> bool:
    """True when GET ``url`` answers 2xx. Proxies are bypassed: the server is local."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout) as r:
            return 200 <= r.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def models_url(endpoint: str) -> str:
    """The OpenAI ``/models`` URL beside a completions ``endpoint``."""
    base = endpoint.rstrip("/")
    for suffix in ("/chat/completions", "/completions"):
        if base.endswith(suffix):
            return base[: -len(suffix)] + "/models"
    return base + "/models"


def preflight(endpoint: str, model: str, timeout: float = 10.0) -> str | None:
    """Check that ``endpoint`` answers and serves ``model`` before hours of evaluation start.

    Returns None when it does, else one line saying why not. A server without a ``/models`` route
    (404) is let through: lm-eval finds out for itself, and its failure is reported.
    """
    url = models_url(endpoint)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # the engine is local
    try:
        with opener.open(url, timeout=timeout) as r:
            body = r.read()
    except urllib.error.HTTPError as e:
        return None if e.code == 404 else f"endpoint pre-flight: GET {url} answered HTTP {e.code} {e.reason}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        return f"endpoint pre-flight: cannot connect to {url}: {reason}"
    try:
        served = [m.get("id") for m in json.loads(body).get("data", []) if isinstance(m, dict)]
    except (ValueError, AttributeError):
        return None  # not an OpenAI model list: nothing to compare
    if served and model not in served:
        return f"endpoint pre-flight: {url} serves {served}, not the configured model {model!r}"
    return None


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as f:
            return "".join(deque(f, maxlen=lines))
    except OSError:
        return ""


class ManagedServer:
    """Context manager: start ``command`` with ``env`` added, wait until healthy, stop on exit."""

    def __init__(self, command: list[str], env: dict[str, str], health_url: str, log_path: Path, *,
                 host: str, port: int, startup_timeout_s: float, shutdown_timeout_s: float,
                 poll_s: float = 1.0) -> None:
        self.command = command
        self.env = env
        self.health_url = health_url
        self.log_path = log_path
        self.host, self.port = host, port
        self.startup_timeout_s = startup_timeout_s
        self.shutdown_timeout_s = shutdown_timeout_s
        self.poll_s = poll_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.startup_s: float | None = None
        self.exit_code: int | None = None
        self.clean_shutdown: bool | None = None

    def start(self) -> None:
        # Something already answering on the port would be measured in place of this backend.
        if port_in_use(self.host, self.port):
            raise ServerError(f"{self.host}:{self.port} is already in use; refusing to start the server there, "
                              "since the results would come from whatever is listening")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        try:
            self.proc = subprocess.Popen(self.command, env={**os.environ, **self.env}, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        except OSError as e:
            log.close()
            raise ServerError(f"cannot start server {self.command[0]!r}: {e}") from e
        log.close()  # the child holds its own descriptor
        t0 = time.monotonic()
        while True:
            code = self.proc.poll()
            if code is not None:
                self.exit_code = code
                raise ServerError(f"server exited with code {code} during startup; log {self.log_path}:\n"
                                  f"{log_tail(self.log_path)}")
            if http_ok(self.health_url, timeout=min(5.0, self.poll_s * 5)):
                self.startup_s = time.monotonic() - t0
                return
            if time.monotonic() - t0 > self.startup_timeout_s:
                self.stop()
                raise ServerError(f"server not healthy at {self.health_url} after {self.startup_timeout_s:.0f}s; "
                                  f"log {self.log_path}:\n{log_tail(self.log_path)}")
            time.sleep(self.poll_s)

    def stop(self) -> None:
        proc = self.proc
        if proc is None or self.clean_shutdown is not None:
            return
        if proc.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                proc.wait(timeout=self.shutdown_timeout_s)
                self.clean_shutdown = True
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                proc.wait(timeout=30)
                self.clean_shutdown = False
        else:
            self.clean_shutdown = True
        self.exit_code = proc.returncode
        # Workers the engine left in its group (the leader may exit first) go too.
        self._signal_group(signal.SIGKILL)

    def _signal_group(self, sig: int) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, sig)  # the group this server leads (start_new_session)
        except (ProcessLookupError, PermissionError):
            pass

    def __enter__(self) -> ManagedServer:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
