"""facetwin: learn a face swap between two people; every output marked as synthetic.

The Python API mirrors the command line::

    import facetwin
    summary = facetwin.extract("talk.mp4", "faces_a")
"""

from __future__ import annotations

__version__ = "0.1.0"

from facetwin.alignments import Alignments, load_alignments, save_alignments
from facetwin.config import ExtractConfig
from facetwin.errors import FacetwinError
from facetwin.extract import ExtractSummary, extract

__all__ = [
    "__version__",
    "extract",
    "ExtractConfig",
    "ExtractSummary",
    "Alignments",
    "load_alignments",
    "save_alignments",
    "FacetwinError",
]
