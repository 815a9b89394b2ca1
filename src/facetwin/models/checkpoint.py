"""Model folders: save a training run, resume it exactly, start another from its weights.

A model folder holds four files::

    config.json            {"format": "facetwin/model-config", "version": 1, ...caller's config}
    weights.safetensors    the model's state_dict; metadata "facetwin": {"format": "facetwin/weights", "version": 1, "step": N}
    optimizer.safetensors  optimiser tensors as "state.{param index}.{name}"; metadata "facetwin":
                           {"format": "facetwin/optimizer-state", "version": 1, "step": N,
                            "optimizer": class name, "param_groups": [...], "state": {index: {non-tensor values}}}
    state.json             {"format": "facetwin/train-state", "version": 1, "step": N, "seed": S, ...caller's state,
                            "checksums": {"step": N, "sha256": {"weights.safetensors": hex, "optimizer.safetensors": hex}}}

Why this shape:

- safetensors, never pickle: loading a pickled checkpoint runs whatever code it holds,
  and model folders get shared.
- Weights are saved from the module as it was before ``torch.compile`` or DDP wrapped it,
  so keys never gain ``_orig_mod.`` or ``module.`` and a checkpoint loads the same into
  a plain, compiled or distributed model.
- A save first writes every file to a staged name (each one atomically, flushed to
  disk), and only then renames them over the old ones, ``state.json`` last. A full disk
  or a crash while writing leaves the previous checkpoint untouched. Only a crash in the
  instant between two renames can mix steps; every file records its step and loading
  refuses a mixture, so a run never resumes from weights of one step with the
  optimiser or counters of another.
- state.json, written last, records the sha256 of the files saved with it, and loading
  checks them: a flipped byte in a tensor decodes without complaint and would paint
  noise (or black squares) over faces. Weights holding NaN or infinities are refused
  too, in folders saved before the digests were kept as well. Hashing a fast128
  model's 74 MB took 0.12-0.2 s on a shared 2-core CPU (loading it, 0.45-0.6 s).
- A save killed before its first ``state.json`` (kill -9, power cut) leaves files that
  hold no model; ``discard_unfinished_save`` removes them, so the folder can be used.
- Exact resume: the optimiser's tensors and its non-tensor state (step counters kept as
  Python numbers, ``param_groups``) come back bit for bit, so one more step after
  loading equals the step the original run would have taken.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open

from facetwin._check import check_path
from facetwin.errors import (
    CheckpointFormatError,
    CheckpointSaveError,
    CheckpointStepMismatchError,
    CorruptCheckpointError,
    IncompatibleCheckpointError,
    InvalidOptionError,
    ModelDirError,
    NotAModelDirError,
)
from facetwin.faces.align import FaceType
from facetwin.io.atomic import atomic_write_file
from facetwin.models import SwapModel, create_model
from facetwin.models.base import sha256_of
from facetwin.models.transfer import clean_key, match_weights, unwrap_model

__all__ = [
    "keep_architecture",
    "save_checkpoint",
    "model_fingerprint",
    "load_checkpoint",
    "load_model",
    "read_config",
    "read_weights",
    "is_model_dir",
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "OPTIMIZER_NAME",
    "STATE_NAME",
    "read_state",
    "discard_unfinished_save",
]

log = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "weights.safetensors"
OPTIMIZER_NAME = "optimizer.safetensors"
STATE_NAME = "state.json"

_CONFIG_FORMAT = "facetwin/model-config"
_STATE_FORMAT = "facetwin/train-state"
_WEIGHTS_FORMAT = "facetwin/weights"
_OPTIMIZER_FORMAT = "facetwin/optimizer-state"

# The version each format is written at. Older files are upgraded on load, one step per
# version: _UPGRADES[format][v] turns a version-v document into version v + 1.
_VERSIONS = {_CONFIG_FORMAT: 1, _STATE_FORMAT: 1, _WEIGHTS_FORMAT: 1, _OPTIMIZER_FORMAT: 1}
_UPGRADES: dict[str, dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {f: {} for f in _VERSIONS}

_RESERVED = ("format", "version")
_CHECKSUMS = "checksums"  # state.json's record of the other files' sha256 (reserved there too)
_WEIGHTS_REMEDY = "restore the folder from a backup, or train the model again"
_META_KEY = "facetwin"  # safetensors metadata key holding our JSON header
_REQUIRED = (CONFIG_NAME, WEIGHTS_NAME, STATE_NAME)


# --- public API ---------------------------------------------------------------------


def save_checkpoint(
    model_dir: str | Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None,
    state: dict[str, Any],
    config: dict[str, Any],
) -> None:
    """Save model, optimiser and training state into ``model_dir`` (created if needed).

    Args:
        model_dir: the model folder.
        model: the model; a ``torch.compile``, DDP or DataParallel wrapper is unwrapped.
        optimizer: its optimiser, or None to save weights only (an older
            ``optimizer.safetensors`` is then removed so it cannot pair with new weights).
        state: JSON-able dict with ``step`` (int >= 0) and ``seed`` (int), plus anything
            the caller wants back from ``load_checkpoint``.
        config: JSON-able dict written as ``config.json`` and returned by ``read_config``.

    Raises:
        InvalidOptionError: ``state`` lacks step or seed, a dict uses the reserved keys
            ``format``/``version``, or holds values JSON cannot.
        CheckpointSaveError: writing failed (disk full...); ``intact`` says whether the
            folder was left as it was (it is, unless the failure came between renames).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> save_checkpoint(folder, model=torch.nn.Linear(2, 1), optimizer=None,
    ...                 state={"step": 7, "seed": 0}, config={"model": "tiny"})
    >>> sorted(p.name for p in folder.iterdir())
    ['config.json', 'state.json', 'weights.safetensors']
    """
    model_dir = check_path(model_dir, "model_dir")
    step = _check_state_arg(state)
    config_bytes = _json_document(_CONFIG_FORMAT, config, "config")
    _json_document(_STATE_FORMAT, state, "state", reserved=(*_RESERVED, _CHECKSUMS))  # refused before any write
    digests: dict[str, str] = {}

    def as_bytes(encode: Callable[[], bytes]) -> Callable[[Path], None]:
        return lambda path: path.write_bytes(encode())

    def tensors(name: str, encode: Callable[[], tuple[dict[str, torch.Tensor], dict[str, str]]]):
        def write(path: Path) -> None:
            # Streamed to the file a tensor at a time: safetensors.torch.save built the
            # whole file in memory and copied it (+2.8 GiB for `original` with its
            # optimiser), and save_file wants every tensor contiguous at once (+0.61 GiB:
            # the channels-last ones copied); docs/BENCHMARKS.md. The digest is read back.
            found, metadata = encode()
            _write_safetensors(path, found, metadata)
            del found
            digest = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            digests[name] = digest.hexdigest()

        return write

    # Files are written one at a time, so the peak memory is one file's tensors' CPU
    # copies at most. state.json comes last: it records the digests of the files before it.
    files: list[tuple[str, Callable[[Path], None]]] = [
        (CONFIG_NAME, as_bytes(lambda: config_bytes)),
        (WEIGHTS_NAME, tensors(WEIGHTS_NAME, lambda: _weights_tensors(model, step))),
    ]
    if optimizer is not None:
        files.append((OPTIMIZER_NAME, tensors(OPTIMIZER_NAME, lambda: _optimizer_tensors(optimizer, step))))
    files.append(
        (
            STATE_NAME,
            as_bytes(
                lambda: _json_document(_STATE_FORMAT, {**state, _CHECKSUMS: {"step": step, "sha256": digests}}, "state")
            ),
        )
    )

    staged: list[tuple[Path, Path]] = []
    replaced: list[str] = []
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(model_dir)
        for name, write in files:
            stage = model_dir / f".{name}.staged"
            atomic_write_file(stage, write)
            staged.append((stage, model_dir / name))
        if optimizer is None:
            # Before the weights change: a crash right after leaves old weights + old
            # state, still a consistent (weights-only) checkpoint.
            (model_dir / OPTIMIZER_NAME).unlink(missing_ok=True)
        for stage, final in staged:
            os.replace(stage, final)
            replaced.append(final.name)
        _fsync_dir(model_dir)
    except OSError as error:
        # config.json carries no step; the old checkpoint is gone only once a
        # step-bearing file was replaced without state.json following it.
        intact = not {WEIGHTS_NAME, OPTIMIZER_NAME} & set(replaced)
        raise CheckpointSaveError(model_dir, error, intact=intact) from error
    finally:
        for stage, _ in staged:
            stage.unlink(missing_ok=True)  # only left when something failed
    log.debug("saved checkpoint at step %d to %s", step, model_dir)


def load_checkpoint(
    model_dir: str | Path,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    strict: bool = True,
) -> dict[str, Any]:
    """Load weights (and optimiser state when ``optimizer`` is given) saved by ``save_checkpoint``.

    Every file is read and checked before the model or optimiser changes.

    Args:
        model_dir: the model folder.
        model: a model built from the folder's config; wrappers are unwrapped.
        optimizer: an optimiser of the same class over the same parameters, or None.
        strict: refuse weights that do not fit the model exactly. With False, load
            what fits (as ``load_matching``) and log what did not; an ``optimizer``
            still needs an exact fit.

    Returns:
        The ``state`` dict given to ``save_checkpoint`` (``step``, ``seed``, ...).

    Raises:
        NotAModelDirError: the folder is absent or lacks a required file.
        CheckpointFormatError: a file of another format, a newer version, or invalid.
        CorruptCheckpointError: a file is truncated or damaged, its sha256 is not the
            one state.json recorded, or the weights hold NaN or infinite values.
        CheckpointStepMismatchError: the files come from different steps.
        IncompatibleCheckpointError: the weights do not fit the model, or the
            optimiser state does not fit the optimiser (or was not saved).
    """
    model_dir = _require_model_dir(model_dir)
    state = _read_json(model_dir, STATE_NAME, _STATE_FORMAT)
    for key, low in (("step", 0), ("seed", None)):
        value = state.get(key)
        if not _is_int(value) or (low is not None and value < low):
            raise CheckpointFormatError(
                model_dir, STATE_NAME, f"{key} must be an integer{'' if low is None else f' >= {low}'}, got {value!r}"
            )
    header, weights = _read_safetensors(model_dir, WEIGHTS_NAME, _WEIGHTS_FORMAT)
    steps = {STATE_NAME: state["step"], WEIGHTS_NAME: header["step"]}
    optimizer_state = None
    if optimizer is not None:
        if not (model_dir / OPTIMIZER_NAME).is_file():
            raise IncompatibleCheckpointError(
                model_dir,
                OPTIMIZER_NAME,
                "is missing (the checkpoint was saved without optimiser state)",
                "load without an optimiser to start it afresh",
            )
        opt_header, opt_tensors = _read_safetensors(model_dir, OPTIMIZER_NAME, _OPTIMIZER_FORMAT)
        steps[OPTIMIZER_NAME] = opt_header["step"]
        optimizer_state = _optimizer_state_dict(model_dir, opt_header, opt_tensors, optimizer)
    if len(set(steps.values())) > 1:
        raise CheckpointStepMismatchError(model_dir, steps)
    digests = _recorded_digests(model_dir, state)
    for name in steps.keys() - {STATE_NAME}:
        _check_digest(model_dir, name, digests.get(name))
    _check_finite(model_dir, weights)

    to_load, report = match_weights(model, weights, remap=None)
    if not report.complete and (strict or optimizer is not None):
        raise IncompatibleCheckpointError(
            model_dir,
            WEIGHTS_NAME,
            f"does not fit the model: {report}",
            "build the model from this folder's config.json" + ("" if strict else ", or load without the optimiser"),
        )
    unwrap_model(model).load_state_dict(to_load, strict=False)
    if not report.complete:
        log.warning("%s: %s", model_dir / WEIGHTS_NAME, report)
    if optimizer_state is not None:
        assert optimizer is not None
        optimizer.load_state_dict(optimizer_state)
    return {k: v for k, v in state.items() if k not in (*_RESERVED, _CHECKSUMS)}


def read_config(model_dir: str | Path) -> dict[str, Any]:
    """The ``config`` dict saved with the model (without the ``format``/``version`` keys).

    Raises:
        NotAModelDirError: no such folder, or it has no config.json.
        CheckpointFormatError: another format, a newer version, or not a JSON object.
        CorruptCheckpointError: config.json does not parse.
    """
    model_dir = check_path(model_dir, "model_dir")
    _require_dir(model_dir)
    doc = _read_json(model_dir, CONFIG_NAME, _CONFIG_FORMAT)
    return {k: v for k, v in doc.items() if k not in _RESERVED}


def read_state(model_dir: str | Path) -> dict[str, Any]:
    """The training state saved with the model (``step``, ``seed``, ...), checked as on load.

    Raises:
        NotAModelDirError, CheckpointFormatError, CorruptCheckpointError: as ``read_config``.
    """
    model_dir = check_path(model_dir, "model_dir")
    _require_dir(model_dir)
    doc = _read_json(model_dir, STATE_NAME, _STATE_FORMAT)
    return {k: v for k, v in doc.items() if k not in (*_RESERVED, _CHECKSUMS)}


def read_weights(model_dir: str | Path) -> dict[str, torch.Tensor]:
    """All tensors of the folder's ``weights.safetensors``, on the CPU, by unwrapped name.

    For starting another model from these weights with ``load_matching``. The file's
    sha256 is checked when a state.json of the same step recorded it.

    Raises:
        NotAModelDirError: no such folder, or no weights.safetensors in it.
        CheckpointFormatError, CorruptCheckpointError: as for ``load_checkpoint``.
    """
    model_dir = check_path(model_dir, "model_dir")
    _require_dir(model_dir)
    if not (model_dir / WEIGHTS_NAME).is_file():
        raise NotAModelDirError(model_dir, f"has no {WEIGHTS_NAME}")
    header, weights = _read_safetensors(model_dir, WEIGHTS_NAME, _WEIGHTS_FORMAT)
    if (model_dir / STATE_NAME).is_file():
        state = _read_json(model_dir, STATE_NAME, _STATE_FORMAT)
        if state.get("step") == header["step"]:  # else a save died between renames: no record of these weights
            _check_digest(model_dir, WEIGHTS_NAME, _recorded_digests(model_dir, state).get(WEIGHTS_NAME))
    _check_finite(model_dir, weights)
    return weights


def load_model(model_dir: str | Path, *, device: str | torch.device = "cpu") -> SwapModel:
    """The trained model of ``model_dir``, rebuilt from its config.json, in eval mode.

    Raises:
        NotAModelDirError, CheckpointFormatError, CorruptCheckpointError: as
            ``load_checkpoint``; CheckpointFormatError also when config.json names no
            architecture this facetwin knows.
    """
    config = read_config(model_dir)
    settings = config.get("model")
    if not isinstance(settings, dict) or not isinstance(settings.get("name"), str):
        raise CheckpointFormatError(model_dir, CONFIG_NAME, "names no model architecture")
    settings = dict(settings)
    name = settings.pop("name")
    try:
        model = _empty_model(name, settings)
    except (InvalidOptionError, TypeError) as error:
        raise CheckpointFormatError(
            model_dir,
            CONFIG_NAME,
            f"describes a model this facetwin cannot build ({error})",
            "upgrade facetwin, or train the model again",
        ) from error
    load_checkpoint(model_dir, model=model)
    if isinstance(config.get("face"), dict):
        try:
            model.face = FaceType.from_json(config["face"])
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise CheckpointFormatError(
                model_dir, CONFIG_NAME, f"has a face window that cannot be read ({error})"
            ) from error
    return model.to(device).eval()


def _empty_model(name: str, settings: dict[str, Any]) -> SwapModel:
    """The architecture with uninitialised storage, for weights that are about to be
    loaded over every tensor: built on the meta device, its random initialisation costs
    nothing (``original``: 0.51 s of a conversion's start, fast128 0.13 s). A model with
    state its checkpoint would not hold (a non-persistent buffer) is built as usual."""
    with torch.device("meta"):
        model = create_model(name, **settings)
    if set(model.state_dict()) != {n for n, _ in model.named_parameters()} | {n for n, _ in model.named_buffers()}:
        return create_model(name, **settings)
    return model.to_empty(device="cpu")


def discard_unfinished_save(model_dir: str | Path, *, ignore: Collection[str] = ()) -> list[str]:
    """Delete what a first save killed before it finished left in ``model_dir``.

    ``state.json`` is renamed into place last, so a folder without it holds no model:
    only staged and temporary files, and the files renamed before the kill
    (``.state.json.staged`` is then still there, as staging ends before any rename).
    Left there, they block both resuming the folder and starting a model in it.

    Args:
        model_dir: the model folder.
        ignore: names of other files to leave alone and not count (the run's lock file).

    Returns:
        The names removed, sorted; none (and nothing touched) unless every other entry
        of the folder is such a file.

    >>> discard_unfinished_save(".")
    []
    """
    model_dir = check_path(model_dir, "model_dir")
    if not model_dir.is_dir() or (model_dir / STATE_NAME).exists():
        return []
    entries = [e for e in model_dir.iterdir() if e.name not in ignore]
    renamed = (model_dir / f".{STATE_NAME}.staged").is_file()
    finals = (CONFIG_NAME, WEIGHTS_NAME, OPTIMIZER_NAME) if renamed else ()
    if not entries or not all(e.is_file() and (_is_leftover(e.name) or e.name in finals) for e in entries):
        return []
    for entry in entries:
        entry.unlink(missing_ok=True)
    names = sorted(e.name for e in entries)
    log.warning("%s: removed %s, left by a save that never finished", model_dir, ", ".join(names))
    return names


def keep_architecture(
    config: Any, old: Mapping[str, Any], folder: Path, remedy: str, *, before_default: Mapping[str, Any] | None = None
) -> Any:
    """``config`` for resuming the run in ``folder``, whose saved settings are ``old``.

    The network stays what it was: architecture fields (``type(config).ARCHITECTURE``)
    left at their defaults take the folder's values; a different value asked for is a
    ``ModelDirError`` (with ``remedy``). ``before_default`` gives the value a field had
    in folders from before it existed.
    """
    cls = type(config)
    defaults, kept = cls.__dataclass_fields__, {}
    for name in cls.ARCHITECTURE:
        before, asked = old.get(name, (before_default or {}).get(name)), getattr(config, name)
        if asked != before and asked != defaults[name].default:
            raise ModelDirError(folder, f"was trained with {name}={before!r}, not {asked!r}", remedy)
        kept[name] = before
    return cls(**{**config.to_json(), **kept})


def prepare_run_dir(folder: Path, resume: bool, *, what: str = "trained model", keep: tuple[str, ...] = ()) -> bool:
    """Check that ``folder`` suits a new run (absent, or empty but for ``keep``) or a resume.

    Leftovers of a first save killed midway are cleared first. Returns ``resume``.

    Raises:
        ModelDirError: nothing to resume, a finished model in the way, a file, or other files.
    """
    if resume:
        if not is_model_dir(folder):
            raise ModelDirError(folder, f"holds no {what} to resume", "leave out --resume to start one")
        return True
    if is_model_dir(folder):
        raise ModelDirError(
            folder, "already holds a trained model", "use --resume to continue it or choose another folder"
        )
    if folder.exists() and not folder.is_dir():
        raise ModelDirError(folder, "exists and is not a folder")
    discard_unfinished_save(folder, ignore=keep)  # a first save killed midway (kill -9, power cut)
    if folder.exists() and any(p.name not in keep for p in folder.iterdir()):
        raise ModelDirError(folder, "is a folder with other files in it", "choose an empty or new folder")
    return False


def is_model_dir(path: str | Path) -> bool:
    """True if ``path`` is a folder holding config.json, weights.safetensors and state.json.

    A cheap test of presence only: a damaged folder still counts, and loading it
    says what is wrong.

    >>> is_model_dir(".")
    False
    """
    path = Path(path)
    return path.is_dir() and all((path / name).is_file() for name in _REQUIRED)


# --- encoding -----------------------------------------------------------------------


def _check_state_arg(state: Mapping[str, Any]) -> int:
    step, seed = state.get("step"), state.get("seed")
    if not _is_int(step) or step < 0:
        raise InvalidOptionError("state['step']", step, "an integer >= 0")
    if not _is_int(seed):
        raise InvalidOptionError("state['seed']", seed, "an integer")
    return int(step)


def _json_document(fmt: str, doc: Mapping[str, Any], name: str, reserved: tuple[str, ...] = _RESERVED) -> bytes:
    """``doc`` under a format/version header, encoded as atomic_write_json would."""
    clash = [k for k in reserved if k in doc]
    if clash:
        raise InvalidOptionError(name, clash, "a dict without the reserved keys " + ", ".join(reserved))
    try:
        text = json.dumps(
            {"format": fmt, "version": _VERSIONS[fmt], **doc}, indent=1, ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as error:
        raise InvalidOptionError(name, str(error), "a dict of JSON values (no NaN, no objects)") from error
    return (text + "\n").encode("utf-8", "backslashreplace")  # a non-UTF-8 path: JSON escapes


def _weights_tensors(model: torch.nn.Module, step: int) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    tensors: dict[str, torch.Tensor] = {}
    for key, tensor in unwrap_model(model).state_dict().items():
        clean = clean_key(key)
        if clean in tensors:
            raise ValueError(f"two model tensors are both named {clean!r} once '_orig_mod.' is removed")
        tensors[clean] = tensor
    return tensors, _metadata(_WEIGHTS_FORMAT, step, {})


def _optimizer_tensors(optimizer: torch.optim.Optimizer, step: int) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    saved = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    values: dict[str, dict[str, Any]] = {}
    for index, entry in saved["state"].items():
        for name, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"state.{index}.{name}"] = value
            else:
                values.setdefault(str(index), {})[name] = value
    groups: list[dict[str, Any]] = []
    for g, group in enumerate(saved["param_groups"]):
        groups.append({})
        for name, value in group.items():
            if isinstance(value, torch.Tensor):  # e.g. a tensor learning rate
                tensors[f"param_groups.{g}.{name}"] = value
            else:
                groups[-1][name] = value
    extra = {"optimizer": type(optimizer).__name__, "param_groups": groups, "state": values}
    return tensors, _metadata(_OPTIMIZER_FORMAT, step, extra)


def _metadata(fmt: str, step: int, extra: dict[str, Any]) -> dict[str, str]:
    header = {"format": fmt, "version": _VERSIONS[fmt], "step": step, **extra}
    try:
        # Infinity/NaN allowed: optimiser settings may hold them and only Python reads this back.
        return {_META_KEY: json.dumps(header)}
    except TypeError as error:
        raise TypeError(f"cannot save {fmt}: a value is neither a tensor nor JSON-able ({error})") from error


#: safetensors' names of the dtypes a checkpoint can hold.
_SAFETENSORS_DTYPES = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


def _write_safetensors(path: Path, tensors: Mapping[str, torch.Tensor], metadata: dict[str, str]) -> None:
    """Write ``tensors`` to ``path`` in the safetensors format, one tensor at a time.

    The format (8-byte little-endian header length, a JSON header of names, dtypes,
    shapes and byte offsets, then the bytes) is the one ``safetensors.safe_open`` reads;
    the library's writers need every tensor contiguous in memory at once, this one copies
    one channels-last or GPU tensor at a time. Tensors go largest element size first, then
    by name, so each lies at an offset aligned to its element size, as the library's do.
    Tied tensors (two names, one storage) are written twice; loading fills both names.
    """
    order = sorted(tensors, key=lambda name: (-tensors[name].element_size(), name))
    header: dict[str, Any] = {"__metadata__": metadata}
    offset = 0
    for name in order:
        tensor = tensors[name]
        if tensor.dtype not in _SAFETENSORS_DTYPES:
            raise TypeError(f"cannot save {name!r}: dtype {tensor.dtype} has no safetensors name")
        size = tensor.numel() * tensor.element_size()
        header[name] = {
            "dtype": _SAFETENSORS_DTYPES[tensor.dtype],
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # the data starts 8-byte aligned
    with open(path, "wb") as f:
        f.write(len(text).to_bytes(8, "little"))
        f.write(text)
        for name in order:
            tensor = tensors[name].detach()
            if tensor.numel():
                data = tensor.to("cpu").contiguous().reshape(-1).view(torch.uint8)
                f.write(memoryview(data.numpy()))
                del data  # one copy at a time


def _remove_leftovers(model_dir: Path) -> None:
    """Delete staged and temporary files a killed save left behind (possibly gigabytes)."""
    for entry in model_dir.iterdir():
        if _is_leftover(entry.name):
            entry.unlink(missing_ok=True)


def _is_leftover(name: str) -> bool:
    """A staged file of a save, or atomic_write_file's temporary file of one."""
    ours = (CONFIG_NAME, WEIGHTS_NAME, OPTIMIZER_NAME, STATE_NAME)
    return name.startswith(".") and name.endswith((".tmp", ".staged")) and any(f".{n}." in name for n in ours)


def _fsync_dir(path: Path) -> None:
    """Make the renames durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- decoding -----------------------------------------------------------------------


def _require_dir(path: Path) -> None:
    if not path.exists():
        raise NotAModelDirError(path, "does not exist")
    if not path.is_dir():
        raise NotAModelDirError(path, "is a file, not a model folder")


def _require_model_dir(model_dir: str | Path) -> Path:
    path = check_path(model_dir, "model_dir")
    _require_dir(path)
    missing = [name for name in _REQUIRED if not (path / name).is_file()]
    if missing:
        raise NotAModelDirError(path, "is not a facetwin model folder: " + ", ".join(missing) + " missing")
    return path


def _read_json(model_dir: Path, name: str, fmt: str) -> dict[str, Any]:
    path = model_dir / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotAModelDirError(model_dir, f"has no {name}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CorruptCheckpointError(model_dir, name, str(error)) from error
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        raise CorruptCheckpointError(model_dir, name, f"not valid JSON: {error}") from error
    return _check_header(model_dir, name, doc, fmt)


def _check_header(model_dir: Path, name: str, doc: object, fmt: str) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise CheckpointFormatError(model_dir, name, f"must hold a JSON object, got {type(doc).__name__}")
    if doc.get("format") != fmt:
        got = json.dumps(doc["format"])[:60] if "format" in doc else "no format field"
        raise CheckpointFormatError(model_dir, name, f'has format {got}, expected "{fmt}"')
    version, current = doc.get("version"), _VERSIONS[fmt]
    if not _is_int(version) or version < 1:
        raise CheckpointFormatError(model_dir, name, f"version must be an integer >= 1, got {version!r}")
    if version > current:
        raise CheckpointFormatError(
            model_dir,
            name,
            f"is version {version}, newer than this facetwin reads ({current})",
            "upgrade facetwin",
        )
    while version < current:
        doc = _UPGRADES[fmt][version](doc)
        version += 1
    return doc


def _read_safetensors(model_dir: Path, name: str, fmt: str) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    path = model_dir / name
    try:
        with safe_open(path, framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except FileNotFoundError:
        raise NotAModelDirError(model_dir, f"has no {name}") from None
    except (SafetensorError, OSError) as error:
        raise CorruptCheckpointError(model_dir, name, str(error)) from error
    if _META_KEY not in metadata:
        raise CheckpointFormatError(
            model_dir,
            name,
            f'has no "{_META_KEY}" metadata: it was not saved by facetwin',
            "load foreign weights with safetensors.torch.load_file and load_matching",
        )
    try:
        doc = json.loads(metadata[_META_KEY])
    except json.JSONDecodeError as error:
        raise CorruptCheckpointError(model_dir, name, f"its metadata is not valid JSON: {error}") from error
    header = _check_header(model_dir, name, doc, fmt)
    if not _is_int(header.get("step")) or header["step"] < 0:
        raise CheckpointFormatError(model_dir, name, f"step must be an integer >= 0, got {header.get('step')!r}")
    return header, tensors


def _recorded_digests(model_dir: Path, state: dict[str, Any]) -> dict[str, str]:
    """The sha256 of each file as saved, by name, from state.json.

    Empty for folders saved before facetwin kept them, and for a record of another step
    (a facetwin that did not know the key carried it along into a later save).
    """
    record = state.get(_CHECKSUMS)
    if record is None:
        return {}
    digests = record.get("sha256") if isinstance(record, dict) else None
    if not (
        isinstance(digests, dict) and _is_int(record.get("step")) and all(isinstance(v, str) for v in digests.values())
    ):
        raise CheckpointFormatError(
            model_dir, STATE_NAME, f'{_CHECKSUMS} must be {{"step": N, "sha256": {{file: hex}}}}, got {record!r}'[:200]
        )
    return digests if record["step"] == state.get("step") else {}


def _check_digest(model_dir: Path, name: str, expected: str | None) -> None:
    if expected is None:
        return
    try:
        actual = sha256_of(model_dir / name)
    except OSError as error:
        raise CorruptCheckpointError(model_dir, name, str(error)) from error
    if actual != expected:
        problem = f"changed since it was saved: its sha256 is {actual[:12]}…, state.json recorded {expected[:12]}…"
        if name == WEIGHTS_NAME:  # the default remedy, starting again from these weights, would not work
            raise CorruptCheckpointError(model_dir, name, problem, _WEIGHTS_REMEDY)
        raise CorruptCheckpointError(model_dir, name, problem)


def _check_finite(model_dir: Path, weights: dict[str, torch.Tensor]) -> None:
    """Refuse NaN or infinite weights: they convert to black or noise, with no error."""
    for key, tensor in weights.items():
        if not (tensor.is_floating_point() or tensor.is_complex()) or tensor.numel() == 0:
            continue
        if tensor.is_complex():
            finite = bool(torch.isfinite(tensor).all())
        else:  # min and max carry any NaN or infinity: 20x faster than isfinite(), no copy
            low, high = torch.aminmax(tensor)
            finite = bool(torch.isfinite(low) & torch.isfinite(high))
        if not finite:
            raise CorruptCheckpointError(
                model_dir, WEIGHTS_NAME, f"tensor {key!r} holds NaN or infinite values", _WEIGHTS_REMEDY
            )


def _optimizer_state_dict(
    model_dir: Path, header: dict[str, Any], tensors: dict[str, torch.Tensor], optimizer: torch.optim.Optimizer
) -> dict[str, Any]:
    """Rebuild ``optimizer.state_dict()`` from the file, checked against the live optimiser."""

    def bad(problem: str) -> CheckpointFormatError:
        return CheckpointFormatError(model_dir, OPTIMIZER_NAME, problem)

    def incompatible(problem: str) -> IncompatibleCheckpointError:
        return IncompatibleCheckpointError(
            model_dir, OPTIMIZER_NAME, problem, "build the optimiser as the saving run did, or load without it"
        )

    kind = header.get("optimizer")
    if kind != type(optimizer).__name__:
        raise incompatible(f"holds the state of {kind}, not of {type(optimizer).__name__}")
    groups, values = header.get("param_groups"), header.get("state")
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise bad("param_groups must be a list of objects")
    if not isinstance(values, dict) or not all(isinstance(v, dict) for v in values.values()):
        raise bad("state must be an object of objects")
    live = optimizer.param_groups
    saved_sizes = [len(g.get("params", ())) for g in groups]
    live_sizes = [len(g["params"]) for g in live]
    if saved_sizes != live_sizes:
        raise incompatible(f"has parameter groups of sizes {saved_sizes}, the optimiser {live_sizes}")

    state: dict[Any, dict[str, Any]] = {_index(i): dict(v) for i, v in values.items()}
    for key, tensor in tensors.items():
        parts = key.split(".", 2)
        if len(parts) != 3 or parts[0] not in ("state", "param_groups"):
            raise bad(f"holds a tensor named {key!r}, expected state.<index>.<name>")
        if parts[0] == "state":
            state.setdefault(_index(parts[1]), {})[parts[2]] = tensor
        elif parts[1].isdigit() and int(parts[1]) < len(groups):
            groups[int(parts[1])][parts[2]] = tensor
        else:
            raise bad(f"holds a tensor for parameter group {parts[1]}, of {len(groups)}")
    # JSON turned tuples (Adam's betas) into lists; give back the type the optimiser uses.
    for saved, current in zip(groups, live):
        for name, value in saved.items():
            if isinstance(value, list) and isinstance(current.get(name), tuple):
                saved[name] = tuple(value)
    return {"state": state, "param_groups": groups}


def _index(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def model_fingerprint(model_dir: str | Path) -> str:
    """``sha256:`` and the first 32 hex digits of the SHA-256 of the model's weights file.

    The weights alone: resuming training changes them (a new fingerprint), while the
    config or previews beside them do not make a different model.
    """
    digest = hashlib.sha256()
    with open(Path(model_dir) / WEIGHTS_NAME, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()[:32]
