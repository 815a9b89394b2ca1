"""Which pairs of a dataset a detector trains on, is tuned on and is tested on.

A detector tested on a face it trained on (the same real video, or the same person
swapped in) measures memory, not detection, so by default no video appears in two
splits: pairs that share a video (as target or source) stay together. The dataset's
own splits (``manifest["splits"]``) win when it has them.
"""

from __future__ import annotations

import logging
import zlib
from pathlib import Path
from typing import Literal

from facetwin.detection.data import DatasetFolder, open_dataset
from facetwin.errors import DatasetFolderError

__all__ = ["Splits", "dataset_splits", "SPLITS", "FRACTIONS"]

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
#: Shares of the pairs in each split, as FaceForensics++ (720 / 140 / 140 of 1,000).
FRACTIONS = {"train": 0.72, "val": 0.14, "test": 0.14}


class Splits(dict):
    """``{"train": [pair names], "val": [...], "test": [...]}``, and how it was made.

    Attributes:
        method: "manifest" (the dataset's own), "videos" (no video in two splits) or
            "pairs" (the pairs share videos so that no such split exists: pairs are
            split, and a test video may have been seen in training in another pair).
        note: a sentence for the report when the split is not video-disjoint.
    """

    def __init__(
        self, splits: dict[str, list[str]], method: Literal["manifest", "videos", "pairs"], note: str | None = None
    ) -> None:
        super().__init__({name: list(splits.get(name, [])) for name in SPLITS})
        self.method = method
        self.note = note


def dataset_splits(dataset_dir: str | Path | DatasetFolder) -> Splits:
    """The finished pairs of a dataset, split into train, val and test.

    ``manifest["splits"]`` when present (lists of pair names, or of [target, source]
    as FaceForensics++'s split files) and it gives both a train and a test split of
    finished pairs; otherwise a deterministic split of the groups of
    pairs linked by a shared video, about 72/14/14 % of the pairs, at least one group
    each for train and test. With fewer than two such groups no video-disjoint split
    exists: the pairs themselves are split, and ``method`` says "pairs".

    Raises:
        DatasetFolderError: not a dataset, fewer than two finished pairs, or malformed splits.
    """
    folder = dataset_dir if isinstance(dataset_dir, DatasetFolder) else open_dataset(dataset_dir)
    pairs = folder.pairs
    given = folder.manifest.get("splits")
    if given is not None:
        splits = _manifest_splits(folder, given)
        if splits["train"] and splits["test"]:
            return Splits(splits, "manifest")
        # One group of linked videos: the dataset put every pair in one split.
    if len(pairs) < 2:
        raise DatasetFolderError(
            folder.root,
            f"has {len(pairs)} finished pair: a detector needs one pair to train on and another to test on",
            "add pairs to the dataset",
        )
    groups = _video_groups(pairs)
    if len(groups) >= 2:
        return Splits(_assign(groups), "videos")
    videos = {v for p in pairs.values() for v in (p["target"], p["source"])}
    note = (
        f"the {len(pairs)} pairs link all {len(videos)} videos into one group, so no split keeps videos apart: "
        "pairs were split, and test videos were seen in training in another pair"
    )
    log.info("%s: %s", folder.root, note)  # the reports carry the note
    return Splits(_assign([[name] for name in pairs]), "pairs", note)


def _manifest_splits(folder: DatasetFolder, given: object) -> dict[str, list[str]]:
    # Other keys ("by", "seed") describe how the dataset made them.
    if not isinstance(given, dict) or not all(isinstance(given.get(s, []), list) for s in SPLITS):
        raise DatasetFolderError(folder.root, 'manifest.json "splits" must map train, val, test to lists of pairs')
    out: dict[str, list[str]] = {}
    for split in SPLITS:
        entries = given.get(split, [])
        names = []
        for entry in entries:
            if isinstance(entry, str):
                name = entry
            elif isinstance(entry, list) and len(entry) == 2 and all(isinstance(v, str) for v in entry):
                name = f"{Path(entry[0]).stem}_{Path(entry[1]).stem}"
            else:
                raise DatasetFolderError(folder.root, f'manifest.json "splits" holds {entry!r}, not a pair name')
            if name in folder.pairs:  # unfinished or failed pairs have no videos to use
                names.append(name)
        out[split] = names
    return out


def _video_groups(pairs: dict[str, dict[str, str]]) -> list[list[str]]:
    """Pairs grouped so that two pairs sharing a video (target or source) are together."""
    parent: dict[str, str] = {}

    def root(v: str) -> str:
        while parent.setdefault(v, v) != v:
            parent[v] = parent[parent[v]]
            v = parent[v]
        return v

    for entry in pairs.values():
        parent[root(entry["target"])] = root(entry["source"])
    groups: dict[str, list[str]] = {}
    for name, entry in pairs.items():
        groups.setdefault(root(entry["target"]), []).append(name)
    return [sorted(g) for g in groups.values()]


def _assign(groups: list[list[str]]) -> dict[str, list[str]]:
    """Groups into splits: in an order fixed by their names (not by how they are listed),
    each to the split furthest below its share; then test gets a group if it has none."""
    order = sorted(groups, key=lambda g: (zlib.crc32("\n".join(g).encode("utf-8")), g))
    placed: dict[str, list[list[str]]] = {name: [] for name in SPLITS}
    counts = dict.fromkeys(SPLITS, 0)
    for group in order:
        total = sum(counts.values()) + len(group)
        # Ties go to train, then test, then val: a small dataset needs a test set more than a val set.
        split = max(("train", "test", "val"), key=lambda s: FRACTIONS[s] * total - counts[s])
        placed[split].append(group)
        counts[split] += len(group)
    if not placed["test"]:
        donor = "val" if placed["val"] else "train"
        placed["test"].append(placed[donor].pop())
    return {name: sorted(p for g in placed[name] for p in g) for name in SPLITS}
