"""Stage 2: training and pre-training, with previews and loss plots (the model folder's
checkpoints live beside the models, in ``facetwin.models.checkpoint``)."""

from facetwin.train.pretraining import pretrain
from facetwin.train.trainer import TrainStatus, TrainSummary, train

__all__ = ["train", "pretrain", "TrainSummary", "TrainStatus"]
