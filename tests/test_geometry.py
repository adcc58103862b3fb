"""crnn_onnx.geometry: vertex ordering, perspective crops with replicated borders, tall-crop candidates."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from crnn_onnx.errors import InvalidImageError
from crnn_onnx.geometry import crop_quad, order_quad, upright_candidates


def rotated_box(cx: float, cy: float, width: float, height: float, degrees: float) -> np.ndarray:
    """Corners TL, TR, BR, BL of a width×height box rotated clockwise on screen by ``degrees``."""
    a = math.radians(degrees)
    along, across = np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])
    half_w, half_h = along * width / 2, across * height / 2
    centre = np.array([cx, cy])
    return np.array([centre - half_w - half_h, centre + half_w - half_h, centre + half_w + half_h,
                     centre - half_w + half_h])


def same_points(points: np.ndarray, expected: np.ndarray) -> bool:
    return np.allclose(points, expected, atol=1e-3)


AXIS_ALIGNED = np.array([[10, 20], [90, 20], [90, 40], [10, 40]], np.float32)


@pytest.mark.parametrize("start", range(4))
@pytest.mark.parametrize("reverse", [False, True])
def test_axis_aligned_box_in_any_cyclic_order(start, reverse):
    given = np.roll(AXIS_ALIGNED, -start, axis=0)
    if reverse:
        given = given[::-1]
    assert same_points(order_quad(given), AXIS_ALIGNED)


def test_crossed_order_is_untangled():
    bow_tie = AXIS_ALIGNED[[0, 2, 1, 3]]
    assert same_points(order_quad(bow_tie), AXIS_ALIGNED)


@pytest.mark.parametrize("degrees", [-40, -20, -5, 5, 20, 40])
def test_slanted_box_keeps_its_top_edge(degrees):
    # Sorting by x alone (RapidOCR #706) puts the wrong corners on top for slanted boxes.
    box = rotated_box(100, 100, 120, 24, degrees)
    shuffled = box[[2, 0, 3, 1]]
    assert same_points(order_quad(shuffled), box)


def test_detector_order_is_trusted_when_valid_clockwise_and_pointing_right():
    steep = rotated_box(100, 100, 120, 24, 55)  # by geometry the short edge (-35 degrees) would be on top
    assert same_points(order_quad(steep), steep)
    assert not same_points(order_quad(steep[[1, 0, 3, 2]]), steep)  # not clockwise: reordered


def test_vertical_box_stays_tall():
    tall = np.array([[50, 10], [70, 10], [70, 110], [50, 110]], np.float32)
    ordered = order_quad(np.roll(tall, 1, axis=0))
    assert same_points(ordered, tall)
    assert crop_quad(np.zeros((200, 200), np.uint8), ordered).shape == (100, 20)


def test_crop_of_axis_aligned_integer_quad_is_the_slice():
    page = np.random.default_rng(0).integers(0, 256, (60, 120, 3), dtype=np.uint8)
    np.testing.assert_array_equal(crop_quad(page, AXIS_ALIGNED), page[20:40, 10:90])


def test_crop_undoes_a_rotation():
    rng = np.random.default_rng(1)
    patch = cv2.resize(rng.integers(0, 256, (4, 12), dtype=np.uint8), (120, 40), interpolation=cv2.INTER_NEAREST)
    page = np.full((300, 300), 255, np.uint8)
    page[130:170, 90:210] = patch
    matrix = cv2.getRotationMatrix2D((150, 150), -25, 1.0)  # OpenCV's positive angle is counter-clockwise
    rotated = cv2.warpAffine(page, matrix, (300, 300), flags=cv2.INTER_LINEAR, borderValue=255)
    corners = np.array([[90, 130], [210, 130], [210, 170], [90, 170]], np.float64)
    quad = np.hstack([corners, np.ones((4, 1))]) @ matrix.T
    crop = crop_quad(rotated, quad[[3, 1, 0, 2]])
    assert crop.shape == (40, 120)
    inner = np.abs(crop[3:-3, 3:-3].astype(int) - patch[3:-3, 3:-3].astype(int))
    assert np.median(inner) <= 2 and inner.mean() < 12


def test_borders_are_replicated():
    page = np.full((50, 50), 200, np.uint8)
    crop = crop_quad(page, [[-20, -10], [70, -10], [70, 30], [-20, 30]])
    assert crop.shape == (40, 90) and np.all(crop == 200)


@pytest.mark.parametrize("quad, message", [
    ([[0, 0], [10, 0], [10, 10]], "4 .x, y. points"),
    ([[0, 0], [10, 0], [10, 10], [0, np.nan]], "NaN"),
    ([[5, 5]] * 4, "zero area"),
    ([[0, 0], [10, 0], [20, 0], [30, 0]], "zero area"),
])
def test_malformed_quads(quad, message):
    with pytest.raises(InvalidImageError, match=message):
        crop_quad(np.zeros((40, 40), np.uint8), quad)


def test_upright_candidates_only_for_tall_crops():
    assert [r for _, r in upright_candidates(np.zeros((29, 20)))] == [0]
    candidates = upright_candidates(np.arange(30 * 20).reshape(30, 20))
    assert [r for _, r in candidates] == [0, 90, -90]
    assert [c.shape for c, _ in candidates] == [(30, 20), (20, 30), (20, 30)]
    assert candidates[1][0][0, -1] == 0 and candidates[2][0][-1, 0] == 0  # the top-left pixel went where it should
