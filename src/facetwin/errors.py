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
    "ModelFileError",
    "FacesetError",
    "ModelDirError",
    "TrainingDivergedError",
    "NotAModelDirError",
    "CheckpointFormatError",
    "CorruptCheckpointError",
    "CheckpointStepMismatchError",
    "IncompatibleCheckpointError",
    "CheckpointSaveError",
    "UnsupportedOutputError",
    "OutputWriteError",
    "SigningKeyError",
]


class FacetwinError(Exception):
    """Base of every failure caused by input or settings rather than a bug."""


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
        super().__init__(
            f"{self.path} holds no images or videos (looked for {', '.join(self.suffixes)})"
        )


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


_CHECKPOINT_BACKUP_REMEDY = (
    "restore the folder from a backup, or start a new run from its weights "
    "(load_matching(model, read_weights(folder)))"
)



class NotAModelDirError(ModelDirError, FileNotFoundError):
    """A path that is not a facetwin model folder (absent, a file, or files missing)."""

    def __init__(self, path: str | Path, problem: str) -> None:
        super().__init__(path, problem, "pass the folder a training run saved into (config.json, weights.safetensors, state.json)")

    def __str__(self) -> str:  # FileNotFoundError would otherwise format errno fields
        return self.args[0]


class CheckpointFormatError(ModelDirError):
    """A checkpoint file of another format, a newer version, or with an invalid field."""

    def __init__(self, path: str | Path, file: str, problem: str, remedy: str = "") -> None:
        self.file = file
        super().__init__(path, f"{file} {problem}", remedy)


class CorruptCheckpointError(ModelDirError, OSError):
    """A checkpoint file that is truncated or damaged and cannot be decoded."""

    def __init__(self, path: str | Path, file: str, reason: str) -> None:
        self.file = file
        self.reason = reason
        super().__init__(path, f"{file} is truncated or damaged ({reason})", _CHECKPOINT_BACKUP_REMEDY)

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
        super().__init__(f"{feature} needs the optional packages of facetwin[{extra}]: "
                         f"pip install 'facetwin[{extra}]' ({reason})")


class UploadTooLargeError(FacetwinError, ValueError):
    """An upload to the web UI over its size limit."""

    def __init__(self, name: str, size: int, limit: int) -> None:
        self.name, self.size, self.limit = name, size, limit
        super().__init__(f"{name} is {size / 2**20:.0f} MiB, over the upload limit of {limit / 2**20:.0f} MiB "
                         "(start facetwin ui with a larger --max-upload, or give the file's path instead)")


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
