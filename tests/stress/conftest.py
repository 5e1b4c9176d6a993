"""GPU race stress as pytest tests, one xdist worker per GPU.

    pytest -n <number of GPUs> tests/stress --stress-reruns 1000 --require-backend tilelang

Each xdist worker (gw0, gw1, ...) pins itself to one GPU by setting CUDA_VISIBLE_DEVICES before
anything touches CUDA; the GPU count comes from MHC_STRESS_GPUS or ``nvidia-smi -L`` (never from
torch, which would initialise CUDA in the controller). Without a GPU every test here skips with that
reason, unless the backend is required (the mhc_verify plugin's --require-backend): then it fails.
"""

import os
import subprocess


def _gpu_count() -> int:
    if os.environ.get("MHC_STRESS_GPUS"):
        return int(os.environ["MHC_STRESS_GPUS"])
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def pytest_configure(config):
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # "gw3" in a worker, unset in a plain run
    gpus = _gpu_count()
    if worker and gpus and "CUDA_VISIBLE_DEVICES" not in os.environ:
        os.environ["CUDA_VISIBLE_DEVICES"] = str(int(worker[2:]) % gpus)
