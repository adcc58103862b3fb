"""The one preprocessing shared by the runtime and training (DESIGN §4).

Steps: coerce any accepted crop to float32 in [0, 1]; when the model declares
``margins``, cut blank margins wider than those down to them
(:func:`trim_margins`); convert to grey or RGB as the model asks; resize to the
model's input height keeping the aspect ratio (:func:`fit` does these three;
area interpolation when shrinking, cubic when enlarging; width at least
``min_width``); pad on the right with ``pad_value`` to the crop's width bucket
(:func:`padded_width`, a multiple of ``width_stride``; a batch holds one
bucket); normalise with ``(x - mean) / std``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np

from .errors import InvalidImageError


#: A row or column holds text when its strongest edge reaches this share of the crop's
#: 95th-percentile row or column (:func:`text_box`): low enough for a full stop or a faint
#: stroke, high enough that JPEG noise and paper grain on blank margins stay out.
EDGE_SHARE = 0.3
#: :func:`text_box` looks for the text on a copy at most this many rows high: the model's scale.
TEXT_BOX_HEIGHT = 32
#: :func:`text_box`'s reference is the profile's 95th percentile, but never an entry further down
#: than this many from the top: a short word in a very wide blank crop still sets it.
REFERENCE_RANK = 16
#: Bounds of :func:`text_box` this close to the crop's edge (pixels of the shrunk copy, the
#: filters' reach, where the edge filter sees nothing) are moved onto the edge.
EDGE_REACH = 2


@dataclass(frozen=True)
class Margins:
    """The widest blank margins a model reads well, as fractions of the text's height:
    ``side`` left and right, ``top_bottom`` above and below (:func:`trim_margins`).
    Each is a finite number in [0, 100); anything else raises ValueError."""

    side: float
    top_bottom: float

    def __post_init__(self):
        for name in ("side", "top_bottom"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 100:
                raise ValueError(f"margins {name} must be a number in [0, 100), not {value!r}")


@dataclass(frozen=True)
class InputSpec:
    """What the network expects: the preprocessing half of the model metadata."""

    input_height: int = 32
    input_channels: int = 1
    mean: tuple[float, ...] = (0.5,)
    std: tuple[float, ...] = (0.5,)
    pad_value: float = 0.5
    width_stride: int = 4
    min_width: int = 8
    margins: Margins | None = None  #: None: crops are read with their margins as given


#: The widest crop the network reads, as width over height (about 1,000 characters on one line):
#: a wider one is a sliver, not a line of text, and at the model's height onnxruntime would
#: allocate gigabytes for it.
MAX_ASPECT = 1000
#: The first bytes of every JPEG file: a format that never has alpha.
JPEG_MAGIC = b"\xff\xd8\xff"
#: PIL modes of 16-bit grey images (what ``Image.open`` gives for a 16-bit PNG).
_PIL_16_BIT = ("I;16", "I;16L", "I;16B", "I;16N")


def _from_path(path: Path) -> np.ndarray:
    """A file as OpenCV decodes it (grey, BGR or BGRA; uint8 or uint16), turned upright by its EXIF
    orientation as ``cv2.imread`` and image viewers show it; an image with alpha keeps its alpha and
    is read as stored (OpenCV cannot do both)."""
    if not path.is_file():
        raise InvalidImageError(f"file not found: {path}")
    data = np.fromfile(str(path), dtype=np.uint8)
    if data.size and data[:len(JPEG_MAGIC)].tobytes() != JPEG_MAGIC:  # a format that may have alpha
        stored = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        if stored is not None and stored.ndim == 3 and stored.shape[2] == 4:
            return stored
    image = cv2.imdecode(data, cv2.IMREAD_ANYCOLOR | cv2.IMREAD_ANYDEPTH) if data.size else None
    if image is None:
        raise InvalidImageError(f"unreadable image file: {path}")
    return image


def _from_pil(image: Any) -> np.ndarray:
    """A PIL image as grey, BGR or BGRA: uint16 for 16-bit grey (modes ``I;16*``); for the
    integer mode ``I``, uint8 when its values fit in [0, 255] (``convert("I")`` of an 8-bit image)
    and uint16 when they fit in [0, 65535]; for the float mode ``F``, float32 in [0, 1] as given
    or, when its values exceed 1, on PIL's 0-255 scale (``convert("F")``); uint8 otherwise.
    Transparency (an alpha band or a palette's transparent colour) is kept as alpha."""
    if image.mode in _PIL_16_BIT:
        return np.asarray(image).astype(np.uint16)
    if image.mode == "F":
        values = np.asarray(image, dtype=np.float32)
        top = float(values.max()) if values.size else 0.0
        if top > 255:
            raise InvalidImageError("PIL mode 'F' image values must lie in [0, 1] or PIL's [0, 255]")
        return values / np.float32(255 if top > 1 else 1)
    if image.mode == "I":
        values = np.asarray(image)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise InvalidImageError("PIL mode 'I' image values must lie in [0, 255] (8-bit) or [0, 65535] (16-bit)")
        return values.astype(np.uint8 if not values.size or values.max() <= 255 else np.uint16)
    if image.mode not in ("L", "RGB", "RGBA"):
        transparent = "A" in image.getbands() or "transparency" in image.info
        image = image.convert("RGBA" if transparent else "RGB")
    array = np.asarray(image)
    if array.ndim == 3:  # PIL is RGB(A): reorder to BGR(A) like everything else here
        array = array[..., [2, 1, 0, 3][: array.shape[2]]]
    return array


def to_float(crop: Any, channel_order: str = "bgr") -> np.ndarray:
    """Any accepted crop as a float32 array in [0, 1], shaped H×W (grey) or H×W×3 (BGR).

    Accepts NumPy uint8, uint16 (scaled by 1/65535) or float in [0, 1] (H×W,
    H×W×1, H×W×3, H×W×4), a PIL image (:func:`_from_pil`), or a str/Path
    (:func:`_from_path`). ``channel_order`` ("bgr" or "rgb") applies to NumPy
    colour arrays only. Alpha is composited on white. Raises
    :class:`InvalidImageError` with the reason.
    """
    if channel_order not in ("bgr", "rgb"):
        raise ValueError(f"channel_order must be 'bgr' or 'rgb', not {channel_order!r}")
    if isinstance(crop, (str, Path)):
        array, order = _from_path(Path(crop)), "bgr"
    elif hasattr(crop, "mode") and hasattr(crop, "getbands"):
        array, order = _from_pil(crop), "bgr"
    elif isinstance(crop, np.ndarray):
        array, order = crop, channel_order
    else:
        raise InvalidImageError(f"unsupported crop type {type(crop).__name__}; "
                                "expected a NumPy array, a PIL image or a path")
    if array.ndim not in (2, 3):
        raise InvalidImageError(f"image must be H×W or H×W×C, got {array.ndim} dimensions {array.shape}")
    if array.ndim == 3 and array.shape[2] not in (1, 3, 4):
        raise InvalidImageError(f"image must have 1, 3 or 4 channels, got {array.shape[2]}")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidImageError(f"image is empty (shape {array.shape})")
    if array.dtype == np.uint8:
        image = array.astype(np.float32) * np.float32(1 / 255)
    elif array.dtype.kind == "u" and array.dtype.itemsize == 2:  # uint16, either byte order
        image = array.astype(np.float32) * np.float32(1 / 65535)
    elif array.dtype in (np.float32, np.float64, np.float16):
        if not np.isfinite(array).all():
            raise InvalidImageError("image contains NaN or inf")
        if array.min() < 0.0 or array.max() > 1.0:
            raise InvalidImageError("float image values must lie in [0, 1]")
        image = array.astype(np.float32)
    else:
        raise InvalidImageError(f"unsupported dtype {array.dtype}; use uint8, uint16 or float in [0, 1]")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 3:
        if image.shape[2] == 4:  # composite on white, the usual page background
            alpha = image[..., 3:4]
            image = image[..., :3] * alpha + (1.0 - alpha)
        if order == "rgb":
            image = image[..., ::-1]
    return np.ascontiguousarray(image)


def to_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """A float H×W or H×W×3 (BGR) image as H×W×``channels`` (grey, or RGB for 3)."""
    if channels == 1:
        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        return grey[..., None]
    if channels == 3:
        bgr = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        return np.ascontiguousarray(bgr[..., ::-1])
    raise ValueError(f"unsupported channel count {channels}")


def text_box(image: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right), half-open pixel bounds of the text in a float H×W or H×W×C image.

    Found on a float32 copy shrunk to :data:`TEXT_BOX_HEIGHT` rows (area
    interpolation; a blurred large crop is sharp there) from its vertical
    edges, the sides of strokes: the horizontal 3×3 Sobel of the blurred image
    in each colour channel, the strongest channel kept (red letters on black
    have their edges in red). Text rows are those whose strongest edge reaches
    :data:`EDGE_SHARE` of the reference row's (:func:`_span`); text columns
    likewise, over the text rows. A border, rule or underline, with horizontal
    edges only, neither sets the reference nor counts as text. Bounds within
    :data:`EDGE_REACH` of the crop's edge are moved onto it (ink touching the
    edge has no outer edge to find), and all are mapped back outward to whole
    pixels. A crop with no edges at all (blank), or under 3 pixels either way,
    is all text. Meant for text spanning a third or more of the crop's height,
    as in a detector's box: much smaller text in a tall crop is looked for at
    the shrunk copy's resolution, where its strokes blur together.
    """
    height, width = image.shape[:2]
    if height < 3 or width < 3:
        return 0, height, 0, width
    scale = min(1.0, TEXT_BOX_HEIGHT / height)
    small = np.asarray(image, np.float32)
    if scale < 1.0:
        small = cv2.resize(small, (max(3, round(width * scale)), TEXT_BOX_HEIGHT), interpolation=cv2.INTER_AREA)
    sides = np.abs(cv2.Sobel(cv2.GaussianBlur(small, (3, 3), 0), cv2.CV_32F, 1, 0))  # the sides of strokes
    if sides.ndim == 3:
        sides = sides.max(axis=2)
    top, bottom = _span(sides.max(axis=1))
    left, right = _span(sides[top:bottom].max(axis=0))
    rows, columns = sides.shape
    top, left = (0 if v <= EDGE_REACH else v for v in (top, left))
    bottom, right = (n if v >= n - EDGE_REACH else v for v, n in ((bottom, rows), (right, columns)))
    return (int(top * height / rows), min(height, math.ceil(bottom * height / rows)),
            int(left * width / columns), min(width, math.ceil(right * width / columns)))


def _span(profile: np.ndarray) -> tuple[int, int]:
    """Half-open bounds of the entries reaching EDGE_SHARE of the reference: the profile's 95th
    percentile, or its REFERENCE_RANK-th largest entry when that is higher."""
    rank = min(REFERENCE_RANK, len(profile))
    reference = max(np.percentile(profile, 95), np.partition(profile, -rank)[-rank])
    on = np.flatnonzero(profile >= EDGE_SHARE * reference) if reference > 0 else np.empty(0, int)
    return (int(on[0]), int(on[-1]) + 1) if on.size else (0, len(profile))


def trim_margins(image: np.ndarray, margins: Margins) -> tuple[np.ndarray, int]:
    """``image`` with its blank margins cut down to at most ``margins`` × the text's height
    (:func:`text_box`), and the number of columns cut on the left (to map positions back).

    Narrower margins are kept as they are; nothing inside the text box is cut. A
    model misreads crops framed much looser than it was trained on (a stray copy
    of the first letter in a wide left margin, small letters under tall
    margins), which a detector's generous boxes produce.
    """
    top, bottom, left, right = text_box(image)
    text_height = bottom - top
    side = int(round(margins.side * text_height))
    above = int(round(margins.top_bottom * text_height))
    x0, y0 = max(0, left - side), max(0, top - above)
    return image[y0:bottom + above, x0:right + side], x0


def fit(image: np.ndarray, spec: InputSpec, margins: Margins | None) -> tuple[np.ndarray, int, int]:
    """A float crop as the network reads it: cut to ``margins`` (None: as given), converted
    to the model's channels and resized. Returns (resized H×W×C, the width read, the columns
    cut on the left): the last two map the network's frames back to the crop's columns.
    A crop over :data:`MAX_ASPECT` times as wide as it is high raises :class:`InvalidImageError`."""
    height, width = image.shape[:2]
    if width > MAX_ASPECT * height:
        raise InvalidImageError(f"crop of {width}×{height} pixels is over {MAX_ASPECT} times as wide as it is high: "
                                "not one line of text")
    offset = 0
    if margins is not None:
        image, offset = trim_margins(image, margins)
    return resize_to_height(to_channels(image, spec.input_channels), spec), image.shape[1], offset


def resize_to_height(image: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Resize H×W×C to ``spec.input_height`` keeping the aspect ratio; width ≥ ``min_width``.

    Area interpolation when shrinking, cubic when enlarging (clipped to [0, 1]).
    """
    height, width = image.shape[:2]
    target_h = spec.input_height
    target_w = max(spec.min_width, int(round(width * target_h / height)))
    interpolation = cv2.INTER_AREA if height > target_h else cv2.INTER_CUBIC
    resized = cv2.resize(image, (target_w, target_h), interpolation=interpolation)
    if resized.ndim == 2:
        resized = resized[..., None]
    return np.clip(resized, 0.0, 1.0) if interpolation == cv2.INTER_CUBIC else resized


def prepare(crop: Any, spec: InputSpec, channel_order: str = "bgr") -> np.ndarray:
    """One crop as a resized float32 H×W×C array in [0, 1], ready for :func:`batch`."""
    return fit(to_float(crop, channel_order), spec, spec.margins)[0]


def frames_for_width(width: int, spec: InputSpec) -> int:
    """Output frames T for an input of ``width`` pixels (DESIGN §1: ceil(W / stride))."""
    return math.ceil(max(width, spec.min_width) / spec.width_stride)


def padded_width(width: int, spec: InputSpec) -> int:
    """The width a resized crop of ``width`` pixels is padded to: its width bucket.

    Buckets are multiples of 4 strides (16 px for stride 4) up to 256 px, of 16
    strides up to 1024 px, and of 64 strides beyond. A crop is always padded to
    its own bucket, alone or in a batch, and batches hold one bucket, so the
    network sees the same pixels either way: ``read_batch`` equals ``read``.
    """
    stride = spec.width_stride
    step = stride * (4 if width <= 256 else 16 if width <= 1024 else 64)
    return max(spec.min_width, -(-width // step) * step)


def batch(images: Sequence[np.ndarray], spec: InputSpec) -> tuple[np.ndarray, np.ndarray]:
    """Stack resized crops into a normalised float32 (N, C, H, W) array.

    Pads on the right with ``pad_value`` to the largest :func:`padded_width` of
    the crops (a multiple of ``width_stride``). Returns the array and each row's
    valid frames.
    """
    widths = [image.shape[1] for image in images]
    batch_w = max(padded_width(w, spec) for w in widths)
    out = np.empty((len(images), spec.input_channels, spec.input_height, batch_w), np.float32)
    for channel, (mean, std) in enumerate(zip(spec.mean, spec.std)):
        plane = out[:, channel]  # a view: filled and normalised in place, one pass per channel
        plane[...] = np.float32(spec.pad_value) - np.float32(mean)  # float32 arithmetic, as the crops get
        for row, image in enumerate(images):
            np.subtract(image[:, :, channel], mean, out=plane[row, :, : image.shape[1]])
        plane[...] /= std
    lengths = np.array([frames_for_width(w, spec) for w in widths], dtype=np.int64)
    return out, lengths
