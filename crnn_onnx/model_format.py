"""Read and validate the native ONNX format (DESIGN §3); the runtime never writes it.

A native model has one float32 input ``image`` (N, C, H, W) with C and H fixed,
an output ``logprobs`` (N, T, K) of log-softmax scores, and string
``metadata_props`` that describe the charset and the preprocessing.
:func:`load_spec` checks all of it and raises :class:`ModelFormatError` naming
the key or the mismatch. It reads an onnxruntime ``InferenceSession`` (so the
runtime needs no ``onnx`` package) or an ``onnx.ModelProto`` (for export-time
checks), using only attribute access on either.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ModelFormatError
from .preprocess import InputSpec, Margins

FORMAT_VERSION = "1"
INPUT_NAME = "image"
OUTPUT_NAME = "logprobs"
REQUIRED_KEYS = ("crnn_onnx.format", "charset", "blank_index", "input_height", "input_channels",
                 "normalize", "pad_value", "width_stride", "min_width", "name", "version", "license",
                 "training")


@dataclass(frozen=True)
class ModelSpec:
    """A native model's validated metadata.

    ``charset[i]`` is the symbol of class ``i + 1``; class ``blank_index`` (always 0)
    is the CTC blank, so the model has ``len(charset) + 1`` classes. Each symbol is
    one character, so a decoded text has exactly one character per label.
    ``training`` is the JSON summary written at export; ``path`` is the file
    loaded (None when validated from an in-memory model).
    """

    charset: tuple[str, ...]
    blank_index: int
    input_spec: InputSpec
    name: str
    version: str
    license: str
    training: dict = field(hash=False, compare=False)
    path: Path | None = None

    @property
    def num_classes(self) -> int:
        """K: the charset plus the blank."""
        return len(self.charset) + 1


def _metadata_and_shapes(model: Any) -> tuple[dict[str, str], list[tuple[str, str, list]], list[tuple[str, str, list]]]:
    """(metadata, inputs, outputs) with each input/output as (name, element type, shape).

    Shape entries are ints for static dims and None or a str for dynamic ones;
    the element type is onnxruntime's spelling, e.g. ``"tensor(float)"``.
    """
    if hasattr(model, "get_modelmeta"):  # onnxruntime.InferenceSession
        metadata = dict(model.get_modelmeta().custom_metadata_map)
        inputs = [(i.name, i.type, list(i.shape)) for i in model.get_inputs()]
        outputs = [(o.name, o.type, list(o.shape)) for o in model.get_outputs()]
        return metadata, inputs, outputs
    if hasattr(model, "metadata_props") and hasattr(model, "graph"):  # onnx.ModelProto
        def describe(value: Any) -> tuple[str, str, list]:
            tensor = value.type.tensor_type
            dims = [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in tensor.shape.dim]
            return value.name, "tensor(float)" if tensor.elem_type == 1 else f"onnx elem_type {tensor.elem_type}", dims
        initialisers = {t.name for t in model.graph.initializer}
        metadata = {p.key: p.value for p in model.metadata_props}
        inputs = [describe(v) for v in model.graph.input if v.name not in initialisers]
        outputs = [describe(v) for v in model.graph.output]
        return metadata, inputs, outputs
    raise TypeError(f"expected an onnxruntime.InferenceSession or an onnx.ModelProto, not {type(model).__name__}")


def _json(metadata: dict[str, str], key: str) -> Any:
    try:
        return json.loads(metadata[key])
    except json.JSONDecodeError as exc:
        raise ModelFormatError(f"metadata {key!r} is not valid JSON ({exc}): {metadata[key]!r}") from None


def _positive_int(metadata: dict[str, str], key: str) -> int:
    value = _json(metadata, key)
    if type(value) is not int or value <= 0:
        raise ModelFormatError(f"metadata {key!r} must be a positive integer, got {metadata[key]!r}")
    return value


def _number_list(value: Any, key: str, length: int) -> tuple[float, ...]:
    if not isinstance(value, list) or not all(type(v) in (int, float) for v in value):
        raise ModelFormatError(f"metadata 'normalize' {key!r} must be a JSON list of numbers, got {value!r}")
    if len(value) != length:
        raise ModelFormatError(f"metadata 'normalize' {key!r} has {len(value)} values but input_channels is {length}")
    return tuple(float(v) for v in value)


def _charset(metadata: dict[str, str]) -> tuple[str, ...]:
    charset = _json(metadata, "charset")
    if not isinstance(charset, list) or not charset:
        raise ModelFormatError("metadata 'charset' must be a non-empty JSON list of strings, "
                               f"got {metadata['charset']!r}")
    for i, symbol in enumerate(charset):
        if not isinstance(symbol, str) or len(symbol) != 1:
            raise ModelFormatError(f"metadata 'charset' item {i} must be a one-character string, got {symbol!r}")
    if len(set(charset)) != len(charset):
        duplicates = sorted({s for s in charset if charset.count(s) > 1})
        raise ModelFormatError(f"metadata 'charset' has duplicate symbols: {duplicates!r}")
    return tuple(charset)


def _input_spec(metadata: dict[str, str]) -> InputSpec:
    channels = _positive_int(metadata, "input_channels")
    if channels not in (1, 3):
        raise ModelFormatError(f"metadata 'input_channels' must be 1 (grey) or 3 (RGB), got {channels}")
    normalize = _json(metadata, "normalize")
    if not isinstance(normalize, dict) or set(normalize) != {"mean", "std"}:
        raise ModelFormatError("metadata 'normalize' must be a JSON object with keys 'mean' and 'std', "
                               f"got {metadata['normalize']!r}")
    mean = _number_list(normalize["mean"], "mean", channels)
    std = _number_list(normalize["std"], "std", channels)
    if any(s <= 0 for s in std):
        raise ModelFormatError(f"metadata 'normalize' std values must be positive, got {list(std)}")
    pad_value = _json(metadata, "pad_value")
    if type(pad_value) not in (int, float) or not 0.0 <= pad_value <= 1.0:
        raise ModelFormatError(f"metadata 'pad_value' must be a number in [0, 1], got {metadata['pad_value']!r}")
    return InputSpec(input_height=_positive_int(metadata, "input_height"), input_channels=channels,
                     mean=mean, std=std, pad_value=float(pad_value),
                     width_stride=_positive_int(metadata, "width_stride"),
                     min_width=_positive_int(metadata, "min_width"), margins=_margins(metadata))


def _margins(metadata: dict[str, str]) -> Margins | None:
    """The optional ``margins`` key: JSON ``{"side": s, "top_bottom": t}``, non-negative
    fractions of the text's height (absent: crops are read with their margins as given)."""
    if "margins" not in metadata:
        return None
    margins = _json(metadata, "margins")
    if isinstance(margins, dict) and set(margins) == {"side", "top_bottom"}:
        try:
            return Margins(**margins)
        except ValueError:
            pass
    raise ModelFormatError("metadata 'margins' must be a JSON object with keys 'side' and 'top_bottom' "
                           f"holding numbers in [0, 100), got {metadata['margins']!r}")


def _check_graph(inputs: list, outputs: list, spec: InputSpec, num_classes: int) -> None:
    if [name for name, _, _ in inputs] != [INPUT_NAME]:
        raise ModelFormatError(f"model must have exactly one input named {INPUT_NAME!r}, "
                               f"has {[name for name, _, _ in inputs]}")
    _, dtype, shape = inputs[0]
    if dtype != "tensor(float)":
        raise ModelFormatError(f"input {INPUT_NAME!r} must be float32, is {dtype}")
    if len(shape) != 4:
        raise ModelFormatError(f"input {INPUT_NAME!r} must have rank 4 (N, C, H, W), has shape {shape}")
    for axis, key, expected in ((1, "input_channels", spec.input_channels), (2, "input_height", spec.input_height)):
        if shape[axis] != expected:
            raise ModelFormatError(f"input {INPUT_NAME!r} dim {axis} is {shape[axis]!r} but metadata {key!r} is "
                                   f"{expected} (C and H must be static and match)")
    by_name = {name: (dtype, shape) for name, dtype, shape in outputs}
    if OUTPUT_NAME not in by_name:
        raise ModelFormatError(f"model has no output named {OUTPUT_NAME!r} (outputs: {list(by_name)})")
    dtype, shape = by_name[OUTPUT_NAME]
    if dtype != "tensor(float)":
        raise ModelFormatError(f"output {OUTPUT_NAME!r} must be float32, is {dtype}")
    if len(shape) != 3:
        raise ModelFormatError(f"output {OUTPUT_NAME!r} must have rank 3 (N, T, K), has shape {shape}")
    if isinstance(shape[2], int) and shape[2] != num_classes:
        raise ModelFormatError(f"output {OUTPUT_NAME!r} has K={shape[2]} classes but the charset needs "
                               f"len(charset)+1 = {num_classes}")


def load_spec(path: str | Path | None, model: Any) -> ModelSpec:
    """Validate ``model`` (an onnxruntime session or an onnx ModelProto) and return its :class:`ModelSpec`.

    ``path`` is recorded as ``ModelSpec.path`` and named in error messages.
    Raises :class:`ModelFormatError` for a missing key, bad JSON or type, a
    format other than "1", a blank index other than 0, or a graph that does
    not match the metadata (input/output names, dtypes, ranks, C, H, K).
    A dynamic K is accepted here; the runtime checks K again on each output.
    """
    where = f" ({path})" if path is not None else ""
    metadata, inputs, outputs = _metadata_and_shapes(model)
    try:
        missing = [key for key in REQUIRED_KEYS if key not in metadata]
        if missing:
            raise ModelFormatError(f"not a native crnn-onnx model: metadata_props lack {missing}")
        if metadata["crnn_onnx.format"] != FORMAT_VERSION:
            raise ModelFormatError(f"metadata 'crnn_onnx.format' is {metadata['crnn_onnx.format']!r}; "
                                   f"this runtime reads format {FORMAT_VERSION!r}")
        blank_index = _json(metadata, "blank_index")
        if blank_index != 0 or type(blank_index) is not int:
            raise ModelFormatError(f"metadata 'blank_index' must be 0, got {metadata['blank_index']!r}")
        charset = _charset(metadata)
        spec = _input_spec(metadata)
        training = _json(metadata, "training")
        if not isinstance(training, dict):
            raise ModelFormatError(f"metadata 'training' must be a JSON object, got {type(training).__name__}")
        _check_graph(inputs, outputs, spec, len(charset) + 1)
    except ModelFormatError as exc:
        raise ModelFormatError(f"{exc}{where}") from None
    return ModelSpec(charset=charset, blank_index=0, input_spec=spec, name=metadata["name"],
                     version=metadata["version"], license=metadata["license"], training=training,
                     path=Path(path) if path is not None else None)
