"""Charset helpers and the one table that maps labels into a charset (DESIGN §1).

Loaders and evaluation both call :func:`fit_label`, so training and scoring see
text the same way.
"""
from __future__ import annotations

import unicodedata

#: Printable ASCII, U+0020 (space) to U+007E, in code-point order.
PRINTABLE_ASCII: tuple[str, ...] = tuple(chr(c) for c in range(0x20, 0x7F))

#: Characters mapped to others before the charset check (applied per character).
LABEL_MAP: dict[str, str] = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u00b4": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
    "\u00b0": "o", "\u00ba": "o", "\u00aa": "a",
    "\u00d7": "x", "\u2026": "...", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
    "\u00df": "ss", "\u00e6": "ae", "\u00c6": "AE", "\u0153": "oe", "\u0152": "OE",
    "\u00f8": "o", "\u00d8": "O", "\u0142": "l", "\u0141": "L", "\u00b7": ".",
    "\u2022": "*", "\u00a3": "L", "\u20ac": "E", "\u00a9": "(c)", "\u00ae": "(R)",
    "\u00bd": "1/2", "\u00bc": "1/4", "\u00be": "3/4", "\u00b2": "2", "\u00b3": "3", "\u00b9": "1",
    "\t": " ", "\u00c2": "",
}


def _map_char(char: str) -> str:
    if char in LABEL_MAP:
        return LABEL_MAP[char]
    if ord(char) < 0x80:
        return char
    # Accented letters to their base letter: drop combining marks after NFKD.
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fit_label(text: str, charset: frozenset[str] | set[str] | tuple[str, ...] = PRINTABLE_ASCII) -> str | None:
    """Map ``text`` into ``charset`` with :data:`LABEL_MAP` and accent stripping.

    Returns the mapped text, or None when a character still does not fit (the
    caller drops and counts the item).
    """
    allowed = charset if isinstance(charset, (set, frozenset)) else frozenset(charset)
    mapped = "".join(c if c in allowed else _map_char(c) for c in text)
    if any(c not in allowed for c in mapped):
        return None
    return mapped
