"""Export profiles: the same trained CRNN, wrapped so that another host loads it with its own conventions.

DESIGN §4 and ``../shared/notes/ecosystem.md`` give the host contracts. Each
profile wraps the unchanged network (grey, height 32, ``(x - mean) / std``,
log-probs (N, T, K) with blank 0 and class i = ``charset[i - 1]``) in thin torch
layers at export time; nothing is retrained and nothing changes in the weights.

========  ==========================  ==========================================================
profile   host                        what the adapter layers do
========  ==========================  ==========================================================
native    ``crnn_onnx``               nothing: DESIGN §3 (``training.export.export_onnx``)
rapidocr  RapidOCR 3.x (``Rec.*``)    input (N, 3, 48, W) BGR, ``(x/255 - 0.5)/0.5``, zero (mid-grey)
                                      right padding; to grey; exact area resize 48 -> 32 in the graph
                                      (cv2 ``INTER_AREA`` at 2/3: a stride-3 conv and a pixel
                                      shuffle); output (N, T, K') **probabilities** with blank 0,
                                      classes 1..K'-2 = the charset without the space, and the
                                      space last (RapidOCR appends ``" "`` to its dict). The dict
                                      goes in the ONNX metadata key ``character`` (read first by
                                      RapidOCR 3.x, so it works offline) and, for hosts that want a
                                      file (PaddleOCR, rapidocr-onnxruntime 1.x), ``<out>.keys.txt``.
opencv    ``cv2.dnn.TextRecognition-  input (N, 3, 32, W) BGR, ``(x - 127.5)/127.5`` (the tutorial's
          Model``                     ``setInputParams(1/127.5, size, 127.5)``); to grey; output
                                      (T, N, K) **log-probs** (OpenCV walks axis 0 as time; log
                                      values also suit its prefix beam search), blank 0, class i =
                                      vocabulary[i - 1]: ``setVocabulary(charset)``; the vocabulary
                                      is in the metadata (``charset``) and in ``<out>.vocab.txt``.
onnxtr    OnnxTR 0.9 CRNN loader      input (N, 3, 32, 256) RGB (a static width: OnnxTR reads the
                                      last input dim as an int), ``x/255`` then docTR's mean/std;
                                      OnnxTR pads the right with black, which the graph turns back
                                      into our mid-grey pad (trailing all-black columns); to grey;
                                      output (N, T, K) **log-probs** used as logits, with the blank
                                      moved to the **last** class. Vocab: ``"".join(charset)``, in
                                      the metadata key ``vocab``. Load with
                                      ``crnn_vgg16_bn(path, vocab=..., input_shape=(3, 32, 256))``.
========  ==========================  ==========================================================

Every profile file carries ``crnn_onnx.profile``, ``charset`` (JSON, native
class order), ``host_contract`` (JSON: the layout above), ``name``, ``version``,
``license`` and ``training``, but not ``crnn_onnx.format``: the runtime refuses
a profile file instead of misreading it.

:func:`load_source` rebuilds the torch model from a ``.pt`` checkpoint or from a
native ``.onnx`` (through :func:`training.checkpoint.state_from_onnx`), so a
profile can be exported from the committed model without a checkpoint.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from crnn_onnx import preprocess

from .model import CRNN

PROFILES = ("native", "rapidocr", "opencv", "onnxtr")
PARITY_ATOL = 1e-4
#: BT.601 luma weights, as cv2.COLOR_BGR2GRAY / COLOR_RGB2GRAY use them
LUMA_RGB = (0.299, 0.587, 0.114)
#: docTR / OnnxTR CRNN normalisation (ecosystem.md §3)
DOCTR_MEAN = (0.694, 0.695, 0.693)
DOCTR_STD = (0.299, 0.296, 0.301)
RAPIDOCR_HEIGHT = 48
ONNXTR_WIDTH = 256
#: RapidOCR splits its ``character`` metadata with str.splitlines: these may not appear in a symbol
_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


# --------------------------------------------------------------------------- source models

def _architecture_from_onnx(proto) -> dict:
    """CRNN constructor arguments read off a native ONNX graph (conv widths, LSTM size, classes)."""
    from onnx import numpy_helper

    inits = {t.name: t for t in proto.graph.initializer}
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    lstms = [n for n in proto.graph.node if n.op_type == "LSTM"]
    if not convs or not lstms:
        raise ValueError("not a CRNN graph: no Conv or no LSTM node")
    first = numpy_helper.to_array(inits[convs[0].input[1]])
    hidden = next(a.i for a in lstms[0].attribute if a.name == "hidden_size")
    return {"input_channels": int(first.shape[1]), "width": int(first.shape[0]), "hidden": int(hidden)}


def load_source(path: Path) -> tuple[CRNN, preprocess.InputSpec, tuple[str, ...], dict, dict]:
    """(model in eval mode, input spec, charset, training summary, names) from a .pt checkpoint or a native .onnx.

    ``names`` holds the source's ``name`` and ``version`` (empty for a checkpoint,
    whose export takes them from the command line).
    """
    path = Path(path)
    if path.suffix.lower() != ".onnx":
        from .checkpoint import load_model
        model, config, charset, summary = load_model(path)
        return model, config.input_spec(), charset, summary, {}

    import onnx

    from crnn_onnx.model_format import load_spec

    from .checkpoint import state_from_onnx

    proto = onnx.load(str(path))
    spec = load_spec(path, proto)          # validates the native format (ModelFormatError otherwise)
    arch = _architecture_from_onnx(proto)
    model = CRNN(spec.num_classes, input_height=spec.input_spec.input_height, **arch)
    model.load_state_dict(state_from_onnx(path, model))
    return (model.eval(), spec.input_spec, tuple(spec.charset), dict(spec.training),
            {"name": spec.name, "version": spec.version})


# --------------------------------------------------------------------------- adapter layers

class _ToGrey(nn.Module):
    """(N, 3, H, W) pixels in [0, 1] -> (N, 1, H, W) luma, for BGR or RGB channel order."""

    def __init__(self, order: str):
        super().__init__()
        weights = LUMA_RGB if order == "rgb" else LUMA_RGB[::-1]
        self.register_buffer("weight", torch.tensor(weights, dtype=torch.float32).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.weight).sum(dim=1, keepdim=True)


class _AreaResize3to2(nn.Module):
    """Exact ``cv2.INTER_AREA`` at scale 2/3 on (N, 1, 3h, W): (N, 1, 2h, 2*ceil(W/3)).

    Each 3x3 block becomes 2x2 pixels with the 1-D weights (2/3, 1/3, 0) and
    (0, 1/3, 2/3) per axis (a stride-3 conv into 4 channels, then a pixel
    shuffle). The width is padded on the right with ``pad`` to a multiple of 3.
    """

    def __init__(self, pad: float):
        super().__init__()
        a = torch.tensor([2 / 3, 1 / 3, 0.0])
        b = torch.tensor([0.0, 1 / 3, 2 / 3])
        kernels = [torch.outer(r, c) for r in (a, b) for c in (a, b)]   # channel i*2+j -> out pixel (i, j)
        self.register_buffer("weight", torch.stack(kernels).unsqueeze(1))  # 4, 1, 3, 3
        self.pad = float(pad)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.pad(x, (0, 2), value=self.pad)
        return self.shuffle(nn.functional.conv2d(x, self.weight, stride=3))


class _TrailingPadToValue(nn.Module):
    """Replace trailing columns that are black in every row and channel with ``value``.

    OnnxTR pads recognition crops on the right with black (0 before normalising);
    our network was trained with mid-grey padding. Input (N, C, H, W) in [0, 1].
    """

    def __init__(self, value: float, tolerance: float = 1e-3):
        super().__init__()
        self.value = float(value)
        self.tolerance = float(tolerance)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        content = (x.abs().amax(dim=(1, 2)) > self.tolerance)                      # N, W
        index = torch.arange(x.shape[3], device=x.device).unsqueeze(0)              # 1, W
        last = torch.where(content, index, torch.full_like(index, -1)).amax(dim=1, keepdim=True)  # N, 1
        trailing = (index > last).unsqueeze(1).unsqueeze(1)                        # N, 1, 1, W
        return torch.where(trailing, torch.full_like(x, self.value), x)


class _Normalise(nn.Module):
    def __init__(self, mean: float, std: float):
        super().__init__()
        self.mean, self.std = float(mean), float(std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class HostAdapter(nn.Module):
    """host input -> pixels in [0, 1] -> grey -> (resize) -> our normalisation -> CRNN -> host output."""

    def __init__(self, model: CRNN, spec: preprocess.InputSpec, *, order: str, in_mean, in_std,
                 resize: nn.Module | None, pad_fix: nn.Module | None, class_order: list[int] | None,
                 extra_zero_class: bool, output: str, time_major: bool):
        super().__init__()
        if spec.input_channels != 1:
            raise ValueError("export profiles wrap grey models (input_channels 1)")
        self.model = model
        self.register_buffer("in_mean", torch.tensor(in_mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("in_std", torch.tensor(in_std, dtype=torch.float32).view(1, -1, 1, 1))
        self.pad_fix = pad_fix
        self.grey = _ToGrey(order)
        self.resize = resize
        self.normalise = _Normalise(spec.mean[0], spec.std[0])
        self.register_buffer("class_order", torch.tensor(class_order if class_order is not None else [],
                                                         dtype=torch.long))
        self.reorder = class_order is not None
        self.extra_zero_class = extra_zero_class
        self.output = output
        self.time_major = time_major
        self.eval()   # torch.onnx.export restores the mode it found, recursively: keep BatchNorm and dropout in eval

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.in_std + self.in_mean          # host normalisation undone: pixels in [0, 1]
        if self.pad_fix is not None:
            x = self.pad_fix(x)
        x = self.grey(x)
        if self.resize is not None:
            x = self.resize(x)
        logp = self.model(self.normalise(x))        # N, T, K log-probs, blank 0
        if self.extra_zero_class:                   # a class the host expects but our charset lacks
            logp = torch.cat([logp, torch.full_like(logp[..., :1], -1e4)], dim=-1)
        if self.reorder:
            logp = torch.index_select(logp, 2, self.class_order)
        out = torch.exp(logp) if self.output == "probs" else logp
        return out.permute(1, 0, 2) if self.time_major else out


@dataclass
class Profile:
    """One host's contract and the adapter built for it."""

    name: str
    adapter: HostAdapter
    input_name: str
    output_name: str
    channels: int
    height: int
    width: int | None                      #: None: dynamic
    dynamic_axes: dict
    host_charset: list[str]                #: the host's own class list, without its blank
    metadata: dict[str, str] = field(default_factory=dict)
    contract: dict = field(default_factory=dict)
    sidecar: tuple[str, str] | None = None  #: (suffix, text) written beside the ONNX file


def _check_symbols(charset: tuple[str, ...], profile: str) -> None:
    for symbol in charset:
        if len(symbol) != 1:
            raise ValueError(f"profile {profile}: symbol {symbol!r} is not one character")
        if symbol in _LINE_BREAKS:
            raise ValueError(f"profile {profile}: symbol {symbol!r} is a line break, which the host "
                             "cannot hold in its one-symbol-per-line dictionary")


def build_profile(name: str, model: CRNN, spec: preprocess.InputSpec, charset: tuple[str, ...]) -> Profile:
    """The adapter and export settings for host profile ``name`` (not "native")."""
    model = model.float().eval().cpu()
    charset = tuple(charset)
    if name == "rapidocr":
        _check_symbols(charset, name)
        if spec.input_height * 3 != RAPIDOCR_HEIGHT * 2:
            raise ValueError("the rapidocr profile resizes 48 -> 32 and needs input_height 32")
        dictionary = [c for c in charset if c != " "]
        has_space = " " in charset
        space_class = charset.index(" ") + 1 if has_space else len(charset) + 1  # else: the added zero class
        order = [0] + [i + 1 for i, c in enumerate(charset) if c != " "] + [space_class]
        adapter = HostAdapter(model, spec, order="bgr", in_mean=[0.5] * 3, in_std=[0.5] * 3,
                              resize=_AreaResize3to2(spec.pad_value), pad_fix=None, class_order=order,
                              extra_zero_class=not has_space, output="probs", time_major=False)
        keys = "\n".join(dictionary)
        contract = {"input": "N x 3 x 48 x W float32, BGR, (x/255 - 0.5)/0.5, right-padded with 0",
                    "output": "N x T x K probabilities (softmax), T = ceil(ceil(W/3)*2/4)",
                    "blank_index": 0, "classes": "blank, the `character` list, then ' ' (appended by RapidOCR)",
                    "load": "RapidOCR(params={'Rec.model_path': path})"}
        return Profile(name, adapter, "x", "softmax", 3, RAPIDOCR_HEIGHT, None,
                       {"x": {0: "batch", 3: "width"}, "softmax": {0: "batch", 1: "frames"}},
                       dictionary + [" "], {"character": keys}, contract, (".keys.txt", keys + "\n"))
    if name == "opencv":
        _check_symbols(charset, name)
        adapter = HostAdapter(model, spec, order="bgr", in_mean=[0.5] * 3, in_std=[0.5] * 3, resize=None,
                              pad_fix=None, class_order=None, extra_zero_class=False, output="logprobs",
                              time_major=True)
        contract = {"input": "N x 3 x 32 x W float32, BGR, (x - 127.5)/127.5: "
                             "setInputParams(scale=1/127.5, size=(W, 32), mean=(127.5,)*3)",
                    "output": "T x N x K log-probs, T = ceil(W/4)", "blank_index": 0,
                    "classes": "blank, then the vocabulary in order: setVocabulary(charset)",
                    "load": "cv2.dnn.TextRecognitionModel(path)"}
        return Profile(name, adapter, "image", "logprobs", 3, spec.input_height, None,
                       {"image": {0: "batch", 3: "width"}, "logprobs": {0: "frames", 1: "batch"}},
                       list(charset), {}, contract, (".vocab.txt", "\n".join(charset) + "\n"))
    if name == "onnxtr":
        _check_symbols(charset, name)
        if spec.input_height != 32:
            raise ValueError("the onnxtr profile needs input_height 32")
        order = list(range(1, len(charset) + 1)) + [0]
        adapter = HostAdapter(model, spec, order="rgb", in_mean=list(DOCTR_MEAN), in_std=list(DOCTR_STD),
                              resize=None, pad_fix=_TrailingPadToValue(spec.pad_value), class_order=order,
                              extra_zero_class=False, output="logprobs", time_major=False)
        vocab = "".join(charset)
        contract = {"input": f"N x 3 x 32 x {ONNXTR_WIDTH} float32, RGB, x/255 then mean {DOCTR_MEAN} "
                             f"std {DOCTR_STD}; black right padding is read as our mid-grey pad",
                    "output": f"N x T x K log-probs used as logits, T = {ONNXTR_WIDTH // spec.width_stride}",
                    "blank_index": len(charset), "classes": "the vocab string in order, then the blank",
                    "load": f"crnn_vgg16_bn(path, vocab=vocab, input_shape=(3, 32, {ONNXTR_WIDTH}))"}
        return Profile(name, adapter, "input", "logits", 3, 32, ONNXTR_WIDTH,
                       {"input": {0: "batch"}, "logits": {0: "batch"}},
                       list(charset), {"vocab": vocab}, contract, None)
    raise ValueError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")


def export_profile(name: str, model: CRNN, spec: preprocess.InputSpec, charset: tuple[str, ...], out: Path,
                   model_name: str = "crnn", version: str = "0", training: dict | None = None,
                   license: str = "MIT (weights trained on synthetic text and research datasets; see models/README.md)",
                   ) -> tuple[Path, Profile, list[Path]]:
    """Write profile ``name`` of ``model`` to ``out`` (TorchScript exporter, opset 17, onnx.checker).

    Returns (out, the profile, the sidecar files written beside it).
    """
    import onnx

    from .export import save_with_metadata  # export imports this module at its top

    profile = build_profile(name, model, spec, charset)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.onnx")
    dummy = torch.full((1, profile.channels, profile.height, profile.width or 96), 0.25)
    with torch.no_grad():
        torch.onnx.export(profile.adapter, (dummy,), str(tmp), dynamo=False, opset_version=17,
                          input_names=[profile.input_name], output_names=[profile.output_name],
                          dynamic_axes=profile.dynamic_axes)
    proto = onnx.load(str(tmp))
    metadata = {
        "crnn_onnx.profile": name,
        "charset": json.dumps(list(charset)),
        "host_contract": json.dumps(profile.contract),
        "name": model_name,
        "version": version,
        "license": license,
        "training": json.dumps(training or {}),
        **profile.metadata,
    }
    save_with_metadata(proto, metadata, tmp, out)
    written = []
    if profile.sidecar is not None:
        suffix, text = profile.sidecar
        side = out.with_name(out.stem + suffix)
        side.write_text(text, encoding="utf-8")
        written.append(side)
    return out, profile, written


def host_input(name: str, batch: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A random input in profile ``name``'s layout and value range (for parity checks)."""
    if name == "rapidocr":
        return rng.uniform(-1, 1, (batch, 3, RAPIDOCR_HEIGHT, width)).astype(np.float32)
    if name == "opencv":
        return rng.uniform(-1, 1, (batch, 3, 32, width)).astype(np.float32)
    if name == "onnxtr":
        pixels = rng.uniform(0, 1, (batch, 3, 32, ONNXTR_WIDTH)).astype(np.float32)
        pixels[..., width:] = 0.0                                   # OnnxTR's black right padding
        mean = np.array(DOCTR_MEAN, np.float32).reshape(1, 3, 1, 1)
        std = np.array(DOCTR_STD, np.float32).reshape(1, 3, 1, 1)
        return (pixels - mean) / std
    raise ValueError(name)


def check_profile_parity(profile: Profile, onnx_path: Path, seed: int = 0) -> dict:
    """onnxruntime against the torch adapter at several batch sizes and widths.

    Raises AssertionError on a difference above 1e-4 (in log space for log-prob
    outputs, in probability for RapidOCR's softmax) or a different argmax path.
    """
    import onnxruntime as ort

    rng = np.random.default_rng(seed)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    widths = [(1, 100), (3, 161), (2, 320)] if profile.width is None else [(1, 40), (3, 128), (2, ONNXTR_WIDTH)]
    worst = 0.0
    for batch, width in widths:
        x = host_input(profile.name, batch, width, rng)
        with torch.no_grad():
            expected = profile.adapter(torch.from_numpy(x)).numpy()
        got = session.run([profile.output_name], {profile.input_name: x})[0]
        assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape} at input {x.shape}"
        diff = float(np.abs(got - expected).max())
        worst = max(worst, diff)
        assert diff <= PARITY_ATOL, f"{profile.name}: difference {diff:.2e} at input {x.shape}"
        assert (got.argmax(-1) == expected.argmax(-1)).all(), f"{profile.name}: argmax differs at input {x.shape}"
    return {"max_abs_diff": worst, "cases": len(widths)}
