"""Helpers shared by the host adapters: lazy host imports, page loading, results, lines to words."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from .. import decode, geometry, preprocess
from ..recogniser import Prediction, Recogniser


def require(module: str, extra: str, host: str) -> Any:
    """Import ``module`` or raise an ImportError that names the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"crnn_onnx.integrations needs {host} for this (module {module!r} is missing): "
                          f'pip install "crnn-onnx[{extra}]"') from exc


def recogniser_or_default(recogniser: Recogniser | None, model: Any = None, threads: int | None = None) -> Recogniser:
    """The given Recogniser, or a new one for ``model`` (None: the bundled default)."""
    if recogniser is not None:
        if model is not None:
            raise ValueError("give either a Recogniser or a model, not both")
        return recogniser
    return Recogniser(model, threads=threads)


def load_page(image: Any, channel_order: str = "bgr") -> np.ndarray:
    """A page as uint8 H×W×3 BGR (what RapidOCR and OpenCV take for NumPy input).

    ``image``: a path, a PIL image, or a NumPy array (uint8, uint16 or float in [0, 1];
    grey, 3 or 4 channels; colour in ``channel_order``). Raises
    :class:`crnn_onnx.errors.InvalidImageError` for anything else.
    """
    page = preprocess.to_float(image, channel_order)  # grey H×W or BGR H×W×3, float [0, 1]
    page = (page * 255.0 + 0.5).astype(np.uint8)
    if page.ndim == 2:
        page = np.repeat(page[:, :, None], 3, axis=2)
    return np.ascontiguousarray(page)


def for_recogniser(page_bgr: np.ndarray, recogniser: Recogniser) -> np.ndarray:
    """The BGR page in the channel order ``recogniser`` expects for NumPy input."""
    return page_bgr if recogniser.channel_order == "bgr" else np.ascontiguousarray(page_bgr[:, :, ::-1])


@dataclass(frozen=True)
class OCRResult:
    """A page's text regions, in the detector's order.

    ``boxes``: float32 (N, 4, 2), each clockwise from the top-left of its text
    as read; ``texts``, ``confidences``: one per box; ``predictions``: the
    recogniser's full :class:`Prediction` per box (for word-level results, the
    line each word came from); ``detection_scores``: the detector's score per
    box where it gives one (else None). Iterating yields ``(box, text,
    confidence)`` triples.
    """

    boxes: np.ndarray
    texts: tuple[str, ...]
    confidences: tuple[float, ...]
    predictions: tuple[Prediction, ...] = field(default=())
    detection_scores: tuple[float, ...] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def __iter__(self):
        return iter(zip(self.boxes, self.texts, self.confidences))


def croppable_quads(quads: Sequence[Any], page_shape: tuple[int, ...], scores: Sequence[float] | None = None
                    ) -> tuple[list[Any], tuple[float, ...] | None]:
    """The quads that :func:`geometry.crop_quad` can warp from a page of ``page_shape`` (detectors can emit
    degenerate boxes, or boxes off the page), and their scores.

    Drops each quad that :func:`geometry.is_croppable` rejects, with its score;
    ``scores`` None gives None.
    """
    usable = [i for i, quad in enumerate(quads) if geometry.is_croppable(quad, page_shape)]
    return [quads[i] for i in usable], tuple(scores[i] for i in usable) if scores is not None else None


def reading_rotation(recogniser: Recogniser, crop: np.ndarray, prediction: Prediction) -> int:
    """The rotation (0, 90 or -90, as in ``geometry.upright_candidates``) that gave ``prediction`` for ``crop``.

    Wide crops are never rotated (0). For a tall crop the two rotated
    candidates are read again (each is wide, so it is read as given) and the
    one that reproduces the prediction is returned; 0 if neither does.
    """
    if recogniser.rotate != "auto" or not geometry.is_tall(crop):
        return 0
    rotated = geometry.upright_candidates(crop)[1:]
    readings = recogniser.read_batch([image for image, _ in rotated])
    best, best_gap = 0, float("inf")
    for (_, rotation), reading in zip(rotated, readings):
        gap = abs(reading.confidence - prediction.confidence)
        if reading.text == prediction.text and gap < best_gap:
            best, best_gap = rotation, gap
    return best


def split_into_words(recogniser: Recogniser, page: np.ndarray, quads: Sequence[np.ndarray],
                     predictions: Sequence[Prediction]) -> list[tuple[np.ndarray, str, float, Prediction]]:
    """Lines to words at spaces: ``(word quad, word, confidence, line prediction)`` per word.

    Each word's box is the band of its line's crop between the cuts of
    :func:`geometry.word_spans`, mapped back to the page with
    :func:`geometry.span_quad`; its confidence is the recogniser's
    ``confidence`` method over the word's character confidences. ``page`` is
    the image the quads were read from (channel order as the recogniser takes).
    """
    words = []
    for quad, prediction in zip(quads, predictions):
        if " " not in prediction.text.strip():
            if prediction.text.strip():
                words.append((geometry.order_quad(quad), prediction.text.strip(), prediction.confidence, prediction))
            continue
        height, width = geometry.crop_size(quad)
        rotation = 0
        if geometry.is_tall(np.empty((height, width), np.uint8)):
            crop = geometry.crop_quad(preprocess.to_float(page, recogniser.channel_order), quad)
            rotation = reading_rotation(recogniser, crop, prediction)
        read_width = height if rotation else width
        for word, x0, x1, indices in geometry.word_spans(prediction.text, prediction.char_spans, read_width):
            confidence = decode.text_confidence([prediction.char_confidences[i] for i in indices],
                                                method=recogniser.confidence)
            words.append((geometry.span_quad(quad, x0, x1, rotation), word, float(confidence), prediction))
    return words
