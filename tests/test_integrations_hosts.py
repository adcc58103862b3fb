"""The adapters inside their real hosts: RapidOCR 3, OnnxTR's OCRPredictor and docling's PDF pipeline.

Each test skips, naming the extra, when its host is not installed. Nothing is
downloaded: RapidOCR's detector ships in its wheel; OnnxTR gets a stand-in
detector graph (its weights are GitHub downloads); docling runs its real
StandardPdfPipeline on a generated PDF with our engine loaded through the
``docling`` entry point, its layout and table stages replaced by stubs (their
models need torch/transformers and Hugging Face downloads).
"""
from __future__ import annotations

import copy
import importlib.util
from importlib.metadata import entry_points
from typing import ClassVar, Literal

import numpy as np
import pytest
from test_integrations_support import default_recogniser, iou, onnxtr_db_net, page_with_words, word_patch


def need(module: str, extra: str):
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install \"crnn-onnx[{extra}]\")")


# ---------------------------------------------------------------------------------------------- RapidOCR

@pytest.fixture(scope="module")
def rapid_pipeline():
    need("rapidocr", "rapidocr")
    from crnn_onnx.integrations.rapidocr import RapidOCRPipeline

    return RapidOCRPipeline(default_recogniser(), threads=1)


WORDS = [("Invoice", 200, 100, 0, 0), ("TOTAL 42", 560, 110, 0, 0), ("Hello World", 330, 300, -12, 0),
         ("2026", 700, 420, 0, 0)]


def test_rapidocr_pipeline_reads_a_page(rapid_pipeline):
    page, quads = page_with_words(WORDS, size=(520, 900))
    result = rapid_pipeline(page)
    assert sorted(result.texts) == sorted(w[0] for w in WORDS)
    assert result.boxes.shape == (len(WORDS), 4, 2) and len(result.confidences) == len(WORDS)
    assert result.detection_scores is not None and len(result.detection_scores) == len(WORDS)
    for box, text in zip(result.boxes, result.texts):
        truth = quads[[w[0] for w in WORDS].index(text)]
        assert iou(box, truth) > 0.5


def test_rapidocr_pipeline_takes_paths_pil_and_rgb(rapid_pipeline, tmp_path):
    import cv2
    from PIL import Image

    page, _ = page_with_words(WORDS[:1], size=(200, 400))
    path = tmp_path / "p.png"
    cv2.imwrite(str(path), page)
    assert rapid_pipeline(str(path)).texts == ("Invoice",)
    assert rapid_pipeline(Image.open(path)).texts == ("Invoice",)
    quads, scores = rapid_pipeline.detect(page)
    assert quads.shape == (1, 4, 2) and len(scores) == 1


def variant(pipeline, **settings):
    """The pipeline with other settings, sharing its detector and recogniser (loading a detector is slow)."""
    other = copy.copy(pipeline)
    for key, value in settings.items():
        setattr(other, key, value)
    return other


def test_rapidocr_pipeline_word_boxes(rapid_pipeline):
    page, quads = page_with_words([("TOTAL DUE 42", 420, 150, 0, 0)], size=(300, 850))
    words = variant(rapid_pipeline, words=True)(page)
    assert words.texts == ("TOTAL", "DUE", "42")
    assert words.boxes.shape == (3, 4, 2)
    xs = [box[:, 0].mean() for box in words.boxes]
    assert xs == sorted(xs)  # left to right, inside the line
    line = quads[0]
    for box in words.boxes:
        assert line[:, 0].min() - 15 <= box[:, 0].min() and box[:, 0].max() <= line[:, 0].max() + 15


def test_rapidocr_pipeline_confidence_filter_and_rgb(rapid_pipeline):
    page, _ = page_with_words(WORDS[:2], size=(250, 900))
    assert variant(rapid_pipeline, min_confidence=1.01)(page).texts == ()
    rgb = variant(rapid_pipeline, channel_order="rgb")
    assert sorted(rgb(np.ascontiguousarray(page[:, :, ::-1])).texts) == ["Invoice", "TOTAL 42"]


def test_rapidocr_read_quads_drops_degenerate_boxes_with_their_scores(rapid_pipeline):
    page, quads = page_with_words(WORDS[:2], size=(250, 900))
    triangle = np.array([[50, 200], [120, 200], [120, 240], [120, 240]], np.float32)  # a repeated vertex
    result = rapid_pipeline.read_quads(page, [quads[0], triangle, quads[1]], (0.9, 0.8, 0.7))
    assert result.texts == ("Invoice", "TOTAL 42") and result.detection_scores == (0.9, 0.7)


# ------------------------------------------------------------------------------------------------ OnnxTR

@pytest.fixture(scope="module")
def onnxtr_detector(tmp_path_factory):
    need("onnxtr", "onnxtr")
    return onnxtr_db_net(tmp_path_factory.mktemp("onnxtr") / "db_stand_in.onnx")


def rgb_page(words, size):
    page, quads = page_with_words(words, size)
    return np.ascontiguousarray(page[:, :, ::-1]), quads


def words_of(document):
    return [w.value for block in document.pages[0].blocks for line in block.lines for w in line.words]


def test_onnxtr_ocr_predictor_with_our_reco_predictor(onnxtr_detector):
    from onnxtr.models import db_resnet50

    from crnn_onnx.integrations.doctr import CRNNRecognitionPredictor, ocr_predictor

    page, _ = rgb_page([("HELLO", 200, 150, 0, 0), ("invoice", 520, 400, 0, 0)], (600, 800))
    predictor = ocr_predictor(db_resnet50(model_path=str(onnxtr_detector)), default_recogniser_rgb())
    assert isinstance(predictor.reco_predictor, CRNNRecognitionPredictor)
    found = words_of(predictor([page]))
    assert "HELLO" in found and "invoice" in found


def test_onnxtr_rotated_boxes_with_our_reco_predictor(onnxtr_detector):
    from onnxtr.models import db_resnet50
    from onnxtr.models.predictor import OCRPredictor
    from onnxtr.models import detection_predictor

    from crnn_onnx.integrations.doctr import CRNNRecognitionPredictor

    page, _ = rgb_page([("ONNX", 300, 250, 15, 0)], (500, 700))
    detector = detection_predictor(db_resnet50(model_path=str(onnxtr_detector)), assume_straight_pages=False)
    # The crop- and page-orientation classifiers are downloads: turned off.
    predictor = OCRPredictor(detector, CRNNRecognitionPredictor(default_recogniser_rgb()),
                             assume_straight_pages=False, disable_crop_orientation=True,
                             disable_page_orientation=True)
    assert "ONNX" in words_of(predictor([page]))


_RGB = {}


def default_recogniser_rgb():
    from crnn_onnx import Recogniser

    if "rec" not in _RGB:
        _RGB["rec"] = Recogniser(threads=1, channel_order="rgb")
    return _RGB["rec"]


# ----------------------------------------------------------------------------------------------- docling

def test_docling_entry_point_registers_the_engine():
    need("docling", "docling")
    from docling.models.factories.ocr_factory import OcrFactory

    from crnn_onnx.integrations.docling import CrnnOnnxOcrModel, CrnnOnnxOcrOptions

    names = {e.name: e.value for e in entry_points(group="docling")}
    if names.get("crnn_onnx") != "crnn_onnx.integrations.docling":
        pytest.skip("crnn-onnx is installed without its docling entry point: reinstall it (pip install -e .)")
    factory = OcrFactory()
    factory.load_from_plugins(allow_external_plugins=True)
    assert "crnn_onnx" in factory.registered_kind
    assert factory.classes[CrnnOnnxOcrOptions] is CrnnOnnxOcrModel
    assert isinstance(factory.create_options("crnn_onnx"), CrnnOnnxOcrOptions)
    blocked = OcrFactory()
    blocked.load_from_plugins(allow_external_plugins=False)  # docling's default: external plugins off
    assert "crnn_onnx" not in blocked.registered_kind


def test_docling_converts_a_scanned_pdf_with_our_engine(tmp_path, monkeypatch):
    need("docling", "docling")
    need("pypdfium2", "docling")
    if "crnn_onnx" not in {e.name for e in entry_points(group="docling")}:
        pytest.skip("crnn-onnx is installed without its docling entry point: reinstall it (pip install -e .)")
    from docling.backend.pypdfium2_backend import PyPdfiumDocumentBackend
    from docling.datamodel.base_models import Cluster, InputFormat, LayoutPrediction
    from docling.datamodel.pipeline_options import BaseLayoutOptions, PdfPipelineOptions
    from docling.document_converter import DocumentConverter, PdfFormatOption
    from docling.models.base_layout_model import BaseLayoutModel
    from docling.models.factories import get_layout_factory
    from docling.models.factories.table_factory import TableStructureFactory
    import docling.pipeline.standard_pdf_pipeline as standard
    from docling_core.types.doc import BoundingBox, CoordOrigin, DocItemLabel
    from PIL import Image

    from crnn_onnx.integrations.docling import CrnnOnnxOcrOptions

    class WholePageLayoutOptions(BaseLayoutOptions):
        kind: ClassVar[Literal["crnn_onnx_test_whole_page"]] = "crnn_onnx_test_whole_page"

    class WholePageLayout(BaseLayoutModel):
        """Stub layout: one text cluster covering the page (docling's layout models are downloads)."""

        def __init__(self, options, **kwargs):
            self.options = options

        @classmethod
        def get_options_type(cls):
            return WholePageLayoutOptions

        def predict_layout(self, conv_res, pages):
            return [LayoutPrediction(clusters=[Cluster(
                id=0, label=DocItemLabel.TEXT, bbox=BoundingBox(l=0, t=0, r=p.size.width, b=p.size.height,
                                                                coord_origin=CoordOrigin.TOPLEFT))]) for p in pages]

    class NoTables:
        """Stub table stage (docling's table plugins import transformers)."""

        def __init__(self, options, enabled, **kwargs):
            self.enabled = enabled

        @classmethod
        def get_options_type(cls):
            return type(PdfPipelineOptions().table_structure_options)

        def __call__(self, conv_res, page_batch):
            yield from page_batch

    layouts = get_layout_factory(allow_external_plugins=True)
    if WholePageLayoutOptions.kind not in layouts.registered_kind:
        layouts.register(WholePageLayout, "crnn_onnx_test", __name__)
    tables = TableStructureFactory()
    tables.register(NoTables, "crnn_onnx_test", __name__)
    monkeypatch.setattr(standard, "get_table_structure_factory", lambda allow_external_plugins=False: tables)

    page = np.full((400, 560, 3), 255, np.uint8)
    for text, y in (("Invoice 2026", 120), ("TOTAL DUE", 280)):
        patch = word_patch(text, scale=1.2, thickness=2)
        page[y:y + patch.shape[0], 60:60 + patch.shape[1]] = patch
    pdf = tmp_path / "scan.pdf"
    Image.fromarray(page[:, :, ::-1]).save(pdf, resolution=72)  # a bitmap-only page: docling must OCR it

    options = PdfPipelineOptions(do_ocr=True, allow_external_plugins=True, do_table_structure=False,
                                 layout_options=WholePageLayoutOptions(),
                                 ocr_options=CrnnOnnxOcrOptions(threads=1, scale=2.0))
    converter = DocumentConverter(format_options={
        InputFormat.PDF: PdfFormatOption(pipeline_options=options, backend=PyPdfiumDocumentBackend)})
    result = converter.convert(pdf)
    assert result.status.name == "SUCCESS"
    text = result.document.export_to_markdown()
    assert "Invoice 2026" in text and "TOTAL DUE" in text
