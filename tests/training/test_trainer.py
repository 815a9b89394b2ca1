"""The training loop on tiny models and few steps: learning, checkpoints, resume,
rollback, transfer, freezing and every bad-input case."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
from _helpers import faceset, lock_held_elsewhere, shared_data

from facetwin.config import TrainConfig
from facetwin.data import load_faces
from facetwin.device import pick_device
from facetwin.errors import FacesetError, InvalidOptionError, ModelDirError, TrainingDivergedError
from facetwin.models.checkpoint import read_config, read_state, read_weights
from facetwin.training import train
from facetwin.training.plot import read_history

FAST = dict(model="tiny64", batch_size=4, log_every=1, preview_every=1000, save_every=1000, precision="fp32")


@pytest.fixture(scope="module")
def pair(tmp_path_factory, astronaut, grace_hopper, predictor):
    root = tmp_path_factory.mktemp("faces")
    return faceset(astronaut, root / "a", predictor), faceset(grace_hopper, root / "b", predictor)


def weights(model_dir):
    return read_weights(model_dir)


def test_writes_a_complete_model_dir(pair, tmp_path):
    summary = train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 3, "preview_every": 3}))
    assert (summary.start_step, summary.step, summary.stopped_by) == (0, 3, "steps")
    names = {p.name for p in (tmp_path / "m").iterdir()}
    assert {
        "config.json",
        "weights.safetensors",
        "optimizer.safetensors",
        "state.json",
        "history.csv",
        "loss.png",
        "preview.png",
        "previews",
    } <= names
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["format"] == "facetwin/model-config" and config["model"]["name"] == "tiny64"
    state = json.loads((tmp_path / "m" / "state.json").read_text())
    assert state["step"] == 3 and len(state["data"]["a"]["fingerprint"]) == 16
    preview = cv2.imread(str(tmp_path / "m" / "preview.png"))
    assert preview is not None and preview.shape[1] > 6 * 64
    assert list(read_history(tmp_path / "m" / "history.csv")["step"]) == [1, 2, 3]


def test_loss_decreases_on_real_faces(pair, tmp_path):
    config = TrainConfig(**{**FAST, "steps": 30, "lr": 2e-3, "batch_size": 8, "log_every": 5})
    train(*pair, tmp_path / "m", config=config)
    h = read_history(tmp_path / "m" / "history.csv")
    first = (h["loss_a"][0] + h["loss_b"][0]) / 2
    last = (h["loss_a"][-2:].mean() + h["loss_b"][-2:].mean()) / 2
    # Measured: about 0.175 after 5 steps and 0.125 after 30 (a 28 % drop).
    assert last < 0.85 * first, (first, last)


def test_resume_is_exact(pair, tmp_path):
    straight = TrainConfig(**{**FAST, "steps": 4})
    train(*pair, tmp_path / "straight", config=straight)
    train(*pair, tmp_path / "split", config=TrainConfig(**{**FAST, "steps": 2}))
    summary = train(*pair, tmp_path / "split", config=straight, resume=True)
    assert (summary.start_step, summary.step, summary.notes) == (2, 4, [])
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "split")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)
    h = read_history(tmp_path / "split" / "history.csv")
    assert list(h["step"]) == [1, 2, 3, 4]


def test_interrupt_saves_and_resumes(pair, tmp_path):
    def stop_at_3(event):
        if event.done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 10}), progress=stop_at_3)
    assert json.loads((tmp_path / "m" / "state.json").read_text())["step"] == 3
    summary = train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 5}), resume=True)
    assert (summary.start_step, summary.step) == (3, 5)
    assert list(read_history(tmp_path / "m" / "history.csv")["step"]) == [1, 2, 3, 4, 5]


def test_should_stop_ends_the_run_and_resume_continues_exactly(pair, tmp_path):
    """A UI's stop button: asked after each step's progress report, it ends the loop as a
    step limit would (checkpoint, preview, loss plot), and a resume picks up from there."""
    reported, asked = [], []

    def stop_from_3() -> bool:
        asked.append(reported[-1])  # progress has already reported this step
        return reported[-1] >= 3

    summary = train(
        *pair,
        tmp_path / "m",
        config=TrainConfig(**{**FAST, "steps": 50}),
        progress=lambda event: reported.append(event.done),
        should_stop=stop_from_3,
    )
    assert (summary.start_step, summary.step, summary.stopped_by) == (0, 3, "requested")
    assert reported == asked == [1, 2, 3]
    assert read_state(tmp_path / "m")["step"] == 3
    assert (tmp_path / "m" / "previews" / "step_0000003.png").exists() and (tmp_path / "m" / "loss.png").exists()

    summary = train(
        *pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 5}), resume=True, should_stop=lambda: False
    )
    assert (summary.start_step, summary.step, summary.stopped_by) == (3, 5, "steps")
    assert list(read_history(tmp_path / "m" / "history.csv")["step"]) == [1, 2, 3, 4, 5]
    train(*pair, tmp_path / "straight", config=TrainConfig(**{**FAST, "steps": 5}))
    stopped, straight = weights(tmp_path / "m"), weights(tmp_path / "straight")
    for key in straight:
        torch.testing.assert_close(stopped[key], straight[key], rtol=1e-5, atol=1e-6)


def test_should_save_writes_a_checkpoint_and_the_run_goes_on(pair, tmp_path):
    """A UI's "save now": asked after each step, True writes checkpoint, preview and loss
    plot at that step (save_every and preview_every are far off) without ending the run."""
    model_dir = tmp_path / "m"
    seen = {}

    def save_at_2() -> bool:
        step = len(reported)
        if step == 3:  # the save asked for at step 2 is on disk by the next step
            seen["state"] = read_state(model_dir)["step"]
            seen["preview"] = (model_dir / "previews" / "step_0000002.png").exists()
            seen["plot"] = (model_dir / "loss.png").exists()
        return step == 2

    reported = []
    summary = train(
        *pair,
        model_dir,
        config=TrainConfig(**{**FAST, "steps": 4}),
        progress=lambda event: reported.append(event.done),
        should_save=save_at_2,
    )
    assert (summary.step, summary.stopped_by) == (4, "steps")  # it went on to the end
    assert seen == {"state": 2, "preview": True, "plot": True}
    assert not (model_dir / "previews" / "step_0000003.png").exists()  # only the step asked for
    assert read_state(model_dir)["step"] == 4


def test_resume_from_an_older_checkpoint_drops_later_history(pair, tmp_path):
    """Killed without a final save: the history past the checkpoint is trained again."""
    train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 4, "save_every": 2}))
    from facetwin.models.checkpoint import load_checkpoint, save_checkpoint  # noqa: F401

    # Pretend the run died after step 4's history row but before step 4's save:
    # rewind the checkpoint to step 2 by training a twin to 2.
    train(*pair, tmp_path / "twin", config=TrainConfig(**{**FAST, "steps": 2}))
    for name in ("weights.safetensors", "optimizer.safetensors", "state.json"):
        (tmp_path / "m" / name).write_bytes((tmp_path / "twin" / name).read_bytes())
    summary = train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 4}), resume=True)
    assert summary.start_step == 2
    assert list(read_history(tmp_path / "m" / "history.csv")["step"]) == [1, 2, 3, 4]


def test_nan_rolls_back_to_the_last_good_checkpoint(pair, tmp_path, monkeypatch):
    import facetwin.training.trainer as trainer

    calls = {"n": 0}
    real = trainer.l1_loss

    def sometimes_nan(pred, target, weight=None):
        calls["n"] += 1
        value = real(pred, target, weight)
        return value * float("nan") if calls["n"] == 7 else value  # step 4, person A

    monkeypatch.setattr(trainer, "l1_loss", sometimes_nan)
    config = TrainConfig(**{**FAST, "steps": 6, "save_every": 2})
    summary = train(*pair, tmp_path / "m", config=config)
    assert summary.step == 6 and summary.rollbacks == 1
    assert all(torch.isfinite(t).all() for t in weights(tmp_path / "m").values())
    assert np.isfinite(read_history(tmp_path / "m" / "history.csv")["loss_a"]).all()


def test_nan_every_time_gives_up(pair, tmp_path, monkeypatch):
    import facetwin.training.trainer as trainer

    monkeypatch.setattr(trainer, "l1_loss", lambda p, t, w=None: (p - t).abs().mean() * float("nan"))
    with pytest.raises(TrainingDivergedError, match="NaN or infinite at step 1 3 times"):
        train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 5}))
    # The checkpoint on disk is still the good (initial) one.
    assert all(torch.isfinite(t).all() for t in weights(tmp_path / "m").values())


def test_init_from_and_freeze(pair, tmp_path):
    train(*pair, tmp_path / "first", config=TrainConfig(**{**FAST, "steps": 3}))
    summary = train(
        *pair,
        tmp_path / "second",
        init_from=tmp_path / "first",
        config=TrainConfig(**{**FAST, "steps": 3, "freeze": ("encoder",)}),
    )
    assert summary.transfer == f"from {tmp_path / 'first'}: loaded all 38 model tensors"
    first, second = weights(tmp_path / "first"), weights(tmp_path / "second")
    for key in first:
        if key.startswith("encoder."):
            assert torch.equal(first[key], second[key]), key  # frozen: exactly as loaded
    assert any(not torch.equal(first[k], second[k]) for k in first if k.startswith("decoder_a."))


def test_init_from_another_architecture_reports_mismatches(pair, tmp_path):
    train(*pair, tmp_path / "tiny", config=TrainConfig(**{**FAST, "steps": 1}))
    summary = train(
        *pair,
        tmp_path / "fast",
        init_from=tmp_path / "tiny",
        config=TrainConfig(**{**FAST, "model": "fast64", "steps": 1, "batch_size": 2}),
    )
    assert "for another shape" in summary.transfer and not summary.transfer == "loaded all 38 model tensors"


def test_time_limit(pair, tmp_path):
    summary = train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "time_limit": 1.0}))
    assert summary.stopped_by == "time" and summary.step >= 1


@pytest.mark.parametrize(
    ("setup", "error", "message"),
    [
        (lambda t, a, b: dict(model_dir=t / "m", resume=True), ModelDirError, "holds no trained model to resume"),
        (
            lambda t, a, b: dict(model_dir=(t / "m").mkdir() or (t / "m" / "x.txt").write_text("x") and t / "m"),
            ModelDirError,
            "other files in it",
        ),
        (lambda t, a, b: dict(model_dir=t / "m", init_from=t), ModelDirError, "holds no trained model to start from"),
    ],
    ids=["resume-nothing", "folder-not-empty", "init-from-nothing"],
)
def test_model_dir_errors(pair, tmp_path, setup, error, message):
    kwargs = setup(tmp_path, *pair)
    with pytest.raises(error, match=message):
        train(*pair, config=TrainConfig(**{**FAST, "steps": 1}), **kwargs)


def test_existing_model_needs_resume_and_same_architecture(pair, tmp_path):
    train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 1}))
    with pytest.raises(ModelDirError, match="already holds a trained model; use --resume"):
        train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 2}))
    with pytest.raises(ModelDirError, match="was trained with model='tiny64', not 'fast64'"):
        train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "model": "fast64", "steps": 2}), resume=True)


def test_faces_of_different_sizes_are_cut_to_one_window(pair, tmp_path, astronaut, predictor):
    # Both sets are cut to the face type's training crop (the model's 64 px window is
    # its central 0.625), whatever size they were extracted at.
    small = faceset(astronaut, tmp_path / "small", predictor, size=64)
    train(pair[0], small, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 1}))
    config = read_config(tmp_path / "m")
    assert config["face_size"] == 102 and config["face"]["type"] == "whole"


def test_too_few_faces(pair, tmp_path):
    few = tmp_path / "few"
    few.mkdir()
    for p in sorted(pair[0].iterdir())[:3]:
        (few / p.name).write_bytes(p.read_bytes())
    with pytest.raises(FacesetError, match="found 3 face images; training needs at least 8"):
        train(few, pair[1], tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 1}))


def test_config_validation():
    with pytest.raises(InvalidOptionError, match="model must be one of"):
        TrainConfig(model="gan")
    with pytest.raises(InvalidOptionError, match="batch_size must be >= 1"):
        TrainConfig(batch_size=0)
    with pytest.raises(InvalidOptionError, match="l1_weight must be > 0 when ssim_weight is 0"):
        TrainConfig(l1_weight=0)


def test_cli_train_and_errors(pair, tmp_path, capsys):
    from facetwin import cli

    code = cli.main(
        [
            "-q",
            "train",
            str(pair[0]),
            str(pair[1]),
            "-o",
            str(tmp_path / "m"),
            "--arch",
            "tiny64",
            "--steps",
            "2",
            "--batch-size",
            "2",
            "--precision",
            "fp32",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0 and "steps 0 -> 2" in out, err
    # The summary says where the weights started: the shipped base fits another architecture.
    assert "start: from scratch (the base model is fast128 whole-face; this one is tiny64 whole-face)" in out
    code = cli.main(
        [
            "-q",
            "train",
            str(pair[0]),
            str(pair[1]),
            "-o",
            str(tmp_path / "s"),
            "--arch",
            "tiny64",
            "--steps",
            "1",
            "--batch-size",
            "2",
            "--from-scratch",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "start:" not in out
    with pytest.raises(SystemExit) as exited:  # argparse's own usage error
        cli.main(
            [
                "-q",
                "train",
                str(pair[0]),
                str(pair[1]),
                "-o",
                str(tmp_path / "x"),
                "--steps",
                "1",
                "--from-scratch",
                "--init-from",
                str(tmp_path / "m"),
            ]
        )
    assert exited.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
    code = cli.main(["-q", "train", str(pair[0]), str(pair[1]), "-o", str(tmp_path / "m2"), "--arch", "tiny64"])
    err = capsys.readouterr().err
    assert code == 2 and "--steps or --time is required" in err
    code = cli.main(["-q", "train", str(pair[0]), str(pair[1]), "-o", str(tmp_path / "m"), "--steps", "3"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "already holds a trained model" in err
    code = cli.main(
        ["-q", "train", str(pair[0]), str(pair[1]), "-o", str(tmp_path / "m3"), "--steps", "1", "--batch-size", "0"]
    )
    assert code == 2 and "--batch-size must be >= 1" in capsys.readouterr().err


def test_trump_cage_loss_falls(tmp_path):
    """The classic pair: a few steps of fast64 lower the loss (real data, skipped without it)."""
    a, b = shared_data("faces", "trump"), shared_data("faces", "cage")
    config = TrainConfig(
        model="tiny64", batch_size=16, steps=30, lr=1e-3, log_every=5, preview_every=1000, save_every=1000
    )
    train(load_faces(a), load_faces(b), tmp_path / "m", config=config)
    h = read_history(tmp_path / "m" / "history.csv")
    assert h["loss_a"][-1] < h["loss_a"][0] and h["loss_b"][-1] < h["loss_b"][0]


def test_eyes_mouth_and_ssim_losses_train(pair, tmp_path):
    config = TrainConfig(**{**FAST, "steps": 3, "ssim_weight": 1.0, "eyes_mouth_weight": 2.0, "mask": False})
    summary = train(*pair, tmp_path / "m", config=config)
    h = read_history(tmp_path / "m" / "history.csv")
    # total = L1 (weighted) + DSSIM: larger than the plain L1 that loss_a reports.
    assert summary.step == 3 and (h["total_a"] > h["loss_a"]).all()


def test_tensorboard_logging(pair, tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 2, "tensorboard": True}))
    events = list((tmp_path / "m" / "tensorboard").rglob("events.out.tfevents.*"))
    assert events and all(e.stat().st_size > 0 for e in events)


@pytest.mark.parametrize("device", ["cuda:abc", "gpu", "meta", "mps"])
def test_pick_device_refuses_unknown_devices(device):
    with pytest.raises(InvalidOptionError, match="--device must be auto, cpu, cuda or cuda:N"):
        pick_device(device)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:0", "cuda:3"])
def test_pick_device_refuses_cuda_without_a_gpu(device):
    with pytest.raises(InvalidOptionError, match="no CUDA GPU"):
        pick_device(device)


def test_pick_device_cpu_and_auto():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_a_first_save_killed_midway_does_not_block_the_folder(pair, tmp_path):
    """kill -9 between the renames of the first save: config.json is in place, the
    weights and state.json still staged. Neither --resume nor a new run used to work."""
    train(*pair, tmp_path / "done", config=TrainConfig(**{**FAST, "steps": 1}))
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "config.json").write_bytes((tmp_path / "done" / "config.json").read_bytes())
    for name in ("weights.safetensors", "optimizer.safetensors", "state.json"):
        (folder / f".{name}.staged").write_bytes((tmp_path / "done" / name).read_bytes())
    with pytest.raises(ModelDirError, match="holds no trained model to resume; leave out --resume to start one"):
        train(*pair, folder, config=TrainConfig(**{**FAST, "steps": 1}), resume=True)
    summary = train(*pair, folder, config=TrainConfig(**{**FAST, "steps": 2}))
    assert (summary.start_step, summary.step) == (0, 2) and read_state(folder)["step"] == 2
    assert not [p.name for p in folder.iterdir() if p.name.endswith((".staged", ".tmp"))]


def test_ctrl_c_finishes_the_step_and_a_second_one_does_not_cut_the_closing_save(pair, tmp_path, monkeypatch):
    """The first Ctrl-C comes between a step's two updates, the second inside the closing
    save: the step is finished and saved (--save-every is far off), and it is exactly
    the step an uninterrupted run takes."""
    import os
    import signal

    import facetwin.training.trainer as trainer
    from facetwin.errors import TrainingInterrupted

    calls = {"loss": 0, "saves": []}
    real_loss, real_save = trainer.l1_loss, trainer.save_checkpoint

    def loss(pred, target, weight=None):
        calls["loss"] += 1
        if calls["loss"] == 5:  # step 3, person A: B's update is still to come
            os.kill(os.getpid(), signal.SIGINT)
        return real_loss(pred, target, weight)

    def save(model_dir, **kwargs):
        calls["saves"].append(kwargs["state"]["step"])
        if kwargs["state"]["step"] > 0:
            os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C, before anything is written
        real_save(model_dir, **kwargs)

    monkeypatch.setattr(trainer, "l1_loss", loss)
    monkeypatch.setattr(trainer, "save_checkpoint", save)
    with pytest.raises(TrainingInterrupted) as caught:
        train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 10}))
    assert (caught.value.step, caught.value.saved_step) == (3, 3) and calls["saves"] == [0, 3]
    assert str(caught.value) == f"interrupted at step 3; step 3 is saved in {tmp_path / 'm'}"
    assert isinstance(caught.value, KeyboardInterrupt) and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert read_state(tmp_path / "m")["step"] == 3
    monkeypatch.undo()
    train(*pair, tmp_path / "straight", config=TrainConfig(**{**FAST, "steps": 3}))
    stopped, straight = weights(tmp_path / "m"), weights(tmp_path / "straight")
    for key in straight:
        torch.testing.assert_close(stopped[key], straight[key], rtol=1e-5, atol=1e-6)


def test_interrupted_with_nan_weights_says_the_older_step_is_kept(pair, tmp_path, monkeypatch):
    import facetwin.training.trainer as trainer
    from facetwin.errors import TrainingInterrupted

    models = []
    real_create = trainer.create_model
    monkeypatch.setattr(trainer, "create_model", lambda *a, **k: models.append(real_create(*a, **k)) or models[-1])

    def poison_at_2(event):
        if event.done == 2:
            with torch.no_grad():
                next(models[0].parameters()).fill_(float("nan"))
            raise KeyboardInterrupt

    with pytest.raises(TrainingInterrupted) as caught:
        train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 5}), progress=poison_at_2)
    assert (caught.value.step, caught.value.saved_step, caught.value.saved) == (2, 0, False)
    assert str(caught.value) == (
        f"interrupted at step 2; its weights had become NaN or infinite, so {tmp_path / 'm'} "
        "keeps the checkpoint of step 0"
    )
    assert read_state(tmp_path / "m")["step"] == 0
    assert all(torch.isfinite(t).all() for t in weights(tmp_path / "m").values())


def test_resume_with_other_settings_or_faces_says_so(pair, tmp_path, caplog):
    train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 2, "lr": 1e-4}))
    same = train(
        *pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 3, "lr": 1e-4, "save_every": 7}), resume=True
    )
    assert same.notes == []  # limits and how often to save change nothing computed
    with caplog.at_level("WARNING", logger="facetwin.training.trainer"):
        changed = train(
            pair[1],
            pair[0],
            tmp_path / "m",
            resume=True,  # A and B swapped
            config=TrainConfig(**{**FAST, "steps": 4, "batch_size": 2}),
        )
    n_a, n_b = len(load_faces(pair[0])), len(load_faces(pair[1]))
    assert changed.notes == [
        f"resumed at step 3 with batch_size 4 -> 2; lr 0.0001 -> 5e-05; other faces for A ({n_a} before, {n_b} now); "
        f"other faces for B ({n_b} before, {n_a} now): it does not continue the saved run exactly"
    ]
    assert changed.notes[0] in caplog.text


def test_a_model_folder_another_training_writes_is_refused(pair, tmp_path):
    from facetwin.errors import OutputLockedError
    from facetwin.io.lock import LOCK_NAME

    with lock_held_elsewhere(tmp_path / "m", "train"):
        with pytest.raises(OutputLockedError, match=r"m is in use by facetwin train \(pid \d+, since"):
            train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 1}))
        assert [p.name for p in (tmp_path / "m").iterdir()] == [LOCK_NAME]  # no history.csv, no checkpoint
    assert not (tmp_path / "m").exists()  # the refused run made nothing, the other one wrote nothing
    train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 1}))
    (tmp_path / "m" / "previews").mkdir(exist_ok=True)
    (tmp_path / "m" / "previews" / ".step_0000001.png.abcdefgh.tmp").write_bytes(b"half")  # of a killed run
    summary = train(*pair, tmp_path / "m", config=TrainConfig(**{**FAST, "steps": 2}), resume=True)
    assert summary.step == 2 and not (tmp_path / "m" / LOCK_NAME).exists()
    assert not (tmp_path / "m" / "previews" / ".step_0000001.png.abcdefgh.tmp").exists()


def test_threads_hold_for_the_run_and_are_put_back(pair, tmp_path):
    before = torch.get_num_threads()
    seen = []
    train(
        *pair,
        tmp_path / "m",
        config=TrainConfig(**{**FAST, "steps": 2, "threads": 1}),
        progress=lambda event: seen.append(torch.get_num_threads()),
    )
    assert seen == [1, 1] and torch.get_num_threads() == before
