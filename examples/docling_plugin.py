"""docling with the ``crnn_onnx`` OCR engine (RapidOCR's detector + crnn-onnx's recogniser).

    pip install "crnn-onnx[docling]"
    python examples/docling_plugin.py scanned.pdf

The engine is found through the ``docling`` entry point that crnn-onnx
installs; docling loads external plugins only with ``allow_external_plugins=True``.
docling's own layout model is a Hugging Face download on first use (set
``artifacts_path`` to a prefetched folder to run offline).
"""
from __future__ import annotations

import argparse

from docling.datamodel.base_models import InputFormat
from docling.datamodel.pipeline_options import PdfPipelineOptions
from docling.document_converter import DocumentConverter, PdfFormatOption

from crnn_onnx.integrations.docling import CrnnOnnxOcrOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf")
    parser.add_argument("--full-page", action="store_true", help="OCR whole pages, ignoring any text layer")
    args = parser.parse_args()
    ocr = CrnnOnnxOcrOptions(threads=2, min_confidence=0.5)  # model="path/to/model.onnx" for another model
    if args.full_page:
        from docling.datamodel.pipeline_options import OcrMode

        ocr.mode = OcrMode.FULL_PAGE
    options = PdfPipelineOptions(do_ocr=True, ocr_options=ocr, allow_external_plugins=True)
    converter = DocumentConverter(format_options={InputFormat.PDF: PdfFormatOption(pipeline_options=options)})
    print(converter.convert(args.pdf).document.export_to_markdown())


if __name__ == "__main__":
    main()
