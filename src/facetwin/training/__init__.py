"""Stage 2: training and pre-training, with previews and loss plots (the model folder's
checkpoints live beside the models, in ``facetwin.models.checkpoint``)."""

from facetwin.training.pretraining import pretrain
from facetwin.training.trainer import TrainSummary, train

__all__ = ["train", "pretrain", "TrainSummary"]
