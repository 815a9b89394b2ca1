"""The losses' gradients, checked against finite differences in float64 (torch.autograd.gradcheck).

Hand-written losses can be right in value and wrong in gradient (a detached term, a
clamp in the wrong place); training would then only be slower or worse, never fail.
"""

from __future__ import annotations

import pytest
import torch

from facetwin.training.losses import l1_loss, ssim, ssim_loss


def _images(seed: int, *shape: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("loss", [l1_loss, ssim_loss], ids=["l1", "dssim"])
@pytest.mark.parametrize("weighted", [False, True], ids=["plain", "weighted"])
def test_loss_gradients_match_finite_differences(loss, weighted):
    pred = _images(0, 2, 3, 12, 12).requires_grad_()
    target = _images(1, 2, 3, 12, 12)
    weight = 1 + 2 * _images(2, 2, 1, 12, 12) if weighted else None
    assert torch.autograd.gradcheck(lambda p: loss(p, target, weight), (pred,), eps=1e-6, atol=1e-5)


def test_ssim_gradient_reaches_both_images():
    pred, target = _images(3, 1, 3, 16, 16).requires_grad_(), _images(4, 1, 3, 16, 16).requires_grad_()
    assert torch.autograd.gradcheck(lambda p, t: ssim(p, t).mean(), (pred, target), eps=1e-6, atol=1e-5)


def test_half_precision_inputs_are_computed_in_float32():
    pred, target = _images(5, 1, 3, 16, 16), _images(6, 1, 3, 16, 16)
    wide = ssim_loss(pred.float(), target.float())
    narrow = ssim_loss(pred.bfloat16(), target.bfloat16())
    assert narrow.dtype == torch.float32 and abs(float(narrow) - float(wide)) < 5e-3
    assert l1_loss(pred.bfloat16(), target.bfloat16()).dtype == torch.float32
