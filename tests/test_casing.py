"""crnn_onnx.casing: which lines count as latched into capitals, where their words are cut, and what may change."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crnn_onnx.casing import latched_capitals, lower_from_words, mixed_case


@pytest.mark.parametrize("text, latched", [
    ("TRACKER IS IDENTICAL.", True),
    ("IN SECTION 2 WE PRESENT AN OVERVIEW OF the Self-", True),   # 31 of 38 letters are capitals
    ("TOTAL SALES", False),                                        # two words only
    ("tracker is identical.", False),
    ("Cashier : Fatin Sy", False),                                 # 4 of 13 letters
    ("12 34 56", False),                                           # no letters
    ("RM 12.00 TOTAL", True),
    ("trajECtorY models and try", True),                          # a word in mixed case
    ("where L and h are", False),                                  # single capitals are no word in mixed case
    ("No.128G is McGinnis", True),                                 # McGinnis is mixed: re-read, and kept if read so alone
])
def test_latched_capitals_needs_three_words_in_capitals_or_mixed_case(text, latched):
    assert latched_capitals(text) is latched


@pytest.mark.parametrize("word, mixed", [("daTA", True), ("McGinnis", True), ("Data", False), ("DATA", False),
                                         ("data", False), ("a", False), ("A", False)])
def test_mixed_case_is_neither_lower_upper_nor_title(word, mixed):
    assert mixed_case([c.isupper() for c in word]) is mixed


def _words(text: str, readings: list[str]) -> list[tuple[tuple[int, ...], str]]:
    """(char indices, reading alone) for each space-separated word of ``text``."""
    words, start = [], 0
    for word, alone in zip(text.split(" "), readings):
        words.append((tuple(range(start, start + len(word))), alone))
        start += len(word) + 1
    return words


def test_lower_from_words_takes_only_lower_spellings_of_the_same_letters():
    line = "TRACKER IS IDENTICAL. THUS"
    assert lower_from_words(line, _words(line, ["tracker", "is", "identical.", "Thus"])) == \
        "tracker is identical. Thus"
    line = "GO AIl DONE"
    assert lower_from_words(line, _words(line, ["go", "all", "DONE"])) == "go AIl DONE"   # 'all': other letters
    line = "No.128G JLN"
    assert lower_from_words(line, _words(line, ["NO.128G", "jln"])) == "No.128G jln"      # never raises a letter


def test_lower_from_words_needs_a_letter_whose_cases_differ_in_shape():
    """Alone, at the model's height, COWS and cows look alike: their lowering is no evidence."""
    line = "WE SAW COWS ON SOx"
    assert lower_from_words(line, _words(line, ["we", "saw", "cows", "on", "sox"])) == "we saw COWS on SOx"


def test_lower_from_words_keeps_characters_outside_the_words():
    line = "  AB  CD "
    assert lower_from_words(line, [((2, 3), "ab"), ((6, 7), "Cd")]) == "  ab  Cd "


words = st.text(alphabet="aAbBzZ09.-", min_size=1, max_size=6)


@given(st.lists(st.tuples(words, st.booleans()), min_size=1, max_size=6))
def test_lower_from_words_changes_letter_case_only_and_never_raises_one(pairs):
    line = " ".join(word for word, _ in pairs)
    alone = [word.swapcase() if flip else word for word, flip in pairs]
    result = lower_from_words(line, _words(line, alone))
    assert result.lower() == line.lower()
    assert all(not (r.isupper() and not c.isupper()) for r, c in zip(result, line))
    for (word, _), (indices, lone) in zip(pairs, _words(line, alone)):   # a capital A or B lowered alone is taken
        if lone == word.lower() and any(c in "AB" for c in word):
            assert "".join(result[i] for i in indices) == lone
