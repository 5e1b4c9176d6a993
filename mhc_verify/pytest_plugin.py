"""pytest plugin (entry point ``pytest11``): backend selection, profiles, and (backend, op) fixtures.

Options:
  --backend NAME          run against this backend (repeatable; default torch + available GPU backends)
  --require-backend NAME  an unavailable required backend is a failure, not a skip (repeatable)
  --mhc-profile NAME      dev | ci | nightly (default: $HYPOTHESIS_PROFILE or ci)
  --mhc-examples N        examples per (backend, op) in the property tests
  --swap A:B              the swap verdict of B replacing A (repeatable), for tests taking ``mhc_swap``

Tests that take the ``mhc_backend_info`` and ``mhc_op`` fixtures are parametrised over every
(backend, op); a backend that is unavailable is skipped with the reason (shown in the summary by
``-ra``), unless it is required, when the test fails. An op the backend does not implement is
skipped with that reason, required or not (the CLI reports it as "not implemented").

Tests that take ``mhc_swap`` are parametrised over every (--swap A:B, op both implement) and get
``(backend A, backend B, op)``; without --swap they skip, saying so.
"""

from __future__ import annotations

import os

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mhc-verify")
    group.addoption("--backend", action="append", default=None, help="backend name or module:attr (repeatable)")
    group.addoption("--require-backend", action="append", default=None,
                    help="fail (not skip) when this backend is unavailable (repeatable)")
    group.addoption("--mhc-profile", default=None, help="dev | ci | nightly")
    group.addoption("--mhc-examples", type=int, default=None, help="examples per (backend, op)")
    group.addoption("--swap", action="append", default=None, metavar="A:B",
                    help="judge B replacing A (mhc-verify swap) in tests that take mhc_swap (repeatable)")
    group.addoption("--stress-reruns", type=int, default=200, help="reruns per stress case (nightly: 1000)")
    group.addoption("--stress-out", default="mhc-verify-stress-pytest", help="stress reports and heatmaps")


def _selected(config: pytest.Config):
    from mhc_verify.registry import discover, select

    cached = getattr(config, "_mhc_backends", None)
    if cached is not None:
        return cached
    names = config.getoption("--backend") or []
    required = config.getoption("--require-backend") or []
    infos = discover([n for n in names if ":" in n])
    if names:
        chosen = select(names, infos)
    else:
        chosen = {n: b for n, b in infos.items()
                  if n == "torch" or (b.backend is not None and b.backend.device_type == "cuda")}
    chosen.update(select([r for r in required if r not in chosen], infos))
    config._mhc_backends = (chosen, set(required))  # type: ignore[attr-defined]
    return config._mhc_backends


def _swap_params(config: pytest.Config) -> list:
    """(A name, B name, op) for every --swap A:B and every op both implement."""
    from mhc_verify.registry import discover, select

    params = []
    for spec in config.getoption("--swap") or []:
        a_name, sep, b_name = spec.rpartition(":") if spec.count(":") == 1 else spec.partition("::")
        if not sep or not a_name or not b_name:
            raise pytest.UsageError(f"--swap {spec!r}: expected A:B (module:attr specs as A::B)")
        infos = select([a_name, b_name], discover([n for n in (a_name, b_name) if ":" in n]))
        a, b = infos[next(iter(infos))], list(infos.values())[-1]
        common = [op for op in a.implements if op in b.implements] or [None]
        params += [(a_name, b_name, op) for op in common]
    return params


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "mhc_swap" in metafunc.fixturenames:
        params = _swap_params(metafunc.config) or [None]
        metafunc.parametrize("mhc_swap", params, indirect=True,
                             ids=[f"{p[0]}-to-{p[1]}-{p[2]}" if p else "no-swap-given" for p in params])
    if "mhc_backend_info" not in metafunc.fixturenames:
        return
    from mhc_reference.contract import OPS

    chosen, _ = _selected(metafunc.config)
    if "mhc_op" in metafunc.fixturenames:
        pairs = [(b, op) for b in chosen for op in OPS]
        metafunc.parametrize(("mhc_backend_info", "mhc_op"), pairs, ids=[f"{b}-{op}" for b, op in pairs],
                             indirect=["mhc_backend_info"])
    else:
        metafunc.parametrize("mhc_backend_info", list(chosen), indirect=True)


@pytest.fixture
def mhc_backend_info(request: pytest.FixtureRequest):
    chosen, required = _selected(request.config)
    info = chosen[request.param]
    if not info.available:
        message = f"backend {info.name} unavailable: {info.reason}"
        if info.name in required:
            pytest.fail(f"required {message}")
        pytest.skip(message)
    op = request.node.callspec.params.get("mhc_op") if hasattr(request.node, "callspec") else None
    if op is not None and op not in info.implements:
        # A property of the backend, not a failure to run it: "not implemented" in the CLI's report
        # too, required or not. (Failing here made the README's own GPU command error on tilelang's
        # mixes and sinkhorn, which it only implements fused: results/gpu/2026-11-25-h100-h200-session4.)
        pytest.skip(f"backend {info.name} does not implement {op} (not implemented)")
    return info


@pytest.fixture
def mhc_swap(request: pytest.FixtureRequest):
    """(backend A, backend B, op) of a --swap A:B; skips when no --swap was given, or when A or B is
    unavailable (a failure if it is --require-backend)."""
    if request.param is None:
        pytest.skip("no --swap A:B given")
    a_name, b_name, op = request.param
    if op is None:
        pytest.fail(f"--swap {a_name}:{b_name}: the two backends implement no op in common")
    _, required = _selected(request.config)
    return _available_backend(a_name, required), _available_backend(b_name, required), op


def _available_backend(name: str, required: set):
    """The backend, loaded and available; otherwise the test skips with the reason, or fails if it
    is required (--require-backend)."""
    from mhc_verify.registry import discover, select

    info = next(iter(select([name], discover([name] if ":" in name else [])).values()))
    if not info.available:
        message = f"backend {info.name} unavailable: {info.reason}"
        if info.name in required or name in required:
            pytest.fail(f"required {message}")
        pytest.skip(message)
    return info.backend


@pytest.fixture
def mhc_profile(request: pytest.FixtureRequest):
    from mhc_verify.strategies import PROFILES

    name = request.config.getoption("--mhc-profile") or os.environ.get("HYPOTHESIS_PROFILE", "ci")
    if name not in PROFILES:
        raise pytest.UsageError(f"unknown --mhc-profile {name!r}; profiles: {', '.join(PROFILES)}")
    return PROFILES[name]


@pytest.fixture
def mhc_examples(request: pytest.FixtureRequest) -> int | None:
    return request.config.getoption("--mhc-examples")


@pytest.fixture
def mhc_backend(request: pytest.FixtureRequest):
    """``mhc_backend(name_or_module_attr)`` -> the backend, loaded and available; otherwise the test
    skips with the reason, or fails if that backend is required (--require-backend)."""
    _, required = _selected(request.config)
    return lambda name: _available_backend(name, required)
