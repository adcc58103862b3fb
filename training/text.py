"""Random text for synthetic crops: words in every case pattern, numbers, dates,
prices, codes, punctuation, short phrases and whole lines (up to ~100 chars).

Words come from a word list (``wordfreq`` top-N English by default, or a text
file with one word per line, which is what a GPU machine without wordfreq uses).
"""
from __future__ import annotations

import random
import string
from pathlib import Path

from crnn_onnx.charset import PRINTABLE_ASCII

PUNCT = ".,;:!?'\"()-&/%$#@*+=[]<>_"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
          "January", "February", "March", "April", "June", "July", "August", "September", "October",
          "November", "December"]


def load_words(source: str | Path | None = None, top_n: int = 80_000) -> list[str]:
    """Word list from a file (one word per line) or, when None, wordfreq's English top ``top_n``."""
    if source:
        return [w for w in Path(source).read_text(encoding="utf-8").split() if w.isascii()]
    from wordfreq import top_n_list
    return [w for w in top_n_list("en", top_n) if w.isascii() and w.isprintable()]


class TextSampler:
    """Draws label strings; every character is in printable ASCII."""

    def __init__(self, words: list[str], rng: random.Random):
        self.words = words
        self.rng = rng

    def _case(self, word: str) -> str:
        r = self.rng.random()
        if r < 0.45:
            return word
        if r < 0.75:
            return word[:1].upper() + word[1:]
        if r < 0.95:
            return word.upper()
        return "".join(c.upper() if self.rng.random() < 0.5 else c for c in word)

    def word(self) -> str:
        # Favour frequent words but reach the long tail: index ~ N * u^2.
        return self._case(self.words[int(len(self.words) * self.rng.random() ** 2)])

    def number(self) -> str:
        r, rng = self.rng.random(), self.rng
        if r < 0.3:
            return str(rng.randint(0, 10 ** rng.randint(1, 7)))
        if r < 0.5:
            return f"{rng.uniform(0, 10 ** rng.randint(1, 5)):.{rng.choice([1, 2, 2, 3])}f}"
        if r < 0.65:
            return f"{rng.randint(1, 999999):,}"
        if r < 0.8:
            return rng.choice(["$", "RM", "", "USD ", "EUR "]) + f"{rng.uniform(0, 2000):.2f}"
        if r < 0.9:
            return f"{rng.randint(0, 100)}%"
        return rng.choice(["+", "-", "(", "#", "No."]) + str(rng.randint(0, 99999)) + rng.choice(["", ")", "."])

    def date(self) -> str:
        rng = self.rng
        d, m, y = rng.randint(1, 31), rng.randint(1, 12), rng.randint(1950, 2035)
        return rng.choice([f"{d:02d}/{m:02d}/{y}", f"{d}/{m}/{y % 100:02d}", f"{y}-{m:02d}-{d:02d}",
                           f"{d:02d}.{m:02d}.{y}", f"{rng.choice(MONTHS)} {d}, {y}", f"{d} {rng.choice(MONTHS)} {y}",
                           f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
                           f"{rng.randint(1, 12)}:{rng.randint(0, 59):02d} {rng.choice(['AM', 'PM', 'am', 'pm'])}"])

    def code(self) -> str:
        rng = self.rng
        alphabet = rng.choice([string.ascii_uppercase + string.digits, string.digits, string.ascii_letters + string.digits])
        parts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(2, 6))) for _ in range(rng.randint(1, 3))]
        return rng.choice(["-", "", "/", " ", "."]).join(parts)

    def random_chars(self) -> str:
        return "".join(self.rng.choice(PRINTABLE_ASCII[1:]) for _ in range(self.rng.randint(1, 12)))

    def token(self) -> str:
        """One token: mostly a word, sometimes a number, date, code or symbol string, with punctuation."""
        r = self.rng.random()
        if r < 0.62:
            tok = self.word()
        elif r < 0.77:
            tok = self.number()
        elif r < 0.84:
            tok = self.date()
        elif r < 0.92:
            tok = self.code()
        else:
            tok = self.random_chars()
        p = self.rng.random()
        if p < 0.12:
            tok += self.rng.choice(".,;:!?)'\"-")
        elif p < 0.17:
            tok = self.rng.choice("(\"'#$-") + tok
        elif p < 0.20:
            tok = tok + self.rng.choice(["'s", "s", "-", ":", "..."])
        return tok

    def single(self) -> str:
        """A word-crop label (1 token, sometimes 2 or 3 joined by a space)."""
        n = 1 if self.rng.random() < 0.8 else self.rng.randint(2, 3)
        return " ".join(self.token() for _ in range(n))

    def line(self, max_chars: int = 100) -> str:
        """A text line of 10 to ``max_chars`` characters in one case style for the whole line,
        as printed lines are: running text (lower case, capitals after a full stop and on
        some names), Title Case, ALL CAPS (receipts, forms), or each word's own case;
        ``FLAT_LINE_SHARE`` of them without descender letters."""
        target = self.rng.randint(10, max_chars)
        style = self.rng.choices(LINE_CASE_STYLES, LINE_CASE_WEIGHTS)[0]
        flat = self.rng.random() < FLAT_LINE_SHARE
        tokens, length = [], 0
        while length < target:
            tok = self.token()
            if flat and DESCENDERS.intersection(tok.lower()):
                continue
            tokens.append(_restyle(tok, style, self.rng, sentence_start=not tokens or tokens[-1].endswith(".")))
            length += len(tok) + 1
        text = " ".join(tokens)[:max_chars].strip()
        if self.rng.random() < 0.1:  # receipt style: item, padding, price
            item = " ".join(_restyle(self.word(), style, self.rng, sentence_start=not i)
                            for i in range(self.rng.randint(1, 4)))
            text = f"{item}{' ' * self.rng.randint(1, 6)}{self.number()}"
        return text.upper() if style == "upper" else text


#: Share of lines drawn from tokens without a descender letter. Cut tight to the ink, such a
#: line has its baseline at the bottom edge, as an ALL CAPS line does; a long line in lower
#: case almost always has a descender, so without these the model reads a flat lower-case
#: line (UW3: "has failed since the local nature of these ...") as capitals.
FLAT_LINE_SHARE = 0.15
DESCENDERS = frozenset("gjpqy")

#: Case styles of synthetic text lines and their shares.
LINE_CASE_STYLES = ("running", "title", "upper", "per_word")
LINE_CASE_WEIGHTS = (0.6, 0.08, 0.12, 0.2)


def _restyle(token: str, style: str, rng: random.Random, sentence_start: bool) -> str:
    """``token`` (already in a random case pattern) recased for a line of ``style``; tokens
    that do not start with a letter (numbers, dates, codes) keep their case."""
    first = next((i for i, c in enumerate(token[:2]) if c.isalpha()), None)
    if style == "per_word" or first is None:
        return token
    lowered = token.lower()
    capitalised = lowered[:first] + lowered[first].upper() + lowered[first + 1:]
    if style == "title":
        return capitalised
    if style == "running":
        if (sentence_start and rng.random() < 0.6) or rng.random() < 0.1:  # sentence starts, names
            return capitalised
        return token.upper() if rng.random() < 0.02 else lowered  # the odd acronym
    return token
