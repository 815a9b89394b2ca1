"""Still images in and out: any depth or channel count in, RGB uint8 out; PNG writes."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from facetwin.errors import InputNotFoundError, TooManyPixelsError, UnreadableMediaError
from facetwin.io.atomic import atomic_write_bytes

__all__ = [
    "IMAGE_SUFFIXES",
    "DEFAULT_MAX_PIXELS",
    "max_pixels",
    "set_max_pixels",
    "check_pixels",
    "check_image_header",
    "read_image",
    "to_rgb8",
    "encode_png",
    "write_png",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".jp2", ".pgm", ".ppm")

# 64 megapixels holds 8K video (33 MP) and photos of every camera up to 61 MP. A
# 0.9 MB PNG can promise 30000x30000 pixels: decoding it took 5.5 GB in extract, and a
# 144 MP JPEG 7.3 GB in convert, so the header is read and checked before decoding.
DEFAULT_MAX_PIXELS = 64_000_000
_max_pixels = DEFAULT_MAX_PIXELS


def max_pixels() -> int:
    """The largest width x height any image or video frame may have before it is decoded."""
    return _max_pixels


def set_max_pixels(limit: int) -> None:
    """Set the pixel limit for this process.

    A process-wide guard like Pillow's ``Image.MAX_IMAGE_PIXELS``: images are decoded in
    extract, convert, verify, evaluate, the dataset runner and the web UI, several
    layers below any config, and a guard passed down every one of them would be a field
    in five configs that nobody sets.
    """
    global _max_pixels
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValueError(f"the pixel limit must be a positive whole number, got {limit!r}")
    _max_pixels = limit


def check_pixels(path: str | Path, width: int, height: int) -> None:
    """Refuse a picture of ``width`` x ``height`` over the limit, before it is decoded."""
    if width * height > _max_pixels:
        raise TooManyPixelsError(path, width * height, _max_pixels, (width, height))


def check_image_header(path: str | Path) -> None:
    """Refuse an image file whose header promises more pixels than the limit.

    Pillow reads only the header here. Files it can't identify pass on to OpenCV, which
    refuses anything over a gigapixel by itself.
    """
    try:
        with warnings.catch_warnings():
            # Pillow's own guard warns at 89 MP and raises at twice that; ours decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                width, height = image.size
    except Image.DecompressionBombError as exc:
        match = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(match.group(1)) if match else 2 * (Image.MAX_IMAGE_PIXELS or 0) + 1
        if pixels > _max_pixels:
            raise TooManyPixelsError(path, pixels, _max_pixels) from None
        return  # over Pillow's limit but under a raised one of ours: OpenCV decodes it
    except Exception:  # damaged or not an image: read_image's decode says so in its own words
        return
    check_pixels(path, width, height)


def to_rgb8(image: np.ndarray, *, order: str = "BGR") -> np.ndarray:
    """Any decoded image (grey, grey+alpha, 3 or 4 channels, 8/16-bit, float) -> RGB uint8.

    Args:
        image: (H, W) or (H, W, C) array as OpenCV decodes it.
        order: channel order of colour input, "BGR" (OpenCV) or "RGB".

    Alpha is dropped rather than composited: detection and landmarks need the face's
    own pixels, and a transparent background has no colour worth inventing.

    >>> to_rgb8(np.full((2, 2), 65535, np.uint16))[0, 0]
    array([255, 255, 255], dtype=uint8)
    """
    if image.dtype == np.uint16:
        image = (image.astype(np.uint32) * 255 + 32767) // 65535
    elif image.dtype in (np.float32, np.float64):
        image = np.clip(image, 0.0, 1.0) * 255.0 + 0.5
    image = image.astype(np.uint8, copy=False)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2RGB)
    if channels == 2:  # grey + alpha
        return cv2.cvtColor(np.ascontiguousarray(image[:, :, 0]), cv2.COLOR_GRAY2RGB)
    image = np.ascontiguousarray(image[:, :, :3])
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB) if order == "BGR" else image


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3), EXIF orientation applied.

    Raises:
        InputNotFoundError: no such file.
        UnreadableMediaError: the file is not an image OpenCV can decode.
        TooManyPixelsError: its header promises more pixels than ``max_pixels()``.
    """
    path = Path(path)
    if not path.is_file():
        if path.is_dir():
            raise UnreadableMediaError(path, "it is a folder, not an image")
        if path.exists():  # a pipe or a device: reading one could block forever
            raise UnreadableMediaError(path, "it is not a regular file")
        raise InputNotFoundError(path)
    check_image_header(path)
    data = np.fromfile(path, dtype=np.uint8)  # works with non-ASCII paths, unlike imread
    if data.size == 0:
        raise UnreadableMediaError(path, "the file is empty")
    if data[:8].tobytes() == _PNG_SIGNATURE:
        _check_png_chunks(path, data)
    # ANYDEPTH|ANYCOLOR keeps 16-bit and grey as they are and still applies EXIF
    # orientation, which IMREAD_UNCHANGED would skip.
    image = cv2.imdecode(data, cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR)
    if image is None:
        raise UnreadableMediaError(path, "not a supported image format, or the file is damaged")
    return to_rgb8(image)


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _check_png_chunks(path: Path, data: np.ndarray) -> None:
    """Refuse a truncated PNG, or one with a damaged chunk, before libpng sees it.

    libpng prints such damage to the process's stderr from C ("libpng error: ...")
    before OpenCV returns its failure, a second line beside facetwin's own. Pillow's
    ``verify`` walks the chunks and their CRCs without decoding any pixels.
    """
    import io

    try:
        with Image.open(io.BytesIO(data.tobytes())) as image:
            image.verify()
    except Image.DecompressionBombError:
        return  # size is check_image_header's business, already done
    except Exception as exc:
        reason = str(exc).strip().rstrip(".") or type(exc).__name__
        raise UnreadableMediaError(path, f"the PNG is damaged or truncated ({reason})") from None


def encode_png(image: np.ndarray, *, compression: int = 1) -> bytes:
    """Encode RGB uint8 (H, W, 3) as PNG bytes (lossless at any compression level)."""
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    params = [cv2.IMWRITE_PNG_COMPRESSION, compression]
    if compression == 1:
        # Paeth prediction + Huffman coding without match search: on 256 px face crops
        # 2.1 ms and 71 KB, against 3.9 ms and 85 KB for zlib level 1 with adaptive
        # filters (trying every filter per row buys nothing here).
        params += [
            cv2.IMWRITE_PNG_STRATEGY,
            cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY,
            cv2.IMWRITE_PNG_FILTER,
            cv2.IMWRITE_PNG_FILTER_PAETH,
        ]
    ok, buf = cv2.imencode(".png", bgr, params)
    if not ok:
        raise OSError("PNG encoding failed")
    return buf.tobytes()


def write_png(path: str | Path, image: np.ndarray, *, compression: int = 1) -> None:
    """Write RGB uint8 as PNG atomically. Level 1 (Huffman only) is ~6x faster than 6 at the same size."""
    atomic_write_bytes(path, encode_png(image, compression=compression))
