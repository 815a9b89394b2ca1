"""Evaluation of a trained swap: measured quality on held-out footage.

    from facetwin.evaluation import evaluate, EvaluateConfig, write_report, format_table
    result = evaluate("model", "a.mp4", "b.mp4")
    print(format_table(result)); write_report(result, "model/evaluation")

    from facetwin.evaluation import evaluate_pairs, load_pairs, gallery_sources, format_pairs_table, write_pairs_report
    result = evaluate_pairs(load_pairs("pairs.csv"), gallery=gallery_sources(["people/"]))
    print(format_pairs_table(result)); write_pairs_report(result, "evaluation")

Loaded on first use (the runner pulls in torch and the recognisers).
"""

from __future__ import annotations

import importlib

__all__ = [
    "evaluate",
    "EvaluateConfig",
    "Evaluation",
    "write_report",
    "format_table",
    "summary",
    "evaluate_pairs",
    "load_pairs",
    "pairs_summary",
    "format_pairs_table",
    "write_pairs_report",
    "build_gallery",
    "gallery_sources",
]

_HOME = {
    "evaluate": "runner",
    "EvaluateConfig": "runner",
    "Evaluation": "runner",
    "write_report": "report",
    "format_table": "report",
    "summary": "report",
    "evaluate_pairs": "pairs",
    "load_pairs": "pairs",
    "pairs_summary": "pairs",
    "format_pairs_table": "pairs",
    "write_pairs_report": "pairs",
    "build_gallery": "gallery",
    "gallery_sources": "gallery",
}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(f"facetwin.evaluation.{_HOME[name]}"), name)
    raise AttributeError(f"module 'facetwin.evaluation' has no attribute {name!r}")
