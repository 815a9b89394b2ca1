"""One progress event for every stage.

Each long-running function takes ``progress``, a callable that receives a ``Progress``
after each unit of work: extraction and conversion after each frame, training after each
step, evaluation, datasets and the detector per frame, step or pair. The command line
draws every stage with one bar class and the web UI reads every stage with one adapter.

    >>> seen = []
    >>> Progress("extract", 3, 10, "frame", detail="2 faces").fraction
    0.3
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Progress", "ProgressFn"]


@dataclass(frozen=True)
class Progress:
    """Where a stage stands.

    Attributes:
        stage: what is running: "extract", "train", "convert", "gallery", "crops", "pair", ...
        done: units finished so far (frames, steps, ...), counting earlier runs when resumed.
        total: units in all; None when not known (a time limit, a stream without a length).
        unit: "frame", "step", "pair", "person", ...
        item: which one, where a run has several: a dataset's pair, an evaluation's video.
        detail: a short phrase for people ("12 faces", "loss A 0.0123 B 0.0134").
        facts: the same as numbers, for programs ({"faces": 12} or {"loss_a": 0.0123, ...}).
        remaining: seconds left, where the stage knows better than ``done`` and ``total``
            can tell (a time limit; a run of several stages, such as the demo); None
            otherwise. ``total`` may then be an estimate (the steps a time limit allows).
    """

    stage: str
    done: int
    total: int | None = None
    unit: str = "frame"
    item: str | None = None
    detail: str = ""
    facts: Mapping[str, float] = field(default_factory=dict)
    remaining: float | None = None

    @property
    def fraction(self) -> float | None:
        """done / total, or None without a total."""
        return self.done / self.total if self.total else None


#: What every stage's ``progress`` argument is.
ProgressFn = Callable[[Progress], None]
