"""The gate's decisions on parsed lm-eval runs: integrity (fail closed), threshold, paired, A/A.

Every check returns a :class:`CheckResult`; the gate passes only when every check it ran passed.
A check that cannot be evaluated (a missing filter, a missing hash, no floor) fails with the
reason, it is never skipped into a pass.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mhc_verify.gsm8k.config import GateThresholds, TaskConfig
from mhc_verify.gsm8k.lmeval_output import NULL_COMPLETION_MARKER, RunOutput
from mhc_verify.gsm8k.stats import mcnemar_two_sided, paired_test

# Accuracy recomputed from the samples must equal the reported one (both are means of 0/1 values).
_MEAN_TOLERANCE = 1e-6
_LIST_AT_MOST = 10


@dataclass
class CheckResult:
    name: str
    passed: bool
    reasons: list[str] = field(default_factory=list)  # why it failed
    notes: list[str] = field(default_factory=list)  # worth knowing, not failing
    details: dict[str, Any] = field(default_factory=dict)
    # Nothing failed, but the check could not show what it must (a paired test too weak for the
    # margin): not a pass either.
    inconclusive: bool = False

    def fail(self, reason: str) -> None:
        self.passed = False
        self.reasons.append(reason)


def _ids(ids: Any) -> str:
    ids = sorted(ids)
    more = f" (+{len(ids) - _LIST_AT_MOST} more)" if len(ids) > _LIST_AT_MOST else ""
    return ", ".join(str(i) for i in ids[:_LIST_AT_MOST]) + more


def final_answer(target: str) -> str:
    """The gold answer of a gsm8k target (the text after the last '#### ')."""
    return target.rsplit("#### ", 1)[-1].strip()


def _rate_check(res: CheckResult, what: str, ids: list[int], n: int, limit: float | None, why: str) -> None:
    """Fail ``res`` when ``ids`` are more than ``limit`` of the ``n`` completions, else note them."""
    if not ids:
        return
    rate = len(ids) / n if n else 1.0
    text = f"{len(ids)} {what} ({rate:.2%} of {n}; doc_id {_ids(ids)})"
    if limit is not None and rate > limit:
        res.fail(f"{text}, above the configured {limit:.2%}: {why}")
    else:
        res.notes.append(text)


def check_integrity(run: RunOutput, task: TaskConfig, gate: GateThresholds) -> CheckResult:
    """Fail closed on anything that makes ``run``'s numbers untrustworthy."""
    res = CheckResult(f"integrity:{run.label}", True)
    for p in run.problems:
        res.fail(f"malformed lm-eval output: {p}")
    if run.n_shot is None:
        res.fail(f"the results record no few-shot count for task {run.task!r}")
    elif run.n_shot != task.num_fewshot:
        res.fail(f"few-shot count is {run.n_shot}, the config asks for {task.num_fewshot}")
    if run.n_effective is not None and run.n_effective != task.expected_n:
        res.fail(f"lm-eval evaluated {run.n_effective} questions, expected {task.expected_n}")
    doc_sets = []
    for flt in task.filters:
        metric = run.metrics.get(flt)
        if metric is None or metric.value is None:
            res.fail(f"filter {flt!r}: no {task.metric} in the results (found filters: {sorted(run.metrics)})")
        elif metric.stderr is None:
            res.notes.append(f"filter {flt!r}: no stderr in the results")
        rows = run.samples.get(flt)
        if rows is None:
            res.fail(f"filter {flt!r}: no samples logged")
            continue
        doc_sets.append(set(rows))
        if len(rows) != task.expected_n:
            word = "fewer" if len(rows) < task.expected_n else "more"
            res.fail(f"filter {flt!r}: {len(rows)} samples, {word} than the expected {task.expected_n}")
        if rows and metric is not None and metric.value is not None:
            mean = sum(s.correct for s in rows.values()) / len(rows)
            if abs(mean - metric.value) > _MEAN_TOLERANCE:
                res.fail(f"filter {flt!r}: samples give {mean:.6f}, results say {metric.value:.6f} "
                         "(files from different runs?)")
    if doc_sets and any(s != doc_sets[0] for s in doc_sets):
        res.fail("the filters cover different questions")
    responses = run.responses()
    missing = [d for d, r in responses.items() if r is None]
    if missing:
        res.fail(f"{len(missing)} samples have no completion text (doc_id {_ids(missing)})")
    nulls = [d for d, r in responses.items() if r == NULL_COMPLETION_MARKER]
    if nulls:
        res.fail(f"{len(nulls)} requests got no text from the engine (request errors; doc_id {_ids(nulls)})")
    empty = [d for d, r in responses.items() if isinstance(r, str) and not r.strip()]
    marked = (run.meta or {}).get("null_marker") == NULL_COMPLETION_MARKER
    if empty and not marked:
        res.fail(f"{len(empty)} empty completions (doc_id {_ids(empty)}) in a run the gate did not make: "
                 "an engine error and an empty answer look the same there; re-run it through the gate")
    else:
        _rate_check(res, "empty completions", empty, len(responses), gate.max_empty_rate,
                    "answers that end at once are an engine defect, not wrong answers")
    # A gsm8k solution ends in "#### <answer>"; without it the completion stopped (or was cut at
    # max_gen_toks) before the answer line.
    unfinished = [d for d, r in responses.items() if isinstance(r, str) and r.strip() and r != NULL_COMPLETION_MARKER
                  and "####" not in r]
    _rate_check(res, "completions without a '####' answer line", unfinished, len(responses),
                gate.max_unfinished_rate, "completions cut short before their answer")
    meta = run.meta or {}
    if meta.get("exit_code") not in (None, 0):
        res.fail(f"lm-eval exited with code {meta['exit_code']}")
    for w in meta.get("log_warnings", []) or []:
        res.notes.append(f"lm-eval log: {w}")
    res.details = {"n_shot": run.n_shot, "n_effective": run.n_effective,
                   "samples": {f: len(run.samples.get(f, {})) for f in task.filters},
                   "empty_completions": len(empty), "null_completions": len(nulls),
                   "unfinished_completions": len(unfinished)}
    return res


def check_threshold(run: RunOutput, task: TaskConfig, gate: GateThresholds) -> CheckResult:
    """Each filter's accuracy must reach its floor; a filter without a floor fails."""
    res = CheckResult("threshold", True)
    for flt in task.filters:
        floor = gate.floors.get(flt)
        metric = run.metrics.get(flt)
        value = metric.value if metric else None
        stderr = metric.stderr if metric else None
        res.details[flt] = {"value": value, "stderr": stderr, "floor": floor,
                            "passed": value is not None and floor is not None and value >= floor}
        if floor is None:
            res.fail(f"{flt}: no floor configured (gate.floor / gate.floors); the threshold cannot pass without one")
        elif value is None:
            res.fail(f"{flt}: no {task.metric} for this filter in the {run.label} run")
        elif value < floor:
            se = f" ± {stderr:.4f}" if stderr is not None else ""
            res.fail(f"{flt}: {task.metric} {value:.4f}{se} is below the floor {floor:.4f}")
    return res


def pairing_problems(a: RunOutput, b: RunOutput, task: TaskConfig) -> list[str]:
    """Why runs ``a`` and ``b`` cannot be compared question by question (empty when they can)."""
    out = []
    if a.results_path.resolve() == b.results_path.resolve() or (
            a.results_sha256 is not None and a.results_sha256 == b.results_sha256):
        out.append(f"{a.label} and {b.label} are the same run ({a.results_path}); pairing needs two distinct runs")
    if a.n_shot != b.n_shot:
        out.append(f"few-shot count differs: {a.label} {a.n_shot}, {b.label} {b.n_shot}")
    for what, va, vb in (("model", a.model, b.model), ("task version", a.task_version, b.task_version)):
        if va is None or vb is None:
            out.append(f"no {what} recorded ({a.label} {va!r}, {b.label} {vb!r}); cannot verify that both runs match")
        elif va != vb:
            out.append(f"{what} differs: {a.label} {va!r}, {b.label} {vb!r}")
    for key in sorted(set(a.generation) | set(b.generation)):
        ga, gb = a.generation.get(key), b.generation.get(key)
        if ga != gb:
            out.append(f"generation settings differ ({key}): {a.label} {ga!r}, {b.label} {gb!r}")
    for flt in task.filters:
        ra, rb = a.samples.get(flt, {}), b.samples.get(flt, {})
        if set(ra) != set(rb):
            only_a, only_b = set(ra) - set(rb), set(rb) - set(ra)
            out.append(f"{flt}: the runs answered different questions ({len(only_a)} only in {a.label}, "
                       f"{len(only_b)} only in {b.label})")
        for attr, what in (("doc_hash", "question"), ("prompt_hash", "prompt"), ("target_hash", "target")):
            absent = [d for d in set(ra) & set(rb) if not getattr(ra[d], attr) or not getattr(rb[d], attr)]
            if absent:
                out.append(f"{flt}: no {attr} for {len(absent)} questions; cannot verify that both runs saw "
                           f"the same {what}")
                continue
            differ = [d for d in set(ra) & set(rb) if getattr(ra[d], attr) != getattr(rb[d], attr)]
            if differ:
                out.append(f"{flt}: {what} hash differs between the runs for {len(differ)} questions "
                           f"(doc_id {_ids(differ)})")
    return out


def _counts(candidate: RunOutput, baseline: RunOutput, flt: str) -> tuple[int, int, int]:
    """(n, b, c) over the questions both runs answered under ``flt``."""
    rc, rb = candidate.samples.get(flt, {}), baseline.samples.get(flt, {})
    common = set(rc) & set(rb)
    b = sum(1 for d in common if rb[d].correct and not rc[d].correct)
    c = sum(1 for d in common if not rb[d].correct and rc[d].correct)
    return len(common), b, c


def check_paired(candidate: RunOutput, baseline: RunOutput, task: TaskConfig, gate: GateThresholds) -> CheckResult:
    """Exact one-sided McNemar per filter: fail when the candidate is significantly worse; pass only
    when, besides, the test could have seen a drop of ``gate.margin`` (its minimum detectable drop at
    the observed discordance and ``gate.power`` is at most the margin); otherwise inconclusive."""
    res = CheckResult("paired", True)
    for p in pairing_problems(candidate, baseline, task):
        res.fail(f"runs are not comparable: {p}")
    for flt in task.filters:
        n, b, c = _counts(candidate, baseline, flt)
        if n == 0:
            res.fail(f"{flt}: no question answered by both runs")
            continue
        r = paired_test(n, b, c, gate.alpha, gate.power, gate.aa_discordance)
        res.details[flt] = asdict(r)
        if r.significant:
            res.fail(f"{flt}: candidate is worse than baseline: {b} regressions vs {c} improvements out of {n}, "
                     f"exact one-sided McNemar p = {r.p_value:.4g} < alpha = {gate.alpha}")
        else:
            seen = (f"a drop of {100 * r.mdd_observed:.2f} points would be seen with power {gate.power}"
                    if r.mdd_observed != float("inf") else
                    f"too few questions for any drop to be seen with power {gate.power}")
            res.notes.append(f"{flt}: b = {b}, c = {c}, p = {r.p_value:.4g} >= alpha = {gate.alpha}; {seen}")
            if r.mdd_observed > gate.margin:
                res.inconclusive = True
                res.reasons.append(
                    f"{flt}: inconclusive: not shown worse, but at this discordance ({r.discordance:.2%}) the test "
                    f"only sees drops of {_mdd_points(r.mdd_observed)} with power {gate.power}, more than the "
                    f"margin of {100 * gate.margin:.2f} points")
    if res.inconclusive:
        # Pure "could not see" is not a pass; a real failure on another filter outranks it.
        res.inconclusive = res.passed
        res.passed = False
    return res


def _mdd_points(mdd: float) -> str:
    return "no size at all" if mdd == float("inf") else f"{100 * mdd:.2f} points or more"


def check_aa(first: RunOutput, second: RunOutput, task: TaskConfig, gate: GateThresholds) -> CheckResult:
    """A/A: two runs of one backend. Measures the run-to-run discordance; fails when the runs differ
    beyond chance in either direction (two-sided exact McNemar) or cannot be paired."""
    res = CheckResult("aa", True)
    for p in pairing_problems(first, second, task):
        res.fail(f"runs are not comparable: {p}")
    worst = 0.0
    for flt in task.filters:
        n, b, c = _counts(second, first, flt)
        if n == 0:
            res.fail(f"{flt}: no question answered by both runs")
            continue
        r = paired_test(n, b, c, gate.alpha, gate.power)
        p2 = mcnemar_two_sided(b, c)
        worst = max(worst, r.discordance)
        res.details[flt] = {**asdict(r), "p_two_sided": p2}
        if p2 < gate.alpha:
            res.fail(f"{flt}: two runs of the same backend differ beyond chance: b = {b}, c = {c}, "
                     f"two-sided p = {p2:.4g} < {gate.alpha}")
    res.details["recommended_aa_discordance"] = worst
    res.notes.append(f"run-to-run discordance (largest over filters): {worst:.4f}; put it in the config as "
                     f"gate.aa_discordance to report the paired test's realistic power")
    return res


def discordant_questions(candidate: RunOutput, baseline: RunOutput, flt: str) -> list[dict[str, Any]]:
    """The questions on which the two runs disagree under ``flt``, regressions first."""
    rc, rb = candidate.samples.get(flt, {}), baseline.samples.get(flt, {})
    rows = []
    for d in sorted(set(rc) & set(rb)):
        sc, sb = rc[d], rb[d]
        if sc.correct == sb.correct:
            continue
        rows.append({
            "doc_id": d, "direction": "regression" if sb.correct else "improvement",
            "question": sc.question or sb.question, "gold": final_answer(sc.target or sb.target),
            candidate.label: {"extracted": sc.extracted, "correct": sc.correct, "response": sc.response},
            baseline.label: {"extracted": sb.extracted, "correct": sb.correct, "response": sb.response},
        })
    rows.sort(key=lambda r: (r["direction"] != "regression", r["doc_id"]))
    return rows
