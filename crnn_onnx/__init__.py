"""crnn-onnx: a CRNN text recogniser served from ONNX with NumPy, onnxruntime and OpenCV only.

``Recogniser().read(crop)`` returns a :class:`Prediction` (text, confidence,
per-character confidences and pixel spans). See DESIGN §2 for the contract.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version

from . import errors
from .errors import InvalidImageError, ModelFormatError
from .recogniser import Prediction, Recogniser

try:
    __version__ = _version("crnn-onnx")
except PackageNotFoundError:  # a source checkout that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["Recogniser", "Prediction", "errors", "InvalidImageError", "ModelFormatError", "__version__"]
