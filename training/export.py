"""Export a trained CRNN to the native ONNX format (DESIGN §3) and check parity.

``crnn-export CHECKPOINT --out model.onnx`` (CHECKPOINT: a .pt checkpoint or a
native .onnx, rebuilt into torch by ``training.profiles.load_source``) writes dynamic batch and width,
the metadata of DESIGN §3, passes ``onnx.checker``, then compares onnxruntime
against torch at several widths and batch sizes (log-probs within 1e-4 and
identical greedy texts) on random and, when given, real crops.

``--profile rapidocr|opencv|onnxtr`` writes the same network wrapped for that
host instead (``training/profiles.py``, docs/export_profiles.md) and checks
onnxruntime against the torch adapter.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from crnn_onnx import preprocess
from crnn_onnx.decode import greedy

from . import profiles
from .checkpoint import load_model  # noqa: F401  (kept for callers importing it from here)
from .model import CRNN

PARITY_ATOL = 1e-4


def export_onnx(model: CRNN, spec: preprocess.InputSpec, charset: tuple[str, ...], out: Path,
                name: str = "crnn", version: str = "0", training: dict | None = None) -> Path:
    """Write ``model`` to ``out`` with the TorchScript exporter (dynamo cannot do a dynamic-width LSTM)."""
    model = model.float().eval().cpu()
    dummy = torch.zeros(2, spec.input_channels, spec.input_height, 64)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.onnx")
    with torch.no_grad():
        torch.onnx.export(model, (dummy,), str(tmp), dynamo=False, opset_version=17,
                          input_names=["image"], output_names=["logprobs"],
                          dynamic_axes={"image": {0: "batch", 3: "width"}, "logprobs": {0: "batch", 1: "frames"}})
    proto = onnx.load(str(tmp))
    metadata = {
        "crnn_onnx.format": "1",
        "charset": json.dumps(list(charset)),
        "blank_index": "0",
        "input_height": str(spec.input_height),
        "input_channels": str(spec.input_channels),
        "normalize": json.dumps({"mean": list(spec.mean), "std": list(spec.std)}),
        "pad_value": str(spec.pad_value),
        "width_stride": str(spec.width_stride),
        "min_width": str(spec.min_width),
        "name": name,
        "version": version,
        "license": "MIT (weights trained on synthetic text and research datasets; see models/README.md)",
        "training": json.dumps(training or {}),
    }
    if spec.margins is not None:
        metadata["margins"] = json.dumps(dataclasses.asdict(spec.margins))
    return save_with_metadata(proto, metadata, tmp, out)


def save_with_metadata(proto: onnx.ModelProto, metadata: dict[str, str], tmp: Path, out: Path) -> Path:
    """Replace ``proto``'s metadata_props, check it with onnx.checker, write ``tmp`` and rename it to ``out``."""
    del proto.metadata_props[:]
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(tmp))
    tmp.replace(out)
    return out


def check_parity(model: CRNN, onnx_path: Path, spec: preprocess.InputSpec,
                 real_batches: list[np.ndarray] | None = None, seed: int = 0) -> dict:
    """Compare torch and onnxruntime on random inputs at several widths and batch sizes, plus real batches.

    Raises AssertionError on a log-prob difference above 1e-4 or a greedy text mismatch;
    returns the largest difference seen and the number of cases.
    """
    rng = np.random.default_rng(seed)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    cases = [rng.uniform(-1, 1, (n, spec.input_channels, spec.input_height, w)).astype(np.float32)
             for n, w in [(1, 8), (1, 37), (3, 64), (2, 131), (5, 256), (1, 803)]]
    cases += list(real_batches or [])
    model = model.float().eval().cpu()
    worst = 0.0
    for x in cases:
        with torch.no_grad():
            expected = model(torch.from_numpy(x)).numpy()
        got = session.run(["logprobs"], {"image": x})[0]
        assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape} at input {x.shape}"
        diff = float(np.abs(got - expected).max())
        worst = max(worst, diff)
        assert diff <= PARITY_ATOL, f"log-prob difference {diff:.2e} at input {x.shape}"
        lengths = np.full(len(x), got.shape[1])
        assert [d.labels for d in greedy(got, lengths)] == [d.labels for d in greedy(expected, lengths)], \
            f"greedy texts differ at input {x.shape}"
    return {"max_abs_diff": worst, "cases": len(cases)}


def quantize_int8(source: Path, out: Path) -> Path:
    """Dynamic int8 quantisation of the LSTM and linear weights (convolutions stay fp32).

    The metadata is kept, so the runtime loads the result like any native model.
    ConvInteger was measured slower than fp32 convolutions on CPU, hence the op list.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(source), str(out), weight_type=QuantType.QInt8, op_types_to_quantize=["LSTM", "MatMul", "Gemm"])
    return out


def real_parity_batches(labels_tsv: Path, spec: preprocess.InputSpec, count: int = 12) -> list[np.ndarray]:
    """A few real crops from a labels.tsv folder, as normalised batches of sizes 1 and 4."""
    folder = labels_tsv.parent
    paths = [folder / line.split("\t", 1)[0] for line in labels_tsv.read_text(encoding="utf-8").splitlines()[:count]]
    images = [preprocess.prepare(p, spec) for p in paths]
    batches = [preprocess.batch(images[:1], spec)[0]]
    batches += [preprocess.batch(images[i:i + 4], spec)[0] for i in range(1, len(images), 4)]
    return batches


def _margins(value: str) -> preprocess.Margins | str:
    """``--margins``: "SIDE,TOP_BOTTOM" as Margins, or "none" as "" (drop the source's)."""
    if value.strip().lower() == "none":
        return ""
    try:
        side, top_bottom = (float(v) for v in value.split(","))
        return preprocess.Margins(side=side, top_bottom=top_bottom)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected SIDE,TOP_BOTTOM (two numbers in [0, 100)) or 'none', not {value!r}") from None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="crnn-export", description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="a training checkpoint (.pt) or a native .onnx to re-export")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--profile", choices=profiles.PROFILES, default="native",
                        help="native (default): the crnn_onnx format; rapidocr, opencv, onnxtr: the same "
                             "network wrapped for that host's conventions (docs/export_profiles.md)")
    parser.add_argument("--name", default=None, help="model name (default: the source ONNX's, else crnn-onnx-en)")
    parser.add_argument("--version", default=None, help="model version (default: the source ONNX's, else today)")
    parser.add_argument("--margins", type=_margins, metavar="SIDE,TOP_BOTTOM",
                        help="the widest blank margins the model reads well, as fractions of the text's height "
                             "(metadata 'margins': the runtime cuts wider ones down to them), or 'none' "
                             "(default: the source ONNX's, or the training config's)")
    parser.add_argument("--parity-labels", type=Path, help="labels.tsv whose first crops join the parity check")
    parser.add_argument("--int8", action="store_true",
                        help="also write OUT with suffix .int8.onnx: LSTM and linear weights quantised to int8")
    args = parser.parse_args(argv)
    model, spec, charset, summary, names = profiles.load_source(args.checkpoint)
    if args.margins is not None:
        spec = dataclasses.replace(spec, margins=args.margins or None)
    name = args.name or names.get("name") or "crnn-onnx-en"
    version = args.version or names.get("version") or time.strftime("%Y.%m.%d")
    if args.profile != "native":
        out, profile, sidecars = profiles.export_profile(args.profile, model, spec, charset, args.out,
                                                         model_name=name, version=version, training=summary)
        result = profiles.check_profile_parity(profile, out)
        size_mb = out.stat().st_size / 1e6
        extra = "".join(f"; wrote {p}" for p in sidecars)
        print(f"wrote {out} ({size_mb:.2f} MB, profile {args.profile}); parity ok over {result['cases']} cases, "
              f"max |diff| {result['max_abs_diff']:.2e}{extra}\nload it with: {profile.contract['load']}")
        return
    export_onnx(model, spec, charset, args.out, name=name, version=version, training=summary)
    real = real_parity_batches(args.parity_labels, spec) if args.parity_labels else None
    result = check_parity(model, args.out, spec, real)
    size_mb = args.out.stat().st_size / 1e6
    print(f"wrote {args.out} ({size_mb:.2f} MB); parity ok over {result['cases']} cases, "
          f"max |diff| {result['max_abs_diff']:.2e}")
    if args.int8:
        quantized = quantize_int8(args.out, args.out.with_suffix(".int8.onnx"))
        print(f"wrote {quantized} ({quantized.stat().st_size / 1e6:.2f} MB, int8 LSTM and linear weights)")


if __name__ == "__main__":
    main()
