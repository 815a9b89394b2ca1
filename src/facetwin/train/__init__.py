"""Stage 2: training, checkpoints, previews and loss plots."""

from facetwin.train.checkpoint import load_model
from facetwin.train.trainer import Distributed, TrainStatus, TrainSummary, train

__all__ = ["train", "load_model", "TrainSummary", "TrainStatus", "Distributed"]
