"""OnnxTR's (or docTR's) detector and document builder + crnn-onnx's recogniser as ``reco_predictor``.

    pip install "crnn-onnx[onnxtr]"
    python examples/onnxtr_predictor.py [IMAGE] [--det-arch fast_base] [--det-model local_db.onnx]

OnnxTR downloads its detection weights from its GitHub releases on first use
(--det-model takes a local DBNet .onnx instead). No OnnxTR recognition model
is loaded: our recogniser reads the crops.
"""
from __future__ import annotations

import argparse

from _sample import load

from crnn_onnx.integrations.doctr import CRNNRecognitionPredictor, ocr_predictor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("image", nargs="?")
    parser.add_argument("--det-arch", default="fast_base")
    parser.add_argument("--det-model", help="a local DBNet (db_resnet50 layout) .onnx instead of a download")
    args = parser.parse_args()
    det_arch = args.det_arch
    if args.det_model:
        from onnxtr.models import db_resnet50

        det_arch = db_resnet50(model_path=args.det_model)
    predictor = ocr_predictor(det_arch)  # = OCRPredictor(detection_predictor(det_arch), CRNNRecognitionPredictor())
    # With a predictor you already have: predictor.reco_predictor = CRNNRecognitionPredictor()
    assert isinstance(predictor.reco_predictor, CRNNRecognitionPredictor)
    page_rgb = load(args.image)[:, :, ::-1].copy()  # docTR/OnnxTR pages are RGB
    document = predictor([page_rgb])
    print(document.render())


if __name__ == "__main__":
    main()
