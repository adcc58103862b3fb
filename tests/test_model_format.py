"""crnn_onnx.model_format: every malformed model is refused at load time, naming the key or mismatch (DESIGN §3)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ORACLE_CHARSET, build_oracle, oracle_metadata, save

from crnn_onnx import Recogniser
from crnn_onnx.errors import ModelFormatError
from crnn_onnx.model_format import REQUIRED_KEYS, load_spec
from crnn_onnx.preprocess import InputSpec, Margins


def test_valid_model_spec(oracle):
    spec = oracle.spec
    assert spec.charset == ORACLE_CHARSET and spec.blank_index == 0 and spec.num_classes == 4
    assert spec.input_spec == InputSpec(32, 1, (0.5,), (0.5,), 0.5, 4, 8)
    assert (spec.name, spec.version, spec.license) == ("oracle", "1", "MIT")
    assert spec.training == {"note": "hand-built test graph"}
    assert spec.path.name == "oracle.onnx"


def test_optional_margins_are_read_into_the_input_spec(tmp_path):
    margins = json.dumps({"side": 0.3, "top_bottom": 0.1})
    spec = Recogniser(save(build_oracle(oracle_metadata(margins=margins)), tmp_path / "m.onnx")).spec
    assert spec.input_spec.margins == Margins(side=0.3, top_bottom=0.1)


def test_load_spec_reads_an_onnx_model_proto_too(oracle):
    spec = load_spec(None, build_oracle())
    assert spec.path is None and spec.input_spec == oracle.spec.input_spec and spec.charset == oracle.spec.charset


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_missing_key(tmp_path, key):
    path = save(build_oracle(oracle_metadata(**{key: None})), tmp_path / "m.onnx")
    with pytest.raises(ModelFormatError, match=f"lack.*'{key}'"):
        Recogniser(path)


BAD_METADATA = [
    ({"crnn_onnx.format": "2"}, "crnn_onnx.format"),
    ({"blank_index": "1"}, "blank_index"),
    ({"blank_index": "zero"}, "'blank_index' is not valid JSON"),
    ({"charset": '["a", "b"'}, "'charset' is not valid JSON"),
    ({"charset": '"abc"'}, "'charset' must be a non-empty JSON list"),
    ({"charset": "[]"}, "'charset' must be a non-empty JSON list"),
    ({"charset": '["a", "bc", "c"]'}, "'charset' item 1"),
    ({"charset": '["a", 1, "c"]'}, "'charset' item 1"),
    ({"charset": '["a", "a", "c"]'}, "duplicate"),
    ({"charset": '["a", "b", "c", "d"]'}, r"K=4 .* len\(charset\)\+1 = 5"),
    ({"charset": '["a", "b"]'}, r"K=4 .* len\(charset\)\+1 = 3"),
    ({"input_height": "48"}, "'input_height' is 48"),
    ({"input_height": "thirty-two"}, "'input_height' is not valid JSON"),
    ({"input_channels": "3", "normalize": json.dumps({"mean": [0.5] * 3, "std": [0.5] * 3})}, "'input_channels' is 3"),
    ({"input_channels": "2"}, "'input_channels' must be 1"),
    ({"width_stride": "0"}, "'width_stride' must be a positive integer"),
    ({"width_stride": "-4"}, "'width_stride' must be a positive integer"),
    ({"width_stride": "2.5"}, "'width_stride' must be a positive integer"),
    ({"width_stride": '"4"'}, "'width_stride' must be a positive integer"),
    ({"min_width": "0"}, "'min_width' must be a positive integer"),
    ({"normalize": json.dumps({"mean": [0.5, 0.5, 0.5], "std": [0.5]})}, "'mean' has 3 values but input_channels is 1"),
    ({"normalize": json.dumps({"mean": [0.5], "std": []})}, "'std' has 0 values"),
    ({"normalize": json.dumps({"mean": [0.5], "std": [0]})}, "std values must be positive"),
    ({"normalize": json.dumps([0.5, 0.5])}, "'normalize' must be a JSON object"),
    ({"normalize": json.dumps({"mean": ["x"], "std": [0.5]})}, "list of numbers"),
    ({"pad_value": "2"}, "'pad_value' must be a number in"),
    ({"pad_value": "[0.5]"}, "'pad_value' must be a number in"),
    ({"training": "[]"}, "'training' must be a JSON object"),
    ({"training": "{"}, "'training' is not valid JSON"),
    ({"margins": json.dumps({"side": 0.3})}, "'margins' must be a JSON object with keys 'side' and 'top_bottom'"),
    ({"margins": json.dumps({"side": -0.3, "top_bottom": 0.1})}, "'margins' must be"),
    ({"margins": json.dumps({"side": "wide", "top_bottom": 0.1})}, "'margins' must be"),
    ({"margins": "[0.3, 0.1]"}, "'margins' must be"),
]


@pytest.mark.parametrize("overrides, message", BAD_METADATA, ids=[str(o) for o, _ in BAD_METADATA])
def test_bad_metadata(tmp_path, overrides, message):
    path = save(build_oracle(oracle_metadata(**overrides)), tmp_path / "m.onnx")
    with pytest.raises(ModelFormatError, match=message) as info:
        Recogniser(path)
    assert str(path) in str(info.value)


BAD_GRAPHS = [
    ({"rank": 3}, r"rank 4 \(N, C, H, W\)"),
    ({"channels": 3}, "dim 1 is 3 but metadata 'input_channels' is 1"),
    ({"height": 48}, "dim 2 is 48 but metadata 'input_height' is 32"),
    ({"input_name": "pixels"}, "exactly one input named 'image'"),
    ({"output_name": "probs"}, "no output named 'logprobs'"),
    ({"classes": 5}, r"K=5 classes but the charset needs len\(charset\)\+1 = 4"),
]


@pytest.mark.parametrize("variant, message", BAD_GRAPHS, ids=[str(v) for v, _ in BAD_GRAPHS])
def test_bad_graph(tmp_path, variant, message):
    proto = build_oracle(**variant)
    with pytest.raises(ModelFormatError, match=message):
        load_spec("m.onnx", proto)
    with pytest.raises(ModelFormatError, match=message):
        Recogniser(save(proto, tmp_path / "m.onnx"))


def test_dynamic_input_height_is_refused(tmp_path):
    proto = build_oracle()
    proto.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "H"
    with pytest.raises(ModelFormatError, match="dim 2 is 'H' but metadata 'input_height' is 32"):
        load_spec(None, proto)


def test_not_an_onnx_file(tmp_path):
    path = tmp_path / "garbage.onnx"
    path.write_bytes(b"\x00not a model")
    with pytest.raises(ModelFormatError, match="cannot load"):
        Recogniser(path)


def test_frames_that_break_the_width_stride_rule_are_caught_at_run_time(tmp_path):
    rec = Recogniser(save(build_oracle(frames_per_block=2), tmp_path / "m.onnx"))
    with pytest.raises(ModelFormatError, match=r"has shape \(1, 24, 4\) for input width 48; expected \(N, 12, 4\)"):
        rec.read(np.full((32, 40), 255, np.uint8))
