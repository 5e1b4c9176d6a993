"""Suite power: every CPU-killable planted bug in the catalogue is killed under the ci profile."""

from mhc_kernels.mutants import CATALOGUE
from mhc_verify.mutants import kill_table, run_catalogue
from mhc_verify.strategies import PROFILES


def test_catalogue_is_killed():
    kills = run_catalogue(PROFILES["ci"], budget=60, untargeted=False)
    survivors = [k.mutant for k in kills if k.cpu_killable and not k.killed]
    assert not survivors, f"surviving mutants: {survivors}\n{kill_table(kills)}"
    assert len([k for k in kills if k.cpu_killable]) >= 30


def test_every_mutant_is_a_documented_backend():
    names = set()
    for cls in CATALOGUE:
        assert cls.__doc__ and cls.family and cls.ops and cls.name not in names
        names.add(cls.name)
