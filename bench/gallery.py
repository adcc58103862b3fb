"""Error gallery: a PNG of the model's worst misreads on the dev crop sets, ground truth and prediction under each.

Not a test. A misread is an item whose prediction differs from its ground truth
in case-insensitive alphanumeric terms (DESIGN §8 word accuracy; on line sets
the whole line). Within each set misreads are ranked by edit distance (raw
strings, as CER counts them), then by lower confidence; the gallery takes them
round-robin over the sets, so every set shows its worst few. Word crops are
laid out four to a row; line crops (ground truth over 25 characters) take a
whole row. Under each crop: the set and confidence, the ground truth, and the
prediction with the characters that differ in red.

Usage, from the repository root::

    python bench/gallery.py [--model PATH] [--results results.json] [--count 24] [--out models/error_gallery.png]
        [--sets kaggle_names_test ...]

Without ``--results`` (the JSON that ``bench/accuracy.py --out`` writes) it reads
every set with the greedy decoder first (what ``bench/accuracy.py --gallery``
does from its own readings). The PNG is palette-quantised to stay under
``--max-kb`` (500).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import difflib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crnn_onnx import metrics  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "models" / "error_gallery.png"
COLUMNS, TILE_W, CROP_H, PAD = 4, 330, 56, 8
LINE_CHARS = 25
FONT_CANDIDATES = ("/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
                   "/usr/share/fonts/truetype/liberation/LiberationMono-Regular.ttf")


def worst(results: dict, count: int = 24) -> list[dict]:
    """The ``count`` worst misreads, round-robin over the sets of ``results`` (bench/accuracy.py's JSON)."""
    per_set = []
    for name, entry in results["sets"].items():
        wrong = [dict(r, set=name, distance=metrics.levenshtein(r["pred"], r["gt"]))
                 for r in entry["readings"] if metrics.alnum(r["pred"]) != metrics.alnum(r["gt"])]
        wrong.sort(key=lambda r: (-r["distance"], r["confidence"], r["path"]))
        per_set.append(wrong)
    chosen, depth = [], 0
    while len(chosen) < count and any(depth < len(w) for w in per_set):
        for wrong in per_set:
            if depth < len(wrong) and len(chosen) < count:
                chosen.append(wrong[depth])
        depth += 1
    return chosen


def _font(size: int) -> ImageFont.ImageFont:
    for path in FONT_CANDIDATES:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


def _fit(text: str, font, width: int, draw: ImageDraw.ImageDraw) -> str:
    """``text`` cut with an ellipsis to fit ``width`` pixels."""
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _draw_diff(draw: ImageDraw.ImageDraw, xy: tuple[int, int], pred: str, gt: str, font, width: int) -> None:
    """``pred`` with the characters that are not in the gt alignment in red (the rest black)."""
    x, y = xy
    shown = _fit(pred, font, width, draw)
    cut = len(shown) - (1 if shown.endswith("…") and shown != pred else 0)
    wrong = [True] * len(pred)
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, pred, gt, autojunk=False).get_opcodes():
        if tag == "equal":
            for i in range(i1, i2):
                wrong[i] = False
    for i, char in enumerate(shown):
        colour = (200, 0, 0) if i < cut and wrong[i] else (0, 0, 0)
        draw.text((x, y), char, fill=colour, font=font)
        x += draw.textlength(char, font=font)


def _tile(item: dict, data: Path, width: int, fonts) -> Image.Image:
    small, text_font = fonts
    crop = Image.open(data / item["set"] / item["path"]).convert("RGB")
    scale = min(CROP_H / crop.height, (width - 2 * PAD) / crop.width)
    crop = crop.resize((max(1, round(crop.width * scale)), max(1, round(crop.height * scale))), Image.LANCZOS)
    line_h = text_font.size + 4
    tile = Image.new("RGB", (width, CROP_H + 2 * PAD + 3 * line_h + small.size), "white")
    tile.paste(crop, (PAD, PAD))
    draw = ImageDraw.Draw(tile)
    y = CROP_H + PAD + 4
    draw.text((PAD, y), _fit(f"{item['set']} · conf {item['confidence']:.2f} · {item['distance']} edits",
                             small, width - 2 * PAD, draw), fill=(90, 90, 90), font=small)
    y += small.size + 3
    draw.text((PAD, y), "gt  ", fill=(0, 110, 0), font=text_font)
    offset = round(draw.textlength("gt  ", font=text_font))
    draw.text((PAD + offset, y), _fit(item["gt"], text_font, width - 2 * PAD - offset, draw), fill=(0, 0, 0),
              font=text_font)
    y += line_h
    draw.text((PAD, y), "got ", fill=(200, 0, 0), font=text_font)
    _draw_diff(draw, (PAD + offset, y), item["pred"], item["gt"], text_font, width - 2 * PAD - offset)
    draw.rectangle((0, 0, width - 1, tile.height - 1), outline=(210, 210, 210))
    return tile


def draw(items: list[dict], data: Path, out: Path, title: str = "", max_kb: int = 500) -> None:
    """Lay the misreads out (words four to a row, lines one to a row) and save a PNG under ``max_kb``."""
    fonts = (_font(11), _font(13))
    full = COLUMNS * TILE_W
    words = [it for it in items if len(it["gt"]) <= LINE_CHARS]
    lines = [it for it in items if len(it["gt"]) > LINE_CHARS]
    rows: list[list[Image.Image]] = []
    word_tiles = [_tile(it, data, TILE_W, fonts) for it in words]
    rows += [word_tiles[i:i + COLUMNS] for i in range(0, len(word_tiles), COLUMNS)]
    rows += [[_tile(it, data, full, fonts)] for it in lines]
    header = 28 if title else 0
    height = header + sum(max(t.height for t in row) for row in rows)
    sheet = Image.new("RGB", (full, max(height, 1)), "white")
    if title:
        ImageDraw.Draw(sheet).text((PAD, 7), title, fill=(0, 0, 0), font=_font(14))
    y = header
    for row in rows:
        x = 0
        for tile in row:
            sheet.paste(tile, (x, y))
            x += tile.width
        y += max(t.height for t in row)
    out.parent.mkdir(parents=True, exist_ok=True)
    for colours in (64, 32, 16, 8):
        buffer = io.BytesIO()
        sheet.quantize(colours, method=Image.Quantize.MEDIANCUT).save(buffer, "PNG", optimize=True)
        if buffer.tell() <= max_kb * 1024:
            break
    out.write_bytes(buffer.getvalue())


def title_for(results: dict, items: list[dict]) -> str:
    m = results["model"]
    return (f"{m['name']} v{m['version']} (sha256 {m['sha256'][:12]}): {len(items)} worst misreads, greedy decoder, "
            f"by edit distance per set, {results['date']}")


def make(results: dict, data: Path, out: Path, count: int = 24, max_kb: int = 500) -> list[dict]:
    """Pick the worst misreads of ``results`` and draw them to ``out``; returns the items drawn."""
    items = worst(results, count)
    draw(items, data, out, title_for(results, items), max_kb)
    return items


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="bundled model name or .onnx path (default: the bundled default model)")
    parser.add_argument("--results", type=Path, help="bench/accuracy.py --out JSON (default: read the sets now)")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--max-kb", type=int, default=500)
    parser.add_argument("--sets", nargs="+", help="only these sets' misreads (e.g. the handwriting set)")
    args = parser.parse_args(argv)
    if args.results:
        results = json.loads(args.results.read_text(encoding="utf-8"))
        if args.sets:
            missing = [name for name in args.sets if name not in results["sets"]]
            if missing:
                raise SystemExit(f"{args.results} has no readings for {missing}")
            results["sets"] = {name: results["sets"][name] for name in args.sets}
    else:
        from bench import accuracy
        results = accuracy.evaluate(args.model, accuracy.find_sets(args.data, args.sets), beam=False,
                                    log=lambda s: print(s, file=sys.stderr))
    items = make(results, args.data, args.out, args.count, args.max_kb)
    print(f"{args.out}: {len(items)} misreads, {args.out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
