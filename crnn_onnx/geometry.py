"""Quads to upright crops (DESIGN §6): vertex ordering, perspective warp, tall-crop rotation.

Coordinates are image pixels, x to the right and y down. A quad is four (x, y)
points; "clockwise" means clockwise as seen on screen (top-left, top-right,
bottom-right, bottom-left).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .errors import InvalidImageError

#: A crop whose height / width is at least this is "tall" and may be read rotated (DESIGN §2).
TALL_RATIO = 1.5
#: A detector's own vertex order is kept when its first edge is within this angle of +x.
TRUSTED_TOP_EDGE_DEG = 60.0


def _as_quad(quad) -> np.ndarray:
    points = np.asarray(quad, dtype=np.float64)
    if points.shape != (4, 2):
        raise InvalidImageError(f"a quad must be 4 (x, y) points, got shape {points.shape}")
    if not np.isfinite(points).all():
        raise InvalidImageError("quad has NaN or inf coordinates")
    return points


def _signed_area(points: np.ndarray) -> float:
    """Shoelace area; positive for a clockwise order on screen (y down)."""
    x, y = points[:, 0], points[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))


def _is_convex_clockwise(points: np.ndarray) -> bool:
    edges = np.roll(points, -1, axis=0) - points
    turns = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    return bool((turns > 0).all())


def _edge_angle_deg(points: np.ndarray) -> float:
    dx, dy = points[1] - points[0]
    return math.degrees(math.atan2(dy, dx))


def order_quad(quad) -> np.ndarray:
    """The quad's vertices as float32 (4, 2), clockwise from the top-left.

    A given order is trusted when it is already a convex clockwise order whose
    first edge points right (within ``TRUSTED_TOP_EDGE_DEG`` of +x), so a
    detector that knows the reading direction of a steeply slanted box keeps
    it. Otherwise the points are ordered by geometry: sorted by angle around
    their centroid (which also untangles self-crossing orders), made
    clockwise, and started at the vertex whose outgoing edge is closest to
    horizontal-rightwards, i.e. the most upright reading of the box. Upright
    by geometry keeps a vertical box tall; the tall-crop rule decides its
    rotation. Ordering never depends on x alone, so slanted boxes keep their
    top edge on top.
    """
    points = _as_quad(quad)
    if _is_convex_clockwise(points) and abs(_edge_angle_deg(points)) <= TRUSTED_TOP_EDGE_DEG:
        return points.astype(np.float32)
    centre = points.mean(axis=0)
    angles = np.arctan2(points[:, 1] - centre[1], points[:, 0] - centre[0])
    cycle = points[np.argsort(angles, kind="stable")]  # increasing angle = clockwise on screen
    if _signed_area(cycle) < 0:
        cycle = cycle[::-1]
    starts = [np.roll(cycle, -k, axis=0) for k in range(4)]
    # Closest to horizontal first; on a tie (a 45-degree diamond) the start nearer the top-left.
    best = min(starts, key=lambda p: (round(abs(_edge_angle_deg(p)), 6), float(p[0].sum())))
    return best.astype(np.float32)


def crop_quad(image: np.ndarray, quad, order: bool = True) -> np.ndarray:
    """Warp the quad's region of ``image`` to an upright rectangle; borders are replicated.

    ``image`` is an H×W or H×W×C array (uint8 or float32). The output width is
    the longer of the top and bottom edges, the height the longer of the left
    and right edges (rounded, at least 1 pixel). With ``order=False`` the quad
    must already be clockwise from the top-left. Raises
    :class:`InvalidImageError` for a malformed or zero-area quad.
    """
    points = order_quad(quad) if order else _as_quad(quad).astype(np.float32)
    top, bottom = np.linalg.norm(points[1] - points[0]), np.linalg.norm(points[2] - points[3])
    left, right = np.linalg.norm(points[3] - points[0]), np.linalg.norm(points[2] - points[1])
    if abs(_signed_area(points.astype(np.float64))) < 0.5 or max(top, bottom) < 0.5 or max(left, right) < 0.5:
        raise InvalidImageError(f"quad has (nearly) zero area: {points.tolist()}")
    width, height = max(1, int(round(max(top, bottom)))), max(1, int(round(max(left, right))))
    target = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(points, target)
    return cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE)


def is_tall(image: np.ndarray) -> bool:
    """True when height / width >= ``TALL_RATIO`` (such crops may hold vertical text)."""
    height, width = image.shape[:2]
    return height >= TALL_RATIO * width


def upright_candidates(image: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Readings to try for a crop, as (image, degrees rotated clockwise).

    A tall crop gives itself, rotated 90 degrees clockwise, and rotated 90
    degrees counter-clockwise (-90), in that order; any other crop gives only
    itself. Wide crops are never rotated.
    """
    if not is_tall(image):
        return [(image, 0)]
    return [(image, 0), (cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE), 90),
            (cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE), -90)]
