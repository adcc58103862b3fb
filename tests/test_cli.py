"""crnn-onnx CLI: read, eval, bench and info on the oracle model."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from conftest import build_oracle, oracle_metadata, render, save

from crnn_onnx import cli, preprocess


@pytest.fixture
def crop_set(tmp_path):
    """A labels.tsv of oracle crops: five right, one ground truth the oracle cannot match, one with '☐' (dropped)."""
    (tmp_path / "images").mkdir()
    truths = {"a": "a", "abc": "abc", "cab": "cab", "bb": "bb", "": "!", "ca": "CA", "b": "\u2610"}
    lines = []
    for i, (text, gt) in enumerate(truths.items()):
        cv2.imwrite(str(tmp_path / "images" / f"{i}.png"), render(text))
        lines.append(f"images/{i}.png\t{gt}")
    (tmp_path / "labels.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path / "labels.tsv"


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_read(capsys, oracle_path, crop_set):
    images = crop_set.parent / "images"
    code, out, _ = run(capsys, "read", images / "1.png", images / "2.png", "--model", oracle_path)
    assert code == 0
    assert [line.split("\t")[1] for line in out.splitlines()] == ["abc", "cab"]
    code, out, _ = run(capsys, "read", images / "1.png", "--json", "--model", oracle_path, "--decoder", "beam",
                       "--beam-width", "4")
    [result] = json.loads(out)
    assert result["text"] == "abc" and len(result["char_spans"]) == 3 and result["confidence"] > 0.99


def test_read_keep_margins_reads_the_crop_as_given(capsys, tmp_path):
    """An oracle declaring margins reads bars above 96 blank rows once they are cut away (as in
    test_recogniser's margin test); --keep-margins reads the squeezed bars and misreads them."""
    bars = render("cabcab")
    crop = np.vstack([bars, np.full((96, bars.shape[1]), 255, np.uint8)])
    top, bottom, _, _ = preprocess.text_box(preprocess.to_float(crop))
    margins = json.dumps({"side": 10.0, "top_bottom": (64 - (bottom - top)) / (bottom - top)})
    model = save(build_oracle(oracle_metadata(margins=margins)), tmp_path / "m.onnx")
    cv2.imwrite(str(tmp_path / "crop.png"), crop)
    _, out, _ = run(capsys, "read", tmp_path / "crop.png", "--model", model)
    assert out.split("\t")[1].strip() == "cabcab"
    _, out, _ = run(capsys, "read", tmp_path / "crop.png", "--model", model, "--keep-margins")
    assert out.split("\t")[1].strip() != "cabcab"


def test_read_reports_bad_images_and_continues(capsys, oracle_path, crop_set, tmp_path):
    code, out, err = run(capsys, "read", tmp_path / "missing.png", crop_set.parent / "images/0.png",
                         "--model", oracle_path)
    assert code == 1 and "not found" in err and out.split("\t")[1] == "a"


def test_eval(capsys, oracle_path, crop_set):
    code, out, _ = run(capsys, "eval", crop_set, "--json", "--worst", "1", "--model", oracle_path)
    assert code == 0
    report = json.loads(out)
    score = report["score"]
    assert (score["items"], score["word_items"], score["no_alnum"]) == (6, 5, 1)
    assert score["word_accuracy"] == 1.0  # "ca" vs "CA" counts as right, case-insensitively
    assert score["exact_correct"] == 4 and score["edits"] == 1 + 2
    assert report["dropped_outside_charset"] == [[str(crop_set.parent / "images/6.png"), "\u2610"]]
    assert report["worst"] == [{"distance": 2, "path": "images/5.png", "gt": "CA", "pred": "ca",
                                "confidence": report["worst"][0]["confidence"]}]
    code, out, _ = run(capsys, "eval", crop_set, "--limit", "2", "--model", oracle_path)
    assert code == 0 and "word accuracy   100.00%  (2/2" in out and "CER" in out


def test_eval_with_a_lexicon(capsys, oracle_path, crop_set, tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("abc\ncab\n", encoding="utf-8")
    code, out, _ = run(capsys, "eval", crop_set, "--json", "--model", oracle_path, "--decoder", "beam",
                       "--lexicon", words)
    assert code == 0 and json.loads(out)["score"]["word_accuracy"] == 1.0
    code, _, err = run(capsys, "eval", crop_set, "--model", oracle_path, "--decoder", "beam", "--lexicon", "klingon")
    assert code == 2 and "unknown lexicon 'klingon'" in err
    code, _, err = run(capsys, "eval", crop_set, "--model", oracle_path, "--lexicon", words)
    assert code == 2 and "only used by decoder='beam'" in err


def test_eval_names_a_missing_image(capsys, oracle_path, crop_set):
    crop_set.write_text(crop_set.read_text(encoding="utf-8") + "images/none.png\tx\n", encoding="utf-8")
    code, _, err = run(capsys, "eval", crop_set, "--model", oracle_path)
    assert code == 1 and "labels.tsv: file not found" in err and "none.png" in err


def test_eval_names_the_file_whose_pixels_are_invalid(capsys, oracle_path, crop_set):
    # a float TIFF with values above 1: the reason alone ("float image values ...") names no file
    assert cv2.imwrite(str(crop_set.parent / "images" / "bright.tiff"), np.full((8, 8), 2.0, np.float32))
    crop_set.write_text(crop_set.read_text(encoding="utf-8") + "images/bright.tiff\tx\n", encoding="utf-8")
    code, out, err = run(capsys, "eval", crop_set, "--model", oracle_path)
    assert code == 1 and "bright.tiff: float image values must lie in [0, 1]" in err and "accuracy" not in out


@pytest.mark.parametrize("limit", ["0", "-3", "x"])
def test_limits_below_one_are_usage_errors(capsys, crop_set, limit):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["bench", str(crop_set), "--limit", limit])
    assert exit_info.value.code == 2 and "--limit: must be a whole number of at least 1" in capsys.readouterr().err


@pytest.mark.parametrize("source", ["labels", "synthetic"])
def test_bench(capsys, oracle_path, crop_set, source):
    extra = [crop_set] if source == "labels" else []
    code, out, _ = run(capsys, "bench", *extra, "--limit", "5", "--threads", "1", "--json", "--model", oracle_path)
    assert code == 0
    result = json.loads(out)
    assert result["crops"] == 5 and result["threads"] == 1 and result["read_ms_median"] > 0
    assert result["read_batch_crops_per_s"] > 0 and 0 < result["read_batch_decoder_share"] < 1


def test_info(capsys, oracle_path):
    code, out, _ = run(capsys, "info", oracle_path, "--json")
    info = json.loads(out)
    assert code == 0 and info["name"] == "oracle" and info["charset"] == "abc" and info["classes"] == 4
    assert info["input"]["width_stride"] == 4
    code, out, _ = run(capsys, "info", "--model", oracle_path)
    assert code == 0 and "oracle" in out
    code, _, err = run(capsys, "info", oracle_path, "--model", "other.onnx")
    assert code == 2 and "two models" in err


def test_unknown_model_name_is_an_error(capsys):
    code, _, err = run(capsys, "info", "no-such-model")
    assert code == 2 and "unknown model 'no-such-model'" in err
