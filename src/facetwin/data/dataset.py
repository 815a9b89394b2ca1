"""Training faces held in memory as uint8, one set per person.

A set is an extraction folder (its alignments.json lists the crops) or any folder of
face images of one size, such as the classic pre-aligned trump/cage sets. Faces stay
uint8 (N, H, W, 3) in memory: 10,000 crops of 256 px take 1.9 GiB, and a batch is
converted to float only on the training device, inside augmentation.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from facetwin.errors import FacesetError, FacetwinError
from facetwin.io.images import IMAGE_SUFFIXES, read_image

__all__ = ["Faces", "load_faces", "match_mean_colour", "MIN_FACES"]

log = logging.getLogger(__name__)

#: Fewer faces than this cannot teach a decoder a person; they can only be memorised.
MIN_FACES = 8


@dataclass
class Faces:
    """One person's training faces.

    Attributes:
        images: uint8 (N, H, W, 3) RGB, H == W.
        names: file name of each face.
        source: the folder they came from.
    """

    images: torch.Tensor
    names: list[str]
    source: Path

    def __len__(self) -> int:
        return len(self.images)

    @property
    def size(self) -> int:
        return int(self.images.shape[1])

    def fingerprint(self) -> str:
        """sha256 (first 16 hex digits) of the pixels: identifies the data a model saw."""
        digest = hashlib.sha256()
        digest.update(str(tuple(self.images.shape)).encode())
        digest.update(self.images.numpy().tobytes())
        return digest.hexdigest()[:16]


def _list_files(folder: Path) -> list[Path]:
    alignments = folder / "alignments.json"
    if alignments.exists():
        from facetwin.alignments import load_alignments

        listed = [folder / face.crop for _, face in load_alignments(alignments).faces()]
        present = [p for p in listed if p.exists()]
        if len(present) < len(listed):
            log.warning("%s: %d crops listed in alignments.json are missing (removed by hand?)",
                        folder, len(listed) - len(present))
        return present
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def load_faces(folder: str | Path, *, workers: int = 2) -> Faces:
    """Read every face of one person into memory.

    Raises:
        FacesetError: not a folder, fewer than ``MIN_FACES`` faces, an unreadable image,
            faces of mixed sizes or non-square faces.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FacesetError(folder, "not a folder (give an extraction folder or a folder of face images)")
    files = _list_files(folder)
    if len(files) < MIN_FACES:
        raise FacesetError(folder, f"found {len(files)} face images; training needs at least {MIN_FACES}")

    def read(path: Path) -> np.ndarray:
        try:
            return read_image(path)
        except FacetwinError as exc:
            raise FacesetError(folder, f"cannot read {path.name} ({exc})") from None

    with ThreadPoolExecutor(max_workers=workers) as pool:  # cv2 decoding releases the GIL
        images = list(pool.map(read, files))
    shapes = Counter(im.shape[:2] for im in images)
    if len(shapes) > 1:
        (common, n), *_ = shapes.most_common()
        odd = next(f.name for f, im in zip(files, images) if im.shape[:2] != common)
        sizes = ", ".join(f"{w}x{h} ({c} faces)" for (h, w), c in shapes.most_common())
        raise FacesetError(folder, f"faces of mixed sizes: {sizes}, e.g. {odd}; extract them again at one --crop-size")
    (h, w), = shapes
    if h != w:
        raise FacesetError(folder, f"faces must be square, these are {w}x{h}")
    return Faces(torch.from_numpy(np.stack(images)), [f.name for f in files], folder)


def match_mean_colour(faces: Faces, reference: Faces) -> Faces:
    """Shift ``faces`` so each channel's mean equals ``reference``'s (the original's step).

    Lighting differs between two people's footage; without this the decoders also learn
    each video's colour cast, and a swap carries the wrong cast into the frame.
    """
    shift = (_channel_mean(reference.images) - _channel_mean(faces.images)).round().to(torch.int16)
    out = torch.empty_like(faces.images)
    for i in range(0, len(out), 256):  # in chunks: a whole int16 copy could be GiBs
        out[i : i + 256] = (faces.images[i : i + 256].to(torch.int16) + shift).clamp_(0, 255).to(torch.uint8)
    return Faces(out, faces.names, faces.source)


def _channel_mean(images: torch.Tensor) -> torch.Tensor:
    total = torch.zeros(images.shape[-1], dtype=torch.float64)
    for i in range(0, len(images), 256):
        total += images[i : i + 256].to(torch.float64).sum(dim=(0, 1, 2))
    return total / (images.numel() // images.shape[-1])
