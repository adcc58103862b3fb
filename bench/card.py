"""Rewrite a generated block of a markdown file (the model card) between two marker comments."""
from __future__ import annotations

from pathlib import Path


def replace_block(path: Path, begin: str, end: str, text: str) -> None:
    """Put ``text`` between the ``begin`` and ``end`` markers of ``path`` (both must be there)."""
    body = path.read_text(encoding="utf-8")
    if begin not in body or end not in body:
        raise SystemExit(f"{path} has no {begin} ... {end} block")
    head, rest = body.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{text}\n{end}{tail}", encoding="utf-8")
