"""crnn_onnx.geometry: vertex ordering, perspective crops with replicated borders, tall-crop candidates."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from crnn_onnx.errors import InvalidImageError
from crnn_onnx.geometry import MAX_CROP_SIDE, crop_quad, is_croppable, order_quad, upright_candidates


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
    ([[0, 0], [10, 0], [10], [0, 10]], "points of real numbers"),  # ragged
    ([["a", "b"]] * 4, "points of real numbers"),
    ([[1j, 0], [10, 0], [10, 10], [0, 10]], "points of real numbers"),
    ([[0, 0], [30, 0], [30, 20], [30, 20]], "repeated or collinear vertices"),  # a triangle: area 300
    ([[0, 0], [15, 0], [30, 0], [30, 20]], "repeated or collinear vertices"),
    ([[0, 0], [30, 0], [30, 20], [30, 20.1]], "repeated or collinear vertices"),
    ([[0, 0], [1e6, 0], [1e6, 20], [0, 20]], f"1000000x20 pixels, over the {MAX_CROP_SIDE}-pixel limit"),
])
def test_malformed_quads(quad, message):
    assert not is_croppable(quad)
    with pytest.raises(InvalidImageError, match=message):
        crop_quad(np.zeros((40, 40), np.uint8), quad)


def test_the_crop_size_limit_is_inclusive():
    assert is_croppable([[0, 0], [MAX_CROP_SIDE, 0], [MAX_CROP_SIDE, 20], [0, 20]])
    assert is_croppable(AXIS_ALIGNED) and is_croppable([[0, 0], [1, 0], [1, 1], [0, 1]])


@pytest.mark.parametrize("quad", [[[50, 5], [60, 5], [60, 15], [50, 15]],  # right of a 40x40 image
                                  [[5, -30], [15, -30], [15, -0.5], [5, -0.5]],  # above
                                  [[-20, 45], [-5, 45], [-5, 60], [-20, 60]]])  # below left
def test_quad_entirely_outside_the_image(quad):
    assert is_croppable(quad)  # the quad itself is fine ...
    assert not is_croppable(quad, (40, 40)) and not is_croppable(quad, (40, 40, 3))  # ... but not on this image
    with pytest.raises(InvalidImageError, match="entirely outside the 40x40 image"):  # there is nothing to read
        crop_quad(np.zeros((40, 40), np.uint8), quad)


def test_quad_touching_the_image_edge_is_read():
    page = np.arange(40 * 40, dtype=np.uint8).reshape(40, 40)
    assert crop_quad(page, [[39, 0], [49, 0], [49, 10], [39, 10]]).shape == (10, 10)
    assert is_croppable([[39, 0], [49, 0], [49, 10], [39, 10]], page.shape)


def test_a_quad_over_1000_times_as_wide_as_high_is_not_croppable():
    assert is_croppable([[0, 0], [2000, 0], [2000, 2], [0, 2]])
    assert not is_croppable([[0, 0], [2002, 0], [2002, 2], [0, 2]])


def test_upright_candidates_only_for_tall_crops():
    assert [r for _, r in upright_candidates(np.zeros((29, 20)))] == [0]
    candidates = upright_candidates(np.arange(30 * 20).reshape(30, 20))
    assert [r for _, r in candidates] == [0, 90, -90]
    assert [c.shape for c, _ in candidates] == [(30, 20), (20, 30), (20, 30)]
    assert candidates[1][0][0, -1] == 0 and candidates[2][0][-1, 0] == 0  # the top-left pixel went where it should


# ----------------------------------------------------------------------------------------------------------------
# Rendered text at known angles and skews, cropped from quads in various vertex orders, read by the default model.

from test_integrations_support import box_quad, default_recogniser, draw_into, word_patch  # noqa: E402

from crnn_onnx.geometry import crop_size, span_quad, word_cuts, word_spans  # noqa: E402


def vertex_orders(quad: np.ndarray) -> dict[str, np.ndarray]:
    """The same quad as different detectors hand it over (quad is TL, TR, BR, BL of the text)."""
    tl, tr, br, bl = quad
    by_x = quad[np.argsort(quad[:, 0], kind="stable")]  # RapidOCR's order_points_clockwise: x first (#706)
    left = by_x[:2][np.argsort(by_x[:2, 1])]
    right = by_x[2:][np.argsort(by_x[2:, 1])]
    return {
        "clockwise": quad,
        "opencv_bl_tl_tr_br": np.array([bl, tl, tr, br]),
        "counter_clockwise": np.array([tl, bl, br, tr]),
        "rolled": np.array([br, bl, tl, tr]),
        "crossed": np.array([tl, br, tr, bl]),
        "rapidocr_x_sort": np.array([left[0], right[0], right[1], left[1]]),
    }


def read_crop(quad, text, degrees=0.0, shear=0.0, size=(400, 500)):
    page = np.full((*size, 3), 255, np.uint8)
    patch = word_patch(text)
    target = box_quad(size[1] / 2, size[0] / 2, patch.shape[1], patch.shape[0], degrees, shear)
    draw_into(page, patch, target)
    return page, target


@pytest.mark.parametrize("degrees", [-35, -12, 0, 8, 25, 40])
@pytest.mark.parametrize("order", ["clockwise", "opencv_bl_tl_tr_br", "counter_clockwise", "rolled", "crossed",
                                   "rapidocr_x_sort"])
def test_rotated_text_comes_out_upright_and_is_read(degrees, order):
    page, quad = read_crop(None, "Invoice", degrees)
    crop = crop_quad(page, vertex_orders(quad)[order])
    assert crop.shape[1] > crop.shape[0]  # wide, as the text is
    assert default_recogniser().read(crop).text == "Invoice"


@pytest.mark.parametrize("shear", [-0.4, 0.3])
@pytest.mark.parametrize("degrees", [0, 15])
def test_skewed_text_is_read(shear, degrees):
    page, quad = read_crop(None, "TOTAL 42", degrees, shear)
    crop = crop_quad(page, vertex_orders(quad)["rolled"])
    assert default_recogniser().read(crop).text == "TOTAL 42"


@pytest.mark.parametrize("degrees", [90, -90, 84, -95])
@pytest.mark.parametrize("order", ["clockwise", "opencv_bl_tl_tr_br", "rapidocr_x_sort", "rolled"])
def test_vertical_text_gives_a_tall_crop_that_is_read_upright(degrees, order):
    # Text running down (90) or up (-90) the page: by geometry the box stays tall; the tall-crop rule rotates it.
    page, quad = read_crop(None, "STOCK", degrees, size=(500, 400))
    crop = crop_quad(page, vertex_orders(quad)[order])
    assert crop.shape[0] >= 1.5 * crop.shape[1]
    assert default_recogniser().read(crop).text == "STOCK"


def test_rapidocr_706_slanted_vertical_line():
    # RapidAI/RapidOCR#706: a tall vertical line leaning towards the lower left. RapidOCR's x-sort hands over
    # [bl, tl, tr, br] and its crop starts from the wrong edge; order_quad must still give an upright crop.
    page, quad = read_crop(None, "RECEIPT", 97, size=(520, 420))
    tl, tr, br, bl = quad
    xs = np.array([tl, tr, br, bl])[:, 0]
    assert sorted(xs)[:2] != sorted([tl[0], bl[0]])  # the x-sort's "two leftmost = left edge" assumption fails
    given = vertex_orders(quad)["rapidocr_x_sort"]
    crop = crop_quad(page, given)
    assert default_recogniser().read(crop).text == "RECEIPT"


def test_read_regions_reads_every_quad_whatever_its_order():
    page = np.full((500, 700, 3), 255, np.uint8)
    words = [("Hello", 150, 100, -20), ("World", 450, 120, 10), ("2026", 150, 330, 90), ("ONNX", 500, 350, 0)]
    quads = []
    for (text, cx, cy, degrees), order in zip(words, ["rolled", "opencv_bl_tl_tr_br", "rapidocr_x_sort", "crossed"]):
        patch = word_patch(text)
        quad = box_quad(cx, cy, patch.shape[1], patch.shape[0], degrees)
        draw_into(page, patch, quad)
        quads.append(vertex_orders(quad)[order])
    assert [p.text for p in default_recogniser().read_regions(page, quads)] == [w[0] for w in words]


def test_span_quad_maps_crop_columns_back_to_the_page():
    quad = box_quad(200, 150, 160, 40, degrees=30)
    np.testing.assert_allclose(span_quad(quad, 0, 160), quad, atol=1e-3)
    half = span_quad(quad, 0, 80)
    np.testing.assert_allclose(half[0], quad[0], atol=1e-3)
    np.testing.assert_allclose(half[1], (quad[0] + quad[1]) / 2, atol=1e-3)
    np.testing.assert_allclose(half[2], (quad[3] + quad[2]) / 2, atol=1e-3)


def test_span_quad_of_a_crop_read_rotated():
    tall = np.array([[50, 10], [70, 10], [70, 110], [50, 110]], np.float64)
    assert crop_size(tall) == (100, 20)
    # Read rotated clockwise, the text runs bottom to top: the first 50 columns are the lower half.
    np.testing.assert_allclose(span_quad(tall, 0, 50, 90), [[50, 110], [50, 60], [70, 60], [70, 110]], atol=1e-4)
    # Read rotated counter-clockwise, it runs top to bottom, its top-left at the crop's top-right.
    np.testing.assert_allclose(span_quad(tall, 0, 50, -90), [[70, 10], [70, 60], [50, 60], [50, 10]], atol=1e-4)
    with pytest.raises(ValueError):
        span_quad(tall, 0, 5, 180)


def test_word_cuts_tile_the_crop_between_words():
    """Cuts lie halfway between a space's start and the next word's first character's start."""
    spans = [(0, 3), (4, 7), (8, 10), (10, 12), (14, 17), (18, 21), (22, 24), (26, 29)]
    assert word_cuts("ab  cd e", spans, 30) == [((0, 1), 0.0, 11.0), ((4, 5), 11.0, 24.0), ((7,), 24.0, 30.0)]
    assert word_cuts("  ", [(0, 1)] * 2, 10) == []
    with pytest.raises(ValueError, match="1 character spans for a text of 2 characters"):
        word_cuts("ab", [(0, 1)], 10)


def test_word_spans_cut_between_words():
    spans = [(0, 2), (4, 6), (8, 9), (10, 11), (14, 16), (18, 20), (22, 23), (24, 26)]
    # Cuts at 11 and 23; each word from its first start to its last start plus its pitch (2; 'e': line median 4).
    assert word_spans("ab  cd e", spans, 30) == [("ab", 0.0, 8.0, (0, 1)), ("cd", 14.0, 22.0, (4, 5)),
                                                  ("e", 24.0, 28.0, (7,))]
    assert word_spans(" ab", [(0, 1), (3, 4), (6, 7)], 10) == [("ab", 3.0, 9.0, (1, 2))]
    assert word_spans("abc", [(0, 1)] * 3, 10) == [("abc", 0.0, 10.0, (0, 1, 2))]
    assert word_spans("  ", [(0, 1)] * 2, 10) == []
    with pytest.raises(ValueError):
        word_spans("ab", [(0, 1)], 10)


def test_word_boxes_from_real_character_spans_cover_the_drawn_words():
    from test_integrations_support import iou

    page = np.full((300, 900, 3), 255, np.uint8)
    first, second = word_patch("TOTAL"), word_patch("DUE")
    gap = 30
    line = np.full((max(first.shape[0], second.shape[0]), first.shape[1] + gap + second.shape[1], 3), 255, np.uint8)
    line[:first.shape[0], :first.shape[1]] = first
    line[:second.shape[0], first.shape[1] + gap:] = second
    quad = box_quad(450, 150, line.shape[1], line.shape[0], degrees=12)
    draw_into(page, line, quad)
    prediction = default_recogniser().read(crop_quad(page, quad))
    assert prediction.text == "TOTAL DUE"
    words = word_spans(prediction.text, prediction.char_spans, crop_size(quad)[1])
    assert [w[0] for w in words] == ["TOTAL", "DUE"]
    along = (quad[1] - quad[0]) / line.shape[1]
    down = quad[3] - quad[0]
    truth = [np.array([quad[0] + along * a, quad[0] + along * b, quad[0] + along * b + down, quad[0] + along * a + down])
             for a, b in ((0, first.shape[1]), (first.shape[1] + gap, line.shape[1]))]
    for (_, x0, x1, _), expected in zip(words, truth):
        assert iou(span_quad(quad, x0, x1), expected) >= 0.6


@pytest.mark.parametrize("bad, message", [([[0, 0], [10, 0], [10]], "points of real numbers"),
                                          ([[0, 0], [30, 0], [30, 20], [30, 20]], "repeated or collinear"),
                                          ([[500, 0], [600, 0], [600, 20], [500, 20]], "entirely outside"),
                                          ([[0, 0], [1e6, 0], [1e6, 30], [0, 30]], "limit per side")])
def test_read_regions_names_the_bad_quad(bad, message):
    page = np.full((60, 200, 3), 255, np.uint8)
    with pytest.raises(InvalidImageError, match=f"item 1: .*{message}"):
        default_recogniser().read_regions(page, [AXIS_ALIGNED, bad])
