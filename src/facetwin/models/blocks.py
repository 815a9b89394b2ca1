"""Building blocks shared by every architecture.

Activation and normalisation are injected (``act_layer``, ``norm_layer``) so one
block serves the original's plain LeakyReLU convolutions and variants with norms.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from facetwin.models.conv import Conv2d

__all__ = ["LayerFactory", "leaky_relu", "ConvBlock", "Upscale", "ResBlock", "init_glorot"]

#: Builds a layer for a channel count, e.g. ``lambda c: nn.BatchNorm2d(c)``.
LayerFactory = Callable[[int], nn.Module]


def leaky_relu(channels: int) -> nn.Module:
    """The original's activation: LeakyReLU with slope 0.1."""
    return nn.LeakyReLU(0.1, inplace=True)


class ConvBlock(nn.Sequential):
    """Convolution (same padding), optional norm, activation."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel: int = 5,
        stride: int = 2,
        act_layer: LayerFactory = leaky_relu,
        norm_layer: LayerFactory | None = None,
    ) -> None:
        layers: list[nn.Module] = [
            Conv2d(in_channels, out_channels, kernel, stride, padding=kernel // 2, bias=norm_layer is None)
        ]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        layers.append(act_layer(out_channels))
        super().__init__(*layers)


class Upscale(nn.Sequential):
    """Double the resolution: conv to 4x channels, activation, pixel shuffle (sub-pixel conv)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel: int = 3,
        act_layer: LayerFactory = leaky_relu,
        norm_layer: LayerFactory | None = None,
    ) -> None:
        layers: list[nn.Module] = [
            Conv2d(in_channels, out_channels * 4, kernel, padding=kernel // 2, bias=norm_layer is None)
        ]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels * 4))
        layers += [act_layer(out_channels * 4), nn.PixelShuffle(2)]
        super().__init__(*layers)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with a skip: more depth at one resolution for little cost."""

    def __init__(
        self, channels: int, *, act_layer: LayerFactory = leaky_relu, norm_layer: LayerFactory | None = None
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            Conv2d(channels, channels, 3, padding=1, bias=norm_layer is None),
            norm_layer(channels) if norm_layer is not None else nn.Identity(),
            act_layer(channels),
            Conv2d(channels, channels, 3, padding=1, bias=norm_layer is None),
            norm_layer(channels) if norm_layer is not None else nn.Identity(),
        )
        self.act = act_layer(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


def init_glorot(module: nn.Module) -> None:
    """Glorot-uniform weights and zero biases, as Keras initialised the original.

    PyTorch's default (Kaiming-uniform with a=sqrt(5)) starts the original model at a
    different loss and follows a different curve; matching the reference log needs
    the reference's initialisation.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
