"""crnn_onnx.preprocess: input coercion, resize, padding and per-row frame counts (DESIGN §4)."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from crnn_onnx.errors import InvalidImageError
from crnn_onnx.preprocess import (TEXT_BOX_HEIGHT, InputSpec, Margins, batch, fit, frames_for_width, prepare,
                                  resize_to_height, text_box, to_channels, to_float, trim_margins)

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


def test_sixteen_bit_grey_reads_alike_from_arrays_pil_images_and_files(tmp_path):
    grey16 = np.array([[0, 20000], [60000, 65535]], np.uint16)
    expected = grey16 / 65535.0
    np.testing.assert_allclose(to_float(grey16), expected, atol=1e-6)
    np.testing.assert_allclose(to_float(grey16.astype(">u2")), expected, atol=1e-6)  # big-endian too
    assert cv2.imwrite(str(tmp_path / "g16.png"), grey16)
    np.testing.assert_allclose(to_float(tmp_path / "g16.png"), expected, atol=1e-6)
    with Image.open(tmp_path / "g16.png") as pil16:  # mode I;16 or I, by Pillow's version
        np.testing.assert_allclose(to_float(pil16), expected, atol=1e-6)
    np.testing.assert_allclose(to_float(Image.fromarray(grey16.astype(np.int32), mode="I")), expected, atol=1e-6)
    with pytest.raises(InvalidImageError, match=r"\[0, 65535\]"):
        to_float(Image.fromarray(np.array([[-1, 70000]], np.int32), mode="I"))


def test_pil_integer_and_float_modes_converted_from_8_bit_read_like_the_8_bit_image():
    grey = np.array([[0, 64], [128, 255]], np.uint8)
    eight_bit = Image.fromarray(grey)
    for converted in (eight_bit.convert("I"), eight_bit.convert("F")):  # PIL keeps the 0-255 values
        np.testing.assert_allclose(to_float(converted), to_float(eight_bit), atol=1e-6)


def test_pil_float_and_transparent_palette_images():
    values = np.array([[0.0, 0.25], [0.5, 1.0]], np.float32)
    np.testing.assert_allclose(to_float(Image.fromarray(values, mode="F")), values)
    with pytest.raises(InvalidImageError, match=r"\[0, 1\] or PIL's \[0, 255\]"):
        to_float(Image.fromarray(values * 300, mode="F"))
    palette = Image.fromarray(np.array([[0, 1]], np.uint8), mode="P")
    palette.putpalette([0, 0, 0, 0, 0, 0])  # both colours black ...
    palette.info["transparency"] = 0  # ... colour 0 transparent: composited on white, as a PNG viewer shows it
    np.testing.assert_allclose(to_float(palette), [[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]])


@pytest.mark.parametrize("name", ["turned.jpg", "turned.png"])
def test_a_file_is_read_upright_by_its_exif_orientation(tmp_path, name):
    upright = np.full((20, 40), 255, np.uint8)
    upright[2:8, 2:12] = 0  # ink at the top left
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned 90 degrees counter-clockwise: shown turned back clockwise
    Image.fromarray(np.rot90(upright)).save(tmp_path / name, exif=exif.tobytes(), quality=100)
    read = to_float(tmp_path / name)
    np.testing.assert_allclose(read, cv2.imread(str(tmp_path / name), cv2.IMREAD_GRAYSCALE) / 255.0, atol=1e-6)
    assert read.shape == (20, 40) and read[2:8, 2:12].mean() < 0.1 and read[12:18, 28:38].mean() > 0.9


def test_a_file_with_alpha_keeps_it(tmp_path):
    bgra = np.zeros((4, 6, 4), np.uint8)  # black, transparent on the left half: composited on white
    bgra[:, 3:, 3] = 255
    assert cv2.imwrite(str(tmp_path / "alpha.png"), bgra)
    np.testing.assert_allclose(to_float(tmp_path / "alpha.png")[:, :, 0], [[1, 1, 1, 0, 0, 0]] * 4)


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


def test_a_crop_too_wide_to_be_a_line_is_refused_as_given():
    assert fit(np.ones((2, 2000), np.float32), SPEC, None)[0].shape == (32, 32000, 1)
    with pytest.raises(InvalidImageError, match="crop of 2001×2 pixels is over 1000 times as wide"):
        fit(np.ones((2, 2001), np.float32), SPEC, Margins(side=0.6, top_bottom=0.35))
    # margins are cut after the check: a crop within the limit as given is read even if trimming narrows it
    text = np.ones((40, 32000), np.float32)
    text[5:35, 100:31900:50] = 0.0
    assert fit(text, SPEC, Margins(side=0.6, top_bottom=0.0))[0].shape[0] == 32


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


def _page(height: int, width: int, box: tuple[int, int, int, int], noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """White float page with black "text" filling ``box`` (top, bottom, left, right), plus Gaussian noise."""
    image = np.ones((height, width), np.float32)
    top, bottom, left, right = box
    image[top:bottom, left:right] = 0.0
    gaps = (np.arange(left, right) - left) % 5 >= 3  # 3-px strokes, 2-px gaps, as letters have
    image[top:bottom, left:right][:, gaps] = 1.0
    if noise:
        image += np.random.default_rng(seed).normal(0, noise, image.shape).astype(np.float32)
    return np.clip(image, 0, 1)


def _blur_px(height: int) -> float:
    """How far text_box's bounds may stray from the ink: 3 pixels of its copy at most TEXT_BOX_HEIGHT high."""
    return 3 * max(1.0, height / TEXT_BOX_HEIGHT)


def test_text_box_finds_the_ink_within_the_blur_on_noisy_paper():
    box = (30, 50, 40, 160)
    found = text_box(_page(90, 260, box, noise=0.03))
    assert all(abs(f - b) <= _blur_px(90) for f, b in zip(found, box)), found


def test_text_box_ignores_rules_and_sees_faint_or_coloured_letters():
    image = _page(40, 300, (10, 30, 40, 260))
    image[10:30, 40:100] = np.where(image[10:30, 40:100] < 0.5, 0.6, 1.0)  # faint first letters (0.4 contrast)
    image[3:5, :] = 0.0  # a rule above the text, across the whole crop: no vertical edges
    top, bottom, left, right = text_box(image)
    assert top >= 10 - _blur_px(40) and left <= 40 + _blur_px(40)
    red = np.zeros((40, 300, 3), np.float32)
    red[10:30, 40:260:4, 2] = 0.8  # red strokes on black: dim in grey, clear in the red channel
    red[33:36, 100:120] = 1.0  # a bright white mark under them
    assert text_box(red)[2] <= 40 + _blur_px(40)


def test_text_box_keeps_a_full_stop_beside_the_text():
    image = _page(40, 200, (10, 30, 20, 120))
    image[27:30, 150:153] = 0.0  # a 3-px full stop 30 px after the word
    assert text_box(image)[3] >= 153


def test_text_box_of_blank_or_tiny_crops_is_the_whole_crop():
    assert text_box(np.ones((20, 50), np.float32)) == (0, 20, 0, 50)
    assert text_box(np.zeros((2, 9), np.float32)) == (0, 2, 0, 9)
    assert text_box(np.ones((30, 60, 3), np.float32)) == (0, 30, 0, 60)


def test_trim_margins_cuts_wide_margins_down_and_reports_the_left_cut():
    image = _page(100, 300, (40, 60, 100, 200))  # text 20 px high, 100 px of blank each side
    trimmed, left = trim_margins(image, Margins(side=0.5, top_bottom=0.25))
    top, bottom, x0, x1 = text_box(image)
    side, above = round(0.5 * (bottom - top)), round(0.25 * (bottom - top))
    assert left == x0 - side and trimmed.shape == (bottom - top + 2 * above, x1 - x0 + 2 * side)
    np.testing.assert_array_equal(trimmed, image[top - above:bottom + above, left:x1 + side])


def test_trim_margins_leaves_margins_within_the_limit_alone():
    image = _page(30, 140, (5, 25, 8, 130))
    trimmed, left = trim_margins(image, Margins(side=0.6, top_bottom=0.35))
    assert left == 0 and trimmed.shape == image.shape


def test_prepare_trims_only_for_a_model_that_declares_margins():
    image = (_page(96, 200, (40, 56, 80, 120)) * 255).astype(np.uint8)  # 16-px text in 96-px-high blank
    assert prepare(image, SPEC).shape[1] == round(200 * 32 / 96)
    trimmed = prepare(image, InputSpec(margins=Margins(side=0.25, top_bottom=0.0)))
    assert trimmed.shape[0] == 32 and trimmed.shape[1] < 120  # the 40-px word fills the height


@settings(max_examples=60, deadline=None)
@given(height=st.integers(12, 80), width=st.integers(12, 300), data=st.data(),
       side=st.floats(0, 2), top_bottom=st.floats(0, 1))
def test_trim_margins_bounds_every_margin(height, width, data, side, top_bottom):
    text_height = data.draw(st.integers(max(6, height // 3), height))  # a third of the crop or more, as
    top = data.draw(st.integers(0, height - text_height))  # in a detector's box; anywhere, edges included
    bottom = top + text_height
    left = data.draw(st.integers(0, width - 8))
    right = data.draw(st.integers(left + 8, width))
    image = _page(height, width, (top, bottom, left, right), noise=0.02, seed=height * width)
    trimmed, cut = trim_margins(image, Margins(side, top_bottom))
    text_top, text_bottom, text_left, text_right = text_box(image)
    text_height = text_bottom - text_top
    side_px, top_bottom_px = round(side * text_height), round(top_bottom * text_height)
    # each margin is cut to at most margins x text height; a narrower one (up to the crop's edge) is kept whole
    left_m, right_m = min(text_left, side_px), min(width - text_right, side_px)
    top_m, bottom_m = min(text_top, top_bottom_px), min(height - text_bottom, top_bottom_px)
    assert cut == text_left - left_m
    assert trimmed.shape == (top_m + text_height + bottom_m, left_m + text_right - text_left + right_m)
    # the noise makes every row and column distinct, so this pins where the top and left margins start
    np.testing.assert_array_equal(trimmed, image[text_top - top_m:text_bottom + bottom_m, cut:text_right + right_m])


@pytest.mark.parametrize("text, origin", [("hello world", (150, 200)), ("The 1st.", (2, 300)),
                                          ("x", (5, 60)), ("Margins", (400, 30))])
def test_trim_margins_keeps_printed_text_at_any_place_in_a_large_crop(text, origin):
    page = np.full((320, 520), 255, np.uint8)
    cv2.putText(page, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    image = page / np.float32(255)
    trimmed, _ = trim_margins(image, Margins(side=0.0, top_bottom=0.0))
    assert (trimmed < 0.5).sum() == (image < 0.5).sum() and trimmed.size < image.size / 4


def test_text_box_finds_a_short_word_in_a_very_wide_blank_crop():
    page = np.full((40, 1000), 255, np.uint8)
    cv2.putText(page, "word", (480, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    noise = np.random.default_rng(0).normal(0, 0.02, page.shape)
    top, bottom, left, right = text_box((page / 255 + noise).astype(np.float32))
    assert 470 <= left and right <= 560


@pytest.mark.parametrize("side, top_bottom", [(-0.1, 0.2), (0.3, float("nan")), (float("inf"), 0.1), (100, 0.1),
                                              (True, 0.1), ("0.3", 0.1)])
def test_margins_must_be_finite_numbers_below_100(side, top_bottom):
    with pytest.raises(ValueError, match="margins"):
        Margins(side, top_bottom)


def test_text_box_accepts_float64_and_one_channel_crops():
    image = _page(40, 120, (10, 30, 20, 100))
    expected = text_box(image)
    assert text_box(image.astype(np.float64)) == expected == text_box(image[..., None])


@settings(max_examples=80, deadline=None)
@given(text=st.sampled_from(["hello world", "The 1st.", "x", "ORDER #4471", "il|1", "-42,00", "a.b"]),
       scale=st.floats(0.4, 2.0), thickness=st.integers(1, 3), x=st.integers(-10, 300), y_frac=st.floats(0, 1),
       height_share=st.floats(0.34, 1.0), font=st.sampled_from([cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_COMPLEX,
                                                                   cv2.FONT_HERSHEY_SCRIPT_SIMPLEX]))
def test_trim_margins_with_declared_margins_keeps_all_printed_ink(text, scale, thickness, x, y_frac, height_share, font):
    """Printed text filling a third or more of the crop's height, anywhere in it (touching its
    edges too), keeps every ink pixel when cut to the default model's margins."""
    (w, h), base = cv2.getTextSize(text, font, scale, thickness)
    height = max(8, int((h + base) / height_share))
    page = np.full((height, 360), 255, np.uint8)
    cv2.putText(page, text, (x, h + int(y_frac * (height - h - base))), font, scale, 0, thickness)
    image = page / np.float32(255)
    trimmed, _ = trim_margins(image, Margins(side=0.6, top_bottom=0.35))
    assert (trimmed < 0.5).sum() == (image < 0.5).sum()
