"""Measures of conversion quality: visible seams and added flicker.

Both are ratios against the unconverted input, so 1.0 means "no worse than the source"
whatever the footage: a sharp, busy picture has strong edges and motion of its own,
and only what the conversion adds should count.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from facetwin._check import check_number, check_range, check_tensor

__all__ = ["seam_score", "flicker_score"]

#: ITU-R BT.601 luma weights for RGB, as in facetwin.data.augment.
_LUMA = (0.299, 0.587, 0.114)
#: Added to both sides of each ratio: a region without any edges or motion in either
#: image then scores 1.0 (nothing added) instead of 0 / 0.
_EPS = 1e-6


def seam_score(output: torch.Tensor, original: torch.Tensor, mask: torch.Tensor, *, width: int = 2) -> torch.Tensor:
    """How much edge the blend adds along the mask's border, per image.

    The band is every pixel within ``width`` pixels of both sides of the mask's 0.5
    level (4 pixels wide for the default), where a pasted face's outline would be.
    The score is the mean Sobel gradient magnitude of the luminance in that band in
    ``output``, divided by the same in ``original``: 1.0 adds no edge, a hard pasted
    face with a different skin tone or lighting scores well above 1, and values below 1
    mean the blend smoothed edges the original had.

    Args:
        output: float (B, 3, H, W) RGB in [0, 1], the converted frame.
        original: float (B, 3, H, W) RGB in [0, 1], the frame before conversion.
        mask: float (B, 1, H, W) in [0, 1], the blend mask in frame coordinates.
        width: half width of the band in pixels, >= 1.

    Returns:
        float (B,) scores >= 0; 1.0 where the mask never crosses 0.5 (no seam).

    >>> frame = torch.rand(1, 3, 32, 32)
    >>> mask = torch.zeros(1, 1, 32, 32)
    >>> mask[..., 8:24, 8:24] = 1.0
    >>> seam_score(frame, frame, mask)
    tensor([1.])
    """
    check_tensor(output, "output", ["B", 3, "H", "W"], floating=True)
    check_tensor(original, "original", list(output.shape), floating=True)
    batch, _, height, width_px = output.shape
    check_tensor(mask, "mask", [batch, 1, height, width_px], floating=True)
    width = check_number(width, "width", integral=True)
    check_range(width, "width", low=1)

    inside = (mask >= 0.5).to(output.dtype)
    size = 2 * width + 1
    near_inside = F.max_pool2d(inside, size, stride=1, padding=width)
    near_outside = F.max_pool2d(1.0 - inside, size, stride=1, padding=width)
    band = near_inside * near_outside
    count = band.sum(dim=(1, 2, 3)).clamp_min(1.0)
    added = (_gradient_magnitude(output) * band).sum(dim=(1, 2, 3)) / count
    present = (_gradient_magnitude(original.to(output.dtype)) * band).sum(dim=(1, 2, 3)) / count
    return (added + _EPS) / (present + _EPS)


def flicker_score(outputs: torch.Tensor, inputs: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """How much frame-to-frame change the conversion adds inside the face.

    The mean absolute change between consecutive frames of ``outputs`` (averaged over
    the colour channels), weighted by the face masks, divided by the same for
    ``inputs``. A pixel counts for a pair of frames as much as the larger of its two
    mask values, so a face that moves is measured where it was and where it went.

    Args:
        outputs: float (T, 3, H, W) RGB in [0, 1], the converted frames, T >= 2.
        inputs: float (T, 3, H, W) RGB in [0, 1], the same frames before conversion.
        masks: float (T, 1, H, W) in [0, 1], the face region of each frame.

    Returns:
        A float scalar tensor >= 0: 1.0 adds no flicker, 2.0 twice the source's change.

    >>> frames = torch.rand(4, 3, 8, 8)
    >>> flicker_score(frames, frames, torch.ones(4, 1, 8, 8))
    tensor(1.)
    """
    check_tensor(outputs, "outputs", ["T", 3, "H", "W"], floating=True)
    check_tensor(inputs, "inputs", list(outputs.shape), floating=True)
    frames, _, height, width = outputs.shape
    check_tensor(masks, "masks", [frames, 1, height, width], floating=True)
    check_range(frames, "number of frames", low=2)

    masks = masks.to(outputs.dtype)
    weights = torch.maximum(masks[1:], masks[:-1])
    total = weights.sum().clamp_min(_EPS)

    def change(sequence: torch.Tensor) -> torch.Tensor:
        step = (sequence[1:] - sequence[:-1]).abs().mean(dim=1, keepdim=True)
        return (step * weights).sum() / total

    return (change(outputs) + _EPS) / (change(inputs.to(outputs.dtype)) + _EPS)


def _gradient_magnitude(images: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) Sobel gradient magnitude of the BT.601 luminance, edges replicated."""
    r, g, b = _LUMA
    luma = r * images[:, 0:1] + g * images[:, 1:2] + b * images[:, 2:3]
    # Scaled by 1/4 so a step of height s between two pixels reads s on both of them.
    smooth = torch.tensor([1.0, 2.0, 1.0], dtype=images.dtype, device=images.device) / 4.0
    diff = torch.tensor([-1.0, 0.0, 1.0], dtype=images.dtype, device=images.device)
    kernel_x = (smooth[:, None] * diff[None, :])[None, None]
    kernel_y = kernel_x.transpose(2, 3)
    padded = F.pad(luma, (1, 1, 1, 1), mode="replicate")
    gx, gy = F.conv2d(padded, kernel_x), F.conv2d(padded, kernel_y)
    return torch.sqrt(gx**2 + gy**2)
