"""Speed of ``Recogniser.read`` against RapidOCR 3.10's PP-OCRv6 recogniser, same crops, same run (DESIGN §8).

Not a test. DESIGN §8's speed figure: the median ms per crop of one
``Recogniser.read(crop)`` call, at 1 intra-op and 1 inter-op thread, on crops
already decoded into memory (``cv2.imread``, BGR; decoding is not timed), after
one warm-up call, on ``funsd_test_crops``. The peer is RapidOCR 3.10's bundled
PP-OCRv6 small recogniser called as in ``shared/notes/peers.md``:
``RapidOCR(params=...)(img, use_det=False, use_cls=False, use_rec=True)`` with
``Global.use_preprocess_img=False``, its onnxruntime session given the same
thread counts. Both read the SAME crops in the SAME run, interleaved crop by
crop (which engine goes first alternates), so load from other jobs on the
machine falls on both alike; the figure to quote is the ratio.

By default ``--crops 300`` crops spread evenly over the set (every ~6.6th line of
its labels.tsv) are timed, in ``--passes 3`` sweeps (medians over all the
calls; each sweep's ratio is shown, as a measure of the noise), at 1 and then 2
threads. Each engine's word accuracy
on those crops is printed too, as a check that both really read them.

RapidOCR: ``pip install "rapidocr>=3.10,<4"`` (it uses opencv-python-headless
and onnxruntime, and ships its models in the wheel, so it runs offline). Without
it, the script says so and prints the peers.md figure, labelled as not same-run.

Usage, from the repository root::

    python bench/speed.py [--model PATH] [--crops 300] [--threads 1 2] [--json out.json]
        [--card models/README.md]

``--card`` rewrites the block between ``<!-- speed:begin -->`` and
``<!-- speed:end -->`` of a markdown file (``--block NAME``: ``<!-- NAME:begin -->``).
``--against MODEL`` times another crnn-onnx model as the peer instead of
RapidOCR, e.g. the handwriting model against the default one::

    python bench/speed.py --model handwriting --against default \
        --labels ../shared/data/kaggle_names_test/labels.tsv --card models/README.md --block speed-handwriting
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import datetime  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from crnn_onnx import Recogniser, labels, metrics  # noqa: E402
from crnn_onnx.integrations.rapidocr import rapidocr_engine  # noqa: E402
from bench.card import replace_block  # noqa: E402

FUNSD = ROOT.parent / "shared" / "data" / "funsd_test_crops" / "labels.tsv"
#: shared/notes/peers.md: RapidOCR 3.10 median ms per crop on all of funsd_test_crops, 1 thread (shared machine).
PEERS_MD_RAPIDOCR3_FUNSD_MS = 24.8


def load_crops(tsv: Path, count: int | None) -> tuple[list[np.ndarray], list[str], list[str]]:
    """``count`` crops spread evenly over the set (all when None), decoded as BGR uint8; their gts and paths."""
    items = labels.read_labels(tsv)
    if count is not None and count < len(items):
        picks = np.unique(np.linspace(0, len(items) - 1, count).round().astype(int))
        items = [items[i] for i in picks]
    crops = [cv2.imread(str(path), cv2.IMREAD_COLOR) for path, _ in items]
    bad = [str(p) for (p, _), c in zip(items, crops) if c is None]
    if bad:
        raise SystemExit(f"unreadable images: {bad[:5]}")
    return crops, [t for _, t in items], [str(p.relative_to(tsv.parent)) for p, _ in items]


def rapidocr_peer(threads: int):
    """(RapidOCR 3's engine with its onnxruntime sessions at ``threads`` intra-op and 1 inter-op thread, its
    version); (None, None) when RapidOCR 3 is not installed."""
    try:
        engine = rapidocr_engine({"Global.use_preprocess_img": False}, threads=threads, log_level="error")
    except ImportError:
        return None, None
    return engine, importlib.metadata.version("rapidocr")


def rapid_text(result) -> str:
    texts = getattr(result, "txts", None) or ()
    return "".join(texts)


def rapid_reader(engine):
    """RapidOCR's engine as a crop -> text callable (recognition only)."""
    return lambda crop: rapid_text(engine(crop, use_det=False, use_cls=False, use_rec=True))


def time_pair(ours, peer, crops: list[np.ndarray], passes: int = 1) -> dict:
    """Per-call ms of ``ours.read`` and ``peer(crop) -> text`` (if given), interleaved, over ``passes`` sweeps
    of the crops; the texts of the first sweep; and each sweep's ratio of medians."""
    ours.read(crops[0])  # warm-up (DESIGN §8: one call)
    if peer is not None:
        peer(crops[0])
    ours_ms, rapid_ms, ours_txt, rapid_txt = [], [], [], []

    def run_ours(crop):
        start = time.perf_counter()
        prediction = ours.read(crop)
        ours_ms.append(1000 * (time.perf_counter() - start))
        ours_txt.append(prediction.text)

    def run_rapid(crop):
        start = time.perf_counter()
        text = peer(crop)
        rapid_ms.append(1000 * (time.perf_counter() - start))
        rapid_txt.append(text)

    pass_ratios = []
    for sweep in range(passes):
        first = len(ours_ms)
        for i, crop in enumerate(crops):
            order = (run_ours, run_rapid) if (i + sweep) % 2 == 0 else (run_rapid, run_ours)
            for run in order:
                if run is run_rapid and peer is None:
                    continue
                run(crop)
        if peer is not None:
            pass_ratios.append(statistics.median(rapid_ms[first:]) / statistics.median(ours_ms[first:]))
    n = len(crops)
    return {"ours_ms": ours_ms, "rapid_ms": rapid_ms, "ours_txt": ours_txt[:n], "rapid_txt": rapid_txt[:n],
            "pass_ratios": pass_ratios}


def summarise(threads: int, raw: dict, gts: list[str]) -> dict:
    ours = statistics.median(raw["ours_ms"])
    row = {"threads": threads, "ours_median_ms": ours, "ours_mean_ms": statistics.fmean(raw["ours_ms"]),
           "ours_word_accuracy": metrics.score(raw["ours_txt"], gts).word_accuracy}
    if raw["rapid_ms"]:
        rapid = statistics.median(raw["rapid_ms"])
        row.update(rapid_median_ms=rapid, rapid_mean_ms=statistics.fmean(raw["rapid_ms"]),
                   rapid_word_accuracy=metrics.score(raw["rapid_txt"], gts).word_accuracy,
                   ratio_of_medians=rapid / ours,
                   median_per_crop_ratio=statistics.median(r / o for r, o in zip(raw["rapid_ms"], raw["ours_ms"])),
                   ratio_of_totals=sum(raw["rapid_ms"]) / sum(raw["ours_ms"]), pass_ratios=raw["pass_ratios"])
    return row


def report(result: dict) -> str:
    """Markdown: the setting, then one row per thread count."""
    m = result["model"]
    peer = result.get("peer") or (f"RapidOCR {result['rapidocr_version']} PP-OCRv6 rec"
                                  if result["rapidocr_version"] else None)
    lines = [f"Model `{m['name']}` version **{m['version']}** ({m['bytes'] / 1e6:.2f} MB). Measured "
             f"{result['date']} with `python bench/speed.py` on {result['crops']} crops of "
             f"{Path(result['labels']).parent.name} "
             f"(evenly spaced over its {result['set_size']} lines), decoded beforehand, {result['passes']} "
             f"pass(es) over them; per crop one `Recogniser.read` call ({result.get('decoding', 'greedy')}), after one "
             "warm-up call, "
             f"inter-op threads 1; medians over all calls; "
             f"{'the peer on the same crops in the same run, interleaved crop by crop' if peer else 'no peer'}. "
             f"CPU: {result['cpu']}. {result['note']}", ""]
    if peer:
        lines += [f"| intra-op threads | ours median ms/crop | {peer} median ms/crop | ratio (peer / ours, medians) "
                  "| each pass's ratio | median of per-crop ratios | ours word % on these crops "
                  "| peer word % on these crops |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in result["rows"]:
            each = ", ".join(f"{x:.1f}" for x in r["pass_ratios"])
            lines.append(f"| {r['threads']} | {r['ours_median_ms']:.2f} | {r['rapid_median_ms']:.2f} "
                         f"| **{r['ratio_of_medians']:.1f}×** | {each} | {r['median_per_crop_ratio']:.1f}× "
                         f"| {100 * r['ours_word_accuracy']:.1f} | {100 * r['rapid_word_accuracy']:.1f} |")
    else:
        lines += ["| intra-op threads | ours median ms/crop | ours word % on these crops |", "|---|---|---|"]
        for r in result["rows"]:
            lines.append(f"| {r['threads']} | {r['ours_median_ms']:.2f} | {100 * r['ours_word_accuracy']:.1f} |")
        one = next((r for r in result["rows"] if r["threads"] == 1), None)
        if one:
            lines += ["", f"RapidOCR 3 could not be run here. NOT same-run: peers.md gives RapidOCR 3.10's median "
                          f"as {PEERS_MD_RAPIDOCR3_FUNSD_MS} ms per FUNSD crop on another day and machine load; "
                          f"that over ours here is {PEERS_MD_RAPIDOCR3_FUNSD_MS / one['ours_median_ms']:.1f}× "
                          "(indicative only)."]
    return "\n".join(lines)


def write_card(path: Path, text: str, block: str = "speed") -> None:
    """Replace the ``<!-- block:begin -->`` ... ``<!-- block:end -->`` part of the model card."""
    replace_block(path, f"<!-- {block}:begin -->", f"<!-- {block}:end -->", text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="bundled model name or .onnx path (default: the bundled default model)")
    parser.add_argument("--labels", type=Path, default=FUNSD, help="crop set (default funsd_test_crops)")
    parser.add_argument("--crops", type=int, default=300, help="crops spread evenly over the set (0: all)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="intra-op thread counts (default 1 2)")
    parser.add_argument("--passes", type=int, default=3, help="sweeps over the crops per thread count (default 3)")
    parser.add_argument("--no-peer", action="store_true", help="time only ours")
    parser.add_argument("--lexicon", help="read ours with beam search (width 10) preferring this lexicon's words "
                        "(e.g. 'en'); default: greedy")
    parser.add_argument("--against", help="time this crnn-onnx model (name or path) as the peer instead of RapidOCR")
    parser.add_argument("--note", default="", help="free text for the report (e.g. what else ran on the machine)")
    parser.add_argument("--json", type=Path, help="write the summary and per-crop timings here")
    parser.add_argument("--card", type=Path, help="rewrite the speed block of this markdown (the model card)")
    parser.add_argument("--block", default="speed", help="card block name (default: speed)")
    args = parser.parse_args(argv)

    crops, gts, paths = load_crops(args.labels, args.crops or None)
    set_size = len(labels.read_labels(args.labels))
    probe = Recogniser(args.model, threads=1, inter_op_threads=1)
    spec = probe.spec
    result = {"model": {"name": spec.name, "version": spec.version, "path": str(spec.path),
                        "bytes": Path(spec.path).stat().st_size},
              "labels": str(args.labels), "crops": len(crops), "set_size": set_size,
              "passes": args.passes, "paths": paths,
              "date": datetime.date.today().isoformat(), "cpu": f"{platform.processor() or platform.machine()}, "
              f"{os.cpu_count()} logical CPUs, load average {os.getloadavg()[0]:.2f} at start",
              "decoding": f"beam 10 + lexicon `{args.lexicon}`" if args.lexicon else "greedy",
              "note": args.note, "rapidocr_version": None, "peer": None, "rows": [], "raw": {}}
    del probe
    decoding = {"decoder": "beam", "lexicon": args.lexicon} if args.lexicon else {}
    for threads in args.threads:
        ours = Recogniser(args.model, threads=threads, inter_op_threads=1, **decoding)
        if args.against:
            other = Recogniser(args.against, threads=threads, inter_op_threads=1)
            peer = lambda crop, other=other: other.read(crop).text  # noqa: E731
            result["peer"] = f"`{other.spec.name}` v{other.spec.version}"
        else:
            rapid, version = (None, None) if args.no_peer else rapidocr_peer(threads)
            if rapid is None and not args.no_peer:
                print("RapidOCR 3 is not installed (pip install 'rapidocr>=3.10,<4'); timing ours only",
                      file=sys.stderr)
            result["rapidocr_version"] = version
            peer = rapid_reader(rapid) if rapid is not None else None
        raw = time_pair(ours, peer, crops, args.passes)
        row = summarise(threads, raw, gts)
        result["rows"].append(row)
        result["raw"][str(threads)] = {"ours_ms": raw["ours_ms"], "rapid_ms": raw["rapid_ms"]}
        print(f"{threads} thread(s): " + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float)),
              file=sys.stderr)
    text = report(result)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1), encoding="utf-8")
    if args.card:
        write_card(args.card, text, args.block)


if __name__ == "__main__":
    main()
