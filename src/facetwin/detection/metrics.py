"""Detection figures: accuracy at a threshold and the area under the ROC curve."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np

__all__ = ["roc_auc", "accuracy", "group_means", "detection_figures"]


def roc_auc(scores: Sequence[float] | np.ndarray, labels: Sequence[int] | np.ndarray) -> float | None:
    """Area under the ROC curve of ``scores`` for ``labels`` (1 = positive), or None
    when one class is absent.

    The Mann-Whitney rank statistic: the chance that a random positive scores above a
    random negative, ties counting half, which is exactly the trapezoid area under the
    ROC curve.

    >>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    >>> roc_auc([0.5, 0.5], [0, 1])
    0.5
    """
    s = np.asarray(scores, np.float64).ravel()
    y = np.asarray(labels).ravel().astype(bool)
    if s.shape != y.shape:
        raise ValueError(f"scores and labels differ in length: {s.shape[0]} and {y.shape[0]}")
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), np.float64)
    ranks[order] = np.arange(1, len(s) + 1)
    # Tied scores share the mean of their ranks.
    uniq, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    if len(uniq) < len(s):
        sums = np.bincount(inverse, weights=ranks)
        ranks = (sums / counts)[inverse]
    u = ranks[y].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def accuracy(scores: np.ndarray, labels: np.ndarray, threshold: float = 0.5) -> float | None:
    """Share of ``scores`` on the right side of ``threshold`` (>= is positive); None if empty.

    >>> accuracy(np.array([0.2, 0.7, 0.6]), np.array([0, 1, 0]))
    0.6666666666666666
    """
    s, y = np.asarray(scores, np.float64), np.asarray(labels).astype(bool)
    if s.size == 0:
        return None
    return float(((s >= threshold) == y).mean())


def group_means(scores: np.ndarray, groups: Sequence[Hashable]) -> dict[Hashable, float]:
    """Mean score of each group (a video), in order of first appearance.

    >>> group_means(np.array([0.2, 0.4, 1.0]), ["a", "a", "b"])
    {'a': 0.30000000000000004, 'b': 1.0}
    """
    sums: dict[Hashable, list[float]] = {}
    for score, group in zip(np.asarray(scores, np.float64), groups):
        sums.setdefault(group, []).append(float(score))
    return {g: float(np.mean(v)) for g, v in sums.items()}


def detection_figures(fake: np.ndarray, real: np.ndarray, threshold: float = 0.5) -> dict[str, float | int | None]:
    """Counts, accuracy (overall and per class), AUC and mean scores of fake and real scores."""
    fake, real = np.asarray(fake, np.float64), np.asarray(real, np.float64)
    scores = np.concatenate([fake, real])
    labels = np.concatenate([np.ones(len(fake), int), np.zeros(len(real), int)])

    def mean(x: np.ndarray) -> float | None:
        return float(x.mean()) if x.size else None

    return {
        "fake": int(fake.size),
        "real": int(real.size),
        "accuracy": accuracy(scores, labels, threshold),
        "auc": roc_auc(scores, labels),
        "accuracy_fake": accuracy(fake, np.ones(len(fake), int), threshold),
        "accuracy_real": accuracy(real, np.zeros(len(real), int), threshold),
        "mean_score_fake": mean(fake),
        "mean_score_real": mean(real),
    }
