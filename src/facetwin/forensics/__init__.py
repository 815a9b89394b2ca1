"""Marking outputs as synthetic, checking files for the marks, and labelled face-swap datasets.

    from facetwin.forensics import verify, generate_dataset, read_pairs, DatasetConfig

Names are loaded on first use: ``io.writers`` imports the watermark from here, and the
rest (C2PA, the dataset runner) should not load with every writer.
"""

from __future__ import annotations

import importlib

__all__ = [
    "verify", "FileReport", "format_report",
    "Provenance", "model_fingerprint",
    "embed_watermark", "watermark_score", "WatermarkReader",
    "generate_dataset", "read_pairs", "check_pair", "DatasetConfig", "Pair",
]

_HOME = {
    "verify": "report", "FileReport": "report", "format_report": "report",
    "Provenance": "provenance", "model_fingerprint": "provenance",
    "embed_watermark": "watermark", "watermark_score": "watermark", "WatermarkReader": "watermark",
    "generate_dataset": "dataset", "read_pairs": "dataset", "check_pair": "dataset",
    "DatasetConfig": "dataset", "Pair": "dataset",
}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(f"facetwin.forensics.{_HOME[name]}"), name)
    raise AttributeError(f"module 'facetwin.forensics' has no attribute {name!r}")
