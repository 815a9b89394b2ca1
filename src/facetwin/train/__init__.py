"""Stage 2: training, pre-training, checkpoints, previews and loss plots."""

from facetwin.train.checkpoint import load_model
from facetwin.train.pretraining import pretrain
from facetwin.train.trainer import Distributed, TrainStatus, TrainSummary, train

__all__ = ["train", "pretrain", "load_model", "TrainSummary", "TrainStatus", "Distributed"]
