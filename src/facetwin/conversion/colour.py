"""Colour correction of the swapped face toward the original face it replaces.

The model's output carries the lighting and white balance of the other person's
training footage; before blending, its colours are moved toward the face it covers.
Statistics are taken only inside the face mask, so background, hair and the crop's
replicated border do not pull the correction.

Statistics and their application are split (``colour_stats`` then ``apply_colour``) so
a video pipeline can smooth the statistics over time before applying them: every kind
of statistic here stays meaningful when averaged (means and standard deviations, and
CDFs, whose average is the CDF of the pooled pixels). ``transfer_colour`` does both in
one call.

Modes:
    ``"mean"``: per-channel mean shift in RGB, the original face swap's
    ``A += mean(B) - mean(A)``.
    ``"reinhard"``: Reinhard et al. (2001), "Color Transfer between Images": per-channel
    mean and standard deviation transfer, here in CIE Lab (D65), where the channels
    are nearly decorrelated for natural images, so each can be matched on its own.
    ``"histogram"``: per-channel histogram (CDF) matching in RGB, 256 bins.
    ``"none"``: no change.
"""

from __future__ import annotations

import typing

import torch
import torch.nn.functional as F

from facetwin._check import check_choice, check_tensor
from facetwin.config import ColourMode

__all__ = [
    "COLOUR_MODES",
    "ColourMode",
    "rgb_to_lab",
    "lab_to_rgb",
    "colour_stats",
    "apply_colour",
    "transfer_colour",
]

#: The choices of ``mode`` for the functions of this module.
COLOUR_MODES: tuple[str, ...] = typing.get_args(ColourMode)

#: Histogram bins; bin k holds values that round to k / 255, one per 8-bit level.
_BINS = 256
#: Linear sRGB (D65) -> CIE XYZ, the matrix skimage.color and IEC 61966-2-1 use.
_XYZ_FROM_LINEAR_RGB = (
    (0.412453, 0.357580, 0.180423),
    (0.212671, 0.715160, 0.072169),
    (0.019334, 0.119193, 0.950227),
)
#: Reference white, CIE D65 with the 2-degree observer, as XYZ.
_WHITE_D65 = (0.95047, 1.0, 1.08883)
#: CIE Lab's switch between the cube root and the linear toe: (6/29)**3 and 6/29.
_EPSILON = 0.008856
_F_EPSILON = 0.2068966
#: The smallest standard deviation divided by, in Lab units; a flat face region has
#: no contrast to rescale, and dividing by zero would blow it up instead.
_MIN_STD = 1e-3


def rgb_to_lab(image: torch.Tensor) -> torch.Tensor:
    """sRGB to CIE Lab (D65, 2-degree observer), as ``skimage.color.rgb2lab``.

    Args:
        image: float (B, 3, H, W) sRGB in [0, 1] (gamma-encoded, as images are stored).

    Returns:
        float (B, 3, H, W): L in [0, 100], a and b roughly in [-128, 127].

    >>> white = torch.ones(1, 3, 1, 1)
    >>> rgb_to_lab(white).flatten().round(decimals=1) + 0.0  # + 0.0 turns -0. into 0.
    tensor([100.,   0.,   0.])
    """
    check_tensor(image, "image", ["B", 3, "H", "W"], floating=True)
    # Clamping inside each branch keeps the unused side of torch.where finite, so its
    # gradient (multiplied by zero) cannot turn into NaN.
    linear = torch.where(
        image > 0.04045,
        ((image.clamp_min(0.04045) + 0.055) / 1.055) ** 2.4,
        image / 12.92,
    )
    matrix = torch.tensor(_XYZ_FROM_LINEAR_RGB, dtype=image.dtype, device=image.device)
    white = torch.tensor(_WHITE_D65, dtype=image.dtype, device=image.device)
    xyz = torch.einsum("ij,bjhw->bihw", matrix, linear) / white[:, None, None]
    f = torch.where(xyz > _EPSILON, xyz.clamp_min(_EPSILON) ** (1.0 / 3.0), 7.787 * xyz + 16.0 / 116.0)
    fx, fy, fz = f.unbind(dim=1)
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """CIE Lab (D65, 2-degree observer) to sRGB, the inverse of ``rgb_to_lab``.

    Colours outside the sRGB gamut are clipped to [0, 1], as ``skimage.color.lab2rgb``
    does.

    Args:
        lab: float (B, 3, H, W): L in [0, 100], a and b roughly in [-128, 127].

    Returns:
        float (B, 3, H, W) sRGB in [0, 1].

    >>> rgb = torch.tensor([0.2, 0.5, 0.8]).view(1, 3, 1, 1)
    >>> torch.allclose(lab_to_rgb(rgb_to_lab(rgb)), rgb, atol=1e-5)
    True
    """
    check_tensor(lab, "lab", ["B", 3, "H", "W"], floating=True)
    lightness, a, b = lab.unbind(dim=1)
    fy = (lightness + 16.0) / 116.0
    f = torch.stack([fy + a / 500.0, fy, fy - b / 200.0], dim=1)
    white = torch.tensor(_WHITE_D65, dtype=lab.dtype, device=lab.device)
    xyz = torch.where(f > _F_EPSILON, f.clamp_min(_F_EPSILON) ** 3, (f - 16.0 / 116.0) / 7.787)
    xyz = xyz.clamp_min(0.0) * white[:, None, None]  # negative light is outside every gamut
    forward = torch.tensor(_XYZ_FROM_LINEAR_RGB, dtype=torch.float64, device=lab.device)
    matrix = torch.linalg.inv(forward).to(lab.dtype)
    linear = torch.einsum("ij,bjhw->bihw", matrix, xyz)
    rgb = torch.where(
        linear > 0.0031308,
        1.055 * linear.clamp_min(0.0031308) ** (1.0 / 2.4) - 0.055,
        12.92 * linear,
    )
    return rgb.clamp(0.0, 1.0)


def colour_stats(images: torch.Tensor, mask: torch.Tensor, *, mode: ColourMode) -> torch.Tensor:
    """Colour statistics of each image inside its mask, for ``apply_colour``.

    Pixels are weighted by the mask's value, so a feathered edge counts partly. An
    all-zero mask falls back to the whole image rather than dividing by zero.

    Args:
        images: float (B, 3, H, W) RGB in [0, 1].
        mask: float (B, 1, H, W) in [0, 1], the face region.
        mode: which statistics (see the module docstring).

    Returns:
        A tensor of the dtype of ``images``, by mode:

        - ``"mean"``: (B, 3), the mean of R, G, B in [0, 1].
        - ``"reinhard"``: (B, 3, 2), mean (``[..., 0]``) and standard deviation
          (``[..., 1]``) of L, a, b.
        - ``"histogram"``: (B, 3, 256), the CDF of R, G, B over 256 bins (bin k holds
          values rounding to k / 255), non-decreasing, last entry 1.
        - ``"none"``: (B, 0).

    >>> images, mask = torch.rand(2, 3, 8, 8), torch.ones(2, 1, 8, 8)
    >>> [tuple(colour_stats(images, mask, mode=m).shape) for m in COLOUR_MODES]
    [(2, 3), (2, 3, 2), (2, 3, 256), (2, 0)]
    """
    check_choice(mode, "mode", COLOUR_MODES)
    check_tensor(images, "images", ["B", 3, "H", "W"], floating=True)
    batch, _, height, width = images.shape
    check_tensor(mask, "mask", [batch, 1, height, width], floating=True)
    weights = mask.to(images.dtype)
    empty = weights.sum(dim=(1, 2, 3), keepdim=True) <= 0
    weights = torch.where(empty, torch.ones_like(weights), weights)

    if mode == "none":
        return images.new_zeros(batch, 0)
    if mode == "mean":
        return _weighted_mean(images, weights)
    if mode == "reinhard":
        lab = rgb_to_lab(images)
        mean = _weighted_mean(lab, weights)
        variance = _weighted_mean((lab - mean[..., None, None]) ** 2, weights)
        return torch.stack([mean, variance.clamp_min(0.0).sqrt()], dim=-1)
    return _weighted_cdf(images, weights)


def apply_colour(
    face: torch.Tensor, face_stats: torch.Tensor, target_stats: torch.Tensor, *, mode: ColourMode
) -> torch.Tensor:
    """Move the colours of ``face`` from ``face_stats`` to ``target_stats``.

    Every pixel of ``face`` is mapped, inside the mask that gave the statistics or not,
    so the later blend can use any mask. The statistics may be smoothed over time first.

    Args:
        face: float (B, 3, H, W) RGB in [0, 1], the swapped face.
        face_stats: ``colour_stats(face, mask, mode=mode)``, shape as documented there.
        target_stats: ``colour_stats(original, mask, mode=mode)``, the same shape.
        mode: which correction (see the module docstring).

    Returns:
        float (B, 3, H, W) RGB, clamped to [0, 1].

    >>> face = torch.full((1, 3, 4, 4), 0.25)
    >>> face_stats, target_stats = torch.full((1, 3), 0.25), torch.full((1, 3), 0.5)
    >>> apply_colour(face, face_stats, target_stats, mode="mean").mean().item()
    0.5
    """
    check_choice(mode, "mode", COLOUR_MODES)
    check_tensor(face, "face", ["B", 3, "H", "W"], floating=True)
    shape = {"mean": [3], "reinhard": [3, 2], "histogram": [3, _BINS], "none": [0]}[mode]
    check_tensor(face_stats, "face_stats", [face.shape[0], *shape], floating=True)
    check_tensor(target_stats, "target_stats", [face.shape[0], *shape], floating=True)
    face_stats, target_stats = face_stats.to(face.dtype), target_stats.to(face.dtype)

    if mode == "none":
        return face.clamp(0.0, 1.0)
    if mode == "mean":
        return (face + (target_stats - face_stats)[..., None, None]).clamp(0.0, 1.0)
    if mode == "reinhard":
        lab = rgb_to_lab(face)
        mean_f, std_f = face_stats[..., 0, None, None], face_stats[..., 1, None, None]
        mean_t, std_t = target_stats[..., 0, None, None], target_stats[..., 1, None, None]
        return lab_to_rgb((lab - mean_f) / std_f.clamp_min(_MIN_STD) * std_t + mean_t)
    return _match_cdf(face, face_stats, target_stats)


def transfer_colour(
    face: torch.Tensor, reference: torch.Tensor, mask: torch.Tensor, *, mode: ColourMode
) -> torch.Tensor:
    """Correct ``face`` toward ``reference``, both measured inside ``mask``.

    The one-call form of ``colour_stats`` on both images followed by ``apply_colour``.

    Args:
        face: float (B, 3, H, W) RGB in [0, 1], the swapped face in crop space.
        reference: float (B, 3, H, W) RGB in [0, 1], the original face it replaces.
        mask: float (B, 1, H, W) in [0, 1], the face region of both.
        mode: ``"mean"``, ``"reinhard"``, ``"histogram"`` or ``"none"``.

    Returns:
        float (B, 3, H, W) RGB in [0, 1].

    >>> face, reference = torch.full((1, 3, 4, 4), 0.2), torch.full((1, 3, 4, 4), 0.6)
    >>> out = transfer_colour(face, reference, torch.ones(1, 1, 4, 4), mode="reinhard")
    >>> round(out.mean().item(), 4)
    0.6
    """
    check_choice(mode, "mode", COLOUR_MODES)
    check_tensor(face, "face", ["B", 3, "H", "W"], floating=True)
    check_tensor(reference, "reference", list(face.shape), floating=True)
    batch, _, height, width = face.shape
    check_tensor(mask, "mask", [batch, 1, height, width], floating=True)
    face_stats = colour_stats(face, mask, mode=mode)
    target_stats = colour_stats(reference.to(face.dtype), mask, mode=mode)
    return apply_colour(face, face_stats, target_stats, mode=mode)


def _weighted_mean(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(B, C) mean of (B, C, H, W) weighted by (B, 1, H, W) with a positive sum."""
    return (x * weights).sum(dim=(2, 3)) / weights.sum(dim=(2, 3))


def _weighted_cdf(images: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(B, 3, 256) CDFs of each channel, pixels weighted by (B, 1, H, W) weights."""
    batch, channels = images.shape[:2]
    bins = (images.clamp(0.0, 1.0) * (_BINS - 1)).round().long().flatten(2)
    counts = images.new_zeros(batch, channels, _BINS)
    counts.scatter_add_(2, bins, weights.flatten(2).expand(-1, channels, -1).contiguous())
    cumulative = counts.cumsum(dim=2)
    # x / x is exactly 1 in floating point, so the last entry is exactly 1 and the
    # inverse lookup in _match_cdf can never run past the last bin.
    return cumulative / cumulative[..., -1:]


def _match_cdf(face: torch.Tensor, face_cdf: torch.Tensor, target_cdf: torch.Tensor) -> torch.Tensor:
    """Map each channel through its own CDF, then through the inverse target CDF.

    Both CDFs are read as piecewise linear, each bin's mass spread evenly over the bin's
    width (value k / 255 +- half a level): the forward map is continuous in the face's
    float values, the inverse skips empty bins, and a face matched to its own
    statistics comes back unchanged.
    """
    batch, channels, height, width = face.shape
    position = face.clamp(0.0, 1.0).flatten(2) * (_BINS - 1)  # in levels
    level = position.round().long().clamp(0, _BINS - 1)
    below = F.pad(face_cdf, (1, 0))[..., :-1]  # mass of the bins before each bin
    quantile = below.gather(2, level) + (face_cdf - below).gather(2, level) * (position - level + 0.5)
    # A quantile of 0 would select the first bin even when it is empty; a hair above
    # it selects the first bin that holds any mass.
    quantile = quantile.clamp(1e-6, 1.0).contiguous()

    target_below = F.pad(target_cdf, (1, 0))[..., :-1]
    index = torch.searchsorted(target_cdf.contiguous(), quantile).clamp(max=_BINS - 1)
    mass = (target_cdf - target_below).gather(2, index)
    within = (quantile - target_below.gather(2, index)) / mass.clamp_min(1e-12)
    value = (index.to(face.dtype) + within.clamp(0.0, 1.0) - 0.5) / (_BINS - 1)
    return value.view(batch, channels, height, width).clamp(0.0, 1.0)
