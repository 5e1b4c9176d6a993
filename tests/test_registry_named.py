"""A run that names its backends loads and probes only those (stress, bench, swap, depth): naming
`tilelang` must not import vLLM, SGLang and aiter to report on them (17.7 s of a 43.8 s stress run
on the H200 of results/gpu/2026-12-04-h200-engines-4 went to backends and plan)."""

import pytest

from mhc_verify import registry
from mhc_verify.front_door import UsageError, explicit_backends


@pytest.fixture
def loaded(monkeypatch):
    seen = []
    real = registry._info

    def recording(name, source, spec):
        seen.append(name)
        return real(name, source, spec)

    monkeypatch.setattr(registry, "_info", recording)
    return seen


def test_only_the_named_builtins_are_loaded(loaded):
    infos = registry.discover_named(["torch"])
    assert loaded == ["torch"] and list(infos) == ["torch"] and infos["torch"].available


def test_a_module_attr_spec_is_loaded_beside_the_named(loaded):
    infos = registry.discover_named(["torch", "mhc_kernels.torch_native:TorchNativeBackend"])
    assert loaded == ["torch", "mhc_kernels.torch_native:TorchNativeBackend"]
    assert "torch" in infos


def test_without_names_every_backend_is_still_discovered(loaded):
    registry.discover()
    assert set(registry.BUILTIN_BACKENDS) <= set(loaded)


def test_an_unknown_name_lists_every_known_backend_not_only_the_loaded():
    with pytest.raises(UsageError) as e:
        explicit_backends(["tilelangg"], registry.discover_named(["tilelangg"]))
    for name in ("tilelang", "vllm-tilelang", "torch"):
        assert name in str(e.value)
