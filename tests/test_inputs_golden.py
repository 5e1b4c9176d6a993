"""A case's inputs are a pure function of its descriptor: the same bits on every run of the same
torch build, so a reproducer replays bit-exactly. A change to how inputs are built (or a torch whose
generator draws differently) shows here first; if it is deliberate, update the digest and say in
the change that reproducers written before it no longer rebuild the same inputs."""

import hashlib

import pytest
import torch

from mhc_reference.contract import OPS
from mhc_verify.cases import Case, build_inputs

ORIGINAL_OPS = ("prenorm_gemm", "mixes", "sinkhorn", "layer_input", "pre_big_fuse", "mhc_pre", "hc_post", "hc_head",
                "fused_post_pre")
# sha256 of each op group's inputs x 8 families x 3 shapes, torch 2.13.0+cpu (the CI build); an op
# added to the contract gets its own digest, so the recorded ones still prove the others unchanged
DIGESTS = {
    ORIGINAL_OPS: "1ba0430257417db6cc124cc45697de3cc3b3333c7ed583662a61e90ab91d5077",
    ("pre_mix",): "1f26ee958ea877e7ac5de0b4d05adbb3f78857cf33337351299168f953433d00",
}
# The same wheel draws other bits on another CPU: torch's vectorized randn and exp2 and MKL's sgemm
# (the partials' GEMM) take ISA-specific paths (on one host, ATEN_CPU_CAPABILITY=avx2 against the
# default changes randn, exp2 and the GEMM; MKL_CBWR changes the GEMM). Hosts whose numerics
# fingerprint (host_fingerprint below) is recorded here are held to their own digests, every other
# host to DIGESTS. Recorded 2026-12-05 on an Intel Xeon with AVX-512 FP16 / BF16 (2 cores), where
# DIGESTS did not match under any capability or MKL_CBWR setting while no input-building code had
# changed since they were recorded.
DIGESTS_BY_HOST = {
    "311618146bf13d1b": {
        ORIGINAL_OPS: "0068547174b63c9ad9e39c69e544f110467759aacef39137e94025e463641d9e",
        ("pre_mix",): "55b3b7a502b34466cc95a84588e310040351a739b38df9e8d600c4bdba75fc2b",
    },
}


def host_fingerprint() -> str:
    """The bits this host's torch gives for the operations that build inputs (randn, rand, exp2, sqrt,
    an fp32 GEMM at the digest's shapes, the bf16 cast), hashed: equal on hosts that build the same
    inputs."""
    g = torch.Generator().manual_seed(20261205)
    h = hashlib.sha256()
    parts = [torch.randn(4099, generator=g), torch.rand(4099, generator=g)]
    parts += [torch.exp2(parts[0]), torch.sqrt(parts[1]), parts[0].to(torch.bfloat16)]
    for t, k in ((7, 256), (300, 1024), (1, 2048)):
        parts.append(torch.randn(t, k, generator=g) @ torch.randn(24, k, generator=g).T)
    for p in parts:
        h.update(p.contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]
FAMILIES = ("normal", "heavy_tail", "cancellation", "zeros", "nonfinite", "exact_int", "saturating",
            "peaked_softmax")


def test_every_op_has_a_recorded_digest():
    assert sorted(op for ops in DIGESTS for op in ops) == sorted(OPS)


@pytest.mark.parametrize("ops", list(DIGESTS), ids=lambda ops: ops[0] if len(ops) == 1 else "original")
def test_inputs_are_the_same_bits_as_recorded(ops):
    if torch.__version__ != "2.13.0+cpu":
        pytest.skip(f"the digest was recorded with torch 2.13.0+cpu, this is {torch.__version__}")
    host = host_fingerprint()
    recorded = DIGESTS_BY_HOST.get(host, DIGESTS)[ops]
    assert digest(ops) == recorded, f"host numerics fingerprint {host}"


def test_the_host_fingerprint_sees_the_cpu_paths():
    """Two runs agree; a subprocess on torch's scalar paths (ATEN_CPU_CAPABILITY=default) gets
    another fingerprint, as it gets other inputs: the fingerprint tells such hosts apart."""
    import os
    import subprocess
    import sys

    assert host_fingerprint() == host_fingerprint()
    if torch.backends.cpu.get_cpu_capability() == "DEFAULT":
        pytest.skip("this torch already runs its scalar paths: nothing to tell apart")
    here = os.path.dirname(os.path.abspath(__file__))
    code = f"import sys; sys.path.insert(0, {here!r}); from test_inputs_golden import host_fingerprint as f; print(f())"
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() != host_fingerprint()


def digest(ops) -> str:
    h = hashlib.sha256()
    for op in ops:
        for family in FAMILIES:
            for t, hidden in ((7, 64), (300, 256), (1, 512)):
                case = Case(op, t, 4, hidden, family=family, seed=t * 7 + hidden)
                try:
                    inputs = build_inputs(case, torch.device("cpu"))
                except Exception as e:  # noqa: BLE001 - a family an op rejects is part of the record
                    h.update(repr(e).encode())
                    continue
                for name in sorted(inputs):
                    value = inputs[name]
                    if isinstance(value, torch.Tensor):
                        h.update(name.encode())
                        h.update(value.contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
