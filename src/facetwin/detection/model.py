"""The baseline detector's network: a small CNN trained from scratch.

Not in ``facetwin.models``' registry: every model there is a face-swap ``SwapModel``
called as ``model(x, to="a"|"b")``; this one takes a face crop and returns one number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from facetwin._check import check_path, check_tensor
from facetwin.errors import CheckpointFormatError, FacetwinError, ModelDirError, NotAModelDirError
from facetwin.models.blocks import ConvBlock, LayerFactory, ResBlock

__all__ = [
    "DetectorNet",
    "score_crops",
    "build_detector",
    "load_detector",
    "is_detector_dir",
    "read_detector_config",
    "use_bf16",
    "DETECTOR_KIND",
]


def _relu(channels: int) -> nn.Module:
    return nn.ReLU(inplace=True)


def _batch_norm(channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels)


class DetectorNet(nn.Module):
    """Face crop -> logit that it is fake.

    A full-resolution stem (a swap's traces are fine: blending seams, resampling, the
    decoder's texture, so nothing is thrown away before the first convolution), then
    four stages that each halve the resolution with a strided 3x3 convolution and add a
    residual block, global average pooling and one linear layer. About 1.1 M parameters
    at ``width`` 24; no downloaded weights.

    Args:
        width: channels of the first stage; each stage doubles them.
        stages: number of stages.
        act_layer, norm_layer: injected as in ``facetwin.models.blocks``.
    """

    def __init__(
        self,
        *,
        width: int = 24,
        stages: int = 4,
        act_layer: LayerFactory = _relu,
        norm_layer: LayerFactory = _batch_norm,
    ) -> None:
        super().__init__()
        self.config: dict[str, Any] = {"width": width, "stages": stages}
        stem = max(width // 2, 8)
        layers: list[nn.Module] = [ConvBlock(3, stem, kernel=3, stride=1, act_layer=act_layer, norm_layer=norm_layer)]
        channels = stem
        for i in range(stages):
            out = width * 2**i
            layers += [
                ConvBlock(channels, out, kernel=3, stride=2, act_layer=act_layer, norm_layer=norm_layer),
                ResBlock(out, act_layer=act_layer, norm_layer=norm_layer),
            ]
            channels = out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(channels, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        # Each residual block starts as the identity (its last norm at zero): a deep
        # net from scratch then trains as fast as a shallow one in the first steps.
        for m in self.modules():
            if isinstance(m, ResBlock) and isinstance(getattr(m.body[4], "weight", None), torch.Tensor):
                nn.init.zeros_(m.body[4].weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B,) for face crops ``x`` (B, 3, S, S), RGB in [0, 1]; sigmoid gives P(fake)."""
        check_tensor(x, "x", ["B", 3, "S", "S"], floating=True)
        features = self.features(x * 2.0 - 1.0)
        return self.head(features.mean(dim=(2, 3))).squeeze(1)


def use_bf16(precision: str, device: torch.device) -> bool:
    """bf16 autocast only on CUDA GPUs with bf16 (or when asked for): on the CPU this
    network's small convolutions ran 10-20x slower in bf16 than in float32 (docs/design.md)."""
    if precision != "auto":
        return precision == "bf16"
    return device.type == "cuda" and torch.cuda.is_bf16_supported()


def score_crops(
    model: nn.Module,
    crops: torch.Tensor,
    *,
    device: torch.device,
    bf16: bool = False,
    batch_size: int = 64,
    channels_last: bool = True,
) -> torch.Tensor:
    """P(fake) of each crop: (N,) float32 on the CPU, for uint8 crops (N, S, S, 3) RGB.

    The model is put in eval mode (batch norm from its running statistics) and left so.
    """
    check_tensor(crops, "crops", ["N", "S", "S", 3])
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(crops), batch_size):
            x = crops[start : start + batch_size].to(device).permute(0, 3, 1, 2).float().div_(255.0)
            if channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                logits = model(x)
            out.append(torch.sigmoid(logits.float()).cpu())
    return torch.cat(out) if out else torch.zeros(0)


#: config.json's "kind" in a detector folder (a face-swap model's has none).
DETECTOR_KIND = "facetwin/detector"


def is_detector_dir(path: str | Path) -> bool:
    """True if ``path`` holds a detector saved by ``train_detector`` (presence only)."""
    from facetwin.models.checkpoint import is_model_dir, read_config

    if not is_model_dir(path):
        return False
    try:
        return read_config(path).get("kind") == DETECTOR_KIND
    except FacetwinError:
        return True  # damaged: loading says what is wrong


def read_detector_config(path: str | Path) -> dict[str, Any]:
    """config.json of a detector folder.

    Raises:
        NotAModelDirError: no such folder, or no detector files in it.
        ModelDirError: a folder of something else (a face-swap model).
        CheckpointFormatError, CorruptCheckpointError: a damaged config.json.
    """
    from facetwin.models.checkpoint import read_config

    path = check_path(path, "detector")
    if not path.is_dir() or not (path / "config.json").is_file():
        raise NotAModelDirError(path, "is not a detector folder: it holds no config.json")
    config = read_config(path)
    if config.get("kind") != DETECTOR_KIND:
        raise ModelDirError(
            path,
            "holds a face-swap model, not a detector" if "model" in config else "is not a detector folder",
            "give a folder written by facetwin detect train",
        )
    if not isinstance(config.get("detector"), dict):
        raise CheckpointFormatError(path, "config.json", "describes no detector network")
    return config


def build_detector(settings: dict[str, Any]) -> DetectorNet:
    """The network described by config.json's "detector" (random weights)."""
    return DetectorNet(width=int(settings["width"]), stages=int(settings.get("stages", 4)))


def load_detector(path: str | Path, *, device: str | torch.device = "cpu") -> tuple[DetectorNet, dict[str, Any]]:
    """The trained detector of ``path`` in eval mode, and its config.json.

    Raises:
        as ``read_detector_config``, and ``load_checkpoint`` for damaged weights.
    """
    from facetwin.models.checkpoint import load_checkpoint

    config = read_detector_config(path)
    try:
        model = build_detector(config["detector"])
    except (KeyError, TypeError, ValueError) as error:
        raise CheckpointFormatError(
            path, "config.json", f"describes a detector this facetwin cannot build ({error})"
        ) from error
    load_checkpoint(path, model=model)
    return model.to(device).eval(), config
