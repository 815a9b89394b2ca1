"""User-facing failures.

Each failure a user can cause is one class that keeps the facts as attributes and
builds a full sentence from them, so the CLI can print ``str(error)`` as its one line.
Every class also derives from the matching builtin, so callers of the Python API can
catch ``ValueError`` or ``OSError`` as usual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = [
    "FacetwinError",
    "InputNotFoundError",
    "UnreadableMediaError",
    "TruncatedMediaError",
    "EmptyInputError",
    "NoFaceFoundError",
    "InvalidAlignmentsError",
    "UnknownFaceError",
    "InvalidOptionError",
    "OutputConflictError",
    "OutputLockedError",
    "ModelFileError",
    "FacesetError",
    "ModelDirError",
    "TrainingDivergedError",
    "TrainingInterrupted",
    "NotAModelDirError",
    "CheckpointFormatError",
    "CorruptCheckpointError",
    "CheckpointStepMismatchError",
    "IncompatibleCheckpointError",
    "CheckpointSaveError",
    "UnsupportedOutputError",
    "OutputWriteError",
    "SigningKeyError",
    "TooManyPixelsError",
    "ClusterUnreachableError",
    "MissingOptionError",
    "RequiredOptionError",
    "DatasetFolderError",
]


class FacetwinError(Exception):
    """Base of every failure caused by input or settings rather than a bug."""

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        _keep_arguments(cls)

    def __reduce__(self):
        # Made again from the arguments it was made with: Exception's own pickling would
        # pass the message to an __init__ that takes other arguments, and an error raised
        # in a worker process would reach the caller as BrokenProcessPool.
        args, kwargs = self.__dict__.get("_made_with", (self.args, {}))
        return _remake, (type(self), args, kwargs)


def _keep_arguments(cls: type) -> None:
    """Wrap ``cls.__init__`` so that an instance remembers the arguments it was made with."""
    init = cls.__dict__.get("__init__")
    if init is None:
        return

    def __init__(self, *args, **kwargs):
        self.__dict__.setdefault("_made_with", (args, kwargs))  # the most derived class's call
        init(self, *args, **kwargs)

    __init__.__doc__, __init__.__wrapped__ = init.__doc__, init
    cls.__init__ = __init__


def _remake(cls: type[BaseException], args: tuple, kwargs: dict) -> BaseException:
    return cls(*args, **kwargs)


class InputNotFoundError(FacetwinError, FileNotFoundError):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        super().__init__(f"input not found: {self.path}")

    def __str__(self) -> str:  # FileNotFoundError would otherwise format errno fields
        return f"input not found: {self.path}"


class UnreadableMediaError(FacetwinError, OSError):
    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot read {self.path} as an image or video: {reason}")

    def __str__(self) -> str:
        return f"cannot read {self.path} as an image or video: {self.reason}"


class TruncatedMediaError(FacetwinError, OSError):
    def __init__(self, path: str | Path, frames_read: int, reason: str) -> None:
        self.path = Path(path)
        self.frames_read = frames_read
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        return (
            f"{self.path} is damaged or truncated: decoding stopped after frame "
            f"{self.frames_read} ({self.reason}); the frames before it were kept"
        )


class EmptyInputError(FacetwinError, ValueError):
    def __init__(self, path: str | Path, suffixes: Sequence[str]) -> None:
        self.path = Path(path)
        self.suffixes = tuple(suffixes)
        super().__init__(f"{self.path} holds no images or videos (looked for {', '.join(self.suffixes)})")


class NoFaceFoundError(FacetwinError, ValueError):
    def __init__(self, source: str, frames_read: int, hint: str = "") -> None:
        self.source = source
        self.frames_read = frames_read
        self.hint = hint
        message = f"no face found in {source} ({frames_read} frames read)"
        super().__init__(message + (f"; {hint}" if hint else ""))


class InvalidAlignmentsError(FacetwinError, ValueError):
    def __init__(self, path: str | Path, where: str, problem: str) -> None:
        self.path = Path(path)
        self.where = where
        self.problem = problem
        super().__init__(f"invalid alignments file {self.path}: {where}: {problem}")


class UnknownFaceError(FacetwinError, ValueError):
    """Crop names asked for that are not faces of an extraction folder (nothing was changed)."""

    def __init__(self, path: str | Path, crops: Sequence[str], listed: int) -> None:
        self.path = Path(path)
        self.crops = tuple(crops)
        self.listed = listed
        names = ", ".join(repr(c) for c in self.crops)
        super().__init__(
            f"{names} {'is' if len(self.crops) == 1 else 'are'} not among the {listed} face crops listed in "
            f"{self.path}; nothing was changed"
        )


class InvalidOptionError(FacetwinError, ValueError):
    def __init__(self, name: str, value: object, expected: str) -> None:
        self.name = name
        self.value = value
        self.expected = expected
        super().__init__(f"{name} must be {expected}, got {value!r}")


class OutputConflictError(FacetwinError, ValueError):
    def __init__(self, path: str | Path, problem: str, remedy: str) -> None:
        self.path = Path(path)
        self.problem = problem
        self.remedy = remedy
        super().__init__(f"{self.path}: {problem}; {remedy}")


class ModelFileError(FacetwinError, OSError):
    def __init__(self, name: str, path: str | Path, problem: str) -> None:
        self.name = name
        self.path = Path(path)
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        return f"model file for {self.name} at {self.path} {self.problem}; reinstall facetwin"


class FacesetError(FacetwinError, ValueError):
    """A set of training faces that cannot be trained on, and why."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"faces in {self.path}: {problem}")


class ModelDirError(FacetwinError, ValueError):
    """A model directory that cannot be used for what was asked."""

    def __init__(self, path: str | Path, problem: str, remedy: str = "") -> None:
        self.path = Path(path)
        self.problem = problem
        self.remedy = remedy
        super().__init__(f"model {self.path}: {problem}" + (f"; {remedy}" if remedy else ""))


class TrainingDivergedError(FacetwinError, ArithmeticError):
    """Losses kept turning NaN or infinite even after rolling back."""

    def __init__(self, step: int, attempts: int) -> None:
        self.step = step
        self.attempts = attempts
        super().__init__(
            f"the loss became NaN or infinite at step {step} {attempts} times in a row, each time "
            "after rolling back to the last good checkpoint; lower --lr or check the faces"
        )


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM ended a training run; says which step the model folder holds.

    Not a ``FacetwinError``: nothing failed, and callers that catch ``KeyboardInterrupt``
    keep working. ``saved_step`` is ``step`` unless the closing save was skipped
    because the weights had gone NaN or infinite.
    """

    __reduce__ = FacetwinError.__reduce__

    def __init__(self, model_dir: str | Path, *, step: int, saved_step: int) -> None:
        self.model_dir = Path(model_dir)
        self.step = step
        self.saved_step = saved_step
        if saved_step == step:
            outcome = f"step {step} is saved in {self.model_dir}"
        else:
            outcome = (
                f"its weights had become NaN or infinite, so {self.model_dir} keeps the checkpoint of step {saved_step}"
            )
        super().__init__(f"interrupted at step {step}; {outcome}")

    @property
    def saved(self) -> bool:
        return self.saved_step == self.step


_CHECKPOINT_BACKUP_REMEDY = (
    "restore the folder from a backup, or start a new run from its weights (load_matching(model, read_weights(folder)))"
)


_keep_arguments(TrainingInterrupted)


class NotAModelDirError(ModelDirError, FileNotFoundError):
    """A path that is not a facetwin model folder (absent, a file, or files missing)."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(
            path, problem, "pass the folder a training run saved into (config.json, weights.safetensors, state.json)"
        )

    def __str__(self) -> str:  # FileNotFoundError would otherwise format errno fields
        return self.args[0]


class CheckpointFormatError(ModelDirError):
    """A checkpoint file of another format, a newer version, or with an invalid field."""

    def __init__(self, path: str | Path, file: str, problem: str, remedy: str = "") -> None:
        self.file = file
        super().__init__(path, f"{file} {problem}", remedy)


class CorruptCheckpointError(ModelDirError, OSError):
    """A checkpoint file that is truncated or damaged and cannot be decoded."""

    def __init__(self, path: str | Path, file: str, reason: str, remedy: str = _CHECKPOINT_BACKUP_REMEDY) -> None:
        self.file = file
        self.reason = reason
        super().__init__(path, f"{file} is truncated or damaged ({reason})", remedy)

    def __str__(self) -> str:
        return self.args[0]


class CheckpointStepMismatchError(ModelDirError):
    """Files of one checkpoint that come from different steps (a save was interrupted)."""

    def __init__(self, path: str | Path, steps: Mapping[str, int]) -> None:
        self.steps = dict(steps)
        listed = ", ".join(f"{name} is at step {step}" for name, step in self.steps.items())
        super().__init__(
            path,
            f"{listed}: a save was interrupted between files, so training cannot resume exactly",
            _CHECKPOINT_BACKUP_REMEDY,
        )


class IncompatibleCheckpointError(ModelDirError):
    """A checkpoint whose weights or optimiser state do not fit the model or optimiser given."""

    def __init__(self, path: str | Path, file: str, problem: str, remedy: str) -> None:
        self.file = file
        super().__init__(path, f"{file} {problem}", remedy)


class CheckpointSaveError(FacetwinError, OSError):
    """Writing a checkpoint failed (disk full, permissions); says whether the old one survived."""

    def __init__(self, path: str | Path, cause: OSError, *, intact: bool) -> None:
        self.path = Path(path)
        self.reason = cause.strerror or str(cause)
        self.intact = intact
        outcome = (
            "any checkpoint already there is unchanged"
            if intact
            else "the folder now mixes two steps and will refuse to resume; free space and save again"
        )
        self.message = f"cannot save the checkpoint in {self.path}: {self.reason}; {outcome}"
        super().__init__(self.message)
        self.errno = cause.errno  # so callers can still tell ENOSPC from EACCES

    def __str__(self) -> str:
        return self.message


class UnsupportedOutputError(FacetwinError, ValueError):
    """An output path whose suffix names no format facetwin writes."""

    def __init__(self, path: str | Path, suffixes: Sequence[str], also: str | None = None) -> None:
        self.path = Path(path)
        self.suffixes = tuple(suffixes)
        self.also = also
        problem = f"'{self.path.suffix}' is not an output format" if self.path.suffix else "the name has no suffix"
        choices = "a video file ending in " + ", ".join(self.suffixes) + (f", or {also}" if also else "")
        super().__init__(f"cannot write {self.path}: {problem}; give {choices}")


class OutputWriteError(FacetwinError, OSError):
    """An output that cannot be written (no permission, disk full, encoder failure).

    The target path is left as it was: writers work on a temporary file beside it.
    """

    def __init__(
        self, path: str | Path, reason: str, remedy: str = "check that the folder is writable and has free space"
    ) -> None:
        self.path = Path(path)
        self.reason = reason
        self.remedy = remedy
        self.message = f"cannot write {self.path}: {reason}; {remedy}"
        super().__init__(self.message)

    def __str__(self) -> str:  # OSError would otherwise format errno fields
        return self.message


class SigningKeyError(FacetwinError, OSError):
    """A signing-key folder whose files cannot be used (damaged, mismatched, expired, unwritable)."""

    def __init__(
        self,
        path: str | Path,
        problem: str,
        remedy: str = "move the folder aside to let facetwin make a new key "
        "(files signed with the old one then no longer show as trusted)",
    ) -> None:
        self.path = Path(path)
        self.problem = problem
        self.remedy = remedy
        self.message = f"C2PA signing key in {self.path}: {problem}; {remedy}"
        super().__init__(self.message)

    def __str__(self) -> str:  # OSError would otherwise format errno fields
        return self.message


class MissingExtraError(FacetwinError, ImportError):
    """A feature whose optional packages are not installed."""

    def __init__(self, feature: str, extra: str, reason: str) -> None:
        self.feature, self.extra, self.reason = feature, extra, reason
        super().__init__(
            f"{feature} needs the optional packages of facetwin[{extra}]: pip install 'facetwin[{extra}]' ({reason})"
        )


class UploadTooLargeError(FacetwinError, ValueError):
    """An upload to the web UI over its size limit."""

    def __init__(self, name: str, size: int, limit: int) -> None:
        self.name, self.size, self.limit = name, size, limit
        super().__init__(
            f"{name} is {size / 2**20:.0f} MiB, over the upload limit of {limit / 2**20:.0f} MiB "
            "(start facetwin ui with a larger --max-upload, or give the file's path instead)"
        )


class NotReadyError(FacetwinError, RuntimeError):
    """A step asked for before the step it needs (the web UI's buttons)."""

    def __init__(self, step: str, needs: str) -> None:
        self.step, self.needs = step, needs
        super().__init__(f"cannot {step} yet: {needs}")


class ServerStartError(FacetwinError, OSError):
    """The web UI could not listen where it was asked to."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host, self.port, self.reason = host, port, reason
        self.message = f"cannot serve on {host}:{port}: {reason} (choose another --port, or stop what uses it)"
        super().__init__(self.message)

    def __str__(self) -> str:  # OSError would otherwise format errno fields
        return self.message


class TooManyPixelsError(FacetwinError, ValueError):
    """An image or video whose header promises more pixels than the limit (a decompression bomb guard)."""

    def __init__(self, path: str | Path, pixels: int, limit: int, size: tuple[int, int] | None = None) -> None:
        self.path, self.pixels, self.limit, self.size = Path(path), pixels, limit, size
        shape = f"{size[0]}x{size[1]}, " if size else ""
        super().__init__(
            f"{self.path} is {shape}{pixels / 1e6:.3g} megapixels, over the limit of {limit / 1e6:.3g} "
            "megapixels: decoding it could take gigabytes of memory (if the file is trusted, raise "
            "the limit with facetwin --max-pixels)"
        )


class ProjectFolderError(FacetwinError, NotADirectoryError):
    """A web UI project path that is not, and cannot become, a folder."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path, self.reason = Path(path), reason
        self.message = f"cannot use {self.path} as a project folder: {reason} (give a folder; it is created if missing)"
        super().__init__(self.message)

    def __str__(self) -> str:  # OSError would otherwise format errno fields
        return self.message


class PathNotAllowedError(FacetwinError, PermissionError):
    """A path typed into a shared web UI outside the folders its owner allows.

    The sentence is the same whether the path exists or not, so a visitor learns
    nothing about the machine beyond the allowed folders.
    """

    def __init__(self, path: str, roots: Sequence[str | Path]) -> None:
        self.path, self.roots = path, tuple(Path(r) for r in roots)
        under = " or ".join(str(r) for r in self.roots)
        self.message = (
            f"not an allowed path: {path} (this server reads videos, images and folders under {under} "
            "only; upload anything else)"
        )
        super().__init__(self.message)

    def __str__(self) -> str:  # OSError would otherwise format errno fields
        return self.message


class OwnerOnlyError(FacetwinError, PermissionError):
    """An action a shared web UI keeps from its visitors: it would destroy the owner's work."""

    def __init__(self, action: str) -> None:
        self.action = action
        self.message = (
            f"cannot {action} on a shared server: only the owner can, in a facetwin ui served to this machine only"
        )
        super().__init__(self.message)

    def __str__(self) -> str:  # OSError would otherwise format errno fields
        return self.message


class OutputLockedError(FacetwinError, OSError):
    """An output another facetwin run is writing (its lock file is held): nothing was changed.

    ``pid``, ``command``, ``host`` and ``started`` (seconds since the epoch) come from
    the lock file and are ``None`` where it could not be read.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        pid: int | None = None,
        command: str | None = None,
        host: str | None = None,
        started: float | None = None,
        this_host: str | None = None,
    ) -> None:
        import time

        self.path, self.pid, self.command, self.host, self.started = Path(path), pid, command, host, started
        if pid is None:
            who = "another facetwin run"
        else:
            facts = [f"pid {pid}" + (f" on {host}" if host and host != this_host else "")]
            if started is not None:
                then = time.localtime(started)
                same_day = then[:3] == time.localtime()[:3]
                facts.append("since " + time.strftime("%H:%M" if same_day else "%Y-%m-%d %H:%M", then))
            who = f"facetwin {command or 'run'} ({', '.join(facts)})"
        self.message = f"{self.path} is in use by {who}; wait for it to finish or stop it, or choose another output"
        super().__init__(self.message)

    def __str__(self) -> str:  # OSError would otherwise format errno fields
        return self.message


class ClusterUnreachableError(FacetwinError, ConnectionError):
    """A Ray cluster address where nothing answers (Ray itself would retry for minutes)."""

    def __init__(self, address: str, endpoint: str, reason: str) -> None:
        self.address, self.endpoint, self.reason = address, endpoint, reason
        self.message = (
            f"no Ray cluster answers at {address} ({endpoint}: {reason}); start one with "
            "`ray start --head`, or leave out --ray to run the pairs on this machine"
        )
        super().__init__(self.message)

    def __str__(self) -> str:  # OSError would otherwise format errno fields
        return self.message


class MissingOptionError(FacetwinError, ValueError):
    """Options that only work together, given in part."""

    def __init__(self, missing: Sequence[str], together: Sequence[str], alternative: str = "") -> None:
        self.missing, self.together, self.alternative = tuple(missing), tuple(together), alternative
        names = " and ".join(self.missing)
        also = f" ({alternative})" if alternative else ""
        super().__init__(
            f"{', '.join(self.together)} go together{also}: {names} {'is' if len(self.missing) == 1 else 'are'} missing"
        )


class RequiredOptionError(FacetwinError, ValueError):
    """A command run without something it cannot do without.

    >>> str(RequiredOptionError("--steps or --time", "how long to train (--steps 2000, --time 30m, or both)"))
    '--steps or --time is required: how long to train (--steps 2000, --time 30m, or both)'
    """

    def __init__(self, option: str, what: str) -> None:
        self.option, self.what = option, what
        super().__init__(f"{option} is required: {what}")


class DatasetFolderError(FacetwinError, ValueError):
    """A folder that cannot serve as a ``facetwin dataset`` for what was asked (detect)."""

    def __init__(self, path: str | Path, problem: str, remedy: str = "") -> None:
        self.path, self.problem, self.remedy = Path(path), problem, remedy
        super().__init__(f"dataset {self.path}: {problem}" + (f"; {remedy}" if remedy else ""))
