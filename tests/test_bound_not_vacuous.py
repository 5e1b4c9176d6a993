"""The bounds are not vacuous: the torch fallback computing in bf16 instead of fp32 is rejected."""

import pytest

from mhc_kernels.torch_native.bf16 import TorchBf16Backend
from mhc_reference.contract import OPS
from mhc_verify.session import check_pair
from mhc_verify.strategies import PROFILES


@pytest.mark.parametrize("op", list(OPS))
def test_bf16_math_is_rejected(op):
    stats = check_pair(TorchBf16Backend(), op, PROFILES["ci"], 60, diagnostics=False)
    assert stats.verdict == "FAIL", f"a bf16-math backend passed {op}: {stats.cases} cases"
