"""Preview grids: how well each decoder rebuilds its own person and renders the other.

Watching the swap columns is how a user decides that training has gone far enough, so
the grid keeps a fixed layout (one row per face, the same six columns, labelled) and
is exact: each cell holds the model's output rounded to uint8, nothing else, which
also lets tests check cells pixel for pixel.

Layout, top to bottom: a header strip with the column labels, then one row of cells
per face. Left to right: ``A | A->A | A->B``, a thin separator, ``B | B->B | B->A``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

from facetwin._check import check_array, check_tensor
from facetwin.errors import InvalidOptionError
from facetwin.forensics.provenance import Provenance, write_marked_png

__all__ = ["make_preview", "write_preview", "preview_layout", "PreviewLayout", "COLUMN_LABELS"]

COLUMN_LABELS = ("A", "A->A", "A->B", "B", "B->B", "B->A")  # Hershey fonts have no arrow glyph
_SEPARATOR = 4  # pixels between the A and B halves
_SEPARATOR_RGB = (128, 128, 128)
_HEADER_RGB = (24, 24, 24)
_LABEL_RGB = (255, 255, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


@dataclass(frozen=True)
class PreviewLayout:
    """Where things are in a preview grid of ``rows`` faces and cells of ``cell`` (H, W) pixels."""

    rows: int
    cell: tuple[int, int]
    header: int  # height of the label strip in pixels
    font_scale: float

    @property
    def shape(self) -> tuple[int, int, int]:
        """(H, W, 3) of the whole grid."""
        h, w = self.cell
        return (self.header + self.rows * h, 6 * w + _SEPARATOR, 3)

    def cell_slices(self, row: int, col: int) -> tuple[slice, slice]:
        """(y, x) slices of the cell at ``row`` (face) and ``col`` (0-5, as ``COLUMN_LABELS``)."""
        h, w = self.cell
        x = col * w + (_SEPARATOR if col >= 3 else 0)
        y = self.header + row * h
        return slice(y, y + h), slice(x, x + w)

    @property
    def separator_slices(self) -> tuple[slice, slice]:
        """(y, x) slices of the separator between the A and B halves, below the header."""
        x = 3 * self.cell[1]
        return slice(self.header, self.shape[0]), slice(x, x + _SEPARATOR)


def preview_layout(rows: int, height: int, width: int) -> PreviewLayout:
    """The layout ``make_preview`` uses for ``rows`` faces shown at ``height`` x ``width``.

    The label font scales with the cell width so the longest label fills at most 80 %
    of it, and stays between 0.3 and 1.0.

    >>> layout = preview_layout(2, 64, 64)
    >>> layout.shape, layout.cell_slices(1, 3)
    ((152, 388, 3), (slice(88, 152, None), slice(196, 260, None)))
    """
    (widest, _), _ = max((cv2.getTextSize(t, _FONT, 1.0, 1) for t in COLUMN_LABELS), key=lambda s: s[0][0])
    scale = float(np.clip(0.8 * width / widest, 0.3, 1.0))
    (_, text_h), baseline = cv2.getTextSize("A->B", _FONT, scale, 1)
    return PreviewLayout(rows=rows, cell=(height, width), header=text_h + baseline + 6, font_scale=scale)


def make_preview(
    a: torch.Tensor,
    b: torch.Tensor,
    swap: Callable[[torch.Tensor, str], torch.Tensor],
) -> np.ndarray:
    """Draw the preview grid for faces of A and B.

    Args:
        a: faces of person A, float (N, 3, H, W), RGB in [0, 1], any device.
        b: faces of person B, same shape as ``a``.
        swap: ``swap(x, "a")`` decodes the batch ``x`` with decoder A, ``"b"`` with
            decoder B; returns float (N, 3, H', W') RGB, values outside [0, 1] clipped.
            It is called four times, once per decoder and person, as given: running
            it under ``torch.no_grad`` and in eval mode is the caller's concern.

    Returns:
        RGB uint8 (header + N * H', 6 * W' + 4, 3): row i holds A[i], A->A, A->B, then
        B[i], B->B, B->A. Inputs are resized to the output size when the model
        outputs another size than it takes.

    Raises:
        InvalidOptionError: ``a`` or ``b`` not float (N, 3, H, W) alike, or ``swap``
            returns another batch size or channel count.

    >>> grid = make_preview(torch.zeros(2, 3, 8, 8), torch.ones(2, 3, 8, 8), lambda x, to: 1 - x)
    >>> grid.shape, grid.dtype
    ((32, 52, 3), dtype('uint8'))
    """
    check_tensor(a, "a", ["N", 3, "H", "W"], floating=True)
    check_tensor(b, "b", list(a.shape), floating=True)
    outputs = {}
    for person, x in (("a", a), ("b", b)):
        for decoder in ("a", "b"):
            y = swap(x, decoder)
            name = f"swap(x, {decoder!r}) for faces of {person.upper()}"
            check_tensor(y, name, [x.shape[0], 3, "H", "W"], floating=True)
            outputs[person, decoder] = y
    size = tuple(outputs["a", "a"].shape[-2:])
    for key, y in outputs.items():
        if tuple(y.shape[-2:]) != size:
            raise InvalidOptionError(f"swap output for {key}", tuple(y.shape), f"the size of the others, {size}")

    columns = [a, outputs["a", "a"], outputs["a", "b"], b, outputs["b", "b"], outputs["b", "a"]]
    layout = preview_layout(a.shape[0], *size)
    grid = np.empty(layout.shape, np.uint8)
    grid[: layout.header] = _HEADER_RGB
    grid[layout.separator_slices] = _SEPARATOR_RGB
    for col, images in enumerate(columns):
        cells = _to_rgb8(images)
        for row, cell in enumerate(cells):
            if cell.shape[:2] != size:  # only the inputs, when the model changes the size
                interpolation = cv2.INTER_AREA if cell.shape[0] > size[0] else cv2.INTER_CUBIC
                cell = cv2.resize(cell, (size[1], size[0]), interpolation=interpolation)
            grid[layout.cell_slices(row, col)] = cell
        _draw_label(grid, layout, col)
    return grid


def write_preview(path: str | Path, grid: np.ndarray, provenance: Provenance | None = None) -> None:
    """Write a preview grid (RGB uint8 (H, W, 3)) as PNG, atomically; creates the parent folder.

    The grid shows swapped faces, so it carries facetwin's marks like every output
    (``provenance`` names the model; by default an anonymous one).
    """
    check_array(grid, "grid", ["H", "W", 3], dtypes=[np.uint8])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_marked_png(path, grid, provenance or Provenance(extra={"preview": True}))


def _to_rgb8(images: torch.Tensor) -> np.ndarray:
    """Float (N, 3, H, W) in [0, 1] -> uint8 (N, H, W, 3), rounded to nearest."""
    x = images.detach().float().clamp(0, 1).mul(255).add(0.5).floor().to(torch.uint8)
    return x.permute(0, 2, 3, 1).cpu().numpy()


def _draw_label(grid: np.ndarray, layout: PreviewLayout, col: int) -> None:
    text = COLUMN_LABELS[col]
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, layout.font_scale, 1)
    x_slice = layout.cell_slices(0, col)[1]
    x = x_slice.start + max((layout.cell[1] - text_w) // 2, 0)
    y = (layout.header - text_h - baseline) // 2 + text_h  # baseline of the centred text box
    # putText clips at the image edge, so drawing into the strip view keeps the cells clean.
    cv2.putText(grid[: layout.header], text, (x, y), _FONT, layout.font_scale, _LABEL_RGB, 1, cv2.LINE_AA)
