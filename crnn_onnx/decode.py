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
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

BLANK = 0
CONFIDENCE_METHODS = ("geomean", "min", "mean", "product")
#: Default :func:`beam_search` pruning, in nats (see there).
PRUNE_LOGP = -5.0
#: Two best prefixes closer than this (nats) are searched again with twice the pruning margin.
TIE_LOGP = 0.02
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
    top = np.take_along_axis(lp, best[..., None], axis=2)[..., 0]
    valid = np.arange(lp.shape[1]) < lens[:, None]
    emit = valid & (best != BLANK)
    emit[:, 1:] &= best[:, 1:] != best[:, :-1]
    return best, top, valid, emit


def _row_splits(rows: np.ndarray, n: int) -> list[int]:
    """Offsets into row-major ``rows`` (sorted row indices) where each of the n rows starts, plus the end."""
    return np.searchsorted(rows, np.arange(n + 1)).tolist()


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


def _rank(ranked: list, width: int, cut: float) -> tuple[dict, float]:
    """Select among candidates ``(-mass, labels, pb, pnb, frames)`` (distinct labels; mass = pb + pnb):
    the ``width`` most probable (ties: smaller labels first) whose mass is positive and at least
    ``cut`` times the best's, in descending order, as {labels: (pb, pnb, frames)} rescaled so the best
    is 1; and the log of the scale."""
    ranked.sort()
    scale = -ranked[0][0]
    floor = -scale * cut
    out = {}
    for total, labels, pb, pnb, frames in (ranked[:width] if len(ranked) > width else ranked):
        if total > floor or not total:
            break  # ascending -mass: every later one fails too
        out[labels] = (pb / scale, pnb / scale, frames)
    return out, math.log(scale)


def _expand_certain(beams: dict, frame: int, c: int, width: int, cut: float) -> tuple[dict, float]:
    """:func:`_expand` for a frame whose only candidate is class ``c`` (relative probability 1)."""
    if c == BLANK:
        return {labels: (pb + pnb, 0.0, frames) for labels, (pb, pnb, frames) in beams.items()}, 0.0
    if len(beams) == 1:
        (labels, (pb, pnb, frames)), = beams.items()
        if not labels or labels[-1] != c:
            total = pb + pnb
            return {labels + (c,): (0.0, 1.0, frames + (frame,))}, math.log(total)
        if not pb:
            return {labels: (0.0, 1.0, frames)}, math.log(pnb)
        return _rank([(-pnb, labels, 0.0, pnb, frames), (-pb, labels + (c,), 0.0, pb, frames + (frame,))],
                     width, cut)
    new: dict = {}  # labels -> [mass (all non-blank), frames, mass of the history ``frames`` is from]
    for labels, (pb, pnb, frames) in beams.items():
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
            key, mass = labels + (c,), pb + pnb
        entry = new.get(key)
        if entry is None:
            new[key] = [mass, frames + (frame,), mass]
        else:
            entry[0] += mass
            if mass > entry[2]:
                entry[1], entry[2] = frames + (frame,), mass
    return _rank([(-mass, labels, 0.0, mass, frames) for labels, (mass, frames, _) in new.items()], width, cut)


def _expand_one(labels: tuple, pb: float, pnb: float, frames: tuple, frame: int, classes: Sequence[int],
                qs: Sequence[float], width: int, cut: float) -> tuple[dict, float]:
    """:func:`_expand` of a beam with the one prefix ``labels`` (masses ``pb``, ``pnb``)."""
    floor = 0.5 * cut  # as in :func:`_expand`
    total = pb + pnb
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
    return _rank(ranked, width, cut)

def _expand(beams: dict, frame: int, classes: Sequence[int], qs: Sequence[float],
            width: int, cut: float) -> tuple[dict, float]:
    """One frame of prefix beam search over the candidate ``classes``.

    ``beams`` maps a label tuple to (blank mass, non-blank mass, frames), in
    descending total mass, the best 1. ``qs`` are the classes' probabilities
    divided by the frame's best, in descending order. Returns the next beams as
    :func:`_rank` does, and the log of their scale.
    """
    # The best candidate has mass >= 1/2, so below cut / 2 nothing is kept; once ``width`` candidates
    # are known, nothing below the smallest of the ``width`` largest can be kept either.
    floor = 0.5 * cut
    if len(beams) == 1:
        (labels, (pb, pnb, frames)), = beams.items()
        return _expand_one(labels, pb, pnb, frames, frame, classes, qs, width, cut)
    q = dict(zip(classes, qs))
    q_blank = q.get(BLANK, 0.0)
    ranked = []
    landed = None  # prefixes of the beam that an extension of another reaches: merged here
    for labels, (pb, pnb, frames) in beams.items():  # the prefix itself: a blank, or its last label repeated
        stay_b = (pb + pnb) * q_blank
        if labels:
            q_last = q.get(labels[-1], 0.0)
            stay_nb = pnb * q_last
            if q_last:
                parent = beams.get(labels[:-1])
                if parent is not None:
                    ppb, ppnb, pframes = parent
                    mass = (ppb if len(labels) > 1 and labels[-2] == labels[-1] else ppb + ppnb) * q_last
                    if mass > stay_b + stay_nb:
                        frames = pframes + (frame,)
                    stay_nb += mass
                    if landed is None:
                        landed = {labels}
                    else:
                        landed.add(labels)
        else:
            stay_nb = 0.0
        ranked.append((-(stay_b + stay_nb), labels, stay_b, stay_nb, frames))
    heap = None
    if len(beams) * (1 + len(classes)) > width:
        heap = heapq.nlargest(width, [-entry[0] for entry in ranked])
        heapq.heapify(heap)
        if len(heap) == width:
            floor = max(floor, heap[0])
    q_top = qs[0] if classes[0] != BLANK else (qs[1] if len(qs) > 1 else 0.0)
    for labels, (pb, pnb, frames) in beams.items():
        total = pb + pnb
        if total * q_top < floor:
            break  # beams are in descending mass: no later one can place an extension
        last = labels[-1] if labels else -1
        for c, q_c in zip(classes, qs):
            if c == BLANK:
                continue
            mass = (pb if c == last else total) * q_c
            if mass < floor or mass == 0.0:
                if c == last:
                    continue
                break  # classes are in descending probability
            key = labels + (c,)
            if landed is not None and key in landed:
                continue  # already in the beam: merged above
            ranked.append((-mass, key, 0.0, mass, frames + (frame,)))
            if heap is not None:
                if len(heap) < width:
                    heapq.heappush(heap, mass)
                else:
                    heapq.heapreplace(heap, mass)
                if len(heap) == width and heap[0] > floor:
                    floor = heap[0]
    return _rank(ranked, width, cut)


def _combine(beams: dict, local: dict, skip: int, width: int, cut: float) -> tuple[dict, float]:
    """Every prefix of ``beams`` (all in one pure state) followed by every hypothesis of ``local``
    (decoded from that state; its first ``skip`` labels stand for that state's last label),
    masses multiplied and merged where texts coincide; selected as :func:`_rank` does."""
    if len(local) == 1:  # one continuation for all: no merges, no change in the ranking
        (labels, (lb, lnb, lframes)), = local.items()
        suffix = labels[skip:]
        return {prefix + suffix: ((pb + pnb) * lb, (pb + pnb) * lnb, frames + lframes)
                for prefix, (pb, pnb, frames) in beams.items()}, 0.0
    tails = [(labels[skip:], lb, lnb, lb + lnb, lframes) for labels, (lb, lnb, lframes) in local.items()]
    new = {}  # labels -> [pb, pnb, frames, mass of the history ``frames`` is from]
    for prefix, (pb, pnb, frames) in beams.items():
        mass = pb + pnb
        if mass < cut:
            break  # both sides are in descending mass, best 1
        for suffix, lb, lnb, lmass, lframes in tails:
            if mass * lmass < cut:
                break
            key, b, nb = prefix + suffix, mass * lb, mass * lnb
            entry = new.get(key)
            if entry is None:
                new[key] = [b, nb, frames + lframes, b + nb]
            else:
                entry[0] += b
                entry[1] += nb
                if b + nb > entry[3]:
                    entry[2], entry[3] = frames + lframes, b + nb
    return _rank([(-e[0] - e[1], labels, e[0], e[1], e[2]) for labels, e in new.items()], width, cut)


def _pairs(shared: Sequence[float], masses: Sequence[float], cut: float) -> int:
    """How many products of one of ``shared`` and one of ``masses`` (both descending) reach ``cut``."""
    pairs, count = 0, len(masses)
    for mass in shared:  # rising thresholds over falling masses: a two-pointer count
        while count and mass * masses[count - 1] < cut:
            count -= 1
        if not count:
            break
        pairs += count
    return pairs


def _decode_steps(beams: dict, steps: list, width: int, cut: float,
                  shared: Sequence[float] = ()) -> tuple[dict, float] | None:
    """Expand ``beams`` over ``steps`` (frame, classes, relative probabilities); returns the beams and
    their log scale.

    With ``shared`` (the descending masses of the prefixes these beams will be
    combined with, best 1), returns None as soon as more than ``width``
    combinations pass the cut: a search over all the combinations would then
    have dropped some mid-way.
    """
    log_scale = 0.0
    for frame, classes, qs in steps:
        if len(classes) == 1:
            beams, log_s = _expand_certain(beams, frame, classes[0], width, cut)
        else:
            beams, log_s = _expand(beams, frame, classes, qs, width, cut)
        log_scale += log_s
        if len(shared) > 1 and len(beams) > 1 and _pairs(shared, [pb + pnb for pb, pnb, _ in beams.values()],
                                                         cut) > width:
            return None
    return beams, log_scale


def _run_one(labels: tuple, pb: float, pnb: float, frames: tuple, frame: int, classes: Sequence[int],
             qs: Sequence[float], certain: int, width: int, cut: float,
             shared: Sequence[float] = ()) -> tuple[dict, float] | None:
    """:func:`_decode_steps` of the one prefix ``labels`` over one unsure frame and the certain frame
    after it (class ``certain``; -1: the row ends)."""
    beams, log_scale = _expand_one(labels, pb, pnb, frames, frame, classes, qs, width, cut)
    if len(shared) > 1 and len(beams) > 1 and _pairs(shared, [b + nb for b, nb, _ in beams.values()], cut) > width:
        return None
    if certain < 0:
        return beams, log_scale
    if certain == BLANK:  # the masses stay (and so does the pair count above)
        return {labels: (b + nb, 0.0, fr) for labels, (b, nb, fr) in beams.items()}, log_scale
    beams, log_s = _expand_certain(beams, frame + 1, certain, width, cut)
    if len(shared) > 1 and len(beams) > 1 and _pairs(shared, [b + nb for b, nb, _ in beams.values()], cut) > width:
        return None
    return beams, log_scale + log_s


def _beam_row(width: int, cut: float, length: int, emits: list[int], emit_labels: list[int], unsure: list[int],
              cand: list[list[int]], cand_q: list[list[float]], before: list[int], after: list[int],
              end: int) -> tuple[dict, float]:
    """Prefix beam search over one row; returns its final beams and their log scale.

    ``unsure``: the frames that need branching (:func:`_branching`), each with
    its candidate classes and relative probabilities (``cand``, ``cand_q``) and
    the best class of the frames before and after it (``before``, ``after``;
    blank before frame 0, unused after the row's last frame); ``end``: the best
    class of the row's last frame. Every other frame
    ("certain") acts as its best class alone and leaves every prefix in the
    same state (ending in a blank, or in that class). So a stretch of certain
    frames appends the same best-path labels (``emits``, ``emit_labels``) to
    every prefix without changing their ranking; and a run of unsure frames
    plus the certain frame after it is decoded once from that shared state and
    combined with every prefix, unless so many combinations pass the cut that
    the beam would have dropped some mid-way: then the run is expanded over all
    prefixes frame by frame.
    """
    beams: dict = {(): (1.0, 0.0, ())}
    log_scale = 0.0
    prev = BLANK  # the class of the last certain frame (none yet: as after a blank)
    pos = index = 0
    count = len(unsure)
    while index < count:
        stop = unsure[index]
        if pos < stop:  # certain frames pos .. stop - 1
            beams = _certain_stretch(beams, emits, emit_labels, pos, stop, prev, before[index])
            prev = before[index]
        shared_state = prev
        if index + 1 == count or unsure[index + 1] != stop + 1:  # a run of one unsure frame
            classes, qs = cand[index], cand_q[index]
            index += 1
            pos = stop + 1
            certain = -1
            if pos < length:
                certain = prev = after[index - 1]
                pos += 1
            local = None
            if len(beams) > 1:
                # A blank (or the row's end) after one unsure frame changes no ranking: the combination
                # is exact however many pairs pass, as long as the local decode drops no candidate and
                # no extension of a prefix lands on another (whose merge the combination would miss
                # below the cut).
                shared = () if certain <= BLANK and len(classes) <= width and \
                    (shared_state != BLANK or not _lands(beams, classes)) else \
                    [pb + pnb for pb, pnb, _ in beams.values()]
                local = _run_one(*_seed(shared_state), stop, classes, qs, certain, width, cut, shared)
            if local is None:
                if len(beams) == 1:
                    (labels, (pb, pnb, frames)), = beams.items()
                    beams, log_s = _run_one(labels, pb, pnb, frames, stop, classes, qs, certain, width, cut)
                else:
                    steps = [(stop, classes, qs)]
                    if certain >= 0:
                        steps.append((stop + 1, (certain,), (1.0,)))
                    beams, log_s = _decode_steps(beams, steps, width, cut)
            else:
                beams, log_s = _combine(beams, local[0], int(shared_state != BLANK), width, cut)
                log_s += local[1]
            log_scale += log_s
            continue
        steps = []
        while True:
            steps.append((stop, cand[index], cand_q[index]))
            index += 1
            stop += 1
            if index == count or unsure[index] != stop:
                break
        pos = stop
        if pos < length:  # the certain frame after the run puts every hypothesis in one state
            prev = after[index - 1]
            steps.append((pos, (prev,), (1.0,)))
            pos += 1
        local = None
        if len(beams) > 1:  # decode the run once from the shared state (a one-label seed stands for it)
            labels, pb, pnb, frames = _seed(shared_state)
            local = _decode_steps({labels: (pb, pnb, frames)}, steps, width, cut,
                                  [pb + pnb for pb, pnb, _ in beams.values()])
        if local is None:
            beams, log_s = _decode_steps(beams, steps, width, cut)
        else:
            beams, log_s = _combine(beams, local[0], int(shared_state != BLANK), width, cut)
            log_s += local[1]
        log_scale += log_s
    if pos < length:
        beams = _certain_stretch(beams, emits, emit_labels, pos, length, prev, end)
    return beams, log_scale


def _lands(beams: dict, classes: Sequence[int]) -> bool:
    """Whether a prefix of ``beams`` extended by one of ``classes`` is another prefix of ``beams``."""
    for labels in beams:
        if labels and labels[-1] in classes and labels[:-1] in beams:
            return True
    return False


def _seed(state: int) -> tuple[tuple, float, float, tuple]:
    """The one prefix (labels, pb, pnb, frames) that stands for a beam all in ``state`` (a class, or blank)."""
    return ((state,), 0.0, 1.0, ()) if state != BLANK else ((), 1.0, 0.0, ())


def _certain_stretch(beams: dict, emits: list[int], emit_labels: list[int], start: int, stop: int, prev: int,
                     end: int) -> dict:
    """``beams`` (all in the state of class ``prev``) after the certain frames ``start`` .. ``stop - 1``,
    whose best path emits ``emits``/``emit_labels`` there and ends in class ``end``."""
    first, last = bisect_left(emits, start), bisect_left(emits, stop)
    if first == last:  # nothing emitted: only the final state can change (from a label to a blank)
        if end == prev or end != BLANK:
            return beams
        return {prefix: (pb + pnb, 0.0, frames) for prefix, (pb, pnb, frames) in beams.items()}
    suffix, suffix_frames = tuple(emit_labels[first:last]), tuple(emits[first:last])
    if end == BLANK:
        return {prefix + suffix: (pb + pnb, 0.0, frames + suffix_frames) for prefix, (pb, pnb, frames) in beams.items()}
    return {prefix + suffix: (0.0, pb + pnb, frames + suffix_frames) for prefix, (pb, pnb, frames) in beams.items()}


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
    two such frames (or the row start) where every candidate yields the same
    labels (a timing choice, e.g. blank or 'a' between a blank and an 'a'),
    which act like their best class times the candidates' summed probability.
    Returns the rows and frames, each frame's candidate classes and their
    probabilities relative to the best (lists, descending), and per row the log
    of the trivial frames' summed relative probabilities.
    """
    n, t, k = lp.shape
    if prune_logp is None:
        rows, frames = np.nonzero(valid)
        sub = lp[rows, frames]
        frame_of, classes = np.divmod(np.arange(sub.size), k)
    else:
        # A best class with p >= 1 / (1 + e**prune_logp) leaves every other class below the cut.
        rows, frames = np.nonzero(valid & (top <= -math.log1p(math.exp(prune_logp))))
        sub = lp[rows, frames]
        passes = sub >= (top[rows, frames] + lp.dtype.type(prune_logp))[:, None]
        several = passes.sum(axis=1) >= 2
        rows, frames, sub = rows[several], frames[several], sub[several]
        frame_of, classes = np.nonzero(passes[several])
    if not len(rows):
        return rows, frames, [], [], np.zeros(n)
    rel = sub[frame_of, classes].astype(np.float64) - top[rows, frames][frame_of]
    order = np.lexsort((-rel, frame_of))  # by frame, then by descending probability
    frame_of, classes, q = frame_of[order], classes[order], np.exp(rel[order])
    counts = np.bincount(frame_of, minlength=len(rows))
    starts = np.cumsum(counts) - counts
    # Trivial frames: every candidate emits the same labels at this frame and the next.
    branching = np.zeros((n, t + 1), dtype=bool)  # column t stays False: the neighbour of frame 0 at index -1
    branching[rows, frames] = True
    isolated = ~branching[rows, frames - 1] & (frames + 1 < lens[rows]) & ~branching[rows, frames + 1]
    before = np.where(frames > 0, best[rows, frames - 1], BLANK)[frame_of]
    after = best[rows, np.minimum(frames + 1, t - 1)][frame_of]
    emits_first = np.where((classes != BLANK) & (classes != before), classes, -1)
    emits_after = (after != BLANK) & (after != classes)
    lead = np.repeat(starts, counts)  # each candidate's frame's best candidate
    same = (emits_first == emits_first[lead]) & (emits_after == emits_after[lead])
    trivial = isolated & np.logical_and.reduceat(same, starts)
    extra = np.bincount(rows[trivial], weights=np.log(np.add.reduceat(q, starts)[trivial]), minlength=n)
    keep = ~trivial[frame_of]
    split = np.concatenate([[0], np.cumsum(counts[~trivial])]).tolist()
    classes, q = classes[keep].tolist(), q[keep].tolist()
    return (rows[~trivial], frames[~trivial], [classes[a:b] for a, b in zip(split[:-1], split[1:])],
            [q[a:b] for a, b in zip(split[:-1], split[1:])], extra)


def _search(lp: np.ndarray, lens: np.ndarray, best: np.ndarray, top: np.ndarray, valid: np.ndarray,
            emit: np.ndarray, width: int, prune_logp: float | None) -> list[tuple[dict, float]]:
    """Per row: the final beams (descending, the best with mass 1) and the log-prob of mass 1."""
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
            state = (1.0, 0.0) if ends[row] == BLANK else (0.0, 1.0)
            out.append(({tuple(e_labels[ea:eb]): state + (tuple(e_frames_list[ea:eb]),)}, offset[row]))
            continue
        beams, log_scale = _beam_row(width, cut, lens_list[row], e_frames_list[ea:eb], e_labels[ea:eb],
                                     u_frames_list[a:b], cands[a:b], cands_q[a:b], u_before[a:b], u_after[a:b],
                                     ends[row])
        out.append((beams, log_scale + offset[row]))
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
    for row, (beams, base) in enumerate(_search(lp, lens, best, top, valid, emit, beam_width, prune_logp)):
        if prune_logp is not None and len(beams) > 1:
            masses = iter(beams.values())
            next(masses)
            pb, pnb, _ = next(masses)
            if -math.log(pb + pnb) < TIE_LOGP:
                one = slice(row, row + 1)
                (beams, base), = _search(lp[one], lens[one], best[one], top[one], valid[one], emit[one],
                                         beam_width, 2 * prune_logp)
        labels, (pb, pnb, frames) = next(iter(beams.items()))
        logp = math.log(pb + pnb) + base
        if words is not None:
            for cand_labels, (cpb, cpnb, cframes) in beams.items():
                cand_logp = math.log(cpb + cpnb) + base
                if logp - cand_logp > lexicon_margin:
                    break
                if _in_lexicon("".join(charset[c - 1] for c in cand_labels), words):
                    labels, frames, logp = cand_labels, cframes, cand_logp
                    break
        out.append(Decoded(labels, frames, logp))
    return out


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
