"""Draw a grid of synthetic training crops (as the model sees them, height 32) to a PNG.

``python -m training.samples --out training/samples.png`` (printed) or
``python -m training.samples --handwriting --out training/samples_handwriting.png``.
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path

import cv2
import numpy as np

from .fonts import find_fonts
from .handwriting import HandwritingRenderer, HandwritingText, load_names, training_hands
from .render import SyntheticRenderer
from .text import TextSampler, load_words


def sample_grid(count: int = 30, width: int = 640, seed: int = 7, handwriting: bool = False) -> np.ndarray:
    rng = random.Random(seed)
    if handwriting:
        renderer = HandwritingRenderer(training_hands(), find_fonts(), rng)
        sampler = HandwritingText(load_words(), load_names(), rng)
    else:
        renderer, sampler = SyntheticRenderer(find_fonts(), rng), TextSampler(load_words(), rng)
    rows = []
    for i in range(count):
        image = renderer.render(sampler.line(60) if i % 3 == 0 else sampler.single())
        scaled = cv2.resize(image, (max(8, round(image.shape[1] * 32 / image.shape[0])), 32), interpolation=cv2.INTER_AREA)
        row = np.full((34, width), 255, np.uint8)
        row[:32, :min(width, scaled.shape[1])] = scaled[:, :width]
        rows.append(row)
    return np.concatenate(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--handwriting", action="store_true", help="the handwriting renderer (training.handwriting)")
    args = parser.parse_args(argv)
    cv2.imwrite(str(args.out), sample_grid(args.count, handwriting=args.handwriting))


if __name__ == "__main__":
    main()
