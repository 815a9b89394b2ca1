"""Stage 2: teach one shared encoder and two decoders to repair warped faces.

The loop reads top to bottom like nanoGPT's: build everything, then one step at a
time sample, augment, forward under one autocast, float32 losses, backward, step.
Every random draw of a step comes from a generator seeded by (seed, step, rank,
rollbacks), so a resumed run draws exactly the batches the uninterrupted run would
have, and the optimiser state is restored with the weights.

Model directory::

    config.json             facetwin/model-config: architecture + training settings
    weights.safetensors     the SwapModel's weights (unwrapped: no compile/DDP prefixes)
    optimizer.safetensors   Adam state
    state.json              facetwin/train-state: step, seed, data fingerprints, ...
    history.csv             losses and throughput every log_every steps
    loss.png                the loss curves, refreshed as training goes
    preview.png             latest A, A->A, A->B, B, B->B, B->A grid
    previews/step_NNNNNNN.png
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from facetwin._check import check_config, check_path
from facetwin.config import TrainConfig
from facetwin.data.augment import AugmentConfig, augment_batch
from facetwin.data.dataset import Faces, frame_faces, load_faces, match_mean_colour
from facetwin.device import Distributed, cpu_threads, pick_device, use_bf16
from facetwin.errors import InvalidOptionError, ModelDirError, TrainingDivergedError, TrainingInterrupted
from facetwin.faces.align import face_type
from facetwin.io.atomic import atomic_write_bytes
from facetwin.io.lock import LOCK_NAME, locks_output
from facetwin.models import SwapModel, create_model
from facetwin.models.checkpoint import (
    is_model_dir,
    keep_architecture,
    load_checkpoint,
    prepare_run_dir,
    read_config,
    read_weights,
    save_checkpoint,
)
from facetwin.models.transfer import load_matching
from facetwin.progress import Progress, ProgressFn
from facetwin.training.interrupts import interrupts_held
from facetwin.training.losses import l1_loss, ssim_loss
from facetwin.training.optim import SwapAdam
from facetwin.training.plot import append_history, plot_history, truncate_history
from facetwin.training.preview import make_preview, write_preview
from facetwin.training.regions import region_masks

__all__ = ["train", "TrainSummary", "train_progress"]

log = logging.getLogger(__name__)

_MAX_ROLLBACKS = 3
#: ``init_from`` value for the base model shipped with facetwin.
BASE = "base"
_PREVIEW_FACES = 4


@dataclass
class TrainSummary:
    model_dir: Path
    start_step: int
    step: int
    loss_a: float
    loss_b: float
    seconds: float
    samples_per_s: float
    stopped_by: str
    rollbacks: int = 0
    transfer: str | None = None  # where the weights started (new models)
    notes: list[str] = field(default_factory=list)


def train_progress(
    step: int,
    total: int | None,
    loss_a: float,
    loss_b: float | None,
    samples_per_s: float,
    elapsed: float,
    *,
    time_limit: float | None = None,
    steps_this_run: int = 0,
) -> Progress:
    """A training step as a ``Progress``: facts loss_a, loss_b (NaN until the first logged
    step), samples_per_s and elapsed seconds of this run.

    With a time limit the run knows its end better than a step count can: ``remaining``
    is the time left (or the steps left at this run's pace, if they end sooner) and,
    without a step limit, ``total`` the step the time limit will reach at that pace.

        >>> event = train_progress(150, None, 0.05, 0.06, 64.0, 60.0, time_limit=300, steps_this_run=50)
        >>> event.total, event.remaining
        (350, 240.0)
        >>> train_progress(150, 160, 0.05, 0.06, 64.0, 60.0, time_limit=300, steps_this_run=50).remaining
        12.0
    """
    remaining = None
    if time_limit is not None:
        remaining = max(time_limit - elapsed, 0.0)
        pace = steps_this_run / elapsed if elapsed > 0 and steps_this_run > 0 else None
        if pace is not None:
            if total is None:
                total = step + int(remaining * pace)
            else:
                remaining = min(remaining, (total - step) / pace)
    detail = ""
    if loss_a == loss_a:  # not NaN
        detail = f"loss A {loss_a:.4f}" + (f" B {loss_b:.4f}" if loss_b is not None else "")
        if samples_per_s:
            detail += f", {samples_per_s:.1f} faces/s"
    facts = {"loss_a": loss_a, "samples_per_s": samples_per_s, "elapsed": elapsed}
    if loss_b is not None:
        facts["loss_b"] = loss_b
    return Progress("train", step, total, "step", detail=detail, facts=facts, remaining=remaining)


def _augment_config(config: TrainConfig) -> AugmentConfig:
    j = config.colour_jitter
    return AugmentConfig(
        rotation=config.rotation,
        zoom=config.zoom,
        shift=config.shift,
        flip=config.flip,
        warp_sigma=config.warp_sigma,
        brightness=j,
        contrast=j,
        saturation=j,
    )


def _step_generator(seed: int, step: int, rank: int, rollbacks: int, device: torch.device) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed((seed * 1_000_003 + step * 7_919 + rank * 104_729 + rollbacks * 15_485_863) % (2**63))
    return g


def _model_config(model: SwapModel, config: TrainConfig, faces_a: Faces, faces_b: Faces) -> dict[str, Any]:
    return {
        "model": model.config,
        "input_size": model.input_size,
        "predicts_mask": model.predicts_mask,
        # The window the model sees, in numbers (conversion reads this, not the name,
        # so a model keeps its window if a face type's definition ever changes).
        "face": face_type(config.face).to_json(),
        "face_size": faces_a.size,
        "train": config.to_json(),
    }


def _prepare_model_dir(model_dir: Path, resume: bool) -> dict | None:
    """Previous config.json when resuming; checks that the folder fits the request."""
    return read_config(model_dir) if prepare_run_dir(model_dir, resume, keep=(LOCK_NAME,)) else None


def _start_weights(init_from: str | Path, config: TrainConfig) -> tuple[dict[str, torch.Tensor] | None, str]:
    """The weights a new model starts from, and a line saying which."""
    if isinstance(init_from, str) and init_from == BASE:  # a Path("base") is a folder
        from facetwin.models.base import base_info, base_weights

        info = base_info()
        if info is None:
            return None, "from scratch (this facetwin ships no base model)"
        fits = (info["model"], info["face"]) == (config.model, config.face)
        if not fits:
            return None, (
                f"from scratch (the base model is {info['model']} {info['face']}-face; "
                f"this one is {config.model} {config.face}-face)"
            )
        return base_weights(), f"from the base model ({info['summary']})"
    init_dir = Path(init_from)
    if not is_model_dir(init_dir):
        raise ModelDirError(init_dir, "holds no trained model to start from (--init-from)")
    read_config(init_dir)  # a damaged folder is refused whole, as convert would refuse it
    return read_weights(init_dir), f"from {init_dir}"


# Settings that change what a resumed run computes; the others (limits, how often to
# log, preview or save) do not.
_BOOKKEEPING = frozenset({"steps", "time_limit", "preview_every", "save_every", "log_every", "tensorboard"})


def _resume_changes(old: dict[str, Any], config: TrainConfig, data: Any, now: dict[str, dict[str, Any]]) -> list[str]:
    """What differs from the run that saved the checkpoint: settings, then faces.

    ``old`` is that run's TrainConfig (config.json's "train"), ``data`` its state.json
    "data" ({"faces", "fingerprint"} by side), ``now`` this run's. Keys a model from an
    older facetwin lacks count as unchanged: nothing is known about them.
    """
    changes = []
    for name, value in config.to_json().items():
        if name in _BOOKKEEPING or name in TrainConfig.ARCHITECTURE or name not in old:
            continue
        if old[name] != value:
            changes.append(f"{name} {old[name]} -> {value}")
    for side, faces in now.items():
        before = data.get(side) if isinstance(data, dict) else None
        if isinstance(before, dict) and before.get("fingerprint") not in (None, faces["fingerprint"]):
            changes.append(f"other faces for {side.upper()} ({before.get('faces')} before, {faces['faces']} now)")
    return changes


def _new_model(config: TrainConfig) -> SwapModel:
    overrides = {} if config.mask is None else {"mask": config.mask}
    torch.manual_seed(config.seed)  # the initial weights too are a function of the seed
    return create_model(config.model, **overrides)


def _training_faces(faces_a, faces_b, size: int, config: TrainConfig, pretraining: bool) -> tuple[Faces, Faces]:
    """Both people's faces cut to the model's window (and A's colour moved to B's)."""
    face = face_type(config.face)

    def framed(faces: str | Path | Faces) -> Faces:
        faces = faces if isinstance(faces, Faces) else load_faces(faces)
        return frame_faces(faces, face, size, window_fraction=AugmentConfig().warp_coverage)

    a = framed(faces_a)
    b = a if faces_b is faces_a else framed(faces_b)
    if config.match_colour and not pretraining:
        a = match_mean_colour(a, b)
    return a, b


def _start_from(model: SwapModel, init_from: str | Path, config: TrainConfig) -> str:
    """Load a new model's starting weights; the line saying where they came from."""
    weights, source = _start_weights(init_from, config)
    report = source if weights is None else f"{source}: {load_matching(model, weights)}"
    log.info("start: %s", report)
    return report


def _place(model: SwapModel, config: TrainConfig, device: torch.device) -> None:
    for part in config.freeze:
        for p in getattr(model, part).parameters():
            p.requires_grad_(False)
    model.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)


def _optimizer(model: SwapModel, config: TrainConfig) -> SwapAdam:
    """Adam as the original ran it: one set of moments per autoencoder (training/optim.py).
    Not fused: a fused CPU update did not resume bit for bit (4e-5 apart after one step)."""

    def trainable(part: str) -> list[torch.nn.Parameter]:
        return [p for p in getattr(model, part).parameters() if p.requires_grad]

    return SwapAdam(
        trainable("encoder"),
        trainable("decoder_a"),
        trainable("decoder_b"),
        lr=config.lr,
        betas=(config.beta1, config.beta2),
    )


class _PersonLoss:
    """One half-step's loss: a batch of one person's faces, warped, through one decoder.

    Returns (the weighted total to backpropagate, the plain L1 reconstruction to log).
    """

    def __init__(
        self,
        net: torch.nn.Module,
        model: SwapModel,
        config: TrainConfig,
        crop_size: int,
        device: torch.device,
        bf16: bool,
    ) -> None:
        self.net, self.config, self.device, self.bf16 = net, config, device, bf16
        self.size, self.predicts_mask = model.input_size, model.predicts_mask
        self.augment = _augment_config(config)
        # Region masks follow each sample only when a loss uses them.
        self.need_regions = bool(config.eyes_mouth_weight) or (model.predicts_mask and bool(config.mask_weight))
        self.regions = region_masks(
            crop_size, face_type(config.face), window_fraction=AugmentConfig().warp_coverage
        ).to(device)
        self._resident: dict[int, torch.Tensor] = {}  # each face set's images on the GPU, by id

    def _images(self, faces: Faces) -> torch.Tensor:
        """The faces' uint8 images where the batch is drawn: on a GPU, copied there once when
        they fit in a quarter of its free memory, so that a step neither waits for the
        sampled indices to reach the CPU nor copies the batch from pageable memory."""
        if self.device.type != "cuda":
            return faces.images
        if id(faces) not in self._resident:
            free, _ = torch.cuda.mem_get_info(self.device)
            images = faces.images
            self._resident[id(faces)] = images.to(self.device) if images.nbytes < free // 4 else images
        return self._resident[id(faces)]

    def __call__(self, faces: Faces, to: str, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        config = self.config
        index = torch.randint(len(faces), (config.batch_size,), generator=gen, device=gen.device)
        images = self._images(faces)
        batch = images[index.to(images.device)].to(self.device, non_blocking=True)
        aug = augment_batch(
            batch,
            size=self.size,
            config=self.augment,
            generator=gen,
            extra=self.regions.unsqueeze(0).expand(config.batch_size, -1, -1, -1) if self.need_regions else None,
        )
        warped = aug.warped.contiguous(memory_format=torch.channels_last) if config.channels_last else aug.warped
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            out = self.net(warped, to=to)  # DDP wraps forward; ``to`` goes through as a keyword
        out = out.float()
        weight = None
        if config.eyes_mouth_weight:
            eyes, mouth = aug.target_extra[:, 1:2], aug.target_extra[:, 2:3]
            weight = 1 + config.eyes_mouth_weight * (eyes + mouth).clamp(0, 1)
        recon = l1_loss(out[:, :3], aug.target, weight)
        total = config.l1_weight * recon
        if config.ssim_weight:
            total = total + config.ssim_weight * ssim_loss(out[:, :3], aug.target, weight)
        if self.predicts_mask and config.mask_weight:
            total = total + config.mask_weight * F.l1_loss(out[:, 3:4], aug.target_extra[:, 0:1])
        return total, recon.detach()


class _Outputs:
    """What a run leaves in its model folder: checkpoints, previews, the loss history and
    plot, TensorBoard. Written by rank 0 only; every rank keeps ``saved_step``, the step
    the folder's checkpoint holds (for the rollback and the interrupt's message)."""

    def __init__(
        self,
        model_dir: Path,
        model: SwapModel,
        optimizer: SwapAdam,
        model_config: dict[str, Any],
        config: TrainConfig,
        people: tuple[Faces, Faces],
        *,
        device: torch.device,
        bf16: bool,
        is_main: bool,
        pretraining: bool,
        saved_step: int,
    ) -> None:
        self.model_dir, self.model, self.optimizer, self.model_config = model_dir, model, optimizer, model_config
        self.config, self.device, self.bf16, self.is_main, self.pretraining = config, device, bf16, is_main, pretraining
        self.saved_step = saved_step
        self.history = model_dir / "history.csv"
        self.title = f"{config.model}: {model_dir.name}"
        # Fixed faces for previews: evenly spread through each set, no augmentation.
        plain = AugmentConfig(rotation=0, zoom=0, shift=0, flip=0, warp_sigma=0)
        self.fixed = [
            augment_batch(
                faces.images[torch.linspace(0, len(faces) - 1, _PREVIEW_FACES).long()].to(device),
                size=model.input_size,
                config=plain,
                generator=torch.Generator(device=device).manual_seed(0),
            ).target
            for faces in people
        ]
        if is_main:
            model_dir.mkdir(parents=True, exist_ok=True)
        self.board = _tensorboard(model_dir) if config.tensorboard and is_main else None

    def save(self, step: int, state: dict[str, Any]) -> None:
        model = self.model
        if self.pretraining:
            model.decoder_b.load_state_dict(model.decoder_a.state_dict())
        if not all(bool(torch.isfinite(p).all()) for p in model.parameters()):
            # Loading refuses NaN weights; keep the last good checkpoint to roll back to.
            log.warning(
                "step %d: the weights are NaN or infinite, not saved (the folder keeps step %d)", step, self.saved_step
            )
            return
        if self.is_main:
            save_checkpoint(
                self.model_dir,
                model=model,
                optimizer=self.optimizer,
                state={**state, "step": step},
                config=self.model_config,
            )
        self.saved_step = step

    def preview(self, step: int) -> None:
        if not self.is_main:
            return
        model = self.model
        model.eval()
        with torch.no_grad(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            grid = make_preview(*self.fixed, lambda x, to: model(x, to=to)[:, :3].float())
        model.train()
        path = self.model_dir / "previews" / f"step_{step:07d}.png"
        path.parent.mkdir(exist_ok=True)
        write_preview(path, grid)
        atomic_write_bytes(self.model_dir / "preview.png", path.read_bytes())

    def log(self, row: dict[str, Any], loss_a: float, loss_b: float, samples_per_s: float) -> None:
        if self.board is not None:
            self.board.add_scalars("loss", {"a": loss_a, "b": loss_b}, row["step"])
            self.board.add_scalar("samples_per_s", samples_per_s, row["step"])
        if self.is_main:
            append_history(self.history, row)

    def rewind(self, step: int) -> None:
        """The history back to ``step``: a resume or a rollback trains the steps after it again."""
        if self.is_main and self.history.exists():
            truncate_history(self.history, step)

    def plot(self) -> None:
        if self.is_main and self.history.exists():
            plot_history(self.history, self.model_dir / "loss.png", title=self.title)

    def close(self) -> None:
        if self.board is not None:
            self.board.close()


def _in_threads(fn: Callable[..., TrainSummary]) -> Callable[..., TrainSummary]:
    """``fn`` run with ``config.threads`` CPU threads (--threads), put back afterwards."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> TrainSummary:
        with cpu_threads(getattr(kwargs.get("config"), "threads", None)):
            return fn(*args, **kwargs)

    return run


@locks_output(
    "model_dir",
    "train",
    clean=("previews",),
    unless=lambda args: args["distributed"] is not None and args["distributed"].rank != 0,
)
@_in_threads
def train(
    faces_a: str | Path | Faces,
    faces_b: str | Path | Faces,
    model_dir: str | Path,
    *,
    config: TrainConfig | None = None,
    resume: bool = False,
    init_from: str | Path | None = BASE,
    device: str = "auto",
    distributed: Distributed | None = None,
    progress: ProgressFn | None = None,
    should_stop: Callable[[], bool] | None = None,
    should_save: Callable[[], bool] | None = None,
    pretraining: bool = False,
) -> TrainSummary:
    """Train (or continue training) a face-swap model between person A and person B.

    Args:
        faces_a, faces_b: extraction folders, folders of face images, or loaded ``Faces``.
        model_dir: where checkpoints, previews and the loss history go.
        config: training settings; ``TrainConfig()`` when omitted.
        resume: continue the model in ``model_dir`` from its last checkpoint.
        init_from: where a new model's weights start: the string ``"base"`` (the
            default), the base model shipped with facetwin when it fits the architecture
            and face type (from scratch otherwise, as the summary says); a model folder
            (give a folder called "base" as a ``Path``), for every tensor whose name and
            shape match; None: from scratch. Ignored on resume.
        device: "auto", "cpu", "cuda", "cuda:1", ...
        distributed: this process's rank in a torchrun job; None for one process.
        progress: called with a ``Progress`` after every step (rank 0 only; ``train_progress``).
        should_stop: asked after every step, after ``progress``: True ends the run as a
            step limit would (closing checkpoint, preview and loss plot) with
            ``stopped_by="requested"``; a UI's pause or stop button, and a later
            ``train(..., resume=True)`` continues exactly. Only rank 0's answer counts;
            under DDP pass it on every rank (or on none), since all ranks then agree on
            stopping after each step.
        should_save: asked after every step, before ``should_stop``: True writes a
            checkpoint, preview and loss plot at this step, as ``save_every`` would, and the
            run goes on (a UI's "save now"). Only rank 0's answer counts; pass it on every
            rank or on none, as ``should_stop``.
        pretraining: learn faces in general (``facetwin.training.pretrain``): both halves of
            each step train decoder A on ``faces_a``'s many people, and decoder B is saved
            as a copy of it, so a pair fine-tuned from this model starts both decoders
            from the same general face decoder.

    Returns:
        Where it stopped and the last losses; ``stopped_by`` is "steps", "time" or
        "requested"; ``notes`` says how a resumed run differs from the one that saved it
        (settings, faces), since it then does not continue exactly.

    Speed on the CPU: ``facetwin train`` sets ``THP_MEM_ALLOC_ENABLE=1`` before torch
    loads (2 MB pages for torch's large buffers; a step of ``original`` 10-15 % faster,
    docs/BENCHMARKS.md). torch reads it once, at its first allocation, so a program that
    calls ``train`` sets it in its environment itself, before importing torch.

    Raises:
        TrainingInterrupted: (a ``KeyboardInterrupt``) Ctrl-C or SIGTERM, which in the
            main thread are held until the step in progress ends, and while the closing
            checkpoint is written: it says which step the folder holds.
    """
    config = check_config(config, "config", TrainConfig)
    for name, faces in (("faces_a", faces_a), ("faces_b", faces_b)):
        if not isinstance(faces, Faces):
            check_path(faces, name)
    if init_from is not None:
        check_path(init_from, "init_from")
    dist = distributed or Distributed()
    is_main = dist.rank == 0
    model_dir = check_path(model_dir, "model_dir")
    dev = pick_device(device)
    if dev.type == "cuda" and dist.enabled:
        dev = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(dev)

    previous = _prepare_model_dir(model_dir, resume)
    if previous is not None:
        config = keep_architecture(
            config,
            previous.get("train", {}),
            model_dir,
            "an architecture cannot change on resume; train a new model with --init-from",
            before_default={"face": "inner"},
        )

    # --- the model, the data cut to its window, the optimiser ------------------------
    model = _new_model(config)
    a, b = _training_faces(faces_a, faces_b, model.input_size, config, pretraining)
    transfer_report = None
    if init_from is not None and previous is None:
        transfer_report = _start_from(model, init_from, config)
    _place(model, config, dev)
    optimizer = _optimizer(model, config)
    state: dict[str, Any] = {"step": 0, "seed": config.seed, "rollbacks": 0, "seconds": 0.0}
    notes: list[str] = []
    data = {
        "a": {"folder": str(a.source), "faces": len(a), "fingerprint": a.fingerprint()},
        "b": {"folder": str(b.source), "faces": len(b), "fingerprint": b.fingerprint()},
    }
    if previous is not None:
        state = load_checkpoint(model_dir, model=model, optimizer=optimizer)
        for group in optimizer.param_groups:  # runtime settings may change on resume
            group["lr"] = config.lr
            group["betas"] = (config.beta1, config.beta2)
        # Allowed, but then the run is not the one an uninterrupted run would have been: say so.
        changes = _resume_changes(
            previous.get("train", {}), config, state.get("data"), {"a": data["a"]} if b is a else data
        )  # pre-training: B is A
        if changes:
            notes.append(
                f"resumed at step {state['step']} with {'; '.join(changes)}: it does not continue the saved run exactly"
            )
            log.warning("%s: %s", model_dir, notes[-1])
    start_step = int(state["step"])
    state.update(data=data)
    model_config = _model_config(model, config, a, b)

    net: torch.nn.Module = model
    if config.compile:
        net = torch.compile(model)
    if dist.enabled:
        from torch.nn.parallel import DistributedDataParallel

        # Each half-step uses one decoder only: the other's parameters get no gradient.
        net = DistributedDataParallel(
            net, device_ids=[dev.index] if dev.type == "cuda" else None, find_unused_parameters=True
        )
    bf16 = use_bf16(config.precision, dev)
    log.info(
        "%s on %s, %s%s, %d threads; faces: A %d, B %d at %d px (%s face); batch %d",
        config.model,
        dev,
        "bf16" if bf16 else "float32",
        ", channels-last" if config.channels_last else "",
        torch.get_num_threads(),
        len(a),
        len(b),
        a.size,
        config.face,
        config.batch_size,
    )
    loss_of = _PersonLoss(net, model, config, a.size, dev, bf16)

    outputs = _Outputs(
        model_dir,
        model,
        optimizer,
        model_config,
        config,
        (a, b),
        device=dev,
        bf16=bf16,
        is_main=is_main,
        pretraining=pretraining,
        saved_step=start_step,
    )
    if previous is None:
        outputs.save(0, state)  # a checkpoint to roll back to from the very first step
        outputs.preview(0)
    else:
        outputs.rewind(start_step)

    # --- the loop ------------------------------------------------------------------
    step = start_step
    started = time.perf_counter()
    seconds_before = float(state.get("seconds", 0.0))
    last_log_time, last_log_step = started, step
    consecutive_rollbacks = 0
    loss_a_value = loss_b_value = float("nan")
    samples_per_s = 0.0
    stopped_by = "steps"

    def agree(flag: bool) -> bool:
        """True on every rank if it is true on any: ranks must stop, roll back and
        step together, or DDP's collectives would wait for a rank that left."""
        if not dist.enabled:
            return flag
        import torch.distributed as torch_dist

        t = torch.tensor([1.0 if flag else 0.0], device=dev)
        torch_dist.all_reduce(t, op=torch_dist.ReduceOp.MAX)
        return bool(t.item())

    def out_of_budget() -> bool:
        if config.steps is not None and step >= config.steps:
            return True
        if config.time_limit is None:
            return False
        return agree(time.perf_counter() - started >= config.time_limit)

    second = "a" if pretraining else "b"  # the decoder the second half-step trains
    try:
        # Ctrl-C and SIGTERM wait for the step in progress (a checkpoint of half a step
        # would not resume exactly) and for the closing save (cut short by a second
        # Ctrl-C, it lost every step since the last periodic checkpoint).
        with interrupts_held() as held:
            try:
                while not out_of_budget():
                    gen = _step_generator(config.seed, step, dist.rank, int(state["rollbacks"]), dev)
                    # As the original: one update on A's batch, then one on B's. The shared
                    # encoder so moves twice per step, which is what the reference curve assumes
                    # (one summed update per step learnt about half as fast in the first 100).
                    optimizer.zero_grad(set_to_none=True)
                    loss_a, recon_a = loss_of(a, "a", gen)
                    loss_a.backward()
                    optimizer.step("a")
                    optimizer.zero_grad(set_to_none=True)
                    loss_b, recon_b = loss_of(b, second, gen)
                    loss_b.backward()
                    optimizer.step(second)
                    step += 1

                    logging_step = step % config.log_every == 0 or out_of_budget()
                    if logging_step:
                        loss_a_value, loss_b_value = recon_a.item(), recon_b.item()
                        finite = all(
                            math.isfinite(v) for v in (loss_a_value, loss_b_value, loss_a.item(), loss_b.item())
                        )
                        if agree(not finite):
                            consecutive_rollbacks += 1
                            state["rollbacks"] = int(state["rollbacks"]) + 1
                            if consecutive_rollbacks > _MAX_ROLLBACKS:
                                raise TrainingDivergedError(step, consecutive_rollbacks - 1)
                            good = load_checkpoint(model_dir, model=model, optimizer=optimizer)
                            log.warning("non-finite loss at step %d: rolled back to step %d", step, good["step"])
                            step = int(good["step"])
                            last_log_time, last_log_step = time.perf_counter(), step
                            outputs.rewind(step)  # those steps are trained again
                            continue
                        consecutive_rollbacks = 0
                        now = time.perf_counter()
                        samples_per_s = (
                            2
                            * config.batch_size
                            * (step - last_log_step)
                            * dist.world_size
                            / max(now - last_log_time, 1e-9)
                        )
                        last_log_time, last_log_step = now, step
                        outputs.log(
                            {
                                "step": step,
                                "seconds": round(seconds_before + now - started, 3),
                                "loss_a": round(loss_a_value, 6),
                                "loss_b": round(loss_b_value, 6),
                                "total_a": round(loss_a.item(), 6),
                                "total_b": round(loss_b.item(), 6),
                                "samples_per_s": round(samples_per_s, 2),
                                "lr": config.lr,
                            },
                            loss_a_value,
                            loss_b_value,
                            samples_per_s,
                        )
                    if is_main and progress is not None:
                        progress(
                            train_progress(
                                step,
                                config.steps,
                                loss_a_value,
                                loss_b_value,
                                samples_per_s,
                                time.perf_counter() - started,
                                time_limit=config.time_limit,
                                steps_this_run=step - start_step,
                            )
                        )
                    if step % config.preview_every == 0:
                        outputs.preview(step)
                        outputs.plot()
                    # Asked only when given (on every rank or none): agree() is a collective.
                    save_asked = should_save is not None and agree(is_main and bool(should_save()))
                    if save_asked and step % config.preview_every != 0:
                        outputs.preview(step)
                        outputs.plot()
                    if step % config.save_every == 0 or save_asked:
                        state["seconds"] = seconds_before + time.perf_counter() - started
                        outputs.save(step, state)
                    # Rank 0 asks (a UI lives there); every rank joins agree() so all leave at this
                    # step. A Ctrl-C held during the step ends the run here too, at a whole step.
                    asked = not held and is_main and should_stop is not None and bool(should_stop())
                    if agree(bool(held) or asked):
                        stopped_by = "interrupted" if held else "requested"
                        break
                if stopped_by not in ("requested", "interrupted"):
                    stopped_by = "steps" if config.steps is not None and step >= config.steps else "time"
            except KeyboardInterrupt:  # raised by code, or outside the main thread's handlers
                stopped_by = "interrupted"
                raise
            finally:
                loop_seconds = time.perf_counter() - started  # throughput without the closing save
                outputs.close()
                # Whatever stopped the run (limit, Ctrl-C, an error), keep the work done since
                # the last checkpoint, unless the weights themselves went bad (save skips those).
                if step > start_step:
                    state["seconds"] = seconds_before + time.perf_counter() - started
                    outputs.save(step, state)
                    if outputs.saved_step == step:
                        outputs.preview(step)
                        outputs.plot()
    except KeyboardInterrupt as interrupt:  # a held Ctrl-C raised again as the block ended, or code's own
        raise TrainingInterrupted(model_dir, step=step, saved_step=outputs.saved_step) from interrupt
    seconds = time.perf_counter() - started
    return TrainSummary(
        model_dir=model_dir,
        start_step=start_step,
        step=step,
        loss_a=loss_a_value,
        loss_b=loss_b_value,
        seconds=seconds,
        samples_per_s=2 * config.batch_size * (step - start_step) * dist.world_size / max(loop_seconds, 1e-9),
        stopped_by=stopped_by,
        rollbacks=int(state["rollbacks"]),
        transfer=transfer_report,
        notes=notes,
    )


def _tensorboard(model_dir: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise InvalidOptionError(
            "tensorboard", True, "used with the tensorboard package installed (pip install 'facetwin[tensorboard]')"
        ) from None
    return SummaryWriter(log_dir=str(model_dir / "tensorboard"))
