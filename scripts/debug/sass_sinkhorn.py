"""How long is one half-step of decode_pre's warp Sinkhorn, by the sm_90a SASS? No GPU needed:

    python scripts/debug/sass_sinkhorn.py [--layout gather,gather_rcp] [--hidden 7168]

For each Sinkhorn layout it builds decode_pre as TileLangDecode runs it inside mhc_pre (the GEMM's
partials, the narrow sums, the residual prefetch), compiles TileLang's CUDA with the local nvcc for
sm_90a, disassembles it with cuobjdump and finds the Sinkhorn's loop (the backward branch whose body
has MUFU.RCP and SHFL). It prints, per half-step (one MUFU.RCP each), the loop body's instructions and
the sum of their stall counts (the scheduler's issue cycles, bits 41-44 of each instruction's
control word), with the division's slow path (a block behind a predicated branch, with a CALL, not
executed when FCHK passes) left out. Waits on the scoreboards (a shuffle's or MUFU's
latency) come on top and are the same for both layouts, so the difference of the sums is what a
layout saves per half-step. What the fourteenth session read (nvcc 13.0, cuobjdump 13.5): 74.6
for "gather", 57.2 for "gather_rcp"; the fifteenth 40.5 for "vectors" (no shuffle: its loop is found
by MUFU.RCP alone, and it has n reciprocals a half-step).

cuobjdump: on PATH, or CUOBJDUMP=/path/to/cuobjdump (the PyPI wheels nvidia-cuda-cuobjdump and
nvidia-cuda-nvdisasm hold it: ``pip download --no-deps nvidia-cuda-cuobjdump nvidia-cuda-nvdisasm``,
unzip both into one folder, nvidia/cu13/bin).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

N = 4
INSTRUCTION = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(.*?)\s*;\s*/\* (0x[0-9a-f]+) \*/")
CONTROL = re.compile(r"/\* (0x[0-9a-f]+) \*/")


def decode_pre_source(layout: str, hidden: int) -> str:
    """TileLang's CUDA for decode_pre as mhc_pre runs it (TileLangDecode's other variants)."""
    import tilelang

    from mhc_kernels.tilelang._build import pass_configs
    from mhc_kernels.tilelang.decode import build_decode_pre, decode_parts

    func = build_decode_pre(N, hidden, decode_parts(N, hidden), False, True, prefetch_residual=True,
                            sinkhorn_layout=layout, narrow_sums=True)
    return tilelang.compile(func, target={"kind": "cuda", "arch": "sm_90a"},
                            pass_configs=pass_configs()).get_kernel_source()


def sass(source: str, workdir: Path, cuobjdump: str) -> str:
    import tilelang

    root = Path(tilelang.__file__).parent
    cu, cubin = workdir / "kernel.cu", workdir / "kernel.cubin"
    cu.write_text(source)
    subprocess.run(["nvcc", "-cubin", "-arch=sm_90a", "-O3", "-std=c++17", "-DENABLE_BF16", f"-I{root / 'src'}",
                    f"-I{root / '3rdparty' / 'cutlass' / 'include'}", "-o", str(cubin), str(cu)],
                   check=True, capture_output=True)
    return subprocess.run([cuobjdump, "-sass", str(cubin)], check=True, capture_output=True, text=True).stdout


def instructions(text: str) -> list[tuple[int, str, int]]:
    """(address, instruction, stall cycles) per instruction of the disassembly."""
    lines = text.splitlines()
    out = []
    for i, line in enumerate(lines):
        m = INSTRUCTION.search(line)
        if m and i + 1 < len(lines) and (c := CONTROL.search(lines[i + 1])):
            out.append((int(m.group(1), 16), m.group(2), (int(c.group(1), 16) >> 41) & 0xF))
    return out


def sinkhorn_loop(code: list[tuple[int, str, int]], shuffles: bool = True) -> list[tuple[int, str, int]]:
    """The body of the backward branch whose body has MUFU.RCP and SHFL (the Sinkhorn's repeat loop;
    ``shuffles=False``: MUFU.RCP alone, the "vectors" layout has no shuffle)."""
    for address, ins, _ in code:
        target = re.search(r"BRA (0x[0-9a-f]+)$", ins)
        if target and int(target.group(1), 16) < address:
            body = [x for x in code if int(target.group(1), 16) <= x[0] <= address]
            if any("MUFU.RCP" in x[1] for x in body) and (not shuffles or any("SHFL" in x[1] for x in body)):
                return body
    raise LookupError("no loop with MUFU.RCP" + (" and SHFL" if shuffles else "") + " in the disassembly")


# MUFU.RCP instructions per half-step: one division's reciprocal, or "vectors"' n reciprocals
RECIPROCALS_PER_HALF_STEP = {"vectors": N}


def common_path(body: list[tuple[int, str, int]]) -> list[tuple[int, str, int]]:
    """The body without the divisions' slow paths: the instructions a predicated forward branch skips
    where the skipped block has a CALL (nvcc's path for the operands FCHK sends there, with the moves
    around the call)."""
    skipped: set[int] = set()
    for address, ins, _ in body:
        target = re.search(r"^@!?U?P\d BRA (0x[0-9a-f]+)$", ins)
        if target and int(target.group(1), 16) > address:
            block = [x for x in body if address < x[0] < int(target.group(1), 16)]
            if any(x[1].startswith("CALL") for x in block):
                skipped |= {x[0] for x in block}
    return [x for x in body if x[0] not in skipped]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--layout", default="gather,gather_rcp")
    p.add_argument("--hidden", type=int, default=7168)
    args = p.parse_args(argv)
    cuobjdump = os.environ.get("CUOBJDUMP") or shutil.which("cuobjdump")
    if not cuobjdump or not shutil.which("nvcc"):
        print("needs nvcc and cuobjdump (CUOBJDUMP=...; see the docstring)", file=sys.stderr)
        return 2
    for layout in args.layout.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            body = sinkhorn_loop(instructions(sass(decode_pre_source(layout, args.hidden), Path(tmp), cuobjdump)),
                                 shuffles=layout != "vectors")
        path = common_path(body)
        half_steps = sum("MUFU.RCP" in ins for _, ins, _ in body) / RECIPROCALS_PER_HALF_STEP.get(layout, 1)
        bra_div = sum("BRA.DIV" in ins for _, ins, _ in path)
        print(f"{layout}: {half_steps:g} half-steps per loop iteration; per half-step {len(path) / half_steps:.1f} "
              f"instructions, {sum(s for _, _, s in path) / half_steps:.1f} issue cycles "
              f"({bra_div} BRA.DIV in the iteration; slow paths left out: {len(body) - len(path)} instructions)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
