"""The base model shipped inside the package: a start for every new pair.

A swap model learns a pair faster from weights that already know faces: the base is
an autoencoder pre-trained on many people (``facetwin pretrain``; what it saw and how
is written in docs/base-model.md). It lives beside this module as
``weights/base.safetensors`` (float16, to stay under 40 MB) with ``weights/base.json``,
which records the architecture, the face type and the file's sha256; the digest is
checked on every load, so a damaged or swapped file is refused rather than trained on.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from facetwin.errors import CorruptCheckpointError

__all__ = ["BASE_DIR", "base_info", "base_weights", "base_path", "sha256_of"]

#: Where the shipped base model lives.
BASE_DIR = Path(__file__).resolve().parent / "weights"
_WEIGHTS = "base.safetensors"
_INFO = "base.json"


def base_path() -> Path:
    return BASE_DIR / _WEIGHTS


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def base_info(folder: Path | None = None) -> dict[str, Any] | None:
    """What the base model is (base.json), or None when none ships.

    Keys: ``model`` (architecture), ``face`` (face type name), ``sha256``, ``summary``
    (one line for reports), ``config`` (the pre-training model's config.json) and
    ``training`` (data, steps, settings, time).
    """
    info = (folder or BASE_DIR) / _INFO
    if not info.is_file():
        return None
    return json.loads(info.read_text())


@lru_cache(maxsize=2)
def _checked_weights(path: Path, sha256: str, mtime: float) -> dict[str, torch.Tensor]:
    actual = sha256_of(path)
    if actual != sha256:
        raise CorruptCheckpointError(
            path.parent, path.name, f"sha256 {actual[:16]}… is not the recorded {sha256[:16]}…"
        )
    return load_file(str(path))


def base_weights(folder: Path | None = None) -> dict[str, torch.Tensor]:
    """The base model's tensors as float32, after checking the file's sha256.

    Raises:
        CorruptCheckpointError: the file is missing or its digest is not base.json's.
    """
    folder = folder or BASE_DIR
    info = base_info(folder)
    path = folder / _WEIGHTS
    if info is None or not path.is_file():
        raise CorruptCheckpointError(folder, _WEIGHTS, "is missing (reinstall facetwin)")
    weights = _checked_weights(path, str(info["sha256"]), path.stat().st_mtime)
    return {name: t.float() for name, t in weights.items()}
