"""Score candidate ONNX models through the runtime on a training config's validation crops.

This is where a checkpoint is chosen before the one dev-set measurement that decides
whether it ships (DESIGN §7): the held-out slice of the config's real sets and its fixed
synthetic crops (``datasets.validation_sets``, the ones the training loop scores), read
with ``Recogniser.read_batch`` exactly as users read them, so a choice between
``best.onnx`` and ``last.onnx`` sees the exported models, not the torch ones.

``python -m training.validate training/configs/cpu_case.yaml models/default.onnx runs/x/last.onnx``
"""
from __future__ import annotations

import argparse
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="training YAML whose real_sets, val_sets and renderer are used")
    parser.add_argument("models", nargs="+", help="ONNX models to score")
    args = parser.parse_args(argv)
    config = TrainConfig.from_yaml(args.config)
    sets = validation_sets(config, real_split(config)[1])
    for model in args.models:
        for name, result in score_model(model, sets).items():
            print(f"{model}  {name} ({len(sets[name])}): word {100 * result.word_accuracy:.2f} %  "
                  f"CER {100 * result.cer:.2f} %", flush=True)


if __name__ == "__main__":
    main()
