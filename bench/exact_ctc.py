"""The exact CTC references and the synthetic log-prob matrices shared by the decoder tests and benchmarks.

Slow on purpose: plain loops, float64, no pruning. Not part of the runtime.
Blank is class 0.
"""
from __future__ import annotations

import itertools
import math

import numpy as np


def prefix_beam_search(logprobs_row: np.ndarray, beam_width: int) -> list[tuple[tuple[int, ...], float]]:
    """Unpruned prefix beam search of one row (T, K): the final prefixes (labels, log-probability), best first.

    Every prefix is extended by every class at every frame; the ``beam_width``
    most probable prefixes (ties: smaller labels first) are kept after each
    frame. Masses are float64 probabilities rescaled per frame so the best is 1.
    """
    probs = np.exp(np.asarray(logprobs_row, dtype=np.float64))
    classes = range(1, probs.shape[1])
    beams = {(): (1.0, 0.0)}
    log_scale = 0.0
    for p in probs.tolist():
        new: dict[tuple[int, ...], list[float]] = {}
        for labels, (pb, pnb) in beams.items():
            total = pb + pnb
            last = labels[-1] if labels else None
            entry = new.setdefault(labels, [0.0, 0.0])
            entry[0] += total * p[0]
            if last is not None:
                entry[1] += pnb * p[last]
            for c in classes:
                mass = (pb if c == last else total) * p[c]
                if mass > 0.0:
                    new.setdefault(labels + (c,), [0.0, 0.0])[1] += mass
        ranked = sorted(((pb + pnb, labels, pb, pnb) for labels, (pb, pnb) in new.items() if pb + pnb > 0.0),
                        key=lambda item: (-item[0], item[1]))[:beam_width]
        scale = ranked[0][0]
        log_scale += math.log(scale)
        beams = {labels: (pb / scale, pnb / scale) for _, labels, pb, pnb in ranked}
    return [(labels, math.log(pb + pnb) + log_scale) for labels, (pb, pnb) in beams.items()]


def labelling_probs(logprobs_row: np.ndarray) -> dict[tuple[int, ...], float]:
    """Brute force over all K**T paths: the probability of each collapsed labelling (tiny T and K only)."""
    probs = np.exp(np.asarray(logprobs_row, dtype=np.float64))
    t, k = probs.shape
    out: dict[tuple[int, ...], float] = {}
    for path in itertools.product(range(k), repeat=t):
        labels = tuple(c for i, c in enumerate(path) if c != 0 and (i == 0 or c != path[i - 1]))
        out[labels] = out.get(labels, 0.0) + float(np.prod(probs[np.arange(t), path]))
    return out


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-softmax over the last axis in float64."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def random_logprobs(rng: np.random.Generator, n: int, t: int, k: int = 96, scale: float = 2.0) -> np.ndarray:
    """float32 (n, t, k) log-softmax of N(0, scale) logits: flat, the hard case for a beam."""
    return log_softmax(rng.normal(0.0, scale, (n, t, k))).astype(np.float32)


def peaky_logprobs(rng: np.random.Generator, n: int, t: int, k: int = 96) -> np.ndarray:
    """float32 (n, t, k) log-softmax shaped like a trained CRNN's output.

    Each row follows a CTC path: runs of 0-3 blanks, then a character held for
    1-3 frames. The path's class leads each frame's logits by 9-18 nats over
    N(0, 1) noise (best-class probability about 0.95 to 0.99999). A third of
    the class changes are soft: the frame before or after the change also
    scores the neighbouring class, within N(0, 2) nats. One character in
    twelve is confusable: a rival class 0-4 nats behind on all its frames.
    """
    out = np.empty((n, t, k), np.float32)
    for row in range(n):
        path, rival = [], []
        while len(path) < t:
            gap, hold = int(rng.integers(0, 4)), int(rng.integers(1, 4))
            char, other = int(rng.integers(1, k)), (int(rng.integers(1, k)) if rng.random() < 1 / 12 else -1)
            path += [0] * gap + [char] * hold
            rival += [-1] * gap + [other] * hold
        path, rival = np.array(path[:t]), np.array(rival[:t])
        logits = rng.normal(0.0, 1.0, (t, k))
        lead = rng.uniform(9.0, 18.0, t)
        frames = np.arange(t)
        logits[frames, path] += lead
        has_rival = rival >= 0
        logits[frames[has_rival], rival[has_rival]] += lead[has_rival] - rng.uniform(0.0, 4.0, has_rival.sum())
        change = np.flatnonzero(path[1:] != path[:-1])
        soft = change[rng.random(len(change)) < 1 / 3]
        side = rng.random(len(soft)) < 0.5  # blur the frame before the change, or the one after
        frame, neighbour = np.where(side, soft, soft + 1), np.where(side, soft + 1, soft)
        logits[frame, path[neighbour]] = logits[frame, path[frame]] + rng.normal(0.0, 2.0, len(frame))
        out[row] = log_softmax(logits)
    return out
