"""Stage 2: training, checkpoints, previews and loss plots."""

from facetwin.train.trainer import Distributed, TrainStatus, TrainSummary, train

__all__ = ["train", "TrainSummary", "TrainStatus", "Distributed"]
