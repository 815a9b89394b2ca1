"""The Python API refuses wrong types with the same one-sentence errors as the CLI.

Before, ``extract(123, ...)`` raised "'int' object is not iterable" from deep inside and
``verify(path, frames=0)`` went ahead; each public entry point now checks its arguments
first (``facetwin._check``), so a caller gets an ``InvalidOptionError`` (a ``ValueError``
and a ``FacetwinError``) naming the argument, and nothing is created on disk.
"""

from __future__ import annotations

import pytest

from facetwin import ConvertConfig, ExtractConfig, TrainConfig, extract, load_model, verify
from facetwin.convert import convert
from facetwin.errors import FacetwinError, InvalidOptionError
from facetwin.evaluate import evaluate
from facetwin.dataset import generate_dataset, read_pairs
from facetwin.train import pretrain, train


def _cases(photo, out):
    return {
        "extract-int-input": (lambda: extract(123, out), "inputs must be a path or a list of paths, got int 123"),
        "extract-none-input": (lambda: extract(None, out), "inputs must be a path or a list of paths"),
        "extract-int-output": (lambda: extract(photo, 5), "output must be a path"),
        "extract-dict-config": (lambda: extract(photo, out, config={"crop_size": 64}),
                                "config must be an ExtractConfig or None"),
        "extract-wrong-config": (lambda: extract(photo, out, config=TrainConfig()),
                                 "config must be an ExtractConfig or None"),
        "train-int-folder": (lambda: train(photo, 2, out), "faces_b must be a path"),
        "train-dict-config": (lambda: train(photo, photo, out, config={}), "config must be a TrainConfig"),
        "pretrain-int-sources": (lambda: pretrain(5, out), "sources must be a path or a list of paths"),
        "convert-none-input": (lambda: convert(None, out, out / "x.png"), "inputs must be a path"),
        "convert-str-config": (lambda: convert(photo, out, out / "x.png", config="x"),
                               "config must be a ConvertConfig"),
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
