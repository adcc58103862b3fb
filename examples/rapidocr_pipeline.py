"""RapidOCR 3's bundled detector + crnn-onnx's recogniser (offline).

    pip install "crnn-onnx[rapidocr]"
    python examples/rapidocr_pipeline.py [IMAGE] [--words]
"""
from __future__ import annotations

import argparse

from _sample import load

from crnn_onnx.integrations.rapidocr import RapidOCRPipeline


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?", help="a page image (default: a synthetic page)")
    parser.add_argument("--words", action="store_true", help="split lines into words with their own boxes")
    args = parser.parse_args()
    ocr = RapidOCRPipeline(threads=1, words=args.words)  # RapidOCRPipeline(Recogniser(...)) to share one
    result = ocr(load(args.image))                         # a path, a PIL image or a BGR array also work
    for box, text, confidence in result:
        print(f"{confidence:.3f}  {text!r:32}  {box.round(1).tolist()}")


if __name__ == "__main__":
    main()
