"""Tests for facetwin.training.preview: the grid holds exactly the swapped faces, labelled."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from facetwin.errors import InvalidOptionError
from facetwin.io import read_image
from facetwin.training.preview import COLUMN_LABELS, make_preview, preview_layout, write_preview


def _small(image: np.ndarray) -> np.ndarray:
    return cv2.resize(image, (64, 64), interpolation=cv2.INTER_AREA)


def _tensor(images: list[np.ndarray]) -> torch.Tensor:
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255


@pytest.fixture(scope="module")
def faces(astronaut, grace_hopper) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Two RGB uint8 64x64 faces of each person: as is and mirrored."""
    a, b = _small(astronaut), _small(grace_hopper)
    return [a, np.ascontiguousarray(a[:, ::-1])], [b, np.ascontiguousarray(b[:, ::-1])]


def _cells(grid: np.ndarray, rows: int, size: int = 64) -> list[list[np.ndarray]]:
    layout = preview_layout(rows, size, size)
    assert grid.shape == layout.shape and grid.dtype == np.uint8
    return [[grid[layout.cell_slices(r, c)] for c in range(6)] for r in range(rows)]


def _expect(cells, row: int, expected: list[np.ndarray]) -> None:
    for col, image in enumerate(expected):
        np.testing.assert_array_equal(cells[row][col], image, err_msg=f"row {row}, column {COLUMN_LABELS[col]}")


def test_identity_swap_repeats_each_face(faces):
    a, b = faces
    grid = make_preview(_tensor(a), _tensor(b), lambda x, to: x)
    cells = _cells(grid, 2)
    for row in range(2):
        _expect(cells, row, [a[row]] * 3 + [b[row]] * 3)


def test_inverting_swap_fills_the_output_columns(faces):
    a, b = faces
    grid = make_preview(_tensor(a), _tensor(b), lambda x, to: 1 - x)
    cells = _cells(grid, 2)
    for row in range(2):
        _expect(cells, row, [a[row], 255 - a[row], 255 - a[row], b[row], 255 - b[row], 255 - b[row]])


def test_columns_use_the_named_decoder(faces):
    a, b = faces
    calls = []

    def swap(x: torch.Tensor, to: str) -> torch.Tensor:
        calls.append(to)
        return 1 - x if to == "a" else x  # decoder A inverts, decoder B copies

    cells = _cells(make_preview(_tensor(a), _tensor(b), swap), 2)
    for row in range(2):
        # A | A->A (decoder a) | A->B (decoder b) | B | B->B (decoder b) | B->A (decoder a)
        _expect(cells, row, [a[row], 255 - a[row], a[row], b[row], b[row], 255 - b[row]])
    assert sorted(calls) == ["a", "a", "b", "b"]


def test_label_strip_and_separator(faces):
    a, b = faces
    grid = make_preview(_tensor(a), _tensor(b), lambda x, to: x)
    layout = preview_layout(2, 64, 64)
    assert 12 <= layout.header <= 32
    strip = grid[: layout.header]
    segments = [strip[:, layout.cell_slices(0, c)[1]] for c in range(6)]
    lit = [int((s.min(axis=2) > 128).sum()) for s in segments]  # white text on a dark strip
    assert all(n > 10 for n in lit), lit
    assert lit[0] < lit[1] and lit[3] < lit[4]  # "A" is shorter than "A->A"
    assert not np.array_equal(segments[1], segments[2])  # A->A and A->B differ
    assert not np.array_equal(segments[4], segments[5])
    background = np.median(strip.reshape(-1, 3), axis=0)
    assert (background < 64).all()
    separator = grid[layout.separator_slices]
    assert separator.shape == (128, 4, 3) and (separator == 128).all()


def test_model_output_of_another_size(faces):
    a, b = faces
    grid = make_preview(_tensor(a), _tensor(b), lambda x, to: F.interpolate(x, scale_factor=2, mode="nearest"))
    cells = _cells(grid, 2, size=128)
    big = a[0].repeat(2, axis=0).repeat(2, axis=1)
    np.testing.assert_array_equal(cells[0][1], big)  # outputs as they are
    resized = cv2.resize(a[0], (128, 128), interpolation=cv2.INTER_CUBIC)
    np.testing.assert_array_equal(cells[0][0], resized)  # inputs brought to the output size


def test_out_of_range_and_bf16_outputs_are_clipped(faces):
    a, b = faces
    grid = make_preview(_tensor(a).bfloat16(), _tensor(b), lambda x, to: ((x - 0.5) * 1000).bfloat16())
    cells = _cells(grid, 2)
    assert set(np.unique(cells[0][1])) <= {0, 255} and cells[0][1].min() == 0 and cells[0][1].max() == 255


def test_bad_inputs_are_named():
    good = torch.rand(2, 3, 8, 8)
    with pytest.raises(
        InvalidOptionError, match=r"a must be a tensor of shape \(N, 3, H, W\), got shape \(2, 4, 8, 8\)"
    ):
        make_preview(torch.rand(2, 4, 8, 8), good, lambda x, to: x)
    with pytest.raises(
        InvalidOptionError, match=r"b must be a tensor of shape \(2, 3, 8, 8\), got shape \(1, 3, 8, 8\)"
    ):
        make_preview(good, torch.rand(1, 3, 8, 8), lambda x, to: x)
    with pytest.raises(InvalidOptionError, match="a must be a floating-point tensor, got dtype torch.uint8"):
        make_preview(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), good, lambda x, to: x)
    with pytest.raises(InvalidOptionError, match="a must be a tensor of shape .*, got 'ndarray'"):
        make_preview(np.zeros((2, 3, 8, 8)), good, lambda x, to: x)
    with pytest.raises(
        InvalidOptionError,
        match=r"swap\(x, 'a'\) for faces of A must be a tensor of shape \(2, 3, H, W\), got shape \(1, 3, 8, 8\)",
    ):
        make_preview(good, good, lambda x, to: x[:1])


def test_write_preview_round_trip(tmp_path, faces):
    a, b = faces
    grid = make_preview(_tensor(a), _tensor(b), lambda x, to: 1 - x)
    path = tmp_path / "previews" / "step_0000100.png"
    write_preview(path, grid)
    # The grid shows swapped faces, so it is marked: the watermark's few levels, and metadata.
    assert np.abs(read_image(path).astype(int) - grid).max() <= 5
    from facetwin.forensics.report import verify

    assert verify(path).metadata_found and verify(path).c2pa.valid
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
    with pytest.raises(InvalidOptionError, match="grid must be an array of shape \\(H, W, 3\\), got shape \\(4, 4\\)"):
        write_preview(path, np.zeros((4, 4), np.uint8))
