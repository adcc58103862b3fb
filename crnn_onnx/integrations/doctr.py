"""A drop-in ``reco_predictor`` for docTR and OnnxTR (``pip install "crnn-onnx[onnxtr]"`` for OnnxTR).

docTR's and OnnxTR's ``OCRPredictor`` call ``self.reco_predictor(crops, **kwargs)``
with a flat list of HWC uint8 RGB crops and expect ``[(text, confidence), ...]``
in the same order; docTR also calls ``reco_predictor.eval()``. So::

    from onnxtr.models import ocr_predictor
    from crnn_onnx.integrations.doctr import CRNNRecognitionPredictor

    predictor = ocr_predictor(det_arch="fast_base", reco_arch="crnn_mobilenet_v3_small")
    predictor.reco_predictor = CRNNRecognitionPredictor()     # our recogniser reads the crops
    document = predictor([page_rgb])

or, without loading a host recogniser at all (its weights are a download)::

    from crnn_onnx.integrations.doctr import ocr_predictor
    predictor = ocr_predictor(det_arch="fast_base")          # OnnxTR if installed, else docTR

The adapter itself needs neither host: it is a plain callable around
:class:`crnn_onnx.Recogniser` (colour order RGB). Confidences are the
recogniser's (``confidence="geomean"`` by default; ``"min"`` matches the
hosts' own min-over-time rule more closely, felixdittrich92/OnnxTR#95).
docTR splits very wide crops (aspect ratio > 8) only inside its own
recognition predictor; this one reads lines of any length whole.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..recogniser import Prediction, Recogniser
from ._common import require

EXTRA = "onnxtr"

__all__ = ["CRNNRecognitionPredictor", "ocr_predictor"]


class CRNNRecognitionPredictor:
    """Callable ``(crops, **kwargs) -> list[tuple[str, float]]`` over RGB HWC crops, with ``eval()``.

    ``recogniser``: a :class:`Recogniser` created with ``channel_order="rgb"``
    (None: one is built from ``model`` and ``**options``, e.g. ``threads``,
    ``decoder``, ``confidence``, ``batch_size``). Crops may be uint8, or float
    in [0, 1] or [0, 255]; grey crops are accepted. Keyword arguments from the
    host are ignored. :attr:`last_predictions` keeps the full
    :class:`Prediction` objects of the latest call (character confidences and
    spans) for callers that want them.
    """

    def __init__(self, recogniser: Recogniser | None = None, *, model: Any = None, **options: Any):
        if recogniser is None:
            recogniser = Recogniser(model, channel_order="rgb", **options)
        elif model is not None or options:
            raise ValueError("give either a Recogniser or model/options, not both")
        elif recogniser.channel_order != "rgb":
            raise ValueError("docTR/OnnxTR crops are RGB: build the Recogniser with channel_order='rgb'")
        self.recogniser = recogniser
        self.training = False
        self.last_predictions: list[Prediction] = []

    def eval(self) -> "CRNNRecognitionPredictor":
        """No-op (docTR's ``OCRPredictor`` calls it on its recognition module); returns self."""
        self.training = False
        return self

    def __call__(self, crops: Sequence[np.ndarray], **kwargs: Any) -> list[tuple[str, float]]:
        if len(crops) == 0:
            self.last_predictions = []
            return []
        images = [_as_image(crop, index) for index, crop in enumerate(crops)]
        predictions = self.recogniser.read_batch(images)
        self.last_predictions = predictions
        return [(p.text, float(p.confidence)) for p in predictions]

    def __repr__(self) -> str:
        return f"CRNNRecognitionPredictor({self.recogniser!r})"


def _as_image(crop: Any, index: int) -> np.ndarray:
    from ..errors import InvalidImageError

    array = np.asarray(crop)
    if array.ndim == 3 and array.shape[0] in (1, 3) and array.shape[2] not in (1, 3, 4):
        array = np.transpose(array, (1, 2, 0))  # CHW from channels_last=False hosts
    if array.dtype != np.uint8 and np.issubdtype(array.dtype, np.floating) and array.size:
        if not np.isfinite(array).all():
            raise InvalidImageError("crop contains NaN or inf").at(index)
        if array.max() > 1.0:  # 0..255 floats (docTR's rotated crops keep the page's dtype)
            array = np.clip(array, 0, 255).astype(np.uint8)
        else:
            array = np.clip(array, 0.0, 1.0).astype(np.float32)
    return array


def ocr_predictor(det_arch: Any = "fast_base", recogniser: Recogniser | None = None, *, host: str | None = None,
                  **kwargs: Any) -> Any:
    """The host's ``OCRPredictor`` with its detector ``det_arch`` and our recogniser as ``reco_predictor``.

    ``host``: ``"onnxtr"`` or ``"doctr"`` (None: OnnxTR if installed, else
    docTR). ``det_arch`` is what the host's ``detection_predictor`` takes (a
    name, whose weights the host downloads, or a detection model instance);
    ``kwargs`` go to ``OCRPredictor`` (``assume_straight_pages``, ...) and,
    for the detector, ``det_bs``. No host recognition model is loaded.
    """
    if host is None:
        try:
            require("onnxtr", EXTRA, "OnnxTR")
            host = "onnxtr"
        except ImportError:
            host = "doctr"
    if host not in ("onnxtr", "doctr"):
        raise ValueError(f"host must be 'onnxtr' or 'doctr', not {host!r}")
    models = require(f"{host}.models", EXTRA, "OnnxTR (onnxtr[cpu-headless]) or docTR")
    straight = kwargs.get("assume_straight_pages", True)
    detector = models.detection_predictor(det_arch, assume_straight_pages=straight,
                                          preserve_aspect_ratio=kwargs.get("preserve_aspect_ratio", True),
                                          symmetric_pad=kwargs.get("symmetric_pad", True),
                                          batch_size=kwargs.pop("det_bs", 2))
    reco = CRNNRecognitionPredictor(recogniser)
    return models.predictor.OCRPredictor(detector, reco, **kwargs)
