"""``to="auto"``: the other person than the input's own, as the model's records tell."""

from __future__ import annotations

import json

import pytest

from facetwin.config import ConvertConfig, ExtractConfig, TrainConfig
from facetwin.conversion import convert
from facetwin.conversion.direction import direction, footage_of
from facetwin.demo import portrait_views
from facetwin.extraction import extract
from facetwin.training import train


@pytest.fixture(scope="module")
def trained(tmp_path_factory, grace_hopper, astronaut):
    """A tiny model whose A faces came from views of Grace Hopper, B's from the astronaut's."""
    root = tmp_path_factory.mktemp("direction")
    views = {
        "a": portrait_views(grace_hopper, root / "views_a", count=8),
        "b": portrait_views(astronaut, root / "views_b", count=8, seed=1),
    }
    for side, folder in views.items():
        extract(folder, root / f"faces_{side}", config=ExtractConfig(crop_size=96))
    config = TrainConfig(model="tiny64", steps=1, batch_size=2, save_every=1, preview_every=1)
    train(root / "faces_a", root / "faces_b", root / "model", config=config, init_from=None)
    return root, views


def test_auto_puts_the_other_persons_face_on_known_footage(trained):
    root, views = trained
    assert footage_of(views["a"], root / "model") == "a"
    assert footage_of(views["b"], root / "model") == "b"
    assert direction(views["a"], root / "model")[0] == "b"
    assert direction(views["b"], root / "model")[0] == "a"
    to, why = direction(root / "elsewhere.mp4", root / "model")
    assert to == "a" and "not trained on" in why


def test_convert_decides_auto_and_says_why(trained, tmp_path):
    root, views = trained
    summary = convert(views["a"], root / "model", tmp_path / "out", config=ConvertConfig())
    assert summary.to == "b" and summary.notes and "person A's own footage" in summary.notes[0]
    summary = convert(views["a"], root / "model", tmp_path / "again", config=ConvertConfig(to="a"))
    assert summary.to == "a" and summary.notes == []  # told: no guess, no note


def test_records_that_are_missing_or_damaged_mean_unknown(trained, tmp_path):
    root, views = trained
    model = tmp_path / "model"
    model.mkdir()
    assert footage_of(views["a"], model) is None  # no state.json
    (model / "state.json").write_text("{not json")
    assert footage_of(views["a"], model) is None
    (model / "state.json").write_text(json.dumps({"data": {"a": {"folder": str(tmp_path / "gone")}}}))
    assert footage_of(views["a"], model) is None and direction(views["a"], model)[0] == "a"
