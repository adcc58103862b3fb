"""Line-level letter case: undo a line the model latched into capitals (pure functions on text).

A bidirectional LSTM carries its case decision along a whole line: a lower-case
document line (``tracker is identical. Thus an edge``) or a mixed-case receipt
line (``Cashier : Fatin Sy``) can come out entirely in capitals, or switch
inside a word (``trajECtorY``), although each word read on its own comes out in
its own case. So a line read mostly in capitals or with a word in mixed case
(:func:`latched_capitals`) is cut into its words (:func:`crnn_onnx.geometry.word_cuts`),
each word is read again alone, and a word takes its lone reading's case when
that spells the same letters with some capitals lowered, one of them a letter
whose two cases differ in shape (:func:`lower_from_words`). Letters are only
ever lowered, and nothing else changes. :class:`crnn_onnx.Recogniser` applies
this with ``regular_case=True``.
"""
from __future__ import annotations

import re
from typing import Sequence

#: A line needs at least this many space-separated words to be re-read word by word.
MIN_WORDS = 3
#: ... and more than this share of its letters read as capitals, or a word in mixed case.
CAPITAL_SHARE = 0.5
#: Letters whose capital is their lower case drawn bigger (``COWS``/``cows``): cut out alone, at
#: the model's height, their case cannot be told, so lowering them alone is no evidence.
CASE_ALIKE = frozenset("cosuvwxz")
_LETTER_RUN = re.compile(r"[^\W\d_]+")


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


def lower_from_words(text: str, words: Sequence[tuple[Sequence[int], str]]) -> str:
    """``text`` with each word, given as (its character indices in ``text``, its reading alone),
    replaced by that reading when :func:`_only_lowers` holds; other characters are kept."""
    chars = list(text)
    for indices, alone in words:
        word = "".join(text[i] for i in indices)
        if _only_lowers(word, alone):
            for i, char in zip(indices, alone):
                chars[i] = char
    return "".join(chars)


def _only_lowers(word: str, alone: str) -> bool:
    """``alone`` is ``word`` with some capitals lowered, nothing else changed, and at least one of
    the lowered letters outside :data:`CASE_ALIKE`."""
    if len(alone) != len(word) or not all(w == a or (w.isupper() and a == w.lower()) for w, a in zip(word, alone)):
        return False
    return any(a != w and a not in CASE_ALIKE for w, a in zip(word, alone))
