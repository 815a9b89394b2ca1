"""Pre-training on many people: one general decoder, resumable, a record of who was seen."""

from __future__ import annotations

import json

import pytest
import torch
from _helpers import faceset

from facetwin import cli
from facetwin.config import TrainConfig
from facetwin.errors import FacesetError
from facetwin.models.checkpoint import read_config, read_state, read_weights
from facetwin.training.pretraining import PEOPLE_NAME, pretrain, pretrain_sources

FAST = dict(model="tiny64", batch_size=4, log_every=1, preview_every=1000, save_every=1000, precision="fp32")


@pytest.fixture(scope="module")
def people(tmp_path_factory, astronaut, grace_hopper, predictor):
    """Two people's faces as a parent folder, plus a third folder with just 3 photos."""
    root = tmp_path_factory.mktemp("people")
    faceset(astronaut, root / "astronaut", predictor, n=10, size=96)
    faceset(grace_hopper, root / "grace", predictor, n=3, size=128)  # few faces, another size
    (root / "notes").mkdir()  # no faces: not a person
    return root


def test_pretrain_trains_one_general_decoder_and_records_the_people(people, tmp_path):
    summary = pretrain([people], tmp_path / "base", config=TrainConfig(**FAST, steps=3))
    assert summary.step == 3 and summary.notes[0] == "13 faces of 2 people"
    weights = read_weights(tmp_path / "base")
    # Decoder B is saved as a copy of the decoder that learnt every face.
    decoders = [n for n in weights if n.startswith("decoder_a.")]
    assert decoders and all(
        torch.equal(weights[n], weights[n.replace("decoder_a.", "decoder_b.", 1)]) for n in decoders
    )
    config = read_config(tmp_path / "base")
    assert config["face"]["type"] == "whole" and config["train"]["match_colour"] is False
    record = json.loads((tmp_path / "base" / PEOPLE_NAME).read_text())
    assert [(p["folder"].split("/")[-1], p["faces"]) for p in record["people"]] == [("astronaut", 10), ("grace", 3)]


def test_pretrain_resumes_and_caps_faces_per_person(people, tmp_path):
    config = TrainConfig(**FAST, steps=2)
    pretrain([people / "astronaut", people / "grace"], tmp_path / "m", config=config, per_person=4)
    first = read_weights(tmp_path / "m")
    summary = pretrain([people], tmp_path / "m", config=TrainConfig(**FAST, steps=4), per_person=4, resume=True)
    assert (summary.start_step, summary.step) == (2, 4) and read_state(tmp_path / "m")["step"] == 4
    assert summary.notes[0] == "7 faces of 2 people"
    later = read_weights(tmp_path / "m")
    assert any(not torch.equal(first[n], later[n]) for n in first if n.startswith("encoder."))


def test_a_folder_without_faces_is_refused(tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(FacesetError, match="holds no faces"):
        pretrain_sources([tmp_path / "empty"])


def test_cli_pretrain_bad_input_is_one_line(capsys, tmp_path, people):
    code = cli.main(["-q", "pretrain", str(tmp_path / "nope"), "-o", str(tmp_path / "m"), "--steps", "1"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT and len(err.strip().splitlines()) == 1 and "not a folder" in err
    code = cli.main(["-q", "pretrain", str(people), "-o", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT and "--steps or --time" in err and "Traceback" not in err


def test_cli_ctrl_c_says_how_to_continue(capsys, tmp_path, people, monkeypatch):
    import facetwin.training.pretraining as module
    from facetwin.errors import TrainingInterrupted

    def interrupted(*args, **kwargs):
        raise TrainingInterrupted(tmp_path / "m", step=7, saved_step=7)

    monkeypatch.setattr(module, "pretrain", interrupted)
    code = cli.main(["-q", "pretrain", str(people), "-o", str(tmp_path / "m"), "--steps", "5"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_INTERRUPTED
    assert err == (
        f"facetwin pretrain: interrupted at step 7; step 7 is saved in {tmp_path / 'm'}; continue with --resume\n"
    )
