"""Real training data and the mixed synthetic/real batch stream.

Sources (strings in ``TrainConfig.real_sets``):

- ``path/to/folder`` — a crop set: ``labels.tsv`` (``images/x.jpg<TAB>text``) + images;
- ``iam-words:ROOT`` / ``iam-lines:ROOT`` — IAM's ``ascii/words.txt`` or ``ascii/lines.txt``
  with ``words/`` or ``lines/`` image trees (only ``ok`` segmentations are used);
- ``tar:FILE.tar`` (or ``.tar.gz``) — a shard holding ``labels.tsv`` and the images it names, for
  large sets; the set is named after the file (``FILE``).

Labels pass through :func:`crnn_onnx.charset.fit_label`; items that still do not
fit are dropped and counted. The validation slice of a set is the items whose
``sha1("<set>/<path>") % 20 == 0`` (DESIGN §7); training never sees them.
"""
from __future__ import annotations

import hashlib
import logging
import random
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from crnn_onnx import preprocess
from crnn_onnx.charset import fit_label
from crnn_onnx.labels import read_labels

from .config import TrainConfig
from .fonts import find_fonts
from .handwriting import HandwritingRenderer, HandwritingText, load_names, training_hands
from .render import SyntheticRenderer, real_augmentations
from .text import TextSampler, load_words

log = logging.getLogger(__name__)
LINE_CHARS = 25  #: labels longer than this go into line batches


@dataclass(frozen=True)
class Item:
    """One real crop: where to get its pixels, its label, and its ``<set>/<path>`` key."""

    load: Callable[[], np.ndarray]
    text: str
    key: str
    caseless: bool = False  #: the label's letter case says nothing about the image's

    @property
    def is_line(self) -> bool:
        return len(self.text) > LINE_CHARS


def _read_image(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise OSError(f"unreadable image {path}")
    return image


def _decode_bytes(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)


def iam_items(root: Path, level: str) -> list[tuple[str, str]]:
    """(relative image path, text) pairs from IAM's ``ascii/{words,lines}.txt`` (``ok`` rows only)."""
    listing = root / "ascii" / f"{level}.txt"
    if not listing.is_file():
        listing = root / f"{level}.txt"
    pairs = []
    for line in listing.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split(" ")
        if fields[1] != "ok":
            continue
        ident, text = fields[0], " ".join(fields[8:]).replace("|", " ")
        form = "-".join(ident.split("-")[:2])
        pairs.append((f"{level}/{ident.split('-')[0]}/{form}/{ident}.png", text))
    return pairs


def is_validation(key: str) -> bool:
    """The fixed validation slice: sha1 of ``<set>/<path>`` is 0 mod 20."""
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % 20 == 0


def load_source(source: str, charset: str, caseless_sets: tuple[str, ...] | list[str] = ()) -> list[Item]:
    """All items of one source string (see module docstring), labels fitted to ``charset``.

    Items of a set named in ``caseless_sets`` are flagged ``caseless``.
    """
    allowed = frozenset(charset)
    if source.startswith(("iam-words:", "iam-lines:")):
        kind, root = source.split(":", 1)
        root_path, level = Path(root), kind.split("-")[1]
        name, pairs = f"iam_{level}", iam_items(root_path, level)
        make = lambda rel: (lambda: _read_image(root_path / rel))  # noqa: E731
    elif source.startswith("tar:"):
        tar_path = Path(source[4:])
        with tarfile.open(tar_path) as tar:
            members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
        name = tar_path.name.removesuffix(".gz").removesuffix(".tgz").removesuffix(".tar")
        pairs = [tuple(line.split("\t", 1)) for line in members.pop("labels.tsv").decode("utf-8").splitlines() if line]
        make = lambda rel: (lambda: _decode_bytes(members[rel]))  # noqa: E731
    else:
        folder = Path(source)
        name = folder.name
        pairs = [(str(path.relative_to(folder)), text) for path, text in read_labels(folder / "labels.tsv")]
        make = lambda rel: (lambda: _read_image(folder / rel))  # noqa: E731
    items, dropped = [], 0
    for rel, text in pairs:
        fitted = fit_label(text.strip(), allowed)
        if not fitted:
            dropped += 1
            continue
        items.append(Item(make(rel), fitted, f"{name}/{rel}", caseless=name in caseless_sets))
    log.info("%s: %d items, %d dropped (labels outside the charset)", name, len(items), dropped)
    return items


def split_items(items: list[Item]) -> tuple[list[Item], list[Item]]:
    """(training, validation) by :func:`is_validation`."""
    val = [it for it in items if is_validation(it.key)]
    return [it for it in items if not is_validation(it.key)], val


def real_split(config: TrainConfig) -> tuple[list[Item], list[Item]]:
    """(training, held-out validation) items over all of ``config.real_sets``."""
    train_items, val_items = [], []
    for source in config.real_sets:
        kept, held_out = split_items(load_source(source, config.charset, config.caseless_sets))
        train_items += kept
        val_items += held_out
    return train_items, val_items


def validation_sets(config: TrainConfig, real_val: list[Item]) -> dict[str, list[Item]]:
    """The crops that choose checkpoints: "real" (``real_val``, when any), each of
    ``config.val_sets`` by folder name, and "synthetic" (``config.val_synthetic`` fixed renders)."""
    sets = {"real": real_val} if real_val else {}
    for source in config.val_sets:
        sets[Path(source).name] = load_source(source, config.charset)
    sets["synthetic"] = synthetic_validation(config, config.val_synthetic)
    return sets


def encode(text: str, index: dict[str, int]) -> list[int]:
    return [index[c] for c in text]


def ctc_feasible(text: str, frames: int) -> bool:
    """CTC needs one frame per label plus one blank between repeated labels."""
    repeats = sum(a == b for a, b in zip(text, text[1:]))
    return frames >= len(text) + repeats


class MixedBatches(IterableDataset):
    """An endless stream of ready batches mixing synthetic and real crops.

    Each batch is all words or all lines (so padding stays small). Each worker
    renders whole batches; a batch is a dict with ``image`` (N, 1, H, W) float32
    normalised as the runtime does, ``targets`` (sum of label lengths,),
    ``target_lengths`` and ``input_lengths`` (N,), ``caseless`` (N,) bool, and ``texts``.
    """

    def __init__(self, config: TrainConfig, real: list[Item], seed: int):
        self.config = config
        self.real_words = [it for it in real if not it.is_line]
        self.real_lines = [it for it in real if it.is_line]
        self.seed = seed
        self.spec = config.input_spec()
        self.index = {c: i + 1 for i, c in enumerate(config.charset)}
        self.failures = 0

    def _setup(self, rng: random.Random) -> None:
        fonts = find_fonts([self.config.fonts_dir]) if self.config.fonts_dir else find_fonts()
        self.renderer = SyntheticRenderer(fonts, rng)
        words = load_words(self.config.words_file)
        self.sampler = TextSampler(words, rng)
        self.augment = real_augmentations(rng.getrandbits(32))
        if self.config.handwriting_ratio > 0:
            hand_dir = self.config.handwriting_fonts_dir
            hands = training_hands([hand_dir]) if hand_dir else training_hands()
            self.hand_renderer = HandwritingRenderer(hands, fonts, rng)
            self.hand_sampler = HandwritingText(words, load_names(self.config.names_file), rng)

    def synthetic(self, rng: random.Random, line: bool) -> tuple[np.ndarray, str]:
        """(grey crop, label) from the handwriting renderer (``handwriting_ratio`` of the time) or the printed one."""
        if self.config.handwriting_ratio > 0 and rng.random() < self.config.handwriting_ratio:
            sampler, renderer = self.hand_sampler, self.hand_renderer
        else:
            sampler, renderer = self.sampler, self.renderer
        text = sampler.line(self.config.max_line_chars) if line else sampler.single()
        return renderer.render(text), text

    def _sample(self, rng: random.Random, line: bool) -> tuple[np.ndarray, str, bool]:
        """(grey crop, label, caseless) from the real pool or the renderer."""
        pool = self.real_lines if line else self.real_words
        if pool and rng.random() < self.config.real_ratio:
            item = rng.choice(pool)
            return self.augment(image=item.load())["image"], item.text, item.caseless
        return *self.synthetic(rng, line), False

    def make_batch(self, rng: random.Random) -> dict:
        line = rng.random() < self.config.line_ratio
        images, texts, caseless = [], [], []
        while len(images) < self.config.batch_size:
            try:
                image, text, is_caseless = self._sample(rng, line)
            except Exception:  # one bad font or file must not kill a long run: skip and count it
                self.failures += 1
                log.exception("sample failed (%d so far); skipped", self.failures)
                continue
            resized = preprocess.resize_to_height(preprocess.to_channels(preprocess.to_float(image), 1), self.spec)
            width = resized.shape[1]
            if width > self.config.max_width or not ctc_feasible(text, preprocess.frames_for_width(width, self.spec)):
                continue
            images.append(resized)
            texts.append(text)
            caseless.append(is_caseless)
        pixels, lengths = preprocess.batch(images, self.spec)
        targets = [encode(t, self.index) for t in texts]
        return {
            "image": torch.from_numpy(pixels),
            "targets": torch.tensor([c for t in targets for c in t], dtype=torch.long),
            "target_lengths": torch.tensor([len(t) for t in targets], dtype=torch.long),
            "input_lengths": torch.from_numpy(lengths),
            "caseless": torch.tensor(caseless, dtype=torch.bool),
            "texts": texts,
        }

    def __iter__(self) -> Iterator[dict]:
        worker = get_worker_info()
        worker_id = worker.id if worker else 0
        rng = random.Random(f"{self.seed}-{worker_id}")
        self._setup(rng)
        while True:
            yield self.make_batch(rng)


def validation_batches(items: list[Item], config: TrainConfig, batch_size: int = 64) -> list[tuple[torch.Tensor, torch.Tensor, list[str]]]:
    """Fixed validation batches (sorted by width), as (pixels, input_lengths, texts)."""
    spec = config.input_spec()
    prepared = [(preprocess.prepare(it.load(), spec), it.text) for it in items]
    prepared.sort(key=lambda p: p[0].shape[1])
    batches = []
    for start in range(0, len(prepared), batch_size):
        chunk = prepared[start:start + batch_size]
        pixels, lengths = preprocess.batch([p[0] for p in chunk], spec)
        batches.append((torch.from_numpy(pixels), torch.from_numpy(lengths), [p[1] for p in chunk]))
    return batches


def synthetic_validation(config: TrainConfig, count: int, seed: int = 12345) -> list[Item]:
    """A fixed set of rendered crops (words and lines) for validation."""
    rng = random.Random(seed)
    stream = MixedBatches(config, [], seed)
    stream._setup(rng)
    items = []
    for i in range(count):
        image, text = stream.synthetic(rng, line=i % 4 == 0)
        items.append(Item(lambda image=image: image, text, f"synthetic/{i}"))
    return items
