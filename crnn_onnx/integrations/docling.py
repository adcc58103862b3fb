"""A docling OCR engine: RapidOCR 3's detector + our recogniser (``pip install "crnn-onnx[docling]"``).

Registered through the ``docling`` entry-point group (``pyproject.toml``:
``[project.entry-points.docling] crnn_onnx = "crnn_onnx.integrations.docling"``);
docling loads external plugins only when asked::

    from docling.datamodel.base_models import InputFormat
    from docling.datamodel.pipeline_options import PdfPipelineOptions
    from docling.document_converter import DocumentConverter, PdfFormatOption
    from crnn_onnx.integrations.docling import CrnnOnnxOcrOptions

    options = PdfPipelineOptions(do_ocr=True, allow_external_plugins=True,
                                 ocr_options=CrnnOnnxOcrOptions())       # kind "crnn_onnx"
    converter = DocumentConverter(format_options={InputFormat.PDF: PdfFormatOption(pipeline_options=options)})

This module imports docling only when its classes are used: ``ocr_engines()``
(the plugin hook docling calls) and the attributes ``CrnnOnnxOcrModel`` and
``CrnnOnnxOcrOptions`` load them from :mod:`crnn_onnx.integrations._docling_model`,
and raise an ImportError naming the extra when docling is missing.
"""
from __future__ import annotations

from typing import Any

from ._common import require

EXTRA = "docling"
_LAZY = ("CrnnOnnxOcrModel", "CrnnOnnxOcrOptions")

__all__ = ["ocr_engines", *_LAZY]


def _model_module() -> Any:
    require("docling.models.base_ocr_model", EXTRA, "docling (docling-slim)")
    from . import _docling_model

    return _docling_model


def ocr_engines() -> dict[str, list]:
    """docling's plugin hook: ``{"ocr_engines": [CrnnOnnxOcrModel]}``."""
    return {"ocr_engines": [_model_module().CrnnOnnxOcrModel]}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(_model_module(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
