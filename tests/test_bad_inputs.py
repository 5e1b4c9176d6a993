"""Bad inputs to every public entry point give clear errors (op contract, backends, CLI, cases)."""

import math

import pytest
import torch

from mhc_kernels.base import Constraints, ConstraintError
from mhc_kernels.torch_native import TorchNativeBackend
from mhc_reference.contract import OPS, ContractError, validate
from mhc_verify.cases import Case, build_inputs
from mhc_verify.cli import main

OP_NAMES = list(OPS)


def _valid(op, n_splits=1):
    case = Case(op=op, T=5, n=4, H=16, n_splits=n_splits, norm_weight=True)
    return build_inputs(case), case.param_dict()


@pytest.mark.parametrize("op", OP_NAMES)
def test_wrong_dtype(op):
    inputs, params = _valid(op)
    name = next(iter(inputs))
    inputs[name] = inputs[name].to(torch.float16)
    with pytest.raises(ContractError, match=rf"{op}: input '{name}' must be .* got dtype torch.float16"):
        TorchNativeBackend().run(op, inputs, params)


@pytest.mark.parametrize("op", OP_NAMES)
def test_wrong_shape(op):
    inputs, params = _valid(op)
    name = list(inputs)[-1]
    inputs[name] = torch.cat([inputs[name], inputs[name]], dim=-1)
    with pytest.raises(ContractError, match=r"dimension|not n\*n\+2n|K="):
        TorchNativeBackend().run(op, inputs, params)


@pytest.mark.parametrize("op", OP_NAMES)
def test_wrong_rank(op):
    inputs, params = _valid(op)
    name = next(iter(inputs))
    inputs[name] = inputs[name].unsqueeze(0)
    with pytest.raises(ContractError, match=rf"input '{name}' must be .*dims"):
        validate(op, inputs, params)


@pytest.mark.parametrize("op", OP_NAMES)
def test_non_contiguous_where_not_allowed(op):
    inputs, params = _valid(op)
    spec = OPS[op]
    dense = [s.name for s in spec.inputs if not s.may_be_strided and s.name in inputs and inputs[s.name].dim() >= 1
             and inputs[s.name].shape[-1] > 1]
    if not dense:
        pytest.skip(f"{op} accepts every input strided")
    name = dense[0]
    t = inputs[name]
    wide = torch.empty(*t.shape[:-1], 2 * t.shape[-1], dtype=t.dtype)
    wide[..., ::2] = t
    inputs[name] = wide[..., ::2]
    with pytest.raises(ContractError, match=rf"input '{name}' must be contiguous"):
        validate(op, inputs, params)


@pytest.mark.parametrize("op", [o for o in OP_NAMES if "n_splits" in OPS[o].param_names])
def test_n_splits_not_dividing(op):
    inputs, params = _valid(op)
    params["n_splits"] = 3  # K = 64
    with pytest.raises(ContractError, match=r"(n_splits=3 does not divide K=n\*H=64|dimension S is 1, expected 3)"):
        validate(op, inputs, params)


@pytest.mark.parametrize("op", [o for o in OP_NAMES if any(p.kind is float for p in OPS[o].params)])
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_parameters(op, bad):
    inputs, params = _valid(op)
    name = next(p.name for p in OPS[op].params if p.kind is float)
    params[name] = bad
    with pytest.raises(ContractError, match=rf"parameter '{name}' must be finite"):
        validate(op, inputs, params)


def test_unknown_names():
    inputs, params = _valid("hc_post")
    with pytest.raises(ContractError, match="unknown op"):
        validate("hc_pots", inputs, params)
    with pytest.raises(ContractError, match="unknown input"):
        validate("hc_post", {**inputs, "y": inputs["x"]}, params)
    with pytest.raises(ContractError, match="missing input 'x'"):
        validate("hc_post", {k: v for k, v in inputs.items() if k != "x"}, params)
    with pytest.raises(ContractError, match="unknown parameter"):
        validate("hc_post", inputs, {"eps": 1.0})
    with pytest.raises(ContractError, match="must be an int"):
        validate("sinkhorn", build_inputs(Case("sinkhorn", 3, 4, 8)), {"sinkhorn_repeat": 2.5})
    with pytest.raises(ContractError, match="sinkhorn_repeat' must be >= 1"):
        validate("sinkhorn", build_inputs(Case("sinkhorn", 3, 4, 8)), {"sinkhorn_repeat": 0})


def test_hc_mult_out_of_range():
    inputs = build_inputs(Case("hc_post", 2, 9, 8))
    with pytest.raises(ContractError, match=r"hc_mult n=9 is outside 1..8"):
        validate("hc_post", inputs, {})


def test_device_mismatch_and_non_tensor():
    inputs, params = _valid("hc_post")
    inputs["x"] = inputs["x"].tolist()
    with pytest.raises(ContractError, match="must be a torch.Tensor"):
        validate("hc_post", inputs, params)


def test_declared_constraints_are_enforced():
    backend = TorchNativeBackend().with_overrides(constraints={"hc_post": Constraints(hc_mult=(4,), hidden_multiple_of=32)})
    inputs, params = _valid("hc_post")
    with pytest.raises(ConstraintError, match="H=16 must be a multiple of 32"):
        backend.run("hc_post", inputs, params)
    with pytest.raises(ConstraintError, match="hc_mult n=2 not supported"):
        backend.run("hc_post", build_inputs(Case("hc_post", 3, 2, 64)), {})
    backend = TorchNativeBackend().with_overrides(constraints={"hc_post": Constraints(min_k=9)})
    with pytest.raises(ConstraintError, match=r"K = n\*H = 4\*2 = 8 is below the minimum 9"):
        backend.run("hc_post", build_inputs(Case("hc_post", 3, 4, 2)), {})
    backend.run("hc_post", build_inputs(Case("hc_post", 3, 4, 3)), {})  # K = 12
    backend.run("hc_post", build_inputs(Case("hc_post", 3, 2, 5)), {})  # K = 10


def test_bad_case_descriptors():
    with pytest.raises(ContractError, match="unknown op"):
        build_inputs(Case("nope", 1, 4, 8))
    with pytest.raises(TypeError):
        Case.from_json('{"op": "hc_post", "T": 1, "n": 4, "H": 8, "colour": "red"}')


def test_cli_rejects_bad_arguments(capsys, tmp_path):
    assert main(["check", "--op", "not_an_op"]) == 2
    assert "argument --op: invalid choice: 'not_an_op'" in capsys.readouterr().err
    assert main(["replay"]) == 2
    assert "needs a reproducer" in capsys.readouterr().err
    assert main(["check", "--backend", "nope", "--out", str(tmp_path)]) == 2
    assert "--backend nope: unknown backend 'nope'" in capsys.readouterr().err
