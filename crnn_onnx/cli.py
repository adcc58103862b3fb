"""``crnn-onnx``: read images, evaluate on a crop set, benchmark, and show a model's metadata.

Subcommands: ``read IMAGE... [--json]``, ``eval LABELS.tsv [--json] [--limit N]
[--worst K]``, ``bench [LABELS.tsv] --threads N``, ``info [MODEL]``,
``eval-pages ANNOTATIONS.jsonl [--compare-rapidocr] [--gt-boxes]`` (:mod:`crnn_onnx.pages`). Each takes
``--model`` (None: the bundled default; a bundled name; or a path, by the rule
of :mod:`crnn_onnx.registry`). Exit status: 0 on success, 1 when some input
could not be read, 2 for a usage, model or data error.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from . import __version__, labels, metrics
from .errors import InvalidImageError, ModelFormatError
from .recogniser import DECODERS, Recogniser


def _positive_int(text: str) -> int:
    """argparse type: an int of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return value


def _add_model_args(parser: argparse.ArgumentParser, decoding: bool = True) -> None:
    parser.add_argument("--model", help="bundled model name or path to a native .onnx (default: the bundled 'default')")
    parser.add_argument("--threads", type=int, help="onnxruntime intra-op threads (default: onnxruntime's choice)")
    if decoding:
        parser.add_argument("--decoder", choices=DECODERS, default="greedy")
        parser.add_argument("--beam-width", type=int, default=10, help="beam width for --decoder beam (default 10)")
        parser.add_argument("--lexicon", help="words preferred by --decoder beam: a bundled lexicon's name ('en') "
                            "or a word-list file, one word per line")
        parser.add_argument("--batch-size", type=int, default=32)
        parser.add_argument("--keep-margins", action="store_true",
                            help="read crops with their margins as given (default: blank margins wider than the "
                                 "model declares are cut down to them)")
        parser.add_argument("--keep-case", action="store_true",
                            help="keep the decoded letters' case (default: mixed-case words the model is unsure "
                                 "of are rewritten in lower, Title or UPPER case, and lines of 3+ words read mostly "
                                 "in capitals or with a mixed-case word are re-read word by word for each word's "
                                 "own case)")


def _recogniser(args: argparse.Namespace, threads: int | None = None) -> Recogniser:
    options: dict[str, Any] = {"threads": threads if threads is not None else args.threads}
    if hasattr(args, "decoder"):
        options.update(decoder=args.decoder, beam_width=args.beam_width, batch_size=args.batch_size,
                       lexicon=args.lexicon, trim_margins=not args.keep_margins, regular_case=not args.keep_case)
    return Recogniser(args.model, inter_op_threads=1, **options)


def _progress(total: int, label: str) -> Any:
    """A tqdm bar on stderr when tqdm is installed, else a plain ``label done/total`` line."""
    try:
        from tqdm import tqdm
        return tqdm(total=total, desc=label, unit="crop", file=sys.stderr)
    except ImportError:
        return _PlainProgress(total, label)


class _PlainProgress:
    def __init__(self, total: int, label: str):
        self.total, self.label, self.done = total, label, 0

    def update(self, count: int) -> None:
        self.done += count
        print(f"\r{self.label} {self.done}/{self.total}", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        print(file=sys.stderr)


def cmd_read(args: argparse.Namespace) -> int:
    rec = _recogniser(args)
    results, failed = [], False
    for image in args.images:
        try:
            prediction = rec.read(image)
        except InvalidImageError as exc:
            failed = True
            results.append({"path": image, "error": str(exc)})
            if not args.json:
                print(f"{image}: error: {exc}", file=sys.stderr)
            continue
        results.append({"path": image, **asdict(prediction)})
        if not args.json:
            print(f"{image}\t{prediction.text}\t{prediction.confidence:.3f}")
    if args.json:
        print(json.dumps(results, ensure_ascii=False, indent=1))
    return 1 if failed else 0


def _model_info(rec: Recogniser) -> dict:
    spec = rec.spec
    return {"name": spec.name, "version": spec.version, "path": str(spec.path)}


def cmd_eval(args: argparse.Namespace) -> int:
    rec = _recogniser(args)
    items = labels.read_labels(args.labels)
    if args.limit is not None:
        items = items[:args.limit]
    kept, dropped = labels.fit_items(items)  # the same items for every model (labels.fit_items)
    texts, confidences = [], []
    failure = None  # nothing is scored when an image cannot be read: a set missing an image is not the set
    bar = _progress(len(kept), "eval")
    try:
        for first in range(0, len(kept), 8 * args.batch_size):
            chunk = kept[first:first + 8 * args.batch_size]
            try:
                predictions = rec.read_batch([path for path, _ in chunk])
            except InvalidImageError as exc:
                path = str(chunk[exc.index][0])
                failure = exc.reason if path in exc.reason else f"{path}: {exc.reason}"
                break
            texts += [p.text for p in predictions]
            confidences += [p.confidence for p in predictions]
            bar.update(len(chunk))
    finally:
        bar.close()
    if failure:
        print(f"crnn-onnx eval: error: {args.labels}: {failure}", file=sys.stderr)
        return 1
    gts = [text for _, text in kept]
    result = metrics.score(texts, gts)
    errors = [(metrics.levenshtein(pred, gt), str(path.relative_to(args.labels.parent)), gt, pred, conf)
              for (path, gt), pred, conf in zip(kept, texts, confidences) if pred != gt]
    errors.sort(key=lambda e: (-e[0], -e[0] / max(1, len(e[2])), e[1]))
    worst = [{"distance": d, "path": p, "gt": gt, "pred": pred, "confidence": round(c, 4)}
             for d, p, gt, pred, c in errors[:args.worst]]
    if args.json:
        print(json.dumps({"labels": str(args.labels), "model": _model_info(rec), "decoder": rec.decoder,
                          "score": result.as_dict(), "dropped_outside_charset": [[str(p), t] for p, t in dropped],
                          "worst": worst}, ensure_ascii=False, indent=1))
        return 0
    print(f"{args.labels}: {result.items} items scored, {len(dropped)} dropped (text outside the charset); "
          f"model {rec.spec.name} v{rec.spec.version}, decoder {rec.decoder}")
    print(f"word accuracy   {100 * result.word_accuracy:6.2f}%  ({result.word_correct}/{result.word_items}; "
          f"{result.no_alnum} items without letters or digits left out)")
    print(f"exact accuracy  {100 * result.exact_accuracy:6.2f}%  ({result.exact_correct}/{result.items})")
    print(f"CER             {100 * result.cer:6.2f}%  ({result.edits} edits / {result.gt_chars} characters)")
    if worst:
        print(f"worst {len(worst)} of {len(errors)} errors (edit distance, gt -> prediction, confidence, image):")
        for e in worst:
            print(f"  {e['distance']:3d}  {e['gt']!r} -> {e['pred']!r}  {e['confidence']:.3f}  {e['path']}")
    return 0


def synthetic_crops(count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` grey uint8 crops of random words drawn with OpenCV's Hershey fonts (for ``bench`` without data)."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
    crops = []
    for _ in range(count):
        word = "".join(rng.choice(letters, rng.integers(2, 14)))
        scale = float(rng.uniform(0.6, 1.4))
        (w, h), base = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, scale, 2)
        crop = np.full((h + base + 8, w + 8), 255, np.uint8)
        cv2.putText(crop, word, (4, h + 4), cv2.FONT_HERSHEY_SIMPLEX, scale, 0, 2, cv2.LINE_AA)
        crops.append(crop)
    return crops


def cmd_bench(args: argparse.Namespace) -> int:
    if args.labels is not None:
        paths = [path for path, _ in labels.read_labels(args.labels)[:args.limit]]
        crops = [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in paths]  # decoding is not timed
        unreadable = [str(p) for p, c in zip(paths, crops) if c is None]
        if unreadable:
            print(f"crnn-onnx bench: error: unreadable images: {unreadable[:5]}", file=sys.stderr)
            return 2
        source = str(args.labels)
    else:
        crops, source = synthetic_crops(args.limit), "synthetic Hershey words"
    if not crops:
        raise ValueError(f"no crops to benchmark in {source}")
    rec = _recogniser(args, threads=args.threads)
    rec.read(crops[0])  # warm-up
    read_ms = []
    for crop in crops:
        start = time.perf_counter()
        rec.read(crop)
        read_ms.append(1000 * (time.perf_counter() - start))
    read_timings: dict[str, float] = {}
    for crop in crops:
        rec._read_batch([crop], timings=read_timings)
    rec._read_batch(crops[:args.batch_size])  # warm-up at batch size
    batch_timings: dict[str, float] = {}
    start = time.perf_counter()
    rec._read_batch(crops, timings=batch_timings)
    batch_s = time.perf_counter() - start
    result = {
        "source": source, "crops": len(crops), "threads": args.threads, "decoder": rec.decoder,
        "beam_width": rec.beam_width if rec.decoder == "beam" else None, "batch_size": rec.batch_size,
        "model": _model_info(rec), "providers": rec.providers,
        "read_ms_median": statistics.median(read_ms), "read_ms_mean": statistics.fmean(read_ms),
        "read_decoder_share": read_timings["decode"] / sum(read_timings.values()),
        "read_batch_crops_per_s": len(crops) / batch_s,
        "read_batch_decoder_share": batch_timings["decode"] / batch_s,
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{result['crops']} crops from {source}; model {rec.spec.name} v{rec.spec.version}; "
          f"{args.threads} intra-op thread(s), 1 inter-op; decoder {rec.decoder}; providers {rec.providers}")
    print(f"read:       {result['read_ms_median']:.2f} ms per crop (median; mean {result['read_ms_mean']:.2f}), "
          f"decoder {100 * result['read_decoder_share']:.1f}% of the time")
    print(f"read_batch: {result['read_batch_crops_per_s']:.1f} crops/s at batch size {rec.batch_size}, "
          f"decoder {100 * result['read_batch_decoder_share']:.1f}% of the time")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    if args.model_arg is not None and args.model is not None and args.model_arg != args.model:
        print(f"crnn-onnx info: error: two models given: {args.model_arg!r} and --model {args.model!r}",
              file=sys.stderr)
        return 2
    args.model = args.model_arg if args.model_arg is not None else args.model
    rec = _recogniser(args)
    spec = rec.spec
    info = {"path": str(spec.path), "name": spec.name, "version": spec.version, "license": spec.license,
            "classes": spec.num_classes, "charset": "".join(spec.charset),
            "input": asdict(spec.input_spec), "training": spec.training, "providers": rec.providers}
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=1))
        return 0
    for key, value in info.items():
        shown = json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
        print(f"{key:10s} {shown}")
    return 0


def cmd_eval_pages(args: argparse.Namespace) -> int:
    from . import pages

    pipelines = ["ours"]
    if args.compare_rapidocr:
        pipelines.append("rapidocr")
    if args.gt_boxes:
        pipelines.append("ours_gt")
        if args.compare_rapidocr:
            pipelines.append("rapidocr_gt")
    rec = _recogniser(args, threads=args.threads)

    def progress(number: int, total: int) -> None:
        if not args.json:
            print(f"\reval-pages {number}/{total} pages", end="" if number < total else "\n",
                  file=sys.stderr, flush=True)

    try:
        report = pages.evaluate(args.annotations, pipelines, recogniser=rec, threads=args.threads,
                                min_confidence=args.min_confidence, iou=args.iou, limit=args.limit,
                                progress=progress)
    except ImportError as exc:  # RapidOCR missing: the message names the extra
        print(f"crnn-onnx eval-pages: error: {exc}", file=sys.stderr)
        return 2
    except InvalidImageError as exc:
        print(f"crnn-onnx eval-pages: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(report, indent=1, default=lambda v: None))
    else:
        print(pages.format_report(report))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crnn-onnx", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"crnn-onnx {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    read = commands.add_parser("read", help="print the text and confidence of each image")
    read.add_argument("images", nargs="+", metavar="IMAGE")
    read.add_argument("--json", action="store_true", help="JSON with confidences and character spans")
    _add_model_args(read)
    read.set_defaults(run=cmd_read)

    ev = commands.add_parser("eval", help="score a labels.tsv crop set (DESIGN §8)")
    ev.add_argument("labels", type=Path, metavar="LABELS.tsv")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--limit", type=_positive_int, help="score only the first N items")
    ev.add_argument("--worst", type=int, default=10, metavar="K", help="list the K worst errors (default 10)")
    _add_model_args(ev)
    ev.set_defaults(run=cmd_eval)

    bench = commands.add_parser("bench", help="ms per crop for read, crops/s for read_batch, decoder share")
    bench.add_argument("labels", type=Path, nargs="?", metavar="LABELS.tsv",
                       help="crops to time (default: synthetic words)")
    bench.add_argument("--limit", type=_positive_int, default=200, help="number of crops (default 200)")
    bench.add_argument("--json", action="store_true")
    _add_model_args(bench)
    bench.set_defaults(run=cmd_bench, threads=1)

    pages_cmd = commands.add_parser(
        "eval-pages", help="end-to-end page evaluation: RapidOCR's detector + this recogniser (DESIGN §8)")
    pages_cmd.add_argument("annotations", type=Path, metavar="ANNOTATIONS.jsonl")
    pages_cmd.add_argument("--compare-rapidocr", action="store_true",
                           help="also run RapidOCR's complete pipeline (and its recogniser on GT boxes with "
                                "--gt-boxes) in the same run")
    pages_cmd.add_argument("--gt-boxes", action="store_true", help="also read the ground-truth quads")
    pages_cmd.add_argument("--iou", type=float, default=0.5, help="IoU needed for a match (default 0.5)")
    pages_cmd.add_argument("--min-confidence", type=float, default=0.5,
                           help="drop detected regions read below this confidence (default 0.5, like "
                                "RapidOCR's text_score)")
    pages_cmd.add_argument("--limit", type=_positive_int, help="evaluate only the first N pages")
    pages_cmd.add_argument("--json", action="store_true")
    _add_model_args(pages_cmd)
    pages_cmd.set_defaults(run=cmd_eval_pages, threads=1)

    info = commands.add_parser("info", help="show a model's metadata")
    info.add_argument("model_arg", nargs="?", metavar="MODEL", help="same as --model")
    info.add_argument("--json", action="store_true")
    _add_model_args(info, decoding=False)
    info.set_defaults(run=cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ModelFormatError, FileNotFoundError, ValueError) as exc:
        print(f"crnn-onnx {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
