"""crnn_onnx.pages: polygon IoU, one-to-one greedy matching with ignore handling, scoring, and eval-pages
on synthetic pages whose boxes and texts are known."""
from __future__ import annotations

import importlib.util
import json
import math

import cv2
import numpy as np
import pytest
from test_integrations_support import box_quad, default_recogniser, page_with_words

from crnn_onnx import cli, pages
from crnn_onnx.pages import Item, PageAnnotation, Tally, match_page, polygon_iou


def square(x, y, size=10.0):
    return np.array([[x, y], [x + size, y], [x + size, y + size], [x, y + size]], np.float64)


# ------------------------------------------------------------------------------------------------ IoU

def test_iou_of_known_overlaps():
    assert polygon_iou(square(0, 0), square(0, 0)) == pytest.approx(1.0)
    assert polygon_iou(square(0, 0), square(20, 0)) == 0.0
    assert polygon_iou(square(0, 0), square(5, 0)) == pytest.approx(50 / 150)
    assert polygon_iou(square(0, 0), square(0, 0, 20)) == pytest.approx(0.25)
    # Vertex order and direction do not matter.
    assert polygon_iou(square(0, 0)[::-1], np.roll(square(5, 0), 2, axis=0)) == pytest.approx(50 / 150)


def test_iou_of_rotated_quads():
    a = box_quad(50, 50, 40, 10, degrees=30)
    assert polygon_iou(a, a) == pytest.approx(1.0)
    b = box_quad(50, 50, 40, 10, degrees=-60)  # perpendicular: overlap is the 10x10 centre square
    assert polygon_iou(a, b) == pytest.approx(100 / 700, rel=1e-3)


def test_iou_of_a_non_convex_quad_is_rasterised_closely():
    dart = np.array([[0, 0], [10, 5], [0, 10], [4, 5]], np.float64)  # area 30
    assert pages.polygon_area(dart) == pytest.approx(30)
    assert polygon_iou(dart, dart) == pytest.approx(1.0, abs=0.02)
    assert polygon_iou(dart, square(0, 0)) == pytest.approx(0.3, abs=0.02)


def test_degenerate_quads_have_no_overlap():
    line = np.array([[0, 0], [10, 0], [10, 0], [0, 0]], np.float64)
    assert polygon_iou(line, square(0, 0)) == 0.0
    assert polygon_iou(line, line) == 0.0


# ------------------------------------------------------------------------------------------- matching

def test_greedy_one_to_one_matching_takes_the_best_pairs_first():
    gts = [square(0, 0), square(6, 0)]
    preds = [square(5, 0), square(1, 0), square(40, 40)]  # pred 0 overlaps gt 1 best; pred 1 overlaps gt 0 best
    result = match_page(gts, [False, False], preds, iou=0.3)
    assert result.pairs == {1: 0, 0: 1}
    assert result.kept == (0, 1, 2)  # the unmatched prediction counts against precision


def test_one_prediction_matches_at_most_one_item():
    gts = [square(0, 0), square(0.5, 0)]
    result = match_page(gts, [False, False], [square(0.2, 0)])
    assert len(result.pairs) == 1 and result.kept == (0,)


def test_below_threshold_is_no_match():
    assert match_page([square(0, 0)], [False], [square(5, 0)]).pairs == {}  # IoU 1/3 < 0.5


def test_predictions_on_ignored_items_are_dropped():
    gts = [square(0, 0), square(30, 0), square(60, 0, 20)]
    ignore = [False, True, True]
    preds = [square(0, 0), square(30, 0), square(62, 2, 6), square(100, 100)]
    result = match_page(gts, ignore, preds)
    assert result.pairs == {0: 0}
    # pred 1 matched an ignored item; pred 2 lies inside an ignored item (ICDAR's don't-care rule)
    assert result.kept == (0, 3)


def page_of(items, level="word"):
    return PageAnnotation(image=None, level=level,
                          items=tuple(Item(np.asarray(q, np.float64), t, i) for q, t, i in items))


def test_tally_scores_matched_and_missed_items():
    page = page_of([(square(0, 0), "Total", False), (square(30, 0), "42.00", False), (square(60, 0), "###", True),
                    (square(0, 30), "--", False)])
    tally = Tally()
    # Predictions: "TOTAL" on item 0 (alnum equal, not exact), "42.0" on item 1 (wrong), one on the ignored
    # item (dropped), one on nothing (a false positive); item 3 is missed.
    tally.add(page, [square(0, 0), square(30, 0), square(60, 0), square(80, 80)],
              ["TOTAL", "42.0", "x", "noise"], seconds=0.5)
    summary = tally.summary()
    assert summary["gt_items"] == 3 and summary["predictions"] == 3 and summary["matched"] == 2
    assert summary["recall"] == pytest.approx(2 / 3) and summary["precision"] == pytest.approx(2 / 3)
    assert summary["correct"] == 1
    assert summary["word_accuracy"] == pytest.approx(1 / 2)  # "--" has no letter or digit: left out
    assert summary["exact_accuracy"] == 0.0
    # CER: "TOTAL" vs "Total" 4 edits, "42.0" vs "42.00" 1, "" vs "--" 2, over 5 + 5 + 2 characters
    assert summary["cer"] == pytest.approx(7 / 12)
    assert summary["seconds_per_page"] == pytest.approx(0.5)


def test_tally_with_no_predictions():
    tally = Tally()
    tally.add(page_of([(square(0, 0), "A", False)]), [], [], seconds=0.1)
    summary = tally.summary()
    assert summary["recall"] == 0.0 and math.isnan(summary["precision"]) and summary["correct"] == 0


# --------------------------------------------------------------------------------------- annotations

WORDS = [("Invoice", 180, 90, 0, 0), ("TOTAL", 520, 100, 0, 0), ("2026", 300, 260, -10, 0),
         ("HELLO", 600, 300, 0, 0), ("noise", 150, 420, 0, 0)]


def write_page_set(folder, level="word"):
    page, quads = page_with_words(WORDS, size=(500, 800))
    (folder / "images").mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / "images" / "p1.png"), page)
    items = [{"quad": q.tolist(), "text": t, "ignore": t == "noise"} for (t, *_), q in zip(WORDS, quads)]
    items.append({"quad": [[5, 5], [5, 5], [6, 5], [6, 5]], "text": "zero", "ignore": False})  # zero area
    record = {"image": "images/p1.png", "width": 800, "height": 500, "level": level, "items": items}
    path = folder / "annotations.jsonl"
    path.write_text(json.dumps(record) + "\n\n", encoding="utf-8")
    return path


def test_load_annotations(tmp_path):
    loaded = pages.load_annotations(write_page_set(tmp_path))
    assert len(loaded) == 1 and loaded[0].level == "word" and loaded[0].image == tmp_path / "images" / "p1.png"
    assert [i.ignore for i in loaded[0].items] == [False, False, False, False, True, True]
    assert [i.degenerate for i in loaded[0].items] == [False] * 5 + [True]


def test_items_that_cannot_be_cropped_are_degenerate(tmp_path):
    items = [{"quad": [[0, 0], [30, 0], [30, 20], [30, 20]], "text": "triangle"},  # area 300, a repeated vertex
             {"quad": [[0, 0], [1e6, 0], [1e6, 30], [0, 30]], "text": "huge"},
             {"quad": [[0, 0], [30, 0], [30, 20], [0, 20]], "text": "fine"}]
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"image": "x.png", "width": 5, "items": items}) + "\n", encoding="utf-8")
    loaded = pages.load_annotations(path)[0].items
    assert [(i.degenerate, i.ignore) for i in loaded] == [(True, True), (True, True), (False, False)]


def test_items_outside_the_page_are_degenerate_when_the_page_gives_its_size(tmp_path):
    outside = {"quad": [[310, 10], [340, 10], [340, 30], [310, 30]], "text": "off"}  # right of a 300-px page
    inside = {"quad": [[10, 10], [40, 10], [40, 30], [10, 30]], "text": "on"}
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"image": "x.png", "width": 300, "height": 100, "items": [outside, inside]}) + "\n"
                    + json.dumps({"image": "y.png", "items": [outside, inside]}) + "\n", encoding="utf-8")
    sized, unsized = pages.load_annotations(path)
    assert [i.degenerate for i in sized.items] == [True, False]
    assert [i.degenerate for i in unsized.items] == [False, False]  # no size given: nothing to check against


def test_iou_of_a_quad_with_a_straight_corner_is_exact():
    box = [[0, 0], [100, 0], [100, 20], [0, 20]]
    straight = [[0, 0], [50, 0], [100, 0], [0, 20]]  # a triangle given as four points: half the box
    assert pages.polygon_iou(box, straight) == pytest.approx(0.5, abs=1e-9)


def test_malformed_annotations_name_the_line(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"image": "x.png", "items": []}\n{"image": "y.png"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"a.jsonl:2"):
        pages.load_annotations(path)


def test_evaluate_on_ground_truth_boxes(tmp_path):
    report = pages.evaluate(write_page_set(tmp_path), ["ours_gt"], recogniser=default_recogniser())
    result = report["results"]["ours_gt"]
    assert report["items"] == 4 and report["ignored"] == 2 and report["degenerate"] == 1
    assert result["recall"] == 1.0 and result["precision"] == 1.0
    assert result["correct"] == 4 and result["word_accuracy"] == 1.0
    assert "crnn-onnx on GT boxes" in pages.format_report(report)


def test_evaluate_rejects_unknown_pipelines(tmp_path):
    with pytest.raises(ValueError, match="unknown pipelines"):
        pages.evaluate(write_page_set(tmp_path), ["ours_gt", "mine"], recogniser=default_recogniser())


needs_rapidocr = pytest.mark.skipif(importlib.util.find_spec("rapidocr") is None,
                                    reason='rapidocr is not installed (pip install "crnn-onnx[rapidocr]")')


@needs_rapidocr
def test_evaluate_all_pipelines_on_a_synthetic_page(tmp_path):
    report = pages.evaluate(write_page_set(tmp_path), pages.PIPELINES, recogniser=default_recogniser())
    ours = report["results"]["ours"]
    assert ours["gt_items"] == 4 and ours["recall"] == 1.0 and ours["precision"] == 1.0
    assert ours["correct"] == 4
    for key in ("rapidocr", "ours_gt", "rapidocr_gt"):
        assert report["results"][key]["gt_items"] == 4
        assert report["results"][key]["recall"] >= 0.75
    text = pages.format_report(report)
    assert "items read correctly" in text and "RapidOCR pipeline" in text


@needs_rapidocr
def test_eval_pages_command(tmp_path, capsys):
    annotations = write_page_set(tmp_path)
    assert cli.main(["eval-pages", str(annotations), "--gt-boxes", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["results"]) == {"ours", "ours_gt"}
    assert report["results"]["ours_gt"]["correct"] == 4
    assert cli.main(["eval-pages", str(annotations), "--limit", "1"]) == 0
    assert "RapidOCR det + crnn-onnx" in capsys.readouterr().out


def test_eval_pages_command_reports_missing_files(tmp_path, capsys):
    assert cli.main(["eval-pages", str(tmp_path / "missing.jsonl")]) == 2
    assert "error" in capsys.readouterr().err
