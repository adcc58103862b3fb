"""Fixtures: tiny "oracle" ONNX models that read rendered bars by construction, and the shared data folder.

The oracle reads only the top ``READ_ROWS`` rows of its (N, C, 32, W) input:
a Slice, an AveragePool of kernel (READ_ROWS, 4) and stride (1, 4) that turns
each 4-pixel column block into one frame (T = ceil(W / 4)), a 1x1 Conv that
scores each frame's mean normalised value v against one level per class, a
Squeeze and a Transpose to (N, T, K), and a LogSoftmax. Class k's logit is
``SHARPNESS * (2 * c_k * v - c_k**2)``, i.e. ``-SHARPNESS * (v - c_k)**2`` up
to a term shared by all classes, so the nearest level wins.

Levels (pixel value in [0, 1]): white 1.0 is the blank, 'a' is black 0.0,
'b' is 0.25 and 'c' is 0.5, which is also the pad value: a decoder that read
padding frames would add 'c's. :func:`render` draws a text as bars of
``BAR`` pixels separated by white gaps of ``GAP`` pixels, with white
``MARGIN`` on both sides, all multiples of 4, so frames are pure and the
reading is known exactly.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

ORACLE_CHARSET = ("a", "b", "c")
LEVELS = {"a": 0.0, "b": 0.25, "c": 0.5}
BLANK_LEVEL = 1.0
SHARPNESS = 40.0
HEIGHT = 32
READ_ROWS = 16
BAR, GAP, MARGIN = 8, 8, 8
REPO = Path(__file__).resolve().parent.parent


def oracle_metadata(**overrides) -> dict[str, str]:
    """The native metadata of the oracle; ``overrides`` replace values, and a value of None drops the key."""
    metadata = {
        "crnn_onnx.format": "1",
        "charset": json.dumps(list(ORACLE_CHARSET)),
        "blank_index": "0",
        "input_height": str(HEIGHT),
        "input_channels": "1",
        "normalize": json.dumps({"mean": [0.5], "std": [0.5]}),
        "pad_value": "0.5",
        "width_stride": "4",
        "min_width": "8",
        "name": "oracle",
        "version": "1",
        "license": "MIT",
        "training": json.dumps({"note": "hand-built test graph"}),
    }
    for key, value in overrides.items():
        if value is None:
            metadata.pop(key, None)
        else:
            metadata[key] = value
    return metadata


def build_oracle(metadata: dict[str, str] | None = None, *, channels: int = 1, height: int = HEIGHT,
                 classes: int = len(ORACLE_CHARSET) + 1, input_name: str = "image", output_name: str = "logprobs",
                 rank: int = 4, frames_per_block: int = 1,
                 latch: tuple[float, float] | None = None) -> "onnx.ModelProto":
    """The oracle graph with the given metadata; keyword arguments make structurally broken variants.

    ``classes`` > 4 adds classes that never win; ``rank=3`` takes (N, H, W)
    input; ``frames_per_block=2`` breaks T = ceil(W / 4) by repeating each frame.
    ``latch=(nats, frames)`` makes the reading depend on the input's width, as a BiLSTM's
    context does: class 2's logit gains and class 1's loses ``nats * (T - frames)``.
    """
    centres = [(BLANK_LEVEL - 0.5) / 0.5] + [(LEVELS[c] - 0.5) / 0.5 for c in ORACLE_CHARSET]
    centres += [50.0] * (classes - len(centres))
    centres = centres[:classes]
    weight = np.array([[2 * SHARPNESS * c / channels] * channels for c in centres], np.float32)
    weight = weight.reshape(classes, channels, 1, 1)
    bias = np.array([-SHARPNESS * c * c for c in centres], np.float32)
    dims = ["N", channels, height, "W"] if rank == 4 else ["N", height, "W"]
    nodes, first = [], input_name
    if rank == 3:
        nodes.append(helper.make_node("Unsqueeze", [input_name, "axis1"], ["x4"]))
        first = "x4"
    nodes += [
        helper.make_node("Slice", [first, "starts", "ends", "axes"], ["top"]),
        helper.make_node("AveragePool", ["top"], ["pooled"], kernel_shape=[READ_ROWS, 4], strides=[1, 4], ceil_mode=1),
        helper.make_node("Conv", ["pooled", "weight", "bias"], ["scores"], kernel_shape=[1, 1]),
        helper.make_node("Squeeze", ["scores", "axis2"], ["squeezed"]),
        helper.make_node("Transpose", ["squeezed"], ["frames"], perm=[0, 2, 1]),
    ]
    if frames_per_block == 2:
        nodes.append(helper.make_node("Concat", ["frames", "frames"], ["doubled"], axis=1))
        nodes.append(helper.make_node("LogSoftmax", ["doubled"], [output_name], axis=-1))
    elif latch is not None:
        nodes += [helper.make_node("Shape", ["frames"], ["shape"]),
                  helper.make_node("Gather", ["shape", "time_axis"], ["t_int"]),
                  helper.make_node("Cast", ["t_int"], ["t"], to=TensorProto.FLOAT),
                  helper.make_node("Sub", ["t", "latch_frames"], ["excess"]),
                  helper.make_node("Mul", ["excess", "latch_nats"], ["latch_bias"]),
                  helper.make_node("Add", ["frames", "latch_bias"], ["latched"]),
                  helper.make_node("LogSoftmax", ["latched"], [output_name], axis=-1)]
    else:
        nodes.append(helper.make_node("LogSoftmax", ["frames"], [output_name], axis=-1))
    initialisers = [
        helper.make_tensor("starts", TensorProto.INT64, [1], [0]),
        helper.make_tensor("ends", TensorProto.INT64, [1], [READ_ROWS]),
        helper.make_tensor("axes", TensorProto.INT64, [1], [2]),
        helper.make_tensor("axis2", TensorProto.INT64, [1], [2]),
        helper.make_tensor("weight", TensorProto.FLOAT, weight.shape, weight.ravel()),
        helper.make_tensor("bias", TensorProto.FLOAT, bias.shape, bias),
    ]
    if rank == 3:
        initialisers.append(helper.make_tensor("axis1", TensorProto.INT64, [1], [1]))
    if latch is not None:
        per_class = np.zeros(classes, np.float32)
        per_class[1:3] = -latch[0], latch[0]
        initialisers += [helper.make_tensor("time_axis", TensorProto.INT64, [1], [1]),
                         helper.make_tensor("latch_frames", TensorProto.FLOAT, [1], [latch[1]]),
                         helper.make_tensor("latch_nats", TensorProto.FLOAT, [classes], per_class)]
    graph = helper.make_graph(nodes, "oracle", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, dims)],
                              [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, ["N", "T", classes])],
                              initialisers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    for key, value in (metadata if metadata is not None else oracle_metadata()).items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    return model


def save(model: "onnx.ModelProto", path: Path) -> Path:
    onnx.save(model, str(path))
    return path


def render(text: str, bottom_level: float | None = None, bar: int = BAR, gap: int = GAP) -> np.ndarray:
    """A uint8 HEIGHT×W crop of ``text`` as oracle bars; ``bottom_level`` fills the unread bottom rows."""
    width = 2 * MARGIN + len(text) * bar + max(0, len(text) - 1) * gap
    image = np.full((HEIGHT, max(width, 8)), 255, np.uint8)
    for i, char in enumerate(text):
        x = MARGIN + i * (bar + gap)
        image[:, x:x + bar] = round(255 * LEVELS[char])
    if bottom_level is not None:
        image[READ_ROWS:] = round(255 * bottom_level)
    return image


def bar_span(index: int, scale: float = 1.0) -> tuple[int, int]:
    """The pixel span of the ``index``-th bar of :func:`render`, at ``scale`` times the rendered size."""
    x = MARGIN + index * (BAR + GAP)
    return round(x * scale), round((x + BAR) * scale)


@pytest.fixture(scope="session")
def oracle_path(tmp_path_factory) -> Path:
    return save(build_oracle(), tmp_path_factory.mktemp("models") / "oracle.onnx")


@pytest.fixture(scope="session")
def oracle(oracle_path):
    from crnn_onnx import Recogniser
    return Recogniser(oracle_path, threads=1)


def data_dir() -> Path | None:
    """``$CRNN_ONNX_DATA``, else ``../shared/data`` beside the checkout, when it exists."""
    folder = Path(os.environ.get("CRNN_ONNX_DATA", REPO.parent / "shared" / "data"))
    return folder if folder.is_dir() else None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    folder = data_dir()
    if folder is None:
        pytest.skip("shared evaluation data not found: set CRNN_ONNX_DATA or place it at ../shared/data")
    return folder
