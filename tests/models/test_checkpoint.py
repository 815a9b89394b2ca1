"""Tests for facetwin.models.checkpoint: exact resume, atomic saves, clear errors, transfer."""

from __future__ import annotations

import errno
import hashlib
import json
import os

import pytest
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

import facetwin
import facetwin.io.atomic
import facetwin.models.checkpoint as checkpoint
from facetwin.errors import (
    CheckpointFormatError,
    CheckpointSaveError,
    CheckpointStepMismatchError,
    CorruptCheckpointError,
    FacetwinError,
    IncompatibleCheckpointError,
    InvalidOptionError,
    ModelDirError,
    NotAModelDirError,
)
from facetwin.models.checkpoint import (
    is_model_dir,
    load_checkpoint,
    read_config,
    read_weights,
    save_checkpoint,
)
from facetwin.models.transfer import load_matching, unwrap_model

FILES = ["config.json", "optimizer.safetensors", "state.json", "weights.safetensors"]


@pytest.fixture(autouse=True)
def _one_thread():
    # These networks are tiny: with cores shared, a second OpenMP thread made each
    # step ~300 times slower (0.1 s instead of 0.3 ms).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _net(seed: int = 0, out: int = 5) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, out))


_BATCH = (
    torch.rand(6, 3, 8, 8, generator=torch.Generator().manual_seed(1)),
    torch.randn(6, 5, generator=torch.Generator().manual_seed(2)),
)


def _train(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int) -> None:
    x, y = _BATCH
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        F.mse_loss(model(x), y).backward()
        optimizer.step()


class _CountingSGD(torch.optim.SGD):
    """Keeps a Python int and a None in its state, as some optimisers do."""

    def step(self, closure=None):
        loss = super().step(closure)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["count"] = self.state[p].get("count", 0) + 1
                self.state[p]["note"] = None
        return loss


OPTIMIZERS = {
    "adam": lambda m: torch.optim.Adam(m.parameters(), lr=1e-2, betas=(0.5, 0.999)),
    "adamw-amsgrad": lambda m: torch.optim.AdamW(m.parameters(), lr=1e-2, amsgrad=True),
    "sgd-momentum": lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True),
    "adam-two-groups": lambda m: torch.optim.Adam(
        [{"params": m[0].parameters(), "lr": 1e-3}, {"params": m[3].parameters()}], lr=1e-2
    ),
    "python-number-state": lambda m: _CountingSGD(m.parameters(), lr=0.05, momentum=0.5),
}


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


def _saved(tmp_path, step: int = 3, optimizer: str = "adam"):
    model = _net(0)
    opt = OPTIMIZERS[optimizer](model)
    _train(model, opt, step)
    save_checkpoint(tmp_path, model=model, optimizer=opt, state={"step": step, "seed": 5}, config={"model": "tiny"})
    return model, opt


class _OsProxy:
    """``os`` with some functions replaced, for patching one module's view of it."""

    def __init__(self, **replaced) -> None:
        self.__dict__.update(replaced)

    def __getattr__(self, name):
        return getattr(os, name)


# --- round trips --------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_resume_is_exact(tmp_path, name):
    model = _net(0)
    opt = OPTIMIZERS[name](model)
    _train(model, opt, 3)
    save_checkpoint(
        tmp_path, model=model, optimizer=opt, state={"step": 3, "seed": 5, "note": "x"}, config={"model": "tiny"}
    )

    fresh = _net(1)
    fresh_opt = OPTIMIZERS[name](fresh)
    assert not _same(_params(fresh), _params(model))
    state = load_checkpoint(tmp_path, model=fresh, optimizer=fresh_opt)
    assert state == {"step": 3, "seed": 5, "note": "x"}
    assert _same(_params(fresh), _params(model))

    _train(model, opt, 1)
    _train(fresh, fresh_opt, 1)
    assert _same(_params(fresh), _params(model))  # one more step lands on the same values
    for group, original in zip(fresh_opt.param_groups, opt.param_groups):
        assert {k: v for k, v in group.items() if k != "params"} == {k: v for k, v in original.items() if k != "params"}
        assert type(group.get("betas")) is type(original.get("betas"))  # tuple, not list


def test_python_number_state_comes_back_as_python_values(tmp_path):
    _saved(tmp_path, optimizer="python-number-state")
    fresh = _net(1)
    opt = OPTIMIZERS["python-number-state"](fresh)
    load_checkpoint(tmp_path, model=fresh, optimizer=opt)
    state = opt.state_dict()["state"][0]
    assert state["count"] == 3 and type(state["count"]) is int and state["note"] is None
    assert isinstance(state["momentum_buffer"], torch.Tensor)


def test_files_and_their_formats(tmp_path):
    model, opt = _saved(tmp_path, step=3)
    assert sorted(os.listdir(tmp_path)) == FILES
    config = json.loads((tmp_path / "config.json").read_text())
    assert config == {"format": "facetwin/model-config", "version": 1, "model": "tiny"}
    assert read_config(tmp_path) == {"model": "tiny"}
    state = json.loads((tmp_path / "state.json").read_text())
    digests = {
        name: hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        for name in ("weights.safetensors", "optimizer.safetensors")
    }
    assert state == {
        "format": "facetwin/train-state",
        "version": 1,
        "step": 3,
        "seed": 5,
        "checksums": {"step": 3, "sha256": digests},
    }

    with safe_open(tmp_path / "weights.safetensors", "pt") as f:
        assert sorted(f.keys()) == sorted(model.state_dict())
        assert json.loads(f.metadata()["facetwin"]) == {"format": "facetwin/weights", "version": 1, "step": 3}
    with safe_open(tmp_path / "optimizer.safetensors", "pt") as f:
        assert sorted(f.keys()) == sorted(f"state.{i}.{n}" for i in range(4) for n in ("step", "exp_avg", "exp_avg_sq"))
        header = json.loads(f.metadata()["facetwin"])
    assert header["format"] == "facetwin/optimizer-state" and header["step"] == 3
    assert header["optimizer"] == "Adam"
    assert header["param_groups"][0]["betas"] == [0.5, 0.999] and header["param_groups"][0]["params"] == [0, 1, 2, 3]
    assert read_weights(tmp_path).keys() == model.state_dict().keys()
    assert all(torch.equal(read_weights(tmp_path)[k], v) for k, v in model.state_dict().items())
    assert is_model_dir(tmp_path)


class _Compiled(nn.Module):
    """What torch.compile's wrapper looks like to state_dict: the model under ``_orig_mod``."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self._orig_mod = inner


@pytest.mark.parametrize("wrap", ["compile", "simulated-compile", "data-parallel", "compiled-submodule"])
def test_wrapped_models_save_and_load_plain_keys(tmp_path, wrap):
    def wrapped(model: nn.Sequential) -> nn.Module:
        if wrap == "compile":
            return torch.compile(model)  # lazy: nothing compiles until a forward pass
        if wrap == "simulated-compile":
            return _Compiled(model)
        if wrap == "data-parallel":
            return nn.DataParallel(model)  # CPU only: keeps the module, adds "module."
        model[3] = _Compiled(model[3])  # keys become "3._orig_mod.weight"
        return model

    model = _net(0)
    net = wrapped(model)
    assert any("_orig_mod" in k or k.startswith("module.") for k in net.state_dict())
    save_checkpoint(tmp_path, model=net, optimizer=None, state={"step": 0, "seed": 0}, config={})
    assert sorted(read_weights(tmp_path)) == sorted(_net(0).state_dict())

    fresh = _net(1)
    load_checkpoint(tmp_path, model=wrapped(fresh))
    assert _same(_params(fresh), _params(_net(0)))


def test_tied_and_non_contiguous_tensors_round_trip(tmp_path):
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = self.a  # the same module under two names: two keys, one storage
            self.t = nn.Parameter(torch.randn(3, 5).t())  # non-contiguous
            self.register_buffer("low", torch.randn(2, 2, dtype=torch.bfloat16))

    model = Tied()
    save_checkpoint(tmp_path, model=model, optimizer=None, state={"step": 1, "seed": 0}, config={})
    fresh = Tied()
    load_checkpoint(tmp_path, model=fresh)
    for key, value in model.state_dict().items():
        assert torch.equal(fresh.state_dict()[key], value) and fresh.state_dict()[key].dtype == value.dtype
    assert fresh.a is fresh.b


def test_saving_without_optimizer_drops_the_old_optimizer_state(tmp_path):
    model, opt = _saved(tmp_path)
    save_checkpoint(tmp_path, model=model, optimizer=None, state={"step": 4, "seed": 5}, config={"model": "tiny"})
    assert not (tmp_path / "optimizer.safetensors").exists()
    assert load_checkpoint(tmp_path, model=_net(1))["step"] == 4
    with pytest.raises(IncompatibleCheckpointError, match="optimizer.safetensors is missing .*saved without optimiser"):
        load_checkpoint(tmp_path, model=_net(1), optimizer=OPTIMIZERS["adam"](_net(1)))


def test_save_removes_leftovers_of_a_killed_save(tmp_path):
    _saved(tmp_path)
    for name in (".weights.safetensors.staged", ".weights.safetensors.x1y2.tmp", "..state.json.staged.ab.tmp"):
        (tmp_path / name).write_bytes(b"partial")
    (tmp_path / "notes.tmp").write_text("mine")
    _saved(tmp_path, step=4)
    assert sorted(os.listdir(tmp_path)) == sorted(FILES + ["notes.tmp"])


# --- atomicity ----------------------------------------------------------------------


@pytest.mark.parametrize("fail_at", [1, 2, 3, 4], ids=["config", "weights", "optimizer", "state"])
def test_disk_full_leaves_the_previous_checkpoint(tmp_path, monkeypatch, fail_at):
    model, opt = _saved(tmp_path, step=3)
    before = {name: (tmp_path / name).read_bytes() for name in FILES}
    at_step_3 = _params(model)
    _train(model, opt, 1)

    # The n-th file of the save (config, weights, optimizer, state) runs out of disk half
    # way: its writer (Python's or safetensors' own, in Rust) stores half, then fails.
    calls = [0]
    real = checkpoint.atomic_write_file

    def full_disk(path, write):
        calls[0] += 1
        if calls[0] != fail_at:
            return real(path, write)

        def half_then_full(tmp):
            write(tmp)
            with open(tmp, "r+b") as f:
                f.truncate(tmp.stat().st_size // 2)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        return real(path, half_then_full)

    monkeypatch.setattr(checkpoint, "atomic_write_file", full_disk)
    with pytest.raises(CheckpointSaveError) as caught:
        save_checkpoint(tmp_path, model=model, optimizer=opt, state={"step": 4, "seed": 5}, config={"model": "new"})
    monkeypatch.undo()

    assert caught.value.errno == errno.ENOSPC and caught.value.intact
    assert isinstance(caught.value, OSError) and isinstance(caught.value, FacetwinError)
    assert str(caught.value) == (
        f"cannot save the checkpoint in {tmp_path}: No space left on device; any checkpoint already there is unchanged"
    )
    assert sorted(os.listdir(tmp_path)) == FILES  # no staged or temporary files left
    assert {name: (tmp_path / name).read_bytes() for name in FILES} == before
    fresh = _net(1)
    assert load_checkpoint(tmp_path, model=fresh, optimizer=OPTIMIZERS["adam"](fresh))["step"] == 3
    assert _same(_params(fresh), at_step_3)


def test_crash_between_renames_is_detected_on_load(tmp_path, monkeypatch):
    model, opt = _saved(tmp_path, step=3)
    _train(model, opt, 1)

    def replace(src, dst):
        if os.path.basename(dst) == "state.json":
            raise OSError(errno.EIO, os.strerror(errno.EIO))  # stands for a crash at this instant
        os.replace(src, dst)

    monkeypatch.setattr(checkpoint, "os", _OsProxy(replace=replace))
    with pytest.raises(CheckpointSaveError, match="mixes two steps") as caught:
        save_checkpoint(tmp_path, model=model, optimizer=opt, state={"step": 4, "seed": 5}, config={})
    monkeypatch.undo()
    assert not caught.value.intact

    with pytest.raises(CheckpointStepMismatchError) as caught:
        load_checkpoint(tmp_path, model=_net(1), optimizer=OPTIMIZERS["adam"](_net(1)))
    assert caught.value.steps == {"state.json": 3, "weights.safetensors": 4, "optimizer.safetensors": 4}
    assert str(caught.value).startswith(
        f"model {tmp_path}: state.json is at step 3, weights.safetensors is at step 4, "
        "optimizer.safetensors is at step 4: a save was interrupted between files"
    )


def test_bad_arguments_write_nothing(tmp_path):
    model = _net(0)
    folder = tmp_path / "m"
    with pytest.raises(InvalidOptionError, match=r"state\['step'\] must be an integer >= 0, got -1"):
        save_checkpoint(folder, model=model, optimizer=None, state={"step": -1, "seed": 0}, config={})
    with pytest.raises(InvalidOptionError, match=r"state\['seed'\] must be an integer, got None"):
        save_checkpoint(folder, model=model, optimizer=None, state={"step": 1}, config={})
    with pytest.raises(InvalidOptionError, match="config must be a dict without the reserved keys format, version"):
        save_checkpoint(folder, model=model, optimizer=None, state={"step": 1, "seed": 0}, config={"version": 2})
    with pytest.raises(InvalidOptionError, match="state must be a dict of JSON values"):
        save_checkpoint(
            folder, model=model, optimizer=None, state={"step": 1, "seed": 0, "loss": float("nan")}, config={}
        )
    assert not folder.exists()


# --- errors on load -----------------------------------------------------------------


def test_not_a_model_dir(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "empty").mkdir()
    cases = {
        tmp_path / "absent": "does not exist",
        tmp_path / "file": "is a file, not a model folder",
        tmp_path / "empty": "is not a facetwin model folder: config.json, weights.safetensors, state.json missing",
    }
    for path, problem in cases.items():
        assert not is_model_dir(path)
        with pytest.raises(NotAModelDirError) as caught:
            load_checkpoint(path, model=_net())
        assert isinstance(caught.value, (FileNotFoundError, ModelDirError, FacetwinError))
        assert str(caught.value) == (
            f"model {path}: {problem}; pass the folder a training run saved into "
            "(config.json, weights.safetensors, state.json)"
        )
    with pytest.raises(NotAModelDirError, match="has no config.json"):
        read_config(tmp_path / "empty")
    with pytest.raises(NotAModelDirError, match="has no weights.safetensors"):
        read_weights(tmp_path / "empty")


def test_config_of_another_format_or_newer_version(tmp_path):
    _saved(tmp_path)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"format": "facetwin/alignments", "version": 1}))
    with pytest.raises(CheckpointFormatError) as caught:
        read_config(tmp_path)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value) == (
        f'model {tmp_path}: config.json has format "facetwin/alignments", expected "facetwin/model-config"'
    )
    path.write_text(json.dumps({"format": "facetwin/model-config", "version": 2}))
    with pytest.raises(CheckpointFormatError) as caught:
        read_config(tmp_path)
    assert str(caught.value) == (
        f"model {tmp_path}: config.json is version 2, newer than this facetwin reads (1); upgrade facetwin"
    )
    path.write_text("[1, 2]")
    with pytest.raises(CheckpointFormatError, match="config.json must hold a JSON object, got list"):
        read_config(tmp_path)
    path.write_text('{"format": "facetwin/model-con')
    with pytest.raises(CorruptCheckpointError, match="config.json is truncated or damaged \\(not valid JSON"):
        read_config(tmp_path)


def test_state_of_a_newer_version_is_refused(tmp_path):
    _saved(tmp_path)
    (tmp_path / "state.json").write_text(json.dumps({"format": "facetwin/train-state", "version": 9, "step": 3}))
    with pytest.raises(CheckpointFormatError, match="state.json is version 9, newer than this facetwin reads"):
        load_checkpoint(tmp_path, model=_net())
    (tmp_path / "state.json").write_text(json.dumps({"format": "facetwin/train-state", "version": 1, "step": "3"}))
    with pytest.raises(CheckpointFormatError, match="state.json step must be an integer >= 0, got '3'"):
        load_checkpoint(tmp_path, model=_net())


@pytest.mark.parametrize("name", ["weights.safetensors", "optimizer.safetensors"])
@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_safetensors(tmp_path, name, damage):
    _saved(tmp_path)
    path = tmp_path / name
    data = path.read_bytes()
    path.write_bytes({"truncated": data[: len(data) - 100], "garbage": os.urandom(500), "empty": b""}[damage])
    model = _net(1)
    before = _params(model)
    with pytest.raises(CorruptCheckpointError) as caught:
        load_checkpoint(tmp_path, model=model, optimizer=OPTIMIZERS["adam"](model))
    assert isinstance(caught.value, OSError) and isinstance(caught.value, ModelDirError)
    assert str(caught.value).startswith(f"model {tmp_path}: {name} is truncated or damaged (")
    assert "restore the folder from a backup" in str(caught.value)
    assert _same(_params(model), before)  # nothing loaded


def test_foreign_safetensors_is_named_as_such(tmp_path):
    _saved(tmp_path)
    save_file(_net().state_dict(), tmp_path / "weights.safetensors")
    with pytest.raises(CheckpointFormatError, match='weights.safetensors has no "facetwin" metadata: it was not saved'):
        load_checkpoint(tmp_path, model=_net())


def test_weights_that_do_not_fit_the_model(tmp_path):
    _saved(tmp_path)
    other = _net(1, out=7)
    before = _params(other)
    with pytest.raises(IncompatibleCheckpointError) as caught:
        load_checkpoint(tmp_path, model=other)
    assert str(caught.value) == (
        f"model {tmp_path}: weights.safetensors does not fit the model: loaded 2 of 4 model tensors; "
        "2 kept their values for another shape (3.weight (5, 256) in the weights, (7, 256) in the model, "
        "3.bias (5,) in the weights, (7,) in the model); build the model from this folder's config.json"
    )
    assert _same(_params(other), before)  # refused before anything changed

    state = load_checkpoint(tmp_path, model=other, strict=False)  # loads what fits
    assert state["step"] == 3
    assert torch.equal(other[0].weight, read_weights(tmp_path)["0.weight"])
    with pytest.raises(IncompatibleCheckpointError, match="or load without the optimiser"):
        load_checkpoint(tmp_path, model=other, optimizer=OPTIMIZERS["adam"](other), strict=False)


def test_optimizer_that_does_not_fit(tmp_path):
    _saved(tmp_path, optimizer="adam")
    model = _net(1)
    with pytest.raises(IncompatibleCheckpointError, match="optimizer.safetensors holds the state of Adam, not of SGD"):
        load_checkpoint(tmp_path, model=model, optimizer=OPTIMIZERS["sgd-momentum"](model))
    with pytest.raises(IncompatibleCheckpointError, match=r"groups of sizes \[4\], the optimiser \[2, 2\]"):
        load_checkpoint(tmp_path, model=model, optimizer=OPTIMIZERS["adam-two-groups"](model))


# --- transfer learning --------------------------------------------------------------


def test_load_matching_reports_mismatched_missing_and_unexpected():
    source = _net(0)
    weights = dict(source.state_dict())
    weights["extra.weight"] = torch.zeros(2)
    target = nn.Sequential(*_net(1, out=7), nn.Linear(7, 2))
    before = _params(target)
    report = load_matching(target, weights)

    assert report.loaded == ["0.weight", "0.bias"]
    assert report.mismatched == [("3.weight", (5, 256), (7, 256)), ("3.bias", (5,), (7,))]
    assert report.missing == ["4.weight", "4.bias"]
    assert report.unexpected == ["extra.weight"]
    assert not report.complete
    assert str(report) == (
        "loaded 2 of 6 model tensors; 2 kept their values for another shape (3.weight (5, 256) in the weights, "
        "(7, 256) in the model, 3.bias (5,) in the weights, (7,) in the model); 2 not in the weights kept their "
        "values (4.weight, 4.bias); 1 weights have no place in the model (extra.weight)"
    )
    assert torch.equal(target[0].weight, source[0].weight)
    assert _same(_params(target)[2:], before[2:])


@pytest.mark.parametrize("prefix", ["_orig_mod.", "module.", "module._orig_mod."])
def test_load_matching_drops_wrapper_prefixes(prefix):
    weights = {prefix + k: v for k, v in _net(0).state_dict().items()}
    target = _net(1)
    report = load_matching(target, weights)
    assert report.complete and str(report) == "loaded all 4 model tensors"
    assert _same(_params(target), _params(_net(0)))


def test_load_matching_into_a_compiled_model_and_a_real_module_child():
    compiled = torch.compile(_net(1))
    assert load_matching(compiled, _net(0).state_dict()).complete
    assert _same(_params(unwrap_model(compiled)), _params(_net(0)))

    class Holder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.module = nn.Linear(2, 2)  # really named "module": its prefix must stay

    source, target = Holder(), Holder()
    assert load_matching(target, source.state_dict()).complete
    assert torch.equal(target.module.weight, source.module.weight)


def test_load_matching_remap():
    class Named(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = nn.Conv2d(3, 4, 3, padding=1)
            self.head = nn.Linear(256, 5)

    renames = {"0.weight": "encoder.weight", "0.bias": "encoder.bias", "3.weight": "head.weight"}
    target = Named()
    report = load_matching(target, _net(0).state_dict(), remap=renames.get)  # 3.bias -> None: left out
    assert report.loaded == ["encoder.weight", "encoder.bias", "head.weight"]
    assert report.missing == ["head.bias"] and report.unexpected == []
    assert torch.equal(target.head.weight, _net(0)[3].weight)

    with pytest.raises(InvalidOptionError, match="remap must be a function giving each weight its own name"):
        load_matching(target, _net(0).state_dict(), remap=lambda k: "encoder.weight")
    with pytest.raises(InvalidOptionError, match=r"weights\['x'\] must be a tensor, got 'list'"):
        load_matching(target, {"x": [1.0]})


def test_transfer_from_a_saved_model_dir(tmp_path):
    _saved(tmp_path)
    target = _net(1, out=7)
    report = load_matching(target, read_weights(tmp_path))
    assert report.loaded == ["0.weight", "0.bias"] and len(report.mismatched) == 2


def test_load_model_rebuilds_the_saved_architecture(tmp_path):
    from facetwin.models import create_model

    torch.manual_seed(3)
    model = create_model("tiny64", width=4, mask=False)
    save_checkpoint(tmp_path, model=model, optimizer=None, state={"step": 7, "seed": 0}, config={"model": model.config})
    loaded = facetwin.load_model(tmp_path)
    assert type(loaded) is type(model) and not loaded.training
    assert loaded.config == model.config and not loaded.predicts_mask
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded(x, to="b"), model.eval()(x, to="b"))


@pytest.mark.parametrize(
    "model_config", [None, {"width": 4}, {"name": "no-such-model"}, {"name": "tiny64", "depth": 3}]
)
def test_load_model_refuses_configs_it_cannot_build(tmp_path, model_config):
    config = {} if model_config is None else {"model": model_config}
    save_checkpoint(tmp_path, model=nn.Linear(2, 2), optimizer=None, state={"step": 0, "seed": 0}, config=config)
    with pytest.raises(CheckpointFormatError, match="config.json (names no model|describes a model)"):
        facetwin.load_model(tmp_path)


def test_read_state_gives_the_saved_step(tmp_path):
    from _helpers import tiny_model_dir

    from facetwin.models.checkpoint import read_state

    folder = tiny_model_dir(tmp_path / "m")
    state = read_state(folder)
    assert state["step"] == 0 and state["seed"] == 0 and "format" not in state
    (folder / "state.json").write_text('{"format": "other", "version": 1}')
    with pytest.raises(CheckpointFormatError):
        read_state(folder)


# --- integrity: sha256 recorded at save, non-finite weights, unfinished first saves ---


def _flip_last_byte(path) -> None:
    """Change one byte of the last tensor's data: the file still decodes."""
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("name", ["weights.safetensors", "optimizer.safetensors"])
def test_a_flipped_byte_is_refused_in_one_line(tmp_path, name):
    _saved(tmp_path)
    _flip_last_byte(tmp_path / name)
    model = _net(1)
    before = _params(model)
    with pytest.raises(CorruptCheckpointError) as caught:
        load_checkpoint(tmp_path, model=model, optimizer=OPTIMIZERS["adam"](model))
    message = str(caught.value)
    assert (
        message.startswith(
            f"model {tmp_path}: {name} is truncated or damaged (changed since it was saved: its sha256 is "
        )
        and "state.json recorded" in message
        and "\n" not in message
    )
    assert caught.value.file == name and _same(_params(model), before)  # nothing loaded
    if name == "weights.safetensors":
        assert message.endswith("; restore the folder from a backup, or train the model again")
        with pytest.raises(CorruptCheckpointError, match="changed since it was saved"):
            read_weights(tmp_path)
    else:  # the weights alone are intact: a model without its optimiser still loads
        assert load_checkpoint(tmp_path, model=_net(1))["step"] == 3


def test_a_flipped_byte_is_refused_by_load_model(tmp_path):
    from _helpers import tiny_model_dir

    folder = tiny_model_dir(tmp_path / "m")
    _flip_last_byte(folder / "weights.safetensors")
    with pytest.raises(CorruptCheckpointError, match="weights.safetensors is truncated or damaged .changed since"):
        facetwin.load_model(folder)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
@pytest.mark.parametrize("checksums", [True, False], ids=["recorded", "older-folder"])
def test_nan_or_infinite_weights_are_refused(tmp_path, value, checksums):
    model = _net(0)
    with torch.no_grad():
        model[3].bias[2] = value
    save_checkpoint(tmp_path, model=model, optimizer=None, state={"step": 2, "seed": 0}, config={})
    if not checksums:
        _drop_checksums(tmp_path)
    message = (
        f"model {tmp_path}: weights.safetensors is truncated or damaged (tensor '3.bias' holds NaN or infinite values)"
    )
    with pytest.raises(CorruptCheckpointError) as caught:
        load_checkpoint(tmp_path, model=_net(1))
    assert str(caught.value).startswith(message)
    with pytest.raises(CorruptCheckpointError, match=r"tensor '3.bias' holds NaN or infinite values"):
        read_weights(tmp_path)


def _drop_checksums(folder) -> None:
    state = json.loads((folder / "state.json").read_text())
    del state["checksums"]
    (folder / "state.json").write_text(json.dumps(state))


def test_a_folder_saved_before_checksums_still_loads(tmp_path):
    model, opt = _saved(tmp_path)
    _drop_checksums(tmp_path)
    fresh = _net(1)
    assert load_checkpoint(tmp_path, model=fresh, optimizer=OPTIMIZERS["adam"](fresh)) == {"step": 3, "seed": 5}
    assert _same(_params(fresh), _params(model))
    _flip_last_byte(tmp_path / "weights.safetensors")  # unrecorded, so unnoticed when finite
    load_checkpoint(tmp_path, model=_net(1))


def test_a_record_of_another_step_is_not_checked(tmp_path):
    """A facetwin that did not know the key carried it along into a later save."""
    _saved(tmp_path, step=3)
    state = json.loads((tmp_path / "state.json").read_text())
    state["checksums"] = {"step": 2, "sha256": {"weights.safetensors": "0" * 64}}
    (tmp_path / "state.json").write_text(json.dumps(state))
    assert load_checkpoint(tmp_path, model=_net(1))["step"] == 3
    assert read_weights(tmp_path).keys() == _net(0).state_dict().keys()
    state["checksums"] = "none"
    (tmp_path / "state.json").write_text(json.dumps(state))
    with pytest.raises(CheckpointFormatError, match='state.json checksums must be {"step": N, "sha256"'):
        load_checkpoint(tmp_path, model=_net(1))


def test_checksums_is_a_reserved_state_key(tmp_path):
    with pytest.raises(InvalidOptionError, match="reserved keys format, version, checksums"):
        save_checkpoint(
            tmp_path / "m", model=_net(), optimizer=None, state={"step": 0, "seed": 0, "checksums": {}}, config={}
        )
    assert not (tmp_path / "m").exists()


def _killed_first_save(folder, source, renamed: int, writing: bool = False) -> None:
    """``folder`` as a first save killed after ``renamed`` renames (``save_checkpoint``'s
    order: stage config, weights, optimizer, state; then rename them in that order)."""
    folder.mkdir()
    names = ["config.json", "weights.safetensors", "optimizer.safetensors", "state.json"]
    for i, name in enumerate(names):
        target = folder / (name if i < renamed else f".{name}.staged")
        target.write_bytes((source / name).read_bytes())
    if writing:  # killed inside atomic_write_bytes, before its rename
        (folder / ".state.json.staged").rename(folder / "..state.json.staged.k2j4x9ab.tmp")


@pytest.mark.parametrize(
    ("renamed", "writing"),
    [(0, True), (0, False), (1, False), (3, False)],
    ids=["while-staging", "staged", "config-renamed", "all-but-state-renamed"],
)
def test_an_unfinished_first_save_is_discarded(tmp_path, renamed, writing):
    _saved(tmp_path / "good")
    folder = tmp_path / "m"
    _killed_first_save(folder, tmp_path / "good", renamed, writing)
    (folder / ".facetwin.lock").write_text("{}")  # another run's lock: left alone when ignored
    left = sorted(os.listdir(folder))
    assert not is_model_dir(folder) and checkpoint.discard_unfinished_save(folder) == []  # the lock counts
    assert checkpoint.discard_unfinished_save(folder, ignore={".facetwin.lock"}) == [
        n for n in left if n != ".facetwin.lock"
    ]
    assert os.listdir(folder) == [".facetwin.lock"]


def test_other_folders_are_not_discarded(tmp_path):
    _saved(tmp_path / "model")
    (tmp_path / "model" / ".weights.safetensors.staged").write_bytes(b"x")
    assert checkpoint.discard_unfinished_save(tmp_path / "model") == []  # a model: save cleans it
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "config.json").write_text("{}")  # someone's own config, no staged state.json
    assert checkpoint.discard_unfinished_save(mine) == [] and (mine / "config.json").exists()
    (mine / ".weights.safetensors.staged").write_bytes(b"x")
    (mine / "notes.txt").write_text("mine")
    assert checkpoint.discard_unfinished_save(mine) == [] and len(os.listdir(mine)) == 3
    assert checkpoint.discard_unfinished_save(tmp_path / "absent") == []


def test_load_model_holds_exactly_the_saved_tensors_without_a_random_start(tmp_path, monkeypatch):
    """load_model builds the architecture on the meta device (no random initialisation)
    and fills every tensor from the file: the same values as the saved model, nothing
    left uninitialised or on the meta device, and nothing drawn from torch's generator."""
    from safetensors.torch import load_file

    from facetwin.models import create_model
    from facetwin.models.checkpoint import load_model

    torch.manual_seed(11)
    model = create_model("tiny64")
    config = {"model": model.config, "input_size": 64, "predicts_mask": True}
    save_checkpoint(tmp_path, model=model, optimizer=None, state={"step": 0, "seed": 0}, config=config)
    before = torch.random.get_rng_state()
    loaded = load_model(tmp_path)
    assert torch.equal(torch.random.get_rng_state(), before)  # no initialiser ran
    saved = load_file(tmp_path / "weights.safetensors")
    state = loaded.state_dict()
    assert state.keys() == saved.keys()
    assert all(torch.equal(state[k], saved[k]) and not state[k].is_meta for k in saved)
    assert not loaded.training


def test_the_streaming_writer_reads_back_as_safetensors_own_files(tmp_path):
    """checkpoint's own writer (one tensor copied at a time) against the library's
    save_file: the same names, dtypes, shapes, values and metadata through safe_open."""
    from safetensors.torch import load_file

    from facetwin.models.checkpoint import _write_safetensors

    gen = torch.Generator().manual_seed(3)
    tensors = {
        "conv": torch.randn(8, 4, 3, 3, generator=gen).to(memory_format=torch.channels_last),
        "half": torch.randn(5, 7, generator=gen).bfloat16(),
        "step": torch.tensor(12.0),
        "ids": torch.arange(6, dtype=torch.int64).reshape(2, 3),
        "flags": torch.tensor([True, False, True]),
        "empty": torch.zeros(0, 3),
        "strided": torch.randn(6, 6, generator=gen)[:, ::2],
        "bytes": torch.arange(3, dtype=torch.uint8),
    }
    tensors["tied"] = tensors["conv"]
    metadata = {"facetwin": json.dumps({"step": 3})}
    _write_safetensors(tmp_path / "mine.safetensors", tensors, metadata)
    save_file({k: v.contiguous().clone() for k, v in tensors.items()}, str(tmp_path / "lib.safetensors"), metadata)
    mine, lib = load_file(tmp_path / "mine.safetensors"), load_file(tmp_path / "lib.safetensors")
    assert mine.keys() == lib.keys() == tensors.keys()
    for name in tensors:
        assert mine[name].dtype == lib[name].dtype and torch.equal(mine[name], lib[name]), name
    with safe_open(tmp_path / "mine.safetensors", "pt") as f:
        assert f.metadata() == metadata
    with pytest.raises(TypeError, match="no safetensors name"):
        _write_safetensors(tmp_path / "bad.safetensors", {"c": torch.zeros(2, dtype=torch.complex64)}, {})
