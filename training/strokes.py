"""Hand-drawn block capitals: letter skeletons as pen strokes, every point jittered per glyph.

Forms ask for names in block capitals, and children and adults draw them with
a few straight strokes whose proportions vary letter by letter: the middle of
an ``M`` may reach the baseline or stop half way (then it looks like an ``H``),
an ``I`` has bars or not, an ``A``'s crossbar sits high or low. Fonts give one
fixed shape per letter; these skeletons give a new one each time.

A skeleton is a list of strokes, each a polyline of (x, y) points in units of
the cap height: y = 0 at the top of the capitals, 1 on the baseline.
"""
from __future__ import annotations

import random

import cv2
import numpy as np


def _arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float, points: int = 14) -> list:
    """Points on an ellipse from ``start`` to ``end`` degrees (0 = right, 90 = down, as image y grows down)."""
    angles = np.radians(np.linspace(start, end, points))
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


_BOWL = [(0, 1), (0, 0), (0.45, 0), (0.6, 0.12), (0.6, 0.38), (0.45, 0.5), (0, 0.5)]  # P, and R before its leg
_RING = _arc(0.38, 0.5, 0.38, 0.5, -90, 275, 18)  # O, and Q before its tail

#: Skeletons of the characters the stroke hand draws (capitals, digits, a few marks).
SKELETONS: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0, 1), (0.4, 0), (0.8, 1)], [(0.17, 0.6), (0.63, 0.6)]],
    "B": [[(0, 0), (0, 1)], [(0, 0), (0.45, 0), (0.6, 0.12), (0.6, 0.36), (0.45, 0.48), (0, 0.48)],
          [(0.45, 0.48), (0.66, 0.6), (0.66, 0.86), (0.5, 1), (0, 1)]],
    "C": [_arc(0.4, 0.5, 0.4, 0.5, -40, -320)],
    "D": [[(0, 0), (0, 1)], [(0, 0), (0.35, 0), (0.6, 0.2), (0.66, 0.5), (0.6, 0.8), (0.35, 1), (0, 1)]],
    "E": [[(0.6, 0), (0, 0), (0, 1), (0.6, 1)], [(0, 0.5), (0.45, 0.5)]],
    "F": [[(0.6, 0), (0, 0), (0, 1)], [(0, 0.5), (0.45, 0.5)]],
    "G": [_arc(0.4, 0.5, 0.4, 0.5, -40, -330) + [(0.8, 0.55), (0.45, 0.55)]],
    "H": [[(0, 0), (0, 1)], [(0.6, 0), (0.6, 1)], [(0, 0.5), (0.6, 0.5)]],
    "I": [[(0.1, 0), (0.1, 1)]],
    "J": [[(0.5, 0), (0.5, 0.8), (0.35, 1), (0.1, 0.95), (0, 0.75)]],
    "K": [[(0, 0), (0, 1)], [(0.55, 0), (0, 0.55)], [(0.15, 0.45), (0.6, 1)]],
    "L": [[(0, 0), (0, 1), (0.5, 1)]],
    "M": [[(0, 1), (0, 0), (0.35, 0.8), (0.7, 0), (0.7, 1)]],
    "N": [[(0, 1), (0, 0), (0.6, 1), (0.6, 0)]],
    "O": [_RING],
    "P": [_BOWL],
    "Q": [_RING, [(0.45, 0.72), (0.85, 1.05)]],
    "R": [_BOWL, [(0.25, 0.5), (0.65, 1)]],
    "S": [[(0.6, 0.12), (0.45, 0), (0.15, 0), (0, 0.15), (0.05, 0.35), (0.3, 0.5), (0.55, 0.65), (0.6, 0.85),
           (0.45, 1), (0.15, 1), (0, 0.88)]],
    "T": [[(0, 0), (0.7, 0)], [(0.35, 0), (0.35, 1)]],
    "U": [[(0, 0), (0, 0.75), (0.15, 1), (0.45, 1), (0.6, 0.75), (0.6, 0)]],
    "V": [[(0, 0), (0.35, 1), (0.7, 0)]],
    "W": [[(0, 0), (0.2, 1), (0.45, 0.3), (0.7, 1), (0.9, 0)]],
    "X": [[(0, 0), (0.6, 1)], [(0.6, 0), (0, 1)]],
    "Y": [[(0, 0), (0.35, 0.5), (0.7, 0)], [(0.35, 0.5), (0.35, 1)]],
    "Z": [[(0, 0), (0.6, 0), (0, 1), (0.6, 1)]],
    "0": [_arc(0.3, 0.5, 0.3, 0.5, -90, 275, 18)],
    "1": [[(0.05, 0.22), (0.3, 0), (0.3, 1)]],
    "2": [[(0, 0.2), (0.15, 0.02), (0.4, 0), (0.55, 0.15), (0.5, 0.4), (0, 1), (0.6, 1)]],
    "3": [[(0, 0.1), (0.2, 0), (0.45, 0), (0.55, 0.15), (0.5, 0.35), (0.25, 0.48), (0.5, 0.55), (0.6, 0.75),
           (0.5, 0.95), (0.25, 1), (0, 0.9)]],
    "4": [[(0.45, 1), (0.45, 0), (0, 0.7), (0.6, 0.7)]],
    "5": [[(0.55, 0), (0.1, 0), (0.05, 0.45), (0.35, 0.4), (0.55, 0.55), (0.6, 0.8), (0.45, 1), (0.15, 1),
           (0, 0.9)]],
    "6": [[(0.5, 0.05), (0.3, 0), (0.1, 0.2), (0, 0.55), (0.05, 0.85), (0.25, 1), (0.5, 0.95), (0.6, 0.75),
           (0.5, 0.55), (0.25, 0.5), (0.05, 0.6)]],
    "7": [[(0, 0), (0.6, 0), (0.2, 1)]],
    "8": [_arc(0.3, 0.25, 0.22, 0.25, 90, 450), _arc(0.3, 0.73, 0.28, 0.27, -90, 270)],
    "9": [[(0.55, 0.3), (0.4, 0.5), (0.15, 0.48), (0, 0.3), (0.1, 0.05), (0.35, 0), (0.55, 0.15), (0.55, 0.5),
           (0.45, 1)]],
    "-": [[(0, 0.55), (0.3, 0.55)]],
    "'": [[(0.05, 0), (0, 0.22)]],
    ".": [[(0, 0.97), (0.03, 1)]],
    ",": [[(0.05, 0.95), (0, 1.15)]],
    ":": [[(0, 0.37), (0.03, 0.4)], [(0, 0.97), (0.03, 1)]],
    "/": [[(0, 1), (0.4, 0)]],
}


def _variant(ch: str, rng: random.Random) -> list[list[tuple[float, float]]]:
    """The skeleton of ``ch`` with the letter-shape choices hands make (M's middle depth, I's bars, A's bar)."""
    strokes = [list(stroke) for stroke in SKELETONS[ch]]
    if ch == "M":
        depth = rng.uniform(0.3, 1.0)
        splay = rng.choice([0.0, 0.0, rng.uniform(0.05, 0.15)])  # outer legs slanting out
        strokes = [[(0, 1), (splay, 0), (0.35, depth), (0.7 - splay, 0), (0.7, 1)]]
    elif ch == "I" and rng.random() < 0.4:
        strokes += [[(-0.1, 0), (0.3, 0)], [(-0.1, 1), (0.3, 1)]]
    elif ch == "A":
        bar = rng.uniform(0.45, 0.75)
        strokes[1] = [(0.4 * bar, bar), (0.8 - 0.4 * bar, bar)]
    elif ch == "W" and rng.random() < 0.4:
        strokes = [[(0, 0), (0.2, 1), (0.45, rng.uniform(0.0, 0.5)), (0.7, 1), (0.9, 0)]]
    return strokes


def draw_glyph(ch: str, size: int, pen: int, jitter: float,
               rng: random.Random) -> tuple[np.ndarray, int, int]:
    """(ink in [0, 1], x advance in px, baseline row) of ``ch`` as a block capital ``size`` px tall (cap height).

    Each skeleton point moves by a Gaussian of ``jitter`` x ``size`` px; a lower-case letter is drawn as its capital.
    """
    skeleton = _variant(ch.upper(), rng)
    pad = pen + int(jitter * size * 3) + 2
    points = [np.array([(x * size + rng.gauss(0, jitter * size), y * size + rng.gauss(0, jitter * size))
                        for x, y in stroke]) for stroke in skeleton]
    xs = np.concatenate([p[:, 0] for p in points])
    left = xs.min()
    width = int(np.ceil(xs.max() - left)) + 2 * pad + 1
    top = min(0.0, min(p[:, 1].min() for p in points))
    height = int(np.ceil(max(size, max(p[:, 1].max() for p in points)) - top)) + 2 * pad + 1
    canvas = np.zeros((height, width), np.uint8)
    shift = 4  # sub-pixel precision of cv2.polylines
    for p in points:
        pts = np.round((p - [left - pad, top - pad]) * (1 << shift)).astype(np.int32)
        cv2.polylines(canvas, [pts.reshape(-1, 1, 2)], False, 255, pen, cv2.LINE_AA, shift)
    advance = int(xs.max() - left) + max(1, pen) + int(0.15 * size)  # the glyph plus a side bearing
    return canvas.astype(np.float32) / 255.0, advance, int(pad - top + size)


def stroke_chars() -> frozenset[str]:
    """The characters the stroke hand draws (upper case; lower-case text is left to the fonts)."""
    return frozenset(SKELETONS)
