"""Line-level letter case: undo a line the model latched into capitals (pure functions on text and spans).

A bidirectional LSTM carries its case decision along a whole line: a lower-case
document line (``tracker is identical. Thus an edge``) or a mixed-case receipt
line (``Cashier : Fatin Sy``) can come out entirely in capitals, or switch
inside a word (``trajECtorY``), although each word read on its own comes out in
its own case. So a line read mostly in capitals or with a word in mixed case
(:func:`latched_capitals`) is cut into its words at the columns of the
spaces the model read (:func:`word_columns`), each word is read again alone, and
a word takes its lone reading's case when that spells the same letters with
fewer capitals (:func:`lower_from_words`). Letters are only ever lowered: words
really set in capitals read in capitals alone too, and nothing else changes.
:class:`crnn_onnx.Recogniser` applies this with ``regular_case=True``.
"""
from __future__ import annotations

import re
from typing import Sequence

#: A line needs at least this many space-separated words to be re-read word by word.
MIN_WORDS = 3
#: ... and more than this share of its letters read as capitals, or a word in mixed case.
CAPITAL_SHARE = 0.5
_LETTER_RUN = re.compile(r"[A-Za-z]+")


def mixed_case(upper: Sequence[bool]) -> bool:
    """A run of letters, given as whether each is a capital, is in mixed case: two or more letters,
    and neither all lower, all UPPER nor Title case (``daTA``, ``trajECtorY``, ``McGinnis``)."""
    return len(upper) >= 2 and any(upper) and not all(upper) and (not upper[0] or any(upper[1:]))


def latched_capitals(text: str) -> bool:
    """True when ``text`` has at least :data:`MIN_WORDS` words and either more than
    :data:`CAPITAL_SHARE` of its letters are capitals or a run of letters is in :func:`mixed_case`."""
    if len(text.split()) < MIN_WORDS:
        return False
    letters = [c for c in text if c.isalpha()]
    return (sum(c.isupper() for c in letters) > CAPITAL_SHARE * len(letters)
            or any(mixed_case([c.isupper() for c in run]) for run in _LETTER_RUN.findall(text)))


def word_columns(text: str, spans: Sequence[tuple[int, int]], width: int) -> list[tuple[int, int]] | None:
    """Half-open column ranges [x0, x1) of the crop, one per ``text.split(" ")`` word, cut at the
    middle of each space's span; None when two cuts fall on the same column or out of order.

    ``spans``: one (x0, x1) per character of ``text`` (``Prediction.char_spans``); ``width``: the
    crop's width in pixels.
    """
    if len(spans) != len(text):
        raise ValueError(f"{len(spans)} spans for {len(text)} characters")
    cuts = [0] + [(x0 + x1) // 2 for char, (x0, x1) in zip(text, spans) if char == " "] + [width]
    if any(b <= a for a, b in zip(cuts, cuts[1:])):
        return None
    return list(zip(cuts, cuts[1:]))


def lower_from_words(text: str, word_texts: Sequence[str]) -> str:
    """``text`` with each of its ``text.split(" ")`` words replaced by the matching entry of
    ``word_texts`` (its reading alone) when that spells the same letters, case ignored, and only
    lowers some of them; other words are kept as read."""
    words = text.split(" ")
    if len(words) != len(word_texts):
        raise ValueError(f"{len(word_texts)} word readings for {len(words)} words")
    return " ".join(alone if _only_lowers(word, alone) else word for word, alone in zip(words, word_texts))


def _only_lowers(word: str, alone: str) -> bool:
    """``alone`` is ``word`` with one or more of its capitals lowered, and nothing else changed."""
    return (alone != word and alone.lower() == word.lower()
            and all(a == w or (w.isupper() and a == w.lower()) for w, a in zip(word, alone)))
