"""Training data: font filter, text sampler, renderer, loaders (labels.tsv, IAM, tar), batches."""
from __future__ import annotations

import math
import random
import tarfile
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training tests need the 'train' extra")
from fontTools.fontBuilder import FontBuilder  # noqa: E402
from fontTools.pens.ttGlyphPen import TTGlyphPen  # noqa: E402

from crnn_onnx import Recogniser  # noqa: E402
from crnn_onnx.charset import PRINTABLE_ASCII  # noqa: E402
from crnn_onnx.metrics import score  # noqa: E402
from crnn_onnx.preprocess import Margins, padded_width  # noqa: E402
from training.config import TrainConfig  # noqa: E402
from training.datasets import (Item, MixedBatches, ctc_feasible, is_validation, load_source,  # noqa: E402
                               real_split, split_items, validation_sets)
from training.fonts import find_fonts, font_problem  # noqa: E402
from training.lexicon import lexicon_words, main as build_lexicon  # noqa: E402
from training.pack import pack_real  # noqa: E402
from training import validate  # noqa: E402
from training.validate import memory_sets  # noqa: E402
from training.case_probe import VARIANTS, draw_line, mostly_capitals, probe_fonts  # noqa: E402
from training import render  # noqa: E402
from training.render import (BILEVEL_SHARE, LOOSE_SIDE_MARGIN, LOOSE_TOP_BOTTOM_MARGIN, PAPER_SHARE,  # noqa: E402
                             WIDE_SIDE_MARGIN, WIDE_SIDE_SHARE, FrameJitter, SyntheticRenderer, _font,
                             real_augmentations)
from training.text import DESCENDERS, FLAT_LINE_SHARE, TextSampler  # noqa: E402

CHARSET = "".join(PRINTABLE_ASCII)


def _box_glyph(width: int, height: int, inset: int = 0):
    pen = TTGlyphPen(None)
    pen.moveTo((inset, 0))
    pen.lineTo((inset, height))
    pen.lineTo((width - inset, height))
    pen.lineTo((width - inset, 0))
    pen.closePath()
    return pen.glyph()


def build_font(path: Path, chars: str, same_case_glyph: bool = False, small_caps: bool = False) -> Path:
    """A TrueType font with one box glyph per char: lower case is shorter unless ``small_caps``."""
    names = [".notdef"] + [f"g{ord(c)}" for c in chars]
    cmap, glyphs = {}, {".notdef": _box_glyph(500, 700)}
    for c in chars:
        name = f"g{ord(c)}"
        if same_case_glyph and c.islower() and c.upper() in chars:
            cmap[ord(c)] = f"g{ord(c.upper())}"
            continue
        cmap[ord(c)] = name
        short = c.islower() and not small_caps
        glyphs[name] = _box_glyph(500, 450 if short else 700, inset=ord(c) % 50)
    names = [n for n in names if n in glyphs]
    fb = FontBuilder(1000, isTTF=True)
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap(cmap)
    fb.setupGlyf(glyphs)
    fb.setupHorizontalMetrics({n: (600, 0) for n in names})
    fb.setupHorizontalHeader(ascent=800, descent=-200)
    fb.setupNameTable({"familyName": "Test", "styleName": "Regular"})
    fb.setupOS2()
    fb.setupPost()
    fb.save(str(path))
    return path


@pytest.mark.parametrize("name", ["cpu", "cpu_case", "cpu_continue", "gpu", "gpu_case", "gpu_finetune"])
def test_english_configs_declare_the_renderers_loose_margins(name):
    """The default model's configs export margins equal to the loose frames it was trained on."""
    config = TrainConfig.from_yaml(Path(__file__).resolve().parent.parent / "training" / "configs" / f"{name}.yaml")
    assert config.input_spec().margins == Margins(side=LOOSE_SIDE_MARGIN, top_bottom=LOOSE_TOP_BOTTOM_MARGIN)


def test_font_filter_accepts_full_font_and_rejects_bad_ones(tmp_path):
    full = "".join(chr(c) for c in range(0x21, 0x7F))
    assert font_problem(build_font(tmp_path / "ok.ttf", full)) is None
    assert "missing" in font_problem(build_font(tmp_path / "digits.ttf", full.replace("7", "")))
    assert "caps-only" in font_problem(build_font(tmp_path / "caps.ttf", full, same_case_glyph=True))
    assert "small caps" in font_problem(build_font(tmp_path / "smcp.ttf", full, small_caps=True))
    assert find_fonts([str(tmp_path)]) == [tmp_path / "ok.ttf"]


def test_text_sampler_stays_in_charset_and_respects_line_length():
    sampler = TextSampler(["alpha", "beta", "gamma", "delta"], random.Random(3))
    singles = [sampler.single() for _ in range(300)]
    lines = [sampler.line(60) for _ in range(100)]
    for text in singles + lines:
        assert text and set(text) <= set(CHARSET), text
    assert all(len(line) <= 60 for line in lines)
    assert any(any(c.isdigit() for c in t) for t in singles) and any(t.isupper() for t in singles)


def test_lines_keep_one_case_style_mostly_running_text():
    """Printed lines are set in one case: most synthetic lines read as running text (lower
    case but for sentence starts and names), so the line's context tells the case."""
    sampler = TextSampler(["alpha", "beta", "gamma", "delta"], random.Random(5))
    lines = [[w for w in sampler.line(80).split() if w.isalpha()] for _ in range(1000)]
    words = [w for line in lines for w in line]
    assert sum(w.islower() for w in words) / len(words) > 0.5  # each word's own case: 0.45
    lines = [line for line in lines if len(line) >= 3]
    assert 0.05 < sum(all(w.isupper() for w in line) for line in lines) / len(lines) < 0.25


def test_some_lower_case_lines_have_no_descender():
    """A flat lower-case line must exist in training (else a tight crop of one reads as
    capitals); with these words a long line is flat only when drawn so on purpose."""
    sampler = TextSampler(["apple", "gamma", "jump", "quiet", "yes", "tree", "street"], random.Random(7))
    lines = [line for line in (sampler.line(80) for _ in range(600)) if len(line) >= 40]
    flat = [line for line in lines if not DESCENDERS.intersection(line.lower())]
    assert 0.5 * FLAT_LINE_SHARE < len(flat) / len(lines) < 2 * FLAT_LINE_SHARE
    assert any("tree" in line.split() or "street" in line.split() for line in flat)


@pytest.fixture(scope="module")
def system_fonts():
    fonts = find_fonts()
    if not fonts:
        pytest.skip("no usable fonts installed (see training/debian-fonts.txt)")
    return fonts[:20]


def test_renderer_draws_ink_on_a_text_shaped_crop(system_fonts):
    renderer = SyntheticRenderer(system_fonts, random.Random(0))
    short, long = renderer.render("Hi"), renderer.render("a considerably longer line of text 123")
    for image in (short, long):
        assert image.dtype == np.uint8 and image.ndim == 2 and image.shape[0] >= 10
        assert image.std() > 5, "blank render"
    assert long.shape[1] / long.shape[0] > short.shape[1] / short.shape[0]


def test_renderer_draws_outlined_and_shadowed_letters_over_the_plain_ink(system_fonts, monkeypatch):
    renderer = SyntheticRenderer(system_fonts, random.Random(4))
    mask = np.pad(renderer._draw_text("Lilliput", _font(str(system_fonts[0]), 40), 0), 12)
    for share in ("OUTLINE_SHARE", "SHADOW_SHARE", "TEXTURED_INK_SHARE"):
        monkeypatch.setattr(render, share, 0.0)
    assert renderer._layers(mask, 40, bg=200.0, ink=20.0) == [(mask, 20.0)]
    monkeypatch.setattr(render, "TEXTURED_INK_SHARE", 1.0)
    textured = [renderer._layers(mask, 40, bg=200.0, ink=20.0)[-1][1] for _ in range(20)]
    assert all(level.shape == mask.shape and level.std() > 0.5 for level in textured), "never flat"
    monkeypatch.setattr(render, "TEXTURED_INK_SHARE", 0.0)
    monkeypatch.setattr(render, "OUTLINE_SHARE", 1.0)
    monkeypatch.setattr(render, "SHADOW_SHARE", 1.0)
    def centre(m):  # the mean row of ``m``'s coverage
        return (m * np.arange(m.shape[0])[:, None]).sum() / m.sum()

    highlights = 0
    for ink, bg in ((20.0, 200.0), (230.0, 90.0), (120.0, 250.0)):
        for _ in range(15):
            *lit, (outline, outline_level), (letters, fill) = renderer._layers(mask, 40, bg=bg, ink=ink)
            (shadow, shade), highlight = lit[0], lit[1:]
            assert shadow.shape == outline.shape == letters.shape and letters.shape[0] > mask.shape[0]
            assert np.isclose(letters.sum(), mask.sum()), "the letters themselves, on a canvas grown for the shadow"
            assert outline_level == ink and abs(fill - ink) > 60, "an outline in the ink's level round another fill"
            grown = outline > 0.5
            assert grown.sum() > 1.2 * (letters > 0.5).sum() and grown[letters > 0.5].all()
            assert centre(shadow) > centre(letters) + 0.5, "the shadow falls below the letters"
            assert abs(shadow.sum() - mask.sum()) < 0.05 * mask.sum()
            assert (shade < bg) if ink > bg else (min(ink, bg) < shade < max(ink, bg))
            for light, light_level in highlight:  # raised letters: lit from above, on the side away from the shadow
                assert centre(light) < centre(letters) - 0.5 and light_level > max(ink, bg)
            highlights += len(highlight)
    assert 0 < highlights < 45, "some shadows, not all, come with a highlight"


def test_arc_bends_a_word_round_a_circle_either_way_and_keeps_its_ink(system_fonts, monkeypatch):
    monkeypatch.setattr(render, "ARC_SPAN", (2.4, 2.4))
    tops = np.zeros((20, 200), np.float32)
    tops[2:6, 5:195] = 1.0  # a stroke along the letters' tops ...
    tops[14:18, 5:60] = 1.0  # ... and one along the bottom of the first quarter only
    bottoms = np.zeros_like(tops)
    bottoms[14:18, 5:195] = 1.0
    kinds = set()
    for seed in range(30):  # the same draws bend both masks alike
        bent, bent_bottoms = (SyntheticRenderer(system_fonts, random.Random(seed))._arc(m) for m in (tops, bottoms))
        assert 0.8 * tops.sum() < bent.sum() < 1.25 * tops.sum(), "the middle row keeps its length"
        assert not bent[0].any() or not bent[-1].any(), "the canvas fits the arc"
        middle = bent.shape[1] // 2
        top_row = np.flatnonzero(bent[:, middle] > 0.25).mean()
        bottom_row = np.flatnonzero(bent_bottoms[:, middle] > 0.25).mean()
        assert top_row < bottom_row, "letters stay upright: their tops above their bottoms"
        marker = bent - SyntheticRenderer(system_fonts, random.Random(seed))._arc(np.where(bottoms > 0, 0, tops))
        assert np.flatnonzero(marker.max(axis=0) > 0.25).mean() < middle, "left stays left"
        ends = np.flatnonzero(bent_bottoms.max(axis=0) > 0.25)
        end_row = np.flatnonzero(bent_bottoms[:, ends[1]] > 0.25).mean()
        kinds.add("top" if bottom_row < end_row else "bottom")  # along a circle's top the ends drop
    assert kinds == {"top", "bottom"}


def test_tracking_spaces_the_letters_out_by_the_given_pixels(system_fonts):
    renderer = SyntheticRenderer(system_fonts, random.Random(0))
    font = _font(str(system_fonts[0]), 32)
    plain, tracked = renderer._draw_text("AIRLINES", font, 0), renderer._draw_text("AIRLINES", font, 0, tracking=10)
    assert plain.shape[0] == tracked.shape[0] and abs(tracked.shape[1] - plain.shape[1] - 7 * 10) <= 8
    assert abs(tracked.sum() - plain.sum()) < 0.05 * plain.sum(), "the same letters, spaced out"
    gaps = np.diff(np.flatnonzero(np.diff((tracked.max(axis=0) > 0.25).astype(int)) != 0))
    assert (gaps[1::2] >= 8).sum() >= 6, "blank columns between the letters"
    assert np.array_equal(renderer._draw_text("A", font, 0, tracking=10), renderer._draw_text("A", font, 0))


def test_renderer_draws_lone_punctuation_without_failing(system_fonts):
    """A tight frame round "." or "-" is a few pixels high; the degradations must not fail on it
    (Downscale shrank such crops to nothing, and clutter cut 2 rows from a 1-row mask)."""
    renderer = SyntheticRenderer(system_fonts, random.Random(0))
    for text in (".", "-", "_"):
        images = [renderer.render(text) for _ in range(300)]
        assert all(image.dtype == np.uint8 and min(image.shape) >= 1 for image in images)


def test_clutter_lies_outside_a_tight_frame_and_inside_a_loose_ones_margin(system_fonts):
    """UW3's tight lines show specks of the next line beyond the text's own rows: a tight
    frame grows to take them, leaving its text untouched; a loose frame keeps its size."""
    renderer = SyntheticRenderer(system_fonts, random.Random(3))
    ink = renderer._draw_text("seven", _font(str(system_fonts[0]), 32), 0)
    tight = renderer._frame(ink, True)
    inked_outside = 0
    for _ in range(40):
        cluttered = renderer._add_clutter(tight.copy(), 32, outside=True)
        extra = cluttered.shape[0] - tight.shape[0]
        assert cluttered.shape[1] == tight.shape[1] and 1 <= extra <= tight.shape[0] // 5 + tight.shape[0] // 10
        top = next(t for t in (0, extra) if np.array_equal(cluttered[t:t + tight.shape[0]], tight))
        inked_outside += cluttered[:top].max(initial=0) > 0.25 or cluttered[top + tight.shape[0]:].max(initial=0) > 0.25
        loose = renderer._frame(ink, False)
        assert renderer._add_clutter(loose.copy(), 32, outside=False).shape == loose.shape
    assert inked_outside >= 10, "the neighbouring line's ink shows in the added rows"


def test_renderer_draws_paper_contrast_as_well_as_low_contrast(system_fonts):
    """Black-on-white print (contrast over 230) must be in the mix, not only dimmer crops."""
    renderer = SyntheticRenderer(system_fonts, random.Random(4))
    levels = [renderer._levels() for _ in range(2000)]
    paper = sum(bg >= 215 and ink <= 45 for bg, ink in levels) / len(levels)
    assert 0.7 * PAPER_SHARE < paper < 1.3 * PAPER_SHARE + 0.05
    assert any(abs(bg - ink) < 100 for bg, ink in levels) and any(bg < ink for bg, ink in levels)


def test_renderer_never_returns_a_crop_its_degradations_flattened(system_fonts):
    renderer = SyntheticRenderer(system_fonts, random.Random(6))
    renderer.degrade = lambda image: {"image": np.zeros_like(image)}  # brightness -64 on a dim crop does this
    images = [renderer.render("the local nature") for _ in range(40)]
    assert all(np.percentile(im, 99) - np.percentile(im, 1) >= 12 for im in images)


def test_renderer_draws_some_clean_bi_level_scans_in_black_on_white(system_fonts):
    """UW3's lines are pure 0/255 with black ink: some renders must be exactly that."""
    renderer = SyntheticRenderer(system_fonts, random.Random(6))
    images = [renderer.render("the local nature") for _ in range(300)]
    bilevel = [im for im in images if set(np.unique(im)) <= {0, 255}]
    assert 0.5 * BILEVEL_SHARE / 2 < len(bilevel) / len(images) < 2 * BILEVEL_SHARE / 2
    assert all((im == 255).mean() > 0.5 for im in bilevel), "black ink on white paper"


def test_renderer_frames_some_crops_tight_to_the_ink_and_keeps_the_text(system_fonts):
    renderer = SyntheticRenderer(system_fonts, random.Random(1))
    ink = renderer._draw_text("seven", _font(str(system_fonts[0]), 32), 0)
    inked_rows = np.flatnonzero(ink.max(axis=1) > 0.25)
    assert inked_rows[0] > 0 and inked_rows[-1] < ink.shape[0] - 1, "lower-case text sits inside its line box"
    for tight in (False, True):
        mask = renderer._frame(ink, tight)
        assert mask.sum() >= 0.97 * ink.sum(), "framing cut the text"
        assert (mask[0].max() > 0.25 and mask[-1].max() > 0.25) == tight
        if tight:  # the sides stay within TIGHT_MARGIN of the height
            cols = np.flatnonzero(mask.max(axis=0) > 0.25)
            assert cols[0] <= 0.1 * mask.shape[0] and mask.shape[1] - 1 - cols[-1] <= 0.1 * mask.shape[0]
    sides = [m.shape[1] - ink.shape[1] for m in (renderer._frame(ink, False) for _ in range(400))]
    wide = sum(side > 2 * LOOSE_SIDE_MARGIN * ink.shape[0] for side in sides) / len(sides)  # beyond a loose frame
    assert 0.2 * WIDE_SIDE_SHARE < wide < WIDE_SIDE_SHARE, "a share of loose frames has wide blank sides"
    assert max(sides) <= 2 * WIDE_SIDE_MARGIN * ink.shape[0]
    turned = renderer._warp(np.pad(renderer._frame(ink, True), 20))  # rotation grows the canvas
    recut = renderer._cut_to_ink(turned, margin=0.1)
    rows, cols = (np.flatnonzero(recut.max(axis=a) > 0.25) for a in (1, 0))
    h = recut.shape[0]
    assert rows[0] <= 0.11 * h and rows[-1] >= h - 1 - 0.11 * h
    assert cols[0] <= 0.11 * h and cols[-1] >= recut.shape[1] - 1 - 0.11 * h
    assert recut.sum() >= 0.97 * turned.sum()


def test_frame_jitter_moves_each_side_by_a_fraction_of_the_height():
    crop = np.full((40, 300), 200, np.uint8)
    crop[:, :3] = 10  # a dark left edge: the blank added is the border's median, not the edge's
    crop[10:30, 20:280] = 0  # the "text"
    jitter = FrameJitter()
    out = jitter.apply(crop, moves=[0.25, 0.5, 0.5, -0.05])  # 10 rows above, 20 below, 20 columns left; 2 cut right
    assert out.shape == (40 + 10 + 20, 300 + 20 - 2)
    assert (out[:10] == 200).all() and (out[-20:] == 200).all() and (out[:, :20] == 200).all()
    assert np.array_equal(out[10:50, 20:], crop[:, :298])
    inward = jitter.apply(crop, moves=[-0.1, -0.1, -0.05, -0.05])  # 4 rows, 2 columns off each side
    assert np.array_equal(inward, crop[4:36, 2:298])
    assert jitter.apply(crop[:5, :5], moves=[-0.4] * 4).shape == (5, 5), "never cut a tiny crop to nothing"


def test_real_augmentations_are_reproducible_and_keep_grey_crops_readable_sized():
    crop = np.full((32, 160), 230, np.uint8)
    cv2.putText(crop, "Station", (4, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 20, 2)
    first, second = ([augment(image=crop)["image"] for _ in range(40)]
                     for augment in (real_augmentations(7), real_augmentations(7)))
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert all(a.dtype == np.uint8 and a.ndim == 2 and a.shape[0] >= 16 and a.shape[1] >= 80 for a in first)
    shapes = {a.shape for a in first}
    assert len(shapes) > 10, "frames and stretches vary"
    assert any(a.mean() < 128 for a in first), "some crops come out inverted"


def test_memory_sets_split_the_held_out_words_by_whether_training_has_their_text():
    def item(text, key):
        return Item(lambda: None, text, key)
    train = [item("EXIT", "a/1"), item("Hotel", "a/2"), item("rooms", "a/3")]
    line = item("a line longer than twenty-five characters", "a/7")
    held_out = [item("exit", "a/4"), item("Motel", "a/5"), item("HOTEL", "a/6"), line]
    sets = memory_sets(train, held_out)
    assert [it.key for it in sets["real words"]] == ["a/4", "a/5", "a/6"], "lines (nearly all unseen) left out"
    assert [it.key for it in sets["real words, unseen labels"]] == ["a/5"] and "training sample" not in sets
    sample = memory_sets(train, held_out, train_sample=2)["training sample"]
    assert len(sample) == 2 and set(sample) <= set(train) and sample == memory_sets(train, held_out, 2)["training sample"]


def _write_crop(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = np.full((32, 12 * max(1, len(text)) + 8, 3), 255, np.uint8)
    cv2.putText(image, text, (4, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1)
    cv2.imwrite(str(path), image)


def test_labels_tsv_loader_maps_labels_and_drops_unfittable(tmp_path):
    folder = tmp_path / "myset"
    rows = [("images/0.png", "caf\u00e9"), ("images/1.png", "\u2610 box"), ("images/2.png", "It\u2019s")]
    for rel, text in rows:
        _write_crop(folder / rel, "x")
    (folder / "labels.tsv").write_text("".join(f"{r}\t{t}\n" for r, t in rows), encoding="utf-8")
    items = load_source(str(folder), CHARSET, caseless_sets=["myset"])
    assert [it.text for it in items] == ["cafe", "It's"]
    assert [it.key for it in items] == ["myset/images/0.png", "myset/images/2.png"]
    assert all(it.caseless for it in items)
    assert items[0].load().shape == (32, 20)


def test_iam_loader_reads_words_and_lines_layout(tmp_path):
    ascii_dir = tmp_path / "ascii"
    ascii_dir.mkdir()
    (ascii_dir / "words.txt").write_text(
        "#--- comment\n"
        "a01-000u-00-00 ok 154 408 768 27 51 AT A\n"
        "a01-000u-00-01 err 154 507 766 213 48 NN MOVE\n"
        "a01-000u-00-02 ok 154 796 764 70 50 TO to\n")
    (ascii_dir / "lines.txt").write_text("a01-000u-00 ok 154 19 408 746 1661 89 A|MOVE|to|stop\n")
    for ident, level in [("a01-000u-00-00", "words"), ("a01-000u-00-02", "words"), ("a01-000u-00", "lines")]:
        _write_crop(tmp_path / level / "a01" / "a01-000u" / f"{ident}.png", "iam")
    words = load_source(f"iam-words:{tmp_path}", CHARSET)
    lines = load_source(f"iam-lines:{tmp_path}", CHARSET)
    assert [w.text for w in words] == ["A", "to"]  # the 'err' segmentation is skipped
    assert [line.text for line in lines] == ["A MOVE to stop"]
    assert lines[0].load().ndim == 2


@pytest.mark.parametrize("suffix, mode", [(".tar", "w"), (".tar.gz", "w:gz")])
def test_tar_shard_loader(tmp_path, suffix, mode):
    folder = tmp_path / "shard"
    _write_crop(folder / "images" / "0.png", "ab")
    (folder / "labels.tsv").write_text("images/0.png\tab\n", encoding="utf-8")
    with tarfile.open(tmp_path / f"shard{suffix}", mode) as tar:
        tar.add(folder / "labels.tsv", arcname="labels.tsv")
        tar.add(folder / "images" / "0.png", arcname="images/0.png")
    (item,) = load_source(f"tar:{tmp_path / f'shard{suffix}'}", CHARSET)
    assert item.text == "ab" and item.key == "shard/images/0.png" and item.load().shape[0] == 32


def test_pack_real_writes_a_small_shard_with_the_same_keys(tmp_path):
    folder = tmp_path / "myset"
    _write_crop(folder / "images" / "0.png", "tall")
    (folder / "labels.tsv").write_text("images/0.png\ttall\n", encoding="utf-8")
    big = cv2.resize(cv2.imread(str(folder / "images" / "0.png")), None, fx=3, fy=3)
    cv2.imwrite(str(folder / "images" / "0.png"), big)
    assert pack_real(folder, tmp_path / "out" / "myset", max_height=32) == 1
    (packed,) = load_source(f"tar:{tmp_path / 'out' / 'myset.tar.gz'}", CHARSET)
    (original,) = load_source(str(folder), CHARSET)
    assert packed.key == original.key == "myset/images/0.png" and packed.text == "tall"
    assert packed.load().shape[0] == 32 and original.load().shape[0] == 96


def test_validation_slice_is_fixed_and_disjoint(tmp_path):
    keys = [f"set/images/{i:06d}.jpg" for i in range(400)]
    # pinned: sha1(key) % 20 == 0 (training/datasets.py); a changed rule would silently reshuffle the slice
    pinned = [1, 21, 43, 62, 77, 93, 104, 137, 152, 169, 172, 185, 186, 232, 245, 249, 279, 296, 302, 307, 315,
              371, 380]
    assert [i for i, k in enumerate(keys) if is_validation(k)] == pinned
    folder = tmp_path / "set"
    for k in keys[:60]:
        _write_crop(tmp_path / k, "x")
    (folder / "labels.tsv").write_text("".join(f"{k[4:]}\tx\n" for k in keys[:60]), encoding="utf-8")
    train, held = split_items(load_source(str(folder), CHARSET))
    assert sorted(it.key for it in held) == [keys[1], keys[21], keys[43]]
    assert sorted(it.key for it in train) == [k for i, k in enumerate(keys[:60]) if i not in (1, 21, 43)]


def test_ctc_feasibility_counts_repeats():
    assert ctc_feasible("abc", 3) and not ctc_feasible("aab", 3) and ctc_feasible("aab", 4)


def test_mixed_batches_are_consistent(system_fonts, tmp_path):
    fonts_dir = tmp_path / "fonts"
    fonts_dir.mkdir()
    for font in system_fonts[:3]:
        (fonts_dir / font.name).write_bytes(font.read_bytes())
    words = tmp_path / "words.txt"
    words.write_text("alpha\nbeta\ngamma\n")
    folder = tmp_path / "real"
    _write_crop(folder / "images" / "0.png", "REAL")
    (folder / "labels.tsv").write_text("images/0.png\tREAL\n", encoding="utf-8")
    config = TrainConfig(batch_size=12, real_ratio=0.5, line_ratio=0.0, fonts_dir=str(fonts_dir),
                         words_file=str(words), caseless_sets=["real"])
    stream = MixedBatches(config, load_source(str(folder), CHARSET, config.caseless_sets), seed=1)
    stream._setup(random.Random(1))
    batch = stream.make_batch(random.Random(2))
    n = len(batch["texts"])
    assert n == 12 and batch["image"].shape[:3] == (12, 1, 32)
    width = batch["image"].shape[3]
    longest = int(batch["input_lengths"].max())
    assert width % 4 == 0 and width == padded_width(4 * longest, stream.spec)
    assert batch["target_lengths"].tolist() == [len(t) for t in batch["texts"]]
    decoded = "".join(config.charset[i - 1] for i in batch["targets"].tolist())
    assert decoded == "".join(batch["texts"])
    assert batch["caseless"].tolist() == [t == "REAL" for t in batch["texts"]]
    assert all(ctc_feasible(t, int(n_frames)) for t, n_frames in zip(batch["texts"], batch["input_lengths"]))
    assert math.isclose(float(batch["image"].max()), 1.0, abs_tol=1e-6)  # normalised (x - 0.5) / 0.5


def test_lexicon_keeps_words_with_a_letter_and_no_digit():
    assert lexicon_words(["the", "1st", "u.s", "--", "don't", "42", "x"]) == ["the", "u.s", "don't", "x"]


def test_bundled_lexicon_is_what_the_documented_command_builds(tmp_path):
    bundled = Path(__file__).resolve().parent.parent / "crnn_onnx" / "lexicons" / "en.txt"
    if not bundled.is_file():
        pytest.skip("crnn_onnx/lexicons/en.txt is not there")
    build_lexicon(["--out", str(tmp_path / "en.txt"), "--top-n", "50000"])
    assert (tmp_path / "en.txt").read_text(encoding="utf-8") == bundled.read_text(encoding="utf-8")


def test_case_probe_draws_tight_black_on_white_lines_and_counts_capitals():
    fonts = probe_fonts()
    if not fonts:
        pytest.skip("none of the probe fonts is installed (see training/debian-fonts.txt)")
    line = draw_line("has failed since", fonts[0])
    assert line.min() == 0 and line.max() == 255
    for edge in (line[0], line[-1], line[:, 0], line[:, -1]):
        assert edge.min() < 128, "the line is cut to its ink on every side"
    crop = VARIANTS["tight 2 px, 0/255"](line)
    assert crop.shape == (line.shape[0] + 4, line.shape[1] + 4) and crop[:2].min() == 255
    assert set(np.unique(VARIANTS["tight 2 px, bi-level"](line))) == {0, 255}
    assert mostly_capitals("THE CAT sat") and not mostly_capitals("The cat SAT") and not mostly_capitals("1234")


def test_validate_scores_the_held_out_real_slice_and_the_synthetic_set_through_the_runtime(tmp_path, capsys):
    folder = tmp_path / "mini"
    (folder / "images").mkdir(parents=True)
    words = [f"word{i}" for i in range(80)]
    for i, word in enumerate(words):
        crop = np.full((32, 120), 255, np.uint8)
        cv2.putText(crop, word, (4, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 0, 2)
        cv2.imwrite(str(folder / "images" / f"{i}.png"), crop)
    (folder / "labels.tsv").write_text("".join(f"images/{i}.png\t{w}\n" for i, w in enumerate(words)), encoding="utf-8")
    (tmp_path / "val.yaml").write_text(f"real_sets: [{folder}]\nval_synthetic: 6\n", encoding="utf-8")
    config = TrainConfig.from_yaml(tmp_path / "val.yaml")

    train_items, held_out = real_split(config)
    expected = {f"mini/images/{i}.png" for i in range(len(words)) if is_validation(f"mini/images/{i}.png")}
    assert expected and {it.key for it in held_out} == expected
    assert not expected & {it.key for it in train_items} and len(train_items) + len(held_out) == len(words)
    sets = validation_sets(config, held_out)
    assert sorted(sets) == ["real", "synthetic"] and len(sets["synthetic"]) == 6

    model = Path(__file__).resolve().parent.parent / "models" / "default.onnx"
    validate.main([str(tmp_path / "val.yaml"), str(model), "--train-sample", "5"])
    printed = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[1].split(":")[0] for line in printed] == [
        f"real ({len(expected)})", "synthetic (6)", f"real words ({len(expected)})",
        f"real words, unseen labels ({len(expected)})", "training sample (5)"]
    reader = Recogniser(model, threads=1)
    direct = score([p.text for p in reader.read_batch([it.load() for it in held_out])], [it.text for it in held_out])
    assert f"word {100 * direct.word_accuracy:.2f} %" in printed[0] and f"CER {100 * direct.cer:.2f} %" in printed[0]
