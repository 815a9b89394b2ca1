"""The blend mask at the model window's edge, before and after it was faded inside the window.

A decoder that returns its input tinted makes every edge of the pasted window visible.
"before" is the swap with the edge fade switched off (what conversion did until the fade
came in: the mask stood at about 0.6 on the window's edge); "now" is conversion as it is.
Uses the astronaut portrait that scikit-image ships.

    python benchmarks/window_edge.py docs/images/window-edge.jpg
"""

from __future__ import annotations

import sys

import cv2
import numpy as np
import torch
from skimage import data
from torch import nn

import facetwin.conversion.swap as swap_module
from facetwin.config import ConvertConfig, ExtractConfig
from facetwin.conversion.swap import FaceSwapper, SwapFace
from facetwin.faces import FaceFinder
from facetwin.models import SwapModel


class Tint(nn.Module):
    def __init__(self, tint: list[float]) -> None:
        super().__init__()
        self.register_buffer("tint", torch.tensor(tint).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x + self.tint).clamp(0, 1)


def main(path: str) -> int:
    model = SwapModel(
        nn.Identity(), Tint([0.25, -0.05, -0.15]), Tint([0.0, 0.0, 0.0]), input_size=64, predicts_mask=False
    )
    image = data.astronaut()
    face = FaceFinder(ExtractConfig(), video=False)(image, 0.0)[0]
    faces = [SwapFace(face.landmarks, 0)]
    config = ConvertConfig(colour="none", mask="hull")
    now, _ = FaceSwapper(model, config).swap(image, faces)
    fade = swap_module.fade_at_edges
    swap_module.fade_at_edges = lambda mask, width: mask  # the mask as it was
    try:
        before, _ = FaceSwapper(model, config).swap(image, faces)
    finally:
        swap_module.fade_at_edges = fade
    x0, y0, x1, y1 = face.box.astype(int)
    pad = 50
    cells = []
    for picture, label in ((image, "input"), (before, "before"), (now, "now")):
        crop = picture[max(y0 - pad, 0) : y1 + pad, max(x0 - pad, 0) : x1 + pad]
        crop = cv2.resize(crop, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_CUBIC)
        caption = np.full((26, crop.shape[1], 3), 255, np.uint8)
        cv2.putText(caption, label, (5, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        cells.append(np.pad(np.concatenate([crop, caption]), ((2, 2), (2, 2), (0, 0)), constant_values=255))
    cv2.imwrite(path, cv2.cvtColor(np.concatenate(cells, axis=1), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "window-edge.jpg"))
