"""Synthetic handwriting: font discovery, label sampler, renderer, and its place in the batch stream."""
from __future__ import annotations

import random

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training tests need the 'train' extra")
from test_training_data import CHARSET, build_font  # noqa: E402

from training.config import TrainConfig  # noqa: E402
import training.handwriting as handwriting  # noqa: E402
from training.datasets import MixedBatches, synthetic_validation  # noqa: E402
from training.fonts import find_fonts  # noqa: E402
from training.handwriting import (HAND_REQUIRED, HandwritingRenderer, HandwritingText,  # noqa: E402
                                  find_handwriting_fonts, hershey_fonts, load_names, strip_accents)

FULL = "".join(chr(c) for c in range(0x21, 0x7F))


@pytest.fixture()
def box_fonts(tmp_path):
    """A folder of generated fonts: one full, one caps-only, one without digits, one without '-'."""
    folder = tmp_path / "hand"
    folder.mkdir()
    build_font(folder / "full.ttf", FULL)
    build_font(folder / "caps.ttf", FULL, same_case_glyph=True)
    build_font(folder / "nodigits.ttf", "".join(c for c in FULL if not c.isdigit()))
    build_font(folder / "nohyphen.ttf", FULL.replace("-", ""))
    return folder


def test_handwriting_fonts_need_letters_and_digits_and_know_caps_only(box_fonts):
    fonts = {f.path.rsplit("/", 1)[-1]: f for f in find_handwriting_fonts([str(box_fonts)])}
    assert sorted(fonts) == ["caps.ttf", "full.ttf", "nohyphen.ttf"]
    assert fonts["caps.ttf"].caps_only and not fonts["full.ttf"].caps_only
    assert fonts["caps.ttf"].can_draw("JEAN PAUL") and not fonts["caps.ttf"].can_draw("Jean")
    assert not fonts["nohyphen.ttf"].can_draw("JEAN-PAUL") and fonts["full.ttf"].can_draw("JEAN-PAUL")
    assert find_handwriting_fonts([str(box_fonts / "missing")]) == []


def test_names_drop_accents_and_non_letters(tmp_path):
    assert strip_accents("LÉNA") == "LENA" and strip_accents("François") == "Francois"
    source = tmp_path / "names.txt"
    source.write_text("Léna\nFrançois\nl'eau\nx\n123\nÉmile\nLéna\n", encoding="utf-8")
    assert load_names(source) == ["Emile", "Francois", "Lena"]


def test_handwriting_labels_are_printable_and_mostly_block_capitals():
    sampler = HandwritingText(["alpha", "beta", "gamma"], ["KEVIN", "Lena", "Cherpin"], random.Random(5))
    singles = [sampler.single() for _ in range(400)]
    lines = [sampler.line(50) for _ in range(50)]
    for text in singles + lines:
        assert text and set(text) <= set(CHARSET), text
    caps = sum(t.isupper() for t in singles) / len(singles)
    assert 0.45 < caps < 0.9, caps
    assert any(not t.isupper() and any(c.islower() for c in t) for t in singles)
    assert all(len(line) <= 50 for line in lines)


def test_renderer_draws_handwriting_wider_for_longer_text(box_fonts):
    fonts = find_handwriting_fonts([str(box_fonts)])
    renderer = HandwritingRenderer(fonts, [box_fonts / "full.ttf"], random.Random(0))
    widths = {}
    for text in ("AB", "ABCDEFGHIJKLMNOP"):
        images = [renderer.render(text) for _ in range(20)]
        for image in images:
            assert image.dtype == np.uint8 and image.ndim == 2 and image.shape[0] >= 10
            assert image.std() > 5, "blank render"
        widths[text] = np.median([im.shape[1] / im.shape[0] for im in images])
    assert widths["ABCDEFGHIJKLMNOP"] > 2 * widths["AB"]
    with pytest.raises(ValueError, match="no handwriting font draws"):
        renderer.render("A\u00e9")


def test_renderer_is_reproducible_from_its_seed(box_fonts):
    fonts = find_handwriting_fonts([str(box_fonts)])
    first, second = (HandwritingRenderer(fonts, [box_fonts / "full.ttf"], random.Random(7)).render("KEVIN")
                     for _ in range(2))
    assert first.shape == second.shape and np.array_equal(first, second)


def test_neighbour_line_sits_above_or_cut_below_and_leaves_the_field_alone(box_fonts):
    fonts = find_handwriting_fonts([str(box_fonts)])
    full = next(f for f in fonts if f.path.endswith("full.ttf"))
    renderer = HandwritingRenderer(fonts, [box_fonts / "full.ttf"], random.Random(3))
    hand = np.zeros((40, 200), np.float32)
    hand[10:30, 20:180] = 1.0
    printed = np.zeros_like(hand)
    printed[35:37, :] = 1.0
    below_heights, above_heights = [], []
    for _ in range(60):
        new_hand, new_printed = renderer._neighbour_line(hand, printed, full, 30)
        added = new_hand.shape[0] - hand.shape[0]
        assert new_hand.shape == new_printed.shape and new_hand.shape[1] == hand.shape[1]
        above = np.array_equal(new_hand[added:], hand)
        field = slice(added, None) if above else slice(0, hand.shape[0])
        assert np.array_equal(new_hand[field], hand) and np.array_equal(new_printed[field], printed)
        extra = new_hand[:added] if above else new_hand[hand.shape[0]:]
        assert extra.max() > 0.5, "the neighbouring line left no ink"
        (above_heights if above else below_heights).append(added)
    assert above_heights and below_heights
    # on both sides the line is sometimes cut by the edge and sometimes whole (at least twice as tall)
    for heights in (above_heights, below_heights):
        assert max(heights) > 2 * min(heights)


def test_broken_strokes_leave_holes_in_the_ink(box_fonts, monkeypatch):
    renderer = HandwritingRenderer(find_handwriting_fonts([str(box_fonts)]), [box_fonts / "full.ttf"], random.Random(5))
    block = np.ones((30, 120), np.float32)
    holes = {}
    for share in (0.0, 1.0):
        monkeypatch.setattr(handwriting, "BROKEN_STROKE_SHARE", share)
        inner = [renderer._pen(block, 40)[10:-10, 30:-30] for _ in range(10)]
        holes[share] = np.mean([np.mean(ink < 0.05) for ink in inner])
    assert holes[0.0] < 0.02 and 0.1 < holes[1.0] < 0.9


def test_renderer_needs_fonts(box_fonts):
    with pytest.raises(ValueError, match="no handwriting fonts"):
        HandwritingRenderer([], [box_fonts / "full.ttf"], random.Random(0))
    with pytest.raises(ValueError, match="no printed fonts"):
        HandwritingRenderer(find_handwriting_fonts([str(box_fonts)]), [], random.Random(0))


def test_system_handwriting_fonts_render_every_required_character():
    fonts = find_handwriting_fonts()
    if not fonts:
        pytest.skip("no handwriting fonts installed (see training/debian-handwriting-fonts.txt)")
    printed = find_fonts()[:5]
    renderer = HandwritingRenderer(fonts, printed, random.Random(1))
    for font in fonts:
        shapes = set()
        for ch in HAND_REQUIRED:
            ink, advance, baseline = renderer._glyph(ch, font.path, 30, 0.0, 2)
            assert ink.max() > 0.5 and advance > 0 and 0 < baseline < ink.shape[0], (font.path, ch)
            shapes.add((ink.shape, (ink > 0.5).tobytes()))
        # not one glyph (a box, a dot) for everything: even a caps-only font tells its 26 letters and 10 digits apart
        assert len(shapes) >= 36, (font.path, len(shapes))
    for start in range(0, len(HAND_REQUIRED), 12):
        assert renderer.render(HAND_REQUIRED[start:start + 12]).std() > 5


def test_batch_stream_mixes_handwriting_in(box_fonts, tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("alpha\nbeta\ngamma\n")
    names = tmp_path / "names.txt"
    names.write_text("KEVIN\nLENA\n")
    config = TrainConfig(batch_size=16, line_ratio=0.0, fonts_dir=str(box_fonts), words_file=str(words),
                         handwriting_ratio=1.0, handwriting_fonts_dir=str(box_fonts), names_file=str(names),
                         val_synthetic=8)
    stream = MixedBatches(config, [], seed=3)
    stream._setup(random.Random(3))
    batch = stream.make_batch(random.Random(4))
    assert len(batch["texts"]) == 16 and batch["image"].shape[:3] == (16, 1, 32)
    decoded = "".join(config.charset[i - 1] for i in batch["targets"].tolist())
    assert decoded == "".join(batch["texts"])
    assert any(t.upper() in {"KEVIN", "LENA"} or "KEVIN" in t or "LENA" in t for t in batch["texts"])
    assert [it.text for it in synthetic_validation(config, 8)] == [it.text for it in synthetic_validation(config, 8)]


def test_hershey_stroke_fonts_draw_every_printable_character(box_fonts):
    fonts = hershey_fonts()
    assert len(fonts) == 7 and all(f.can_draw("Jean-Paul 42!") for f in fonts)
    for font in fonts:
        renderer = HandwritingRenderer([font], [box_fonts / "full.ttf"], random.Random(3))
        for ch in FULL:
            ink, advance, baseline = renderer._glyph(ch, font.path, 30, 0.0, 2)
            assert ink.max() > 0.5 and advance > 0 and 0 < baseline < ink.shape[0], (font.path, ch)
        thin, _, _ = renderer._glyph("H", font.path, 30, 0.0, 1)
        thick, _, _ = renderer._glyph("H", font.path, 30, 0.0, 4)
        assert thick.sum() > 1.2 * thin.sum()  # a wider pen: more ink in a glyph of the same height
