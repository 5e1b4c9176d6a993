"""Layering: the reference imports neither kernels nor harness; kernels import no harness and, of
the reference, only the op contract."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", sorted((ROOT / "reference").rglob("*.py")), ids=lambda p: p.name)
def test_reference_is_self_contained(path):
    bad = {m for m in _imports(path) if m.split(".")[0] in ("mhc_kernels", "mhc_verify")}
    assert not bad, f"{path} imports {bad}"


@pytest.mark.parametrize("path", sorted((ROOT / "kernels").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_kernels_do_not_import_the_harness(path):
    mods = _imports(path)
    assert not {m for m in mods if m.split(".")[0] == "mhc_verify"}, f"{path} imports the harness"
    ref = {m for m in mods if m.split(".")[0] == "mhc_reference"}
    assert ref <= {"mhc_reference.contract"}, f"{path} imports reference math {ref}: kernels see only the contract"


def test_every_package_is_listed_in_pyproject():
    text = (ROOT / "pyproject.toml").read_text()
    mapping = {"mhc_verify": "mhc_verify", "mhc_reference": "reference", "mhc_kernels": "kernels"}
    for name, directory in mapping.items():
        for init in (ROOT / directory).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / directory)
            package = ".".join((name, *rel.parts))
            assert f'"{package}"' in text, f"package {package} is missing from pyproject.toml's packages"
