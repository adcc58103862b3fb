"""crnn_onnx.integrations: each adapter's contract, with no host library needed.

OpenCV is a runtime dependency, so its adapter is tested here against the real
``cv2.dnn.TextDetectionModel_DB`` (driven by a stand-in DB graph, since the
real weights are a download) and against the exact output formats of
``detect`` / ``detectTextRectangles``. The hosts that are extras are simulated
as missing to check the install hints; their real runs are in
tests/test_integrations_hosts.py.
"""
from __future__ import annotations

import importlib
import sys

import cv2
import numpy as np
import pytest
from test_integrations_support import default_recogniser, opencv_db_net, page_with_words, word_patch

from crnn_onnx import InvalidImageError, Recogniser
from crnn_onnx.geometry import crop_quad
from crnn_onnx.integrations import _common, doctr, opencv


# ------------------------------------------------------------------------------------------- install hints

@pytest.mark.parametrize("module, extra", [("rapidocr", "rapidocr"), ("onnxtr.models", "onnxtr"),
                                           ("docling.models.base_ocr_model", "docling")])
def test_missing_host_names_the_extra(monkeypatch, module, extra):
    top = module.split(".")[0]
    for name in [n for n in sys.modules if n == top or n.startswith(top + ".")]:
        monkeypatch.delitem(sys.modules, name)  # forget an already imported host (restored afterwards)
    monkeypatch.setitem(sys.modules, top, None)  # importing it now raises ImportError
    with pytest.raises(ImportError, match=rf'pip install "crnn-onnx\[{extra}\]"'):
        _common.require(module, extra, "host")


def test_rapidocr_pipeline_without_rapidocr_names_the_extra(monkeypatch):
    from crnn_onnx.integrations import rapidocr

    monkeypatch.setitem(sys.modules, "rapidocr", None)
    with pytest.raises(ImportError, match=r'crnn-onnx\[rapidocr\]'):
        rapidocr.RapidOCRPipeline(default_recogniser())


def test_docling_module_imports_without_docling_and_names_the_extra(monkeypatch):
    for name in [n for n in sys.modules if n == "docling" or n.startswith("docling.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delitem(sys.modules, "crnn_onnx.integrations._docling_model", raising=False)
    monkeypatch.setitem(sys.modules, "docling", None)
    module = importlib.import_module("crnn_onnx.integrations.docling")
    with pytest.raises(ImportError, match=r'crnn-onnx\[docling\]'):
        module.ocr_engines()
    with pytest.raises(ImportError, match=r'crnn-onnx\[docling\]'):
        module.CrnnOnnxOcrOptions
    with pytest.raises(AttributeError):
        module.layout_engines  # docling probes every plugin for other hooks: they must be plain misses


def test_doctr_helper_without_hosts_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxtr", None)
    monkeypatch.setitem(sys.modules, "doctr", None)
    with pytest.raises(ImportError, match=r'crnn-onnx\[onnxtr\]'):
        doctr.ocr_predictor("fast_base")


# ---------------------------------------------------------------------------------------- docTR / OnnxTR

@pytest.fixture(scope="module")
def rgb_recogniser():
    return Recogniser(threads=1, channel_order="rgb")


def rgb_crop(text, colour=(0, 0, 0), background=(255, 255, 255)):
    return np.ascontiguousarray(word_patch(text, colour=colour[::-1], background=background[::-1])[:, :, ::-1])


def test_reco_predictor_contract(rgb_recogniser):
    predictor = doctr.CRNNRecognitionPredictor(rgb_recogniser)
    assert predictor.eval() is predictor  # docTR's OCRPredictor calls .eval()
    crops = [rgb_crop("Hello"), rgb_crop("2026"), rgb_crop("invoice")]
    out = predictor(crops, some_host_kwarg=True)
    assert isinstance(out, list) and [type(t) for t in out] == [tuple] * 3
    assert [text for text, _ in out] == ["Hello", "2026", "invoice"]
    assert all(isinstance(c, float) and 0.0 <= c <= 1.0 for _, c in out)
    assert [p.text for p in predictor.last_predictions] == ["Hello", "2026", "invoice"]
    assert predictor([]) == []


def test_reco_predictor_takes_rgb_and_float_crops(rgb_recogniser):
    predictor = doctr.CRNNRecognitionPredictor(rgb_recogniser)
    red_on_blue = rgb_crop("TOTAL", colour=(200, 0, 0), background=(0, 0, 230))
    as_float255 = rgb_crop("TOTAL").astype(np.float32)  # docTR's rotated crops may keep a float page dtype
    as_float1 = rgb_crop("TOTAL").astype(np.float32) / 255
    chw = np.transpose(rgb_crop("TOTAL"), (2, 0, 1))  # channels_last=False hosts
    texts = [t for t, _ in predictor([red_on_blue, as_float255, as_float1, chw])]
    assert texts == ["TOTAL"] * 4


def test_reco_predictor_builds_an_rgb_recogniser_and_rejects_bgr():
    predictor = doctr.CRNNRecognitionPredictor(threads=1)
    assert predictor.recogniser.channel_order == "rgb"
    with pytest.raises(ValueError, match="channel_order='rgb'"):
        doctr.CRNNRecognitionPredictor(default_recogniser())


def test_reco_predictor_reports_the_bad_crop(rgb_recogniser):
    with pytest.raises(InvalidImageError, match="item 1"):
        doctr.CRNNRecognitionPredictor(rgb_recogniser)([rgb_crop("ok"), np.zeros((0, 5, 3), np.uint8)])


# ----------------------------------------------------------------------------------------------- OpenCV

def opencv_detect_output(quads, confidences):
    """Exactly what TextDetectionModel.detect returns in Python: a tuple of int32 (4, 2) arrays, float32 scores."""
    return (tuple(np.round(np.asarray(q)).astype(np.int32) for q in quads), np.asarray(confidences, np.float32))


def bl_tl_tr_br(quad):
    tl, tr, br, bl = quad
    return np.array([bl, tl, tr, br])


def test_detect_output_format_is_read_in_order():
    page, quads = page_with_words([("Hello", 200, 120, 0, 0), ("World", 600, 150, -25, 0),
                                   ("ONNX", 300, 420, 35, 0)])
    result = opencv.read_detections(page, opencv_detect_output([bl_tl_tr_br(q) for q in quads], [0.9, 0.8, 0.7]),
                                    default_recogniser())
    assert result.texts == ("Hello", "World", "ONNX")
    for box, quad in zip(result.boxes, quads):  # returned boxes: clockwise from the text's top-left
        np.testing.assert_allclose(box, quad, atol=1.0)


def test_detect_text_rectangles_format():
    page, quads = page_with_words([("Invoice", 300, 200, 20, 0)])
    rect = cv2.minAreaRect(np.asarray(quads[0], np.float32))
    assert opencv.read_detections(page, ((rect,), np.array([0.9], np.float32)), default_recogniser()).texts == \
        ("Invoice",)
    assert opencv.detections_to_quads([rect]).shape == (1, 4, 2)
    assert opencv.detections_to_quads(((), np.zeros(0, np.float32))).shape == (0, 4, 2)


def test_degenerate_detections_are_dropped():
    page, quads = page_with_words([("Hello", 200, 120, 0, 0), ("World", 600, 150, -25, 0)])
    flat = np.array([[50, 300], [120, 300], [120, 300], [50, 300]])  # zero area
    triangle = np.array([[50, 300], [120, 300], [120, 340], [120, 340]])  # a repeated vertex
    height, width = page.shape[:2]
    off_page = np.array([[width + 10, 5], [width + 90, 5], [width + 90, 40], [width + 10, 40]])
    detections = opencv_detect_output([quads[0], flat, triangle, off_page, quads[1]], [0.9, 0.8, 0.7, 0.65, 0.6])
    result = opencv.read_detections(page, detections, default_recogniser())
    assert result.texts == ("Hello", "World") and result.boxes.shape == (2, 4, 2)


class FixedDetector:
    """A stand-in for TextDetectionModel: ``detect`` returns the given (quads, confidences)."""

    def __init__(self, output):
        self.output = output

    def detect(self, page):
        return self.output


def test_spotter_keeps_detection_scores_aligned_when_dropping_degenerate_boxes():
    page, quads = page_with_words([("Hello", 200, 120, 0, 0), ("World", 600, 150, -25, 0)])
    flat = np.array([[50, 300], [120, 300], [120, 300], [50, 300]])
    detector = FixedDetector(opencv_detect_output([flat, quads[0], flat, quads[1]], [0.1, 0.9, 0.2, 0.6]))
    result = opencv.OpenCVTextSpotter(detector, default_recogniser())(page)
    assert result.texts == ("Hello", "World") and result.detection_scores == pytest.approx((0.9, 0.6))


@pytest.fixture(scope="module")
def db_detector(tmp_path_factory):
    path = opencv_db_net(tmp_path_factory.mktemp("opencv") / "db_stand_in.onnx")
    detector = cv2.dnn.TextDetectionModel_DB(cv2.dnn.readNet(str(path)))
    detector.setBinaryThreshold(0.3).setPolygonThreshold(0.5).setUnclipRatio(1.2).setMaxCandidates(50)
    return detector


def test_real_opencv_db_detector_then_read_regions(db_detector):
    page, quads = page_with_words([("HELLO", 220, 120, 0, 0), ("WORLD", 620, 330, -20, 0)], size=(480, 900))
    db_detector.setInputParams(1.0 / 255, (page.shape[1], page.shape[0]), (0, 0, 0), False)
    raw_quads, confidences = db_detector.detect(page)
    assert len(raw_quads) >= 2 and all(np.asarray(q).shape == (4, 2) for q in raw_quads)
    spotter = opencv.OpenCVTextSpotter(db_detector, default_recogniser())
    result = spotter(page)
    assert {"HELLO", "WORLD"} <= set(result.texts)
    # OpenCV's own vertex order is [bl, tl, tr, br]: the adapter must not trust index positions.
    first = np.asarray(raw_quads[0], np.float64)
    assert first[0, 1] > first[1, 1]  # index 0 is a bottom corner
    assert result.detection_scores is not None and len(result.detection_scores) == len(result)


def test_opencv_spotter_filters_by_confidence(db_detector):
    page, _ = page_with_words([("HELLO", 220, 120, 0, 0)], size=(300, 500))
    db_detector.setInputParams(1.0 / 255, (page.shape[1], page.shape[0]), (0, 0, 0), False)
    assert opencv.OpenCVTextSpotter(db_detector, default_recogniser(), min_confidence=1.01)(page).texts == ()


# ------------------------------------------------------------------------------------- shared helpers

def test_load_page_accepts_paths_pil_and_arrays(tmp_path):
    from PIL import Image

    page, _ = page_with_words([("ABC", 100, 60, 0, 0)], size=(120, 200))
    path = tmp_path / "page.png"
    cv2.imwrite(str(path), page)
    for given, order in ((str(path), "bgr"), (Image.open(path), "bgr"), (page, "bgr"),
                         (np.ascontiguousarray(page[:, :, ::-1]), "rgb"), (cv2.cvtColor(page, cv2.COLOR_BGR2GRAY), "bgr")):
        loaded = _common.load_page(given, order)
        assert loaded.dtype == np.uint8 and loaded.shape == page.shape
        assert np.abs(loaded.astype(int) - page.astype(int)).max() <= 1


def test_ocr_result_iterates_as_triples():
    result = _common.OCRResult(np.zeros((1, 4, 2), np.float32), ("a",), (0.5,))
    assert len(result) == 1 and [(t, c) for _, t, c in result] == [("a", 0.5)]


def test_split_into_words_of_a_tall_line_read_rotated():
    # A vertical line "AB 12" running down the page: read rotated; its words get boxes along the line.
    page, quads = page_with_words([("AB 12", 200, 250, 90, 0)], size=(500, 400))
    rec = default_recogniser()
    prediction = rec.read_regions(page, quads)[0]
    assert prediction.text == "AB 12"
    words = _common.split_into_words(rec, page, quads, [prediction])
    assert [w[1] for w in words] == ["AB", "12"]
    top_word, bottom_word = (w[0] for w in words)
    assert top_word[:, 1].mean() < bottom_word[:, 1].mean()  # "AB" above "12"
    for word, text in zip(words, ("AB", "12")):  # each word box starts at the word's reading top-left
        assert rec.read(crop_quad(page, word[0], order=False)).text == text
