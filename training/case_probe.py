"""Letter-case probe: does a model read clean lower-case lines in capitals?

UW3's document lines (black print on white, cut tight to the ink) are where the
model's CER is lost to letter case (models/README.md). This probe draws such
lines itself, so it can be run on any candidate without looking at dev data:
natural lower-case sentences in six common fonts, framed tight (2 px on every
side) or with side margins, at paper contrast (0/255), grey (60/200),
inverted, or thresholded to pure 0/255 as UW3's scans are (bi-level). Per
variant it counts readings that are mostly capitals and exact readings.

``python -m training.case_probe models/default.onnx runs/candidate.onnx``
"""
from __future__ import annotations

import argparse
from typing import Callable

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .fonts import find_fonts

#: Font files (name stems) drawn; each is common on Linux and in the training font list.
PROBE_FONTS = ("LiberationSans-Regular", "FreeSans", "DejaVuSans", "LiberationSerif-Regular", "FreeSerif", "DejaVuSerif")
#: Lower-case running text, with and without descenders, starting with and without a capital.
PROBE_TEXTS = (
    "has failed since the local nature of these methods assumes that the",
    "into the area from the south and out with the",
    "the cat sat on the mat",
    "The waveform of the rotor current numerically generated for a",
    "a simple method for reading",
    "She holds a lifetime teaching credential from",
)
FONT_SIZE = 40


def draw_line(text: str, font_path: str, size: int = FONT_SIZE) -> np.ndarray:
    """``text`` in black on white (uint8), cut to the ink on every side."""
    font = ImageFont.truetype(font_path, size)
    right = font.getbbox(text)[2]
    image = Image.new("L", (right + 2 * size, 2 * size), 255)
    ImageDraw.Draw(image).text((size, size // 2), text, font=font, fill=0)
    ink = np.asarray(image)
    rows, cols = np.flatnonzero(ink.min(axis=1) < 128), np.flatnonzero(ink.min(axis=0) < 128)
    return ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def framed(line: np.ndarray, top_bottom: int, sides: int) -> np.ndarray:
    """``line`` with white margins in pixels."""
    return cv2.copyMakeBorder(line, top_bottom, top_bottom, sides, sides, cv2.BORDER_CONSTANT, value=255)


#: Variant name -> how a cut line becomes the probe crop.
VARIANTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tight 2 px, 0/255": lambda line: framed(line, 2, 2),
    "tight 2 px, 60/200 grey": lambda line: (framed(line, 2, 2) * (140 / 255) + 60).astype(np.uint8),
    "tight 2 px, inverted": lambda line: 255 - framed(line, 2, 2),
    "tight 2 px, bi-level": lambda line: np.where(framed(line, 2, 2) < 128, 0, 255).astype(np.uint8),
    "2 px, 30 px sides, 0/255": lambda line: framed(line, 2, 30),
}


def mostly_capitals(text: str) -> bool:
    """More than 60 % of the letters in ``text`` are capitals."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) > 0.6 * len(letters)


def probe_fonts() -> list[str]:
    """Paths of :data:`PROBE_FONTS` among the installed training fonts (missing ones are skipped)."""
    fonts = [str(f) for f in find_fonts()]
    found = (next((f for f in fonts if f.rsplit("/", 1)[-1].split(".")[0] == stem), None) for stem in PROBE_FONTS)
    return [f for f in found if f]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="ONNX models to probe")
    args = parser.parse_args(argv)
    from crnn_onnx import Recogniser
    fonts = probe_fonts()
    lines = [(text, draw_line(text, font)) for font in fonts for text in PROBE_TEXTS]
    recognisers = [Recogniser(path, threads=1) for path in args.models]
    print(f"{len(lines)} lines ({len(fonts)} fonts x {len(PROBE_TEXTS)} texts); per model: capitals / exact")
    for name, make in VARIANTS.items():
        crops = [make(line) for _, line in lines]
        cells = []
        for recogniser in recognisers:
            readings = [r.text for r in recogniser.read_batch(crops)]
            capitals = sum(mostly_capitals(r) for r in readings)
            exact = sum(r == text for r, (text, _) in zip(readings, lines))
            cells.append(f"{capitals:3d} / {exact:3d}")
        print(f"{name:28s}" + " | ".join(cells))


if __name__ == "__main__":
    main()
