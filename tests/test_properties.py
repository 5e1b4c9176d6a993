"""The property-based suite: every (backend, op) under the selected profile (see the plugin)."""

from pathlib import Path

from mhc_verify.session import check_pair

# CI's default budget per (backend, op); --mhc-examples or the profile's own count override it.
DEFAULT_EXAMPLES = 60


def test_op_matches_reference(mhc_backend_info, mhc_op, mhc_profile, mhc_examples, tmp_path: Path):
    stats = check_pair(mhc_backend_info.backend, mhc_op, mhc_profile, mhc_examples or DEFAULT_EXAMPLES,
                       repro_dir=tmp_path)
    assert stats.verdict == "pass", f"{stats.reason}\n{stats.failure and stats.failure['reproducer']}"
    assert stats.cases > 0
    assert max(stats.per_output_max.values()) <= 1.0
