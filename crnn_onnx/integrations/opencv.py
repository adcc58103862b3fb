"""Read the regions found by OpenCV's DNN text detectors (``cv2.dnn.TextDetectionModel_DB`` / ``_EAST``).

OpenCV is already a runtime dependency (``opencv-python-headless``); the
``opencv`` extra only pins a version whose ``cv2.dnn`` has the text models::

    import cv2
    from crnn_onnx.integrations.opencv import OpenCVTextSpotter, read_detections

    detector = cv2.dnn.TextDetectionModel_DB("DB_TD500_resnet50.onnx")  # weights: OpenCV's text-spotting tutorial
    detector.setBinaryThreshold(0.3).setPolygonThreshold(0.5).setUnclipRatio(2.0)
    detector.setInputParams(1.0 / 255, (736, 736), (122.68, 116.67, 104.01), True)

    spotter = OpenCVTextSpotter(detector)        # detect() then read_regions()
    result = spotter(cv2.imread("page.jpg"))
    # or, with detections you already have:
    quads, confidences = detector.detect(image)
    result = read_detections(image, quads)

OpenCV returns each quad as ``RotatedRect::points()``, i.e. [bl, tl, tr, br]
(clockwise on screen from the bottom-left; DB normalises boxes to be wide);
:func:`crnn_onnx.geometry.order_quad` re-orders them by geometry, so the
index positions are never trusted (their angle convention changed in OpenCV
4.13/5.0). ``detectTextRectangles`` output (``((cx, cy), (w, h), angle)``
rotated rects) is accepted too.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..geometry import order_quad
from ..recogniser import Recogniser
from ._common import OCRResult, croppable_quads, for_recogniser, load_page, recogniser_or_default, require

EXTRA = "opencv"

__all__ = ["OpenCVTextSpotter", "read_detections", "detections_to_quads", "OCRResult"]


def _cv2() -> Any:
    cv2 = require("cv2", EXTRA, "OpenCV (opencv-python-headless)")
    if not hasattr(getattr(cv2, "dnn", None), "TextDetectionModel_DB"):
        raise ImportError("this OpenCV build has no cv2.dnn.TextDetectionModel_DB (OpenCV >= 4.5.1 with dnn): "
                          'pip install "crnn-onnx[opencv]"')
    return cv2


def detections_to_quads(detections: Any) -> np.ndarray:
    """OpenCV detector output as float32 (N, 4, 2) quads.

    Accepts what ``TextDetectionModel.detect`` returns (a sequence of (4, 2)
    or (4, 1, 2) int point arrays, or the ``(detections, confidences)`` tuple
    itself) and what ``detectTextRectangles`` returns (rotated rects
    ``((cx, cy), (w, h), angle)``, or that tuple with its confidences).
    """
    cv2 = _cv2()
    if isinstance(detections, tuple) and len(detections) == 2 and _looks_like_confidences(detections[1]) \
            and not _is_rotated_rect(detections):
        detections = detections[0]
    quads = []
    for detection in detections:
        if _is_rotated_rect(detection):
            quads.append(cv2.boxPoints(detection))
        else:
            quads.append(np.asarray(detection, dtype=np.float32).reshape(4, 2))
    return np.array(quads, dtype=np.float32).reshape(-1, 4, 2)


def _is_rotated_rect(value: Any) -> bool:
    return (isinstance(value, (tuple, list)) and len(value) == 3 and np.size(value[0]) == 2
            and np.size(value[1]) == 2 and np.ndim(value[2]) == 0)


def _looks_like_confidences(value: Any) -> bool:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return array.ndim == 1


def read_detections(image: Any, detections: Any, recogniser: Recogniser | None = None, *,
                    channel_order: str = "bgr") -> OCRResult:
    """Read OpenCV's detections on ``image`` with ``recogniser`` (None: a default one, built per call).

    ``image`` is what the detector saw (BGR ndarray by OpenCV's convention, a
    path or a PIL image). Returns an :class:`OCRResult` in the detections'
    order, boxes ordered clockwise from the top-left; detections that cannot
    be cropped (degenerate boxes or boxes off the page, see
    :func:`geometry.is_croppable`) are dropped, nothing else is.
    """
    page = load_page(image, channel_order)
    quads, _ = croppable_quads(detections_to_quads(detections), page.shape)
    rec = recogniser_or_default(recogniser)
    return _read(for_recogniser(page, rec), quads, rec)


def _read(page: np.ndarray, quads: Sequence[np.ndarray], recogniser: Recogniser,
          scores: tuple[float, ...] | None = None) -> OCRResult:
    """Read croppable ``quads`` on ``page`` (in the recogniser's channel order), all kept."""
    predictions = recogniser.read_regions(page, quads) if len(quads) else []
    boxes = np.array([order_quad(q) for q in quads], np.float32).reshape(-1, 4, 2)
    return OCRResult(boxes, tuple(p.text for p in predictions), tuple(p.confidence for p in predictions),
                     tuple(predictions), scores)


class OpenCVTextSpotter:
    """An OpenCV text detector followed by our recogniser: ``spotter(image) -> OCRResult``.

    ``detector``: a configured ``cv2.dnn.TextDetectionModel_DB`` or
    ``_EAST`` (anything with ``detect(image) -> (quads, confidences)``).
    ``min_confidence`` drops regions read below it (default 0: keep all);
    regions read as empty are dropped. The detector's confidences are in
    ``detection_scores``.
    """

    def __init__(self, detector: Any, recogniser: Recogniser | None = None, *, model: Any = None,
                 threads: int | None = None, min_confidence: float = 0.0):
        _cv2()
        self.detector = detector
        self.recogniser = recogniser_or_default(recogniser, model, threads)
        self.min_confidence = float(min_confidence)

    def __call__(self, image: Any, channel_order: str = "bgr") -> OCRResult:
        page = load_page(image, channel_order)
        detections, confidences = self.detector.detect(page)
        quads = detections_to_quads(detections)
        scores = tuple(float(c) for c in np.asarray(confidences, dtype=np.float64).reshape(-1))
        quads, scores = croppable_quads(quads, page.shape, scores if len(scores) == len(quads) else None)
        result = _read(for_recogniser(page, self.recogniser), quads, self.recogniser, scores)
        keep = [i for i, (t, c) in enumerate(zip(result.texts, result.confidences))
                if t.strip() and c >= self.min_confidence]
        return OCRResult(result.boxes[keep] if keep else np.zeros((0, 4, 2), np.float32),
                         tuple(result.texts[i] for i in keep), tuple(result.confidences[i] for i in keep),
                         tuple(result.predictions[i] for i in keep),
                         tuple(scores[i] for i in keep) if scores is not None else None)
