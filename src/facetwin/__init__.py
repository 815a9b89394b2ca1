"""facetwin: learn a face swap between two people; every output marked as synthetic.

The Python API is the command line's verbs, at the top level::

    import facetwin
    facetwin.extract("talk_a.mp4", "faces_a")                    # facetwin extract
    facetwin.train("faces_a", "faces_b", "model",                  # facetwin train
                   config=facetwin.TrainConfig(steps=1000))        # (from the shipped base)
    model = facetwin.load_model("model")
    facetwin.convert("talk_b.mp4", "model", "out.mp4",             # facetwin convert
                     config=facetwin.ConvertConfig(to="a"))
    facetwin.verify("out.mp4").verdict                              # facetwin verify
    facetwin.evaluate("model", "a.mp4", "b.mp4")                    # facetwin evaluate
    facetwin.generate_dataset(facetwin.read_pairs("pairs.csv"), "ds")   # facetwin dataset
    facetwin.train_detector("ds", "detector")                      # facetwin detect train
    facetwin.evaluate_detector("detector", "ds")                   # facetwin detect eval

Each verb lives in a package named by a noun (``facetwin.extraction``,
``facetwin.training``, ``facetwin.conversion``, ``facetwin.evaluation``,
``facetwin.dataset``, ``facetwin.detection``), with the rest of its stage.
"""

from __future__ import annotations

import importlib

from facetwin._version import __version__
from facetwin.alignments import Alignments, load_alignments, save_alignments
from facetwin.config import ConvertConfig, ExtractConfig, TrainConfig
from facetwin.errors import FacetwinError
from facetwin.extraction import ExtractSummary, extract, remove_faces

# Everything past extraction pulls in torch (seconds to import): loaded on first use,
# so that extraction and the command line's --help stay quick.
_LAZY = {
    "train": "facetwin.training",
    "pretrain": "facetwin.training",
    "load_model": "facetwin.models.checkpoint",
    "convert": "facetwin.conversion",
    "verify": "facetwin.forensics",
    "evaluate": "facetwin.evaluation",
    "evaluate_pairs": "facetwin.evaluation",
    "generate_dataset": "facetwin.dataset",
    "read_pairs": "facetwin.pairs",
    "DatasetConfig": "facetwin.dataset",
    "train_detector": "facetwin.detection",
    "evaluate_detector": "facetwin.detection",
    "DetectConfig": "facetwin.detection",
    "run_demo": "facetwin.demo",
}

__all__ = [
    "__version__",
    "extract",
    "remove_faces",
    "ExtractConfig",
    "ExtractSummary",
    "Alignments",
    "load_alignments",
    "save_alignments",
    "TrainConfig",
    "ConvertConfig",
    "FacetwinError",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'facetwin' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
