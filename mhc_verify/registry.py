"""Backend discovery: built-ins, the ``mhc_verify.backends`` entry-point group, and ad-hoc
``module:attr`` specs. Nothing is skipped silently: every backend that cannot be loaded or is
unavailable is listed with the reason.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Collection

from mhc_kernels import BUILTIN_BACKENDS
from mhc_kernels.base import Backend

ENTRY_POINT_GROUP = "mhc_verify.backends"


@dataclass
class BackendInfo:
    name: str
    source: str  # "builtin" | "entry point" | "ad hoc"
    spec: str  # module:attr
    backend: Backend | None
    available: bool
    reason: str
    implements: tuple[str, ...] = ()
    provenance: dict[str, Any] = field(default_factory=dict)


def _load(spec: str) -> Backend:
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"backend spec {spec!r} must be 'module:attr'")
    obj = getattr(importlib.import_module(module_name), attr)
    backend = obj() if isinstance(obj, type) else obj
    if not isinstance(backend, Backend):
        raise TypeError(f"{spec} is a {type(backend).__name__}, not an mhc_kernels.base.Backend")
    return backend


def _info(name: str, source: str, spec: str) -> BackendInfo:
    try:
        backend = _load(spec)
    except Exception as e:  # noqa: BLE001 - any load failure is reported as the reason
        return BackendInfo(name, source, spec, None, False, f"cannot load {spec}: {type(e).__name__}: {e}")
    try:
        ok, reason = backend.available()
    except Exception as e:  # noqa: BLE001
        ok, reason = False, f"available() raised {type(e).__name__}: {e}"
    prov: dict[str, Any] = {}
    if ok:
        try:
            prov = backend.provenance()
        except Exception as e:  # noqa: BLE001
            prov = {"error": f"provenance() raised {type(e).__name__}: {e}"}
    return BackendInfo(backend.name or name, source, spec, backend, bool(ok), reason, backend.implements(), prov)


def discover(extra_specs: list[str] | tuple[str, ...] = (), only: Collection[str] | None = None
             ) -> dict[str, BackendInfo]:
    """Every backend we know of, by name, available or not (with the reason). With ``only``, just
    the built-ins and entry points of those names are loaded and probed (a run that names its
    backends does not import every engine to report on it: 10-20 s with vLLM, SGLang and aiter
    installed); the ad-hoc ``extra_specs`` always are."""
    found: dict[str, BackendInfo] = {}
    for name, spec in BUILTIN_BACKENDS.items():
        if only is None or name in only:
            found[name] = _info(name, "builtin", spec)
    for ep in _entry_points():
        if only is None or ep.name in only:
            found.setdefault(ep.name, _info(ep.name, "entry point", ep.value))
    for spec in extra_specs:
        info = _info(spec, "ad hoc", spec)
        found[info.name] = info
    return found


def discover_named(names: Collection[str]) -> dict[str, BackendInfo]:
    """discover() for a run that names its backends: the named built-ins and entry points, and the
    module:attr specs among the names."""
    return discover([n for n in names if ":" in n], only={n for n in names if ":" not in n})


def known_names() -> list[str]:
    """The names discover() knows without loading anything: built-ins and entry points."""
    return sorted(set(BUILTIN_BACKENDS) | {ep.name for ep in _entry_points()})


def _entry_points() -> list:
    try:
        return list(entry_points(group=ENTRY_POINT_GROUP))
    except TypeError:  # Python < 3.10 API
        return list(entry_points().get(ENTRY_POINT_GROUP, []))


def select(names: list[str] | tuple[str, ...], discovered: dict[str, BackendInfo]) -> dict[str, BackendInfo]:
    """Resolve names (or module:attr specs) against the discovered backends; unknown names raise."""
    chosen: dict[str, BackendInfo] = {}
    for name in names:
        if name in discovered:
            chosen[name] = discovered[name]
        elif ":" in name:
            info = _info(name, "ad hoc", name)
            chosen[info.name] = info
        else:
            raise KeyError(f"unknown backend {name!r}; known: {', '.join(sorted(set(discovered) | set(known_names())))}")
    return chosen
