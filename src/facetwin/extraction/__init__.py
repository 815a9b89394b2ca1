"""Stage 1: media in, aligned face crops and an alignments file out (``facetwin extract``)."""

from facetwin.extraction.pipeline import ALIGNMENTS_NAME, ExtractSummary, extract, remove_faces

__all__ = ["extract", "remove_faces", "ExtractSummary", "ALIGNMENTS_NAME"]
