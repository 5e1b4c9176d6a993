"""The front door, fuzzed (issue 20): Hypothesis over argument lists, truncated and mutated JSON
(reproducers, case descriptors, shard reports) and YAML (gsm8k-gate configs), wrong types.

Every generated input must end with exit status 0 or 2 (or 1 where a verdict is said: a required
backend unavailable, a replayed case failing, a failing shard), never an exception out of ``main``
nor a traceback on stderr; exit 2 prints exactly one error line, the last.

In-process through ``main(argv)``, in bounded time: the work behind the front door (check's
property-based search, stress's reruns, the mutant catalogue, the gsm8k gate's lm-eval runs) is
stubbed, since the front door decides before it starts. ``replay`` runs for real on the torch CPU
backend; the values the mutations draw are tiny or absurd, never large-but-valid, so a case that
passes the checks is a few hundred elements.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
import traceback
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import mhc_verify.cli as cli
import mhc_verify.gsm8k.gate as gsm8k_gate
import mhc_verify.mutants as mutants
import mhc_verify.session as session
import mhc_verify.stress as stress
from mhc_verify import bench
from mhc_verify.cli import build_parser, main

REPO = Path(__file__).resolve().parent.parent
GSM8K_CONFIG = REPO / "eval_configs" / "gsm8k" / "tiny-loopback.yaml"
BF16 = "mhc_kernels.torch_native.bf16:TorchBf16Backend"
VALID_CASE = '{"op": "hc_post", "T": 3, "n": 4, "H": 16}'
# Exit status 1 is a verdict, and says so
VERDICT_MARKERS = ("FAIL", "unavailable", "not available", "[ERROR]")
FUZZ = settings(max_examples=200, derandomize=True, database=None, deadline=None, print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
# The negative tests need a failure found, not shrunk
FIND_ONLY = settings(FUZZ, phases=[Phase.generate])


@dataclass
class Outcome:
    argv: list[str]
    code: int | None
    out: str
    err: str
    traceback: str  # of an exception that escaped main(): what a user would see as a crash


def run_front_door(argv: list[str], entry=main) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    code, tb = None, ""
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = entry(argv)
        except SystemExit as e:  # argparse's --help
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
        except Exception:  # noqa: BLE001 - the property under test: nothing escapes
            tb = traceback.format_exc()
    return Outcome(argv, code, out.getvalue(), err.getvalue(), tb)


def assert_front_door(o: Outcome) -> None:
    assert not o.traceback, f"{o.argv!r} raised (the user sees a traceback):\n{o.traceback}"
    debug = o.code == 2 and "--debug" in o.argv  # asked for: the traceback, then the error line
    assert debug or "Traceback" not in o.err, f"{o.argv!r} printed a traceback:\n{o.err}"
    assert o.code in (0, 1, 2), f"{o.argv!r}: exit status {o.code!r}\n{o.err}"
    if o.code == 1:
        assert any(m in o.out + o.err for m in VERDICT_MARKERS), f"{o.argv!r}: exit 1 without a verdict:\n{o.err}"
    if o.code == 2:
        lines = o.err.rstrip("\n").splitlines()
        errors = [line for line in lines if ": error: " in line]
        assert lines and lines[-1] in errors and (debug or len(errors) == 1), f"{o.argv!r}: not one error line:\n{o.err}"


# --- the work behind the front door, stubbed ------------------------------------------------------

def _fake_check_pair(backend, op, profile, max_examples=None, repro_dir=None, progress=None, use_target=True,
                     diagnostics=True, seed=None, stats=None):
    stats = stats if stats is not None else session.PairStats(backend.name, op)
    stats.cases = 1
    return stats


def _fake_stress_case(backend, case, reruns, *args, **kwargs):
    return stress.StressResult(backend.name, json.loads(case.to_json()), reruns, 0, [], 0.0, 0.0, {})


def _fake_run_gate(cfg, opts):
    report = {"config": {"name": cfg.name}, "mode": "stub", "verdict": "PASS", "reasons": []}
    return gsm8k_gate.GateOutcome(True, report, Path("gate.json"), Path("gate.md"))


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A working directory with the files the fuzz names, and the heavy work stubbed."""
    root = tmp_path_factory.mktemp("front_door")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.delenv("HYPOTHESIS_PROFILE", raising=False)
        mp.setattr(session, "check_pair", _fake_check_pair)
        mp.setattr(stress, "stress_case", _fake_stress_case)
        mp.setattr(mutants, "run_catalogue", lambda *a, **k: [])
        mp.setattr(gsm8k_gate, "run_gate", _fake_run_gate)
        Path("afile").write_text("not a directory")
        Path("adir").mkdir()
        Path("broken.json").write_text('{"case": {"op": "hc_post", "T"')
        shutil.copy(GSM8K_CONFIG, "config.yaml")
        Path("broken.yaml").write_text("name: x\nmodel: [1, 2\n")
        assert main(["check", "--backend", "torch", "--op", "sinkhorn", "--out", "shard", "--no-progress"]) == 0
        repro = {"case": json.loads(VALID_CASE) | {"seed": 3, "family": "normal"}, "backend": "torch",
                 "backend_spec": "torch", "status": "fail", "reason": "", "command": "", "environment": {},
                 "backend_provenance": {}}
        Path("repro.json").write_text(json.dumps(repro))
        yield {"repro": repro, "report": json.loads(Path("shard/report.json").read_text()),
               "config": yaml.safe_load(GSM8K_CONFIG.read_text())}


# --- argument lists: each option with values that fit it and values that do not -----------------

BACKENDS = ["torch", "torch-cuda", BF16, "nosuch", "os:path", "os:nope", "nosuchmod:X", ":", ""]
PATHS = ["afile", "afile/sub", "adir", "new-dir", "new/deep/dir", "shard", "shard/report.json", "repro.json",
         "broken.json", "missing.json", "/proc/x", "config.yaml", "broken.yaml", "x" * 300, "a\x00b", ""]
NUMBERS = ["-3", "0", "1", "2", "1.5", "abc", "", "nan", "inf", "99999999999999999999", "64,128", "64,", ","]
CASES = [VALID_CASE, '{"op": "hc_post"', "[]", '{"op": "hc_post", "T": -1, "n": 4, "H": 16}', ""]
VALUE_POOLS = {
    **dict.fromkeys(["backend", "require_backend", "candidate_backend", "baseline_backend"], BACKENDS),
    **dict.fromkeys(["out", "config", "data_dir", "candidate_samples", "baseline_samples", "file", "reports"], PATHS),
    "op": ["hc_post", "sinkhorn", "bogus", ""], "profile": ["ci", "dev", "nope"], "case": CASES,
    "checks": ["threshold", "paired", "threshold,paired", "bogus", ""], "endpoint": ["http://127.0.0.1:9/v1", "nope"],
}
_junk = st.one_of(st.sampled_from(["--", "-", "-h", "--nope", "bogus"]), st.text(max_size=6))


def _options_and_values(parser) -> list[tuple[str | None, list[str] | None]]:
    """(option, the values tried with it) of ``parser``: None values for a flag, None option for a positional."""
    found = []
    for action in parser._actions:
        if "--help" in action.option_strings or action.dest == "command":
            continue
        values = None if action.nargs == 0 else VALUE_POOLS.get(action.dest, NUMBERS)
        found.append((action.option_strings[-1] if action.option_strings else None, values))
    return found


def _grammar(parser) -> list[st.SearchStrategy[list[str]]]:
    """Per option of ``parser``: [option], or [option, value] for one that takes a value; a
    positional as [value]."""
    items = []
    for option, values in _options_and_values(parser):
        if values is None:
            items.append(st.just([option]))
        else:
            drawn = st.one_of(*[st.sampled_from(values)] * 3, _junk)  # mostly values meant for this option
            items.append(drawn.map(lambda v, o=option: [o, v] if o else [v]))
    return items


def _subcommand_parsers() -> dict[str, object]:
    import argparse

    return next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)).choices


GRAMMARS = {name: _grammar(p) for name, p in _subcommand_parsers().items()}


# A valid command per subcommand (tiny work, --force where it writes a report): the options the
# fuzz appends to one of these reach the checks behind the parser one fault at a time.
VALID_COMMANDS = {
    "check": ["check", "--backend", "torch", "--op", "sinkhorn", "--examples", "1", "--out", "new-dir", "--force"],
    "replay": ["replay", "repro.json", "--backend", "torch"],
    "backends": ["backends"],
    "stress": ["stress", "--backend", "torch", "--op", "hc_post", "--tokens", "8", "--hidden", "8", "--reruns", "1",
               "--out", "new-dir"],
    "mutants": ["mutants", "--examples", "1", "--out", "new-dir", "--force"],
    "merge": ["merge", "shard", "--out", "new-dir", "--force"],
    "gsm8k-gate": ["gsm8k-gate", "--config", "config.yaml", "--no-server"],
}


@st.composite
def argument_lists(draw) -> list[str]:
    """A valid command with one to three options appended, or a list of options drawn at random."""
    command = draw(st.sampled_from([*GRAMMARS, "bogus-command"]))
    item = st.one_of(*GRAMMARS.get(command, []), _junk.map(lambda v: [v]))
    if command in VALID_COMMANDS and draw(st.booleans()):
        base, items = VALID_COMMANDS[command], draw(st.lists(st.one_of(*GRAMMARS[command]), min_size=1, max_size=3))
    else:
        base, items = [command], draw(st.lists(item, max_size=6))
    return [*draw(st.sampled_from([[], [], ["--debug"]])), *base, *[t for i in items for t in i]]


@settings(FUZZ, max_examples=400)
@given(argv=argument_lists())
def test_argument_lists(sandbox, argv):
    assert_front_door(run_front_door(argv))


def single_faults() -> list[list[str]]:
    """Every valid command with each of its options given each value of that option's pool: every
    check behind the parser, one fault at a time (Hypothesis' draws above combine them)."""
    parsers = _subcommand_parsers()
    argvs = []
    for command, base in VALID_COMMANDS.items():
        for option, values in _options_and_values(parsers[command]):
            for value in values if values is not None else [None]:
                argvs.append([*base, *([option] if option else []), *([value] if value is not None else [])])
    return argvs


def test_every_option_with_every_value(sandbox):
    for argv in single_faults():
        assert_front_door(run_front_door(argv))


BENCH_OPTIONS = [st.tuples(st.just("--out"), st.sampled_from(PATHS)),
                 st.tuples(st.just("--backend"), st.sampled_from(BACKENDS)),
                 st.tuples(st.just("--op"), st.sampled_from(["hc_post", "bogus"])),
                 st.tuples(st.sampled_from(["--tokens", "--hidden"]), st.sampled_from(NUMBERS)),
                 st.tuples(st.sampled_from(["--force", "--debug"])), st.tuples(_junk)]


@FUZZ
@given(items=st.lists(st.one_of(*BENCH_OPTIONS), max_size=5))
def test_bench_argument_lists(sandbox, items):
    assert_front_door(run_front_door([t for i in items for t in i], entry=bench.main))


# --- documents: truncated, spliced and mutated ------------------------------------------------------

WEIRD = [None, True, False, -1, 0, 1, 2, 7, 9, 2 ** 64, 10 ** 30, -(10 ** 30), 1.5, float("nan"), float("inf"),
         "", "abc", "hc_post", "strided", "FAIL", [], {}, [1, 2], {"a": 1}, [["rms_eps", 1.0]]]
SPLICES = ["", "{", "}", "[", "]", '"', ":", ",", "0", "-", "a", "\\", "\n", "\t", "#", "&", "*", "!", "\x00", "é"]


def _paths(node, prefix=()):
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from _paths(child, (*prefix, key))


@st.composite
def mutated_documents(draw, base, dump) -> str:
    """``base`` dumped as text, then truncated, spliced, or with one value set, deleted or added."""
    kind = draw(st.sampled_from(["truncate", "splice", "set", "delete", "add"]))
    if kind in ("truncate", "splice"):
        text = dump(base)
        i = draw(st.integers(0, len(text) - 1))
        return text[:i] if kind == "truncate" else text[:i] + draw(st.sampled_from(SPLICES)) + text[i + 1:]
    doc = copy.deepcopy(base)
    path = draw(st.sampled_from(list(_paths(doc))))
    if not path:
        return dump(draw(st.sampled_from(WEIRD)))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if kind == "set":
        parent[path[-1]] = draw(st.sampled_from(WEIRD))
    elif kind == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[draw(st.sampled_from(["extra", "T", "op", "params", "results", "case", "backend"]))] = \
            draw(st.sampled_from(WEIRD))
    else:
        parent.append(draw(st.sampled_from(WEIRD)))
    return dump(doc)


def _json(doc) -> str:
    return json.dumps(doc)


def _replay_document(text: str, explicit_backend: bool) -> Outcome:
    Path("fuzz-repro.json").write_text(text)
    return run_front_door(["replay", "fuzz-repro.json", *(["--backend", "torch"] if explicit_backend else [])])


@FUZZ
@given(data=st.data(), explicit_backend=st.booleans())
def test_reproducer_documents(sandbox, data, explicit_backend):
    text = data.draw(mutated_documents(sandbox["repro"], _json))
    assert_front_door(_replay_document(text, explicit_backend))


@FUZZ
@given(data=st.data())
def test_case_descriptors(sandbox, data):
    text = data.draw(mutated_documents(json.loads(VALID_CASE) | {"params": []}, _json))
    assert_front_door(run_front_door(["replay", "--case", text, "--backend", "torch"]))


@FUZZ
@given(data=st.data())
def test_shard_reports(sandbox, data):
    Path("fuzz-shard").mkdir(exist_ok=True)
    Path("fuzz-shard/report.json").write_text(data.draw(mutated_documents(sandbox["report"], _json)))
    assert_front_door(run_front_door(["merge", "fuzz-shard/report.json", "--out", "merged", "--force"]))


def _yaml(doc) -> str:
    return yaml.safe_dump(doc, sort_keys=False)


# The lm_eval integer keys the gsm8k config once converted with int() unchecked ("abc" -> ValueError,
# null -> TypeError): each must be a one-line error now.
LM_EVAL_INT_KEYS = ("batch_size", "num_concurrent", "max_retries", "max_gen_toks", "request_timeout_s")


@FUZZ
@given(data=st.data())
def test_gsm8k_gate_configs(sandbox, data):
    Path("fuzz-config.yaml").write_text(data.draw(mutated_documents(sandbox["config"], _yaml)), encoding="utf-8")
    outcome = run_front_door(["gsm8k-gate", "--config", "fuzz-config.yaml", "--no-server"])
    assert_front_door(outcome)


@pytest.mark.parametrize("key", LM_EVAL_INT_KEYS)
def test_gsm8k_config_integer_keys_are_one_line_errors(sandbox, key):
    config = copy.deepcopy(sandbox["config"])
    config["lm_eval"][key] = "abc"
    Path("gap.yaml").write_text(_yaml(config))
    outcome = run_front_door(["gsm8k-gate", "--config", "gap.yaml", "--no-server"])
    assert_front_door(outcome)
    assert outcome.code == 2


# --- the fuzz can fail ----------------------------------------------------------------------------

def _naive_read_json(path, what=""):
    return json.loads(Path(path).read_text())


def test_the_fuzz_catches_a_traceback(sandbox):
    """With replay's JSON reading made naive again (the issue's first row), the fuzz finds the traceback."""

    @FIND_ONLY
    @given(data=st.data())
    def fuzz(data):
        assert_front_door(_replay_document(data.draw(mutated_documents(sandbox["repro"], _json)), True))

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli, "read_json", _naive_read_json)
        with pytest.raises(AssertionError, match=r"raised \(the user sees a traceback\)") as found:
            fuzz()
    assert "JSONDecodeError" in str(found.value)


def test_the_argument_fuzz_catches_a_traceback(sandbox):
    """With --out unchecked (the issue's last row), the single-fault sweep finds the crash it leads to."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cli, "output_dir", Path)
        with pytest.raises(AssertionError, match=r"raised \(the user sees a traceback\)") as found:
            test_every_option_with_every_value(sandbox)
    assert "'--out', 'afile'" in str(found.value) and "FileExistsError" in str(found.value)
