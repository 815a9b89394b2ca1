"""facetwin: learn a face swap between two people; every output marked as synthetic.

The Python API mirrors the command line::

    import facetwin
    summary = facetwin.extract("talk.mp4", "faces_a")
    from facetwin.train import train  # the stage's package is facetwin.train
    train("faces_a", "faces_b", "model", config=facetwin.TrainConfig(steps=1000))  # from the shipped base
    # facetwin.train.pretrain(["people/"], "base", config=...)  # facetwin pretrain
    model = facetwin.load_model("model")
    from facetwin.convert import convert  # likewise facetwin.convert
    convert("talk_b.mp4", "model", "out.mp4", config=facetwin.ConvertConfig(to="a"))
    facetwin.verify("out.mp4").verdict          # the marks every output carries
    from facetwin.evaluate import evaluate      # facetwin evaluate
    from facetwin.dataset import generate_dataset, read_pairs  # facetwin dataset
"""

from __future__ import annotations

from facetwin._version import __version__
from facetwin.alignments import Alignments, load_alignments, save_alignments
from facetwin.config import ConvertConfig, ExtractConfig, TrainConfig
from facetwin.errors import FacetwinError
from facetwin.extract import ExtractSummary, extract, remove_faces

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
    "load_model",
    "verify",
    "FacetwinError",
]

# Models pull in torch (seconds to import): loaded on first use, so that extraction and
# the command line's --help stay quick. (No top-level train(): the name belongs to the
# facetwin.train package, which the import system binds here once it is loaded.)
_LAZY = {"load_model": ("facetwin.models.checkpoint", "load_model"), "verify": ("facetwin.forensics.report", "verify")}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'facetwin' has no attribute {name!r}")
