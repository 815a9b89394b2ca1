"""The Python API refuses wrong types with the same one-sentence errors as the CLI.

Before, ``extract(123, ...)`` raised "'int' object is not iterable" from deep inside and
``verify(path, frames=0)`` went ahead; each public entry point now checks its arguments
first (``facetwin._check``), so a caller gets an ``InvalidOptionError`` (a ``ValueError``
and a ``FacetwinError``) naming the argument, and nothing is created on disk.
"""

from __future__ import annotations

import pytest

from facetwin import ConvertConfig, ExtractConfig, TrainConfig, extract, load_model, verify
from facetwin.conversion import convert
from facetwin.dataset import generate_dataset, read_pairs
from facetwin.errors import FacetwinError, InvalidOptionError
from facetwin.evaluation import evaluate
from facetwin.training import pretrain, train


def _cases(photo, out):
    return {
        "extract-int-input": (lambda: extract(123, out), "inputs must be a path or a list of paths, got int 123"),
        "extract-none-input": (lambda: extract(None, out), "inputs must be a path or a list of paths"),
        "extract-int-output": (lambda: extract(photo, 5), "output must be a path"),
        "extract-dict-config": (
            lambda: extract(photo, out, config={"crop_size": 64}),
            "config must be an ExtractConfig or None",
        ),
        "extract-wrong-config": (
            lambda: extract(photo, out, config=TrainConfig()),
            "config must be an ExtractConfig or None",
        ),
        "train-int-folder": (lambda: train(photo, 2, out), "faces_b must be a path"),
        "train-dict-config": (lambda: train(photo, photo, out, config={}), "config must be a TrainConfig"),
        "pretrain-int-sources": (lambda: pretrain(5, out), "sources must be a path or a list of paths"),
        "convert-none-input": (lambda: convert(None, out, out / "x.png"), "inputs must be a path"),
        "convert-str-config": (
            lambda: convert(photo, out, out / "x.png", config="x"),
            "config must be a ConvertConfig",
        ),
        "verify-int": (lambda: verify(5), "path must be a path"),
        "verify-zero-frames": (lambda: verify(photo, frames=0), "frames must be >= 1, got 0"),
        "verify-text-frames": (lambda: verify(photo, frames="a"), "frames must be an int"),
        "load-model-int": (lambda: load_model(5), "model_dir must be a path"),
        "evaluate-int-video": (lambda: evaluate(out, 7, photo), "video_a must be a path"),
        "read-pairs-int": (lambda: read_pairs(5), "path must be a path"),
        "dataset-int-pairs": (lambda: generate_dataset(5, out), "pairs must be a list of Pair"),
        "dataset-path-pairs": (lambda: generate_dataset([photo], out), "pairs must be a list of Pair"),
        "config-text-size": (lambda: ExtractConfig(crop_size="a"), "crop_size must be a number, got 'a'"),
        "config-text-lr": (lambda: TrainConfig(lr="x"), "lr must be a number, got 'x'"),
        "config-bool-erode": (lambda: ConvertConfig(erode=True), "erode must be a number, got True"),
    }


CASES = list(_cases("p", "o"))


@pytest.mark.parametrize("case", CASES)
def test_wrong_types_are_one_clear_error(case, grace_hopper_path, tmp_path):
    out = tmp_path / "out"
    call, message = _cases(grace_hopper_path, out)[case]
    with pytest.raises(InvalidOptionError) as info:
        call()
    assert isinstance(info.value, ValueError) and isinstance(info.value, FacetwinError)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not out.exists()


# The verbs at the top level, each the function of its stage's package (issue 17).
VERBS = {
    "extract": "facetwin.extraction",
    "remove_faces": "facetwin.extraction",
    "train": "facetwin.training",
    "pretrain": "facetwin.training",
    "load_model": "facetwin.models.checkpoint",
    "convert": "facetwin.conversion",
    "verify": "facetwin.forensics",
    "evaluate": "facetwin.evaluation",
    "evaluate_pairs": "facetwin.evaluation",
    "generate_dataset": "facetwin.dataset",
    "read_pairs": "facetwin.pairs",
    "train_detector": "facetwin.detection",
    "evaluate_detector": "facetwin.detection",
    "run_demo": "facetwin.demo",
}


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_is_at_the_top_level(verb):
    import importlib

    import facetwin

    function = getattr(facetwin, verb)
    assert callable(function) and not isinstance(function, type(facetwin))
    assert function is getattr(importlib.import_module(VERBS[verb]), verb)
    assert verb in facetwin.__all__ and verb in dir(facetwin)


def test_no_module_shares_a_function_name():
    # Importing a stage's package may not rebind a verb (Python sets a submodule as an
    # attribute of its parent): the packages are nouns, the functions verbs.
    import importlib
    import pkgutil

    import facetwin

    names = {m.name.rpartition(".")[2] for m in pkgutil.walk_packages(facetwin.__path__, "facetwin.")}
    assert names & set(VERBS) == set()
    for package in ("extraction", "training", "conversion", "evaluation", "dataset", "detection"):
        module = importlib.import_module(f"facetwin.{package}")
        assert type(module).__name__ == "module" and getattr(facetwin, package) is module
    assert callable(facetwin.train) and callable(facetwin.convert) and callable(facetwin.extract)


def _sample_error(cls):
    """An instance of an error class, its arguments filled in by name and annotation."""
    import inspect
    from pathlib import Path

    values, keywords = [], {}
    for name, param in inspect.signature(cls.__init__).parameters.items():
        if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.default is not param.empty:
            continue
        hint = str(param.annotation)
        if any(k in name for k in ("path", "folder", "dir", "output", "file")):
            values.append(Path(f"/tmp/{name}"))
        elif "OSError" in hint or "Exception" in hint:
            values.append(OSError(28, "No space left on device"))
        elif hint == "bool":
            values.append(True)
        elif "Mapping" in hint or "dict" in hint:
            values.append({"a": 1})
        elif "Sequence" in hint or "list" in hint or "tuple" in hint:
            values.append(["--a", "--b"])
        elif "int" in hint:
            values.append(3)
        elif "float" in hint:
            values.append(0.5)
        else:
            values.append(f"<{name}>")
        if param.kind == param.KEYWORD_ONLY:
            keywords[name] = values.pop()
    return cls(*values, **keywords)


def test_every_error_survives_a_process_boundary():
    import copy  # copies through __reduce__, as a process pool sends an error back
    import multiprocessing

    from facetwin import errors

    classes = [getattr(errors, name) for name in errors.__all__ if name != "FacetwinError"]
    assert len(classes) > 25
    for cls in classes:
        error = _sample_error(cls)
        back = copy.deepcopy(error)
        facts = {k: v for k, v in error.__dict__.items() if k != "_made_with"}
        assert type(back) is cls and str(back) == str(error) and back.args == error.args
        assert {k: v for k, v in back.__dict__.items() if k != "_made_with"} == facts
    # And through a real worker process: the caller gets the error, not BrokenProcessPool.
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        with pytest.raises(InvalidOptionError, match="--device") as caught:
            pool.submit(_raise_in_worker).result()
    assert caught.value.name == "--device" and caught.value.value == "gpu"


def _raise_in_worker():
    from facetwin.device import pick_device

    pick_device("gpu")
