"""Case descriptors and reproducer files read from JSON, checked against the op contract first.

``Case.from_json`` trusts its input; a file from a user, another machine or another version of the
suite does not deserve that. Here every field is checked (type, range, the op's parameters and
dimension rules from ``mhc_reference.contract``) and an error names the field that is wrong, before
any tensor is built.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

from mhc_reference.contract import MAX_HC_MULT, ContractError, dim_sizes, get_op, shape_of, validate
from mhc_verify.cases import FAMILIES, Case
from mhc_verify.front_door import UsageError

LAYOUTS = ("contiguous", "strided")
# torch.Generator.manual_seed takes seeds in [-2^63, 2^64)
SEED_RANGE = (-(1 << 63), (1 << 64) - 1)
# More elements than this in one tensor cannot be indexed by torch (int64 sizes)
MAX_TENSOR_ELEMENTS = (1 << 62)
VERSION_FIELD = "mhc_verify_version"
# The reproducer fields replay reads, and their JSON types; others are recorded for people.
_REPRODUCER_FIELDS: dict[str, type | tuple[type, ...]] = {
    "case": dict, "backend": str, "backend_spec": str, "status": str, "reason": str, "command": str,
    "environment": dict, "backend_provenance": dict, VERSION_FIELD: str,
}


class CaseJsonError(UsageError, ValueError):
    """A case descriptor or reproducer that does not fit the contract; the message names the field.
    A bad input like a bad argument: the CLI reports it in one line with exit status 2."""


def project_version() -> str:
    from mhc_verify import __version__

    return __version__


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _int_field(d: dict, name: str, where: str, lo: int, hi: int | None = None) -> int:
    value = d[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise CaseJsonError(f"{where}.{name}: expected an integer, got {_type_name(value)} {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = f"{lo}..{hi}" if hi is not None else f">= {lo}"
        raise CaseJsonError(f"{where}.{name}: must be {bound}, got {value}")
    return value


def _choice_field(d: dict, name: str, where: str, choices: tuple[str, ...]) -> str:
    value = d[name]
    if not isinstance(value, str) or value not in choices:
        raise CaseJsonError(f"{where}.{name}: expected one of {', '.join(choices)}; got {value!r}")
    return value


def _params(raw: Any, op: str, where: str) -> tuple[tuple[str, Any], ...]:
    spec = get_op(op)
    if not isinstance(raw, list):
        raise CaseJsonError(f"{where}.params: expected a list of [name, value] pairs, got {_type_name(raw)}")
    pairs: list[tuple[str, Any]] = []
    for i, item in enumerate(raw):
        if not isinstance(item, list) or len(item) != 2 or not isinstance(item[0], str):
            raise CaseJsonError(f"{where}.params[{i}]: expected a [name, value] pair, got {item!r}")
        name, value = item
        if name not in spec.param_names:
            raise CaseJsonError(f"{where}.params[{i}]: {op} has no parameter {name!r}; its parameters: "
                                f"{', '.join(spec.param_names) or 'none'}")
        if name in dict(pairs):
            raise CaseJsonError(f"{where}.params[{i}]: parameter {name!r} given twice")
        pairs.append((name, value))
    return tuple(pairs)


def case_from_json(raw: Any, where: str = "case") -> Case:
    """A ``Case`` from a parsed JSON descriptor, every field checked; ``where`` prefixes the field names."""
    if not isinstance(raw, dict):
        raise CaseJsonError(f"{where}: expected a JSON object, got {_type_name(raw)}")
    fields = {f.name: f for f in dataclasses.fields(Case)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise CaseJsonError(f"{where}: unknown field(s) {unknown}; a case has {', '.join(fields)}")
    missing = [name for name in ("op", "T", "n", "H") if name not in raw]
    if missing:
        raise CaseJsonError(f"{where}: missing field(s) {missing}")
    d = dict(raw)
    op = d["op"]
    if not isinstance(op, str):
        raise CaseJsonError(f"{where}.op: expected a string, got {_type_name(op)} {op!r}")
    try:
        spec = get_op(op)
    except ContractError as e:
        raise CaseJsonError(f"{where}.op: {e}") from None
    values: dict[str, Any] = {"op": op}
    values["T"] = _int_field(d, "T", where, 0)
    values["n"] = _int_field(d, "n", where, 1, MAX_HC_MULT)
    values["H"] = _int_field(d, "H", where, 1)
    if "seed" in d:
        values["seed"] = _int_field(d, "seed", where, *SEED_RANGE)
    if "n_splits" in d:
        values["n_splits"] = _int_field(d, "n_splits", where, 1)
    if "family" in d:
        values["family"] = _choice_field(d, "family", where, FAMILIES)
    if "layout" in d:
        values["layout"] = _choice_field(d, "layout", where, LAYOUTS)
    if "norm_weight" in d:
        if not isinstance(d["norm_weight"], bool):
            raise CaseJsonError(f"{where}.norm_weight: expected true or false, got {d['norm_weight']!r}")
        values["norm_weight"] = d["norm_weight"]
    if "params" in d:
        values["params"] = _params(d["params"], op, where)
    case = Case(**values)
    check_case(case, where)
    return case


def check_case(case: Case, where: str = "case") -> None:
    """The contract's own checks of a case's sizes and parameters (types, ranges, finiteness,
    n_splits dividing K), on tensors without storage: nothing is allocated."""
    spec = get_op(case.op)
    sizes = dim_sizes(case.T, case.n, case.H, case.n_splits)
    for t in spec.inputs:
        elements = math.prod(shape_of(t, sizes))
        if elements > MAX_TENSOR_ELEMENTS:
            raise CaseJsonError(f"{where}: input {t.name!r} would have {elements:.3g} elements (T={case.T}, "
                                f"n={case.n}, H={case.H}), more than a tensor can hold")
    try:
        validate(spec, _meta_inputs(case), case.param_dict())
    except ContractError as e:
        raise CaseJsonError(f"{where}: {e}") from None


def _meta_inputs(case: Case) -> dict[str, Any]:
    import torch

    spec = get_op(case.op)
    sizes = dim_sizes(case.T, case.n, case.H, case.n_splits)
    return {t.name: torch.empty(shape_of(t, sizes), dtype=t.dtype, device="meta")
            for t in spec.inputs if not t.optional or case.norm_weight}


def input_bytes(case: Case) -> int:
    """The bytes of the case's inputs (what building them allocates at the least)."""
    spec = get_op(case.op)
    sizes = dim_sizes(case.T, case.n, case.H, case.n_splits)
    return sum(math.prod(shape_of(t, sizes)) * t.dtype.itemsize
               for t in spec.inputs if not t.optional or case.norm_weight)


def device_memory_bytes(device_type: str) -> int | None:
    """The memory of the device a backend's inputs are built on (None where it cannot be told)."""
    if device_type == "cuda":
        import torch

        if not torch.cuda.is_available():
            return None
        return torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(case: Case, device_type: str, where: str = "case") -> None:
    """A case whose inputs alone exceed the device's memory is refused before anything is built."""
    need, have = input_bytes(case), device_memory_bytes(device_type)
    if have is not None and need > have:
        raise CaseJsonError(f"{where}: its inputs need {need / 2**30:.3g} GiB, more than the {device_type} "
                            f"device's {have / 2**30:.3g} GiB (T={case.T}, n={case.n}, H={case.H})")


def version_note(data: dict) -> str | None:
    """What to tell about the version of the suite that wrote a reproducer (None: this version)."""
    written = data.get(VERSION_FIELD)
    if written is None:
        return (f"written by a version of mhc-verify before versions were recorded (this is "
                f"{project_version()}); inputs are rebuilt from the seed by this version")
    if written != project_version():
        return f"written by mhc-verify {written}, this is {project_version()}; inputs are rebuilt by this version"
    return None


def reproducer_from_json(data: Any, label: str) -> tuple[Case, str | None, str | None]:
    """(case, the backend the reproducer names or None, a version note or None) of a parsed
    reproducer file; ``label`` (its path) starts every error."""
    if not isinstance(data, dict):
        raise CaseJsonError(f"{label}: expected a reproducer (a JSON object), got {_type_name(data)}")
    note = version_note(data)
    other_version = f" (the file was {note})" if note and data.get(VERSION_FIELD) is not None else ""
    try:
        for name, kind in _REPRODUCER_FIELDS.items():
            if name in data and not isinstance(data[name], kind):
                raise CaseJsonError(f"field {name!r}: expected {kind.__name__ if isinstance(kind, type) else kind}, "
                                    f"got {_type_name(data[name])}")
        if "case" not in data:
            raise CaseJsonError(f"not a reproducer: no field 'case' (its fields: {', '.join(map(str, data)) or 'none'})")
        unknown = sorted(set(data) - set(_REPRODUCER_FIELDS))
        if unknown:
            raise CaseJsonError(f"unknown field(s) {unknown}")
        case = case_from_json(data["case"], "case")
    except CaseJsonError as e:
        raise CaseJsonError(f"{label}: {e}{other_version}") from None
    backend = data.get("backend_spec") or data.get("backend") or None
    return case, backend, note
