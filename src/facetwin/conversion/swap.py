"""Swapping the faces of one frame: crop, model, mask, colour, warp back, blend.

``FaceSwapper`` holds a trained model and a ``ConvertConfig`` and turns a frame plus the
landmarks of its faces into the swapped frame; ``facetwin.conversion.convert`` runs it over
videos and images.

Geometry: a model records its face type (``model.face``, from config.json): the square
window on the mean face that its training targets covered. The model's ``S x S`` window
in a frame is ``face_window(landmarks, S, model.face)``; the swapped face goes back
through the inverse of that matrix, sub-pixel, onto just the pixels it covers. Models
from before face types saw the central ``warp_coverage`` (160/256) of crops framed at
the extraction's ``coverage``, which ``model_face`` turns into the same description.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import cv2
import numpy as np
import torch

from facetwin._check import check_array
from facetwin.config import ConvertConfig
from facetwin.conversion.blend import poisson_blend
from facetwin.conversion.colour import apply_colour, colour_stats
from facetwin.conversion.masks import MIN_EDGE_FADE, combine_masks, fade_at_edges, landmark_hull_mask, refine_mask
from facetwin.data.augment import AugmentConfig
from facetwin.data.dataset import CLASSIC_COVERAGE
from facetwin.faces.align import FaceType, face_window, invert_affine, transform_points, warp_to_crop
from facetwin.models import SwapModel

__all__ = ["FaceSwapper", "SwapFace", "model_window", "model_face"]

log = logging.getLogger(__name__)

#: The fraction of a training crop that the model's output covers (augment.py's grid).
WARP_COVERAGE = AugmentConfig().warp_coverage
#: Pixels of frame kept around a face's box when blending, so Poisson cloning has a
#: boundary ring and the feathered edge is never cut.
_ROI_MARGIN = 4


@dataclass(frozen=True)
class SwapFace:
    """A face to swap: its landmarks (float (68, 2) frame pixels, x, y), in videos the
    track it belongs to (colour statistics are smoothed per track), and the detector's
    box (x0, y0, x1, y1) where known (for labels; the swap uses only the landmarks)."""

    landmarks: np.ndarray
    track_id: int = 0
    box: np.ndarray | None = None


def model_face(model: SwapModel, coverage: float | None = None) -> FaceType:
    """The face window ``model`` was trained on.

    ``coverage`` (the training faces' extraction coverage) matters only for models from
    before face types, which did not record it; the classic 0.625 when not given (the
    framing training assumes for folders without alignments.json, one constant for both).
    """
    if model.face is not None:
        return model.face
    return FaceType("inner", WARP_COVERAGE / (coverage or CLASSIC_COVERAGE), (0.5, 0.5))


def model_window(landmarks: np.ndarray, size: int, face: FaceType) -> np.ndarray:
    """Matrix (2, 3), frame pixels -> the model's ``size`` x ``size`` input window.

    Convention: as ``crop_from_frame`` (x, y; pixel centres at integers).
    """
    return face_window(landmarks, size, face)


class FaceSwapper:
    """Swaps faces into frames with one trained model.

    Args:
        model: a trained ``SwapModel`` (``facetwin.load_model``).
        config: the conversion settings.
        bf16: run the model in bf16 (its weights are converted once).

    ``swap(image, faces)`` returns the swapped frame and the blend mask (for review);
    colour statistics of each track are smoothed across calls, ``reset()`` forgets them.
    """

    def __init__(self, model: SwapModel, config: ConvertConfig, *, bf16: bool = False) -> None:
        # Inference keeps bf16 weights instead of autocast, which would cast every weight
        # again on every call (a quarter of the time of `original` on one face).
        self.dtype = torch.bfloat16 if bf16 else torch.float32
        self.model = model.eval().to(self.dtype).to(memory_format=torch.channels_last)
        if config.to == "auto":  # no footage to ask about here (convert and FramePreview decide first)
            config = replace(config, to="a")
        self.config = config
        self.size = int(model.input_size)
        self.face = model_face(model, config.coverage)
        if model.face is not None and config.coverage is not None:
            log.warning(
                "--coverage is for models from before face types; this one records its window (%s face)",
                model.face.name,
            )
        self.device = next(model.parameters(), torch.empty(0)).device
        self._colour: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        if config.mask != "hull" and not model.predicts_mask:
            log.warning("the model predicts no mask: using the landmark hull (--mask hull)")

    def reset(self) -> None:
        self._colour.clear()

    def swap(self, image: np.ndarray, faces: Sequence[SwapFace]) -> tuple[np.ndarray, np.ndarray]:
        """Swap ``faces`` in ``image`` (RGB uint8 (H, W, 3)).

        Returns:
            The swapped frame, RGB uint8 (H, W, 3) (``image`` itself when there is no
            face), and the blend mask, float32 (H, W) in [0, 1].
        """
        return self.swap_frames([image], [faces])[0]

    @torch.no_grad()
    def swap_frames(
        self, images: Sequence[np.ndarray], faces: Sequence[Sequence[SwapFace]]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """``swap`` for consecutive frames at once: all their faces share model calls.

        Per-call costs (weights, threads) are paid once for the batch, which matters
        most for big models and frames with one face.
        """
        if len(images) != len(faces):
            raise ValueError(f"{len(images)} images but {len(faces)} face lists")
        for image in images:
            check_array(image, "image", ["H", "W", 3], dtypes=[np.uint8])
        owners = [i for i, found in enumerate(faces) for _ in found]
        flat = [face for found in faces for face in found]
        results = []
        if flat:
            out_faces, masks, matrices = self._faces(images, owners, flat)
        pasted = 0
        for i, image in enumerate(images):
            full_mask = np.zeros(image.shape[:2], np.float32)
            if not faces[i]:
                results.append((image, full_mask))
                continue
            result = image.copy()
            for _ in faces[i]:
                self._paste(result, full_mask, out_faces[pasted], masks[pasted], matrices[pasted])
                pasted += 1
            results.append((result, full_mask))
        return results

    def _faces(
        self, images: Sequence[np.ndarray], owners: list[int], faces: Sequence[SwapFace]
    ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        cfg, size = self.config, self.size
        matrices = [model_window(f.landmarks, size, self.face) for f in faces]
        crops = np.stack([warp_to_crop(images[i], m, size) for i, m in zip(owners, matrices)])
        x = torch.from_numpy(crops).to(self.device).permute(0, 3, 1, 2).float().div_(255)
        outputs = []
        for start in range(0, len(x), cfg.batch_size):
            chunk = x[start : start + cfg.batch_size].to(self.dtype).contiguous(memory_format=torch.channels_last)
            outputs.append(self.model(chunk, to=cfg.to).float())
        out = torch.cat(outputs)
        swapped = out[:, :3]

        points = (
            torch.from_numpy(np.stack([transform_points(f.landmarks, m) for f, m in zip(faces, matrices)]))
            .float()
            .to(self.device)
        )
        hull = landmark_hull_mask(points, size, forehead=cfg.forehead)
        learned = out[:, 3:4] if self.model.predicts_mask else None
        mode = cfg.mask if learned is not None else "hull"
        region = combine_masks(hull, learned, mode)
        blend_mask = refine_mask(region, erode=cfg.erode * size, feather=cfg.feather * size)
        # Whatever the settings, the mask ends inside the window with a soft edge: the
        # pasted window's square outline never shows (2 feather sigmas, a tenth of the window at least).
        blend_mask = fade_at_edges(blend_mask, max(2.0 * cfg.feather, MIN_EDGE_FADE) * size)

        if cfg.colour != "none":
            face_stats = colour_stats(swapped, region, mode=cfg.colour)
            target_stats = colour_stats(x, region, mode=cfg.colour)
            face_stats, target_stats = self._smooth_colour(faces, face_stats, target_stats)
            swapped = apply_colour(swapped, face_stats, target_stats, mode=cfg.colour)
        return (
            swapped.permute(0, 2, 3, 1).cpu().numpy(),
            blend_mask[:, 0].cpu().numpy(),
            matrices,
        )

    def _smooth_colour(
        self, faces: Sequence[SwapFace], face_stats: torch.Tensor, target_stats: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Running means of each track's statistics, so a face's colour does not pulse."""
        weight = self.config.colour_smoothing
        if weight >= 1:
            return face_stats, target_stats
        smoothed_face, smoothed_target = [], []
        for i, face in enumerate(faces):
            previous = self._colour.get(face.track_id)
            current = (face_stats[i], target_stats[i])
            if previous is not None:
                current = tuple(torch.lerp(p, c, weight) for p, c in zip(previous, current))
            self._colour[face.track_id] = current
            smoothed_face.append(current[0])
            smoothed_target.append(current[1])
        return torch.stack(smoothed_face), torch.stack(smoothed_target)

    def _paste(
        self, result: np.ndarray, full_mask: np.ndarray, face: np.ndarray, mask: np.ndarray, matrix: np.ndarray
    ) -> None:
        """Warp one swapped face (float (S, S, 3)) and its mask back and blend them in place."""
        height, width = result.shape[:2]
        size = self.size
        # Where the model's square lands in the frame (corners are pixel edges).
        corners = np.array([[-0.5, -0.5], [size - 0.5, -0.5], [-0.5, size - 0.5], [size - 0.5, size - 0.5]])
        inverse = invert_affine(matrix)
        in_frame = transform_points(corners, inverse)
        x0, y0 = np.floor(in_frame.min(axis=0)).astype(int) - _ROI_MARGIN
        x1, y1 = np.ceil(in_frame.max(axis=0)).astype(int) + _ROI_MARGIN
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if x1 <= x0 or y1 <= y0:
            return  # the face lies outside the frame
        # matrix maps frame pixels to model pixels; shifted to the ROI's origin it is the
        # inverse map warpAffine needs to pull model pixels into ROI pixels.
        local = matrix.copy()
        local[:, 2] += matrix[:, :2] @ np.array([x0, y0], dtype=np.float64)
        roi_size = (x1 - x0, y1 - y0)
        flags = cv2.WARP_INVERSE_MAP
        face_roi = cv2.warpAffine(face, local, roi_size, flags=flags | cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
        mask_roi = cv2.warpAffine(
            mask, local, roi_size, flags=flags | cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        np.clip(mask_roi, 0.0, 1.0, out=mask_roi)
        frame_roi = result[y0:y1, x0:x1]
        face_u8 = np.clip(face_roi * 255.0 + 0.5, 0, 255).astype(np.uint8)
        if self.config.blend == "poisson":
            blended = poisson_blend(frame_roi, face_u8, mask_roi > 0.5)
            # Poisson keeps the face's gradients inside a hard mask; the feathered mask's
            # soft edge still fades the cloned face into the frame.
            face_u8 = blended
        alpha = mask_roi[..., None]
        mixed = frame_roi.astype(np.float32) * (1.0 - alpha) + face_u8.astype(np.float32) * alpha
        result[y0:y1, x0:x1] = np.clip(mixed + 0.5, 0, 255).astype(np.uint8)
        np.maximum(full_mask[y0:y1, x0:x1], mask_roi, out=full_mask[y0:y1, x0:x1])
