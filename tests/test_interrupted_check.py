"""A check stopped by SIGTERM (what `timeout` sends) still writes its report, marked partial."""

import json
import os
import signal
import subprocess
import sys
import time


def test_sigterm_writes_a_partial_report(tmp_path):
    out = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "mhc_verify", "check", "--backend", "torch", "--profile", "ci",
                             "--examples", "100000", "--op", "layer_input", "--out", str(out), "--no-progress"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(12)  # inside the (long) layer_input pair
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, err
    report = json.loads((out / "report.json").read_text())
    assert "interrupted" in report["meta"]
    assert [r["verdict"] for r in report["results"]] == ["interrupted"]
    judged = report["results"][0]
    assert judged["cases"] > 0 and len(judged["ratios"]) == judged["cases"]  # the cases judged before the stop count
    assert "INTERRUPTED" in (out / "report.md").read_text()
