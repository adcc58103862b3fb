"""Accuracy of a crnn-onnx model on every dev crop set, beside the peers and the issue-4 bars (DESIGN §8).

Not a test. For each folder of ``--data`` (default ``../shared/data``) that
holds a ``labels.tsv``, it reads every crop with ``crnn_onnx.Recogniser(...)
.read_batch`` (paths, so image decoding is included: this is not a speed
figure), once with the greedy decoder (the runtime's default, which the bars
are judged on) and once with beam search of width 10, and scores each with
``crnn_onnx.metrics.score``: word accuracy (case-insensitive alphanumeric),
exact accuracy and CER. Items are fitted to the printable-ASCII charset exactly
as ``crnn-onnx eval`` does (``labels.fit_items``; e.g. FUNSD's ``☐`` crops are
dropped, none of which has a letter or digit), so the numbers equal
``crnn-onnx eval``'s. With beam search it also reads every crop with beam
search of width 10 preferring the words of a lexicon (``--lexicon``, default the
bundled ``en``: ``crnn-onnx eval --decoder beam --lexicon en``), and judges the
bars on that reading too.

It prints a markdown table with the peers' figures hard-coded from
``shared/notes/peers.md`` (measured 2026-11-27 on the same crops, all items) and
the bars of issue 4: word accuracy iiit5k 85, icdar2013 85, svt 80, sroie 92,
funsd 85; uw3_lines CER <= 1 %; and on every set at least EasyOCR's and
Tesseract's word accuracy (the "floor"; on uw3_lines, where a word is a whole
line, their CER).

Usage, from the repository root::

    python bench/accuracy.py [--model PATH] [--out results.json] [--no-beam] [--lexicon en]
        [--card models/README.md] [--gallery models/error_gallery.png] [--results results.json]

``--out`` writes the scores and every item's reading (path, gt, greedy and
beam predictions, confidence) as JSON, which ``--results`` re-renders instead
of reading the sets again; ``--card`` rewrites the block between
``<!-- accuracy:begin -->`` and ``<!-- accuracy:end -->`` of a markdown file
(``--block NAME`` uses ``<!-- NAME:begin -->`` ... instead) with the model's
identity and the table; ``--gallery`` draws the worst misreads with
:mod:`bench.gallery` from the same readings. ``--baseline OTHER.json`` (another
model's ``--out``) adds that model's greedy word accuracy as a column, e.g. the
default model beside the handwriting model::

    python bench/accuracy.py --model handwriting --baseline runs/accuracy.json \
        --card models/README.md --block accuracy-handwriting
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crnn_onnx import Recogniser, labels, metrics  # noqa: E402
from bench.card import replace_block  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
BEAM_WIDTH = 10
#: The bundled lexicon read with beam search beside plain beam search (``--lexicon``).
LEXICON = "en"
#: Known sets in table order; any other folder with a labels.tsv is appended.
ORDER = ("iiit5k_test", "icdar2013_test", "svt_test", "sroie_receipts_crops", "funsd_test_crops", "uw3_lines",
         "kaggle_names_test")
LINE_SETS = ("uw3_lines",)

#: shared/notes/peers.md (measured 2026-11-27, recognition only, ground-truth crops, 1 thread, all crops):
#: set -> (n, {peer: (word accuracy %, CER %, median ms per crop)}).
PEER_NAMES = ("RapidOCR 3.10 (PP-OCRv6 rec small)", "RapidOCR 1.4.4 (PP-OCRv4 rec)", "EasyOCR 1.7.2 (english_g2)",
              "Tesseract 5.3 (tessdata_fast, best of psm 7/8)")
PEERS: dict[str, tuple[int, tuple[tuple[float, float, float], ...]]] = {
    "iiit5k_test": (1507, ((96.9, 4.83, 37.5), (92.2, 6.11, 21.1), (74.3, 18.94, 22.1), (72.7, 23.60, 5.6))),
    "icdar2013_test": (536, ((96.5, 1.20, 32.9), (91.2, 3.06, 21.6), (74.4, 16.17, 27.6), (72.2, 17.72, 8.7))),
    "svt_test": (280, ((94.6, 22.70, 25.2), (86.8, 24.86, 20.8), (60.4, 42.38, 28.0), (74.3, 38.35, 8.9))),
    "sroie_receipts_crops": (1522, ((94.0, 26.65, 24.7), (89.6, 31.41, 20.9), (64.6, 35.75, 31.8),
                                    (70.8, 31.31, 6.2))),
    "funsd_test_crops": (1992, ((93.2, 4.04, 24.8), (87.0, 5.87, 21.4), (46.0, 31.47, 21.7), (76.3, 15.29, 3.6))),
    "uw3_lines": (254, ((96.0, 0.96, 71.5), (92.5, 1.69, 61.4), (81.8, 4.07, 120.0), (95.7, 1.19, 25.9))),
    "kaggle_names_test": (796, ((61.8, 22.77, 33.7), (19.9, 72.49, 28.2), (13.9, 151.23, 67.7),
                                (22.6, 90.29, 7.3))),
}
#: Issue 4's bars (and issue 7's, for the handwriting model, on kaggle_names_test):
#: set -> ("word", minimum word accuracy %) or ("cer", maximum CER %).
BARS = {"iiit5k_test": ("word", 85.0), "icdar2013_test": ("word", 85.0), "svt_test": ("word", 80.0),
        "sroie_receipts_crops": ("word", 92.0), "funsd_test_crops": ("word", 85.0), "uw3_lines": ("cer", 1.0),
        "kaggle_names_test": ("word", 62.0)}


def find_sets(data: Path, only: list[str] | None = None) -> list[Path]:
    """The labels.tsv files under ``data`` (one level down), known sets first in ORDER."""
    found = {tsv.parent.name: tsv for tsv in sorted(data.glob("*/labels.tsv"))}
    names = [n for n in ORDER if n in found] + [n for n in found if n not in ORDER]
    if only:
        missing = [n for n in only if n not in found]
        if missing:
            raise SystemExit(f"no labels.tsv for {missing} under {data}")
        names = [n for n in names if n in only]
    return [found[n] for n in names]


def read_set(rec: Recogniser, items: list[tuple[Path, str]], chunk: int = 256) -> list:
    """Predictions for every item's image, read in chunks (as ``crnn-onnx eval`` does)."""
    predictions = []
    for first in range(0, len(items), chunk):
        predictions += rec.read_batch([path for path, _ in items[first:first + chunk]])
    return predictions


def model_identity(model: str | None) -> dict:
    """Name, version, path, size, sha256 and training summary of the model that ``Recogniser(model)`` loads."""
    spec = Recogniser(model, threads=1, inter_op_threads=1).spec
    data = Path(spec.path).read_bytes()
    return {"name": spec.name, "version": spec.version, "path": str(spec.path), "bytes": len(data),
            "sha256": hashlib.sha256(data).hexdigest(), "classes": spec.num_classes,
            "input_height": spec.input_spec.input_height, "training": spec.training}


def evaluate(model: str | None, tsvs: list[Path], beam: bool = True, limit: int | None = None,
             threads: int = 1, lexicon: str | None = LEXICON, log=print) -> dict:
    """Scores (greedy and, with ``beam``, beam width 10 without and with ``lexicon``) and per-item readings
    on each labels.tsv."""
    decoders = {"greedy": Recogniser(model, threads=threads, inter_op_threads=1)}
    if beam:
        decoders["beam"] = Recogniser(model, threads=threads, inter_op_threads=1, decoder="beam",
                                      beam_width=BEAM_WIDTH)
        if lexicon:
            decoders["lexicon"] = Recogniser(model, threads=threads, inter_op_threads=1, decoder="beam",
                                             beam_width=BEAM_WIDTH, lexicon=lexicon)
    results = {"model": model_identity(model), "beam_width": BEAM_WIDTH if beam else None,
               "lexicon": lexicon if beam else None, "date": datetime.date.today().isoformat(), "sets": {}}
    for tsv in tsvs:
        kept, dropped = labels.fit_items(labels.read_labels(tsv))
        kept = kept[:limit]
        gts = [text for _, text in kept]
        entry = {"labels": str(tsv), "items": len(kept), "dropped_outside_charset": len(dropped), "scores": {},
                 "seconds": {}}
        readings = {}
        for name, rec in decoders.items():
            start = time.perf_counter()
            predictions = read_set(rec, kept)
            entry["seconds"][name] = round(time.perf_counter() - start, 2)
            entry["scores"][name] = metrics.score([p.text for p in predictions], gts).as_dict()
            readings[name] = predictions
        greedy_texts = [p.text for p in readings["greedy"]]
        entry["diagnostics"] = {"cer_casefold_greedy": metrics.score([t.lower() for t in greedy_texts],
                                                                     [t.lower() for t in gts]).cer}
        entry["readings"] = [
            {"path": str(path.relative_to(tsv.parent)), "gt": gt, "pred": g.text, "confidence": round(g.confidence, 4),
             **{name: readings[name][i].text for name in decoders if name != "greedy"}}
            for i, ((path, gt), g) in enumerate(zip(kept, readings["greedy"]))]
        results["sets"][tsv.parent.name] = entry
        s = entry["scores"]
        log(f"{tsv.parent.name}: {len(kept)} items, word {100 * (s['greedy']['word_accuracy'] or 0):.2f}% greedy"
            + "".join(f", {100 * (s[name]['word_accuracy'] or 0):.2f}% {name}" for name in decoders if name != "greedy")
            + f", CER {100 * (s['greedy']['cer'] or 0):.2f}% ({entry['seconds']})")
    return results


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{100 * value:.{digits}f}"


def verdict(name: str, score: dict) -> tuple[str, str]:
    """(bar, floor) verdicts of a greedy score: 'met (+x.x pt)' / 'missed by x.x pt' / '–'; CER margins
    in hundredths ('missed by 0.05 pt CER'), since a line set's CER gaps are that small."""
    word = 100 * (score["word_accuracy"] or 0.0)
    cer = 100 * (score["cer"] or 0.0)

    def judge(kind: str, limit: float) -> str:
        margin = word - limit if kind == "word" else limit - cer
        unit, digits = ("pt", 1) if kind == "word" else ("pt CER", 2)
        return f"met (+{margin:.{digits}f} {unit})" if margin >= 0 else f"**missed by {-margin:.{digits}f} {unit}**"

    bar = judge(*BARS[name]) if name in BARS else "–"
    floor = "–"
    if name in PEERS:
        _, peers = PEERS[name]
        easy, tess = peers[2], peers[3]
        if name in LINE_SETS:
            floor = judge("cer", min(easy[1], tess[1]))
        else:
            floor = judge("word", max(easy[0], tess[0]))
    return bar, floor


def table(results: dict, baseline: dict | None = None) -> str:
    """The markdown table: ours (greedy, beam, beam with the lexicon) beside the peers, with the bars
    judged on greedy and on the lexicon reading.

    ``baseline`` (another model's results) adds its greedy word accuracy per set as a column.
    """
    beam = results.get("beam_width") is not None
    lexicon = results.get("lexicon") if beam else None
    head = ["set", "n scored (dropped)", "bar"]
    head += ["**ours** word % greedy"] + ([f"ours word % beam {results['beam_width']}"] if beam else [])
    head += [f"ours word % beam {results['beam_width']} + lexicon `{lexicon}`"] if lexicon else []
    if baseline:
        head.append(f"`{baseline['model']['name']}` v{baseline['model']['version']} word % greedy")
    head += ["ours exact %", "ours CER % greedy"] + ([f"ours CER % beam"] if beam else [])
    head += [f"{p}: word % / CER %" for p in PEER_NAMES] + ["bar met? (greedy)", "floor (EasyOCR, Tesseract) met?"]
    head += [f"with lexicon `{lexicon}`: bar / floor met?"] if lexicon else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, entry in results["sets"].items():
        g = entry["scores"]["greedy"]
        kind, limit = BARS.get(name, (None, None))
        bar = "–" if kind is None else (f"word ≥ {limit:g}" if kind == "word" else f"CER ≤ {limit:g}")
        row = [name, f"{entry['items']} ({entry['dropped_outside_charset']})", bar, f"**{_pct(g['word_accuracy'])}**"]
        if beam:
            row.append(_pct(entry["scores"]["beam"]["word_accuracy"]))
        if lexicon:
            row.append(_pct(entry["scores"]["lexicon"]["word_accuracy"]))
        if baseline:
            other = baseline["sets"].get(name)
            row.append(_pct(other["scores"]["greedy"]["word_accuracy"]) if other else "–")
        row += [_pct(g["exact_accuracy"]), _pct(g["cer"], 2)]
        if beam:
            row.append(_pct(entry["scores"]["beam"]["cer"], 2))
        peers = PEERS.get(name, (None, ((None, None, None),) * len(PEER_NAMES)))[1]
        row += ["–" if w is None else f"{w:.1f} / {c:.2f}" for w, c, _ in peers]
        row += list(verdict(name, g))
        if lexicon:
            row.append(" / ".join(verdict(name, entry["scores"]["lexicon"])))
        lines.append("| " + " | ".join(row) + " |")
    folded = [f"{name} {_pct(entry['diagnostics']['cer_casefold_greedy'], 2)}"
              for name, entry in results["sets"].items() if "diagnostics" in entry]
    if folded:
        lines += ["", "Diagnostic, not a DESIGN §8 figure: greedy CER % with case ignored (both strings lower-cased): "
                  + ", ".join(folded) + "."]
    return "\n".join(lines)


def card_block(results: dict, baseline: dict | None = None) -> str:
    """The model card's generated block: which model, when, and the table."""
    m = results["model"]
    t = m.get("training") or {}
    notes = (f"Model `{m['name']}` version **{m['version']}**, `{Path(m['path']).name}`, {m['bytes'] / 1e6:.2f} MB, "
             f"sha256 `{m['sha256'][:16]}…`; its ONNX metadata says the last training stage ran "
             f"{t.get('steps', '?')} steps, {t.get('images_seen', '?')} images. Measured {results['date']} with "
             "`python bench/accuracy.py`. Word accuracy is case-insensitive alphanumeric (DESIGN §8); the bars are "
             "judged on the greedy decoder, the runtime's default, and on beam search with the bundled lexicon "
             f"(`decoder=\"beam\", lexicon=\"{results.get('lexicon')}\"`) where that column is there. Peers from `shared/notes/peers.md` (same crops, "
             "all items; the dropped items are FUNSD's `☐` boxes, which have no letter or digit, so no word "
             "accuracy moves). On uw3_lines a word is a whole line and CER is the figure to compare; SVT and SROIE "
             "ground truth is upper case where the image need not be, so CER there mostly counts letter case and "
             "word accuracy is the figure to compare.")
    if baseline:
        b = baseline["model"]
        notes += (f" The baseline column is `{b['name']}` version {b['version']} (sha256 `{b['sha256'][:16]}…`), "
                  f"measured {baseline['date']} by the same script.")
    return f"{notes}\n\n{table(results, baseline)}"


def write_card(path: Path, results: dict, baseline: dict | None = None, block: str = "accuracy") -> None:
    """Replace the ``<!-- block:begin -->`` ... ``<!-- block:end -->`` part of the model card."""
    replace_block(path, f"<!-- {block}:begin -->", f"<!-- {block}:end -->", card_block(results, baseline))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="bundled model name or .onnx path (default: the bundled default model)")
    parser.add_argument("--data", type=Path, default=DATA, help=f"folder of crop sets (default {DATA})")
    parser.add_argument("--sets", nargs="+", help="only these set names")
    parser.add_argument("--limit", type=int, help="only the first N items of each set (quick checks)")
    parser.add_argument("--no-beam", action="store_true", help="greedy only (a third of the time)")
    parser.add_argument("--lexicon", default=LEXICON,
                        help=f"lexicon for the third reading, beam search preferring its words (default {LEXICON!r})")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime intra-op threads (default 1)")
    parser.add_argument("--results", type=Path, help="re-render from this --out JSON instead of reading the sets")
    parser.add_argument("--out", type=Path, help="write scores and per-item readings as JSON")
    parser.add_argument("--card", type=Path, help="rewrite the accuracy block of this markdown (the model card)")
    parser.add_argument("--block", default="accuracy", help="card block name (default: accuracy)")
    parser.add_argument("--baseline", type=Path, help="another model's --out JSON, shown as a column")
    parser.add_argument("--gallery", type=Path, help="also draw the worst misreads to this PNG (bench/gallery.py)")
    args = parser.parse_args(argv)
    baseline = json.loads(args.baseline.read_text(encoding="utf-8")) if args.baseline else None
    if args.results:
        results = json.loads(args.results.read_text(encoding="utf-8"))
    else:
        tsvs = find_sets(args.data, args.sets)
        if not tsvs:
            raise SystemExit(f"no */labels.tsv under {args.data}")
        results = evaluate(args.model, tsvs, beam=not args.no_beam, limit=args.limit, threads=args.threads,
                           lexicon=args.lexicon, log=lambda s: print(s, file=sys.stderr))
    m = results["model"]
    print(f"model {m['name']} v{m['version']} ({m['path']}, {m['bytes'] / 1e6:.2f} MB, sha256 {m['sha256'][:16]})")
    print(table(results, baseline))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.card:
        write_card(args.card, results, baseline, args.block)
    if args.gallery:
        from bench import gallery
        gallery.make(results, args.data, args.gallery)
        print(f"gallery: {args.gallery} ({args.gallery.stat().st_size // 1024} KB)", file=sys.stderr)


if __name__ == "__main__":
    main()
