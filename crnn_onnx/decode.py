"""CTC decoding and confidences in pure NumPy (DESIGN §5). Class 0 is the CTC blank.

Inputs are ``logprobs``, float32 or float64 (N, T, K) log-softmax posteriors,
and ``lengths``, int (N,), the valid frames of each row: frames at or beyond a
row's length are never read. Each decoder returns one :class:`Decoded` per row:
class indices without blanks (mapping them to text is the caller's job,
through the model's charset: class i is ``charset[i - 1]``), the frame that
emits each label, and a natural-log probability.

Decoders:

- :func:`greedy`: the best path (argmax per frame, repeats collapsed, blanks
  removed). A label's frame is the first frame of its run; ``logp`` is the
  best path's log-probability.
- :func:`beam_search`: prefix beam search that keeps, per prefix, the mass of
  the paths ending in a blank and of those ending in its last label, merges
  prefixes reached by different paths, and keeps the ``beam_width`` most
  probable prefixes after each frame. A label's frame is the frame where it was
  appended on the prefix's most probable history; ``logp`` is the log of the
  prefix's blank plus non-blank mass. ``beam_width=1`` returns :func:`greedy`
  (a one-prefix beam that sums a prefix's blank and repeat mass can differ
  from the best path; the contract is that width 1 is the best path).

Letter case: :func:`regular_case` rewrites a word decoded in mixed case
(``daTA``) in lower, Title or UPPER case when the log-probs make that almost
as likely (``CASE_MARGIN`` nats); the runtime applies it after either decoder.

Confidences (probabilities in [0, 1]):

- :func:`char_confidences`: per character, its highest posterior over its
  emitting frames: the frame that emits it plus the frames right after it whose
  best class is that character, up to the next character's frame.
- :func:`text_confidence` from the character confidences, by ``method``:
  ``"geomean"`` (the default: geometric mean), ``"min"``, ``"mean"``
  (arithmetic) or ``"product"``. An empty text's confidence is the mean blank
  probability over the row's valid frames, whatever the method.
"""
from __future__ import annotations

import heapq
import math
import string
from bisect import bisect_left
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from .casing import mixed_case

BLANK = 0
CONFIDENCE_METHODS = ("geomean", "min", "mean", "product")
#: Default :func:`beam_search` pruning, in nats (see there).
PRUNE_LOGP = -5.0
#: Two best prefixes closer than this (nats) are searched again with twice the pruning margin.
TIE_LOGP = 0.02
#: The most nats :func:`regular_case` gives up to rewrite a mixed-case word in one case.
CASE_MARGIN = 2.0
#: Default lexicon margin, in nats (see :func:`beam_search`).
LEXICON_MARGIN = 5.0


@dataclass(frozen=True)
class Decoded:
    """One row's decoding.

    ``labels``: class indices, blanks removed and repeats collapsed.
    ``frames``: for each label, the frame index that emits it.
    ``logp``: natural-log probability: the best path's for :func:`greedy`,
    the prefix's (blank plus non-blank mass) for :func:`beam_search`.
    """

    labels: tuple[int, ...]
    frames: tuple[int, ...]
    logp: float


def _validate(logprobs, lengths) -> tuple[np.ndarray, np.ndarray]:
    lp = np.asarray(logprobs)
    if lp.ndim != 3 or lp.shape[2] < 2:
        raise ValueError(f"logprobs must be (N, T, K) with K >= 2, got shape {lp.shape}")
    if lp.dtype not in (np.float32, np.float64):
        lp = lp.astype(np.float32)
    lens = np.asarray(lengths)
    if lens.shape != (lp.shape[0],) or (lens.size and lens.dtype.kind not in "iu"):
        raise ValueError(f"lengths must be an int array of shape ({lp.shape[0]},), got {lens.dtype} {lens.shape}")
    lens = lens.astype(np.int64)
    if lens.size and (lens.min() < 0 or lens.max() > lp.shape[1]):
        raise ValueError(f"lengths must lie in [0, T={lp.shape[1]}], got {lens.min()}..{lens.max()}")
    return lp, lens


def _best_path(lp: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per frame (N, T): best class, its log-prob, the valid mask, and where the best path emits a label."""
    best = lp.argmax(axis=2)
    if lp.flags.c_contiguous:  # (a flat gather is the faster way to it)
        n, t, k = lp.shape
        top = lp.reshape(-1).take(np.arange(0, n * t * k, k) + best.reshape(-1)).reshape(n, t)
    else:
        top = np.take_along_axis(lp, best[..., None], axis=2)[..., 0]
    valid = np.arange(lp.shape[1]) < lens[:, None]
    emit = valid & (best != BLANK)
    emit[:, 1:] &= best[:, 1:] != best[:, :-1]
    return best, top, valid, emit


def _row_splits(rows: np.ndarray, n: int) -> list[int]:
    """Offsets into row-major ``rows`` (sorted row indices) where each of the n rows starts, plus the end."""
    return np.searchsorted(rows, np.arange(n + 1)).tolist()


def strip_label(decoded: Decoded, label: int) -> Decoded:
    """``decoded`` without leading and trailing ``label`` (the runtime strips spaces at a crop's edges)."""
    labels, start, end = decoded.labels, 0, len(decoded.labels)
    while start < end and labels[start] == label:
        start += 1
    while end > start and labels[end - 1] == label:
        end -= 1
    if (start, end) == (0, len(labels)):
        return decoded
    return Decoded(labels[start:end], decoded.frames[start:end], decoded.logp)


def greedy(logprobs, lengths) -> list[Decoded]:
    """Best-path decoding of each row over its valid frames (vectorised: no loop over frames)."""
    lp, lens = _validate(logprobs, lengths)
    best, top, valid, emit = _best_path(lp, lens)
    logp = np.where(valid, top, 0.0).sum(axis=1, dtype=np.float64).tolist()
    rows, frames = np.nonzero(emit)
    labels = best[rows, frames].tolist()
    frames_list = frames.tolist()
    split = _row_splits(rows, lp.shape[0])
    return [Decoded(tuple(labels[a:b]), tuple(frames_list[a:b]), logp[i])
            for i, (a, b) in enumerate(zip(split[:-1], split[1:]))]


# A beam is a list of prefixes (-mass, labels, pb, pnb, frames), in descending mass pb + pnb, rescaled so
# the best has mass 1: ``pb`` is the mass of the paths that end in a blank, ``pnb`` of those that end in
# the last label, and ``frames`` where the prefix's most probable history emits each label. The same
# tuples, unscaled, are the candidates for the next beam (:func:`_rank`). After a certain blank frame
# every mass is blank: the prefixes are left as they are and read that way (only their mass counts).


def _rank(ranked: list, width: int, cut: float) -> tuple[list, float]:
    """Select among candidates ``(-mass, labels, pb, pnb, frames)`` (distinct labels; mass = pb + pnb):
    the ``width`` most probable (ties: smaller labels first) whose mass is positive and at least
    ``cut`` times the best's, as a beam; and the log of its scale."""
    ranked.sort()
    scale = -ranked[0][0]
    floor = -scale * cut
    if scale == 1.0:  # already scaled (common: the best prefix times the frame's best class)
        end = min(len(ranked), width)
        last = ranked[end - 1][0]
        if last > floor or not last:  # ascending -mass: the first that fails, and every later one
            end = 0
            while ranked[end][0] <= floor and ranked[end][0]:
                end += 1
        return ranked[:end] if end < len(ranked) else ranked, 0.0
    out = []
    for total, labels, pb, pnb, frames in (ranked[:width] if len(ranked) > width else ranked):
        if total > floor or not total:
            break  # ascending -mass: every later one fails too
        pb, pnb = pb / scale, pnb / scale
        out.append((-(pb + pnb), labels, pb, pnb, frames))
    return out, math.log(scale)


def _candidates_one(total: float, labels: tuple, pb: float, pnb: float, frames: tuple, frame: int,
                    classes: Sequence[int], qs: Sequence[float], width: int, cut: float) -> list:
    """:func:`_expand`'s candidates for a beam of one prefix, ``labels`` (``total`` is minus its mass)."""
    floor = 0.5 * cut  # as in :func:`_expand`
    total = -total
    last = labels[-1] if labels else -1
    stay_b = stay_nb = 0.0
    ranked = []
    room = width  # extensions by a class other than ``last`` come in descending mass: ``width`` suffice
    for c, q_c in zip(classes, qs):
        if c == BLANK:
            stay_b = total * q_c
        elif c == last:
            stay_nb = pnb * q_c
            mass = pb * q_c
            if mass >= floor and mass:
                ranked.append((-mass, labels + (c,), 0.0, mass, frames + (frame,)))
        elif room:
            mass = total * q_c
            if mass < floor or not mass:
                room = 0
            else:
                room -= 1
                ranked.append((-mass, labels + (c,), 0.0, mass, frames + (frame,)))
    ranked.append((-(stay_b + stay_nb), labels, stay_b, stay_nb, frames))
    return ranked


def _candidates_pure(beam: list, state: int, frame: int, classes: Sequence[int], qs: Sequence[float],
                     width: int, cut: float) -> list:
    """:func:`_expand`'s candidates for a beam all in ``state``: blank (every prefix's mass is blank)
    or a class (every prefix ends with that label and has no blank mass), as after a certain frame.
    The same candidates with less work: each prefix's mass is one number, the classes that append a
    label are the same for all, and prefixes that end with a label merge no extension in."""
    q_blank = q_state = 0.0
    extend = []  # (class, relative probability) of the classes that append a label, descending
    for c, q_c in zip(classes, qs):
        if c == BLANK:
            q_blank = q_c
        elif c == state:
            q_state = q_c  # a repeat; appending it again needs blank mass, which no prefix has
        else:
            extend.append((c, q_c))
    ranked = []
    floor = 0.5 * cut  # as in :func:`_expand`
    low = math.inf
    merged = None  # prefix -> the classes whose extensions of it are already in the beam (merged)
    if state == BLANK:
        lands = dict(extend)
        index = None
        for mass, labels, _, _, frames in beam:
            mass = -mass  # all blank
            stay_b = mass * q_blank
            stay_nb = 0.0
            if labels:
                q_last = lands.get(labels[-1])
                if q_last:  # the extension of its parent, if in the beam, lands here
                    if index is None:
                        index = {entry[1]: entry for entry in beam}
                    parent = index.get(labels[:-1])
                    if parent is not None:
                        stay_nb = -parent[0] * q_last
                        if stay_nb > stay_b:
                            frames = parent[4] + (frame,)
                        if merged is None:
                            merged = {}
                        merged.setdefault(labels[:-1], []).append(labels[-1])
            total = stay_b + stay_nb
            if total:
                ranked.append((-total, labels, stay_b, stay_nb, frames))
                if total < low:
                    low = total
    elif q_blank or q_state:
        for _, labels, _, mass, frames in beam:
            stay_b, stay_nb = mass * q_blank, mass * q_state
            total = stay_b + stay_nb
            if total:
                ranked.append((-total, labels, stay_b, stay_nb, frames))
                if total < low:
                    low = total
    if not extend:
        return ranked
    if len(ranked) >= width and low > floor:
        floor = low  # ``width`` prefixes' own masses: no extension below the least of them can be kept
    q_top = extend[0][1]
    light = []  # (mass, prefix, class, frames) of the extensions that pass ``floor``
    for mass, labels, _, _, frames in beam:
        mass = -mass
        if mass * q_top < floor:
            break  # prefixes are in descending mass: no later one can place an extension
        skip = merged.get(labels) if merged is not None else None
        for c, q_c in extend:
            ext = mass * q_c
            if ext < floor or not ext:
                break  # classes are in descending probability
            if skip is None or c not in skip:
                light.append((ext, labels, c, frames))
    if len(ranked) + len(light) > width:
        masses = [-entry[0] for entry in ranked]
        masses += [entry[0] for entry in light]
        masses.sort(reverse=True)
        floor = masses[width - 1]  # the ``width``-th largest: nothing below it can be kept
    for ext, labels, c, frames in light:
        if ext >= floor:
            ranked.append((-ext, labels + (c,), 0.0, ext, frames + (frame,)))
    return ranked


def _expand(beam: list, frame: int, classes: Sequence[int], qs: Sequence[float],
            width: int, cut: float) -> tuple[list, float]:
    """One frame of prefix beam search over the candidate ``classes``, whose probabilities relative to
    the frame's best are ``qs`` (descending): the next beam, selected by :func:`_rank`, and the log of
    its scale."""
    if len(beam) == 1:
        return _rank(_candidates_one(*beam[0], frame, classes, qs, width, cut), width, cut)
    q = dict(zip(classes, qs))
    q_blank = q.pop(BLANK, 0.0)  # ``q``: the classes that append a label
    ranked = []
    index = None  # labels -> prefix, built when needed
    landed = None  # prefixes that an extension of another reaches: merged here
    low = math.inf
    for total, labels, pb, pnb, frames in beam:  # the prefix itself: a blank, or its last label repeated
        stay_b = -total * q_blank
        stay_nb = 0.0
        if labels:
            q_last = q.get(labels[-1])
            if q_last:
                stay_nb = pnb * q_last
                if index is None:
                    index = {entry[1]: entry for entry in beam}
                parent = index.get(labels[:-1])
                if parent is not None:  # its extension lands here
                    ptotal, _, ppb, _, pframes = parent
                    mass = (ppb if len(labels) > 1 and labels[-2] == labels[-1] else -ptotal) * q_last
                    if mass > stay_b + stay_nb:
                        frames = pframes + (frame,)
                    stay_nb += mass
                    if landed is None:
                        landed = {labels}
                    else:
                        landed.add(labels)
        total = stay_b + stay_nb
        ranked.append((-total, labels, stay_b, stay_nb, frames))
        if total < low:
            low = total
    if not q:
        return _rank(ranked, width, cut)
    # The best candidate has mass >= 1/2, so below cut / 2 nothing is kept; nor below the ``width``-th
    # largest candidate (the least of ``width`` prefixes' own masses, to begin with).
    floor = 0.5 * cut if cut else 5e-324
    if len(ranked) >= width and low > floor:
        floor = low
    extend = list(q.items())  # descending
    q_top = extend[0][1]
    if len(extend) > 2:  # many extensions: keep the ``width`` largest as they come, raising the floor
        heap = heapq.nlargest(width, [-entry[0] for entry in ranked])
        heapq.heapify(heap)
        for total, labels, pb, _, frames in beam:
            total = -total
            if total * q_top < floor:
                break  # the beam is in descending mass: no later prefix can place an extension
            last = labels[-1] if labels else -1
            for c, q_c in extend:
                if c == last:
                    mass = pb * q_c
                    if mass < floor:
                        continue
                else:
                    mass = total * q_c
                    if mass < floor:
                        break  # classes are in descending probability
                key = labels + (c,)
                if landed is not None and key in landed:
                    continue  # already in the beam: merged above
                ranked.append((-mass, key, 0.0, mass, frames + (frame,)))
                if len(heap) < width:
                    heapq.heappush(heap, mass)
                else:
                    heapq.heapreplace(heap, mass)
                if len(heap) == width and heap[0] > floor:
                    floor = heap[0]
        return _rank(ranked, width, cut)
    light = []  # (mass, prefix, class, frames) of the extensions that pass ``floor``
    for total, labels, pb, _, frames in beam:
        total = -total
        if total * q_top < floor:
            break  # the beam is in descending mass: no later prefix can place an extension
        last = labels[-1] if labels else -1
        for c, q_c in extend:
            if c == last:
                mass = pb * q_c
                if mass < floor:
                    continue
            else:
                mass = total * q_c
                if mass < floor:
                    break  # classes are in descending probability
            light.append((mass, labels, c, frames))
    if landed is not None:
        light = [entry for entry in light if entry[1] + (entry[2],) not in landed]
    if len(ranked) + len(light) > width:
        masses = [-entry[0] for entry in ranked]
        masses += [entry[0] for entry in light]
        masses.sort(reverse=True)
        floor = masses[width - 1]  # the ``width``-th largest: nothing below it can be kept
    for mass, labels, c, frames in light:
        if mass >= floor:
            ranked.append((-mass, labels + (c,), 0.0, mass, frames + (frame,)))
    return _rank(ranked, width, cut)


def _then_certain(beam: list, frame: int, c: int, width: int, cut: float) -> tuple[list, float]:
    """The beam after ``frame``, whose only candidate is class ``c`` (relative probability 1), follows
    ``beam``; and the log of its scale. Every prefix ends up in the state of ``c``: for a blank, as
    they are (see above)."""
    if c == BLANK:
        return beam, 0.0
    if len(beam) == 1:
        (total, labels, pb, pnb, frames), = beam
        if not labels or labels[-1] != c:
            return [(-1.0, labels + (c,), 0.0, 1.0, frames + (frame,))], math.log(-total)
        if not pb:
            return [(-1.0, labels, 0.0, 1.0, frames)], math.log(pnb)
        return _rank([(-pnb, labels, 0.0, pnb, frames), (-pb, labels + (c,), 0.0, pb, frames + (frame,))],
                     width, cut)
    new: dict = {}  # labels -> [mass (all non-blank), frames, mass of the history ``frames`` is from]
    for total, labels, pb, pnb, frames in beam:
        if labels and labels[-1] == c:
            entry = new.get(labels)
            if entry is None:
                new[labels] = [pnb, frames, pnb]
            else:
                entry[0] += pnb
                if pnb > entry[2]:
                    entry[1], entry[2] = frames, pnb
            if not pb:
                continue
            key, mass = labels + (c,), pb
        else:
            key, mass = labels + (c,), -total
        entry = new.get(key)
        if entry is None:
            new[key] = [mass, frames + (frame,), mass]
        else:
            entry[0] += mass
            if mass > entry[2]:
                entry[1], entry[2] = frames + (frame,), mass
    return _rank([(-mass, labels, 0.0, mass, frames) for labels, (mass, frames, _) in new.items()], width, cut)


def _beam_row(width: int, cut: float, length: int, emits: list[int], emit_labels: list[int], ea: int, eb: int,
              unsure: list[int], cand: list[list[int]], cand_q: list[list[float]], before: list[int],
              after: list[int], a: int, b: int, end: int) -> tuple[list, float]:
    """Prefix beam search over one row; returns its final beam and the log of its scale.

    ``unsure[a:b]``: the frames that need branching (:func:`_branching`), each
    with its candidate classes and relative probabilities (``cand``,
    ``cand_q``) and the best class of the frames before and after it
    (``before``, ``after``; blank before frame 0, unused after the row's last
    frame); ``emits[ea:eb]``, ``emit_labels[ea:eb]``: where the best path
    emits a label, and which; ``end``: the best class of the row's last frame.

    Every other frame ("certain") acts as its best class alone and leaves
    every prefix in the same state (ending in a blank, or in that class). So a
    stretch of certain frames appends the same best-path labels to every
    prefix without changing their ranking, and each run of unsure frames
    starts from a beam all in one state, which makes its first frame cheaper
    (:func:`_candidates_pure`); the rest of the run is expanded frame by frame
    (:func:`_expand`), and so is the certain frame after it
    (:func:`_then_certain`).
    """
    beam = [(-1.0, (), 1.0, 0.0, ())]
    log_scale = 0.0
    prev = BLANK  # the class of the last certain frame (none yet: as after a blank)
    pos = 0
    index = a
    while index < b:
        frame = unsure[index]
        if pos < frame:  # certain frames pos .. frame - 1
            beam = _certain_stretch(beam, emits, emit_labels, ea, eb, pos, frame, prev, before[index])
            prev = before[index]
        # A run of unsure frames: the first from a beam all in the state of ``prev``
        if len(beam) == 1:
            total, labels, pb, pnb, frames = beam[0]
            if prev == BLANK:
                pb, pnb = -total, 0.0
            ranked = _candidates_one(total, labels, pb, pnb, frames, frame, cand[index], cand_q[index], width, cut)
        else:
            ranked = _candidates_pure(beam, prev, frame, cand[index], cand_q[index], width, cut)
        beam, log_s = _rank(ranked, width, cut)
        log_scale += log_s
        index += 1
        frame += 1
        while index < b and unsure[index] == frame:
            beam, log_s = _expand(beam, frame, cand[index], cand_q[index], width, cut)
            log_scale += log_s
            index += 1
            frame += 1
        pos = frame
        if pos < length:  # the certain frame after the run
            prev = after[index - 1]
            beam, log_s = _then_certain(beam, pos, prev, width, cut)
            log_scale += log_s
            pos += 1
    if pos < length:
        beam = _certain_stretch(beam, emits, emit_labels, ea, eb, pos, length, prev, end)
    return beam, log_scale


def _certain_stretch(beam: list, emits: list[int], emit_labels: list[int], ea: int, eb: int, start: int, stop: int,
                     prev: int, end: int) -> list:
    """``beam`` (all in the state of class ``prev``) after the certain frames ``start`` .. ``stop - 1``,
    whose best path emits ``emits[ea:eb]``/``emit_labels[ea:eb]`` there and ends in class ``end``."""
    first, last = bisect_left(emits, start, ea, eb), bisect_left(emits, stop, ea, eb)
    if first == last:  # nothing emitted: only the final state can change (from a label to a blank)
        if end == prev or end != BLANK:
            return beam
        return [(total, labels, -total, 0.0, frames) for total, labels, _, _, frames in beam]
    suffix, suffix_frames = tuple(emit_labels[first:last]), tuple(emits[first:last])
    if end == BLANK:
        return [(total, labels + suffix, -total, 0.0, frames + suffix_frames)
                for total, labels, _, _, frames in beam]
    return [(total, labels + suffix, 0.0, -total, frames + suffix_frames) for total, labels, _, _, frames in beam]


#: The last immutable lexicon seen and its lower-cased word set (callers pass the same one per batch).
_lexicon_cache: tuple[object, frozenset] = (None, frozenset())


def _lexicon_words(lexicon: Iterable[str]) -> frozenset:
    global _lexicon_cache
    source, words = _lexicon_cache
    if source is not lexicon:
        words = frozenset(w.lower() for w in lexicon)
        if isinstance(lexicon, (tuple, frozenset)):
            _lexicon_cache = (lexicon, words)
    return words


def _in_lexicon(text: str, words: frozenset) -> bool:
    """True when ``text`` has a word and each space-separated word, stripped of ASCII
    punctuation at both ends and lower-cased, is in ``words`` (pure punctuation is ignored)."""
    tokens = [t.strip(string.punctuation).lower() for t in text.split(" ")]
    tokens = [t for t in tokens if t]
    return bool(tokens) and all(t in words for t in tokens)


def _branching(lp: np.ndarray, lens: np.ndarray, best: np.ndarray, top: np.ndarray, valid: np.ndarray,
               prune_logp: float | None) -> tuple[np.ndarray, np.ndarray, list, list, np.ndarray]:
    """The frames where :func:`beam_search` must branch, in row-major order.

    A class is a candidate at a frame when its log-prob is within
    ``-prune_logp`` of the frame's best (every class when None). Frames with
    one candidate need no branching; nor do "trivial" frames: those between
    two such frames (not at a row's start or end) where every candidate yields
    the same labels, which act like their best class times the candidates'
    summed probability. (Two candidates can only yield the same labels when
    they are the blank and the previous frame's class, a label, and the next
    frame's class differs from that label: blank or 'a' between an 'a' and a
    blank, say.) Returns the rows and frames, each frame's candidate classes
    and their probabilities relative to the best (lists, descending), and per
    row the log of the trivial frames' summed relative probabilities.
    """
    n, t, k = lp.shape
    top_flat = top.reshape(-1)
    if prune_logp is None:
        at = np.flatnonzero(valid)  # the frames that may branch, as indices into the (n * t) frames
        sub = np.take(lp.reshape(n * t, k), at, axis=0)
        idx = np.arange(sub.size)
    else:
        # A best class with p >= 1 / (1 + e**prune_logp) leaves every other class below the cut.
        at = np.flatnonzero(valid & (top <= -math.log1p(math.exp(prune_logp))))
        sub = np.take(lp.reshape(n * t, k), at, axis=0)
        idx = np.flatnonzero(sub >= (top_flat[at] + lp.dtype.type(prune_logp))[:, None])
    frame_of, classes = np.divmod(idx, k)  # the candidates, by frame, then class
    counts = np.bincount(frame_of, minlength=len(at))
    several = counts >= 2
    # Trivial frames: two candidates (blank, then the previous frame's label), no branching neighbour.
    two = np.flatnonzero(counts == 2)
    if len(two):
        first = np.cumsum(counts)[two] - 2  # the first of each frame's two candidates
        flat = at[two]
        frames = flat % t
        before = np.where(frames > 0, best.reshape(-1)[flat - 1], BLANK)
        after = best.reshape(-1)[np.minimum(flat + 1, n * t - 1)]
        branching = np.zeros(n * t + 2, dtype=bool)  # [i + 1]: whether frame i (flat) has several candidates
        branching[at[several] + 1] = True
        trivial = ((classes[first] == BLANK) & (classes[first + 1] == before) & (before != BLANK)
                   & (after != before) & (frames > 0) & ~branching[flat] & ~branching[flat + 2]
                   & (frames + 1 < lens[flat // t]))
        if trivial.any():
            first, flat = first[trivial], flat[trivial]
            # The label's candidate: the other one; its probability relative to the best's
            other = np.where(classes[first] == best.reshape(-1)[flat], first + 1, first)
            rel = sub.reshape(-1)[idx[other]].astype(np.float64) - top_flat[flat]
            extra = np.bincount(flat // t, weights=np.log(1.0 + np.exp(rel)), minlength=n)
            several[two[trivial]] = False
        else:
            extra = np.zeros(n)
    else:
        extra = np.zeros(n)
    if not several.any():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, [], [], extra
    keep = several[frame_of]
    frame_of, classes, idx = frame_of[keep], classes[keep], idx[keep]
    rel = sub.reshape(-1)[idx].astype(np.float64) - top_flat[at[frame_of]]
    order = np.lexsort((-rel, frame_of))  # by frame, then by descending probability
    classes, q = classes[order].tolist(), np.exp(rel[order]).tolist()
    split = np.cumsum(counts[several]).tolist()
    rows, frames = np.divmod(at[several], t)
    return (rows, frames, [classes[a:b] for a, b in zip([0] + split, split)],
            [q[a:b] for a, b in zip([0] + split, split)], extra)


def _search(lp: np.ndarray, lens: np.ndarray, best: np.ndarray, top: np.ndarray, valid: np.ndarray,
            emit: np.ndarray, width: int, prune_logp: float | None) -> list[tuple[dict, float]]:
    """Per row: the final beam (descending, the best with mass 1) and the log-prob of mass 1."""
    n = lp.shape[0]
    cut = 0.0 if prune_logp is None else math.exp(prune_logp)
    u_rows, u_frames, cands, cands_q, extra = _branching(lp, lens, best, top, valid, prune_logp)
    offset = (np.where(valid, top, 0.0).sum(axis=1, dtype=np.float64) + extra).tolist()
    u_frames_list = u_frames.tolist()
    u_split = _row_splits(u_rows, n)
    e_rows, e_frames = np.nonzero(emit)
    e_labels = best[e_rows, e_frames].tolist()
    e_frames_list = e_frames.tolist()
    e_split = _row_splits(e_rows, n)
    t = lp.shape[1]
    u_before = np.where(u_frames > 0, best[u_rows, u_frames - 1], BLANK).tolist()
    u_after = best[u_rows, np.minimum(u_frames + 1, t - 1)].tolist()
    ends = (np.where(lens > 0, best[np.arange(n), np.maximum(lens - 1, 0)], BLANK) if t else lens).tolist()
    lens_list = lens.tolist()
    out = []
    for row in range(n):
        a, b, ea, eb = u_split[row], u_split[row + 1], e_split[row], e_split[row + 1]
        if a == b:  # nothing branches: the best path, one prefix
            mass = (1.0, 0.0) if ends[row] == BLANK else (0.0, 1.0)
            out.append(([(-1.0, tuple(e_labels[ea:eb])) + mass + (tuple(e_frames_list[ea:eb]),)], offset[row]))
            continue
        beam, log_scale = _beam_row(width, cut, lens_list[row], e_frames_list, e_labels, ea, eb, u_frames_list,
                                    cands, cands_q, u_before, u_after, a, b, ends[row])
        out.append((beam, log_scale + offset[row]))
    return out


def beam_search(logprobs, lengths, beam_width: int = 10, lexicon: Iterable[str] | None = None, *,
                charset: Sequence[str] | None = None, prune_logp: float | None = PRUNE_LOGP,
                lexicon_margin: float = LEXICON_MARGIN) -> list[Decoded]:
    """Prefix beam search of ``beam_width`` over each row's valid frames (``beam_width=1``: :func:`greedy`,
    lexicon or not).

    Pruning (``prune_logp``, nats, negative; None turns it off): at each frame
    only the classes whose log-prob is within ``-prune_logp`` of the frame's
    best class are expanded, and only the prefixes whose mass is within
    ``-prune_logp`` of the best prefix's are kept. A frame with a single such
    class needs no branching (nor one whose classes only move a label by a
    frame), and stretches of such frames are applied to all prefixes at once,
    which makes peaky (trained) outputs cheap. What pruning drops is below
    e**prune_logp of the best at each frame (0.7% by default): far below the
    gap between the two best prefixes except near ties, so a row whose two
    best prefixes end less than ``TIE_LOGP`` (0.02 nats) apart is searched
    again with pruning at ``2 * prune_logp``. The texts then equal those of the
    exact unpruned search of the same width (checked by the tests and by
    ``bench/decoders.py`` on synthetic and real outputs), and ``logp`` is the
    mass the search kept. With pruning off this is the exact prefix beam
    search (float64, masses rescaled per frame).

    ``lexicon``: optional words, with ``charset`` (class i is ``charset[i-1]``)
    to turn labels into text. Rule: a text is in the lexicon when it has at
    least one word and every space-separated word, stripped of ASCII
    punctuation at both ends (words of punctuation only are ignored), is in
    the lexicon case-insensitively. Among the final prefixes (at most
    ``beam_width``, those that survived pruning), the most probable one in the
    lexicon is returned if its log-prob is within ``lexicon_margin`` nats of
    the best prefix's; otherwise the best prefix is returned. Without a
    lexicon, ``charset`` is not used.
    """
    lp, lens = _validate(logprobs, lengths)
    if not isinstance(beam_width, (int, np.integer)) or beam_width < 1:
        raise ValueError(f"beam_width must be an int >= 1, got {beam_width!r}")
    if prune_logp == -math.inf:
        prune_logp = None
    if prune_logp is not None and not prune_logp < 0:
        raise ValueError(f"prune_logp must be negative (nats) or None, got {prune_logp!r}")
    words = None
    if lexicon is not None:
        if charset is None:
            raise ValueError("a lexicon needs the charset that maps labels to text")
        if len(charset) + 1 != lp.shape[2]:
            raise ValueError(f"charset has {len(charset)} symbols but logprobs have K={lp.shape[2]} classes")
        words = _lexicon_words(lexicon)
    if beam_width == 1:
        return greedy(lp, lens)
    best, top, valid, emit = _best_path(lp, lens)
    out = []
    for row, (beam, base) in enumerate(_search(lp, lens, best, top, valid, emit, beam_width, prune_logp)):
        if prune_logp is not None and len(beam) > 1 and -math.log(-beam[1][0]) < TIE_LOGP:
            one = slice(row, row + 1)
            (beam, base), = _search(lp[one], lens[one], best[one], top[one], valid[one], emit[one],
                                    beam_width, 2 * prune_logp)
        total, labels, _, _, frames = beam[0]
        logp = math.log(-total) + base
        if words is not None:
            for cand_total, cand_labels, _, _, cframes in beam:
                cand_logp = math.log(-cand_total) + base
                if logp - cand_logp > lexicon_margin:
                    break
                if _in_lexicon("".join(charset[c - 1] for c in cand_labels), words):
                    labels, frames, logp = cand_labels, cframes, cand_logp
                    break
        out.append(Decoded(labels, frames, logp))
    return out


def case_pairs(charset: Sequence[str]) -> dict[int, tuple[int, int]]:
    """Class index -> (its lower-case class, its upper-case class), for each letter of ``charset``
    (class i is ``charset[i - 1]``) whose other case is in the charset too."""
    index = {symbol: i + 1 for i, symbol in enumerate(charset)}
    return {index[c]: (index[c.lower()], index[c.upper()]) for c in charset
            if c.lower() != c.upper() and c.lower() in index and c.upper() in index}


def regular_case(logprobs_row, decoded: Decoded, pairs: dict[int, tuple[int, int]],
                 margin: float = CASE_MARGIN) -> Decoded:
    """``decoded`` with each word read in mixed case (``daTA``, ``StANford``) rewritten in lower,
    Title or UPPER case, whichever is most probable, when that costs at most ``margin`` nats.

    A word is a run of two or more letters (classes in ``pairs``, from :func:`case_pairs`); it
    is mixed unless all lower, all upper, or one upper then lower. A letter's log-prob in either
    case is its best over the frames from its emit frame up to the next label's; a case's cost is
    the sum over the word of the letters as read minus the letters in that case. Words the model
    reads confidently in mixed case (``McGinnis``, ``iPhone``) cost more than the margin and stay.
    ``logprobs_row``: log-probs (T, K) of the row's valid frames. Frames and logp are kept.
    """
    labels = list(decoded.labels)
    ends = list(decoded.frames[1:]) + [len(logprobs_row)]
    start = 0
    while start < len(labels):
        stop = start
        while stop < len(labels) and labels[stop] in pairs:
            stop += 1
        upper = [labels[k] == pairs[labels[k]][1] for k in range(start, stop)]
        if mixed_case(upper):
            letters = range(start, stop)
            best = [logprobs_row[decoded.frames[k]:ends[k]].max(axis=0) for k in letters]
            lower_lp = [b[pairs[labels[k]][0]] for b, k in zip(best, letters)]
            upper_lp = [b[pairs[labels[k]][1]] for b, k in zip(best, letters)]
            as_read = sum(u if up else lo for lo, u, up in zip(lower_lp, upper_lp, upper))
            cases = [(sum(lower_lp), [0] * len(upper)), (sum(upper_lp), [1] * len(upper)),
                     (upper_lp[0] + sum(lower_lp[1:]), [1] + [0] * (len(upper) - 1))]
            score, pattern = max(cases, key=lambda case: case[0])
            if as_read - score <= margin:
                for k, case in zip(letters, pattern):
                    labels[k] = pairs[labels[k]][case]
        start = stop + 1
    return Decoded(tuple(labels), decoded.frames, decoded.logp)


def char_confidences(probs_row, decoded: Decoded) -> tuple[float, ...]:
    """Per character of ``decoded``, the highest posterior of that character over its emitting frames.

    ``probs_row``: probabilities (T, K) of one row's valid frames. A
    character's emitting frames are its emit frame plus the frames right after
    it whose best class is that character, up to the next character's frame.
    """
    if not decoded.labels:
        return ()
    probs = np.asarray(probs_row, dtype=np.float64)
    frames, labels = np.asarray(decoded.frames), np.asarray(decoded.labels)
    t = len(probs)
    best = probs.argmax(axis=1)
    is_emit = np.zeros(t, dtype=bool)
    is_emit[frames] = True
    starts = is_emit.copy()
    starts[0] = True
    starts[1:] |= best[1:] != best[:-1]
    run = np.cumsum(starts)
    offset = 2.0 * (run[-1] - run)  # each run sits 2 above the next, so the running max restarts per run
    best_p = probs[np.arange(t), best] + offset
    run_max = np.maximum.accumulate(best_p[::-1])[::-1] - offset  # max of the best prob from a frame to its run's end
    after = np.minimum(frames + 1, t - 1)
    carries = (frames + 1 < t) & (best[after] == labels) & ~is_emit[after]
    conf = np.maximum(probs[frames, labels], np.where(carries, run_max[after], 0.0))
    return tuple(conf.tolist())


def text_confidence(char_confs: Sequence[float], method: str = "geomean", blank_probs=None) -> float:
    """A text's confidence in [0, 1] from its character confidences (module docstring).

    ``method``: ``"geomean"`` (default), ``"min"``, ``"mean"`` or
    ``"product"``. For an empty text, the mean of ``blank_probs`` (the blank's
    probability at each valid frame; required then; 0.0 for no frames).
    """
    if method not in CONFIDENCE_METHODS:
        raise ValueError(f"confidence method must be one of {CONFIDENCE_METHODS}, not {method!r}")
    confs = np.asarray(char_confs, dtype=np.float64)
    if confs.size == 0:
        if blank_probs is None:
            raise ValueError("an empty text's confidence needs blank_probs")
        blanks = np.asarray(blank_probs, dtype=np.float64)
        return float(blanks.mean()) if blanks.size else 0.0
    if method == "min":
        return float(confs.min())
    if method == "mean":
        return float(confs.mean())
    if method == "product":
        return float(confs.prod())
    if confs.min() <= 0.0:
        return 0.0
    return float(np.exp(np.log(confs).mean()))
