"""RapidOCR 3.x's text detector followed by our recogniser (``pip install "crnn-onnx[rapidocr]"``).

RapidOCR ships its PP-OCRv6 detector inside the ``rapidocr`` wheel, so this
pipeline runs offline::

    from crnn_onnx.integrations.rapidocr import RapidOCRPipeline
    ocr = RapidOCRPipeline()                 # bundled default recogniser
    result = ocr("page.jpg")                 # path, PIL image or BGR ndarray
    for box, text, confidence in result:
        print(box.tolist(), text, confidence)

The detector is called detection-only (``use_det=True, use_cls=False,
use_rec=False``); its quads ([tl, tr, br, bl] after RapidOCR's x-sort, which
is wrong for some slanted boxes, RapidAI/RapidOCR#706) are re-ordered by
geometry (:func:`crnn_onnx.geometry.order_quad`), warped upright and read by
:meth:`Recogniser.read_regions`; tall crops are read by the recogniser's own
rotation rule instead of RapidOCR's fixed ``np.rot90``. RapidOCR itself is
imported only when a pipeline is built.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..recogniser import Recogniser
from ._common import (OCRResult, croppable_quads, for_recogniser, load_page, recogniser_or_default, require,
                      split_into_words)

EXTRA = "rapidocr"

__all__ = ["RapidOCRPipeline", "rapidocr_engine", "OCRResult"]


def rapidocr_engine(params: Mapping[str, Any] | None = None, threads: int | None = None,
                    log_level: str = "warning") -> Any:
    """A ``rapidocr.RapidOCR`` built from its bundled config plus ``params`` (its dotted keys).

    ``threads`` sets onnxruntime's intra- and inter-op threads of every RapidOCR
    model (None keeps RapidOCR's own default); ``log_level`` quiets its
    model-loading messages. Raises an ImportError naming the extra when
    RapidOCR 3 is not installed.
    """
    rapidocr = require("rapidocr", EXTRA, "RapidOCR 3.x (the 'rapidocr' wheel)")
    if not hasattr(rapidocr, "RapidOCR"):
        raise ImportError('crnn_onnx.integrations.rapidocr needs RapidOCR 3.x: pip install "crnn-onnx[rapidocr]"')
    settings: dict[str, Any] = {"Global.log_level": log_level}
    if threads is not None:
        settings["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
        settings["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
    settings.update(params or {})
    return rapidocr.RapidOCR(params=settings)


class RapidOCRPipeline:
    """RapidOCR's detector, then our recogniser; call it on a page image.

    Parameters:

    - ``recogniser``: a :class:`Recogniser` to share, or None to build one
      from ``model`` (None: the bundled default) with ``threads``.
    - ``threads``: onnxruntime threads for both the detector and a recogniser
      built here (None: each library's default).
    - ``min_confidence``: regions whose text confidence is below it are
      dropped, like RapidOCR's ``Global.text_score`` (default 0.5, the same
      value); regions read as empty (or only spaces) are always dropped, as
      RapidOCR does.
    - ``words``: False returns one result per detected line; True splits each
      line into words at spaces, with word boxes from the recogniser's
      character spans (:func:`crnn_onnx.integrations._common.split_into_words`).
    - ``detector_params``: extra RapidOCR config keys for the detector, e.g.
      ``{"Det.box_thresh": 0.6, "Det.unclip_ratio": 1.6}``.
    - ``channel_order``: of NumPy colour pages given to :meth:`__call__`
      (``"bgr"``, OpenCV's and RapidOCR's, or ``"rgb"``, e.g. from PIL or docling).
    """

    def __init__(self, recogniser: Recogniser | None = None, *, model: Any = None, threads: int | None = None,
                 min_confidence: float = 0.5, words: bool = False,
                 detector_params: Mapping[str, Any] | None = None, channel_order: str = "bgr"):
        if channel_order not in ("bgr", "rgb"):
            raise ValueError(f"channel_order must be 'bgr' or 'rgb', not {channel_order!r}")
        self.engine = rapidocr_engine({"Global.use_cls": False, "Global.use_rec": False, **(detector_params or {})},
                                      threads=threads)
        self.recogniser = recogniser_or_default(recogniser, model, threads)
        self.min_confidence = float(min_confidence)
        self.words = words
        self.channel_order = channel_order

    def detect(self, image: Any) -> tuple[np.ndarray, tuple[float, ...]]:
        """RapidOCR's text regions on ``image``: float32 (N, 4, 2) quads in its vertex order, and their scores."""
        return self._detect(load_page(image, self.channel_order))

    def _detect(self, page_bgr: np.ndarray) -> tuple[np.ndarray, tuple[float, ...]]:
        output = self.engine(page_bgr, use_det=True, use_cls=False, use_rec=False)
        boxes = getattr(output, "boxes", None)
        if boxes is None or len(boxes) == 0:
            return np.zeros((0, 4, 2), np.float32), ()
        scores = getattr(output, "scores", None)
        return (np.asarray(boxes, dtype=np.float32).reshape(-1, 4, 2),
                tuple(float(s) for s in scores) if scores is not None else (1.0,) * len(boxes))

    def __call__(self, image: Any) -> OCRResult:
        """Detect and read ``image`` (a path, a PIL image, or a NumPy array in ``channel_order``)."""
        page = load_page(image, self.channel_order)
        quads, scores = self._detect(page)
        return self.read_quads(page, quads, scores)

    def read_quads(self, page_bgr: np.ndarray, quads: np.ndarray, scores=None) -> OCRResult:
        """Read given quads on a BGR uint8 page and build the result (filters and word splitting applied)."""
        page = for_recogniser(page_bgr, self.recogniser)
        quads, scores = croppable_quads(quads, page_bgr.shape, scores)
        predictions = self.recogniser.read_regions(page, quads) if len(quads) else []
        keep = [i for i, p in enumerate(predictions) if p.text.strip() and p.confidence >= self.min_confidence]
        quads = [quads[i] for i in keep]
        predictions = [predictions[i] for i in keep]
        scores = tuple(scores[i] for i in keep) if scores is not None else None
        if self.words:
            words = split_into_words(self.recogniser, page, quads, predictions)
            boxes = np.array([w[0] for w in words], np.float32).reshape(-1, 4, 2)
            return OCRResult(boxes, tuple(w[1] for w in words), tuple(w[2] for w in words),
                             tuple(w[3] for w in words), None)
        from ..geometry import order_quad
        boxes = np.array([order_quad(q) for q in quads], np.float32).reshape(-1, 4, 2)
        return OCRResult(boxes, tuple(p.text for p in predictions), tuple(p.confidence for p in predictions),
                         tuple(predictions), scores)
