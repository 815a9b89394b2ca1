"""A convolution as matrix products: the same values and gradients as torch's convolution."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from facetwin.models import conv, create_model
from facetwin.models.conv import Conv2d, conv2d_matmul

# (in, out, kernel, stride, input size): the shapes the models give it (4x4 outputs) and
# an odd one (3x3 output, 5x5 kernel over a 6x6 input).
CASES = [(8, 16, 3, 1, 4), (8, 16, 5, 2, 8), (6, 4, 3, 2, 8), (5, 7, 5, 2, 6)]


def _grads(layer_fn, x, w, b):
    x, w = x.clone().requires_grad_(), w.clone().requires_grad_()
    b = b.clone().requires_grad_() if b is not None else None
    out = layer_fn(x, w, b)
    (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
    return out, x.grad, w.grad, None if b is None else b.grad


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", CASES)
def test_gradients_equal_torch_convolution_in_float64(case, bias, channels_last):
    c, o, k, s, size = case
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(3, c, size, size, generator=gen, dtype=torch.float64)
    w = torch.randn(o, c, k, k, generator=gen, dtype=torch.float64)
    b = torch.randn(o, generator=gen, dtype=torch.float64) if bias else None
    if channels_last:
        x, w = x.to(memory_format=torch.channels_last), w.to(memory_format=torch.channels_last)
    pad = (k // 2, k // 2)
    ref = _grads(lambda x, w, b: F.conv2d(x, w, b, s, pad), x, w, b)
    mine = _grads(lambda x, w, b: conv2d_matmul(x, w, b, (s, s), pad), x, w, b)
    for r, m in zip(ref, mine):
        if r is not None:
            torch.testing.assert_close(m, r, rtol=1e-10, atol=1e-10)
    # The weight gradient comes in the weight's own layout (no conversion in AccumulateGrad).
    assert mine[2].is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    if channels_last:
        assert mine[1].stride() == x.stride()  # the input gradient too


def test_gradcheck():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 6, 6, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 3, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, generator=gen, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: conv2d_matmul(x, w, b, (2, 2), (1, 1)), (x, w, b))


def test_bf16_autocast_gradients_as_close_to_exact_as_torch_s():
    """Under CPU autocast both paths round to bf16; the im2col gradient must be no
    further from the float64 truth than oneDNN's own."""
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(16, 64, 4, 4, generator=gen).to(memory_format=torch.channels_last)
    layer = Conv2d(64, 128, 3, padding=1).to(memory_format=torch.channels_last)
    plain = nn.Conv2d(64, 128, 3, padding=1).to(memory_format=torch.channels_last)
    plain.load_state_dict(layer.state_dict())
    exact = nn.Conv2d(64, 128, 3, padding=1).double()
    exact.load_state_dict(layer.state_dict())
    exact(x.double()).square().mean().backward()
    errors = {}
    for name, net in (("im2col", layer), ("torch", plain)):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = net(x)
        assert out.dtype == torch.bfloat16
        out.float().square().mean().backward()
        assert net.weight.grad.dtype == torch.float32
        errors[name] = ((net.weight.grad.double() - exact.weight.grad).norm() / exact.weight.grad.norm()).item()
    assert errors["im2col"] < 1e-2
    assert errors["im2col"] <= 1.5 * errors["torch"] + 1e-4, errors


def test_layer_takes_the_matmul_path_only_for_small_outputs_on_the_cpu():
    layer = Conv2d(8, 8, 3, padding=1)
    small, large = torch.randn(2, 8, 4, 4), torch.randn(2, 8, 8, 8)
    assert type(layer(small).grad_fn).__name__ == "_MatmulConvBackward"
    assert type(layer(large).grad_fn).__name__ == "ConvolutionBackward0"
    with torch.no_grad():
        assert layer(small).grad_fn is None
    # The module is an nn.Conv2d with its parameters and forward: state dicts are interchangeable.
    assert isinstance(layer, nn.Conv2d) and list(layer.state_dict()) == ["weight", "bias"]
    torch.testing.assert_close(layer(small), F.conv2d(small, layer.weight, layer.bias, 1, 1))


def test_model_gradients_unchanged(monkeypatch):
    """A whole tiny model: the same gradients in float64 with the matmul path on and off."""
    torch.manual_seed(3)
    model = create_model("tiny64").double()
    x = torch.rand(4, 3, 64, 64, dtype=torch.float64)
    calls = []
    patches = conv._patches
    monkeypatch.setattr(conv, "_patches", lambda *a: calls.append(a[0].shape) or patches(*a))
    grads = {}
    for limit in (conv.MATMUL_MAX_OUTPUT, 0):
        monkeypatch.setattr(conv, "MATMUL_MAX_OUTPUT", limit)
        model.zero_grad(set_to_none=True)
        model(x, to="a").mean().backward()
        grads[limit] = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    # The encoder's last strided convolution and its upscale (4x4 outputs), on the first pass only.
    assert len(calls) == 2, calls
    on, off = grads.values()
    assert on.keys() == off.keys()
    for name in on:
        torch.testing.assert_close(on[name], off[name], rtol=1e-9, atol=1e-12)
