"""Tests for facetwin.training.plot: the history CSV survives kills; the plot is drawn."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from facetwin.errors import InputNotFoundError, InvalidOptionError
from facetwin.io import read_image
from facetwin.training.plot import PLOT_SIZE, HistoryFormatError, append_history, plot_history, read_history


def _rows(n: int, *, rate: bool = True) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(1, n + 1):
        row = {
            "step": 10 * i,
            "loss_a": float(0.13 * i**-0.3 * math.exp(rng.normal(0, 0.1))),
            "loss_b": float(0.12 * i**-0.3 * math.exp(rng.normal(0, 0.1))),
        }
        if rate:
            row["samples_per_s"] = float(rng.uniform(5, 7))
        rows.append(row)
    return rows


def test_rows_round_trip(tmp_path):
    path = tmp_path / "history.csv"
    rows = [
        {"step": 1, "loss_a": 0.1, "loss_b": 1e-7, "lr": np.float32(5e-5), "ok": True},
        {"step": 2, "loss_a": float("nan"), "loss_b": float("inf"), "lr": 5e-5, "ok": np.bool_(False)},
        {"step": np.int64(3), "loss_a": 0.30000000000000004, "loss_b": None, "lr": 2},
    ]
    for row in rows:
        append_history(path, row)
    text = path.read_text()
    assert text.splitlines()[0] == "step,loss_a,loss_b,lr,ok" and text.count("step") == 1

    history = read_history(path)
    assert list(history) == ["step", "loss_a", "loss_b", "lr", "ok"]
    assert history["step"].dtype == np.int64 and history["step"].tolist() == [1, 2, 3]
    assert history["loss_a"][0] == 0.1 and math.isnan(history["loss_a"][1])
    assert history["loss_a"][2] == 0.30000000000000004  # exact, not rounded to 0.3
    assert history["loss_b"][0] == 1e-7 and history["loss_b"][1] == math.inf and math.isnan(history["loss_b"][2])
    assert history["lr"].dtype == np.float64 and history["lr"][0] == float(np.float32(5e-5))
    assert history["ok"].dtype == np.float64 and math.isnan(history["ok"][2])  # left empty in row 3


def test_new_columns_are_refused(tmp_path):
    path = tmp_path / "history.csv"
    append_history(path, {"step": 1, "loss_a": 0.5})
    before = path.read_bytes()
    with pytest.raises(HistoryFormatError) as caught:
        append_history(path, {"step": 2, "loss_a": 0.4, "lr": 1e-4})
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == (
        f"history {path}: has the columns step, loss_a; a row cannot add lr; move the file aside to start a new history"
    )
    assert path.read_bytes() == before


def test_bad_rows_are_named(tmp_path):
    path = tmp_path / "history.csv"
    with pytest.raises(
        InvalidOptionError, match=r"row\['loss_a'\] must be a number or None \(call .item\(\) on a tensor\)"
    ):
        append_history(path, {"step": 1, "loss_a": torch.tensor(0.5)})
    with pytest.raises(InvalidOptionError, match=r"row\['note'\] must be a number or None .*, got 'fine'"):
        append_history(path, {"step": 1, "note": "fine"})
    with pytest.raises(InvalidOptionError, match="column name must be a non-empty string without commas"):
        append_history(path, {"loss,a": 1.0})
    with pytest.raises(InvalidOptionError, match="row must be a dict with at least one column"):
        append_history(path, {})
    assert not path.exists()


def test_a_killed_writer_loses_only_the_partial_row(tmp_path):
    path = tmp_path / "history.csv"
    for row in _rows(2, rate=False):
        append_history(path, row)
    complete = read_history(path)
    with open(path, "ab") as f:
        f.write(b"30,0.0123")  # killed mid-line: a plausible but cut-short row
    history = read_history(path)
    assert {k: v.tolist() for k, v in history.items()} == {k: v.tolist() for k, v in complete.items()}

    append_history(path, {"step": 30, "loss_a": 0.25, "loss_b": 0.5})  # drops the partial line first
    assert path.read_text().splitlines()[-1] == "30,0.25,0.5"
    history = read_history(path)
    assert history["step"].tolist() == [10, 20, 30] and history["loss_b"][-1] == 0.5


def test_a_header_cut_short_starts_again(tmp_path):
    path = tmp_path / "history.csv"
    path.write_bytes(b"step,lo")
    assert read_history(path) == {}
    append_history(path, {"step": 1, "loss_a": 0.5})
    assert path.read_text() == "step,loss_a\n1,0.5\n"


def test_read_errors(tmp_path):
    with pytest.raises(InputNotFoundError):
        read_history(tmp_path / "absent.csv")
    path = tmp_path / "history.csv"
    path.write_text("step,loss_a\n1,0.5\n2,0.4,9\n")
    with pytest.raises(HistoryFormatError, match="line 3 has 3 values for 2 columns"):
        read_history(path)
    path.write_text("step,loss_a\n1,0.5\n2,low\n")
    with pytest.raises(HistoryFormatError, match="line 3, column loss_a: 'low' is not a number"):
        read_history(path)
    path.write_text("step,loss_a\n")
    assert {k: v.size for k, v in read_history(path).items()} == {"step": 0, "loss_a": 0}


def _check_png(path) -> np.ndarray:
    image = read_image(path)
    assert image.shape == (PLOT_SIZE[1], PLOT_SIZE[0], 3)
    return image


@pytest.mark.parametrize("rate", [True, False], ids=["with-rate", "losses-only"])
def test_plot_draws_the_curves(tmp_path, rate):
    path = tmp_path / "history.csv"
    for row in _rows(200, rate=rate):
        append_history(path, row)
    out = tmp_path / "loss.png"
    plot_history(path, out, title="original: trump-cage")
    image = _check_png(out)
    colours = {tuple(c) for c in image.reshape(-1, 3)[::7]}
    assert len(colours) > 50  # anti-aliased curves, text and grid, not a blank canvas
    blue = (image[:, :, 2].astype(int) - image[:, :, 0] > 80).sum()  # matplotlib's C0 for loss_a
    orange = (image[:, :, 0].astype(int) - image[:, :, 2] > 80).sum()  # C1 for loss_b
    assert blue > 500 and orange > 500
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv", "loss.png"]


def test_plot_of_an_empty_or_resumed_history(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("step,loss_a,loss_b,samples_per_s\n")
    plot_history(path, tmp_path / "empty.png")
    assert _check_png(tmp_path / "empty.png").std() > 1

    rows = _rows(30) + _rows(10)  # a run resumed from step 0 logs steps 10..100 again
    for row in rows:
        append_history(path, row)
    plot_history(path, tmp_path / "loss.png")
    _check_png(tmp_path / "loss.png")
