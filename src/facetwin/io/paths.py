"""Outputs that would be inputs: refused before anything is written.

An output replaced atomically still replaces: ``convert clip.mp4 -o clip.mp4`` would
leave only the fake, and ``extract photos -o photos`` would mix crops (and, with
``--overwrite``, deletions) into the photos. Paths are compared as files, so another
spelling of the same path (``./x/../clip.mp4``, a symbolic link, a hard link) is caught.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from facetwin.errors import OutputConflictError
from facetwin.io.images import IMAGE_SUFFIXES

__all__ = ["same_path", "refuse_input_file", "refuse_input_folder"]


def same_path(a: str | Path, b: str | Path) -> bool:
    """Whether ``a`` and ``b`` name one file or folder.

    Both existing: the same device and inode (any spelling, links included). Otherwise
    the same absolute path once symbolic links and ``..`` are resolved.

    >>> same_path("/tmp/../tmp/x.mp4", "/tmp/x.mp4")
    True
    """
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return Path(a).resolve() == Path(b).resolve()


def refuse_input_file(output: str | Path, inputs: Iterable[str | Path]) -> None:
    """Raise if ``output`` is one of ``inputs`` (a file, or a folder given as input).

    Raises:
        OutputConflictError: naming the input as it was given.
    """
    for source in inputs:
        if same_path(output, source):
            kind = "folder" if Path(source).is_dir() else "file"
            raise OutputConflictError(
                output,
                f"is the same {kind} as the input {source}",
                "choose another output path (facetwin never writes over its input)",
            )


def refuse_input_folder(folder: str | Path, inputs: Iterable[str | Path], *, writes: str) -> None:
    """Raise if ``folder`` is an input folder, or the folder of input images.

    Args:
        folder: the output folder.
        inputs: input paths: folders, videos or images (a video's folder is allowed:
            nothing written there can be taken for the video).
        writes: what would be written there, for the message ("face crops").

    Raises:
        OutputConflictError: naming the input folder.
    """
    for source in map(Path, inputs):
        holder = source if source.is_dir() else source.parent if source.suffix.lower() in IMAGE_SUFFIXES else None
        if holder is not None and same_path(folder, holder):
            whose = "the input folder" if holder is source else f"the folder of the input {source}"
            raise OutputConflictError(
                folder,
                f"is {whose}",
                f"choose another output folder ({writes} would be mixed with the input images)",
            )
