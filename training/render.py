"""Synthetic text crops: PIL draws the text, OpenCV/NumPy build backgrounds and
geometric warps, albumentations degrades the result.

``SyntheticRenderer.render(text)`` returns a uint8 grey crop (height ~20-70 px,
width to fit) whose content reads ``text``. Variation: 270+ fonts, size,
stroke weight, horizontal stretch, letter spacing, ink/background contrast and inversion,
outlined (sometimes hollow) letters and drop shadows,
gradients, textures and photo-like blobs, underlines, margins from none (cut
to the ink) to loose (sometimes 1.5 heights of blank at the sides), clutter from
neighbouring lines, rotation, perspective, curvature, words round a circle, blur, noise, JPEG
artefacts and low resolution down to ~10 px text height.
"""
from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

#: Share of crops cut to the ink on all four sides (margins up to TIGHT_MARGIN) rather than the font's line box.
TIGHT_FRAME_SHARE = 0.4
#: Share of crops in near-black ink on near-white paper. Without them no synthetic crop had
#: a contrast above 230 and full-contrast lines came only from SROIE's receipts, which are
#: printed in capitals: the model read black-on-white lower-case lines (UW3's) as capitals.
PAPER_SHARE = 0.3
#: Share of crops thresholded to pure black and white (half of them left undegraded). UW3's
#: lines are bi-level 0/255; at 10 %, all degraded after the threshold, stage 7's model read
#: clean bi-level lower-case lines in capitals 9 times of 36, the same lines anti-aliased 6.
BILEVEL_SHARE = 0.15
#: A tight frame's margins, at most this fraction of its height on each side (UW3's median is 0.07 on all four)
TIGHT_MARGIN = 0.1
#: A loose frame's blank side margins, at most this fraction of the line's height on each side.
LOOSE_SIDE_MARGIN = 0.6
#: A loose frame's blank rows above and below the font's line box, at most this fraction of its height.
LOOSE_TOP_BOTTOM_MARGIN = 0.35
#: Share of loose frames whose blank side margins run up to WIDE_SIDE_MARGIN of the line's
#: height (else up to LOOSE_SIDE_MARGIN). Generously padded boxes were outside the training
#: frames: model 2026.11.28.3 read a stray first character in 7-18 of 36 clean lines with
#: 1-1.3 heights of white at the sides.
WIDE_SIDE_SHARE = 0.1
WIDE_SIDE_MARGIN = 1.5
#: Share of crops whose letters get an outline in the ink's level round a fill of another
#: (hollow: near the paper's; or the opposite extreme), and of crops with a drop shadow under
#: the letters. Signs, logos and titles draw text so (the gallery's Lilliput, London, ARMADA);
#: until session 12 every synthetic crop had one ink level (MJSynth has both effects).
OUTLINE_SHARE = 0.08
SHADOW_SHARE = 0.08
#: Share of those shadows with a highlight on the letters' other side as well (bevelled,
#: engraved or raised letters: the icdar2013 gallery's FORMERLY, STREET, FESTIVE).
EMBOSS_SHARE = 0.3
#: Share of crops whose letters are not one flat grey but carry a gradient or texture of their
#: own (the background's kinds, :meth:`SyntheticRenderer._background`), as painted and lit signs do.
TEXTURED_INK_SHARE = 0.15
#: Share of word-like crops (h < w < 8h) bent round a circle (house-name plaques, badges, logos:
#: most of the iiit5k dev gallery's worst misreads are words on a round plaque), spanning
#: ARC_SPAN radians of it (at most w/h, so the radius is at least the text's height), along
#: its top (letters upright) or its bottom (letters' tops towards the centre).
ARC_SHARE = 0.08
ARC_SPAN = (0.5, 2.4)
#: Share of texts of up to TRACKING_MAX_CHARS characters letter-spaced (tracked) by TRACKING ×
#: the font size between characters, as signs space capitals out (the iiit5k gallery's
#: A I R L I N E S); longer lines so spaced would mostly overrun the training's max_width.
TRACKING_SHARE = 0.08
TRACKING = (0.1, 0.7)
TRACKING_MAX_CHARS = 20
#: Grey levels between a degraded crop's 1st and 99th percentiles below which the degradations
#: are dropped: darkening a dim low-contrast crop can flatten it to one level (7 of 3,000
#: renders), a blank crop with a label.
MIN_DEGRADED_CONTRAST = 12
#: Crops with a side shorter than this (px; a tight frame round "." or "-") skip the
#: degradations: Downscale's 0.3 scale would shrink that side to nothing, and OpenCV raises.
MIN_DEGRADE_SIDE = 4


@lru_cache(maxsize=4096)
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def degradations(seed: int | None = None) -> A.Compose:
    """Photometric degradations for synthetic crops; ``seed`` makes them reproducible."""
    return A.Compose([
        A.OneOf([A.GaussianBlur(blur_limit=(3, 5)), A.MotionBlur(blur_limit=(3, 7)),
                 A.Defocus(radius=(1, 2))], p=0.35),
        A.GaussNoise(std_range=(0.01, 0.08), p=0.35),
        A.RandomBrightnessContrast(brightness_limit=0.25, contrast_limit=(-0.5, 0.2), p=0.4),
        A.Downscale(scale_range=(0.3, 0.8), p=0.25),
        A.ImageCompression(quality_range=(20, 90), p=0.35),
    ], seed=seed)


class FrameJitter(A.ImageOnlyTransform):
    """Moves each side of a crop in or out by a random fraction of the crop's height (a crop
    that would be cut below ``MIN_DEGRADE_SIDE`` px is returned as it is).

    Out adds blank of the border's median grey; in cuts (a detector's box clips a
    little of the ink at times). Fractions of the height, not of the side's length,
    so a long word's sides move as much as a short one's. Real crops come in the
    frame their annotators drew; the shipped model read 2,400 of its real training
    crops at 94 % and the held-out ones at 82 % (models/README.md), and lost 1.8
    points when 10 % of the height was added above and below each held-out crop.
    """

    def __init__(self, top_bottom: tuple[float, float] = (-0.06, 0.2), sides: tuple[float, float] = (-0.03, 0.4),
                 p: float = 0.5):
        super().__init__(p=p)
        self.top_bottom, self.sides = top_bottom, sides

    def get_params(self) -> dict:
        ranges = (self.top_bottom, self.top_bottom, self.sides, self.sides)
        return {"moves": [self.py_random.uniform(*r) for r in ranges]}

    def apply(self, img: np.ndarray, moves: list[float], **params) -> np.ndarray:
        """``img`` with its top, bottom, left and right moved out (> 0) or in by ``moves`` × its height."""
        height, width = img.shape[:2]
        top, bottom, left, right = (int(round(m * height)) for m in moves)
        y0, y1, x0, x1 = max(0, -top), height - max(0, -bottom), max(0, -left), width - max(0, -right)
        if y1 - y0 < MIN_DEGRADE_SIDE or x1 - x0 < MIN_DEGRADE_SIDE:
            return img
        kept = img[y0:y1, x0:x1]
        blank = float(np.median(np.concatenate([kept[0], kept[-1], kept[:, 0], kept[:, -1]])))
        return cv2.copyMakeBorder(kept, max(0, top), max(0, bottom), max(0, left), max(0, right),
                                  cv2.BORDER_CONSTANT, value=blank)


def real_augmentations(seed: int | None = None) -> A.Compose:
    """Augmentation for real grey training crops, which the model otherwise memorises: a
    jittered frame, horizontal stretch, slant and a small rotation, inverted polarity, and
    lighter photometric degradations than the synthetic crops get. ``seed``: reproducible."""
    return A.Compose([
        FrameJitter(),
        A.Affine(scale={"x": (0.8, 1.25), "y": (1.0, 1.0)}, rotate=(-3, 3), shear={"x": (-10, 10), "y": (0, 0)},
                 fit_output=True, border_mode=cv2.BORDER_REPLICATE, p=0.5),
        A.InvertImg(p=0.1),
        A.Perspective(scale=(0.01, 0.04), fit_output=True, border_mode=cv2.BORDER_REPLICATE, p=0.3),
        A.OneOf([A.GaussianBlur(blur_limit=(3, 3)), A.MotionBlur(blur_limit=(3, 5))], p=0.2),
        A.GaussNoise(std_range=(0.01, 0.05), p=0.2),
        A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.3, p=0.3),
        A.Downscale(scale_range=(0.5, 0.9), p=0.15),
        A.ImageCompression(quality_range=(40, 95), p=0.2),
    ], seed=seed)


class SyntheticRenderer:
    """Renders text crops from a list of font files; one instance per DataLoader worker."""

    def __init__(self, fonts: list[Path], rng: random.Random):
        if not fonts:
            raise ValueError("no fonts to render with")
        self.fonts = [str(f) for f in fonts]
        self.rng = rng
        self.np_rng = np.random.default_rng(rng.getrandbits(32))
        self.degrade = degradations(rng.getrandbits(32))

    # -- backgrounds -----------------------------------------------------------------
    def _background(self, h: int, w: int, level: float, kind: float | None = None) -> np.ndarray:
        """An h×w float field round ``level``: a gradient, low-frequency texture or grain, or
        (``kind`` ≥ 0.65) flat; ``kind`` in [0, 1) picks which (None: at random)."""
        rng, nrng = self.rng, self.np_rng
        kind = rng.random() if kind is None else kind
        bg = np.full((h, w), level, np.float32)
        if kind < 0.3:  # gradient
            ramp = np.linspace(-1, 1, w if rng.random() < 0.5 else h, dtype=np.float32) * rng.uniform(0, 40)
            bg += ramp[None, :] if ramp.size == w else ramp[:, None]
        elif kind < 0.55:  # low-frequency texture / photo-like blobs
            small = nrng.normal(0, rng.uniform(5, 45), (max(2, h // rng.randint(4, 16)), max(2, w // rng.randint(4, 16))))
            bg += cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        elif kind < 0.65:  # paper grain
            bg += nrng.normal(0, rng.uniform(2, 12), (h, w)).astype(np.float32)
        return bg

    # -- text ------------------------------------------------------------------------
    def _draw_text(self, text: str, font: ImageFont.FreeTypeFont, stroke: int, tracking: int = 0) -> np.ndarray:
        """Ink coverage in [0, 1] of ``text``, cropped to its box plus the font's line height;
        ``tracking`` px of extra space between characters (drawn one by one, unkerned)."""
        ascent, descent = font.getmetrics()
        pieces = [(0.0, text)]
        if tracking and len(text) > 1:
            starts = np.cumsum([0.0] + [font.getlength(c) + tracking for c in text[:-1]])
            pieces = list(zip(starts.tolist(), text))
        boxes = [font.getbbox(piece, stroke_width=stroke) for _, piece in pieces]  # once each: a hot path
        left = min(x + box[0] for (x, _), box in zip(pieces, boxes))
        right = max(x + box[2] for (x, _), box in zip(pieces, boxes))
        width, height = int(right - min(left, 0)) + 2 * stroke + 2, ascent + descent + 2 * stroke + 2
        canvas = Image.new("L", (max(width, 1), max(height, 1)), 0)
        draw = ImageDraw.Draw(canvas)
        for x, piece in pieces:
            draw.text((x - min(left, 0) + stroke + 1, stroke + 1), piece, font=font, fill=255,
                      stroke_width=stroke, stroke_fill=255)
        return np.asarray(canvas, np.float32) / 255.0

    def render(self, text: str) -> np.ndarray:
        """A uint8 grey crop that reads ``text``."""
        rng = self.rng
        size = rng.randint(18, 44)
        font = _font(rng.choice(self.fonts), size)
        stroke = 1 if rng.random() < 0.08 else 0
        spaced = len(text) <= TRACKING_MAX_CHARS and rng.random() < TRACKING_SHARE
        tracking = int(size * rng.uniform(*TRACKING)) if spaced else 0
        ink = self._draw_text(text, font, stroke, tracking)
        if rng.random() < 0.3:  # condensed or expanded
            fx = rng.uniform(0.75, 1.35)
            ink = cv2.resize(ink, (max(1, int(ink.shape[1] * fx)), ink.shape[0]), interpolation=cv2.INTER_LINEAR)
        if rng.random() < 0.1:  # underline
            y = int(ink.shape[0] * rng.uniform(0.78, 0.95))
            ink[y:y + max(1, size // 16)] = 1.0
        tight = rng.random() < TIGHT_FRAME_SHARE
        mask = self._frame(ink, tight)
        if rng.random() < 0.2:  # clutter: bits of neighbouring lines above/below
            mask = self._add_clutter(mask, size, outside=tight)
        mask = self._warp(mask)
        if tight:  # cut again after the warp, which grows the canvas (a 2° turn of a long line by a lot)
            mask = self._cut_to_ink(mask, margin=TIGHT_MARGIN)
        bg_level, ink_level = self._levels()
        layers = self._layers(mask, size, bg_level, ink_level)
        image = self._background(*layers[0][0].shape, bg_level)
        for coverage, level in layers:
            image = image * (1 - coverage) + level * coverage
        image = np.clip(image, 0, 255).astype(np.uint8)
        if rng.random() < BILEVEL_SHARE:  # bi-level scans (fax, UW3-style document lines)
            cut = ink_level + (bg_level - ink_level) * rng.uniform(0.3, 0.75)  # thicker or thinner strokes
            image = np.where((image > cut) == (bg_level > ink_level), 255, 0).astype(np.uint8)
            if rng.random() < 0.5:  # as scanned: no blur, noise or compression after the threshold
                return image
        if min(image.shape) < MIN_DEGRADE_SIDE:
            return image
        degraded = self.degrade(image=image)["image"]
        low, high = np.percentile(degraded, [1, 99])
        return degraded if high - low >= MIN_DEGRADED_CONTRAST else image

    def _frame(self, ink: np.ndarray, tight: bool) -> np.ndarray:
        """``ink`` with margins; ``tight`` cuts it to the ink on every side with no margin (as on
        UW3 lines and tight detector boxes, where letter height no longer tells the case; the
        post-warp cut in :meth:`render` draws its margins), else the margins run up to loose;
        margins are fractions of the framed text's height."""
        if tight:
            return self._cut_to_ink(ink)
        rng = self.rng
        h, w = ink.shape
        top, bottom = (int(h * rng.uniform(0, LOOSE_TOP_BOTTOM_MARGIN)) for _ in range(2))
        side = WIDE_SIDE_MARGIN if rng.random() < WIDE_SIDE_SHARE else LOOSE_SIDE_MARGIN
        left, right = (int(h * rng.uniform(0, side)) for _ in range(2))
        mask = np.zeros((h + top + bottom, w + left + right), np.float32)
        mask[top:top + h, left:left + w] = ink
        return mask

    def _cut_to_ink(self, mask: np.ndarray, margin: float = 0.0) -> np.ndarray:
        """``mask`` cut to its inked rows and columns, then up to ``margin`` (a fraction of the
        cut height) of empty rows or columns on each side, drawn at random."""
        rows = np.flatnonzero(mask.max(axis=1) > 0.25)
        cols = np.flatnonzero(mask.max(axis=0) > 0.25)
        if rows.size:
            mask = mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
        if not margin:
            return mask
        top, bottom, left, right = (int(mask.shape[0] * self.rng.uniform(0, margin)) for _ in range(4))
        return np.pad(mask, ((top, bottom), (left, right)))

    def _layers(self, mask: np.ndarray, size: int, bg: float,
                ink: float) -> list[tuple[np.ndarray, float | np.ndarray]]:
        """(coverage, grey level or per-pixel levels) layers to draw over a background of ``bg``,
        bottom first, all of one shape: ``mask``'s, grown on every side for a drop shadow.

        First a drop shadow (``SHADOW_SHARE``; ``EMBOSS_SHARE`` of them with a highlight opposite),
        then the letters: ``mask`` in ``ink`` (textured round that level, ``TEXTURED_INK_SHARE``),
        or (``OUTLINE_SHARE``) ``mask`` grown by an outline in ``ink`` under a fill of another
        level (hollow: near ``bg``; else the extreme away from ``ink``). Sizes scale with the
        font ``size`` (px)."""
        rng = self.rng
        layers = []
        if rng.random() < SHADOW_SHARE:
            dx = rng.choice((-1, 1)) * max(1, round(size * rng.uniform(0.03, 0.1)))
            dy = max(1, round(size * rng.uniform(0.03, 0.1)))  # light falls from above
            mask = np.pad(mask, ((dy, dy), (abs(dx), abs(dx))))
            sigma = size * rng.uniform(0, 0.06)
            # under light letters darker than their ground, under dark ones a grey between the two
            level = bg * rng.uniform(0.2, 0.7) if ink > bg else bg + (ink - bg) * rng.uniform(0.3, 0.7)
            shifts = [(dx, dy, level)]
            if rng.random() < EMBOSS_SHARE:  # lit from the other side too: engraved or raised letters
                shifts.append((-dx, -dy, max(bg, ink) + (255 - max(bg, ink)) * rng.uniform(0.5, 1.0)))
            for sx, sy, shade in shifts:
                shadow = cv2.warpAffine(mask, np.float32([[1, 0, sx], [0, 1, sy]]), mask.shape[::-1])
                layers.append((cv2.GaussianBlur(shadow, (0, 0), sigma) if sigma > 0.5 else shadow, shade))
        if rng.random() < OUTLINE_SHARE:
            width = max(1, round(size * rng.uniform(0.03, 0.08)))
            outline = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1)))
            if rng.random() < 0.4:
                fill = float(np.clip(bg + rng.uniform(-20, 20), 0, 255))
            else:
                fill = rng.uniform(215, 255) if ink < 128 else rng.uniform(0, 40)
            return layers + [(outline, ink), (mask, fill)]
        if rng.random() < TEXTURED_INK_SHARE:
            return layers + [(mask, self._background(*mask.shape, ink, kind=rng.uniform(0, 0.65)))]
        return layers + [(mask, ink)]

    def _levels(self) -> tuple[float, float]:
        """(background, ink) grey levels: ``PAPER_SHARE`` near-black on near-white, as printed
        and scanned documents are, else any contrast from 60 to 230, light on dark a fifth of the time."""
        rng = self.rng
        if rng.random() < PAPER_SHARE:
            return rng.uniform(215, 255), rng.uniform(0, 45)
        contrast = rng.uniform(60, 230)
        dark_on_light = rng.random() < 0.8
        base = rng.uniform(0, 255 - contrast)
        ink, bg = base, base + contrast
        return (bg, ink) if dark_on_light else (ink, bg)

    def _add_clutter(self, mask: np.ndarray, size: int, outside: bool) -> np.ndarray:
        """``mask`` with the edge of a neighbouring line's ink (its inked rows) above or below.
        Loose frames take it in their blank margin; a tight frame (``outside``) has none, so it
        grows by those rows plus a gap of up to a tenth of its height, leaving the text's own rows
        untouched (UW3's tight lines show specks of the next line at the edge)."""
        rng = self.rng
        ghost = self._draw_text("".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGH0123456789 ") for _ in range(40)),
                                _font(rng.choice(self.fonts), size), 0)
        ghost = self._cut_to_ink(ghost)  # its edge rows then carry ink (the line box's are mostly blank)
        cut = min(rng.randint(1, max(2, mask.shape[0] // 5)), mask.shape[0], len(ghost))  # 1 on a 1-row mask
        width = min(mask.shape[1], ghost.shape[1])
        above = rng.random() < 0.5
        if outside:
            grow = cut + rng.randint(0, max(1, mask.shape[0] // 10))
            mask = np.pad(mask, ((grow, 0) if above else (0, grow), (0, 0)))
        if above:
            mask[:cut, :width] = np.maximum(mask[:cut, :width], ghost[-cut:, :width])
        else:
            mask[-cut:, :width] = np.maximum(mask[-cut:, :width], ghost[:cut, :width])
        return mask

    def _arc(self, mask: np.ndarray) -> np.ndarray:
        """``mask`` (its middle row the arc) bent round a circle spanning ``ARC_SPAN`` radians,
        reading left to right along the top or along the bottom; the canvas fits the arc."""
        h, w = mask.shape
        span = min(self.rng.uniform(*ARC_SPAN), w / h)
        radius = w / span  # of the middle row, so the text keeps its length there
        outer = radius + h / 2
        top = self.rng.random() < 0.6
        half = span / 2
        x_max = outer * np.sin(half)  # ARC_SPAN stays under pi: the ends are the widest points
        near = (radius - h / 2) * np.cos(half)  # the inner ends: the lowest points of the arc
        height = int(np.ceil(outer - near)) + 1
        xs = np.arange(int(np.ceil(2 * x_max)) + 1, dtype=np.float32) - x_max
        depth = np.arange(height, dtype=np.float32)  # from the circle's outermost point inwards
        x, d = np.meshgrid(xs, depth)
        y = outer - d  # distance from the centre along the symmetry axis
        r = np.sqrt(x * x + y * y)
        theta = np.arctan2(x, y)  # 0 on the axis, growing to the right
        map_x = theta * radius + w / 2
        map_y = outer - r if top else r - (radius - h / 2)
        bent = cv2.remap(mask, map_x.astype(np.float32), map_y.astype(np.float32), cv2.INTER_LINEAR, borderValue=0)
        return bent if top else bent[::-1]

    def _warp(self, mask: np.ndarray) -> np.ndarray:
        """Rotation, shear/perspective, curvature or (words) an arc applied to the ink mask."""
        rng = self.rng
        h, w = mask.shape
        r = rng.random()
        if r < 0.35:  # small rotation and shear, output grown to fit
            angle = rng.gauss(0, 2.0)
            shear = rng.gauss(0, 0.15)
            m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
            m[0, 1] += shear
            corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float32) @ m.T
            x0, y0 = corners.min(0)
            x1, y1 = corners.max(0)
            m[:, 2] -= (x0, y0)
            return cv2.warpAffine(mask, m, (int(np.ceil(x1 - x0)), int(np.ceil(y1 - y0))), flags=cv2.INTER_LINEAR)
        if r < 0.45 and w > 2 * h:  # curvature: a sine bend along the line
            amp = rng.uniform(0.05, 0.2) * h
            pad = int(np.ceil(amp))
            mask = cv2.copyMakeBorder(mask, pad, pad, 0, 0, cv2.BORDER_CONSTANT, value=0)
            xs = np.arange(w, dtype=np.float32)
            shift = amp * np.sin(xs / w * np.pi * rng.uniform(0.5, 2.0) + rng.uniform(0, np.pi))
            map_x = np.tile(xs, (mask.shape[0], 1))
            map_y = np.arange(mask.shape[0], dtype=np.float32)[:, None] + shift[None, :]
            return cv2.remap(mask, map_x, map_y.astype(np.float32), cv2.INTER_LINEAR, borderValue=0)
        if 0.45 <= r < 0.45 + ARC_SHARE and h < w < 8 * h:  # a word round a circle
            return self._arc(mask)
        return mask
