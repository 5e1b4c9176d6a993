"""scripts/debug/sass_sinkhorn.py's reading of a disassembly, on a made-up one in cuobjdump's format:
the stall count comes from bits 41-44 of each instruction's control word, the Sinkhorn loop is the
backward branch whose body has MUFU.RCP and SHFL (not another loop), and a division's slow path (the
block a predicated forward branch skips, with its CALL and the moves around it) is left out. The
numbers the docs quote come from the script on nvcc's real output; this checks how it counts."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts" / "debug"))
sass_sinkhorn = pytest.importorskip("sass_sinkhorn")


def _line(address: int, ins: str, stall: int) -> str:
    hi = stall << 41
    return (f"        /*{address:04x}*/                   {ins} ;  /* 0x000fe20000000f00 */\n"
            f"                                                          /* 0x{hi:016x} */")


LISTING = "\n".join([
    _line(0x0100, "IADD3 R1, R1, 0x1, RZ", 1),
    _line(0x0110, "@P1 BRA 0x100", 2),  # another loop: no MUFU.RCP, no SHFL
    _line(0x0200, "SHFL.BFLY PT, R2, R0, 0x1, 0x1f", 4),  # the Sinkhorn loop starts here
    _line(0x0210, "FADD R2, R2, R0", 4),
    _line(0x0220, "MUFU.RCP R3, R2", 8),
    _line(0x0230, "FCHK P0, R0, R2", 1),
    _line(0x0240, "FFMA R4, -R2, R3, 1", 4),
    _line(0x0250, "@!P0 BRA 0x290", 6),
    _line(0x0260, "MOV R4, R0", 2),  # the slow path: moves, the call, a move back
    _line(0x0270, "CALL.REL.NOINC 0x900", 5),
    _line(0x0280, "MOV R0, R4", 7),
    _line(0x0290, "BSYNC B3", 5),
    _line(0x02a0, "SHFL.BFLY PT, R2, R0, 0x4, 0x1f", 4),
    _line(0x02b0, "MUFU.RCP R3, R2", 8),
    _line(0x02c0, "@P3 BRA 0x200", 6),
    _line(0x02d0, "EXIT", 5),
])


def test_instructions_read_the_stall_from_the_control_word():
    code = sass_sinkhorn.instructions(LISTING)
    assert code[0] == (0x100, "IADD3 R1, R1, 0x1, RZ", 1)
    assert [s for _, _, s in code][2:5] == [4, 4, 8]


def test_the_loop_and_its_common_path():
    body = sass_sinkhorn.sinkhorn_loop(sass_sinkhorn.instructions(LISTING))
    assert body[0][0] == 0x200 and body[-1][0] == 0x2c0
    path = sass_sinkhorn.common_path(body)
    assert [a for a, _, _ in body if a not in {p[0] for p in path}] == [0x260, 0x270, 0x280]
    assert sum(s for _, _, s in path) == 4 + 4 + 8 + 1 + 4 + 6 + 5 + 4 + 8 + 6


def test_a_disassembly_without_the_loop_says_so():
    with pytest.raises(LookupError):
        sass_sinkhorn.sinkhorn_loop(sass_sinkhorn.instructions(_line(0x100, "EXIT", 5)))


def test_a_loop_without_shuffles_is_found_only_when_asked():
    """The "vectors" layout's loop has MUFU.RCP and no SHFL: found with shuffles=False, and a loop
    without MUFU.RCP (the listing's first) never is."""
    no_shuffle = "\n".join([
        _line(0x0100, "IADD3 R1, R1, 0x1, RZ", 1),
        _line(0x0110, "@P1 BRA 0x100", 2),
        _line(0x0200, "MUFU.RCP R3, R2", 1),
        _line(0x0210, "FFMA R4, R5, R3, R4", 4),
        _line(0x0220, "@P3 BRA 0x200", 6),
    ])
    code = sass_sinkhorn.instructions(no_shuffle)
    with pytest.raises(LookupError, match="SHFL"):
        sass_sinkhorn.sinkhorn_loop(code)
    body = sass_sinkhorn.sinkhorn_loop(code, shuffles=False)
    assert [a for a, _, _ in body] == [0x200, 0x210, 0x220]
    assert sass_sinkhorn.RECIPROCALS_PER_HALF_STEP["vectors"] == sass_sinkhorn.N
