"""Training augmentation: random transform, random warp and colour jitter, batched in torch.

This reproduces the seeds' ``random_transform`` + ``random_warp`` pair, but for a whole
batch at once on any device, with one resampling of the source per output:

1. **Random transform** of the full crop: rotation about the crop centre (uniform in
   ``[-rotation, rotation]`` degrees, positive turns the picture counter-clockwise on
   screen as ``cv2.getRotationMatrix2D`` does), zoom (scale uniform in
   ``[1 - zoom, 1 + zoom]``), shift (uniform in ``[-shift, shift]`` times the side, x and
   y drawn independently, applied after rotation and zoom) and a horizontal flip with
   probability ``flip``. Outside the crop the border is replicated.
2. **Random warp**: a 5x5 grid of points evenly spaced over the central
   ``warp_coverage`` of the transformed crop, each moved by Gaussian noise of standard
   deviation ``warp_sigma`` times the side. The *warped* input samples the transformed
   crop through the bilinear upsampling of the noisy grid: the grid's outer points sit
   on the outer edges of the output, so output pixel ``i`` reads the grid at index
   ``4 * (i + 0.5) / size``. This is exactly what the seeds computed by resizing the
   5x5 maps to 80x80 with OpenCV (pixel-area convention) and keeping ``[8:72]`` for a
   64 output: the window is the ``size x size`` centre of a ``1.25 size`` map.
3. **Target**: the transformed crop warped by the least-squares similarity (Umeyama)
   taking the noisy grid points onto the regular grid of the output, points at
   ``0, size / 4, ..., size`` on the output's edge-to-edge scale (the seeds'
   ``0:65:16`` for 64). It is the undistorted face that the warped input stands for:
   with no warp noise the two are the same image.

Because the random transform is affine and bilinear interpolation of the grid commutes
with affine maps, both outputs are sampled straight from the source crop with one
``grid_sample`` each; nothing is resampled twice.

Differences from the seeds, all deliberate: the rotation centre is the true crop centre
``(side - 1) / 2`` rather than ``side // 2``; the target's regular grid is placed on the
same edge-to-edge scale as the warp map (the seeds' target sat half an output pixel off
their own warped input); the warped input replicates the border instead of reading
black outside the crop.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from facetwin._check import check_range, check_tensor, described
from facetwin.errors import InvalidOptionError

__all__ = ["AugmentConfig", "Augmented", "augment_batch", "umeyama_batched"]

#: ITU-R BT.601 luma weights for RGB, used for contrast and saturation.
_LUMA = (0.299, 0.587, 0.114)
#: Columns of the per-sample uniform draws; all are drawn every call so that switching
#: colour jitter on or off does not change the geometry a seed produces.
_ANGLE, _SCALE, _TX, _TY, _FLIP, _BRIGHT, _CONTRAST, _SATURATION = range(8)
_GRID = 5


@dataclass(frozen=True, kw_only=True)
class AugmentConfig:
    """Strengths of the training augmentation; the defaults are the seeds' values.

    >>> AugmentConfig().rotation
    10.0
    >>> AugmentConfig(flip=1.5)
    Traceback (most recent call last):
    ...
    facetwin.errors.InvalidOptionError: flip must be >= 0 and <= 1, got 1.5
    """

    rotation: float = 10.0  # max degrees, uniform in [-rotation, rotation]
    zoom: float = 0.05  # scale uniform in [1 - zoom, 1 + zoom]
    shift: float = 0.05  # translation uniform in [-shift, shift] * side, x and y independently
    flip: float = 0.4  # probability of a horizontal flip
    warp_sigma: float = 5 / 256  # std of the 5x5 grid noise, fraction of the side (5 px at 256)
    warp_coverage: float = 160 / 256  # the 5x5 grid spans this central fraction of the crop
    brightness: float = 0.0  # multiplicative brightness uniform in [1 - b, 1 + b]; 0 = off
    contrast: float = 0.0  # contrast factor uniform in [1 - c, 1 + c] about the mean grey
    saturation: float = 0.0  # saturation factor uniform in [1 - s, 1 + s] about the pixel's grey

    def __post_init__(self) -> None:
        check_range(self.rotation, "rotation", low=0, high=180)
        check_range(self.zoom, "zoom", low=0, high=0.5)
        check_range(self.shift, "shift", low=0, high=0.5)
        check_range(self.flip, "flip", low=0, high=1)
        check_range(self.warp_sigma, "warp_sigma", low=0, high=0.25)
        check_range(self.warp_coverage, "warp_coverage", low=0, high=1, low_open=True)
        check_range(self.brightness, "brightness", low=0, high=1)
        check_range(self.contrast, "contrast", low=0, high=1)
        check_range(self.saturation, "saturation", low=0, high=1)


@dataclass(frozen=True)
class Augmented:
    """One augmented batch, with the random draws that made it.

    Attributes:
        warped: float32 (B, 3, size, size) RGB in [0, 1], the randomly warped network input.
        target: float32 (B, 3, size, size) RGB in [0, 1], the same face undistorted.
        target_extra: float32 (B, K, size, size), ``extra`` with the target's geometry,
            or None when no ``extra`` was given.
        target_from_crop: float32 (B, 2, 3), source crop pixels -> target pixels (the
            random transform followed by the fitted similarity; flips make it improper).
        warp_points: float32 (B, 5, 5, 2), the source crop pixels (x, y) that the warped
            input's 5x5 grid nodes read; row index is y, column index is x.
        angle: float32 (B,), rotation in degrees, positive counter-clockwise on screen.
        scale: float32 (B,), zoom factor.
        shift: float32 (B, 2), translation (x, y) in source crop pixels.
        flipped: bool (B,), whether the sample was flipped horizontally.
    """

    warped: torch.Tensor
    target: torch.Tensor
    target_extra: torch.Tensor | None
    target_from_crop: torch.Tensor
    warp_points: torch.Tensor
    angle: torch.Tensor
    scale: torch.Tensor
    shift: torch.Tensor
    flipped: torch.Tensor


def augment_batch(
    images: torch.Tensor,
    *,
    size: int,
    config: AugmentConfig,
    generator: torch.Generator,
    extra: torch.Tensor | None = None,
) -> Augmented:
    """Make warped inputs and aligned targets from a batch of square face crops.

    See the module docstring for the method. Colour jitter (brightness, then contrast,
    then saturation) uses the same random factors for a sample's warped input and
    target, and never touches ``extra``.

    Args:
        images: the crops, either uint8 (B, H, W, 3) RGB in [0, 255] as faces are held
            in memory, or float (B, 3, H, W) RGB in [0, 1]; H == W; any device.
        size: side of the outputs in pixels.
        config: augmentation strengths.
        generator: the only source of randomness; equally seeded generators give equal
            batches. It may live on another device than ``images``.
        extra: optional float (B, K, H, W) maps in crop space (e.g. region masks),
            resampled with the target's geometry (bilinear, border replicated).

    Returns:
        An ``Augmented`` with float32 tensors on the device of ``images``.

    Convention:
        Points are (x, y) pixels with pixel centres on integers; ``target_from_crop``
        maps source crop pixels to target pixels (``xy' = M[:, :2] @ xy + M[:, 2]``), so
        the target equals ``cv2.warpAffine(crop, M, (size, size))`` with replicated
        border. Sampling uses ``grid_sample(..., align_corners=False)``: normalised -1
        and 1 are the outer edges of the image, so pixel ``x`` of a side ``n`` is
        ``(2 x + 1) / n - 1``.

    >>> g = torch.Generator().manual_seed(0)
    >>> crops = torch.randint(0, 256, (2, 128, 128, 3), dtype=torch.uint8)
    >>> out = augment_batch(crops, size=32, config=AugmentConfig(), generator=g)
    >>> tuple(out.warped.shape), tuple(out.target.shape), out.target_extra
    ((2, 3, 32, 32), (2, 3, 32, 32), None)
    """
    if not isinstance(images, torch.Tensor):
        raise InvalidOptionError("images", type(images).__name__, "a torch.Tensor")
    if images.dtype == torch.uint8:
        check_tensor(images, "images", ["B", "N", "N", 3])
        source = images.permute(0, 3, 1, 2)
    elif images.is_floating_point():
        check_tensor(images, "images", ["B", 3, "N", "N"])
        source = images
    else:
        raise InvalidOptionError("images", described(images.dtype, "dtype"), "uint8 (B, N, N, 3) or float (B, 3, N, N)")
    batch, side = source.shape[0], source.shape[-1]
    if extra is not None:
        check_tensor(extra, "extra", [batch, "K", side, side], floating=True)
    if not isinstance(size, numbers.Integral) or isinstance(size, bool):
        raise InvalidOptionError("size", size, "an int")
    size = int(size)
    check_range(size, "size", low=1)
    if not isinstance(config, AugmentConfig):
        raise InvalidOptionError("config", type(config).__name__, "an AugmentConfig")
    if not isinstance(generator, torch.Generator):
        raise InvalidOptionError("generator", type(generator).__name__, "a torch.Generator")

    device = images.device
    # Draw everything up front in a fixed layout, on the generator's device.
    uniform = torch.rand(batch, 8, generator=generator, device=generator.device, dtype=torch.float32).to(device)
    noise = torch.randn(batch, _GRID, _GRID, 2, generator=generator, device=generator.device, dtype=torch.float32).to(
        device
    )
    signed = 2.0 * uniform - 1.0  # uniform in [-1, 1]

    angle = config.rotation * signed[:, _ANGLE]
    scale = 1.0 + config.zoom * signed[:, _SCALE]
    shift = config.shift * side * signed[:, [_TX, _TY]]
    flipped = uniform[:, _FLIP] < config.flip
    transformed_from_crop = _random_transform(angle, scale, shift, flipped, side)

    # The noisy grid lives in the transformed crop; the regular grid in the output.
    regular = _regular_grid(side, config.warp_coverage, device)  # (5, 5, 2)
    noisy = regular + config.warp_sigma * side * noise  # (B, 5, 5, 2)
    step = size / (_GRID - 1)
    nodes = torch.arange(_GRID, device=device, dtype=torch.float32) * step - 0.5
    output_grid = torch.stack(torch.meshgrid(nodes, nodes, indexing="xy"), dim=-1)
    fitted = umeyama_batched(noisy.reshape(batch, -1, 2), output_grid.reshape(1, -1, 2).expand(batch, -1, -1))
    target_from_crop = fitted @ transformed_from_crop  # (B, 3, 3)

    # Bilinear interpolation commutes with the affine inverse transform, so map the 25
    # points back to the source crop and upsample them there: one resampling in all.
    crop_from_transformed = _invert(transformed_from_crop)
    warp_points = _apply(crop_from_transformed, noisy.reshape(batch, -1, 2)).reshape(noisy.shape)
    weights = _upsample_weights(size, device)  # (size, 5)
    planes = _to_normalised(warp_points, side).permute(0, 3, 1, 2)  # (B, 2, 5, 5): x, y
    warp_grid = (weights @ planes @ weights.T).permute(0, 2, 3, 1)  # (B, size, size, 2)

    theta = _normaliser(side, device) @ _invert(target_from_crop) @ _denormaliser(size, device)
    target_grid = F.affine_grid(theta[:, :2], [batch, 1, size, size], align_corners=False)

    # uint8 is sampled on its 0..255 scale and scaled on the (smaller) outputs.
    gain = 1.0 / 255.0 if images.dtype == torch.uint8 else 1.0
    source = source.to(torch.float32)
    warped = _sample(source, warp_grid).mul_(gain).clamp_(0.0, 1.0)
    target = _sample(source, target_grid).mul_(gain).clamp_(0.0, 1.0)
    target_extra = None if extra is None else _sample(extra.to(torch.float32), target_grid)

    warped, target = _colour_jitter(warped, target, signed, config)
    return Augmented(
        warped=warped,
        target=target,
        target_extra=target_extra,
        target_from_crop=target_from_crop[:, :2].contiguous(),
        warp_points=warp_points,
        angle=angle,
        scale=scale,
        shift=shift,
        flipped=flipped,
    )


def umeyama_batched(src: torch.Tensor, dst: torch.Tensor, *, estimate_scale: bool = True) -> torch.Tensor:
    """Least-squares similarity transforms taking each ``src`` point set onto ``dst``.

    Umeyama (1991) for a batch: SVD of the 2x2 cross-covariances, with the reflection
    correction so every result is a proper rotation (times a scale) even when the best
    orthogonal fit would mirror. The batched twin of ``facetwin.faces.align.umeyama``.

    Args:
        src: float (B, N, 2) points, N >= 2.
        dst: float (B, N, 2) corresponding points.
        estimate_scale: fit a uniform scale; otherwise a rigid transform.

    Returns:
        (B, 3, 3) homogeneous matrices ``T`` (dtype of ``src``) with
        ``dst ~ T @ [x, y, 1]``.

    Convention: (x, y) points; the matrices act on column vectors.

    >>> src = torch.tensor([[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])
    >>> m = umeyama_batched(src, 2 * src + torch.tensor([3.0, 4.0]))
    >>> m[0, :2].round(decimals=4) + 0.0  # + 0.0 turns -0. into 0.
    tensor([[2., 0., 3.],
            [0., 2., 4.]])
    """
    check_tensor(src, "src", ["B", "N", 2], floating=True)
    check_tensor(dst, "dst", [src.shape[0], src.shape[1], 2], floating=True)
    check_range(src.shape[1], "number of points", low=2)
    dst = dst.to(src.dtype)
    mu_src, mu_dst = src.mean(dim=1, keepdim=True), dst.mean(dim=1, keepdim=True)
    src_c, dst_c = src - mu_src, dst - mu_dst
    cov = dst_c.transpose(1, 2) @ src_c / src.shape[1]  # (B, 2, 2)
    u, sigma, vh = torch.linalg.svd(cov)
    det = _det2(u) * _det2(vh)
    d = torch.ones_like(sigma)
    # Where the best orthogonal fit is a reflection, flip the weakest axis to rotate.
    d[:, -1] = torch.where(det < 0, -1.0, 1.0)
    rotation = u @ (d.unsqueeze(-1) * vh)
    if estimate_scale:
        var_src = src_c.square().sum(dim=(1, 2)) / src.shape[1]
        scale = torch.where(var_src > 0, (sigma * d).sum(-1) / var_src.clamp_min(1e-30), 1.0)
    else:
        scale = torch.ones_like(sigma[:, 0])
    linear = scale[:, None, None] * rotation
    out = torch.zeros(src.shape[0], 3, 3, dtype=src.dtype, device=src.device)
    out[:, :2, :2] = linear
    out[:, :2, 2] = mu_dst[:, 0] - (linear @ mu_src.transpose(1, 2))[..., 0]
    out[:, 2, 2] = 1.0
    return out


def _random_transform(
    angle: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor, flipped: torch.Tensor, side: int
) -> torch.Tensor:
    """(B, 3, 3) crop pixels -> transformed crop pixels.

    The same as ``cv2.getRotationMatrix2D`` about the centre, then the shift, then the flip.
    """
    radians = angle * (math.pi / 180.0)
    a, b = scale * torch.cos(radians), scale * torch.sin(radians)
    centre = (side - 1) / 2
    out = torch.zeros(angle.shape[0], 3, 3, dtype=torch.float32, device=angle.device)
    # Positive angles turn the picture counter-clockwise on screen (y points down).
    out[:, 0, 0], out[:, 0, 1], out[:, 1, 0], out[:, 1, 1] = a, b, -b, a
    out[:, 0, 2] = centre - a * centre - b * centre + shift[:, 0]
    out[:, 1, 2] = centre + b * centre - a * centre + shift[:, 1]
    out[:, 2, 2] = 1.0
    # The flip x -> side - 1 - x comes after the transform, as the seeds flipped its result.
    sign = torch.where(flipped, -1.0, 1.0)
    out[:, 0] *= sign[:, None]
    out[:, 0, 2] += torch.where(flipped, float(side - 1), 0.0)
    return out


def _regular_grid(side: int, coverage: float, device: torch.device) -> torch.Tensor:
    """(5, 5, 2) points (x, y) evenly over the central ``coverage`` of a crop, row = y."""
    half = coverage * side / 2
    axis = torch.linspace(-half, half, _GRID, device=device, dtype=torch.float32) + (side - 1) / 2
    return torch.stack(torch.meshgrid(axis, axis, indexing="xy"), dim=-1)


def _upsample_weights(size: int, device: torch.device) -> torch.Tensor:
    """(size, 5) bilinear weights: output pixel i reads the grid at 4 (i + 0.5) / size."""
    position = (torch.arange(size, device=device, dtype=torch.float32) + 0.5) * ((_GRID - 1) / size)
    nodes = torch.arange(_GRID, device=device, dtype=torch.float32)
    return (1.0 - (position[:, None] - nodes).abs()).clamp_min(0.0)


def _normaliser(n: int, device: torch.device) -> torch.Tensor:
    """(3, 3) pixels of a side ``n`` -> grid_sample coordinates (align_corners=False)."""
    return torch.tensor(
        [[2 / n, 0, 1 / n - 1], [0, 2 / n, 1 / n - 1], [0, 0, 1]],
        dtype=torch.float32,
        device=device,
    )


def _denormaliser(n: int, device: torch.device) -> torch.Tensor:
    """(3, 3) grid_sample coordinates (align_corners=False) -> pixels of a side ``n``."""
    return torch.tensor(
        [[n / 2, 0, (n - 1) / 2], [0, n / 2, (n - 1) / 2], [0, 0, 1]],
        dtype=torch.float32,
        device=device,
    )


def _to_normalised(points: torch.Tensor, n: int) -> torch.Tensor:
    return points * (2.0 / n) + (1.0 / n - 1.0)


def _apply(matrix: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """(B, 3, 3) or (B, 2, 3) matrices applied to (B, N, 2) points."""
    return points @ matrix[:, :2, :2].transpose(1, 2) + matrix[:, None, :2, 2]


def _det2(m: torch.Tensor) -> torch.Tensor:
    return m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0]


def _invert(matrix: torch.Tensor) -> torch.Tensor:
    """Inverse of (B, 3, 3) affine matrices (last row 0, 0, 1), in closed form."""
    linear = matrix[:, :2, :2]
    det = _det2(linear)
    inv = (
        torch.stack(
            [
                torch.stack([linear[:, 1, 1], -linear[:, 0, 1]], dim=-1),
                torch.stack([-linear[:, 1, 0], linear[:, 0, 0]], dim=-1),
            ],
            dim=1,
        )
        / det[:, None, None]
    )
    out = torch.zeros_like(matrix)
    out[:, :2, :2] = inv
    out[:, :2, 2] = -(inv @ matrix[:, :2, 2:])[..., 0]
    out[:, 2, 2] = 1.0
    return out


def _sample(source: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    return F.grid_sample(source, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _grey(x: torch.Tensor) -> torch.Tensor:
    r, g, b = _LUMA
    return r * x[:, 0:1] + g * x[:, 1:2] + b * x[:, 2:3]


def _colour_jitter(
    warped: torch.Tensor, target: torch.Tensor, signed: torch.Tensor, config: AugmentConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """Brightness, contrast, saturation with the same factors for warped and target."""
    if config.brightness > 0:
        factor = (1.0 + config.brightness * signed[:, _BRIGHT])[:, None, None, None]
        warped, target = (warped * factor).clamp_(0, 1), (target * factor).clamp_(0, 1)
    if config.contrast > 0:
        factor = (1.0 + config.contrast * signed[:, _CONTRAST])[:, None, None, None]
        # One mean grey per sample, the target's, so both images get the same mapping.
        mean = _grey(target).mean(dim=(2, 3), keepdim=True)
        warped = ((warped - mean) * factor + mean).clamp_(0, 1)
        target = ((target - mean) * factor + mean).clamp_(0, 1)
    if config.saturation > 0:
        factor = (1.0 + config.saturation * signed[:, _SATURATION])[:, None, None, None]
        warped = torch.lerp(_grey(warped), warped, factor).clamp_(0, 1)
        target = torch.lerp(_grey(target), target, factor).clamp_(0, 1)
    return warped, target
