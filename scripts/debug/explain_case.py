"""Explain one failing case element by element: where a backend's output leaves its bound, and why.

    python scripts/debug/explain_case.py BACKEND 'CASE_JSON' [--compare OTHER_BACKEND]

Builds the case's inputs from its seed on the backend's device, runs the backend (and optionally a
second one on the same inputs), and prints for the worst token of each failing output: the
reference, the kernel value, the bound, and the op's intermediates (pre weights, collapse, sum of
squares) from the float64 reference.
"""

import argparse
import torch

from mhc_reference import reference_for
from mhc_verify.cases import Case, build_inputs
from mhc_verify.registry import discover, select
from mhc_verify.runner import judge


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("backend")
    p.add_argument("case")
    p.add_argument("--compare", action="append", default=[])
    args = p.parse_args()
    case = Case.from_json(args.case)
    names = [args.backend, *args.compare]
    infos = select(names, discover([n for n in names if ":" in n]))
    chosen = list(infos.values())
    main_backend = chosen[0].backend
    inputs = build_inputs(case, main_backend.device_type)
    params = case.param_dict()
    ref = reference_for(case.op)(inputs, params)
    for info in chosen:
        b, name = info.backend, info.name
        outs = b.run(case.op, inputs, params)
        res = judge(b, case, inputs, params, outs)
        print(f"== {name}: {res.status}")
        for check in res.checks:
            print(f"   {check.name}: max err/bound {check.max_ratio:.3g} violations {check.violations} "
                  f"worst {check.worst_index} bad rows {check.bad_rows[:8]}")
        from mhc_verify.bounds import op_bounds

        bounds = op_bounds(case.op, inputs, params, ref, outs, b.precision_for(case.op))
        for check in res.checks:
            if check.passed or check.worst_index is None:
                continue
            tok = check.worst_index[0]
            value, r = outs[check.name][tok].double().flatten(), ref[check.name][tok].double().flatten().to(outs[check.name].device)
            bound = bounds[check.name][tok].double().flatten().to(value.device)
            ratio = (value - r).abs() / bound
            # 0/0 (exact zero inside a zero bound) is no violation; a NaN output where the reference
            # is finite is, and sorts first
            ratio = torch.where((value == r) | (torch.isnan(value) & torch.isnan(r)), torch.zeros_like(ratio), ratio)
            worst = torch.nan_to_num(ratio, nan=float("inf")).argsort(descending=True)[:6]
            print(f"   worst-ratio token {tok} of {check.name}: elements {worst.tolist()}")
            print("     kernel", value[worst].tolist())
            print("     ref   ", r[worst].tolist())
            print("     bound ", bound[worst].tolist())
            for extra in ("pre", "collapse", "weights"):
                if extra in ref:
                    e = ref[extra][tok].double().flatten()
                    print(f"     {extra:8s}", (e[worst.cpu()] if e.numel() == value.numel() else e[:8]).tolist())
            if "collapse" in ref:
                c = ref["collapse"][tok].double()
                print("     mean collapse^2", float((c * c).mean()), "params", params)
        for out_name, value in outs.items():
            r = ref[out_name].double().to(value.device)
            err = (value.double() - r).abs()
            if err.numel() == 0:
                continue
            flat = torch.nan_to_num(err, nan=float("inf")).reshape(err.shape[0], -1).amax(-1)
            tok = int(flat.argmax())
            print(f"   {out_name}: worst token {tok} max|err| {float(flat[tok]):.3e}")
            if out_name == "layer_input":
                print("     kernel ", value[tok, :8].float().tolist())
                print("     ref    ", r[tok, :8].tolist())
                for extra in ("pre", "collapse"):
                    if extra in ref:
                        print(f"     {extra:7s}", ref[extra][tok].double().flatten()[:8].tolist())
                if "collapse" in ref:
                    c = ref["collapse"][tok].double()
                    print("     sum collapse^2 (fp64)", float((c * c).sum()), " max|collapse|", float(c.abs().max()))


if __name__ == "__main__":
    main()
