"""Helpers (no tests) for the geometry, integration and page tests: text drawn into known quads,
synthetic detector ONNX graphs for OpenCV and OnnxTR, and a shared default Recogniser."""
from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX


def word_patch(text: str, scale: float = 1.6, thickness: int = 3, margin: int = 6,
               colour=(0, 0, 0), background=(255, 255, 255)) -> np.ndarray:
    """Large, clear BGR text on a tight upright patch (what the default model reads reliably)."""
    (width, height), base = cv2.getTextSize(text, FONT, scale, thickness)
    patch = np.full((height + base + 2 * margin, width + 2 * margin, 3), background, np.uint8)
    cv2.putText(patch, text, (margin, margin + height), FONT, scale, colour, thickness, cv2.LINE_AA)
    return patch


def draw_into(page: np.ndarray, patch: np.ndarray, quad) -> np.ndarray:
    """Warp ``patch`` onto ``page`` so its corners land on ``quad`` (TL, TR, BR, BL of the text); in place."""
    h, w = patch.shape[:2]
    source = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, np.asarray(quad, np.float32))
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), matrix, page.shape[1::-1], flags=cv2.INTER_NEAREST)
    warped = cv2.warpPerspective(patch, matrix, page.shape[1::-1], flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)
    page[mask > 0] = warped[mask > 0]
    return page


def box_quad(cx: float, cy: float, width: float, height: float, degrees: float = 0.0, shear: float = 0.0) -> np.ndarray:
    """TL, TR, BR, BL of a width×height box centred at (cx, cy), sheared along x by ``shear`` (dx per dy)
    and then rotated clockwise on screen by ``degrees``."""
    corners = np.array([[-width / 2, -height / 2], [width / 2, -height / 2], [width / 2, height / 2],
                        [-width / 2, height / 2]], np.float64)
    corners[:, 0] += shear * corners[:, 1]
    a = math.radians(degrees)
    rotation = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return corners @ rotation.T + np.array([cx, cy])


def page_with_words(words, size=(600, 900)) -> tuple[np.ndarray, list[np.ndarray]]:
    """A white BGR page with each ``(text, cx, cy, degrees, shear)`` drawn; returns the page and the text quads."""
    page = np.full((*size, 3), 255, np.uint8)
    quads = []
    for text, cx, cy, degrees, shear in words:
        patch = word_patch(text)
        quad = box_quad(cx, cy, patch.shape[1], patch.shape[0], degrees, shear)
        draw_into(page, patch, quad)
        quads.append(quad)
    return page, quads


@lru_cache(maxsize=1)
def default_recogniser():
    from crnn_onnx import Recogniser

    return Recogniser(threads=1)


def iou(a, b) -> float:
    from crnn_onnx.pages import polygon_iou

    return polygon_iou(a, b)


def opencv_db_net(path: Path) -> Path:
    """A stand-in for a DB text detector that cv2.dnn.TextDetectionModel_DB runs for real.

    (1, 3, H, W) input scaled to [0, 1] -> mean over channels -> darkness (1 - grey) -> a max-pool that
    merges a word's strokes into one blob -> squeezed to the 2-D (H, W) map OpenCV's DB post-processing reads.
    """
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("ReduceMean", ["x"], ["grey"], axes=[1], keepdims=1),
             helper.make_node("Sub", ["one", "grey"], ["dark"]),
             helper.make_node("MaxPool", ["dark"], ["pooled"], kernel_shape=[7, 15], pads=[3, 7, 3, 7],
                              strides=[1, 1]),
             helper.make_node("Squeeze", ["pooled", "axes"], ["prob"])]
    graph = helper.make_graph(
        nodes, "db_stand_in", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["h", "w"])],
        [helper.make_tensor("one", TensorProto.FLOAT, [], [1.0]),
         helper.make_tensor("axes", TensorProto.INT64, [2], [0, 1])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path


def onnxtr_db_net(path: Path) -> Path:
    """A stand-in for OnnxTR's DBNet (N, 3, 1024, 1024) -> logits (N, 1, 1024, 1024): dark strokes score high.

    Input is normalised with DBNet's mean ~0.79 / std ~0.27, so white is about +0.8 and black about -2.9;
    logits = -4 * (grey + 1), max-pooled so a word's strokes form one region.
    """
    import onnx
    from onnx import TensorProto, helper

    nodes = [helper.make_node("ReduceMean", ["input"], ["grey"], axes=[1], keepdims=1),
             helper.make_node("Add", ["grey", "one"], ["shifted"]),
             helper.make_node("Mul", ["shifted", "k"], ["score"]),
             helper.make_node("MaxPool", ["score"], ["logits"], kernel_shape=[5, 13], pads=[2, 6, 2, 6],
                              strides=[1, 1])]
    graph = helper.make_graph(
        nodes, "onnxtr_db_stand_in",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 3, 1024, 1024])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 1, 1024, 1024])],
        [helper.make_tensor("k", TensorProto.FLOAT, [], [-4.0]), helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return path
