"""Synthetic handwriting: handwriting fonts (and OpenCV's Hershey stroke fonts,
drawn with a pen of random width) one character at a time with jitter, on
form-field backgrounds with printed distractors.

``HandwritingRenderer.render(text)`` returns a uint8 grey crop (height ~25-90 px)
whose handwriting reads ``text``. Per character: size, baseline, rotation and
spacing jitter. Per crop: slant, stroke-width change, elastic distortion, pen
ink level, and a form field around the writing: an underline, a box, comb
ticks, a printed field label on the left ("NOM :") and cut-off printed text
above or below. The printed parts are never part of the label, as on real forms.

``HandwritingText`` draws labels: names in block capitals (French and English
words, accents stripped), mixed-case words, numbers and dates, and short lines.
"""
from __future__ import annotations

import logging
import random
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import albumentations as A
import cv2
import numpy as np
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw

from .fonts import case_problem
from .render import _font, degradations
from .strokes import draw_glyph, stroke_chars
from .text import TextSampler

log = logging.getLogger(__name__)

#: Folders of the Debian handwriting font packages in ``training/debian-handwriting-fonts.txt``.
HANDWRITING_FONT_DIRS = tuple(f"/usr/share/fonts/{kind}/{name}" for kind, name in [
    ("truetype", "fifthhorseman"), ("truetype", "breip"), ("opentype", "bwht"), ("opentype", "dancingscript"),
    ("truetype", "femkeklaver"), ("truetype", "humor-sans"), ("opentype", "comic-neue"), ("truetype", "rufscript"),
    ("truetype", "sjfonts"), ("truetype", "klee"), ("truetype", "kristi"), ("opentype", "kaushanscript"),
    ("truetype", "yusei-magic"), ("truetype", "cabinsketch"), ("truetype", "ecolier-court")])
#: OpenCV's Hershey stroke fonts: single-stroke letters drawn with a pen of any width, as hands write capitals.
HERSHEY_FONTS = {"simplex": cv2.FONT_HERSHEY_SIMPLEX, "plain": cv2.FONT_HERSHEY_PLAIN,
                 "duplex": cv2.FONT_HERSHEY_DUPLEX, "complex": cv2.FONT_HERSHEY_COMPLEX,
                 "triplex": cv2.FONT_HERSHEY_TRIPLEX, "script_simplex": cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
                 "script_complex": cv2.FONT_HERSHEY_SCRIPT_COMPLEX}
#: Point jitter levels of the stroke hand (``stroke_hands``), in cap heights.
STROKE_JITTERS = (0.015, 0.025, 0.035, 0.045, 0.055, 0.065)
#: A handwriting font must draw at least these.
HAND_REQUIRED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
FIELD_LABELS = ("NOM :", "NOM:", "PRENOM :", "PRENOM", "Nom :", "Prenom :", "NOM", "Name:", "NAME", "Surname:",
                "First name:", "DATE :", "VILLE :", "Signature :", "N°", "M.", "Mme", "NOM DE NAISSANCE :")
FORM_CLUTTER = ("PRENOM", "NOM", "DATE DE NAISSANCE", "CODE POSTAL", "ADRESSE", "NOM D'USAGE", "SEXE",
                "LIEU DE NAISSANCE", "DATE", "SIGNATURE", "CP / VILLE")
#: Share of crops written in faint ink (35-90 grey levels below the paper instead of 90 or more).
FAINT_PEN_SHARE = 0.2
#: Share of words whose strokes break into pieces (a dry pen, a light scan).
BROKEN_STROKE_SHARE = 0.15
#: Share of crops that also show the previous or next form field's line (``_neighbour_line``).
NEIGHBOUR_LINE_SHARE = 0.35
NEIGHBOUR_LABELS = ("CODE UAI / RNE :", "CODE RNE / UAI :", "DATE DE NAISSANCE :", "NE(E) LE :", "N° :", "DATE :",
                    "CLASSE :", "TEL :")


@dataclass(frozen=True)
class HandFont:
    """A handwriting font file, the characters it draws, and whether it draws lower case as capitals."""

    path: str
    chars: frozenset[str]
    caps_only: bool

    def can_draw(self, text: str) -> bool:
        return all(c in self.chars or c == " " for c in text) and (not self.caps_only or text == text.upper())


def find_handwriting_fonts(dirs: tuple[str, ...] | list[str] = HANDWRITING_FONT_DIRS) -> list[HandFont]:
    """Handwriting fonts under ``dirs`` that draw every letter and digit, sorted by path."""
    fonts = []
    for folder in dirs:
        for path in sorted(Path(folder).rglob("*")) if Path(folder).is_dir() else []:
            if path.suffix.lower() not in (".ttf", ".otf"):
                continue
            try:
                font = TTFont(str(path), fontNumber=0, lazy=True)
                chars = frozenset(chr(c) for c in (font.getBestCmap() or {}) if 0x20 < c < 0x7F)
                if not set(HAND_REQUIRED) <= chars:
                    continue
                fonts.append(HandFont(str(path), chars, case_problem(font) is not None))
            except Exception as exc:  # a broken font file is just skipped
                log.debug("handwriting font %s skipped: %s", path, exc)
    log.info("handwriting fonts: %d usable", len(fonts))
    return fonts


def hershey_fonts() -> list[HandFont]:
    """The Hershey stroke fonts as handwriting fonts (``path`` is ``hershey:<name>``; they draw all printable ASCII)."""
    chars = frozenset(chr(c) for c in range(0x21, 0x7F))
    return [HandFont(f"hershey:{name}", chars, caps_only=False) for name in HERSHEY_FONTS]


def stroke_hands() -> list[HandFont]:
    """Jittered block capitals (``training.strokes``) as handwriting fonts, one per jitter level (``strokes:<jitter>``).

    Several levels, so that a uniform choice among all fonts picks them about as often as
    ``len(STROKE_JITTERS)`` font files; upper-case text only.
    """
    return [HandFont(f"strokes:{jitter}", stroke_chars(), caps_only=True) for jitter in STROKE_JITTERS]


def training_hands(dirs: tuple[str, ...] | list[str] = HANDWRITING_FONT_DIRS) -> list[HandFont]:
    """Every hand the trainer writes with: the font files under ``dirs``, the Hershey fonts and the stroke hand."""
    return find_handwriting_fonts(dirs) + hershey_fonts() + stroke_hands()


def strip_accents(word: str) -> str:
    """``"Léna"`` -> ``"Lena"``: the labels of French forms drop accents."""
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode("ascii")


def load_names(source: str | Path | None = None, top_n: int = 50_000) -> list[str]:
    """Name-like words: a file (one per line) or wordfreq's French top ``top_n``, accents stripped, letters only."""
    if source:
        words = Path(source).read_text(encoding="utf-8").split()
    else:
        from wordfreq import top_n_list
        words = top_n_list("fr", top_n)
    names = {strip_accents(w) for w in words}
    return sorted(n for n in names if n.isalpha() and n.isascii() and 2 <= len(n) <= 14)


class HandwritingText:
    """Labels for handwriting crops; every character is printable ASCII."""

    def __init__(self, words: list[str], names: list[str], rng: random.Random):
        self.printed = TextSampler(words, rng)
        self.names = names
        self.rng = rng

    def name(self) -> str:
        rng = self.rng
        pool = self.names if rng.random() < 0.6 else self.printed.words
        parts = [pool[int(len(pool) * rng.random() ** 1.5)] for _ in range(1 if rng.random() < 0.75 else 2)]
        if rng.random() < 0.08:  # made-up surname: no lexicon prior to lean on
            parts = ["".join(rng.choice(HAND_REQUIRED[:26]) for _ in range(rng.randint(3, 10)))]
        return (rng.choice(["-", " "]) if len(parts) == 2 else "").join(parts)

    def single(self) -> str:
        """A word-crop label: mostly a name or word in block capitals, else mixed case, numbers, dates."""
        r = self.rng.random()
        if r < 0.55:
            return self.name().upper()
        if r < 0.7:
            return self.name().capitalize()
        return self.printed.single()

    def line(self, max_chars: int = 100) -> str:
        text = self.printed.line(max_chars)
        return text.upper() if self.rng.random() < 0.3 else text


class HandwritingRenderer:
    """Renders handwriting crops; one instance per DataLoader worker.

    ``fonts`` are handwriting fonts; ``printed_fonts`` draw the field labels and form clutter.
    """

    def __init__(self, fonts: list[HandFont], printed_fonts: list[Path], rng: random.Random):
        if not fonts:
            raise ValueError("no handwriting fonts to render with")
        if not printed_fonts:
            raise ValueError("no printed fonts for the form labels")
        self.fonts = fonts
        self.printed_fonts = [str(f) for f in printed_fonts]
        self.rng = rng
        self.degrade = degradations(rng.getrandbits(32))
        self.elastic = A.Compose([A.ElasticTransform(alpha=rng.uniform(8, 20), sigma=5, border_mode=cv2.BORDER_CONSTANT,
                                                     fill=0, p=1.0)], seed=rng.getrandbits(32))

    def _glyph(self, ch: str, path: str, size: int, angle: float, pen: int) -> tuple[np.ndarray, int, int]:
        """(ink in [0, 1], x advance, baseline row) of one character rotated by ``angle`` degrees.

        ``pen`` is the stroke width in px of the Hershey stroke fonts (outline fonts bring their own).
        """
        pad = size // 3 + pen
        if path.startswith("strokes:"):  # draw_glyph pads its own canvas and gives the baseline row
            jitter = float(path.split(":", 1)[1])
            ink, advance, ascent = draw_glyph(ch, max(4, int(0.72 * size)), pen, jitter, self.rng)
            pad = 0
        elif path.startswith("hershey:"):
            face = HERSHEY_FONTS[path.split(":", 1)[1]]
            scale = cv2.getFontScaleFromHeight(face, max(4, int(0.72 * size)), pen)
            (width, ascent), descent = cv2.getTextSize(ch, face, scale, pen)
            canvas = np.zeros((ascent + descent + 2 * pad, width + 2 * pad), np.uint8)
            cv2.putText(canvas, ch, (pad, pad + ascent), face, scale, 255, pen, cv2.LINE_AA)
            ink, advance = canvas.astype(np.float32) / 255.0, width
        else:
            font = _font(path, size)
            ascent, descent = font.getmetrics()
            left, _, right, _ = font.getbbox(ch)
            image = Image.new("L", (max(int(right - min(left, 0)) + 2 * pad, 1), ascent + descent + 2 * pad), 0)
            ImageDraw.Draw(image).text((pad - min(left, 0), pad), ch, font=font, fill=255)
            ink, advance = np.asarray(image, np.float32) / 255.0, int(font.getlength(ch))
        if angle:
            m = cv2.getRotationMatrix2D((ink.shape[1] / 2, pad + ascent * 0.7), angle, 1.0)
            ink = cv2.warpAffine(ink, m, (ink.shape[1], ink.shape[0]), flags=cv2.INTER_LINEAR)
        return ink, advance, ascent + pad

    def _write(self, text: str, font: HandFont, size: int) -> np.ndarray:
        """Ink of ``text`` drawn character by character with jitter, cropped to the ink."""
        rng = self.rng
        tracking = size * rng.choice([rng.uniform(-0.05, 0.15), rng.uniform(0.15, 0.9)])
        word_gap = size * rng.uniform(0.3, 1.2)
        angle_sd, size_sd, base_sd = rng.uniform(0, 6), rng.uniform(0, 0.1), rng.uniform(0, 0.06)
        pen = max(1, round(size * rng.uniform(0.025, 0.08)))
        placed, x = [], 0.0
        for ch in text:
            if ch == " ":
                x += word_gap
                continue
            glyph_size = max(8, int(size * (1 + rng.gauss(0, size_sd))))
            ink, advance, baseline = self._glyph(ch, font.path, glyph_size, rng.gauss(0, angle_sd), pen)
            placed.append((ink, int(x), int(size * rng.gauss(0, base_sd)) - baseline))
            x += advance + tracking * rng.uniform(0.6, 1.4)
        top = min(y for _, _, y in placed)
        height = max(y + ink.shape[0] for ink, _, y in placed) - top
        width = max(x0 + ink.shape[1] for ink, x0, _ in placed) - min(x0 for _, x0, _ in placed)
        left = min(x0 for _, x0, _ in placed)
        canvas = np.zeros((height, width), np.float32)
        for ink, x0, y in placed:
            self._paste(canvas, ink, y - top, x0 - left)
        rows, cols = np.nonzero(canvas > 0.05)
        if rows.size == 0:
            raise ValueError(f"font {font.path} drew no ink for {text!r}")
        return canvas[rows.min():rows.max() + 1, cols.min():cols.max() + 1]

    def _pen(self, ink: np.ndarray, size: int) -> np.ndarray:
        """Slant, stroke width and elastic wobble of the whole word."""
        rng = self.rng
        h, w = ink.shape
        slant = rng.gauss(0, 0.2)
        pad = int(abs(slant) * h) + 2
        m = np.float32([[1, -slant, pad if slant > 0 else 2], [0, 1, 2]])
        ink = cv2.warpAffine(ink, m, (w + pad + 4, h + 4), flags=cv2.INTER_LINEAR)
        r = rng.random()
        if r < 0.3:
            k = 2 if size < 30 else 3
            ink = cv2.dilate(ink, np.ones((k, k), np.uint8))
        elif r < 0.45 and size >= 26:
            ink = cv2.erode(ink, np.ones((2, 2), np.uint8))
        if rng.random() < 0.4:
            ink = self.elastic(image=ink)["image"]
        if rng.random() < BROKEN_STROKE_SHARE:  # a dry pen or a light scan: strokes break into pieces
            h, w = ink.shape
            blobs = np.random.default_rng(rng.getrandbits(32)).random((max(1, h // 3), max(1, w // 3)), np.float32)
            ink = ink * (cv2.resize(blobs, (w, h), interpolation=cv2.INTER_LINEAR) > rng.uniform(0.15, 0.45))
        return ink

    def _printed(self, text: str, size: int) -> np.ndarray:
        font = _font(self.rng.choice(self.printed_fonts), max(8, size))
        ascent, descent = font.getmetrics()
        canvas = Image.new("L", (max(1, int(font.getlength(text)) + 4), ascent + descent + 4), 0)
        ImageDraw.Draw(canvas).text((2, 2), text, font=font, fill=255, stroke_width=int(self.rng.random() < 0.4))
        return np.asarray(canvas, np.float32) / 255.0

    def _form(self, writing: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
        """(handwriting mask, printed mask) of the whole crop: the writing inside a form field.

        The printed field label sits beside the writing (``NOM : ...``) or above it on its own line
        (``PRENOM`` over the name, with the next field's printed line cut by the bottom edge).
        """
        rng = self.rng
        h, w = writing.shape
        top, bottom = int(h * rng.uniform(0.05, 0.5)), int(h * rng.uniform(0.05, 0.5))
        left, right = int(h * rng.uniform(0.05, 1.0)), int(h * rng.uniform(0.05, 1.0))
        layout = rng.choices(["plain", "beside", "above"], weights=[0.5, 0.3, 0.2])[0]
        label = below = None
        if layout != "plain":
            label = self._printed(rng.choice(FIELD_LABELS), int(size * rng.uniform(0.4, 0.7)))
        if layout == "beside":
            left += label.shape[1] + int(h * rng.uniform(0.2, 1.2))
        elif layout == "above":
            top += label.shape[0] + int(h * rng.uniform(0.0, 0.5))
            right += int(w * rng.uniform(0.0, 1.0))
            if rng.random() < 0.6:
                below = self._printed("   ".join(rng.sample(FORM_CLUTTER, 2)), int(size * rng.uniform(0.4, 0.7)))
                below = below[:max(2, int(below.shape[0] * rng.uniform(0.3, 1.0)))]
                bottom += below.shape[0]
        H, W = h + top + bottom, w + left + right
        hand = np.zeros((H, W), np.float32)
        hand[top:top + h, left:left + w] = writing
        printed = np.zeros((H, W), np.float32)
        if layout == "beside":
            label = label[-H:]  # a label taller than the field is cut at its top
            y = min(max(0, top + h - label.shape[0] + int(h * rng.uniform(-0.2, 0.1))), H - label.shape[0])
            self._paste(printed, label, y, 0)
        elif layout == "above":
            self._paste(printed, label, rng.randint(0, max(0, top - label.shape[0])), rng.randint(0, max(0, left)))
            if below is not None:
                self._paste(printed, below, H - below.shape[0], rng.randint(0, max(0, left)))
        thickness = rng.choice([1, 1, 2])
        r = rng.random()
        if r < 0.25:  # underline, solid or dotted
            y = min(H - thickness, top + h + rng.randint(0, max(1, bottom)))
            printed[y:y + thickness, :] = 1.0
            if rng.random() < 0.4:
                printed[y:y + thickness, ::rng.randint(3, 6)] = 0.0
        elif r < 0.4:  # box around the field
            cv2.rectangle(printed, (0, 0), (W - 1, H - 1), 1.0, thickness)
        elif r < 0.5:  # comb: one cell per character
            step = rng.randint(max(6, size // 2), size + 8)
            for x in range(rng.randint(0, step), W, step):
                printed[int(H * rng.uniform(0.4, 0.8)):, x:x + thickness] = 1.0
        if rng.random() < 0.35:  # printed text of the neighbouring field, cut by the crop
            ghost = self._printed(rng.choice(FORM_CLUTTER), int(size * rng.uniform(0.4, 0.7)))
            cut = min(ghost.shape[0], rng.randint(2, max(3, top // 2 + 2)))
            x = rng.randint(0, max(0, W // 2))
            if rng.random() < 0.5:
                self._paste(printed, ghost[-cut:], 0, x)
            else:
                self._paste(printed, ghost[:cut], H - cut, x)
        return hand, printed

    def _neighbour_line(self, hand: np.ndarray, printed: np.ndarray, font: HandFont,
                        size: int) -> tuple[np.ndarray, np.ndarray]:
        """Add the previous or next field (a handwritten date or code, maybe after its printed label) above or below.

        Form crops often catch the line above, whole or cut (``CODE UAI : 0820052L`` over
        ``NOM : MARTIN``), or the line below, cut by the crop's edge or whole (the date of birth
        under ``PRENOM : INES``); it is never in the label.
        """
        rng = self.rng
        above = rng.random() < 0.6
        whole = rng.random() < (0.5 if above else 0.35)
        date = "{:02d}{sep}{:02d}{sep}{}".format(rng.randint(1, 31), rng.randint(1, 12), rng.randint(1930, 2020),
                                                 sep=rng.choice(["/", " ", "  "]))
        if not above and whole:  # a whole line below the name is the date-of-birth field
            text = date
        else:
            code = "".join(rng.choice(HAND_REQUIRED[52:]) for _ in range(7)) + rng.choice(HAND_REQUIRED[:26])
            mixed = "".join(rng.choice(HAND_REQUIRED[:26] + HAND_REQUIRED[52:]) for _ in range(rng.randint(3, 9)))
            text = rng.choice([date, code, mixed])
        if not font.can_draw(text):
            return hand, printed
        ghost = self._pen(self._write(text, font, size), size)
        H, W = hand.shape
        label, label_width = np.zeros((0, 0), np.float32), 0
        if rng.random() < 0.5:
            label = self._printed(rng.choice(NEIGHBOUR_LABELS), int(size * rng.uniform(0.4, 0.7)))
            label_width = label.shape[1] + int(size * rng.uniform(0.2, 1.0))
            if label_width + ghost.shape[1] // 2 > W:  # no room for the label and half the writing
                label, label_width = label[:0, :0], 0
        rows = max(ghost.shape[0], label.shape[0])
        line_hand = np.zeros((rows, W), np.float32)
        line_printed = np.zeros_like(line_hand)
        self._paste(line_printed, label, rows - label.shape[0], 0)
        x = label_width + rng.randint(0, max(0, min(W // 3, W - label_width - ghost.shape[1] // 2)))
        self._paste(line_hand, ghost, rows - ghost.shape[0], x)
        visible = rows if whole else max(2, int(rows * rng.uniform(0.2, 0.6)))
        gap = np.zeros((int(size * rng.uniform(0.0, 0.3)), W), np.float32)
        if above:  # the line above, showing its bottom
            return (np.vstack([line_hand[rows - visible:], gap, hand]),
                    np.vstack([line_printed[rows - visible:], gap, printed]))
        return np.vstack([hand, gap, line_hand[:visible]]), np.vstack([printed, gap, line_printed[:visible]])

    @staticmethod
    def _paste(canvas: np.ndarray, ink: np.ndarray, y: int, x: int) -> None:
        """Max-blend ``ink`` into ``canvas`` at (y, x), clipped to the canvas."""
        ink = ink[:max(0, canvas.shape[0] - y), :max(0, canvas.shape[1] - x)]
        region = canvas[y:y + ink.shape[0], x:x + ink.shape[1]]
        np.maximum(region, ink, out=region)

    def render(self, text: str) -> np.ndarray:
        """A uint8 grey crop whose handwriting reads ``text``."""
        rng = self.rng
        usable = [f for f in self.fonts if f.can_draw(text)]
        if not usable:
            raise ValueError(f"no handwriting font draws {text!r}")
        font = rng.choice(usable)
        size = rng.randint(22, 48)
        writing = self._pen(self._write(text, font, size), size)
        hand, printed = self._form(writing, size)
        if rng.random() < NEIGHBOUR_LINE_SHARE:
            hand, printed = self._neighbour_line(hand, printed, font, size)
        paper = rng.uniform(170, 255)
        faint = rng.random() < FAINT_PEN_SHARE  # pencil or a light scan: little contrast with the paper
        pen_ink = rng.uniform(paper - 90, paper - 35) if faint else rng.uniform(0, paper - 90)
        print_ink = rng.uniform(0, 80)
        image = np.full(hand.shape, paper, np.float32)
        if rng.random() < 0.3:
            image += np.random.default_rng(rng.getrandbits(32)).normal(0, rng.uniform(2, 8), hand.shape).astype(np.float32)
        image = image * (1 - printed) + print_ink * printed
        image = image * (1 - hand) + pen_ink * hand
        return self.degrade(image=np.clip(image, 0, 255).astype(np.uint8))["image"]
