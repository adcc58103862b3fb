"""The stroke hand: jittered block-capital skeletons (training.strokes) and their place among the handwriting fonts."""
from __future__ import annotations

import random

import numpy as np
import pytest

pytest.importorskip("torch", reason="training tests need the 'train' extra")
from training.fonts import find_fonts  # noqa: E402
from training.handwriting import HandwritingRenderer, stroke_hands  # noqa: E402
from training.strokes import SKELETONS, draw_glyph, stroke_chars  # noqa: E402

CAPITALS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


@pytest.mark.parametrize("jitter", [0.0, 0.06])
def test_every_character_draws_inside_its_canvas_with_the_capitals_on_the_baseline(jitter):
    rng = random.Random(0)
    for ch in SKELETONS:
        ink, advance, baseline = draw_glyph(ch, 30, 2, jitter, rng)
        rows, cols = np.nonzero(ink > 0.3)
        assert rows.size, f"{ch!r} drew no ink"
        assert rows.min() > 0 and cols.min() > 0 and rows.max() < ink.shape[0] - 1 and cols.max() < ink.shape[1] - 1
        assert advance > cols.max() - cols.min()
        if ch in CAPITALS and ch not in "Q":
            bottom_tolerance = 3 + 3 * jitter * 30
            assert abs(rows.max() - baseline) <= bottom_tolerance, ch
            assert abs((baseline - rows.min()) - 30) <= 2 * bottom_tolerance, ch


def test_the_middle_of_m_reaches_different_depths():
    depths = []
    for seed in range(12):
        ink, _, baseline = draw_glyph("M", 40, 2, 0.0, random.Random(seed))
        middle = ink[:, ink.shape[1] // 2 - 1: ink.shape[1] // 2 + 2]
        depths.append(np.nonzero(middle.max(axis=1) > 0.3)[0].max())
    assert max(depths) - min(depths) > 0.4 * 40


def test_stroke_hands_draw_upper_case_only_and_render_names():
    hands = stroke_hands()
    assert set(CAPITALS) <= stroke_chars() and all(h.can_draw("JEAN-PIERRE 12/05") for h in hands)
    assert not any(h.can_draw("Jean") for h in hands)
    printed = find_fonts()
    if not printed:
        pytest.skip("no system fonts for the printed form labels")
    renderer = HandwritingRenderer(hands, printed[:3], random.Random(2))
    assert renderer.render("MARTIN").dtype == np.uint8
    assert renderer._write("LI" * 8, hands[0], 30).shape[1] > 3 * renderer._write("LI", hands[0], 30).shape[1]
