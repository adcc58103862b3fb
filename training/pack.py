"""Pack what training needs into one small folder that can travel to a GPU machine.

``python -m training.pack --out pack --real ../shared/train/iiit5k_train ...`` writes:

- ``fonts/``: every usable font (see :mod:`training.fonts`), subset with fontTools
  to printable ASCII (about 30 KB each instead of ~300 KB);
- ``handwriting_fonts/``: the handwriting fonts (see :mod:`training.handwriting`), subset the same way;
- ``words.txt``: the word list (wordfreq's English top N);
- ``names.txt``: name-like words for handwriting labels (wordfreq's French list, accents stripped);
- ``real/<set>.tar.gz``: each real crop set re-encoded as grey JPEG (``--quality``) at most
  ``--max-height`` px tall (under its original file names, so validation keys match), as a
  gzipped tar shard (gzip removes tar's 512-byte padding, which doubles small crops' size).

A lent GPU receives at most 64 MiB per call, the tracked files (both bundled models, ~33 MiB)
included: the defaults (height 32, the model's input height; quality 80) keep all seven real
sets near 20 MB.
"""
from __future__ import annotations

import argparse
import shutil
import tarfile
from pathlib import Path

import cv2
from fontTools import subset

from crnn_onnx.labels import read_labels

from .fonts import find_fonts
from .handwriting import find_handwriting_fonts, load_names
from .text import load_words


def subset_font(src: Path, dst: Path) -> None:
    options = subset.Options()
    options.layout_features = ["kern", "liga"]
    options.name_IDs = []
    options.notdef_outline = True
    font = subset.load_font(str(src), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=range(0x20, 0x7F))
    subsetter.subset(font)
    subset.save_font(font, str(dst.with_suffix(".ttf" if font.sfntVersion == "\0\1\0\0" else ".otf")), options)


def pack_real(folder: Path, dst: Path, max_height: int, quality: int = 80) -> int:
    """Write ``dst``.tar.gz from the crop set in ``folder``; returns the number of crops."""
    (dst / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for path, text in read_labels(folder / "labels.tsv"):
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            continue
        if image.shape[0] > max_height:
            scale = max_height / image.shape[0]
            image = cv2.resize(image, (max(1, round(image.shape[1] * scale)), max_height), interpolation=cv2.INTER_AREA)
        name = str(path.relative_to(folder))  # same key as the source, so the validation slice matches
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        (dst / name).write_bytes(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes())
        lines.append(f"{name}\t{text}")
    (dst / "labels.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with tarfile.open(dst.with_name(dst.name + ".tar.gz"), "w:gz", format=tarfile.GNU_FORMAT) as tar:
        for name in ["labels.tsv"] + [line.split("\t", 1)[0] for line in lines]:
            tar.add(dst / name, arcname=name)
    shutil.rmtree(dst)
    return len(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--real", type=Path, nargs="*", default=[])
    parser.add_argument("--max-height", type=int, default=32)
    parser.add_argument("--quality", type=int, default=80, help="JPEG quality of the real crops")
    parser.add_argument("--words", type=int, default=80_000)
    args = parser.parse_args(argv)
    fonts_dir = args.out / "fonts"
    fonts_dir.mkdir(parents=True, exist_ok=True)
    for index, font in enumerate(find_fonts()):
        subset_font(font, fonts_dir / f"{index:03d}_{font.stem}")
    hand_dir = args.out / "handwriting_fonts"
    hand_dir.mkdir(parents=True, exist_ok=True)
    for index, font in enumerate(find_handwriting_fonts()):
        subset_font(Path(font.path), hand_dir / f"{index:03d}_{Path(font.path).stem}")
    (args.out / "names.txt").write_text("\n".join(load_names()) + "\n", encoding="utf-8")
    (args.out / "words.txt").write_text("\n".join(load_words(None, args.words)) + "\n", encoding="utf-8")
    for folder in args.real:
        count = pack_real(folder, args.out / "real" / folder.name, args.max_height, args.quality)
        print(f"{folder.name}: {count} crops")


if __name__ == "__main__":
    main()
