"""The marks every output carries (watermark, metadata, signed C2PA manifest) and the
check that reads them (``facetwin verify``).

    from facetwin.forensics import verify, Provenance, embed_watermark, watermark_score

A layer just above io: the stages hand a ``Provenance`` to io's writers, which call it to
mark what they write (``facetwin.io.writers.Marks``), so io never imports the marks.
"""

from facetwin.forensics.provenance import Provenance
from facetwin.forensics.report import FileReport, format_report, verify
from facetwin.forensics.watermark import WatermarkReader, embed_watermark, watermark_score

__all__ = [
    "verify",
    "FileReport",
    "format_report",
    "Provenance",
    "embed_watermark",
    "watermark_score",
    "WatermarkReader",
]
