"""crnn_onnx.metrics (the one scorer, DESIGN §8) and crnn_onnx.labels (labels.tsv reader, charset fit)."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crnn_onnx import metrics
from crnn_onnx.labels import fit_items, read_labels


@pytest.mark.parametrize("text, expected", [("Hello, World!", "helloworld"), ("  ", ""), ("N°42", "n42"),
                                            ("Éte", "te"), ("A-b_C9", "abc9")])
def test_alnum(text, expected):
    assert metrics.alnum(text) == expected


@pytest.mark.parametrize("a, b, distance", [("kitten", "sitting", 3), ("", "abc", 3), ("abc", "", 3),
                                            ("", "", 0), ("flaw", "lawn", 2), ("same", "same", 0), ("ab", "ba", 2)])
def test_levenshtein_known_values(a, b, distance):
    assert metrics.levenshtein_numpy(a, b) == distance
    assert metrics.levenshtein(a, b) == distance


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abc é", max_size=12), st.text(alphabet="abc é", max_size=12))
def test_numpy_levenshtein_matches_rapidfuzz(a, b):
    rapidfuzz = pytest.importorskip("rapidfuzz")
    assert metrics.levenshtein_numpy(a, b) == rapidfuzz.distance.Levenshtein.distance(a, b)


def test_score():
    preds = ["Hello", "w0rld ", "--", "", "abc"]
    gts = ["hello!", "world", "..", "x", " abc "]
    score = metrics.score(preds, gts)
    assert (score.items, score.word_items, score.no_alnum) == (5, 4, 1)
    assert score.word_correct == 2  # "hello" and "abc"; "w0rld" != "world"; "" != "x"
    assert score.exact_correct == 1  # only "abc" after strip
    assert score.edits == 2 + 2 + 2 + 1 + 2 and score.gt_chars == 6 + 5 + 2 + 1 + 5
    assert score.word_accuracy == 0.5 and score.exact_accuracy == 0.2
    assert score.cer == pytest.approx(9 / 19)
    assert score.as_dict()["word_accuracy"] == 0.5 and score.as_dict()["word_items"] == 4


def test_score_of_nothing_is_nan_and_null():
    score = metrics.score([], [])
    assert math.isnan(score.word_accuracy) and math.isnan(score.cer)
    assert score.as_dict()["cer"] is None
    with pytest.raises(ValueError):
        metrics.score(["a"], [])


def test_read_labels_and_fit(tmp_path):
    (tmp_path / "labels.tsv").write_text("images/a.png\tHello world\n\nimages/b.png\t\u201cquoted\u201d\n"
                                         "images/c.png\t\u2610\nimages/d.png\tcaf\u00e9\ttab\n", encoding="utf-8")
    items = read_labels(tmp_path / "labels.tsv")
    assert items[0] == (tmp_path / "images/a.png", "Hello world")
    assert [t for _, t in items] == ["Hello world", "\u201cquoted\u201d", "\u2610", "caf\u00e9\ttab"]
    kept, dropped = fit_items(items)
    assert [t for _, t in kept] == ["Hello world", '"quoted"', "cafe tab"]
    assert dropped == [(tmp_path / "images/c.png", "\u2610")]
    (tmp_path / "bad.tsv").write_text("no tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.tsv:1"):
        read_labels(tmp_path / "bad.tsv")
