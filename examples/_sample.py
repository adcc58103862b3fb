"""A synthetic page for the examples when no image is given (large clear words, one of them tilted)."""
from __future__ import annotations

import cv2
import numpy as np


def sample_page() -> np.ndarray:
    """A white 480x800 BGR page with three lines of text."""
    page = np.full((480, 800, 3), 255, np.uint8)
    cv2.putText(page, "INVOICE 2026-11", (60, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(page, "Total due: 42.00", (60, 220), cv2.FONT_HERSHEY_DUPLEX, 1.4, (30, 30, 30), 3, cv2.LINE_AA)
    line = np.full((70, 420, 3), 255, np.uint8)
    cv2.putText(line, "Thank you", (10, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (0, 0, 0), 3, cv2.LINE_AA)
    matrix = cv2.getRotationMatrix2D((210, 35), 8, 1.0)  # tilted by 8 degrees
    tilted = cv2.warpAffine(line, matrix, (420, 70), borderValue=(255, 255, 255))
    page[330:400, 200:620] = np.minimum(page[330:400, 200:620], tilted)
    return page


def load(path: str | None) -> np.ndarray:
    """The image at ``path`` (BGR), or the sample page."""
    if path is None:
        return sample_page()
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"cannot read {path}")
    return image
