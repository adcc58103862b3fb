"""Resolve the ``model`` argument (DESIGN §2) to an ONNX file, and the ``lexicon`` argument to words.

Rule, shared by ``Recogniser(model=...)`` and every CLI ``--model``:

- None: the bundled model ``"default"``;
- a ``pathlib.Path`` (or other ``os.PathLike``): that file;
- a str that names a bundled model (``models/<name>.onnx``): that model;
- any other str ending in ``.onnx`` or containing a path separator: a path;
- anything else: ``ValueError`` listing the bundled names.

Bundled models are the ``*.onnx`` files of the ``crnn_onnx.models`` package
data (the repository's ``models/`` folder, mapped by pyproject). In a source
checkout that is not installed, the repository's ``models/`` folder is used.

Lexicons (``Recogniser(lexicon=...)``, CLI ``--lexicon``), by the same rule:
None is no lexicon; a str that names a bundled lexicon (``crnn_onnx/lexicons/<name>.txt``,
package data beside the code, e.g. ``"en"``) is that word list; any other str containing a path separator or
ending in ``.txt``, or a ``PathLike``, is a word-list file (UTF-8, one word per
line, blank lines ignored); any other str is a ``ValueError`` listing the
bundled names; any other iterable is taken as the words themselves (each a str).
"""
from __future__ import annotations

import importlib.resources
import os
from pathlib import Path
from typing import Iterable

DEFAULT_MODEL = "default"
LEXICON_SUFFIX = ".txt"


def _source_models_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "models"


def _named_files(entries, suffix: str) -> dict[str, Path]:
    """Name (the file name less ``suffix``) -> file, for the files among ``entries`` that end in ``suffix``."""
    return {e.name[:-len(suffix)]: Path(str(e)) for e in sorted(entries, key=lambda e: e.name)
            if e.name.endswith(suffix) and e.is_file()}


def bundled_models() -> dict[str, Path]:
    """Bundled model name -> file, from the installed package data or the source checkout's ``models/``."""
    try:
        entries = list(importlib.resources.files("crnn_onnx.models").iterdir())
    except ModuleNotFoundError:  # a source checkout that is not installed
        folder = _source_models_dir()
        entries = list(folder.iterdir()) if folder.is_dir() else []
    return _named_files(entries, ".onnx")


def bundled_lexicons() -> dict[str, Path]:
    """Bundled lexicon name -> word-list file (``crnn_onnx/lexicons/<name>.txt``)."""
    folder = importlib.resources.files("crnn_onnx").joinpath("lexicons")
    return _named_files(folder.iterdir() if folder.is_dir() else [], LEXICON_SUFFIX)


def _looks_like_path(text: str, suffix: str = ".onnx") -> bool:
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return text.lower().endswith(suffix) or any(sep in text for sep in separators)


def resolve_model(model: str | os.PathLike | None) -> Path:
    """The ONNX file that ``model`` names, by the rule in this module's docstring.

    Raises ``ValueError`` for an unknown name and ``FileNotFoundError`` for a
    path, or a bundled default, that does not exist.
    """
    if model is None:
        model = DEFAULT_MODEL
    if isinstance(model, os.PathLike):
        path = Path(model)
    elif isinstance(model, str):
        bundled = bundled_models()
        if model in bundled:
            return bundled[model]
        if not _looks_like_path(model):
            if model == DEFAULT_MODEL:
                raise FileNotFoundError(f"the bundled default model is missing: no {DEFAULT_MODEL}.onnx "
                                        "among the package's models")
            known = ", ".join(repr(n) for n in bundled) or "none installed"
            raise ValueError(f"unknown model {model!r}: not a bundled model (known: {known}) and not a path "
                             "(a path ends in '.onnx' or contains a path separator)")
        path = Path(model)
    else:
        raise TypeError(f"model must be None, a bundled model name or a path, not {type(model).__name__}")
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {path}")
    return path


def read_word_list(path: str | os.PathLike) -> tuple[str, ...]:
    """The words of a UTF-8 file, one per line, stripped, blank lines skipped; ``ValueError`` if it has none."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"lexicon file not found: {path}")
    words = tuple(w for w in (line.strip() for line in path.read_text(encoding="utf-8").splitlines()) if w)
    if not words:
        raise ValueError(f"lexicon file {path} has no words")
    return words


def resolve_lexicon(lexicon: str | os.PathLike | Iterable[str] | None) -> tuple[str, ...] | None:
    """The words that ``lexicon`` names, by the rule in this module's docstring (None stays None)."""
    if lexicon is None:
        return None
    if isinstance(lexicon, os.PathLike):
        return read_word_list(lexicon)
    if isinstance(lexicon, str):
        bundled = bundled_lexicons()
        if lexicon in bundled:
            return read_word_list(bundled[lexicon])
        if _looks_like_path(lexicon, LEXICON_SUFFIX):
            return read_word_list(lexicon)
        known = ", ".join(repr(n) for n in bundled) or "none installed"
        raise ValueError(f"unknown lexicon {lexicon!r}: not a bundled lexicon (known: {known}) and not a word-list "
                         "file (a path ends in '.txt' or contains a path separator); pass a list for your own words")
    words = tuple(lexicon)
    for index, word in enumerate(words):
        if not isinstance(word, str):
            raise TypeError(f"lexicon word {index} is a {type(word).__name__}, not a str: {word!r}")
    if not any(word.strip() for word in words):
        raise ValueError("the lexicon has no words (pass lexicon=None to read without one)")
    return words
