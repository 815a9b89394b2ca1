"""The embedded default: the pipeline on two portraits shipped inside installed packages.

No data to download or supply: scikit-image ships a portrait of astronaut Eileen
Collins and matplotlib one of Grace Hopper. Until the training and conversion stages
land, the demo runs extraction on both and draws what it found.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facetwin.alignments import load_alignments
from facetwin.config import ExtractConfig
from facetwin.extract import ExtractSummary, ProgressFn, extract
from facetwin.io.images import read_image, write_png

__all__ = ["demo_portraits", "run_demo", "DemoResult"]


@dataclass
class DemoResult:
    output: Path
    summaries: dict[str, ExtractSummary]
    figure: Path


def demo_portraits(folder: Path) -> dict[str, Path]:
    """Write the two shipped portraits into ``folder`` as files; returns name -> path."""
    import matplotlib.cbook
    import skimage.data

    folder.mkdir(parents=True, exist_ok=True)
    a = folder / "astronaut.png"
    if not a.exists():
        write_png(a, np.ascontiguousarray(skimage.data.astronaut()))
    b = folder / "grace_hopper.jpg"
    if not b.exists():
        shutil.copyfile(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False), b)
    return {"a": a, "b": b}


def run_demo(
    output: str | Path = "facetwin-demo",
    *,
    config: ExtractConfig | None = None,
    progress: ProgressFn | None = None,
) -> DemoResult:
    """Extract the faces of both shipped portraits into ``output`` and draw them.

    Writes ``inputs/``, ``faces_a/`` and ``faces_b/`` (crops + alignments.json) and
    ``extract.png``: each portrait with its box and 68 landmarks beside its crop.
    """
    out = Path(output)
    portraits = demo_portraits(out / "inputs")
    summaries = {
        side: extract(path, out / f"faces_{side}", config=config, progress=progress, overwrite=True)
        for side, path in portraits.items()
    }
    figure = out / "extract.png"
    _draw(portraits, {s: out / f"faces_{s}" for s in portraits}, figure)
    return DemoResult(out, summaries, figure)


def _draw(portraits: dict[str, Path], faces: dict[str, Path], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(portraits), 2, figsize=(8, 4 * len(portraits)), squeeze=False)
    for row, (side, image_path) in enumerate(portraits.items()):
        image = read_image(image_path)
        alignments = load_alignments(faces[side] / "alignments.json")
        ax = axes[row, 0]
        ax.imshow(image)
        for _, face in alignments.faces():
            x0, y0, x1, y1 = face.box
            ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color="lime", lw=1.5))
            ax.scatter(face.landmarks[:, 0], face.landmarks[:, 1], s=4, c="yellow")
        ax.set_title(f"{image_path.name}: detection and 68 landmarks", fontsize=9)
        ax.axis("off")
        ax = axes[row, 1]
        first = next(iter(alignments.faces()), None)
        if first is not None:
            ax.imshow(read_image(faces[side] / first[1].crop))
            ax.set_title(f"aligned crop {alignments.crop_size}x{alignments.crop_size}", fontsize=9)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
