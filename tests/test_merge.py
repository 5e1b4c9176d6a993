"""`mhc-verify merge`: shard reports of a check run add up to one report, and a failing shard fails it."""

import json

from mhc_verify.cli import main

BF16 = "mhc_kernels.torch_native.bf16:TorchBf16Backend"  # rounds hc_post's fp32 math to bf16: fails


def _check(out, *args):
    return main(["check", "--op", "hc_post", "--examples", "6", "--out", str(out), "--no-progress", *args])


def _pair(report_dir, backend):
    data = json.loads((report_dir / "report.json").read_text())
    return next(r for r in data["results"] if r["backend"] == backend and r["op"] == "hc_post")


def test_shards_merge_into_exact_counts_and_quantiles(tmp_path):
    assert _check(tmp_path / "a", "--backend", "torch", "--seed", "1") == 0
    assert _check(tmp_path / "b", "--backend", "torch", "--seed", "2") == 0
    a, b = _pair(tmp_path / "a", "torch"), _pair(tmp_path / "b", "torch")
    assert main(["merge", str(tmp_path / "a"), str(tmp_path / "b" / "report.json"), "--out", str(tmp_path / "m")]) == 0
    m = _pair(tmp_path / "m", "torch")
    assert m["verdict"] == "pass"
    assert m["cases"] == a["cases"] + b["cases"] and len(m["ratios"]) == len(a["ratios"]) + len(b["ratios"])
    assert m["tightness"]["max"] == float(f"{max(a['tightness']['max'], b['tightness']['max']):.6g}")
    assert sorted(m["ratios"]) == sorted(a["ratios"] + b["ratios"])
    for name, n in m["correctly_rounded_n"].items():
        assert n == a["correctly_rounded_n"][name] + b["correctly_rounded_n"][name]
        mean = (a["correctly_rounded_mean"][name] * a["correctly_rounded_n"][name]
                + b["correctly_rounded_mean"][name] * b["correctly_rounded_n"][name]) / n
        assert abs(m["correctly_rounded_mean"][name] - mean) < 1e-12
    md = (tmp_path / "m" / "report.md").read_text()
    assert "merged from 2 shard reports" in md and "| hc_post | torch | **pass**" in md
    # merging again into the same directory overwrites only with --force, and does not count the
    # merged report as a shard
    assert main(["merge", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    assert main(["merge", str(tmp_path), "--out", str(tmp_path / "m"), "--force"]) == 0
    assert _pair(tmp_path / "m", "torch")["cases"] == m["cases"]


def test_one_failing_shard_fails_the_merge(tmp_path):
    assert _check(tmp_path / "ok", "--backend", BF16, "--seed", "1", "--examples", "1") in (0, 1)
    assert _check(tmp_path / "bad", "--backend", BF16, "--seed", "3", "--examples", "30") == 1
    assert main(["merge", str(tmp_path / "ok"), str(tmp_path / "bad"), "--out", str(tmp_path / "m")]) == 1
    m = _pair(tmp_path / "m", "torch-bf16-math")
    assert m["verdict"] == "FAIL" and m["failure"]["reproducer"].startswith("mhc-verify replay")


def test_a_compressed_report_merges_like_its_json(tmp_path, capsys):
    """Large reports are committed as report.json.xz (results/): merge reads them, found in a directory
    or named, and says in one line what is wrong with a file that is not xz."""
    import lzma

    assert _check(tmp_path / "a", "--backend", "torch", "--seed", "1") == 0
    plain = tmp_path / "a" / "report.json"
    packed = tmp_path / "z" / "report.json.xz"
    packed.parent.mkdir()
    packed.write_bytes(lzma.compress(plain.read_bytes()))
    assert main(["merge", str(tmp_path / "z"), "--out", str(tmp_path / "m1")]) == 0
    assert main(["merge", str(packed), "--out", str(tmp_path / "m2")]) == 0
    assert _pair(tmp_path / "m1", "torch")["cases"] == _pair(tmp_path / "a", "torch")["cases"]
    assert _pair(tmp_path / "m2", "torch")["ratios"] == _pair(tmp_path / "a", "torch")["ratios"]
    broken = tmp_path / "broken.json.xz"
    broken.write_bytes(plain.read_bytes())  # JSON under an .xz name
    capsys.readouterr()
    assert main(["merge", str(broken), "--out", str(tmp_path / "m3")]) == 2
    assert "not an xz file" in capsys.readouterr().err


def test_the_largest_torch_ratio_keeps_its_case_through_a_merge(tmp_path):
    """Each output's largest "max err / torch fp32 err" keeps the case it came from (Case.short()), in the report's
    JSON and markdown and through `mhc-verify merge`, so that a large ratio can be rerun."""
    from mhc_verify.cases import Case
    from mhc_verify.merge import merge_pair
    from mhc_verify.report import torch_ratio_table
    from mhc_verify.runner import CaseResult
    from mhc_verify.session import PairStats, stats_from_json, stats_to_json

    def stats(*ratios):
        s = PairStats("tilelang", "fused_post_pre")
        for t, r in ratios:
            s.add(CaseResult(Case("fused_post_pre", t, 4, 64, seed=t), "tilelang", "pass",
                             torch_ratio={"comb_mix_out": r, "layer_input": 1.0}))
        return stats_from_json(json.loads(json.dumps(stats_to_json(s))))

    a, b = stats((3, 1.5), (4097, 6.3), (5, 2.0)), stats((7, 4.0))
    assert a.torch_ratio_case["comb_mix_out"] == Case("fused_post_pre", 4097, 4, 64, seed=4097).short()
    assert a.torch_ratio_case["layer_input"].startswith("fused_post_pre T=3 "), "the first case of a tie"
    merged = merge_pair([b, a])
    assert merged.torch_ratio_max["comb_mix_out"] == 6.3 and "T=4097" in merged.torch_ratio_case["comb_mix_out"]
    assert "T=7" in merge_pair([b]).torch_ratio_case["comb_mix_out"]
    table = torch_ratio_table([merged])
    assert table[2] == f"| fused_post_pre | tilelang | comb_mix_out | 6.3 | {a.torch_ratio_case['comb_mix_out']} |"
    assert torch_ratio_table([PairStats("torch", "hc_post")]) == []
    # a shard without cases (reports from before the case was kept) whose ratio is the largest: the ratio wins and
    # shows no case, rather than the smaller ratio's case beside it; a smaller one leaves the case as it was
    caseless = stats((9, 8.0))
    caseless.torch_ratio_case.clear()
    top = merge_pair([a, caseless])
    assert top.torch_ratio_max["comb_mix_out"] == 8.0 and "comb_mix_out" not in top.torch_ratio_case
    assert torch_ratio_table([top])[2] == "| fused_post_pre | tilelang | comb_mix_out | 8 | - |"
    caseless.torch_ratio_max["comb_mix_out"] = 1.0
    assert "T=4097" in merge_pair([a, caseless]).torch_ratio_case["comb_mix_out"]
