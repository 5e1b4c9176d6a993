"""The CLI's front door (issue 20): a bad argument or file is one line naming it, exit status 2, no
traceback (``--debug`` shows it); a backend named but not loadable is an error; an earlier report is
never overwritten without --force; reproducers are checked field by field against the op contract."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mhc_kernels.base import Backend
from mhc_verify import bench
from mhc_verify.cli import main

ERROR_LINE = re.compile(r"^(mhc-verify( [\w-]+)?|python -m mhc_verify.bench): error: .+$")


class LoadsButCannotRun(Backend):
    name = "loads-but-cannot-run"

    def available(self):
        return False, "needs hardware this machine does not have"


def _refused(capsys, argv, expected: str, run=main) -> str:
    """Exit status 2 and exactly one line on stderr, the error naming what is wrong."""
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ERROR_LINE.match(err.rstrip("\n")), err
    assert "Traceback" not in err
    assert expected in err, err
    return err.rstrip("\n")


def test_the_issue_table_row_by_row(capsys, tmp_path, monkeypatch):
    """Each row of issue 20's table: today one line and exit 2 (they were tracebacks, and one exit 0)."""
    monkeypatch.chdir(tmp_path)
    Path("broken.json").write_text('{"case": {"op": "hc_post", "T": 3')
    _refused(capsys, ["replay", "broken.json"], "reproducer broken.json: not valid JSON: Expecting ',' delimiter "
                                                "at line 1 column 34")
    _refused(capsys, ["replay", "missing.json"], "argument file: no such file or directory: 'missing.json'")
    _refused(capsys, ["check", "--backend", "nosuch"], "--backend nosuch: unknown backend 'nosuch'; known: ")
    _refused(capsys, ["check", "--backend", "torch", "--examples", "-3"],
             "argument --examples: must be a positive integer, got '-3'")
    _refused(capsys, ["check", "--backend", "os:path", "--op", "mixes"],
             "--backend os:path: cannot load os:path: TypeError: os:path is a module, not an mhc_kernels.base.Backend")
    _refused(capsys, ["check", "--backend", "torch", "--out", "/proc/x"], "argument --out: /proc/x: cannot write in /proc")
    assert not Path("mhc-verify-report").exists()  # nothing ran


def test_the_table_from_a_shell_exits_2_in_one_line(tmp_path):
    """The console entry point itself (a new process, as scripts run it): exit status 2, one line."""
    proc = subprocess.run([sys.executable, "-m", "mhc_verify", "replay", str(tmp_path / "missing.json")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(capsys, where):
    argv = ["check", "--backend", "nosuch"]
    argv = ["--debug", *argv] if where == "before" else [*argv, "--debug"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "KeyError" in err  # the cause, chained
    assert err.rstrip("\n").splitlines()[-1].startswith("mhc-verify check: error: --backend nosuch: unknown backend")


@pytest.mark.parametrize("spec, reason", [
    ("no_such_module_xyz:Backend", "ModuleNotFoundError"),
    ("os:no_such_attribute", "AttributeError"),
    ("os:path", "not an mhc_kernels.base.Backend"),
])
@pytest.mark.parametrize("command", ["check", "backends", "stress"])
def test_a_named_backend_that_cannot_be_loaded_is_an_error(capsys, tmp_path, spec, reason, command):
    _refused(capsys, [command, "--backend", spec, *(["--out", str(tmp_path / "r")] if command != "backends" else [])],
             f"--backend {spec}: cannot load {spec}: ")
    assert not (tmp_path / "r").exists()


def test_replay_and_require_backend_name_unloadable_backends_too(capsys, tmp_path):
    _refused(capsys, ["replay", "--case", '{"op": "sinkhorn", "T": 2, "n": 4, "H": 8}', "--backend", "os:path"],
             "--backend os:path: cannot load os:path")
    _refused(capsys, ["check", "--backend", "torch", "--require-backend", "nosuch", "--out", str(tmp_path)],
             "--require-backend nosuch: unknown backend 'nosuch'")
    repro = tmp_path / "r.json"
    repro.write_text(json.dumps({"case": {"op": "sinkhorn", "T": 2, "n": 4, "H": 8}, "backend": "x",
                                 "backend_spec": "gone_module:Gone"}))
    _refused(capsys, ["replay", str(repro)], f"{repro}: backend gone_module:Gone: cannot load gone_module:Gone")


def test_a_backend_that_loads_but_cannot_run_stays_unavailable(capsys, tmp_path):
    """Unavailable is not a usage error: listed with its reason, exit 0, and --require-backend fails it."""
    spec = f"{__name__}:LoadsButCannotRun"
    args = ["check", "--backend", spec, "--op", "hc_post", "--examples", "1", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert "skipped: backend loads-but-cannot-run unavailable: needs hardware" in capsys.readouterr().err
    assert main([*args, "--require-backend", "loads-but-cannot-run", "--out", str(tmp_path / "b")]) == 1
    assert "FAIL (required): backend loads-but-cannot-run unavailable" in capsys.readouterr().err


def test_backends_lists_builtins_that_fail_to_load_with_the_reason(capsys, monkeypatch):
    """Discovery (no backend named) drops nothing: a built-in that cannot be loaded is listed, exit 0."""
    import mhc_kernels

    monkeypatch.setitem(mhc_kernels.BUILTIN_BACKENDS, "broken-builtin", "no_such_module_xyz:Backend")
    assert main(["backends"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"broken-builtin +NO +builtin +cannot load no_such_module_xyz:Backend: ModuleNotFoundError", out)
    _refused(capsys, ["backends", "--backend", "broken-builtin"], "--backend broken-builtin: cannot load")


@pytest.mark.parametrize("argv, expected", [
    (["check", "--out", "{file}"], "argument --out: {file} is a file, not a directory"),
    (["check", "--out", "{file}/sub"], "argument --out: {file} is a file in the way of the directory {file}/sub"),
    (["check", "--out", "x" * 300], "argument --out: "),  # a name too long for the filesystem
    (["check", "--examples", "1.5"], "argument --examples: expected an integer, got '1.5'"),
    (["check", "--profile", "nope"], "argument --profile: invalid choice: 'nope'"),
    (["check", "--seed", "abc"], "argument --seed: invalid int value: 'abc'"),
    (["stress", "--backend", "torch", "--tokens", "abc"], "argument --tokens: expected comma-separated positive"),
    (["stress", "--backend", "torch", "--tokens", "64,"], "argument --tokens: expected comma-separated positive"),
    (["stress", "--backend", "torch", "--reruns", "0"], "argument --reruns: must be a positive integer, got '0'"),
    (["stress", "--backend", "torch", "--judge-budget", "nan"], "argument --judge-budget: must be a number > 0"),
    (["stress", "--backend", "torch", "--op", "bogus"], "argument --op: invalid choice: 'bogus'"),
    (["stress", "--backend", "torch", "--seed", "-1"], "argument --seed: must be an integer in 0..2^62-1"),
    (["stress", "--backend", "torch", "--op", "mhc_pre", "--tokens", "64", "--hidden", "64", "--n-splits", "3"],
     "(mhc_pre): mhc_pre: n_splits=3 does not divide K=n*H=256"),
    (["stress", "--backend", "torch", "--op", "hc_post", "--tokens", "100000000000000000000"],
     "input 'x' would have 7.17e+23 elements (T=100000000000000000000, n=4, H=7168)"),
    (["stress", "--backend", "torch", "--op", "hc_post", "--tokens", "2000000000", "--hidden", "2000"],
     "its inputs need"),  # more than the machine's memory: refused before anything is allocated
    (["mutants", "--examples", "-1"], "argument --examples: must be a positive integer"),
    (["merge", "{missing}", "--out", "m"], "argument reports: no such file or directory"),
    (["merge", "--out", "m"], "the following arguments are required: reports"),
    (["replay", "--case", "{{not json"], "--case: not valid JSON: Expecting property name enclosed in double quotes"),
    (["replay", "{file}", "--case", "{{}}"], "give a reproducer FILE or --case JSON, not both"),
    (["gsm8k-gate", "--config", "{missing}"], "argument --config: no such file"),
    (["gsm8k-gate", "--config", "{bad_yaml}"], "not valid YAML: expected ',' or ']', but got '<stream end>' at line 3"),
    (["gsm8k-gate", "--config", "{list_yaml}"], "expected a mapping at the top level, got list"),
    (["frobnicate"], "argument command: invalid choice: 'frobnicate'"),
    ([], "the following arguments are required: command"),
])
def test_bad_arguments_are_one_line(capsys, tmp_path, argv, expected):
    files = {"file": tmp_path / "a_file", "missing": tmp_path / "missing", "bad_yaml": tmp_path / "bad.yaml",
             "list_yaml": tmp_path / "list.yaml"}
    files["file"].write_text("{}")
    files["bad_yaml"].write_text("name: x\nmodel: [1, 2\n")
    files["list_yaml"].write_text("- 1\n")
    fmt = {k: str(v) for k, v in files.items()}
    _refused(capsys, [a.format(**fmt) for a in argv], expected.format(**fmt))


def test_bench_front_door(capsys, tmp_path):
    """``python -m mhc_verify.bench`` has its own parser; the same front door (checked before its GPU test)."""
    _refused(capsys, ["--out", "/proc/x"], "argument --out: /proc/x: cannot write in /proc", run=bench.main)
    _refused(capsys, ["--out", str(tmp_path), "--tokens", "0"], "argument --tokens: expected comma-separated positive integers, got '0'",
             run=bench.main)
    _refused(capsys, ["--out", str(tmp_path), "--backend", "os:path"], "--backend os:path: cannot load",
             run=bench.main)
    (tmp_path / "bench.md").write_text("earlier")
    _refused(capsys, ["--out", str(tmp_path)], "holds a report from an earlier run (bench.md)", run=bench.main)


def test_an_earlier_report_is_overwritten_only_with_force(capsys, tmp_path):
    args = ["check", "--backend", "torch", "--op", "sinkhorn", "--examples", "1", "--no-progress",
            "--out", str(tmp_path)]
    assert main(args) == 0
    first = (tmp_path / "report.json").read_text()
    capsys.readouterr()
    _refused(capsys, args, f"--out {tmp_path}: holds a report from an earlier run (report.json, report.md); "
                           "choose another --out or pass --force to overwrite it")
    assert (tmp_path / "report.json").read_text() == first
    assert main([*args, "--force"]) == 0
    assert json.loads((tmp_path / "report.json").read_text())["meta"]["command"].endswith("--force")


def test_mutants_refuse_an_earlier_kill_table_before_running(capsys, tmp_path, monkeypatch):
    import mhc_verify.mutants

    def never(*a, **k):
        raise AssertionError("the catalogue ran although the arguments were refused")

    monkeypatch.setattr(mhc_verify.mutants, "run_catalogue", never)
    (tmp_path / "kill_table.md").write_text("earlier")
    _refused(capsys, ["mutants", "--out", str(tmp_path)], "holds a report from an earlier run (kill_table.md)")


def _reproducer(tmp_path, **changes) -> Path:
    data = {"case": {"H": 16, "T": 3, "family": "normal", "layout": "contiguous", "n": 4, "n_splits": 1,
                     "norm_weight": False, "op": "hc_post", "params": [], "seed": 5},
            "backend": "torch", "status": "fail", "reason": "", "backend_spec": "torch", "command": "",
            "environment": {}, "backend_provenance": {}}
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = data
        for key in parents:
            target = target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value
    file = tmp_path / "repro.json"
    file.write_text(json.dumps(data))
    return file


_DELETE = object()


@pytest.mark.parametrize("changes, expected", [
    ({"case__T": "3"}, "case.T: expected an integer, got str '3'"),
    ({"case__T": -1}, "case.T: must be >= 0, got -1"),
    ({"case__n": 9}, "case.n: must be 1..8, got 9"),
    ({"case__H": True}, "case.H: expected an integer, got bool True"),
    ({"case__op": "hc_pots"}, "case.op: unknown op 'hc_pots'"),
    ({"case__family": "gaussian"}, "case.family: expected one of normal, heavy_tail"),
    ({"case__layout": 1}, "case.layout: expected one of contiguous, strided; got 1"),
    ({"case__norm_weight": "yes"}, "case.norm_weight: expected true or false, got 'yes'"),
    ({"case__seed": 2 ** 64}, "case.seed: must be -9223372036854775808..18446744073709551615"),
    ({"case__colour": "red"}, "case: unknown field(s) ['colour']"),
    ({"case__H": _DELETE}, "case: missing field(s) ['H']"),
    ({"case__params": [["eps", 1.0]]}, "case.params[0]: hc_post has no parameter 'eps'; its parameters: none"),
    ({"case__op": "sinkhorn", "case__params": [["sinkhorn_repeat", 2.5]]},
     "case: sinkhorn: parameter 'sinkhorn_repeat' must be an int, got 2.5"),
    ({"case__op": "sinkhorn", "case__params": [["sinkhorn_repeat", 0]]},
     "case: sinkhorn: parameter 'sinkhorn_repeat' must be >= 1, got 0"),
    ({"case__op": "mhc_pre", "case__n_splits": 3}, "case: mhc_pre: n_splits=3 does not divide K=n*H=64"),
    ({"case__params": "rms_eps=1"}, "case.params: expected a list of [name, value] pairs, got str"),
    ({"case__T": 10 ** 30}, "case: input 'x' would have 1.6e+31 elements"),
    ({"case__T": 10 ** 9, "case__H": 7168}, "case: its inputs need"),
    ({"case": [1, 2]}, "field 'case': expected dict, got list"),
    ({"case": _DELETE}, "not a reproducer: no field 'case'"),
    ({"backend": 3}, "field 'backend': expected str, got int"),
    ({"extra": 1}, "unknown field(s) ['extra']"),
    ({"mhc_verify_version": "0.0.1", "case__T": "x"}, "case.T: expected an integer, got str 'x' (the file was "
                                                      "written by mhc-verify 0.0.1, this is 0.1.0"),
])
def test_reproducer_fields_are_checked_against_the_contract(capsys, tmp_path, changes, expected):
    file = _reproducer(tmp_path, **changes)
    _refused(capsys, ["replay", str(file)], f"mhc-verify replay: error: {file}: {expected}")


def test_a_reproducer_from_another_version_says_so(capsys, tmp_path):
    """Valid files replay; the version that wrote them is noted (missing: written before versions were kept)."""
    assert main(["replay", str(_reproducer(tmp_path, mhc_verify_version="0.0.1"))]) == 0
    assert "note: " in (err := capsys.readouterr().err) and "written by mhc-verify 0.0.1, this is 0.1.0" in err
    assert main(["replay", str(_reproducer(tmp_path))]) == 0
    assert "written by a version of mhc-verify before versions were recorded" in capsys.readouterr().err
    from mhc_verify.case_json import project_version

    assert main(["replay", str(_reproducer(tmp_path, mhc_verify_version=project_version()))]) == 0
    assert "note:" not in capsys.readouterr().err


def test_not_a_reproducer(capsys, tmp_path):
    (tmp_path / "report.json").write_text(json.dumps({"meta": {}, "results": [], "backends": {}}))
    _refused(capsys, ["replay", str(tmp_path / "report.json")],
             "not a reproducer: no field 'case' (its fields: meta, results, backends)")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe{}")
    _refused(capsys, ["replay", str(tmp_path / "bin.json")], "not UTF-8 text (byte 0)")
    (tmp_path / "deep.json").write_text("[" * 100_000)
    _refused(capsys, ["replay", str(tmp_path / "deep.json")], "JSON nested too deeply")


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d.pop("results"), "not a check report: no 'results' list"),
    (lambda d: d["results"][0].update(verdict="ok"), "results[0].verdict: expected one of FAIL, ERROR"),
    (lambda d: d["results"][0].update(cases="12"), "results[0].cases: expected an integer >= 0, got '12'"),
    (lambda d: d["results"][0].update(ratios=[0.5, "x"]), "results[0].ratios: expected a list of numbers"),
    (lambda d: d["results"][0].update(failure="boom"), "results[0].failure: expected null or an object"),
    (lambda d: d["results"][0].pop("op"), "results[0]: missing op"),
    # the fuzzer's find (front_door_fuzz, 2026-12-06): a null engine_ratio_max was a traceback in merge_pair
    (lambda d: d["results"][0].update(engine_ratio_max=None), "results[0].engine_ratio_max: expected a mapping"),
    (lambda d: d["results"][0].update(torch_ratio_case={"out": 3}), "results[0].torch_ratio_case: expected a mapping"),
    (lambda d: d["results"][0].update(failures=[{"kind": "bound"}]), "results[0].failures: expected a list of objects"),
    (lambda d: d["results"][0].update(departures=7), "results[0].departures: expected null or a string"),
    (lambda d: d["meta"].update(examples="many"), "meta.examples: expected an integer >= 0, got 'many'"),
    (lambda d: d["backends"]["torch"].update(implements="hc_post"), "backends.torch.implements: expected a list"),
])
def test_merge_checks_the_shard_reports(capsys, tmp_path, mutate, expected):
    assert main(["check", "--backend", "torch", "--op", "sinkhorn", "--examples", "1", "--no-progress",
                 "--out", str(tmp_path / "shard")]) == 0
    capsys.readouterr()
    report = tmp_path / "shard" / "report.json"
    data = json.loads(report.read_text())
    mutate(data)
    report.write_text(json.dumps(data))
    _refused(capsys, ["merge", str(report), "--out", str(tmp_path / "m")], f"{report}: {expected}")
    assert not (tmp_path / "m").exists()


def test_stress_resume_log_is_checked(capsys, tmp_path):
    (tmp_path / "results.jsonl").write_text('{"backend": "torch", "case": {"op": "hc_post"}}\n')
    _refused(capsys, ["stress", "--backend", "torch", "--op", "hc_post", "--tokens", "8", "--hidden", "8",
                      "--reruns", "1", "--out", str(tmp_path)],
             f"{tmp_path / 'results.jsonl'}:1: not a stress record: case: missing field(s) ['T', 'n', 'H']")


SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def test_scripts_that_rerun_into_their_out_pass_force():
    """The GPU scripts write under an OUT a person may give again: their check, merge and bench runs
    pass --force, so a rerun is not stopped by the earlier report (stress resumes by design)."""
    calls = []
    for script in sorted(SCRIPTS.glob("*.sh")):
        text = re.sub(r"\\\n", " ", script.read_text())
        for line in text.splitlines():
            if re.search(r"mhc_verify(\.bench| (check|merge|mutants))\b", line) and "--out" in line:
                calls.append((script.name, line.strip()))
    assert len(calls) >= 4, calls  # gpu_results (check, bench), gpu_calibration (check, merge), run_device_check
    missing = [c for c in calls if "--force" not in c[1]]
    assert not missing, missing


def test_a_check_whose_stdout_reader_is_gone_keeps_its_report_and_its_exit_status(tmp_path):
    """`mhc-verify check ... | head` (or a `| grep` killed with the script around it): the reader closes the pipe,
    the run's prints raise BrokenPipeError. Seen here before the fix: a passing check ended in a traceback and exit
    status 1, a false alarm for any script that reads the status."""
    out = tmp_path / "r"
    err = tmp_path / "stderr"
    with err.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "mhc_verify", "check", "--backend", "torch", "--op", "hc_post",
                                 "--examples", "2", "--out", str(out)], stdout=subprocess.PIPE, stderr=stderr)
        proc.stdout.close()  # the reader is gone before the first line
        code = proc.wait(timeout=300)
    assert code == 0, err.read_text()[-2000:]
    assert "Traceback" not in err.read_text() and "BrokenPipeError" not in err.read_text()
    assert json.loads((out / "report.json").read_text())["results"], "the report is written"
