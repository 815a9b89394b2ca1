"""Train the baseline detector on a dataset's train pairs: ``facetwin detect train``.

The loop reads top to bottom like the face-swap trainer's: build everything, then one
step at a time draw a balanced batch (half fake crops, half real), augment, forward
under one autocast, a float32 loss, backward, step. Every random draw of a step comes
from a generator seeded by (seed, step, rank), and the optimiser state is saved with
the weights, so a resumed run continues exactly as the uninterrupted one would have.

Detector folder::

    config.json            facetwin/model-config with "kind": "facetwin/detector": the network,
                           the DetectConfig, the dataset, levels and split it was trained on
    weights.safetensors    the DetectorNet's weights
    optimizer.safetensors  Adam state
    state.json             facetwin/train-state: step, seed, seconds, last validation figures
    history.csv            loss and accuracy every log_every steps; validation at each save
    crops/<dataset>/<level>/<pair>.safetensors   the face crops, cut once
    report.json            written by ``facetwin detect eval``
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from facetwin._check import check_config, check_path
from facetwin.config import DetectConfig
from facetwin.detection.data import CROPS_FOLDER, PairCrops, crop_cache, load_crops, open_dataset
from facetwin.detection.metrics import detection_figures
from facetwin.detection.model import DETECTOR_KIND, build_detector, read_detector_config, score_crops, use_bf16
from facetwin.detection.splits import dataset_splits
from facetwin.device import Distributed, pick_device
from facetwin.errors import DatasetFolderError, TrainingInterrupted
from facetwin.io.lock import LOCK_NAME, locks_output
from facetwin.models.checkpoint import keep_architecture, load_checkpoint, prepare_run_dir, save_checkpoint
from facetwin.progress import Progress, ProgressFn
from facetwin.training.interrupts import interrupts_held
from facetwin.training.plot import append_history, truncate_history

__all__ = ["train_detector", "DetectTrainSummary", "augment_crops"]

log = logging.getLogger(__name__)

# Settings that do not change what a resumed run computes.
_BOOKKEEPING = frozenset({"steps", "time_limit", "save_every", "log_every"})


@dataclass
class DetectTrainSummary:
    output: Path
    start_step: int
    step: int
    loss: float
    accuracy: float
    seconds: float
    crops_per_s: float
    stopped_by: str
    levels: list[str]
    split: dict[str, Any]
    crops: dict[str, int]  # split -> fake crops (as many real ones)
    validation: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def _prepare_output(output: Path, resume: bool) -> dict[str, Any] | None:
    """The folder's config.json when resuming; checks that the folder fits the request."""
    resuming = prepare_run_dir(output, resume, what="detector", keep=(LOCK_NAME, CROPS_FOLDER))
    return read_detector_config(output) if resuming else None


def _step_generator(seed: int, step: int, rank: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + step * 7_919 + rank * 104_729) % (2**63))


def augment_crops(crops: torch.Tensor, *, flip: float, jitter: int, generator: torch.Generator) -> torch.Tensor:
    """uint8 crops (B, S, S, 3) -> float (B, 3, S, S) in [0, 1], flipped left-right with
    chance ``flip`` and shifted by up to ``jitter`` whole pixels each way (the edge
    mirrored in): no resampling, so the finest detail stays as the codec left it."""
    x = crops.permute(0, 3, 1, 2).float().div_(255.0)
    b, _, s, _ = x.shape
    if jitter > 0:
        padded = F.pad(x, (jitter,) * 4, mode="reflect")
        offsets = torch.randint(0, 2 * jitter + 1, (b, 2), generator=generator).tolist()
        x = torch.stack([padded[i, :, dy : dy + s, dx : dx + s] for i, (dy, dx) in enumerate(offsets)])
    if flip > 0:
        flipped = torch.rand(b, generator=generator) < flip
        x = torch.where(flipped[:, None, None, None], x.flip(3), x)
    return x


def _learning_rate(config: DetectConfig, step: int) -> float:
    """Linear warm-up, then a cosine to a tenth at ``steps`` (flat without a step limit)."""
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    if config.steps is None or config.steps <= config.warmup:
        return config.lr
    progress = min(1.0, (step - config.warmup) / (config.steps - config.warmup))
    return config.lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


def _stacked(crops: list[PairCrops], attr: str) -> torch.Tensor:
    arrays = [getattr(c, attr) for c in crops if len(c)]
    return torch.from_numpy(np.concatenate(arrays)) if arrays else torch.zeros((0, 1, 1, 3), dtype=torch.uint8)


@locks_output(
    "output",
    "detect train",
    clean=(f"{CROPS_FOLDER}/*/*",),
    unless=lambda args: args["distributed"] is not None and args["distributed"].rank != 0,
)
def train_detector(
    dataset: str | Path,
    output: str | Path,
    *,
    config: DetectConfig | None = None,
    resume: bool = False,
    device: str = "auto",
    distributed: Distributed | None = None,
    progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> DetectTrainSummary:
    """Train (or continue training) a detector on the train pairs of a dataset.

    Args:
        dataset: a folder written by ``facetwin dataset``; its splits come from
            ``dataset_splits``.
        output: the detector folder (see the module's docstring).
        config: the run's settings; ``DetectConfig()`` when omitted.
        resume: continue the detector in ``output`` from its last checkpoint.
        device: "auto", "cpu", "cuda", "cuda:1", ...
        distributed: this process's rank in a torchrun job; None for one process.
        progress: called with a ``Progress`` while crops are cut and after each step.
        should_stop: asked after every step: True ends the run with a checkpoint.

    Returns:
        Where it stopped, the last logged loss and accuracy, the validation figures.

    Raises:
        DatasetFolderError: not a dataset, too few pairs, missing levels, no fake faces.
        ModelDirError: ``output`` does not fit the request (see ``facetwin train``).
        TrainingInterrupted: Ctrl-C or SIGTERM (held until the step ends), after saving.
    """
    config = check_config(config, "config", DetectConfig)
    output = check_path(output, "output")
    dist = distributed or Distributed()
    is_main = dist.rank == 0
    dev = pick_device(device)
    if dev.type == "cuda" and dist.enabled:
        dev = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(dev)
    folder = open_dataset(dataset)
    previous = _prepare_output(output, resume)
    if previous is not None:
        config = keep_architecture(
            config, previous.get("train", {}), output, "the network cannot change on resume; train a new detector"
        )
    splits = dataset_splits(folder)
    levels = list(config.train_levels) or [folder.lossless or (folder.levels + ("c0",))[0]]
    folder.check_levels(levels, "--train-levels")
    if not splits["train"]:
        raise DatasetFolderError(folder.root, "has no pairs in its train split")

    # --- data: cut once (rank 0 writes the cache, the others read it) ----------------
    cache = crop_cache(output, folder)

    def crops_of(pairs: list[str], report: ProgressFn | None) -> list[PairCrops]:
        return load_crops(
            folder,
            pairs,
            levels,
            size=config.crop_size,
            scale=config.box_scale,
            frames_per_video=config.frames_per_video,
            cache=cache,
            progress=report,
        )

    if dist.enabled and not is_main:
        torch.distributed.barrier()  # rank 0 cuts first
    train_crops = crops_of(splits["train"], progress if is_main else None)
    val_crops = crops_of(splits["val"], progress if is_main else None)
    if dist.enabled and is_main:
        torch.distributed.barrier()
    fake, real = _stacked(train_crops, "fake"), _stacked(train_crops, "real")
    if len(fake) == 0:
        raise DatasetFolderError(
            folder.root, f"its train pairs ({', '.join(splits['train'])}) hold no swapped faces at {', '.join(levels)}"
        )
    val_fake, val_real = _stacked(val_crops, "fake"), _stacked(val_crops, "real")

    # --- model, optimiser, state -------------------------------------------------------
    torch.manual_seed(config.seed)  # the initial weights too are a function of the seed
    model = build_detector({"width": config.width})
    model.to(dev)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    # Not fused or foreach-fused: a plain update resumes bit for bit.
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay, foreach=False)
    state: dict[str, Any] = {"step": 0, "seed": config.seed, "seconds": 0.0}
    notes: list[str] = []
    data = {
        "dataset": str(folder.root),
        "levels": levels,
        "train_pairs": splits["train"],
        "crops": int(len(fake)),
        "fingerprint": _fingerprint(train_crops),
    }
    if previous is not None:
        state = load_checkpoint(output, model=model, optimizer=optimizer)
        changes = _resume_changes(previous.get("train", {}), config, state.get("data"), data)
        if changes:
            notes.append(
                f"resumed at step {state['step']} with {'; '.join(changes)}: it does not continue the saved run exactly"
            )
            log.warning("%s: %s", output, notes[-1])
    state["data"] = data
    split_record = {"method": splits.method, "note": splits.note, **{k: list(v) for k, v in splits.items()}}
    saved_config = {
        "kind": DETECTOR_KIND,
        "detector": dict(model.config),
        "crop_size": config.crop_size,
        "box_scale": config.box_scale,
        "train": config.to_json(),
        "dataset": str(folder.root),
        "levels": levels,
        "split": split_record,
    }
    start_step = int(state["step"])
    last_saved = start_step
    bf16 = use_bf16(config.precision, dev)
    net: torch.nn.Module = model
    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)
    validation: dict[str, Any] | None = state.get("validation")

    def validate() -> dict[str, Any] | None:
        if not len(val_fake):
            return None
        scores_fake = score_crops(model, val_fake, device=dev, bf16=bf16, channels_last=config.channels_last).numpy()
        scores_real = score_crops(model, val_real, device=dev, bf16=bf16, channels_last=config.channels_last).numpy()
        model.train()
        return detection_figures(scores_fake, scores_real)

    def save(step: int) -> None:
        nonlocal last_saved, validation
        if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            log.warning(
                "step %d: the weights are NaN or infinite, not saved (the folder keeps step %d)", step, last_saved
            )
            return
        if is_main:
            validation = validate()
            state["validation"] = validation
            save_checkpoint(
                output, model=model, optimizer=optimizer, state={**state, "step": step}, config=saved_config
            )
        last_saved = step

    if is_main:
        output.mkdir(parents=True, exist_ok=True)
    if previous is None:
        save(0)

    # --- the loop ----------------------------------------------------------------------
    step = start_step
    started = time.perf_counter()
    seconds_before = float(state.get("seconds", 0.0))
    history = output / "history.csv"
    if is_main and previous is not None and history.exists():
        truncate_history(history, start_step)
    jitter = round(config.jitter * config.crop_size)
    half = config.batch_size // 2
    labels = torch.cat([torch.ones(half), torch.zeros(config.batch_size - half)]).to(dev)
    loss_value = accuracy_value = float("nan")
    last_log_time, last_log_step = started, step
    crops_per_s = 0.0
    stopped_by = "steps"

    def agree(flag: bool) -> bool:
        """True on every rank if it is true on any: ranks stop together."""
        if not dist.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=dev)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item())

    def out_of_budget() -> bool:
        if config.steps is not None and step >= config.steps:
            return True
        return config.time_limit is not None and agree(time.perf_counter() - started >= config.time_limit)

    model.train()
    try:
        with interrupts_held() as held:
            try:
                while not out_of_budget():
                    gen = _step_generator(config.seed, step, dist.rank)
                    pick_fake = torch.randint(len(fake), (half,), generator=gen)
                    pick_real = torch.randint(len(real), (config.batch_size - half,), generator=gen)
                    x = augment_crops(
                        torch.cat([fake[pick_fake], real[pick_real]]), flip=config.flip, jitter=jitter, generator=gen
                    ).to(dev, non_blocking=True)
                    if config.channels_last:
                        x = x.contiguous(memory_format=torch.channels_last)
                    for group in optimizer.param_groups:  # the learning rate is a function of the step
                        group["lr"] = _learning_rate(config, step)
                    with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
                        logits = net(x)
                    loss = F.binary_cross_entropy_with_logits(logits.float(), labels)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
                    step += 1

                    if step % config.log_every == 0 or out_of_budget():
                        loss_value = loss.item()
                        accuracy_value = float(((logits.detach().float() > 0) == (labels > 0.5)).float().mean())
                        now = time.perf_counter()
                        crops_per_s = (
                            config.batch_size
                            * (step - last_log_step)
                            * dist.world_size
                            / max(now - last_log_time, 1e-9)
                        )
                        last_log_time, last_log_step = now, step
                        if is_main:
                            _append(
                                history,
                                step=step,
                                seconds=round(seconds_before + now - started, 3),
                                loss=round(loss_value, 6),
                                accuracy=round(accuracy_value, 4),
                                crops_per_s=round(crops_per_s, 2),
                                lr=_learning_rate(config, step - 1),
                            )
                    if is_main and progress is not None:
                        progress(
                            Progress(
                                "detect train",
                                step,
                                config.steps,
                                "step",
                                detail=""
                                if loss_value != loss_value
                                # NaN: not logged yet
                                else f"loss {loss_value:.4f}, batch accuracy {accuracy_value:.3f}",
                                facts={"loss": loss_value, "accuracy": accuracy_value},
                            )
                        )
                    if step % config.save_every == 0:
                        state["seconds"] = seconds_before + time.perf_counter() - started
                        save(step)
                        _log_validation(history, step, validation, is_main)
                    asked = not held and is_main and should_stop is not None and bool(should_stop())
                    if agree(bool(held) or asked):
                        stopped_by = "interrupted" if held else "requested"
                        break
                if stopped_by not in ("requested", "interrupted"):
                    stopped_by = "steps" if config.steps is not None and step >= config.steps else "time"
            except KeyboardInterrupt:
                stopped_by = "interrupted"
                raise
            finally:
                loop_seconds = time.perf_counter() - started
                if step > last_saved:
                    state["seconds"] = seconds_before + time.perf_counter() - started
                    save(step)
                    _log_validation(history, step, validation, is_main and last_saved == step)
    except KeyboardInterrupt as interrupt:
        raise TrainingInterrupted(output, step=step, saved_step=last_saved) from interrupt
    return DetectTrainSummary(
        output=output,
        start_step=start_step,
        step=step,
        loss=loss_value,
        accuracy=accuracy_value,
        seconds=time.perf_counter() - started,
        crops_per_s=config.batch_size * (step - start_step) * dist.world_size / max(loop_seconds, 1e-9),
        stopped_by=stopped_by,
        levels=levels,
        split=split_record,
        crops={"train": int(len(fake)), "val": int(len(val_fake))},
        validation=validation,
        notes=notes,
    )


_COLUMNS = ("step", "seconds", "loss", "accuracy", "crops_per_s", "lr", "val_auc", "val_accuracy")


def _append(history: Path, **values: float | int | None) -> None:
    """A history row: every column, empty where this row has nothing (the first row fixes them)."""
    append_history(history, {name: values.get(name) for name in _COLUMNS})


def _log_validation(history: Path, step: int, validation: dict[str, Any] | None, is_main: bool) -> None:
    if is_main and validation is not None:
        _append(history, step=step, val_auc=validation["auc"], val_accuracy=validation["accuracy"])


def _fingerprint(crops: list[PairCrops]) -> str:
    digest = hashlib.sha256()
    for c in crops:
        digest.update(f"{c.level}/{c.pair}:{len(c)}".encode())
        digest.update(c.frames.tobytes())
    return digest.hexdigest()[:16]


def _resume_changes(old: dict[str, Any], config: DetectConfig, data: Any, now: dict[str, Any]) -> list[str]:
    """What differs from the run that saved the checkpoint: settings, then data."""
    changes = []
    for name, value in config.to_json().items():
        if name in _BOOKKEEPING or name in DetectConfig.ARCHITECTURE or name not in old:
            continue
        if old[name] != value:
            changes.append(f"{name} {old[name]} -> {value}")
    if isinstance(data, dict) and data.get("fingerprint") not in (None, now["fingerprint"]):
        changes.append(f"other training crops ({data.get('crops')} before, {now['crops']} now)")
    return changes
