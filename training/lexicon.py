"""Build the bundled English lexicon (``crnn_onnx/lexicons/en.txt``) from wordfreq.

The words are wordfreq's English top ``top_n`` by frequency (lower case, most
frequent first) that are printable ASCII, hold a letter and no digit: numbers,
codes and symbols are never "corrected" towards a word. The size and the
decoder's margin were chosen on the held-out real slice of ``../shared/train``
(models/README.md, "Lexicon"); rebuild with::

    python -m training.lexicon --out crnn_onnx/lexicons/en.txt --top-n 50000

wordfreq's data is CC BY-SA 4.0 (Robyn Speer et al.); the list keeps that licence.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from training.text import load_words

TOP_N = 50_000


def lexicon_words(words: list[str]) -> list[str]:
    """The words, in order, that hold a letter and no digit (``load_words`` already kept printable ASCII)."""
    return [w for w in words if any(c.isalpha() for c in w) and not any(c.isdigit() for c in w)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--top-n", type=int, default=TOP_N, help=f"wordfreq's top N English words (default {TOP_N})")
    args = parser.parse_args(argv)
    words = lexicon_words(load_words(top_n=args.top_n))
    args.out.write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(words)} words from wordfreq's English top {args.top_n}")


if __name__ == "__main__":
    main()
