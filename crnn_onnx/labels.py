"""Crop sets in the ``labels.tsv`` format (DESIGN §7) and their fit to a model's charset (DESIGN §1).

A ``labels.tsv`` is UTF-8 without a header; each line is
``images/<file><TAB><text>``, the path relative to the tsv's folder. The text
is everything after the first tab (it may contain spaces, never a tab).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

from .charset import PRINTABLE_ASCII, fit_label


def read_labels(tsv: str | Path) -> list[tuple[Path, str]]:
    """The (image path, text) items of a ``labels.tsv``, paths resolved against its folder, texts as given.

    Blank lines are skipped; a non-blank line without a tab raises ``ValueError`` naming the line.
    """
    tsv = Path(tsv)
    items = []
    for number, line in enumerate(tsv.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if "\t" not in line:
            raise ValueError(f"{tsv}:{number}: expected '<path>\\t<text>', got {line!r}")
        path, text = line.split("\t", 1)
        items.append((tsv.parent / path, text))
    return items


def fit_items(items: Iterable[tuple[Path, str]], charset: Iterable[str] = PRINTABLE_ASCII
              ) -> tuple[list[tuple[Path, str]], list[tuple[Path, str]]]:
    """Map each item's text into ``charset`` with :func:`charset.fit_label` (the table training uses).

    Returns (kept items with mapped texts, dropped items with their original
    texts); an item is dropped when a character still does not fit (e.g. ``☐``).
    Evaluation fits to the default charset (printable ASCII) whatever the
    model's charset, so every model is scored on the same items; it scores
    the kept items and reports the dropped count.
    """
    allowed = frozenset(charset)
    kept, dropped = [], []
    for path, text in items:
        mapped = fit_label(text, allowed)
        if mapped is None:
            dropped.append((path, text))
        else:
            kept.append((path, mapped))
    return kept, dropped
