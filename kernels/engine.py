"""The base of the adapters for the engines' own kernels (vLLM, SGLang, aiter).

An adapter calls the engine's entry point exactly as the engine does: same function, same argument
order, same output buffers, and no guard (T = 0, contiguity) the engine's own call site lacks.
Its modules are imported lazily, inside ``available()`` and the op methods, so a missing engine
makes the backend unavailable with the import error as the reason; tests hand in test doubles
(modules whose ``IS_TEST_DOUBLE`` is true) through ``modules=``, and the provenance says so.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Mapping

import torch

from mhc_kernels.base import Backend


def package_version(dist: str) -> str:
    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"


class EngineBackend(Backend):
    device_type = "cuda"
    package: str = ""  # the distribution whose version the provenance records ("vllm")
    modules: tuple[str, ...] = ()  # every module the adapter calls into, imported by available()

    def __init__(self, modules: Mapping[str, Any] | None = None) -> None:
        self._given = dict(modules or {})

    def module(self, name: str) -> Any:
        found = self._given.get(name)
        return found if found is not None else importlib.import_module(name)

    def is_test_double(self) -> bool:
        return any(getattr(m, "IS_TEST_DOUBLE", False) for m in self._given.values())

    def engine_version(self) -> str:
        if self.is_test_double():
            return "TEST DOUBLE"
        return package_version(self.package)

    def unavailable_reason(self) -> str | None:
        """A reason this backend cannot run here although its modules import (None: it can)."""
        return None

    def available(self) -> tuple[bool, str]:
        for name in self.modules:
            try:
                self.module(name)
            except Exception as e:  # noqa: BLE001 - the import error is the reason
                return False, f"cannot import {name}: {type(e).__name__}: {e}"
        if self.is_test_double():
            return True, f"{self.package} TEST DOUBLE (records calls; not a validation of {self.package})"
        if not torch.cuda.is_available():
            return False, f"{self.package} {self.engine_version()} imports, but no CUDA device is visible"
        why = self.unavailable_reason()
        if why:
            return False, why
        return True, f"{self.package} {self.engine_version()} on {torch.cuda.get_device_name()}"

    def provenance(self) -> dict[str, Any]:
        prov = super().provenance()
        prov[self.package or "engine"] = self.engine_version()
        prov["test_double"] = self.is_test_double()
        files = {}
        for name in self.modules:
            try:
                files[name] = getattr(self.module(name), "__file__", None)
            except Exception as e:  # noqa: BLE001
                files[name] = f"not importable: {type(e).__name__}: {e}"
        prov["module_files"] = files
        if torch.cuda.is_available():
            prov["device"] = torch.cuda.get_device_name()
        return prov

    def engine(self, module: str, attr: str) -> Any:
        return getattr(self.module(module), attr)

    def call(self, module: str, attr: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``module.attr`` and count it under that qualified name in ``provenance()["calls"]``."""
        fn = self.engine(module, attr)
        calls = self.__dict__.setdefault("_engine_calls", {})
        key = f"{module}.{attr}"
        calls[key] = calls.get(key, 0) + 1
        return fn(*args, **kwargs)
