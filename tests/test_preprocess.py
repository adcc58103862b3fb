"""crnn_onnx.preprocess: input coercion, resize, padding and per-row frame counts (DESIGN §4)."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from PIL import Image

from crnn_onnx.errors import InvalidImageError
from crnn_onnx.preprocess import InputSpec, batch, frames_for_width, prepare, resize_to_height, to_channels, to_float

SPEC = InputSpec()


def test_uint8_and_float_give_the_same_float_image():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    assert to_float(grey).dtype == np.float32
    np.testing.assert_allclose(to_float(grey), grey / 255.0, atol=1e-6)
    np.testing.assert_allclose(to_float(grey / 255.0), to_float(grey), atol=1e-6)
    np.testing.assert_array_equal(to_float(grey[..., None]), to_float(grey))


def test_channel_order_and_alpha():
    bgr = np.zeros((4, 5, 3), np.uint8)
    bgr[..., 0] = 255  # blue
    assert to_float(bgr)[0, 0].tolist() == [1.0, 0.0, 0.0]
    assert to_float(bgr, channel_order="rgb")[0, 0].tolist() == [0.0, 0.0, 1.0]
    transparent = np.zeros((4, 5, 4), np.uint8)  # black, fully transparent: composited on white
    np.testing.assert_allclose(to_float(transparent), 1.0)
    opaque = np.dstack([bgr, np.full((4, 5), 255, np.uint8)])
    np.testing.assert_allclose(to_float(opaque), to_float(bgr))


def test_pil_and_path_inputs(tmp_path):
    rgb = np.zeros((6, 7, 3), np.uint8)
    rgb[..., 0] = 200  # red in RGB
    expected = to_float(rgb, channel_order="rgb")
    np.testing.assert_allclose(to_float(Image.fromarray(rgb)), expected)
    cv2.imwrite(str(tmp_path / "x.png"), rgb[..., ::-1])
    np.testing.assert_allclose(to_float(tmp_path / "x.png"), expected)
    np.testing.assert_allclose(to_float(str(tmp_path / "x.png")), expected)


@pytest.mark.parametrize("bad, reason", [
    (np.zeros((0, 5), np.uint8), "empty"),
    (np.zeros((5, 0, 3), np.uint8), "empty"),
    (np.zeros((2, 5, 5, 3), np.uint8), "dimensions"),
    (np.zeros(5, np.uint8), "dimensions"),
    (np.zeros((5, 5, 2), np.uint8), "channels"),
    (np.full((5, 5), np.nan, np.float32), "NaN"),
    (np.full((5, 5), np.inf, np.float32), "NaN or inf"),
    (np.zeros((5, 5), np.int32), "dtype"),
    (np.full((5, 5), 1.5, np.float32), r"\[0, 1\]"),
    (np.full((5, 5), -0.1, np.float64), r"\[0, 1\]"),
    ([[0, 1], [1, 0]], "unsupported crop type"),
    ("no/such/file.png", "not found"),
])
def test_bad_inputs_raise_invalid_image_error(bad, reason):
    with pytest.raises(InvalidImageError, match=reason):
        to_float(bad)


def test_unreadable_file(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"not an image")
    with pytest.raises(InvalidImageError, match="unreadable"):
        to_float(path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InvalidImageError, match="unreadable"):
        to_float(tmp_path / "empty.png")


def test_to_channels():
    grey = np.full((3, 4), 0.25, np.float32)
    assert to_channels(grey, 1).shape == (3, 4, 1)
    assert to_channels(grey, 3).shape == (3, 4, 3)
    bgr = np.zeros((3, 4, 3), np.float32)
    bgr[..., 2] = 1.0  # red
    assert to_channels(bgr, 3)[0, 0].tolist() == [1.0, 0.0, 0.0]  # RGB for the model


@pytest.mark.parametrize("height, width, expected_width", [(64, 100, 50), (16, 10, 20), (32, 40, 40), (200, 10, 8)])
def test_resize_keeps_aspect_ratio_and_min_width(height, width, expected_width):
    out = resize_to_height(np.random.default_rng(0).random((height, width, 1), np.float32), SPEC)
    assert out.shape == (32, expected_width, 1)
    assert 0.0 <= out.min() and out.max() <= 1.0


def test_batch_pads_right_with_pad_value_and_counts_frames():
    images = [prepare(np.zeros((32, w), np.uint8), SPEC) for w in (9, 30, 16)]
    x, lengths = batch(images, SPEC)
    assert x.shape == (3, 1, 32, 32)  # widest 30 rounded up to a multiple of 4
    assert lengths.tolist() == [math.ceil(9 / 4), math.ceil(30 / 4), 4]
    pad = (SPEC.pad_value - 0.5) / 0.5
    assert np.all(x[0, :, :, 9:] == pad) and np.all(x[0, :, :, :9] == -1.0)
    assert frames_for_width(3, SPEC) == 2  # below min_width, counted at min_width


def test_batch_normalises_each_channel_with_its_own_mean_and_std():
    spec = InputSpec(input_channels=3, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), pad_value=0.0)
    rng = np.random.default_rng(0)
    images = [rng.random((32, w, 3), dtype=np.float32) for w in (5, 21)]
    x, _ = batch(images, spec)
    assert x.shape == (2, 3, 32, 32) and x.dtype == np.float32 and x.flags.c_contiguous
    mean, std = np.float32(spec.mean).reshape(3, 1, 1), np.float32(spec.std).reshape(3, 1, 1)
    for row, image in enumerate(images):
        width = image.shape[1]
        np.testing.assert_allclose(x[row, :, :, :width], (image.transpose(2, 0, 1) - mean) / std, rtol=1e-6)
        np.testing.assert_allclose(x[row, :, :, width:], np.broadcast_to((0.0 - mean) / std, (3, 32, 32 - width)), rtol=1e-6)
