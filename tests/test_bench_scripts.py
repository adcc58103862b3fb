"""bench/accuracy.py, bench/speed.py and bench/gallery.py run end to end on the oracle model and a tiny crop set."""
from __future__ import annotations

import json
import sys

import cv2
import pytest
from conftest import REPO, render
from PIL import Image

sys.path.insert(0, str(REPO))

from bench import accuracy, gallery, speed  # noqa: E402

CARD = ("# card\n\n<!-- accuracy:begin -->\nold\n<!-- accuracy:end -->\n\n"
        "<!-- speed:begin -->\nold\n<!-- speed:end -->\n")


@pytest.fixture
def data(tmp_path):
    """Two crop sets named like real ones: svt_test (one misread in four) and uw3_lines (lines of bars)."""
    sets = {"svt_test": [("abc", "abc"), ("cab", "cab"), ("bb", "bb"), ("ab", "ba")],
            "uw3_lines": [("abcabcabcabcabcabcabcabcabc", "abcabcabcabcabcabcabcabcabc"),
                          ("bcbcbcbcbcbcbcbcbcbcbcbcbcbc", "bcbcbcbcbcbcbcbcbcbcbcbcbcba")]}
    for name, items in sets.items():
        (tmp_path / name / "images").mkdir(parents=True)
        lines = []
        for i, (text, gt) in enumerate(items):
            cv2.imwrite(str(tmp_path / name / "images" / f"{i}.png"), render(text))
            lines.append(f"images/{i}.png\t{gt}")
        (tmp_path / name / "labels.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path


def test_accuracy_scores_table_card_and_gallery(data, oracle_path, tmp_path, capsys):
    card = tmp_path / "README.md"
    card.write_text(CARD, encoding="utf-8")
    out, png = tmp_path / "results.json", tmp_path / "gallery.png"
    accuracy.main(["--model", str(oracle_path), "--data", str(data), "--out", str(out), "--card", str(card),
                   "--gallery", str(png)])
    results = json.loads(out.read_text())
    assert list(results["sets"]) == ["svt_test", "uw3_lines"]  # table order, not alphabetical
    svt = results["sets"]["svt_test"]
    assert svt["scores"]["greedy"]["word_accuracy"] == 0.75 and svt["scores"]["beam"]["word_accuracy"] == 0.75
    assert svt["scores"]["lexicon"]["word_accuracy"] == 0.75 and results["lexicon"] == "en"
    assert [r["pred"] for r in svt["readings"]] == ["abc", "cab", "bb", "ab"]
    uw3 = results["sets"]["uw3_lines"]["scores"]["greedy"]
    assert uw3["edits"] == 1 and uw3["word_correct"] == 1
    table = capsys.readouterr().out
    assert "| svt_test | 4 (0) | word ≥ 80 | **75.0** |" in table
    assert "**missed by 5.0 pt**" in table and "94.6 / 22.70" in table  # bar verdict; RapidOCR 3 from peers.md
    assert "+ lexicon `en`" in table and "| **missed by 5.0 pt** / met (+0.7 pt) |" in table  # lexicon verdicts
    text = card.read_text()
    assert "old" not in text.split("<!-- accuracy:end -->")[0] and text.count("<!-- speed:begin -->\nold") == 1
    assert "| uw3_lines |" in text
    with Image.open(png) as image:
        assert image.width == gallery.COLUMNS * gallery.TILE_W and image.height > 100
    assert png.stat().st_size < 500 * 1024


def test_gallery_takes_the_worst_round_robin():
    def reading(path, gt, pred, conf):
        return {"path": path, "gt": gt, "pred": pred, "confidence": conf}

    results = {"sets": {
        "a": {"readings": [reading("1", "word", "ward", 0.9), reading("2", "word", "xxxx", 0.9),
                           reading("3", "Word", "word", 0.1), reading("4", "word", "wore", 0.2)]},
        "b": {"readings": [reading("5", "line", "lime", 0.5)]}}}
    picked = gallery.worst(results, count=3)
    # case-only differences are not misreads; worst edit distance first, then lower confidence; sets alternate
    assert [(p["set"], p["path"]) for p in picked] == [("a", "2"), ("b", "5"), ("a", "4")]


def test_speed_without_peer_on_the_oracle(data, oracle_path, tmp_path, capsys):
    card = tmp_path / "README.md"
    card.write_text(CARD, encoding="utf-8")
    out = tmp_path / "speed.json"
    speed.main(["--model", str(oracle_path), "--labels", str(data / "svt_test" / "labels.tsv"), "--crops", "3",
                "--threads", "1", "--passes", "2", "--no-peer", "--json", str(out), "--card", str(card)])
    result = json.loads(out.read_text())
    assert result["crops"] == 3 and result["set_size"] == 4
    assert result["paths"] == ["images/0.png", "images/2.png", "images/3.png"]  # evenly spread
    assert len(result["raw"]["1"]["ours_ms"]) == 6 and result["rows"][0]["ours_median_ms"] > 0
    assert "NOT same-run" in capsys.readouterr().out
    assert "<!-- speed:begin -->\nModel `" in card.read_text()


def test_speed_reads_with_a_lexicon(data, oracle_path, tmp_path, capsys):
    words = tmp_path / "words.txt"
    words.write_text("abc\ncab\n", encoding="utf-8")
    out = tmp_path / "speed.json"
    speed.main(["--model", str(oracle_path), "--labels", str(data / "svt_test" / "labels.tsv"), "--crops", "4",
                "--threads", "1", "--passes", "1", "--no-peer", "--lexicon", str(words), "--json", str(out)])
    result = json.loads(out.read_text())
    assert result["decoding"] == f"beam 10 + lexicon `{words}`" and result["rows"][0]["ours_word_accuracy"] == 0.75
    assert f"one `Recogniser.read` call (beam 10 + lexicon `{words}`)" in capsys.readouterr().out


def test_accuracy_baseline_column_and_named_block(data, oracle_path, tmp_path, capsys):
    base = tmp_path / "base.json"
    accuracy.main(["--model", str(oracle_path), "--data", str(data), "--sets", "svt_test", "--no-beam",
                   "--out", str(base)])
    baseline = json.loads(base.read_text())
    baseline["model"]["name"], baseline["sets"]["svt_test"]["scores"]["greedy"]["word_accuracy"] = "other", 0.5
    base.write_text(json.dumps(baseline))
    card = tmp_path / "README.md"
    card.write_text(CARD + "\n<!-- accuracy-other:begin -->\nold\n<!-- accuracy-other:end -->\n", encoding="utf-8")
    capsys.readouterr()
    accuracy.main(["--model", str(oracle_path), "--data", str(data), "--sets", "svt_test", "--no-beam",
                   "--baseline", str(base), "--card", str(card), "--block", "accuracy-other"])
    table = capsys.readouterr().out
    assert "`other` v" in table and "| svt_test | 4 (0) | word ≥ 80 | **75.0** | 50.0 |" in table
    text = card.read_text()
    assert text.count("<!-- accuracy:begin -->\nold") == 1  # the default block is left alone
    assert "<!-- accuracy-other:begin -->\nold" not in text and "| svt_test |" in text


def test_speed_against_another_model_same_run(data, oracle_path, tmp_path, capsys):
    card = tmp_path / "README.md"
    card.write_text(CARD + "\n<!-- speed-other:begin -->\nold\n<!-- speed-other:end -->\n", encoding="utf-8")
    out = tmp_path / "speed.json"
    speed.main(["--model", str(oracle_path), "--against", str(oracle_path), "--labels",
                str(data / "svt_test" / "labels.tsv"), "--crops", "4", "--threads", "1", "--passes", "1",
                "--json", str(out), "--card", str(card), "--block", "speed-other"])
    result = json.loads(out.read_text())
    row = result["rows"][0]
    assert result["rapidocr_version"] is None and result["peer"].startswith("`")
    assert len(result["raw"]["1"]["rapid_ms"]) == 4 and row["ratio_of_medians"] > 0
    assert row["ours_word_accuracy"] == row["rapid_word_accuracy"] == 0.75  # the same model reads the same
    text = card.read_text()
    assert text.count("<!-- speed:begin -->\nold") == 1 and "<!-- speed-other:begin -->\nModel `" in text
    assert "crops of svt_test" in text


def test_gallery_from_results_keeps_only_the_named_sets(data, oracle_path, tmp_path, capsys):
    out, png = tmp_path / "results.json", tmp_path / "gallery.png"
    accuracy.main(["--model", str(oracle_path), "--data", str(data), "--no-beam", "--out", str(out)])
    capsys.readouterr()
    gallery.main(["--results", str(out), "--data", str(data), "--sets", "uw3_lines", "--out", str(png)])
    assert "1 misreads" in capsys.readouterr().out  # svt_test's misread is left out
    with pytest.raises(SystemExit, match="no readings for"):
        gallery.main(["--results", str(out), "--data", str(data), "--sets", "kaggle_names_test", "--out", str(png)])
