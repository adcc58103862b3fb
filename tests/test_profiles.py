"""Export profiles (training/profiles.py, ``crnn-export --profile``): adapter semantics, and each file in its real host.

The adapter tests use a small random CRNN and need only the ``train`` extra.
The host tests export ``models/default.onnx`` with the CLI and read real crops
(SROIE receipt crops from the shared data, plus words rendered with a system
font) in RapidOCR 3.x, ``cv2.dnn.TextRecognitionModel`` and OnnxTR; each host
must return exactly the text our native ``Recogniser`` reads. A host test skips
with the package to install when its host is absent.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="export profiles need the 'train' extra (torch)")
onnx = pytest.importorskip("onnx", reason="export profiles need the 'onnx' package")

from conftest import REPO, data_dir  # noqa: E402

from crnn_onnx import Recogniser  # noqa: E402
from crnn_onnx.errors import ModelFormatError  # noqa: E402
from crnn_onnx.preprocess import InputSpec  # noqa: E402
from training import export, profiles  # noqa: E402
from training.model import CRNN  # noqa: E402

DEFAULT_MODEL = REPO / "models" / "default.onnx"
SPEC = InputSpec()
SMALL_CHARSET = tuple("ab c1")          # includes a space, not in first place
#: SROIE receipt crops (aspect ratio <= 8) that the default model reads correctly
SROIE_CROPS = {"images/000001.jpg": "TAX INVOICE", "images/000009.jpg": ": PEGIV-1030531",
               "images/000013.jpg": "170.00", "images/000053.jpg": "(1125830-V)"}
RENDERED_WORDS = ("Invoice 2024", "Hello World", "Receipt")
FONT_NAMES = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf")


def small_model(charset=SMALL_CHARSET, seed: int = 0) -> CRNN:
    torch.manual_seed(seed)
    model = CRNN(len(charset) + 1, width=4, hidden=8).eval()
    with torch.no_grad():   # peaky outputs, so argmax comparisons are meaningful
        model.head.weight.mul_(20.0)
    return model


def native_input(bgr_unit: np.ndarray) -> torch.Tensor:
    """Our own preprocessing of a float BGR H×W×3 image already at height 32: grey, (x - 0.5)/0.5."""
    grey = cv2.cvtColor(bgr_unit, cv2.COLOR_BGR2GRAY)
    return torch.from_numpy(((grey - 0.5) / 0.5)[None, None].astype(np.float32))


# --------------------------------------------------------------------------- adapter layers


@pytest.mark.parametrize("width", [99, 150, 301, 302])
def test_area_resize_is_cv2_inter_area_at_two_thirds(width):
    """Exactly cv2.INTER_AREA at 2/3, on the image right-padded with the pad value to a multiple of 3."""
    rng = np.random.default_rng(width)
    image = rng.uniform(0, 1, (48, width)).astype(np.float32)
    padded_width = 3 * math.ceil(width / 3)
    padded = np.pad(image, ((0, 0), (0, padded_width - width)), constant_values=0.5)
    expected = cv2.resize(padded, (padded_width * 2 // 3, 32), interpolation=cv2.INTER_AREA)
    got = profiles._AreaResize3to2(0.5)(torch.from_numpy(image)[None, None]).numpy()[0, 0]
    assert got.shape == expected.shape == (32, 2 * math.ceil(width / 3))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_opencv_adapter_is_the_native_network_time_major():
    model = small_model()
    profile = profiles.build_profile("opencv", model, SPEC, SMALL_CHARSET)
    bgr = np.random.default_rng(1).uniform(0, 1, (32, 70, 3)).astype(np.float32)
    host = torch.from_numpy(((bgr * 255 - 127.5) / 127.5).transpose(2, 0, 1)[None].astype(np.float32))
    with torch.no_grad():
        got = profile.adapter(host).numpy()
        expected = model(native_input(bgr)).numpy()
    assert got.shape == (math.ceil(70 / 4), 1, len(SMALL_CHARSET) + 1)   # (T, N, K), blank 0
    np.testing.assert_allclose(got[:, 0], expected[0], atol=1e-4)
    assert profile.host_charset == list(SMALL_CHARSET)


def test_rapidocr_adapter_resizes_reorders_and_softmaxes():
    model = small_model()
    profile = profiles.build_profile("rapidocr", model, SPEC, SMALL_CHARSET)
    bgr48 = np.random.default_rng(2).uniform(0, 1, (48, 150, 3)).astype(np.float32)
    host = torch.from_numpy(((bgr48 - 0.5) / 0.5).transpose(2, 0, 1)[None].astype(np.float32))
    bgr32 = cv2.resize(bgr48, (100, 32), interpolation=cv2.INTER_AREA)
    with torch.no_grad():
        got = profile.adapter(host).numpy()[0]
        expected = np.exp(model(native_input(bgr32)).numpy()[0])
    # RapidOCR's classes: blank, its dict (our charset without the space), then the space it appends
    assert profile.host_charset == ["a", "b", "c", "1", " "]
    assert profile.metadata["character"].splitlines() == ["a", "b", "c", "1"]
    order = [0, 1, 2, 4, 5, 3]
    np.testing.assert_allclose(got.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(got, expected[:, order], atol=1e-4)


def test_rapidocr_adds_an_empty_space_class_when_the_charset_has_none():
    charset = ("a", "b", "c")
    model = small_model(charset)
    profile = profiles.build_profile("rapidocr", model, SPEC, charset)
    x = torch.zeros(2, 3, 48, 90)
    with torch.no_grad():
        probs = profile.adapter(x).numpy()
    assert probs.shape[-1] == len(charset) + 2
    assert probs[..., -1].max() < 1e-6
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)


def test_onnxtr_adapter_blank_last_and_black_padding_read_as_grey():
    model = small_model()
    profile = profiles.build_profile("onnxtr", model, SPEC, SMALL_CHARSET)
    rng = np.random.default_rng(3)
    rgb = np.zeros((32, profiles.ONNXTR_WIDTH, 3), np.float32)          # OnnxTR: black right padding
    rgb[:, :100] = rng.uniform(0.05, 1, (32, 100, 3))
    mean, std = np.array(profiles.DOCTR_MEAN, np.float32), np.array(profiles.DOCTR_STD, np.float32)
    host = torch.from_numpy(((rgb - mean) / std).transpose(2, 0, 1)[None].astype(np.float32))
    ours = np.full((32, profiles.ONNXTR_WIDTH, 3), SPEC.pad_value, np.float32)   # our grey right padding
    ours[:, :100] = rgb[:, :100, ::-1]
    with torch.no_grad():
        got = profile.adapter(host).numpy()[0]
        expected = model(native_input(ours)).numpy()[0]
    order = list(range(1, len(SMALL_CHARSET) + 1)) + [0]
    np.testing.assert_allclose(got, expected[:, order], atol=1e-4)
    assert profile.metadata["vocab"] == "".join(SMALL_CHARSET)


@pytest.mark.parametrize("charset", [("a", "bc"), ("a", "\n")])
def test_symbols_a_host_cannot_hold_are_refused(charset):
    with pytest.raises(ValueError, match="symbol"):
        profiles.build_profile("rapidocr", small_model(charset), SPEC, charset)


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="unknown profile"):
        profiles.build_profile("easyocr", small_model(), SPEC, SMALL_CHARSET)


@pytest.mark.parametrize("name", ["rapidocr", "opencv", "onnxtr"])
def test_export_writes_metadata_sidecars_and_passes_parity(tmp_path, name):
    out, profile, sidecars = profiles.export_profile(name, small_model(), SPEC, SMALL_CHARSET, tmp_path / "m.onnx",
                                                     model_name="small", version="7")
    result = profiles.check_profile_parity(profile, out)
    assert result["max_abs_diff"] <= profiles.PARITY_ATOL
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["crnn_onnx.profile"] == name
    assert json.loads(meta["charset"]) == list(SMALL_CHARSET)
    assert meta["name"] == "small" and meta["version"] == "7"
    assert "crnn_onnx.format" not in meta
    assert json.loads(meta["host_contract"])["load"]
    with pytest.raises(ModelFormatError):          # the native runtime refuses a host file
        Recogniser(out, threads=1)
    if name == "rapidocr":
        assert [p.name for p in sidecars] == ["m.keys.txt"]
        assert sidecars[0].read_text(encoding="utf-8").splitlines() == meta["character"].splitlines()
    elif name == "opencv":
        assert [p.name for p in sidecars] == ["m.vocab.txt"]
        assert sidecars[0].read_text(encoding="utf-8").split("\n")[:-1] == list(SMALL_CHARSET)
    else:
        assert sidecars == [] and meta["vocab"] == "".join(SMALL_CHARSET)


# --------------------------------------------------------------------------- the committed model, real hosts


needs_default = pytest.mark.skipif(not DEFAULT_MODEL.is_file(), reason="models/default.onnx is not there")


@needs_default
def test_native_reexport_from_onnx_is_identical(tmp_path):
    import onnxruntime as ort
    out = tmp_path / "again.onnx"
    export.main([str(DEFAULT_MODEL), "--out", str(out)])
    before, after = (ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (DEFAULT_MODEL, out))
    x = np.random.default_rng(4).uniform(-1, 1, (2, 1, 32, 90)).astype(np.float32)
    np.testing.assert_allclose(after.run(None, {"image": x})[0], before.run(None, {"image": x})[0], atol=1e-5)
    old, new = before.get_modelmeta().custom_metadata_map, after.get_modelmeta().custom_metadata_map
    assert {k: new[k] for k in ("charset", "name", "version", "training")} == \
        {k: old[k] for k in ("charset", "name", "version", "training")}


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    """The three profiles of models/default.onnx, written by the CLI as a user would."""
    if not DEFAULT_MODEL.is_file():
        pytest.skip("models/default.onnx is not there")
    folder = tmp_path_factory.mktemp("profiles")
    paths = {}
    for name in ("rapidocr", "opencv", "onnxtr"):
        paths[name] = folder / f"crnn_{name}.onnx"
        export.main([str(DEFAULT_MODEL), "--profile", name, "--out", str(paths[name])])
    return paths


def _font() -> Path | None:
    for root in (Path("/usr/share/fonts"), Path("/usr/local/share/fonts")):
        for name in FONT_NAMES:
            found = sorted(root.rglob(name)) if root.is_dir() else []
            if found:
                return found[0]
    return None


def _render(text: str, font_path: Path) -> np.ndarray:
    """Black text at 22 px on a white crop exactly 32 px high (no resize on the native path)."""
    from PIL import Image, ImageDraw, ImageFont
    font = ImageFont.truetype(str(font_path), 22)
    left, top, right, bottom = font.getbbox(text)
    image = Image.new("RGB", (right - left + 12, 32), "white")
    ImageDraw.Draw(image).text((6 - left, (32 - (bottom - top)) // 2 - top), text, font=font, fill="black")
    return np.ascontiguousarray(np.asarray(image)[..., ::-1])   # BGR, as cv2.imread gives


@pytest.fixture(scope="module")
def crops() -> list[tuple[str, np.ndarray]]:
    """(ground truth, BGR uint8 crop): SROIE crops when the shared data is there, and rendered words."""
    items = []
    folder = data_dir()
    if folder is not None and (folder / "sroie_receipts_crops").is_dir():
        for rel, text in SROIE_CROPS.items():
            items.append((text, cv2.imread(str(folder / "sroie_receipts_crops" / rel))))
    font = _font()
    if font is not None:
        pytest.importorskip("PIL", reason="rendering test words needs pillow")
        items += [(text, _render(text, font)) for text in RENDERED_WORDS]
    if not items:
        pytest.skip("no real crops: neither ../shared/data/sroie_receipts_crops nor a DejaVu/Liberation font")
    return items


def assert_reads_like_native(texts: list[str], native: list[str]) -> None:
    """The host's readings equal the native runtime's on all crops but at most one, and that one is
    within one edit: the host resizes with its own code (RapidOCR to height 48 then the adapter to 32,
    OnnxTR to its own size), so a faint borderline glyph (SROIE's leading ':') may flip."""
    from rapidfuzz.distance import Levenshtein
    differing = [(t, n) for t, n in zip(texts, native) if t != n]
    assert len(texts) == len(native) and len(differing) <= 1, differing
    assert all(Levenshtein.distance(t, n) <= 1 for t, n in differing), differing


@pytest.fixture(scope="module")
def native_texts(crops) -> list[str]:
    texts = [p.text for p in Recogniser(DEFAULT_MODEL, threads=1).read_batch([c for _, c in crops])]
    # the comparison only means something when the native model reads these crops right
    assert sum(t == gt for t, (gt, _) in zip(texts, crops)) >= len(crops) - 1, list(zip(texts, crops))
    return texts


def test_rapidocr_reads_like_native(exported, crops, native_texts):
    rapidocr = pytest.importorskip("rapidocr", reason='RapidOCR is not installed: pip install "rapidocr>=3.10,<4"')
    engine = rapidocr.RapidOCR(params={"Rec.model_path": str(exported["rapidocr"]), "Global.log_level": "warning",
                                       "EngineConfig.onnxruntime.intra_op_num_threads": 1})
    texts = [engine(crop, use_det=False, use_cls=False, use_rec=True).txts[0] for _, crop in crops]
    assert_reads_like_native(texts, native_texts)


def test_rapidocr_keys_file_works_without_the_metadata(exported, crops, native_texts, tmp_path):
    """Hosts that read a dict file (PaddleOCR, rapidocr-onnxruntime 1.x) get the same classes from <out>.keys.txt."""
    rapidocr = pytest.importorskip("rapidocr", reason='RapidOCR is not installed: pip install "rapidocr>=3.10,<4"')
    proto = onnx.load(str(exported["rapidocr"]))
    kept = [(p.key, p.value) for p in proto.metadata_props if p.key != "character"]
    del proto.metadata_props[:]
    for key, value in kept:
        proto.metadata_props.add(key=key, value=value)
    bare = tmp_path / "bare.onnx"
    onnx.save(proto, str(bare))
    keys = exported["rapidocr"].with_name(exported["rapidocr"].stem + ".keys.txt")
    engine = rapidocr.RapidOCR(params={"Rec.model_path": str(bare), "Rec.rec_keys_path": str(keys),
                                       "Global.log_level": "warning",
                                       "EngineConfig.onnxruntime.intra_op_num_threads": 1})
    texts = [engine(crop, use_det=False, use_cls=False, use_rec=True).txts[0] for _, crop in crops]
    assert_reads_like_native(texts, native_texts)


@pytest.mark.parametrize("decode_type", ["CTC-greedy", "CTC-prefix-beam-search"])
def test_opencv_text_recognition_model_reads_like_native(exported, crops, native_texts, decode_type):
    if not hasattr(cv2, "dnn") or not hasattr(cv2.dnn, "TextRecognitionModel"):
        pytest.skip("this OpenCV build has no cv2.dnn.TextRecognitionModel")
    vocab_file = exported["opencv"].with_name(exported["opencv"].stem + ".vocab.txt")
    vocabulary = vocab_file.read_text(encoding="utf-8").split("\n")[:-1]
    model = cv2.dnn.TextRecognitionModel(str(exported["opencv"]))
    model.setVocabulary(vocabulary)
    model.setDecodeType(decode_type)
    texts = []
    for _, crop in crops:
        height, width = crop.shape[:2]
        model.setInputParams(scale=1 / 127.5, size=(max(8, round(width * 32 / height)), 32),
                             mean=(127.5, 127.5, 127.5))
        texts.append(model.recognize(crop))
    assert_reads_like_native(texts, native_texts)


def test_onnxtr_crnn_loader_reads_like_native(exported, crops, native_texts):
    pytest.importorskip("onnxtr", reason='OnnxTR is not installed: pip install "onnxtr[cpu-headless]"')
    import onnxruntime as ort
    from onnxtr.models import crnn_vgg16_bn, recognition_predictor
    path = str(exported["onnxtr"])
    vocab = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map["vocab"]
    predictor = recognition_predictor(crnn_vgg16_bn(path, vocab=vocab, input_shape=(3, 32, profiles.ONNXTR_WIDTH)))
    results = predictor([np.ascontiguousarray(crop[..., ::-1]) for _, crop in crops])   # OnnxTR crops are RGB
    assert_reads_like_native([text for text, _ in results], native_texts)
    assert all(0.0 <= conf <= 1.0 for _, conf in results)
