"""The one scorer (DESIGN §8), used by ``crnn-onnx eval``, the benchmarks and the model card.

- ``alnum(s)``: lower-case, keep only ASCII ``[a-z0-9]``.
- Word accuracy: over items whose ``alnum(gt)`` is non-empty, the share with
  ``alnum(pred) == alnum(gt)``; the other items are counted in
  ``Score.no_alnum`` and left out (on line sets a "word" is the whole line).
- Exact accuracy: ``pred.strip() == gt.strip()`` over all items.
- CER: total Levenshtein distance between the raw strings over total
  ``len(gt)`` (case, punctuation and spaces count).

A ratio with a zero denominator is NaN (``Score.as_dict`` writes it as None).
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

try:
    from rapidfuzz.distance import Levenshtein as _rapidfuzz_levenshtein
except ImportError:  # rapidfuzz is optional (test/train extras); the NumPy fallback gives the same numbers
    _rapidfuzz_levenshtein = None

_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def alnum(text: str) -> str:
    """Lower-cased ``text`` with everything but ASCII letters and digits removed."""
    return _NOT_ALNUM.sub("", text.lower())


def levenshtein_numpy(a: str, b: str) -> int:
    """Edit distance (unit insert, delete, substitute), one NumPy row per character of ``a``."""
    if not a or not b:
        return len(a) + len(b)
    codes_b = np.frombuffer(b.encode("utf-32-le"), dtype=np.uint32)
    columns = np.arange(len(b) + 1)
    row = columns.copy()
    for i, char in enumerate(a, start=1):
        substitute = row[:-1] + (codes_b != ord(char))
        best = np.empty_like(row)
        best[0] = i
        best[1:] = np.minimum(row[1:] + 1, substitute)  # delete from a, or substitute/match
        # Insertions: best[j] = min over k <= j of best[k] + (j - k).
        row = np.minimum.accumulate(best - columns) + columns
    return int(row[-1])


def levenshtein(a: str, b: str) -> int:
    """Edit distance between two strings (rapidfuzz when installed, else :func:`levenshtein_numpy`)."""
    if _rapidfuzz_levenshtein is not None:
        return int(_rapidfuzz_levenshtein.distance(a, b))
    return levenshtein_numpy(a, b)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else math.nan


@dataclass(frozen=True)
class Score:
    """Counts and rates over one set of (prediction, ground truth) pairs.

    ``items``: all pairs. ``word_items``: pairs whose gt has a letter or
    digit; ``no_alnum``: the others. ``word_correct``/``exact_correct``:
    matches. ``edits``/``gt_chars``: CER numerator and denominator.
    """

    items: int
    word_items: int
    no_alnum: int
    word_correct: int
    exact_correct: int
    edits: int
    gt_chars: int

    @property
    def word_accuracy(self) -> float:
        return _ratio(self.word_correct, self.word_items)

    @property
    def exact_accuracy(self) -> float:
        return _ratio(self.exact_correct, self.items)

    @property
    def cer(self) -> float:
        return _ratio(self.edits, self.gt_chars)

    def as_dict(self) -> dict:
        """Counts and rates as JSON-ready values (NaN rates as None)."""
        rates = {"word_accuracy": self.word_accuracy, "exact_accuracy": self.exact_accuracy, "cer": self.cer}
        return {**{k: (None if math.isnan(v) else v) for k, v in rates.items()}, **asdict(self)}


def score(predictions: Sequence[str], ground_truths: Sequence[str]) -> Score:
    """Score predictions against ground truths, pairwise (the sequences must have equal length)."""
    if len(predictions) != len(ground_truths):
        raise ValueError(f"{len(predictions)} predictions for {len(ground_truths)} ground truths")
    word_items = word_correct = exact_correct = edits = gt_chars = 0
    for pred, gt in zip(predictions, ground_truths):
        gt_key = alnum(gt)
        if gt_key:
            word_items += 1
            word_correct += alnum(pred) == gt_key
        exact_correct += pred.strip() == gt.strip()
        edits += levenshtein(pred, gt)
        gt_chars += len(gt)
    return Score(items=len(predictions), word_items=word_items, no_alnum=len(predictions) - word_items,
                 word_correct=word_correct, exact_correct=exact_correct, edits=edits, gt_chars=gt_chars)
