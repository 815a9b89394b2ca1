"""A baseline deepfake detector trained on facetwin datasets: ``facetwin detect``."""

from facetwin.config import DetectConfig
from facetwin.detection.evaluation import evaluate_detector, format_detect_report, write_detect_report
from facetwin.detection.metrics import roc_auc
from facetwin.detection.model import DetectorNet, load_detector
from facetwin.detection.splits import Splits, dataset_splits
from facetwin.detection.trainer import DetectTrainSummary, train_detector

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
