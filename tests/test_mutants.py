"""Suite power: every CPU-killable planted bug in the catalogue is killed under the ci profile."""

from collections import Counter

import torch

from mhc_kernels.mutants import CATALOGUE, EQUIVALENT
from mhc_verify.mutants import kill_table, run_catalogue
from mhc_verify.strategies import PROFILES

FAMILIES = ("prenorm_gemm", "mixes", "sinkhorn", "layer_input", "hc_post", "any op")
PER_FAMILY = 20  # CPU-killable mutants per op family, at least


def test_catalogue_is_killed():
    # Many small cases: torch's intra-op threads only add synchronisation, and on a busy 2-core
    # machine they made the run 10-18x slower (401 s and 674 s against 37 s with one thread, same kills).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        kills = run_catalogue(PROFILES["ci"], budget=60, untargeted=False)
    finally:
        torch.set_num_threads(threads)
    counted = [k for k in kills if k.cpu_killable]
    survivors = [k.mutant for k in counted if not k.killed]
    assert not survivors, f"surviving mutants: {survivors}\n{kill_table(kills)}"
    killed = Counter(k.family for k in counted if k.killed)
    assert all(killed[f] >= PER_FAMILY for f in FAMILIES), f"killed per family: {dict(killed)}"


def test_every_mutant_is_a_documented_backend():
    names = set()
    for cls in CATALOGUE:
        assert cls.__doc__ and cls.family and cls.ops and cls.name.startswith("mut-") and cls.name not in names
        names.add(cls.name)


def test_catalogue_size_per_family():
    cpu = Counter(cls.family for cls in CATALOGUE if cls.cpu_killable)
    assert set(cpu) == set(FAMILIES), sorted(cpu)
    assert all(cpu[f] >= PER_FAMILY for f in FAMILIES), dict(cpu)
    assert EQUIVALENT and not set(EQUIVALENT) & {cls.name for cls in CATALOGUE}
