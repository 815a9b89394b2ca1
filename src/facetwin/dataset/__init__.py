"""Labelled face-swap datasets for detection research: ``facetwin dataset``.

    from facetwin.dataset import generate_dataset, read_pairs, DatasetConfig, check_pair

The runner sits at the top, beside the demo: it drives extraction, training and
conversion for each pair, and the marks go on through the stages' writers.
"""

from facetwin.dataset.check import check_pair
from facetwin.dataset.generate import (
    DATASET_STEPS,
    DEFAULT_LADDER,
    DatasetConfig,
    DatasetSummary,
    Pair,
    generate_dataset,
    read_pairs,
    split_pairs,
)

__all__ = [
    "generate_dataset",
    "read_pairs",
    "check_pair",
    "split_pairs",
    "DatasetConfig",
    "DatasetSummary",
    "Pair",
    "DEFAULT_LADDER",
    "DATASET_STEPS",
]
