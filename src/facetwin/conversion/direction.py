"""Whose face a conversion paints when it is not told: the other person than the input's.

A model folder records where its training faces came from (``state.json``: each
person's faces folder), and an extraction folder where its faces came from
(``alignments.json``: the source's paths). So ``to="auto"`` can tell A's own footage,
which would otherwise come back as A again (a reconstruction, not a swap), from B's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

__all__ = ["direction", "footage_of"]


def direction(inputs: str | Path, model_dir: str | Path) -> tuple[Literal["a", "b"], str]:
    """("a" or "b", the reason in words) for a conversion of ``inputs`` with ``to="auto"``.

    B's face for footage person A's faces were extracted from, A's for B's footage and
    for footage the model does not know.
    """
    whose = footage_of(inputs, model_dir)
    if whose == "a":
        return "b", f"{inputs} is person A's own footage (A's training faces came from it): B's face goes on it"
    if whose == "b":
        return "a", f"{inputs} is person B's own footage (B's training faces came from it): A's face goes on it"
    return "a", f"A's face goes on {inputs} (footage the model was not trained on; --to b for B's face)"


def footage_of(inputs: str | Path, model_dir: str | Path) -> Literal["a", "b"] | None:
    """Which person's training faces were extracted from ``inputs`` (the same file or
    folder), as the model and extraction folders record it; None when neither's were,
    or the records are missing (faces from elsewhere, a model from before they were kept)."""
    target = Path(inputs).resolve()
    data = _read(Path(model_dir) / "state.json").get("data")
    if not isinstance(data, dict):
        return None
    for side in ("a", "b"):
        folder = data.get(side, {}).get("folder") if isinstance(data.get(side), dict) else None
        if not isinstance(folder, str):
            continue
        source = _read(Path(folder) / "alignments.json").get("source")
        sources = source.get("inputs", []) if isinstance(source, dict) else []
        if any(isinstance(p, str) and Path(p) == target for p in sources):
            return side
    return None


def _read(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}
