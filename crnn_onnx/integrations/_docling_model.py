"""docling classes for :mod:`crnn_onnx.integrations.docling` (imports docling at import time).

``CrnnOnnxOcrModel.__call__`` follows docling's own ``RapidOcrModel``: for
each page, the regions from ``get_ocr_rects`` are rendered at ``options.scale``
(docling hands an RGB image; the pipeline is told so, unlike docling's
RapidOCR engine, which passes RGB to a BGR reader), RapidOCR's detector finds
text lines, our recogniser reads them, and each line becomes a ``TextCell``
whose rectangle is the axis-aligned bounds of its quad (all four corners, not
just two) in page coordinates; then ``post_process_cells`` merges them.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, Literal, Optional

import numpy
from docling.datamodel.accelerator_options import AcceleratorOptions
from docling.datamodel.base_models import Page
from docling.datamodel.document import ConversionResult
from docling.datamodel.pipeline_options import OcrOptions
from docling.models.base_ocr_model import BaseOcrModel
from docling.utils.profiling import TimeRecorder
from docling_core.types.doc import BoundingBox, CoordOrigin
from docling_core.types.doc.page import BoundingRectangle, TextCell
from pydantic import ConfigDict, Field


class CrnnOnnxOcrOptions(OcrOptions):
    """Options of the ``crnn_onnx`` OCR engine (kind ``"crnn_onnx"``).

    ``model``: a bundled model name or a path to a native ``.onnx`` (None: the
    bundled default). ``threads``: onnxruntime threads for detector and
    recogniser (None: onnxruntime's default). ``min_confidence``: lines read
    below it are dropped (like RapidOCR's ``text_score``). ``words``: one cell
    per word instead of per line. ``detector_params``: RapidOCR config keys
    for the detector (e.g. ``{"Det.box_thresh": 0.6}``). ``lang`` is kept as
    given (the model's charset decides what it reads; the default model reads
    printable ASCII).
    """

    kind: ClassVar[Literal["crnn_onnx"]] = "crnn_onnx"
    canonicalize_lang: ClassVar[bool] = False

    lang: list[str] = Field(default_factory=lambda: ["en"])
    model: Optional[str] = None
    threads: Optional[int] = None
    min_confidence: float = 0.5
    words: bool = False
    detector_params: dict[str, Any] = Field(default_factory=dict)

    model_config = ConfigDict(extra="forbid")


class CrnnOnnxOcrModel(BaseOcrModel):
    """docling OCR stage: RapidOCR's bundled detector followed by a crnn-onnx Recogniser."""

    def __init__(self, *, enabled: bool, artifacts_path: Optional[Path], options: CrnnOnnxOcrOptions,
                 accelerator_options: AcceleratorOptions, **kwargs: Any):
        super().__init__(enabled=enabled, artifacts_path=artifacts_path, options=options,
                         accelerator_options=accelerator_options)
        self.options: CrnnOnnxOcrOptions
        self.scale = self.options.scale
        self.pipeline = None
        if self.enabled:
            from .rapidocr import RapidOCRPipeline

            self.pipeline = RapidOCRPipeline(model=self.options.model, threads=self.options.threads,
                                             min_confidence=self.options.min_confidence, words=self.options.words,
                                             detector_params=self.options.detector_params, channel_order="rgb")

    def __call__(self, conv_res: ConversionResult, page_batch: Iterable[Page]) -> Iterable[Page]:
        if not self.enabled:
            yield from page_batch
            return
        for page in page_batch:
            assert page._backend is not None
            if not page._backend.is_valid():
                yield page
                continue
            with TimeRecorder(conv_res, "ocr"):
                cells: list[TextCell] = []
                for rect in self.get_ocr_rects(page):
                    if rect.area() == 0:
                        continue
                    image = page._backend.get_page_image(scale=self.scale, cropbox=rect)
                    array = numpy.asarray(image.convert("RGB"))
                    del image
                    result = self.pipeline(array)
                    for box, text, confidence in result:
                        left, top = (box.min(axis=0) / self.scale).tolist()
                        right, bottom = (box.max(axis=0) / self.scale).tolist()
                        cells.append(TextCell(
                            index=len(cells), text=text, orig=text, confidence=float(confidence), from_ocr=True,
                            rect=BoundingRectangle.from_bounding_box(BoundingBox.from_tuple(
                                coord=(left + rect.l, top + rect.t, right + rect.l, bottom + rect.t),
                                origin=CoordOrigin.TOPLEFT))))
                self.post_process_cells(cells, page, conv_res)
            yield page

    @classmethod
    def get_options_type(cls) -> type[OcrOptions]:
        return CrnnOnnxOcrOptions
