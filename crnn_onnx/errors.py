"""Exceptions raised by the runtime: bad input images and malformed models."""
from __future__ import annotations


class InvalidImageError(ValueError):
    """A crop cannot be read: empty, wrong shape or dtype, NaN/inf, or an unreadable file.

    ``index`` is the position of the offending item in a batch call, or None for
    a single crop; it is also part of the message.
    """

    def __init__(self, reason: str, index: int | None = None):
        self.reason = reason
        self.index = index
        prefix = f"item {index}: " if index is not None else ""
        super().__init__(prefix + reason)

    def at(self, index: int) -> "InvalidImageError":
        """The same error, re-labelled with the batch index of the item."""
        return InvalidImageError(self.reason, index)


class ModelFormatError(ValueError):
    """An ONNX file is not a valid native crnn-onnx model (DESIGN §3); the message names the key or mismatch."""
