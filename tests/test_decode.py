"""CTC decoding and confidences (crnn_onnx.decode) against hand-made matrices, brute force and the exact reference."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for bench.exact_ctc

from bench.exact_ctc import (labelling_probs, log_softmax, peaky_logprobs, prefix_beam_search,  # noqa: E402
                             random_logprobs)
from crnn_onnx.decode import (CASE_MARGIN, Decoded, beam_search, case_pairs, char_confidences,  # noqa: E402
                              greedy, regular_case, strip_label, text_confidence)

A, B, C = 1, 2, 3


def frames_of(path: list[int], k: int = 4, p: float = 0.9) -> np.ndarray:
    """(T, k) log-probs: ``p`` on each frame's class of ``path``, the rest spread evenly."""
    probs = np.full((len(path), k), (1 - p) / (k - 1))
    probs[np.arange(len(path)), path] = p
    return np.log(probs)


def batch(*rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of different lengths, padded with garbage frames that favour class 3, and their lengths."""
    t, k = max(len(r) for r in rows), rows[0].shape[1]
    out = np.tile(frames_of([3], k, 0.99), (len(rows), t, 1))
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out.astype(np.float32), np.array([len(r) for r in rows])


def random_batch(seed: int, n: int, t: int, k: int, scale: float = 1.5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return random_logprobs(rng, n, t, k, scale), rng.integers(0, t + 1, n)


# --- greedy -------------------------------------------------------------------------------------

def test_greedy_collapses_repeats_and_keeps_blank_separated_repeats():
    x, lengths = batch(frames_of([A, A, 0, A, B, B, 0]), frames_of([A, A]), frames_of([A, 0, A]), frames_of([0, 0]))
    out = greedy(x, lengths)
    assert [d.labels for d in out] == [(A, A, B), (A,), (A, A), ()]
    assert out[0].frames == (0, 3, 4)  # the first frame of each run
    assert out[2].frames == (0, 2)
    assert out[0].logp == pytest.approx(7 * math.log(0.9), abs=1e-5)


def test_greedy_ignores_frames_beyond_each_length():
    x, lengths = batch(frames_of([A, 0, B]), frames_of([B, 0, 0, 0, A, A]))
    assert x[0, 3:].argmax(-1).tolist() == [3, 3, 3]  # garbage that would add a C
    out = greedy(x, lengths)
    assert [d.labels for d in out] == [(A, B), (B, A)]
    assert out[0].logp == pytest.approx(3 * math.log(0.9), abs=1e-5)
    assert greedy(x, np.array([0, 1]))[0] == Decoded((), (), 0.0)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4), t=st.integers(1, 12), k=st.integers(2, 6))
def test_greedy_batched_equals_per_row(seed, n, t, k):
    x, lengths = random_batch(seed, n, t, k)
    together = greedy(x, lengths)
    for row, length in enumerate(lengths):
        alone = greedy(x[row:row + 1, :length], np.array([length]))[0]
        assert (together[row].labels, together[row].frames) == (alone.labels, alone.frames)
        assert together[row].logp == pytest.approx(alone.logp, abs=1e-9)


def test_inputs_are_validated():
    x, lengths = batch(frames_of([A, 0]))
    with pytest.raises(ValueError):
        greedy(x[0], lengths)
    with pytest.raises(ValueError):
        greedy(x, np.array([3]))
    with pytest.raises(ValueError):
        beam_search(x, lengths, beam_width=0)
    with pytest.raises(ValueError):
        beam_search(x, lengths, lexicon=["a"])  # a lexicon needs the charset


# --- beam search --------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 3), t=st.integers(1, 12), k=st.integers(2, 6))
def test_beam_width_one_is_greedy(seed, n, t, k):
    x, lengths = random_batch(seed, n, t, k)
    assert [d.labels for d in beam_search(x, lengths, beam_width=1)] == [d.labels for d in greedy(x, lengths)]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), t=st.integers(1, 6), k=st.integers(2, 4))
def test_wide_unpruned_beam_finds_the_most_probable_labelling(seed, t, k):
    x, lengths = random_batch(seed, 1, t, k)
    lengths[:] = t
    probs = labelling_probs(x[0])
    prefixes = sum((k - 1) ** i for i in range(t + 1))
    found = beam_search(x, lengths, beam_width=prefixes, prune_logp=None)[0]
    assert probs[found.labels] == pytest.approx(max(probs.values()), abs=1e-9)
    assert math.exp(found.logp) == pytest.approx(probs[found.labels], abs=1e-9)


def test_beam_sums_paths_where_greedy_takes_the_best_one():
    # Best path: blank, blank (0.36). But "a" has 0.4*0.4 + 0.4*0.6 + 0.6*0.4 = 0.64.
    x = np.log(np.array([[[0.6, 0.4], [0.6, 0.4]]], np.float32))
    assert greedy(x, [2])[0].labels == ()
    assert greedy(x, [2])[0].logp == pytest.approx(math.log(0.36), abs=1e-6)
    best = beam_search(x, [2], beam_width=10)[0]
    assert best.labels == (1,)
    assert best.frames == (0,)  # appended at frame 0 on its most probable history (0.4 against 0.24)
    assert best.logp == pytest.approx(math.log(0.64), abs=1e-6)


def test_beam_keeps_blank_separated_repeats_and_ignores_padding():
    x, lengths = batch(frames_of([A, 0, A, A]), frames_of([B, B, 0]))
    out = beam_search(x, lengths, beam_width=5)
    assert [(d.labels, d.frames) for d in out] == [((A, A), (0, 2)), ((B,), (0,))]


def test_unpruned_beam_equals_the_exact_reference():
    x = random_logprobs(np.random.default_rng(7), 4, 14, 96)
    for row, found in enumerate(beam_search(x, np.full(4, 14), beam_width=10, prune_logp=None)):
        labels, logp = prefix_beam_search(x[row], 10)[0]
        assert found.labels == labels
        assert found.logp == pytest.approx(logp, abs=1e-9)


@pytest.mark.parametrize("kind", ["peaky", "random"])
def test_fast_beam_texts_equal_the_exact_reference(kind):
    rng = np.random.default_rng(2024 if kind == "peaky" else 5)
    n, t = (40, 200) if kind == "peaky" else (12, 60)
    x = peaky_logprobs(rng, n, t) if kind == "peaky" else random_logprobs(rng, n, t)
    lengths = rng.integers(30 if kind == "peaky" else 10, t + 1, n)
    x[np.arange(t)[None, :] >= lengths[:, None]] = x[0, 0][::-1]  # garbage beyond each length
    for row, found in enumerate(beam_search(x, lengths, beam_width=10)):
        assert found.labels == prefix_beam_search(x[row, : lengths[row]], 10)[0][0], row
        assert len(found.frames) == len(found.labels)
        assert list(found.frames) == sorted(set(found.frames)) and all(f < lengths[row] for f in found.frames)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), t=st.integers(1, 30), k=st.integers(2, 6), width=st.integers(2, 10),
       kind=st.sampled_from(["peaky", "flat", "sharp"]))
def test_fast_beam_texts_equal_the_exact_reference_on_small_alphabets(seed, t, k, width, kind):
    # Few classes: repeats, merges and near ties are frequent.
    rng = np.random.default_rng(seed)
    x = peaky_logprobs(rng, 1, t, k) if kind == "peaky" else random_logprobs(rng, 1, t, k, 1.5 if kind == "flat" else 6)
    length = int(rng.integers(0, t + 1))
    found = beam_search(x, [length], beam_width=width)[0]
    assert found.labels == (prefix_beam_search(x[0, :length], width)[0][0] if length else ())


def test_empty_rows_and_batches():
    x = np.zeros((0, 5, 4), np.float32)
    assert greedy(x, np.zeros(0, int)) == [] and beam_search(x, np.zeros(0, int)) == []
    x, _ = batch(frames_of([A, 0]))
    assert beam_search(x, [0])[0] == Decoded((), (), 0.0)


# --- beam search internals: the fast paths against their general forms ---------------------------

def test_rows_that_never_branch_decode_as_the_best_path():
    # Sharp frames: no class comes within the pruning margin of the best, so no frame branches and
    # the beam is the best path itself.
    rows = [[A, A, 0, B, 0, 0, A], [0, 0, 0], [C, 0, C, C], [B]]
    x, lengths = batch(*(frames_of(r, p=0.999) for r in rows))
    beams, paths = beam_search(x, lengths, beam_width=10), greedy(x, lengths)
    for found, path in zip(beams, paths):
        assert (found.labels, found.frames) == (path.labels, path.frames)
        assert found.logp == pytest.approx(path.logp, abs=1e-9)


def _branching_reference(lp: np.ndarray, lens: np.ndarray, prune_logp: float):
    """decode._branching's documented result, frame by frame: (rows, frames, candidate classes,
    relative probabilities) of the frames that branch, and per row the log of the trivial frames'
    summed relative probabilities."""
    n = lp.shape[0]
    best = lp.argmax(axis=2)
    cands = {}
    for row in range(n):
        for f in range(lens[row]):
            top = lp[row, f, best[row, f]]
            classes = [c for c in range(lp.shape[2]) if lp[row, f, c] >= top + lp.dtype.type(prune_logp)]
            if len(classes) > 1:
                cands[row, f] = sorted(classes, key=lambda c: -float(lp[row, f, c]))  # stable: ties by class
    out, extra = [], np.zeros(n)
    for (row, f), classes in cands.items():
        top = float(lp[row, f, best[row, f]])
        qs = [math.exp(float(lp[row, f, c]) - top) for c in classes]
        if 0 < f and f + 1 < lens[row] and (row, f - 1) not in cands and (row, f + 1) not in cands:
            before, after = best[row, f - 1], best[row, f + 1]
            emitted = {(c if c not in (0, before) else -1, after not in (0, c)) for c in classes}
            if len(emitted) == 1:  # every candidate yields the same labels: a trivial frame
                extra[row] += math.log(sum(qs))
                continue
        out.append((row, f, classes, qs))
    return out, extra


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4), t=st.integers(1, 25), k=st.integers(2, 6),
       prune=st.sampled_from([-5.0, -3.0, -8.0]), kind=st.sampled_from(["peaky", "flat"]))
def test_branching_frames_and_trivial_frames_match_their_definition(seed, n, t, k, prune, kind):
    from crnn_onnx import decode

    rng = np.random.default_rng(seed)
    x = peaky_logprobs(rng, n, t, k) if kind == "peaky" else random_logprobs(rng, n, t, k, 4.0)
    if kind == "peaky":  # a blank close to the best on some frames, as on the trivial ones
        x[:, 1::3, 0] = np.maximum(x[:, 1::3, 0], x[:, 1::3].max(axis=2) - 1.0)
        x = log_softmax(x.astype(np.float64)).astype(np.float32)
    lens = rng.integers(0, t + 1, n)
    lp, lens = decode._validate(x, lens)
    best, top, valid, _ = decode._best_path(lp, lens)
    rows, frames, classes, qs, extra = decode._branching(lp, lens, best, top, valid, prune)
    expected, expected_extra = _branching_reference(lp, lens, prune)
    assert list(zip(rows.tolist(), frames.tolist(), classes)) == [e[:3] for e in expected]
    for got, (*_, want) in zip(qs, expected):
        assert got == pytest.approx(want, rel=1e-12)
    assert extra == pytest.approx(expected_extra, rel=1e-12, abs=1e-12)


@st.composite
def pure_beams(draw):
    """A beam all in one state (decode._candidates_pure): blank, or a label that every prefix ends
    with; some prefixes are one label longer than others, so extensions can land on them. Returns
    (beam, the same beam as left after a certain blank frame, state, classes, qs, width, cut)."""
    k = draw(st.integers(2, 5))
    state = draw(st.integers(0, k - 1))
    stems = draw(st.lists(st.lists(st.integers(1, k - 1), max_size=3).map(tuple), min_size=1, max_size=6))
    prefixes = set()
    for stem in stems:
        prefixes.add(stem)
        if draw(st.booleans()):
            prefixes.add(stem + (draw(st.integers(1, k - 1)),))
    if state != 0:
        prefixes = {p + (state,) for p in prefixes}
    cut = math.exp(draw(st.sampled_from([-5.0, -3.0, -10.0])))
    masses = sorted(draw(st.lists(st.floats(cut, 1.0), min_size=len(prefixes), max_size=len(prefixes))),
                    reverse=True)
    masses[0] = 1.0
    beam, lazy = [], []
    for mass, labels in zip(masses, sorted(prefixes)):
        pb, pnb = (mass, 0.0) if state == 0 else (0.0, mass)
        beam.append((-mass, labels, pb, pnb, tuple(range(len(labels)))))
        if state == 0:  # as left after a certain blank frame: read as all blank
            pb = mass * draw(st.sampled_from([1.0, 0.5, 0.0]))
            pb, pnb = pb, mass - pb
            beam[-1] = (-(pb + pnb), labels, pb + pnb, 0.0, beam[-1][4])
        lazy.append(beam[-1][:2] + (pb, pnb) + beam[-1][4:])
    order = sorted(range(len(beam)), key=lambda i: beam[i][:2])
    width = draw(st.integers(2, 10))
    beam, lazy = [beam[i] for i in order][:width], [lazy[i] for i in order][:width]
    classes = draw(st.lists(st.integers(0, k - 1), min_size=2, max_size=k, unique=True))
    qs = sorted(draw(st.lists(st.floats(cut, 1.0), min_size=len(classes), max_size=len(classes))), reverse=True)
    qs[0] = 1.0
    return beam, lazy, state, classes, qs, width, cut


@settings(max_examples=300, deadline=None)
@given(case=pure_beams())
def test_pure_state_candidates_equal_the_general_expansion(case):
    from crnn_onnx import decode

    beam, lazy, state, classes, qs, width, cut = case
    general = decode._expand(beam, 7, classes, qs, width, cut)
    ranked = (decode._candidates_one(*beam[0], 7, classes, qs, width, cut) if len(beam) == 1
              else decode._candidates_pure(beam, state, 7, classes, qs, width, cut))
    assert decode._rank(ranked, width, cut) == general
    if len(beam) > 1:  # the masses as a certain blank frame leaves them (decode._then_certain)
        assert decode._rank(decode._candidates_pure(lazy, state, 7, classes, qs, width, cut), width, cut) == general


def test_rank_keeps_the_best_of_width_above_the_cut_and_rescales():
    from crnn_onnx import decode

    cut = 0.01
    def cand(mass, labels):
        return (-mass, labels, mass / 4, mass * 3 / 4, (0,) * len(labels))

    # Already scaled (best 1): the same tuples come back, none below the cut, at most ``width``.
    beam, log_scale = decode._rank([cand(0.5, (2,)), cand(1.0, (1,)), cand(0.005, (3,)), cand(0.5, (1, 2))], 10, cut)
    assert [entry[1] for entry in beam] == [(1,), (1, 2), (2,)] and log_scale == 0.0  # ties: smaller labels first
    assert decode._rank([cand(1.0, (1,)), cand(0.5, (2,)), cand(0.25, (3,))], 2, cut)[0] == \
        [cand(1.0, (1,)), cand(0.5, (2,))]
    # Otherwise rescaled so the best is 1, with the cut relative to the best.
    beam, log_scale = decode._rank([cand(0.4, (1,)), cand(2.0, (2,)), cand(0.019, (3,))], 10, cut)
    assert [entry[1] for entry in beam] == [(2,), (1,)] and log_scale == pytest.approx(math.log(2.0))
    assert beam[1][2:4] == pytest.approx((0.05, 0.15)) and beam[1][0] == -(beam[1][2] + beam[1][3])
    # Unpruned (cut 0): only mass 0 is dropped.
    assert [entry[1] for entry in decode._rank([cand(1.0, (1,)), cand(0.0, (2,)), cand(1e-300, (3,))], 10, 0.0)[0]] \
        == [(1,), (3,)]


def test_lexicon_prefers_an_in_lexicon_text_within_the_margin():
    charset = ("a", "c", "o", "t", ",")
    probs = np.full((7, 6), 0.004)
    for frame, cls in enumerate([2, 0, None, 0, 4, 0, 5]):
        if cls is not None:
            probs[frame, cls] = 0.98
    probs[2, 1], probs[2, 3] = 0.55, 0.434  # "cat," 0.55 against "cot," 0.434: 0.24 nats apart
    x = np.log(probs / probs.sum(1, keepdims=True))[None].astype(np.float32)

    def read(lexicon, **kw):
        d = beam_search(x, [7], beam_width=10, lexicon=lexicon, charset=charset, **kw)[0]
        return "".join(charset[c - 1] for c in d.labels)

    assert read(None) == "cat,"
    assert read(["COT"]) == "cot,"  # case-insensitive, punctuation stripped at the word's ends
    assert read(["cot"], lexicon_margin=0.1) == "cat,"  # outside the margin: the best
    assert read(["dog"]) == "cat,"  # nothing in the lexicon: the best
    assert read(("cat", "cot")) == "cat,"  # the best is in the lexicon


# --- confidences --------------------------------------------------------------------------------

def test_char_confidences_take_the_best_posterior_over_the_emitting_frames():
    probs = np.array([
        [0.05, 0.90, 0.05],  # a emitted here
        [0.10, 0.70, 0.20],  # a again: same character
        [0.80, 0.10, 0.10],
        [0.20, 0.20, 0.60],  # b emitted here
        [0.03, 0.02, 0.95],
    ])
    decoded = greedy(np.log(probs)[None], [5])[0]
    assert decoded.labels == (1, 2)
    assert char_confidences(probs, decoded) == pytest.approx((0.90, 0.95))
    # A beam may emit where another class is best: the character's later frames still count,
    # up to the next character's frame.
    probs = np.array([[0.85, 0.15, 0.0], [0.2, 0.8, 0.0], [0.3, 0.7, 0.0], [0.1, 0.9, 0.0]])
    assert char_confidences(probs, Decoded((1,), (0,), 0.0)) == pytest.approx((0.9,))
    assert char_confidences(probs, Decoded((1, 1), (0, 2), 0.0)) == pytest.approx((0.8, 0.9))
    assert char_confidences(probs, Decoded((), (), 0.0)) == ()


def test_text_confidence_methods():
    confs = (0.5, 0.8)
    assert text_confidence(confs) == pytest.approx(math.sqrt(0.4))  # geomean is the default
    assert text_confidence(confs, "geomean") == pytest.approx(math.sqrt(0.4))
    assert text_confidence(confs, "min") == pytest.approx(0.5)
    assert text_confidence(confs, "mean") == pytest.approx(0.65)
    assert text_confidence(confs, "product") == pytest.approx(0.4)
    assert text_confidence((0.0, 0.9)) == 0.0
    for method in ("geomean", "min", "mean", "product"):  # empty text: the mean blank probability
        assert text_confidence((), method, blank_probs=np.array([0.9, 0.7])) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        text_confidence(confs, "median")
    with pytest.raises(ValueError):
        text_confidence(())


def test_strip_label_drops_only_edge_labels_with_their_frames():
    decoded = Decoded((1, 1, 2, 1, 3, 1), (0, 2, 4, 6, 8, 9), -1.5)
    assert strip_label(decoded, 1) == Decoded((2, 1, 3), (4, 6, 8), -1.5)
    assert strip_label(decoded, 2) is decoded
    assert strip_label(Decoded((1, 1), (0, 3), -0.1), 1) == Decoded((), (), -0.1)


# --- letter case --------------------------------------------------------------------------------

CASE_CHARSET = ("a", "b", "A", "B", " ", "1")  # class i is CASE_CHARSET[i - 1]; 0 is the blank


def case_row(text: str, other_case: dict[int, float]) -> tuple[np.ndarray, Decoded]:
    """Greedy log-probs reading ``text`` one character per frame (blank between), where the
    letter at position i gives its other case probability ``other_case.get(i, 0.01)``."""
    index = {c: i + 1 for i, c in enumerate(CASE_CHARSET)}
    probs = np.full((2 * len(text), len(CASE_CHARSET) + 1), 0.001)
    probs[1::2, 0] = 0.99  # blanks between characters
    for i, char in enumerate(text):
        probs[2 * i, index[char]] = 0.9
        if char.lower() != char.upper():
            probs[2 * i, index[char.swapcase()]] = other_case.get(i, 0.01)
    logp = np.log(probs / probs.sum(axis=1, keepdims=True))
    decoded = greedy(logp[None], np.array([len(logp)]))[0]
    assert "".join(CASE_CHARSET[label - 1] for label in decoded.labels) == text
    return logp, decoded


def case_text(decoded: Decoded) -> str:
    return "".join(CASE_CHARSET[label - 1] for label in decoded.labels)


def test_case_pairs_map_each_letter_to_its_lower_and_upper_class():
    assert case_pairs(CASE_CHARSET) == {1: (1, 3), 2: (2, 4), 3: (1, 3), 4: (2, 4)}
    assert case_pairs(("a", "B", "1")) == {}  # neither letter has its other case


@pytest.mark.parametrize("text, other_case, expected", [
    ("abAb", {2: 0.5}, "abab"),          # one unsure capital in a lower word: lower
    ("BAbA", {2: 0.5}, "BABA"),          # one unsure small letter in a capital word: upper
    ("ABb", {1: 0.5}, "Abb"),            # an unsure second capital after a sure one: Title
    ("abAb", {}, "abAb"),                # a confident capital costs more than the margin: kept
    ("abab", {1: 0.8}, "abab"),          # regular words are never touched, however unsure
    ("ABAB", {0: 0.8}, "ABAB"),
    ("Abab", {0: 0.8}, "Abab"),
    ("aB 1 Ab1bA", {1: 0.5, 5: 0.5, 9: 0.5}, "ab 1 Ab1ba"),  # words are runs of letters; "Ab" is Title
])
def test_regular_case_rewrites_only_unsure_mixed_case_words(text, other_case, expected):
    logp, decoded = case_row(text, other_case)
    fixed = regular_case(logp, decoded, case_pairs(CASE_CHARSET))
    assert case_text(fixed) == expected
    assert fixed.frames == decoded.frames and fixed.logp == decoded.logp


def test_regular_case_margin_bounds_the_log_probability_given_up():
    logp, decoded = case_row("abAb", {2: 0.3})  # lower costs log(0.9 / 0.3) = 1.1 nats
    pairs = case_pairs(CASE_CHARSET)
    assert case_text(regular_case(logp, decoded, pairs, margin=1.0)) == "abAb"
    assert case_text(regular_case(logp, decoded, pairs, margin=1.2)) == "abab"
    assert CASE_MARGIN >= 1.2
