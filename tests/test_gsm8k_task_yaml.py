"""The offline task (eval_configs/lm_eval_tasks/gsm8k_offline) scores exactly like lm-eval's
built-in gsm8k: every scoring field of the installed gsm8k.yaml is compared, and lm-eval itself
loads the task from local JSONL with no hub access."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

from gsm8k_fixtures import LINE_SEPARATOR_QUESTION, require_modules, write_gsm8k_data

ROOT = Path(__file__).resolve().parents[1]
TASK_DIR = ROOT / "eval_configs" / "lm_eval_tasks" / "gsm8k_offline"
# Fields that decide what is asked and how it is scored; all must equal the built-in task's.
SCORING_KEYS = ("output_type", "training_split", "fewshot_split", "test_split", "doc_to_text", "doc_to_target",
                "metric_list", "generation_kwargs", "repeats", "num_fewshot", "filter_list")
# Fields that only say where the data comes from or what the task is called.
SOURCE_KEYS_BUILTIN = {"tag", "task", "dataset_path", "dataset_name", "metadata"}
SOURCE_KEYS_OURS = {"task", "custom_dataset", "metadata"}


class _TagTolerantLoader(yaml.SafeLoader):
    """Reads lm-eval task YAML (``!function x.y`` becomes the string "x.y")."""


_TagTolerantLoader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))


def _load(path: Path) -> dict:
    return yaml.load(path.read_text(), Loader=_TagTolerantLoader)  # a SafeLoader subclass


N_TEST, N_TRAIN = 7, 5


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_gsm8k_data(tmp_path_factory.mktemp("gsm8k"), N_TEST, N_TRAIN)


def builtin_yaml() -> Path:
    require_modules("lm_eval")
    spec = importlib.util.find_spec("lm_eval")
    path = Path(spec.origin).parent / "tasks" / "gsm8k" / "gsm8k.yaml"
    assert path.is_file(), f"lm-eval's gsm8k task YAML is not at {path}"
    return path


def test_scoring_fields_match_the_installed_builtin_task():
    builtin, ours = _load(builtin_yaml()), _load(TASK_DIR / "gsm8k_offline.yaml")
    for key in SCORING_KEYS:
        assert ours.get(key) == builtin.get(key), f"{key}: ours {ours.get(key)!r} != built-in {builtin.get(key)!r}"
    assert ours["metadata"]["version"] == builtin["metadata"]["version"]
    # Nothing else in either file: a new scoring field in lm-eval must show up here.
    assert set(builtin) - set(SCORING_KEYS) <= SOURCE_KEYS_BUILTIN, set(builtin) - set(SCORING_KEYS)
    assert set(ours) - set(SCORING_KEYS) == SOURCE_KEYS_OURS


def _loader_module():
    spec = importlib.util.spec_from_file_location("gsm8k_offline_data", TASK_DIR / "gsm8k_offline_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_loader_reads_local_jsonl(monkeypatch, tmp_path, data_dir):
    require_modules("datasets")
    mod = _loader_module()
    ds = mod.load_gsm8k_jsonl(gsm8k_data_dir=str(data_dir), version=3.0, base_url="ignored")
    assert (len(ds["train"]), len(ds["test"])) == (N_TRAIN, N_TEST)
    assert ds["test"].column_names == ["question", "answer"]
    first = json.loads((data_dir / "test.jsonl").read_text().split("\n")[0])
    assert ds["test"][0] == first
    assert ds["train"][0]["question"] == LINE_SEPARATOR_QUESTION  # U+2028 survives the loader
    # The environment variable works as well as the metadata key.
    monkeypatch.setenv("MHC_VERIFY_GSM8K_DATA_DIR", str(data_dir))
    assert len(mod.load_gsm8k_jsonl()["test"]) == N_TEST
    monkeypatch.delenv("MHC_VERIFY_GSM8K_DATA_DIR")
    with pytest.raises(ValueError, match="needs its data folder"):
        mod.load_gsm8k_jsonl()
    with pytest.raises(FileNotFoundError, match="lacks"):
        mod.load_gsm8k_jsonl(gsm8k_data_dir=str(tmp_path))
    (tmp_path / "train.jsonl").write_text('{"question": "q", "answer": "a"}\n')
    (tmp_path / "test.jsonl").write_text('{"question": "q", "answer": "x #### 1"}\n')
    with pytest.raises(ValueError, match="no final answer"):
        mod.load_gsm8k_jsonl(gsm8k_data_dir=str(tmp_path))


def test_lm_eval_loads_the_task_offline(monkeypatch, data_dir):
    require_modules("lm_eval", "datasets")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("MHC_VERIFY_GSM8K_DATA_DIR", str(data_dir))
    from lm_eval.tasks import TaskManager, get_task_dict

    tm = TaskManager(include_path=str(TASK_DIR.parent), include_defaults=False)
    # TaskManager.load is the newer API; get_task_dict the older one (deprecated since).
    task = (tm.load(["gsm8k_offline"])["tasks"] if hasattr(tm, "load")
            else get_task_dict(["gsm8k_offline"], tm))["gsm8k_offline"]
    docs = list(task.test_docs())
    assert len(docs) == N_TEST
    assert task.doc_to_text(docs[0]) == f"Question: {docs[0]['question']}\nAnswer:"
    assert task.doc_to_target(docs[0]) == docs[0]["answer"]
    assert [f["name"] for f in task.config.filter_list] == ["strict-match", "flexible-extract"]
