"""Evaluation of a trained swap: measured quality on held-out footage.

    from facetwin.evaluate import evaluate, EvaluateConfig, write_report, format_table
    result = evaluate("model", "a.mp4", "b.mp4")
    print(format_table(result)); write_report(result, "model/evaluation")

Loaded on first use (the runner pulls in torch and the recognisers).
"""

from __future__ import annotations

import importlib

__all__ = ["evaluate", "EvaluateConfig", "Evaluation", "write_report", "format_table", "summary", "time_split"]

_HOME = {"evaluate": "runner", "EvaluateConfig": "runner", "Evaluation": "runner", "write_report": "report",
         "format_table": "report", "summary": "report", "time_split": "split"}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(f"facetwin.evaluate.{_HOME[name]}"), name)
    raise AttributeError(f"module 'facetwin.evaluate' has no attribute {name!r}")
