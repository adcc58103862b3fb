"""Find usable Latin fonts and drop the ones that would produce wrong labels.

A font is usable when its cmap covers ``REQUIRED`` and it is not caps-only or
small-caps (those render lower-case labels as capitals). The checks use
fontTools: lower-case and capital mapped to one glyph, identical decomposed
outlines for several letter pairs, or an x-height close to the cap height.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from fontTools.pens.boundsPen import BoundsPen
from fontTools.pens.recordingPen import DecomposingRecordingPen
from fontTools.ttLib import TTFont

log = logging.getLogger(__name__)
logging.getLogger("fontTools").setLevel(logging.ERROR)

#: Every printable ASCII character must have a glyph: a missing one renders as a box under a real label.
REQUIRED = "".join(chr(c) for c in range(0x21, 0x7F))
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts")
CASE_PAIRS = ("aA", "eE", "gG", "rR", "bB", "dD", "hH")
#: Fonts that pass the automatic checks but are small caps or symbol fonts.
DENYLIST = ("amatic", "smallcaps", "dingbat", "symbol")


def _outline(glyph_set, name: str):
    pen = DecomposingRecordingPen(glyph_set)
    glyph_set[name].draw(pen)
    return pen.value


def _height(glyph_set, name: str) -> float:
    pen = BoundsPen(glyph_set)
    glyph_set[name].draw(pen)
    return 0.0 if pen.bounds is None else pen.bounds[3] - pen.bounds[1]


def font_problem(path: Path) -> str | None:
    """Why the font at ``path`` is unusable, or None when it is fine."""
    if any(word in path.name.lower() for word in DENYLIST):
        return "deny-listed"
    try:
        font = TTFont(str(path), fontNumber=0, lazy=True)
        cmap = font.getBestCmap() or {}
        missing = [c for c in REQUIRED if ord(c) not in cmap]
        if missing:
            return f"missing {''.join(missing[:10])}"
        return case_problem(font)
    except Exception as exc:  # a broken font file is just skipped
        return f"unreadable: {exc}"


def case_problem(font: TTFont) -> str | None:
    """Why ``font`` draws lower case as capitals (caps-only or small caps), or None."""
    cmap = font.getBestCmap() or {}
    glyph_set = font.getGlyphSet()
    if any(cmap[ord(lo)] == cmap[ord(up)] for lo, up in CASE_PAIRS):
        return "caps-only (shared glyphs)"
    same = sum(_outline(glyph_set, cmap[ord(lo)]) == _outline(glyph_set, cmap[ord(up)]) for lo, up in CASE_PAIRS)
    if same >= 3:
        return "caps-only (identical outlines)"
    x_height, cap_height = _height(glyph_set, cmap[ord("x")]), _height(glyph_set, cmap[ord("X")])
    if cap_height <= 0 or x_height / cap_height > 0.9:
        return "small caps (x-height close to cap height)"
    return None


def find_fonts(dirs: tuple[str, ...] | list[str] = FONT_DIRS, cache: Path | None = None) -> list[Path]:
    """Usable, de-duplicated (by SHA-1) .ttf/.otf files under ``dirs``, sorted; cached as JSON when asked."""
    if cache and cache.is_file():
        return [Path(p) for p in json.loads(cache.read_text())]
    seen, usable, dropped = set(), [], 0
    for folder in dirs:
        for path in sorted(Path(folder).rglob("*")):
            if path.suffix.lower() not in (".ttf", ".otf"):
                continue
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            problem = font_problem(path)
            if problem:
                dropped += 1
                log.debug("font %s dropped: %s", path, problem)
            else:
                usable.append(path)
    log.info("fonts: %d usable, %d dropped", len(usable), dropped)
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps([str(p) for p in usable]))
    return usable
