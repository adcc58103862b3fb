"""What beam search costs inside ``read_batch`` (DESIGN §5): wall time of ``read_batch`` over a
whole crop set, beam width 10 against greedy, 1 thread, in one run (alternating, best of N).

``python bench/beam_overhead.py ../shared/data/funsd_test_crops/labels.tsv [--model PATH] [--rounds 3]``
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crnn_onnx import Recogniser, labels  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", type=Path)
    parser.add_argument("--model", default=None)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    crops = [cv2.imread(str(path)) for path, _ in labels.read_labels(args.labels)]
    readers = {"greedy": Recogniser(args.model, threads=1, inter_op_threads=1),
               "beam 10": Recogniser(args.model, threads=1, inter_op_threads=1, decoder="beam", beam_width=10)}
    best = {name: float("inf") for name in readers}
    texts = {}
    for _ in range(args.rounds):
        for name, reader in readers.items():
            start = time.perf_counter()
            texts[name] = [p.text for p in reader.read_batch(crops)]
            best[name] = min(best[name], time.perf_counter() - start)
    changed = sum(a != b for a, b in zip(texts["greedy"], texts["beam 10"]))
    print(f"{args.labels.parent.name}: {len(crops)} crops, read_batch wall time (best of {args.rounds}): "
          f"greedy {best['greedy']:.2f} s, beam 10 {best['beam 10']:.2f} s, "
          f"beam costs {100 * (best['beam 10'] / best['greedy'] - 1):+.1f}%; {changed} texts differ")


if __name__ == "__main__":
    main()
