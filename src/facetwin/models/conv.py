"""A 2-D convolution computed as matrix products where the CPU's convolution is slow.

On the CPU, oneDNN runs convolutions with a tiny output (4x4 here: the encoder's last
strided convolution and its upscale, 512-2048 channels) far below the machine's matrix
speed; their weight gradient at about float32 speed even in bf16 on AMX (85 GFLOP/s
against 1,090 for a bf16 matrix product on one core of a Sapphire Rapids Xeon). Forward,
input gradient and weight gradient of such a layer are each one matrix product over the
input's patches (im2col): gathered once from the channels-last input as (N*L, kh*kw*C),
they meet the weight viewed as (O, kh*kw*C) with no copy, since a channels-last weight is
laid out (O, kh, kw, C). Batch 64, two threads, bf16: forward 65 -> 21 ms and backward
302 -> 69 ms on the 1024->2048 4x4 upscale of ``original``; at 8x8 the two are even and
at 16x16 oneDNN is 3x faster, hence the threshold (docs/BENCHMARKS.md, "Speed (issue 19,
second part)", Training).

The module is an ``nn.Conv2d`` (same parameters, same state dict, same values), so
checkpoints and every other path are unaffected; only training on the CPU with small
outputs goes this way, equal to torch's convolution in float64 and within bf16 rounding
of it under autocast (tests/models/test_conv.py).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Conv2d", "conv2d_matmul", "MATMUL_MAX_OUTPUT"]

#: Output sizes (height x width) up to which a training convolution on the CPU is a
#: matrix product; measured per layer (see above).
MATMUL_MAX_OUTPUT = 16


def _patches(x: torch.Tensor, kernel: tuple[int, int], stride, padding) -> torch.Tensor:
    """(N*Ho*Wo, kh*kw*C): every output position's input patch, (kh, kw, C)-major."""
    c = x.shape[1]
    kh, kw = kernel
    nhwc = F.pad(x.permute(0, 2, 3, 1), (0, 0, padding[1], padding[1], padding[0], padding[0]))
    patches = nhwc.unfold(1, kh, stride[0]).unfold(2, kw, stride[1])  # N, Ho, Wo, C, kh, kw
    return patches.permute(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * c)


class _MatmulConv(torch.autograd.Function):
    """conv2d as out = patches @ W^T; dW = dout^T @ patches; dx = col2im(dout @ W)."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding):  # type: ignore[override]
        n, c, h, w = x.shape
        out_ch, _, kh, kw = weight.shape
        ho = (h + 2 * padding[0] - kh) // stride[0] + 1
        wo = (w + 2 * padding[1] - kw) // stride[1] + 1
        cols = _patches(x, (kh, kw), stride, padding)
        w2 = weight.permute(0, 2, 3, 1).reshape(out_ch, -1)  # a view for a channels-last weight
        # Written into a channels-last tensor of its own: a view of the product would
        # forbid the in-place activation that follows.
        out = torch.empty((n, out_ch, ho, wo), dtype=cols.dtype, memory_format=torch.channels_last)
        rows = out.permute(0, 2, 3, 1).view(-1, out_ch)
        if bias is not None:
            torch.addmm(bias, cols, w2.t(), out=rows)
        else:
            torch.mm(cols, w2.t(), out=rows)
        ctx.save_for_backward(cols, w2)
        ctx.geometry = (n, c, h, w, ho, wo, kh, kw, stride, padding)
        ctx.weight_channels_last = weight.is_contiguous(memory_format=torch.channels_last)
        ctx.has_bias = bias is not None
        return out

    @staticmethod
    def backward(ctx, grad_out):  # type: ignore[override]
        cols, w2 = ctx.saved_tensors
        n, c, h, w, ho, wo, kh, kw, stride, padding = ctx.geometry
        out_ch = grad_out.shape[1]
        go = grad_out.permute(0, 2, 3, 1).reshape(-1, out_ch)  # N*L, O
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_cols = (go @ w2).view(n, ho, wo, kh, kw, c)
            # col2im: each kernel tap's gradient lands on its strided slice of the padded
            # input, summed in float32 as a convolution accumulates.
            sh, sw = stride
            acc = torch.promote_types(go.dtype, torch.float32)
            padded = torch.zeros(n, h + 2 * padding[0] + sh, w + 2 * padding[1] + sw, c, dtype=acc)
            for i in range(kh):
                for j in range(kw):
                    padded[:, i : i + sh * ho : sh, j : j + sw * wo : sw] += grad_cols[:, :, :, i, j]
            grad_x = padded[:, padding[0] : padding[0] + h, padding[1] : padding[1] + w].to(go.dtype)
            grad_x = grad_x.permute(0, 3, 1, 2)
        if ctx.needs_input_grad[1]:
            grad_w = (go.t() @ cols).view(out_ch, kh, kw, c).permute(0, 3, 1, 2)  # channels-last
            if not ctx.weight_channels_last:
                grad_w = grad_w.contiguous()  # the weight's own layout: no conversion in AccumulateGrad
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = go.sum(0)
        return grad_x, grad_w, grad_b, None, None


def _autocast_dtype(device_type: str) -> torch.dtype | None:
    """The dtype autocast casts a convolution to on this device, None when it is off."""
    if hasattr(torch, "get_autocast_dtype"):  # torch >= 2.4
        return torch.get_autocast_dtype(device_type) if torch.is_autocast_enabled(device_type) else None
    # torch 2.3 asks per device; the layer takes this path on the CPU only
    return torch.get_autocast_cpu_dtype() if torch.is_autocast_cpu_enabled() else None


def conv2d_matmul(
    x: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
) -> torch.Tensor:
    """``F.conv2d`` (no dilation, one group) as matrix products over the input's patches,
    forward and backward; the output is channels-last in memory. Under CPU autocast, casts
    its inputs as autocast would for a convolution.

    >>> x, w = torch.randn(2, 8, 4, 4, requires_grad=True), torch.randn(16, 8, 3, 3, requires_grad=True)
    >>> conv2d_matmul(x, w, padding=(1, 1)).shape
    torch.Size([2, 16, 4, 4])
    """
    dtype = _autocast_dtype(x.device.type)
    if dtype is not None:
        x, weight = x.to(dtype), weight.to(dtype)
        bias = bias.to(dtype) if bias is not None else None
        with torch.autocast(x.device.type, enabled=False):
            return _MatmulConv.apply(x, weight, bias, tuple(stride), tuple(padding))
    return _MatmulConv.apply(x, weight, bias, tuple(stride), tuple(padding))


class Conv2d(nn.Conv2d):
    """``nn.Conv2d`` that trains through :func:`conv2d_matmul` on the CPU when its output
    is at most :data:`MATMUL_MAX_OUTPUT` pixels; elsewhere exactly ``nn.Conv2d``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            x.device.type == "cpu"
            and torch.is_grad_enabled()
            and self.weight.requires_grad
            and self.groups == 1
            and self.dilation == (1, 1)
            and self.padding_mode == "zeros"
            and isinstance(self.padding, tuple)
        ):
            h = (x.shape[-2] + 2 * self.padding[0] - self.kernel_size[0]) // self.stride[0] + 1
            w = (x.shape[-1] + 2 * self.padding[1] - self.kernel_size[1]) // self.stride[1] + 1
            if h * w <= MATMUL_MAX_OUTPUT:
                return conv2d_matmul(x, self.weight, self.bias, self.stride, self.padding)
        return super().forward(x)
