"""A kernel that crashes once and then works (a launch that fails once, a race) is reported as a
flaky failure with its reproducer: never a pass, and never a crash of the whole check run."""

from mhc_kernels.torch_native import TorchNativeBackend
from mhc_verify.session import check_pair
from mhc_verify.strategies import PROFILES


class CrashesOnce(TorchNativeBackend):
    name = "crashes-once"

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def hc_post(self, *args, **kwargs):
        self.calls += 1
        if self.calls == 3:  # the third call only: Hypothesis's re-run of that case passes
            raise RuntimeError()  # an empty message, as a failed launch in a kernel library may raise
        return super().hc_post(*args, **kwargs)


def test_a_crash_that_does_not_reproduce_is_a_flaky_error(tmp_path):
    backend = CrashesOnce()
    stats = check_pair(backend, "hc_post", PROFILES["ci"], max_examples=10, repro_dir=tmp_path, use_target=False)
    assert stats.verdict == "ERROR"
    assert stats.reason.startswith("FLAKY")
    assert "RuntimeError()" in stats.reason and "in hc_post" in stats.reason  # the raising frame is shown
    assert stats.failure["reproducer"].startswith("mhc-verify replay")
    assert list(tmp_path.glob("*.json"))
