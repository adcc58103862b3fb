"""Score candidate ONNX models through the runtime on a training config's validation crops.

This is where a checkpoint is chosen before the one dev-set measurement that decides
whether it ships (DESIGN §7): the held-out slice of the config's real sets and its fixed
synthetic crops (``datasets.validation_sets``, the ones the training loop scores), read
with ``Recogniser.read_batch`` exactly as users read them, so a choice between
``best.onnx`` and ``last.onnx`` sees the exported models, not the torch ones.

More rows say how much of a score is memory: "real words" (the held-out word crops) beside
"real words, unseen labels" (those whose text, case-insensitive, is no training crop's), and,
with ``--train-sample N``, N of the training crops themselves (the gap to the held-out slice
is what the model memorised; DESIGN §7 still chooses on the slice as a whole).

``python -m training.validate training/configs/cpu_case.yaml models/default.onnx runs/x/last.onnx``
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path

from crnn_onnx import Recogniser
from crnn_onnx.metrics import Score, score

from .config import TrainConfig
from .datasets import Item, real_split, validation_sets


def score_model(model: str | Path, sets: dict[str, list[Item]], threads: int = 1) -> dict[str, Score]:
    """Per validation set name, the model's greedy readings scored against the labels (DESIGN §8)."""
    recogniser = Recogniser(model, threads=threads)
    return {name: score([p.text for p in recogniser.read_batch([item.load() for item in items])],
                        [item.text for item in items])
            for name, items in sets.items() if items}


def memory_sets(train_items: list[Item], held_out: list[Item], train_sample: int = 0) -> dict[str, list[Item]]:
    """"real words": the ``held_out`` word crops (lines' texts are nearly all unseen, and harder);
    "real words, unseen labels": those whose lower-cased text no training item has; with
    ``train_sample`` > 0, "training sample": that many ``train_items`` (a fixed draw, seed 0)."""
    seen = {item.text.lower() for item in train_items}
    words = [item for item in held_out if not item.is_line]
    sets = {"real words": words, "real words, unseen labels": [item for item in words if item.text.lower() not in seen]}
    if train_sample > 0:
        sets["training sample"] = random.Random(0).sample(train_items, min(train_sample, len(train_items)))
    return sets


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="training YAML whose real_sets, val_sets and renderer are used")
    parser.add_argument("models", nargs="+", help="ONNX models to score")
    parser.add_argument("--train-sample", type=int, default=0, metavar="N",
                        help="also score N of the training crops (how much the model memorised)")
    args = parser.parse_args(argv)
    config = TrainConfig.from_yaml(args.config)
    train_items, held_out = real_split(config)
    sets = {**validation_sets(config, held_out), **memory_sets(train_items, held_out, args.train_sample)}
    for model in args.models:
        for name, result in score_model(model, sets).items():
            print(f"{model}  {name} ({len(sets[name])}): word {100 * result.word_accuracy:.2f} %  "
                  f"CER {100 * result.cer:.2f} %", flush=True)


if __name__ == "__main__":
    main()
