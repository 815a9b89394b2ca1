"""The embedded default: the whole pipeline on two portraits shipped inside installed packages.

No data to download or supply: scikit-image ships a portrait of astronaut Eileen
Collins (person A) and matplotlib one of Grace Hopper (person B). One photo is not a
training set, so each is first turned into a few dozen views (small turns, zooms, shifts
and changes of light, as a camera moving around a sitter would give); then the real
stages run: ``extract`` on the views, a short ``train`` of a small model, and
``convert`` of each portrait with the other person's decoder.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from facetwin._check import check_config, check_number, check_path, check_range
from facetwin.config import ConvertConfig, ExtractConfig, TrainConfig
from facetwin.errors import FacetwinError, OutputConflictError
from facetwin.extraction import ExtractSummary, extract
from facetwin.faces.find import FaceFinder
from facetwin.forensics.provenance import Provenance, write_marked_png
from facetwin.io.images import read_image, write_png
from facetwin.progress import Progress, ProgressFn

__all__ = ["demo_portraits", "run_demo", "DemoResult", "DEMO_STEPS"]

#: Training steps of the demo: the default model (fast128, whole face, from the shipped
#: base) at batch 16, about 1.0 s a step on a 2-core CPU: the minutes the earlier demo's
#: 600 fast64 steps took (docs/BENCHMARKS.md).
DEMO_STEPS = 500
_VIEWS = 32


@dataclass
class DemoResult:
    output: Path
    summaries: dict[str, ExtractSummary]
    model_dir: Path
    figure: Path
    loss_plot: Path


def demo_portraits(folder: Path) -> dict[str, Path]:
    """Write the two shipped portraits into ``folder`` as files; returns side -> path."""
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


def portrait_views(image: np.ndarray, folder: Path, *, count: int = _VIEWS, seed: int = 0) -> Path:
    """Write ``count`` varied views of one portrait (RGB uint8) into ``folder`` as PNGs."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    for i in range(count):
        angle, zoom = rng.uniform(-8, 8), rng.uniform(0.92, 1.08)
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, zoom)
        matrix[:, 2] += rng.uniform(-0.04, 0.04, 2) * (w, h)
        view = cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
        gain, offset = rng.uniform(0.85, 1.15), rng.uniform(-12, 12)
        view = np.clip(view.astype(np.float32) * gain + offset, 0, 255).astype(np.uint8)
        write_png(folder / f"view_{i:02d}.png", view)
    return folder


def run_demo(
    output: str | Path = "facetwin-demo",
    *,
    steps: int = DEMO_STEPS,
    config: ExtractConfig | None = None,
    progress: ProgressFn | None = None,
    key_dir: str | Path | None = None,
) -> DemoResult:
    """Run extract, train and convert on the shipped portraits; write everything to ``output``.

    Writes ``inputs/`` (the portraits and their views), ``faces_a/``, ``faces_b/``
    (extraction), ``model/`` (the trained model with previews, history.csv and
    loss.png), ``swapped_a.png``/``swapped_b.png`` and ``demo.png``: each portrait beside
    itself with the other person's face. The swapped images and demo.png carry
    facetwin's marks; ``key_dir`` is the signing key folder (see ``convert``).
    """
    out = check_path(output, "output")
    config = check_config(config, "config", ExtractConfig)
    # Everything a user can get wrong is checked before the first file is written, so a
    # bad option never costs an earlier demo its results.
    steps = int(check_number(steps, "steps", integral=True))
    check_range(steps, "steps", low=1)
    # The defaults (whole face, started from the shipped base), at a small batch.
    train_config = TrainConfig(
        batch_size=16, steps=steps, preview_every=max(steps // 4, 1), save_every=steps, log_every=max(steps // 50, 1)
    )
    if out.exists() and not out.is_dir():
        raise OutputConflictError(out, "exists and is not a folder", "choose another output folder")
    if config.ref_faces:
        FaceFinder(config, video=False)  # reads the reference faces: unreadable or faceless ones end here
    created = not out.exists()
    try:
        return _run(out, config=config, train_config=train_config, progress=progress, key_dir=key_dir)
    except FacetwinError:
        if created:  # a run that failed on its input leaves nothing behind
            shutil.rmtree(out, ignore_errors=True)
        raise


def _run(
    out: Path,
    *,
    config: ExtractConfig,
    train_config: TrainConfig,
    progress: ProgressFn | None,
    key_dir: str | Path | None,
) -> DemoResult:
    from facetwin.conversion import convert
    from facetwin.training import train

    portraits = demo_portraits(out / "inputs")
    clock = DemoClock(views=len(portraits) * _VIEWS, steps=int(train_config.steps), progress=progress)
    summaries = {}
    for side, path in portraits.items():
        views = portrait_views(read_image(path), out / "inputs" / f"views_{side}", seed=ord(side))
        summaries[side] = extract(
            views, out / f"faces_{side}", config=config, overwrite=True, progress=clock.tagged(f"portrait {side}")
        )

    model_dir = out / "model"
    if model_dir.exists():
        shutil.rmtree(model_dir)  # a demo starts afresh every time
    train(out / "faces_a", out / "faces_b", model_dir, config=train_config, progress=clock)
    swapped = {}
    for side, path in portraits.items():
        to = "b" if side == "a" else "a"
        swapped[side] = out / f"swapped_{side}.png"
        convert(path, model_dir, swapped[side], config=ConvertConfig(to=to), faces=config, key_dir=key_dir)
        clock.finished_part()
    figure = out / "demo.png"
    _draw(portraits, swapped, figure, Provenance.for_model(model_dir, key_dir=key_dir))
    clock.finished_part()
    return DemoResult(out, summaries, model_dir, figure, model_dir / "loss.png")


class DemoClock:
    """The demo's own progress and ETA, over all its stages (the "demo" stage's events).

    Each stage's events pass through to ``progress``, each followed by a "demo" event
    whose ``remaining`` is the views still to extract, the training steps still to run
    and the closing work (two conversions, the figure, the last checkpoint), each at
    the pace measured so far in this run. Before a pace is measured it is the reference
    machine's (2-core AMD EPYC, docs/BENCHMARKS.md "The demo's ETA"), and the closing
    work is costed in training steps, so a faster or slower machine scales it as well.
    """

    #: Seconds on the reference machine: a view's extraction, the training's set-up (faces
    #: loaded, base weights, the step-0 checkpoint and preview), a training step.
    VIEW_S, SETUP_S, STEP_S = 0.08, 6.0, 1.0
    #: The closing work (last checkpoint, loss plot, two conversions, the figure), in steps.
    CLOSING_STEPS = 8.0
    #: Parts of the closing work reported by ``finished_part``: two conversions, the figure.
    CLOSING_PARTS = 3

    def __init__(self, *, views: int, steps: int, progress: ProgressFn | None) -> None:
        import time

        self.now = time.perf_counter
        self.started = self.now()
        self.views, self.steps, self.progress = views, steps, progress
        self.views_done: dict[str, int] = {}
        self.extract_s = 0.0
        self.train_first: tuple[float, int] | None = None  # (time, step) of the first training event
        self.step_s: float | None = None
        self.step = 0
        self.parts_done = 0

    def tagged(self, item: str) -> ProgressFn:
        """The progress of one portrait's extraction."""

        def report(event: Progress) -> None:
            self.views_done[item] = event.done
            self.extract_s = self.now() - self.started
            self._pass_on(replace(event, item=item))

        return report

    def __call__(self, event: Progress) -> None:  # training
        at = self.now()
        if self.train_first is None:
            self.train_first = (at, event.done)
        elif event.done > self.train_first[1]:
            self.step_s = (at - self.train_first[0]) / (event.done - self.train_first[1])
        self.step = event.done
        self._pass_on(event)

    def finished_part(self) -> None:
        self.parts_done += 1
        self._pass_on(None)

    def remaining(self) -> float:
        done_views = sum(self.views_done.values())
        view_s = self.extract_s / done_views if done_views >= 8 else self.VIEW_S
        step_s = self.step_s if self.step_s is not None else self.STEP_S
        setup = self.SETUP_S * step_s / self.STEP_S if self.train_first is None else 0.0
        closing = self.CLOSING_STEPS * step_s * (1 - self.parts_done / self.CLOSING_PARTS)
        return (self.views - done_views) * view_s + setup + (self.steps - self.step) * step_s + closing

    def _pass_on(self, event: Progress | None) -> None:
        if self.progress is None:
            return
        if event is not None:
            self.progress(event)
        elapsed, left = self.now() - self.started, self.remaining()
        share = elapsed / (elapsed + left) if elapsed + left > 0 else 1.0
        self.progress(Progress("demo", round(100 * share), 100, "%", remaining=left))


def _draw(portraits: dict[str, Path], swapped: dict[str, Path], path: Path, provenance: Provenance) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = {"a": "A (astronaut)", "b": "B (Grace Hopper)"}
    fig, axes = plt.subplots(2, 2, figsize=(8, 8), squeeze=False)
    for row, side in enumerate(portraits):
        other = "b" if side == "a" else "a"
        for col, (image_path, title) in enumerate(
            ((portraits[side], f"{names[side]}"), (swapped[side], f"{names[side]} with {names[other][:1]}'s face"))
        ):
            ax = axes[row, col]
            ax.imshow(read_image(image_path))
            ax.set_title(title, fontsize=10)
            ax.axis("off")
    fig.suptitle("facetwin demo: synthetic images (face-swapped)", fontsize=11)
    fig.tight_layout()
    fig.canvas.draw()
    picture = np.ascontiguousarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
    plt.close(fig)
    write_marked_png(path, picture, provenance)
