"""crnn_onnx.casing: which lines count as latched into capitals, where their words are cut, and what may change."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crnn_onnx.casing import latched_capitals, lower_from_words, mixed_case, word_columns


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


def test_word_columns_cut_at_the_middle_of_each_space():
    text = "ab cd e"
    spans = [(0, 4), (4, 8), (10, 14), (16, 20), (20, 24), (26, 30), (32, 36)]
    assert word_columns(text, spans, 40) == [(0, 12), (12, 28), (28, 40)]


def test_word_columns_refuse_cuts_that_collide():
    assert word_columns("a  b", [(0, 4), (4, 8), (5, 7), (8, 12)], 12) is None


def test_word_columns_need_one_span_per_character():
    with pytest.raises(ValueError, match="3 spans for 4 characters"):
        word_columns("ab c", [(0, 1), (1, 2), (3, 4)], 5)


def test_lower_from_words_takes_only_lower_spellings_of_the_same_letters():
    assert lower_from_words("TRACKER IS IDENTICAL. THUS", ["tracker", "is", "identical.", "Thus"]) == \
        "tracker is identical. Thus"
    assert lower_from_words("GO AIl DONE", ["go", "all", "DONE"]) == "go AIl DONE"   # 'all' is other letters
    assert lower_from_words("No.128G JLN", ["NO.128G", "jln"]) == "No.128G jln"      # never raises a letter


def test_lower_from_words_needs_one_reading_per_word():
    with pytest.raises(ValueError, match="2 word readings for 3 words"):
        lower_from_words("A B C", ["a", "b"])


words = st.text(alphabet="aAbBzZ09.-", min_size=0, max_size=6)


@given(st.lists(st.tuples(words, st.booleans()), min_size=1, max_size=6))
def test_lower_from_words_changes_letter_case_only_and_never_raises_one(pairs):
    line = " ".join(word for word, _ in pairs)
    alone = [word.swapcase() if flip else word for word, flip in pairs]
    result = lower_from_words(line, alone)
    assert result.lower() == line.lower()
    assert all(not (r.isupper() and not c.isupper()) for r, c in zip(result, line))
