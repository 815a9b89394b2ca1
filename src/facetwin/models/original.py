"""``original``: the 64x64 autoencoder of the first public face-swap code, layer for layer.

Kept exactly (82.06 M parameters, about 3.8 GFLOP per face forward, Glorot
initialisation) so facetwin's training can be compared with the original's loss log.
"""

from __future__ import annotations

import torch
from torch import nn

from facetwin.models.blocks import ConvBlock, LayerFactory, Upscale, init_glorot, leaky_relu
from facetwin.models.registry import SwapModel, register_model

__all__ = ["OriginalEncoder", "OriginalDecoder", "original"]


class OriginalEncoder(nn.Module):
    """conv k5 s2 3->128->256->512->1024, flatten, dense 16384->1024->16384, reshape
    4x4x1024, upscale to 8x8x512."""

    def __init__(self, *, act_layer: LayerFactory = leaky_relu, norm_layer: LayerFactory | None = None) -> None:
        super().__init__()
        chans = [3, 128, 256, 512, 1024]
        self.convs = nn.Sequential(
            *[
                ConvBlock(i, o, kernel=5, stride=2, act_layer=act_layer, norm_layer=norm_layer)
                for i, o in zip(chans, chans[1:])
            ]
        )
        self.dense = nn.Sequential(nn.Flatten(), nn.Linear(4 * 4 * 1024, 1024), nn.Linear(1024, 4 * 4 * 1024))
        self.upscale = Upscale(1024, 512, act_layer=act_layer, norm_layer=norm_layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dense(self.convs(x))
        return self.upscale(x.view(-1, 1024, 4, 4))


class OriginalDecoder(nn.Module):
    """upscale 512->256->128->64 (to 64x64), conv k5 to 3 (+1 mask) channels, sigmoid."""

    def __init__(
        self, *, mask: bool = False, act_layer: LayerFactory = leaky_relu, norm_layer: LayerFactory | None = None
    ) -> None:
        super().__init__()
        chans = [512, 256, 128, 64]
        self.up = nn.Sequential(
            *[Upscale(i, o, act_layer=act_layer, norm_layer=norm_layer) for i, o in zip(chans, chans[1:])]
        )
        self.out = nn.Conv2d(64, 4 if mask else 3, 5, padding=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.out(self.up(x)))


@register_model
def original(*, mask: bool = False) -> SwapModel:
    """The original 64x64 model (82 M parameters); for comparison with the first face swap."""
    model = SwapModel(
        OriginalEncoder(), OriginalDecoder(mask=mask), OriginalDecoder(mask=mask), input_size=64, predicts_mask=mask
    )
    init_glorot(model)
    model.config = {"mask": mask}
    return model
