"""The runtime entry point: ``Recogniser`` reads text crops with a native ONNX model (DESIGN §2).

Pipeline per call: each crop to float [0, 1] (``preprocess.to_float``); tall
crops expanded into their upright candidates (``geometry.upright_candidates``);
each candidate's blank margins cut down to the model's ``margins``, when it
declares them, then converted to the model's channels and resized to its input
height (``preprocess.fit``); candidates sorted by resized width and batched
(right-padded with ``pad_value``, so padding stays small); one onnxruntime
call per batch; each row decoded over its own valid frames only, ceil(resized
width / width_stride); for a tall crop the most confident candidate kept;
with ``regular_case``, lines latched into capitals re-read word by word and
lowered to their words' own case (``casing``); results returned in input order.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass, replace
from typing import Any, Iterable, Sequence

import numpy as np
import onnxruntime as ort

from . import casing, decode, geometry, preprocess
from .errors import InvalidImageError, ModelFormatError
from .model_format import INPUT_NAME, OUTPUT_NAME, ModelSpec, load_spec
from .registry import resolve_lexicon, resolve_model

DECODERS = ("greedy", "beam")
CPU = "CPUExecutionProvider"


@dataclass(frozen=True)
class Prediction:
    """One crop's reading.

    ``text``: the decoded string. ``confidence``: in [0, 1], the text
    confidence chosen by the Recogniser's ``confidence`` method (for an empty
    text, the mean blank probability). ``char_confidences``: one per character
    of ``text``, each the highest posterior of that character over the frames
    that emit it. ``char_spans``: one (x0, x1) per character, half-open pixel
    columns of the crop as given: the emitting frames' range times
    ``width_stride``, divided by the resize scale and clipped to the crop width.
    When a tall crop was read rotated, x runs along the reading direction, i.e.
    the columns of the rotated crop (the rows of the crop as given).
    """

    text: str
    confidence: float
    char_confidences: tuple[float, ...]
    char_spans: tuple[tuple[int, int], ...]


def _provider_name(provider: Any) -> str:
    return provider if isinstance(provider, str) else provider[0]


class Recogniser:
    """Reads text crops with a native ONNX CRNN; safe to share between threads.

    Parameters (keyword-only after ``model``):

    - ``model``: None (the bundled ``"default"``), a bundled model name, or a
      path to a native ``.onnx`` file (rule in :mod:`crnn_onnx.registry`).
    - ``threads``: onnxruntime intra-op threads; None leaves onnxruntime's
      default (one per physical core).
    - ``inter_op_threads``: inter-op threads; None means 1 (the graph runs
      sequentially, so more rarely helps).
    - ``providers``: onnxruntime execution providers, names or (name, options)
      pairs, in priority order; None means ``["CPUExecutionProvider"]``.
      Providers that are not available are dropped with a ``RuntimeWarning``
      naming what is in effect; :attr:`providers` reports the providers in effect.
    - ``decoder``: ``"greedy"`` (best path) or ``"beam"`` (prefix beam search
      of ``beam_width``, optionally preferring words of ``lexicon``; a lexicon
      needs ``decoder="beam"``).
    - ``lexicon``: a bundled lexicon's name (``"en"``: 49,392 common English
      words, which the default model reads best with), a word-list file, or an
      iterable of words (rule in :mod:`crnn_onnx.registry`; preference rule in
      :func:`crnn_onnx.decode.beam_search`).
    - ``confidence``: text confidence from the character confidences:
      ``"geomean"`` (default), ``"min"``, ``"mean"`` or ``"product"``.
    - ``batch_size``: rows per onnxruntime call in :meth:`read_batch` (default
      32; overridable per call).
    - ``channel_order``: ``"bgr"`` (OpenCV's, default) or ``"rgb"``, for NumPy
      colour crops; PIL images and files are handled by their own conventions.
    - ``arena``: onnxruntime's CPU memory arena (faster, keeps memory
      reserved); False releases memory between calls.
    - ``rotate``: ``"auto"`` reads tall crops (height / width >= 1.5) as given
      and rotated 90 degrees both ways and keeps the most confident reading;
      ``False`` reads every crop as given. Wide crops are never rotated.
    - ``trim_margins``: True (default) cuts blank margins wider than the
      model's declared ``margins`` (its metadata; models without them are read
      as given) down to them before resizing; False reads every crop with its
      margins as given. Spans are in the crop's own columns either way (those
      of the rotated crop for a tall crop read rotated: :class:`Prediction`).
    - ``regular_case``: True (default) rewrites a word read in mixed case
      (``daTA``) in lower, Title or UPPER case when the model finds that
      almost as likely (:func:`crnn_onnx.decode.regular_case`); and it
      re-reads word by word a line of 3 or more words read mostly in capitals
      or with a word in mixed case, each word lowered to its own reading's
      case (:mod:`crnn_onnx.casing`; those crops cost about one more read).
      False keeps the letters as decoded.

    Raises ``ValueError`` for a bad option, ``FileNotFoundError``/``ValueError``
    for a model that cannot be found, and :class:`ModelFormatError` for a file
    that is not a valid native model.
    """

    def __init__(self, model: str | os.PathLike | None = None, *, threads: int | None = None,
                 inter_op_threads: int | None = None, providers: Sequence[Any] | None = None,
                 decoder: str = "greedy", beam_width: int = 10, lexicon: str | os.PathLike | Iterable[str] | None = None,
                 confidence: str = "geomean", batch_size: int = 32, channel_order: str = "bgr",
                 arena: bool = True, rotate: str | bool = "auto", trim_margins: bool = True,
                 regular_case: bool = True):
        if decoder not in DECODERS:
            raise ValueError(f"decoder must be one of {DECODERS}, not {decoder!r}")
        for name, value in (("beam_width", beam_width), ("batch_size", batch_size)):
            if type(value) is not int or value < 1:
                raise ValueError(f"{name} must be a positive int, not {value!r}")
        for name, value in (("threads", threads), ("inter_op_threads", inter_op_threads)):
            if value is not None and (type(value) is not int or value < 1):
                raise ValueError(f"{name} must be None or a positive int, not {value!r}")
        if lexicon is not None and decoder != "beam":
            raise ValueError("a lexicon is only used by decoder='beam'")
        if lexicon is not None and beam_width == 1:
            warnings.warn("crnn_onnx: a beam of width 1 is the greedy path, so the lexicon has no other reading "
                          "to prefer and changes nothing; use beam_width >= 2", RuntimeWarning, stacklevel=2)
        if channel_order not in ("bgr", "rgb"):
            raise ValueError(f"channel_order must be 'bgr' or 'rgb', not {channel_order!r}")
        if rotate not in ("auto", False):
            raise ValueError(f"rotate must be 'auto' or False, not {rotate!r}")
        for name, flag in (("trim_margins", trim_margins), ("regular_case", regular_case)):
            if type(flag) is not bool:
                raise ValueError(f"{name} must be True or False, not {flag!r}")
        if confidence not in decode.CONFIDENCE_METHODS:
            raise ValueError(f"confidence must be one of {decode.CONFIDENCE_METHODS}, not {confidence!r}")

        lexicon_words = resolve_lexicon(lexicon)  # a bad lexicon fails before the model is loaded
        path = resolve_model(model)
        self._session = self._open_session(path, threads, inter_op_threads, providers, arena)
        self.spec: ModelSpec = load_spec(path, self._session)
        #: the space's class index: a crop's text never starts or ends with a space
        self._space = self.spec.charset.index(" ") + 1 if " " in self.spec.charset else None
        self.decoder = decoder
        self.beam_width = beam_width
        self.lexicon: tuple[str, ...] | None = lexicon_words
        self.confidence = confidence
        self.batch_size = batch_size
        self.channel_order = channel_order
        self.rotate = rotate
        #: the blank margins crops are cut down to before resizing (None: read as given)
        self.margins = self.spec.input_spec.margins if trim_margins else None
        #: letter classes -> (lower, upper) classes, for decode.regular_case and, when there are any, the
        #: word-by-word re-read of lines latched into capitals (crnn_onnx.casing); None: letters as decoded
        self._case_pairs = decode.case_pairs(self.spec.charset) if regular_case else None

    @staticmethod
    def _open_session(path, threads, inter_op_threads, providers, arena) -> ort.InferenceSession:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or 0
        options.inter_op_num_threads = inter_op_threads or 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.enable_cpu_mem_arena = arena
        if providers is None:
            requested = [CPU]
        elif isinstance(providers, str):  # one provider's name, not a sequence of one-letter names
            requested = [providers]
        else:
            requested = list(providers)
        available = ort.get_available_providers()
        usable = [p for p in requested if _provider_name(p) in available] or [CPU]
        try:
            session = ort.InferenceSession(str(path), options, providers=usable)
        except Exception as exc:  # onnxruntime raises its own types for unparsable or invalid graphs
            raise ModelFormatError(f"onnxruntime cannot load {path}: {exc}") from exc
        in_effect = session.get_providers()
        lost = [_provider_name(p) for p in requested if _provider_name(p) not in in_effect]
        if lost:
            warnings.warn(f"crnn_onnx: requested onnxruntime provider(s) {lost} are not in effect "
                          f"(available here: {available}); running on {in_effect}", RuntimeWarning, stacklevel=3)
        return session

    @property
    def providers(self) -> list[str]:
        """The onnxruntime execution providers actually in effect, in priority order."""
        return self._session.get_providers()

    def __repr__(self) -> str:
        return (f"Recogniser(model={self.spec.name!r} v{self.spec.version} at {self.spec.path}, "
                f"decoder={self.decoder!r}, providers={self.providers})")

    def read(self, crop: Any) -> Prediction:
        """Read one crop: a NumPy array (uint8, uint16 or float in [0, 1]; H×W, H×W×1, H×W×3 or
        H×W×4), a PIL image, or a str/Path to an image file (:func:`preprocess.to_float`).

        Raises :class:`InvalidImageError` with the reason for anything else.
        """
        image = preprocess.to_float(crop, self.channel_order)
        try:
            return self._read_images([image], self.batch_size)[0]
        except InvalidImageError as exc:  # one crop: no item index in the message
            raise InvalidImageError(exc.reason) from None

    def read_batch(self, crops: Sequence[Any], batch_size: int | None = None) -> list[Prediction]:
        """Read many crops, batched by width; returns one :class:`Prediction` per crop, in input order.

        ``batch_size`` overrides the constructor's for this call. Crops are
        batched by width bucket (:func:`preprocess.padded_width`), so each is
        padded exactly as :meth:`read` pads it, and each row is decoded over its
        own valid frames: the texts equal :meth:`read`'s. An invalid crop raises
        :class:`InvalidImageError` naming its index; nothing is read then. ``crops``
        must be a sequence (a list, or an N×H×W or N×H×W×C array): one image or path
        (including an H×W×1, ×3 or ×4 array) raises TypeError.
        """
        return self._read_batch(crops, batch_size)

    def read_regions(self, image: Any, quads: Sequence[Any]) -> list[Prediction]:
        """Read the regions of a page ``image`` given as quads (four (x, y) points each), one Prediction per quad.

        Each quad is ordered with :func:`geometry.order_quad` (a valid
        clockwise order from the top-left is kept) and warped upright with
        :func:`geometry.crop_quad`; spans are in that warped crop's pixels.
        A malformed quad raises :class:`InvalidImageError` naming its index.
        """
        page = preprocess.to_float(image, self.channel_order)
        crops = []
        for index, quad in enumerate(quads):
            try:
                crops.append(geometry.crop_quad(page, quad))
            except InvalidImageError as exc:
                raise exc.at(index) from None
        return self._read_images(crops, self.batch_size)

    def _read_batch(self, crops: Sequence[Any], batch_size: int | None = None,
                    timings: dict[str, float] | None = None) -> list[Prediction]:
        """:meth:`read_batch`; when ``timings`` is given, adds the seconds spent per stage to it.

        Stages: "prepare" (coercion, rotation candidates, margins, resize), "infer"
        (batching and onnxruntime), "decode" (decoding, confidences, spans).
        """
        if batch_size is not None and (type(batch_size) is not int or batch_size < 1):
            raise ValueError(f"batch_size must be a positive int, not {batch_size!r}")
        # N×H×W and N×H×W×C arrays are stacks of crops; H×W and H×W×{1,3,4} are one crop
        one_array = isinstance(crops, np.ndarray) and (crops.ndim < 3 or crops.ndim == 3 and crops.shape[2] in (1, 3, 4))
        if one_array or isinstance(crops, (str, os.PathLike)) or hasattr(crops, "getbands"):
            shape = f" of shape {crops.shape}" if one_array else ""
            raise TypeError(f"read_batch takes a sequence of crops (a list, or an N×H×W(×C) array), not one "
                            f"{type(crops).__name__}{shape}; read() reads a single crop")
        start = time.perf_counter()
        images = []
        for index, crop in enumerate(crops):
            try:
                images.append(preprocess.to_float(crop, self.channel_order))
            except InvalidImageError as exc:
                raise exc.at(index) from None
        if timings is not None:
            timings["prepare"] = timings.get("prepare", 0.0) + time.perf_counter() - start
        return self._read_images(images, batch_size or self.batch_size, timings)

    def _read_images(self, images: list[np.ndarray], batch_size: int,
                     timings: dict[str, float] | None = None, whole: bool = True) -> list[Prediction]:
        """Read float [0, 1] H×W / H×W×3 (BGR) images; the shared core of every read method.
        An image that cannot be fitted to the model raises :class:`InvalidImageError` with its index.

        ``whole``: the images are whole crops (rotation candidates tried, latched lines re-read);
        False reads them as given, as the words of a re-read line are read.
        """
        clock = time.perf_counter()
        spec = self.spec.input_spec
        owners, widths, offsets, resized, candidate_images = [], [], [], [], []
        for index, image in enumerate(images):
            candidates = geometry.upright_candidates(image) if whole and self.rotate == "auto" else [(image, 0)]
            for candidate, turn in candidates:
                try:
                    fitted, width, offset = preprocess.fit(candidate, spec, self.margins)
                except InvalidImageError as exc:  # too wide to be a line (preprocess.MAX_ASPECT)
                    if turn:  # a sliver turned on its side is no candidate; the crop as given still is
                        continue
                    raise exc.at(index) from None
                owners.append(index)
                candidate_images.append(candidate)
                widths.append(width)
                offsets.append(offset)
                resized.append(fitted)
        buckets: dict[int, list[int]] = {}  # one padded width per batch, so each crop reads as it would alone
        for row, image in enumerate(resized):
            buckets.setdefault(preprocess.padded_width(image.shape[1], spec), []).append(row)
        chunks = [rows[i:i + batch_size] for _, rows in sorted(buckets.items()) for i in range(0, len(rows), batch_size)]
        readings: list[Prediction | None] = [None] * len(resized)
        if timings is not None:
            timings["prepare"] = timings.get("prepare", 0.0) + time.perf_counter() - clock
        for rows in chunks:
            clock = time.perf_counter()
            x, lengths = preprocess.batch([resized[r] for r in rows], spec)
            logprobs = self._session.run([OUTPUT_NAME], {INPUT_NAME: x})[0]
            self._check_output(logprobs, x.shape[3])
            middle = time.perf_counter()
            if self.decoder == "greedy":
                decoded = decode.greedy(logprobs, lengths)
            else:
                decoded = decode.beam_search(logprobs, lengths, beam_width=self.beam_width,
                                             lexicon=self.lexicon, charset=self.spec.charset)
            for row, (r, d, length) in enumerate(zip(rows, decoded, lengths)):
                readings[r] = self._prediction(logprobs[row, :length], d, widths[r], resized[r].shape[1], offsets[r])
            if timings is not None:
                timings["infer"] = timings.get("infer", 0.0) + middle - clock
                timings["decode"] = timings.get("decode", 0.0) + time.perf_counter() - middle
        best: list[Prediction | None] = [None] * len(images)
        best_image: list[np.ndarray | None] = [None] * len(images)
        for owner, reading, candidate in zip(owners, readings, candidate_images):  # as given first: ties keep it
            if best[owner] is None or reading.confidence > best[owner].confidence:
                best[owner], best_image[owner] = reading, candidate
        if whole and self._case_pairs:
            self._reread_latched_lines(best, best_image, batch_size, timings)
        return best

    def _reread_latched_lines(self, readings: list[Prediction], images: list[np.ndarray], batch_size: int,
                              timings: dict[str, float] | None) -> None:
        """Lower, in place, the letter case of ``readings`` latched into capitals (:mod:`casing`):
        each such line's words, cut from the image it was read from at :func:`geometry.word_cuts`,
        are read alone, all lines' words in one batch."""
        lines = []  # (index, the line's words: (char indices, crop))
        for index, (reading, image) in enumerate(zip(readings, images)):
            if casing.latched_capitals(reading.text):
                cuts = geometry.word_cuts(reading.text, reading.char_spans, image.shape[1])
                words = [(chars, image[:, round(x0):round(x1)]) for chars, x0, x1 in cuts]
                if all(crop.shape[1] > 0 for _, crop in words):
                    lines.append((index, words))
        if not lines:
            return
        alone = iter(self._read_images([crop for _, words in lines for _, crop in words], batch_size, timings,
                                       whole=False))
        for index, words in lines:
            text = casing.lower_from_words(readings[index].text, [(chars, next(alone).text) for chars, _ in words])
            readings[index] = replace(readings[index], text=text)

    def _check_output(self, logprobs: np.ndarray, batch_width: int) -> None:
        spec = self.spec.input_spec
        frames = math.ceil(batch_width / spec.width_stride)
        if logprobs.ndim != 3 or logprobs.shape[1] != frames or logprobs.shape[2] != self.spec.num_classes:
            raise ModelFormatError(
                f"model output {OUTPUT_NAME!r} has shape {logprobs.shape} for input width {batch_width}; expected "
                f"(N, {frames}, {self.spec.num_classes}) from width_stride {spec.width_stride} and the charset "
                f"({self.spec.path})")

    def _prediction(self, logp: np.ndarray, decoded: decode.Decoded, crop_width: int, resized_width: int,
                    offset: int) -> Prediction:
        """A Prediction from one row's valid log-probs (T, K) and its decoding, edge spaces stripped."""
        if self._space is not None:
            decoded = decode.strip_label(decoded, self._space)
        probs = np.exp(logp)
        char_confs = tuple(float(c) for c in decode.char_confidences(probs, decoded))
        confidence = decode.text_confidence(char_confs, method=self.confidence, blank_probs=probs[:, 0])
        # letter case is rewritten in the text only: confidences and spans are those of the letters as
        # decoded, whose frames are the ones that emit them (a rewritten case is not their best class)
        letters = decode.regular_case(logp, decoded, self._case_pairs) if self._case_pairs else decoded
        text = "".join(self.spec.charset[label - 1] for label in letters.labels)
        return Prediction(text=text, confidence=float(min(1.0, max(0.0, confidence))), char_confidences=char_confs,
                          char_spans=self._spans(logp, decoded, crop_width, resized_width, offset))

    def _spans(self, logp: np.ndarray, decoded: decode.Decoded, crop_width: int,
               resized_width: int, offset: int) -> tuple[tuple[int, int], ...]:
        """Each character's (x0, x1) in crop pixels: those of the ``crop_width`` columns read,
        shifted by the ``offset`` columns trimmed off their left.

        A character's emitting frames run from the frame that emits it while
        that class stays the frame's best, up to the next character's frame.
        """
        best = logp.argmax(axis=1)
        stride = self.spec.input_spec.width_stride
        scale = crop_width / resized_width
        ends = list(decoded.frames[1:]) + [len(logp)]
        spans = []
        for label, start, limit in zip(decoded.labels, decoded.frames, ends):
            other = np.flatnonzero(best[start + 1:limit] != label)
            stop = start + 1 + (int(other[0]) if other.size else max(0, limit - start - 1))
            x0 = min(crop_width - 1, int(math.floor(start * stride * scale)))
            x1 = max(x0 + 1, min(crop_width, int(math.ceil(stop * stride * scale))))
            spans.append((x0 + offset, x1 + offset))
        return tuple(spans)
