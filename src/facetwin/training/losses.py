"""Reconstruction losses, computed in float32 whatever the autocast precision.

All take predictions and targets as (B, C, H, W) in [0, 1] and an optional per-pixel
weight map (B, 1, H, W) that emphasises regions (eyes and mouth).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["l1_loss", "ssim", "ssim_loss", "gaussian_window"]


def _wide(x: torch.Tensor) -> torch.Tensor:
    """float32 from bf16 or float16 (autocast's outputs); float64 stays float64 (gradcheck)."""
    return x if x.dtype == torch.float64 else x.float()


def l1_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean absolute error; with ``weight``, a weighted mean (weights normalised to mean 1).

    >>> l1_loss(torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2))
    tensor(1.)
    """
    diff = (_wide(pred) - _wide(target)).abs()
    if weight is None:
        return diff.mean()
    weight = _wide(weight)
    return (diff * weight).mean() / weight.mean().clamp_min(1e-8)


def gaussian_window(size: int = 11, sigma: float = 1.5, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """Normalised 1-D Gaussian (size,), the window of Wang et al.'s SSIM."""
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(pred: torch.Tensor, target: torch.Tensor, *, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Per-pixel structural similarity map (B, C, H, W) (Wang et al. 2004, data range 1).

    Gaussian-weighted local statistics with reflect padding, so the map has the input's
    size and border pixels count like the rest.
    """
    pred, target = _wide(pred), _wide(target)
    c = pred.shape[1]
    g = gaussian_window(window, sigma, device=pred.device, dtype=pred.dtype)
    kx = g.view(1, 1, 1, -1).repeat(c, 1, 1, 1)
    ky = g.view(1, 1, -1, 1).repeat(c, 1, 1, 1)
    pad = window // 2

    def blur(x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        return F.conv2d(F.conv2d(x, kx, groups=c), ky, groups=c)

    mu_p, mu_t = blur(pred), blur(target)
    var_p = blur(pred * pred) - mu_p**2
    var_t = blur(target * target) - mu_t**2
    cov = blur(pred * target) - mu_p * mu_t
    c1, c2 = 0.01**2, 0.03**2
    return ((2 * mu_p * mu_t + c1) * (2 * cov + c2)) / ((mu_p**2 + mu_t**2 + c1) * (var_p + var_t + c2))


def ssim_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """DSSIM, (1 - SSIM) / 2, averaged (weighted by ``weight`` when given); 0 for identical images.

    >>> x = torch.rand(1, 3, 16, 16)
    >>> float(ssim_loss(x, x)) < 1e-6
    True
    """
    dissimilarity = (1 - ssim(pred, target)) / 2
    if weight is None:
        return dissimilarity.mean()
    weight = _wide(weight)
    return (dissimilarity * weight).mean() / weight.mean().clamp_min(1e-8)
