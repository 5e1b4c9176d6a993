"""A tiny random causal LM and a tokenizer trained on the local gsm8k text, for offline tests.

Nothing is downloaded: the tokenizer is a byte-level BPE trained here on the gsm8k train split,
the model is a two-layer Llama with random weights drawn from a fixed seed. It answers nothing
correctly (exact_match 0), which is the point: the gate's threshold path must reject it, and a
comparison of the model against itself must find no discordant question.

    python -m mhc_verify.gsm8k.tiny_model --data-dir DIR --out /tmp/tiny-gsm8k
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

# The files whose presence means a directory already holds a built model.
_MARKERS = ("config.json", "tokenizer.json", "tiny_model_info.json")


def _gsm8k_texts(data_dir: Path, split: str = "train") -> Iterator[str]:
    with (data_dir / f"{split}.jsonl").open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                yield f"Question: {row['question']}\nAnswer: {row['answer']}\n\n"


def prefer_installed_kernels_package() -> None:
    """Make ``import kernels`` find PyPI's package (which transformers imports), not this checkout.

    This project's ``kernels/`` folder is installed as ``mhc_kernels``, but Python started from the
    checkout root (``python -m pytest``, ``python -m mhc_verify...``) has the root first on sys.path,
    where the folder shadows the ``kernels`` package transformers needs. Import that one first, with
    the root left out, so sys.modules holds it for every later import.
    """
    if "kernels" in sys.modules:
        return
    root = str(Path(__file__).resolve().parents[2])
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != root]
    try:
        importlib.import_module("kernels")
    except ImportError:
        pass  # not installed: transformers then does without it
    finally:
        sys.path[:] = saved


def is_built(out_dir: Path) -> bool:
    """True when ``out_dir`` holds a model written by :func:`build_tiny_model`."""
    return all((out_dir / name).is_file() for name in _MARKERS)


def build_tiny_model(data_dir: Path, out_dir: Path, *, vocab_size: int = 1024, hidden_size: int = 64,
                     num_layers: int = 2, seed: int = 0) -> Path:
    """Train a tokenizer on ``data_dir/train.jsonl`` and save a random Llama beside it in ``out_dir``."""
    prefer_installed_kernels_package()
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out_dir.mkdir(parents=True, exist_ok=True)
    bpe = Tokenizer(models.BPE(unk_token=None))
    # Byte-level so that every string round-trips (the server must echo arbitrary prompts).
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(_gsm8k_texts(data_dir), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<s>", eos_token="</s>")
    tokenizer.save_pretrained(out_dir)

    config = LlamaConfig(
        vocab_size=bpe.get_vocab_size(), hidden_size=hidden_size, intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers, num_attention_heads=4, num_key_value_heads=2,
        # 20-shot gsm8k prompts run to several thousand tokens; RoPE has no hard limit, but the
        # config's value must not make transformers warn or truncate.
        max_position_embeddings=16384,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    # Seeded for reproducible weights, without disturbing the caller's global RNG state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.save_pretrained(out_dir)
    info = {"data_dir": str(data_dir), "vocab_size": bpe.get_vocab_size(), "hidden_size": hidden_size,
            "num_layers": num_layers, "seed": seed}
    (out_dir / "tiny_model_info.json").write_text(json.dumps(info, indent=2) + "\n")
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, type=Path, help="folder with gsm8k train.jsonl")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    build_tiny_model(args.data_dir, args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
