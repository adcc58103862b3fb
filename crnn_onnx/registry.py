"""Resolve the ``model`` argument (DESIGN §2) to an ONNX file.

Rule, shared by ``Recogniser(model=...)`` and every CLI ``--model``:

- None: the bundled model ``"default"``;
- a ``pathlib.Path`` (or other ``os.PathLike``): that file;
- a str that names a bundled model (``models/<name>.onnx``): that model;
- any other str ending in ``.onnx`` or containing a path separator: a path;
- anything else: ``ValueError`` listing the bundled names.

Bundled models are the ``*.onnx`` files of the ``crnn_onnx.models`` package
data (the repository's ``models/`` folder, mapped by pyproject). In a source
checkout that is not installed, the repository's ``models/`` folder is used.
"""
from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

DEFAULT_MODEL = "default"


def _source_models_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "models"


def bundled_models() -> dict[str, Path]:
    """Bundled model name -> file, from the installed package data or the source checkout's ``models/``."""
    try:
        entries = list(importlib.resources.files("crnn_onnx.models").iterdir())
    except ModuleNotFoundError:  # a source checkout that is not installed
        folder = _source_models_dir()
        entries = list(folder.iterdir()) if folder.is_dir() else []
    return {Path(e.name).stem: Path(str(e)) for e in sorted(entries, key=lambda e: e.name)
            if e.name.endswith(".onnx") and e.is_file()}


def _looks_like_path(text: str) -> bool:
    separators = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return text.lower().endswith(".onnx") or any(sep in text for sep in separators)


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
