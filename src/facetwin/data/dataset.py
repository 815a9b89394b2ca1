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
from facetwin.faces.align import FaceType, warp_to_crop
from facetwin.io.images import IMAGE_SUFFIXES, read_image

__all__ = ["Faces", "load_faces", "frame_faces", "pool_faces", "match_mean_colour", "MIN_FACES", "CLASSIC_COVERAGE"]

log = logging.getLogger(__name__)

#: Fewer faces than this cannot teach a decoder a person; they can only be memorised.
MIN_FACES = 8
#: The framing of face folders that carry no alignments.json (the classic pre-aligned
#: sets and extractions of facetwin before face types): the original code's.
CLASSIC_COVERAGE = 0.625


@dataclass
class Faces:
    """One person's training faces.

    Attributes:
        images: uint8 (N, H, W, 3) RGB, H == W.
        names: file name of each face.
        source: the folder they came from.
        coverage: the crops' framing: the fraction of the side spanned by the mean face
            (``ExtractConfig.coverage``).
        face: None for crops centred on the mean face as extracted; the face type once
            ``frame_faces`` has cut them to its training crop (centred on ``face.centre``).
    """

    images: torch.Tensor
    names: list[str]
    source: Path
    coverage: float = CLASSIC_COVERAGE
    face: FaceType | None = None

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


def _list_files(folder: Path) -> tuple[list[Path], float]:
    """The face images of ``folder`` and their framing (coverage)."""
    alignments = folder / "alignments.json"
    if alignments.exists():
        from facetwin.alignments import load_alignments

        doc = load_alignments(alignments)
        listed = [folder / face.crop for _, face in doc.faces()]
        present = [p for p in listed if p.exists()]
        if len(present) < len(listed):
            log.warning(
                "%s: %d crops listed in alignments.json are missing (removed by hand?)",
                folder,
                len(listed) - len(present),
            )
        return present, float(doc.settings.get("coverage", CLASSIC_COVERAGE))
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return files, CLASSIC_COVERAGE


def load_faces(folder: str | Path, *, workers: int = 2, min_faces: int = MIN_FACES) -> Faces:
    """Read every face of one person into memory.

    ``min_faces`` guards a pair's training; pre-training, where each person is one of
    many, takes a few photos too.

    Raises:
        FacesetError: not a folder, fewer than ``min_faces`` faces, an unreadable image,
            faces of mixed sizes or non-square faces.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FacesetError(folder, "not a folder (give an extraction folder or a folder of face images)")
    files, coverage = _list_files(folder)
    if len(files) < min_faces:
        raise FacesetError(folder, f"found {len(files)} face images; training needs at least {min_faces}")

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
    ((h, w),) = shapes
    if h != w:
        raise FacesetError(folder, f"faces must be square, these are {w}x{h}")
    return Faces(torch.from_numpy(np.stack(images)), [f.name for f in files], folder, coverage)


def frame_faces(faces: Faces, face: FaceType, window: int, *, window_fraction: float) -> Faces:
    """Cut every face to the training crop of face type ``face``.

    The training crop is square, its central ``window_fraction`` is the face type's
    window at ``window`` pixels (what the model sees, see ``face_window``), and the rest
    is the margin that augmentation rotates and shifts into view. Pixels beyond the
    source crop repeat its border (``warp_to_crop``); extract at a small enough
    ``--coverage`` (0.35 for "whole") and there are none.

    One resampling when the faces are loaded: the crops shrink to what training reads
    (area-averaged, so no aliasing), and faces of every size and framing become one set.

    Returns:
        ``Faces`` of side ``round(window / window_fraction)`` framed as the training crop.
    """
    side = round(window / window_fraction)
    if faces.face is not None:
        if faces.face == face and faces.size == side:
            return faces
        raise FacesetError(faces.source, f"faces already framed as {faces.face.name} at {faces.size} px")
    n = faces.size
    # The window itself must lie inside the crops (the margin around it may repeat the
    # border: augmentation only now and then turns it into view).
    reach = face.span / 2 + max(abs(c - 0.5) for c in face.centre)
    if reach > 0.5 / faces.coverage + 1e-6:
        log.warning(
            "%s: the %s-face window reaches past these crops (extracted at coverage %.3g); the repeated "
            "border would be learnt as face: extract them again at --coverage 0.35",
            faces.source,
            face.name,
            faces.coverage,
        )
    # Mean-face point p sits at (p - 0.5) * n * coverage + (n - 1) / 2 in the source crop
    # and at (p - centre) * k + (side - 1) / 2 in the training crop.
    k = side * window_fraction / face.span  # training-crop pixels per mean-face unit
    scale = k / (n * faces.coverage)
    centre = np.asarray(face.centre)
    offset = (0.5 - centre) * k + (side - 1) / 2 - scale * (n - 1) / 2
    matrix = np.array([[scale, 0.0, offset[0]], [0.0, scale, offset[1]]])
    images = faces.images.numpy()
    framed = np.stack([warp_to_crop(image, matrix, side) for image in images])
    return Faces(torch.from_numpy(framed), faces.names, faces.source, window_fraction / face.span, face)


def pool_faces(sets: list[Faces], *, source: Path) -> Faces:
    """Many people's faces, already framed alike (``frame_faces``), as one set (pre-training)."""
    sizes = {f.size for f in sets}
    if len(sizes) != 1:
        raise FacesetError(source, f"faces of sizes {sorted(sizes)} cannot be pooled; frame them first")
    names = [f"{f.source.name}/{name}" for f in sets for name in f.names]
    return Faces(torch.cat([f.images for f in sets]), names, source, sets[0].coverage, sets[0].face)


def match_mean_colour(faces: Faces, reference: Faces) -> Faces:
    """Shift ``faces`` so each channel's mean equals ``reference``'s (the original's step).

    Lighting differs between two people's footage; without this the decoders also learn
    each video's colour cast, and a swap carries the wrong cast into the frame.
    """
    shift = (_channel_mean(reference.images) - _channel_mean(faces.images)).round().to(torch.int16)
    out = torch.empty_like(faces.images)
    for i in range(0, len(out), 256):  # in chunks: a whole int16 copy could be GiBs
        out[i : i + 256] = (faces.images[i : i + 256].to(torch.int16) + shift).clamp_(0, 255).to(torch.uint8)
    return Faces(out, faces.names, faces.source, faces.coverage, faces.face)


def _channel_mean(images: torch.Tensor) -> torch.Tensor:
    total = torch.zeros(images.shape[-1], dtype=torch.float64)
    for i in range(0, len(images), 256):
        total += images[i : i + 256].to(torch.float64).sum(dim=(0, 1, 2))
    return total / (images.numel() // images.shape[-1])
