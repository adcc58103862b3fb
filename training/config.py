"""The whole training configuration as one dataclass, read from and written to YAML."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from crnn_onnx.charset import PRINTABLE_ASCII
from crnn_onnx.preprocess import InputSpec, Margins

from .model import WIDTH_STRIDE


@dataclass
class TrainConfig:
    """Every knob of a run. Paths are relative to the current directory."""

    # model
    conv_width: int = 32
    lstm_hidden: int = 256
    input_height: int = 32
    #: {side, top_bottom}: the widest blank margins the exported model declares, as fractions of the
    #: text's height (preprocess.trim_margins, applied at read time and to validation crops; the
    #: training crops keep their rendered margins). None: read as given.
    margins: dict[str, float] | None = None
    charset: str = "".join(PRINTABLE_ASCII)
    # data
    real_sets: list[str] = field(default_factory=list)   #: folders with labels.tsv (and IAM/tar sources)
    #: sets whose labels are upper-cased whatever the image shows (SROIE, SVT): trained case-insensitively
    caseless_sets: list[str] = field(default_factory=lambda: ["sroie_train_lines", "svt_train"])
    real_ratio: float = 0.3          #: share of each batch drawn from real crops (when any are given)
    line_ratio: float = 0.25         #: share of batches made of whole text lines
    max_line_chars: int = 100
    max_width: int = 1600            #: crops wider than this after resizing to height 32 are skipped
    fonts_dir: str | None = None     #: None: system font folders
    words_file: str | None = None    #: None: wordfreq's English list
    handwriting_ratio: float = 0.0   #: share of synthetic crops drawn as handwriting (training.handwriting)
    handwriting_fonts_dir: str | None = None   #: None: the Debian handwriting font folders
    names_file: str | None = None    #: name-like words for handwriting labels; None: wordfreq's French list
    val_sets: list[str] = field(default_factory=list)   #: held-out labels.tsv folders (sha1 % 20 == 0 slice of real_sets is added)
    val_synthetic: int = 256         #: synthetic validation crops
    # optimisation
    batch_size: int = 64
    steps: int = 10_000
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 500
    grad_clip: float = 5.0
    freeze_batchnorm: bool = False   #: keep BatchNorm statistics fixed (small-batch CPU fine-tunes)
    freeze_features: bool = False    #: train only the BiLSTM and the head: the conv layers (BatchNorm too) stay as loaded
    # running
    workers: int = 1
    threads: int = 1                 #: torch intra-op threads on CPU
    amp: bool = True                 #: mixed precision on CUDA (ignored on CPU)
    val_every: int = 500
    checkpoint_minutes: float = 5.0
    time_limit_minutes: float | None = None   #: stop (and save) after this much training time
    out_dir: str = "runs/default"
    init_from: str | None = None     #: warm start: a .pt checkpoint or a native .onnx model
    seed: int = 0

    def input_spec(self) -> InputSpec:
        return InputSpec(input_height=self.input_height, input_channels=1, width_stride=WIDTH_STRIDE,
                         margins=Margins(**self.margins) if self.margins is not None else None)

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides) -> "TrainConfig":
        values = yaml.safe_load(Path(path).read_text()) or {}
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown config keys in {path}: {sorted(unknown)}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
