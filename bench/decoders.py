"""Benchmark: our batched beam search against pyctcdecode and fast-ctc-decode (DESIGN §5).

Not a test. For each data set it reports ms per sequence (averaged over all
sequences; the least CPU time of three runs; beam width 10, 1 thread) for our
batched ``beam_search`` (and ``greedy``), pyctcdecode and fast-ctc-decode
called per sequence (fast-ctc-decode given probabilities computed
beforehand), their ratios to ours, and the share of texts identical to the
exact reference (an unpruned float64 prefix beam search of the same width,
``bench/exact_ctc.py``) over the first ``--exact`` sequences. Peers' texts are
compared as they return them (pyctcdecode strips spaces at the ends).

Data: synthetic log-probs (``exact_ctc.peaky_logprobs``; "sharp": 0.99 on one
class, the rest spread evenly, half the frames blank; ``random_logprobs``), and
with ``--model`` and ``--labels`` a native crnn-onnx model's log-probs on the
crops of a labels.tsv (``images/x.jpg<TAB>text`` lines, paths relative to the
file's folder), run with onnxruntime at 1 thread in batches of ``--batch``,
crops sorted by width as the runtime does.

Peers: ``pip install fast-ctc-decode`` and ``pip install --no-deps pyctcdecode
pygtrie`` (pyctcdecode pins numpy<2). Run from the repository root:
``python bench/decoders.py [--model m.onnx --labels ../shared/data/funsd_test_crops/labels.tsv]``.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.exact_ctc import peaky_logprobs, prefix_beam_search, random_logprobs  # noqa: E402
from crnn_onnx import decode, preprocess  # noqa: E402
from crnn_onnx.charset import PRINTABLE_ASCII  # noqa: E402

BEAM = 10


def sharp_logprobs(rng: np.random.Generator, n: int, t: int, k: int = 96) -> np.ndarray:
    """float32 (n, t, k): each frame 0.99 on one class (the blank on half the frames), the rest spread evenly."""
    best = np.where(rng.random((n, t)) < 0.5, 0, rng.integers(1, k, (n, t)))
    probs = np.full((n, t, k), 0.01 / (k - 1))
    np.put_along_axis(probs, best[..., None], 0.99, axis=2)
    return np.log(probs).astype(np.float32)


def synthetic(n: int, seed: int) -> list[tuple[str, list[np.ndarray]]]:
    """Named lists of (T, 96) log-prob rows."""
    rng = np.random.default_rng(seed)
    sets = []
    for t in (32, 80, 200):
        sets.append((f"sharp T={t}", list(sharp_logprobs(rng, n, t))))
        sets.append((f"peaky T={t}", list(peaky_logprobs(rng, n, t))))
    for t in (32, 80):
        sets.append((f"random T={t}", list(random_logprobs(rng, max(4, n // 10), t))))
    return sets


def real(model: Path, labels: Path, batch: int, limit: int | None) -> tuple[list[np.ndarray], list[str]]:
    """The model's valid log-prob rows on the crops of ``labels``, and the model's charset."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    charset = json.loads(session.get_modelmeta().custom_metadata_map["charset"])
    spec = preprocess.InputSpec()
    lines = [line.split("\t", 1) for line in labels.read_text(encoding="utf-8").splitlines() if "\t" in line]
    images = [preprocess.prepare(labels.parent / path, spec) for path, _ in lines[:limit]]
    images.sort(key=lambda image: image.shape[1])
    rows = []
    for first in range(0, len(images), batch):
        x, lengths = preprocess.batch(images[first:first + batch], spec)
        logprobs = session.run(["logprobs"], {"image": x})[0]
        rows += [logprobs[i, :length] for i, length in enumerate(lengths)]
    return rows, charset


def batches(rows: list[np.ndarray], size: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows padded (with a uniform distribution, never read) into (N, T, K) batches with their lengths."""
    out = []
    for first in range(0, len(rows), size):
        chunk = rows[first:first + size]
        lengths = np.array([len(r) for r in chunk])
        padded = np.full((len(chunk), lengths.max(), chunk[0].shape[1]), -np.log(chunk[0].shape[1]), np.float32)
        for i, r in enumerate(chunk):
            padded[i, : len(r)] = r
        out.append((padded, lengths))
    return out


def seconds(run, repeat: int = 3) -> float:
    """The least CPU time of this process over ``repeat`` runs (every decoder here runs on one thread;
    CPU time is not inflated by other load on the machine)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def measure(name: str, rows: list[np.ndarray], charset: list[str], batch: int, exact: int) -> dict:
    from fast_ctc_decode import beam_search as fcd_beam_search
    from pyctcdecode import build_ctcdecoder

    logging.disable(logging.WARNING)  # pyctcdecode warns about spaces and a missing language model
    pyctc = build_ctcdecoder([""] + list(charset))
    alphabet = [""] + list(charset)
    probs = [np.exp(r) for r in rows]
    grouped = batches(rows, batch)

    def ours():
        return [d for x, lengths in grouped for d in decode.beam_search(x, lengths, BEAM)]

    def greedy():
        return [d for x, lengths in grouped for d in decode.greedy(x, lengths)]

    def text(decoded: decode.Decoded) -> str:
        return "".join(charset[c - 1] for c in decoded.labels)

    ours()  # warm-up
    n = len(rows)
    result = {
        "data": name, "rows": n, "mean_T": float(np.mean([len(r) for r in rows])),
        "ours": seconds(ours) / n * 1e3,
        "greedy": seconds(greedy) / n * 1e3,
        "pyctcdecode": seconds(lambda: [pyctc.decode(r, beam_width=BEAM) for r in rows]) / n * 1e3,
        "fast_ctc_decode": seconds(lambda: [fcd_beam_search(p, alphabet, beam_size=BEAM) for p in probs]) / n * 1e3,
    }
    checked = min(exact, n)
    ours_texts = [text(d) for d in ours()[:checked]]
    reference = ["".join(charset[c - 1] for c in prefix_beam_search(r, BEAM)[0][0]) for r in rows[:checked]]
    peers = {"pyctcdecode": [pyctc.decode(r, beam_width=BEAM) for r in rows[:checked]],
             "fast_ctc_decode": [fcd_beam_search(p, alphabet, beam_size=BEAM)[0] for p in probs[:checked]]}
    result["checked"] = checked
    for who, texts in [("ours", ours_texts), *peers.items()]:
        result[f"exact_{who}"] = float(np.mean([a == b for a, b in zip(texts, reference)])) if checked else float("nan")
    return result


def table(results: list[dict]) -> str:
    lines = ["| data | rows | mean T | ours beam | greedy | pyctcdecode | fast-ctc-decode | pyctcdecode / ours "
             "| fast-ctc-decode / ours | identical to exact (ours / pyctcdecode / fcd, rows) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r['data']} | {r['rows']} | {r['mean_T']:.0f} | {r['ours']:.4f} ms | {r['greedy']:.4f} ms "
            f"| {r['pyctcdecode']:.3f} ms | {r['fast_ctc_decode']:.3f} ms | {r['pyctcdecode'] / r['ours']:.1f}x "
            f"| {r['fast_ctc_decode'] / r['ours']:.1f}x | {100 * r['exact_ours']:.1f}% / "
            f"{100 * r['exact_pyctcdecode']:.1f}% / {100 * r['exact_fast_ctc_decode']:.1f}% ({r['checked']}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="native crnn-onnx .onnx model for real log-probs")
    parser.add_argument("--labels", type=Path, help="labels.tsv of a crop set (with --model)")
    parser.add_argument("--limit", type=int, help="at most this many crops")
    parser.add_argument("--n", type=int, default=200, help="synthetic sequences per set (random: a tenth)")
    parser.add_argument("--batch", type=int, default=32, help="rows per batched call (default 32, as the runtime)")
    parser.add_argument("--exact", type=int, default=100, help="sequences per set checked against the exact reference")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-synthetic", action="store_true", help="only the real log-probs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if (args.model is None) != (args.labels is None):
        parser.error("--model and --labels go together")
    results = []
    if not args.no_synthetic:
        for name, rows in synthetic(args.n, args.seed):
            results.append(measure(name, rows, list(PRINTABLE_ASCII), args.batch, args.exact))
            print(f"{name}: done", file=sys.stderr)
    if args.model is not None:
        rows, charset = real(args.model, args.labels, args.batch, args.limit)
        results.append(measure(f"{args.model.name} on {args.labels.parent.name}", rows, charset, args.batch,
                               args.exact))
    print(f"beam width {BEAM}, 1 thread, ms per sequence; numpy {np.__version__}")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
