"""A run stopped while a kernel library is inside native code is an interrupted run, not a failing
kernel. Met on the H100: `timeout` stopped a check while TileLang ran nvcc inside a TVM FFI callback,
TVM FFI turned the KeyboardInterrupt into RuntimeError(''), and the suite reported an ERROR (then
FLAKY) for a healthy kernel."""

import json
import os
import signal
import threading
import time

from mhc_kernels.torch_native import TorchNativeBackend
from mhc_verify.cli import main


class SwallowsInterrupts(TorchNativeBackend):
    """Its 5th call 'compiles' for a while, and turns an interrupt into its own error, as TVM FFI does."""

    name = "swallows-interrupts"
    calls = 0

    def hc_post(self, *args, **kwargs):
        type(self).calls += 1
        if type(self).calls == 5:
            try:
                time.sleep(30)
            except KeyboardInterrupt:
                raise RuntimeError() from None
        return super().hc_post(*args, **kwargs)


def test_an_error_raised_by_the_stop_is_the_stop(tmp_path):
    SwallowsInterrupts.calls = 0
    timer = threading.Timer(4.0, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        code = main(["check", "--backend", f"{__name__}:SwallowsInterrupts", "--op", "hc_post", "--examples", "50",
                     "--out", str(tmp_path), "--no-progress"])
    finally:
        timer.cancel()
    assert code == 1
    (result,) = json.loads((tmp_path / "report.json").read_text())["results"]
    assert result["verdict"] == "interrupted", result["reason"]
    assert result["cases"] == 4 and result["failure"] is None
