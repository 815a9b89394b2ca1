"""A baseline deepfake detector trained on facetwin datasets: ``facetwin detect``."""

from facetwin.detect.config import DetectConfig
from facetwin.detect.evaluate import evaluate_detector, format_detect_report, write_detect_report
from facetwin.detect.metrics import roc_auc
from facetwin.detect.model import DetectorNet, load_detector
from facetwin.detect.splits import Splits, dataset_splits
from facetwin.detect.train import DetectTrainSummary, train_detector

__all__ = [
    "train_detector",
    "evaluate_detector",
    "write_detect_report",
    "format_detect_report",
    "dataset_splits",
    "Splits",
    "DetectConfig",
    "DetectTrainSummary",
    "DetectorNet",
    "load_detector",
    "roc_auc",
]
