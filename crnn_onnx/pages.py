"""End-to-end page evaluation (DESIGN §8): ``crnn-onnx eval-pages annotations.jsonl``.

A page set is an ``annotations.jsonl``: one page per line with ``image``
(relative to the file), optionally the page's ``width`` and ``height``,
``level`` (``word`` or ``line``) and ``items``, each a ``quad`` (4 points), a
``text`` and an ``ignore`` flag.

Matching (ICDAR 2015 end-to-end style):

- polygon IoU between predicted and ground-truth quads (exact for convex
  quads via ``cv2.intersectConvexConvex``, rasterised otherwise);
- one-to-one greedy matching: all pairs with IoU >= 0.5 (``iou``), highest
  IoU first, over every ground-truth item including ignored ones;
- a prediction matched to an ignored item is dropped; so is an unmatched
  prediction that lies at least half inside an ignored item (ICDAR's
  "don't care" rule); ignored items count nowhere;
- detection recall = matched / non-ignored ground truth, precision = matched
  / kept predictions;
- reading: every non-ignored ground-truth item is scored with
  :func:`crnn_onnx.metrics.score` against its matched prediction's text, or
  against "" when unmatched (so a missed item counts as misread): word
  accuracy (alnum; on line sets the whole line), exact accuracy and CER;
  ``correct`` is the number of items read correctly (alnum equal).

Pipelines (``evaluate``): ``ours`` is RapidOCR 3's bundled detector followed
by our recogniser (:class:`crnn_onnx.integrations.rapidocr.RapidOCRPipeline`);
on word-level sets its lines are split into words at spaces with the
recogniser's character spans. ``rapidocr`` is RapidOCR's complete pipeline
(detector, angle classifier, its own recogniser; ``return_word_box`` on
word-level sets). ``ours_gt`` and ``rapidocr_gt`` read the ground-truth quads
(the same crops from :func:`crnn_onnx.geometry.crop_quad`; RapidOCR's crops
rotated by its own rule, ``np.rot90`` when height/width >= 1.5). Time per
page is wall time of detection plus recognition, image decoding excluded.
"""
from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import cv2
import numpy as np

from . import geometry, metrics
from .errors import InvalidImageError

#: Keys of the pipelines ``evaluate`` can run, in report order.
PIPELINES = ("ours", "rapidocr", "ours_gt", "rapidocr_gt")
LABELS = {
    "ours": "RapidOCR det + crnn-onnx",
    "rapidocr": "RapidOCR pipeline (det+cls+rec)",
    "ours_gt": "crnn-onnx on GT boxes",
    "rapidocr_gt": "RapidOCR rec on GT boxes",
}


#: Ground-truth quads smaller than this (square pixels) are annotation errors: treated as ignored.
MIN_GT_AREA = 1.0


@dataclass(frozen=True)
class Item:
    quad: np.ndarray  # float64 (4, 2)
    text: str
    ignore: bool
    degenerate: bool = False  # the quad cannot be read (load_annotations); then ignore is True


@dataclass(frozen=True)
class PageAnnotation:
    image: Path
    level: str
    items: tuple[Item, ...]


def load_annotations(path: str | Path) -> list[PageAnnotation]:
    """Pages of an ``annotations.jsonl`` (image paths resolved against its folder).

    Items whose quad cannot be matched or read (area under :data:`MIN_GT_AREA`,
    not :func:`geometry.is_croppable`, or, when the page gives its ``width`` and
    ``height``, entirely outside it) are marked ``degenerate`` and treated as ignored.

    Raises ``ValueError`` naming the line for a malformed page.
    """
    path = Path(path)
    pages = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            size = int(record.get("height", 0)), int(record.get("width", 0))
            shape = size if min(size) > 0 else None
            items = []
            for i in record["items"]:
                quad = np.asarray(i["quad"], dtype=np.float64).reshape(4, 2)
                degenerate = polygon_area(quad) < MIN_GT_AREA or not geometry.is_croppable(quad, shape)
                items.append(Item(quad, str(i["text"]), bool(i.get("ignore", False)) or degenerate, degenerate))
            items = tuple(items)
            level = record.get("level", "word")
            if level not in ("word", "line"):
                raise ValueError(f"level must be 'word' or 'line', not {level!r}")
            pages.append(PageAnnotation(path.parent / record["image"], level, items))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}:{number}: malformed page: {exc}") from None
    return pages


# ---------------------------------------------------------------- geometry

def polygon_area(quad) -> float:
    """Area of a simple polygon (shoelace, absolute)."""
    return abs(geometry.signed_area(quad))


def _raster(a: np.ndarray, b: np.ndarray, cells: int = 512) -> tuple[float, float, float]:
    """(area of a, area of b, their intersection) by rasterising both on a shared grid, in square pixels."""
    low = np.minimum(a.min(axis=0), b.min(axis=0))
    high = np.maximum(a.max(axis=0), b.max(axis=0))
    scale = cells / max(float((high - low).max()), 1e-9)
    size = (int(math.ceil((high - low)[1] * scale)) + 2, int(math.ceil((high - low)[0] * scale)) + 2)
    masks = []
    for poly in (a, b):
        mask = np.zeros(size, np.uint8)
        shifted = np.round((poly - low) * scale * 16).astype(np.int32)  # 4 fractional bits
        cv2.fillPoly(mask, [shifted], 1, lineType=cv2.LINE_8, shift=4)
        masks.append(mask.astype(bool))
    unit = scale ** 2
    return (float(masks[0].sum()) / unit, float(masks[1].sum()) / unit,
            float(np.logical_and(*masks).sum()) / unit)


def _boxes_apart(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(a[:, 0].max() <= b[:, 0].min() or b[:, 0].max() <= a[:, 0].min()
                or a[:, 1].max() <= b[:, 1].min() or b[:, 1].max() <= a[:, 1].min())


def intersection_area(a, b) -> float:
    """Intersection area of two quads: exact when both are convex, else rasterised (to about 1/512 of the
    extent, and scaled so that ``a``'s rasterised area equals its exact area)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if _boxes_apart(a, b):
        return 0.0
    if geometry.is_convex(a, straight_corners=True) and geometry.is_convex(b, straight_corners=True):
        area, _ = cv2.intersectConvexConvex(a.astype(np.float32), b.astype(np.float32))
        return max(0.0, float(area))
    area_a, _, inter = _raster(a, b)
    return inter * polygon_area(a) / area_a if area_a > 0 else 0.0


def polygon_iou(a, b) -> float:
    """Intersection over union of two quads (0 when either has no area); a non-convex quad is rasterised."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if _boxes_apart(a, b) or polygon_area(a) <= 0 or polygon_area(b) <= 0:
        return 0.0
    if geometry.is_convex(a, straight_corners=True) and geometry.is_convex(b, straight_corners=True):
        inter = intersection_area(a, b)
        union = polygon_area(a) + polygon_area(b) - inter
    else:
        area_a, area_b, inter = _raster(a, b)
        union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


# ---------------------------------------------------------------- matching

@dataclass(frozen=True)
class PageMatch:
    """One page's matching: ``pairs`` maps a non-ignored gt index to its prediction index;
    ``kept`` are the prediction indices that count (not dropped for an ignored item)."""

    pairs: dict[int, int]
    kept: tuple[int, ...]


def match_page(gt_quads: Sequence[Any], gt_ignore: Sequence[bool], pred_quads: Sequence[Any],
               iou: float = 0.5) -> PageMatch:
    """One-to-one greedy matching by IoU >= ``iou``, with ignore handling (module docstring)."""
    candidates = []
    for g, gq in enumerate(gt_quads):
        for p, pq in enumerate(pred_quads):
            value = polygon_iou(gq, pq)
            if value >= iou:
                candidates.append((-value, g, p))
    candidates.sort()
    used_gt: set[int] = set()
    used_pred: dict[int, int] = {}
    for _, g, p in candidates:
        if g in used_gt or p in used_pred:
            continue
        used_gt.add(g)
        used_pred[p] = g
    pairs, kept = {}, []
    for p, pq in enumerate(pred_quads):
        if p in used_pred:
            g = used_pred[p]
            if gt_ignore[g]:
                continue
            pairs[g] = p
            kept.append(p)
            continue
        area = polygon_area(pq)
        if area > 0 and any(gt_ignore[g] and intersection_area(gt_quads[g], pq) >= 0.5 * area
                            for g in range(len(gt_quads))):
            continue
        kept.append(p)
    return PageMatch(pairs, tuple(kept))


@dataclass
class Tally:
    """Accumulates one pipeline's results over pages."""

    gt_items: int = 0
    predictions: int = 0
    matched: int = 0
    page_seconds: list | None = None
    predicted_texts: list | None = None
    gt_texts: list | None = None

    def __post_init__(self):
        self.page_seconds, self.predicted_texts, self.gt_texts = [], [], []

    def add(self, page: PageAnnotation, quads: Sequence[Any], texts: Sequence[str], seconds: float,
            iou: float = 0.5) -> PageMatch:
        result = match_page([i.quad for i in page.items], [i.ignore for i in page.items], quads, iou)
        self.page_seconds.append(seconds)
        self.predictions += len(result.kept)
        self.matched += len(result.pairs)
        for g, item in enumerate(page.items):
            if item.ignore:
                continue
            self.gt_items += 1
            self.gt_texts.append(item.text)
            self.predicted_texts.append(texts[result.pairs[g]] if g in result.pairs else "")
        return result

    def summary(self) -> dict:
        score = metrics.score(self.predicted_texts, self.gt_texts)
        nan = math.nan
        return {
            "pages": len(self.page_seconds), "gt_items": self.gt_items, "predictions": self.predictions,
            "matched": self.matched,
            "recall": self.matched / self.gt_items if self.gt_items else nan,
            "precision": self.matched / self.predictions if self.predictions else nan,
            "correct": score.word_correct, "exact_correct": score.exact_correct,
            "word_accuracy": score.word_accuracy, "exact_accuracy": score.exact_accuracy, "cer": score.cer,
            "score": score.as_dict(),
            "seconds_per_page": statistics.fmean(self.page_seconds) if self.page_seconds else nan,
            "median_seconds_per_page": statistics.median(self.page_seconds) if self.page_seconds else nan,
        }


# ---------------------------------------------------------------- pipelines

def _rapidocr_full(engine: Any, page_bgr: np.ndarray, words: bool) -> tuple[list, list[str]]:
    """RapidOCR's complete pipeline on a BGR page: (quads, texts), words from ``return_word_box`` when asked."""
    output = engine(page_bgr, return_word_box=words)
    if getattr(output, "boxes", None) is None or output.txts is None or len(output.txts) == 0:
        return [], []
    if not words:
        return [np.asarray(b, np.float64).reshape(4, 2) for b in output.boxes], list(output.txts)
    quads, texts = [], []
    for line in output.word_results or ():  # RapidOCR drops lines without word boxes: use the words themselves
        for text, _score, box in line:
            if box is None or not str(text).strip():
                continue
            quads.append(np.asarray(box, np.float64).reshape(4, 2))
            texts.append(str(text))
    return quads, texts


def _rapidocr_read_crops(engine: Any, crops: list[np.ndarray]) -> list[str]:
    """RapidOCR's recogniser alone on BGR uint8 crops (its own tall-crop rule applied first)."""
    if not crops:
        return []
    crops = [np.rot90(c) if c.shape[0] >= 1.5 * c.shape[1] else c for c in crops]
    output = engine.recognize_txt(crops)
    return [str(t) for t in output.txts]


def evaluate(annotations: str | Path, pipelines: Iterable[str] = ("ours",), *, recogniser: Any = None,
             model: Any = None, threads: int | None = 1, min_confidence: float = 0.5, iou: float = 0.5,
             limit: int | None = None, progress: Callable[[int, int], None] | None = None) -> dict:
    """Evaluate ``pipelines`` (keys of :data:`PIPELINES`) on a page set, all in one run.

    Returns ``{"annotations", "level", "pages", "items", "ignored", "results": {key: summary}}``
    where each summary is :meth:`Tally.summary`. ``threads`` applies to every
    model (1 by default, the speed rule of DESIGN §8).
    """
    from .integrations._common import for_recogniser, load_page, recogniser_or_default
    from .integrations.rapidocr import RapidOCRPipeline, rapidocr_engine

    unknown = set(pipelines) - set(PIPELINES)
    if unknown:
        raise ValueError(f"unknown pipelines {sorted(unknown)}; known: {PIPELINES}")
    pipelines = [p for p in PIPELINES if p in set(pipelines)]
    pages = load_annotations(annotations)[:limit]
    if not pages:
        raise ValueError(f"{annotations}: no pages")
    levels = {p.level for p in pages}
    words = "word" in levels
    reader = None
    if "ours" in pipelines or "ours_gt" in pipelines:
        reader = recogniser_or_default(recogniser, model, threads)
    ours = (RapidOCRPipeline(reader, threads=threads, min_confidence=min_confidence, words=words)
            if "ours" in pipelines else None)
    rapid = rapidocr_engine(threads=threads) if {"rapidocr", "rapidocr_gt"} & set(pipelines) else None
    tallies = {key: Tally() for key in pipelines}
    for number, page in enumerate(pages, start=1):
        image = cv2.imread(str(page.image), cv2.IMREAD_COLOR)
        if image is None:
            raise InvalidImageError(f"cannot read page image {page.image}")
        image = load_page(image)
        gt = [item for item in page.items if not item.ignore]
        gt_quads = [item.quad for item in gt]
        for key in pipelines:
            start = time.perf_counter()
            if key == "ours":
                result = ours(image)
                quads, texts = list(result.boxes), list(result.texts)
            elif key == "rapidocr":
                quads, texts = _rapidocr_full(rapid, image, words)
            elif key == "ours_gt":
                quads = gt_quads
                texts = ([p.text for p in reader.read_regions(for_recogniser(image, reader), gt_quads)]
                         if gt_quads else [])
            else:
                quads = gt_quads
                texts = _rapidocr_read_crops(rapid, [geometry.crop_quad(image, q) for q in gt_quads])
            tallies[key].add(page, quads, texts, time.perf_counter() - start, iou)
        if progress is not None:
            progress(number, len(pages))
    return {
        "annotations": str(annotations), "level": "/".join(sorted(levels)), "pages": len(pages),
        "items": sum(1 for p in pages for i in p.items if not i.ignore),
        "ignored": sum(1 for p in pages for i in p.items if i.ignore),
        "degenerate": sum(1 for p in pages for i in p.items if i.degenerate),
        "iou": iou, "min_confidence": min_confidence, "threads": threads,
        "recogniser": None if reader is None else {"name": reader.spec.name, "version": reader.spec.version},
        "results": {key: tallies[key].summary() for key in pipelines},
    }


def _pct(value: float) -> str:
    return "   n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:6.1f}"


def format_report(report: dict) -> str:
    """A plain-text table of one ``evaluate`` report, with the difference in items read correctly."""
    results = report["results"]
    lines = [f"{report['annotations']}: {report['pages']} pages, {report['items']} items "
             f"({report['ignored']} ignored, {report.get('degenerate', 0)} of them for a quad that cannot be read), "
             f"level {report['level']}, IoU >= {report['iou']}",
             f"{'pipeline':34s} {'det R%':>6s} {'det P%':>6s} {'word%':>6s} {'exact%':>6s} {'CER%':>6s} "
             f"{'correct':>9s} {'s/page':>7s}"]
    for key, r in results.items():
        lines.append(f"{LABELS[key]:34s} {_pct(r['recall'])} {_pct(r['precision'])} {_pct(r['word_accuracy'])} "
                     f"{_pct(r['exact_accuracy'])} {_pct(r['cer'])} {r['correct']:5d}/{r['gt_items']:<4d}"
                     f"{r['seconds_per_page']:7.2f}")
    for ours, theirs in (("ours", "rapidocr"), ("ours_gt", "rapidocr_gt")):
        if ours in results and theirs in results:
            diff = results[ours]["correct"] - results[theirs]["correct"]
            lines.append(f"items read correctly, {LABELS[ours]} minus {LABELS[theirs]}: {diff:+d}")
    return "\n".join(lines)
