"""The pytest plugin's skips and failures, through pytester (a pytest run inside the test).

An unavailable backend skips with its reason, and fails when required (--require-backend); an op the
backend does not implement skips with that reason whether or not the backend is required: it is a
property of the backend, as the CLI reports it ("not implemented"), not a failure to run it.
"""

pytest_plugins = ["pytester"]

BACKENDS = '''
from mhc_kernels.torch_native import TorchNativeBackend


class PartialTorch(TorchNativeBackend):
    """Available on CPU; implements every op of the torch backend but mixes."""
    name = "partial-torch"
    mixes = None


class NeverAvailable(TorchNativeBackend):
    name = "never-available"

    def available(self):
        return False, "no such device here"
'''

TEST = '''
def test_pair(mhc_backend_info, mhc_op):
    assert mhc_op in mhc_backend_info.implements
'''


def _run(pytester, *args):
    pytester.makepyfile(plugin_backends=BACKENDS, test_pairs=TEST)
    pytester.syspathinsert()
    # a subprocess: in-process runs re-import torch after pytester drops its modules, and crash
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", *args)


def test_an_op_the_backend_lacks_is_skipped_with_its_reason_even_when_required(pytester):
    result = _run(pytester, "--backend", "plugin_backends:PartialTorch", "--require-backend", "partial-torch",
                  "-k", "mixes or hc_post")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*backend partial-torch does not implement mixes (not implemented)*"])


def test_an_unavailable_backend_skips_with_its_reason_and_fails_when_required(pytester):
    result = _run(pytester, "--backend", "plugin_backends:NeverAvailable", "-k", "hc_post")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*backend never-available unavailable: no such device here*"])
    required = _run(pytester, "--backend", "plugin_backends:NeverAvailable", "--require-backend", "never-available",
                    "-k", "hc_post")
    required.assert_outcomes(errors=1)
    required.stdout.fnmatch_lines(["*required backend never-available unavailable: no such device here*"])
