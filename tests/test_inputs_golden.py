"""A case's inputs are a pure function of its descriptor: the same bits on every run of the same
torch build, so a reproducer replays bit-exactly. A change to how inputs are built (or a torch whose
generator draws differently) shows here first; if it is deliberate, update the digest and say in
the change that reproducers written before it no longer rebuild the same inputs."""

import hashlib

import pytest
import torch

from mhc_reference.contract import OPS
from mhc_verify.cases import Case, build_inputs

# sha256 of each op group's inputs x 8 families x 3 shapes, torch 2.13.0+cpu (the CI build); an op
# added to the contract gets its own digest, so the recorded ones still prove the others unchanged
DIGESTS = {
    ("prenorm_gemm", "mixes", "sinkhorn", "layer_input", "pre_big_fuse", "mhc_pre", "hc_post", "hc_head",
     "fused_post_pre"): "1ba0430257417db6cc124cc45697de3cc3b3333c7ed583662a61e90ab91d5077",
    ("pre_mix",): "1f26ee958ea877e7ac5de0b4d05adbb3f78857cf33337351299168f953433d00",
}
FAMILIES = ("normal", "heavy_tail", "cancellation", "zeros", "nonfinite", "exact_int", "saturating",
            "peaked_softmax")


def test_every_op_has_a_recorded_digest():
    assert sorted(op for ops in DIGESTS for op in ops) == sorted(OPS)


@pytest.mark.parametrize("ops", list(DIGESTS), ids=lambda ops: ops[0] if len(ops) == 1 else "original")
def test_inputs_are_the_same_bits_as_recorded(ops):
    if torch.__version__ != "2.13.0+cpu":
        pytest.skip(f"the digest was recorded with torch 2.13.0+cpu, this is {torch.__version__}")
    assert digest(ops) == DIGESTS[ops]


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
