"""The base model shipped inside the package: present, intact, and where new models start."""

from __future__ import annotations

import shutil

import pytest
import torch
from _helpers import faceset

from facetwin.config import TrainConfig
from facetwin.errors import CorruptCheckpointError
from facetwin.models import create_model
from facetwin.models.base import BASE_DIR, base_info, base_path, base_weights, sha256_of
from facetwin.models.checkpoint import read_weights
from facetwin.training import train

ONE_STEP = dict(batch_size=2, steps=1, log_every=1, preview_every=1000, save_every=1000, precision="fp32")


def test_the_base_ships_under_40_mb_and_its_sha256_matches():
    info = base_info()
    assert info is not None, f"no base model in {BASE_DIR}"
    assert base_path().stat().st_size == info["bytes"] <= 40 * 2**20
    assert sha256_of(base_path()) == info["sha256"]
    weights = base_weights()
    model = create_model(info["model"])
    state = model.state_dict()
    # Every tensor of the architecture it names, at its shape, finite.
    assert set(weights) == set(state)
    assert all(weights[n].shape == state[n].shape and weights[n].dtype == torch.float32 for n in state)
    assert all(torch.isfinite(t).all() for t in weights.values())
    # It learnt something: not the initial weights of that architecture.
    assert any(not torch.allclose(weights[n], state[n]) for n in state)
    people = [p for p in info["training"]["people"] if p["faces"]]
    assert len(people) >= 2 and info["training"]["steps"] > 0


def test_a_damaged_base_is_refused(tmp_path):
    folder = tmp_path / "weights"
    shutil.copytree(BASE_DIR, folder)
    data = bytearray((folder / "base.safetensors").read_bytes())
    data[-100] ^= 0xFF  # one byte of one weight
    (folder / "base.safetensors").write_bytes(bytes(data))
    with pytest.raises(CorruptCheckpointError, match="sha256"):
        base_weights(folder)


@pytest.fixture(scope="module")
def pair(tmp_path_factory, astronaut, grace_hopper, predictor):
    root = tmp_path_factory.mktemp("faces")
    return faceset(astronaut, root / "a", predictor, n=8), faceset(grace_hopper, root / "b", predictor, n=8)


def test_a_new_model_starts_from_the_base_by_default(pair, tmp_path):
    info = base_info()
    config = TrainConfig(model=info["model"], face=info["face"], lr=1e-12, **ONE_STEP)
    summary = train(*pair, tmp_path / "m", config=config)
    assert summary.transfer.startswith("from the base model") and "loaded all" in summary.transfer
    # After one step at a vanishing learning rate the weights are still the base's.
    base, trained = base_weights(), read_weights(tmp_path / "m")
    assert all(torch.allclose(trained[n], base[n], atol=1e-6) for n in base)


def test_from_scratch_and_other_architectures_do_not_use_the_base(pair, tmp_path):
    info = base_info()
    config = TrainConfig(model=info["model"], face=info["face"], lr=1e-12, **ONE_STEP)
    summary = train(*pair, tmp_path / "scratch", config=config, init_from=None)
    assert summary.transfer is None
    base, trained = base_weights(), read_weights(tmp_path / "scratch")
    assert not any(torch.allclose(trained[n], base[n]) for n in base if n.endswith("weight"))
    other = train(*pair, tmp_path / "tiny", config=TrainConfig(model="tiny64", **ONE_STEP))
    assert other.transfer.startswith("from scratch (the base model is")
