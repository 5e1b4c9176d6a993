"""Data source of the ``gsm8k_offline`` lm-eval task: gsm8k from local JSONL, no hub access.

lm-eval imports this file by path (``custom_dataset: !function ...``) and calls the loader with the
task's metadata as keyword arguments (its own ``version``, the model arguments, and whatever
``--metadata`` adds), so the loader takes ``**kwargs`` and reads only ``gsm8k_data_dir``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

DATA_DIR_KEY = "gsm8k_data_dir"
DATA_DIR_ENV = "MHC_VERIFY_GSM8K_DATA_DIR"
SPLITS = ("train", "test")


def _read_split(path: Path) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            row = json.loads(line)
            # A malformed row would silently score 0 (no "#### " means no gold answer to match);
            # refuse the file instead.
            if not (isinstance(row.get("question"), str) and isinstance(row.get("answer"), str)):
                raise ValueError(f"{path}:{lineno}: expected string fields 'question' and 'answer'")
            if "#### " not in row["answer"]:
                raise ValueError(f"{path}:{lineno}: answer has no final answer after '#### '")
            # Keep exactly the hub's two fields, so that doc hashes match a hub-loaded run.
            rows.append({"question": row["question"], "answer": row["answer"]})
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def load_gsm8k_jsonl(**kwargs: Any):
    """Return a ``datasets.DatasetDict`` with the ``train`` and ``test`` splits of local gsm8k."""
    import datasets

    data_dir = kwargs.get(DATA_DIR_KEY) or os.environ.get(DATA_DIR_ENV)
    if not data_dir:
        raise ValueError(
            f"gsm8k_offline needs its data folder: pass --metadata '{{\"{DATA_DIR_KEY}\": \"DIR\"}}' "
            f"or set {DATA_DIR_ENV}=DIR (DIR holds train.jsonl and test.jsonl)")
    folder = Path(data_dir).expanduser()
    missing = [s for s in SPLITS if not (folder / f"{s}.jsonl").is_file()]
    if missing:
        raise FileNotFoundError(f"gsm8k_offline: {folder} lacks {', '.join(s + '.jsonl' for s in missing)}")
    return datasets.DatasetDict(
        {s: datasets.Dataset.from_list(_read_split(folder / f"{s}.jsonl")) for s in SPLITS})
